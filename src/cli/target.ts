// What the kubectl-style commands act on: `deploy/NAME` as kubectl writes it (also `deployment/NAME`,
// `deployments.apps/NAME`, or a bare NAME), and who the person running them is.
import { UsageError } from './output.js';

const deploymentKinds = new Set([
  'deploy',
  'deploys',
  'deployment',
  'deployments',
  'deployment.apps',
  'deployments.apps',
  'deployment.v1.apps',
  'deployments.v1.apps',
]);

/** A Deployment's name must be a DNS subdomain: lower case, digits, '-' and '.', at most 253 characters. */
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The Deployment's name from `deploy/NAME` (or the other spellings kubectl accepts); a UsageError otherwise. */
export function parseDeploymentTarget(text: string | undefined): string {
  if (text === undefined || text.trim() === '') throw new UsageError('name the Deployment: deploy/NAME');
  const slash = text.indexOf('/');
  const kind = slash < 0 ? undefined : text.slice(0, slash).toLowerCase();
  const name = slash < 0 ? text : text.slice(slash + 1);
  if (kind !== undefined && !deploymentKinds.has(kind)) {
    throw new UsageError(`"${text}" is not a Deployment: rollguard acts on Deployments, e.g. deploy/checkout`);
  }
  if (name.length > 253 || !dnsSubdomain.test(name)) {
    throw new UsageError(`"${name}" is not a Deployment name (lower-case letters, digits, '-' and '.')`);
  }
  return name;
}

/** A revision from --revision: a whole number from 1. */
export function parseRevision(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--revision must be a revision number such as 7, not "${text}"`);
  }
  return Number(text);
}

/**
 * The name a field manager may carry: the API server takes at most 128 printable characters. The approver
 * is recorded from the field manager that set the approve annotation, so the person's name goes there.
 */
export function fieldManagerFor(user: string): string {
  const printable = [...user].filter((c) => /^\P{C}$/u.test(c)).join('');
  const name = printable.trim() === '' ? 'kubectl-rollguard' : printable;
  return [...name].slice(0, 128).join('');
}
