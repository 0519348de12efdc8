/**
 * The texted verification link as a native deep link (issue 14 item 3): the link is a path
 * on the customer app's host (`https://host/v/<token>`); the authority serves the two files
 * the phone's operating system fetches to open the company's installed app for that path
 * (`/.well-known/apple-app-site-association`, `/.well-known/assetlinks.json`), generated
 * from configuration, as JSON without redirects; none configured: 404. Opened in a browser,
 * `/v/<token>` sends a usable link on to the web app's screen and answers a page saying why
 * for one that is malformed, unknown, used or expired. The token never reaches the log.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AppleAppSiteAssociation, AssetLinks } from '../../protocol/src/app-links.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import type { TestDevice } from '../support/device.ts';
import { api, staffLogin } from '../support/http.ts';
import { answerNumber, enrolWithPin, registerPhone } from '../support/phone-in.ts';
import { until } from '../support/wait.ts';

const SECRET = 'sip-server-secret-for-the-native-app-links-test-1';
const DIALLED = '+442079460000';
const ALICE = 'c_alice_martin_01';
const IOS = ['ABCDE12345.com.northwind.bank', 'ABCDE12345.com.northwind.bank.beta'];
const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0')).join(':');

describe('the verification link opens the native app (deep link) or the web app', () => {
  let a: TestAuthority;
  let bare: TestAuthority;
  let dir: string;
  let alice: TestDevice;
  let calls = 0;
  const logs: string[] = [];
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  const get = (base: string, path: string) => fetch(`${base}${path}`, { redirect: 'manual' });

  /** Alice phones in (no agent yet): the link texted as the call queues, its token. */
  async function textedLink(): Promise<string> {
    const q = await api(a.url, 'trunkCallArrived', {
      headers: { authorization: `Bearer ${SECRET}` },
      json: { callId: `native-${++calls}@192.0.2.10`, caller: '+447911123456', dialled: DIALLED },
    });
    assert.equal(q.status, 201, JSON.stringify(q.body));
    const sink = join(dir, 'texts.jsonl');
    // A whole line (the sink may be caught mid-write).
    const line = await until('the text in the sink', () => {
      const text = existsSync(sink) ? readFileSync(sink, 'utf8') : '';
      const lines = text.endsWith('\n') ? text.trim().split('\n') : [];
      return lines.length >= calls && lines[calls - 1];
    });
    const url = /open (\S+) in the app/.exec(JSON.parse(line).text as string)?.[1] ?? '';
    const m = /^https:\/\/app\.example\.com\/v\/([A-Za-z0-9_-]{32})$/.exec(url);
    assert.ok(m, `the path form on the app's host: ${url}`);
    return m[1]!;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-native-links-'));
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    a = await startTestAuthority(
      {
        sipServerSecret: SECRET,
        textSinkFile: join(dir, 'texts.jsonl'),
        customerAppUrl: 'https://app.example.com/app/',
        iosAppIds: IOS,
        androidPackage: 'com.northwind.bank',
        // As keytool prints it, or in lower case: served in upper case.
        androidCertFingerprints: [FINGERPRINT.toLowerCase()],
        verificationLinkSeconds: 600,
      },
      { clock, logger: { level: 'info', stream } },
    );
    bare = await startTestAuthority();
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, ALICE, '+44 7911 123456');
    alice = await enrolWithPin(a.url, admin, ALICE, () => clock.now());
  });
  after(async () => {
    await a?.dispose();
    await bare?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves apple-app-site-association from configuration: JSON, no redirect, the /v/ paths', async () => {
    const r = await get(a.url, '/.well-known/apple-app-site-association');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('location'), null);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
    const doc = AppleAppSiteAssociation.parse(await r.json());
    const [details] = doc.applinks.details;
    assert.deepEqual(details!.appIDs, IOS);
    assert.equal(details!.appID, IOS[0]);
    assert.deepEqual(details!.paths, ['/v/*']);
    assert.deepEqual(
      details!.components.map((c) => c['/']),
      ['/v/*'],
    );
  });

  it('serves assetlinks.json from configuration: the package, its fingerprints in upper case', async () => {
    const r = await get(a.url, '/.well-known/assetlinks.json');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('location'), null);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
    const [statement] = AssetLinks.parse(await r.json());
    assert.deepEqual(statement!.relation, ['delegate_permission/common.handle_all_urls']);
    assert.deepEqual(statement!.target, {
      namespace: 'android_app',
      package_name: 'com.northwind.bank',
      sha256_cert_fingerprints: [FINGERPRINT.toUpperCase()],
    });
  });

  it('no app configured: both files answer 404 with a clear message', async () => {
    for (const [path, says] of [
      ['/.well-known/apple-app-site-association', /no iOS app is configured/],
      ['/.well-known/assetlinks.json', /no Android app is configured/],
    ] as const) {
      const r = await get(bare.url, path);
      assert.equal(r.status, 404, path);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
      const body = (await r.json()) as { code: string; message: string };
      assert.equal(body.code, 'not_found');
      assert.match(body.message, says);
    }
  });

  it('/v/<token> in a browser: a usable link goes on to the web app; malformed, unknown, used and expired ones get a page saying so', async () => {
    const token = await textedLink();
    const open = await get(a.url, `/v/${token}`);
    assert.equal(open.status, 303);
    assert.equal(open.headers.get('location'), `/app/#/verify-call/${token}`);
    assert.equal(open.headers.get('cache-control'), 'no-store');
    // Opening it used nothing up: it still opens, and the app then uses it once.
    assert.equal((await get(a.url, `/v/${token}`)).status, 303);
    assert.equal((await alice.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const used = await alice.api('useVerificationLink', { params: { token } });
    assert.equal(used.status, 200, JSON.stringify(used.body));

    const page = async (path: string, status: number, heading: string) => {
      const r = await get(a.url, path);
      assert.equal(r.status, status, path);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html\b/);
      assert.equal(r.headers.get('location'), null);
      const html = await r.text();
      assert.ok(html.includes(`<h1>${heading}</h1>`), html);
      assert.ok(!/<script/i.test(html));
    };
    await page(`/v/${token}`, 410, 'This link was used already');
    await page('/v/too-short', 400, 'This link is not valid');
    await page(`/v/${'x'.repeat(20)}!`, 400, 'This link is not valid');
    await page(`/v/${'A'.repeat(32)}`, 404, 'This link is not valid');
    const later = await textedLink();
    clock.advance(601_000);
    await page(`/v/${later}`, 410, 'This link has expired');

    // The log names the path, never the token (of the page nor of the app's API call).
    const all = logs.join('');
    assert.ok(all.includes('/v/[token]'), 'the requests are logged');
    assert.ok(all.includes('/v1/device/verification-links/[token]'));
    for (const t of [token, later]) assert.ok(!all.includes(t), 'no token in the log');
  });
});
