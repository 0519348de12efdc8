import webpush from 'web-push';
import type { PushConfig, PushSubscriptionBody, WakePayload } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest } from '../errors.ts';
import type { DevicePushTable } from '../store/schema.ts';
import type { Reachability } from './reachability.ts';

export type WakeOutcome = 'sent' | 'online' | 'no_subscription' | 'failed';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Wakes a customer's device that left the app. Web Push (RFC 8030) with VAPID
 * (RFC 8292), the payload encrypted to the subscription (aes128gcm, RFC 8291) by the
 * `web-push` library; the authority's VAPID key pair is made once and kept in
 * push_keys. Native apps register a token (`fcm`/`apns`) through the SDK's push hook
 * and the authority hands it with the payload to the configured push webhook.
 * A subscription the push service calls gone (404/410) is deleted.
 */
export class PushService {
  private keys: { publicKey: string; privateKey: string } | null = null;

  constructor(
    private readonly ctx: Ctx,
    private readonly reach: Reachability,
    private readonly companyName: () => string,
    private readonly send: typeof fetch = fetch,
  ) {}

  async vapid(): Promise<{ publicKey: string; privateKey: string }> {
    if (this.keys) return this.keys;
    let row = this.ctx.db
      .prepare<[], { vapid_public: string; vapid_private: string }>(
        'SELECT vapid_public, vapid_private FROM push_keys WHERE id = 1',
      )
      .get();
    if (!row) {
      const k = webpush.generateVAPIDKeys();
      this.ctx.db
        .prepare(
          'INSERT INTO push_keys (id, vapid_public, vapid_private, created_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO NOTHING',
        )
        .run(k.publicKey, k.privateKey, this.ctx.clock.now());
      row = this.ctx.db
        .prepare<[], { vapid_public: string; vapid_private: string }>(
          'SELECT vapid_public, vapid_private FROM push_keys WHERE id = 1',
        )
        .get()!;
    }
    return (this.keys = { publicKey: row.vapid_public, privateKey: row.vapid_private });
  }

  async config(deviceId: string): Promise<PushConfig> {
    return {
      vapidPublicKey: (await this.vapid()).publicKey,
      kinds: this.ctx.config.pushWebhookUrl ? ['webpush', 'fcm', 'apns'] : ['webpush'],
      subscribed: this.reach.wakeable(deviceId),
    };
  }

  async subscribe(deviceId: string, body: PushSubscriptionBody): Promise<void> {
    if (body.kind === 'webpush') {
      const u = new URL(body.endpoint);
      const loopbackHttp =
        u.protocol === 'http:' && LOOPBACK.has(u.hostname) && this.ctx.config.pushAllowLoopbackHttp;
      if (u.protocol !== 'https:' && !loopbackHttp)
        throw badRequest('a Web Push endpoint must be an https: URL');
    } else if (!this.ctx.config.pushWebhookUrl) {
      throw badRequest(`this authority has no push webhook for "${body.kind}" tokens (only webpush)`);
    }
    const web = body.kind === 'webpush' ? body : null;
    this.ctx.db
      .prepare(
        `INSERT INTO device_push (device_id, kind, endpoint, p256dh, auth, token, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(device_id) DO UPDATE SET kind = excluded.kind, endpoint = excluded.endpoint,
           p256dh = excluded.p256dh, auth = excluded.auth, token = excluded.token, updated_at = excluded.updated_at`,
      )
      .run(
        deviceId,
        body.kind,
        web?.endpoint ?? null,
        web?.keys.p256dh ?? null,
        web?.keys.auth ?? null,
        body.kind === 'webpush' ? null : body.token,
        this.ctx.clock.now(),
      );
    this.ctx.audit.append({
      actor: `device:${deviceId}`,
      action: 'device.push.subscribe',
      subject: `device:${deviceId}`,
      outcome: 'success',
      data: { kind: body.kind },
    });
  }

  async unsubscribe(deviceId: string): Promise<void> {
    this.ctx.db.prepare('DELETE FROM device_push WHERE device_id = ?').run(deviceId);
  }

  /**
   * Wake the device of a request when it is offline (an agent took the request).
   * Resolves with what happened; never throws (a push is best effort, the console
   * shows the device's state either way).
   */
  async wakeForRequest(
    requestId: string,
    sessionId: string,
    deviceId: string | null,
    agentName: string | null,
  ): Promise<WakeOutcome> {
    if (!deviceId) return 'no_subscription';
    if (this.reach.online(deviceId)) return 'online';
    const sub = this.ctx.db
      .prepare<[string], DevicePushTable>('SELECT * FROM device_push WHERE device_id = ?')
      .get(deviceId);
    if (!sub) return 'no_subscription';
    const company = this.companyName() || 'Your bank';
    const payload: WakePayload = {
      type: 'wake',
      title: `${company} is ready to call you`,
      body: agentName
        ? `${agentName} is ready to talk to you. Open the app to take the call.`
        : 'Open the app to take the call.',
      requestId,
      sessionId,
    };
    this.reach.markWoken(requestId);
    let outcome: WakeOutcome;
    let status = 0;
    try {
      if (sub.kind === 'webpush') {
        const d = webpush.generateRequestDetails(
          { endpoint: sub.endpoint!, keys: { p256dh: sub.p256dh!, auth: sub.auth! } },
          JSON.stringify(payload),
          {
            vapidDetails: { subject: this.ctx.config.pushSubject, ...(await this.vapid()) },
            TTL: 120,
            urgency: 'high',
            contentEncoding: 'aes128gcm',
          },
        );
        const res = await this.send(d.endpoint, {
          method: d.method,
          headers: d.headers as Record<string, string>,
          body: d.body ? new Uint8Array(d.body) : null,
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        if (status === 404 || status === 410) await this.unsubscribe(deviceId);
        outcome = res.ok ? 'sent' : 'failed';
      } else {
        const res = await this.send(this.ctx.config.pushWebhookUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: sub.kind, token: sub.token, deviceId, payload }),
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        outcome = res.ok ? 'sent' : 'failed';
      }
    } catch {
      outcome = 'failed';
    }
    this.ctx.audit.append({
      actor: 'authority',
      action: 'device.push.wake',
      subject: `device:${deviceId}`,
      outcome: outcome === 'sent' ? 'success' : 'failure',
      data: { requestId, kind: sub.kind, status },
    });
    return outcome;
  }
}
