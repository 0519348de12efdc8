import { Repo } from './base.ts';

/** Tables: devices, enrolment_codes, challenges, used_proofs, device_tokens, security_notices. */
export class DevicesRepo extends Repo {}
