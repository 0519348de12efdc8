import type { AppController, AppState } from '../controller.ts';
import { hourMinute, NOTICE_TEXT } from '../format.ts';
import { Button, Icon } from './ui.tsx';

/** Changes to the customer's identity made on another device: "That was me", or call the company. */
export function SecurityNotices({ state, app }: { state: AppState; app: AppController }) {
  if (state.securityNotices.length === 0) return null;
  return (
    <section className="card card-warning" aria-labelledby="security-notices-title" role="alert">
      <h2 id="security-notices-title" className="card-title">
        <Icon name="shield" size={18} /> Changes to how you are verified
      </h2>
      <ul className="security-notices">
        {state.securityNotices.map((n) => (
          <li key={n.noticeId}>
            <p>
              {NOTICE_TEXT[n.kind]} on {n.byDevice.label ? `“${n.byDevice.label}”` : 'another phone'} at{' '}
              <time dateTime={n.at}>{hourMinute(n.at)}</time>.
            </p>
            <Button
              className="btn-secondary"
              busy={state.busy !== null}
              busyLabel={state.busy}
              onClick={() => void app.acknowledgeNotice(n.noticeId)}
            >
              That was me
            </Button>
          </li>
        ))}
      </ul>
      <p className="help">
        Not you? Call {state.company ?? 'us'} now: someone may be trying to use your account.
      </p>
    </section>
  );
}
