import { sql, type Insertable, type Selectable, type UpdateQueryBuilder } from 'kysely';
import type { CommandState } from '../../../../protocol/src/index.ts';
import { assertTransition, COMMAND_LIFECYCLE, type Lifecycle } from '../../../../protocol/src/lifecycles.ts';
import type {
  Database,
  DeviceCommandsTable,
  PhotosTable,
  ReceiptsTable,
  ServiceSessionsTable,
} from '../schema.ts';
import { prepared, preparedByShape } from '../prepared.ts';
import { Repo } from './base.ts';
import { requestById, requestForUpdate, type RequestRow } from './requests.ts';
import { sessionById } from './sessions.ts';

/** A device command as stored (command and result are JSON text). */
export type CommandRow = Selectable<DeviceCommandsTable>;
/** A new command: always pending, revision 1. */
export type NewCommand = Omit<
  Insertable<DeviceCommandsTable>,
  'state' | 'revision' | 'shown_at' | 'finished_at' | 'result' | 'reason'
>;
/** A receipt of a confirmed transaction (evidence is JSON text). */
export type ReceiptRow = Selectable<ReceiptsTable>;
/** Which open commands a bulk cancel matches (every given field must match). */
export interface CommandFilter {
  id?: string;
  requestId?: string;
  sessionId?: string;
  fence?: number;
  /** all but this one */
  exceptId?: string;
}
/** What a transition writes besides the state. */
export interface CommandChange {
  /** when (default now): shown_at, finished_at */
  at?: number;
  /** Guard: the command has not expired at this instant. */
  liveAt?: number;
  /** Guard: the command was sent to this device. */
  deviceId?: string;
  /** the final answer (JSON text) */
  result?: string | null;
  reason?: string | null;
}

const lifecycle: Lifecycle<CommandState> = COMMAND_LIFECYCLE;

// Compiled once (prepared.ts): what a command and its acknowledgement run.
const commandById = prepared((q, p: { id: string }) =>
  q.selectFrom('device_commands').selectAll().where('id', '=', p.id),
);
const lastSeqOf = prepared((q, p: { requestId: string; fence: number }) =>
  q
    .selectFrom('device_commands')
    .select((eb) => eb.fn.max('seq').as('m'))
    .where('request_id', '=', p.requestId)
    .where('fence', '=', p.fence),
);
const controlOf = prepared((q, p: { requestId: string }) =>
  q.selectFrom('remote_control').select(['stopped_at', 'updated_at']).where('request_id', '=', p.requestId),
);
const staffName = prepared((q, p: { staffId: string }) =>
  q.selectFrom('staff').select('display_name').where('id', '=', p.staffId),
);
/** sendFacts: three scalar reads in one statement (they were three round trips on PostgreSQL). */
const sendFactsOf = prepared((q, p: { requestId: string; fence: number; staffId: string }) =>
  q.selectNoFrom((eb) => [
    eb
      .selectFrom('remote_control')
      .select('stopped_at')
      .where('request_id', '=', p.requestId)
      .as('stopped_at'),
    eb
      .selectFrom('device_commands')
      .select((e) => e.fn.max('seq').as('m'))
      .where('request_id', '=', p.requestId)
      .where('fence', '=', p.fence)
      .as('last_seq'),
    eb.selectFrom('staff').select('display_name').where('id', '=', p.staffId).as('agent_name'),
  ]),
);
/** The values of a command transition's UPDATE (liveAt, deviceId unused without their guards). */
interface TransitionValues extends Record<string, unknown> {
  id: string;
  at: number;
  liveAt: number;
  deviceId: string;
  result: string | null;
  reason: string | null;
}
const transitionShape = preparedByShape<TransitionValues, CommandRow>();

/** The columns a move to `to` writes. */
function setFor(
  u: CommandUpdate,
  to: CommandState,
  change: Pick<CommandChange, 'result' | 'reason'>,
  at: number,
): CommandUpdate {
  u = u.set({ state: to });
  switch (to) {
    case 'shown':
      return u.set({ shown_at: at });
    case 'expired':
      return u.set((eb) => ({ finished_at: eb.ref('expires_at'), reason: change.reason ?? 'expired' }));
    case 'done':
    case 'declined':
    case 'failed':
    case 'cancelled':
      return u.set({ finished_at: at, result: change.result ?? null, reason: change.reason ?? null });
    default:
      return u;
  }
}
/** States in which a command still waits for its device's answer. */
export const OPEN_STATES = ['pending', 'shown'] as const satisfies readonly CommandState[];

type CommandUpdate = UpdateQueryBuilder<Database, 'device_commands', 'device_commands', object>;

