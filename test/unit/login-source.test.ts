import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loginDelayMs, sourceKey } from '../../authority/src/staff/login-throttle.ts';

describe('staff login throttling: sources and delays', () => {
  it('charges IPv4 per address (also IPv4-mapped) and IPv6 per /64', () => {
    assert.equal(sourceKey('203.0.113.7'), '203.0.113.7');
    assert.equal(sourceKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(sourceKey('::FFFF:203.0.113.7'), '203.0.113.7');
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:0DB8:0001:0002:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(sourceKey('::1'), '0:0:0:0::/64');
    assert.equal(sourceKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.notEqual(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'));
  });

  it('5 free failures, then 30 s doubling, then a lock at the 10th', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map(loginDelayMs),
      [0, 0, 0, 0, 30_000, 60_000, 120_000, 240_000, 480_000],
    );
    assert.equal(loginDelayMs(10), Number.MAX_SAFE_INTEGER);
  });
});
