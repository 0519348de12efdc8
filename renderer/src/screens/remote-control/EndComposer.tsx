import { useState } from 'react';
import { Field } from '../../components/Field.tsx';
import { checked } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';

export function EndComposer({ submit, problem, sending }: ComposerProps) {
  const [reason, setReason] = useState('');
  return (
    <ComposerShell
      title="End remote control"
      onSubmit={submit(() =>
        checked({ kind: 'end', payload: reason.trim() ? { reason: reason.trim() } : {} }),
      )}
      problem={problem}
      sending={sending}
      send="End control now"
    >
      <Field label="Message to the customer (optional)" hint="Open requests on the device are withdrawn.">
        <input value={reason} maxLength={200} onChange={(e) => setReason(e.target.value)} />
      </Field>
    </ComposerShell>
  );
}
