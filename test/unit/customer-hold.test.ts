/**
 * The customer's phone reads the agent's hold from the SDP of their re-INVITE (RFC 3264
 * section 8.4): audio sendonly or inactive is a hold, sendrecv (or no direction) a resume;
 * a media-level direction overrides the session-level one. What sip.js sends for
 * `hold: true` (a=sendonly on the audio line) is the first case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHoldOffer } from '../../customer/sdk/customer-phone.ts';

const sdp = (session: string[], audio: string[]) =>
  [
    'v=0',
    'o=- 4611731400430051336 3 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    ...session,
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=rtpmap:111 opus/48000/2',
    ...audio,
    '',
  ].join('\r\n');

describe('isHoldOffer: the agent holds the call when their offer stops sending to the customer', () => {
  it('sendonly or inactive audio is a hold', () => {
    assert.equal(isHoldOffer(sdp([], ['a=sendonly'])), true);
    assert.equal(isHoldOffer(sdp([], ['a=inactive'])), true);
    assert.equal(isHoldOffer(sdp(['a=sendonly'], [])), true, 'session level, nothing on the media line');
  });

  it('sendrecv, recvonly or no direction is not a hold (a resume)', () => {
    assert.equal(isHoldOffer(sdp([], ['a=sendrecv'])), false);
    assert.equal(isHoldOffer(sdp([], [])), false);
    assert.equal(isHoldOffer(sdp([], ['a=recvonly'])), false);
    assert.equal(isHoldOffer(sdp(['a=sendonly'], ['a=sendrecv'])), false, 'the media line wins');
    assert.equal(isHoldOffer(''), false);
    assert.equal(isHoldOffer(undefined), false);
  });

  it('only the audio line counts (a video line after it says nothing about the audio)', () => {
    const s = sdp([], ['a=sendrecv']) + ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=inactive', ''].join('\r\n');
    assert.equal(isHoldOffer(s), false);
  });
});
