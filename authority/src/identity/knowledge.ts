import type { Ctx } from '../context.ts';
import { badRequest, locked, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { Repos } from '../store/repos/index.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import { normaliseAnswer } from './secrets.ts';

/** What a knowledge check decided (never the answers). */
export interface KnowledgeOutcome {
  passed: boolean;
  /** Consecutive wrong checks of the customer, this one included (0 after a right one). */
  failures: number;
  /** Checks are paused until then (ms), after too many wrong ones. */
  lockedUntil: number | null;
  /** The authentication the right answers went into. */
  authentication: AuthenticationRow | null;
}

/** The questions an agent asks the caller of a request, with the lockout so far. */
export interface RequestQuestions {
  questions: { questionId: string; prompt: string }[];
  answersNeeded: number;
  failures: number;
  maxFailures: number;
  lockedUntil: number | null;
}

/**
 * Knowledge questions: the fallback when the device cannot authenticate (a caller
 * without the app, a lost phone). The agent asks, the console records what the caller
 * says; answers are stored as peppered argon2id hashes, compared normalised, and never
 * leave the authority (nor its audit rows). Lockout after `knowledgeMaxFailures`
 * consecutive wrong checks, for `knowledgeLockMinutes` (authority configuration).
 */
export class KnowledgeFactor {
  constructor(
    private readonly ctx: Ctx,
    private readonly authentications: Authentications,
  ) {}

  private get maxFailures(): number {
    return this.ctx.config.knowledgeMaxFailures;
  }
  private get lockMs(): number {
    return this.ctx.config.knowledgeLockMinutes * 60_000;
  }

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
   * All answers right -> a new authentication at level 1 with the "knowledge" factor
   * (no device, not bound to any request). See checkAnswers.
   */
  async check(
    customerId: string,
    answers: { questionId: string; answer: string }[],
    staffId: string,
  ): Promise<AuthenticationRow | null> {
    return (
      await this.checkAnswers(customerId, answers, staffId, (r, detail) =>
        this.authentications.createIn(r, customerId, null, 'knowledge', detail),
      )
    ).authentication;
  }

  /** The questions for the caller of a request its holder is serving (or is offered). */
  async forRequest(staffId: string, requestId: string): Promise<RequestQuestions> {
    const req = await this.ctx.data.read.requests.get(requestId);
    if (!req) throw notFound('no such request');
    if (req.agent_id !== staffId) throw notFound('no such request of yours');
    const lock = await this.ctx.data.read.factors.knowledgeLock(req.customer_id);
    const questions = await this.questions(req.customer_id);
    const now = this.ctx.clock.now();
    const lockedUntil = lock?.lockedUntil != null && lock.lockedUntil > now ? lock.lockedUntil : null;
    return {
      questions,
      answersNeeded: Math.min(this.ctx.config.knowledgeAnswersNeeded, questions.length),
      failures: lockedUntil === null && lock?.lockedUntil != null ? 0 : (lock?.failures ?? 0),
      maxFailures: this.maxFailures,
      lockedUntil,
    };
  }

  /**
   * The holder's check of what the caller of request `requestId` answered: all right adds
   * the factor "knowledge" to the request's authentication (its level rises by the level
   * table: device + knowledge 2, knowledge alone 1), so the panel turns verified live.
   * `agentMs` is the agent's time spent on the questions, measured by the console; it is
   * audited (the cost the device path saves).
   */
  async checkForRequest(
    staffId: string,
    requestId: string,
    fence: number,
    answers: { questionId: string; answer: string }[],
    agentMs: number,
  ): Promise<KnowledgeOutcome & { level: number; maxFailures: number; agentSeconds: number }> {
    const req = checkHolder(await this.ctx.data.read.requests.get(requestId), staffId, fence);
    const asked = new Set(answers.map((a) => a.questionId));
    if (asked.size !== answers.length) throw badRequest('a question is answered twice');
    const questions = await this.ctx.data.read.factors.questions(req.customer_id);
    const known = new Set(questions.map((q) => q.id));
    for (const a of answers)
      if (!known.has(a.questionId)) throw badRequest("a question that is not one of this customer's");
    const needed = Math.min(this.ctx.config.knowledgeAnswersNeeded, questions.length);
    if (needed === 0) throw badRequest('this customer has no security questions');
    if (answers.length < needed)
      throw badRequest(`${needed} answers are needed, ${answers.length} were given`);
    const seconds = Math.round(agentMs / 100) / 10;
    const outcome = await this.checkAnswers(
      req.customer_id,
      answers,
      staffId,
      (r, detail) => this.authentications.addFactorIn(r, req.authentication_id, 'knowledge', null, detail),
      { requestId, agentSeconds: seconds },
    );
    const auth = await this.ctx.data.read.authentications.get(req.authentication_id);
    return {
      ...outcome,
      level: this.authentications.effectiveLevel(auth),
      maxFailures: this.maxFailures,
      agentSeconds: seconds,
    };
  }

  /**
   * The check reserves itself first (counted as a failure, one guarded UPDATE in a unit of
   * its own), the answers are hashed outside any unit, and the outcome is recorded in a
   * second unit; `onRight` records the factor in that unit.
   */
  private async checkAnswers(
    customerId: string,
    answers: { questionId: string; answer: string }[],
    staffId: string,
    onRight: (r: Repos, detail: string) => Promise<AuthenticationRow>,
    about: { requestId: string; agentSeconds: number } | null = null,
  ): Promise<KnowledgeOutcome> {
    const context = about
      ? `request ${about.requestId}, ${answers.length} answers, agent time ${about.agentSeconds} s`
      : null;
    const entry = (
      outcome: 'success' | 'failure',
      reason: string | null,
      subject = `customer:${customerId}`,
    ) => ({
      actor: `staff:${staffId}`,
      action: 'auth.knowledge',
      subject,
      outcome,
      reason: [reason, context].filter((x) => x !== null).join('; ') || null,
    });
    const now = this.ctx.clock.now();
    const max = this.maxFailures;
    const reservation = await this.ctx.data.tx(async (r) => {
      let failures = await r.factors.reserveKnowledgeAttempt(customerId, max, now);
      // A lock that has run out resets the counter, so this check can be evaluated.
      if (failures === undefined && (await r.factors.resetExpiredKnowledgeLock(customerId, now)))
        failures = await r.factors.reserveKnowledgeAttempt(customerId, max, now);
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
          Math.ceil(this.lockMs / 1000),
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
      const lockedUntil = failures >= max ? now + this.lockMs : null;
      await this.ctx.data.tx(async (r) => {
        if (lockedUntil !== null) await r.factors.lockKnowledge(customerId, lockedUntil);
        await r.audit.append(entry('failure', `wrong answer (${failures} consecutive)`));
      });
      return { passed: false, failures, lockedUntil, authentication: null };
    }
    return await this.ctx.data.tx(async (r) => {
      await r.factors.clearKnowledgeFailures(customerId);
      const auth = await onRight(r, `${answers.length} answers, recorded by staff ${staffId}`);
      await r.audit.append(entry('success', null, `authentication:${auth.id}`));
      return { passed: true, failures: 0, lockedUntil: null, authentication: auth };
    });
  }
}
