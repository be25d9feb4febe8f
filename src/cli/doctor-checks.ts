// The pure half of `rollguard doctor`: judging what the cluster answered — a CRD's installed schema against
// the one this rollguard generates, the rights the controller needs, a policy's query result, the model — and
// rendering the checks. No I/O here; doctor-command.ts asks the cluster and passes the answers in.
import { resourceSchema, type ResourceDefinition } from '../api/crd.js';
import { group, policyResource, version } from '../api/resources.js';
import { FEATURE_NAMES } from '../model/contract.js';
import type { ModelMeta } from '../model/store.js';
import { formatValue, type QueryResult } from '../prometheus/types.js';
import { formatNumber, marks } from './output.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** What was checked, e.g. "API server", "CRD rolloutassessments.rollguard.io", "RBAC apps/deployments". */
  check: string;
  status: CheckStatus;
  message: string;
  /** What to do about it, for warn and fail. */
  fix?: string;
}

export const applyCrds = 'apply crds/ from this version: kubectl apply --server-side -f crds/';

// ---------------------------------------------------------------------------------------------------------
// CRDs (pure parts)

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every field path a schema declares: `spec.levels`, `status.verification.steps[].verdict`, … */
export function schemaPaths(schema: unknown, prefix = ''): string[] {
  if (!isRecord(schema)) return [];
  const paths: string[] = [];
  if (isRecord(schema.properties)) {
    for (const [name, child] of Object.entries(schema.properties)) {
      const path = prefix === '' ? name : `${prefix}.${name}`;
      paths.push(path, ...schemaPaths(child, path));
    }
  }
  if (isRecord(schema.items)) paths.push(...schemaPaths(schema.items, `${prefix}[]`));
  return paths;
}

/** The fields this rollguard's schema has that the installed one lacks (an older CRD), and the reverse. */
export function compareSchemas(expected: unknown, installed: unknown): { missing: string[]; unknown: string[] } {
  const want = schemaPaths(expected);
  const have = new Set(schemaPaths(installed));
  const wanted = new Set(want);
  // A missing parent implies its children: report the top-most missing field only.
  const missing = want.filter((p) => !have.has(p));
  const topMissing = missing.filter(
    (p) => !missing.some((q) => q !== p && (p.startsWith(`${q}.`) || p.startsWith(`${q}[]`))),
  );
  const extra = [...have].filter((p) => !wanted.has(p));
  const topExtra = extra.filter(
    (p) => !extra.some((q) => q !== p && (p.startsWith(`${q}.`) || p.startsWith(`${q}[]`))),
  );
  return { missing: topMissing, unknown: topExtra };
}

function listSome(items: readonly string[], max = 4): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} (+${items.length - max} more)` : shown;
}

/** The check of one installed CRD (or undefined: not installed) against this rollguard's definition. */
export function judgeCrd(def: ResourceDefinition, installed: unknown): Check {
  const name = `${def.plural}.${group}`;
  const check = `CRD ${name}`;
  if (!isRecord(installed)) {
    return { check, status: 'fail', message: 'not installed', fix: applyCrds };
  }
  const status = isRecord(installed.status) ? installed.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  const established = conditions.find((c) => c.type === 'Established');
  if (established?.status !== 'True') {
    const why = typeof established?.message === 'string' ? `: ${established.message}` : '';
    return { check, status: 'fail', message: `installed but not Established${why}`, fix: applyCrds };
  }
  const spec = isRecord(installed.spec) ? installed.spec : {};
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isRecord) : [];
  const served = versions.find((v) => v.name === version);
  if (served?.served !== true) {
    const names = versions.map((v) => String(v.name)).join(', ') || 'none';
    return { check, status: 'fail', message: `does not serve ${version} (serves ${names})`, fix: applyCrds };
  }
  const schema = isRecord(served.schema) ? served.schema.openAPIV3Schema : undefined;
  const { missing, unknown } = compareSchemas(resourceSchema(def), schema);
  if (missing.length > 0) {
    return {
      check,
      status: 'fail',
      message: `older than this rollguard: its schema lacks ${listSome(missing)}, so the API server would drop what rollguard writes there`,
      fix: applyCrds,
    };
  }
  if (unknown.length > 0) {
    return {
      check,
      status: 'warn',
      message: `newer than this rollguard: its schema has ${listSome(unknown)}, which this rollguard does not know`,
      fix: 'upgrade rollguard to the version whose crds/ were applied',
    };
  }
  return { check, status: 'ok', message: `Established, serves ${version}, schema matches this rollguard` };
}

// ---------------------------------------------------------------------------------------------------------
// RBAC (pure parts)

export interface Right {
  group: string;
  resource: string;
  subresource?: string;
  verbs: readonly string[];
  /** Where the controller needs it: the watched namespaces, or its own (the leader Lease). */
  where: 'watched' | 'own';
}

/** Every right the controller uses; the Helm chart's RBAC grants exactly these. */
export const controllerRights: readonly Right[] = [
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch', 'patch'], where: 'watched' },
  { group: 'apps', resource: 'replicasets', verbs: ['list', 'watch'], where: 'watched' },
  { group, resource: policyResource.plural, verbs: ['get', 'list', 'watch'], where: 'watched' },
  { group, resource: policyResource.plural, subresource: 'status', verbs: ['patch'], where: 'watched' },
  // patch: the gate fills in a held template's pod-template-hash once its ReplicaSet exists.
  {
    group,
    resource: 'rolloutassessments',
    verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch'],
    where: 'watched',
  },
  { group, resource: 'rolloutassessments', subresource: 'status', verbs: ['patch'], where: 'watched' },
  { group: 'events.k8s.io', resource: 'events', verbs: ['create'], where: 'watched' },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'], where: 'own' },
  { group: '', resource: 'configmaps', verbs: ['get', 'create', 'update'], where: 'own' },
];

export function rightName(right: Pick<Right, 'group' | 'resource' | 'subresource'>): string {
  const resource = right.subresource ? `${right.resource}/${right.subresource}` : right.resource;
  return right.group === '' ? resource : `${right.group}/${resource}`;
}

/** One check per right from the verbs the identity was denied. */
export function judgeRight(
  right: Right,
  namespace: string,
  denied: readonly string[],
  errors: readonly string[],
): Check {
  const where = namespace === '' ? 'in every namespace' : `in namespace ${namespace}`;
  const check = `RBAC ${rightName(right)}`;
  if (errors.length > 0) {
    return {
      check,
      status: 'warn',
      message: `could not be asked: ${errors[0] ?? ''}`,
      fix: 'check that the API server serves authorization.k8s.io/v1',
    };
  }
  if (denied.length === 0) return { check, status: 'ok', message: `${right.verbs.join(', ')} ${where}` };
  return {
    check,
    status: 'fail',
    message: `missing ${denied.join(', ')} ${where} (has ${right.verbs.filter((v) => !denied.includes(v)).join(', ') || 'none of them'})`,
    fix: `grant ${denied.join(', ')} on ${rightName(right)} ${where}: the Helm chart's RBAC (charts/rollguard/templates/rbac.yaml) has every right the controller uses`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Prometheus (pure parts)

