import { useState } from 'react';
import { Field } from '../../components/Field.tsx';
import { checked } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';

export function PhotoComposer({ submit, problem, sending }: ComposerProps) {
  const [prompt, setPrompt] = useState('Please take a photo of your face');
  const [camera, setCamera] = useState<'front' | 'back'>('front');
  return (
    <ComposerShell
      title="Ask for a photo"
      onSubmit={submit(() => checked({ kind: 'photo', payload: { prompt: prompt.trim(), camera } }))}
      problem={problem}
      sending={sending}
      send="Send photo request"
    >
      <div className="row">
        <Field label="What to photograph">
          <input value={prompt} maxLength={200} onChange={(e) => setPrompt(e.target.value)} />
        </Field>
        <Field label="Camera">
          <select value={camera} onChange={(e) => setCamera(e.target.value as 'front' | 'back')}>
            <option value="front">Front (selfie)</option>
            <option value="back">Back</option>
          </select>
        </Field>
      </div>
    </ComposerShell>
  );
}
