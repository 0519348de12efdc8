import { useState } from 'react';
import { useConsole, useStore } from '../hooks.ts';
import { QuickRepliesEditor } from './ChatPane.tsx';

/**
 * On the supervisor's board: the team's quick replies, the list every agent's console offers
 * beside a chat under "Team" (agents cannot change it). "Edit team quick replies" opens the
 * same editor as an agent's own list; Save stores the whole list with the authority (audited).
 */
export function TeamQuickRepliesCard() {
  const c = useConsole();
  const chats = useStore(c.chats);
  const [editing, setEditing] = useState(false);
  return (
    <div className="card" data-testid="console-team-quick-replies-card">
      <h2>Team quick replies</h2>
      {editing ? (
        <QuickRepliesEditor
          label="Edit team quick replies"
          note="Every agent sees these replies beside their chats, from their next chat; only supervisors and admins can change them."
          initial={chats.teamQuickReplies}
          error={chats.teamQuickRepliesError}
          onSave={async (list) => {
            if (await c.chats.saveTeamQuickReplies(list)) setEditing(false);
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <>
          {chats.teamQuickReplies.length === 0 ? (
            <p className="small muted">No team quick replies: agents see only their own.</p>
          ) : (
            <ol className="small">
              {chats.teamQuickReplies.map((q, i) => (
                <li key={`${i}:${q}`}>{q}</li>
              ))}
            </ol>
          )}
          <button
            type="button"
            className="button small"
            data-testid="console-team-quick-replies-edit"
            disabled={!chats.online}
            title={chats.online ? undefined : 'Quick replies are kept by the authority: connect first'}
            onClick={() => setEditing(true)}
          >
            Edit team quick replies
          </button>
        </>
      )}
    </div>
  );
}
