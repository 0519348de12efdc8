/**
 * docs/reliability.md row 1: the Electronegativity gate. @doyensec/electronegativity's
 * programmatic API over main/shell and preload (the TypeScript sources; scanned
 * together so its global checks see the whole shell). It exits 0 whatever it
 * finds, so the gate filters: 0 findings with severity >= MEDIUM and confidence
 * >= FIRM. Reviewed lines carry `eng-disable CHECK_ID` with the reason beside
 * them. AvailableSecurityFixesGlobalCheck is excluded (it asks GitHub), and the
 * tool's translation download is stubbed: the gate runs offline.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const require = createRequire(import.meta.url);

const SEVERITY = { INFORMATIONAL: 0, LOW: 1, MEDIUM: 2, HIGH: 3 } as const;
const CONFIDENCE = { TENTATIVE: 0, FIRM: 1, CERTAIN: 2 } as const;

interface EngIssue {
  id: string;
  file: string;
  location: { line: number; column: number };
  severity: { value: number; name?: string };
  confidence: { value: number; name?: string };
  manualReview: boolean;
  description: string;
}
interface EngResult {
  globalChecks: number;
  atomicChecks: number;
  errors: { file: string; message: string; tolerable: boolean }[];
  issues: EngIssue[];
}
type EngRun = (options: Record<string, unknown>, forCli: boolean) => Promise<EngResult>;

function loadElectronegativity(): EngRun {
  // Its i18n module downloads translations with `got` at start-up (and retries for
  // seconds when offline); English ships with the package, so answer "offline" at once.
  const engMain = require.resolve('@doyensec/electronegativity');
  const gotPath = createRequire(join(dirname(engMain), 'locales', 'i18n.js')).resolve('got');
  require.cache[gotPath] = {
    id: gotPath,
    filename: gotPath,
    loaded: true,
    exports: () => Promise.reject(new Error('offline: translations not fetched in tests')),
  } as unknown as NodeJS.Module;
  return require('@doyensec/electronegativity') as EngRun;
}

const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules/electron/package.json'), 'utf8'))
  .version as string;

async function scan(input: string): Promise<EngResult> {
  const run = loadElectronegativity();
  return run(
    {
      input,
      output: null,
      isSarif: false,
      customScan: [],
      excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
      isRelative: true,
      isVerbose: false,
      electronUpgrade: undefined,
      electronVersionOverride: electronVersion,
      parserPlugins: [],
    },
    false,
  );
}

const blocking = (i: EngIssue) =>
  i.severity.value >= SEVERITY.MEDIUM && i.confidence.value >= CONFIDENCE.FIRM;
const describeIssue = (i: EngIssue) =>
  `${i.id} ${i.severity.name ?? i.severity.value}/${i.confidence.name ?? i.confidence.value} ${i.file}:${i.location.line}`;

describe('Electronegativity gate (RELIABILITY row 1)', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('main/shell + preload: 0 findings with severity >= MEDIUM and confidence >= FIRM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-eng-'));
    dirs.push(dir);
    cpSync(join(root, 'main/shell'), join(dir, 'main/shell'), { recursive: true });
    cpSync(join(root, 'preload'), join(dir, 'preload'), { recursive: true });
    const result = await scan(dir);
    const reviewed = [
      ...readdirSync(join(root, 'main/shell')).map((f) => `main/shell/${f}`),
      ...readdirSync(join(root, 'preload')).map((f) => `preload/${f}`),
    ]
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) =>
        readFileSync(join(root, f), 'utf8')
          .split('\n')
          .filter((l) => /eng-disable\s+\w+/.test(l))
          .map(() => f),
      );
    const gate = result.issues.filter(blocking);
    console.log(
      `electronegativity ${electronVersion ? `(Electron ${electronVersion})` : ''}: ${result.globalChecks} global + ${result.atomicChecks} atomic checks; ` +
        `${result.issues.length} findings (${result.issues.map(describeIssue).join('; ') || 'none'}); ` +
        `${gate.length} with severity >= MEDIUM and confidence >= FIRM; ${reviewed.length} reviewed lines (eng-disable); ` +
        `${result.errors.length} parse errors`,
    );
    assert.deepEqual(
      result.errors.filter((e) => !e.tolerable),
      [],
      'every file was parsed',
    );
    assert.ok(result.atomicChecks > 20, 'the checks loaded');
    assert.deepEqual(gate.map(describeIssue), []);
  });

  it('the gate is not blind: a deliberately unsafe sample fails it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-eng-bad-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'src'));
    writeFileSync(
      join(dir, 'src/main.js'),
      [
        "const { app, BrowserWindow, shell } = require('electron');",
        'app.whenReady().then(() => {',
        '  const win = new BrowserWindow({ webPreferences: { contextIsolation: false, sandbox: false, webSecurity: false, preload: "p.js" } });',
        "  win.loadURL('http://example.com/');",
        "  win.webContents.on('new-window', (e, url) => shell.openExternal(url));",
        '});',
      ].join('\n'),
    );
    const result = await scan(dir);
    const gate = result.issues.filter(blocking);
    console.log(
      `electronegativity canary: ${result.issues.length} findings, ${gate.length} blocking (${[...new Set(gate.map((i) => i.id))].join(', ')})`,
    );
    assert.ok(gate.length > 0);
    assert.ok(gate.some((i) => i.id === 'CONTEXT_ISOLATION_JS_CHECK' || i.id === 'SANDBOX_JS_CHECK'));
  });
});
