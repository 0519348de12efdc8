import { createHmac } from 'node:crypto';
import type { DomainTopic } from '../../../protocol/src/domain-events.ts';
import { iso } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Ctx } from '../context.ts';
import type { DomainEvent } from '../events/bus.ts';
import { randomId } from '../ids.ts';
import type { Repos } from '../store/repos/index.ts';
import type { WebhookDeliveryRow } from '../store/repos/webhooks.ts';

/** The outbox topics that become webhooks, and the webhook event type each is sent as. */
const WEBHOOK_TOPICS = {
  'request.accepted': 'request.accepted',
  'request.ended': 'request.ended',
  'request.moved': 'request.transferred',
  'wrapup.saved': 'wrapup.saved',
  'authentication.changed': 'verification.changed',
  'caller.identified': 'caller.identified',
} as const satisfies Partial<Record<DomainTopic, string>>;
type WebhookTopic = keyof typeof WEBHOOK_TOPICS;

/** Why a delivery to a receiver removed from the configuration is given up. */
const REMOVED = 'the receiver is no longer configured';

/**
 * The configured receivers with the secret each is signed with: webhookReceivers with their
 * own secret (or webhookSecret), then webhookUrls with webhookSecret (config.ts makes sure
 * each has one and no URL is listed twice).
 */
export function webhookReceivers(c: Config): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of c.webhookReceivers) m.set(r.url, r.secret ?? c.webhookSecret!);
  for (const url of c.webhookUrls) if (!m.has(url)) m.set(url, c.webhookSecret!);
  return m;
}

/** One attempt waits at most this long for the receiver's answer. */
const ATTEMPT_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 3_600_000;

/**
 * The signature a receiver checks: hex HMAC-SHA256 with its secret over
 * `<timestamp>.<body>` (timestamp: the X-VD-Timestamp header, seconds since the epoch;
 * body: the raw request body). docs/crm-integration.md shows the check.
 */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * CRM webhooks (docs/crm-integration.md). A durable consumer of the outbox turns each
 * request.accepted / request.ended / request.moved / wrapup.saved / authentication.changed
 * event into one delivery
 * row per configured receiver, in the consumer's unit (so none is lost to a crash, and a
 * replay inserts nothing twice). A sweeper sends the due ones: signed JSON POST, each
 * attempt claimed by a guarded UPDATE, retried with exponential backoff
 * (webhookRetrySeconds * 2^(n-1), capped at an hour) until delivered (any 2xx) or given up
 * (dead) after webhookMaxAttempts. Each receiver's deliveries are signed with its own
 * secret (webhookReceivers); a receiver removed from the configuration gets nothing more.
 * The agent's action never waits for any of it.
 */
export class Webhooks {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** url -> the secret its deliveries are signed with. */
  private readonly receivers: Map<string, string>;
  /** Whether the deliveries to removed receivers were given up since this node started. */
  private retired = false;

  constructor(private readonly ctx: Ctx) {
    this.receivers = webhookReceivers(ctx.config);
    if (this.receivers.size === 0) return;
    ctx.events.subscribe('crm.webhooks', Object.keys(WEBHOOK_TOPICS) as WebhookTopic[], (r, e) =>
      this.onEvent(r, e),
    );
  }

  get enabled(): boolean {
    return this.receivers.size > 0;
  }

