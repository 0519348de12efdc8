import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import ts from 'typescript';

const root = new URL('../..', import.meta.url).pathname;
// The probes are files that exist only in memory, so the type-aware rules (which need the
// file in a tsconfig project) are off for them: this test is about layers.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: {
    files: ['authority/**/*.ts'],
    languageOptions: { parserOptions: { project: null } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
      '@typescript-eslint/await-thenable': 'off',
    },
  },
});

async function layeringErrors(
  filePath: string,
  code: string,
  rule = 'no-restricted-imports',
): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath });
  return r!.messages.filter((m) => m.ruleId === rule).map((m) => m.message);
}

/**
 * Type-checks `code` as if it were the file `file` of a layer's project: the project's
 * own tsconfig.json (its lib and types) and all its real files, plus this one file,
 * which lives only in memory. Answers the probe's type errors.
 */
function typeErrors(project: string, probes: Record<string, string>): Record<string, string[]> {
  const configPath = join(root, project);
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  )!;
  const virtual = new Map(Object.entries(probes).map(([file, code]) => [join(root, file), code]));
  const host = ts.createCompilerHost(parsed.options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) =>
    virtual.has(f)
      ? ts.createSourceFile(f, virtual.get(f)!, lang)
      : getSourceFile.call(host, f, lang, ...rest);
  const program = ts.createProgram({
    rootNames: [...parsed.fileNames, ...virtual.keys()],
    options: parsed.options,
    host,
  });
  const out: Record<string, string[]> = {};
  for (const [file, path] of Object.keys(probes).map((f) => [f, join(root, f)] as const)) {
    out[file] = program
      .getSemanticDiagnostics(program.getSourceFile(path))
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }
  return out;
}

describe('lint enforces the layers', () => {
  const cases: [string, string, boolean][] = [
    ['protocol/src/x.ts', "import { readFileSync } from 'node:fs';", true],
    ['protocol/src/x.ts', "import { a } from '../../authority/src/app.ts';", true],
    ['protocol/src/x.ts', "import { z } from 'zod';", false],
    ['renderer/src/x.ts', "import { app } from 'electron';", true],
    ['renderer/src/x.ts', "import path from 'path';", true],
    ['renderer/src/x.ts', "import { routes } from '../../protocol/src/index.ts';", false],
    ['customer/src/x.ts', "import { x } from '../../main/core/client.ts';", true],
    ['authority/src/x.ts', "import { x } from '../../main/core/store.ts';", true],
    ['authority/src/x.ts', "import { BrowserWindow } from 'electron';", true],
    ['authority/src/x.ts', "import { readFileSync } from 'node:fs';", false],
    // Inside the authority only the store reaches a database.
    ['authority/src/pipeline/x.ts', "import Database from 'better-sqlite3';", true],
    ['authority/src/pipeline/x.ts', "import pg from 'pg';", true],
    ['authority/src/identity/x.ts', "import { sql } from 'kysely';", true],
    ['authority/src/store/x.ts', "import { sql } from 'kysely';", false],
    ['authority/src/store/repos/x.ts', "import pg from 'pg';", false],
    ['main/core/x.ts', "import Database from 'better-sqlite3';", false],
    ['main/core/x.ts', "import { ipcMain } from 'electron';", true],
    ['main/shell/x.ts', "import { ipcMain } from 'electron';", false],
    ['preload/x.ts', "import { contextBridge } from 'electron';", false],
    ['renderer/src/x.ts', "import { x } from '../../browser-common/dtmf-relay.ts';", false],
    ['renderer/src/x.ts', "import { x } from '../../node-common/migrations.ts';", true],
    ['customer/sdk/x.ts', "import { x } from '../../node-common/migrations.ts';", true],
    ['authority/src/x.ts', "import { x } from '../../browser-common/dtmf-relay.ts';", true],
    ['main/core/x.ts', "import { x } from '../../node-common/migrations.ts';", false],
    ['browser-common/x.ts', "import { readFileSync } from 'node:fs';", true],
    ['browser-common/x.ts', "import { x } from '../customer/sdk/index.ts';", true],
    ['node-common/x.ts', "import { x } from '../renderer/src/main.tsx';", true],
  ];
  for (const [file, code, bad] of cases) {
    it(`${file}: ${code} is ${bad ? 'refused' : 'allowed'}`, async () => {
      const errors = await layeringErrors(file, code);
      if (bad)
        assert.ok(
          errors.some((m) => m.includes('Bad layering')),
          `expected a layering error, got ${JSON.stringify(errors)}`,
        );
      else assert.deepEqual(errors, []);
    });
  }
});