/**
 * Tables: device_commands, remote_control, receipts. Every change of a command's state
 * goes through transition() / revise() / cancelOpen() / expireDue(), which check
 * COMMAND_LIFECYCLE before writing and decide in one guarded UPDATE (of racing callers
 * exactly one gets the row, on both engines). Also the few reads of other aggregates the
 * relay needs inside its units (the request row, locked on PostgreSQL; a factor step-up;
 * an agent's name), so a check and the write it guards share one unit.
 */
export class CommandsRepo extends Repo {
  // ---- commands: reads ------------------------------------------------------------

  get(id: string): Promise<CommandRow | undefined> {
    return commandById.first(this.c, { id });
  }

  /** A request's commands, oldest first. */
  ofRequest(requestId: string): Promise<CommandRow[]> {
    return this.q
      .selectFrom('device_commands')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('created_at')
      .orderBy('fence')
      .orderBy('seq')
      .execute();
  }

  /** The open, unexpired commands of a device, in send order. */
  openForDevice(deviceId: string, now: number): Promise<CommandRow[]> {
    return this.q
      .selectFrom('device_commands')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('state', 'in', OPEN_STATES)
      .where('expires_at', '>', now)
      .orderBy('fence')
      .orderBy('seq')
      .execute();
  }

  /** The highest seq used under (request, fence); 0 when none. */
  async lastSeq(requestId: string, fence: number): Promise<number> {
    const r = await lastSeqOf.first(this.c, { requestId, fence });
    return r?.m === null || r?.m === undefined ? 0 : Number(r.m);
  }

  /**
   * What a new command under (request, fence) by `staffId` is decided on besides the
   * request's row, in one statement: when control was stopped (null: it is not), the
   * highest seq used (0: none) and the sender's display name (undefined: no such staff).
   */
  async sendFacts(
    requestId: string,
    fence: number,
    staffId: string,
  ): Promise<{ stoppedAt: number | null; lastSeq: number; agentName: string | undefined }> {
    const r = await sendFactsOf.first(this.c, { requestId, fence, staffId });
    return {
      stoppedAt: r?.stopped_at ?? null,
      lastSeq: r?.last_seq === null || r?.last_seq === undefined ? 0 : Number(r.last_seq),
      agentName: r?.agent_name ?? undefined,
    };
  }

