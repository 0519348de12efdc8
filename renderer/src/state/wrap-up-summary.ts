import type { CustomerPanel } from '../../../protocol/src/agent-desk.ts';
import type { CommandView } from '../../../protocol/src/device-control.ts';
import type { RequestView } from '../../../protocol/src/pipeline.ts';
import type { CustodyEntry } from '../../../protocol/src/transfers.ts';
import { spokenDuration, timeOfDay, verifiedWith } from '../format.ts';
import type { CallSegment } from './call.ts';
import { commandSummary, money } from './remote-control.ts';

/** What the console knows of a request when its wrap-up opens. */
export interface WrapUpFacts {
  request: RequestView;
  /** The verified-customer panel of this request (null when it was not loaded or is another's). */
  panel: CustomerPanel | null;
  /** The device commands sent on this request, oldest first. */
  commands: readonly CommandView[];
  /** The calls with this customer from this console. */
  calls: readonly CallSegment[];
  /** Now (ms), for a call still open. */
  now: number;
}

const STATE_WORDS: Record<CommandView['state'], string> = {
  pending: 'not answered',
  shown: 'not answered',
  done: 'done',
  declined: 'declined',
  failed: 'failed',
  expired: 'expired',
  cancelled: 'withdrawn',
};

const FACTOR_WORDS = { biometric: 'fingerprint or face', pin: 'PIN' } as const;

const HOW_WORDS: Record<CustodyEntry['how'], string> = {
  accepted: 'accepted by',
  transfer_blind: 'blind transfer to',
  transfer_warm: 'warm transfer to',
  taken_over: 'taken over by',
  reassigned: 'reassigned to',
};

/**
 * The wrap-up's notes, filled in from what happened on the request: the verification
 * (level against what it needs, the factors really used), photos compared, transactions
 * confirmed on the device (amounts), other device actions, transfers (the chain of
 * custody) and the time on the call. Plain lines the agent edits before saving; empty
 * sections are left out. A pure function of what the console already holds.
 */
export function wrapUpSummary(f: WrapUpFacts): string {
  const lines: string[] = [];
  const id = f.request.requestId;
  const panel = f.panel && f.panel.request.requestId === id ? f.panel : null;
  const commands = f.commands.filter((c) => c.requestId === id);

  // Verification: the panel's word when it is there, else the request's level.
  if (panel) {
    const v = panel.verification;
    const how = v.factors.length ? verifiedWith(v.factors) : 'no factor';
    const state = {
      verified: 'verified',
      partially_verified: 'not enough',
      not_verified: 'not verified',
      failed: 'failed',
    }[v.state];
    lines.push(`Verification: ${state}, level ${v.level} (needed ${v.requiredLevel}) with ${how}.`);
  } else lines.push(`Verification: level ${f.request.level}.`);
  const stepUps = commands.filter((c) => c.command.kind === 'verify');
  for (const c of stepUps) {
    if (c.command.kind !== 'verify') continue;
    const r = c.result?.kind === 'verify' ? c.result : null;
    lines.push(
      r
        ? `Step-up with ${FACTOR_WORDS[r.factor]}: done at ${timeOfDay(r.at)}, level ${r.level}.`
        : `Step-up with ${FACTOR_WORDS[c.command.payload.factor]}: ${STATE_WORDS[c.state]}.`,
    );
  }

  // Photos: the comparison with the enrolment photo, and photo requests not compared.
  const comparison = panel?.photos.comparison ?? null;
  if (comparison && comparison.verdict !== 'pending')
    lines.push(
      `Photo compared with the enrolment photo: ${comparison.verdict === 'match' ? 'match' : 'no match'}${
        comparison.comparedBy ? ` (${comparison.comparedBy}` : ''
      }${comparison.comparedBy && comparison.comparedAt ? `, ${timeOfDay(comparison.comparedAt)})` : comparison.comparedBy ? ')' : ''}.`,
    );
  else if (comparison) lines.push('Photo received, not compared.');

  // Transactions confirmed (or not) on the device.
  for (const c of commands) {
    if (c.command.kind !== 'confirm') continue;
    const t = c.command.payload.transaction;
    const what = `${money(t.amount, t.currency)} to ${t.payee} (ref. ${t.reference})`;
    const r = c.result?.kind === 'confirm' ? c.result : null;
    lines.push(
      r
        ? `Confirmed on the device: ${what}${r.factor ? ` with ${FACTOR_WORDS[r.factor]}` : ''} at ${timeOfDay(r.verifiedAt)}.`
        : `Transaction ${what}: ${STATE_WORDS[c.state]}.`,
    );
  }

  // Other device actions, one line.
  const others = commands.filter((c) => c.command.kind !== 'verify' && c.command.kind !== 'confirm');
  if (others.length)
    lines.push(
      `Device actions: ${others
        .map((c) => {
          const r = c.result;
          const answer = r?.kind === 'menu' ? ` → ${r.label}` : r?.kind === 'text' ? ` → “${r.value}”` : '';
          return `${commandSummary(c.command)} (${STATE_WORDS[c.state]}${answer})`;
        })
        .join('; ')}.`,
    );

  // Transfers: the chain of custody when it holds more than one hand.
  const custody = panel?.custody ?? [];
  if (custody.length > 1 || custody.some((e) => e.how !== 'accepted'))
    lines.push(
      `Custody: ${custody.map((e) => `${HOW_WORDS[e.how]} ${e.displayName} at ${timeOfDay(e.from)}`).join('; ')}.`,
    );

  // The time on the call.
  const calls = f.calls.filter((c) => c.requestId === id);
  if (calls.length) {
    const ms = calls.reduce((sum, c) => sum + Math.max(0, (c.endedAt ?? f.now) - c.connectedAt), 0);
    lines.push(`Call: ${spokenDuration(0, ms)}${calls.length > 1 ? ` over ${calls.length} calls` : ''}.`);
  } else if (f.request.channel !== 'chat') lines.push('Call: no call connected from this console.');

  return lines.join('\n');
}
