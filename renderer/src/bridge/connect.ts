import type { AgentDeskBridge } from '../../../protocol/src/bridge.ts';
import { toBridgeCallError, type ConsoleBridge, type LinkState } from './types.ts';
import { takeLaunchToken, WsBridge } from './ws-bridge.ts';

/** Electron's preload bridge: IPC does not drop, so the link is always open. */
function fromPreload(bridge: AgentDeskBridge): ConsoleBridge {
  return {
    mode: bridge.mode,
    link: 'open' satisfies LinkState,
    invoke: (channel, args) =>
      bridge.invoke(channel, args).catch((e: unknown) => {
        throw toBridgeCallError(e);
      }),
    on: (event, listener) => bridge.on(event, listener),
    onLink: () => () => undefined,
  };
}

/** The bridge for this page: the preload's window.agentDesk in Electron, else browser mode's WebSocket. */
export function connectBridge(win: Window & { agentDesk?: AgentDeskBridge }): ConsoleBridge {
  if (win.agentDesk) return fromPreload(win.agentDesk);
  const env = {
    location: win.location,
    history: win.history,
    storage: win.sessionStorage,
    createSocket: (url: string, protocols: string[]) => new WebSocket(url, protocols),
    setTimeout: (fn: () => void, ms: number) => win.setTimeout(fn, ms),
    clearTimeout: (id: number) => win.clearTimeout(id),
  };
  const bridge = new WsBridge(env, takeLaunchToken(env));
  win.agentDesk = bridge;
  return bridge;
}
