import type { CustomerPanel, PhotoVerdict } from '../../../protocol/src/agent-desk.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

export type PhotoState =
  { status: 'loading' } | { status: 'ready'; url: string } | { status: 'error'; message: string };

export interface PanelState {
  requestId: string | null;
  panel: CustomerPanel | null;
  loading: boolean;
  error: string | null;
  /** Photos by id (immutable once taken, so cached for the page's life). */
  photos: Readonly<Record<string, PhotoState>>;
  /** Secure fields that unlocked since the panel was first shown (highlighted for the agent). */
  unlocked: readonly string[];
  loadedAt: number | null;
  /** The agent's photo comparison being saved, and its last problem. */
  comparing: PhotoVerdict | null;
  compareError: string | null;
}

/**
 * The verified-customer panel of the request in focus (offered or active). It is
 * fetched as soon as an offer arrives, before any call, and fetched again, without
 * polling, when something about that request changes: the agent's state, a
 * queue.delta upsert for it (a step-up raises its level), the voice being proven.
 */
export class PanelStore extends Store<PanelState> {
  private inFlight = false;
  private again = false;
  private lastLevel: number | null = null;

  constructor(private readonly bridge: ConsoleBridge) {
    super({
      requestId: null,
      panel: null,
      loading: false,
      error: null,
      photos: {},
      unlocked: [],
      loadedAt: null,
      comparing: null,
      compareError: null,
    });
    bridge.on('queue.delta', (d) => {
      const id = this.state.requestId;
      const mine = id ? d.upserts.find((r) => r.requestId === id) : undefined;
      // A level or state change, or an unknown caller identified (the request is another customer's now).
      if (
        mine &&
        (mine.level !== this.lastLevel ||
          mine.state !== this.state.panel?.request.state ||
          mine.customerName !== this.state.panel?.request.customerName)
      )
        this.refresh();
    });
    bridge.on('agent.state', (a) => {
      const id = this.state.requestId;
      if (id && (a.currentRequestId === id || a.heldRequestIds?.includes(id) || a.offer?.requestId === id))
        this.refresh();
    });
    bridge.on('call.verified', (v) => {
      if (v.requestId === this.state.requestId) this.refresh();
    });
    // A wrong PIN or a PIN lock while the panel is open: the risk is shown at once.
    bridge.on('panel.changed', (c) => {
      if (c.requestId === this.state.requestId) this.refresh();
    });
  }

  private expiryTimer: ReturnType<typeof setTimeout> | null = null;

  /** When the verification expires the authority locks the fields: fetch the panel again at that moment. */
  private watchExpiry(panel: CustomerPanel): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const left = Date.parse(panel.verification.expiresAt) - Date.now();
    if (panel.verification.level > 0 && left > 0 && left < 2 ** 31 - 1)
      this.expiryTimer = setTimeout(() => {
        this.expiryTimer = null;
        if (this.state.requestId === panel.request.requestId) this.refresh();
      }, left + 500);
  }

  /** Show this request's panel (null clears it). */
  focus(requestId: string | null): void {
    if (requestId === this.state.requestId) return;
    this.lastLevel = null;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.setState({
      ...this.state,
      requestId,
      panel: null,
      loading: !!requestId,
      error: null,
      unlocked: [],
      loadedAt: null,
      comparing: null,
      compareError: null,
    });
    if (requestId) this.refresh();
  }

  /**
   * The agent's verdict on the request's verification photo beside the enrolment photo:
   * a match adds the photo factor on the authority (level 2), recorded with the agent's name.
   */
  async comparePhoto(verdict: PhotoVerdict): Promise<void> {
    const panel = this.state.panel;
    const comparison = panel?.photos.comparison;
    if (!panel || !comparison || comparison.verdict !== 'pending' || this.state.comparing) return;
    const { requestId, fence } = panel.request;
    if (fence === null) return;
    this.patch({ comparing: verdict, compareError: null });
    try {
      await this.bridge.invoke('panel.comparePhoto', {
        requestId,
        photoId: comparison.photoId,
        fence,
        verdict,
      });
      if (this.state.requestId === requestId) this.patch({ comparing: null });
    } catch (e) {
      if (this.state.requestId === requestId) this.patch({ comparing: null, compareError: errorText(e) });
    }
    this.refresh();
  }

  refresh(): void {
    if (!this.state.requestId) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    void this.load(this.state.requestId);
  }

  private async load(requestId: string): Promise<void> {
    this.inFlight = true;
    try {
      const panel = await this.bridge.invoke('panel.get', { requestId });
      if (this.state.requestId !== requestId) return;
      const before = this.state.panel;
      const newlyUnlocked = before
        ? panel.secure
            .filter((f) => !f.locked && before.secure.find((b) => b.field === f.field)?.locked)
            .map((f) => f.field)
        : [];
      this.lastLevel = panel.request.level;
      this.setState({
        ...this.state,
        panel,
        loading: false,
        error: null,
        unlocked: [...new Set([...this.state.unlocked, ...newlyUnlocked])],
        loadedAt: Date.now(),
      });
      this.watchExpiry(panel);
      this.loadPhotos(panel);
    } catch (e) {
      if (this.state.requestId === requestId) this.patch({ loading: false, error: errorText(e) });
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    }
  }

  private loadPhotos(panel: CustomerPanel): void {
    const compared = panel.photos.comparison && { photoId: panel.photos.comparison.photoId };
    for (const ref of [panel.photos.enrolment, panel.photos.latest, compared]) {
      if (!ref || this.state.photos[ref.photoId]) continue;
      const { photoId } = ref;
      this.patch({ photos: { ...this.state.photos, [photoId]: { status: 'loading' } } });
      this.bridge.invoke('panel.photo', { requestId: panel.request.requestId, photoId }).then(
        (url) => this.patch({ photos: { ...this.state.photos, [photoId]: photoState(url) } }),
        (e: unknown) =>
          this.patch({
            photos: { ...this.state.photos, [photoId]: { status: 'error', message: errorText(e) } },
          }),
      );
    }
  }
}

/** Only image data: URLs become an <img> source; anything else is refused. */
function photoState(url: string): PhotoState {
  return /^data:image\/(jpeg|png);base64,[A-Za-z0-9+/=]+$/.test(url)
    ? { status: 'ready', url }
    : { status: 'error', message: 'not an image' };
}
