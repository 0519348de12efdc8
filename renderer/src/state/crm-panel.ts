import { Store } from './store.ts';

/** The CRM record shown in the desk's side panel, or none. */
export interface CrmPanelState {
  open: { requestId: string; url: string } | null;
}

/**
 * The console's side panel: the CRM record of the request just accepted, for a queue whose
 * screen pop opens there (screenPopOpensIn 'sidePanel'). One record at a time (a new screen
 * pop replaces it); it stays through the wrap-up until the agent closes it. Which origins may
 * be shown is decided before it gets here (the authority's and the console's allow-lists) and
 * enforced again by the page's CSP (frame-src).
 */
export class CrmPanelStore extends Store<CrmPanelState> {
  constructor() {
    super({ open: null });
  }

  show(requestId: string, url: string): void {
    const o = this.state.open;
    if (o?.requestId === requestId && o.url === url) return;
    this.setState({ open: { requestId, url } });
  }

  close(): void {
    if (this.state.open) this.setState({ open: null });
  }
}
