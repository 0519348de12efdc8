import {
  HISTORY_PAGE,
  type ConfirmReceipt,
  type DeviceRevoked,
  type HistoryItem,
  type HistoryQuery,
  type RequestHistory,
  type RequestOutcome,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, notFound } from '../errors.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { receiptView } from '../relay/confirmations.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import type { HistoryRow, HolderRow } from '../store/repos/device-account.ts';
import type { DevicePrincipal } from './devices.ts';

function outcomeOf(r: HistoryRow, holders: HolderRow[]): RequestOutcome {
  if (r.state === 'abandoned') return 'abandoned';
  if (r.state !== 'completed') return 'open';
  return new Set(holders.map((h) => h.staff_id)).size > 1 ? 'transferred' : 'completed';
}

/**
 * The customer's own account from one of their devices: their request history with
 * outcomes, a receipt by number, and removing the device. Everything is bounded by the
 * calling device's customer (or the device itself), never by an id the caller names alone.
 */
export class DeviceAccount {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pick<Pipeline, 'abandon'>,
    private readonly sessions: Pick<ServiceSessions, 'endIn' | 'announceEnded'>,
  ) {}

  async history(p: DevicePrincipal, q: HistoryQuery): Promise<RequestHistory> {
    const limit = q.limit === undefined ? HISTORY_PAGE.defaultSize : Number(q.limit);
    let before: { at: number; id: string } | undefined;
    if (q.cursor !== undefined) {
      const dot = q.cursor.indexOf('.');
      const at = Number(q.cursor.slice(0, dot));
      if (!Number.isSafeInteger(at)) throw badRequest('cursor: not a nextCursor of this route');
      before = { at, id: q.cursor.slice(dot + 1) };
    }
    const read = this.ctx.data.read;
    const rows = await read.deviceAccount.history(p.device.customer_id, limit + 1, before);
    const page = rows.slice(0, limit);
    const byRequest = new Map<string, HolderRow[]>();
    for (const h of await read.deviceAccount.holders(page.map((r) => r.id)))
      byRequest.set(h.request_id, [...(byRequest.get(h.request_id) ?? []), h]);
    const requests: HistoryItem[] = page.map((r) => {
      const holders = byRequest.get(r.id) ?? [];
      const names: string[] = [];
      for (const h of holders) if (names[names.length - 1] !== h.display_name) names.push(h.display_name);
      return {
        requestId: r.id,
        optionLabel: r.option_label,
        at: iso(r.enqueued_at),
        endedAt: r.ended_at === null ? null : iso(r.ended_at),
        outcome: outcomeOf(r, holders),
        agentName: holders.length ? holders[holders.length - 1]!.display_name : null,
        handledBy: names,
      };
    });
    const last = page[page.length - 1];
    return {
      requests,
      nextCursor: rows.length > limit && last ? `${last.enqueued_at}.${last.id}` : null,
    };
  }

  async receipt(p: DevicePrincipal, receiptId: string): Promise<ConfirmReceipt> {
    const r = await this.ctx.data.read.deviceAccount.receipt(p.device.customer_id, receiptId);
    if (!r) throw notFound('no such receipt');
    return receiptView(r);
  }

  /**
   * Remove this phone. One unit: the device and its tokens are revoked, its push channel
   * deleted, its open sessions ended (each audited, its `session.ended` event durable) and
   * the device.revoke audit row written. Then its open requests end as abandoned
   * (device_revoked) and the sessions' sockets close.
   */
  async revoke(p: DevicePrincipal): Promise<DeviceRevoked> {
    const deviceId = p.device.id;
    const actor = `device:${deviceId}`;
    const at = this.ctx.clock.now();
    const done = await this.ctx.data.tx(async (r) => {
      if (!(await r.deviceAccount.revoke(deviceId, at))) return undefined;
      const revokedTokens = await r.deviceAccount.revokeTokens(deviceId, at);
      const pushDeleted = await r.deviceAccount.deletePush(deviceId);
      const requests = await r.deviceAccount.openRequestIds(deviceId);
      const sessions: string[] = [];
      for (const sid of await r.deviceAccount.openSessionIds(deviceId))
        if (await this.sessions.endIn(r, sid, 'ended', actor, { said: 'device revoked' })) sessions.push(sid);
      await r.audit.append({
        actor,
        action: 'device.revoke',
        subject: `device:${deviceId}`,
        outcome: 'success',
        reason: 'removed by the customer',
        data: {
          customerId: p.device.customer_id,
          revokedTokens,
          pushDeleted,
          endedSessions: sessions.length,
          openRequests: requests,
        },
      });
      return { requests, sessions };
    });
    // The credentials that called were checked just before; a concurrent revoke won the race.
    if (!done) throw notFound('this device is already removed');
    let abandonedRequests = 0;
    for (const rid of done.requests)
      if ((await this.pipeline.abandon(rid, 'device_revoked'))?.state === 'abandoned') abandonedRequests++;
    for (const sid of done.sessions) this.sessions.announceEnded(sid, 'ended');
    return { deviceId, revokedAt: iso(at), endedSessions: done.sessions.length, abandonedRequests };
  }
}
