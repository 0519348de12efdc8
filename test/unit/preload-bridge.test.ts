/**
 * preload/: window.agentDesk is the only thing the page gets; invoke() reaches
 * only contract channels, on() only contract events, listeners never see
 * Electron's event object and get an unsubscribe function. The last test wires
 * the preload to the shell's real IPC handlers (fake Electron in between).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bridgeEvents, bridgeRequests, type AgentDeskBridge } from '../../protocol/src/bridge.ts';
import { eventChannel, requestChannel } from '../../preload/channels.ts';
import { EVENT_NAMES, REQUEST_CHANNELS } from '../../preload/contract-names.ts';
import {
  BRIDGE_GLOBAL,
  createAgentDeskBridge,
  exposeAgentDesk,
  type PreloadIpc,
} from '../../preload/bridge.ts';
import { APP_ORIGIN } from '../../main/shell/app-origin.ts';
import { ipcEventFrom } from '../support/fake-electron.ts';
import { startShellHarness, type ShellHarness } from '../support/shell-harness.ts';

type IpcListener = (event: unknown, ...args: unknown[]) => void;

/** A fake ipcRenderer: records invokes and lets the test deliver events with a sender-bearing event object. */
function fakeIpcRenderer(
  answer: (channel: string, args: unknown[]) => unknown = () => ({ ok: true, result: null }),
) {
  const listeners = new Map<string, IpcListener[]>();
  const invoked: { channel: string; args: unknown[] }[] = [];
  const ipc: PreloadIpc = {
    invoke: async (channel, ...args) => {
      invoked.push({ channel, args });
      return answer(channel, args);
    },
    on: (channel, listener) => listeners.set(channel, [...(listeners.get(channel) ?? []), listener]),
    removeListener: (channel, listener) =>
      listeners.set(
        channel,
        (listeners.get(channel) ?? []).filter((l) => l !== listener),
      ),
  };
  const deliver = (channel: string, ...args: unknown[]) => {
    const rawEvent = { sender: { send: () => undefined }, senderId: 0, ports: [] };
    for (const l of listeners.get(channel) ?? []) l(rawEvent, ...args);
  };
  const count = (channel: string) => listeners.get(channel)?.length ?? 0;
  return { ipc, invoked, deliver, count };
}

