import { useCallback, useEffect, useRef, useState, type Ref } from 'react';
import { useAttachmentUrl } from '../../../browser-common/attachment-url.ts';
import {
  ATTACHMENT_ACCEPT,
  fileSize,
  linkParts,
  type ChatEntry,
} from '../../../browser-common/chat-session.ts';
import { QUICK_REPLIES_MAX, QUICK_REPLY_MAX_CHARS, type ChatAttachment } from '../../../protocol/src/chat.ts';
import { useConsole, useSoftphone, useStore } from '../hooks.ts';

const DELIVERY_TEXT: Record<NonNullable<ChatEntry['delivery']>, string> = {
  sending: '… Sending',
  sent: '✓ Sent',
  delivered: '✓✓ Delivered',
  read: '✓✓ Read',
  refused: '! Not sent',
};

const time = (iso: string | null): string =>
  iso ? new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : '';

/**
 * A message's text as React text nodes, never HTML. https links are shown and open in the
 * system browser only when clicked (shell.openExternal); anything else stays text.
 */
export function ChatText({ text, onLink }: { text: string; onLink: (url: string) => void }) {
  return (
    <>
      {linkParts(text).map((p, i) =>
        p.kind === 'link' && p.text.startsWith('https://') ? (
          <a
            key={i}
            href={p.text}
            rel="noopener noreferrer nofollow"
            onClick={(ev) => {
              ev.preventDefault();
              onLink(p.text);
            }}
          >
            {p.text}
          </a>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

/** Saves an object URL's bytes under the file's name (the browser's or Electron's download). */
function download(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

/**
 * A message's file: an image shown inline, a PDF as a named button that downloads it.
 * Bytes come through the bridge as an object URL (never an external URL); the name is text.
 */
export function AttachmentView({
  attachment,
  load,
  onShown,
}: {
  attachment: ChatAttachment;
  load: (attachmentId: string) => Promise<string>;
  /** The image is laid out (the log keeps the newest message in sight). */
  onShown?: () => void;
}) {
  const isImage = attachment.kind === 'image';
  const { url, failed, fail } = useAttachmentUrl(attachment.id, isImage, load);
  if (isImage)
    return (
      <span className="chat-attachment chat-image-frame">
        {url ? (
          <img
            className="chat-image"
            src={url}
            alt={attachment.name}
            data-testid="console-chat-image"
            onLoad={onShown}
          />
        ) : (
          <span className="small muted">{failed ? 'The image could not be loaded.' : 'Loading image…'}</span>
        )}
        <span className="chat-file-name small muted">{attachment.name}</span>
      </span>
    );
  return (
    <span className="chat-attachment">
      <button
        type="button"
        className="button chat-file"
        data-testid="console-chat-file"
        title={`Download ${attachment.name}`}
        onClick={() => void load(attachment.id).then((u) => download(u, attachment.name), fail)}
      >
        <span className="chat-file-icon" aria-hidden="true">
          PDF
        </span>
        <span className="chat-file-name">{attachment.name}</span>
        <span className="small muted">{fileSize(attachment.size)}</span>
      </button>
      {failed && <span className="small bad"> The file could not be downloaded.</span>}
    </span>
  );
}

export function ChatLog({
  entries,
  customerName,
  onLink,
  myStaffId = null,
  listRef,
  loadAttachment,
  onMediaShown,
}: {
  entries: readonly ChatEntry[];
  customerName: string;
  onLink: (url: string) => void;
  /** Agent messages by someone else (before a transfer) say "Previous agent", not "You". */
  myStaffId?: string | null;
  /** The log scrolls by itself (max height): ChatPane keeps the newest message in sight. */
  listRef?: Ref<HTMLOListElement>;
  /** An attachment's object URL (ChatDeskStore.attachmentUrl for the conversation). */
  loadAttachment?: (attachmentId: string) => Promise<string>;
  /** An image finished loading (its height changed the log). */
  onMediaShown?: () => void;
}) {
  return (
    <ol className="chat-log" aria-label="Messages" data-testid="console-chat-log" ref={listRef}>
      {entries.map((e) => (
        <li
          key={e.key}
          className={`chat-msg chat-${e.sender}`}
          data-testid="console-chat-message"
          data-sender={e.sender}
        >
          <span className="chat-who">
            {e.sender === 'customer'
              ? customerName
              : e.staffId && myStaffId && e.staffId !== myStaffId
                ? 'Previous agent'
                : 'You'}
          </span>
          {e.attachment && loadAttachment && (
            <AttachmentView attachment={e.attachment} load={loadAttachment} onShown={onMediaShown} />
          )}
          {(!e.attachment || e.text !== e.attachment.name) && (
            <p className="chat-text" data-testid="console-chat-text">
              <ChatText text={e.text} onLink={onLink} />
            </p>
          )}
          <span className="chat-meta small muted">
            {time(e.at)}
            {e.delivery && (
              <span data-testid="console-chat-delivery" data-delivery={e.delivery}>
                {' '}
                {DELIVERY_TEXT[e.delivery]}
              </span>
            )}
          </span>
        </li>
      ))}
    </ol>
  );
}

/**
 * The agent's conversations (several chats at once): customer name, unread count, typing,
 * read-only once the request left. Choosing one selects its request on the desk (the
 * panel, device actions, transfer and complete follow it: console.ts wires both ways).
 */
export function ConversationList() {
  const c = useConsole();
  const chats = useStore(c.chats);
  if (chats.conversations.length === 0) return null;
  return (
    <ul className="chat-list" aria-label="Conversations">
      {chats.conversations.map((x) => (
        <li key={x.requestId}>
          <button
            type="button"
            className={`button chat-tab${x.requestId === chats.selected ? ' selected' : ''}`}
            aria-pressed={x.requestId === chats.selected}
            data-testid="chat-conversation"
            onClick={() => c.chats.select(x.requestId)}
          >
            {x.customerName}
            {x.unread > 0 && x.requestId !== chats.selected && (
              <span className="chat-unread" data-testid="chat-unread" aria-label={`${x.unread} unread`}>
                {x.unread}
              </span>
            )}
            {x.customerTyping && !x.closed && (
              <span className="muted small" data-testid="chat-list-typing">
                {' '}
                · typing…
              </span>
            )}
            {x.closed && <span className="muted small"> · read-only</span>}
          </button>
        </li>
      ))}
    </ul>
  );
}

/**
 * The editor of the agent's quick replies: add, edit, delete (and their order as listed),
 * then Save stores the whole list with the authority (empty ones are dropped). Text only.
 */
export function QuickRepliesEditor({
  initial,
  error,
  onSave,
  onCancel,
  label = 'Edit quick replies',
  note,
}: {
  initial: readonly string[];
  error: string | null;
  onSave: (list: readonly string[]) => Promise<void>;
  onCancel: () => void;
  /** The form's name (the team's list: "Edit team quick replies"). */
  label?: string;
  /** A line above the list, in plain words (who sees these replies). */
  note?: string;
}) {
  const [list, setList] = useState<string[]>(() => [...initial]);
  const [saving, setSaving] = useState(false);
  const edit = (i: number, text: string) => setList((l) => l.map((x, j) => (j === i ? text : x)));
  return (
    <form
      className="chat-quick-editor"
      aria-label={label}
      data-testid="console-quick-replies-editor"
      onSubmit={(ev) => {
        ev.preventDefault();
        setSaving(true);
        void onSave(list).finally(() => setSaving(false));
      }}
    >
      {note && <p className="small muted">{note}</p>}
      <ol>
        {list.map((text, i) => (
          <li key={i}>
            <textarea
              aria-label={`Quick reply ${i + 1}`}
              data-testid="console-quick-reply-text"
              rows={2}
              maxLength={QUICK_REPLY_MAX_CHARS}
              value={text}
              onChange={(ev) => edit(i, ev.target.value)}
            />
            <button
              type="button"
              className="button ghost small"
              aria-label={`Delete quick reply ${i + 1}`}
              onClick={() => setList((l) => l.filter((_, j) => j !== i))}
            >
              Delete
            </button>
          </li>
        ))}
      </ol>
      {list.length === 0 && <p className="small muted">No quick replies: add one, or save an empty list.</p>}
      {error && (
        <p className="small tone-text-bad" role="alert">
          {error}
        </p>
      )}
      <div className="chat-compose-actions">
        <button
          type="button"
          className="button small"
          disabled={list.length >= QUICK_REPLIES_MAX}
          onClick={() => setList((l) => [...l, ''])}
        >
          Add reply
        </button>
        <button type="submit" className="button primary small" disabled={saving}>
          Save
        </button>
        <button type="button" className="button ghost small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/**
 * The quick replies beside a chat: the team's (shared by every agent, kept by supervisors,
 * under "Team", read-only here) and the agent's own, then "Edit quick replies" (the agent's
 * own list only). Picking one sends it as a message.
 */
export function QuickReplyPicker({
  team,
  mine,
  online,
  onPick,
  onEdit,
}: {
  team: readonly string[];
  mine: readonly string[];
  online: boolean;
  onPick: (text: string) => void;
  onEdit: () => void;
}) {
  const reply = (q: string, i: number, group: 'team' | 'mine') => (
    <button
      key={`${i}:${q}`}
      type="button"
      className="button chat-quick-reply"
      data-testid={group === 'team' ? 'console-team-quick-reply' : 'console-quick-reply'}
      onClick={() => onPick(q)}
    >
      {q}
    </button>
  );
  return (
    <div className="chat-quick-groups">
      {team.length > 0 && (
        <div
          className="chat-quick"
          role="group"
          aria-label="Team quick replies"
          data-testid="console-team-quick-replies"
        >
          <span className="chat-quick-label small muted" title="Shared by every agent, kept by supervisors">
            Team
          </span>
          {team.map((q, i) => reply(q, i, 'team'))}
        </div>
      )}
      <div className="chat-quick" role="group" aria-label="Quick replies">
        {team.length > 0 && mine.length > 0 && <span className="chat-quick-label small muted">Mine</span>}
        {mine.map((q, i) => reply(q, i, 'mine'))}
        <button
          type="button"
          className="button ghost chat-quick-reply"
          data-testid="console-quick-replies-edit"
          disabled={!online}
          title={online ? undefined : 'Quick replies are kept by the authority: connect first'}
          onClick={onEdit}
        >
          Edit quick replies
        </button>
      </div>
    </div>
  );
}

/**
 * The agent's chats beside the verification panel: the conversation list (unless the desk
 * shows it above the request card), the selected transcript, quick replies, the composer,
 * and "Call customer" (the existing call path: same request, same verification).
 */
export function ChatPane({ list = true }: { list?: boolean }) {
  const c = useConsole();
  const chats = useStore(c.chats);
  const work = useStore(c.work);
  const phone = useSoftphone();
  const calling = useStore(c.calls).busy;
  const [draft, setDraft] = useState('');
  const [editingReplies, setEditingReplies] = useState(false);
  const selected = chats.conversations.find((x) => x.requestId === chats.selected) ?? null;
  const count = selected?.entries.length ?? 0;
  const end = useRef<HTMLDivElement>(null);
  const log = useRef<HTMLOListElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const selectedId = selected?.requestId ?? null;
  const loadAttachment = useCallback(
    (attachmentId: string) => c.chats.attachmentUrl(selectedId ?? '', attachmentId),
    [c, selectedId],
  );
  useEffect(() => {
    // The newest message in sight: at the bottom of the log's own scroll area, and the pane's end on screen.
    if (log.current) log.current.scrollTop = log.current.scrollHeight;
    end.current?.scrollIntoView?.({ block: 'end' });
    if (document.visibilityState === 'visible') c.chats.markRead();
  }, [c, count, chats.selected]);
  if (chats.conversations.length === 0) return null;
  const openLink = (url: string) =>
    void c.bridge.invoke('shell.openExternal', { url }).catch(() => undefined);
  const inHand = work.phase === 'active' && selected?.requestId === work.request.requestId;
  const submit = (text: string) => {
    if (!text.trim()) return;
    if (c.chats.send(text)) setDraft('');
  };
  return (
    <section className="card chat-pane" aria-label="Chats" data-testid="chat-pane">
      {list && <ConversationList />}
      {selected && (
        <div className="chat-body">
          {!chats.online && !selected.closed && (
            <p className="alert warn small" role="status" data-testid="console-chat-offline">
              Not connected to the authority: messages wait and are sent when the connection is back.
            </p>
          )}
          <ChatLog
            entries={selected.entries}
            customerName={selected.customerName}
            onLink={openLink}
            myStaffId={c.session.staff?.staffId ?? null}
            listRef={log}
            loadAttachment={loadAttachment}
            onMediaShown={() => {
              if (log.current) log.current.scrollTop = log.current.scrollHeight;
            }}
          />
          <p className="chat-typing small muted" aria-live="polite" data-testid="console-chat-typing">
            {selected.customerTyping ? `${selected.customerName} is typing…` : ''}
          </p>
          <div ref={end} />
          {selected.closed ? (
            <p className="small muted" role="status">
              {selected.closed}{' '}
              <button
                type="button"
                className="button small"
                onClick={() => c.chats.remove(selected.requestId)}
              >
                Close chat
              </button>
            </p>
          ) : (
            <>
              {editingReplies ? (
                <QuickRepliesEditor
                  initial={chats.quickReplies}
                  error={chats.quickRepliesError}
                  onSave={async (list) => {
                    if (await c.chats.saveQuickReplies(list)) setEditingReplies(false);
                  }}
                  onCancel={() => setEditingReplies(false)}
                />
              ) : (
                <QuickReplyPicker
                  team={chats.teamQuickReplies}
                  mine={chats.quickReplies}
                  online={chats.online}
                  onPick={submit}
                  onEdit={() => setEditingReplies(true)}
                />
              )}
              <form
                className="chat-compose"
                onSubmit={(ev) => {
                  ev.preventDefault();
                  submit(draft);
                }}
              >
                <textarea
                  aria-label={`Message to ${selected.customerName}`}
                  data-testid="console-chat-input"
                  rows={2}
                  maxLength={4000}
                  value={draft}
                  onChange={(ev) => {
                    setDraft(ev.target.value);
                    c.chats.typing(ev.target.value.trim().length > 0);
                  }}
                  onBlur={() => c.chats.typing(false)}
                  onKeyDown={(ev) => {
                    if (ev.key === 'Enter' && !ev.shiftKey) {
                      ev.preventDefault();
                      submit(draft);
                    }
                  }}
                />
                <div className="chat-compose-actions">
                  <input
                    ref={picker}
                    type="file"
                    accept={ATTACHMENT_ACCEPT}
                    hidden
                    data-testid="console-chat-file-input"
                    aria-label="Attach an image or PDF"
                    onChange={(ev) => {
                      const file = ev.target.files?.[0];
                      ev.target.value = '';
                      if (file) void c.chats.attach(file);
                    }}
                  />
                  <button
                    type="button"
                    className="button"
                    data-testid="console-chat-attach"
                    title="Send an image (PNG, JPEG, WebP) or a PDF"
                    disabled={!!chats.uploading}
                    onClick={() => picker.current?.click()}
                  >
                    Attach
                  </button>
                  <button type="submit" className="button primary" disabled={!draft.trim()}>
                    Send
                  </button>
                </div>
              </form>
              {chats.uploading && (
                <p className="small muted" role="status" data-testid="console-chat-uploading">
                  Sending {chats.uploading}…
                </p>
              )}
              {chats.error && (
                <p className="small bad" role="alert" data-testid="console-chat-error">
                  {chats.error}
                </p>
              )}
              {inHand && (
                <p className="small muted">
                  <button
                    type="button"
                    className="button"
                    data-testid="chat-call"
                    // As the call controls: one call at a time, only with a ready softphone.
                    disabled={!phone.present || phone.line !== 'ready' || !!calling}
                    onClick={() => void c.calls.callCustomer()}
                  >
                    {calling === 'calling' ? 'Calling…' : 'Call customer'}
                  </button>{' '}
                  Same request, same verification: no new checks.
                </p>
              )}
            </>
          )}
        </div>
      )}
    </section>
  );
}
