import { useState } from 'react';
import type { FactorKind } from '../../../../protocol/src/index.ts';
import type { AppController, AppState, MenuLeaf } from '../controller.ts';
import { FingerprintPrompt, PinForm } from '../components/Factors.tsx';
import { PhotoCapture } from '../components/PhotoCapture.tsx';
import { Button, ErrorText, Icon, Screen } from '../components/ui.tsx';

/** Only the checks the chosen option needs: any one of `needed` is enough. */
export function StepUp(props: {
  state: AppState;
  app: AppController;
  option: MenuLeaf;
  needed: FactorKind[];
  /** The option lets the agent verify the customer on the call instead (the security questions). */
  verifyOnCall?: boolean;
}) {
  const { state, app, option, needed, verifyOnCall } = props;
  const enrolled = state.enrolled ?? { pin: false, biometric: false, photo: false };
  const [showPhoto, setShowPhoto] = useState(false);
  const busy = state.busy !== null;
  const offerPin = needed.includes('pin') && enrolled.pin;
  const offerBio = needed.includes('biometric');
  const offerPhoto = needed.includes('photo');
  const onlyBio = offerBio && !offerPin && !offerPhoto;
  return (
    <Screen
      title={onlyBio ? 'Confirm with your fingerprint' : 'Confirm it’s you'}
      lead={`“${option.label}” needs ${onlyBio ? 'a fingerprint check' : 'one more check'} before we put you through.`}
    >
      <ErrorText message={state.error} />
      {offerBio && enrolled.biometric ? (
        <FingerprintPrompt busy={state.busy} onUse={() => void app.stepUpWithFingerprint()} />
      ) : null}
      {offerBio && !enrolled.biometric ? (
        <div className="card factor">
          <div className="hero-icon">
            <Icon name="fingerprint" size={56} />
          </div>
          <p className="help">No fingerprint is set up on this phone yet.</p>
          {state.setup?.biometric && !state.biometricAvailable ? (
            <p className="help">
              This phone has no fingerprint or face sensor that the browser can use
              {offerPin || offerPhoto
                ? ': use the other check below instead.'
                : `. Choose “Cancel” and pick an option that needs no fingerprint, or ask ${state.company ?? 'us'} for help on another phone.`}
            </p>
          ) : null}
          {state.setup?.biometric && state.biometricAvailable ? (
            <Button onClick={() => void app.registerThenStepUp()} busy={busy} busyLabel={state.busy}>
              Add and use fingerprint
            </Button>
          ) : state.setup?.biometric ? null : (
            <p className="help">
              For your safety a fingerprint can only be added while setting up this phone. Ask{' '}
              {state.company ?? 'us'} for a new set-up code to add one.
            </p>
          )}
        </div>
      ) : null}
      {offerPin ? (
        <PinForm
          id="stepup-pin"
          busy={state.busy}
          variant={offerBio && enrolled.biometric ? 'secondary' : 'primary'}
          retryAt={state.retryAt}
          onSubmit={(pin) => void app.stepUpWithPin(pin)}
        />
      ) : null}
      {offerPhoto ? (
        showPhoto ? (
          <div className="card factor">
            <p className="help">
              The agent compares it with the photo you took when you set up this phone before anything that
              needs this check is shown.
            </p>
            <PhotoCapture
              useLabel="Send photo"
              busy={state.busy}
              onUse={(p) => void app.stepUpWithPhoto(p)}
            />
          </div>
        ) : (
          <Button variant="secondary" onClick={() => setShowPhoto(true)} disabled={busy}>
            <Icon name="camera" size={18} /> Take a photo instead
          </Button>
        )
      ) : null}
      {verifyOnCall ? (
        <div className="card factor">
          <p className="help">
            Can’t do any of these on this phone? Ask for help anyway: the agent will ask you some security
            questions on the call to confirm it’s you.
          </p>
          <Button variant="secondary" onClick={() => void app.explainOnCall()} disabled={busy}>
            Explain on the call instead
          </Button>
        </div>
      ) : null}
      <Button variant="ghost" onClick={() => app.home()} disabled={busy}>
        Cancel
      </Button>
    </Screen>
  );
}
