import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import {
  signedMessages,
  WS_PATH,
  type AuthenticationView,
  type ClientFrame,
  type ConfirmReceipt,
  type CreateRequestResult,
  type DeviceMe,
  type DeviceRevoked,
  type RequestHistory,
  type RequestView,
} from '../../protocol/src/index.ts';
import type { ChatTranscript, ConversationList } from '../../protocol/src/chat.ts';
import {
  IncomingCallGuard,
  MemorySeenTickets,
  type CallProofAnswer,
  type SeenTickets,
} from './call-guard.ts';
import { AuthorityClient } from './client.ts';
import { DeviceKey } from './device-key.ts';
import { Emitter } from './emitter.ts';
import { randomId } from './encoding.ts';
import type { CommandMemory } from './command-verifier.ts';
import { DeviceCommands } from './device-commands.ts';
import type { FeedStatus, WebSocketLike } from './feed.ts';
import { attachmentName, newClientMsgId, type ChatSession } from './chat.ts';
import type { ChatMessage } from '../../protocol/src/chat.ts';
import type { RouteFile } from '../../protocol/src/route-client.ts';
import { LIVE_STATES, RequestFollower } from './request-follower.ts';
import { CallContinuation } from './call-continuation.ts';
import { callProof, confirmationSignature, deviceProof } from './proofs.ts';
import { defaultStore, type KeyValueStore } from './storage.ts';
import { browserWebAuthn, type WebAuthnCeremonies } from './webauthn.ts';
import type { PushConfig, PushSubscriptionBody } from '../../protocol/src/push.ts';

/** What is kept on the phone after enrolment (the private key stays inside WebCrypto). */
export interface Enrolment {
  keyPair: CryptoKeyPair;
  deviceId: string;
  customerId: string;
  customerName: string;
  enrolledAt: string;
}

export interface AccessDeviceOptions {
  /** The authority's origin (default: the page's origin, where the authority serves the app). */
  baseUrl?: string;
  store?: KeyValueStore;
  fetch?: typeof fetch;
  now?: () => number;
  createSocket?: (url: string) => WebSocketLike;
  /** The authority's signing keys, for call tickets and agent commands (default: its published JWKS). */
  authorityKeys?: JWTVerifyGetKey;
  webauthn?: WebAuthnCeremonies;
  /** Feed reconnect backoff. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface AccessDeviceEvents extends Record<string, unknown> {
  authentication: AuthenticationView | null;
  /** The followed request changed (live position, wait, state), or null when there is none. */
  request: RequestView | null;
  feed: FeedStatus;
  /** The agent is consulting a colleague about the request (a warm transfer is open), or no longer. */
  consult: { requestId: string; active: boolean };
  /** The agent started chatting on the open request (the app shows the chat): `chat()` is its session. */
  chatStarted: { requestId: string };
}

/** A step-up the app performs when the option needs more than the current level. */
export type StepUp = (
  needed: Extract<CreateRequestResult, { status: 'step_up_required' }>,
) => Promise<boolean>;

const KEY_ENROLMENT = 'enrolment';
const KEY_SEEN_TICKETS = 'seen-call-tickets';
const KEY_COMMAND_MEMORY = 'command-memory';
const KEY_CONTROL_STOPPED = 'control-stopped';
/** Re-authenticate this long before the device token expires. */
const TOKEN_MARGIN_MS = 30_000;

/** The UTC day `offset` days from `now`, as the authority's slot API wants it (YYYY-MM-DD). */
export const utcDay = (now: number, offset = 0): string =>
  new Date(now + offset * 86_400_000).toISOString().slice(0, 10);

/**
 * The access device: everything the customer's phone does with the authority.
 * Enrolment and authentication by signed challenges with a non-extractable device
 * key, factors (PIN, biometric, photo), the menu, a service request with step-up,
 * its live position over the WebSocket, the callback choice, and the guard that
 * lets only verified calls ring.
 */
export class AccessDevice extends Emitter<AccessDeviceEvents> {
  readonly client: AuthorityClient;
  readonly guard: IncomingCallGuard;
  /**
   * The call that continues across a transfer: after the far end hung up because the open
   * request moved to another holder, the new holder's call (same request, same session, a
   * higher fence) is answered without ringing (give it to CustomerPhone as `continuation`).
   */
  readonly continuation: CallContinuation;
  /** The agent's commands on this phone: verified cards, answers, "Stop all" (see DeviceCommands). */
  readonly commands: DeviceCommands;
  authentication: AuthenticationView | null = null;

