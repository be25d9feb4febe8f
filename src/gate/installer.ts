// `rollguard controller --gate`: the operator installs the gate's admission objects for its own identity
// (who it is, from a SelfSubjectReview: its own requests must pass the gate) and keeps them up to date by
// applying them again now and then (server-side apply, so a changed object is put back and an unchanged one
// costs nothing). Which kind of gate: a MutatingAdmissionPolicy where the API server serves them (1.36+),
// else the webhook.
import {
  AdmissionregistrationV1Api,
  AuthenticationV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { statusCode } from '../kube/errors.js';
import { signalOptions } from '../kube/leader.js';
import type { Logger } from '../telemetry/logger.js';
import {
  mutatingAdmissionPolicy,
  mutatingAdmissionPolicyBinding,
  mutatingWebhookConfiguration,
  webhookCaBundle,
  defaultGateName,
  type GateObjectOptions,
} from './admission-objects.js';

export type GateMode = 'auto' | 'policy' | 'webhook';
export const gateModes: readonly GateMode[] = ['auto', 'policy', 'webhook'];

/** Every call to the API server here gives up after this long. */
const callTimeoutMs = 10_000;

export const gateFieldManager = 'rollguard-gate';

/** The user name the API server knows this client by. */
export async function whoAmI(kc: KubeConfig): Promise<string> {
  const api = kc.makeApiClient(AuthenticationV1Api);
  const review = await api.createSelfSubjectReview(
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
    signalOptions(AbortSignal.timeout(callTimeoutMs)),
  );
  const username = review.status?.userInfo?.username;
  if (!username) throw new Error('the API server did not say who this client is (SelfSubjectReview has no user name)');
  return username;
}

/** Whether the API server serves MutatingAdmissionPolicy (admissionregistration.k8s.io/v1): then policy mode. */
export async function servesAdmissionPolicies(kc: KubeConfig): Promise<boolean> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const list = await api.getAPIResources(signalOptions(AbortSignal.timeout(callTimeoutMs)));
  return list.resources.some((r) => r.name === 'mutatingadmissionpolicies');
}

/** Where the API server reaches the webhook, and the CA that signed its serving certificate. */
export type WebhookTarget =
  { url: string; caPem: string } | { service: { namespace: string; name: string; port: number }; caPem: string };

export interface GateObjectsRequest {
  mode: 'policy' | 'webhook';
  username: string;
  name?: string;
  failurePolicy?: 'Fail' | 'Ignore';
  webhook?: WebhookTarget;
  /** The chart owns the MutatingWebhookConfiguration: write its caBundle only. */
  caBundleOnly?: boolean;
}

/** The objects the installer applies: pure, so what `--gate` writes in each mode is tested without a cluster. */
export function gateObjects(r: GateObjectsRequest): object[] {
  const options: GateObjectOptions = {
    operatorUsername: r.username,
    ...(r.name !== undefined ? { name: r.name } : {}),
    ...(r.failurePolicy !== undefined ? { failurePolicy: r.failurePolicy } : {}),
    labels: { 'app.kubernetes.io/managed-by': 'rollguard' },
  };
  if (r.mode === 'policy') return [mutatingAdmissionPolicy(options), mutatingAdmissionPolicyBinding(options)];
  if (r.webhook === undefined) throw new Error('the webhook gate needs the address it is served at and its CA');
  if (r.caBundleOnly === true) return [webhookCaBundle(r.name ?? defaultGateName, r.webhook.caPem)];
  return [mutatingWebhookConfiguration({ ...options, ...r.webhook })];
}

export interface GateInstallerOptions {
  kubeConfig: KubeConfig;
  mode: GateMode;
  logger: Logger;
  name?: string;
  failurePolicy?: 'Fail' | 'Ignore';
  /**
   * The MutatingWebhookConfiguration is installed by the chart (or the user's manifests): keep only its caBundle
   * current, so the operator never fights Helm over the other fields.
   */
  caBundleOnly?: boolean;
  /** How often to apply the objects again (default 5 minutes). */
  refreshMs?: number;
}

export class GateInstaller {
  private timer: NodeJS.Timeout | undefined;
  private objects: KubernetesObject[] = [];
  resolvedMode: 'policy' | 'webhook' | undefined;
  username: string | undefined;

  constructor(private readonly options: GateInstallerOptions) {}

  /** Who the operator is and which gate the cluster takes (auto: a policy where the API server serves them). */
  async resolve(): Promise<{ mode: 'policy' | 'webhook'; username: string }> {
    const { kubeConfig } = this.options;
    this.username = await whoAmI(kubeConfig);
    this.resolvedMode =
      this.options.mode === 'auto'
        ? (await servesAdmissionPolicies(kubeConfig))
          ? 'policy'
          : 'webhook'
        : this.options.mode;
    return { mode: this.resolvedMode, username: this.username };
  }

  /** Applies the objects once (resolving first if needed); the webhook needs where it is served and its CA. */
  async install(webhook?: WebhookTarget): Promise<void> {
    const { mode, username } =
      this.resolvedMode !== undefined && this.username !== undefined
        ? { mode: this.resolvedMode, username: this.username }
        : await this.resolve();
    const { name, failurePolicy, caBundleOnly } = this.options;
    this.objects = gateObjects({
      mode,
      username,
      ...(name !== undefined ? { name } : {}),
      ...(failurePolicy !== undefined ? { failurePolicy } : {}),
      ...(webhook !== undefined ? { webhook } : {}),
      ...(caBundleOnly !== undefined ? { caBundleOnly } : {}),
    });
    await this.apply();
    this.options.logger.info(
      { gate: mode, identity: username, objects: this.objects.map((o) => o.metadata?.name) },
      'admission gate installed',
    );
  }

  /** Applies the objects again every refresh interval; failures are logged and retried next time. */
  keepUpToDate(): void {
    this.timer = setInterval(
      () => {
        void this.apply().catch((err: unknown) => {
          this.options.logger.warn({ err }, 'could not apply the admission gate objects; trying again later');
        });
      },
      this.options.refreshMs ?? 5 * 60_000,
    ).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async apply(): Promise<void> {
    const api = this.options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    for (const object of this.objects) {
      const name = object.metadata?.name ?? '';
      const options = setHeaderOptions(
        'Content-Type',
        PatchStrategy.ServerSideApply,
        signalOptions(AbortSignal.timeout(callTimeoutMs)),
      );
      const request = { name, body: object, fieldManager: gateFieldManager, force: true };
      if (object.kind === 'MutatingAdmissionPolicy') await api.patchMutatingAdmissionPolicy(request, options);
      else if (object.kind === 'MutatingWebhookConfiguration') {
        await api.patchMutatingWebhookConfiguration(request, options).catch((err: unknown) => {
          // Applying only the caBundle to an object that is not there tries to create an incomplete one.
          const code = statusCode(err);
          if (this.options.caBundleOnly === true && (code === 404 || code === 422)) {
            throw new Error(
              `MutatingWebhookConfiguration ${name} is not installed (the chart installs it with gate.enabled=true; with --webhook-ca-bundle-only this operator only fills in its caBundle)`,
              { cause: err },
            );
          }
          throw err;
        });
      } else await api.patchMutatingAdmissionPolicyBinding(request, options);
    }
  }
}
