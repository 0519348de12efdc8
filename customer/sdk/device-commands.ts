import type { AuthenticationResponseJSON } from '@simplewebauthn/browser';
import { decodeJwt } from 'jose';
import {
  COMMAND_CLOCK_SKEW_SECONDS,
  confirmCanonical,
  confirmChallenge,
  type AuthenticationView,
  type ConfirmFactor,
  type ConfirmReceipt,
  type CommandClaims,
  type CommandKind,
  type CommandOf,
  type CommandOutcome,
  type ClientFrame,
  type ServerFrame,
  type SignedCommand,
} from '../../protocol/src/index.ts';
import { AuthorityError, type AuthorityClient } from './client.ts';
import { describeCommand, validateForm, validateText, type FormDraft } from './command-input.ts';
import {
  COMMAND_REFUSAL_TEXT,
  CommandVerifier,
  type CommandBinding,
  type CommandMemory,
  type CommandRefusal,
  type CommandVerdict,
} from './command-verifier.ts';
import type { JWTVerifyGetKey } from 'jose';
import { Emitter } from './emitter.ts';

/** A verified command on screen: one card. Narrow on `kind` to get the typed `command`. */
export type AgentCommand = { [K in CommandKind]: AgentCommandOf<K> }[CommandKind];
export interface AgentCommandOf<K extends CommandKind> {
  readonly commandId: string;
  readonly requestId: string;
  readonly kind: K;
  readonly command: CommandOf<K>;
  /** 1 as first sent; higher after each live edit (menus). */
  readonly revision: number;
  readonly agentId: string;
  /** The agent's display name, from the signed command ("Dana Reyes"). */
  readonly agentName: string;
  /** What the card says, e.g. "Dana Reyes asks for a photo". */
  readonly title: string;
  readonly receivedAt: Date;
  readonly expiresAt: Date;
  readonly fence: number;
  readonly seq: number;
}

/** A command that was not shown, for a discreet notice (and the tests). */
export interface RefusedCommand {
  at: Date;
  reason: CommandRefusal;
  /** Plain words for the customer. */
  text: string;
  /** Technical detail (for logs). */
  detail: string;
  /** Set only when the authority's signature verified. */
  commandId: string | null;
}

export type WithdrawReason = Extract<ServerFrame, { type: 'command.cancelled' }>['reason'];

export interface DeviceCommandsEvents extends Record<string, unknown> {
  /** The cards on screen changed (a command arrived, was updated, answered or withdrawn). */
  changed: readonly AgentCommand[];
  /** A command was refused before anything was shown. */
  refused: RefusedCommand;
  /** A card disappeared without the customer's answer (the agent cancelled it, it expired, ownership moved...). */
  withdrawn: { command: AgentCommand; reason: WithdrawReason };
  /** The agent ended remote control (a verified `end` command; acknowledged and answered by the SDK). */
  ended: { at: Date; agentName: string; reason: string | null };
  /** The customer's "Stop all" (or "Allow again") took effect. */
  control: { requestId: string; stopped: boolean; at: Date };
}

/** What DeviceCommands needs from the device it runs on (AccessDevice provides it). */
export interface CommandHost {
  client: AuthorityClient;
  deviceId(): string | null;
  /** The open request being followed (live states only), or null. */
  openRequest(): { requestId: string; sessionId: string } | null;
  ensureAuthenticated(): Promise<void>;
  /** The existing step-ups of the device, on the same authentication. */
  verifyPin(pin: string): Promise<AuthenticationView>;
  verifyBiometric(): Promise<AuthenticationView>;
  /** A compact JWS (ES256, device key, typ CONFIRM_SIGNATURE_TYP) over these UTF-8 bytes. */
  signConfirmation(canonical: string): Promise<string>;
  /** A WebAuthn assertion (user verification required) over this challenge, by this device's credential. */
  assertTransaction(challenge: string): Promise<AuthenticationResponseJSON>;
  /**
   * Send a frame on the open request's socket: false when none is open. Given, an
   * acknowledgement goes there first (one frame instead of an HTTP request with its proof).
   */
  send?(frame: ClientFrame): boolean;
}

/** How long an acknowledgement sent on the socket waits for its answer before it goes over HTTP. */
const ACK_ON_SOCKET_MS = 5_000;
/** The HTTP status the ack route gives with each refusal code (the socket's answer carries only the code). */
const ACK_STATUS: Record<string, number> = {
  not_found: 404,
  command_expired: 410,
  already_acknowledged: 409,
  command_final: 409,
  unauthorized: 401,
};

