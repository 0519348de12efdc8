// Folders are layers. Each layer may import only what its README says; a wrong
// import fails lint with "Bad layering" (the VS Code code-layering idea, as rules).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const layer = (message, patterns, paths = []) => [
  'error',
  {
    paths: paths.map((name) => ({ name, message: `Bad layering: ${message}` })),
    patterns: [{ group: patterns, message: `Bad layering: ${message}` }],
  },
];
const ELECTRON = ['electron', 'electron/*'];

export default tseslint.config(
  { ignores: ['node_modules/**', '**/dist/**', '.tmp/**', 'test/e2e/screenshots/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        crypto: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': layer('only main/shell and preload import electron', ELECTRON, ['electron']),
    },
  },
  {
    files: ['protocol/**'],
    rules: {
      'no-restricted-imports': layer(
        'protocol/ is pure contracts: it imports no other folder, no Node built-in and no electron',
        ['**/authority/**', '**/main/**', '**/preload/**', '**/renderer/**', '**/customer/**', ...ELECTRON],
        NODE,
      ),
    },
  },
  {
    files: ['renderer/**', 'customer/**'],
    rules: {
      'no-restricted-imports': layer(
        'renderer/ and customer/ run in a browser: no Node built-ins, no electron, no authority or main code (use protocol/)',
        ['**/authority/**', '**/main/**', '**/preload/**', ...ELECTRON],
        NODE,
      ),
    },
  },
  {
    files: ['authority/**'],
    rules: {
      'no-restricted-imports': layer(
        'authority/ never imports main, preload, renderer, customer or electron',
        ['**/main/**', '**/preload/**', '**/renderer/**', '**/customer/**', ...ELECTRON],
      ),
    },
  },
  {
    files: ['main/core/**'],
    rules: {
      'no-restricted-imports': layer(
        'main/core is Electron-free and never imports renderer, authority or shell code',
        ['**/renderer/**', '**/authority/**', '**/main/shell/**', '**/shell/**', ...ELECTRON],
      ),
    },
  },
  {
    files: ['main/shell/**', 'preload/**'],
    rules: {
      'no-restricted-imports': layer('main/shell and preload never import renderer or authority code', [
        '**/renderer/**',
        '**/authority/**',
      ]),
    },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-restricted-imports': 'off' },
  },
);
