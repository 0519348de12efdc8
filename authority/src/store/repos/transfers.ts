import { Repo } from './base.ts';

/** Tables: transfers. */
export class TransfersRepo extends Repo {}
