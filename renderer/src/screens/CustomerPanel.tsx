import type { CustomerPanel, SecureField } from '../../../protocol/src/agent-desk.ts';
import type { CustodyEntry } from '../../../protocol/src/transfers.ts';
import {
  Alert,
  LevelBadge,
  LevelMeter,
  LockIcon,
  UnlockIcon,
  VerificationBadge,
  WarnIcon,
} from '../components/ui.tsx';
import {
  ago,
  dateOnly,
  FACTOR_TEXT,
  fieldValue,
  LEVEL_TEXT,
  levelLine,
  phoneVoiceLine,
  shortId,
  timeOfDay,
  verifiedWith,
  VERIFICATION_WORDS,
} from '../format.ts';
import { useConsole, useNow, useStore } from '../hooks.ts';
import type { PhotoState } from '../state/panel.ts';
import { KnowledgeQuestions, VerifyOnCallNote } from './KnowledgeQuestions.tsx';
import { IdentifyCaller } from './IdentifyCaller.tsx';
import { PhoneCallbackBooking } from './PhoneCallbackBooking.tsx';
import { VerificationLink } from './VerificationLink.tsx';

const capitalise = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/**
 * Who the customer is and how they were verified, shown from the moment the offer arrives.
 * `offered`: the panel of a chat offered beside the chats held (its own store): who they are,
 * how they were verified, the risk and the secure fields; the actions come after accepting.
 */
export function CustomerPanelView({ offered = false }: { offered?: boolean } = {}) {
  const c = useConsole();
  const { panel, loading, error, photos, unlocked } = useStore(offered ? c.offerPanel : c.panel);
  const headingId = offered ? 'offer-panel-name' : 'panel-name';
  if (!panel)
    return (
      <section
        className="card panel"
        aria-label={offered ? 'Verification of the customer offered' : 'Verified customer'}
        aria-busy={loading}
      >
        <p className="muted">
          {error ? `The customer panel could not be loaded: ${error}` : 'Loading the customer…'}
        </p>
      </section>
    );
  const v = panel.verification;
  return (
    <section className={offered ? 'card panel offer-panel' : 'card panel'} aria-labelledby={headingId}>
      <header className="panel-head">
        <div>
          {offered && <p className="eyebrow">Offered · verification before you accept</p>}
          <h2 id={headingId}>{panel.customer.name}</h2>
          <p className="muted small">
            {[
              panel.customer.tier && `${capitalise(panel.customer.tier)} tier`,
              panel.customer.segment && capitalise(panel.customer.segment),
            ]
              .filter(Boolean)
              .join(' · ')}
          </p>
        </div>
        <div className="panel-verdict" aria-label={`Verification: ${VERIFICATION_WORDS[v.state]}`}>
          <VerificationBadge state={v.state} large />
          <span className="level-line" data-testid="level-line">
            <LevelMeter level={v.level} required={v.requiredLevel} />
            {levelLine(v.level, v.requiredLevel)}
          </span>
        </div>
      </header>
      {offered ? (
        <div className="panel-grid">
          <div className="panel-col">
            <Verification panel={panel} />
            <VerifyOnCallNote panel={panel} />
            <Risk panel={panel} />
          </div>
          <div className="panel-col">
            <SecureFields fields={panel.secure} level={v.level} unlocked={unlocked} />
          </div>
        </div>
      ) : (
        <div className="panel-grid">
          <div className="panel-col">
            <Verification panel={panel} />
            <Risk panel={panel} />
            <Voice panel={panel} />
            <IdentifyCaller panel={panel} />
            <VerificationLink panel={panel} />
            <KnowledgeQuestions panel={panel} />
            <PhoneCallbackBooking panel={panel} />
          </div>
          <div className="panel-col">
            <SecureFields fields={panel.secure} level={v.level} unlocked={unlocked} />
            <Photos panel={panel} photos={photos} />
          </div>
        </div>
      )}
      <Custody panel={panel} />
    </section>
  );
}