  start(): void {
    if (this.timer) return;
    // At once, even with no receiver left: deliveries to removed receivers are given up.
    void this.sweep();
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.sweep(), this.ctx.config.webhookSweepSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Sends what is due now (one sweep at a time); tests call it after moving the clock. */
  sweep(): Promise<void> {
    this.running ??= this.sendDue()
      .catch((e: unknown) => console.error('webhooks: sweep failed:', e))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async onEvent(r: Repos, e: DomainEvent<WebhookTopic>): Promise<void> {
    const data = await this.dataOf(r, e);
    const eventId = `evt_${e.seq}`;
    const body = JSON.stringify({
      id: eventId,
      type: WEBHOOK_TOPICS[e.topic],
      occurredAt: iso(e.createdAt),
      data,
    });
    const now = this.ctx.clock.now();
    await r.webhooks.enqueue(
      [...this.receivers.keys()].map((endpoint) => ({
        id: randomId(12),
        event_id: eventId,
        endpoint,
        topic: WEBHOOK_TOPICS[e.topic],
        body,
        state: 'pending' as const,
        next_attempt_at: now,
        created_at: now,
      })),
    );
  }

  private async dataOf(r: Repos, e: DomainEvent<WebhookTopic>): Promise<Record<string, unknown>> {
    if (e.topic === 'authentication.changed') {
      const authenticationId = (e.payload as DomainEvent<'authentication.changed'>['payload'])
        .authenticationId;
      const { auth, requests } = await r.webhooks.authentication(authenticationId);
      return {
        authenticationId,
        customerId: auth?.customer_id ?? null,
        externalRef: auth?.external_ref ?? null,
        verificationLevel: auth?.level ?? null,
        requests: requests.map((q) => ({ requestId: q.id, queueId: q.queue_id })),
      };
    }
    const requestId = (e.payload as { requestId: string }).requestId;
    const req = await r.webhooks.request(requestId);
    // A caller nobody recognised belongs to a placeholder until identified: no CRM record.
    const unknownCaller = req?.kind === 'unknown_caller';
    const data: Record<string, unknown> = {
      requestId,
      queueId: req?.queue_id ?? null,
      customerId: unknownCaller ? null : (req?.customer_id ?? null),
      externalRef: unknownCaller ? null : (req?.external_ref ?? null),
      unknownCaller,
      verificationLevel: req?.level ?? null,
    };
    if (e.topic === 'request.accepted') {
      const p = e.payload as DomainEvent<'request.accepted'>['payload'];
      Object.assign(data, { agentId: p.agentId, fence: p.fence });
    } else if (e.topic === 'request.ended') {
      const p = e.payload as DomainEvent<'request.ended'>['payload'];
      Object.assign(data, { outcome: p.outcome, reason: p.reason });
    } else if (e.topic === 'caller.identified') {
      const p = e.payload as DomainEvent<'caller.identified'>['payload'];
      Object.assign(data, { identifiedBy: p.staffId, by: p.by });
    } else if (e.topic === 'wrapup.saved') {
      const p = e.payload as DomainEvent<'wrapup.saved'>['payload'];
      Object.assign(data, { wrapUpId: p.wrapUpId, agentId: p.agentId });
    } else {
      const p = e.payload as DomainEvent<'request.moved'>['payload'];
      const t = await r.webhooks.transferFrom(requestId, p.fromFence);
      Object.assign(data, {
        fromFence: p.fromFence,
        transferId: t?.id ?? null,
        kind: t?.kind ?? null,
        mode: t?.mode ?? null,
        fromAgentId: t?.from_staff ?? null,
        byStaffId: t?.by_staff ?? null,
        toAgentId: t?.target_staff ?? null,
        toQueueId: t?.target_queue ?? null,
      });
    }
    return data;
  }

  private backoff(attempt: number): number {
    return Math.min(MAX_BACKOFF_MS, this.ctx.config.webhookRetrySeconds * 1000 * 2 ** (attempt - 1));
  }

  private async sendDue(): Promise<void> {
    if (!this.retired) {
      const now = this.ctx.clock.now();
      await this.ctx.data.tx((r) => r.webhooks.giveUpOthers([...this.receivers.keys()], now, REMOVED));
      this.retired = true;
    }
    for (;;) {
      const now = this.ctx.clock.now();
      const due = await this.ctx.data.read.webhooks.due(now, 20);
      if (due.length === 0) return;
      let sent = 0;
      await Promise.all(
        due.map(async (d) => {
          // Claimed first: a crash mid-send leaves it pending, retried once the attempt's
          // timeout and its backoff have passed (never while the attempt may still be in flight).
          const claimed = await this.ctx.data.tx((r) =>
            r.webhooks.claim(d.id, d.attempts, now, now + ATTEMPT_TIMEOUT_MS + this.backoff(d.attempts + 1)),
          );
          if (!claimed) return;
          sent++;
          await this.attempt(claimed);
        }),
      );
      if (sent === 0) return;
    }
  }

  private async attempt(d: WebhookDeliveryRow): Promise<void> {
    const secret = this.receivers.get(d.endpoint);
    if (secret === undefined) {
      // Queued by a node configured otherwise: never sent where this configuration does not say.
      const at = this.ctx.clock.now();
      await this.ctx.data.tx((r) =>
        r.webhooks.settle(d.id, d.attempts, { state: 'dead', status: null, error: REMOVED, at }),
      );
      return;
    }
    const timestamp = String(Math.floor(this.ctx.clock.now() / 1000));
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(d.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'VerifiedDesk-Webhooks/1',
          'x-vd-event-id': d.event_id,
          'x-vd-event-type': d.topic,
          'x-vd-timestamp': timestamp,
          'x-vd-signature': `v1=${webhookSignature(secret, timestamp, d.body)}`,
          'x-vd-attempt': String(d.attempts),
        },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (e) {
      error = (e as Error).message.slice(0, 500);
    }
    const at = this.ctx.clock.now();
    const outcome =
      error === null
        ? { state: 'delivered' as const, status, error, at }
        : d.attempts >= this.ctx.config.webhookMaxAttempts
          ? { state: 'dead' as const, status, error, at }
          : { state: 'pending' as const, status, error, at, retryAt: at + this.backoff(d.attempts) };
    await this.ctx.data.tx((r) => r.webhooks.settle(d.id, d.attempts, outcome));
  }

  /** The delivery log for admins. */
  async deliveries(opts: { state?: WebhookDeliveryRow['state']; limit: number }) {
    const rows = await this.ctx.data.read.webhooks.list(opts);
    return rows.map((d) => ({
      id: d.id,
      eventId: d.event_id,
      endpoint: d.endpoint,
      topic: d.topic,
      state: d.state,
      attempts: d.attempts,
      nextAttemptAt: d.state === 'pending' ? iso(d.next_attempt_at) : null,
      lastStatus: d.last_status,
      lastError: d.last_error,
      createdAt: iso(d.created_at),
      finishedAt: d.finished_at === null ? null : iso(d.finished_at),
    }));
  }
}
