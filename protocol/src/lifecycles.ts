import type { CommandState } from './device-control.ts';
import type { RequestState } from './pipeline.ts';
import type { TransferState } from './transfers.ts';

/**
 * A server lifecycle as a table: the states a row may be created in, and for each state
 * the states it may move to. A move to the same state is listed where the row changes
 * hands or details without changing state (a new fencing number, a new slot). Terminal
 * states map to no state. The authority's store enforces these with one guarded
 * transition (`WHERE state IN (sources of the target)`), and tests are driven from them.
 */
export interface Lifecycle<S extends string> {
  readonly name: string;
  readonly initial: readonly S[];
  readonly transitions: Readonly<Record<S, readonly S[]>>;
}

/**
 * A customer's request for help (requests table):
 * waiting -> offered (dispatch) -> assigned (accept) -> completed; an offer goes back to
 * waiting when rejected or expired; a callback slot schedules it; the customer leaving
 * abandons it from any live state. Ownership moves keep or change the state with a new
 * fence: a take-over (assigned -> assigned), a transfer to an agent (assigned -> offered),
 * to a queue (assigned -> waiting), a supervisor's reassign (waiting/offered -> offered).
 */
export const REQUEST_LIFECYCLE: Lifecycle<RequestState> = {
  name: 'request',
  initial: ['waiting'],
  transitions: {
    waiting: ['waiting', 'offered', 'scheduled', 'abandoned'],
    offered: ['offered', 'assigned', 'waiting', 'scheduled', 'abandoned'],
    assigned: ['assigned', 'offered', 'waiting', 'completed', 'abandoned'],
    scheduled: ['scheduled', 'waiting', 'abandoned'],
    completed: [],
    abandoned: [],
  },
};

/**
 * An agent's command to the customer's device (device_commands table): pending until
 * the device shows it, then one final answer; expiry and cancellation (the agent, the
 * customer's "stop all", ownership moving on) end it from either open state. A revised
 * menu keeps its state (pending -> pending, shown -> shown) with a new revision.
 */
export const COMMAND_LIFECYCLE: Lifecycle<CommandState> = {
  name: 'device command',
  initial: ['pending'],
  transitions: {
    pending: ['pending', 'shown', 'done', 'declined', 'failed', 'expired', 'cancelled'],
    shown: ['shown', 'done', 'declined', 'failed', 'expired', 'cancelled'],
    done: [],
    declined: [],
    failed: [],
    expired: [],
    cancelled: [],
  },
};

/**
 * A transfer (transfers table): a warm transfer is offered to its target and then
 * accepted, declined, cancelled or expired; a blind transfer, a take-over and a
 * reassign are recorded as completed at once.
 */
export const TRANSFER_LIFECYCLE: Lifecycle<TransferState> = {
  name: 'transfer',
  initial: ['offered', 'completed'],
  transitions: {
    offered: ['accepted', 'declined', 'cancelled', 'expired'],
    accepted: [],
    declined: [],
    cancelled: [],
    expired: [],
    completed: [],
  },
};

export class IllegalTransition extends Error {
  constructor(
    readonly lifecycle: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${lifecycle}: no transition from ${from} to ${to}`);
  }
}

export function canTransition<S extends string>(l: Lifecycle<S>, from: S, to: S): boolean {
  return l.transitions[from].includes(to);
}

export function assertTransition<S extends string>(l: Lifecycle<S>, from: S, to: S): void {
  if (!canTransition(l, from, to)) throw new IllegalTransition(l.name, from, to);
}

/** The states a row may be in to move to `to` (the guard of a transition's UPDATE). */
export function sourcesOf<S extends string>(l: Lifecycle<S>, to: S): S[] {
  return (Object.keys(l.transitions) as S[]).filter((from) => l.transitions[from].includes(to));
}

export function isTerminal<S extends string>(l: Lifecycle<S>, s: S): boolean {
  return l.transitions[s].length === 0;
}
