import type { ChatMessage, ConversationItem } from '../../../../protocol/src/chat.ts';
import type { AppStore } from './app-state.ts';
import type { CallStore } from './calls.ts';
import { newPinProblem } from './problems.ts';

/** The customer's account on this phone: settings (PIN, fingerprint, photo, removing the phone), request history, receipts. */
export class AccountStore {
  constructor(
    private readonly app: AppStore,
    private readonly calls: CallStore,
  ) {}

  /** Settings: what is set up here and what may be added now, fresh from the authority. */
  openSettings(): Promise<void> {
    this.app.go({ name: 'settings' });
    return this.app.run('Loading…', () => this.app.loadProfile());
  }

  /** The current PIN is checked first (it verifies this session at level 2), then the new one is saved. */
  changePin(current: string, next: string, repeat: string): Promise<void> {
    const problem = !/^[0-9]{4,12}$/.test(current)
      ? 'Enter your current PIN (4 to 12 digits).'
      : current === next
        ? 'The new PIN is the same as the current one.'
        : newPinProblem(next, repeat);
    if (problem) {
      this.app.set({ error: problem });
      return Promise.resolve();
    }
    return this.app.run('Saving your new PIN…', async () => {
      await this.app.requireDevice().changePin(current, next);
      await this.app.loadProfile();
      this.app.go({ name: 'settings' }, { notice: 'Your PIN was changed.' });
    });
  }

  /**
   * A fingerprint later: allowed at once while the phone may set it up (enrolment window,
   * or verified with a fingerprint now); with a fingerprint already set up, that one is
   * checked first.
   */
  addFingerprint(): Promise<void> {
    return this.app.run('Waiting for your fingerprint…', async () => {
      const d = this.app.requireDevice();
      if (!this.app.getState().setup?.biometric) await d.verifyBiometric();
      await d.registerBiometric();
      await this.app.loadProfile();
      this.app.go({ name: 'settings' }, { notice: 'Fingerprint added.' });
    });
  }

  /** A reference photo later: needs the PIN checked now when this session is below level 2. */
  addPhoto(photo: Blob, pin: string | null): Promise<void> {
    return this.app.run('Saving your photo…', async () => {
      const d = this.app.requireDevice();
      if (pin !== null) await d.verifyPin(pin);
      await d.uploadPhoto(photo, 'enrolment');
      await this.app.loadProfile();
      this.app.go({ name: 'settings' }, { notice: 'Your photo was saved.' });
    });
  }

  /** Remove this phone: revoked on the authority, then forgotten here; the app returns to enrolment. */
  removePhone(): Promise<void> {
    return this.app.run('Removing this phone…', async () => {
      await this.app.requireDevice().revoke();
      await this.calls.stopPhone();
      this.app.go(
        { name: 'welcome' },
        {
          notice: 'This phone was removed from your account. To use it again, set it up with a new code.',
          customerName: null,
          authentication: null,
          enrolled: null,
          setup: null,
          request: null,
          securityNotices: [],
          receipts: [],
          history: { items: [], nextCursor: null, loaded: false },
          conversations: { items: [], nextCursor: null, loaded: false },
        },
      );
    });
  }

  /** The newest page of the history (again). */
  openHistory(): Promise<void> {
    this.app.go({ name: 'history' }, { history: { items: [], nextCursor: null, loaded: false } });
    return this.app.run('Loading your requests…', async () => {
      const h = await this.app.requireDevice().history(null, PAGE);
      this.app.set({ history: { items: h.requests, nextCursor: h.nextCursor, loaded: true } });
    });
  }

  /** The next older page, appended. */
  moreHistory(): Promise<void> {
    const { history } = this.app.getState();
    if (!history.nextCursor) return Promise.resolve();
    return this.app.run('Loading older requests…', async () => {
      const h = await this.app.requireDevice().history(history.nextCursor, PAGE);
      const items = [...history.items, ...h.requests];
      this.app.set({ history: { items, nextCursor: h.nextCursor, loaded: true } });
    });
  }

  /** The newest page of the customer's chat conversations (again). */
  openConversations(): Promise<void> {
    this.app.go({ name: 'conversations' }, { conversations: { items: [], nextCursor: null, loaded: false } });
    return this.app.run('Loading your conversations…', async () => {
      const c = await this.app.requireDevice().conversations(null, PAGE);
      this.app.set({ conversations: { items: c.conversations, nextCursor: c.nextCursor, loaded: true } });
    });
  }

  /** The next older page of conversations, appended. */
  moreConversations(): Promise<void> {
    const { conversations } = this.app.getState();
    if (!conversations.nextCursor) return Promise.resolve();
    return this.app.run('Loading older conversations…', async () => {
      const c = await this.app.requireDevice().conversations(conversations.nextCursor, PAGE);
      const items = [...conversations.items, ...c.conversations];
      this.app.set({ conversations: { items, nextCursor: c.nextCursor, loaded: true } });
    });
  }

  /** One conversation, read-only: its messages page by page (at most MESSAGE_PAGES pages). */
  openConversation(item: ConversationItem): Promise<void> {
    this.app.go({ name: 'conversation', item, messages: null, partial: false });
    return this.app.run('Loading the conversation…', async () => {
      const d = this.app.requireDevice();
      const messages: ChatMessage[] = [];
      let after: number | null = 0;
      let deleted = item.deleted;
      for (let i = 0; after !== null && i < MESSAGE_PAGES; i++) {
        const page = await d.conversation(item.requestId, after);
        messages.push(...page.messages);
        after = page.nextAfter;
        // Deleted since the list was read (retention or an administrator): no messages, only when.
        deleted = page.deleted ?? deleted;
      }
      const s = this.app.getState().screen;
      if (s.name === 'conversation' && s.item.requestId === item.requestId)
        this.app.go({
          name: 'conversation',
          item: deleted ? { ...item, deleted } : item,
          messages,
          partial: after !== null,
        });
    });
  }

  openReceipts(load: () => Promise<unknown>): Promise<void> {
    this.app.go({ name: 'receipts' });
    return this.app.run('Loading your receipts…', async () => {
      await load();
    });
  }

  /** One receipt, fresh from the authority (the list may be older). */
  openReceipt(receiptId: string): Promise<void> {
    return this.app.run('Opening the receipt…', async () => {
      const receipt = await this.app.requireDevice().receipt(receiptId);
      this.app.go({ name: 'receipt', receipt });
    });
  }
}

/** Requests per page of the history screen (and conversations per page). */
const PAGE = 10;
/** Pages of messages (100 each) read when a conversation is opened. */
const MESSAGE_PAGES = 20;
