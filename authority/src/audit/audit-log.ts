import { createHash } from 'node:crypto';
import type { Db } from '../store/db.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  actor: string; // "device:<id>", "staff:<id>", "customer:<id>", "system", "anonymous"
  action: string; // e.g. "auth.pin", "session.start", "staff.login", "staff.role"
  subject?: string | null;
  outcome: 'success' | 'failure';
  reason?: string | null;
  data?: Record<string, unknown>;
}

interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** The hash of a row covers every column but its own hash, and the previous row's hash. */
export function rowHash(r: Omit<AuditRow, 'hash'>): string {
  const canonical = JSON.stringify([
    r.seq,
    r.at,
    r.actor,
    r.action,
    r.subject,
    r.outcome,
    r.reason,
    r.data,
    r.prev_hash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface AuditVerification {
  ok: boolean;
  rows: number;
  firstBrokenSeq: number | null;
  reason: string | null;
}

/** Walk the chain from the first row; report the first row whose hash or link is wrong. */
export function verifyAuditChain(db: Db): AuditVerification {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  for (const r of db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY seq').iterate()) {
    rows++;
    if (r.seq !== expectedSeq)
      return { ok: false, rows, firstBrokenSeq: expectedSeq, reason: `row ${expectedSeq} is missing` };
    if (r.prev_hash !== prevHash)
      return { ok: false, rows, firstBrokenSeq: r.seq, reason: 'prev_hash does not match the previous row' };
    const { hash, ...rest } = r;
    if (rowHash(rest) !== hash)
      return { ok: false, rows, firstBrokenSeq: r.seq, reason: 'row content does not match its hash' };
    prevHash = hash;
    expectedSeq++;
  }
  return { ok: true, rows, firstBrokenSeq: null, reason: null };
}
