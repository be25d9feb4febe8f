// `rollguard doctor`: is everything in place for rollguard to work? One line per check, ✓ / ✗ / ! with the
// fix: the kubeconfig and the API server, the CRDs (installed, established, serving v1alpha1, with the
// schema this rollguard writes), the RBAC the controller uses (for the identity running doctor), each
// policy's Prometheus (reachable, healthy, its queries parse and return data), and the risk model.
import { gateChecks } from '../gate/doctor.js';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { resourceDefinitions } from '../api/crd.js';
import { formatFieldErrors } from '../api/issues.js';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import { selectorMatches } from '../api/selector.js';
import { shippedModelDir, riskModelOf } from '../controller/model-source.js';
import { KubeSecretReader, PrometheusAccess } from '../controller/prometheus-access.js';
import type { PolicyObject } from '../api/objects.js';
import { apiMessage, isNotFound, statusCode } from '../kube/errors.js';
import { group, policyResource, version } from '../api/resources.js';
import { loadModelDir } from '../model/store.js';
import { renderQuery } from '../prometheus/template.js';
import type { MetricsProvider } from '../prometheus/types.js';
import {
  errorLine,
  kubeConfigFrom,
  parseCommandLine,
  probeApiServer,
  processIO,
  toJson,
  UsageError,
  type CommandIO,
} from './output.js';
import {
  controllerRights,
  doctorExitCode,
  judgeCrd,
  judgeModel,
  judgeQuery,
  judgeRight,
  renderChecks,
  type Check,
  type CheckStatus,
} from './doctor-checks.js';

export * from './doctor-checks.js';

export const doctorHelp = `Usage: rollguard doctor [options]

Checks that everything rollguard needs is in place, one line per check: ✓ fine, ! works but needs a look,
✗ broken (with the fix). Exits 2 when there is no kubeconfig or the API server cannot be reached (the line
says which file was tried, or which server and why), 1 when any other check is ✗, 0 otherwise.

  kubeconfig and API   the kubeconfig loads and the API server answers GET /version
  CRDs                 both CRDs are installed and Established, serve ${version}, and their schema has every
                       field this rollguard writes (an older crds/ lacks some)
  RBAC                 each right the controller uses, asked with a SelfSubjectAccessReview
  Prometheus           for each DeploymentRiskPolicy: its Prometheus is reachable and healthy, and its error
                       rate and latency queries render, parse and return data for a Deployment it covers
  model                the risk model this rollguard loads (shipped in models/default, or --model-dir):
                       its version, held-out AUC, and what it was trained on

RBAC is checked for the identity running doctor (the kubeconfig's user), not for the controller's
ServiceAccount: run doctor with the controller's credentials to check those, or ask the API server with
  kubectl auth can-i --list --as=system:serviceaccount:<namespace>:<serviceaccount>
The model check reads the model from disk, as the controller does at start; a controller that has learned a
newer model keeps it in its ConfigMap.

Options:
  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  -n, --namespace NAME     check the policies and rights of this namespace only (a namespaced install);
                           default: every namespace
  --leader-election-namespace NAME
                           where the controller's leader Lease lives (default: $POD_NAMESPACE, else default)
  --model-dir DIR          the model to check (default: the one shipped in models/default)
  --json                   print one JSON object instead of lines
  -h, --help               show this help

Examples:
  rollguard doctor
  rollguard doctor --namespace payments
  rollguard doctor --kubeconfig ~/.kube/staging --json | jq '.checks[] | select(.status == "fail")'
`;

const options = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'leader-election-namespace': { type: 'string' },
  'model-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

// ---------------------------------------------------------------------------------------------------------
// Checks against the cluster

async function modelCheck(dirOption: string | undefined): Promise<Check> {
  const dir = dirOption ?? shippedModelDir();
  if (dir === undefined) {
    return {
      check: 'model',
      status: 'warn',
      message: 'no model found next to this rollguard: the controller scores with the rules alone',
      fix: 'reinstall rollguard (models/default is part of the package), or pass --model-dir',
    };
  }
  try {
    const bundle = await loadModelDir(dir);
    riskModelOf(bundle);
    return judgeModel(bundle.meta, dir);
  } catch (err) {
    return {
      check: 'model',
      status: 'fail',
      message: `the model in ${dir} cannot be loaded: ${errorLine(err)}; the controller would score with the rules alone`,
      fix: 'retrain it with this rollguard (rollguard model train) or use the shipped model',
    };
  }
}

