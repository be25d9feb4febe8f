// The Deployment argument of approve, abort and status, spelled every way kubectl accepts, and the field
// manager that carries a person's name.
import { describe, expect, it } from 'vitest';
import { fieldManagerFor, parseDeploymentTarget, parseRevision } from './target.js';

describe('parseDeploymentTarget', () => {
  it.each([
    ['deploy/checkout', 'checkout'],
    ['deployment/checkout', 'checkout'],
    ['deployments/checkout', 'checkout'],
    ['deployment.apps/checkout', 'checkout'],
    ['Deploy/checkout', 'checkout'],
    ['checkout', 'checkout'],
    ['web.v2', 'web.v2'],
  ])('%s names %s', (text, name) => {
    expect(parseDeploymentTarget(text)).toBe(name);
  });

  it.each<[string | undefined, string]>([
    [undefined, 'name the Deployment: deploy/NAME'],
    ['', 'name the Deployment'],
    ['statefulset/db', 'is not a Deployment'],
    ['pod/web-1', 'is not a Deployment'],
    ['deploy/', 'is not a Deployment name'],
    ['deploy/Checkout', 'is not a Deployment name'],
    ['deploy/a/b', 'is not a Deployment name'],
    [`deploy/${'a'.repeat(254)}`, 'is not a Deployment name'],
  ])('refuses %s', (text, message) => {
    expect(() => parseDeploymentTarget(text)).toThrow(message);
  });
});

describe('parseRevision', () => {
  it.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['7', 7],
    [' 12 ', 12],
  ])('%s → %s', (text, revision) => {
    expect(parseRevision(text)).toBe(revision);
  });
  it.each(['0', '-1', '1.5', 'seven', '', '99999999999999999999'])('refuses "%s"', (text) => {
    expect(() => parseRevision(text)).toThrow('--revision must be a revision number');
  });
});

describe('fieldManagerFor', () => {
  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['system:serviceaccount:ci:deployer', 'system:serviceaccount:ci:deployer'],
    ['bad\nname\u0007', 'badname'],
    ['\n', 'kubectl-rollguard'],
    ['x'.repeat(300), 'x'.repeat(128)],
  ])('%j → %j', (user, manager) => {
    expect(fieldManagerFor(user)).toBe(manager);
  });
});
