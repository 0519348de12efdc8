import type {
  AgentDeskBridge,
  BridgeArgs,
  BridgeChannel,
  BridgeEventName,
  BridgeEventPayload,
  BridgeResult,
} from '../protocol/src/bridge.ts';
import { eventChannel, requestChannel, type BridgeFailure } from './channels.ts';
import { EVENT_NAMES, REQUEST_CHANNELS } from './contract-names.ts';

/** The part of ipcRenderer the bridge uses (typed so tests can pass a fake). */
export interface PreloadIpc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/** The part of contextBridge the preload uses. */
export interface PreloadContextBridge {
  exposeInMainWorld(apiKey: string, api: unknown): void;
}

/** The one global the page gets. */
export const BRIDGE_GLOBAL = 'agentDesk';

/**
 * Rejections are plain `{ code, message }` objects: contextBridge copies an Error
 * with its message only (custom properties such as `code` are lost), a plain
 * object arrives whole.
 */
const failure = (code: string, message: string): BridgeFailure => ({ code, message });

function asFailure(answer: unknown): BridgeFailure {
  if (typeof answer === 'object' && answer !== null && 'error' in answer) {
    const e = (answer as { error: unknown }).error;
    if (typeof e === 'object' && e !== null) {
      const { code, message } = e as { code?: unknown; message?: unknown };
      if (typeof code === 'string' && typeof message === 'string') return failure(code, message);
    }
  }
  return failure('bad_answer', 'main answered something that is not a bridge answer');
}

const channels: ReadonlySet<string> = new Set(REQUEST_CHANNELS);
const events: ReadonlySet<string> = new Set(EVENT_NAMES);
const isKnownChannel = (c: unknown): c is BridgeChannel => typeof c === 'string' && channels.has(c);
const isKnownEvent = (e: unknown): e is BridgeEventName => typeof e === 'string' && events.has(e);

/**
 * window.agentDesk over Electron IPC. invoke() reaches only the channels of the
 * contract, on() only its events; listeners receive the payload alone (never
 * Electron's event object, which carries `sender`) and get an unsubscribe function.
 */
export function createAgentDeskBridge(ipc: PreloadIpc): AgentDeskBridge {
  const bridge: AgentDeskBridge = {
    mode: 'electron',
    invoke: async <C extends BridgeChannel>(channel: C, args: BridgeArgs<C>): Promise<BridgeResult<C>> => {
      if (!isKnownChannel(channel))
        throw failure('unknown_channel', `no bridge channel "${String(channel).slice(0, 64)}"`);
      const answer = await ipc.invoke(requestChannel(channel), args);
      if (typeof answer === 'object' && answer !== null && (answer as { ok?: unknown }).ok === true)
        return (answer as { result: unknown }).result as BridgeResult<C>;
      throw asFailure(answer);
    },
    on: <E extends BridgeEventName>(
      event: E,
      listener: (payload: BridgeEventPayload<E>) => void,
    ): (() => void) => {
      if (!isKnownEvent(event)) throw new TypeError(`no bridge event "${String(event).slice(0, 64)}"`);
      if (typeof listener !== 'function') throw new TypeError('listener must be a function');
      const name = eventChannel(event);
      const forward = (_event: unknown, payload: unknown) => listener(payload as BridgeEventPayload<E>);
      ipc.on(name, forward);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        ipc.removeListener(name, forward);
      };
    },
  };
  return Object.freeze(bridge);
}

/** Expose the bridge, and nothing else, to the page's main world. */
export function exposeAgentDesk(contextBridge: PreloadContextBridge, ipc: PreloadIpc): void {
  contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, createAgentDeskBridge(ipc));
}