async function crdChecks(kc: KubeConfig): Promise<Check[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  return Promise.all(
    resourceDefinitions.map(async (def) => {
      try {
        return judgeCrd(def, await api.readCustomResourceDefinition({ name: `${def.plural}.${group}` }));
      } catch (err) {
        if (isNotFound(err)) return judgeCrd(def, undefined);
        // Forbidden: the CRD may well be fine, doctor just may not look (most users cannot read CRDs).
        return {
          check: `CRD ${def.plural}.${group}`,
          status: statusCode(err) === 403 ? ('warn' as const) : ('fail' as const),
          message: `could not be checked: ${apiMessage(err)}`,
          fix: 'run doctor as an identity that may get customresourcedefinitions.apiextensions.k8s.io',
        };
      }
    }),
  );
}

async function whoAmI(kc: KubeConfig): Promise<string> {
  try {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    const user = review.status?.userInfo?.username;
    if (user) return user;
  } catch {
    // Older API servers have no SelfSubjectReview: name the kubeconfig's user instead.
  }
  return `kubeconfig user ${kc.getCurrentUser()?.name ?? 'unknown'}`;
}

async function rbacChecks(kc: KubeConfig, namespace: string, leaseNamespace: string): Promise<Check[]> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const identity = await whoAmI(kc);
  const checks = await Promise.all(
    controllerRights.map(async (right) => {
      const ns = right.where === 'own' ? leaseNamespace : namespace;
      const denied: string[] = [];
      const errors: string[] = [];
      await Promise.all(
        right.verbs.map(async (verb) => {
          try {
            const review = await api.createSelfSubjectAccessReview({
              body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SelfSubjectAccessReview',
                spec: {
                  resourceAttributes: {
                    group: right.group,
                    resource: right.resource,
                    verb,
                    namespace: ns,
                    ...(right.subresource ? { subresource: right.subresource } : {}),
                  },
                },
              },
            });
            if (review.status?.allowed !== true) denied.push(verb);
          } catch (err) {
            errors.push(apiMessage(err));
          }
        }),
      );
      denied.sort((a, b) => right.verbs.indexOf(a) - right.verbs.indexOf(b));
      return judgeRight(right, ns, denied, errors);
    }),
  );
  return [
    {
      check: 'RBAC identity',
      status: 'ok',
      message: `the rights below are those of ${identity}, the identity running doctor, not necessarily the controller's ServiceAccount`,
    },
    ...checks,
  ];
}

async function listPolicies(kc: KubeConfig, namespace: string): Promise<PolicyObject[]> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (
    namespace === ''
      ? await custom.listClusterCustomObject({ ...policyResource })
      : await custom.listNamespacedCustomObject({ ...policyResource, namespace })
  ) as { items: PolicyObject[] };
  return list.items;
}

/** A Deployment the policy covers (the first by name), and its current pod-template-hash when known. */
async function coveredDeployment(
  kc: KubeConfig,
  namespace: string,
  spec: PolicySpec,
): Promise<{ deployment: V1Deployment; hash?: string } | undefined> {
  const apps = kc.makeApiClient(AppsV1Api);
  const deployments = (await apps.listNamespacedDeployment({ namespace })).items
    .filter((d) => selectorMatches(spec.selector, d.metadata?.labels ?? {}))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const deployment = deployments[0];
  if (!deployment) return undefined;
  const revision = deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  const uid = deployment.metadata?.uid;
  try {
    const current = (await apps.listNamespacedReplicaSet({ namespace })).items.find(
      (rs) =>
        rs.metadata?.ownerReferences?.some((o) => o.uid === uid) &&
        rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision,
    );
    const hash = current?.metadata?.labels?.['pod-template-hash'];
    return hash ? { deployment, hash } : { deployment };
  } catch {
    return { deployment };
  }
}

