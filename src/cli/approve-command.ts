// `rollguard approve deploy/NAME`: lets a rollout rollguard paused continue, as setting the approve
// annotation by hand does, without typing the annotation and the revision exactly. The annotation is written
// under a field manager named after the person (from SelfSubjectReview), because the controller records the
// approver from the field manager that set it (metadata.managedFields); the API server's audit log stays the
// authority on who sent the request.
import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { annotations } from '../api/annotations.js';
import { isConflict, isNotFound } from '../kube/errors.js';
import { invocation } from './invocation.js';
import { unknownUser, callError, currentRevision, readDeployment, whoAmI } from './kube-calls.js';
import { errorLine, parseCommandLine, processIO, toJson, UsageError, type CommandIO } from './output.js';
import { clusterFrom, kubeOptions, kubeOptionsHelp } from './plugin-options.js';
import { fieldManagerFor, parseDeploymentTarget, parseRevision } from './target.js';

export const approveHelp = `Usage: rollguard approve deploy/NAME [--revision N] [options]

Approves a rollout rollguard paused for approval, so it continues. Without --revision it approves the
Deployment's current revision, and refuses if the Deployment moves on to a newer one meanwhile. With
--revision N it approves revision N; a revision not rolled out yet is approved in advance (rollguard will
not pause it), which is what a pipeline does before it applies a release.

It sets the annotation rollguard.io/approve=N on the Deployment. rollguard resumes the rollout within
seconds and records who approved (the name the API server knows you by) on the RolloutAssessment.

Options:
  --revision N             the revision to approve (default: the current one)
${kubeOptionsHelp}
  --json                   print the result as JSON
  -h, --help               show this help

Examples:
  rollguard approve deploy/checkout -n shop
  rollguard approve deploy/checkout -n shop --revision 8
`;

const options = {
  ...kubeOptions,
  revision: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ApproveResult {
  namespace: string;
  deployment: string;
  revision: number;
  /** Who the approval is recorded for. */
  by: string;
  /** It was paused for approval at this revision (else the approval is in advance, or came after a resume). */
  wasPaused: boolean;
  alreadyApproved: boolean;
}

async function approve(
  kc: KubeConfig,
  namespace: string,
  name: string,
  asked: number | undefined,
): Promise<ApproveResult> {
  const user = await whoAmI(kc);
  const by = user ?? unknownUser;
  for (let attempt = 0; ; attempt++) {
    const deployment = await readDeployment(kc, namespace, name);
    const current = currentRevision(deployment);
    const revision = asked ?? current;
    if (revision === undefined) {
      throw new Error(`deploy/${name} has no revision yet; wait for the Deployment controller and try again`);
    }
    if (asked !== undefined && current !== undefined && asked < current) {
      throw new UsageError(
        `revision ${asked} is older than the current revision ${current}; approving it would change nothing`,
      );
    }
    const existing = deployment.metadata?.annotations ?? {};
    const wasPaused = existing[annotations.pausedRevision] === String(revision) && deployment.spec?.paused === true;
    if (existing[annotations.approve] === String(revision)) {
      return { namespace, deployment: name, revision, by, wasPaused, alreadyApproved: true };
    }
    // Approving "the current revision" must not approve a newer one that appeared since it was read.
    const patch = {
      metadata: {
        ...(asked === undefined ? { resourceVersion: deployment.metadata?.resourceVersion } : {}),
        annotations: { [annotations.approve]: String(revision) },
      },
    };
    try {
      await kc
        .makeApiClient(AppsV1Api)
        .patchNamespacedDeployment(
          { namespace, name, body: patch, fieldManager: fieldManagerFor(user ?? '') },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      return { namespace, deployment: name, revision, by, wasPaused, alreadyApproved: false };
    } catch (err) {
      // Changed between read and write (the controller annotating it, say): read again and decide again.
      if (isConflict(err) && attempt < 3) continue;
      throw err;
    }
  }
}

export async function runApproveCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  let values;
  let name: string;
  let revision: number | undefined;
  try {
    const parsed = parseCommandLine(argv, options);
    values = parsed.values;
    if (values.help) {
      io.stdout(approveHelp);
      return 0;
    }
    if (parsed.positionals.length > 1)
      throw new UsageError(`name one Deployment, not "${parsed.positionals.join(' ')}"`);
    name = parseDeploymentTarget(parsed.positionals[0]);
    revision = parseRevision(values.revision);
  } catch (err) {
    io.stderr(`rollguard approve: ${errorLine(err)}\n`);
    return 2;
  }
  let cluster;
  try {
    cluster = clusterFrom(values);
  } catch (err) {
    io.stderr(`rollguard approve: ${errorLine(err)}\n`);
    return 2;
  }
  const { kc, namespace } = cluster;
  let result: ApproveResult;
  try {
    result = await approve(kc, namespace, name, revision);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`rollguard approve: ${err.message}\n`);
      return 2;
    }
    const why = isNotFound(err) ? `deploy/${name} not found in namespace ${namespace}` : callError(err);
    io.stderr(`rollguard approve: ${isConflict(err) ? 'the Deployment keeps changing; run it again' : why}\n`);
    return 1;
  }
  if (values.json) {
    io.stdout(toJson(result));
    return 0;
  }
  const what = `revision ${result.revision} of ${namespace}/${name}`;
  if (result.alreadyApproved) {
    io.stdout(`${what} is already approved.\n`);
  } else if (result.wasPaused) {
    io.stdout(`Approved ${what} as ${result.by}. rollguard resumes the rollout within seconds.\n`);
  } else {
    io.stdout(`Approved ${what} as ${result.by}. It is not paused for approval now, so rollguard will not pause it.\n`);
  }
  io.stdout(`Follow it: ${invocation} status deploy/${name} -n ${namespace} -w\n`);
  return 0;
}
