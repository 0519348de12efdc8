import './no-eval.ts';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { AppController } from './controller.ts';
import './styles.css';

const app = new AppController();

/**
 * Automation entry point (only when the browser is driven by automation,
 * navigator.webdriver): deliver an incoming call's ticket exactly as the sip.js
 * delegate will, through the same IncomingCallGuard. It cannot skip any check.
 */
interface AutomationHooks {
  incomingCall(
    ticket: string | null,
  ): Promise<{ verdict: 'ring' } | { verdict: 'blocked'; reason: string; at: string }>;
  /** The agent's hold or resume of the call on screen, as the phone's re-INVITE reports it (sendonly/inactive audio). */
  callHeld(held: boolean): void;
}
if (navigator.webdriver) {
  (window as unknown as { __vdTest: AutomationHooks }).__vdTest = {
    async incomingCall(ticket) {
      const r = await app.incomingCall(ticket);
      return r.verdict === 'ring'
        ? { verdict: 'ring' }
        : { verdict: 'blocked', reason: r.blocked.reason, at: r.blocked.at.toISOString() };
    },
    callHeld: (held) => app.callHeld(held),
  };
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App app={app} />
  </StrictMode>,
);
void app.start();
