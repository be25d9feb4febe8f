// `rollguard status deploy/NAME [-w]`: where the Deployment's current rollout stands under rollguard — level,
// reasons, the approval gate, the rollout's progress, verification against the policy's limits — and what
// happens next. With -w it follows the rollout as `kubectl rollout status` does: a line whenever something
// changes, then exit 0 when it is verified (or rolled out, where nothing verifies it) and 1 when it is rolled
// back or fails. It polls (one GET of the Deployment and one of the assessment a second) rather than
// watching: simple, and each request has a deadline.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { durationMs } from '../api/duration.js';
import { annotations } from '../api/annotations.js';
import type { AssessmentObject } from '../api/objects.js';
import { isNotFound } from '../kube/errors.js';
import { invocation } from './invocation.js';
import { assessmentOf, callError, currentRevision, policyOf, readDeployment } from './kube-calls.js';
import { errorLine, nowOf, parseCommandLine, processIO, toJson, UsageError, type CommandIO } from './output.js';
import { clusterFrom, kubeOptions, kubeOptionsHelp } from './plugin-options.js';
import { renderStatus, rolloutStatus, type RolloutStatus } from './rollout-status.js';
import { parseDeploymentTarget } from './target.js';

export const statusHelp = `Usage: rollguard status deploy/NAME [-w] [options]

Shows where the Deployment's current rollout stands under rollguard: the risk level and the reasons, whether
it is paused for approval or who approved it, how far the rollout got, how verification on live metrics is
going (checks so far, failed intervals against the limit that rolls back, when the window ends) and what
happens next.

With -w it follows the rollout until rollguard is done with it, printing a line whenever something changes,
like 'kubectl rollout status'. Exit codes: 0 verified (or rolled out where nothing verifies it), 1 rolled
back, failed or timed out, 2 bad usage.

Options:
  -w, --watch              follow the rollout until it is verified, rolled back or failed
  --timeout DURATION       with -w: give up after this long (e.g. 10m; default: no limit)
${kubeOptionsHelp}
  --json                   print the status as JSON (with -w: one JSON object per change)
  -h, --help               show this help

Examples:
  rollguard status deploy/checkout -n shop
  rollguard status deploy/checkout -n shop -w --timeout 15m
`;

const options = {
  ...kubeOptions,
  watch: { type: 'boolean', short: 'w' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How often -w looks again. */
const pollMs = 1000;

interface Snapshot {
  status: RolloutStatus;
  revision: number | undefined;
  assessment: AssessmentObject | undefined;
}

async function snapshot(
  kc: KubeConfig,
  io: CommandIO,
  namespace: string,
  name: string,
  followed: number | undefined,
): Promise<Snapshot> {
  const deployment = await readDeployment(kc, namespace, name);
  const current = currentRevision(deployment);
  // A revision rolled back since we started following it: report on it, not on the rollback revision.
  const rolledBackFrom = Number(deployment.metadata?.annotations?.[annotations.rolledBackFrom]);
  const revision =
    followed !== undefined && current !== undefined && current > followed && rolledBackFrom === followed
      ? followed
      : current;
  const assessment = revision === undefined ? undefined : await assessmentOf(kc, namespace, name, revision);
  const policy = assessment ? await policyOf(kc, namespace, assessment.spec?.policy) : undefined;
  const status = rolloutStatus({
    namespace,
    name,
    deployment,
    revision,
    assessment,
    policy,
    command: invocation,
    now: nowOf(io),
  });
  return { status, revision, assessment };
}

function jsonOf(s: Snapshot): unknown {
  return {
    revision: s.revision,
    stage: s.status.stage,
    summary: s.status.summary,
    details: s.status.details,
    next: s.status.next,
    done: s.status.done,
    assessment: s.assessment?.metadata?.name,
    level: s.assessment?.status?.level,
    score: s.assessment?.status?.score,
    outcome: s.assessment?.status?.outcome,
    verification: s.assessment?.status?.verification,
  };
}

export async function runStatusCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  let values;
  let name: string;
  let cluster;
  let timeoutMs: number | undefined;
  try {
    const parsed = parseCommandLine(argv, options);
    values = parsed.values;
    if (values.help) {
      io.stdout(statusHelp);
      return 0;
    }
    if (parsed.positionals.length > 1)
      throw new UsageError(`name one Deployment, not "${parsed.positionals.join(' ')}"`);
    name = parseDeploymentTarget(parsed.positionals[0]);
    if (values.timeout !== undefined) {
      if (!values.watch) throw new UsageError('--timeout only applies with -w');
      const ms = durationMs(values.timeout);
      if (ms === undefined || ms <= 0) {
        throw new UsageError(`--timeout must be a duration such as 30s or 10m, not "${values.timeout}"`);
      }
      timeoutMs = ms;
    }
    cluster = clusterFrom(values);
  } catch (err) {
    io.stderr(`rollguard status: ${errorLine(err)}\n`);
    return 2;
  }
  const { kc, namespace } = cluster;
  const fail = (err: unknown): number => {
    io.stderr(
      `rollguard status: ${isNotFound(err) ? `deploy/${name} not found in namespace ${namespace}` : callError(err)}\n`,
    );
    return 1;
  };

  let first: Snapshot;
  try {
    first = await snapshot(kc, io, namespace, name, undefined);
  } catch (err) {
    return fail(err);
  }
  io.stdout(values.json ? toJson(jsonOf(first)) : renderStatus(first.status));
  if (!values.watch) return 0;
  if (first.status.done) return first.status.exitCode;

  const started = Date.now();
  const followed = first.revision;
  let last = first;
  let lastStepAt = first.assessment?.status?.verification?.steps?.at(-1)?.at ?? '';
  let failuresInARow = 0;
  for (;;) {
    if (timeoutMs !== undefined && Date.now() - started >= timeoutMs) {
      io.stderr(
        `rollguard status: timed out after ${values.timeout ?? ''} waiting for ${name}: ${last.status.summary}\n`,
      );
      return 1;
    }
    await sleep(pollMs);
    let next: Snapshot;
    try {
      next = await snapshot(kc, io, namespace, name, followed);
      failuresInARow = 0;
    } catch (err) {
      // A blip of the API server is not the end of following a rollout; a deleted Deployment is.
      if (isNotFound(err) || ++failuresInARow >= 5) return fail(err);
      continue;
    }
    if (values.json) {
      if (JSON.stringify(jsonOf(next)) !== JSON.stringify(jsonOf(last))) io.stdout(toJson(jsonOf(next)));
    } else {
      // The record keeps the last steps only, so new ones are told apart by time (ISO times sort as text).
      for (const step of next.assessment?.status?.verification?.steps ?? []) {
        if (step.at <= lastStepAt) continue;
        io.stdout(
          `  check ${step.at} ${step.metric}: ${step.value ?? 'no data'} (limit ${step.limit ?? '-'}) ${step.verdict}\n`,
        );
      }
      lastStepAt = next.assessment?.status?.verification?.steps?.at(-1)?.at ?? lastStepAt;
      if (next.status.summary !== last.status.summary) io.stdout(`${next.status.summary}\n`);
      if (next.status.done) io.stdout(`  next: ${next.status.next}\n`);
    }
    last = next;
    if (next.status.done) return next.status.exitCode;
  }
}
