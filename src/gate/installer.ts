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
import { signalOptions } from '../kube/leader.js';
import type { Logger } from '../telemetry/logger.js';
import {
  mutatingAdmissionPolicy,
  mutatingAdmissionPolicyBinding,
  mutatingWebhookConfiguration,
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

export interface GateInstallerOptions {
  kubeConfig: KubeConfig;
  mode: GateMode;
  logger: Logger;
  name?: string;
  failurePolicy?: 'Fail' | 'Ignore';
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
  async install(webhook?: { url: string; caPem: string }): Promise<void> {
    const { mode, username } =
      this.resolvedMode !== undefined && this.username !== undefined
        ? { mode: this.resolvedMode, username: this.username }
        : await this.resolve();
    const options: GateObjectOptions = {
      operatorUsername: username,
      ...(this.options.name !== undefined ? { name: this.options.name } : {}),
      ...(this.options.failurePolicy !== undefined ? { failurePolicy: this.options.failurePolicy } : {}),
      labels: { 'app.kubernetes.io/managed-by': 'rollguard' },
    };
    if (mode === 'webhook') {
      if (webhook === undefined) throw new Error('the webhook gate needs the address it is served at and its CA');
      this.objects = [mutatingWebhookConfiguration({ ...options, url: webhook.url, caPem: webhook.caPem })];
    } else {
      this.objects = [mutatingAdmissionPolicy(options), mutatingAdmissionPolicyBinding(options)];
    }
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
        await api.patchMutatingWebhookConfiguration(request, options);
      } else await api.patchMutatingAdmissionPolicyBinding(request, options);
    }
  }
}
