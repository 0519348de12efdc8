/**
 * The CRM side panel: the per-queue setting (screenPopOpensIn, validated with the pipeline
 * configuration) and its security in the console host: the CSP's frame-src is built from the
 * console's allow-listed CRM origins alone (one copy for browser mode and the Electron
 * shell), and the shell (against the typed fake of electron) lets only a frame on those
 * origins navigate, keeps the console itself from navigating, and sends the CRM's windows
 * to the system browser only for those origins.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { consoleCsp, frameableOrigin } from '../../main/core/console-csp.ts';
import { ManagedConfig } from '../../main/core/settings.ts';
import { PipelineConfig } from '../../protocol/src/pipeline.ts';
import { CLOSED_AUTHORITY, startShellHarness, type ShellHarness } from '../support/shell-harness.ts';

const CRM = ['https://crm.example', 'http://127.0.0.1:4999'];
const SIP = 'wss://127.0.0.1:9/sip';
const directive = (csp: string, name: string) =>
  csp
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith(`${name} `));

describe("a queue's screenPopOpensIn (pipeline configuration)", () => {
  const shipped = JSON.parse(
    readFileSync(new URL('../../authority/config/pipeline.json', import.meta.url), 'utf8'),
  );
  const withGeneral = (patch: object) => ({
    ...shipped,
    queues: shipped.queues.map((q: { id: string }) => (q.id === 'general' ? { ...q, ...patch } : q)),
  });
  const issues = (c: unknown) => {
    const r = PipelineConfig.safeParse(c);
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };

  it("'sidePanel' or 'browser' with a screenPopUrl; absent is the browser", () => {
    for (const opensIn of ['sidePanel', 'browser'])
      assert.deepEqual(
        issues(
          withGeneral({ screenPopUrl: 'https://crm.example/c/{externalRef}', screenPopOpensIn: opensIn }),
        ),
        [],
      );
    const parsed = PipelineConfig.parse(withGeneral({ screenPopUrl: 'https://crm.example/c/{externalRef}' }));
    assert.equal(parsed.queues.find((q) => q.id === 'general')!.screenPopOpensIn, undefined);
  });

  it('anything else, or a place without a URL, is refused', () => {
    assert.notDeepEqual(
      issues(withGeneral({ screenPopUrl: 'https://crm.example/', screenPopOpensIn: 'popup' })),
      [],
    );
    assert.notDeepEqual(
      issues(withGeneral({ screenPopUrl: 'https://crm.example/', screenPopOpensIn: true })),
      [],
    );
    assert.deepEqual(issues(withGeneral({ screenPopOpensIn: 'sidePanel' })), [
      'queue "general" sets screenPopOpensIn without a screenPopUrl',
    ]);
  });
});

describe('console CSP: frame-src from the allow-listed CRM origins', () => {
  it('lists exactly the allow-listed origins; none listed: no frames at all', () => {
    assert.equal(
      directive(consoleCsp(SIP, CRM), 'frame-src'),
      'frame-src https://crm.example http://127.0.0.1:4999',
    );
    assert.equal(directive(consoleCsp(SIP, []), 'frame-src'), "frame-src 'none'");
    assert.equal(directive(consoleCsp(SIP), 'frame-src'), "frame-src 'none'");
    // The rest of the policy does not move.
    const without = consoleCsp(SIP, []).replace(/; frame-src .*$/, '');
    assert.equal(consoleCsp(SIP, CRM).replace(/; frame-src .*$/, ''), without);
    assert.equal(directive(without, 'frame-ancestors'), "frame-ancestors 'none'");
    assert.equal(directive(without, 'connect-src'), "connect-src 'self' wss://127.0.0.1:9");
  });

  it('an entry that is not a bare https (or loopback http) origin never reaches the policy', () => {
    const hostile = [
      "https://crm.example; script-src 'unsafe-inline'",
      'https://crm.example *',
      'https://crm.example/customers',
      'https://crm.example/?q=1',
      'https://user:pw@crm.example',
      'http://crm.example',
      'javascript:alert(1)',
      'data:text/html,x',
      '*',
      "'self'",
      'https://*.example',
    ];
    for (const h of hostile) assert.equal(frameableOrigin(h), null, h);
    assert.equal(directive(consoleCsp(SIP, hostile), 'frame-src'), "frame-src 'none'");
    assert.equal(frameableOrigin('HTTPS://CRM.Example/'), 'https://crm.example');
    assert.equal(frameableOrigin('https://crm.example:443'), 'https://crm.example');
    assert.equal(frameableOrigin('http://localhost:8080'), 'http://localhost:8080');
  });

  it("the managed configuration's screenPopOrigins are validated and normalised", () => {
    const ok = ManagedConfig.safeParse({
      screenPopOrigins: ['https://CRM.example/', 'http://127.0.0.1:4999'],
    });
    assert.ok(ok.success);
    assert.deepEqual(ok.data.screenPopOrigins, ['https://crm.example', 'http://127.0.0.1:4999']);
    for (const bad of [
      ['https://crm.example/path'],
      ['http://crm.example'],
      ['ftp://crm.example'],
      'https://crm.example',
    ])
      assert.equal(ManagedConfig.safeParse({ screenPopOrigins: bad }).success, false, JSON.stringify(bad));
  });
});

describe('browser mode and the Electron shell serve the same console CSP', () => {
  let h: ShellHarness;
  let mode: BrowserMode;
  let dir: string;
  before(async () => {
    h = await startShellHarness(
      {},
      { managed: { authorityUrl: CLOSED_AUTHORITY, sipUrl: SIP, screenPopOrigins: CRM } },
    );
    dir = mkdtempSync(join(tmpdir(), 'vd-crm-csp-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    mode = await startBrowserMode({
      authorityUrl: CLOSED_AUTHORITY,
      dataDir: join(dir, 'data'),
      rendererDir: dir,
      managed: { authorityUrl: CLOSED_AUTHORITY, sipUrl: SIP, screenPopOrigins: CRM },
    });
  });
  after(async () => {
    h.dispose();
    await mode.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one policy, frame-src the CRM origins, in both', async () => {
    const web = (await fetch(mode.url)).headers.get('content-security-policy') ?? '';
    const app = (await h.fake.state.protocolHandlers.get('app')!(new Request('app://desk/'))).headers.get(
      'content-security-policy',
    );
    assert.equal(web, consoleCsp(SIP, CRM));
    assert.equal(app, web);
  });

  describe('shell: frames and windows', () => {
    it('a frame in the page navigates (and is redirected) within the CRM origins only', () => {
      const c = h.contents;
      for (const kind of ['will-frame-navigate', 'will-redirect'] as const) {
        assert.equal(
          c.attemptNavigation(kind, 'https://crm.example/customers/CRM-1?request=r1', false),
          true,
        );
        assert.equal(c.attemptNavigation(kind, 'http://127.0.0.1:4999/customers/CRM-1', false), true);
        for (const url of [
          'https://evil.example/',
          'https://crm.example.evil.example/',
          'https://crm.example:8443/',
          'http://crm.example/',
          'https://user@crm.example/',
          'http://127.0.0.1:5000/',
          'javascript:alert(1)',
          'file:///etc/passwd',
          'app://desk/index.html',
        ])
          assert.equal(c.attemptNavigation(kind, url, false), false, `${kind} ${url}`);
      }
    });

    it('the console itself (the main frame) still never navigates, not even to the CRM', () => {
      const c = h.contents;
      for (const kind of ['will-navigate', 'will-frame-navigate', 'will-redirect'] as const)
        assert.equal(c.attemptNavigation(kind, 'https://crm.example/customers/CRM-1', true), false, kind);
      assert.equal(c.attemptAttachWebview(), false);
    });

    it("a window the CRM record opens: the system browser for the CRM's origins only, never a window", async () => {
      const opened = h.fake.state.openedExternally;
      opened.length = 0;
      assert.equal(h.contents.attemptWindowOpen('https://crm.example/print/CRM-1'), 'deny');
      assert.equal(h.contents.attemptWindowOpen('https://evil.example/phish'), 'deny');
      assert.equal(h.contents.attemptWindowOpen('https://user:pw@crm.example/'), 'deny');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(opened, ['https://crm.example/print/CRM-1']);
    });

    it("a frame's document: from a CRM origin it keeps its own headers; from any other it is cancelled", () => {
      const hr = h.fake.state.headersReceived!;
      let crm: object | undefined;
      hr(
        {
          url: 'https://crm.example/customers/CRM-1',
          resourceType: 'subFrame',
          responseHeaders: { 'content-security-policy': ["frame-ancestors 'self' app://desk"] },
        },
        (r) => void (crm = r),
      );
      assert.deepEqual(crm, {});
      let evil: object | undefined;
      hr({ url: 'https://evil.example/', resourceType: 'subFrame' }, (r) => void (evil = r));
      assert.deepEqual(evil, { cancel: true });
      let top: { responseHeaders?: Record<string, string[]> } | undefined;
      hr({ url: 'https://crm.example/', resourceType: 'mainFrame' }, (r) => void (top = r));
      assert.equal(top?.responseHeaders?.['Content-Security-Policy']?.[0], consoleCsp(SIP, CRM));
    });
  });
});

describe('shell without CRM origins: no frame goes anywhere', () => {
  let h: ShellHarness;
  before(async () => {
    h = await startShellHarness();
  });
  after(() => h.dispose());

  it('frames, windows and frame documents are all refused', async () => {
    assert.equal(h.contents.attemptNavigation('will-frame-navigate', 'https://crm.example/', false), false);
    assert.equal(h.contents.attemptWindowOpen('https://crm.example/'), 'deny');
    let r: object | undefined;
    h.fake.state.headersReceived!(
      { url: 'https://crm.example/', resourceType: 'subFrame' },
      (x) => void (r = x),
    );
    assert.deepEqual(r, { cancel: true });
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(h.fake.state.openedExternally, []);
  });
});
