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

/** An entry's columns as stored and hashed (all but seq, at and the chain's hashes). */
export type AuditFields = {
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  data: string;
};

type AuditRow = AuditFields & {
  seq: number;
  at: number;
  prev_hash: string;
  hash: string;
};

/** `s` with each lone surrogate (General_Category Cs: a pair is one code point under /u) as U+FFFD. */
const wellFormed = (s: string): string => s.replace(/\p{Cs}/gu, '\ufffd');

/**
 * The columns of entry `e`. Text that is not well-formed UTF-16 (a lone surrogate: what
 * JSON.parse makes of "\ud800", or a slice through an emoji) has each lone surrogate
 * replaced by U+FFFD, as both databases store it (UTF-8 has no lone surrogates): the row
 * is hashed as it will be read back, so the chain verifies. `data` is JSON, which escapes
 * them itself.
 */
export function auditFields(e: AuditEntry): AuditFields {
  return {
    actor: wellFormed(e.actor),
    action: wellFormed(e.action),
    subject: e.subject == null ? null : wellFormed(e.subject),
    outcome: e.outcome,
    reason: e.reason == null ? null : wellFormed(e.reason),
    data: JSON.stringify(e.data ?? {}),
  };
}

/**
 * The part of a row's canonical text (rowHash's JSON array) from its actor to its data, as
 * JSON without the brackets: the canonical text is `[seq,at,<this>,"prev_hash"]`. PostgreSQL's
 * vd_audit_append (store/schema-migrations.ts, version 37) puts seq, at and the previous hash
 * around it, since it learns seq and the previous hash under the chain's lock.
 */
export function canonicalMiddle(r: AuditFields): string {
  return JSON.stringify([r.actor, r.action, r.subject, r.outcome, r.reason, r.data]).slice(1, -1);
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