export interface DeviceCommandsOptions {
  host: CommandHost;
  /** The authority's published keys (the same JWKS as call tickets). */
  keys: JWTVerifyGetKey;
  now?: () => number;
  /** What the verifier remembered before a reload, and where to keep it (called debounced, at most every 200 ms). */
  memory?: CommandMemory;
  onMemory?: (memory: CommandMemory) => void;
  /** The request whose control the customer stopped before a reload, and where to keep it. */
  stoppedRequestId?: string | null;
  onStopped?: (requestId: string | null) => void;
}

/** Thrown by an answer method when what the customer typed does not fit; nothing was sent. */
export class CommandInputError extends Error {
  override name = 'CommandInputError';
  constructor(
    message: string,
    /** Per-field messages for forms. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Answers after which the card cannot be answered any more: it leaves the screen. */
const GONE = new Set(['command_final', 'command_expired', 'not_found', 'session_ended']);

/**
 * The device side of the agent's actions. Commands arrive as `command` frames on the
 * device's WebSocket feed (and, after a reconnect, from the pending list); each is
 * verified by `CommandVerifier` before it becomes a card. The app shows the cards, calls
 * `shown()` once a card is on screen (the agent sees "shown"), and answers with the typed
 * methods below, each of which sends the one final answer. Declining is always possible;
 * `stopControl()` is the customer's "Stop all".
 */
export class DeviceCommands extends Emitter<DeviceCommandsEvents> {
  readonly verifier: CommandVerifier;
  private cards: AgentCommand[] = [];
  private readonly acked = new Set<string>();
  /** Acknowledgements sent on the socket, waiting for `command.acked` / `command.ack.refused`. */
  private readonly acks = new Map<string, { done: () => void; refused: (e: AuthorityError) => void }>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly now: () => number;
  private stoppedRequestId: string | null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: DeviceCommandsOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.stoppedRequestId = opts.stoppedRequestId ?? null;
    const host = opts.host;
    const binding: CommandBinding = {
      deviceId: () => host.deviceId(),
      sessionId: () => host.openRequest()?.sessionId ?? null,
      requestId: () => host.openRequest()?.requestId ?? null,
    };
    this.verifier = new CommandVerifier({
      keys: opts.keys,
      binding,
      now: this.now,
      ...(opts.memory ? { memory: opts.memory } : {}),
      onChange: () => this.memoryChanged(),
    });
  }

  private saveTimer: ReturnType<typeof setTimeout> | null = null;

  private memoryChanged(): void {
    const save = this.opts.onMemory;
    if (!save || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      save(this.verifier.snapshot());
    }, 200);
  }

  /** The cards on screen, oldest first. */
  get list(): readonly AgentCommand[] {
    return this.cards;
  }

  get(commandId: string): AgentCommand | undefined {
    return this.cards.find((c) => c.commandId === commandId);
  }

  /** Whether the customer stopped remote control for the open request. */
  get stopped(): boolean {
    const r = this.opts.host.openRequest();
    return r !== null && this.stoppedRequestId === r.requestId;
  }

  // ---- receiving ------------------------------------------------------------------

  /** A frame from the device's feed: `command` and `command.cancelled` are handled, others ignored. */
  handleFrame(frame: ServerFrame): void {
    if (frame.type === 'command') void this.receive({ commandId: frame.commandId, jws: frame.jws });
    else if (frame.type === 'command.cancelled') this.withdraw(frame.commandId, frame.reason);
    else if (frame.type === 'command.acked') this.acks.get(frame.commandId)?.done();
    else if (frame.type === 'command.ack.refused')
      this.acks
        .get(frame.commandId)
        ?.refused(new AuthorityError(ACK_STATUS[frame.code] ?? 409, frame.code, frame.message));
  }

