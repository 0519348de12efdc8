import { Repo } from './base.ts';

/** Tables: custody. */
export class CustodyRepo extends Repo {}