async function queryCheck(
  provider: MetricsProvider,
  policyName: string,
  spec: PolicySpec,
  namespace: string,
  target: { deployment: string; hash?: string },
  metric: 'error rate' | 'latency',
): Promise<Check> {
  const field = metric === 'error rate' ? 'spec.metrics.errorRate.query' : 'spec.metrics.latency.query';
  const template = metric === 'error rate' ? spec.metrics.errorRate.query : spec.metrics.latency.query;
  const render = renderQuery(template, {
    namespace,
    deployment: target.deployment,
    window: spec.metrics.rateWindow,
    deployments: [target.deployment],
    ...(target.hash ? { podTemplateHash: target.hash, podTemplateHashes: [target.hash] } : {}),
  });
  if (!render.ok) {
    return {
      check: `Prometheus ${policyName} ${metric} query`,
      status: 'fail',
      message: `does not render: ${render.error}`,
      fix: `fix ${field}`,
    };
  }
  return judgeQuery(policyName, metric, field, target.deployment, await provider.instant(render.query));
}

async function policyChecks(kc: KubeConfig, namespace: string): Promise<Check[]> {
  let policies: PolicyObject[];
  try {
    policies = await listPolicies(kc, namespace);
  } catch (err) {
    const forbidden = statusCode(err) === 403;
    return [
      {
        check: 'Prometheus',
        status: forbidden ? 'warn' : 'fail',
        message: `policies not checked: cannot list DeploymentRiskPolicies: ${apiMessage(err)}`,
        fix: forbidden
          ? 'run doctor as an identity that may list deploymentriskpolicies.rollguard.io, or pass -n with a namespace you may read'
          : 'install the CRDs: kubectl apply --server-side -f crds/',
      },
    ];
  }
  if (policies.length === 0) {
    const where = namespace === '' ? 'any namespace' : `namespace ${namespace}`;
    return [
      {
        check: 'Prometheus',
        status: 'warn',
        message: `no DeploymentRiskPolicy in ${where}: rollguard guards nothing yet`,
        fix: 'kubectl apply -n <namespace> -f deploy/examples/policy.yaml',
      },
    ];
  }
  const access = new PrometheusAccess(new KubeSecretReader(kc));
  const checks: Check[] = [];
  const sorted = [...policies].sort((a, b) =>
    `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`.localeCompare(
      `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`,
    ),
  );
  for (const policy of sorted) {
    const ns = policy.metadata?.namespace ?? 'default';
    const name = `${ns}/${policy.metadata?.name ?? ''}`;
    const check = `Prometheus ${name}`;
    const parsed = parsePolicySpec(policy.spec);
    if (!parsed.ok) {
      checks.push({
        check: `policy ${name}`,
        status: 'fail',
        message: `is invalid, so it guards nothing: ${formatFieldErrors(parsed.errors)}`,
        fix: `kubectl edit drp -n ${ns} ${policy.metadata?.name ?? ''}`,
      });
      continue;
    }
    const spec = parsed.value;
    if (!spec.prometheus.address) {
      checks.push({
        check,
        status: 'warn',
        message: 'the policy names no Prometheus: no live signals before a rollout and no verification after it',
        fix: 'set spec.prometheus.address, e.g. http://prometheus.monitoring:9090',
      });
      continue;
    }
    const lookup = await access.providerFor(ns, spec);
    if (!lookup.ok) {
      checks.push({ check, status: 'fail', message: lookup.reason, fix: 'check the Secrets named in spec.prometheus' });
      continue;
    }
    const health = await lookup.provider.healthy();
    if (!health.healthy) {
      checks.push({
        check,
        status: 'fail',
        message: `${spec.prometheus.address}: ${health.message}; verification holds while it is down`,
        fix: 'check spec.prometheus.address and that Prometheus runs and is reachable from here',
      });
      continue;
    }
    checks.push({
      check,
      status: 'ok',
      message: `${spec.prometheus.address} is reachable and healthy (${health.via})`,
    });
    let target: { deployment: string; hash?: string } | undefined;
    try {
      const covered = await coveredDeployment(kc, ns, spec);
      if (covered) {
        target = { deployment: covered.deployment.metadata?.name ?? '' };
        if (covered.hash) target.hash = covered.hash;
      }
    } catch (err) {
      checks.push({
        check: `Prometheus ${name} queries`,
        status: 'warn',
        message: `not tried: cannot list the Deployments in ${ns}: ${apiMessage(err)}`,
      });
      continue;
    }
    if (!target) {
      checks.push({
        check: `Prometheus ${name} queries`,
        status: 'warn',
        message: 'not tried: the policy covers no Deployment yet',
        fix: "label a Deployment so the policy's selector matches it",
      });
      continue;
    }
    for (const metric of ['error rate', 'latency'] as const) {
      checks.push(await queryCheck(lookup.provider, name, spec, ns, target, metric));
    }
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------------------
// The command

export async function runDoctor(values: {
  kubeconfig?: string | undefined;
  namespace?: string | undefined;
  leaseNamespace: string;
  modelDir?: string | undefined;
}): Promise<Check[]> {
  const checks: Check[] = [];
  let kc: KubeConfig | undefined;
  try {
    kc = kubeConfigFrom(values.kubeconfig);
    const context = kc.getCurrentContext();
    checks.push({
      check: 'kubeconfig',
      status: 'ok',
      message: `context ${context || '(in-cluster)'}, user ${kc.getCurrentUser()?.name ?? 'unknown'}, server ${kc.getCurrentCluster()?.server ?? 'unknown'}`,
    });
  } catch (err) {
    checks.push({
      check: 'kubeconfig',
      status: 'fail',
      message: errorLine(err).replace(/; pass --kubeconfig PATH or set KUBECONFIG$/, ''),
      fix: 'pass --kubeconfig PATH or set KUBECONFIG',
    });
  }
  let apiOk = false;
  if (kc) {
    const probe = await probeApiServer(kc, 10_000);
    if (probe.ok) {
      apiOk = true;
      checks.push({
        check: 'API server',
        status: 'ok',
        message: `Kubernetes ${probe.version} answers at ${probe.server}`,
      });
    } else {
      checks.push({
        check: 'API server',
        status: 'fail',
        message: probe.reason,
        fix: 'check the kubeconfig context (kubectl config current-context) and that the cluster runs',
      });
    }
  }
  if (kc && apiOk) {
    const namespace = values.namespace ?? '';
    checks.push(...(await crdChecks(kc)));
    checks.push(...(await rbacChecks(kc, namespace, values.leaseNamespace)));
    checks.push(...(await policyChecks(kc, namespace)));
    checks.push(...(await gateChecks(kc, namespace)));
  } else {
    checks.push({
      check: 'cluster checks',
      status: 'fail',
      message: 'CRDs, RBAC and Prometheus not checked: they need the API server',
      fix: 'fix the lines above first',
    });
  }
  checks.push(await modelCheck(values.modelDir));
  return checks;
}

export async function runDoctorCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  let values;
  try {
    const parsed = parseCommandLine(argv, options);
    values = parsed.values;
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals.join(' ')}"`);
  } catch (err) {
    io.stderr(`rollguard doctor: ${errorLine(err)}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(doctorHelp);
    return 0;
  }
  try {
    const checks = await runDoctor({
      kubeconfig: values.kubeconfig,
      namespace: values.namespace,
      leaseNamespace: values['leader-election-namespace'] ?? process.env.POD_NAMESPACE ?? 'default',
      modelDir: values['model-dir'],
    });
    const exitCode = doctorExitCode(checks);
    if (values.json) {
      const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
      io.stdout(toJson({ checks, summary: { ok: count('ok'), warn: count('warn'), fail: count('fail') }, exitCode }));
    } else {
      io.stdout(renderChecks(checks));
    }
    return exitCode;
  } catch (err) {
    io.stderr(`rollguard doctor: ${errorLine(err)}\n`);
    return 1;
  }
}
