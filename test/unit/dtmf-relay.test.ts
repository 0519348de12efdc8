/**
 * The DTMF INFO codec (browser-common/dtmf-relay.ts) the console sends with and the
 * customer phone reads with: every key round-trips, anything that is not exactly one
 * key in an application/dtmf-relay body is refused (the phone answers 415).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DTMF_RELAY_TYPE, formatDtmfRelay, parseDtmfRelay } from '../../browser-common/dtmf-relay.ts';

const KEYS = [...'0123456789*#ABCD'];

describe('application/dtmf-relay codec', () => {
  it('formats one key per body, as the far end expects it on the wire', () => {
    assert.equal(formatDtmfRelay('5'), 'Signal=5\r\nDuration=120\r\n');
    assert.equal(formatDtmfRelay('#', 250), 'Signal=#\r\nDuration=250\r\n');
  });

  it('every key round-trips', () => {
    for (const key of KEYS) assert.equal(parseDtmfRelay(DTMF_RELAY_TYPE, formatDtmfRelay(key)), key);
  });

  it('reads what other senders write: parameters, case, spaces, LF line ends, no Duration', () => {
    assert.equal(parseDtmfRelay('Application/DTMF-Relay; charset=utf-8', 'Signal=7\r\n'), '7');
    assert.equal(parseDtmfRelay(DTMF_RELAY_TYPE, 'signal = b\nDuration=160\n'), 'B');
    assert.equal(parseDtmfRelay(DTMF_RELAY_TYPE, 'Duration=100\r\nSignal=*'), '*');
  });

  it('refuses anything that is not exactly one key in a dtmf-relay body', () => {
    const refused: [string | undefined, string | undefined][] = [
      [undefined, 'Signal=1\r\n'],
      ['application/dtmf', 'Signal=1\r\n'],
      ['text/plain', 'Signal=1\r\n'],
      [DTMF_RELAY_TYPE, undefined],
      [DTMF_RELAY_TYPE, ''],
      [DTMF_RELAY_TYPE, 'Duration=120\r\n'],
      [DTMF_RELAY_TYPE, 'Signal=\r\n'],
      [DTMF_RELAY_TYPE, 'Signal=12\r\n'],
      [DTMF_RELAY_TYPE, 'Signal=E\r\n'],
      [DTMF_RELAY_TYPE, 'Signal=1\r\nSignal=2\r\n'],
      [DTMF_RELAY_TYPE, 'XSignal=1\r\n'],
    ];
    for (const [type, body] of refused)
      assert.equal(parseDtmfRelay(type, body), null, `${type} ${JSON.stringify(body)}`);
  });

  it('will not format what is not a key', () => {
    for (const bad of ['', '12', 'E', 'a', ' 1', '\r\n'])
      assert.throws(() => formatDtmfRelay(bad), RangeError, JSON.stringify(bad));
    assert.throws(() => formatDtmfRelay('1', 0), RangeError);
  });
});
