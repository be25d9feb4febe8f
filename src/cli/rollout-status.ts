// Where one rollout stands and what happens next, for `rollguard status`: the risk level and reasons, the gate
// (paused for approval, approved, resumed), the rollout's progress as `kubectl rollout status` reports it,
// verification progress against the policy's limits, and the outcome. Pure: the command reads the objects,
// this decides what a person is told and when following the rollout (`-w`) ends, and with which exit code.
import type { V1Deployment } from '@kubernetes/client-node';
import { riskLevels, type PolicySpec, type RiskLevel } from '../api/policy.js';
import { annotations } from '../api/annotations.js';
import type { AssessmentObject } from '../api/objects.js';
import { verificationLimitsFor } from '../verify/levels.js';
import { formatAge, formatNumber } from './output.js';

export interface StatusInput {
  namespace: string;
  name: string;
  deployment: V1Deployment;
  /** The revision reported on (the Deployment's current one, or the one being followed). */
  revision: number | undefined;
  /** Its assessment, when rollguard made one. */
  assessment?: AssessmentObject | undefined;
  /** The governing policy's parsed spec, or why it could not be read. */
  policy?: { spec: PolicySpec } | { problem: string } | undefined;
  /** How the user calls rollguard, for the commands suggested. */
  command: string;
  now: Date;
}

export type Stage =
  | 'not-assessed'
  | 'waiting-for-approval'
  | 'rolling-out'
  | 'verifying'
  | 'held'
  | 'succeeded'
  | 'rolled-back'
  | 'failed'
  | 'superseded'
  | 'rollout-failed';

export interface RolloutStatus {
  stage: Stage;
  /** One line: what is going on now. `-w` prints it again each time it changes. */
  summary: string;
  /** The details: level, reasons, gate, rollout, verification. */
  details: string[];
  /** What happens next, or what to do. */
  next: string;
  /** Following it (`-w`) ends here. */
  done: boolean;
  /** The exit code when done: 0 succeeded, 1 rolled back or failed. */
  exitCode: number;
}

export interface RolloutProgress {
  complete: boolean;
  failed: boolean;
  message: string;
}

/** The rollout's progress in the words `kubectl rollout status` uses (its deployment status viewer). */
export function rolloutProgress(d: V1Deployment): RolloutProgress {
  const name = d.metadata?.name ?? '';
  const status = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return { complete: false, failed: false, message: 'waiting for the Deployment spec update to be observed' };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { complete: false, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
  }
  const desired = d.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (d.spec?.paused === true && updated < desired) {
    return { complete: false, failed: false, message: `paused: ${updated} of ${desired} new replicas updated` };
  }
  if (updated < desired) {
    return { complete: false, failed: false, message: `${updated} of ${desired} new replicas updated` };
  }
  if (total > updated) {
    return { complete: false, failed: false, message: `${total - updated} old replicas pending termination` };
  }
  if (available < updated) {
    return { complete: false, failed: false, message: `${available} of ${updated} updated replicas available` };
  }
  return {
    complete: true,
    failed: false,
    message: `rolled out: ${updated} of ${desired} replicas updated and available`,
  };
}

function isLevel(level: string | undefined): level is RiskLevel {
  return (riskLevels as readonly string[]).includes(level ?? '');
}

function lastAction(a: AssessmentObject, types: readonly string[]) {
  return [...(a.status?.actions ?? [])].reverse().find((x) => types.includes(x.type));
}