  async seqUsed(requestId: string, fence: number, seq: number): Promise<boolean> {
    const r = await this.q
      .selectFrom('device_commands')
      .select('id')
      .where('request_id', '=', requestId)
      .where('fence', '=', fence)
      .where('seq', '=', seq)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Everybody who ever sent a command for this request. */
  async senders(requestId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('device_commands')
      .select('agent_id')
      .distinct()
      .where('request_id', '=', requestId)
      .execute();
    return rows.map((x) => x.agent_id);
  }

  // ---- commands: writes -----------------------------------------------------------

  /**
   * A new pending command; undefined when its (request, fence, seq) or id is taken
   * already (a concurrent send of the same seq: exactly one goes in).
   */
  async insert(row: NewCommand): Promise<CommandRow | undefined> {
    assertTransition(lifecycle, lifecycle.initial[0]!, lifecycle.initial[0]!);
    return await this.q
      .insertInto('device_commands')
      .values({ ...row, state: lifecycle.initial[0]!, revision: 1 })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * The one way a command changes state (COMMAND_LIFECYCLE): one UPDATE guarded by the
   * states `from` (and, with change.liveAt, by not having expired). The changed row, or
   * undefined when the guard refused it (another state, expired, no such command): of
   * racing callers exactly one wins. An illegal pair throws IllegalTransition before
   * anything is written; a same-state move (a menu's new revision) is revise().
   */
  async transition(
    id: string,
    from: readonly CommandState[],
    to: CommandState,
    change: CommandChange = {},
  ): Promise<CommandRow | undefined> {
    for (const f of from) assertTransition(lifecycle, f, to);
    if (from.includes(to)) throw new Error(`command ${to} -> ${to} is a revision: use revise()`);
    if (from.length === 0) return undefined;
    const live = change.liveAt !== undefined;
    const ofDevice = change.deviceId !== undefined;
    const key = `${from.join(',')} ${to} ${live} ${ofDevice}`;
    // `from` is part of the shape: its states are constants of the query
    const query = transitionShape(key, (q, p) => {
      let u = setFor(q.updateTable('device_commands'), to, p, p.at)
        .where('id', '=', p.id)
        .where('state', 'in', from);
      if (live) u = u.where('expires_at', '>', p.liveAt);
      if (ofDevice) u = u.where('device_id', '=', p.deviceId);
      return u.returningAll();
    });
    return await query.first(this.c, {
      id,
      at: change.at ?? this.now(),
      liveAt: change.liveAt,
      deviceId: change.deviceId,
      result: change.result ?? null,
      reason: change.reason ?? (to === 'expired' ? 'expired' : null),
    } as TransitionValues);
  }

  /**
   * A new revision of an open command (pending -> pending, shown -> shown): guarded by
   * the revision it replaces, so of two concurrent edits one wins.
   */
  async revise(
    id: string,
    revision: number,
    command: string,
    jws: string,
    liveAt: number,
  ): Promise<CommandRow | undefined> {
    for (const s of OPEN_STATES) assertTransition(lifecycle, s, s);
    return await this.q
      .updateTable('device_commands')
      .set((eb) => ({ command, jws, revision: eb('revision', '+', 1) }))
      .where('id', '=', id)
      .where('state', 'in', OPEN_STATES)
      .where('revision', '=', revision)
      .where('expires_at', '>', liveAt)
      .returningAll()
      .executeTakeFirst();
  }

  /** Cancel the open commands matching `f` (at least one field): the rows cancelled. */
  async cancelOpen(f: CommandFilter, reason: string, at: number = this.now()): Promise<CommandRow[]> {
    for (const s of OPEN_STATES) assertTransition(lifecycle, s, 'cancelled');
    if (f.id === undefined && f.requestId === undefined && f.sessionId === undefined)
      throw new Error('cancelOpen needs an id, a request or a session');
    let u = setFor(this.q.updateTable('device_commands'), 'cancelled', { reason }, at).where(
      'state',
      'in',
      OPEN_STATES,
    );
    if (f.id !== undefined) u = u.where('id', '=', f.id);
    if (f.requestId !== undefined) u = u.where('request_id', '=', f.requestId);
    if (f.sessionId !== undefined) u = u.where('session_id', '=', f.sessionId);
    if (f.fence !== undefined) u = u.where('fence', '=', f.fence);
    if (f.exceptId !== undefined) u = u.where('id', '!=', f.exceptId);
    return await u.returningAll().execute();
  }

  /** Open commands past their expiry at `now` become expired (finished at their expiry). */
  async expireDue(now: number): Promise<CommandRow[]> {
    for (const s of OPEN_STATES) assertTransition(lifecycle, s, 'expired');
    return await setFor(this.q.updateTable('device_commands'), 'expired', {}, now)
      .where('state', 'in', OPEN_STATES)
      .where('expires_at', '<=', now)
      .returningAll()
      .execute();
  }

  // ---- remote control (the customer's stop) -----------------------------------------

  /** Whether control is stopped (since when: the first stop), and when it was last stopped or allowed again (null: never). */
  async control(requestId: string): Promise<{ stoppedAt: number | null; changedAt: number | null }> {
    const r = await controlOf.first(this.c, { requestId });
    return { stoppedAt: r?.stopped_at ?? null, changedAt: r?.updated_at ?? null };
  }

  /** Stop control (the first stop's instant stays): when it stopped. */
  async stop(requestId: string, at: number): Promise<number> {
    const r = await this.q
      .insertInto('remote_control')
      .values({ request_id: requestId, stopped_at: at, updated_at: at })
      .onConflict((oc) =>
        oc.column('request_id').doUpdateSet((eb) => ({
          stopped_at: eb.fn.coalesce('remote_control.stopped_at', 'excluded.stopped_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .returning('stopped_at')
      .executeTakeFirstOrThrow();
    return r.stopped_at ?? at;
  }

  async resume(requestId: string, at: number): Promise<void> {
    await this.q
      .insertInto('remote_control')
      .values({ request_id: requestId, stopped_at: null, updated_at: at })
      .onConflict((oc) => oc.column('request_id').doUpdateSet({ stopped_at: null, updated_at: at }))
      .execute();
  }

  /** Live requests of a device whose control the customer stopped (at most 100, oldest stop first). */
  stoppedForDevice(deviceId: string): Promise<{ request_id: string; stopped_at: number }[]> {
    return this.q
      .selectFrom('remote_control as c')
      .innerJoin('requests as r', 'r.id', 'c.request_id')
      .select(['c.request_id', 'c.stopped_at'])
      .where('r.device_id', '=', deviceId)
      .where('c.stopped_at', 'is not', null)
      .where('r.state', 'in', ['waiting', 'offered', 'assigned', 'scheduled'])
      .orderBy('c.stopped_at')
      .limit(100)
      .$narrowType<{ stopped_at: number }>()
      .execute();
  }

  // ---- receipts ---------------------------------------------------------------------

  async challengeUsed(challenge: string): Promise<boolean> {
    const r = await this.q
      .selectFrom('receipts')
      .select('id')
      .where('challenge', '=', challenge)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Store a receipt once: false when its challenge or command has one already. */
  async insertReceipt(row: Insertable<ReceiptsTable>): Promise<boolean> {
    const r = await this.q
      .insertInto('receipts')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }

  /**
   * Ties of created_at in insertion order: SQLite's rowid; on PostgreSQL the tuple's
   * position (receipts are append-only: never updated or deleted, so it only grows).
   */
  private insertionOrder() {
    return this.c.engine === 'sqlite' ? sql`rowid` : sql`ctid`;
  }

  /** A customer's receipts, newest first (at most 200). */
  receiptsOf(customerId: string): Promise<ReceiptRow[]> {
    return this.q
      .selectFrom('receipts')
      .selectAll()
      .where('customer_id', '=', customerId)
      .orderBy('created_at', 'desc')
      .orderBy(this.insertionOrder(), 'desc')
      .limit(200)
      .execute();
  }

  // ---- what the relay reads of other aggregates inside its units ------------------

  /**
   * The request row, locked against concurrent changes until this unit ends (PostgreSQL
   * `FOR UPDATE`: a transfer's UPDATE waits for the command to commit, or the command
   * sees the transfer's new fence; SQLite's single writer runs one unit at a time).
   */
  lockRequest(requestId: string): Promise<RequestRow | undefined> {
    return (this.locksRows ? requestForUpdate : requestById).first(this.c, {
      id: requestId,
    });
  }

  /** A verification that expired is replaced by the device's fresh one: the request follows it. */
  async rebindAuthentication(requestId: string, fromAuthId: string, toAuthId: string): Promise<boolean> {
    const r = await this.q
      .updateTable('requests')
      .set({ authentication_id: toAuthId })
      .where('id', '=', requestId)
      .where('authentication_id', '=', fromAuthId)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** The latest step-up with `kind` on an authentication at or after `since` (its instant). */
  async stepUpSince(authenticationId: string, kind: string, since: number): Promise<number | undefined> {
    const r = await this.q
      .selectFrom('factors')
      .select('at')
      .where('authentication_id', '=', authenticationId)
      .where('kind', '=', kind)
      .where('at', '>=', since)
      .orderBy('at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r?.at;
  }

  /** A screenshot a command asked for (stored with the photos, purpose 'screenshot'). */
  async insertScreenshot(row: Omit<Insertable<PhotosTable>, 'purpose'>): Promise<void> {
    await this.q
      .insertInto('photos')
      .values({ ...row, purpose: 'screenshot' })
      .execute();
  }

  /** A service session (ended or not). */
  session(id: string): Promise<Selectable<ServiceSessionsTable> | undefined> {
    return sessionById.first(this.c, { id });
  }

  /** The name the device shows for an agent. */
  async agentName(staffId: string): Promise<string | undefined> {
    const r = await staffName.first(this.c, { staffId });
    return r?.display_name;
  }

  async hasBiometric(deviceId: string): Promise<boolean> {
    const r = await this.q
      .selectFrom('webauthn_credentials')
      .select('id')
      .where('device_id', '=', deviceId)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The customer's PIN lock (undefined: no PIN). */
  async pinLock(customerId: string): Promise<{ locked_until: number | null } | undefined> {
    return await this.q
      .selectFrom('pins')
      .select('locked_until')
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
  }

  /** The customer's account data (JSON text). */
  async customerAccount(customerId: string): Promise<string | undefined> {
    const r = await this.q
      .selectFrom('customers')
      .select('account')
      .where('id', '=', customerId)
      .executeTakeFirst();
    return r?.account;
  }

  /** A WebAuthn credential of this device. */
  credential(
    id: string,
    deviceId: string,
  ): Promise<{ id: string; public_key: Buffer; counter: number } | undefined> {
    return this.q
      .selectFrom('webauthn_credentials')
      .select(['id', 'public_key', 'counter'])
      .where('id', '=', id)
      .where('device_id', '=', deviceId)
      .executeTakeFirst() as Promise<{ id: string; public_key: Buffer; counter: number } | undefined>;
  }

  /** Move a credential's signature counter on, if nobody else did meanwhile. */
  async bumpCounter(id: string, from: number, to: number): Promise<boolean> {
    const r = await this.q
      .updateTable('webauthn_credentials')
      .set({ counter: to })
      .where('id', '=', id)
      .where('counter', '=', from)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
