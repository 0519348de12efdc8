import webpush from 'web-push';
import type { PushConfig, PushSubscriptionBody, WakePayload } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest } from '../errors.ts';
import type { PushSubscriptionRow } from '../store/repos/push.ts';
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
    let keys = await this.ctx.data.read.push.vapidKeys();
    if (!keys) {
      // made outside the unit; of racing starters the first pair kept wins
      const made = webpush.generateVAPIDKeys();
      const at = this.ctx.clock.now();
      keys = await this.ctx.data.tx((r) => r.push.keepVapidKeys(made, at));
    }
    return (this.keys = keys);
  }

  async config(deviceId: string): Promise<PushConfig> {
    return {
      vapidPublicKey: (await this.vapid()).publicKey,
      kinds: this.ctx.config.pushWebhookUrl ? ['webpush', 'fcm', 'apns'] : ['webpush'],
      subscribed: await this.reach.wakeableIn(this.ctx.data.read, deviceId),
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
    const row = {
      device_id: deviceId,
      kind: body.kind,
      endpoint: web?.endpoint ?? null,
      p256dh: web?.keys.p256dh ?? null,
      auth: web?.keys.auth ?? null,
      token: body.kind === 'webpush' ? null : body.token,
      updated_at: this.ctx.clock.now(),
    };
    await this.ctx.data.tx(async (r) => {
      await r.push.putSubscription(row);
      await r.audit.append({
        actor: `device:${deviceId}`,
        action: 'device.push.subscribe',
        subject: `device:${deviceId}`,
        outcome: 'success',
        data: { kind: body.kind },
      });
    });
  }

  async unsubscribe(deviceId: string): Promise<void> {
    await this.ctx.data.tx((r) => r.push.deleteSubscription(deviceId));
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
    const sub = await this.wakeTarget(requestId, deviceId);
    return typeof sub === 'string' ? sub : await this.sendWake(sub, requestId, sessionId, agentName);
  }

  /**
   * The decision of a wake-up: the device is online, has no subscription, or this
   * subscription is to be pushed; then the request is marked woken at once, so views
   * built after this resolves (the accepting agent's answer) carry wokenAt.
   */
  async wakeTarget(
    requestId: string,
    deviceId: string | null,
  ): Promise<PushSubscriptionRow | 'online' | 'no_subscription'> {
    if (!deviceId) return 'no_subscription';
    if (this.reach.online(deviceId)) return 'online';
    const sub = await this.ctx.data.read.push.subscription(deviceId);
    if (!sub) return 'no_subscription';
    this.reach.markWoken(requestId);
    return sub;
  }

  /** Push the wake-up to a subscription wakeTarget() chose; audited, a gone subscription deleted. */
  async sendWake(
    sub: PushSubscriptionRow,
    requestId: string,
    sessionId: string,
    agentName: string | null,
  ): Promise<WakeOutcome> {
    const deviceId = sub.device_id;
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
    let outcome: WakeOutcome;
    let status = 0;
    let gone = false;
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
        gone = status === 404 || status === 410;
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
    // After the network: a gone subscription (unless replaced meanwhile) is deleted with the wake's audit row.
    await this.ctx.data.tx(async (r) => {
      if (gone) await r.push.deleteSubscription(deviceId, sub.updated_at);
      await r.audit.append({
        actor: 'authority',
        action: 'device.push.wake',
        subject: `device:${deviceId}`,
        outcome: outcome === 'sent' ? 'success' : 'failure',
        data: { requestId, kind: sub.kind, status },
      });
    });
    return outcome;
  }
}
