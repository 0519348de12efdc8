import type { AppController } from '../controller.ts';
import { Button, Icon, Screen } from '../components/ui.tsx';

/** How verified help works, in plain words. */
export function Help({ app }: { app: AppController }) {
  return (
    <Screen title="How verified help works">
      <ul className="help-list">
        <li>This phone proves it is yours with a key that never leaves it, before an agent says a word.</li>
        <li>Calls from us carry a signed ticket: a call without one never rings.</li>
        <li>
          An agent may ask you for a fingerprint, a photo, an answer or to confirm a payment. Each request
          shows who asks; you can decline any of them, or press “Stop all”.
        </li>
        <li>Payments you confirm are signed by this phone, for exactly the amount and payee shown.</li>
      </ul>
      <Button variant="ghost" onClick={() => app.home()}>
        <Icon name="back" size={18} /> Home
      </Button>
    </Screen>
  );
}
