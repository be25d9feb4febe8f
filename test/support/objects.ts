// Builders for the objects tests apply, and readers for what a user would look at afterwards: the
// Deployment's annotations and spec, its Events, and its RolloutAssessments.
import { waitFor } from './wait.js';
import { kubectl, kubectlJson, kubectlResult } from './kubectl.js';

export interface DeploymentOptions {
  namespace: string;
  name: string;
  /** Pod-template annotations: the change description and the simulator's behaviour. */
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  image?: string;
  env?: { name: string; value: string }[];
  replicas?: number;
  /** A well-formed production container (readiness probe, limits); default true. */
  wellFormed?: boolean;
}

export function deploymentManifest(o: DeploymentOptions): string {
  const wellFormed = o.wellFormed ?? true;
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace, labels: { 'rollguard.io/enabled': 'true', ...o.labels } },
    spec: {
      replicas: o.replicas ?? 2,
      selector: { matchLabels: { app: o.name } },
      template: {
        metadata: { labels: { app: o.name }, annotations: o.annotations ?? {} },
        spec: {
          containers: [
            {
              name: 'app',
              image: o.image ?? 'registry.example/shop:1.0.0',
              env: o.env ?? [],
              ...(wellFormed
                ? {
                    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
                    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
                  }
                : {}),
            },
          ],
        },
      },
    },
  });
}

export async function applyDeployment(o: DeploymentOptions): Promise<void> {
  await kubectl(['apply', '-f', '-'], deploymentManifest(o));
}

export interface DeploymentView {
  metadata: { annotations?: Record<string, string>; generation?: number };
  spec: { paused?: boolean; template: { metadata?: { annotations?: Record<string, string> } } };
  status?: { updatedReplicas?: number; replicas?: number };
}

export async function getDeployment(namespace: string, name: string): Promise<DeploymentView> {
  return kubectlJson<DeploymentView>(['-n', namespace, 'get', 'deployment', name]);
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  reportingComponent?: string;
}

export async function eventsOf(namespace: string, name: string): Promise<EventView[]> {
  const list = await kubectlJson<{ items: EventView[] }>([
    '-n',
    namespace,
    'get',
    'events',
    '--field-selector',
    `involvedObject.kind=Deployment,involvedObject.name=${name}`,
  ]);
  return list.items;
}

export interface AssessmentView {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  spec: { deployment: string; revision: number; podTemplateHash: string; policy: string };
  status?: {
    phase?: string;
    outcome?: string;
    score?: number;
    level?: string;
    scorer?: string;
    modelVersion?: string;
    reasons?: string[];
    hardRules?: string[];
    features?: Record<string, number>;
    missingFeatures?: string[];
    actions?: { type: string; message: string; by?: string; at: string }[];
    approval?: { by: string; at: string; revision: number };
    verification?: {
      state?: string;
      startedAt?: string;
      message?: string;
      consecutiveFailures?: number;
      steps?: {
        at: string;
        metric: string;
        query?: string;
        verdict: string;
        value?: number;
        baseline?: number;
        limit?: number;
        message?: string;
      }[];
      baselineCounts?: { requests: number; errors: number; latencyTotal?: number };
    };
  };
}

export async function assessmentsOf(namespace: string, deployment?: string): Promise<AssessmentView[]> {
  const args = ['-n', namespace, 'get', 'rolloutassessments'];
  if (deployment) args.push('-l', `rollguard.io/deployment=${deployment}`);
  return (await kubectlJson<{ items: AssessmentView[] }>(args)).items;
}

export async function assessmentOf(
  namespace: string,
  deployment: string,
  revision: number,
): Promise<AssessmentView | undefined> {
  const result = await kubectlResult([
    '-n',
    namespace,
    'get',
    'rolloutassessment',
    `${deployment}-${revision}`,
    '-o',
    'json',
  ]);
  return result.code === 0 ? (JSON.parse(result.stdout) as AssessmentView) : undefined;
}

export async function applyPolicy(namespace: string, name: string, spec: object): Promise<void> {
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'rollguard.io/v1alpha1',
      kind: 'DeploymentRiskPolicy',
      metadata: { name, namespace },
      spec,
    }),
  );
}

/**
 * A policy that judges fast so suites run in minutes: 2 s intervals, two failed intervals roll back, no
 * pauses at any level; otherwise the defaults.
 */
export function fastVerificationPolicy(o: { selector: object; prometheusAddress: string; window: string }) {
  const window = { verificationWindow: o.window };
  return {
    selector: o.selector,
    mode: 'enforce',
    prometheus: { address: o.prometheusAddress, timeout: '2s' },
    metrics: { rateWindow: '10s' },
    verification: { interval: '2s', failureLimit: 2, errorLimit: 2, inconclusiveLimit: 2 },
    levels: {
      safe: window,
      monitor: { ...window, pause: false },
      rollbackReady: { ...window, pause: false },
      block: { ...window, pause: false },
    },
  };
}

/** Waits (up to 90 s) for the assessment of a revision to end with `outcome`, and returns it. */
export async function assessmentOutcome(
  namespace: string,
  name: string,
  revision: number,
  outcome: string,
): Promise<AssessmentView> {
  return waitFor(
    `assessment ${name}-${String(revision)} to end ${outcome}`,
    async () => {
      const a = await assessmentOf(namespace, name, revision);
      return a?.status?.outcome === outcome ? a : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
}
