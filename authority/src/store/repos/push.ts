import type { Selectable } from 'kysely';
import type { DevicePushTable } from '../schema.ts';
import { inSlices, Repo } from './base.ts';

/** A device's push subscription: a Web Push endpoint with its keys, or a native token. */
export type PushSubscriptionRow = Selectable<DevicePushTable>;

/** Tables: device_push, device_last_seen, push_keys. */
export class PushRepo extends Repo {
  /** The device's subscription; undefined when it has none. */
  subscription(deviceId: string): Promise<PushSubscriptionRow | undefined> {
    return this.q.selectFrom('device_push').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
  }

  /** Store the device's subscription, replacing the one it had (a device has at most one). */
  async putSubscription(row: PushSubscriptionRow): Promise<void> {
    await this.q
      .insertInto('device_push')
      .values(row)
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet({
          kind: row.kind,
          endpoint: row.endpoint,
          p256dh: row.p256dh,
          auth: row.auth,
          token: row.token,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }

  /**
   * Forget the device's subscription: true when it had one. With `ifUpdatedAt`, only the
   * subscription stored at that time (not one the device put since).
   */
  async deleteSubscription(deviceId: string, ifUpdatedAt?: number): Promise<boolean> {
    let q = this.q.deleteFrom('device_push').where('device_id', '=', deviceId);
    if (ifUpdatedAt !== undefined) q = q.where('updated_at', '=', ifUpdatedAt);
    const r = await q.returning('device_id').executeTakeFirst();
    return r !== undefined;
  }

  /**
   * The device was seen at `at`: its last seen time becomes `at` unless a later one is
   * stored (two writers that race keep the later time).
   */
  async markSeen(deviceId: string, at: number): Promise<void> {
    await this.q
      .insertInto('device_last_seen')
      .values({ device_id: deviceId, last_seen_at: at })
      .onConflict((oc) =>
        oc
          .column('device_id')
          .doUpdateSet({ last_seen_at: at })
          .where('device_last_seen.last_seen_at', '<', at),
      )
      .execute();
  }

  /** When the device was last seen (ms); null when never. */
  async lastSeen(deviceId: string): Promise<number | null> {
    const r = await this.q
      .selectFrom('device_last_seen')
      .select('last_seen_at')
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return r?.last_seen_at ?? null;
  }

  /** For these devices: when each was last seen (absent: never) and which have a push subscription. */
  async reachOf(
    deviceIds: readonly string[],
  ): Promise<{ lastSeen: Map<string, number>; wakeable: Set<string> }> {
    // One query: both tables hold at most one row per device (their key, a device's id).
    const rows = await inSlices(deviceIds, (part) =>
      this.q
        .selectFrom('devices as d')
        .leftJoin('device_last_seen as s', 's.device_id', 'd.id')
        .leftJoin('device_push as p', 'p.device_id', 'd.id')
        .select(['d.id', 's.last_seen_at', 'p.device_id as push'])
        .where('d.id', 'in', part)
        .execute(),
    );
    const lastSeen = new Map<string, number>();
    const wakeable = new Set<string>();
    for (const r of rows) {
      if (r.last_seen_at !== null) lastSeen.set(r.id, r.last_seen_at);
      if (r.push !== null) wakeable.add(r.id);
    }
    return { lastSeen, wakeable };
  }

  /** The authority's VAPID key pair; undefined before it was made. */
  async vapidKeys(): Promise<{ publicKey: string; privateKey: string } | undefined> {
    const r = await this.q
      .selectFrom('push_keys')
      .select(['vapid_public', 'vapid_private'])
      .where('id', '=', 1)
      .executeTakeFirst();
    return r && { publicKey: r.vapid_public, privateKey: r.vapid_private };
  }

  /**
   * Keep `keys` as the authority's VAPID key pair unless one is kept already; the pair
   * that is kept either way (of racing callers, the first one's).
   */
  async keepVapidKeys(
    keys: { publicKey: string; privateKey: string },
    at: number,
  ): Promise<{ publicKey: string; privateKey: string }> {
    await this.q
      .insertInto('push_keys')
      .values({ id: 1, vapid_public: keys.publicKey, vapid_private: keys.privateKey, created_at: at })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return (await this.vapidKeys())!;
  }
}
