// The server-side apply dry run (`kubectl diff`'s way): a manifest as the API server would store it, with its
// defaults filled in, without storing anything. Used by `rollguard score` and by the score API, which compare
// a manifest with the running Deployment the server has already defaulted.
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { apiMessage } from './errors.js';

/**
 * The manifest as the API server would store it, from a server-side apply dry run (what `kubectl diff` does):
 * the running Deployment it is compared with has the server's defaults (probe periods, quantities in
 * canonical form, …), so the manifest must have them too, or every default would count as a change. Nothing
 * is stored. Without the right to patch Deployments, the manifest is compared as written, with a note.
 */
export async function defaultedByServer(
  kc: KubeConfig,
  manifest: V1Deployment,
  namespace: string,
): Promise<{ manifest: V1Deployment } | { note: string }> {
  const name = manifest.metadata?.name;
  if (!name) return { note: 'the manifest has no metadata.name: compared as written, without server defaults' };
  const {
    resourceVersion: _rv,
    uid: _uid,
    managedFields: _mf,
    creationTimestamp: _ct,
    generation: _g,
    ...metadata
  } = manifest.metadata ?? {};
  const body = { ...manifest, metadata: { ...metadata, namespace }, status: undefined };
  try {
    const applied = await kc
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeployment(
        { name, namespace, body, dryRun: 'All', fieldManager: 'rollguard-score', force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    return { manifest: applied };
  } catch (err) {
    return {
      note: `the API server could not fill in its defaults (server-side dry run: ${apiMessage(err)}): compared as written, so defaults may count as template changes`,
    };
  }
}
