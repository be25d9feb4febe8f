// secretlint's scan of a template's texts: each finding is mapped back to the text it is in, texts without a
// credential stay out, and a second scan of the same texts (answered from memory) gives the same answer.
import { describe, expect, it } from 'vitest';
import { scanTemplate, scanTexts } from './secret-scan.js';

const stripe = 'sk_live_ReTllpYQYfIZu2Jnf2lAPFjD';
const github = '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';

describe('scanTexts', () => {
  it('names the provider of each text that holds a credential, and only those', async () => {
    const texts = ['LOG_LEVEL=debug and more text', stripe, 'http://catalog:8080/api', `token ${github}`];
    const found = await scanTexts(texts);
    expect([...found]).toEqual([
      [stripe, 'a Stripe key'],
      [`token ${github}`, 'a GitHub token'],
    ]);
    expect([...(await scanTexts(texts))]).toEqual([...found]);
  });

  it('finds nothing in nothing', async () => {
    expect((await scanTexts([])).size).toBe(0);
    expect((await scanTexts(['short'])).size).toBe(0);
  });

  it('scans env values, args and command of every container kind', async () => {
    const found = await scanTemplate({
      spec: {
        containers: [{ name: 'web', env: [{ name: 'KEY', value: stripe }] }],
        initContainers: [{ name: 'init', args: ['--token', github] }],
      },
    });
    expect([...found.keys()].sort()).toEqual([github, stripe].sort());
  });
});
