// For the Helm chart's tests (test/integration/chart-*.test.ts): the real helm, run the way a platform team runs
// it against the run's cluster, with a home of its own so no user's repositories or plugins leak in; the objects
// a rendered or installed manifest holds; and the chart's Deployment as kubectl returns it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../harness/tools.js';

export const chartDir = path.join(repoRoot, 'charts/rollguard');
export const crdNames = ['deploymentriskpolicies.rollguard.io', 'rolloutassessments.rollguard.io'];

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a tool from the repository's root; its exit code and output, never a throw. */
export function runTool(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
      },
    );
  });
}

export interface HelmCli {
  /** helm's exit code and output, never a throw: for what helm must refuse. */
  helm: (args: string[]) => Promise<RunResult>;
  /** helm's stdout; throws with its stderr when it fails. */
  helmOk: (args: string[]) => Promise<string>;
  /** Removes the home helm was given, if it was used. */
  removeHome: () => Promise<void>;
}

/** The run's helm against the run's cluster, with its config, cache and data in a temporary home made on first use. */
export function helmCli(): HelmCli {
  let home: Promise<string> | undefined;
  const helm = async (args: string[]) => {
    home ??= mkdtemp(path.join(os.tmpdir(), 'rollguard-helm-'));
    const dir = await home;
    return runTool(path.join(inject('binDir'), 'helm'), [...args, `--kubeconfig=${inject('kubeconfig')}`], {
      HELM_CONFIG_HOME: path.join(dir, 'config'),
      HELM_CACHE_HOME: path.join(dir, 'cache'),
      HELM_DATA_HOME: path.join(dir, 'data'),
    });
  };
  const helmOk = async (args: string[]) => {
    const result = await helm(args);
    if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  };
  const removeHome = async () => {
    if (home) await rm(await home, { recursive: true, force: true });
  };
  return { helm, helmOk, removeHome };
}

// --- rendered objects ------------------------------------------------------------------------------------------

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function objectsIn(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null && typeof obj === 'object' && 'kind' in obj);
}

export function only(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((obj) => obj.kind === kind);
  const [first] = found;
  if (found.length !== 1 || !first) throw new Error(`expected one ${kind}, found ${found.length}`);
  return first;
}

/** kubectl's name for an object's type: kind.group, or the kind alone for the core group. */
export function typeOf(obj: K8sObject): string {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  return group ? `${obj.kind.toLowerCase()}.${group}` : obj.kind.toLowerCase();
}

export interface DeploymentJson {
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName: string;
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown>;
        topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string }[];
        containers: {
          image: string;
          args: string[];
          env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
          ports: { name: string; containerPort: number }[];
          livenessProbe: { httpGet: { path: string; port: string } };
          readinessProbe: { httpGet: { path: string; port: string } };
          resources: { requests?: Record<string, string>; limits?: Record<string, string> };
          securityContext: Record<string, unknown>;
        }[];
      };
    };
  };
}
