/**
 * The shell's desktop features against the fake Electron: single instance,
 * tel:/sip: click-to-dial, presence tray, offer notifications, the global accept
 * shortcut, safeStorage for the refresh token, auto-update, managed configuration.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { OfferView } from '../../protocol/src/pipeline.ts';
import { eventChannel } from '../../preload/channels.ts';
import { managedConfigPath } from '../../main/core/settings.ts';
import { ACCEPT_ACCELERATOR } from '../../main/shell/accept-shortcut.ts';
import { startAutoUpdate } from '../../main/shell/auto-update.ts';
import { dialUrisFromArgv, parseDialUri } from '../../main/shell/dial-links.ts';
import { APP_USER_MODEL_ID, startDeskShell, USER_DATA_NAME } from '../../main/shell/desk-shell.ts';
import { offerNotificationText } from '../../main/shell/offer-notifications.ts';
import { presenceBitmap } from '../../main/shell/presence-icon.ts';
import { openSafeStorageTokenStore } from '../../main/shell/token-store.ts';
import { createFakeElectron, FakeUpdater } from '../support/fake-electron.ts';
import { CLOSED_AUTHORITY, startShellHarness } from '../support/shell-harness.ts';

const sentEvents = (
  contents: { sent: { channel: string; args: unknown[] }[] },
  name: Parameters<typeof eventChannel>[0],
) => contents.sent.filter((s) => s.channel === eventChannel(name)).map((s) => s.args);

const offer = (): OfferView => ({
  requestId: 'req_0123456789abcdef',
  fence: 3,
  expiresAt: new Date(Date.now() + 20_000).toISOString().replace(/\.\d+Z$/, 'Z'),
  request: {
    requestId: 'req_0123456789abcdef',
    sessionId: 'S'.repeat(43),
    customerId: 'cus_0123456789abcdef',
    customerName: 'Alice Martin',
    queueId: 'cards',
    optionId: 'lost_card',
    optionLabel: 'Lost or stolen card',
    level: 2,
    priority: 1,
    state: 'offered',
    enqueuedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    position: 1,
    estimatedWaitSeconds: 0,
    callback: { mode: 'keep_place', window: null },
    fence: 3,
    agentId: null,
    offerExpiresAt: null,
  },
});

describe('single instance and click-to-dial', () => {
  it('a second instance quits at once and creates nothing', () => {
    const fake = createFakeElectron({ userData: '/nonexistent', lockAvailable: false });
    const started = startDeskShell(fake.electron, {
      preloadPath: '/x/preload.js',
      rendererDir: '/x',
      defaultAuthorityUrl: CLOSED_AUTHORITY,
    });
    assert.equal(started, null);
    assert.equal(fake.state.quitCalls, 1);
    assert.equal(fake.state.windows.length, 0);
    assert.equal(fake.state.ipcHandlers.size, 0);
  });

  it('the link that started the app waits for the page, then goes out as a dial event', async () => {
    const h = await startShellHarness(
      {},
      { argv: ['/opt/VerifiedDesk/verified-desk', '--no-sandbox', 'tel:+15555550100'] },
    );
    try {
      assert.deepEqual(sentEvents(h.contents, 'dial'), [[{ uri: 'tel:+15555550100' }]]);
    } finally {
      h.dispose();
    }
  });

  it('a second instance focuses the window and forwards its tel:/sip: argument; open-url too', async () => {
    const h = await startShellHarness();
    try {
      const win = h.fake.state.windows[0]!;
      win.minimized = true;
      win.focused = false;
      h.fake.app.emit('second-instance', {}, [
        'verified-desk',
        'sip:alice@pbx.example.com;transport=ws',
        '--inspect=9229',
      ]);
      assert.equal(win.minimized, false);
      assert.equal(win.focused, true);
      let prevented = false;
      h.fake.app.emit('open-url', { preventDefault: () => void (prevented = true) }, 'tel:+442071838750');
      assert.equal(prevented, true);
      h.fake.app.emit('open-url', { preventDefault: () => undefined }, 'javascript:alert(1)');
      h.fake.app.emit('second-instance', {}, ['verified-desk', 'tel:"; rm -rf /', 'https://evil.example/']);
      assert.deepEqual(sentEvents(h.contents, 'dial'), [
        [{ uri: 'sip:alice@pbx.example.com;transport=ws' }],
        [{ uri: 'tel:+442071838750' }],
      ]);
    } finally {
      h.dispose();
    }
  });

  it('parses only well-formed tel:/sip: links', () => {
    assert.equal(parseDialUri('tel:+1-201-555-0123;ext=12'), 'tel:+1-201-555-0123;ext=12');
    assert.equal(parseDialUri('SIP:bob@example.com'), 'SIP:bob@example.com');
    for (const bad of [
      'tel:',
      'tel: 123',
      'tel:1<script>',
      'sips:x@y',
      'http://x',
      `tel:${'1'.repeat(600)}`,
      42,
      null,
    ])
      assert.equal(parseDialUri(bad), null, String(bad));
    assert.deepEqual(dialUrisFromArgv(['app', '--flag', 'tel:123', 'sip:a@b']), ['tel:123', 'sip:a@b']);
  });

  it('registers as the tel: and sip: handler only when packaged', async () => {
    const dev = await startShellHarness({ isPackaged: false });
    dev.dispose();
    assert.deepEqual(dev.fake.state.defaultProtocolClients, []);
    const packaged = await startShellHarness({ isPackaged: true });
    packaged.dispose();
    assert.deepEqual(packaged.fake.state.defaultProtocolClients, ['tel', 'sip']);
  });
});

describe('profile folder', () => {
  it('defaults to "Verified Desk" under the OS application data (set before the single-instance lock)', async () => {
    const h = await startShellHarness({}, { userDataDir: undefined, platform: 'win32' });
    h.dispose();
    assert.equal(h.fake.app.paths.userData, join(h.dir, USER_DATA_NAME));
    assert.equal(h.fake.app.appUserModelId, APP_USER_MODEL_ID);
    assert.match(
      readFileSync(new URL('../../electron-builder.yml', import.meta.url), 'utf8'),
      new RegExp(`^appId: ${APP_USER_MODEL_ID}$`, 'm'),
    );
  });
});

describe('tray, notifications, shortcut', () => {
  it('the tray shows presence from agent.state events', async () => {
    const h = await startShellHarness();
    try {
      const tray = h.fake.state.trays[0]!;
      assert.equal(tray.toolTips.at(-1), 'Verified Desk: Offline');
      h.shell.core.emit('event', 'agent.state', { presence: 'available' });
      assert.equal(tray.toolTips.at(-1), 'Verified Desk: Available');
      assert.equal(h.shell.tray.presence, 'available');
      h.shell.core.emit('event', 'agent.state', { presence: 'busy' });
      assert.equal(tray.toolTips.at(-1), 'Verified Desk: On a call');
      assert.equal(tray.images.length, 3, 'a new icon per change');
      const menu = tray.menus.at(-1) as { template: { label?: string }[] };
      assert.equal(menu.template[0]!.label, 'Presence: On a call');
      h.shell.core.emit('event', 'connection.state', {
        state: 'reconnecting',
        since: new Date().toISOString(),
      });
      assert.equal(h.shell.tray.presence, 'busy', 'a network blip is not a presence change');
      h.shell.core.emit('event', 'connection.state', { state: 'offline', since: new Date().toISOString() });
      assert.equal(h.shell.tray.presence, 'offline', 'logged out');
    } finally {
      h.dispose();
    }
  });

  it('presence icons differ by colour and have a transparent corner', () => {
    const a = presenceBitmap('available');
    const b = presenceBitmap('busy');
    assert.equal(a.length, 16 * 16 * 4);
    assert.notDeepEqual(a, b);
    assert.equal(a[3], 0, 'corner pixel is transparent');
    assert.equal(a[(8 * 16 + 8) * 4 + 3], 255, 'centre pixel is opaque');
  });

  it('an offer notifies when the window is not focused, without the customer name; click reveals the window', async () => {
    const h = await startShellHarness();
    try {
      const win = h.fake.state.windows[0]!;
      win.focused = true;
      h.shell.core.emitEvent('offer', offer());
      assert.equal(h.fake.state.notifications.length, 0, 'no notification while the console is in front');
      win.focused = false;
      win.minimized = true;
      h.shell.core.emitEvent('offer', offer());
      const [n] = h.fake.state.notifications;
      assert.ok(n?.shown);
      assert.match(`${n.title} ${n.body}`, /Lost or stolen card/);
      assert.doesNotMatch(`${n.title} ${n.body}`, /Alice|Martin/);
      n.click();
      assert.equal(win.minimized, false);
      assert.equal(win.focused, true);
      assert.equal(sentEvents(h.contents, 'offer').length, 2, 'the page gets every offer');
    } finally {
      h.dispose();
    }
  });

  it('notification text counts down to the offer expiry', () => {
    const o = offer();
    assert.match(offerNotificationText(o, Date.parse(o.expiresAt) - 15_000).body, /within 15 s/);
  });

  it('the global shortcut emits shortcut.accept to the page; quitting unregisters it', async () => {
    const h = await startShellHarness();
    h.fake.state.shortcuts.get(ACCEPT_ACCELERATOR)!();
    assert.deepEqual(sentEvents(h.contents, 'shortcut.accept'), [[{}]]);
    h.dispose();
    assert.equal(h.fake.state.shortcuts.size, 0);
    assert.equal(h.fake.state.trays[0]!.destroyed, true);
    assert.equal(h.fake.state.ipcHandlers.size, 0, 'IPC handlers removed on quit');
  });

  it('a taken shortcut is reported, not fatal', async () => {
    const h = await startShellHarness({ takenShortcuts: [ACCEPT_ACCELERATOR] });
    h.dispose();
    assert.ok(h.logs.some((l) => /shortcut is taken/.test(l)));
    assert.equal(h.fake.state.windows.length, 1);
  });
});

describe('refresh token in safeStorage (the asynchronous API: the synchronous one is deprecated)', () => {
  const withDir = async (fn: (dir: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-token-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('is encrypted on disk and survives a restart', () =>
    withDir(async (dir) => {
      const fake = createFakeElectron({ userData: dir });
      const file = join(dir, 'rt.bin');
      const first = await openSafeStorageTokenStore(fake.electron.safeStorage, file, 'linux');
      first.save('rt_SECRET_refresh_token');
      assert.equal(first.load(), 'rt_SECRET_refresh_token', 'readable at once, before the disk write');
      await first.flushed();
      assert.ok(!readFileSync(file).toString('latin1').includes('rt_SECRET'), 'no plaintext on disk');
      const second = await openSafeStorageTokenStore(fake.electron.safeStorage, file, 'linux');
      assert.equal(second.load(), 'rt_SECRET_refresh_token');
      second.save(null);
      assert.equal(existsSync(file), false, 'a logout removes the file at once');
    }));

  it('a new token replaces the old one on disk; the old one is never what a restart finds', () =>
    withDir(async (dir) => {
      const fake = createFakeElectron({ userData: dir });
      const file = join(dir, 'rt.bin');
      const store = await openSafeStorageTokenStore(fake.electron.safeStorage, file, 'linux');
      store.save('rt_old');
      await store.flushed();
      store.save('rt_new');
      // Until the new one is written, no token is on disk rather than the rotated-out one.
      assert.equal(existsSync(file), false);
      store.save('rt_newer');
      await store.flushed();
      const reopened = await openSafeStorageTokenStore(fake.electron.safeStorage, file, 'linux');
      assert.equal(reopened.load(), 'rt_newer');
      // A logout while a write is still encrypting: the write does not bring the token back.
      store.save('rt_last');
      store.save(null);
      await store.flushed();
      assert.equal(existsSync(file), false);
    }));

  it('a token encrypted under a rotated key is re-encrypted with the current one', () =>
    withDir(async (dir) => {
      const file = join(dir, 'rt.bin');
      const before = await openSafeStorageTokenStore(
        createFakeElectron({ userData: dir, safeStorageKey: 'v10' }).electron.safeStorage,
        file,
        'linux',
      );
      before.save('rt_rotating');
      await before.flushed();
      assert.equal(readFileSync(file).subarray(0, 3).toString(), 'v10');
      const after = await openSafeStorageTokenStore(
        createFakeElectron({ userData: dir, safeStorageKey: 'v11' }).electron.safeStorage,
        file,
        'linux',
      );
      assert.equal(after.load(), 'rt_rotating');
      await after.flushed();
      assert.equal(readFileSync(file).subarray(0, 3).toString(), 'v11');
    }));

  it("is kept in memory only without a real keystore (Linux 'basic_text', or none)", () =>
    withDir(async (dir) => {
      for (const opts of [{ storageBackend: 'basic_text' }, { encryptionAvailable: false }]) {
        const fake = createFakeElectron({ userData: dir, ...opts });
        const file = join(dir, 'rt.bin');
        const store = await openSafeStorageTokenStore(fake.electron.safeStorage, file, 'linux');
        store.save('rt_x');
        await store.flushed();
        assert.equal(store.load(), 'rt_x');
        assert.equal(store.persistent(), false);
        assert.equal(existsSync(file), false);
      }
    }));

  it('an undecryptable file is dropped', () =>
    withDir(async (dir) => {
      const fake = createFakeElectron({ userData: dir });
      const file = join(dir, 'rt.bin');
      writeFileSync(file, 'garbage');
      const logs: string[] = [];
      const store = await openSafeStorageTokenStore(fake.electron.safeStorage, file, 'linux', (m) =>
        logs.push(m),
      );
      assert.equal(store.load(), null);
      assert.equal(existsSync(file), false);
      assert.ok(logs.some((l) => /could not be decrypted/.test(l)));
    }));

  it('the shell hands DeskCore this store (the refresh token file lives in userData)', async () => {
    const h = await startShellHarness();
    try {
      const tokens = (
        h.shell.core.client as unknown as {
          tokens: { save(t: string | null): void; flushed(): Promise<void> };
        }
      ).tokens;
      tokens.save('rt_from_core');
      await tokens.flushed();
      const file = join(h.dir, 'userData', 'refresh-token.bin');
      assert.ok(existsSync(file));
      assert.ok(!readFileSync(file).toString('latin1').includes('rt_from_core'));
    } finally {
      h.dispose();
    }
  });
});

describe('auto-update and managed configuration', () => {
  it('does nothing when not packaged (the updater is not even created)', async () => {
    let created = 0;
    const h = await startShellHarness(
      { isPackaged: false },
      { updater: () => (created++, new FakeUpdater()) },
    );
    h.dispose();
    assert.equal(created, 0);
  });

  it('packaged: checks the configured https feed (generic provider) and downloads automatically', async () => {
    const updater = new FakeUpdater();
    const h = await startShellHarness(
      { isPackaged: true },
      { updater: () => updater, updateFeedUrl: 'https://updates.verifieddesk.io/console/' },
    );
    h.dispose();
    assert.deepEqual(updater.feeds, [
      { provider: 'generic', url: 'https://updates.verifieddesk.io/console/' },
    ]);
    assert.equal(updater.autoDownload, true);
    assert.equal(updater.checks, 1);
  });

  it('refuses a non-https feed; without an override uses the feed baked in at packaging', () => {
    const u1 = new FakeUpdater();
    assert.equal(
      startAutoUpdate({ isPackaged: true }, u1, { feedUrl: 'http://updates.example/' }).status,
      'skipped-bad-feed',
    );
    assert.equal(u1.checks, 0);
    const u2 = new FakeUpdater();
    const r = startAutoUpdate({ isPackaged: true }, u2, {});
    r.stop();
    assert.equal(r.status, 'started');
    assert.deepEqual(u2.feeds, []);
    assert.equal(u2.checks, 1);
  });

  it('managed configuration fixes the authority and SIP URLs and shows them read-only', async () => {
    const h = await startShellHarness(
      {},
      { managed: { authorityUrl: 'https://authority.corp.example', sipUrl: 'wss://sip.corp.example/ws' } },
    );
    try {
      const s = h.shell.core.settings.get();
      assert.equal(s.authorityUrl, 'https://authority.corp.example');
      assert.deepEqual(s.managed, { authorityUrl: true, sipUrl: true });
      assert.throws(() => h.shell.core.settings.set({ authorityUrl: 'https://evil.example' }), /managed/);
    } finally {
      h.dispose();
    }
  });

  it('an invalid managed file stops the start with an error box (never runs unmanaged)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-managed-'));
    const file = join(dir, 'managed.json');
    writeFileSync(file, JSON.stringify({ authorityUrl: 'ftp://nope' }));
    const fake = createFakeElectron({ userData: join(dir, 'ud') });
    const previous = process.env.VD_MANAGED_CONFIG;
    process.env.VD_MANAGED_CONFIG = file;
    try {
      const started = startDeskShell(fake.electron, {
        preloadPath: '/x/preload.js',
        rendererDir: dir,
        defaultAuthorityUrl: CLOSED_AUTHORITY,
        argv: [],
        log: () => undefined,
      });
      assert.equal(await started!.ready, null);
      assert.equal(fake.state.errorBoxes.length, 1);
      assert.match(fake.state.errorBoxes[0]!.content, /managed configuration/);
      assert.equal(fake.state.quitCalls, 1);
      assert.equal(fake.state.windows.length, 0);
    } finally {
      if (previous === undefined) delete process.env.VD_MANAGED_CONFIG;
      else process.env.VD_MANAGED_CONFIG = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a start that fails later (the local database cannot open) also ends in an error box, not a silent process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-broken-'));
    writeFileSync(join(dir, 'console'), 'a file where the data folder should be');
    const fake = createFakeElectron({ userData: dir });
    try {
      const started = startDeskShell(fake.electron, {
        preloadPath: '/x/preload.js',
        rendererDir: dir,
        defaultAuthorityUrl: CLOSED_AUTHORITY,
        managed: {},
        userDataDir: dir,
        argv: [],
        log: () => undefined,
      });
      assert.equal(await started!.ready, null);
      assert.equal(fake.state.errorBoxes.length, 1);
      assert.equal(fake.state.quitCalls, 1);
      assert.equal(fake.state.windows.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the documented per-OS paths', () => {
    assert.equal(
      managedConfigPath('win32', { ProgramData: 'C:\\ProgramData' }),
      join('C:\\ProgramData', 'VerifiedDesk', 'managed.json'),
    );
    assert.equal(managedConfigPath('darwin', {}), '/Library/Application Support/VerifiedDesk/managed.json');
    assert.equal(managedConfigPath('linux', {}), '/etc/verified-desk/managed.json');
  });
});
