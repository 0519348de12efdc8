import type { AppController, AppState } from '../controller.ts';
import { FingerprintPrompt, PinForm } from '../components/Factors.tsx';
import { Button, ErrorText, Screen } from '../components/ui.tsx';

/**
 * Opened from a link texted during a phone call with the company: confirm it is you with
 * your PIN or fingerprint; the agent on the call (now, or when one answers a queued call)
 * then sees you verified. The link works once and for a few minutes; a refused link says why.
 */
export function VerifyCall(props: {
  state: AppState;
  app: AppController;
  done: boolean;
  refused: string | null;
}) {
  const { state, app, done, refused } = props;
  const company = state.company ?? 'The company';
  if (refused)
    return (
      <Screen title="This link cannot be used" lead={refused}>
        <p className="help">Nothing was shared. The agent on the phone can send you a new link.</p>
        <Button onClick={() => app.home()}>Back home</Button>
      </Screen>
    );
  if (done)
    return (
      <Screen
        title="You are verified for your call"
        lead={`${company} now sees that it is you: the agent on your call sees you verified, now or as soon as one answers. You can go back to the call.`}
      >
        <Button onClick={() => app.home()}>Done</Button>
      </Screen>
    );
  const enrolled = state.enrolled ?? { pin: false, biometric: false, photo: false };
  return (
    <Screen
      title="Confirm it’s you for your call"
      lead={`You are on a call with ${company} and they sent you this link. Confirm it is you and the agent will see it; nothing else is shared.`}
    >
      <ErrorText message={state.error} />
      {enrolled.biometric ? (
        <FingerprintPrompt busy={state.busy} onUse={() => void app.verifyCall('fingerprint')} />
      ) : null}
      {enrolled.pin ? (
        <PinForm
          id="verify-call-pin"
          busy={state.busy}
          variant={enrolled.biometric ? 'secondary' : 'primary'}
          retryAt={state.retryAt}
          onSubmit={(pin) => void app.verifyCall({ pin })}
        />
      ) : null}
      {!enrolled.pin && !enrolled.biometric ? (
        <p className="help">
          This phone has no PIN or fingerprint set up: tell the agent, who can ask you questions instead.
        </p>
      ) : null}
      <Button variant="ghost" onClick={() => app.home()} disabled={state.busy !== null}>
        Not now
      </Button>
    </Screen>
  );
}
