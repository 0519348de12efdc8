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
const AUTHORITY_NEVER = [
  '**/main/**',
  '**/preload/**',
  '**/renderer/**',
  '**/customer/**',
  '**/browser-common/**',
  ...ELECTRON,
];
const DB_DRIVERS = ['better-sqlite3', 'pg', 'kysely'];
// The authority's domain folders (above its store and event bus).
const AUTHORITY_SERVICES = [
  'pipeline',
  'relay',
  'sessions',
  'identity',
  'http',
  'ws',
  'desk',
  'calls',
  'customers',
  'push',
  'staff',
  'sip',
  'seed',
  'keys',
  'media',
  'audit',
];

// Globals are per layer too (tsc checks the same with one tsconfig.json per layer, see
// scripts/typecheck.mjs): Node's in authority/, main/, tests and tooling; the browser's in
// renderer/, customer/ and preload/; protocol/ has neither.
const readonly = (names) => Object.fromEntries(names.map((n) => [n, 'readonly']));
// Node's globals in an ES module (CommonJS files get require/module from their sourceType).
const NODE_GLOBALS = ['process', 'Buffer', 'global', 'setImmediate', 'clearImmediate'];
const NODE_ONLY = [...NODE_GLOBALS, 'require', 'module', '__dirname', '__filename'];
const BROWSER_GLOBALS = [
  'window',
  'document',
  'navigator',
  'location',
  'localStorage',
  'sessionStorage',
  'indexedDB',
];
const noGlobals = (message, names) => [
  'error',
  ...names.map((name) => ({ name, message: `Bad layering: ${message}` })),
];
const BROWSER_ONLY =
  'renderer/ and customer/ run in a browser: no Node globals (process, Buffer, require, ...)';
const DOM_FREE = 'authority/ and main/ run in Node: no DOM globals (window, document, navigator, ...)';
const PURE = 'protocol/ runs everywhere: neither Node globals nor DOM globals';
// Vite configs live beside the code they build but run in Node at build time.
const BUILD_TOOLING = ['renderer/vite.config.ts', 'customer/vite.config.ts', '*.config.js'];

