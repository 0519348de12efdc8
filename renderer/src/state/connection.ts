import type { BridgeEventPayload } from '../../../protocol/src/bridge.ts';
import type { ConsoleBridge, LinkState } from '../bridge/types.ts';
import { Store } from './store.ts';

type AuthorityLink = BridgeEventPayload<'connection.state'>['state'];

export interface ConnectionState {
  /** The page's link to main (browser mode's WebSocket). */
  link: LinkState;
  /** main's link to the authority; null until main reports it. */
  authority: AuthorityLink | null;
  since: string | null;
}

/** What the connection banner shows: the page's link to main and main's link to the authority. */
export class ConnectionStore extends Store<ConnectionState> {
  constructor(bridge: ConsoleBridge) {
    super({ link: bridge.link, authority: null, since: null });
    bridge.onLink((link) => this.patch({ link }));
    bridge.on('connection.state', (c) => this.patch({ authority: c.state, since: c.since }));
  }

  /** The authority answered a call: it is reachable, even if no state event came yet (page reload). */
  markReachable(): void {
    if (this.state.authority === null) this.patch({ authority: 'connected' });
  }

  signedOut(): void {
    this.patch({ authority: null, since: null });
  }
}
