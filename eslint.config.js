// Strict, type-aware lint rules: promises must be awaited or handled, no `any` leaks, no unsafe calls.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The folders' layers. A folder imports its own layer and the ones below it, never one above: the pure core
// decides and knows nothing of the API server, HTTP or the command line; kube and telemetry carry out; the
// controller and the learning loop (siblings, neither imports the other) wire the two; web and cli sit on top.
// Tests may wire parts of any layer together. docs/architecture.md draws the picture.
const pure = ['api', 'assess', 'verify', 'rollback', 'model', 'prometheus', 'changes', 'narrative'];
const above = {
  pure: ['telemetry', 'kube', 'controller', 'learning', 'web', 'cli'],
  telemetry: ['kube', 'controller', 'learning', 'web', 'cli'],
  kube: ['controller', 'learning', 'web', 'cli'],
  controller: ['learning', 'web', 'cli'],
  learning: ['controller', 'web', 'cli'],
  web: ['cli'],
};
const boundaries = Object.entries(above).flatMap(([layer, upper]) =>
  (layer === 'pure' ? pure : [layer]).map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: upper.map((u) => ({
            group: [`../${u}/*`],
            message: `src/${folder} must not import src/${u} (see docs/architecture.md): move what both need down, or pass it in.`,
          })),
        },
      ],
    },
  })),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'charts/**', 'deploy/**', 'crds/**', 'models/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // client-node's models (V1Container, V1PodSpec, ...) are classes with no behaviour, and every object the
      // API returns is plain JSON in their shape: object literals are the correct way to build them.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // For the same reason, spreading one of those objects loses nothing: they have no prototype behaviour.
      '@typescript-eslint/no-misused-spread': 'off',
    },
  },
  ...boundaries,
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
