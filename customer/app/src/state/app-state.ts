import type {
  AuthenticationView,
  ConfirmReceipt,
  DeviceMe,
  FactorKind,
  HistoryItem,
  LiveMenuNodeShape,
  RequestView,
} from '../../../../protocol/src/index.ts';
import type { ChatMessage, ConversationItem } from '../../../../protocol/src/chat.ts';
import {
  AuthorityError,
  type AccessDevice,
  type AgentCommand,
  type BlockedCall,
  type FeedStatus,
  type PhoneRegistration,
  type RefusedCommand,
  type VerifiedCall,
} from '../../../sdk/index.ts';
import type { ChatView } from './chat.ts';
import { isUnreachable, OFFLINE_MESSAGE, retryAfterOf } from './problems.ts';

export interface MenuLeaf {
  id: string;
  label: string;
  level: number;
  /** Chat or a call (the option's channels; a call when it says nothing). */
  channel?: 'voice' | 'chat';
}

export type Screen =
  | { name: 'loading' }
  | { name: 'welcome' }
  | { name: 'enrol-pin' }
  | { name: 'enrol-fingerprint' }
  | { name: 'enrol-photo' }
  | { name: 'home' }
  | { name: 'menu'; path: string[] }
  | {
      name: 'step-up';
      option: MenuLeaf;
      needed: FactorKind[];
      requiredLevel: number;
      idempotencyKey: string;
      /** the option lets the agent verify the customer on the call instead ("Explain on the call instead") */
      verifyOnCall: boolean;
    }
  | { name: 'waiting' }
  | { name: 'chat' }
  | { name: 'incoming'; call: VerifiedCall }
  | {
      name: 'in-call';
      call: VerifiedCall;
      verifiedAt: string;
      since: number;
      micError: string | null;
      /** The agent whose call this one continued after a transfer (answered without ringing). */
      continuedFrom?: string;
    }
  /** The agent's call ended because the request moved: the new holder's call will be answered by itself. */
  | { name: 'continuing'; from: VerifiedCall; toAgent: string | null; since: number }
  | { name: 'call-ended'; call: VerifiedCall; seconds: number; noMediaPath?: boolean }
  | { name: 'account' }
  | { name: 'help' }
  | { name: 'settings' }
  | { name: 'change-pin' }
  | { name: 'add-fingerprint' }
  | { name: 'add-photo' }
  | { name: 'remove-phone' }
  | { name: 'history' }
  | { name: 'conversations' }
  /** One past conversation, read-only: its messages in order (`partial` when only the first pages are shown). */
  | {
      name: 'conversation';
      item: ConversationItem;
      messages: readonly ChatMessage[] | null;
      partial: boolean;
    }
  | { name: 'receipts' }
  /** A link texted during a phone call: confirm it is you, then the agent sees you verified. */
  | { name: 'verify-call'; token: string; done: boolean; refused?: string }
  | { name: 'receipt'; receipt: ConfirmReceipt };

export interface AppState {
  screen: Screen;
  /** What is in progress (shown on the busy button), or null. */
  busy: string | null;
  error: string | null;
  notice: string | null;
  customerName: string | null;
  company: string | null;
  authentication: AuthenticationView | null;
  enrolled: DeviceMe['enrolled'] | null;
  /** "A new phone was set up for you…": changes made on the customer's other devices, not acknowledged yet. */
  securityNotices: DeviceMe['notices'];
  /** Which factors this phone may add now (only during enrolment, or at the level the factor grants). */
  setup: DeviceMe['setup'] | null;
  menu: LiveMenuNodeShape[] | null;
  request: RequestView | null;
  feed: FeedStatus;
  blocked: BlockedCall[];
  /** The newest blocked call not dismissed yet (the banner). */
  blockedBanner: BlockedCall | null;
  /** The agent's commands on screen (verified by the SDK), oldest first. */
  commands: readonly AgentCommand[];
  /** Per card: what is being sent, and the last problem (a message, and per-field messages for forms). */
  commandBusy: Record<string, string>;
  commandErrors: Record<string, { message: string; fields: Record<string, string> }>;
  /** The customer pressed "Stop all" for the open request. */
  controlStopped: boolean;
  /** "Dana Reyes ended the requests on your phone.", "You are now with Sam Patel." */
  controlNotice: string | null;
  /** The last command refused before it could be shown (a discreet line, dismissible). */
  refusedCommand: RefusedCommand | null;
  /** The receipt of the payment just confirmed on this phone (shown until dismissed). */
  lastReceipt: ConfirmReceipt | null;
  /** The customer's receipts of confirmed payments, newest first (loaded with loadReceipts()). */
  receipts: readonly ConfirmReceipt[];
  biometricAvailable: boolean;
  muted: boolean;
  speaker: boolean;
  /** The SIP phone's registration (calls reach this phone only when 'registered'). */
  phone: PhoneRegistration;
  /** Keypad keys the agent pressed on this call (SIP INFO DTMF). */
  keys: string;
  /** The customer's past requests (newest first) and the cursor of the next older page, or null when loaded to the end. */
  history: { items: readonly HistoryItem[]; nextCursor: string | null; loaded: boolean };
  /** The customer's chat conversations (newest first) and the cursor of the next older page. */
  conversations: { items: readonly ConversationItem[]; nextCursor: string | null; loaded: boolean };
  /** The agent holds the call ("You are on hold"). */
  onHold: boolean;
  /** The agent is consulting a colleague about the request (a warm transfer is open). */
  consulting: boolean;
  /** Until when (ms) the authority asked the phone to wait before trying again (a PIN lock), or null. */
  retryAt: number | null;
  /** The verified chat of the open request (once opened), or null. */
  chat: ChatView | null;
  /** The customer chose to chat for the open request. */
  chatWanted: boolean;
}

