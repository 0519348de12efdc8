import { Repo } from './base.ts';

/** Tables: pins, webauthn_credentials, photos, knowledge_questions. */
export class FactorsRepo extends Repo {}
