import { useCallback } from 'react';
import type { HistoryItem } from '../../../../protocol/src/index.ts';
import { formatAmount } from '../../../sdk/index.ts';
import type { AppController, AppState } from '../controller.ts';
import { ReceiptCard } from '../components/AgentCommands.tsx';
import { Button, ErrorText, Icon, Notice, Screen } from '../components/ui.tsx';
import { hourMinute } from '../format.ts';
import { AttachmentView, MessageText } from './Chat.tsx';

interface Props {
  state: AppState;
  app: AppController;
}

const day = (iso: string): string =>
  new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });

const when = (iso: string): string => `${day(iso)}, ${hourMinute(iso)}`;

const OUTCOME: Record<HistoryItem['outcome'], string> = {
  open: 'Open',
  completed: 'Completed',
  transferred: 'Transferred',
  abandoned: 'Ended without an agent',
};

/** Who handled it, in a sentence. */
function handled(r: HistoryItem): string {
  if (r.outcome === 'open') return r.agentName ? `With ${r.agentName}` : 'Waiting for an agent';
  if (r.outcome === 'transferred')
    return `${r.handledBy.slice(0, -1).join(', ')} passed it to ${r.agentName ?? 'a colleague'}, who completed it`;
  if (r.outcome === 'completed') return `Completed by ${r.agentName ?? 'an agent'}`;
  return r.agentName ? `Last with ${r.agentName}` : 'No agent took it';
}

/** The customer's requests, newest first, with what became of each; older ones a page at a time. */
export function History({ state, app }: Props) {
  const h = state.history;
  return (
    <Screen title="Your requests" lead="What you asked for and how it ended, newest first.">
      <ErrorText message={state.error} />
      <ul className="link-list" aria-label="Conversations">
        <li>
          <button
            type="button"
            className="link-row"
            onClick={() => void app.openConversations()}
            disabled={state.busy !== null}
            data-testid="open-conversations"
          >
            <span>
              Your chat conversations
              <small>Read what you and our agents wrote</small>
            </span>
            <Icon name="chevron" size={18} />
          </button>
        </li>
      </ul>
      {h.loaded && h.items.length === 0 ? <p className="help">You have not asked for help yet.</p> : null}
      <ul className="history-list" aria-label="Your requests">
        {h.items.map((r) => (
          <li key={r.requestId} className="history-item" data-testid="history-item">
            <p>
              <strong>{r.optionLabel}</strong>
            </p>
            <p className="help">
              <time dateTime={r.at}>{when(r.at)}</time>
            </p>
            <p>
              <span className={`outcome outcome-${r.outcome}`}>{OUTCOME[r.outcome]}</span>
            </p>
            <p className="help">{handled(r)}</p>
          </li>
        ))}
      </ul>
      {h.nextCursor ? (
        <Button
          variant="secondary"
          onClick={() => void app.moreHistory()}
          busy={state.busy !== null}
          busyLabel={state.busy}
        >
          Show older requests
        </Button>
      ) : h.loaded && h.items.length > 0 ? (
        <p className="help">That is all your requests.</p>
      ) : null}
      <Button variant="ghost" onClick={() => app.home()}>
        <Icon name="back" size={18} /> Home
      </Button>
    </Screen>
  );
}

const count = (n: number): string => (n === 1 ? '1 message' : `${n} messages`);

/** The customer's chat conversations, newest first; each opens read-only. */
export function Conversations({ state, app }: Props) {
  const list = state.conversations;
  return (
    <Screen
      title="Your chat conversations"
      lead="Your chats with our agents, newest first. They are read-only."
    >
      <ErrorText message={state.error} />
      {list.loaded && list.items.length === 0 ? (
        <p className="help">You have not chatted with us yet.</p>
      ) : null}
      <ul className="link-list" aria-label="Your chat conversations">
        {list.items.map((c) => (
          <li key={c.requestId}>
            <button
              type="button"
              className="link-row"
              onClick={() => void app.openConversation(c)}
              disabled={state.busy !== null}
              data-testid="conversation-item"
              aria-label={`${c.optionLabel}, ${when(c.at)}, ${count(c.messageCount)}`}
            >
              <span>
                {c.optionLabel}
                <small>
                  {when(c.at)} · {c.deleted ? 'transcript deleted' : count(c.messageCount)}
                  {c.endedAt === null ? ' · open' : ''}
                </small>
              </span>
              <Icon name="chevron" size={18} />
            </button>
          </li>
        ))}
      </ul>
      {list.nextCursor ? (
        <Button
          variant="secondary"
          onClick={() => void app.moreConversations()}
          busy={state.busy !== null}
          busyLabel={state.busy}
        >
          Show older conversations
        </Button>
      ) : null}
      <Button variant="ghost" onClick={() => void app.openHistory()}>
        <Icon name="back" size={18} /> Your requests
      </Button>
    </Screen>
  );
}

