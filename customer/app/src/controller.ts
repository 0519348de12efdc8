import type { AppScreen, ConfirmReceipt } from '../../../protocol/src/index.ts';
import { verificationLinkToken } from '../../../protocol/src/app-links.ts';
import type { ConversationItem } from '../../../protocol/src/chat.ts';
import {
  AccessDevice,
  AuthorityError,
  hasPlatformBiometric,
  type FormDraft,
  type ScreenResult,
} from '../../sdk/index.ts';
import { AppStore, messageOf, type AppState, type MenuLeaf, type Screen } from './state/app-state.ts';
import { CallStore } from './state/calls.ts';
import { EnrolmentStore } from './state/enrolment.ts';
import { HelpStore } from './state/help.ts';
import { AgentCommandsStore } from './state/agent-commands.ts';
import { AccountStore } from './state/account.ts';
import { ChatStore } from './state/chat.ts';

export { messageOf, type AppState, type MenuLeaf, type Screen };

/**
 * The app's state and actions, outside React (components subscribe and render): the
 * one object the screens use. One AccessDevice from the SDK does the work; the stores
 * in state/ sequence the screens, each for its part (enrolment, help and the open
 * request, calls, remote control), over one shared AppState.
 */
export class AppController {
  private readonly app = new AppStore();
  private readonly calls = new CallStore(this.app);
  private readonly enrolment = new EnrolmentStore(this.app, this.calls);
  private readonly help = new HelpStore(this.app);
  private readonly agentCommands = new AgentCommandsStore(this.app);
  private readonly account = new AccountStore(this.app, this.calls);
  private readonly chat = new ChatStore(this.app);

  getState = (): AppState => this.app.getState();

  subscribe = (listener: () => void): (() => void) => this.app.subscribe(listener);

  async start(device?: AccessDevice): Promise<void> {
    const d = device ?? (await AccessDevice.open());
    this.app.device = d;
    d.on('authentication', (a) => this.app.set({ authentication: a }));
    d.on('request', (r) => {
      this.help.onRequest(r);
      if (!this.app.getState().request) this.chat.ended();
    });
    d.on('feed', (s) => this.app.set({ feed: s }));
    d.on('chatStarted', () => this.chat.started());
    d.on('consult', (c) => {
      if (this.app.getState().request?.requestId === c.requestId) this.app.set({ consulting: c.active });
    });
    this.calls.attach(d);
    this.agentCommands.attach(d);
    this.app.set({ biometricAvailable: await hasPlatformBiometric() });
    // A verification link opened while the app runs (texted during a phone call).
    if (typeof window !== 'undefined') window.addEventListener('hashchange', () => this.openLink());
    if (!d.enrolled) return this.app.go({ name: 'welcome' });
    try {
      await d.authenticate();
      this.calls.startPhone();
      await this.app.loadProfile();
      // Opened from a link texted during a phone call: confirm it is you for that call.
      const link = verifyCallToken();
      if (link) return this.app.go({ name: 'verify-call', token: link, done: false });
      const r = await d.resume();
      // A chat left open before a reload opens again (resumed after the last message held).
      if (r?.channel === 'chat') return this.chat.open();
      this.app.go(r ? { name: 'waiting' } : { name: 'home' });
    } catch (e) {
      if (e instanceof AuthorityError && e.status === 404) {
        // The authority no longer knows this device: start again.
        await d.forget();
        return this.app.go({ name: 'welcome' }, { notice: 'This phone needs to be set up again.' });
      }
      this.app.go({ name: 'home' }, { error: messageOf(e) });
    }
  }

  /** A verification link opened while the app runs. */
  private openLink(): void {
    const token = verifyCallToken();
    if (token && this.app.device?.enrolled) this.app.go({ name: 'verify-call', token, done: false });
  }

  /** Verify for the ongoing phone call: a fresh check (PIN or fingerprint), then the link is presented once. */
  verifyCall(how: { pin: string } | 'fingerprint'): Promise<void> {
    const s = this.app.getState().screen;
    if (s.name !== 'verify-call' || s.done) return Promise.resolve();
    return this.app.run(
      how === 'fingerprint' ? 'Waiting for your fingerprint…' : 'Checking your PIN…',
      async () => {
        const d = this.app.requireDevice();
        if (how === 'fingerprint') await d.verifyBiometric();
        else await d.verifyPin(how.pin);
        try {
          await d.useVerificationLink(s.token);
        } catch (e) {
          // A link that cannot be used (used, expired, someone else's, unknown): its own screen.
          if (e instanceof AuthorityError && [403, 404, 410].includes(e.status) && e.code !== 'level_too_low')
            return this.app.go({ name: 'verify-call', token: s.token, done: false, refused: messageOf(e) });
          throw e;
        }
        if (typeof history !== 'undefined')
          history.replaceState(null, '', location.pathname + location.search);
        this.app.go({ name: 'verify-call', token: s.token, done: true });
      },
    );
  }