  private key: DeviceKey | null = null;
  private tokenExpiresAt = 0;
  private readonly requests: RequestFollower;
  private readonly now: () => number;
  private readonly webauthn: WebAuthnCeremonies;

  private constructor(
    opts: AccessDeviceOptions,
    private readonly store: KeyValueStore,
    private enrolment: Enrolment | null,
    seen: SeenTickets,
    remembered: { commands?: CommandMemory; stoppedRequestId?: string | null },
  ) {
    super();
    this.now = opts.now ?? Date.now;
    this.webauthn = opts.webauthn ?? browserWebAuthn;
    const baseUrl = opts.baseUrl ?? globalThis.location.origin;
    this.client = new AuthorityClient({
      baseUrl,
      now: this.now,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
    if (enrolment) this.key = DeviceKey.fromStored(enrolment.keyPair);
    this.requests = new RequestFollower({
      client: this.client,
      store,
      hello: (sid) => this.hello(sid),
      reauthenticate: async () => {
        await this.authenticate();
      },
      ...(opts.createSocket ? { createSocket: opts.createSocket } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
    this.requests.on('request', (r) => this.emit('request', r));
    this.requests.on('feed', (s) => this.emit('feed', s));
    this.requests.on('chatStarted', (c) => this.emit('chatStarted', c));
    const keys = opts.authorityKeys ?? createRemoteJWKSet(new URL('/.well-known/jwks.json', baseUrl));
    this.guard = new IncomingCallGuard({
      keys,
      device: {
        deviceId: () => this.enrolment?.deviceId ?? null,
        isLiveSession: (sid) => this.requests.isLiveSession(sid),
        proveCall: (ticket) => this.proveCall(ticket),
      },
      seen,
      now: this.now,
    });
    this.continuation = new CallContinuation({ request: () => this.requests.request });
    this.requests.on('request', (r) => this.continuation.requestChanged(r));
    this.commands = new DeviceCommands({
      keys,
      now: this.now,
      host: {
        client: this.client,
        deviceId: () => this.enrolment?.deviceId ?? null,
        openRequest: () => {
          const r = this.requests.request;
          return r && LIVE_STATES.has(r.state) ? { requestId: r.requestId, sessionId: r.sessionId } : null;
        },
        ensureAuthenticated: () => this.ensureAuthenticated(),
        verifyPin: (pin) => this.verifyPin(pin),
        verifyBiometric: () => this.verifyBiometric(),
        signConfirmation: (canonical) => confirmationSignature(this.requireKey().privateKey, canonical),
        assertTransaction: (challenge) => this.assertTransaction(challenge),
        send: (frame) => this.requests.send(frame),
      },
      ...(remembered.commands ? { memory: remembered.commands } : {}),
      onMemory: (m) => void store.set(KEY_COMMAND_MEMORY, m),
      stoppedRequestId: remembered.stoppedRequestId ?? null,
      onStopped: (id) => void store.set(KEY_CONTROL_STOPPED, id),
    });
    this.requests.on('frame', (f) => {
      if (f.type === 'request.consult') this.emit('consult', { requestId: f.requestId, active: f.active });
      else this.commands.handleFrame(f);
    });
    // Commands sent while the feed was down (or before a reload) come from the pending list.
    this.requests.on('feed', (s) => {
      if (s === 'open') this.commands.fetchPending().catch(() => undefined);
    });
    this.requests.on('request', (r) => {
      if (!r || !LIVE_STATES.has(r.state) || this.commands.list.some((c) => c.requestId !== r.requestId))
        this.commands.clear();
    });
  }

  /** The device as stored on this phone (not enrolled yet if nothing is stored). */
  static async open(opts: AccessDeviceOptions = {}): Promise<AccessDevice> {
    const store = opts.store ?? defaultStore();
    const enrolment = (await store.get<Enrolment>(KEY_ENROLMENT)) ?? null;
    const now = opts.now ?? Date.now;
    const memory = new MemorySeenTickets(now);
    for (const [jti, exp] of (await store.get<[string, number][]>(KEY_SEEN_TICKETS)) ?? [])
      if (exp > now()) memory.add(jti, exp);
    const seen: SeenTickets = {
      has: (jti) => memory.has(jti),
      add: (jti, exp) => {
        memory.add(jti, exp);
        void store.set(KEY_SEEN_TICKETS, memory.entries());
      },
    };
    const commands = await store.get<CommandMemory>(KEY_COMMAND_MEMORY);
    const stoppedRequestId = await store.get<string | null>(KEY_CONTROL_STOPPED);
    return new AccessDevice(opts, store, enrolment, seen, {
      ...(commands ? { commands } : {}),
      stoppedRequestId: stoppedRequestId ?? null,
    });
  }

  get enrolled(): boolean {
    return this.enrolment !== null;
  }

  get identity(): Omit<Enrolment, 'keyPair'> | null {
    if (!this.enrolment) return null;
    const { keyPair: _k, ...rest } = this.enrolment;
    return rest;
  }

  private requireKey(): DeviceKey {
    if (!this.key || !this.enrolment) throw new Error('this device is not enrolled');
    return this.key;
  }

  // ---- enrolment and authentication ---------------------------------------

  /**
   * Make the device key, sign the enrolment challenge with the one-time code, keep the
   * key. The enrolment answer is also the first authentication: only it may set up the
   * PIN, biometric and enrolment photo below their level, until `setupUntil` (so set them
   * up right after enrolling, before anything re-authenticates).
   */
  async enrol(code: string, label?: string): Promise<Omit<Enrolment, 'keyPair'>> {
    const key = await DeviceKey.generate();
    const ch = await this.client.call('challenge', { body: { purpose: 'enrol' } });
    const r = await this.client.call('enrol', {
      body: {
        code,
        publicKey: await key.publicJwk(),
        challengeId: ch.challengeId,
        signature: await key.signText(signedMessages.enrolment(ch.challengeId, ch.nonce, code)),
        ...(label ? { label } : {}),
      },
    });
    if (r.deviceId !== (await key.thumbprint())) throw new Error('the authority named another device id');
    this.enrolment = {
      keyPair: key.keyPair,
      deviceId: r.deviceId,
      customerId: r.customerId,
      customerName: r.customerName,
      enrolledAt: new Date(this.now()).toISOString(),
    };
    this.key = key;
    await this.store.set(KEY_ENROLMENT, this.enrolment);
    this.useToken(r.deviceToken, r.tokenExpiresAt, key);
    this.setAuthentication(r.authentication);
    return this.identity!;
  }

  /** Prove possession of the device key: a fresh authentication at level 1 (device) and a device token. */
  async authenticate(): Promise<AuthenticationView> {
    const key = this.requireKey();
    const deviceId = this.enrolment!.deviceId;
    const ch = await this.client.call('challenge', { body: { purpose: 'authenticate', deviceId } });
    const r = await this.client.call('authenticate', {
      body: {
        deviceId,
        challengeId: ch.challengeId,
        signature: await key.signText(signedMessages.authentication(ch.challengeId, ch.nonce, deviceId)),
      },
    });
    this.useToken(r.deviceToken, r.tokenExpiresAt, key);
    this.setAuthentication(r.authentication);
    return r.authentication;
  }

  private useToken(token: string, expiresAt: string, key: DeviceKey): void {
    this.client.credentials = { token, key: key.privateKey };
    this.tokenExpiresAt = Date.parse(expiresAt);
  }

  private setAuthentication(a: AuthenticationView | null): void {
    this.authentication = a;
    this.emit('authentication', a);
  }

  /** Authenticate again when the token is about to expire (the level starts again at 1). */
  async ensureAuthenticated(): Promise<void> {
    if (!this.client.credentials || this.now() > this.tokenExpiresAt - TOKEN_MARGIN_MS)
      await this.authenticate();
  }

  async me(): Promise<DeviceMe> {
    await this.ensureAuthenticated();
    const me = await this.client.call('deviceMe', {});
    this.setAuthentication(me.authentication);
    return me;
  }

  // ---- push: how the authority wakes this phone when the app is closed ------

  /** The authority's VAPID key, the push kinds it delivers, and whether this device has a subscription. */
  async pushConfig(): Promise<PushConfig> {
    await this.ensureAuthenticated();
    return this.client.call('pushConfig', {});
  }

  /**
   * The push hook: register how to wake this device (replaces the previous one). Web apps
   * pass their Web Push subscription (`subscribeWebPush` makes one); native apps pass
   * their own token, `{ kind: 'fcm' | 'apns', token }`, which the authority hands to its
   * push webhook when an agent takes the request while the app is closed.
   */
  async registerPush(channel: PushSubscriptionBody): Promise<void> {
    await this.ensureAuthenticated();
    await this.client.call('putPushSubscription', { body: channel });
  }

  /** This device will not be woken any more. */
  async unregisterPush(): Promise<void> {
    await this.ensureAuthenticated();
    await this.client.call('deletePushSubscription', {});
  }

  /** Forget the enrolment on this phone (the key is deleted; the authority keeps its record). */
  async forget(): Promise<void> {
    this.unfollow();
    await this.store.delete(KEY_ENROLMENT);
    this.enrolment = null;
    this.key = null;
    this.client.credentials = null;
    this.setAuthentication(null);
  }

  // ---- the customer's account on this phone -----------------------------------

  /** The customer's requests with their outcomes, newest first; `cursor` is a previous page's nextCursor. */
  async history(cursor?: string | null, limit?: number): Promise<RequestHistory> {
    await this.ensureAuthenticated();
    const query: { cursor?: string; limit?: string } = {};
    if (cursor) query.cursor = cursor;
    if (limit !== undefined) query.limit = String(limit);
    return await this.client.call('deviceHistory', { query });
  }

  /** One receipt of the customer's (404 AuthorityError for another's). */
  async receipt(receiptId: string): Promise<ConfirmReceipt> {
    await this.ensureAuthenticated();
    return await this.client.call('deviceReceipt', { params: { receiptId } });
  }

  /** The customer's chat conversations (past and open), newest first; `cursor` is a previous page's nextCursor. */
  async conversations(cursor?: string | null, limit?: number): Promise<ConversationList> {
    await this.ensureAuthenticated();
    const query: { cursor?: string; limit?: string } = {};
    if (cursor) query.cursor = cursor;
    if (limit !== undefined) query.limit = String(limit);
    return await this.client.call('deviceConversations', { query });
  }

  /** A page of one of the customer's conversations, by seq after `after` (404 AuthorityError for another's). */
  async conversation(requestId: string, after = 0, limit?: number): Promise<ChatTranscript> {
    await this.ensureAuthenticated();
    const query: { after: string; limit?: string } = { after: String(after) };
    if (limit !== undefined) query.limit = String(limit);
    return await this.client.call('deviceConversation', { params: { requestId }, query });
  }

  /**
   * A link texted during a phone call with the company (`https://<host>/v/<token>`; take
   * the token from the URL the app was opened with by `verificationLinkToken`): presented
   * with this authentication (level 2 or more: verify the PIN or fingerprint first), the
   * call's request carries this phone's verification. Used once; refusals are
   * AuthorityErrors (410 used or expired, 403 another customer's or level too low, 404).
   */
  async useVerificationLink(token: string): Promise<{ requestId: string; level: number }> {
    await this.ensureAuthenticated();
    return await this.client.call('useVerificationLink', { params: { token } });
  }

  /** Change the PIN: the current one is checked first (level 2), then the new one is set. */
  async changePin(current: string, next: string): Promise<void> {
    await this.verifyPin(current);
    await this.setPin(next);
  }

  /**
   * Remove this phone from the customer's account: the authority revokes the device (its
   * sessions end, its open request is abandoned), then the key and everything kept here are
   * forgotten. Enrol again with a new code to use the phone.
   */
  async revoke(): Promise<DeviceRevoked> {
    await this.ensureAuthenticated();
    const out = await this.client.call('revokeDevice', {});
    await this.forget();
    await this.store.delete(KEY_COMMAND_MEMORY);
    await this.store.delete(KEY_CONTROL_STOPPED);
    return out;
  }

  // ---- factors --------------------------------------------------------------

  /** Acknowledge a security notice (a new device or factor of this customer, shown on this phone). */
  async acknowledgeNotice(noticeId: string): Promise<void> {
    await this.ensureAuthenticated();
    await this.client.call('acknowledgeNotice', { params: { noticeId } });
  }

  async setPin(pin: string): Promise<void> {
    await this.ensureAuthenticated();
    await this.client.call('setPin', { body: { pin } });
  }

  async verifyPin(pin: string): Promise<AuthenticationView> {
    await this.ensureAuthenticated();
    const a = await this.client.call('pinFactor', { body: { pin } });
    this.setAuthentication(a);
    return a;
  }

  /** Register a fingerprint/face credential (user verification required by the authority's options). */
  async registerBiometric(): Promise<string> {
    await this.ensureAuthenticated();
    const options = await this.client.call('webauthnRegistrationOptions', {});
    // The authority made these options with @simplewebauthn/server; they go to the browser as they are.
    const response = await this.webauthn.register(
      options as unknown as PublicKeyCredentialCreationOptionsJSON,
    );
    const r = await this.client.call('webauthnRegister', {
      body: { response: { ...response, clientExtensionResults: { ...response.clientExtensionResults } } },
    });
    return r.credentialId;
  }

  /** A fresh biometric assertion: the authentication steps up to level 3. */
  async verifyBiometric(): Promise<AuthenticationView> {
    await this.ensureAuthenticated();
    const options = await this.client.call('webauthnAssertionOptions', {});
    const response = await this.webauthn.authenticate(
      options as unknown as PublicKeyCredentialRequestOptionsJSON,
    );
    const a = await this.client.call('webauthnFactor', {
      body: { response: { ...response, clientExtensionResults: { ...response.clientExtensionResults } } },
    });
    this.setAuthentication(a);
    return a;
  }

  /**
   * The fingerprint over a transaction (dynamic linking): a WebAuthn assertion with user
   * verification required whose challenge is the transaction's, not the authority's random
   * one (the assertion options give the credentials and the RP ID; their challenge is not used).
   */
  async assertTransaction(challenge: string): Promise<AuthenticationResponseJSON> {
    await this.ensureAuthenticated();
    const options = await this.client.call('webauthnAssertionOptions', {});
    const response = await this.webauthn.authenticate({
      ...(options as unknown as PublicKeyCredentialRequestOptionsJSON),
      challenge,
      userVerification: 'required',
    });
    return { ...response, clientExtensionResults: { ...response.clientExtensionResults } };
  }

  /** A JPEG/PNG from the camera: the enrolment photo, or a verification photo (level 2). */
  async uploadPhoto(photo: Blob, purpose: 'enrolment' | 'verification'): Promise<string> {
    await this.ensureAuthenticated();
    const r = await this.client.call('photo', { query: { purpose }, body: photo });
    if (r.authentication) this.setAuthentication(r.authentication);
    return r.photoId;
  }

  // ---- menu and requests -----------------------------------------------------

  async menu() {
    await this.ensureAuthenticated();
    return this.client.call('deviceMenu', {});
  }

  /**
   * Ask for help with a menu option. Either queued (and followed live), or the
   * factors still needed; retrying with the same idempotency key after the step-up
   * never queues twice. Where `step_up_required` says `verifyOnCall`, asking again with
   * `{ verifyOnCall: true }` queues at the level this phone has: the agent asks the
   * customer's security questions on the call.
   */
  async createRequest(
    optionId: string,
    idempotencyKey: string = randomId(12),
    /** 'chat' where the option offers it and the customer chose it; a call otherwise. */
    channel?: 'voice' | 'chat',
    options: { verifyOnCall?: boolean } = {},
  ): Promise<CreateRequestResult> {
    await this.ensureAuthenticated();
    const body = {
      optionId,
      idempotencyKey,
      ...(channel === 'chat' ? { channel } : {}),
      ...(options.verifyOnCall ? { verifyOnCall: true as const } : {}),
    };
    const r = await this.client.call('createRequest', { body });
    if (r.status === 'queued') this.requests.follow(r.request);
    return r;
  }

  /** createRequest with the step-ups done by `stepUp` until queued (or the step-up gives up: null). */
  async requestHelp(optionId: string, stepUp: StepUp): Promise<RequestView | null> {
    const key = randomId(12);
    for (let i = 0; i < 4; i++) {
      const r = await this.createRequest(optionId, key);
      if (r.status === 'queued') return r.request;
      if (!(await stepUp(r))) return null;
    }
    throw new Error('the option still needs a higher level after the step-ups');
  }

  /** Continue with the request left open before a reload, if it is still live. */
  async resume(): Promise<RequestView | null> {
    await this.ensureAuthenticated();
    return this.requests.resume();
  }

  /** Follow a request live over the WebSocket (one at a time). */
  follow(request: RequestView): void {
    this.requests.follow(request);
  }

  /** Stop following (the request itself stays as it is). */
  unfollow(): void {
    this.requests.unfollow();
    this.continuation.stop('request-ended');
    this.commands.clear();
  }

  /** The followed request (live position, wait, state), or null. */
  get request(): RequestView | null {
    return this.requests.request;
  }

  get feedStatus(): FeedStatus {
    return this.requests.feedStatus;
  }

  private async hello(sessionId: string): Promise<ClientFrame> {
    await this.ensureAuthenticated();
    const c = this.client.credentials!;
    return {
      type: 'hello',
      auth: {
        kind: 'device',
        token: c.token,
        proof: await deviceProof(c.key, c.token, 'WS', WS_PATH, this.now()),
      },
      sessionId,
    };
  }

  /** Callback slots of a UTC day (YYYY-MM-DD) for the current request. */
  async callbackSlots(day: string) {
    await this.ensureAuthenticated();
    return this.client.call('callbackSlots', {
      params: { requestId: this.requests.requestId },
      query: { day },
    });
  }

  /** Keep my place in the queue (the default), optionally only within a window. */
  async keepPlace(window?: { from: string; until: string }): Promise<RequestView> {
    await this.ensureAuthenticated();
    const r = await this.client.call('setCallback', {
      params: { requestId: this.requests.requestId },
      body: window ? { mode: 'keep_place', window } : { mode: 'keep_place' },
    });
    this.requests.update(r);
    return r;
  }

  /** Book (or move to) a callback slot. */
  async bookSlot(slotStart: string): Promise<RequestView> {
    await this.ensureAuthenticated();
    const r = await this.client.call('setCallback', {
      params: { requestId: this.requests.requestId },
      body: { mode: 'slot', slotStart },
    });
    this.requests.update(r);
    return r;
  }

  /** Leave: the request is abandoned and its session ends (tickets for it stop ringing at once). */
  /**
   * The verified chat of the open request (issue 18): `send(text)`, `entries`, `markRead()`,
   * `typing(active)`, events `change`, `message`, `typing`, `refused`. Sent on the request's
   * feed; resumed and resent after every reconnect.
   */
  chat(): ChatSession {
    return this.requests.chat();
  }

  /**
   * Send a file (PNG, JPEG or WebP image, or PDF) in the open request's chat, as a message
   * of its own: POST /v1/device/conversations/:id/attachments with the file's own type. The
   * authority sniffs the bytes (another type, or bytes that are not what the type says:
   * AuthorityError 415 `unsupported_media_type`), limits the size (413
   * `payload_too_large`) and stores the message before answering; the message is shown in
   * `chat().entries` at once, with `attachment`. `name` defaults to the File's name;
   * `caption` is text sent with it. `attachmentErrorText(name, e)` says a refusal in words.
   */
  async sendChatFile(
    file: Blob & { readonly name?: string },
    opts: { name?: string; caption?: string } = {},
  ): Promise<ChatMessage> {
    await this.ensureAuthenticated();
    const session = this.requests.chat();
    const name = attachmentName(opts.name ?? file.name ?? 'file');
    const sent = await this.client.call('deviceAttach', {
      params: { requestId: session.requestId },
      query: {
        clientMsgId: newClientMsgId(),
        name,
        ...(opts.caption === undefined ? {} : { caption: opts.caption }),
      },
      body: file.type ? file : new Blob([file], { type: 'application/octet-stream' }),
    });
    session.received(sent.message);
    return sent.message;
  }

  /**
   * The bytes of a chat attachment (`ChatEntry.attachment.id`) of one of the customer's
   * conversations, with the type the authority sniffed: show an image from
   * `URL.createObjectURL(new Blob([bytes], { type }))`, offer a PDF as a download.
   */
  async chatAttachment(requestId: string, attachmentId: string): Promise<RouteFile> {
    await this.ensureAuthenticated();
    return await this.client.call('deviceAttachment', { params: { requestId, attachmentId } });
  }

  async cancelRequest(): Promise<RequestView> {
    await this.ensureAuthenticated();
    const r = await this.client.call('cancelRequest', { params: { requestId: this.requests.requestId } });
    this.requests.sessionEnded(r.sessionId);
    this.requests.update(r);
    return r;
  }

  // ---- calls ----------------------------------------------------------------------

  /** Ephemeral SIP credentials for this device's phone (GET /v1/sip/credentials). */
  async sipCredentials() {
    await this.ensureAuthenticated();
    return this.client.call('sipCredentials', {});
  }

  isLiveSession(sessionId: string): boolean {
    return this.requests.isLiveSession(sessionId);
  }

  /** Sign the call proof with the device key and give it to the authority (which tells the agent). */
  private async proveCall(ticket: string): Promise<{ proof: string; result: CallProofAnswer }> {
    await this.ensureAuthenticated();
    const proof = await callProof(this.requireKey().privateKey, ticket, this.now());
    const result = await this.client.call('callProof', { body: { ticket, proof } });
    return { proof, result };
  }
}
