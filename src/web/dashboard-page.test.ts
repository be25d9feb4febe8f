import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { dashboardPage, escapeHtml } from './dashboard-page.js';

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('dashboardPage', () => {
  const { html, contentSecurityPolicy } = dashboardPage({ refreshSeconds: 3 });
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
  const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? '';

  it('is self-contained: no external script, style, image, font or frame', () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel="stylesheet"/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/<(img|iframe|object|embed)\b/i);
    // The only absolute URL is the SVG namespace, which is a name, not a request.
    const urls = [...html.matchAll(/https?:\/\/[^\s'"<>)]+/g)].map((m) => m[0]);
    expect(urls).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('is served with a policy that allows exactly its own script and style, and requests to itself', () => {
    expect(script.length).toBeGreaterThan(1000);
    expect(contentSecurityPolicy).toContain("default-src 'none'");
    expect(contentSecurityPolicy).toContain(`script-src ${hash(script)}`);
    expect(contentSecurityPolicy).toContain(`style-src ${hash(style)}`);
    expect(contentSecurityPolicy).toContain("connect-src 'self'");
    expect(contentSecurityPolicy).not.toContain('unsafe-inline');
  });

  it('has a script that parses, and never builds markup from strings', () => {
    expect(() => new Script(script)).not.toThrow();
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('carries its refresh period', () => {
    expect(html).toContain('data-refresh-seconds="3"');
  });
});

describe('escapeHtml', () => {
  it('escapes everything that could open markup or leave an attribute', () => {
    expect(escapeHtml(`<img src=x onerror="alert('x')">&`)).toBe(
      '&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;',
    );
  });

  it('is used for the title', () => {
    expect(dashboardPage({ refreshSeconds: 5, title: '<b>prod</b>' }).html).toContain(
      '<title>&lt;b&gt;prod&lt;/b&gt;</title>',
    );
  });
});
