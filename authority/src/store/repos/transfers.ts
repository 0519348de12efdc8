import type { Insertable, Selectable } from 'kysely';
import {
  IllegalTransition,
  assertTransition,
  TRANSFER_LIFECYCLE,
} from '../../../../protocol/src/lifecycles.ts';
import type { TransferState } from '../../../../protocol/src/transfers.ts';
import type { StaffTable, TransfersTable } from '../schema.ts';
import { Repo } from './base.ts';

/** A transfer as stored. */
export type TransferRow = Selectable<TransfersTable>;
/** A new transfer: created in one of TRANSFER_LIFECYCLE's initial states. */
export type NewTransfer = Insertable<TransfersTable>;
/** What a transfer shows of a staff member. */
export type TransferStaff = Pick<Selectable<StaffTable>, 'id' | 'display_name' | 'role' | 'disabled_at'>;

/** What a transition records besides the state. */
export interface TransferChange {
  /** When (default now): resolved_at. */
  at?: number;
  /** The fencing number the request moved to (an accepted warm transfer). */
  toFence?: number;
}

/**
 * Tables: transfers. Every change of a transfer's state is the guarded transition() of
 * TRANSFER_LIFECYCLE (one UPDATE `WHERE state = from`): an illegal pair is refused before
 * anything is written, and of racing callers exactly one wins.
 */