describe('preload: window.agentDesk', () => {
  it('exposes exactly one global, agentDesk, with invoke, on and mode', () => {
    const exposed: [string, unknown][] = [];
    exposeAgentDesk({ exposeInMainWorld: (k, api) => void exposed.push([k, api]) }, fakeIpcRenderer().ipc);
    assert.equal(exposed.length, 1);
    const [key, api] = exposed[0]!;
    assert.equal(key, BRIDGE_GLOBAL);
    assert.equal(key, 'agentDesk');
    assert.deepEqual(Object.keys(api as object).sort(), ['invoke', 'mode', 'on']);
    assert.equal((api as AgentDeskBridge).mode, 'electron');
    assert.ok(Object.isFrozen(api));
    for (const v of Object.values(api as object)) assert.ok(typeof v === 'function' || v === 'electron');
  });

  it('the preload knows exactly the contract names', () => {
    assert.deepEqual([...REQUEST_CHANNELS], Object.keys(bridgeRequests));
    assert.deepEqual([...EVENT_NAMES], Object.keys(bridgeEvents));
  });

  it('invoke: contract channels only, on the prefixed IPC name; answers unwrapped', async () => {
    const f = fakeIpcRenderer((channel) =>
      channel === requestChannel('settings.get')
        ? { ok: true, result: { authorityUrl: 'http://x' } }
        : { ok: false, error: { code: 'forbidden', message: 'no' } },
    );
    const bridge = createAgentDeskBridge(f.ipc);
    assert.deepEqual(await bridge.invoke('settings.get', {}), { authorityUrl: 'http://x' });
    assert.deepEqual(f.invoked, [{ channel: 'agentDesk:invoke:settings.get', args: [{}] }]);
    await assert.rejects(bridge.invoke('agent.me', {}), (e: unknown) => {
      assert.deepEqual(e, { code: 'forbidden', message: 'no' });
      return true;
    });
    for (const bad of [
      'fs.readFile',
      '__proto__',
      'constructor',
      'toString',
      '',
      'agentDesk:invoke:settings.get',
    ]) {
      await assert.rejects(
        (bridge.invoke as (c: string, a: unknown) => Promise<unknown>)(bad, {}),
        (e: unknown) => (e as { code: string }).code === 'unknown_channel',
        bad,
      );
    }
    assert.equal(f.invoked.length, 2, 'unknown channels never reach IPC');
  });

  it('a malformed answer from main is an error, not a result', async () => {
    for (const answer of [undefined, null, 'ok', { ok: 'true', result: 1 }, { ok: false }, { error: 5 }]) {
      const bridge = createAgentDeskBridge(fakeIpcRenderer(() => answer).ipc);
      await assert.rejects(
        bridge.invoke('settings.get', {}),
        (e: unknown) => (e as { code: string }).code === 'bad_answer',
      );
    }
  });

  it('on: listeners get the payload only (never the IPC event) and an unsubscribe function', () => {
    const f = fakeIpcRenderer();
    const bridge = createAgentDeskBridge(f.ipc);
    const calls: unknown[][] = [];
    const off = bridge.on('dial', (...args: unknown[]) => void calls.push(args));
    assert.equal(typeof off, 'function');
    f.deliver(eventChannel('dial'), { uri: 'tel:+15555550100' }, 'extra-arg');
    f.deliver(eventChannel('offer'), { requestId: 'x' });
    assert.deepEqual(calls, [[{ uri: 'tel:+15555550100' }]]);
    off();
    off();
    assert.equal(f.count(eventChannel('dial')), 0);
    f.deliver(eventChannel('dial'), { uri: 'tel:1' });
    assert.equal(calls.length, 1);
  });

  it('on: unknown events and non-function listeners are refused', () => {
    const f = fakeIpcRenderer();
    const bridge = createAgentDeskBridge(f.ipc);
    const on = bridge.on as (e: string, l: unknown) => () => void;
    for (const bad of ['ipc-message', '__proto__', 'agentDesk:event:dial', ''])
      assert.throws(() => on(bad, () => 1), TypeError, bad);
    assert.throws(() => on('dial', 'not a function'), TypeError);
    assert.equal(
      [...EVENT_NAMES].reduce((n, e) => n + f.count(eventChannel(e)), 0),
      0,
    );
  });
});

describe('preload <-> shell over the fake IPC', () => {
  let h: ShellHarness;
  let bridge: AgentDeskBridge;
  before(async () => {
    h = await startShellHarness();
    const listeners = new Map<string, IpcListener[]>();
    // What Electron does: invoke reaches ipcMain's handler with the sender's frame; send reaches ipcRenderer.on.
    const ipc: PreloadIpc = {
      invoke: (channel, ...args) => {
        const handler = h.fake.state.ipcHandlers.get(channel);
        if (!handler) return Promise.reject(new Error(`No handler registered for '${channel}'`));
        return handler(ipcEventFrom(h.contents, `${APP_ORIGIN}/index.html`), ...args);
      },
      on: (c, l) => listeners.set(c, [...(listeners.get(c) ?? []), l]),
      removeListener: (c, l) =>
        listeners.set(
          c,
          (listeners.get(c) ?? []).filter((x) => x !== l),
        ),
    };
    bridge = createAgentDeskBridge(ipc);
    const originalSend = h.contents.send.bind(h.contents);
    h.contents.send = (channel: string, ...args: unknown[]) => {
      originalSend(channel, ...args);
      for (const l of listeners.get(channel) ?? []) l({ sender: 'raw' }, ...args);
    };
  });
  after(() => h.dispose());

  it('invoke reaches DeskCore and comes back typed', async () => {
    const settings = await bridge.invoke('settings.get', {});
    assert.equal(settings.managed.authorityUrl, true);
    await assert.rejects(
      bridge.invoke('session.login', { username: 'x', password: '' } as never),
      (e: unknown) => (e as { code: string }).code === 'invalid_argument',
    );
  });

  it('events from DeskCore reach page listeners as payloads', () => {
    const got: unknown[] = [];
    const off = bridge.on('shortcut.accept', (p) => void got.push(p));
    h.shell.core.emitEvent('shortcut.accept', {});
    off();
    h.shell.core.emitEvent('shortcut.accept', {});
    assert.deepEqual(got, [{}]);
  });
});