function Verification({ panel }: { panel: CustomerPanel }) {
  const now = useNow();
  const v = panel.verification;
  const deviceName = (id: string | null) =>
    id === null
      ? 'no device'
      : panel.device && panel.device.deviceId === id
        ? `${panel.device.label ?? 'enrolled phone'} (${shortId(id)})`
        : `device ${shortId(id)}`;
  return (
    <div className="panel-section">
      <h3>How they were verified</h3>
      <p className="small">
        <LevelBadge level={v.level} /> {verifiedWith(v.factors)}.{' '}
        {v.level >= v.requiredLevel
          ? `Enough for this request (level ${v.requiredLevel}).`
          : panel.request.phone
            ? `This request needs level ${v.requiredLevel}: the caller phoned in, ask the security questions.`
            : `This request needs level ${v.requiredLevel}: ${LEVEL_TEXT[v.requiredLevel]}.`}
      </p>
      <ul className="factors" aria-label="Verification factors">
        {v.factors.map((f, i) => (
          <li key={`${f.kind}-${f.at}-${i}`}>
            <span className="factor-kind">{FACTOR_TEXT[f.kind]}</span>
            <span className="factor-time">
              <time dateTime={f.at}>{timeOfDay(f.at)}</time> · {ago(f.at, now)}
            </span>
            <span className="factor-device muted">on {deviceName(f.deviceId)}</span>
          </li>
        ))}
        {v.factors.length === 0 && <li className="muted">No factors: the customer has not verified.</li>}
      </ul>
      <p className="muted small" data-testid="verification-times">
        {v.authenticatedAt && v.factors.length > 0 ? `Verified at ${timeOfDay(v.authenticatedAt)} · ` : ''}
        {Date.parse(v.expiresAt) <= now ? (
          <strong className="tone-text-bad" role="status">
            Verification expired at {timeOfDay(v.expiresAt)}: fields locked, ask for a fresh verification
          </strong>
        ) : (
          <>Verification valid until {timeOfDay(v.expiresAt)}</>
        )}
        {panel.device ? ` · device enrolled ${dateOnly(panel.device.enrolledAt)}` : ''}
      </p>
    </div>
  );
}

const HOW_TEXT: Record<CustodyEntry['how'], string> = {
  accepted: 'accepted from the queue',
  transfer_blind: 'blind transfer',
  transfer_warm: 'warm transfer',
  taken_over: 'taken over by a supervisor',
  reassigned: 'reassigned by a supervisor',
};

const END_TEXT: Record<string, string> = {
  transferred: 'transferred',
  taken_over: 'taken over',
  reassigned: 'reassigned',
  completed: 'completed',
  abandoned: 'the customer left',
  customer_left: 'the customer left',
  session_ended: 'the session ended',
};

