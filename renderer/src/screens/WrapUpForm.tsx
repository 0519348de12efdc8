import type { FormEvent } from 'react';
import { LIMITS } from '../../../protocol/src/common.ts';
import { Field } from '../components/Field.tsx';
import { Alert } from '../components/ui.tsx';
import { timeOfDay } from '../format.ts';
import { useConsole, useStore } from '../hooks.ts';
import { dispositionLevels, isCompletePath } from '../state/wrap-up.ts';

const LEVEL_NAMES = ['Outcome', 'Detail', 'Reason', 'Sub-reason'];

/** Disposition (a path down the authority's tree) and notes for the request just finished. */
export function WrapUpForm() {
  const c = useConsole();
  const w = useStore(c.wrapUp);
  const { agent } = useStore(c.agent);
  if (!w.item) return null;
  const tree = w.dispositions ?? [];
  const levels = dispositionLevels(tree, w.path);
  const complete = isCompletePath(tree, w.path);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void c.wrapUp.save();
  };
  return (
    <form className="card wrap-up" onSubmit={submit} aria-labelledby="wrap-up-title">
      <p className="eyebrow">Wrap-up{agent?.presence === 'wrap_up' ? ' · you are in wrap-up' : ''}</p>
      <h2 id="wrap-up-title">
        {w.item.customerName} <span className="muted">· {w.item.optionLabel}</span>
      </h2>
      <p className="muted small">
        Finished at {timeOfDay(w.item.completedAt)}. Record the outcome before you take the next customer.
      </p>
      {w.queued.length > 0 && (
        <p className="small" data-testid="wrap-up-queued">
          Then {w.queued.length === 1 ? 'one more wrap-up' : `${w.queued.length} more wrap-ups`}:{' '}
          {w.queued.map((q) => q.customerName).join(', ')}.
        </p>
      )}
      {!w.dispositions && !w.error && <p className="muted">Loading disposition codes…</p>}
      <div className="dispositions">
        {levels.map((nodes, depth) => (
          <fieldset key={depth} className="disposition-level">
            <legend>{LEVEL_NAMES[depth] ?? `Level ${depth + 1}`}</legend>
            {nodes.map((n) => (
              <label key={n.code} className={`choice${w.path[depth] === n.code ? ' chosen' : ''}`}>
                <input
                  type="radio"
                  name={`disposition-${depth}`}
                  value={n.code}
                  checked={w.path[depth] === n.code}
                  onChange={() => c.wrapUp.choose(depth, n.code)}
                />
                {n.label}
              </label>
            ))}
          </fieldset>
        ))}
      </div>
      <Field
        label="Notes"
        hint={`${w.item.summary ? 'Filled in with what happened on the request: edit it before saving · ' : ''}${w.notes.length} / ${LIMITS.longText} characters · the draft is kept if this page reloads`}
      >
        <textarea
          value={w.notes}
          maxLength={LIMITS.longText}
          rows={w.item.summary ? 8 : 5}
          data-testid="wrap-up-notes"
          onChange={(e) => c.wrapUp.setNotes(e.target.value)}
          placeholder="What was done, what the customer was told, what happens next"
        />
      </Field>
      {w.error && <Alert>{w.error}</Alert>}
      <div className="actions">
        <button type="submit" className="button primary" disabled={!complete || w.saving}>
          {w.saving ? 'Saving…' : 'Save wrap-up'}
        </button>
        {!complete && <span className="muted small">Choose an outcome down to the last level.</span>}
      </div>
    </form>
  );
}
