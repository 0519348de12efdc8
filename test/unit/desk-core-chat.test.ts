/**
 * Issue 18 (console, main/core): the renderer's chat frames pass the bridge only when they
 * are ChatClientFrames, and go to the authority only on a live, welcomed connection
 * (`sent: false` otherwise: the renderer's session resends after the reconnect).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BridgeError, DeskCore } from '../../main/core/desk-core.ts';

describe('main/core chat.frame', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vd-console-chat-'));
  const core = new DeskCore({ dataDir, defaultAuthorityUrl: 'http://127.0.0.1:9', managed: {} });
  after(() => {
    core.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const send = {
    type: 'chat.send',
    requestId: 'req_0123456789abcdef',
    clientMsgId: 'msg_0123456789abcdef',
    fence: 2,
    text: '<script>alert(1)</script> is just text',
  };

  it('a valid frame with no authority connection is not sent (sent: false), never thrown away silently', async () => {
    assert.deepEqual(await core.invoke('chat.frame', send), { sent: false });
    assert.deepEqual(
      await core.invoke('chat.frame', { type: 'chat.resume', requestId: send.requestId, after: 0 }),
      { sent: false },
    );
  });

  it('refuses what is not a chat frame before anything is sent', async () => {
    for (const bad of [
      { ...send, text: '   ' },
      { ...send, text: 'x'.repeat(4001) },
      { ...send, extra: 1 },
      { ...send, type: 'hello' },
      { type: 'chat.read', requestId: send.requestId, upTo: 0 },
      { type: 'chat.typing', requestId: 'short', active: true },
    ])
      await assert.rejects(
        core.invoke('chat.frame', bad),
        (e: unknown) => e instanceof BridgeError && e.code === 'invalid_argument',
        JSON.stringify(bad).slice(0, 80),
      );
  });
});
