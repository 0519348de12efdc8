import { Repo } from './base.ts';

/** Tables: authentications, factors. */
export class AuthenticationsRepo extends Repo {}
