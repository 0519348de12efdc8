import { useState } from 'react';
import { Field } from '../../components/Field.tsx';
import { checked } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';

export function ScreenshotComposer({ submit, problem, sending }: ComposerProps) {
  const [prompt, setPrompt] = useState('Share a screenshot of the app so I can see what you see');
  return (
    <ComposerShell
      title="Ask for a screenshot"
      onSubmit={submit(() => checked({ kind: 'screenshot', payload: { prompt: prompt.trim() } }))}
      problem={problem}
      sending={sending}
      send="Send screenshot request"
    >
      <Field label="Prompt shown to the customer">
        <input value={prompt} maxLength={200} onChange={(e) => setPrompt(e.target.value)} />
      </Field>
    </ComposerShell>
  );
}
