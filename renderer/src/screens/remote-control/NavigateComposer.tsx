import { useState } from 'react';
import type { AppScreen } from '../../../../protocol/src/device-control.ts';
import { Field } from '../../components/Field.tsx';
import { checked } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';

const SCREENS: { value: AppScreen; label: string }[] = [
  { value: 'home', label: 'Home' },
  { value: 'menu', label: 'Help menu' },
  { value: 'request', label: 'Their request' },
  { value: 'call', label: 'Call' },
  { value: 'account', label: 'Account' },
  { value: 'help', label: 'Help' },
];

export function NavigateComposer({ submit, problem, sending }: ComposerProps) {
  const [screen, setScreen] = useState<AppScreen>('account');
  return (
    <ComposerShell
      title="Open a screen of the app"
      onSubmit={submit(() => checked({ kind: 'navigate', payload: { screen } }))}
      problem={problem}
      sending={sending}
      send="Open screen"
    >
      <Field label="Screen">
        <select value={screen} onChange={(e) => setScreen(e.target.value as AppScreen)}>
          {SCREENS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </Field>
    </ComposerShell>
  );
}