  skipTo(screen: Screen): void {
    this.app.go(screen);
  }

  home(): void {
    this.app.go({ name: 'home' });
  }

  // ---- enrolment, factors, security notices (state/enrolment.ts) -------------------------

  acknowledgeNotice(noticeId: string): Promise<void> {
    return this.enrolment.acknowledgeNotice(noticeId);
  }

  enrol(code: string): Promise<void> {
    return this.enrolment.enrol(code);
  }

  setPin(pin: string): Promise<void> {
    return this.enrolment.setPin(pin);
  }

  addFingerprint(next?: Screen): Promise<void> {
    return this.enrolment.addFingerprint(next);
  }

  uploadEnrolmentPhoto(photo: Blob): Promise<void> {
    return this.enrolment.uploadEnrolmentPhoto(photo);
  }

  // ---- help: menu, step-up, the open request (state/help.ts) ------------------------------

  getHelp(): Promise<void> {
    return this.help.getHelp();
  }

  openBranch(path: string[]): void {
    this.help.openBranch(path);
  }

  showRequest(): void {
    this.help.showRequest();
  }

  async chooseOption(
    option: MenuLeaf,
    idempotencyKey: string = crypto.randomUUID().replace(/-/g, ''),
  ): Promise<void> {
    await this.help.chooseOption(option, idempotencyKey);
    const s = this.app.getState();
    if (s.chatWanted && s.screen.name === 'waiting') this.chat.open();
  }

  // ---- verified chat (state/chat.ts) ----------------------------------------------------

  /** The open request's chat screen. */
  openChat(): void {
    this.chat.open();
  }

  /** Send a chat message (plain text); false when it could not be sent (the error is shown). */
  sendChat(text: string): boolean {
    return this.chat.send(text);
  }

  /** Send a file (image or PDF) in the chat; false when refused (said in `chat.fileError`). */
  sendChatFile(file: File): Promise<boolean> {
    return this.chat.attach(file);
  }

  /** A chat attachment's bytes as an object URL (an image's src, a PDF's download). */
  chatAttachmentUrl(attachmentId: string): Promise<string> {
    return this.chat.attachmentUrl(attachmentId);
  }

  /** An attachment of a past conversation (read-only) as an object URL. */
  conversationAttachmentUrl(requestId: string, attachmentId: string): Promise<string> {
    return this.chat.attachmentUrlOf(requestId, attachmentId);
  }

  chatTyping(active: boolean): void {
    this.chat.typing(active);
  }

  chatSeen(): void {
    this.chat.markRead();
  }

  stepUpWithPin(pin: string): Promise<void> {
    return this.help.stepUpWithPin(pin);
  }

  stepUpWithFingerprint(): Promise<void> {
    return this.help.stepUpWithFingerprint();
  }

  registerThenStepUp(): Promise<void> {
    return this.help.registerThenStepUp();
  }

  explainOnCall(): Promise<void> {
    return this.help.explainOnCall();
  }

  stepUpWithPhoto(photo: Blob): Promise<void> {
    return this.help.stepUpWithPhoto(photo);
  }

  loadSlots(day: string) {
    return this.help.loadSlots(day);
  }

  keepPlace(): Promise<void> {
    return this.help.keepPlace();
  }

  bookSlot(slotStart: string): Promise<void> {
    return this.help.bookSlot(slotStart);
  }

  cancelRequest(): Promise<void> {
    return this.help.cancelRequest();
  }

  // ---- calls (state/calls.ts) -------------------------------------------------------------

  dismissBlocked(): void {
    this.calls.dismissBlocked();
  }

  incomingCall(ticket: string | null | undefined): Promise<ScreenResult> {
    return this.calls.incomingCall(ticket);
  }

  answer(): Promise<void> {
    return this.calls.answer();
  }

  decline(): void {
    this.calls.decline();
  }

  toggleMute(): void {
    this.calls.toggleMute();
  }

