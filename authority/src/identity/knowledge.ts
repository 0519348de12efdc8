import type { Ctx } from '../context.ts';
import { locked, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import { normaliseAnswer } from './secrets.ts';

export const KNOWLEDGE_MAX_FAILURES = 5;
const KNOWLEDGE_LOCK_MS = 15 * 60_000;

/**
 * Knowledge questions: the fallback when the device cannot authenticate. The agent
 * asks, the console records the answers; answers are stored as peppered argon2id
 * hashes and never leave the authority.
 */
export class KnowledgeFactor {
  constructor(
    private readonly ctx: Ctx,
    private readonly authentications: Authentications,
  ) {}

  async add(customerId: string, prompt: string, answer: string): Promise<string> {
    const id = randomId(16);
    const hash = await this.ctx.hasher.hash(normaliseAnswer(answer));
    this.ctx.db
      .prepare('INSERT INTO knowledge_questions (id, customer_id, prompt, answer_hash) VALUES (?, ?, ?, ?)')
      .run(id, customerId, prompt, hash);
    return id;
  }

  async questions(customerId: string): Promise<{ questionId: string; prompt: string }[]> {
    if (!this.ctx.db.prepare('SELECT 1 FROM customers WHERE id = ?').get(customerId))
      throw notFound('no such customer');
    return this.ctx.db
      .prepare<[string], { questionId: string; prompt: string }>(
        'SELECT id AS questionId, prompt FROM knowledge_questions WHERE customer_id = ? ORDER BY rowid',
      )
      .all(customerId);
  }

  /** All answers right -> a new authentication at level 1 with the "knowledge" factor. */
  async check(
    customerId: string,
    answers: { questionId: string; answer: string }[],
    staffId: string,
  ): Promise<AuthenticationRow | null> {
    const now = this.ctx.clock.now();
    const reserved = this.ctx.db
      .prepare<[string, number, number], { knowledge_failures: number }>(
        `UPDATE customers SET knowledge_failures = knowledge_failures + 1
         WHERE id = ? AND knowledge_failures < ? AND (knowledge_locked_until IS NULL OR knowledge_locked_until <= ?)
         RETURNING knowledge_failures`,
      )
      .get(customerId, KNOWLEDGE_MAX_FAILURES, now);
    const audit = (
      outcome: 'success' | 'failure',
      reason: string | null,
      subject = `customer:${customerId}`,
    ) =>
      this.ctx.audit.append({
        actor: `staff:${staffId}`,
        action: 'auth.knowledge',
        subject,
        outcome,
        reason,
      });
    if (!reserved) {
      if (!this.ctx.db.prepare('SELECT 1 FROM customers WHERE id = ?').get(customerId))
        throw notFound('no such customer');
      // A lock that has run out resets the counter, so the next check can be evaluated.
      const reset = this.ctx.db
        .prepare(
          'UPDATE customers SET knowledge_failures = 0, knowledge_locked_until = NULL WHERE id = ? AND knowledge_locked_until <= ?',
        )
        .run(customerId, now);
      if (reset.changes === 1) return await this.check(customerId, answers, staffId);
      audit('failure', 'locked');
      throw locked(
        'too many wrong answers: knowledge checks are paused for this customer',
        Math.ceil(KNOWLEDGE_LOCK_MS / 1000),
      );
    }
    const stmt = this.ctx.db.prepare<[string, string], { answer_hash: string }>(
      'SELECT answer_hash FROM knowledge_questions WHERE id = ? AND customer_id = ?',
    );
    let allRight = true;
    for (const a of answers) {
      const row = stmt.get(a.questionId, customerId);
      // Evaluate every answer even after a wrong one, so timing does not tell which was wrong.
      const right = row ? await this.ctx.hasher.verify(row.answer_hash, normaliseAnswer(a.answer)) : false;
      allRight &&= right;
    }
    if (!allRight) {
      if (reserved.knowledge_failures >= KNOWLEDGE_MAX_FAILURES)
        this.ctx.db
          .prepare('UPDATE customers SET knowledge_locked_until = ? WHERE id = ?')
          .run(now + KNOWLEDGE_LOCK_MS, customerId);
      audit('failure', `wrong answer (${reserved.knowledge_failures} consecutive)`);
      return null;
    }
    this.ctx.db
      .prepare('UPDATE customers SET knowledge_failures = 0, knowledge_locked_until = NULL WHERE id = ?')
      .run(customerId);
    const auth = await this.authentications.create(
      customerId,
      null,
      'knowledge',
      `${answers.length} answers, recorded by staff ${staffId}`,
    );
    audit('success', null, `authentication:${auth.id}`);
    return auth;
  }
}
