import { useState } from 'react';
import { Field } from '../../components/Field.tsx';
import { confirmCommand } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';

export function ConfirmComposer({ submit, problem, sending }: ComposerProps) {
  const [t, setT] = useState({
    amount: '',
    currency: 'GBP',
    payee: '',
    reference: '',
    terms: 'I authorise this payment from my account. It cannot be reversed once sent.',
  });
  const set = (k: keyof typeof t) => (e: { target: { value: string } }) =>
    setT({ ...t, [k]: e.target.value });
  return (
    <ComposerShell
      title="Confirm a transaction on the device"
      onSubmit={submit(() => confirmCommand(t))}
      problem={problem}
      sending={sending}
      send="Send for confirmation"
    >
      <div className="row">
        <Field label="Amount">
          <input inputMode="decimal" value={t.amount} placeholder="1,500.00" onChange={set('amount')} />
        </Field>
        <Field label="Currency">
          <input value={t.currency} maxLength={3} onChange={set('currency')} />
        </Field>
      </div>
      <div className="row">
        <Field label="Payee">
          <input value={t.payee} maxLength={200} onChange={set('payee')} />
        </Field>
        <Field label="Reference">
          <input value={t.reference} maxLength={200} onChange={set('reference')} />
        </Field>
      </div>
      <Field label="Terms shown on the device">
        <textarea value={t.terms} maxLength={4000} onChange={set('terms')} />
      </Field>
    </ComposerShell>
  );
}