const labelHint =
  'check that the metrics carry the labels namespace, deployment and pod_template_hash (the simulator and most scrape configs add them with relabelling), or set your own query in';

/** What one instant query of a policy's metric says about that metric's setup. */
export function judgeQuery(
  policy: string,
  metric: 'error rate' | 'latency',
  field: string,
  deployment: string,
  result: QueryResult,
): Check {
  const check = `Prometheus ${policy} ${metric} query`;
  const finite = (values: readonly number[]) => values.filter((v) => Number.isFinite(v));
  switch (result.kind) {
    case 'value':
      return { check, status: 'ok', message: `returns ${formatValue(result.value)} for Deployment ${deployment}` };
    case 'vector': {
      const values = finite(result.samples.map((s) => s.value));
      if (values.length === 0) {
        return {
          check,
          status: 'warn',
          message: `returns only NaN for Deployment ${deployment} (usually no requests in the rate window)`,
          fix: 'send it traffic, or widen spec.metrics.rateWindow',
        };
      }
      return {
        check,
        status: 'ok',
        message: `returns ${result.samples.length} series for Deployment ${deployment}, e.g. ${formatValue(values[0] ?? NaN)}`,
      };
    }
    case 'matrix':
      return { check, status: 'ok', message: `returns ${result.series.length} series for Deployment ${deployment}` };
    case 'empty':
      return {
        check,
        status: 'warn',
        message: `returns no series for Deployment ${deployment}: verification would hold for lack of data`,
        fix: `${labelHint} ${field}`,
      };
    case 'not-a-number':
      return {
        check,
        status: 'warn',
        message: `returns ${formatValue(result.value)} for Deployment ${deployment} (${result.message})`,
        fix: 'send it traffic, or widen spec.metrics.rateWindow',
      };
    case 'multiple-series':
      return { check, status: 'ok', message: `returns ${result.count} series for Deployment ${deployment}` };
    case 'promql-error':
      return { check, status: 'fail', message: `Prometheus rejects the query: ${result.error}`, fix: `fix ${field}` };
    default:
      return {
        check,
        status: 'fail',
        message: result.message,
        fix: 'check spec.prometheus (address, credentials, timeout)',
      };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Model (pure part)

/** How good the model is, from its meta.json. */
export function judgeModel(meta: ModelMeta, dir: string): Check {
  const check = 'model';
  const learned = meta.learnedFeatures.length;
  const trained = `trained ${meta.trainedAt.slice(0, 10)} on ${meta.data.description} (${meta.data.rows.toLocaleString('en-US')} rows, ${meta.data.positives.toLocaleString('en-US')} risky); learns from ${learned} of ${FEATURE_NAMES.length} features, rules cover the rest`;
  if (!meta.evaluation) {
    return {
      check,
      status: 'warn',
      message: `${meta.modelVersion} from ${dir}: no held-out evaluation, so how good it is is unknown; ${trained}`,
      fix: 'retrain with a time column: rollguard model train --time COL',
    };
  }
  const auc = formatNumber(meta.evaluation.auc, 2);
  const message = `${meta.modelVersion} from ${dir}: held-out AUC ${auc} (${meta.evaluation.method}); ${trained}`;
  if (meta.evaluation.auc < 0.65) {
    return {
      check,
      status: 'warn',
      message,
      fix: 'an AUC below 0.65 barely ranks risky changes above safe ones: retrain on more data, or start policies in shadow mode',
    };
  }
  return { check, status: 'ok', message };
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

export function renderChecks(checks: readonly Check[]): string {
  const lines = checks.map((c) => {
    const mark = c.status === 'ok' ? marks.ok : c.status === 'fail' ? marks.fail : marks.warn;
    return `${mark} ${c.check}: ${c.message}\n${c.fix && c.status !== 'ok' ? `    fix: ${c.fix}\n` : ''}`;
  });
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  return `${lines.join('')}\n${count('ok')} ok, ${count('warn')} to look at, ${count('fail')} failed\n`;
}

/** 2 when the cluster could not be reached at all (no kubeconfig, no API server), 1 for any other ✗, else 0. */
export function doctorExitCode(checks: readonly Check[]): number {
  const unreachable = checks.some((c) => (c.check === 'kubeconfig' || c.check === 'API server') && c.status === 'fail');
  if (unreachable) return 2;
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}