const initial: AppState = {
  screen: { name: 'loading' },
  busy: null,
  error: null,
  notice: null,
  customerName: null,
  company: null,
  authentication: null,
  enrolled: null,
  securityNotices: [],
  setup: null,
  menu: null,
  request: null,
  feed: 'closed',
  blocked: [],
  blockedBanner: null,
  commands: [],
  commandBusy: {},
  commandErrors: {},
  controlStopped: false,
  controlNotice: null,
  refusedCommand: null,
  lastReceipt: null,
  receipts: [],
  biometricAvailable: false,
  muted: false,
  speaker: false,
  phone: 'unregistered',
  keys: '',
  history: { items: [], nextCursor: null, loaded: false },
  conversations: { items: [], nextCursor: null, loaded: false },
  onHold: false,
  consulting: false,
  retryAt: null,
  chat: null,
  chatWanted: false,
};

export const messageOf = (e: unknown): string => {
  if (isUnreachable(e)) return OFFLINE_MESSAGE;
  if (e instanceof AuthorityError) return e.message.charAt(0).toUpperCase() + e.message.slice(1);
  // WebAuthn: this authenticator holds one of the account's credentials already (@simplewebauthn's code, or the raw DOMException).
  if (
    (e instanceof Error &&
      (e as Error & { code?: unknown }).code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED') ||
    (e instanceof DOMException && e.name === 'InvalidStateError')
  )
    return 'This phone’s fingerprint is already set up for your account: there is nothing to add here. To use another finger, add it in your phone’s own settings.';
  if (e instanceof DOMException && e.name === 'NotAllowedError')
    return 'The fingerprint check was cancelled or did not match. Try again.';
  return e instanceof Error ? e.message : String(e);
};

/**
 * The app's one state (what the screens read) and what every store shares: the
 * AccessDevice, screen changes, and running an action with a busy label. Each store
 * (enrolment, help, calls, remote control) writes its own fields through it.
 */
export class AppStore {
  private state: AppState = initial;
  private readonly listeners = new Set<() => void>();
  device: AccessDevice | null = null;

  getState = (): AppState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  go(screen: Screen, patch: Partial<AppState> = {}): void {
    this.set({ screen, error: null, busy: null, ...patch });
  }

  requireDevice(): AccessDevice {
    if (!this.device) throw new Error('the app is not started');
    return this.device;
  }

  /** The action that failed because the phone was offline: run again once it is back online. */
  private retryOnline: (() => void) | null = null;

  constructor() {
    if (typeof window !== 'undefined')
      window.addEventListener('online', () => {
        const again = this.retryOnline;
        this.retryOnline = null;
        again?.();
      });
  }

  /** Run an action with a busy label; errors stay on the current screen (offline: retried when back online). */
  async run(busy: string, action: () => Promise<void>): Promise<void> {
    if (this.state.busy) return;
    this.retryOnline = null;
    this.set({ busy, error: null, notice: null });
    try {
      await action();
      if (this.state.busy === busy) this.set({ busy: null, retryAt: null });
    } catch (e) {
      if (isUnreachable(e)) this.retryOnline = () => void this.run(busy, action);
      const wait = retryAfterOf(e);
      this.set({ busy: null, error: messageOf(e), retryAt: wait ? Date.now() + wait * 1000 : null });
    }
  }

  /** Who the customer is, what this phone has set up, and the help menu. */
  async loadProfile(): Promise<void> {
    const d = this.requireDevice();
    const [me, menu] = await Promise.all([d.me(), d.menu()]);
    this.set({
      customerName: me.customerName,
      enrolled: me.enrolled,
      securityNotices: me.notices,
      setup: me.setup,
      company: menu.company,
      menu: menu.menu,
    });
  }
}
