import { useState } from 'react';
import { Field } from '../../components/Field.tsx';
import { ComposerShell, type ComposerProps } from './composer.tsx';
import { checked } from '../../state/command-drafts.ts';

export function VerifyComposer({
  factor,
  submit,
  problem,
  sending,
}: ComposerProps & { factor: 'biometric' | 'pin' }) {
  const [reason, setReason] = useState('Confirm it’s you before we continue');
  const what = factor === 'pin' ? 'PIN' : 'fingerprint or face';
  return (
    <ComposerShell
      title={`Ask for the ${what}`}
      onSubmit={submit(() => checked({ kind: 'verify', payload: { factor, reason: reason.trim() } }))}
      problem={problem}
      sending={sending}
      send={`Send ${factor === 'pin' ? 'PIN' : 'fingerprint'} request`}
    >
      <Field label="Reason shown to the customer">
        <input value={reason} maxLength={200} onChange={(e) => setReason(e.target.value)} />
      </Field>
    </ComposerShell>
  );
}
