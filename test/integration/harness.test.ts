// Proves the harness is real: the real kubectl drives a real control plane whose Deployments roll out, and a
// real Prometheus sees each ReplicaSet's pods behave as their template asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { promQuery } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

interface ReplicaSetList {
  items: {
    metadata: { name: string; annotations: Record<string, string>; labels: Record<string, string> };
    spec: { template: { metadata: { annotations?: Record<string, string> } } };
  }[];
}

function deployment(namespace: string, errorRate: string, latencyMs: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: {
          labels: { app: 'web' },
          annotations: {
            'sim.rollguard.io/exact': 'true',
            'sim.rollguard.io/error-rate': errorRate,
            'sim.rollguard.io/latency-ms': latencyMs,
          },
        },
        spec: { containers: [{ name: 'web', image: 'registry.example/web:1.0.0' }] },
      },
    },
  });
}

async function replicaSetByRevision(namespace: string, revision: string) {
  const list = await kubectlJson<ReplicaSetList>(['-n', namespace, 'get', 'replicasets', '-l', 'app=web']);
  return list.items.find((rs) => rs.metadata.annotations['deployment.kubernetes.io/revision'] === revision);
}

async function errorRatioByHash(namespace: string): Promise<Map<string, number>> {
  const sel = `namespace="${namespace}",deployment="web"`;
  const samples = await promQuery(
    `sum by (pod_template_hash) (rate(http_requests_total{${sel},code=~"5.."}[5s])) / sum by (pod_template_hash) (rate(http_requests_total{${sel}}[5s]))`,
  );
  return new Map(samples.map((s) => [s.labels.pod_template_hash ?? '', s.value]));
}

describe('the local cluster harness', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('harness');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('rolls Deployments out, serves their metrics to Prometheus, and undoes a rollout', async () => {
    // Given a Deployment whose pods answer 1 % errors at 20 ms
    await kubectl(['apply', '-f', '-'], deployment(ns, '0.01', '20'));
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);
    const pods = await kubectlJson<{ items: { status: { phase: string } }[] }>([
      '-n',
      ns,
      'get',
      'pods',
      '-l',
      'app=web',
    ]);
    expect(pods.items.map((p) => p.status.phase)).toEqual(['Running', 'Running']);
    const first = await replicaSetByRevision(ns, '1');
    const firstHash = first?.metadata.labels['pod-template-hash'] ?? '';
    expect(firstHash).not.toBe('');

    // Prometheus sees revision 1's pods at the error rate their template asked for
    const ratio1 = await waitFor(
      'Prometheus to report the error ratio of revision 1',
      async () => (await errorRatioByHash(ns)).get(firstHash),
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    expect(ratio1).toBeCloseTo(0.01, 3);

    // When the template changes to a version with 30 % errors and 200 ms latency
    await kubectl(['apply', '-f', '-'], deployment(ns, '0.3', '200'));
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);

    // Then revision 2 has its own ReplicaSet, and Prometheus reports its pods' errors and latency
    const second = await replicaSetByRevision(ns, '2');
    const secondHash = second?.metadata.labels['pod-template-hash'] ?? '';
    expect(secondHash).not.toBe('');
    expect(secondHash).not.toBe(firstHash);
    const ratio2 = await waitFor(
      'Prometheus to report the error ratio of revision 2',
      async () => (await errorRatioByHash(ns)).get(secondHash),
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    expect(ratio2).toBeCloseTo(0.3, 3);
    const median = await waitFor('the median latency of revision 2', async () => {
      const [s] = await promQuery(
        `histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="${ns}",pod_template_hash="${secondHash}"}[5s])))`,
      );
      return s && Number.isFinite(s.value) ? s.value : undefined;
    });
    expect(median).toBeGreaterThan(0.17);
    expect(median).toBeLessThan(0.23);

    // And `kubectl rollout undo` brings revision 1's template back as revision 3
    await kubectl(['-n', ns, 'rollout', 'undo', 'deployment/web']);
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);
    const third = await replicaSetByRevision(ns, '3');
    expect(third?.metadata.labels['pod-template-hash']).toBe(firstHash);
    expect(third?.spec.template.metadata.annotations?.['sim.rollguard.io/error-rate']).toBe('0.01');
    const live = await kubectlJson<{ metadata: { annotations: Record<string, string> } }>([
      '-n',
      ns,
      'get',
      'deployment',
      'web',
    ]);
    expect(live.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
  });
});
