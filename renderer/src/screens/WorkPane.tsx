import { useEffect } from 'react';
import type { OfferView, RequestView } from '../../../protocol/src/pipeline.ts';
import { Alert, Kbd, LevelBadge } from '../components/ui.tsx';
import { ReachabilityBadge, SlotVerificationWarning } from '../components/Reachability.tsx';
import { clockDuration, missedLine, phonedInAdvice, PRESENCE_TEXT, secondsSince } from '../format.ts';
import { useConsole, useNow, useSoftphone, useStore } from '../hooks.ts';
import { shortcutFor } from '../shortcuts.ts';
import { isChatRequest } from '../state/console.ts';
import { dispositionLabels } from '../state/wrap-up.ts';
import { CallControls } from './CallControls.tsx';
import { ChatPane, ConversationList } from './ChatPane.tsx';
import { CustomerPanelView } from './CustomerPanel.tsx';
import { RemoteControl } from './RemoteControl.tsx';
import { ArrivedFrom, IncomingConsults, OutgoingConsult, TransferDialog } from './Transfers.tsx';
import { WrapUpForm } from './WrapUpForm.tsx';

/** The right side of the desk: the offer or the request in hand with its customer panel, the wrap-up, or the wait. */
export function WorkPane() {
  const c = useConsole();
  const work = useStore(c.work);
  const wrapUp = useStore(c.wrapUp);
  const transfers = useStore(c.transfers);
  // A chat in hand sits right under its request card, above the device actions and the
  // customer panel, so the box to type in is in sight without scrolling; the list of
  // conversations (several chats at once) sits above the card and selects the request.
  const chatInHand = work.phase === 'active' && work.request.channel === 'chat';
  return (
    <section className="work-pane" aria-label="Current work">
      <IncomingConsults />
      {transfers.notice && (
        <Alert tone="info" onDismiss={() => c.transfers.dismiss()}>
          {transfers.notice}
        </Alert>
      )}
      {work.phase === 'offered' && (
        <>
          <OfferCard offer={work.offer} receivedAt={work.receivedAt} busy={work.busy} error={work.error} />
          <CustomerPanelView />
        </>
      )}
      {work.phase === 'active' && (
        <>
          {work.offer && (
            <OfferCard
              offer={work.offer.offer}
              receivedAt={work.offer.receivedAt}
              busy={work.offer.busy}
              error={work.offer.error}
              beside={work.held.length}
            />
          )}
          {work.offer && <CustomerPanelView offered />}
          {work.notice && (
            <Alert tone="info" onDismiss={() => c.work.dismissNotice()}>
              {work.notice}
            </Alert>
          )}
          {chatInHand && <ConversationList />}
          <ActiveCard />
          <TransferDialog />
          <OutgoingConsult />
          {chatInHand && <ChatPane list={false} />}
          {wrapUp.item && <WrapUpForm />}
          <RemoteControl />
          <CustomerPanelView />
        </>
      )}
      {work.phase === 'idle' &&
        (wrapUp.item ? <WrapUpForm /> : <IdleCard notice={work.notice} declined={work.declined === true} />)}
      {!chatInHand && <ChatPane />}
    </section>
  );
}

function OfferCard({
  offer,
  receivedAt,
  busy,
  error,
  beside = 0,
}: {
  offer: OfferView;
  receivedAt: number;
  busy: 'accepting' | 'rejecting' | null;
  error: string | null;
  /** How many requests the agent holds already (another chat offered beside them). */
  beside?: number;
}) {
  const c = useConsole();
  const now = useNow();
  const expiresAt = Date.parse(offer.expiresAt);
  const total = Math.max(1, (expiresAt - receivedAt) / 1000);
  const left = Math.max(0, (expiresAt - now) / 1000);
  const expired = left <= 0;
  const accept = shortcutFor('accept');
  const reject = shortcutFor('reject');
  useEffect(() => {
    if (expired) c.work.expired(offer.requestId);
  }, [c, expired, offer.requestId]);
  return (
    <div className="card offer-card" role="region" aria-labelledby="offer-title">
      <div className="offer-head">
        <div>
          <p className="eyebrow" data-testid="offer-channel">
            New request ·{' '}
            {isChatRequest(offer.request) ? 'chat' : offer.request.phone ? 'phone call' : 'call'}
          </p>
          <h2 id="offer-title">
            {offer.request.customerName} <span className="muted">· {offer.request.optionLabel}</span>
          </h2>
          <p className="muted small">
            <LevelBadge level={offer.request.level} /> Waited{' '}
            {clockDuration(secondsSince(offer.request.enqueuedAt, now))}
            {offer.request.priority > 0 ? ` · priority ${offer.request.priority}` : ''}
          </p>
          <ArrivedFrom requestId={offer.requestId} />
          <PhonedIn request={offer.request} />
          {!offer.request.phone && (
            <p className="small" data-testid="offer-reachability">
              <ReachabilityBadge request={offer.request} now={now} detail />
            </p>
          )}
          <SlotVerificationWarning request={offer.request} />
        </div>
        <div className="countdown" role="timer" aria-label={`Offer expires in ${Math.ceil(left)} seconds`}>
          <span className="countdown-value" data-testid="offer-countdown">
            {clockDuration(Math.ceil(left))}
          </span>
          <span className="countdown-label">to accept</span>
          <span className="countdown-bar" aria-hidden="true">
            <span style={{ width: `${Math.min(100, (left / total) * 100)}%` }} />
          </span>
        </div>
      </div>
      {error && <Alert>{error}</Alert>}
      <div className="actions">
        <button
          type="button"
          className="button primary"
          onClick={() => void c.work.accept()}
          disabled={!!busy || expired}
          aria-keyshortcuts={accept.aria}
        >
          {busy === 'accepting' ? 'Accepting…' : 'Accept'} <Kbd>{accept.label}</Kbd>
        </button>
        <button
          type="button"
          className="button"
          onClick={() => void c.work.reject()}
          disabled={!!busy || expired}
          aria-keyshortcuts={reject.aria}
        >
          {busy === 'rejecting' ? 'Passing…' : 'Reject'} <Kbd>{reject.label}</Kbd>
        </button>
        {beside > 0 ? (
          <span className="muted small" data-testid="offer-beside">
            Your {beside === 1 ? 'chat stays' : `${beside} chats stay`} open; this one opens beside{' '}
            {beside === 1 ? 'it' : 'them'} after you accept.
          </span>
        ) : (
          <span className="muted small">
            The customer&apos;s verification is below; the{' '}
            {isChatRequest(offer.request) ? 'chat opens' : 'call starts'} after you accept.
          </span>
        )}
      </div>
    </div>
  );
}

