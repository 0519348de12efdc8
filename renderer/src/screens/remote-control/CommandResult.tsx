import type { CommandView } from '../../../../protocol/src/device-control.ts';
import { timeOfDay } from '../../format.ts';
import { useConsole, useStore } from '../../hooks.ts';
import { imageOf, money } from '../../state/remote-control.ts';
import { Photo } from '../CustomerPanel.tsx';

/** "10:32": the minute a payment was confirmed, as the receipt says it. */
const hourMinute = (iso: string): string =>
  new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** What the device answered, per kind: a level reached, pictures beside the enrolment photo, values, a signature. */
export function CommandResult({ cmd }: { cmd: CommandView }) {
  const c = useConsole();
  const { images } = useStore(c.remoteControl);
  const { panel, photos } = useStore(c.panel);
  const r = cmd.result!;
  switch (r.kind) {
    case 'verify':
      return (
        <p className="result tone-text-good" data-testid="verify-result">
          {r.factor === 'biometric' ? 'Fingerprint or face' : 'PIN'} confirmed on the device at{' '}
          {timeOfDay(r.at)}: level {r.level}.
        </p>
      );
    case 'photo':
    case 'screenshot': {
      const id = imageOf(cmd)!;
      const enrolment = panel?.photos.enrolment ?? null;
      return (
        <div className="photos result" data-testid={`${r.kind}-result`}>
          <Photo
            title={r.kind === 'photo' ? 'Photo just taken' : 'Screenshot'}
            refAt={cmd.finishedAt}
            state={images[id]}
          />
          {r.kind === 'photo' && (
            <Photo
              title="Enrolment photo"
              refAt={enrolment?.at ?? null}
              state={enrolment ? photos[enrolment.photoId] : undefined}
            />
          )}
        </div>
      );
    }
    case 'text':
      return (
        <blockquote className="result" data-testid="text-result">
          {r.value}
        </blockquote>
      );
    case 'menu':
      return (
        <p className="result" data-testid="menu-result">
          Chose <strong>{r.label}</strong>
          {r.revision > 1 ? ` (from revision ${r.revision})` : ''}
        </p>
      );
    case 'form': {
      const fields = cmd.command.kind === 'form' ? cmd.command.payload.fields : [];
      return (
        <dl className="result form-values" data-testid="form-result">
          {Object.entries(r.values).map(([id, v]) => {
            const f = fields.find((x) => x.id === id);
            const shown =
              typeof v === 'boolean'
                ? v
                  ? 'Yes'
                  : 'No'
                : f?.type === 'select'
                  ? (f.options.find((o) => o.id === v)?.label ?? String(v))
                  : String(v);
            return (
              <div key={id}>
                <dt>{f?.label ?? id}</dt>
                <dd>{shown}</dd>
              </div>
            );
          })}
        </dl>
      );
    }
    case 'confirm': {
      const p = cmd.command.kind === 'confirm' ? cmd.command.payload : null;
      const t = p?.transaction ?? null;
      const how = r.factor === 'biometric' ? 'fingerprint' : r.factor === 'pin' ? 'PIN' : null;
      return (
        <div className="result confirmed" data-testid="confirm-result">
          <p className="tone-text-good">
            <strong>
              {how ? `Confirmed with ${how} at ${hourMinute(r.verifiedAt)}` : 'Confirmed on device'}
            </strong>
            {r.receipt ? (
              <>
                {' '}
                — receipt <span data-testid="confirm-receipt">{r.receipt.receiptId}</span>
              </>
            ) : null}
          </p>
          {t ? (
            <p>
              {money(t.amount, t.currency)} to {t.payee} (ref. {t.reference})
              {p?.account ? ` from ${p.account}` : ''}
            </p>
          ) : null}
          <p className="muted small">
            {how ? `The customer's ${how} covered exactly this amount, payee and account; ` : ''}
            signed with the enrolled device key; verified by the authority at {timeOfDay(r.verifiedAt)}.
          </p>
        </div>
      );
    }
    case 'navigate':
      return <p className="result">The app shows the {r.screen} screen.</p>;
    case 'end':
      return <p className="result">Remote control ended.</p>;
    default: {
      const never: never = r;
      return <>{String(never)}</>;
    }
  }
}