/** One past conversation, read-only: the messages as text (links open only when tapped), attachments shown. */
export function Conversation({
  state,
  app,
  screen,
}: Props & { screen: Extract<AppState['screen'], { name: 'conversation' }> }) {
  const { item, messages, partial } = screen;
  const requestId = item.requestId;
  // An image inline, a PDF as a download, like the live chat (the bytes with the device's proof).
  const loadAttachment = useCallback(
    (attachmentId: string) => app.conversationAttachmentUrl(requestId, attachmentId),
    [app, requestId],
  );
  return (
    <Screen title={item.optionLabel} lead={`Chat of ${when(item.at)}`}>
      <ErrorText message={state.error} />
      {messages === null && !state.error ? <p className="help">Loading the messages…</p> : null}
      {item.deleted ? (
        <p className="help" data-testid="conversation-deleted">
          Transcript deleted on {day(item.deleted.at)}.
        </p>
      ) : null}
      {messages && messages.length === 0 && !item.deleted ? (
        <p className="help">No messages in this conversation.</p>
      ) : null}
      {messages && messages.length > 0 ? (
        <ol className="chat-log" aria-label="Messages" data-testid="conversation-log">
          {messages.map((m) => (
            <li
              key={m.seq}
              className={`chat-msg chat-${m.sender}`}
              data-testid="conversation-message"
              data-sender={m.sender}
            >
              <span className="chat-who">{m.sender === 'customer' ? 'You' : 'Agent'}</span>
              {m.attachment ? <AttachmentView attachment={m.attachment} load={loadAttachment} /> : null}
              {!m.attachment || m.text !== m.attachment.name ? (
                <p className="chat-text">
                  <MessageText text={m.text} />
                </p>
              ) : null}
              <span className="chat-meta">{hourMinute(m.at)}</span>
            </li>
          ))}
        </ol>
      ) : null}
      {partial ? <p className="help">Only the first {messages?.length} messages are shown.</p> : null}
      <Button variant="ghost" onClick={() => void app.openConversations()}>
        <Icon name="back" size={18} /> Your chat conversations
      </Button>
    </Screen>
  );
}

/** Receipts of the payments confirmed on the customer's phones, newest first. */
export function Receipts({ state, app }: Props) {
  const list = state.receipts;
  return (
    <Screen title="Receipts" lead="Payments you confirmed with your fingerprint or PIN.">
      <ErrorText message={state.error} />
      {state.busy === null && list.length === 0 ? <p className="help">No confirmed payments yet.</p> : null}
      <ul className="link-list" aria-label="Receipts">
        {list.map((r) => (
          <li key={r.receiptId}>
            <button
              type="button"
              className="link-row"
              onClick={() => void app.openReceipt(r.receiptId)}
              disabled={state.busy !== null}
              aria-label={`Receipt ${r.receiptId}: ${formatAmount(r)} to ${r.payee}, ${when(r.at)}`}
            >
              <span>
                {formatAmount(r)} to {r.payee}
                <small>
                  {when(r.at)} · {r.receiptId}
                </small>
              </span>
              <Icon name="chevron" size={18} />
            </button>
          </li>
        ))}
      </ul>
      <Button variant="ghost" onClick={() => app.home()}>
        <Icon name="back" size={18} /> Home
      </Button>
    </Screen>
  );
}

export function Receipt({ state, app, receipt }: Props & { receipt: AppState['receipts'][number] }) {
  return (
    <Screen title={`Receipt ${receipt.receiptId}`} lead={`Confirmed ${when(receipt.at)}`}>
      <Notice message={state.notice} />
      <ReceiptCard receipt={receipt} />
      <Button variant="ghost" onClick={() => void app.openReceipts()}>
        <Icon name="back" size={18} /> Receipts
      </Button>
    </Screen>
  );
}
