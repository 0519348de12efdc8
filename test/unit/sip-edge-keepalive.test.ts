import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { SipEdge } from '../../authority/src/sip/edge.ts';

/**
 * A network cut that sends nothing (no FIN, no RST) must still end the connection's
 * calls: the edge pings, and a connection that does not answer by the next ping is
 * closed (which BYEs its dialogs, see test/integration/sip-edge.test.ts).
 */
describe('SIP edge keepalive: a connection that stops answering pings is closed', () => {
  const edge = new SipEdge({
    secret: 's'.repeat(40),
    domain: 'verified-desk.local',
    now: Date.now,
    keepaliveMs: 100,
  });
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'sip' });
  wss.on('connection', (socket) => edge.accept(socket));
  after(async () => {
    edge.close();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it('closes the silent connection; the one that answers stays open', async () => {
    await once(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const answering = new WebSocket(url, 'sip');
    const silent = new WebSocket(url, 'sip', { autoPong: false });
    await Promise.all([once(answering, 'open'), once(silent, 'open')]);
    let pings = 0;
    answering.on('ping', () => pings++);
    await once(silent, 'close');
    assert.ok(pings >= 1, 'the answering connection was pinged meanwhile');
    assert.equal(answering.readyState, WebSocket.OPEN, 'the answering connection is kept');
    answering.close();
  });
});
