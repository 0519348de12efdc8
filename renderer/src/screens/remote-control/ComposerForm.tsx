import { useState, type FormEvent } from 'react';
import type { DeviceCommand } from '../../../../protocol/src/device-control.ts';
import { useConsole, useStore } from '../../hooks.ts';
import type { Composer } from './composer.tsx';
import { ConfirmComposer } from './ConfirmComposer.tsx';
import { EndComposer } from './EndComposer.tsx';
import { FormComposer } from './FormComposer.tsx';
import { MenuComposer } from './MenuComposer.tsx';
import { NavigateComposer } from './NavigateComposer.tsx';
import { PhotoComposer } from './PhotoComposer.tsx';
import { ScreenshotComposer } from './ScreenshotComposer.tsx';
import { TextComposer } from './TextComposer.tsx';
import { VerifyComposer } from './VerifyComposer.tsx';

/** The open composer: checks its draft with the protocol's schemas, then sends it. */
export function ComposerForm({ composer, onDone }: { composer: Composer; onDone: () => void }) {
  const c = useConsole();
  const { sending } = useStore(c.remoteControl);
  const [problem, setProblem] = useState<string | null>(null);
  const submit =
    (make: () => { ok: true; value: DeviceCommand } | { ok: false; error: string }) => (e: FormEvent) => {
      e.preventDefault();
      const draft = make();
      if (!draft.ok) {
        setProblem(draft.error);
        return;
      }
      setProblem(null);
      void c.remoteControl.send(draft.value).then((sent) => {
        if (sent) onDone();
      });
    };
  const props = { submit, problem, sending: !!sending };
  switch (composer) {
    case 'fingerprint':
    case 'pin':
      return <VerifyComposer factor={composer === 'pin' ? 'pin' : 'biometric'} {...props} />;
    case 'photo':
      return <PhotoComposer {...props} />;
    case 'screenshot':
      return <ScreenshotComposer {...props} />;
    case 'text':
      return <TextComposer {...props} />;
    case 'menu':
      return <MenuComposer {...props} />;
    case 'form':
      return <FormComposer {...props} />;
    case 'confirm':
      return <ConfirmComposer {...props} />;
    case 'navigate':
      return <NavigateComposer {...props} />;
    case 'end':
      return <EndComposer {...props} />;
  }
}
