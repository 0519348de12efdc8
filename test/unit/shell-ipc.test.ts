/**
 * docs/reliability.md row 2: IPC only from our own top-level frame. Every registered
 * channel refuses a foreign-origin and a sub-frame sender; 1,000 generated
 * payloads per channel through the real handlers (and the real DeskCore behind
 * them) give 0 unhandled exceptions: every call is answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { bridgeRequests, type BridgeChannel } from '../../protocol/src/bridge.ts';
import { requestChannel, type BridgeAnswer } from '../../preload/channels.ts';
import { BridgeError } from '../../main/core/desk-core.ts';
import { APP_ORIGIN } from '../../main/shell/app-origin.ts';
import { DEFAULT_EXTERNAL_HOSTS } from '../../main/shell/external-links.ts';
import {
  BRIDGE_CHANNELS,
  createBridgeHandler,
  createSenderCheck,
  registerBridgeIpc,
} from '../../main/shell/ipc-bridge.ts';
import { ipcEventFrom } from '../support/fake-electron.ts';
import { startShellHarness, type ShellHarness } from '../support/shell-harness.ts';

const PAYLOADS_PER_CHANNEL = Number(process.env.VD_IPC_FUZZ_RUNS ?? 1000);

const isAnswer = (a: unknown): a is BridgeAnswer => {
  if (typeof a !== 'object' || a === null) return false;
  const x = a as Record<string, unknown>;
  if (x.ok === true) return 'result' in x;
  if (x.ok !== false || typeof x.error !== 'object' || x.error === null) return false;
  const e = x.error as Record<string, unknown>;
  return typeof e.code === 'string' && typeof e.message === 'string';
};

/** Senders that are not our top-level frame, as (url, parent url) pairs. */
const FOREIGN_FRAMES: [string, string | null][] = [
  ['https://evil.example/', null],
  ['http://127.0.0.1:8790/', null],
  ['file:///home/agent/page.html', null],
  ['app://other/index.html', null],
  ['app://desk.evil/index.html', null],
  ['app://desk@evil/index.html', null],
  ['app://desk:1/index.html', null],
  ['data:text/html,x', null],
  ['about:blank', null],
  ['', null],
];
const SUB_FRAMES: [string, string | null][] = [
  [`${APP_ORIGIN}/index.html`, `${APP_ORIGIN}/index.html`],
  [`${APP_ORIGIN}/frame.html`, 'https://evil.example/'],
  ['https://evil.example/', `${APP_ORIGIN}/index.html`],
];

/** Values a renderer can send through structured clone, biased towards the channel's own keys. */
function payloadFor(channel: BridgeChannel): fc.Arbitrary<unknown> {
  const schema = bridgeRequests[channel].args as unknown as { shape?: Record<string, unknown> };
  const keys = schema.shape ? Object.keys(schema.shape) : ['state', 'reasonCode'];
  const plausible = fc.constantFrom<unknown>(
    'req_0123456789abcdef',
    'agent1',
    'demo-agent-1',
    'available',
    'offline',
    'break',
    'lunch',
    1,
    0,
    -1,
    2 ** 31,
    Number.NaN,
    '',
    'x'.repeat(5000),
    null,
    true,
    [],
    ['resolved'],
    {},
    'https://docs.verifieddesk.io/guide',
    'https://evil.example/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'http://127.0.0.1:9',
    'wss://127.0.0.1:9/sip',
    '__proto__',
  );
  const value = fc.oneof(plausible, fc.string(), fc.integer(), fc.double(), fc.anything());
  const key = fc.oneof(fc.constantFrom(...keys, '__proto__', 'constructor', 'prototype'), fc.string());
  return fc.oneof(
    fc.anything({
      key,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withSparseArray: true,
      withNullPrototype: true,
      withUnicodeString: true,
    }),
    fc.record(Object.fromEntries(keys.map((k) => [k, value])), { requiredKeys: [] }),
    fc.dictionary(key, value),
  );
}

