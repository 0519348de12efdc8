import { useCallback, useEffect, useState } from 'react';
import type { StaffChatTranscript } from '../../../protocol/src/chat.ts';
import { errorText } from '../bridge/types.ts';
import { dateTime } from '../format.ts';
import { useConsole } from '../hooks.ts';
import { AttachmentView, ChatText } from './ChatPane.tsx';

/** Pages of a transcript read when it is opened (500 messages each). */
const MAX_TRANSCRIPT_PAGES = 20;

/**
 * A request's chat transcript, read-only (the History's opened request, the supervisor's
 * board): read page by page through the bridge ('chat.transcript', audited by the
 * authority); text as text, links open only when clicked, an image inline and a PDF as a
 * download (the live chat's AttachmentView, bytes through 'chat.attachment').
 */
export function Transcript({ requestId, customerName }: { requestId: string; customerName: string }) {
  const c = useConsole();
  const [state, setState] = useState<
    | { kind: 'loading' }
    | { kind: 'error'; text: string }
    | { kind: 'done'; transcript: StaffChatTranscript; partial: boolean }
  >({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        let page = await c.bridge.invoke('chat.transcript', { requestId });
        const messages = [...page.messages];
        for (let i = 1; page.nextAfter !== null && i < MAX_TRANSCRIPT_PAGES; i++) {
          page = await c.bridge.invoke('chat.transcript', { requestId, after: page.nextAfter });
          messages.push(...page.messages);
        }
        if (live)
          setState({ kind: 'done', transcript: { ...page, messages }, partial: page.nextAfter !== null });
      } catch (e) {
        if (live) setState({ kind: 'error', text: errorText(e) });
      }
    })();
    return () => {
      live = false;
    };
  }, [c, requestId]);
  const onLink = useCallback(
    (url: string) => void c.bridge.invoke('shell.openExternal', { url }).catch(() => undefined),
    [c],
  );
  const loadAttachment = useCallback(
    (attachmentId: string) => c.chats.attachmentUrl(requestId, attachmentId),
    [c, requestId],
  );
  if (state.kind === 'loading') return <p className="muted">Loading the transcript…</p>;
  if (state.kind === 'error') return <p className="form-error">{state.text}</p>;
  return (
    <TranscriptView
      transcript={state.transcript}
      partial={state.partial}
      customerName={customerName}
      onLink={onLink}
      loadAttachment={loadAttachment}
    />
  );
}

/** A transcript read: the deletion line, or its messages (attachments shown), or that it has none. */
export function TranscriptView({
  transcript,
  partial,
  customerName,
  onLink,
  loadAttachment,
}: {
  transcript: StaffChatTranscript;
  /** more pages than were read */
  partial: boolean;
  customerName: string;
  onLink: (url: string) => void;
  /** An attachment's object URL (ChatDeskStore.attachmentUrl of the request). */
  loadAttachment: (attachmentId: string) => Promise<string>;
}) {
  const names = new Map(transcript.agents.map((a) => [a.staffId, a.displayName]));
  return (
    <>
      {transcript.deleted && (
        <p className="muted" data-testid="history-transcript-deleted">
          {transcriptDeletedLine(transcript.deleted)}
        </p>
      )}
      {!transcript.deleted && transcript.messages.length === 0 && (
        <p className="muted" data-testid="history-transcript-empty">
          No chat messages in this request.
        </p>
      )}
      {transcript.messages.length > 0 && (
        <ol
          className="chat-log history-transcript"
          aria-label="Chat transcript"
          data-testid="history-transcript"
        >
          {transcript.messages.map((m) => (
            <li
              key={m.seq}
              className={`chat-msg chat-${m.sender}`}
              data-testid="history-transcript-message"
              data-sender={m.sender}
            >
              <span className="chat-who">
                {m.sender === 'customer' ? customerName : ((m.staffId && names.get(m.staffId)) ?? 'Agent')}
              </span>
              {m.attachment && <AttachmentView attachment={m.attachment} load={loadAttachment} />}
              {(!m.attachment || m.text !== m.attachment.name) && (
                <p className="chat-text">
                  <ChatText text={m.text} onLink={onLink} />
                </p>
              )}
              <span className="chat-meta small muted">{dateTime(m.at)}</span>
            </li>
          ))}
        </ol>
      )}
      {partial && (
        <p className="small muted">Only the first {transcript.messages.length} messages are shown.</p>
      )}
    </>
  );
}

/** The line that stands for a deleted transcript's messages. */
export function transcriptDeletedLine(d: NonNullable<StaffChatTranscript['deleted']>): string {
  return `Transcript deleted on ${dateTime(d.at)} (${d.by === 'retention' ? 'retention' : 'deleted by an administrator'}).`;
}
