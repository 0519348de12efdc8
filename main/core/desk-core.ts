import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  bridgeEvents,
  bridgeRequests,
  type BridgeChannel,
  type BridgeArgs,
  type BridgeRequests,
  type BridgeEventName,
  type BridgeEventPayload,
  type BridgeResult,
  type HistoryEntry,
} from '../../protocol/src/index.ts';
import { TRANSCRIPT_PAGE } from '../../protocol/src/chat.ts';
import {
  StaffClient,
  AuthorityError,
  memoryTokenStore,
  ProtocolError,
  type TokenStore,
} from './authority-client.ts';
import { allowListedOrigin, frameableOrigin } from './console-csp.ts';
import { CommandSeqs } from './command-seq.ts';
import { openLocalDb, type LocalDb } from './local-db.ts';
import { Outbox, type SendOutcome } from './outbox.ts';
import { ManagedSettingError, readManagedConfig, Settings, type ManagedConfig } from './settings.ts';
import { listenForRedirect } from './sso-loopback.ts';
import { ChatUploads, UploadError } from './chat-uploads.ts';

/**
 * Send one outbox wrap-up to the authority: acknowledged on 2xx (a replay answers
 * duplicate=true, still an acknowledgement), refused for good on a 4xx other than
 * 401, retried later otherwise.
 */
export async function deliverWrapUp(client: StaffClient, payload: string): Promise<SendOutcome> {
  const w = JSON.parse(payload) as {
    requestId: string;
    fence: number;
    disposition: string[];
    notes: string;
    idempotencyKey: string;
  };
  try {
    await client.call('wrapUp', {
      params: { requestId: w.requestId },
      body: { idempotencyKey: w.idempotencyKey, fence: w.fence, disposition: w.disposition, notes: w.notes },
    });
    return { kind: 'ack' };
  } catch (e) {
    if (e instanceof AuthorityError && !e.transient && e.status !== 401)
      return { kind: 'reject', error: `${e.status} ${e.message}` };
    return { kind: 'retry', error: (e as Error).message };
  }
}

/** A bridge call that failed: the code and message reach the renderer, nothing else. */
export class BridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DeskCoreOptions {
  dataDir: string;
  defaultAuthorityUrl: string;
  defaultSipUrl?: string | null;
  tokenStore?: TokenStore;
  managed?: ManagedConfig;
  /** The shell's allow-listed opener (Electron); absent in browser mode. */
  openExternal?: (url: string) => Promise<boolean>;
  /** The shell's opener of an identity provider's pages in the system browser (Electron); absent in browser mode. */
  openSignIn?: (url: string) => Promise<boolean>;
  /** How long a desktop sign-in waits for the system browser to come back (default 5 minutes). */
  ssoTimeoutMs?: number;
}

/** A handler gets the arguments after validation. */
type Handler<C extends BridgeChannel> = (
  args: z.output<BridgeRequests[C]['args']>,
) => Promise<BridgeResult<C>> | BridgeResult<C>;

/**
 * main/core: everything the console does that is not UI and not Electron. One
 * instance per window; the Electron shell and browser mode's web host both call
 * `invoke` with what the renderer sent (validated here against the bridge schemas
 * before any handler runs) and forward `event`s to the page.
 */
export class DeskCore extends EventEmitter<{ event: [name: BridgeEventName, payload: unknown] }> {
  readonly db: LocalDb;
  readonly client: StaffClient;
  readonly outbox: Outbox;
  readonly settings: Settings;
  readonly seqs: CommandSeqs;
  /** The CRM origins the side panel may show (managed screenPopOrigins, normalised); the CSP's frame-src. */
  readonly screenPopOrigins: readonly string[];
  private readonly sending = new Map<string, Promise<unknown>>();
  /** States of the browser-mode sign-ins this console started (a callback with any other is not ours). */
  private readonly ssoStates = new Map<string, number>();
  private readonly handlers: { [C in BridgeChannel]: Handler<C> };
  private readonly uploads = new ChatUploads();

