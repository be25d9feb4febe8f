// The assessment the controller would make for a Deployment manifest now, before it is applied: the one
// implementation behind `rollguard score` (CI) and `POST /v1/score`. It gathers what the cluster can tell —
// the governing policy, the running template to diff against, this Deployment's history, live Prometheus
// signals — when a cluster is reachable, and says which features are missing when it is not. The scoring
// itself is the controller's: assessRollout.
import type { V1Deployment } from '@kubernetes/client-node';
import { assessRollout, type Assessment, type LiveSignals } from '../assess/assess.js';
import type { FindingKind } from '../assess/checks.js';
import { credentialKinds, type CredentialPolicy } from '../assess/credentials.js';
import { scanTemplate } from '../assess/secret-scan.js';
import type { PastOutcome } from '../assess/history.js';
import type { RiskModel } from '../assess/score.js';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import { pastOutcomes } from './assessment-record.js';
import { governingPolicy } from './policy-choice.js';
import { parsedPolicies } from './policy-specs.js';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';

/** What the cluster can tell, read through informer caches (the controller) or direct API calls (the CLI). */
export interface ClusterView {
  deployment(namespace: string, name: string): Promise<V1Deployment | undefined>;
  policies(namespace: string): Promise<readonly PolicyObject[]>;
  assessments(namespace: string): Promise<readonly AssessmentObject[]>;
}

export interface ManifestScoringDeps {
  cluster?: ClusterView | undefined;
  live?:
    | {
        sample(
          policy: PolicySpec,
          namespace: string,
          deployment: string,
          hashes: readonly string[],
        ): Promise<LiveSignals>;
      }
    | undefined;
  model?: RiskModel | undefined;
  now: Date;
}

export interface ManifestScore {
  assessment: Assessment;
  /** The policy whose thresholds and rules applied: its name, `(file)` for --policy, or `(defaults)`. */
  policy: string;
  mode: PolicySpec['mode'];
  /** The time zone the time-of-day features were taken in (the policy's). */
  timeZone: string;
  /** What could not be consulted, in words (no cluster, no Prometheus, no running Deployment to compare with). */
  notes: string[];
}

/** Finding kinds that block by kind; credential findings carry their own severity (credentialPolicy). */
export function blockingFindingKinds(spec: PolicySpec): Set<FindingKind> {
  const kinds = new Set<FindingKind>();
  if (spec.rules.blockOnLatestTag) kinds.add('latest-image');
  if (spec.rules.blockOnPrivileged) kinds.add('privileged');
  return kinds;
}

/** The policy's severity per kind of credential finding; blockOnHardcodedSecret: false makes every block a warn. */
export function credentialPolicy(spec: PolicySpec): CredentialPolicy {
  const { exceptions, ...severity } = spec.rules.credentials;
  if (!spec.rules.blockOnHardcodedSecret) {
    for (const kind of credentialKinds) if (severity[kind] === 'block') severity[kind] = 'warn';
  }
  return { severity, exceptions };
}

/** The defaults a policy would have: what `rollguard score` uses when neither a file nor a cluster names one. */
export function defaultPolicySpec(): PolicySpec {
  const parsed = parsePolicySpec({ selector: {} });
  if (!parsed.ok) throw new Error('the default policy does not parse; this is a bug');
  return parsed.value;
}

export async function scoreManifest(
  manifest: V1Deployment,
  options: { policy?: PolicySpec | undefined; namespace?: string | undefined },
  deps: ManifestScoringDeps,
): Promise<ManifestScore> {
  const notes: string[] = [];
  const namespace = manifest.metadata?.namespace ?? options.namespace ?? 'default';
  const name = manifest.metadata?.name ?? '';
  if (!manifest.spec?.template) throw new Error('the manifest has no spec.template: is it a Deployment?');

  let policyName = options.policy ? '(file)' : '(defaults)';
  let spec = options.policy;
  let running: V1Deployment | undefined;
  let history: PastOutcome[] | undefined;
  if (deps.cluster) {
    try {
      if (!spec) {
        const choice = governingPolicy(
          parsedPolicies(await deps.cluster.policies(namespace)),
          manifest.metadata?.labels ?? {},
        ).policy;
        if (choice) {
          spec = choice.spec;
          policyName = choice.object.metadata?.name ?? '';
        } else {
          notes.push(
            `no DeploymentRiskPolicy in namespace ${namespace} covers this Deployment; default thresholds used`,
          );
        }
      }
      running = name ? await deps.cluster.deployment(namespace, name) : undefined;
      if (!running) notes.push(`no running Deployment ${namespace}/${name} to compare the template with`);
      history = pastOutcomes(await deps.cluster.assessments(namespace), name);
    } catch (err) {
      notes.push(
        `the cluster could not be read (${err instanceof Error ? err.message : String(err)}): scored without its history and policies`,
      );
    }
  } else {
    notes.push("no cluster: scored without the running template, this Deployment's history, or live metrics");
  }
  spec ??= defaultPolicySpec();

  let live: LiveSignals;
  if (!spec.prometheus.address) live = { unavailable: 'no Prometheus address in the policy' };
  else if (!deps.live) live = { unavailable: 'Prometheus was not consulted' };
  else live = await deps.live.sample(spec, namespace, name, []);
  if (live.unavailable) notes.push(`live metrics: ${live.unavailable}`);
  if (!deps.model) notes.push('no model loaded: the rules scored');

  const assessment = assessRollout({
    template: manifest.spec.template,
    previousTemplate: running?.spec?.template,
    deploymentAnnotations: manifest.metadata?.annotations,
    replicas: { previous: running?.spec?.replicas, next: manifest.spec.replicas },
    now: deps.now,
    timeZone: spec.timeZone,
    history,
    live,
    thresholds: spec.thresholds,
    blockingFindings: blockingFindingKinds(spec),
    providerMatches: await scanTemplate(manifest.spec.template),
    credentialPolicy: credentialPolicy(spec),
    model: deps.model,
  });
  return { assessment, policy: policyName, mode: spec.mode, timeZone: spec.timeZone, notes };
}
