/**
 * Call quality from getStats: the E-model (ITU-T G.107) MOS estimate against known
 * points, the warning thresholds of the voice issue, and per-interval loss from the
 * cumulative RTP counters.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  estimateMos,
  mosFromR,
  qualityWarnings,
  rFactor,
  sampleQuality,
} from '../../renderer/src/softphone/quality.ts';

describe('call quality (E-model MOS, warnings, interval loss)', () => {
  it('R and MOS at known points of G.107', () => {
    assert.equal(rFactor(0, 0), 93.2);
    assert.equal(Math.round(mosFromR(93.2) * 100) / 100, 4.41);
    assert.equal(mosFromR(0), 1);
    assert.equal(mosFromR(120), 4.5);
    // R = 50 is "nearly all users dissatisfied": MOS about 2.6.
    assert.equal(Math.round(mosFromR(50) * 10) / 10, 2.6);
    // Delay beyond 177.3 ms costs much more than below it.
    assert.ok(rFactor(100, 0) - rFactor(150, 0) < rFactor(200, 0) - rFactor(250, 0));
  });

  it('a clean loopback call is excellent; the warning thresholds each trigger', () => {
    assert.ok(estimateMos(2, 1, 0) > 4.3);
    assert.deepEqual(qualityWarnings({ rttMs: 20, jitterMs: 5, lossPct: 0, mos: 4.4 }), []);
    assert.deepEqual(qualityWarnings({ rttMs: 401, jitterMs: 30.5, lossPct: 3.2, mos: 3.4 }), [
      'High latency (RTT 401 ms)',
      'High jitter (31 ms)',
      'Packet loss 3.2 %',
      'Poor call quality (MOS 3.4)',
    ]);
    // 5 % loss alone drags the estimate under 3.5.
    assert.ok(estimateMos(50, 5, 5) < 3.9);
    assert.ok(estimateMos(800, 60, 5) < 3.5);
  });

  it('loss is measured per interval, RTT from RTCP or else the candidate pair', () => {
    const first = sampleQuality(
      [
        { type: 'inbound-rtp', kind: 'audio', jitter: 0.004, packetsReceived: 1000, packetsLost: 0 },
        { type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: 0.05 },
      ],
      null,
    );
    assert.equal(first.quality.rttMs, 50);
    assert.equal(first.quality.jitterMs, 4);
    assert.equal(first.quality.lossPct, 0);
    const second = sampleQuality(
      [
        { type: 'inbound-rtp', kind: 'audio', jitter: 0.004, packetsReceived: 1045, packetsLost: 5 },
        { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.08 },
      ],
      first.cursor,
    );
    assert.equal(second.quality.lossPct, 10, '5 lost of 50 expected in this interval');
    assert.equal(second.quality.rttMs, 80, 'from the selected candidate pair');
    assert.ok(second.quality.warnings.includes('Packet loss 10.0 %'));
    // Video and unrelated entries are ignored; nothing known yet -> nulls, no warnings.
    const none = sampleQuality([{ type: 'inbound-rtp', kind: 'video', jitter: 1 }], null);
    assert.deepEqual(none.quality, {
      rttMs: null,
      jitterMs: null,
      lossPct: null,
      mos: null,
      warnings: [],
      relayed: null,
    });
  });

  it('says whether the pair in use goes through a TURN relay (the console shows the media path)', () => {
    const pair = (local: string, remote: string) => [
      { type: 'transport', selectedCandidatePairId: 'CP1' },
      {
        type: 'candidate-pair',
        id: 'CP1',
        localCandidateId: 'L1',
        remoteCandidateId: 'R1',
        state: 'succeeded',
      },
      {
        type: 'candidate-pair',
        id: 'CP2',
        localCandidateId: 'L2',
        remoteCandidateId: 'R1',
        state: 'waiting',
      },
      { type: 'local-candidate', id: 'L1', candidateType: local },
      { type: 'local-candidate', id: 'L2', candidateType: 'relay' },
      { type: 'remote-candidate', id: 'R1', candidateType: remote },
    ];
    assert.equal(sampleQuality(pair('host', 'host'), null).quality.relayed, false);
    assert.equal(sampleQuality(pair('srflx', 'prflx'), null).quality.relayed, false);
    assert.equal(sampleQuality(pair('relay', 'host'), null).quality.relayed, true);
    assert.equal(sampleQuality(pair('host', 'relay'), null).quality.relayed, true);
    // No selected pair yet: unknown, not "direct".
    assert.equal(
      sampleQuality([{ type: 'local-candidate', id: 'L1', candidateType: 'host' }], null).quality.relayed,
      null,
    );
  });
});
