import { Repo } from './base.ts';

/** Tables: signing_keys. */
export class SigningKeysRepo extends Repo {}
