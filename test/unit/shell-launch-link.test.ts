import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { DeskCore } from '../../main/core/desk-core.ts';
import { startWebHost, type WebHost } from '../../main/core/web-host.ts';

/** The console launch link (browser mode): single use, bound to the first page that used it. */
describe('shell: the console launch link is single-use', () => {
  let host: WebHost;
  let dir: string;
  const core = Object.assign(new EventEmitter(), {
    invoke: async (channel: string) => ({ channel }),
  }) as unknown as DeskCore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-launch-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    host = await startWebHost({ core, rendererDir: dir, token: 'launch-token-1234567890' });
  });
  after(async () => {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the bridge as a page would; answers how it ended: 'open' (and a call's answer) or the close code and reason. */
  const connect = (protocols: string[], origin = host.url) =>
    new Promise<{ opened: boolean; code?: number; reason?: string; answer?: unknown }>((resolve) => {
      const ws = new WebSocket(`${host.url.replace('http', 'ws')}/bridge`, protocols, { origin });
      let opened = false;
      ws.on('open', () => {
        opened = true;
        ws.send(JSON.stringify({ id: 1, channel: 'session.current', args: {} }));
      });
      ws.on('message', (data) => {
        resolve({ opened, answer: JSON.parse(String(data)) });
        ws.close();
      });
      ws.on('close', (code, reason) => resolve({ opened, code, reason: String(reason) }));
      ws.on('error', () => resolve({ opened: false }));
    });

  it('the first page binds the link; it keeps working after a reload; a second page is refused', async () => {
    const first = await connect([
      'vd-bridge',
      'token.launch-token-1234567890',
      'page.first-page-secret-0001',
    ]);
    assert.equal(first.opened, true);
    assert.deepEqual((first.answer as { ok: boolean }).ok, true);

    // A reload of the first page: same tab, same sessionStorage, same page secret.
    const reload = await connect([
      'vd-bridge',
      'token.launch-token-1234567890',
      'page.first-page-secret-0001',
    ]);
    assert.equal((reload.answer as { ok: boolean }).ok, true);

    // The same link in another tab or browser: another page secret. Refused with a reason the page shows.
    const second = await connect([
      'vd-bridge',
      'token.launch-token-1234567890',
      'page.other-page-secret-002',
    ]);
    assert.equal(second.answer, undefined, 'no call is answered');
    assert.equal(second.code, 4403);
    assert.match(second.reason ?? '', /already used/);

    // Without a page secret, or with a wrong token, or from another origin: no bridge.
    assert.equal((await connect(['vd-bridge', 'token.launch-token-1234567890'])).answer, undefined);
    assert.equal((await connect(['vd-bridge', 'token.wrong', 'page.first-page-secret-0001'])).opened, false);
    assert.equal(
      (
        await connect(
          ['vd-bridge', 'token.launch-token-1234567890', 'page.first-page-secret-0001'],
          'http://evil.example',
        )
      ).opened,
      false,
    );
  });
});
