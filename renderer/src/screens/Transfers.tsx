import { useState } from 'react';
import type { TransferTargetStaff } from '../../../protocol/src/directory.ts';
import type { TransferTarget, TransferView } from '../../../protocol/src/transfers.ts';
import { Alert, LevelBadge } from '../components/ui.tsx';
import { Field } from '../components/Field.tsx';
import { chatCount, clockDuration, PRESENCE_TEXT } from '../format.ts';
import { useConsole, useNow, useSoftphone, useStore } from '../hooks.ts';

type TargetKind = TransferTarget['kind'];

/** Whether `s` can take a chat of `queueId` beside the chats they hold (the authority's own rule, in the directory). */
const roomForChat = (s: TransferTargetStaff, queueId: string | null): boolean =>
  queueId !== null && s.chatRoomIn.includes(queueId);

/** A colleague's state in the dialog's list (for a chat: whether they have room for it beside their chats). */
function staffState(s: TransferTargetStaff, chatQueue: string | null): string {
  if (!s.busy) return !s.onShift && s.role === 'agent' ? 'off shift' : PRESENCE_TEXT[s.presence];
  if (s.chatsHeld === 0) return 'busy with a customer';
  return roomForChat(s, chatQueue)
    ? `chatting (${chatCount(s.chatsHeld)}), room for one more`
    : `busy: ${chatCount(s.chatsHeld)}, no room`;
}

/**
 * Who can take it: agents online and free; supervisors free (they may be off the queues);
 * for a chat, also someone chatting who has room for one more chat of its queue.
 */
const reachable = (s: TransferTargetStaff, chatQueue: string | null): boolean =>
  (!s.busy || roomForChat(s, chatQueue)) && (s.role !== 'agent' || s.presence !== 'offline');

