// typescript-eslint with type information: the rules that matter most in a networking library are
// the promise ones (a floating promise is an unhandled rejection waiting to happen).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      // The stdio example is a separate package that resolves spear-comm through its own node_modules
      // (made by conformance/stdio-example.test.ts, which also compiles it strictly): not linted from here.
      'examples/*/',
      'dist/',
      'docs-api/',
      'coverage/',
      'bench-results/',
      '.conformance-out/',
      'examples/*/dist/',
      '**/*.mjs',
      '**/*.cjs',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      // Variables assigned after the closures that read them are made (listeners and their callbacks).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A rejection passes on what was thrown or what an AbortSignal carried, unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // `async` on a method that does not await is how an implementation of a Promise-returning
      // contract method turns a throw into a rejection: deliberate here, not a slip.
      '@typescript-eslint/require-await': 'off',
      // `unknown | X` documents what a value usually is; the rule reads it as a mistake.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // Callbacks in option objects (onFrame, onConnection…) are declared in method syntax for their
      // doc comments; none of them uses `this`.
      '@typescript-eslint/unbound-method': 'off',
      // Control characters in the regexes that clip peer text and XML are the point of those regexes.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.test.ts', 'test/**', 'conformance/mutants/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // expect.any()/expect.objectContaining() are typed `any` by vitest.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
