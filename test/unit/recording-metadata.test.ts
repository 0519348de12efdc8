/**
 * Which party's media arrives on which of rtpengine's ports, read from its recording
 * metadata: a call from the phone network (the customer called) where the agent then holds
 * and resumes (re-INVITEs offered towards the carrier) keeps the customer on channel 0 and
 * the agent on channel 1. The blocks are those rtpengine 10.5 wrote for such a call
 * (SDP bodies shortened).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMetadata, type CallSdp } from '../../authority/src/media/pcap-audio.ts';

const block = (label: string | null, mode: string, port: number, proto: string, direction: string) =>
  [
    ...(label ? [`Label: ${label}`] : []),
    'Timestamp started ms: 1796501616257.343',
    `SDP mode: ${mode}`,
    'SDP before RTP packet: 1',
    '',
    'v=0',
    'o=- 494009626 616294890 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} ${proto} 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    `a=${direction}`,
    '',
    '',
  ].join('\n');

/** The carrier's INVITE put through to the console, then the agent's hold and resume. */
const phoneCall = (labelled: boolean) =>
  [
    '/tmp/rtpengine/recordings/pcaps/2cf2c827913e97dc-6adbefaf8d025a28.pcap',
    '',
    '',
    // The customer's offer, rewritten for the console: the agent sends to 23200.
    block(labelled ? 'customer' : null, 'offer', 23200, 'RTP/SAVPF', 'sendrecv'),
    // The console's answer, rewritten for the carrier: the customer sends to 23216.
    block(labelled ? 'agent' : null, 'answer', 23216, 'RTP/AVP', 'sendrecv'),
    // The agent's hold, offered to the carrier (the customer still sends to 23216) ...
    block(labelled ? 'agent' : null, 'offer', 23216, 'RTP/AVP', 'sendonly'),
    block(labelled ? 'customer' : null, 'answer', 23200, 'RTP/SAVPF', 'recvonly'),
    // ... and the resume.
    block(labelled ? 'agent' : null, 'offer', 23216, 'RTP/AVP', 'sendrecv'),
    block(labelled ? 'customer' : null, 'answer', 23200, 'RTP/SAVPF', 'sendrecv'),
  ].join('');

const fresh = (): CallSdp => ({ codecs: new Map(), channelOfPort: new Map() });

describe('recording metadata: which party sends to which port', () => {
  it('a phone call held and resumed by the agent keeps the customer on channel 0 and the agent on 1', () => {
    const sdp = parseMetadata(phoneCall(true), fresh(), ['customer', 'agent']);
    assert.deepEqual([...sdp.channelOfPort].sort(), [
      [23200, 1], // the agent's media
      [23216, 0], // the customer's media
    ]);
    assert.equal(sdp.codecs.get(0), 'pcmu');
    assert.equal(sdp.codecs.get(101), 'telephone-event');
  });

  it('a device call (the agent calls, the customer answers) keeps the agent on 0 and the customer on 1', () => {
    const text = [
      'x.pcap\n\n\n',
      block('agent', 'offer', 30000, 'RTP/SAVPF', 'sendrecv'),
      block('customer', 'answer', 30002, 'RTP/SAVPF', 'sendrecv'),
      // The device's own re-INVITE (towards the console).
      block('customer', 'offer', 30002, 'RTP/SAVPF', 'sendonly'),
      block('agent', 'answer', 30000, 'RTP/SAVPF', 'recvonly'),
    ].join('');
    const sdp = parseMetadata(text, fresh(), ['agent', 'customer']);
    assert.deepEqual([...sdp.channelOfPort].sort(), [
      [30000, 1], // the customer sends to the port offered to them
      [30002, 0],
    ]);
  });

  it('without labels: the first offer and answer decide, later re-INVITEs do not swap the parties', () => {
    const sdp = parseMetadata(phoneCall(false), fresh());
    assert.deepEqual([...sdp.channelOfPort].sort(), [
      [23200, 1],
      [23216, 0],
    ]);
  });
});
