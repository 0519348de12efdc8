import type { Selectable } from 'kysely';
import type { WebhookDeliveriesTable } from '../schema.ts';
import { Repo } from './base.ts';

export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;

/** What a webhook payload tells of a request (read in the consumer's unit, no lock). */
export interface WebhookRequestFacts {
  queue_id: string;
  state: string;
  agent_id: string | null;
  fence: number;
  customer_id: string;
  external_ref: string | null;
  /** "unknown_caller": the placeholder of a phone caller nobody recognised (nobody's CRM record). */
  kind: 'customer' | 'unknown_caller';
  level: number | null;
}

/**
 * Table: webhook_deliveries, one row per (event, endpoint). Inserted once (the unique
 * (event_id, endpoint) makes a replayed event harmless); an attempt is claimed by one
 * guarded UPDATE (state pending, due, same attempts count), so two nodes never send the
 * same attempt; its outcome is written by another guarded UPDATE.
 */
export class WebhooksRepo extends Repo {
  async enqueue(rows: Omit<WebhookDeliveryRow, 'attempts' | 'last_status' | 'last_error' | 'finished_at'>[]) {
    for (const row of rows)
      await this.q
        .insertInto('webhook_deliveries')
        .values(row)
        .onConflict((oc) => oc.columns(['event_id', 'endpoint']).doNothing())
        .execute();
  }

  /** Pending deliveries due at `now`, oldest first. */
  due(now: number, limit: number): Promise<WebhookDeliveryRow[]> {
    return this.q
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Claims the next attempt of a due delivery: attempts + 1 and the next try pushed to
   * `retryAt` (so a crash mid-send retries then). Undefined when another sender claimed it.
   */
  async claim(
    id: string,
    attempts: number,
    now: number,
    retryAt: number,
  ): Promise<WebhookDeliveryRow | undefined> {
    return await this.q
      .updateTable('webhook_deliveries')
      .set({ attempts: attempts + 1, next_attempt_at: retryAt })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .where('attempts', '=', attempts)
      .where('next_attempt_at', '<=', now)
      .returningAll()
      .executeTakeFirst();
  }

  /** The outcome of attempt `attempts`: delivered, given up (dead), or pending until `retryAt`. */
  async settle(
    id: string,
    attempts: number,
    outcome: {
      state: 'delivered' | 'dead' | 'pending';
      status: number | null;
      error: string | null;
      at: number;
      retryAt?: number;
    },
  ): Promise<boolean> {
    const r = await this.q
      .updateTable('webhook_deliveries')
      .set({
        state: outcome.state,
        last_status: outcome.status,
        last_error: outcome.error,
        finished_at: outcome.state === 'pending' ? null : outcome.at,
        ...(outcome.retryAt !== undefined ? { next_attempt_at: outcome.retryAt } : {}),
      })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .where('attempts', '=', attempts)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Gives up (dead, `error`) the pending deliveries to endpoints not in `endpoints` (receivers
   * removed from the configuration): nothing more is sent to them. The number given up.
   */
  async giveUpOthers(endpoints: readonly string[], at: number, error: string): Promise<number> {
    let q = this.q
      .updateTable('webhook_deliveries')
      .set({ state: 'dead', last_error: error, finished_at: at })
      .where('state', '=', 'pending');
    if (endpoints.length > 0) q = q.where('endpoint', 'not in', [...endpoints]);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** The delivery log, newest first (optionally one state). */
  list(opts: { state?: WebhookDeliveryRow['state']; limit: number }): Promise<WebhookDeliveryRow[]> {
    let q = this.q.selectFrom('webhook_deliveries').selectAll();
    if (opts.state) q = q.where('state', '=', opts.state);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
  }

  get(id: string): Promise<WebhookDeliveryRow | undefined> {
    return this.q.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  request(requestId: string): Promise<WebhookRequestFacts | undefined> {
    return this.q
      .selectFrom('requests')
      .innerJoin('customers', 'customers.id', 'requests.customer_id')
      .leftJoin('authentications', 'authentications.id', 'requests.authentication_id')
      .select([
        'requests.queue_id',
        'requests.state',
        'requests.agent_id',
        'requests.fence',
        'requests.customer_id',
        'customers.external_ref',
        'customers.kind',
        'authentications.level',
      ])
      .where('requests.id', '=', requestId)
      .executeTakeFirst();
  }

  /** An authentication's customer and level, and the live requests it vouches for (verification.changed). */
  async authentication(authenticationId: string) {
    const auth = await this.q
      .selectFrom('authentications')
      .innerJoin('customers', 'customers.id', 'authentications.customer_id')
      .select(['authentications.level', 'authentications.customer_id', 'customers.external_ref'])
      .where('authentications.id', '=', authenticationId)
      .executeTakeFirst();
    const requests = await this.q
      .selectFrom('requests')
      .select(['id', 'queue_id'])
      .where('authentication_id', '=', authenticationId)
      .where('state', 'in', ['waiting', 'offered', 'assigned', 'scheduled'])
      .orderBy('id')
      .execute();
    return { auth, requests };
  }

  /** The transfer that moved the request off `fromFence`, if one did (a take-over, reassignment or transfer). */
  transferFrom(requestId: string, fromFence: number) {
    return this.q
      .selectFrom('transfers')
      .select(['id', 'kind', 'mode', 'from_staff', 'by_staff', 'target_kind', 'target_staff', 'target_queue'])
      .where('request_id', '=', requestId)
      .where('from_fence', '=', fromFence)
      .where('state', 'in', ['accepted', 'completed'])
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }
}
