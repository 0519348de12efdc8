/**
 * The Electron shell's security settings and handlers, against the typed fake of
 * the electron module (docs/reliability.md rows 1 and 3; row 2 is shell-ipc.test.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APP_ORIGIN } from '../../main/shell/app-origin.ts';
import { resolveAppPath } from '../../main/shell/app-protocol.ts';
import { createExternalOpener, DEFAULT_EXTERNAL_HOSTS } from '../../main/shell/external-links.ts';
import { FakeWebContents } from '../support/fake-electron.ts';
import { startShellHarness, type ShellHarness } from '../support/shell-harness.ts';

const root = new URL('../..', import.meta.url).pathname;
const shellSources = () =>
  [
    ...readdirSync(join(root, 'main/shell')).map((f) => join(root, 'main/shell', f)),
    ...readdirSync(join(root, 'preload')).map((f) => join(root, 'preload', f)),
  ].filter((f) => f.endsWith('.ts'));

/** Row 3: links and redirects a page could try. The last three are allow-listed for the browser. */
const CRAFTED_URLS = [
  'https://evil.example/',
  'http://docs.verifieddesk.io/guide',
  'https://docs.verifieddesk.io.evil.example/',
  'https://docs-verifieddesk.io/',
  'https://docs.verifieddesk.io@evil.example/',
  'https://evil.example@docs.verifieddesk.io/',
  'https://docs.verifieddesk.io./guide',
  'https://xn--verifieddsk-lkb.io/',
  'https://docs.verifieddesk.io:8443/',
  'javascript:alert(1)',
  'javascript://docs.verifieddesk.io/%0aalert(1)',
  'file:///etc/passwd',
  'file://docs.verifieddesk.io/share',
  'data:text/html,<script>alert(1)</script>',
  'blob:app://desk/0f1e2d3c',
  'app://other/index.html',
  'app://desk/../../etc/passwd',
  'app://desk.evil/',
  'app://desk@evil/',
  'app://desk/index.html',
  'about:blank',
  'chrome://settings',
  'devtools://devtools/bundled/inspector.html',
  'ms-msdt:/id PCWDiagnostic',
  'smb://evil.example/share',
  'vbscript:msgbox(1)',
  'tel:+15555550100',
  'sip:alice@evil.example',
  'https://127.0.0.1/',
  'https://[::1]/',
  'https://docs.verifieddesk.io/guide',
  'HTTPS://DOCS.VERIFIEDDESK.IO/ok',
  'https://verifieddesk.io/',
];
const ALLOWED_EXTERNALLY = new Set([
  'https://docs.verifieddesk.io/guide',
  'https://docs.verifieddesk.io/ok',
  'https://verifieddesk.io/',
]);

