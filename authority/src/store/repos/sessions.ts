import { Repo } from './base.ts';

/** Tables: service_sessions. */
export class SessionsRepo extends Repo {}
