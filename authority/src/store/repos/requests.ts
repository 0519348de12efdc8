import { Repo } from './base.ts';

/** Tables: requests, leases, handle_times; the guarded transition() of a request. */
export class RequestsRepo extends Repo {}