export function rolloutStatus(input: StatusInput): RolloutStatus {
  const { deployment, assessment, revision, command, now } = input;
  const target = `deploy/${input.name} -n ${input.namespace}`;
  const progress = rolloutProgress(deployment);
  const details: string[] = [];
  const rev = revision === undefined ? 'no revision yet' : `revision ${revision}`;

  if (!assessment) {
    details.push(`rollout: ${progress.message}`);
    const unguarded = deployment.metadata?.annotations?.[annotations.assessedRevision] === undefined;
    const base = {
      details,
      stage: (progress.failed ? 'rollout-failed' : 'not-assessed') as Stage,
      summary: `${input.name} ${rev}: not assessed by rollguard; ${progress.message}`,
    };
    if (progress.failed) {
      return { ...base, next: 'fix the rollout: kubectl describe deployment/' + input.name, done: true, exitCode: 1 };
    }
    return {
      ...base,
      next: unguarded
        ? `no DeploymentRiskPolicy has assessed this Deployment; check 'kubectl get drp -n ${input.namespace}' and its selector`
        : `rollguard has not assessed ${rev} yet; it does within seconds of the new ReplicaSet`,
      // Unguarded, it is an ordinary rollout: following it ends when it is rolled out, as kubectl's does.
      done: unguarded && progress.complete,
      exitCode: 0,
    };
  }

  const s = assessment.status ?? {};
  const level = s.level;
  details.push(
    `risk: ${level ?? 'not scored yet'}${s.score !== undefined ? ` (score ${formatNumber(s.score, 2)})` : ''}${s.mode ? `, policy ${assessment.spec?.policy ?? '?'} in ${s.mode} mode` : ''}`,
  );
  const reasons = [...(s.hardRules ?? []), ...(s.reasons ?? [])];
  if (reasons.length > 0) details.push(`reasons: ${reasons.slice(0, 3).join('; ')}`);

  // The gate.
  const annotationsNow = deployment.metadata?.annotations ?? {};
  const pausedForApproval =
    annotationsNow[annotations.pausedRevision] === String(revision) && deployment.spec?.paused === true;
  const approval = lastAction(assessment, ['approved', 'pre-approved', 'resumed-by-hand']);
  if (pausedForApproval) details.push('gate: paused for approval');
  else if (s.approval) details.push(`gate: approved by ${s.approval.by} at ${s.approval.at}`);
  else if (approval) details.push(`gate: ${approval.message}`);
  else details.push('gate: not paused');
  details.push(`rollout: ${progress.message}`);

  // Verification.
  const v = s.verification;
  const limits =
    input.policy && 'spec' in input.policy && isLevel(level)
      ? verificationLimitsFor(level, input.policy.spec)
      : undefined;
  const prometheus = input.policy && 'spec' in input.policy ? input.policy.spec.prometheus.address : undefined;
  if (v?.state !== undefined) {
    const steps = v.steps ?? [];
    const failures = v.consecutiveFailures ?? 0;
    const parts = [
      v.state,
      `${steps.length} check${steps.length === 1 ? '' : 's'}`,
      limits
        ? `${failures} of ${limits.failureLimit} failed intervals in a row roll back`
        : `${failures} failed in a row`,
    ];
    if (v.deadline) {
      const left = new Date(v.deadline).getTime() - now.getTime();
      parts.push(
        left > 0 ? `ends in ${formatAge(now, new Date(v.deadline))} (${v.deadline})` : `window ended ${v.deadline}`,
      );
    }
    details.push(`verification: ${parts.join(', ')}`);
    const last = steps.at(-1);
    if (last) {
      details.push(
        `last check: ${last.at} ${last.metric} ${formatNumber(last.value, 4)} (limit ${formatNumber(last.limit, 4)}) ${last.verdict}`,
      );
    }
    if (v.message) details.push(`  ${v.message}`);
  } else if (input.policy && 'problem' in input.policy) {
    details.push(`verification: unknown (${input.policy.problem})`);
  } else if (prometheus === undefined && input.policy) {
    details.push('verification: off (the policy names no Prometheus in spec.prometheus.address)');
  } else {
    details.push('verification: not started');
  }

  const outcome = s.outcome ?? 'running';
  const head = `${input.name} revision ${assessment.spec?.revision ?? revision ?? '?'}`;
  const levelText = level ? ` (${level})` : '';
  if (outcome === 'rolled-back') {
    const how = lastAction(assessment, ['aborted', 'rolled-back', 'rolled-back-by-hand']);
    return {
      stage: 'rolled-back',
      summary: `${head}${levelText}: rolled back${how ? `: ${how.message}` : ''}`,
      details,
      next: `the previous version serves again; see why with: ${command} explain ${input.name}/${assessment.spec?.revision ?? revision ?? ''} -n ${input.namespace}`,
      done: true,
      exitCode: 1,
    };
  }
  if (outcome === 'failed') {
    const how = lastAction(assessment, ['skipped-rollback', 'gitops-paused', 'aborted']);
    return {
      stage: 'failed',
      summary: `${head}${levelText}: failed verification${how ? `: ${how.message}` : ''}`,
      details,
      next: `not rolled back automatically; roll back with: ${command} abort ${target} --reason "…"`,
      done: true,
      exitCode: 1,
    };
  }
  if (outcome === 'superseded') {
    return {
      stage: 'superseded',
      summary: `${head}${levelText}: superseded by a newer revision`,
      details,
      next: `see the newest with: ${command} status ${target}`,
      done: true,
      exitCode: 0,
    };
  }
  if (outcome === 'succeeded') {
    return {
      stage: 'succeeded',
      summary: `${head}${levelText}: verified and rolled out`,
      details,
      next: 'nothing: rollguard is done with this revision',
      done: true,
      exitCode: 0,
    };
  }
  if (progress.failed) {
    return {
      stage: 'rollout-failed',
      summary: `${head}${levelText}: ${progress.message}`,
      details,
      next: `rollguard verifies what runs; consider: ${command} abort ${target} --reason "progress deadline exceeded"`,
      done: true,
      exitCode: 1,
    };
  }
  if (pausedForApproval) {
    return {
      stage: 'waiting-for-approval',
      summary: `${head}${levelText}: paused, waiting for approval`,
      details,
      next: `approve it: ${command} approve ${target}   (or roll back: ${command} abort ${target} --reason "…")`,
      done: false,
      exitCode: 0,
    };
  }
  if (v?.state === 'held') {
    return {
      stage: 'held',
      summary: `${head}${levelText}: verification on hold, nothing is rolled back`,
      details,
      next: 'it resumes by itself when Prometheus answers with data again',
      done: false,
      exitCode: 0,
    };
  }
  const verificationOff = input.policy !== undefined && 'spec' in input.policy && prometheus === undefined;
  const notEnforced = s.mode === 'shadow';
  if ((verificationOff || notEnforced) && progress.complete) {
    return {
      stage: 'succeeded',
      summary: `${head}${levelText}: rolled out (${verificationOff ? 'no verification: the policy names no Prometheus' : 'shadow mode: recorded only'})`,
      details,
      next: 'nothing: rollguard does not verify this revision',
      done: true,
      exitCode: 0,
    };
  }
  if (v?.state === 'running' || v?.state === 'pending') {
    const window = limits ? ` for ${Math.round(limits.windowMs / 1000)} s after it completes` : '';
    return {
      stage: 'verifying',
      summary: `${head}${levelText}: verifying on live metrics; ${progress.message}`,
      details,
      next: `rollguard checks every ${limits ? `${limits.intervalMs / 1000} s` : 'interval'}${window}; it rolls back if ${limits ? `${limits.failureLimit} interval${limits.failureLimit === 1 ? '' : 's'}` : 'enough intervals'} in a row fail`,
      done: false,
      exitCode: 0,
    };
  }
  return {
    stage: 'rolling-out',
    summary: `${head}${levelText}: ${progress.message}`,
    details,
    next: prometheus
      ? 'verification starts when the new pods serve'
      : 'rollguard follows the rollout; verification needs spec.prometheus.address in the policy',
    done: false,
    exitCode: 0,
  };
}

/** The status as text: the summary, the details indented, and what happens next. */
export function renderStatus(status: RolloutStatus): string {
  return `${status.summary}\n${status.details.map((d) => `  ${d}\n`).join('')}  next: ${status.next}\n`;
}
