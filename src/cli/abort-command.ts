// `rollguard abort deploy/NAME --reason …`: rolls the current revision back now, the way the controller does
// when verification fails (the same plan, src/rollback/plan.ts, and the same writer), and records it on the
// revision's RolloutAssessment as a manual abort with the person's name and reason. The cap on automatic
// rollbacks does not bind a person; every other refusal of the plan holds (a rollback is never rolled back,
// a GitOps-managed Deployment is paused or left alone as its policy says).
import type { KubeConfig } from '@kubernetes/client-node';
import { clip, maxAnnotationValueLength, type AssessmentAction } from '../api/assessment.js';
import { annotations } from '../api/annotations.js';
import { currentRollout, isRollbackRevision } from '../api/revision.js';
import type { AssessmentObject } from '../api/objects.js';
import { isConflict, isNotFound, statusCode } from '../kube/errors.js';
import { KubeEventSink } from '../kube/events.js';
import { KubeClusterWriter, type ClusterWriter } from '../kube/writer.js';
import { planRollback, type GitOpsBehaviour, type RollbackPlan } from '../rollback/plan.js';
import { invocation } from './invocation.js';
import { assessmentOf, callError, unknownUser, policyOf, readDeployment, replicaSetsOf, whoAmI } from './kube-calls.js';
import { errorLine, nowOf, parseCommandLine, processIO, toJson, UsageError, type CommandIO } from './output.js';
import { clusterFrom, kubeOptions, kubeOptionsHelp } from './plugin-options.js';
import { fieldManagerFor, parseDeploymentTarget, parseRevision } from './target.js';

export const abortHelp = `Usage: rollguard abort deploy/NAME --reason TEXT [options]

Rolls the Deployment's current revision back now, as rollguard does when verification fails: the previous
revision's pod template goes back into the Deployment (what 'kubectl rollout undo' does), guarded against a
concurrent change, and a Deployment rollguard paused for approval is resumed so the old version rolls out.
The RolloutAssessment of the revision records a manual abort with your name and reason (its outcome becomes
rolled-back, which the model learns from), and an Event on the Deployment says so.

It refuses when the revision is itself a rollback (fix forward instead) or has no earlier revision. A
Deployment managed by Argo CD or Flux is paused rather than undone, unless its policy says
spec.rollback.gitOps: undo, since the next sync would re-apply the bad version: revert it in git.

Options:
  --reason TEXT            why, in a sentence (required; recorded on the assessment)
  --revision N             abort only if N is still the current revision (a guard for scripts)
${kubeOptionsHelp}
  --json                   print the result as JSON
  -h, --help               show this help

Examples:
  rollguard abort deploy/checkout -n shop --reason "checkout errors in the EU region"
  rollguard abort deploy/checkout -n shop --revision 8 --reason "p99 doubled after 8"
`;

