// `rollguard history`: the rollouts rollguard assessed, newest first, from their RolloutAssessments: which
// Deployment and revision, when, the score and level, what was done (paused, approved, rolled back, …) and
// how it ended. Lists page by page (limit/continue) and shows progress on stderr when that takes several pages.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { assessmentLabels, labelValue } from '../api/assessment.js';
import type { AssessmentObject } from '../api/objects.js';
import { apiMessage } from '../kube/errors.js';
import { assessmentResource } from '../api/resources.js';
import {
  contextNamespace,
  errorLine,
  formatAge,
  formatNumber,
  connectCluster,
  nowOf,
  parseCommandLine,
  processIO,
  Progress,
  renderTable,
  toJson,
  truncate,
  UsageError,
  wholeNumber,
  type CommandIO,
} from './output.js';

export const historyHelp = `Usage: rollguard history [DEPLOYMENT] [options]

Lists the rollouts rollguard assessed, newest first, from their RolloutAssessments: the Deployment and
revision, how long ago, the risk score and level, what rollguard did (annotated, paused, approved, held,
rolled back, …) and how the rollout ended (running, succeeded, rolled-back, failed, superseded).
'rollguard explain DEPLOYMENT/REVISION' shows one of them in full.

Options:
  -n, --namespace NAME     the namespace to list (default: the kubeconfig context's)
  -A, --all-namespaces     list every namespace
  --limit N                show at most the N newest rollouts (default 20; 0 shows all)
  --chunk-size N           assessments asked for per API request while listing (default 500)
  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --json                   print one JSON object instead of a table
  -h, --help               show this help

Listing every assessment to sort them takes one request per --chunk-size assessments; when it takes more
than one, progress is shown on stderr.

Examples:
  rollguard history -n shop
  rollguard history -n shop checkout --limit 5
  rollguard history -A --json | jq '.items[] | select(.outcome == "rolled-back")'
`;