export class TransfersRepo extends Repo {
  get(id: string): Promise<TransferRow | undefined> {
    return this.q.selectFrom('transfers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The staff member a transfer names (enabled or not). */
  staff(id: string): Promise<TransferStaff | undefined> {
    return this.q
      .selectFrom('staff')
      .select(['id', 'display_name', 'role', 'disabled_at'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The presence of a staff member's agent row ('offline' when they never had one). */
  async presenceOf(staffId: string): Promise<string> {
    const row = await this.q
      .selectFrom('agents')
      .select('presence')
      .where('staff_id', '=', staffId)
      .executeTakeFirst();
    return row?.presence ?? 'offline';
  }

  /**
   * The transfers of a request that took effect (completed, or a warm one accepted), in the
   * order they did (resolved_at): the moves a recording's timeline marks. Index
   * transfers_request.
   */
  movesOf(requestId: string): Promise<TransferRow[]> {
    return this.q
      .selectFrom('transfers')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('state', 'in', ['completed', 'accepted'])
      .where('resolved_at', 'is not', null)
      .orderBy('resolved_at')
      .orderBy('id')
      .execute();
  }

  /** Open (offered) transfers from or to this staff member, oldest first. */
  openOf(staffId: string): Promise<TransferRow[]> {
    return this.q
      .selectFrom('transfers')
      .selectAll()
      .where('state', '=', 'offered')
      .where((eb) => eb.or([eb('target_staff', '=', staffId), eb('from_staff', '=', staffId)]))
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /** Of these requests, those with an open warm transfer (the agent consults a colleague), with its start. */
  async openWarmOf(requestIds: readonly string[]): Promise<Map<string, number>> {
    if (!requestIds.length) return new Map();
    const rows = await this.q
      .selectFrom('transfers')
      .select(['request_id', 'created_at'])
      .where('state', '=', 'offered')
      .where('mode', '=', 'warm')
      .where('request_id', 'in', [...requestIds])
      .execute();
    return new Map(rows.map((r) => [r.request_id, r.created_at]));
  }

  /** Staff members a colleague consults now: the targets of open (offered) warm transfers. */
  async consultedStaff(): Promise<Set<string>> {
    const rows = await this.q
      .selectFrom('transfers')
      .select('target_staff')
      .where('state', '=', 'offered')
      .where('mode', '=', 'warm')
      .where('target_staff', 'is not', null)
      .execute();
    return new Set(rows.map((r) => r.target_staff).filter((s): s is string => s !== null));
  }

  /** Whether `staffId` is the target of an open (offered, not expired at `at`) warm consult on the request. */
  async consultedOn(requestId: string, staffId: string, at: number): Promise<boolean> {
    const row = await this.q
      .selectFrom('transfers')
      .select('id')
      .where('request_id', '=', requestId)
      .where('target_staff', '=', staffId)
      .where('mode', '=', 'warm')
      .where('state', '=', 'offered')
      .where('expires_at', '>', at)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Whether any transfer is open (offered) at all. */
  async anyOpen(): Promise<boolean> {
    return (
      (await this.q
        .selectFrom('transfers')
        .select('id')
        .where('state', '=', 'offered')
        .limit(1)
        .executeTakeFirst()) !== undefined
    );
  }

  /** Whether `staffId` is the target of an offered transfer that has not expired at `at`. */
  async considering(staffId: string, at: number): Promise<boolean> {
    const row = await this.q
      .selectFrom('transfers')
      .select('id')
      .where('target_staff', '=', staffId)
      .where('state', '=', 'offered')
      .where('expires_at', '>', at)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** A new transfer, in an initial state of TRANSFER_LIFECYCLE (else IllegalTransition). */
  async insert(row: NewTransfer): Promise<TransferRow> {
    if (!TRANSFER_LIFECYCLE.initial.includes(row.state))
      throw new IllegalTransition(TRANSFER_LIFECYCLE.name, '(new)', row.state);
    return await this.q.insertInto('transfers').values(row).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * The one way a transfer changes state: `from` -> `to` must be in TRANSFER_LIFECYCLE
   * (else IllegalTransition, nothing written); the row changes only while it is still in
   * `from`. Returns the changed row, or undefined when it was no longer in `from`.
   */
  async transition(
    id: string,
    from: TransferState,
    to: TransferState,
    change: TransferChange = {},
  ): Promise<TransferRow | undefined> {
    assertTransition(TRANSFER_LIFECYCLE, from, to);
    let u = this.q.updateTable('transfers').set({ state: to, resolved_at: change.at ?? this.now() });
    if (change.toFence !== undefined) u = u.set({ to_fence: change.toFence });
    return await u.where('id', '=', id).where('state', '=', from).returningAll().executeTakeFirst();
  }

  /** Open consults of a request are void once its ownership moved: offered -> cancelled. */
  async cancelOpen(requestId: string, at = this.now()): Promise<TransferRow[]> {
    assertTransition(TRANSFER_LIFECYCLE, 'offered', 'cancelled');
    return await this.q
      .updateTable('transfers')
      .set({ state: 'cancelled', resolved_at: at })
      .where('request_id', '=', requestId)
      .where('state', '=', 'offered')
      .returningAll()
      .execute();
  }

  /** Offered transfers past their expiry at `at`: offered -> expired. */
  async expireDue(at = this.now()): Promise<TransferRow[]> {
    assertTransition(TRANSFER_LIFECYCLE, 'offered', 'expired');
    return await this.q
      .updateTable('transfers')
      .set({ state: 'expired', resolved_at: at })
      .where('state', '=', 'offered')
      .where('expires_at', '<=', at)
      .returningAll()
      .execute();
  }

  /**
   * Warm consults whose request moved on without them (no longer assigned under the
   * consult's from_fence): offered -> cancelled.
   */
  async cancelOrphans(at = this.now()): Promise<TransferRow[]> {
    assertTransition(TRANSFER_LIFECYCLE, 'offered', 'cancelled');
    return await this.q
      .updateTable('transfers')
      .set({ state: 'cancelled', resolved_at: at })
      .where('state', '=', 'offered')
      .where('mode', '=', 'warm')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('requests as r')
              .select('r.id')
              .whereRef('r.id', '=', 'transfers.request_id')
              .where('r.state', '=', 'assigned')
              .whereRef('r.fence', '=', 'transfers.from_fence'),
          ),
        ),
      )
      .returningAll()
      .execute();
  }
}