const options = {
  ...kubeOptions,
  reason: { type: 'string' },
  revision: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface AbortResult {
  namespace: string;
  deployment: string;
  revision: number;
  by: string;
  reason: string;
  /** undo: rolled back; pause: paused for GitOps; skip: nothing done. */
  action: RollbackPlan['kind'];
  summary: string;
  /** The revision whose template was restored, for an undo. */
  to?: number;
  /** The assessment the abort is recorded on, or why it is not. */
  recordedOn?: string;
  notRecorded?: string;
}

/** An abort the plan refused: nothing was changed. */
class Refused extends Error {
  constructor(readonly result: AbortResult) {
    super(result.summary);
  }
}

const maxReason = 1000;

async function abort(
  kc: KubeConfig,
  io: CommandIO,
  namespace: string,
  name: string,
  reason: string,
  expected: number | undefined,
): Promise<AbortResult> {
  const user = await whoAmI(kc);
  const by = user ?? unknownUser;
  const deployment = await readDeployment(kc, namespace, name);
  const replicaSets = await replicaSetsOf(kc, deployment);
  const rollout = currentRollout(deployment, replicaSets);
  if (!rollout) {
    throw new Error(
      `deploy/${name} has no ReplicaSet for its current template yet; wait a moment and run it again (or use kubectl rollout undo)`,
    );
  }
  const revision = rollout.current.revision;
  if (expected !== undefined && expected !== revision) {
    throw new UsageError(`the current revision is ${revision}, not ${expected}; nothing done`);
  }
  const assessment = await assessmentOf(kc, namespace, name, revision);
  const policy = assessment ? await policyOf(kc, namespace, assessment.spec?.policy) : undefined;
  // Without a readable policy, the policy schema's default: pause a GitOps-managed Deployment.
  const gitOps: GitOpsBehaviour = policy && 'spec' in policy ? policy.spec.rollback.gitOps : 'pause';
  const now = nowOf(io);
  const why = `aborted by ${by}: ${reason}`;
  const plan = planRollback({
    deployment,
    replicaSets,
    badRevision: revision,
    badRevisionIsRollback: isRollbackRevision(rollout),
    // The cap limits what rollguard does on its own; a person deciding to roll back is not capped.
    previousRollbacks: [],
    maxRollbacks: Number.MAX_SAFE_INTEGER,
    windowMs: 0,
    gitOps,
    now,
    reason: why,
  });
  const result: AbortResult = {
    namespace,
    deployment: name,
    revision,
    by,
    reason,
    action: plan.kind,
    summary: plan.summary,
    ...(plan.kind === 'undo' ? { to: plan.target.revision } : {}),
  };
  if (plan.kind === 'skip') throw new Refused(result);

  const writer = new KubeClusterWriter(kc, fieldManagerFor(user ?? ''));
  // The record first, then the Deployment. Recorded afterwards, the controller could see the rollback first
  // and record it as its own automatic one (which would also count towards the policy's cap); once the
  // assessment is closed, the controller leaves it alone. If the Deployment then cannot be patched, the
  // record is put back as it was.
  const at = now.toISOString();
  const record = assessment?.metadata?.name
    ? await recordAbort(writer, namespace, assessment.metadata.name, {
        action: { type: 'aborted', at, message: clip(`${why}. ${plan.summary}`), by },
        phase: plan.kind === 'undo' ? 'RolledBack' : 'Failed',
        outcome: plan.kind === 'undo' ? 'rolled-back' : 'failed',
        verificationMessage: clip(`aborted by hand: ${reason}`),
      }).catch((err: unknown) => new Error(callError(err)))
    : undefined;
  try {
    if (plan.kind === 'undo') {
      // Guarded by the Deployment's resourceVersion: a concurrent change makes this fail, not vanish.
      await writer.jsonPatchDeployment(namespace, name, plan.ops);
    } else {
      await writer.mergePatchDeployment(namespace, name, {
        metadata: {
          resourceVersion: deployment.metadata?.resourceVersion,
          annotations: {
            [annotations.verification]: clip(`failed: ${why}`, maxAnnotationValueLength),
            [annotations.pausedRevision]: String(revision),
          },
        },
        spec: { paused: true },
      });
    }
  } catch (err) {
    if (record && !(record instanceof Error)) await record.undo().catch(() => undefined);
    throw err;
  }
  if (!assessment?.metadata?.name) {
    result.notRecorded = `rollguard has no assessment of revision ${revision}`;
  } else if (record instanceof Error) {
    result.notRecorded = `the rollback is done, but recording it on RolloutAssessment ${assessment.metadata.name} failed: ${record.message}`;
  } else {
    result.recordedOn = assessment.metadata.name;
  }
  try {
    await new KubeEventSink(kc).emit({
      regarding: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace,
        name,
        ...(deployment.metadata?.uid ? { uid: deployment.metadata.uid } : {}),
      },
      type: 'Warning',
      reason: 'RolloutAborted',
      action: plan.kind === 'undo' ? 'Rollback' : 'Pause',
      note: `Revision ${revision} ${why}. ${plan.summary}`,
      dedupeKey: `aborted/${name}/${revision}`,
    });
  } catch (err) {
    io.stderr(`rollguard abort: note: no Event written (${callError(err)})\n`);
  }
  return result;
}

interface AbortRecord {
  action: AssessmentAction & { type: 'aborted' };
  phase: 'RolledBack' | 'Failed';
  outcome: 'rolled-back' | 'failed';
  verificationMessage: string;
}

/**
 * Appends the abort to the assessment and closes it, guarded by its resourceVersion (a concurrent write by
 * the controller is a conflict: read again and retry). Returns how to put the record back as it was.
 */