  constructor(private readonly opts: DeskCoreOptions) {
    super();
    mkdirSync(opts.dataDir, { recursive: true });
    this.db = openLocalDb(join(opts.dataDir, 'console.sqlite'));
    const managed = opts.managed ?? readManagedConfig();
    this.settings = new Settings(this.db, managed, {
      authorityUrl: opts.defaultAuthorityUrl,
      sipUrl: opts.defaultSipUrl ?? null,
    });
    this.screenPopOrigins = [
      ...new Set((managed.screenPopOrigins ?? []).map(frameableOrigin).filter((o) => o !== null)),
    ];
    this.client = new StaffClient(this.settings.get().authorityUrl, opts.tokenStore ?? memoryTokenStore());
    this.outbox = new Outbox(this.db, (e) => deliverWrapUp(this.client, e.payload));
    this.seqs = new CommandSeqs(this.db);
    this.outbox.on('status', (s) => this.emitEvent('outbox.status', s));
    this.client.on('connection', (state) => {
      this.emitEvent('connection.state', { state, since: new Date().toISOString() });
      if (state === 'connected') this.outbox.retryNow();
    });
    this.client.on('frame', (f) => {
      switch (f.type) {
        case 'queue.snapshot':
          return this.emitEvent('queue.snapshot', f.snapshot);
        case 'queue.delta':
          return this.emitEvent('queue.delta', { queues: f.queues, upserts: f.upserts });
        case 'board.snapshot':
          return this.emitEvent('board.snapshot', f.board);
        case 'agent.state':
          return this.emitEvent('agent.state', f.agent);
        case 'offer':
          return this.emitEvent('offer', f.offer);
        case 'call.verified':
          return this.emitEvent('call.verified', { requestId: f.requestId, at: f.at });
        case 'panel.changed':
          return this.emitEvent('panel.changed', { requestId: f.requestId, reason: f.reason, at: f.at });
        case 'command.update':
          return this.emitEvent('command.update', f.command);
        case 'control.state':
          return this.emitEvent('control.state', {
            requestId: f.requestId,
            stopped: f.stopped,
            at: f.at,
            cancelled: f.cancelled,
          });
        case 'transfer.update':
          return this.emitEvent('transfer.update', f.transfer);
        case 'monitor.update': {
          const { type: _type, ...update } = f;
          return this.emitEvent('monitor.update', update);
        }
        default:
          return;
      }
    });
    this.client.on('chat', (f) => this.emitEvent('chat.frame', f));
    this.handlers = this.createHandlers();
  }

  emitEvent<E extends BridgeEventName>(name: E, payload: BridgeEventPayload<E>): void {
    this.emit('event', name, bridgeEvents[name].parse(payload));
  }

  /** The one entry point for renderer calls: unknown channels and invalid arguments are refused here. */
  async invoke(channel: string, rawArgs: unknown): Promise<unknown> {
    if (!Object.hasOwn(bridgeRequests, channel))
      throw new BridgeError('unknown_channel', `no bridge channel "${channel.slice(0, 64)}"`);
    const c = channel as BridgeChannel;
    const parsed = bridgeRequests[c].args.safeParse(rawArgs ?? {});
    if (!parsed.success)
      throw new BridgeError(
        'invalid_argument',
        `${c}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')}`.slice(
          0,
          500,
        ),
      );
    try {
      const result = await (this.handlers[c] as (a: unknown) => unknown)(parsed.data);
      return bridgeRequests[c].result.parse(result);
    } catch (e) {
      if (e instanceof BridgeError) throw e;
      if (e instanceof AuthorityError) throw new BridgeError(e.code, e.message);
      if (e instanceof ProtocolError) throw new BridgeError('bad_response', e.message);
      if (e instanceof ManagedSettingError) throw new BridgeError('managed_setting', e.message);
      throw new BridgeError('internal', (e as Error).message.slice(0, 300));
    }
  }

