// The rights the Helm chart must grant rollguard's ServiceAccount, as `kubectl auth can-i --list` names them
// (charts/rollguard/README.md's table), and what a ServiceAccount really holds on the run's API server: the
// rights beyond every ServiceAccount's, and single answers the API server itself gives (SubjectAccessReviews).
import { expect } from 'vitest';
import { kubectl, kubectlResult } from './kubectl.js';
import { waitFor } from './wait.js';

export type Rights = Set<string>;

function rights(lines: string[]): Rights {
  const out = new Set<string>();
  for (const line of lines) {
    const [resource, verbs = ''] = line.split(':');
    for (const verb of verbs.trim().split(/\s+/)) out.add(`${resource ?? ''} ${verb}`);
  }
  return out;
}

/** On Deployments, policies and assessments: cluster-wide, or in watchNamespace with rbac.namespaced=true. */
export const workloadRights = rights([
  'deployments.apps: get list watch patch',
  'replicasets.apps: list watch',
  'deploymentriskpolicies.rollguard.io: get list watch',
  'deploymentriskpolicies.rollguard.io/status: patch',
  // patch: a template the admission gate held is assessed before its ReplicaSet exists; its hash is filled in later.
  'rolloutassessments.rollguard.io: get list watch create delete patch',
  'rolloutassessments.rollguard.io/status: patch',
  'events.events.k8s.io: create',
]);
/** Where Secrets may be read: the watched namespace with rbac.namespaced=true, or rbac.secretNamespaces. */
export const secretRights = rights(['secrets: get']);
/** In the release namespace only: leader election and the learned model. */
export const selfRights = rights([
  'leases.coordination.k8s.io: get list create update delete',
  'configmaps: get create update',
]);
/** With the webhook gate: its own MutatingWebhookConfiguration's caBundle (cluster-scoped, so in every list). */
export const gateWebhookRights = (gate: string) =>
  rights([`mutatingwebhookconfigurations.admissionregistration.k8s.io[${gate}]: patch`]);
/** With the webhook gate, in the release namespace: its certificate's Secret, and making it the first time. */
export const gateSecretRights = (gate: string) => rights([`secrets[${gate}-tls]: get update`, 'secrets: create']);
/** Cluster-wide, only with scoreApi.enabled. */
export const tokenReviewRights = rights([
  'tokenreviews.authentication.k8s.io: create',
  'subjectaccessreviews.authorization.k8s.io: create',
]);

export function union(...sets: Rights[]): string[] {
  return [...new Set(sets.flatMap((set) => [...set]))].sort();
}

// --- what a ServiceAccount holds -------------------------------------------------------------------------------

/** kubectl's flags to act as the ServiceAccount, with the groups the API server gives every ServiceAccount. */
export function identity(namespace: string, serviceAccount: string): string[] {
  return [
    `--as=system:serviceaccount:${namespace}:${serviceAccount}`,
    '--as-group=system:serviceaccounts',
    `--as-group=system:serviceaccounts:${namespace}`,
  ];
}

/** Parses the table `kubectl auth can-i --list` prints into "resource verb" (or "url:/path verb") entries. */
async function canIList(namespace: string, serviceAccount: string, where: string): Promise<Rights> {
  const out = await kubectl(['auth', 'can-i', '--list', '-n', where, ...identity(namespace, serviceAccount)]);
  const result = new Set<string>();
  for (const line of out.split('\n').slice(1)) {
    if (line.trim() === '') continue;
    const match = /^(\S+)?\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/.exec(line);
    if (!match) throw new Error(`cannot read this line of kubectl auth can-i --list: ${JSON.stringify(line)}`);
    const [, resource, urls = '', names = '', verbs = ''] = match;
    const subjects = resource
      ? [names.trim() ? `${resource}[${names.trim()}]` : resource]
      : urls
          .trim()
          .split(/\s+/)
          .map((url) => `url:${url}`);
    for (const subject of subjects) for (const verb of verbs.trim().split(/\s+/)) result.add(`${subject} ${verb}`);
  }
  return result;
}

/**
 * The rights a ServiceAccount holds in a namespace beyond those every ServiceAccount there holds (discovery,
 * self-reviews, whatever the cluster grants to all): what the chart added, compared with a ServiceAccount that
 * nothing binds.
 */
async function grantedRights(namespace: string, serviceAccount: string, where: string): Promise<string[]> {
  const [held, baseline] = await Promise.all([
    canIList(namespace, serviceAccount, where),
    canIList(namespace, 'nobody-binds-this-one', where),
  ]);
  return [...held].filter((right) => !baseline.has(right)).sort();
}

/**
 * Asserts the rights granted, once the API server's RBAC authorizer has seen the latest Roles and bindings (it
 * reads them from its informers, a moment after they change).
 */
export async function expectRights(namespace: string, serviceAccount: string, where: string, expected: string[]) {
  let last: string[] = [];
  await waitFor(
    `the rights of ${serviceAccount} in ${where} to settle`,
    async () => {
      last = await grantedRights(namespace, serviceAccount, where);
      return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 500 },
  ).catch(() => undefined);
  expect(last, `the rights of ${serviceAccount} in ${where}, beyond every ServiceAccount's`).toEqual(expected);
}

/**
 * `kubectl auth can-i VERB RESOURCE[/SUBRESOURCE]`: a SubjectAccessReview, what the API server itself will
 * decide.
 */
export async function can(namespace: string, serviceAccount: string, verb: string, resource: string, where: string[]) {
  const [name = resource, subresource] = resource.split('/');
  const result = await kubectlResult([
    'auth',
    'can-i',
    verb,
    name,
    ...(subresource ? [`--subresource=${subresource}`] : []),
    ...where,
    ...identity(namespace, serviceAccount),
  ]);
  const answer = result.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i said ${answer}: ${result.stderr}`);
  return answer;
}
