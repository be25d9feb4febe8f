// A fresh namespace per test file, deleted afterwards, so files never see each other's objects.
import { randomBytes } from 'node:crypto';
import { kubectl } from './kubectl.js';

export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectl(['create', 'namespace', name]);
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}