/**
 * A caller from the phone network: what the caller ID says, and that it is no proof (the
 * agent verifies the caller with the security questions below, unless the customer has
 * verified since, e.g. on their phone by the texted link).
 */
function PhonedIn({ request }: { request: RequestView }) {
  if (!request.phone) return null;
  return (
    <p className="small" data-testid="phoned-in">
      <strong>{request.phone.recognition}</strong>
      <br />
      <span className="muted" data-testid="phoned-in-advice">
        {phonedInAdvice(request.level)}
      </span>
    </p>
  );
}

function ActiveCard() {
  const c = useConsole();
  const work = useStore(c.work);
  const transfers = useStore(c.transfers);
  // The call controls' state decides which button is primary (call first, then complete).
  useStore(c.calls);
  useSoftphone();
  const now = useNow();
  if (work.phase !== 'active') return null;
  const r = work.request;
  return (
    <div className="card active-card" role="region" aria-labelledby="active-title">
      <div className="offer-head">
        <div>
          <p className="eyebrow">In progress · {clockDuration((now - work.since) / 1000)}</p>
          <h2 id="active-title">
            {r.customerName} <span className="muted">· {r.optionLabel}</span>
          </h2>
          <ArrivedFrom requestId={r.requestId} />
          <PhonedIn request={r} />
          {r.reachability && !r.reachability.online && !r.phone && (
            <p className="small" data-testid="active-reachability">
              <ReachabilityBadge request={r} now={now} detail />
            </p>
          )}
        </div>
        <div className="actions">
          <button
            type="button"
            className="button"
            onClick={() => (transfers.dialogOpen ? c.transfers.closeDialog() : c.transfers.openDialog())}
            disabled={!!work.busy || !!transfers.outgoing}
            aria-expanded={transfers.dialogOpen}
          >
            Transfer…
          </button>
          <button
            type="button"
            className={c.calls.callIsNext(r) ? 'button' : 'button primary'}
            onClick={() => void c.work.complete()}
            disabled={!!work.busy}
          >
            {work.busy === 'completing' ? 'Completing…' : 'Complete request'}
          </button>
        </div>
      </div>
      {work.error && <Alert>{work.error}</Alert>}
      <CallControls />
    </div>
  );
}

function IdleCard({ notice, declined }: { notice: string | null; declined: boolean }) {
  const c = useConsole();
  const { agent, changing } = useStore(c.agent);
  const { last, dispositions } = useStore(c.wrapUp);
  const presence = agent?.presence ?? 'offline';
  const canGoAvailable = presence === 'break' || presence === 'offline' || presence === 'missed';
  // Available but outside the shift: not routable, and said so plainly (not small grey print).
  const offShift = !!agent && !agent.onShift && presence === 'available';
  const lines: Record<typeof presence, string> = {
    available: 'You are available. The next customer is offered to you here, with their verification.',
    busy: 'You are on a request.',
    wrap_up: 'You are in wrap-up.',
    break: 'You are on a break: no customers are offered to you.',
    missed: missedLine(declined),
    offline: 'You are offline: no customers are offered to you.',
  };
  return (
    <div className="idle">
      {notice && (
        <Alert tone="info" onDismiss={() => c.work.dismissNotice()}>
          {notice}
        </Alert>
      )}
      <div className="card idle-card">
        <p className="eyebrow">{PRESENCE_TEXT[presence]}</p>
        <h2>
          {offShift
            ? 'Off shift: no customers are offered to you'
            : presence === 'available'
              ? 'Waiting for the next customer'
              : 'No customer in hand'}
        </h2>
        <p className={offShift ? undefined : 'muted'} role={offShift ? 'status' : undefined}>
          {offShift
            ? 'You are outside your shift. Customers are offered to you again when your next shift starts.'
            : lines[presence]}
        </p>
        {canGoAvailable && (
          <button
            type="button"
            className="button primary"
            disabled={!!changing}
            onClick={() => void c.agent.setPresence({ state: 'available' })}
          >
            Go available
          </button>
        )}
      </div>
      {last && (
        <div className="card last-wrap-up" role="status" aria-label="Last wrap-up">
          <p className="eyebrow">Last wrap-up</p>
          <p>
            <strong>{last.customerName}</strong> ·{' '}
            {dispositions
              ? dispositionLabels(dispositions, last.disposition).join(' › ')
              : last.disposition.join(' › ')}
          </p>
          <p
            data-testid="wrap-up-state"
            className={last.state === 'sent' ? 'tone-text-good' : 'tone-text-warn'}
          >
            {last.state === 'sent'
              ? 'Sent to the authority'
              : 'Pending: kept on this computer and sent as soon as the authority answers'}
          </p>
        </div>
      )}
    </div>
  );
}
