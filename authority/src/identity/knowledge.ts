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
    await this.ctx.data.tx((r) =>
      r.factors.addQuestion({ id, customer_id: customerId, prompt, answer_hash: hash }),
    );
    return id;
  }

  async questions(customerId: string): Promise<{ questionId: string; prompt: string }[]> {
    const read = this.ctx.data.read.factors;
    if (!(await read.knowledgeLock(customerId))) throw notFound('no such customer');
    return (await read.questions(customerId)).map((q) => ({ questionId: q.id, prompt: q.prompt }));
  }

  /**
   * All answers right -> a new authentication at level 1 with the "knowledge" factor.
   * The check reserves itself first (counted as a failure, one guarded UPDATE in a unit of
   * its own), the answers are hashed outside any unit, and the outcome is recorded in a
   * second unit.
   */
  async check(
    customerId: string,
    answers: { questionId: string; answer: string }[],
    staffId: string,
  ): Promise<AuthenticationRow | null> {
    const entry = (
      outcome: 'success' | 'failure',
      reason: string | null,
      subject = `customer:${customerId}`,
    ) => ({ actor: `staff:${staffId}`, action: 'auth.knowledge', subject, outcome, reason });
    const now = this.ctx.clock.now();
    const reservation = await this.ctx.data.tx(async (r) => {
      let failures = await r.factors.reserveKnowledgeAttempt(customerId, KNOWLEDGE_MAX_FAILURES, now);
      // A lock that has run out resets the counter, so this check can be evaluated.
      if (failures === undefined && (await r.factors.resetExpiredKnowledgeLock(customerId, now)))
        failures = await r.factors.reserveKnowledgeAttempt(customerId, KNOWLEDGE_MAX_FAILURES, now);
      if (failures !== undefined) {
        const hashes = new Map<string, string>();
        for (const a of answers) {
          const h = await r.factors.answerHash(a.questionId, customerId);
          if (h !== undefined) hashes.set(a.questionId, h);
        }
        return { failures, hashes };
      }
      if (!(await r.factors.knowledgeLock(customerId))) return { refused: notFound('no such customer') };
      await r.audit.append(entry('failure', 'locked'));
      return {
        refused: locked(
          'too many wrong answers: knowledge checks are paused for this customer',
          Math.ceil(KNOWLEDGE_LOCK_MS / 1000),
        ),
      };
    });
    if (reservation.refused) throw reservation.refused;
    const { failures, hashes } = reservation;
    let allRight = true;
    for (const a of answers) {
      const hash = hashes.get(a.questionId);
      // Evaluate every answer even after a wrong one, so timing does not tell which was wrong.
      const right =
        hash !== undefined ? await this.ctx.hasher.verify(hash, normaliseAnswer(a.answer)) : false;
      allRight &&= right;
    }
    if (!allRight) {
      await this.ctx.data.tx(async (r) => {
        if (failures >= KNOWLEDGE_MAX_FAILURES)
          await r.factors.lockKnowledge(customerId, now + KNOWLEDGE_LOCK_MS);
        await r.audit.append(entry('failure', `wrong answer (${failures} consecutive)`));
      });
      return null;
    }
    return await this.ctx.data.tx(async (r) => {
      await r.factors.clearKnowledgeFailures(customerId);
      const auth = await this.authentications.createIn(
        r,
        customerId,
        null,
        'knowledge',
        `${answers.length} answers, recorded by staff ${staffId}`,
      );
      await r.audit.append(entry('success', null, `authentication:${auth.id}`));
      return auth;
    });
  }
}
