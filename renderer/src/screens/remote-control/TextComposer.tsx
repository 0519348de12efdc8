import { useState } from 'react';
import type { TextInputType } from '../../../../protocol/src/device-control.ts';
import { Field } from '../../components/Field.tsx';
import { textCommand } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';

const TEXT_TYPES: { value: TextInputType; label: string; prompt: string }[] = [
  { value: 'tracking', label: 'Tracking number', prompt: 'Type the tracking number from your parcel' },
  { value: 'email', label: 'Email address', prompt: 'Type the email address for the receipt' },
  { value: 'free', label: 'Free text', prompt: 'Describe what happened' },
];

export function TextComposer({ submit, problem, sending }: ComposerProps) {
  const [input, setInput] = useState<TextInputType>('tracking');
  const [prompt, setPrompt] = useState(TEXT_TYPES[0]!.prompt);
  return (
    <ComposerShell
      title="Ask a question"
      onSubmit={submit(() => textCommand(input, prompt))}
      problem={problem}
      sending={sending}
      send="Send question"
    >
      <div className="row">
        <Field label="Answer type">
          <select
            value={input}
            onChange={(e) => {
              const t = TEXT_TYPES.find((x) => x.value === e.target.value)!;
              setInput(t.value);
              setPrompt(t.prompt);
            }}
          >
            {TEXT_TYPES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Question">
          <input value={prompt} maxLength={200} onChange={(e) => setPrompt(e.target.value)} />
        </Field>
      </div>
    </ComposerShell>
  );
}
