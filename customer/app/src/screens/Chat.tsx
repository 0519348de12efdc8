import { useEffect, useRef, useState } from 'react';
import { useAttachmentUrl } from '../../../../browser-common/attachment-url.ts';
import { ATTACHMENT_ACCEPT, fileSize, linkParts, type ChatEntry } from '../../../sdk/index.ts';
import type { AppController, AppState } from '../controller.ts';
import { Button, ErrorText, Icon, Notice, Screen } from '../components/ui.tsx';
import { hourMinute, verifiedText } from '../format.ts';

const DELIVERY_TEXT: Record<NonNullable<ChatEntry['delivery']>, string> = {
  sending: 'Sending…',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  refused: 'Not sent',
};
const TICKS: Record<NonNullable<ChatEntry['delivery']>, string> = {
  sending: '…',
  sent: '✓',
  delivered: '✓✓',
  read: '✓✓',
  refused: '!',
};

/**
 * A message's text as React text nodes (never HTML): links are shown as links that open
 * only when tapped, in a new tab without the app's context.
 */
export function MessageText({ text }: { text: string }) {
  return (
    <>
      {linkParts(text).map((p, i) =>
        p.kind === 'link' ? (
          <a key={i} href={p.text} target="_blank" rel="noopener noreferrer nofollow">
            {p.text}
          </a>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

type Attachment = NonNullable<ChatEntry['attachment']>;

/**
 * A message's file: an image inline, a PDF as a named button that saves it. The bytes come
 * from the authority with the device's proof, shown from an object URL; the name is text.
 */
export function AttachmentView({
  attachment,
  load,
}: {
  attachment: Attachment;
  load: (attachmentId: string) => Promise<string>;
}) {
  const isImage = attachment.kind === 'image';
  const { url, failed, fail } = useAttachmentUrl(attachment.id, isImage, load);
  if (isImage)
    return (
      <span className="chat-attachment">
        {url ? (
          <img className="chat-image" src={url} alt={attachment.name} data-testid="chat-image" />
        ) : (
          <span className="chat-file-size">
            {failed ? 'The image could not be loaded.' : 'Loading image…'}
          </span>
        )}
      </span>
    );
  return (
    <span className="chat-attachment">
      <button
        type="button"
        className="chat-file"
        data-testid="chat-file"
        aria-label={`Download ${attachment.name}`}
        onClick={() =>
          void load(attachment.id).then((u) => {
            const a = document.createElement('a');
            a.href = u;
            a.download = attachment.name;
            document.body.append(a);
            a.click();
            a.remove();
          }, fail)
        }
      >
        <span className="chat-file-icon" aria-hidden="true">
          PDF
        </span>
        <span>
          <span className="chat-file-name">{attachment.name}</span>
          <br />
          <span className="chat-file-size">{fileSize(attachment.size)} · Tap to download</span>
        </span>
      </button>
      {failed ? <span className="chat-file-size">The file could not be downloaded.</span> : null}
    </span>
  );
}

/**
 * Agents' names by staff id, learned while each one held the request: after a transfer the
 * earlier agent's messages keep their writer's name (or say "Previous agent" when this app
 * never saw it, e.g. after a reload), never the new agent's.
 */
const agentNames = new Map<string, string>();

export function ChatMessages({
  entries,
  agentName,
  agentId = null,
  loadAttachment,
}: {
  entries: readonly ChatEntry[];
  /** An attachment's object URL (AppController.chatAttachmentUrl). */
  loadAttachment?: (attachmentId: string) => Promise<string>;
  /** The agent holding the request now (null while nobody has accepted it). */
  agentName: string | null;
  agentId?: string | null;
}) {
  const writer = (staffId: string | null): string =>
    (staffId ? agentNames.get(staffId) : undefined) ??
    (staffId && staffId !== agentId ? 'Previous agent' : (agentName ?? 'Agent'));
  return (
    <ol className="chat-log" aria-label="Messages" data-testid="chat-log">
      {entries.map((e) => (
        <li
          key={e.key}
          className={`chat-msg chat-${e.sender}`}
          data-testid="chat-message"
          data-sender={e.sender}
          data-seq={e.seq ?? ''}
        >
          <span className="chat-who">{e.sender === 'customer' ? 'You' : writer(e.staffId)}</span>
          {e.attachment && loadAttachment ? (
            <AttachmentView attachment={e.attachment} load={loadAttachment} />
          ) : null}
          {!e.attachment || e.text !== e.attachment.name ? (
            <p className="chat-text" data-testid="chat-text">
              <MessageText text={e.text} />
            </p>
          ) : null}
          <span className="chat-meta">
            {e.at ? hourMinute(e.at) : ''}
            {e.delivery ? (
              <span
                className={`chat-ticks ticks-${e.delivery}`}
                data-testid="chat-delivery"
                data-delivery={e.delivery}
                aria-label={DELIVERY_TEXT[e.delivery]}
                title={DELIVERY_TEXT[e.delivery]}
              >
                {' '}
                {TICKS[e.delivery]} {DELIVERY_TEXT[e.delivery]}
              </span>
            ) : null}
          </span>
        </li>
      ))}
    </ol>
  );
}

export function Chat({ state, app }: { state: AppState; app: AppController }) {
  const chat = state.chat;
  const r = state.request;
  const [draft, setDraft] = useState('');
  const end = useRef<HTMLDivElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const count = chat?.entries.length ?? 0;
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: 'end' });
    if (typeof document === 'undefined' || document.visibilityState === 'visible') app.chatSeen();
  }, [app, count]);
  useEffect(() => {
    const seen = () => document.visibilityState === 'visible' && app.chatSeen();
    document.addEventListener('visibilitychange', seen);
    return () => document.removeEventListener('visibilitychange', seen);
  }, [app]);
  if (!chat) return <Screen title="No open chat" />;
  // The agent is named once they hold the request (an offer may still go to someone else).
  const holder = r?.state === 'assigned' ? r : null;
  const agentName = holder?.agentName ?? null;
  const agentId = holder?.agentId ?? null;
  if (agentId && agentName) agentNames.set(agentId, agentName);
  const canSend = chat.closed === null;
  const loadAttachment = (id: string) => app.chatAttachmentUrl(id);
  const submit = () => {
    if (!draft.trim()) return;
    if (app.sendChat(draft)) setDraft('');
  };
  return (
    <Screen title={agentName ? `Chat with ${agentName}` : 'Chat'} className="chat-screen">
      <p className="help verified-line" data-testid="chat-verified">
        <Icon name="shield" size={16} />{' '}
        {r
          ? `${verifiedText(state.authentication?.level === r.level ? state.authentication : { level: r.level })}. The agent sees it before your first message.`
          : 'Verified chat.'}
      </p>
      {!chat.online && canSend ? (
        <p className="card card-warning" role="status" data-testid="chat-offline">
          You are offline. Your messages are kept and sent as soon as the connection is back.
        </p>
      ) : null}
      {r && (r.state === 'waiting' || r.state === 'offered') ? (
        <p className="help" role="status">
          Waiting for an agent. You can write now: they see your messages when they join.
        </p>
      ) : null}
      <ChatMessages
        entries={chat.entries}
        agentName={agentName}
        agentId={agentId}
        loadAttachment={loadAttachment}
      />
      <p className="chat-typing" aria-live="polite" data-testid="chat-typing">
        {chat.agentTyping ? `${agentName ?? 'The agent'} is typing…` : ''}
      </p>
      <div ref={end} />
      <Notice message={chat.closed} />
      <ErrorText message={state.error} />
      {canSend ? (
        <form
          className="chat-compose"
          onSubmit={(ev) => {
            ev.preventDefault();
            submit();
          }}
        >
          <label htmlFor="chat-input" className="visually-hidden">
            Message
          </label>
          <textarea
            id="chat-input"
            data-testid="chat-input"
            rows={2}
            maxLength={4000}
            value={draft}
            placeholder="Write a message"
            onChange={(ev) => {
              setDraft(ev.target.value);
              app.chatTyping(ev.target.value.trim().length > 0);
            }}
            onBlur={() => app.chatTyping(false)}
            onKeyDown={(ev) => {
              if (ev.key === 'Enter' && !ev.shiftKey) {
                ev.preventDefault();
                submit();
              }
            }}
          />
          <input
            ref={picker}
            type="file"
            accept={ATTACHMENT_ACCEPT}
            hidden
            data-testid="chat-file-input"
            aria-label="Attach an image or PDF"
            onChange={(ev) => {
              const file = ev.target.files?.[0];
              ev.target.value = '';
              if (file) void app.sendChatFile(file);
            }}
          />
          <Button
            type="button"
            variant="ghost"
            className="chat-attach-btn"
            data-testid="chat-attach"
            aria-label="Attach a photo or PDF"
            disabled={chat.uploading !== null}
            onClick={() => picker.current?.click()}
          >
            Attach
          </Button>
          <Button type="submit" data-testid="chat-send" disabled={!draft.trim()}>
            Send
          </Button>
        </form>
      ) : null}
      {chat.uploading ? (
        <p className="help" role="status" data-testid="chat-uploading">
          Sending {chat.uploading}…
        </p>
      ) : null}
      {chat.fileError ? (
        <p className="error" role="alert" data-testid="chat-file-error">
          {chat.fileError}
        </p>
      ) : null}
      <div className="actions">
        <Button variant="ghost" onClick={() => (r ? app.showRequest() : app.home())}>
          <Icon name="back" size={18} /> {r ? 'Request' : 'Home'}
        </Button>
      </div>
    </Screen>
  );
}
