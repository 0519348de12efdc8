/**
 * Issue 15, defect 3: "You can leave the app: we will call this phone" is kept.
 * The authority tracks whether a customer's device is reachable (a WebSocket of it is
 * open, or its SIP registration is live) and when it was last seen; the offer, the
 * queue and the board show it; routing offers reachable customers before offline ones
 * of the same priority; accepting an offline customer's request wakes the device with
 * Web Push (VAPID, RFC 8030/8291) - here to a push service on 127.0.0.1 that decrypts
 * the aes128gcm payload with the subscription keys made in the test - or through the
 * push webhook for native tokens.
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import { TestSocket } from '../support/ws.ts';
import { b64u, decryptWebPush, localServer } from '../support/push-service.ts';

describe('device reachability: shown, used for routing, and the device woken by push', () => {
  let a: TestAuthority;
  let admin: string;
  let pushService: Awaited<ReturnType<typeof localServer>>;
  let webhook: Awaited<ReturnType<typeof localServer>>;
  const sockets: TestSocket[] = [];

  before(async () => {
    pushService = await localServer(201);
    webhook = await localServer(200);
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      pushAllowLoopbackHttp: true,
      pushWebhookUrl: `${webhook.url}/push`,
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
    pushService?.server.close();
    webhook?.server.close();
  });

  const device = async (customerId: string) => {
    const code = await api(a.url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '246810' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
    return d;
  };
  /** The customer app open: its socket to the authority says hello. */
  const openApp = async (d: TestDevice) => {
    const ws = await TestSocket.open(a.url);
    sockets.push(ws);
    ws.send(await d.wsHello());
    assert.equal((await ws.next()).type, 'welcome');
    return ws;
  };
  const queue = async (d: TestDevice) => {
    const r = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
    return r.body.request as { requestId: string; priority: number };
  };
  const available = async (username: string, password: string) => {
    const s = await staffLogin(a.url, username, password);
    const r = await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return s.token;
  };
  const offline = async (token: string) =>
    api(a.url, 'setPresence', { headers: bearer(token), json: { state: 'offline' } });

  it('Chen queues and closes the app: the offer says "offline, last seen"; accept wakes the phone by Web Push', async () => {
    const chen = await device('c_chen_wei_00003');
    // The customer app subscribes to push with keys of its own (here: made in the test).
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const authSecret = randomBytes(16);
    const cfg = await chen.api('pushConfig');
    assert.equal(cfg.status, 200, JSON.stringify(cfg.body));
    assert.equal(cfg.body.subscribed, false);
    const sub = await chen.api('putPushSubscription', {
      json: {
        kind: 'webpush',
        endpoint: `${pushService.url}/push/chen-1`,
        keys: { p256dh: b64u(ua.getPublicKey()), auth: b64u(authSecret) },
      },
    });
    assert.equal(sub.status, 200, JSON.stringify(sub.body));

    const ws = await openApp(chen);
    const req = await queue(chen);
    const online = await api(a.url, 'board', { headers: bearer(admin) });
    const row = online.body.requests.find((r: any) => r.requestId === req.requestId);
    assert.equal(row.reachability.online, true, JSON.stringify(row));
    ws.close();
    await ws.closed;
    const board = await until('the board shows Chen offline', async () => {
      const b = await api(a.url, 'board', { headers: bearer(admin) });
      const r = b.body.requests.find((x: any) => x.requestId === req.requestId);
      return r?.reachability?.online === false ? r : undefined;
    });
    assert.equal(board.reachability.wakeable, true);
    assert.ok(board.reachability.lastSeenAt, 'last seen is kept');

    const agent = await available('agent1', 'demo-agent-1');
    const me = await api(a.url, 'agentMe', { headers: bearer(agent) });
    assert.equal(me.body.offer?.requestId, req.requestId, JSON.stringify(me.body));
    assert.equal(me.body.offer.request.reachability.online, false);
    assert.equal(me.body.offer.request.reachability.lastSeenAt, board.reachability.lastSeenAt);

    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId: req.requestId },
      headers: bearer(agent),
      json: { fence: me.body.offer.fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    assert.ok(acc.body.reachability.wokenAt, 'the console can say "Waking Chen\'s phone…"');

    const push = await until('the push service receives the wake-up', () => pushService.received[0]);
    assert.equal(push.url, '/push/chen-1');
    assert.equal(push.headers['content-encoding'], 'aes128gcm');
    assert.match(
      String(push.headers['authorization']),
      new RegExp(`^vapid t=[^,]+, k=${cfg.body.vapidPublicKey}$`),
    );
    const jwt = JSON.parse(
      Buffer.from(
        String(push.headers['authorization']).split('t=')[1]!.split('.')[1]!,
        'base64url',
      ).toString(),
    );
    assert.equal(jwt.aud, pushService.url, 'VAPID audience is the push service origin');
    const payload = JSON.parse(decryptWebPush(push.body, ua, authSecret));
    assert.equal(payload.type, 'wake');
    assert.equal(payload.title, 'Northwind Bank is ready to call you');
    assert.equal(payload.requestId, req.requestId);
    const audit = await until('the wake-up is audited', async () => {
      const rows = await a.sql<{ outcome: string }>`
        SELECT outcome FROM audit_log WHERE action = 'device.push.wake'`;
      return rows.length ? rows : undefined;
    });
    assert.deepEqual(
      audit.map((x) => x.outcome),
      ['success'],
    );
    // Reopening the app: the device is online again, the request still assigned to the agent.
    await openApp(chen);
    const back = await until('Chen back online', async () => {
      const r = await api(a.url, 'agentMe', { headers: bearer(agent) });
      const b = await api(a.url, 'board', { headers: bearer(admin) });
      const row = b.body.requests.find((x: any) => x.requestId === req.requestId);
      return row?.reachability?.online ? { r, row } : undefined;
    });
    assert.equal(back.row.state, 'assigned');
    assert.equal(
      back.r.body.currentRequestId,
      req.requestId,
      'the agent still holds it: "Call customer" reaches the phone',
    );
  });

  it('routing prefers reachable customers: an offline request of the same priority waits for the reachable one', async () => {
    const first = await device('c_chen_wei_00003');
    const second = await device('c_chen_wei_00003');
    const w1 = await openApp(first);
    const r1 = await queue(first);
    w1.close();
    await w1.closed;
    await until('first offline', () => (a.services.reach.online(first.deviceId) ? undefined : true));
    await openApp(second);
    const r2 = await queue(second);
    assert.equal(r1.priority, r2.priority, 'same priority');
    const agent = await available('supervisor', 'demo-supervisor');
    const me = await api(a.url, 'agentMe', { headers: bearer(agent) });
    assert.equal(me.body.offer?.requestId, r2.requestId, 'the reachable customer is offered first');
    const reject = await api(a.url, 'rejectOffer', {
      params: { requestId: r2.requestId },
      headers: bearer(agent),
      json: { fence: me.body.offer.fence },
    });
    assert.equal(reject.status, 200, JSON.stringify(reject.body));
    for (const id of [r1.requestId, r2.requestId]) await a.services.pipeline.abandon(id, 'test');
    await offline(agent);
  });

  it('a higher priority still comes first: an offline request is never put behind a lower priority', async () => {
    const chen = await device('c_chen_wei_00003');
    const w = await openApp(chen);
    const high = await queue(chen);
    w.close();
    await w.closed;
    await until('Chen offline', () => (a.services.reach.online(chen.deviceId) ? undefined : true));
    const alice = await device('c_alice_martin_01');
    await openApp(alice);
    const low = await queue(alice);
    assert.ok(high.priority > low.priority, `priorities ${high.priority} > ${low.priority}`);
    const agent = await available('supervisor', 'demo-supervisor');
    const me = await api(a.url, 'agentMe', { headers: bearer(agent) });
    assert.equal(me.body.offer?.requestId, high.requestId, 'the higher priority is offered though offline');
    assert.equal(me.body.offer.request.reachability.online, false);
    for (const id of [high.requestId, low.requestId]) await a.services.pipeline.abandon(id, 'test');
    await offline(agent);
  });

  it('a native app registers its own push token (SDK push hook): the authority calls the push webhook', async () => {
    const d = await device('c_bob_okafor_002');
    assert.deepEqual((await d.api('pushConfig')).body.kinds, ['webpush', 'fcm', 'apns']);
    const sub = await d.api('putPushSubscription', { json: { kind: 'fcm', token: 'fcm-token-0123456789' } });
    assert.equal(sub.status, 200, JSON.stringify(sub.body));
    const req = await queue(d); // never opened the app: offline, never seen
    const agent = await available('supervisor', 'demo-supervisor');
    const me = await api(a.url, 'agentMe', { headers: bearer(agent) });
    assert.equal(me.body.offer?.requestId, req.requestId);
    assert.deepEqual(me.body.offer.request.reachability, {
      online: false,
      lastSeenAt: null,
      wakeable: true,
      wokenAt: null,
    });
    await api(a.url, 'acceptOffer', {
      params: { requestId: req.requestId },
      headers: bearer(agent),
      json: { fence: me.body.offer.fence },
    });
    const hook = await until('the webhook is called', () => webhook.received[0]);
    const body = JSON.parse(hook.body.toString());
    assert.equal(body.kind, 'fcm');
    assert.equal(body.token, 'fcm-token-0123456789');
    assert.equal(body.deviceId, d.deviceId);
    assert.equal(body.payload.title, 'Northwind Bank is ready to call you');
  });

  it('a booked slot after the verification expires says so: the request carries verificationExpiresAt', async () => {
    const d = await device('c_alice_martin_01');
    const req = await queue(d);
    const auth = (await d.api('deviceMe')).body.authentication;
    // A free slot that ends after the verification expires: today, tomorrow or the day
    // after. Slots end within the service session, so just after midnight UTC only today's
    // are bookable; just before it tomorrow's first ones may still fall within the verification.
    let slot: { start: string; end: string } | undefined;
    for (const days of [0, 1, 2]) {
      const day = new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
      const slots = await d.api('callbackSlots', { params: { requestId: req.requestId }, query: { day } });
      assert.equal(slots.status, 200, JSON.stringify(slots.body));
      slot = slots.body.slots.find((x: any) => x.free > 0 && Date.parse(x.end) > Date.parse(auth.expiresAt));
      if (slot) break;
    }
    assert.ok(slot, 'a free slot after the verification expires, today, tomorrow or the day after');
    const booked = await d.api('setCallback', {
      params: { requestId: req.requestId },
      json: { mode: 'slot', slotStart: slot.start },
    });
    assert.equal(booked.status, 200, JSON.stringify(booked.body));
    assert.equal(booked.body.state, 'scheduled');
    assert.equal(booked.body.verificationExpiresAt, auth.expiresAt);
    assert.ok(
      Date.parse(booked.body.verificationExpiresAt) < Date.parse(booked.body.callback.slotEnd),
      'the app and the offer warn: the verification expires before the slot ends',
    );
    await a.services.pipeline.abandon(req.requestId, 'test');
  });

  it('bad subscriptions get a clear 400: a plain-http endpoint off this machine', async () => {
    const d = await device('c_alice_martin_01');
    const r = await d.api('putPushSubscription', {
      json: {
        kind: 'webpush',
        endpoint: 'http://push.example.com/x',
        keys: { p256dh: b64u(randomBytes(65)), auth: b64u(randomBytes(16)) },
      },
    });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /https/);
  });
});
