/**
 * browser-common/media-path.ts: a peer connection whose ICE or connection state reaches
 * `failed` is reported once (also when it already failed), `disconnected` is not, and the
 * BYE Reason the console sends is recognised by the customer's phone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isNoMediaPathReason,
  NO_MEDIA_PATH_BYE_REASON,
  watchMediaPath,
} from '../../browser-common/media-path.ts';

class Pc extends EventTarget {
  connectionState: RTCPeerConnectionState = 'new';
  iceConnectionState: RTCIceConnectionState = 'new';
  to(ice: RTCIceConnectionState, conn: RTCPeerConnectionState): void {
    this.iceConnectionState = ice;
    this.dispatchEvent(new Event('iceconnectionstatechange'));
    this.connectionState = conn;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
}

describe('media path watching', () => {
  it('reports failed once, not disconnected; stops when asked', () => {
    const pc = new Pc();
    let failed = 0;
    watchMediaPath(pc, () => failed++);
    pc.to('checking', 'connecting');
    pc.to('connected', 'connected');
    pc.to('disconnected', 'disconnected');
    assert.equal(failed, 0);
    pc.to('failed', 'failed');
    pc.to('failed', 'failed');
    assert.equal(failed, 1);

    const other = new Pc();
    let seen = 0;
    const stop = watchMediaPath(other, () => seen++);
    stop();
    other.to('failed', 'failed');
    assert.equal(seen, 0);
  });

  it('a connection that failed already is reported at once', () => {
    const pc = new Pc();
    pc.iceConnectionState = 'failed';
    let failed = 0;
    watchMediaPath(pc, () => failed++);
    assert.equal(failed, 1);
  });

  it('the BYE Reason is recognised, a transfer’s is not', () => {
    assert.equal(isNoMediaPathReason(NO_MEDIA_PATH_BYE_REASON.replace(/^Reason: /, '')), true);
    assert.equal(isNoMediaPathReason('SIP;cause=200;text="transferred"'), false);
    assert.equal(isNoMediaPathReason(null), false);
  });
});
