import type { AgentDeskBridge } from '../../../protocol/src/bridge.ts';

/** The state of the page's own link to main (always 'open' in Electron, where IPC cannot drop). */
export type LinkState = 'connecting' | 'open' | 'reconnecting' | 'no_token' | 'link_used';

/**
 * window.agentDesk plus what the console needs to know about the link itself:
 * browser mode's WebSocket can drop and come back, and events sent meanwhile are lost,
 * so the stores resynchronise on every reopen.
 */
export interface ConsoleBridge extends AgentDeskBridge {
  readonly link: LinkState;
  onLink(listener: (state: LinkState) => void): () => void;
}

/** A failed bridge call: the code and message from main (or from the link). */
export class BridgeCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeCallError';
  }
}

/** What to show the agent for a failed call: the message main sent, never a stack. */
export function errorText(e: unknown): string {
  if (e instanceof Error && e.message) return e.message;
  const message = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message ? message : 'Something went wrong';
}

/**
 * Any rejection as a BridgeCallError. Electron's preload rejects with plain
 * `{ code, message }` objects (contextBridge would strip an Error's `code`).
 */
export function toBridgeCallError(e: unknown): BridgeCallError {
  if (e instanceof BridgeCallError) return e;
  return new BridgeCallError(errorCode(e) ?? 'internal', errorText(e));
}

export const errorCode = (e: unknown): string | null =>
  e instanceof BridgeCallError
    ? e.code
    : typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
      ? (e as { code: string }).code
      : null;