const options = {
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  limit: { type: 'string' },
  'chunk-size': { type: 'string' },
  kubeconfig: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface HistoryRow {
  namespace: string;
  /** The RolloutAssessment's name, for `rollguard explain`. */
  name: string;
  deployment: string;
  revision?: number;
  assessedAt?: string;
  score?: number;
  level?: string;
  scorer?: string;
  mode?: string;
  policy?: string;
  phase?: string;
  outcome?: string;
  verification?: string;
  /** Action types in order, `event` left out. */
  actions: string[];
}

/** When an assessment was made: its assessedAt, else when the object was created. */
export function assessedAt(a: AssessmentObject): Date | undefined {
  const when = a.status?.assessedAt ?? a.metadata?.creationTimestamp;
  if (when === undefined) return undefined;
  const date = new Date(when);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function historyRow(a: AssessmentObject): HistoryRow {
  const s = a.status;
  const when = assessedAt(a);
  const row: HistoryRow = {
    namespace: a.metadata?.namespace ?? '',
    name: a.metadata?.name ?? '',
    deployment: a.spec?.deployment ?? a.metadata?.labels?.[assessmentLabels.deployment] ?? '',
    actions: (s?.actions ?? []).map((action) => action.type).filter((type) => type !== 'event'),
  };
  if (a.spec?.revision !== undefined) row.revision = a.spec.revision;
  if (when) row.assessedAt = when.toISOString();
  if (s?.score !== undefined) row.score = s.score;
  if (s?.level !== undefined) row.level = s.level;
  if (s?.scorer !== undefined) row.scorer = s.scorer;
  if (s?.mode !== undefined) row.mode = s.mode;
  if (a.spec?.policy !== undefined) row.policy = a.spec.policy;
  if (s?.phase !== undefined) row.phase = s.phase;
  if (s?.outcome !== undefined) row.outcome = s.outcome;
  if (s?.verification?.state !== undefined) row.verification = s.verification.state;
  return row;
}

/** Newest first; ties (same second) by revision, highest first, then by name. */
export function newestFirst(a: AssessmentObject, b: AssessmentObject): number {
  const byTime = (assessedAt(b)?.getTime() ?? 0) - (assessedAt(a)?.getTime() ?? 0);
  if (byTime !== 0) return byTime;
  const byRevision = (b.spec?.revision ?? 0) - (a.spec?.revision ?? 0);
  if (byRevision !== 0) return byRevision;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

/** Actions in a few words: repeated ones once, in the order they first happened. */
export function shortActions(actions: readonly string[], max = 40): string {
  const unique = [...new Set(actions)];
  return unique.length === 0 ? '-' : truncate(unique.join(','), max);
}

/** The outcome, with the phase while it is still running: "running (Paused)". */
export function outcomeText(row: HistoryRow): string {
  const outcome = row.outcome ?? 'running';
  if (outcome === 'running' && row.phase !== undefined) return `running (${row.phase})`;
  return outcome;
}

export function renderHistory(rows: readonly HistoryRow[], now: Date, allNamespaces: boolean): string {
  const headers = ['DEPLOYMENT', 'REVISION', 'AGE', 'SCORE', 'LEVEL', 'ACTIONS', 'OUTCOME'];
  const body = rows.map((r) => [
    r.deployment,
    r.revision === undefined ? '-' : String(r.revision),
    formatAge(r.assessedAt ? new Date(r.assessedAt) : undefined, now),
    r.score === undefined ? '-' : formatNumber(r.score, 2),
    r.level ?? '-',
    shortActions(r.actions),
    outcomeText(r),
  ]);
  return allNamespaces
    ? renderTable(
        ['NAMESPACE', ...headers],
        body.map((cells, i) => [rows[i]?.namespace ?? '', ...cells]),
      )
    : renderTable(headers, body);
}

export interface ListOptions {
  /** '' lists every namespace. */
  namespace: string;
  deployment?: string | undefined;
  chunkSize: number;
}

/** Every RolloutAssessment in scope, page by page; `onPage` is told the count after each page. */
export async function listAssessments(
  kc: KubeConfig,
  options: ListOptions,
  onPage: (count: number, more: boolean) => void,
): Promise<AssessmentObject[]> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const items: AssessmentObject[] = [];
  let token: string | undefined;
  do {
    const page = {
      ...assessmentResource,
      limit: options.chunkSize,
      ...(token ? { _continue: token } : {}),
      ...(options.deployment
        ? { labelSelector: `${assessmentLabels.deployment}=${labelValue(options.deployment)}` }
        : {}),
    };
    const list = (
      options.namespace === ''
        ? await custom.listClusterCustomObject(page)
        : await custom.listNamespacedCustomObject({ ...page, namespace: options.namespace })
    ) as { items: AssessmentObject[]; metadata?: { continue?: string } };
    items.push(...list.items);
    const next = list.metadata?.continue;
    token = next !== undefined && next !== '' ? next : undefined;
    onPage(items.length, token !== undefined);
  } while (token !== undefined);
  return items;
}

export async function runHistoryCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseCommandLine(argv, options));
    if (values.help) {
      io.stdout(historyHelp);
      return 0;
    }
    if (positionals.length > 1) {
      throw new UsageError(`name at most one Deployment, not "${positionals.join(' ')}"`);
    }
    if (values['all-namespaces'] && values.namespace !== undefined) {
      throw new UsageError('--namespace and --all-namespaces contradict each other: pass one of them');
    }
  } catch (err) {
    io.stderr(`rollguard history: ${errorLine(err)}\n`);
    return 2;
  }
  let limit: number;
  let chunkSize: number;
  let kc: KubeConfig;
  try {
    limit = wholeNumber(values.limit, 'limit', 20, 0);
    chunkSize = wholeNumber(values['chunk-size'], 'chunk-size', 500, 1);
    kc = await connectCluster(values.kubeconfig);
  } catch (err) {
    io.stderr(`rollguard history: ${errorLine(err)}\n`);
    return 2;
  }
  const allNamespaces = values['all-namespaces'] ?? false;
  const namespace = allNamespaces ? '' : (values.namespace ?? contextNamespace(kc));
  const deployment = positionals[0];
  const progress = new Progress(io, 'reading rollout assessments');
  let items: AssessmentObject[];
  try {
    items = await listAssessments(kc, { namespace, deployment, chunkSize }, (count, more) => {
      if (more) progress.show();
      progress.update(`${count} so far${more ? '…' : ', done'}`);
    });
  } catch (err) {
    progress.done();
    io.stderr(`rollguard history: cannot list RolloutAssessments: ${apiMessage(err)}\n`);
    return 1;
  }
  progress.done();
  items.sort(newestFirst);
  const shown = limit === 0 ? items : items.slice(0, limit);
  const rows = shown.map(historyRow);
  if (values.json) {
    io.stdout(toJson({ items: rows, total: items.length }));
    return 0;
  }
  if (rows.length === 0) {
    const where = allNamespaces ? 'any namespace' : `namespace ${namespace}`;
    io.stdout(`No rollouts assessed${deployment ? ` for Deployment ${deployment}` : ''} in ${where}.\n`);
    return 0;
  }
  io.stdout(renderHistory(rows, nowOf(io), allNamespaces));
  if (items.length > rows.length) {
    io.stdout(`(${rows.length} newest of ${items.length}; --limit 0 shows all)\n`);
  }
  return 0;
}
