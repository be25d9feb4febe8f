// Property-based tests: arbitrary shapes fed to everything that reads user input — `rollguard score`, the
// annotation parsers, the policy parser and the credential check. None may throw, and every refusal of
// `rollguard score` is one line naming the input, never a JavaScript error from inside.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePolicySpec } from '../../src/api/policy.js';
import { parseChangeDescription } from '../../src/assess/change-description.js';
import { checkTemplate } from '../../src/assess/checks.js';
import { findCredentials } from '../../src/assess/credentials.js';
import { approverOf } from '../../src/controller/approval.js';
import { scoreFromStdin } from '../support/score-stdin.js';

const base = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'checkout', namespace: 'shop', annotations: { 'rollguard.io/files-changed': '3' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'checkout' } },
    template: {
      metadata: { labels: { app: 'checkout' }, annotations: { 'rollguard.io/change-type': 'bugfix' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.example/checkout:1.2.0',
            args: ['--port', '8080'],
            env: [{ name: 'DB_PASSWORD', value: 'changeme' }],
            resources: { limits: { memory: '128Mi' } },
            readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
          },
        ],
      },
    },
  },
};

/** The paths a user can get wrong, each replaced by an arbitrary value. */
const paths = [
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'annotations'],
  ['metadata', 'annotations', 'rollguard.io/files-changed'],
  ['spec'],
  ['spec', 'replicas'],
  ['spec', 'selector'],
  ['spec', 'template'],
  ['spec', 'template', 'metadata', 'annotations'],
  ['spec', 'template', 'metadata', 'annotations', 'rollguard.io/change-type'],
  ['spec', 'template', 'spec'],
  ['spec', 'template', 'spec', 'containers'],
  ['spec', 'template', 'spec', 'containers', 0],
  ['spec', 'template', 'spec', 'containers', 0, 'name'],
  ['spec', 'template', 'spec', 'containers', 0, 'image'],
  ['spec', 'template', 'spec', 'containers', 0, 'args'],
  ['spec', 'template', 'spec', 'containers', 0, 'args', 1],
  ['spec', 'template', 'spec', 'containers', 0, 'env'],
  ['spec', 'template', 'spec', 'containers', 0, 'env', 0],
  ['spec', 'template', 'spec', 'containers', 0, 'env', 0, 'value'],
  ['spec', 'template', 'spec', 'containers', 0, 'resources'],
  ['spec', 'template', 'spec', 'containers', 0, 'resources', 'limits'],
  ['spec', 'template', 'spec', 'containers', 0, 'readinessProbe'],
  ['spec', 'template', 'spec', 'containers', 0, 'securityContext'],
  ['spec', 'template', 'spec', 'initContainers'],
] as const;

function withValueAt(path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as unknown as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
  return copy;
}

/** Values YAML can carry: scalars, lists, maps, nesting. */
const yamlValue = fc.jsonValue({ maxDepth: 3 });

const score = (text: string) => scoreFromStdin(text, ['--json']);

/** A refusal that speaks of the input, not of JavaScript. */
const namesTheInput = /^rollguard score: -(: Deployment[^\n]*: [^\n]+| (is|holds) [^\n]+)\n$/;
const internals = /is not a function|is not iterable|Cannot read properties|undefined|\[object Object\]|TypeError/;

describe('rollguard score on arbitrary shapes', () => {
  it('scores or refuses in one line naming the input; never shows its internals', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), yamlValue, async (path, value) => {
        const r = await score(stringify(withValueAt(path, value)));
        if (r.code === 2) {
          expect(r.stderr).toMatch(namesTheInput);
          expect(r.stderr).not.toMatch(internals);
        } else {
          expect([0, 10, 20]).toContain(r.code);
          expect(r.stderr).toBe('');
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('refuses any other document in one line', async () => {
    await fc.assert(
      fc.asyncProperty(yamlValue, async (value) => {
        const r = await score(stringify(value));
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(namesTheInput);
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});

describe('parsers and checks on arbitrary input never throw', () => {
  it('parseChangeDescription', () => {
    fc.assert(
      fc.property(fc.option(fc.dictionary(fc.string(), fc.anything())), fc.anything(), (a, b) => {
        const result = parseChangeDescription(a as Record<string, string> | undefined, b as Record<string, string>);
        for (const w of result.warnings) expect(typeof w.problem).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it('parseChangeDescription with rollguard.io/* keys', () => {
    const key = fc.constantFrom(
      ...['change-type', 'files-changed', 'lines-added', 'change-entropy', 'is-fix', 'test-coverage', 'commit'].map(
        (k) => `rollguard.io/${k}`,
      ),
    );
    fc.assert(
      fc.property(fc.dictionary(key, fc.oneof(fc.string(), fc.anything())), (a) => {
        parseChangeDescription(a as Record<string, string>, undefined);
      }),
      { numRuns: 500 },
    );
  });

  it('approverOf (the approve annotation’s managed fields)', () => {
    fc.assert(
      fc.property(fc.anything(), (fields) => {
        approverOf(fields as Parameters<typeof approverOf>[0]);
      }),
      { numRuns: 300 },
    );
  });

  it('parsePolicySpec', () => {
    fc.assert(
      fc.property(fc.anything(), (spec) => {
        const result = parsePolicySpec(spec);
        if (!result.ok) for (const e of result.errors) expect(e.path.startsWith('spec')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('parsePolicySpec on near-valid policies', () => {
    const field = fc.constantFrom('mode', 'thresholds', 'timeZone', 'rules', 'prometheus', 'metrics', 'verification');
    fc.assert(
      fc.property(field, fc.anything(), (key, value) => {
        parsePolicySpec({ selector: {}, [key]: value });
        parsePolicySpec({ selector: {}, rules: { credentials: { [key]: value, exceptions: value } } });
      }),
      { numRuns: 500 },
    );
  });

  it('the credential check and the template checks', () => {
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.anything(), (path, value) => {
        const doc = withValueAt(path, value) as { spec?: unknown } | null;
        const spec = doc?.spec as { template?: unknown } | null | undefined;
        const template = (spec?.template ?? {}) as V1PodTemplateSpec;
        findCredentials(template, new Map());
        if (path.length > 4) checkTemplate(template);
      }),
      { numRuns: 500 },
    );
  });
});