describe('lint: globals are per layer', () => {
  const cases: [string, string, boolean][] = [
    ['renderer/src/x.ts', 'export const a = process.env.VD_X;', true],
    ['renderer/src/x.ts', "export const b = Buffer.from('a');", true],
    ['customer/app/src/x.ts', 'export const a = process.env.VD_X;', true],
    ['customer/sdk/x.ts', "export const r = require('x');", true],
    ['renderer/src/x.ts', 'export const t = document.title;', false],
    ['authority/src/x.ts', 'export const t = document.title;', true],
    ['authority/src/x.ts', 'export const w = window.location;', true],
    ['main/core/x.ts', 'export const n = navigator.userAgent;', true],
    ['authority/src/x.ts', 'export const a = process.env.VD_X;', false],
    ['protocol/src/x.ts', 'export const a = process.env.VD_X;', true],
    ['protocol/src/x.ts', 'export const t = document.title;', true],
    ['renderer/vite.config.ts', 'export const a = process.env.VD_X;', false],
    ['browser-common/x.ts', 'export const a = process.env.VD_X;', true],
    ['node-common/x.ts', 'export const t = document.title;', true],
  ];
  for (const [file, code, bad] of cases) {
    it(`${file}: ${code} is ${bad ? 'refused' : 'allowed'}`, async () => {
      const errors = await layeringErrors(file, code, 'no-restricted-globals');
      if (bad)
        assert.ok(
          errors.some((m) => m.includes('Bad layering')),
          JSON.stringify(errors),
        );
      else assert.deepEqual(errors, []);
    });
  }

  it('renderer/ may not import customer/, nor customer/ renderer/', async () => {
    for (const [file, code] of [
      ['renderer/src/x.ts', "import { AccessDevice } from '../../customer/sdk/index.ts';"],
      ['customer/app/src/x.ts', "import { Console } from '../../../renderer/src/state/console.ts';"],
    ] as const) {
      const errors = await layeringErrors(file, code);
      assert.ok(
        errors.some((m) => m.includes('Bad layering')),
        `${file}: ${JSON.stringify(errors)}`,
      );
    }
  });
});

describe('typecheck: each layer has only the globals of where it runs', { timeout: 300_000 }, () => {
  it('every layer has its own tsconfig.json, which npm run typecheck runs', () => {
    for (const layer of ['protocol', 'authority', 'main', 'preload', 'renderer', 'customer'])
      assert.ok(existsSync(join(root, layer, 'tsconfig.json')), `${layer}/tsconfig.json`);
  });

  const cannotFind = (name: string) => (errors: string[]) =>
    errors.some((m) => m.startsWith(`Cannot find name '${name}'`));

  it('renderer/: process.env and Buffer fail, document and window compile', () => {
    const r = typeErrors('renderer/tsconfig.json', {
      'renderer/src/probe-process.ts': 'export const a = process.env.VD_X;',
      'renderer/src/probe-buffer.ts': "export const b = Buffer.from('a');",
      'renderer/src/probe-dom.ts': 'export const t: string = document.title + window.location.href;',
    });
    assert.ok(cannotFind('process')(r['renderer/src/probe-process.ts']!), JSON.stringify(r));
    assert.ok(cannotFind('Buffer')(r['renderer/src/probe-buffer.ts']!), JSON.stringify(r));
    assert.deepEqual(r['renderer/src/probe-dom.ts'], []);
  });

  it('customer/: process.env fails in the app and the SDK', () => {
    const r = typeErrors('customer/tsconfig.json', {
      'customer/app/src/probe-process.ts': 'export const a = process.env.VD_X;',
      'customer/sdk/probe-process.ts': 'export const a = process.env.VD_X;',
    });
    for (const errors of Object.values(r)) assert.ok(cannotFind('process')(errors), JSON.stringify(r));
  });

  it('authority/: document and window fail, process.env compiles', () => {
    const r = typeErrors('authority/tsconfig.json', {
      'authority/src/probe-document.ts': 'export const t = document.title;',
      'authority/src/probe-window.ts': 'export const w = window.location;',
      'authority/src/probe-node.ts':
        "export const a: string | undefined = process.env.VD_X; export const b = Buffer.from('a');",
    });
    assert.ok(cannotFind('document')(r['authority/src/probe-document.ts']!), JSON.stringify(r));
    assert.ok(cannotFind('window')(r['authority/src/probe-window.ts']!), JSON.stringify(r));
    assert.deepEqual(r['authority/src/probe-node.ts'], []);
  });

  it('main/core: document fails', () => {
    const r = typeErrors('main/tsconfig.json', {
      'main/core/probe-document.ts': 'export const t = document.title;',
    });
    assert.ok(cannotFind('document')(r['main/core/probe-document.ts']!), JSON.stringify(r));
  });

  it('protocol/: neither process nor document', () => {
    const r = typeErrors('protocol/tsconfig.json', {
      'protocol/src/probe-process.ts': 'export const a = process.env.VD_X;',
      'protocol/src/probe-document.ts': 'export const t = document.title;',
    });
    assert.ok(cannotFind('process')(r['protocol/src/probe-process.ts']!), JSON.stringify(r));
    assert.ok(cannotFind('document')(r['protocol/src/probe-document.ts']!), JSON.stringify(r));
  });
});
