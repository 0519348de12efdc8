import { Repo } from './base.ts';

/** Tables: wrap_ups. */
export class WrapUpsRepo extends Repo {}
