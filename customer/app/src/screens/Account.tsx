import type { AppController, AppState } from '../controller.ts';
import { Button, Icon, Screen } from '../components/ui.tsx';
import { FACTOR_TEXT, hourMinute, verifiedText } from '../format.ts';

/** The customer's account on this phone: who is enrolled and how this phone is verified now. */
export function Account({ state, app }: { state: AppState; app: AppController }) {
  const a = state.authentication;
  const enrolled = state.enrolled;
  return (
    <Screen title="Your account" lead={state.customerName ?? undefined}>
      <section className="card" aria-labelledby="account-verification">
        <h2 id="account-verification" className="card-title">
          <Icon name="shield" size={18} /> {a ? verifiedText(a) : 'Not verified yet'}
        </h2>
        {a ? (
          <ul className="factors">
            {a.factors.map((f) => (
              <li key={`${f.kind}-${f.at}`}>
                <Icon name="check" size={18} />
                <span>{FACTOR_TEXT[f.kind] ?? f.kind}</span>
                <time dateTime={f.at}>{hourMinute(f.at)}</time>
              </li>
            ))}
          </ul>
        ) : null}
        {enrolled ? (
          <p className="help">
            Set up on this phone: PIN {enrolled.pin ? 'yes' : 'no'}, fingerprint{' '}
            {enrolled.biometric ? 'yes' : 'no'}, photo {enrolled.photo ? 'yes' : 'no'}.
          </p>
        ) : null}
      </section>
      <Button variant="ghost" onClick={() => app.home()}>
        <Icon name="back" size={18} /> Home
      </Button>
    </Screen>
  );
}