describe('IPC from our own top-level frame only (RELIABILITY row 2)', () => {
  let h: ShellHarness;
  before(async () => {
    h = await startShellHarness();
  });
  after(() => h.dispose());

  it('one handler per bridge channel, generated from the contract, and nothing else', () => {
    assert.deepEqual([...h.fake.state.ipcHandlers.keys()].sort(), BRIDGE_CHANNELS.map(requestChannel).sort());
    assert.equal(BRIDGE_CHANNELS.length, Object.keys(bridgeRequests).length);
  });

  it('every channel refuses foreign-origin, sub-frame, gone and unknown-WebContents senders', async () => {
    let refused = 0;
    const own = h.contents;
    for (const [channel, handler] of h.fake.state.ipcHandlers) {
      const events = [
        ...FOREIGN_FRAMES.map(([u, p]) => ipcEventFrom(own, u, p === null ? null : { url: p })),
        ...SUB_FRAMES.map(([u, p]) => ipcEventFrom(own, u, p === null ? null : { url: p })),
        { sender: own, senderFrame: null },
        ipcEventFrom({ id: own.id + 1000 }, `${APP_ORIGIN}/index.html`),
      ];
      for (const event of events) {
        const answer = await handler(event, {});
        assert.ok(
          isAnswer(answer) && !answer.ok && answer.error.code === 'forbidden',
          `${channel}: ${JSON.stringify(answer)}`,
        );
        refused++;
      }
    }
    console.log(
      `row 2: ${h.fake.state.ipcHandlers.size} channels, ${refused} untrusted calls, ${refused} refused`,
    );
  });

  it('a refused call never reaches DeskCore', async () => {
    const reached: string[] = [];
    const handlers = new Map<string, (event: any, ...args: unknown[]) => Promise<unknown>>();
    registerBridgeIpc(
      { handle: (c, l) => void handlers.set(c, l), removeHandler: (c) => void handlers.delete(c) },
      { invoke: async (c) => void reached.push(c) },
      createSenderCheck(() => new Set([7])),
    );
    for (const handler of handlers.values()) {
      await handler(ipcEventFrom({ id: 7 }, 'https://evil.example/'), {});
      await handler(
        ipcEventFrom({ id: 7 }, `${APP_ORIGIN}/index.html`, { url: `${APP_ORIGIN}/index.html` }),
        {},
      );
      await handler(ipcEventFrom({ id: 8 }, `${APP_ORIGIN}/index.html`), {});
    }
    assert.deepEqual(reached, []);
    await handlers.get(requestChannel('settings.get'))!(
      ipcEventFrom({ id: 7 }, `${APP_ORIGIN}/index.html`),
      {},
    );
    assert.deepEqual(reached, ['settings.get'], 'the trusted frame does reach it');
  });

  it('our own top-level frame gets answers from DeskCore', async () => {
    const handler = h.fake.state.ipcHandlers.get(requestChannel('settings.get'))!;
    const answer = await handler(ipcEventFrom(h.contents, `${APP_ORIGIN}/index.html`), {});
    assert.ok(isAnswer(answer) && answer.ok, JSON.stringify(answer));
    const settings = (answer as { result: { authorityUrl: string; managed: { authorityUrl: boolean } } })
      .result;
    assert.equal(settings.managed.authorityUrl, true);
    const invalid = await h.fake.state.ipcHandlers.get(requestChannel('session.login'))!(
      ipcEventFrom(h.contents, `${APP_ORIGIN}/`),
      { username: 'a' },
    );
    assert.ok(isAnswer(invalid) && !invalid.ok && invalid.error.code === 'invalid_argument');
    const twoArgs = await handler(ipcEventFrom(h.contents, `${APP_ORIGIN}/`), {}, { extra: true });
    assert.ok(isAnswer(twoArgs) && !twoArgs.ok && twoArgs.error.code === 'invalid_argument');
  });

  it('only BridgeError text reaches the page; other failures become "internal"', async () => {
    const handler = createBridgeHandler(
      'settings.get',
      {
        invoke: async () => {
          throw new Error('SQLITE_CORRUPT at /home/agent/.config/secret/path');
        },
      },
      () => true,
    );
    assert.deepEqual(await handler(ipcEventFrom({ id: 1 }, `${APP_ORIGIN}/`), {}), {
      ok: false,
      error: { code: 'internal', message: 'internal error' },
    });
    const known = createBridgeHandler(
      'settings.get',
      {
        invoke: async () => {
          throw new BridgeError('unauthorized', 'log in again');
        },
      },
      () => true,
    );
    assert.deepEqual(await known(ipcEventFrom({ id: 1 }, `${APP_ORIGIN}/`), {}), {
      ok: false,
      error: { code: 'unauthorized', message: 'log in again' },
    });
  });

  it(`${PAYLOADS_PER_CHANNEL} generated payloads per channel: every call answered, 0 unhandled exceptions`, async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    const trusted = ipcEventFrom(h.contents, `${APP_ORIGIN}/index.html`);
    const codes = new Map<string, number>();
    let calls = 0;
    let ok = 0;
    let thrown = 0;
    try {
      for (const channel of BRIDGE_CHANNELS) {
        const handler = h.fake.state.ipcHandlers.get(requestChannel(channel))!;
        const samples = fc.sample(payloadFor(channel), {
          numRuns: PAYLOADS_PER_CHANNEL,
          seed: 20_260_501 + calls,
        });
        for (const payload of samples) {
          calls++;
          let answer: unknown;
          try {
            answer = await handler(trusted, payload);
          } catch (e) {
            thrown++;
            unhandled.push(e);
            continue;
          }
          assert.ok(isAnswer(answer), `${channel}: not an answer: ${String(answer)}`);
          if (answer.ok) ok++;
          else codes.set(answer.error.code, (codes.get(answer.error.code) ?? 0) + 1);
        }
      }
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
    }
    const byCode = [...codes]
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    console.log(
      `row 2 fuzz: ${BRIDGE_CHANNELS.length} channels x ${PAYLOADS_PER_CHANNEL} payloads = ${calls} calls; ` +
        `${ok} results, ${calls - ok - thrown} errors answered (${byCode}); ${thrown} handler throws, ${unhandled.length} unhandled exceptions`,
    );
    assert.equal(thrown, 0);
    assert.deepEqual(unhandled, []);
    assert.equal(calls, BRIDGE_CHANNELS.length * PAYLOADS_PER_CHANNEL);
    for (const url of h.fake.state.openedExternally)
      assert.ok(DEFAULT_EXTERNAL_HOSTS.includes(new URL(url).hostname), `opened ${url}`);
  });
});