export default tseslint.config(
  { ignores: ['node_modules/**', '**/dist/**', '.tmp/**', 'test/e2e/screenshots/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
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
    files: ['authority/**', 'main/**', 'test/**', 'bench/**', 'scripts/**', ...BUILD_TOOLING],
    languageOptions: { globals: readonly(NODE_GLOBALS) },
  },
  {
    files: ['renderer/**', 'customer/**', 'preload/**'],
    ignores: BUILD_TOOLING,
    languageOptions: { globals: readonly(BROWSER_GLOBALS) },
  },
  {
    files: ['protocol/**'],
    rules: {
      'no-restricted-globals': noGlobals(PURE, [...NODE_ONLY, ...BROWSER_GLOBALS]),
      'no-restricted-imports': layer(
        'protocol/ is pure contracts: it imports no other folder, no Node built-in and no electron',
        [
          '**/authority/**',
          '**/main/**',
          '**/preload/**',
          '**/renderer/**',
          '**/customer/**',
          '**/browser-common/**',
          '**/node-common/**',
          ...ELECTRON,
        ],
        NODE,
      ),
    },
  },
  {
    files: ['renderer/**'],
    ignores: BUILD_TOOLING,
    rules: {
      'no-restricted-globals': noGlobals(BROWSER_ONLY, NODE_ONLY),
      'no-restricted-imports': layer(
        'renderer/ runs in a browser: no Node built-ins, no electron, no authority, main, node-common or customer code (use protocol/ and browser-common/)',
        [
          '**/authority/**',
          '**/main/**',
          '**/preload/**',
          '**/customer/**',
          '**/node-common/**',
          ...ELECTRON,
        ],
        NODE,
      ),
    },
  },
  {
    files: ['customer/**'],
    ignores: BUILD_TOOLING,
    rules: {
      'no-restricted-globals': noGlobals(BROWSER_ONLY, NODE_ONLY),
      'no-restricted-imports': layer(
        'customer/ runs in a browser: no Node built-ins, no electron, no authority, main, node-common or renderer code (use protocol/ and browser-common/)',
        [
          '**/authority/**',
          '**/main/**',
          '**/preload/**',
          '**/renderer/**',
          '**/node-common/**',
          ...ELECTRON,
        ],
        NODE,
      ),
    },
  },
  {
    files: ['authority/**', 'main/**'],
    rules: { 'no-restricted-globals': noGlobals(DOM_FREE, BROWSER_GLOBALS) },
  },
  {
    files: ['authority/**'],
    rules: {
      'no-restricted-imports': layer(
        'authority/ never imports main, preload, renderer, customer, browser-common or electron',
        AUTHORITY_NEVER,
      ),
    },
  },
  {
    // Inside the authority only the store reaches a database: the domain gets repositories.
    files: ['authority/**'],
    ignores: ['authority/src/store/**'],
    rules: {
      'no-restricted-imports': layer(
        'authority/ never imports main, preload, renderer, customer, browser-common or electron; outside authority/src/store no database driver or query builder (better-sqlite3, pg, kysely): use the repositories of store/repos',
        AUTHORITY_NEVER,
        DB_DRIVERS,
      ),
    },
  },
  {
    // The event bus sits below the domain services: they subscribe to it, it never calls them.
    files: ['authority/src/events/**'],
    rules: {
      'no-restricted-imports': layer(
        'authority/src/events imports protocol/ and store/repos only: no domain service, no http/ws, no database driver (services subscribe to the bus, it never calls them)',
        [...AUTHORITY_NEVER, ...AUTHORITY_SERVICES.flatMap((f) => [`**/authority/src/${f}/**`, `../${f}/*`])],
        DB_DRIVERS,
      ),
    },
  },
  {
    // The domain is async: a promise nobody awaits is a write nobody waits for (or an
    // error nobody sees). Type-aware, on the authority only (its own tsconfig).
    files: ['authority/**/*.ts'],
    languageOptions: {
      parserOptions: { project: './authority/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['main/core/**'],
    rules: {
      'no-restricted-imports': layer(
        'main/core is Electron-free and never imports renderer, authority, browser-common or shell code',
        [
          '**/renderer/**',
          '**/authority/**',
          '**/main/shell/**',
          '**/shell/**',
          '**/browser-common/**',
          ...ELECTRON,
        ],
      ),
    },
  },
  {
    // Code shared by the browser layers (renderer/, customer/): a browser layer itself.
    files: ['browser-common/**'],
    languageOptions: { globals: readonly(BROWSER_GLOBALS) },
    rules: {
      'no-restricted-globals': noGlobals('browser-common/ runs in a browser: no Node globals', NODE_ONLY),
      'no-restricted-imports': layer(
        'browser-common/ runs in a browser and is shared by renderer/ and customer/: it imports protocol/ and browser packages only',
        [
          '**/authority/**',
          '**/main/**',
          '**/preload/**',
          '**/renderer/**',
          '**/customer/**',
          '**/node-common/**',
          ...ELECTRON,
        ],
        NODE,
      ),
    },
  },
  {
    // Code shared by the Node layers (authority/, main/core): a Node layer itself.
    files: ['node-common/**'],
    languageOptions: { globals: readonly(NODE_GLOBALS) },
    rules: {
      'no-restricted-globals': noGlobals('node-common/ runs in Node: no DOM globals', BROWSER_GLOBALS),
      'no-restricted-imports': layer(
        'node-common/ runs in Node and is shared by authority/ and main/: it imports protocol/, Node and npm packages only',
        [
          '**/authority/**',
          '**/main/**',
          '**/preload/**',
          '**/renderer/**',
          '**/customer/**',
          '**/browser-common/**',
          ...ELECTRON,
        ],
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
