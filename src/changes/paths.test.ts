// Directories, subsystems, dependency files and configuration files, by path.
import { describe, expect, it } from 'vitest';
import { directoryOf, isConfigFile, isDependencyFile, subsystemOf } from './paths.js';

describe('directoryOf and subsystemOf', () => {
  const cases: [string, number, string, string][] = [
    // path, depth, directory, subsystem
    ['README.md', 1, '.', '.'],
    ['README.md', 3, '.', '.'],
    ['src/main.ts', 1, 'src', 'src'],
    ['src/api/v1/users.ts', 1, 'src/api/v1', 'src'],
    ['src/api/v1/users.ts', 2, 'src/api/v1', 'src/api'],
    ['src/api/v1/users.ts', 3, 'src/api/v1', 'src/api/v1'],
    ['src/api/v1/users.ts', 9, 'src/api/v1', 'src/api/v1'],
    ['.github/workflows/ci.yml', 1, '.github/workflows', '.github'],
  ];
  it.each(cases)('%s at depth %i: directory %s, subsystem %s', (path, depth, directory, subsystem) => {
    expect(directoryOf(path)).toBe(directory);
    expect(subsystemOf(path, depth)).toBe(subsystem);
  });

  it('uses the top-level directory by default', () => {
    expect(subsystemOf('a/b/c.ts')).toBe('a');
  });
});

describe('isDependencyFile', () => {
  const dependencies = [
    'package.json',
    'web/package.json',
    'package-lock.json',
    'yarn.lock',
    'pnpm-lock.yaml',
    'go.mod',
    'services/api/go.sum',
    'requirements.txt',
    'requirements-dev.txt',
    'requirements_test.txt',
    'Pipfile',
    'Pipfile.lock',
    'poetry.lock',
    'pyproject.toml',
    'Cargo.toml',
    'crates/core/Cargo.lock',
    'pom.xml',
    'build.gradle',
    'app/build.gradle.kts',
    'Gemfile',
    'Gemfile.lock',
    'composer.json',
    'composer.lock',
    'src/Shop.Api/Shop.Api.csproj',
    'packages.lock.json',
  ];
  it.each(dependencies)('%s is a dependency file', (path) => {
    expect(isDependencyFile(path)).toBe(true);
  });

  const others = [
    'src/package.ts',
    'package.json.bak',
    'docs/requirements.md',
    'my-requirements.txt',
    'gomod',
    'pom.xml.orig',
    'tsconfig.json',
    'config/app.yaml',
    'Cargo.toml.in',
  ];
  it.each(others)('%s is not', (path) => {
    expect(isDependencyFile(path)).toBe(false);
  });
});

describe('isConfigFile', () => {
  const cases: [string, boolean][] = [
    ['config/app.yaml', true],
    ['config/production.json', true],
    ['services/api/config/settings.toml', true],
    ['deploy/k8s/deployment.yml', true],
    ['charts/web/values.yaml', true],
    ['Config/App.YAML', true],
    ['nginx.conf', true],
    ['etc/nginx/sites/default.conf', true],
    ['setup.cfg', true],
    ['php.ini', true],
    ['.env', true],
    ['.env.production', true],
    ['app/production.env', true],
    ['src/main/resources/application.properties', true],
    // YAML, JSON and TOML outside a configuration directory are as often code's data as configuration.
    ['openapi.yaml', false],
    ['tsconfig.json', false],
    ['src/fixtures/users.json', false],
    ['.github/workflows/ci.yml', false],
    // Dependency manifests have their own change type, even in a config directory.
    ['config/package.json', false],
    ['pyproject.toml', false],
    ['src/config/index.ts', false],
    ['environment.ts', false],
    ['README.md', false],
  ];
  it.each(cases)('%s: %s', (path, expected) => {
    expect(isConfigFile(path)).toBe(expected);
  });
});
