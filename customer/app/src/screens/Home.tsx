import type { AppController, AppState } from '../controller.ts';
import { Button, ErrorText, Icon, Notice, Screen } from '../components/ui.tsx';
import { clock, FACTOR_TEXT, hourMinute, verifiedText } from '../format.ts';
import { SecurityNotices } from '../components/SecurityNotices.tsx';

export function Home({ state, app }: { state: AppState; app: AppController }) {
  const a = state.authentication;
  const enrolled = state.enrolled;
  return (
    <Screen title={state.customerName ? `Hello, ${state.customerName.split(' ')[0]}` : 'Hello'}>
      <Notice message={state.notice} />
      <ErrorText message={state.error} />
      <SecurityNotices state={state} app={app} />
      {state.request ? (
        <div className="card card-accent">
          <p className="card-title">Your open request</p>
          <p>{state.request.optionLabel}</p>
          <Button onClick={() => app.showRequest()}>See your request</Button>
        </div>
      ) : (
        <Button
          className="btn-hero"
          onClick={() => void app.getHelp()}
          busy={state.busy !== null}
          busyLabel={state.busy}
        >
          Get help
        </Button>
      )}

      <section className="card" aria-labelledby="verification-title">
        <h2 id="verification-title" className="card-title">
          <Icon name="shield" size={18} /> {a ? verifiedText(a) : 'Not verified yet'}
        </h2>
        {a ? (
          <>
            <ul className="factors">
              {a.factors.map((f) => (
                <li key={`${f.kind}-${f.at}`}>
                  <Icon name="check" size={18} />
                  <span>{FACTOR_TEXT[f.kind] ?? f.kind}</span>
                  <time dateTime={f.at}>{hourMinute(f.at)}</time>
                </li>
              ))}
            </ul>
            <p className="help">
              Checks last until {hourMinute(a.expiresAt)}. An agent sees how and when you were verified.
            </p>
          </>
        ) : null}
        {enrolled ? (
          <div className="enrolled">
            <span>Set up on this phone</span>
            <ul aria-label="Set up on this phone">
              {(
                [
                  ['PIN', enrolled.pin],
                  ['Fingerprint', enrolled.biometric],
                  ['Photo', enrolled.photo],
                ] as const
              ).map(([name, done]) => (
                <li key={name} className={done ? 'chip chip-on' : 'chip'}>
                  {name} {done ? '✓' : '—'}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </section>

      <nav aria-label="Your account">
        <ul className="link-list">
          {(
            [
              ['Your requests', 'What you asked for and how it ended', () => void app.openHistory()],
              ['Receipts', 'Payments you confirmed', () => void app.openReceipts()],
              ['Settings', 'PIN, fingerprint, photo, this phone', () => void app.openSettings()],
            ] as const
          ).map(([name, detail, go]) => (
            <li key={name}>
              <button type="button" className="link-row" onClick={go} disabled={state.busy !== null}>
                <span>
                  {name}
                  <small>{detail}</small>
                </span>
                <Icon name="chevron" size={18} />
              </button>
            </li>
          ))}
        </ul>
      </nav>

      {state.blocked.length ? (
        <section className="card" aria-labelledby="blocked-list-title">
          <h2 id="blocked-list-title" className="card-title">
            Blocked calls
          </h2>
          <ul className="blocked-list">
            {state.blocked.map((b) => (
              <li key={`${b.at.getTime()}-${b.reason}`}>
                <time dateTime={b.at.toISOString()}>{clock(b.at)}</time>
                <span>{b.detail}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </Screen>
  );
}
