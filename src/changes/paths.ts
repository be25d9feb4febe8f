// What a changed path says about the change: its directory and subsystem (Kamei et al.'s nd and ns), whether
// it is a dependency manifest or lockfile, and whether it is configuration rather than code. Pure functions
// over git's repository-relative, slash-separated paths.

/** The directory of a path; files at the top of the repository are in ".". */
export function directoryOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : path.slice(0, slash);
}

/**
 * The subsystem of a path: the first `depth` components of its directory (depth 1 is the top-level directory,
 * as Kamei et al. define it). Files at the top of the repository belong to the subsystem ".".
 */
export function subsystemOf(path: string, depth = 1): string {
  const directory = directoryOf(path);
  if (directory === '.') return '.';
  return directory.split('/').slice(0, depth).join('/');
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Manifests and lockfiles by exact name, for the ecosystems rollguard's users deploy from. */
const dependencyNames = new Set([
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'go.mod',
  'go.sum',
  'Pipfile',
  'Pipfile.lock',
  'poetry.lock',
  'pyproject.toml',
  'uv.lock',
  'Cargo.toml',
  'Cargo.lock',
  'pom.xml',
  'build.gradle',
  'build.gradle.kts',
  'Gemfile',
  'Gemfile.lock',
  'composer.json',
  'composer.lock',
  'packages.lock.json',
]);

/** Whether a path is a dependency manifest or lockfile (its name decides, wherever it lives). */
export function isDependencyFile(path: string): boolean {
  const name = basename(path);
  // requirements.txt and its usual variants (requirements-dev.txt, requirements_test.txt, requirements.in.txt).
  return dependencyNames.has(name) || /^requirements.*\.txt$/.test(name) || name.endsWith('.csproj');
}

/** Extensions that are configuration wherever they live. */
const configExtensions = new Set(['ini', 'conf', 'cfg', 'cnf', 'env', 'properties']);
/** Data formats that are configuration only inside a configuration directory: elsewhere they are often code's
 * fixtures, schemas or build tool settings. */
const dataExtensions = new Set(['yaml', 'yml', 'json', 'jsonc', 'json5', 'toml']);
const configDirectories = new Set([
  'config',
  'configs',
  'configuration',
  'conf',
  'cfg',
  'settings',
  'etc',
  'deploy',
  'deployment',
  'deployments',
  'k8s',
  'kubernetes',
  'manifests',
  'helm',
  'charts',
]);

/**
 * Whether a path is configuration rather than code: an .ini/.conf/.cfg/.env/.properties file anywhere, a
 * dotenv file (`.env`, `.env.production`), or a YAML/JSON/TOML file under a configuration directory
 * (config/, conf/, deploy/, k8s/, helm/, ...). Dependency manifests are never configuration: they have their
 * own change type.
 */
export function isConfigFile(path: string): boolean {
  if (isDependencyFile(path)) return false;
  const name = basename(path);
  if (name === '.env' || name.startsWith('.env.')) return true;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  if (configExtensions.has(extension)) return true;
  if (!dataExtensions.has(extension)) return false;
  const directories = path.split('/').slice(0, -1);
  return directories.some((directory) => configDirectories.has(directory.toLowerCase()));
}
