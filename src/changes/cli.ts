// `rollguard change-metrics`: the change description of a release from git, printed ready for the pod
// template. Output goes through an injected writer (tests); every input problem is one line on stderr with
// exit code 2, and an unexpected git failure is one line with exit code 1.

import { parseArgs } from 'node:util';

import { renderAnnotations, renderJson, renderPatch } from './format.js';
import { ChangeMetricsError, GitError } from './git.js';
import { LogFormatError } from './messages.js';
import { changeMetrics } from './release.js';
import { NumstatFormatError } from './numstat.js';

export interface ChangeMetricsIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIO: ChangeMetricsIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export const CHANGE_METRICS_HELP = `Usage: rollguard change-metrics --from REV [--to REV] [--repo PATH] [options]

Computes the change description of a release, the commits in REV range FROM..TO, with the just-in-time
defect prediction metrics of Kamei et al. (2013), and prints it ready to put on the Deployment's pod template,
where rollguard reads it when the rollout starts.

  change-type           feature, bugfix, hotfix, refactor, config or dependency: a guess from the commit
                        messages (conventional commits, "Bump x from", "hotfix") and the files (only
                        dependency files: dependency; only configuration: config)
  files-changed         nf: distinct files changed (a rename is one; a binary file counts with 0 lines)
  directories-changed   nd: distinct directories
  subsystems-changed    ns: distinct top-level directories (or the first --subsystem-depth components)
  lines-added           la: lines added, from git diff --numstat FROM TO
  lines-deleted         ld: lines deleted
  change-entropy        how the modified lines spread over the files, in bits (0: one file)
  is-fix                true when a commit subject says fix, bug, defect, patch or hotfix, or a message
                        says "Fixes #12" / "Resolves #34"
  authors               distinct author emails (merge commits left out)
  author-experience     commits the main author (most commits in the range) made before FROM
  dependencies-changed  dependency manifests and lockfiles changed (package.json, go.sum, Cargo.lock, ...)
  commit                the full hash of TO

test-coverage is not a git metric: add rollguard.io/test-coverage=PERCENT from your coverage report.

Options:
  --repo PATH            the git repository (default: the current directory)
  --from REV             the release before: a commit, tag or branch (required)
  --to REV               the release being deployed (default: HEAD)
  --format FORMAT        annotations (default): rollguard.io/KEY=VALUE lines for kubectl annotate, after
                           comment lines saying how to use them;
                         patch: a JSON merge patch of spec.template.metadata.annotations for kubectl patch;
                         json: one JSON object, numbers as numbers
  --json                 the same as --format json
  --subsystem-depth N    path components that make a subsystem (default 1: the top-level directory)
  -h, --help             this help

Exit codes: 0 printed; 2 a problem with the input (not a git repository, unknown revision, empty range,
bad option); 1 git failed otherwise.

Examples:
  rollguard change-metrics --from v1.4.0 --to v1.5.0
  rollguard change-metrics --repo ../shop --from v1.4.0 --to HEAD --json | jq .linesAdded
  kubectl patch deployment/web --type merge \\
    -p "$(rollguard change-metrics --from v1.4.0 --to v1.5.0 --format patch)"

  # CI (GitHub Actions shown; needs the history: actions/checkout with fetch-depth: 0). The previous
  # release is the commit the running pod template was annotated with; one rollout carries image and
  # description together because the Deployment is paused while both change.
  PREV=$(kubectl get deployment/web -o jsonpath='{.spec.template.metadata.annotations.rollguard\\.io/commit}')
  rollguard change-metrics --from "\${PREV:-HEAD~1}" --to "$GITHUB_SHA" --format patch > change.json
  kubectl rollout pause deployment/web
  kubectl set image deployment/web web="registry.example/web:$GITHUB_SHA"
  kubectl patch deployment/web --type merge -p "$(cat change.json)"
  kubectl rollout resume deployment/web
`;

/** A usage problem: reported as one line, exit code 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  repo: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  'subsystem-depth': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const formats = ['annotations', 'patch', 'json'] as const;
type Format = (typeof formats)[number];

function chooseFormat(format: string | undefined, json: boolean): Format {
  if (json) {
    if (format !== undefined && format !== 'json') throw new UsageError(`--json and --format ${format} disagree`);
    return 'json';
  }
  if (format === undefined) return 'annotations';
  const chosen = formats.find((name) => name === format);
  if (chosen === undefined) throw new UsageError(`--format must be one of ${formats.join(', ')}, not "${format}"`);
  return chosen;
}

function subsystemDepth(value: string | undefined): number {
  if (value === undefined) return 1;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(`--subsystem-depth must be a whole number of 1 or more, not "${value}"`);
  }
  return Number(value);
}

/**
 * Runs `rollguard change-metrics …`; argv is what follows `change-metrics`. Returns the exit code: 0 printed,
 * 2 a problem with the input (one line on stderr), 1 git failed otherwise (one line on stderr).
 */
export async function runChangeMetricsCommand(argv: string[], io: ChangeMetricsIO = processIO): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help === true) {
      io.stdout(CHANGE_METRICS_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals.join(' ')}"`);
    const format = chooseFormat(values.format, values.json === true);
    const depth = subsystemDepth(values['subsystem-depth']);
    if (values.from === undefined) throw new UsageError('--from is required: the release before this one');
    const repo = values.repo ?? '.';
    const to = values.to ?? 'HEAD';
    const metrics = await changeMetrics(repo, values.from, to, {
      subsystemDepth: depth,
      warn: (message) => {
        io.stderr(`rollguard change-metrics: warning: ${message}\n`);
      },
    });
    if (format === 'json') io.stdout(renderJson(metrics));
    else if (format === 'patch') io.stdout(renderPatch(metrics));
    else io.stdout(renderAnnotations(metrics, { repo, from: values.from, to }));
    return 0;
  } catch (error) {
    const firstLine = (message: string) => message.split('\n')[0] ?? '';
    if (
      error instanceof UsageError ||
      error instanceof ChangeMetricsError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr(`rollguard change-metrics: ${firstLine(error.message)}\n`);
      return 2;
    }
    // git answered, but not in the form we read: as unexpected as a failed git, and as briefly reported.
    if (error instanceof GitError || error instanceof NumstatFormatError || error instanceof LogFormatError) {
      io.stderr(`rollguard change-metrics: ${firstLine(error.message)}\n`);
      return 1;
    }
    throw error;
  }
}
