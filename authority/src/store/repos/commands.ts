import { Repo } from './base.ts';

/** Tables: device_commands, remote_control, receipts. */
export class CommandsRepo extends Repo {}
