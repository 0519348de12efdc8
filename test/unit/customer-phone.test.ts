/**
 * The customer phone's registration over the in-memory SIP transport (the far end the
 * console's softphone tests use): start() settles whatever becomes of the REGISTER
 * (accepted, refused, answered without a binding, never answered, the link lost, the
 * phone stopped), the phone is never left 'registering', and after a drop it
 * registers again with a fresh REGISTER, also after the server was down for a while.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { IncomingCallGuard } from '../../customer/sdk/call-guard.ts';
import { CustomerPhone, type PhoneRegistration } from '../../customer/sdk/customer-phone.ts';
import type { SipCredentials } from '../../protocol/src/sip.ts';
import { fakeMediaFactory, MemoryNetwork } from '../support/sip-memory.ts';

const CREDS: SipCredentials = {
  username: '1999999999:d-dev_bob_1',
  password: 'secret',
  user: 'd-dev_bob_1',
  domain: 'verified-desk.local',
  aor: 'sip:d-dev_bob_1@verified-desk.local',
  wsUrl: 'ws://memory.invalid/sip',
  expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  ice: { servers: [], transportPolicy: 'all', expiresAt: null },
};

/** A phone on its own in-memory network, stopped when the test ends. */
function setup(t: TestContext) {
  const net = new MemoryNetwork();
  const states: PhoneRegistration[] = [];
  const phone = new CustomerPhone({
    credentials: () => Promise.resolve(CREDS),
    guard: {} as IncomingCallGuard,
    audio: { srcObject: null, play: () => Promise.resolve() } as unknown as HTMLAudioElement,
    transportConstructor: net.transportClass() as never,
    sessionDescriptionHandlerFactory: fakeMediaFactory().factory,
    reconnectBackoff: { initialMs: 5, maxMs: 20 },
  });
  phone.on('registration', (s) => states.push(s));
  t.after(() => phone.stop());
  return { net, far: net.far, phone, states };
}

/** Resolves when the phone's registration state becomes `state` (at once if it is). */
function reaches(phone: CustomerPhone, state: PhoneRegistration): Promise<void> {
  return new Promise((resolve) => {
    if (phone.state === state) return resolve();
    const off = phone.on('registration', (s) => {
      if (s !== state) return;
      off();
      resolve();
    });
  });
}

/** Resolves when the network has seen `n` connection attempts in all. */
function connectAttempts(net: MemoryNetwork, n: number): Promise<void> {
  return new Promise((resolve) => {
    let count = net.connects;
    Object.defineProperty(net, 'connects', {
      configurable: true,
      get: () => count,
      set: (v: number) => {
        count = v;
        if (count >= n) resolve();
      },
    });
  });
}

/** Resolves when the far end receives the next `method` request. */
function farReceives(far: MemoryNetwork['far'], method: string): Promise<void> {
  return new Promise((resolve) => {
    const handle = far.handle.bind(far);
    far.handle = (text: string) => {
      handle(text);
      if (text.startsWith(`${method} `)) {
        far.handle = handle;
        resolve();
      }
    };
  });
}

const lastRegister = (far: MemoryNetwork['far']) =>
  far.received.filter((r) => r.method === 'REGISTER').at(-1)!;

/** Each case ends well within this; a start() that never settles fails here instead of hanging the run. */
const BOUND = { timeout: 5_000 };

describe('customer phone registration over an in-memory SIP transport', () => {
  // Every sip.js promise is handled: none may reach unhandledRejection.
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, []);
  });

  it('registers with the ephemeral credentials, and stop() unregisters', BOUND, async (t) => {
    const { far, phone, states } = setup(t);
    await phone.start();
    assert.equal(phone.state, 'registered');
    assert.equal(phone.user, 'd-dev_bob_1');
    assert.match(lastRegister(far).getHeader('contact') ?? '', /expires=300/);
    await phone.stop();
    assert.match(lastRegister(far).getHeader('contact') ?? '', /expires=0/);
    assert.deepEqual(states, ['registering', 'registered', 'unregistered']);
  });

  it('a refused REGISTER: start() rejects with the status and the phone says failed', BOUND, async (t) => {
    const { far, phone } = setup(t);
    far.rejectRegister = 403;
    await assert.rejects(phone.start(), /REGISTER refused: 403/);
    assert.equal(phone.state, 'failed');
  });

  it(
    'a REGISTER answered without a binding: start() rejects, the phone is not left registering',
    BOUND,
    async (t) => {
      const { far, phone } = setup(t);
      far.registerAnswer = 'no-binding';
      await assert.rejects(phone.start(), /REGISTER not accepted/);
      assert.equal(phone.state, 'failed');
    },
  );

  it(
    'stop() while the REGISTER is unanswered: start() settles at once, the phone is unregistered',
    BOUND,
    async (t) => {
      const { far, phone } = setup(t);
      far.registerAnswer = 'silent';
      const sent = farReceives(far, 'REGISTER');
      const starting = phone.start();
      await sent;
      await phone.stop();
      await assert.rejects(starting, /stopped/);
      assert.equal(phone.state, 'unregistered');
    },
  );

  it(
    'the link drops while the REGISTER is unanswered: start() settles, the phone is not left registering',
    BOUND,
    async (t) => {
      const { net, far, phone } = setup(t);
      far.registerAnswer = 'silent';
      const sent = farReceives(far, 'REGISTER');
      const starting = phone.start();
      await sent;
      net.drop();
      await assert.rejects(starting, /lost/);
      assert.equal(phone.state, 'failed');
    },
  );

  it(
    'after a drop it registers again with a fresh REGISTER, also after the server was down for a while',
    BOUND,
    async (t) => {
      const { net, far, phone, states } = setup(t);
      await phone.start();
      for (let i = 1; i <= 10; i++) {
        const registers = far.count('REGISTER');
        net.drop();
        assert.equal(phone.state, 'registering');
        await reaches(phone, 'registered');
        assert.equal(far.count('REGISTER'), registers + 1, `one fresh REGISTER after drop ${i}`);
      }
      net.down = true;
      const refused = connectAttempts(net, net.connects + 3);
      net.drop();
      await refused;
      assert.equal(phone.state, 'registering', 'retrying with backoff while the server is down');
      net.down = false;
      await reaches(phone, 'registered');
      assert.deepEqual(states.slice(0, 4), ['registering', 'registered', 'registering', 'registered']);
      assert.ok(!states.includes('failed'), 'a drop is not a failure');
    },
  );
});
