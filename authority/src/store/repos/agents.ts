import { Repo } from './base.ts';

/** Tables: agents, shifts. */
export class AgentsRepo extends Repo {}
