import { Repo } from './base.ts';

/** Tables: staff, refresh_tokens, login_throttle, login_source_failures, login_source_refusals. */
export class StaffRepo extends Repo {}