/** The Transfer dialog of the request in hand: blind or warm, to an agent, a supervisor or a queue. */
export function TransferDialog() {
  const c = useConsole();
  const t = useStore(c.transfers);
  const work = useStore(c.work);
  const [mode, setMode] = useState<'blind' | 'warm'>('blind');
  const [kind, setKind] = useState<TargetKind>('agent');
  const [choice, setChoice] = useState('');
  const [note, setNote] = useState('');
  if (!t.dialogOpen || work.phase !== 'active') return null;
  const staff = (t.targets?.staff ?? []).filter((s) =>
    kind === 'agent' ? s.role === 'agent' : kind === 'supervisor' ? s.role !== 'agent' : false,
  );
  const queues = t.targets?.queues ?? [];
  // A chat may go to a colleague who is chatting with room left in its queue.
  const chatQueue = work.request.channel === 'chat' ? work.request.queueId : null;
  const options =
    kind === 'queue'
      ? queues.map((q) => ({ id: q.queueId, label: q.name, disabled: false }))
      : staff.map((s) => ({
          id: s.staffId,
          label: `${s.displayName} · ${staffState(s, chatQueue)}`,
          disabled: !reachable(s, chatQueue),
        }));
  const picked = options.find((o) => o.id === choice && !o.disabled) ?? null;
  const target: TransferTarget | null = !picked
    ? null
    : kind === 'queue'
      ? { kind: 'queue', queueId: picked.id }
      : { kind, staffId: picked.id };
  return (
    <form
      className="card transfer-dialog"
      aria-label={`Transfer ${work.request.customerName}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (target) void c.transfers.transfer(mode, target, note);
      }}
    >
      <div className="section-head">
        <h2>Transfer {work.request.customerName}</h2>
        <button type="button" className="link-button" onClick={() => c.transfers.closeDialog()}>
          Close
        </button>
      </div>
      <p className="muted small">
        The verification goes with the customer: nobody asks them to verify again. Your rights on this request
        end the moment it moves.
      </p>
      <fieldset className="choice-row">
        <legend>How</legend>
        <label>
          <input type="radio" name="mode" checked={mode === 'blind'} onChange={() => setMode('blind')} />
          Blind: hand over now
        </label>
        <label>
          <input
            type="radio"
            name="mode"
            checked={mode === 'warm'}
            onChange={() => {
              setMode('warm');
              if (kind === 'queue') {
                setKind('agent');
                setChoice('');
              }
            }}
          />
          Warm: talk to them first
        </label>
      </fieldset>
      <fieldset className="choice-row">
        <legend>To</legend>
        {(['agent', 'supervisor', 'queue'] as const).map((k) => (
          <label key={k}>
            <input
              type="radio"
              name="kind"
              checked={kind === k}
              disabled={k === 'queue' && mode === 'warm'}
              onChange={() => {
                setKind(k);
                setChoice('');
              }}
            />
            {{ agent: 'An agent', supervisor: 'A supervisor', queue: 'A queue' }[k]}
          </label>
        ))}
      </fieldset>
      {t.targetsError && <Alert>{`Could not load colleagues and queues: ${t.targetsError}`}</Alert>}
      <Field label={kind === 'queue' ? 'Queue' : kind === 'agent' ? 'Agent' : 'Supervisor'}>
        <select value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value="">{t.targets ? 'Choose…' : 'Loading…'}</option>
          {options.map((o) => (
            <option key={o.id} value={o.id} disabled={o.disabled}>
              {o.label}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Note for them (optional)">
        <input value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
      </Field>
      {t.error && <Alert onDismiss={() => c.transfers.dismiss()}>{t.error}</Alert>}
      <div className="actions">
        <button type="submit" className="button primary" disabled={!target || !!t.busy}>
          {t.busy === 'starting'
            ? 'Transferring…'
            : mode === 'blind'
              ? 'Transfer now'
              : 'Start warm transfer'}
        </button>
      </div>
    </form>
  );
}

/** My warm transfer while the colleague decides: call them, or cancel. */
export function OutgoingConsult() {
  const c = useConsole();
  const t = useStore(c.transfers);
  const now = useNow();
  const phone = useSoftphone();
  const out = t.outgoing;
  if (!out) return null;
  const left = out.expiresAt ? Math.max(0, (Date.parse(out.expiresAt) - now) / 1000) : null;
  const customerCall =
    phone.requestId === out.requestId && (phone.line === 'connected' || phone.line === 'held');
  const consulting =
    !!phone.consult || (phone.requestId === null && (phone.line === 'connected' || phone.line === 'calling'));
  const canCall = phone.present && !consulting && (phone.line === 'ready' || customerCall);
  return (
    <div className="card consult-card" role="region" aria-label={`Warm transfer to ${out.target.name}`}>
      <p className="eyebrow">Warm transfer</p>
      <h2>
        Consulting {out.target.name}
        {left !== null && <span className="muted"> · {clockDuration(left)} left</span>}
      </h2>
      <p className="small" data-testid="consult-state">
        Waiting for {out.target.name} to accept. {out.request.customerName} stays with you until then
        {customerCall
          ? phone.line === 'held'
            ? ' (on hold)'
            : '; calling them puts the customer on hold'
          : ''}
        .
        {phone.consult
          ? ` Consult call with ${phone.consult.peer}: ${phone.consult.state === 'connected' ? 'talking' : 'ringing'}.`
          : ''}
      </p>
      {t.error && <Alert onDismiss={() => c.transfers.dismiss()}>{t.error}</Alert>}
      <div className="actions">
        <button
          type="button"
          className="button primary"
          disabled={!canCall || !!t.busy}
          title={
            !phone.present ? 'No softphone connected' : consulting ? 'Already on the consult call' : undefined
          }
          onClick={() => void c.transfers.callColleague()}
        >
          {t.busy === 'calling' ? 'Calling…' : `Call ${out.target.name}`}
        </button>
        {consulting && (
          <button type="button" className="button danger" onClick={() => void c.transfers.endConsultCall()}>
            End consult call
          </button>
        )}
        <button
          type="button"
          className="button"
          disabled={!!t.busy}
          onClick={() => void c.transfers.cancelOutgoing()}
        >
          {t.busy === 'cancelling' ? 'Cancelling…' : 'Cancel transfer'}
        </button>
      </div>
    </div>
  );
}

/** Consult offers from colleagues: accept (the request becomes mine, verification included) or decline. */
export function IncomingConsults() {
  const c = useConsole();
  const t = useStore(c.transfers);
  const now = useNow();
  const offers = t.incoming.filter((x) => !x.expiresAt || Date.parse(x.expiresAt) > now);
  if (offers.length === 0) return null;
  return (
    <>
      {offers.map((x) => (
        <div
          key={x.transferId}
          className="card consult-card to-me"
          role="region"
          aria-label={`Transfer offer from ${x.by.displayName}`}
        >
          <p className="eyebrow">Warm transfer offered to you</p>
          <h2>
            {x.request.customerName} <span className="muted">· {x.request.optionLabel}</span>
          </h2>
          <p className="small">
            <LevelBadge level={x.request.level} /> {x.by.displayName} wants to hand this customer to you; they
            keep the customer until you accept.
            {x.expiresAt ? ` ${clockDuration((Date.parse(x.expiresAt) - now) / 1000)} left.` : ''}
          </p>
          {x.note && <p className="small transfer-note">“{x.note}”</p>}
          <div className="actions">
            <button
              type="button"
              className="button primary"
              disabled={!!t.busy}
              onClick={() => void c.transfers.accept(x.transferId)}
            >
              {t.busy === 'accepting' ? 'Accepting…' : 'Accept transfer'}
            </button>
            <button
              type="button"
              className="button"
              disabled={!!t.busy}
              onClick={() => void c.transfers.decline(x.transferId)}
            >
              Decline transfer
            </button>
          </div>
        </div>
      ))}
      {t.error && <Alert onDismiss={() => c.transfers.dismiss()}>{t.error}</Alert>}
    </>
  );
}

/** "Transferred by Dana Reyes (warm): …" on the offer and the active card. */
export function ArrivedFrom({ requestId }: { requestId: string }) {
  const c = useConsole();
  const { arriving } = useStore(c.transfers);
  const t: TransferView | undefined = arriving[requestId];
  if (!t) return null;
  const how =
    t.kind === 'reassign'
      ? `Reassigned to you by ${t.by.displayName}`
      : t.kind === 'take_over'
        ? `You took over from ${t.from?.displayName ?? 'the queue'}`
        : `${t.mode === 'warm' ? 'Warm' : 'Blind'} transfer from ${t.by.displayName}`;
  return (
    <p className="small transfer-note" data-testid="arrived-from">
      {how}
      {t.note ? `: “${t.note}”` : ''}. The customer keeps their verification.
    </p>
  );
}
