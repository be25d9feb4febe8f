// The kubectl-style commands' calls to the API server: each with a deadline (a hung connection costs the
// deadline, not the terminal), the identity of the person running them (SelfSubjectReview, as
// `kubectl auth whoami` asks), and the rollout as it stands: the Deployment, its ReplicaSets, the assessment
// of its current revision and the policy that governs it.
import {
  AppsV1Api,
  AuthenticationV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { assessmentLabels, labelValue, rolloutAssessmentName } from '../api/assessment.js';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import { revisionOf } from '../api/revision.js';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';
import { apiMessage, isNotFound, statusCode } from '../kube/errors.js';
import { assessmentResource, policyResource } from '../api/resources.js';

/** How long one API call may take before the command gives up on it. */
export const apiDeadlineMs = 15_000;

/**
 * The kubeconfig with a deadline on every request made through it: client-node applies the kubeconfig's
 * credentials to each request just before sending it, so that is where the request gets its abort signal.
 * Every client made from it (the writer the controller also uses, included) then gives up after `ms`.
 */
export function withDeadlines(kc: KubeConfig, ms: number = apiDeadlineMs): KubeConfig {
  const apply = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context) => {
    await apply(context);
    context.setSignal(AbortSignal.timeout(ms));
  };
  return kc;
}

/** One line about a failed call: the API server's message, or "no answer within …" for a deadline. */
export function callError(err: unknown, ms: number = apiDeadlineMs): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer from the API server within ${ms / 1000} s`;
  }
  const cause = err instanceof Error ? (err.cause as { name?: string } | undefined) : undefined;
  if (cause?.name === 'TimeoutError') return `no answer from the API server within ${ms / 1000} s`;
  const code = statusCode(err);
  const message = apiMessage(err).split('\n')[0] ?? '';
  return code === 403 ? `forbidden: ${message}` : message;
}

/** Recorded when the API server will not say who is calling (SelfSubjectReview unavailable). */
export const unknownUser = 'an unknown user (the API server did not say; see its audit log)';

/**
 * Who the API server says is calling (authentication.k8s.io/v1 SelfSubjectReview, GA since 1.28; any
 * authenticated user may ask). Undefined when the server cannot say: the caller then records no name.
 */
export async function whoAmI(kc: KubeConfig): Promise<string | undefined> {
  try {
    const review = await kc
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    const name = review.status?.userInfo?.username;
    return name === undefined || name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

export async function readDeployment(kc: KubeConfig, namespace: string, name: string): Promise<V1Deployment> {
  return kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace, name });
}

/** The ReplicaSets that may belong to the Deployment: those its selector's matchLabels select. */
export async function replicaSetsOf(kc: KubeConfig, deployment: V1Deployment): Promise<V1ReplicaSet[]> {
  const labels = deployment.spec?.selector.matchLabels ?? {};
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await kc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({
    namespace: deployment.metadata?.namespace ?? '',
    ...(labelSelector ? { labelSelector } : {}),
  });
  return list.items;
}

/** The assessment of one revision: under its usual name, else found by its labels; undefined when none. */
export async function assessmentOf(
  kc: KubeConfig,
  namespace: string,
  deployment: string,
  revision: number,
): Promise<AssessmentObject | undefined> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  try {
    return (await custom.getNamespacedCustomObject({
      ...assessmentResource,
      namespace,
      name: rolloutAssessmentName(deployment, revision),
    })) as AssessmentObject;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const list = (await custom.listNamespacedCustomObject({
    ...assessmentResource,
    namespace,
    labelSelector: `${assessmentLabels.deployment}=${labelValue(deployment)},${assessmentLabels.revision}=${revision}`,
  })) as { items: AssessmentObject[] };
  return list.items.find((a) => a.spec?.deployment === deployment);
}

/** The policy an assessment names, parsed with its defaults; or why it cannot be used. */
export async function policyOf(
  kc: KubeConfig,
  namespace: string,
  name: string | undefined,
): Promise<{ spec: PolicySpec } | { problem: string }> {
  if (name === undefined) return { problem: 'the assessment names no policy' };
  try {
    const policy = (await kc
      .makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ ...policyResource, namespace, name })) as PolicyObject;
    const parsed = parsePolicySpec(policy.spec);
    return parsed.ok ? { spec: parsed.value } : { problem: `policy ${name} is invalid` };
  } catch (err) {
    return { problem: isNotFound(err) ? `policy ${name} no longer exists` : `policy ${name}: ${callError(err)}` };
  }
}

/** The Deployment's current revision (deployment.kubernetes.io/revision), when the controller has set one. */
export function currentRevision(deployment: V1Deployment): number | undefined {
  return revisionOf(deployment);
}