describe('shell security (RELIABILITY rows 1 and 3)', () => {
  let h: ShellHarness;
  before(async () => {
    h = await startShellHarness();
  });
  after(() => h.dispose());

  describe('every window: contextIsolation, sandbox, no Node', () => {
    it('the console window has the hardened webPreferences', () => {
      assert.ok(h.fake.state.windows.length >= 1);
      for (const win of h.fake.state.windows) {
        const p = win.options.webPreferences ?? {};
        assert.equal(p.contextIsolation, true);
        assert.equal(p.sandbox, true);
        assert.equal(p.nodeIntegration, false);
        assert.equal(p.nodeIntegrationInWorker, false);
        assert.equal(p.nodeIntegrationInSubFrames, false);
        assert.equal(p.webSecurity, true);
        assert.equal(p.allowRunningInsecureContent, false);
        assert.equal(p.webviewTag, false);
        assert.equal(p.experimentalFeatures, false);
        assert.equal(p.navigateOnDragDrop, false);
        assert.equal(p.disableBlinkFeatures, 'Auxclick');
        assert.equal('enableRemoteModule' in p, false, 'no remote module');
        assert.equal('enableBlinkFeatures' in p, false);
        assert.equal(p.preload, join(h.dir, 'preload.js'));
      }
    });

    it('sandbox is also forced app-wide (app.enableSandbox before ready)', () => {
      assert.equal(h.fake.app.sandboxForAll, true);
    });

    it('the softphone window (the console hosts the softphone) keeps its timers in the background', () => {
      assert.equal(h.fake.state.windows[0]!.options.webPreferences?.backgroundThrottling, false);
    });

    it('the UI is loaded from app://desk, never file://', () => {
      assert.deepEqual(h.fake.state.windows[0]!.loaded, [`${APP_ORIGIN}/index.html`]);
    });

    it('the sources: one place creates windows, none enables Node, remote or insecure content', () => {
      const offending: string[] = [];
      const creators: string[] = [];
      const rules: [RegExp, string][] = [
        [/nodeIntegration(InWorker|InSubFrames)?\s*:\s*true/, 'nodeIntegration: true'],
        [/contextIsolation\s*:\s*false/, 'contextIsolation: false'],
        [/sandbox\s*:\s*false/, 'sandbox: false'],
        [/webSecurity\s*:\s*false/, 'webSecurity: false'],
        [/allowRunningInsecureContent\s*:\s*true/, 'allowRunningInsecureContent: true'],
        [/enableRemoteModule|@electron\/remote/, 'remote module'],
        [/webviewTag\s*:\s*true/, 'webviewTag: true'],
        [/loadFile\(|['"`]file:\/\//, 'file:// loading'],
        [/exposeInMainWorld\([^)]*ipcRenderer\b/, 'raw ipcRenderer exposed'],
      ];
      for (const file of shellSources()) {
        const text = readFileSync(file, 'utf8');
        for (const [re, what] of rules) if (re.test(text)) offending.push(`${file}: ${what}`);
        if (/new\s+BrowserWindow\s*\(/.test(text)) creators.push(file);
      }
      assert.deepEqual(offending, []);
      assert.deepEqual(
        creators.map((f) => f.slice(root.length)),
        ['main/shell/console-window.ts'],
      );
    });
  });

  describe('navigation and new windows (row 3)', () => {
    it(`${CRAFTED_URLS.length} crafted URLs: 0 navigations, 0 redirects, 0 new windows; only allow-listed https reaches the browser`, () => {
      assert.ok(CRAFTED_URLS.length >= 20);
      const contents = h.contents;
      h.fake.state.openedExternally.length = 0;
      let navigations = 0;
      let windows = 0;
      for (const url of CRAFTED_URLS) {
        for (const kind of ['will-navigate', 'will-redirect', 'will-frame-navigate'] as const)
          if (contents.attemptNavigation(kind, url)) navigations++;
        if (contents.attemptWindowOpen(url) !== 'deny') windows++;
      }
      assert.equal(contents.attemptAttachWebview(), false, '<webview> attach is refused');
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          const opened = h.fake.state.openedExternally;
          console.log(
            `row 3: ${CRAFTED_URLS.length} crafted URLs x 3 navigation events: ${navigations} navigations allowed, ` +
              `${windows} new windows, ${opened.length} links opened externally (${new Set(opened).size} distinct, all allow-listed)`,
          );
          assert.equal(navigations, 0);
          assert.equal(windows, 0);
          assert.deepEqual(new Set(opened), ALLOWED_EXTERNALLY);
          resolve();
        }),
      );
    });

    it('any WebContents created later (not only ours) gets the same guard', () => {
      const other = new FakeWebContents();
      h.fake.app.emit('web-contents-created', {}, other);
      assert.equal(other.attemptNavigation('will-navigate', 'https://evil.example/'), false);
      assert.equal(other.attemptWindowOpen('https://evil.example/'), 'deny');
      assert.equal(other.attemptAttachWebview(), false);
    });

    it('openExternal: https to an allow-listed host only', async () => {
      const opened: string[] = [];
      const open = createExternalOpener(
        { openExternal: async (u) => void opened.push(u) },
        DEFAULT_EXTERNAL_HOSTS,
      );
      const results = await Promise.all(CRAFTED_URLS.map(async (u) => [u, await open(u)] as const));
      const yes = results.filter(([, ok]) => ok).map(([u]) => new URL(u).href);
      assert.deepEqual(new Set(yes), ALLOWED_EXTERNALLY);
      assert.deepEqual(new Set(opened), ALLOWED_EXTERNALLY);
    });
  });

  describe('permissions: only media, only for our own top-level page', () => {
    const own = { requestingUrl: `${APP_ORIGIN}/index.html`, isMainFrame: true };
    const request = (permission: string, details: object) =>
      new Promise<boolean>((resolve) =>
        h.fake.state.permissionRequestHandler!({}, permission, resolve, { ...own, ...details }),
      );
    const OTHER_PERMISSIONS = [
      'geolocation',
      'notifications',
      'clipboard-read',
      'clipboard-sanitized-write',
      'display-capture',
      'fullscreen',
      'idle-detection',
      'mediaKeySystem',
      'midi',
      'midiSysex',
      'pointerLock',
      'keyboardLock',
      'openExternal',
      'speaker-selection',
      'storage-access',
      'top-level-storage-access',
      'window-management',
      'fileSystem',
      'hid',
      'serial',
      'usb',
      'unknown',
    ];
    const FOREIGN = [
      'https://evil.example/',
      'http://localhost:5174/',
      'file:///home/agent/x.html',
      'app://other/index.html',
      'app://desk.evil/',
      'app://desk@evil/',
      'data:text/html,x',
      '',
    ];

    it('requests: microphone for app://desk granted; everything else denied', async () => {
      const cases: [string, object, boolean][] = [
        ['media', { mediaTypes: ['audio'] }, true],
        ['media', { mediaTypes: ['video'] }, false],
        ['media', { mediaTypes: ['audio', 'video'] }, false],
        ['media', { mediaTypes: ['audio'], isMainFrame: false }, false],
        ...FOREIGN.map((u): [string, object, boolean] => [
          'media',
          { mediaTypes: ['audio'], requestingUrl: u },
          false,
        ]),
        ...OTHER_PERMISSIONS.map((p): [string, object, boolean] => [p, {}, false]),
        ['notifications', { requestingUrl: 'https://evil.example/' }, false],
        ['geolocation', { requestingUrl: 'https://evil.example/' }, false],
      ];
      let granted = 0;
      for (const [permission, details, expected] of cases) {
        const got = await request(permission, details);
        if (got) granted++;
        assert.equal(got, expected, `${permission} ${JSON.stringify(details)}`);
      }
      console.log(
        `permissions: ${cases.length} requests, ${granted} granted (media/audio from ${APP_ORIGIN} only)`,
      );
    });

    it('checks: same rule; device (USB/HID/serial) permission never', () => {
      const check = h.fake.state.permissionCheckHandler!;
      assert.equal(check(null, 'media', APP_ORIGIN, { isMainFrame: true, mediaType: 'audio' }), true);
      assert.equal(check(null, 'media', APP_ORIGIN, { isMainFrame: true, mediaType: 'video' }), false);
      assert.equal(check(null, 'media', APP_ORIGIN, { isMainFrame: false, mediaType: 'audio' }), false);
      for (const origin of FOREIGN)
        assert.equal(check(null, 'media', origin, { isMainFrame: true, mediaType: 'audio' }), false, origin);
      for (const p of OTHER_PERMISSIONS)
        assert.equal(check(null, p, APP_ORIGIN, { isMainFrame: true }), false, p);
      assert.equal(h.fake.state.devicePermissionHandler!({ deviceType: 'usb', origin: APP_ORIGIN }), false);
    });
  });

  describe('app:// protocol', () => {
    it('is registered privileged before ready: standard and secure, never bypassCSP', () => {
      const [scheme] = h.fake.state.privilegedSchemes;
      assert.equal(scheme?.scheme, 'app');
      assert.equal(scheme?.privileges?.standard, true);
      assert.equal(scheme?.privileges?.secure, true);
      assert.equal(scheme?.privileges?.bypassCSP, false);
      assert.equal(scheme?.privileges?.allowServiceWorkers, false);
    });

    it('serves the renderer with a strict CSP', async () => {
      const handle = h.fake.state.protocolHandlers.get('app')!;
      const res = await handle(new Request('app://desk/'));
      assert.equal(res.status, 200);
      assert.match(await res.text(), /Verified Desk/);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const d of [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "frame-src 'none'",
      ])
        assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
      assert.doesNotMatch(csp, /unsafe-eval/);
      assert.doesNotMatch(
        csp.split(';').find((d) => d.trim().startsWith('script-src')) ?? '',
        /unsafe-inline/,
      );
      assert.ok(csp.includes('wss://127.0.0.1:9'), 'connect-src allows the SIP WebSocket only');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const js = await handle(new Request('app://desk/assets/app.js'));
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      assert.equal((await handle(new Request('app://desk/queue/view'))).status, 200, 'client-side route');
      assert.equal((await handle(new Request('app://desk/assets/missing.js'))).status, 404);
      assert.equal((await handle(new Request('app://desk/', { method: 'POST', body: 'x' }))).status, 405);
    });

    it('refuses path traversal, other hosts and symlinks out of the folder', async () => {
      const handle = h.fake.state.protocolHandlers.get('app')!;
      const secret = 'TOP-SECRET-OUTSIDE-THE-RENDERER';
      writeFileSync(join(h.dir, 'secret.txt'), secret);
      symlinkSync(h.dir, join(h.rendererDir, 'link'));
      const attempts = [
        'app://desk/../secret.txt',
        'app://desk/..%2fsecret.txt',
        'app://desk/%2e%2e%2fsecret.txt',
        'app://desk/%2e%2e/secret.txt',
        'app://desk/assets/..%2f..%2fsecret.txt',
        'app://desk/..%5csecret.txt',
        'app://desk/..%255csecret.txt',
        'app://desk/%252e%252e%252fsecret.txt',
        'app://desk/assets/%00../../secret.txt',
        'app://desk/C:%5cWindows%5cwin.ini',
        'app://desk/link/secret.txt',
        'app://desk/%E0%A4%A',
        'app://other/index.html',
        'app://desk.evil/index.html',
        'app://user@desk/index.html',
        'app://desk:8080/index.html',
      ];
      const statuses: number[] = [];
      // Node's Request refuses URLs with credentials; Chromium hands the handler a request anyway.
      const requestFor = (url: string) => {
        try {
          return new Request(url);
        } catch {
          return { url, method: 'GET' } as Request;
        }
      };
      for (const url of attempts) {
        const res = await handle(requestFor(url));
        const body = await res.text();
        statuses.push(res.status);
        assert.ok(!body.includes(secret), `${url} leaked the file`);
      }
      assert.deepEqual(
        attempts.filter((_, i) => statuses[i] === 200),
        [],
        'no traversal attempt is answered with a file',
      );
      console.log(
        `app:// traversal: ${attempts.length} attempts, 0 leaks (statuses ${[...new Set(statuses)].sort().join(', ')})`,
      );
    });

    it('resolveAppPath keeps every result inside the folder', () => {
      for (const url of ['app://desk/a/b.js', 'app://desk/', 'app://desk/%2e%2e/x', 'app://desk/a/../../x']) {
        const r = resolveAppPath('/srv/r', url);
        if (r.kind === 'file') assert.ok(r.path.startsWith('/srv/r/'), `${url} -> ${r.path}`);
      }
      assert.deepEqual(resolveAppPath('/srv/r', 'app://desk/..%2fx'), { kind: 'refused', status: 403 });
      // Refused per segment even where the resolved path would stay inside.
      assert.deepEqual(resolveAppPath('/srv/r', 'app://desk/assets/..%2fx'), {
        kind: 'refused',
        status: 403,
      });
      assert.deepEqual(resolveAppPath('/srv/r', 'app://desk/a%5cb'), { kind: 'refused', status: 403 });
      assert.deepEqual(resolveAppPath('/srv/r', 'app://desk/%E0%A4%A'), { kind: 'refused', status: 400 });
      assert.deepEqual(resolveAppPath('/srv/r', 'file:///etc/passwd'), { kind: 'refused', status: 404 });
    });

    it('the session adds the CSP to every document response, replacing any other', () => {
      let headers: Record<string, string[]> | undefined;
      h.fake.state.headersReceived!(
        {
          url: 'https://evil.example/',
          resourceType: 'mainFrame',
          responseHeaders: { 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] },
        },
        (r) => void (headers = r.responseHeaders),
      );
      assert.deepEqual(Object.keys(headers ?? {}).sort(), ['Content-Security-Policy', 'Content-Type']);
      assert.match(headers!['Content-Security-Policy']![0]!, /default-src 'self'/);
      let untouched: object | undefined;
      h.fake.state.headersReceived!(
        { url: 'https://cdn.example/x.png', resourceType: 'image' },
        (r) => void (untouched = r),
      );
      assert.deepEqual(untouched, {});
    });
  });
});
