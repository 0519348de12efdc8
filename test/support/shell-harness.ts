/**
 * Start the real shell (main/shell/desk-shell.ts) against the fake Electron, with a
 * real DeskCore in a temporary data dir and a tiny renderer build. The authority
 * is a closed loopback port fixed by the managed configuration, so nothing the
 * shell does can reach a network.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDeskShell, type DeskShell, type DeskShellOptions } from '../../main/shell/desk-shell.ts';
import { createFakeElectron, type FakeElectron, type FakeElectronOptions } from './fake-electron.ts';

export const CLOSED_AUTHORITY = 'http://127.0.0.1:9';

export interface ShellHarness {
  fake: FakeElectron;
  shell: DeskShell;
  dir: string;
  rendererDir: string;
  logs: string[];
  /** The console window's WebContents. */
  contents: FakeElectron['state']['windows'][number]['webContents'];
  dispose(): void;
}

export async function startShellHarness(
  fakeOpts: Partial<FakeElectronOptions> = {},
  shellOpts: Partial<DeskShellOptions> = {},
): Promise<ShellHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-shell-'));
  const rendererDir = join(dir, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(
    join(rendererDir, 'index.html'),
    '<!doctype html><title>Verified Desk</title><div id="root"></div>',
  );
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("console");');
  const fake = createFakeElectron({ userData: join(dir, 'userData'), ...fakeOpts });
  const logs: string[] = [];
  const started = startDeskShell(fake.electron, {
    preloadPath: join(dir, 'preload.js'),
    rendererDir,
    defaultAuthorityUrl: CLOSED_AUTHORITY,
    managed: { authorityUrl: CLOSED_AUTHORITY, sipUrl: 'wss://127.0.0.1:9/sip' },
    argv: [],
    userDataDir: join(dir, 'userData'),
    log: (m) => logs.push(m),
    ...shellOpts,
  });
  if (!started) throw new Error('the shell did not start (single-instance lock refused)');
  const shell = await started.ready;
  if (!shell) throw new Error('the shell stopped during start-up');
  const win = fake.state.windows[0]!;
  return {
    fake,
    shell,
    dir,
    rendererDir,
    logs,
    contents: win.webContents,
    dispose() {
      fake.app.emit('will-quit');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