  toggleSpeaker(): void {
    this.calls.toggleSpeaker();
  }

  hangUp(): void {
    this.calls.hangUp();
  }

  /** The call on screen was put on hold or resumed (automation: the same path as the phone's re-INVITE). */
  callHeld(held: boolean): void {
    this.calls.held(null, held);
  }

  afterCall(): void {
    // A call from a chat: back in the conversation.
    if (this.app.getState().request?.channel === 'chat') return this.chat.open();
    this.calls.afterCall();
  }

  // ---- remote control: the agent's commands on this phone (state/agent-commands.ts) -------

  dismissControlNotice(): void {
    this.agentCommands.dismissControlNotice();
  }

  dismissRefused(): void {
    this.agentCommands.dismissRefused();
  }

  commandShown(commandId: string): void {
    this.agentCommands.commandShown(commandId);
  }

  declineCommand(commandId: string): Promise<void> {
    return this.agentCommands.declineCommand(commandId);
  }

  verifyCommandWithPin(commandId: string, pin: string): Promise<void> {
    return this.agentCommands.verifyCommandWithPin(commandId, pin);
  }

  verifyCommandWithFingerprint(commandId: string): Promise<void> {
    return this.agentCommands.verifyCommandWithFingerprint(commandId);
  }

  sendCommandImage(commandId: string, image: Blob): Promise<void> {
    return this.agentCommands.sendCommandImage(commandId, image);
  }

  answerCommandText(commandId: string, value: string): Promise<void> {
    return this.agentCommands.answerCommandText(commandId, value);
  }

  chooseCommandItem(commandId: string, itemId: string): Promise<void> {
    return this.agentCommands.chooseCommandItem(commandId, itemId);
  }

  submitCommandForm(commandId: string, draft: FormDraft): Promise<void> {
    return this.agentCommands.submitCommandForm(commandId, draft);
  }

  confirmCommandTransaction(
    commandId: string,
    factor: { kind: 'biometric' } | { kind: 'pin'; pin: string },
  ): Promise<void> {
    return this.agentCommands.confirmCommandTransaction(commandId, factor);
  }

  dismissReceipt(): void {
    this.agentCommands.dismissReceipt();
  }

  /** The customer's receipts of confirmed payments (for a receipts / history screen). */
  loadReceipts(): Promise<readonly ConfirmReceipt[]> {
    return this.agentCommands.loadReceipts();
  }

  // ---- the account: settings, history, receipts (state/account.ts) -----------------------

  openSettings(): Promise<void> {
    return this.account.openSettings();
  }

  changePin(current: string, next: string, repeat: string): Promise<void> {
    return this.account.changePin(current, next, repeat);
  }

  addFingerprintLater(): Promise<void> {
    return this.account.addFingerprint();
  }

  addPhotoLater(photo: Blob, pin: string | null): Promise<void> {
    return this.account.addPhoto(photo, pin);
  }

  removePhone(): Promise<void> {
    return this.account.removePhone();
  }

  openHistory(): Promise<void> {
    return this.account.openHistory();
  }

  moreHistory(): Promise<void> {
    return this.account.moreHistory();
  }

  /** The customer's past chat conversations (from the history screen). */
  openConversations(): Promise<void> {
    return this.account.openConversations();
  }

  moreConversations(): Promise<void> {
    return this.account.moreConversations();
  }

  /** One past conversation, read-only. */
  openConversation(item: ConversationItem): Promise<void> {
    return this.account.openConversation(item);
  }

  openReceipts(): Promise<void> {
    return this.account.openReceipts(() => this.agentCommands.loadReceipts());
  }

  openReceipt(receiptId: string): Promise<void> {
    return this.account.openReceipt(receiptId);
  }

  navigateCommand(commandId: string, screen: AppScreen): Promise<void> {
    return this.agentCommands.navigateCommand(commandId, screen);
  }

  stopAll(): Promise<void> {
    return this.agentCommands.stopAll();
  }

  allowAgain(): Promise<void> {
    return this.agentCommands.allowAgain();
  }

  captureScreen(): Promise<Blob> {
    return this.agentCommands.captureScreen();
  }
}

/**
 * The token of a verification link the app was opened with, or null: `#/verify-call/<token>`
 * (where the authority sends a browser that opened the texted `/v/<token>`).
 */
function verifyCallToken(): string | null {
  if (typeof location === 'undefined') return null;
  return verificationLinkToken(location.hash);
}
