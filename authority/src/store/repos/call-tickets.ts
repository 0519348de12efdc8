import { Repo } from './base.ts';

/** Tables: call_tickets. */
export class CallTicketsRepo extends Repo {}