async function recordAbort(
  writer: ClusterWriter,
  namespace: string,
  name: string,
  abort: AbortRecord,
): Promise<{ undo: () => Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    const before = (await writer.readAssessment(namespace, name)) as AssessmentObject | undefined;
    if (!before) throw new Error(`RolloutAssessment ${name} is gone`);
    const status = before.status ?? {};
    const verification = status.verification ?? {};
    try {
      await writer.mergePatchAssessmentStatus(
        namespace,
        name,
        {
          actions: [...(status.actions ?? []), abort.action],
          phase: abort.phase,
          outcome: abort.outcome,
          verification: { state: 'failed', completedAt: abort.action.at, message: abort.verificationMessage },
        },
        before.metadata?.resourceVersion,
      );
    } catch (err) {
      if (isConflict(err) && attempt < 4) continue;
      throw err;
    }
    return {
      undo: async () => {
        const now = (await writer.readAssessment(namespace, name)) as AssessmentObject | undefined;
        if (!now) return;
        // A merge patch replaces arrays whole and removes fields set to null: exactly the fields as before.
        await writer.mergePatchAssessmentStatus(
          namespace,
          name,
          {
            actions: (now.status?.actions ?? []).filter((a) => !(a.type === 'aborted' && a.at === abort.action.at)),
            phase: status.phase ?? null,
            outcome: status.outcome ?? null,
            verification: {
              state: verification.state ?? null,
              completedAt: verification.completedAt ?? null,
              message: verification.message ?? null,
            },
          },
          now.metadata?.resourceVersion,
        );
      },
    };
  }
}

export async function runAbortCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  let values;
  let name: string;
  let reason: string;
  let expected: number | undefined;
  let cluster;
  try {
    const parsed = parseCommandLine(argv, options);
    values = parsed.values;
    if (values.help) {
      io.stdout(abortHelp);
      return 0;
    }
    if (parsed.positionals.length > 1)
      throw new UsageError(`name one Deployment, not "${parsed.positionals.join(' ')}"`);
    name = parseDeploymentTarget(parsed.positionals[0]);
    expected = parseRevision(values.revision);
    reason = (values.reason ?? '').trim();
    if (reason === '') throw new UsageError('say why with --reason "…": it is recorded on the assessment');
    if (reason.length > maxReason)
      throw new UsageError(`--reason is ${reason.length} characters; keep it under ${maxReason}`);
    cluster = clusterFrom(values);
  } catch (err) {
    io.stderr(`rollguard abort: ${errorLine(err)}\n`);
    return 2;
  }
  const { kc, namespace } = cluster;
  let result: AbortResult;
  try {
    result = await abort(kc, io, namespace, name, reason, expected);
  } catch (err) {
    if (err instanceof Refused) {
      if (values.json) io.stdout(toJson(err.result));
      io.stderr(`rollguard abort: not rolled back: ${err.message}\n`);
      return 1;
    }
    if (err instanceof UsageError) {
      io.stderr(`rollguard abort: ${err.message}\n`);
      return 2;
    }
    const code = statusCode(err);
    const why = isNotFound(err)
      ? `deploy/${name} not found in namespace ${namespace}`
      : code === 409 || code === 422
        ? 'the Deployment changed while aborting, so nothing was changed; run it again'
        : callError(err);
    io.stderr(`rollguard abort: ${why}\n`);
    return 1;
  }
  if (values.json) {
    io.stdout(toJson(result));
  } else {
    io.stdout(
      result.action === 'undo'
        ? `Rolled back ${namespace}/${name} from revision ${result.revision} to the template of revision ${result.to ?? '?'}.\n`
        : `Paused ${namespace}/${name} at revision ${result.revision}: ${result.summary}\n`,
    );
    if (result.recordedOn)
      io.stdout(`Recorded on RolloutAssessment ${result.recordedOn} as aborted by ${result.by}.\n`);
    io.stdout(`Follow it: ${invocation} status deploy/${name} -n ${namespace} -w\n`);
  }
  if (result.notRecorded) {
    io.stderr(`rollguard abort: ${result.notRecorded}\n`);
    return result.recordedOn === undefined && result.notRecorded.startsWith('the rollback is done') ? 1 : 0;
  }
  return 0;
}
