import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', '.local/**', 'data/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  // Product code reads "now" from its clock (infra/clock.ts), so tests, backtests and --as-of move time freely.
  {
    files: ['{app,cli,connectors,infra,mapping,schemas,workers}/**/*.ts'],
    ignores: ['**/*.test.ts', 'infra/clock.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message:
            'Date.now() reads the wall clock: take the current instant from a Clock (clock.now(); systemClock where no caller passes one), or performance.now() for a duration.',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message:
            'new Date() reads the wall clock: take the current instant from a Clock (clock.date(); systemClock where no caller passes one).',
        },
        {
          selector: "CallExpression[callee.type='Identifier'][callee.name='Date']",
          message:
            'Date() reads the wall clock: take the current instant from a Clock (clock.date(); systemClock where no caller passes one).',
        },
      ],
    },
  },
  // Plain JavaScript tools (infra/scripts) are linted without type information.
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false, project: null }, globals: { process: 'readonly' } },
  },
);