  private afterLogin(role: string): void {
    this.client.connect(role === 'agent' ? ['queues'] : ['queues', 'board']);
    this.outbox.start();
  }

  /**
   * Send a command with the next seq of (request, fence). If the authority has seen a
   * higher seq than this store (command_replayed / seq_out_of_order: another console of
   * the same agent, or a lost local store), take its lastSeq and try once more.
   */
  private sendCommand(args: BridgeArgs<'command.send'>): Promise<BridgeResult<'command.send'>> {
    // One at a time per request: this console's own sends reach the authority in seq order.
    const prev = this.sending.get(args.requestId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.sendOne(args));
    const tail = run.catch(() => undefined);
    this.sending.set(args.requestId, tail);
    void tail.then(() => {
      if (this.sending.get(args.requestId) === tail) this.sending.delete(args.requestId);
    });
    return run;
  }

  private async sendOne(args: BridgeArgs<'command.send'>): Promise<BridgeResult<'command.send'>> {
    const { requestId, fence, command, ttlSeconds } = args;
    for (let attempt = 0; ; attempt++) {
      const seq = this.seqs.next(requestId, fence);
      try {
        return await this.client.call('sendCommand', {
          params: { requestId },
          body: { fence, seq, command, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) },
        });
      } catch (e) {
        const resync =
          e instanceof AuthorityError && (e.code === 'command_replayed' || e.code === 'seq_out_of_order');
        if (!resync || attempt > 0) throw e;
        const known = await this.client.call('requestCommands', { params: { requestId } });
        if (known.fence !== fence) throw e;
        this.seqs.atLeast(requestId, fence, known.lastSeq);
      }
    }
  }

  /** A request that became mine without an offer (warm transfer, take-over) goes into the history too. */
  private remember(r: {
    requestId: string;
    customerName: string;
    optionLabel: string;
    level: number;
    fence: number;
  }): void {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO history (request_id, customer_name, option_label, level, fence, accepted_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(r.requestId, r.customerName, r.optionLabel, r.level, r.fence, Date.now());
  }

  private history(limit: number): HistoryEntry[] {
    return this.db
      .prepare<
        [number],
        {
          request_id: string;
          customer_name: string;
          option_label: string;
          level: number;
          accepted_at: number;
          completed_at: number | null;
          disposition: string | null;
          key: string | null;
          sent_at: number | null;
        }
      >(
        `SELECT h.*, w.disposition, w.idempotency_key AS key, o.sent_at FROM history h
         LEFT JOIN wrap_ups w ON w.request_id = h.request_id
         LEFT JOIN outbox o ON o.idempotency_key = w.idempotency_key
         ORDER BY h.accepted_at DESC LIMIT ?`,
      )
      .all(limit)
      .map((r) => ({
        requestId: r.request_id,
        customerName: r.customer_name,
        optionLabel: r.option_label,
        level: r.level,
        acceptedAt: new Date(r.accepted_at).toISOString(),
        completedAt: r.completed_at === null ? null : new Date(r.completed_at).toISOString(),
        disposition: r.disposition ? (JSON.parse(r.disposition) as string[]) : null,
        wrapUpState: r.key === null ? 'none' : r.sent_at !== null ? 'sent' : 'pending',
      }));
  }

  private createHandlers(): { [C in BridgeChannel]: Handler<C> } {
    const c = this.client;
    return {
      'session.login': async ({ username, password }) => {
        const staff = await c.login(username, password);
        this.afterLogin(staff.role);
        return staff;
      },
      'session.logout': async () => {
        this.outbox.stop();
        const { endSessionUrl } = await c.logout();
        if (!endSessionUrl) return { ok: true as const };
        // The provider's session ends too (RP-initiated logout): the desktop app opens its page in the
        // system browser (where the provider's cookies are); browser mode's page goes there itself.
        if (this.opts.openSignIn && (await this.opts.openSignIn(endSessionUrl))) return { ok: true as const };
        return { ok: true as const, endSessionUrl };
      },
      'sso.settings': () => c.call('ssoSettings'),
      'sso.begin': async ({ returnTo }) => {
        const started = await c.call('ssoStart', { body: { redirectUri: returnTo } });
        const now = Date.now();
        for (const [s, until] of this.ssoStates) if (until < now) this.ssoStates.delete(s);
        this.ssoStates.set(started.state, Date.parse(started.expiresAt));
        return { authorizationUrl: started.authorizationUrl };
      },
      'sso.complete': async ({ callbackUrl }) => {
        const state = new URL(callbackUrl).searchParams.get('state') ?? '';
        // Login CSRF: only a sign-in this console started may finish here (single use).
        if (!this.ssoStates.delete(state))
          throw new BridgeError('sso_not_started', 'This sign-in was not started here: start it again.');
        const staff = await c.ssoSignIn(callbackUrl);
        this.afterLogin(staff.role);
        return staff;
      },
      'sso.signIn': async () => {
        const open = this.opts.openSignIn;
        if (!open)
          throw new BridgeError(
            'not_desktop',
            'Single sign-on through the system browser needs the desktop app.',
          );
        const loopback = await listenForRedirect(this.opts.ssoTimeoutMs);
        try {
          const started = await c.call('ssoStart', { body: { redirectUri: loopback.redirectUri } });
          if (!(await open(started.authorizationUrl)))
            throw new BridgeError('sso_not_opened', 'The sign-in page could not be opened in your browser.');
          const callbackUrl = await loopback.callback.catch((e: unknown) => {
            throw new BridgeError('sso_timeout', (e as Error).message);
          });
          if (new URL(callbackUrl).searchParams.get('state') !== started.state)
            throw new BridgeError(
              'sso_not_started',
              'The browser came back from another sign-in: start again.',
            );
          const staff = await c.ssoSignIn(callbackUrl);
          this.afterLogin(staff.role);
          return staff;
        } finally {
          loopback.close();
        }
      },
      'session.current': async () => {
        if (c.staff) return c.staff;
        const staff = await c.resume();
        if (staff) this.afterLogin(staff.role);
        return staff;
      },
      'agent.me': () => c.call('agentMe'),
      'agent.setPresence': (args) => c.call('setPresence', { body: args }),
      'agent.stats': ({ since }) => c.call('agentStats', { query: { since } }),
      'queue.snapshot': () => c.call('agentQueues'),
      'board.snapshot': () => c.call('board'),
      'reports.get': (query) => c.call('report', { query }),
      'reports.csv': (query) => c.call('reportCsv', { query }),
      'crm.screenPop': async ({ requestId }) => {
        const pop = await c.call('screenPop', { params: { requestId } });
        // The side panel frames only the CRM origins of this console's own allow-list (its CSP says the same).
        if (pop.url && pop.opensIn === 'sidePanel' && !allowListedOrigin(pop.url, this.screenPopOrigins))
          throw new BridgeError(
            'not_allowed',
            `${new URL(pop.url).origin} is not allowed in the side panel (the console's managed screenPopOrigins)`,
          );
        return pop;
      },
      'offer.accept': async ({ requestId, fence }) => {
        const r = await c.call('acceptOffer', { params: { requestId }, body: { fence } });
        this.remember(r);
        return r;
      },
      'offer.reject': async ({ requestId, fence }) => {
        await c.call('rejectOffer', { params: { requestId }, body: { fence } });
        return { ok: true as const };
      },
      'request.complete': async ({ requestId, fence }) => {
        const r = await c.call('completeRequest', { params: { requestId }, body: { fence } });
        this.db
          .prepare('UPDATE history SET completed_at = ? WHERE request_id = ?')
          .run(Date.now(), requestId);
        return r;
      },
      'panel.get': ({ requestId }) => c.call('customerPanel', { params: { requestId } }),
      'panel.photo': async ({ requestId, photoId }) => {
        const { type, bytes } = await c.call('requestPhoto', { params: { requestId, photoId } });
        return `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
      },
      'panel.comparePhoto': ({ requestId, photoId, fence, verdict }) =>
        c.call('comparePhoto', { params: { requestId, photoId }, body: { fence, verdict } }),
      'panel.knowledgeQuestions': ({ requestId }) =>
        c.call('requestKnowledgeQuestions', { params: { requestId } }),
      'panel.knowledgeCheck': ({ requestId, ...body }) =>
        c.call('requestKnowledgeCheck', { params: { requestId }, body }),
      'panel.sendVerificationLink': ({ requestId, fence }) =>
        c.call('sendVerificationLink', { params: { requestId }, body: { fence } }),
      'panel.identifyCaller': ({ requestId, ...body }) =>
        c.call('identifyCaller', { params: { requestId }, body }),
      'panel.bookPhoneCallback': (body) => c.call('bookPhoneCallback', { body }),
      'call.ticket': ({ requestId, fence }) =>
        c.call('callTicket', { params: { requestId }, body: { fence } }),
      'call.connectPhone': ({ requestId, fence }) =>
        c.call('connectPhoneCall', { params: { requestId }, body: { fence } }),
      'call.dialPhone': ({ requestId, fence }) =>
        c.call('dialPhoneCallback', { params: { requestId }, body: { fence } }),
      'call.answered': ({ requestId, fence, ticket, proof, callId }) =>
        c.call('callAnswer', {
          params: { requestId },
          body: { fence, ticket, proof, ...(callId ? { callId } : {}) },
        }),
      'call.ended': ({ requestId, fence, ticket }) =>
        c.call('callEnd', { params: { requestId }, body: { fence, ticket } }),
      'recording.state': ({ requestId }) => c.call('recordingState', { params: { requestId } }),
      'recording.pause': ({ requestId, fence }) =>
        c.call('pauseRecording', { params: { requestId }, body: { fence } }),
      'recording.resume': ({ requestId, fence }) =>
        c.call('resumeRecording', { params: { requestId }, body: { fence } }),
      'recording.list': ({ requestId }) => c.call('requestRecordings', { params: { requestId } }),
      'monitor.listen': ({ requestId }) => c.call('monitorListen', { params: { requestId } }),
      'monitor.listenAnswer': ({ requestId, leg, answer }) =>
        c.call('monitorListenAnswer', { params: { requestId }, body: { leg, answer } }),
      'monitor.mode': ({ requestId, mode, offer }) =>
        c.call('monitorMode', { params: { requestId }, body: offer ? { mode, offer } : { mode } }),
      'monitor.leave': ({ requestId }) => c.call('monitorLeave', { params: { requestId } }),
      'monitor.agentAnswer': ({ requestId, ...body }) =>
        c.call('monitorAgentAnswer', { params: { requestId }, body }),
      'recording.play': async ({ recordingId }) => {
        const r = await c.call('playRecording', { params: { recordingId } });
        return { recording: r.recording, url: `data:${r.type};base64,${r.audio}` };
      },
      'sip.credentials': async () => {
        const creds = await c.call('sipCredentials');
        return { ...creds, wsUrl: this.settings.get().sipUrl ?? creds.wsUrl };
      },
      'wrapUp.dispositions': () => c.call('dispositions'),
      'wrapUp.save': async (w) => {
        const key = this.outbox.saveWrapUp(w);
        await this.outbox.drain();
        return {
          idempotencyKey: key,
          state: this.outbox.stateOf(key) === 'sent' ? ('sent' as const) : ('pending' as const),
        };
      },
      'history.list': ({ limit }) => this.history(limit),
      'outbox.status': () => this.outbox.status(),
      'settings.get': () => this.settings.get(),
      'settings.set': (patch) => {
        const s = this.settings.set(patch);
        if (patch.authorityUrl) c.setBaseUrl(s.authorityUrl);
        return s;
      },
      'shell.openExternal': async ({ url }) => ({
        opened: this.opts.openExternal ? await this.opts.openExternal(url) : false,
      }),
      'request.get': ({ requestId }) => c.call('getRequest', { params: { requestId } }),
      'command.send': (args) => this.sendCommand(args),
      'chat.frame': (frame) => ({ sent: c.sendFrame(frame) }),
      'chat.transcript': ({ requestId, after }) =>
        c.call('requestTranscript', {
          params: { requestId },
          query: { after: String(after ?? 0), limit: String(TRANSCRIPT_PAGE.maxSize) },
        }),
      'chat.attachPart': ({ uploadId, index, data }) => {
        try {
          return { received: this.uploads.add(uploadId, index, data) };
        } catch (e) {
          throw e instanceof UploadError ? new BridgeError('upload_failed', e.message) : e;
        }
      },
      'chat.attach': async ({ uploadId, requestId, fence, clientMsgId, name, mediaType }) => {
        let bytes: Buffer;
        try {
          bytes = this.uploads.take(uploadId);
        } catch (e) {
          throw e instanceof UploadError ? new BridgeError('upload_failed', e.message) : e;
        }
        return c.call('agentAttach', {
          params: { requestId },
          query: { clientMsgId, name, fence: String(fence) },
          body: new Blob([new Uint8Array(bytes)], { type: mediaType }),
        });
      },
      'chat.attachment': async ({ requestId, attachmentId }) => {
        const { type, bytes } = await c.call('requestAttachment', { params: { requestId, attachmentId } });
        return { mediaType: type, data: Buffer.from(bytes).toString('base64') };
      },
      'chat.quickReplies': () => c.call('myQuickReplies'),
      'chat.setQuickReplies': ({ replies }) => c.call('setQuickReplies', { body: { replies } }),
      'chat.setTeamQuickReplies': ({ replies }) => c.call('setTeamQuickReplies', { body: { replies } }),
      'command.list': ({ requestId }) => c.call('requestCommands', { params: { requestId } }),
      'command.updateMenu': ({ commandId, fence, title, items }) =>
        c.call('updateMenu', {
          params: { commandId },
          body: { fence, items, ...(title === undefined ? {} : { title }) },
        }),
      'command.cancel': ({ commandId, fence }) =>
        c.call('cancelCommand', { params: { commandId }, body: { fence } }),
      'transfer.targets': () => c.call('transferTargets'),
      'transfer.start': ({ requestId, fence, mode, target, note }) =>
        c.call('transfer', {
          params: { requestId },
          body: { fence, mode, target, ...(note ? { note } : {}) },
        }),
      'transfer.accept': async ({ transferId }) => {
        const t = await c.call('acceptTransfer', { params: { transferId } });
        this.remember(t.request);
        return t;
      },
      'transfer.decline': ({ transferId }) => c.call('declineTransfer', { params: { transferId } }),
      'transfer.cancel': ({ transferId, fence }) =>
        c.call('cancelTransfer', { params: { transferId }, body: { fence } }),
      'transfer.mine': () => c.call('myTransfers'),
      'supervisor.takeOver': async ({ requestId, fence }) => {
        const r = await c.call('takeOver', {
          params: { requestId },
          body: fence === undefined ? {} : { fence },
        });
        this.remember(r);
        return r;
      },
      'supervisor.reassign': ({ requestId, staffId, fence }) =>
        c.call('reassign', {
          params: { requestId },
          body: { staffId, ...(fence === undefined ? {} : { fence }) },
        }),
      'supervisor.setAgentPresence': ({ staffId, presence }) =>
        c.call('setAgentPresence', { params: { staffId }, body: presence }),
    };
  }

  close(): void {
    this.outbox.stop();
    this.client.disconnect();
    this.db.close();
  }
}