/** Who held this session, from when until when, and how they came to hold it (oldest first). */
function Custody({ panel }: { panel: CustomerPanel }) {
  const entries = panel.custody ?? [];
  if (entries.length === 0) return null;
  return (
    <div className="panel-section custody">
      <h3>Chain of custody</h3>
      <ol className="custody-list" aria-label="Chain of custody">
        {entries.map((e) => (
          <li key={`${e.staffId}-${e.fence}`} data-how={e.how}>
            <span className="custody-who">
              <strong>{e.displayName}</strong> <span className="muted">({e.role})</span>
            </span>
            <span className="custody-how">{HOW_TEXT[e.how]}</span>
            <span className="custody-when">
              <time dateTime={e.from}>{timeOfDay(e.from)}</time>
              {' – '}
              {e.until ? <time dateTime={e.until}>{timeOfDay(e.until)}</time> : 'now'}
              {e.until && e.endReason ? ` · ${END_TEXT[e.endReason] ?? e.endReason}` : ''}
            </span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function Risk({ panel }: { panel: CustomerPanel }) {
  const { newDevice, recentFailures, counterAnomaly, pinFailures, pinLockedUntil } = panel.risk;
  const flags: { text: string; tone: 'warn' | 'bad' }[] = [];
  if (pinLockedUntil === 'admin')
    flags.push({ text: 'PIN locked after too many wrong PINs: only an admin can unlock it', tone: 'bad' });
  else if (pinLockedUntil)
    flags.push({ text: `PIN locked until ${timeOfDay(pinLockedUntil)} after wrong PINs`, tone: 'bad' });
  if (pinFailures > 0)
    flags.push({
      text: `${pinFailures} wrong PIN${pinFailures === 1 ? '' : 's'} in a row`,
      tone: 'bad',
    });
  if (newDevice) flags.push({ text: 'New device: enrolled in the last 7 days', tone: 'warn' });
  if (recentFailures > 0)
    flags.push({
      text: `${recentFailures} failed verification attempt${recentFailures === 1 ? '' : 's'} in the last 24 h`,
      tone: 'bad',
    });
  if (counterAnomaly)
    flags.push({
      text: 'Authenticator counter anomaly: the biometric key may have been copied',
      tone: 'bad',
    });
  return (
    <div className="panel-section">
      <h3>Risk</h3>
      {flags.length ? (
        <ul className="risk" aria-label="Risk flags">
          {flags.map((f) => (
            <li key={f.text} className={`tone-text-${f.tone}`}>
              <WarnIcon /> {f.text}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No risk signals: known device, no failed attempts, no counter anomaly.</p>
      )}
    </div>
  );
}

function Voice({ panel }: { panel: CustomerPanel }) {
  const c = useConsole();
  const { voice } = useStore(c.calls);
  const mine = voice?.requestId === panel.request.requestId ? voice : null;
  let text: string;
  let bad = false;
  // A caller from the phone network: shown apart from a call bound to the verified device.
  let phone = false;
  if (mine?.status === 'failed') {
    bad = true;
    text = `Voice NOT proven from the verified device: ${mine.reason}. Treat the caller as unverified.`;
  } else if (panel.voice.verified && panel.voice.at)
    text = `Voice from the verified device (proven at ${timeOfDay(panel.voice.at)}).`;
  else if (mine?.status === 'verified')
    text = `Voice from the verified device (proven at ${timeOfDay(mine.at)}).`;
  else if (mine?.status === 'checking') text = 'Checking the device’s proof on the answered call…';
  else if (panel.request.phone) {
    phone = true;
    text = phoneVoiceLine(panel.request.phone, panel.request.customerName);
  } else text = 'No call yet: the device proves the call is bound to it when it answers.';
  return (
    <div className="panel-section">
      <h3>Voice</h3>
      <p
        className={bad ? 'small voice-bad' : phone ? 'small voice-phone' : 'small'}
        data-testid="voice-state"
        role={bad ? 'alert' : undefined}
      >
        {bad ? (
          <>
            <WarnIcon /> {text}
          </>
        ) : (
          text
        )}
      </p>
    </div>
  );
}

/** A photo with its caption; also used for photos the device sends on request (remote control). */
export function Photo({
  title,
  refAt,
  state,
}: {
  title: string;
  refAt: string | null;
  state: PhotoState | undefined;
}) {
  return (
    <figure className="photo">
      <div className="photo-frame">
        {state?.status === 'ready' ? (
          <img
            src={state.url}
            alt={`${title}${refAt ? `, taken ${dateOnly(refAt)} ${timeOfDay(refAt)}` : ''}`}
          />
        ) : (
          <span className="muted small">
            {!refAt
              ? 'No photo'
              : state?.status === 'error'
                ? `Could not load: ${state.message}`
                : 'Loading…'}
          </span>
        )}
      </div>
      <figcaption>
        <strong>{title}</strong>
        <span className="muted">{refAt ? `${dateOnly(refAt)}, ${timeOfDay(refAt)}` : 'not taken'}</span>
      </figcaption>
    </figure>
  );
}

function Photos({ panel, photos }: { panel: CustomerPanel; photos: Readonly<Record<string, PhotoState>> }) {
  const { enrolment, latest, comparison } = panel.photos;
  // The photo sent for this request, when there is one; otherwise the customer's latest.
  const shown = comparison
    ? { photoId: comparison.photoId, at: latest?.photoId === comparison.photoId ? latest.at : null }
    : latest;
  return (
    <div className="panel-section">
      <h3>Photos</h3>
      <div className="photos">
        <Photo
          title="Enrolment photo"
          refAt={enrolment?.at ?? null}
          state={enrolment ? photos[enrolment.photoId] : undefined}
        />
        <Photo
          title={comparison ? 'Photo for this request' : 'Latest photo'}
          refAt={shown ? (shown.at ?? 'sent for this request') : null}
          state={shown ? photos[shown.photoId] : undefined}
        />
      </div>
      {comparison ? <PhotoCompare panel={panel} /> : null}
    </div>
  );
}

/**
 * A photo proves nothing until someone compares it: the holder says whether the photo
 * sent for this request shows the person of the enrolment photo. A match gives level 2.
 */
function PhotoCompare({ panel }: { panel: CustomerPanel }) {
  const c = useConsole();
  const { comparing, compareError } = useStore(c.panel);
  const comparison = panel.photos.comparison!;
  const holder = panel.request.state === 'assigned';
  if (comparison.verdict !== 'pending')
    return (
      <p
        className={comparison.verdict === 'match' ? 'compare-result ok' : 'compare-result bad'}
        role="status"
      >
        {comparison.verdict === 'match' ? 'Same person' : 'Not the same person'}, compared by{' '}
        {comparison.comparedBy ?? 'an agent'}
        {comparison.comparedAt ? ` at ${timeOfDay(comparison.comparedAt)}` : ''}.
      </p>
    );
  if (comparison.unavailable)
    return (
      <p className="compare-result bad" role="status">
        This photo cannot verify the customer: {comparison.unavailable}.
      </p>
    );
  return (
    <div className="photo-compare" role="group" aria-label="Compare the photos">
      <p className="small">
        {holder
          ? 'Does the photo for this request show the person in the enrolment photo? A match verifies the customer to level 2.'
          : 'Accept the request to compare the photos.'}
      </p>
      {compareError && <Alert>{compareError}</Alert>}
      <div className="actions">
        <button
          type="button"
          className="button primary"
          disabled={!holder || !!comparing}
          onClick={() => void c.panel.comparePhoto('match')}
        >
          {comparing === 'match' ? 'Saving…' : 'Same person'}
        </button>
        <button
          type="button"
          className="button danger"
          disabled={!holder || !!comparing}
          onClick={() => void c.panel.comparePhoto('no_match')}
        >
          {comparing === 'no_match' ? 'Saving…' : 'Not the same person'}
        </button>
      </div>
    </div>
  );
}

function SecureFields({
  fields,
  level,
  unlocked,
}: {
  fields: SecureField[];
  level: number;
  unlocked: readonly string[];
}) {
  return (
    <div className="panel-section">
      <h3>Account</h3>
      <dl className="secure" aria-label="Secure account fields">
        {fields.map((f) => (
          <div
            key={f.field}
            className={`secure-field${f.locked ? ' locked' : ''}${unlocked.includes(f.field) ? ' just-unlocked' : ''}`}
            data-field={f.field}
            data-locked={f.locked ? 'true' : 'false'}
          >
            <dt>
              {f.locked ? <LockIcon /> : <UnlockIcon />} {f.label}
            </dt>
            <dd>
              {f.locked ? (
                <span className="locked-text">
                  Locked: needs level {f.level} (the customer is at level {level})
                </span>
              ) : (
                <>
                  {fieldValue(f.value).map((line, i) => (
                    <span key={i} className="value-line">
                      {line}
                    </span>
                  ))}
                  {unlocked.includes(f.field) && (
                    <span className="unlocked-note">Unlocked after the step-up</span>
                  )}
                </>
              )}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
