import assert from 'node:assert/strict';
import { createHmac, randomBytes, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DEVICE_PROOF_TYP, signedMessages } from '../../protocol/src/index.ts';
import { sha256b64url } from '../../authority/src/ids.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, FAKE_PNG, TestDevice } from '../support/device.ts';
import { api, routePath } from '../support/http.ts';

describe('device enrolment and authentication (real HTTP, real SQLite)', () => {
  let a: TestAuthority;
  before(async () => {
    a = await startTestAuthority();
  });
  after(() => a.dispose());

  it('enrols with a one-time code; the device id is the RFC 7638 thumbprint; the code cannot be reused', async () => {
    const d = new TestDevice(a.url);
    const r = await d.enrol('ALICE-DEMO-2026');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.customerName, 'Alice Martin');
    assert.match(r.body.deviceId, /^[A-Za-z0-9_-]{43}$/);
    const { calculateJwkThumbprint } = await import('jose');
    assert.equal(r.body.deviceId, await calculateJwkThumbprint(d.publicJwk, 'sha256'));
    const again = await new TestDevice(a.url).enrol('ALICE-DEMO-2026');
    assert.equal(again.status, 401);
    assert.equal(again.body.code, 'unauthorized');
    assert.match(again.body.message, /enrolment code/);
  });

  it('refuses enrolment signed by a key other than the one presented', async () => {
    const d = new TestDevice(a.url);
    const other = new TestDevice(a.url);
    const ch = await api(a.url, 'challenge', { json: { purpose: 'enrol' } });
    const r = await api(a.url, 'enrol', {
      json: {
        code: 'BOB-DEMO-2026',
        publicKey: d.publicJwk,
        challengeId: ch.body.challengeId,
        signature: other.signMessage(
          signedMessages.enrolment(ch.body.challengeId, ch.body.nonce, 'BOB-DEMO-2026'),
        ),
      },
    });
    assert.equal(r.status, 401);
    // The code was not consumed by the failed attempt.
    assert.equal((await d.enrol('BOB-DEMO-2026')).status, 201);
  });

  it('authenticates by signing a single-use challenge: a replayed challenge signature is refused', async () => {
    const d = await new TestDevice(a.url).enrolAndAuthenticate('CHEN-DEMO-2026');
    assert.equal(d.authentication.level, 1);
    assert.deepEqual(
      d.authentication.factors.map((f: any) => f.kind),
      ['device'],
    );
    const ch = await api(a.url, 'challenge', { json: { purpose: 'authenticate', deviceId: d.deviceId } });
    const body = {
      deviceId: d.deviceId,
      challengeId: ch.body.challengeId,
      signature: d.signMessage(signedMessages.authentication(ch.body.challengeId, ch.body.nonce, d.deviceId)),
    };
    assert.equal((await api(a.url, 'authenticate', { json: body })).status, 201);
    const replay = await api(a.url, 'authenticate', { json: body });
    assert.equal(replay.status, 401);
    assert.match(replay.body.message, /challenge/);
  });

  it('every device request needs a fresh proof: missing, replayed, wrong path or wrong key are 401', async () => {
    const admin = await api(a.url, 'login', { json: { username: 'admin', password: 'demo-admin-1' } });
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: { authorization: `Bearer ${admin.body.accessToken}` },
    });
    assert.equal(code.status, 201);
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('deviceMe')).status, 200);
    assert.equal(
      (await api(a.url, 'deviceMe', { headers: { authorization: `Device ${d.token}` } })).status,
      401,
    );
    const h = await d.headers('GET', routePath('deviceMe'));
    assert.equal((await api(a.url, 'deviceMe', { headers: h })).status, 200);
    const replay = await api(a.url, 'deviceMe', { headers: h });
    assert.equal(replay.status, 401);
    assert.match(replay.body.message, /replayed/);
    const wrongPath = await api(a.url, 'deviceMe', {
      headers: { ...h, 'device-proof': await d.proof('GET', '/v1/other') }, // a proof for another path (literal on purpose)
    });
    assert.equal(wrongPath.status, 401);
    const stale = await api(a.url, 'deviceMe', {
      headers: {
        ...h,
        'device-proof': await d.proof('GET', routePath('deviceMe'), {
          iat: Math.floor(Date.now() / 1000) - 600,
        }),
      },
    });
    assert.equal(stale.status, 401);
    const thief = new TestDevice(a.url);
    thief.token = d.token;
    assert.equal((await thief.api('deviceMe')).status, 401);
  });

  it('many requests at once (their proofs verified off the event loop): every good proof passes, every forged one is 401', async () => {
    const admin = await api(a.url, 'login', { json: { username: 'admin', password: 'demo-admin-1' } });
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: { authorization: `Bearer ${admin.body.accessToken}` },
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const thief = new TestDevice(a.url); // its own key, the stolen token
    thief.token = d.token;
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? d : thief).api('deviceMe').then((r) => r.status)),
    );
    assert.deepEqual(
      statuses,
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 200 : 401)),
    );
  });

  it('a proof is refused unless ES256 with the proof typ over the header and payload as sent: none, HS256, wrong or no typ, crit, tampered', async () => {
    const admin = await api(a.url, 'login', { json: { username: 'admin', password: 'demo-admin-1' } });
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: { authorization: `Bearer ${admin.body.accessToken}` },
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const path = routePath('deviceMe');
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = (): Record<string, unknown> => ({
      htm: 'GET',
      htu: path,
      iat: Math.floor(Date.now() / 1000),
      jti: randomBytes(16).toString('base64url'),
      ath: sha256b64url(d.token),
    });
    // Signed with the device's own key: only the header or the bytes make it wrong.
    const es256 = (header: object, payload: object): string => {
      const input = `${b64(header)}.${b64(payload)}`;
      const sig = sign('sha256', Buffer.from(input), { key: d.privateKey, dsaEncoding: 'ieee-p1363' });
      return `${input}.${sig.toString('base64url')}`;
    };
    const good = await d.proof('GET', path);
    const [gh, , gs] = good.split('.') as [string, string, string];
    const hs256Input = `${b64({ alg: 'HS256', typ: DEVICE_PROOF_TYP })}.${b64(claims())}`;
    const bad: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: DEVICE_PROOF_TYP })}.${b64(claims())}.`,
      'alg none, signed': es256({ alg: 'none', typ: DEVICE_PROOF_TYP }, claims()),
      'HS256 keyed with the public JWK': `${hs256Input}.${createHmac('sha256', JSON.stringify(d.publicJwk)).update(hs256Input).digest('base64url')}`,
      'ES384 header': es256({ alg: 'ES384', typ: DEVICE_PROOF_TYP }, claims()),
      'wrong typ': es256({ alg: 'ES256', typ: 'JWT' }, claims()),
      'no typ': es256({ alg: 'ES256' }, claims()),
      'unknown crit': es256({ alg: 'ES256', typ: DEVICE_PROOF_TYP, crit: ['x'], x: 1 }, claims()),
      'tampered payload': `${gh}.${b64(claims())}.${gs}`,
      'two parts': `${gh}.${b64(claims())}`,
      'bad base64url': `${gh}.${b64(claims())}.${gs.slice(0, -2)}+/`,
    };
    for (const [name, proof] of Object.entries(bad)) {
      const r = await api(a.url, 'deviceMe', {
        headers: { authorization: `Device ${d.token}`, 'device-proof': proof },
      });
      assert.equal(r.status, 401, name);
      assert.match(String(r.body.message), /does not verify/, name);
    }
    const ok = es256({ alg: 'ES256', typ: DEVICE_PROOF_TYP }, claims());
    assert.equal(
      (await api(a.url, 'deviceMe', { headers: { authorization: `Device ${d.token}`, 'device-proof': ok } }))
        .status,
      200,
    );
    assert.equal(
      (
        await api(a.url, 'deviceMe', {
          headers: { authorization: `Device ${d.token}`, 'device-proof': good },
        })
      ).status,
      200,
    );
  });
});

describe('PIN, photo and step-up', () => {
  let a: TestAuthority;
  before(async () => {
    a = await startTestAuthority();
  });
  after(() => a.dispose());

  it('sets a PIN, steps up to level 2 with it, and the factor list keeps each time and device', async () => {
    const d = await new TestDevice(a.url).enrolAndAuthenticate('ALICE-DEMO-2026');
    assert.equal((await d.api('setPin', { json: { pin: '482913' } })).status, 200);
    const wrong = await d.api('pinFactor', { json: { pin: '000000' } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.message, /wrong PIN \(9 attempts left\)/);
    const ok = await d.api('pinFactor', { json: { pin: '482913' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.level, 2);
    assert.deepEqual(
      ok.body.factors.map((f: any) => [f.kind, f.deviceId]),
      [
        ['device', d.deviceId],
        ['pin', d.deviceId],
      ],
    );
    // The expiry is that of the authentication, not moved by the step-up.
    assert.equal(ok.body.expiresAt, d.authentication.expiresAt);
    // A second PIN set needs level 2: this authentication has it.
    assert.equal((await d.api('setPin', { json: { pin: '111222' } })).status, 200);
  });

  it('a PIN cannot be overwritten from a later level-1 authentication (the device key alone)', async () => {
    const d = await new TestDevice(a.url).enrolAndAuthenticate('BOB-DEMO-2026');
    assert.equal((await d.api('setPin', { json: { pin: '730291' } })).status, 200);
    assert.equal((await d.authenticate()).status, 201);
    const r = await d.api('setPin', { json: { pin: '583017' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'factor_setup_not_allowed');
  });

  it('accepts JPEG and PNG photos, checks the bytes are what the type says, limits size, links the photo to the authentication', async () => {
    const d = await new TestDevice(a.url).enrolAndAuthenticate('CHEN-DEMO-2026');
    const enrol = await d.api('photo', {
      query: { purpose: 'enrolment' },
      raw: FAKE_JPEG,
      contentType: 'image/jpeg',
    });
    assert.equal(enrol.status, 201, JSON.stringify(enrol.body));
    assert.equal(enrol.body.pendingComparison, false);
    const verify = await d.api('photo', {
      query: { purpose: 'verification' },
      raw: FAKE_PNG,
      contentType: 'image/png',
    });
    assert.equal(verify.status, 201);
    // Linked to the authentication, waiting for the agent's comparison: no level by itself.
    assert.equal(verify.body.pendingComparison, true);
    assert.equal(verify.body.authentication.level, 1);
    const [row] = await a.sql<{ authentication_id: string }>`
      SELECT authentication_id FROM photos WHERE id = ${verify.body.photoId}`;
    assert.equal(row?.authentication_id, d.authentication.authenticationId);
    const lying = await d.api('photo', {
      query: { purpose: 'verification' },
      raw: FAKE_PNG,
      contentType: 'image/jpeg',
    });
    assert.equal(lying.status, 400);
    assert.match(lying.body.message, /not a image\/jpeg/);
    const gif = await d.api('photo', {
      query: { purpose: 'verification' },
      raw: Buffer.from('GIF89a' + 'x'.repeat(100)),
      contentType: 'image/gif',
    });
    assert.equal(gif.status, 415);
    const huge = await d.api('photo', {
      query: { purpose: 'verification' },
      raw: Buffer.concat([FAKE_JPEG, Buffer.alloc(2 * 1024 * 1024)]),
      contentType: 'image/jpeg',
    });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.code, 'payload_too_large');
    const me = await d.api('deviceMe');
    assert.equal(me.body.enrolled.photo, true);
  });
});
