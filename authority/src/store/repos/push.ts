import { Repo } from './base.ts';

/** Tables: device_push, device_last_seen, push_keys. */
export class PushRepo extends Repo {}