  /**
   * Verify one signed command and show it if it passes. Deliveries are handled one at a
   * time in arrival order. Never rejects: a bad command is a `refused` event.
   */
  receive(signed: SignedCommand): Promise<CommandVerdict> {
    const run = this.queue.then(() => this.receiveNow(signed));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every delivery received so far has been verified and applied. */
  async drain(): Promise<void> {
    await this.queue;
  }

  private async receiveNow(signed: SignedCommand): Promise<CommandVerdict> {
    let v: CommandVerdict;
    try {
      // The envelope must name the signed command: otherwise trust neither.
      v = await this.verifier.check(signed.jws, signed.commandId);
    } catch (e) {
      v = {
        verdict: 'refuse',
        reason: 'malformed',
        detail: e instanceof Error ? e.message : String(e),
        claims: null,
      };
    }
    try {
      this.apply(v);
    } catch (e) {
      // A listener threw while the verdict was applied: reported, never a crash of the feed.
      v = {
        verdict: 'refuse',
        reason: 'malformed',
        detail: e instanceof Error ? e.message : String(e),
        claims: null,
      };
    }
    return v;
  }

  private apply(v: CommandVerdict): void {
    switch (v.verdict) {
      case 'refuse':
        return this.refuse(v.reason, v.detail, v.claims);
      case 'duplicate':
        return;
      case 'show':
      case 'restore':
        if (v.claims.cmd.kind === 'end') return this.end(v.claims);
        if (this.stopped) {
          // Sent just before the customer pressed "Stop all": the authority cancels it; not shown.
          this.verifier.detach(v.claims.cid);
          return;
        }
        this.cards = [...this.cards.filter((c) => c.commandId !== v.claims.cid), this.card(v.claims)];
        this.armExpiry(v.claims);
        this.emit('changed', this.cards);
        return;
      case 'update': {
        const i = this.cards.findIndex((c) => c.commandId === v.claims.cid);
        if (i < 0) return;
        const next = [...this.cards];
        next[i] = this.card(v.claims, this.cards[i]!.receivedAt);
        this.cards = next;
        this.armExpiry(v.claims);
        this.emit('changed', this.cards);
        return;
      }
      default: {
        const never: never = v;
        return never;
      }
    }
  }

  private card(c: CommandClaims, receivedAt = new Date(this.now())): AgentCommand {
    return {
      commandId: c.cid,
      requestId: c.rid,
      kind: c.cmd.kind,
      command: c.cmd,
      revision: c.rev,
      agentId: c.agt,
      agentName: c.agn,
      title: describeCommand(c),
      receivedAt,
      expiresAt: new Date(c.exp * 1000),
      fence: c.fence,
      seq: c.seq,
    } as AgentCommand;
  }

  private refuse(reason: CommandRefusal, detail: string, claims: CommandClaims | null): void {
    const own = claims && claims.dev === this.opts.host.deviceId();
    this.emit('refused', {
      at: new Date(this.now()),
      reason,
      text: COMMAND_REFUSAL_TEXT[reason],
      detail,
      commandId: claims?.cid ?? null,
    });
    // A genuine command of this device and request that arrived out of order: tell the agent it
    // failed (best effort). Commands of another request may belong to another open request: untouched.
    if (own && reason === 'out-of-order' && claims.rid === this.opts.host.openRequest()?.requestId)
      this.post(claims.cid, { outcome: 'failed', reason: 'refused by the device: out-of-order' }).catch(
        () => undefined,
      );
  }

  private end(c: CommandClaims): void {
    this.verifier.close(c.cid);
    const reason = c.cmd.kind === 'end' ? (c.cmd.payload.reason ?? null) : null;
    this.emit('ended', { at: new Date(this.now()), agentName: c.agn, reason });
    void (async () => {
      await this.ack(c.cid);
      await this.post(c.cid, { outcome: 'done', result: { kind: 'end' } });
    })().catch(() => undefined);
  }

  private armExpiry(c: CommandClaims): void {
    const old = this.timers.get(c.cid);
    if (old) clearTimeout(old);
    const ms = Math.max(0, (c.exp + COMMAND_CLOCK_SKEW_SECONDS) * 1000 - this.now());
    // Timers are capped (a command lives at most 600 s); the authority also sends command.cancelled.
    this.timers.set(
      c.cid,
      setTimeout(() => this.withdraw(c.cid, 'expired'), Math.min(ms, 2_000_000_000)),
    );
  }

  private remove(commandId: string): AgentCommand | null {
    const t = this.timers.get(commandId);
    if (t) clearTimeout(t);
    this.timers.delete(commandId);
    this.verifier.close(commandId);
    const card = this.get(commandId) ?? null;
    if (!card) return null;
    this.cards = this.cards.filter((c) => c.commandId !== commandId);
    this.emit('changed', this.cards);
    return card;
  }

  private withdraw(commandId: string, reason: WithdrawReason): void {
    const card = this.remove(commandId);
    if (card) this.emit('withdrawn', { command: card, reason });
  }

  /**
   * Fetch the commands still open for this device (after a reconnect or a reload) and
   * verify them in (fence, seq) order. Rejects only if the authority cannot be reached.
   */
  async fetchPending(): Promise<CommandVerdict[]> {
    if (!this.opts.host.openRequest()) return [];
    await this.opts.host.ensureAuthenticated();
    const { commands, stopped } = await this.opts.host.client.call('deviceCommands', {});
    this.syncStopped(stopped);
    const order = (s: SignedCommand): [number, number] => {
      try {
        const c = decodeJwt(s.jws);
        return [Number(c.fence) || 0, Number(c.seq) || 0];
      } catch {
        return [0, 0];
      }
    };
    const sorted = commands
      .map((s) => ({ s, k: order(s) }))
      .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1])
      .map((x) => x.s);
    const out: CommandVerdict[] = [];
    for (const s of sorted) out.push(await this.receive(s));
    return out;
  }

  /** The open request ended (or another is followed): every card leaves the screen. */
  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.cards.length === 0) return;
    for (const c of this.cards) this.verifier.close(c.commandId);
    this.cards = [];
    this.emit('changed', this.cards);
  }

  /** Stop the timers (tests, teardown); what the verifier remembers is saved once more. */
  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
      this.opts.onMemory?.(this.verifier.snapshot());
    }
  }

  // ---- answering ----------------------------------------------------------------

  private require<K extends CommandKind>(commandId: string, kind: K): AgentCommandOf<K> {
    const c = this.get(commandId);
    if (!c) throw new CommandInputError('This request is no longer open.');
    if (c.kind !== kind) throw new CommandInputError(`This is a ${c.kind} request, not ${kind}.`);
    return c as unknown as AgentCommandOf<K>;
  }

  private async ack(commandId: string): Promise<void> {
    if (this.acked.has(commandId)) return;
    this.acked.add(commandId);
    await this.opts.host.ensureAuthenticated();
    try {
      if (await this.ackOnSocket(commandId)) return;
      await this.opts.host.client.call('ackCommand', { params: { commandId } });
    } catch (e) {
      if (e instanceof AuthorityError && e.code === 'already_acknowledged') return;
      throw e;
    }
  }

  /**
   * Acknowledge on the request's socket: true once the authority recorded it; false when no
   * socket is open, no answer came in time or the socket's authentication has expired (the
   * caller then uses HTTP, where a second ack is answered already_acknowledged); rejects
   * with the authority's refusal otherwise.
   */
  private ackOnSocket(commandId: string): Promise<boolean> {
    if (!this.opts.host.send?.({ type: 'command.ack', commandId })) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.acks.delete(commandId);
      };
      const timer = setTimeout(() => {
        settle();
        resolve(false);
      }, ACK_ON_SOCKET_MS);
      this.acks.set(commandId, {
        done: () => {
          settle();
          resolve(true);
        },
        refused: (e) => {
          settle();
          if (e.code === 'unauthorized') resolve(false);
          else reject(e);
        },
      });
    });
  }

  /**
   * The card is on the customer's screen: acknowledge it once (the agent sees "shown").
   * Resolves false when the command can no longer be shown (it is then removed).
   */
  async shown(commandId: string): Promise<boolean> {
    if (!this.get(commandId)) return false;
    try {
      await this.ack(commandId);
      return true;
    } catch (e) {
      if (e instanceof AuthorityError && GONE.has(e.code)) {
        this.remove(commandId);
        return false;
      }
      this.acked.delete(commandId);
      return false;
    }
  }

  private async post(commandId: string, outcome: CommandOutcome) {
    await this.opts.host.ensureAuthenticated();
    return this.opts.host.client.call('commandResult', { params: { commandId }, body: outcome });
  }

  /** Send the final answer; the card leaves the screen once the authority took it (or can no longer take any). */
  private async finish<T>(commandId: string, send: () => Promise<T>): Promise<T> {
    try {
      const r = await send();
      this.remove(commandId);
      return r;
    } catch (e) {
      if (e instanceof AuthorityError && GONE.has(e.code)) this.remove(commandId);
      throw e;
    }
  }

  /** "Decline" on any card. */
  decline(commandId: string) {
    if (!this.get(commandId)) return Promise.reject(new CommandInputError('This request is no longer open.'));
    return this.finish(commandId, () => this.post(commandId, { outcome: 'declined' }));
  }

  /** The device could not carry it out (e.g. no camera). */
  fail(commandId: string, reason: string) {
    if (!this.get(commandId)) return Promise.reject(new CommandInputError('This request is no longer open.'));
    return this.finish(commandId, () =>
      this.post(commandId, { outcome: 'failed', reason: reason.slice(0, 200) }),
    );
  }

  /** verify/pin: the PIN step-up on the same authentication, then the answer. */
  async verifyWithPin(commandId: string, pin: string) {
    const c = this.require(commandId, 'verify');
    if (c.command.payload.factor !== 'pin')
      throw new CommandInputError('The agent asked for your fingerprint.');
    await this.opts.host.verifyPin(pin);
    return this.finish(commandId, () =>
      this.post(commandId, { outcome: 'done', result: { kind: 'verify', factor: 'pin' } }),
    );
  }

  /** verify/biometric: a fresh WebAuthn assertion (user verification required), then the answer. */
  async verifyWithBiometric(commandId: string) {
    const c = this.require(commandId, 'verify');
    if (c.command.payload.factor !== 'biometric')
      throw new CommandInputError('The agent asked for your PIN.');
    await this.opts.host.verifyBiometric();
    return this.finish(commandId, () =>
      this.post(commandId, { outcome: 'done', result: { kind: 'verify', factor: 'biometric' } }),
    );
  }

  /** photo or screenshot: the image (JPEG or PNG) is the answer. */
  async sendImage(commandId: string, image: Blob) {
    const c = this.get(commandId);
    if (!c || (c.kind !== 'photo' && c.kind !== 'screenshot'))
      throw new CommandInputError('This request does not ask for an image.');
    if (image.type !== 'image/jpeg' && image.type !== 'image/png')
      throw new CommandInputError('Only JPEG or PNG images can be sent.');
    await this.opts.host.ensureAuthenticated();
    return this.finish(commandId, () =>
      this.opts.host.client.call('commandImage', { params: { commandId }, body: image }),
    );
  }

  /** text: checked per input type (tracking number, email, free text) before it is sent. */
  async answerText(commandId: string, value: string) {
    const c = this.require(commandId, 'text');
    const v = validateText(c.command.payload, value);
    if (!v.ok) throw new CommandInputError(v.message);
    return this.finish(commandId, () =>
      this.post(commandId, { outcome: 'done', result: { kind: 'text', value: v.value } }),
    );
  }

  /** menu: the item chosen from the revision on screen (a newer revision replaces the card first). */
  async chooseMenuItem(commandId: string, itemId: string) {
    const c = this.require(commandId, 'menu');
    if (!c.command.payload.items.some((i) => i.id === itemId))
      throw new CommandInputError('That choice is not in this menu any more.');
    return this.finish(commandId, () =>
      this.post(commandId, { outcome: 'done', result: { kind: 'menu', itemId, revision: c.revision } }),
    );
  }

  /** form: the inputs' values checked and typed (numbers, booleans) before they are sent. */
  async submitForm(commandId: string, draft: FormDraft) {
    const c = this.require(commandId, 'form');
    const v = validateForm(c.command.payload, draft);
    if (!v.ok) throw new CommandInputError('Some fields need your attention.', v.errors);
    return this.finish(commandId, () =>
      this.post(commandId, { outcome: 'done', result: { kind: 'form', values: v.values } }),
    );
  }

  /**
   * confirm (PSD2 strong customer authentication with dynamic linking): the customer has
   * seen payee, amount and the debited account, and gives a user-verifying factor now:
   * `{ kind: 'biometric' }` runs a WebAuthn assertion (user verification required) whose
   * challenge is `confirmChallenge(...)` of exactly this transaction, account and nonce;
   * `{ kind: 'pin', pin }` sends the PIN entered now (counted towards the lockout). The
   * device key also signs `confirmCanonical(...)`. Resolves with the receipt.
   */
  async confirmTransaction(
    commandId: string,
    factor: { kind: 'biometric' } | { kind: 'pin'; pin: string },
  ): Promise<{ commandId: string; at: string; receipt: ConfirmReceipt }> {
    const c = this.require(commandId, 'confirm');
    const r = this.opts.host.openRequest();
    const deviceId = this.opts.host.deviceId();
    if (!r || !deviceId || r.requestId !== c.requestId)
      throw new CommandInputError('This request is no longer open.');
    const { transaction, account, nonce } = c.command.payload;
    if (account === undefined || nonce === undefined)
      throw new CommandInputError(
        'This payment does not name the account it is paid from: ask the agent to send it again.',
      );
    if (factor.kind === 'pin' && !/^[0-9]{4,12}$/.test(factor.pin))
      throw new CommandInputError('A PIN is 4 to 12 digits.');
    const canonical = confirmCanonical({
      commandId: c.commandId,
      requestId: c.requestId,
      sessionId: r.sessionId,
      deviceId,
      transaction,
    });
    const given: ConfirmFactor =
      factor.kind === 'pin'
        ? { kind: 'pin', pin: factor.pin }
        : {
            kind: 'biometric',
            assertion: (await this.opts.host.assertTransaction(
              await confirmChallenge({ commandId: c.commandId, transaction, account, nonce }),
            )) as Extract<ConfirmFactor, { kind: 'biometric' }>['assertion'],
          };
    const signature = await this.opts.host.signConfirmation(canonical);
    const res = await this.finish(commandId, () =>
      this.post(commandId, { outcome: 'done', result: { kind: 'confirm', signature, factor: given } }),
    );
    if (!res.receipt) throw new Error('the authority confirmed without a receipt');
    return { commandId: res.commandId, at: res.at, receipt: res.receipt };
  }

  /** The customer's receipts of confirmed transactions, newest first (GET /v1/device/receipts). */
  async receipts(): Promise<ConfirmReceipt[]> {
    await this.opts.host.ensureAuthenticated();
    return (await this.opts.host.client.call('deviceReceipts', {})).receipts;
  }

  /** navigate: the app opened the screen asked for. */
  navigated(commandId: string) {
    const c = this.require(commandId, 'navigate');
    return this.finish(commandId, () =>
      this.post(commandId, {
        outcome: 'done',
        result: { kind: 'navigate', screen: c.command.payload.screen },
      }),
    );
  }

  // ---- the customer's "Stop all" -------------------------------------------------

  /**
   * The authority's word on whether control is stopped for the open request wins over
   * what this app remembered (a reinstall forgets; another tab may have resumed).
   */
  private syncStopped(stopped: readonly { requestId: string; stoppedAt: string }[]): void {
    const r = this.opts.host.openRequest();
    if (!r) return;
    const entry = stopped.find((x) => x.requestId === r.requestId);
    const was = this.stoppedRequestId === r.requestId;
    if (!!entry === was) return;
    this.stoppedRequestId = entry ? r.requestId : null;
    this.opts.onStopped?.(this.stoppedRequestId);
    this.emit('control', {
      requestId: r.requestId,
      stopped: !!entry,
      at: entry ? new Date(entry.stoppedAt) : new Date(),
    });
  }

  /** "Stop all": every open command is cancelled and the agent cannot send new ones until `resumeControl()`. */
  async stopControl() {
    const r = this.opts.host.openRequest();
    if (!r) throw new CommandInputError('There is no open request.');
    await this.opts.host.ensureAuthenticated();
    const res = await this.opts.host.client.call('stopControl', { params: { requestId: r.requestId } });
    this.stoppedRequestId = r.requestId;
    this.opts.onStopped?.(r.requestId);
    for (const c of [...this.cards]) this.remove(c.commandId);
    this.emit('control', { requestId: r.requestId, stopped: true, at: new Date(res.stoppedAt) });
    return res;
  }

  /** "Allow again": the agent may send commands again. */
  async resumeControl() {
    const r = this.opts.host.openRequest();
    if (!r) throw new CommandInputError('There is no open request.');
    await this.opts.host.ensureAuthenticated();
    const res = await this.opts.host.client.call('resumeControl', { params: { requestId: r.requestId } });
    this.stoppedRequestId = null;
    this.opts.onStopped?.(null);
    this.emit('control', { requestId: r.requestId, stopped: false, at: new Date(res.resumedAt) });
    return res;
  }
}

export type { FormDraft };
