import { useEffect, useRef, useState, type FormEvent } from 'react';
import type {
  CustomerPanel,
  RequestKnowledgeQuestions,
  RequestKnowledgeResult,
} from '../../../protocol/src/agent-desk.ts';
import { errorCode, errorText } from '../bridge/types.ts';
import { Alert } from '../components/ui.tsx';
import { timeOfDay } from '../format.ts';
import { useConsole } from '../hooks.ts';

type Phase =
  | { step: 'idle' }
  | { step: 'loading' }
  | { step: 'asking'; q: RequestKnowledgeQuestions; startedAt: number }
  | { step: 'checking'; q: RequestKnowledgeQuestions; startedAt: number };

/**
 * The customer's phone could not reach the level of the option and they asked to be
 * verified on the call instead (request.verifyOnCall): what the agent is to do, in plain
 * words, until the level is reached. Null for any other request.
 */
export function verifyOnCallText(panel: CustomerPanel): string | null {
  if (!panel.request.verifyOnCall) return null;
  const v = panel.verification;
  return v.level >= v.requiredLevel
    ? `Asked to be verified on the call: done (level ${v.level} reached).`
    : `Asked to be verified on the call: ask the security questions (needs level ${v.requiredLevel}).`;
}

/** The note above the security questions for a request to be verified on the call. */
export function VerifyOnCallNote({ panel }: { panel: CustomerPanel }) {
  const text = verifyOnCallText(panel);
  if (text === null) return null;
  const done = panel.verification.level >= panel.verification.requiredLevel;
  return (
    <p
      className={done ? 'compare-result ok' : 'compare-result bad'}
      role="status"
      data-testid="verify-on-call"
    >
      {text}
    </p>
  );
}

/**
 * Security questions for a caller who cannot use the app: the agent asks the customer's
 * questions (the console never receives the answers), types what the caller says, and
 * the authority checks it. Right answers add the factor "knowledge" and the panel's level
 * rises; wrong ones count towards the lockout. The agent's time from showing the
 * questions to sending the answers is measured and recorded with the check.
 */
export function KnowledgeQuestions({ panel }: { panel: CustomerPanel }) {
  const c = useConsole();
  const requestId = panel.request.requestId;
  const holder = panel.request.state === 'assigned' && panel.request.fence !== null;
  const [phase, setPhase] = useState<Phase>({ step: 'idle' });
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [result, setResult] = useState<RequestKnowledgeResult | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const current = useRef(requestId);

  // Another request in focus: start over (nothing typed is kept).
  useEffect(() => {
    current.current = requestId;
    setPhase({ step: 'idle' });
    setAnswers({});
    setResult(null);
    setProblem(null);
  }, [requestId]);

  const show = async () => {
    setPhase({ step: 'loading' });
    setProblem(null);
    setResult(null);
    try {
      const q = await c.bridge.invoke('panel.knowledgeQuestions', { requestId });
      if (current.current !== requestId) return;
      setAnswers({});
      setPhase({ step: 'asking', q, startedAt: Date.now() });
    } catch (e) {
      if (current.current !== requestId) return;
      setPhase({ step: 'idle' });
      setProblem(errorText(e));
    }
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (phase.step !== 'asking' || panel.request.fence === null) return;
    const given = phase.q.questions
      .map((q) => ({ questionId: q.questionId, answer: (answers[q.questionId] ?? '').trim() }))
      .filter((a) => a.answer !== '');
    if (given.length < phase.q.answersNeeded) {
      setProblem(`Type the caller's answers to at least ${phase.q.answersNeeded} questions.`);
      return;
    }
    setPhase({ ...phase, step: 'checking' });
    setProblem(null);
    try {
      const r = await c.bridge.invoke('panel.knowledgeCheck', {
        requestId,
        fence: panel.request.fence,
        answers: given,
        agentMs: Math.max(0, Date.now() - phase.startedAt),
      });
      if (current.current !== requestId) return;
      setResult(r);
      setAnswers({});
      setPhase(
        r.passed || r.lockedUntil
          ? { step: 'idle' }
          : {
              step: 'asking',
              q: { ...phase.q, failures: r.failures, lockedUntil: r.lockedUntil },
              startedAt: phase.startedAt,
            },
      );
      c.panel.refresh();
    } catch (e) {
      if (current.current !== requestId) return;
      setPhase({ step: 'asking', q: phase.q, startedAt: phase.startedAt });
      setProblem(
        errorCode(e) === 'locked'
          ? 'The security questions are locked for this customer after too many wrong answers.'
          : errorText(e),
      );
    }
  };

  const q = phase.step === 'asking' || phase.step === 'checking' ? phase.q : null;
  return (
    <div className="panel-section knowledge" role="group" aria-labelledby="knowledge-title">
      <h3 id="knowledge-title">Security questions</h3>
      <VerifyOnCallNote panel={panel} />
      {result && (
        <p
          className={result.passed ? 'compare-result ok' : 'compare-result bad'}
          role="status"
          data-testid="knowledge-result"
        >
          {result.passed
            ? `Answers right: verified to level ${result.level}.`
            : result.lockedUntil
              ? `Wrong answers: the questions are locked until ${timeOfDay(result.lockedUntil)}.`
              : `Not every answer was right (${result.failures} of ${result.maxFailures} wrong checks before the questions lock).`}{' '}
          <span className="muted">Agent time {result.agentSeconds.toFixed(1)} s.</span>
        </p>
      )}
      {problem && <Alert>{problem}</Alert>}
      {!q ? (
        <div className="actions">
          <button
            type="button"
            className="button"
            disabled={!holder || phase.step === 'loading'}
            onClick={() => void show()}
          >
            {phase.step === 'loading' ? 'Loading…' : 'Ask security questions'}
          </button>
          {!holder && <span className="muted small">Accept the request to ask the questions.</span>}
        </div>
      ) : q.questions.length === 0 ? (
        <p className="muted small">This customer has no security questions.</p>
      ) : (
        <form className="knowledge-form" onSubmit={(e) => void submit(e)} aria-label="Caller's answers">
          <p className="muted small">
            Ask {q.answersNeeded === q.questions.length ? 'each question' : `${q.answersNeeded} of these`} and
            type what the caller says. The answers are checked by the authority; the console never sees them.
            {q.failures > 0 ? ` ${q.failures} of ${q.maxFailures} wrong checks so far.` : ''}
            {q.lockedUntil ? ` Locked until ${timeOfDay(q.lockedUntil)}.` : ''}
          </p>
          {q.questions.map((x) => (
            <label key={x.questionId} className="field">
              <span>{x.prompt}</span>
              <input
                type="text"
                autoComplete="off"
                spellCheck={false}
                value={answers[x.questionId] ?? ''}
                disabled={phase.step === 'checking'}
                onChange={(e) => setAnswers({ ...answers, [x.questionId]: e.target.value })}
              />
            </label>
          ))}
          <div className="actions">
            <button type="submit" className="button primary" disabled={phase.step === 'checking'}>
              {phase.step === 'checking' ? 'Checking…' : 'Check answers'}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
