import type { MenuItemDraft } from '../../state/command-drafts.ts';

/** Labels with add/remove/rename; used to compose a menu and to edit it while it is live. */
export function MenuItemsEditor({
  items,
  onChange,
}: {
  items: MenuItemDraft[];
  onChange: (items: MenuItemDraft[]) => void;
}) {
  return (
    <ol className="menu-editor" aria-label="Menu options">
      {items.map((item, i) => (
        <li key={i}>
          <input
            aria-label={`Option ${i + 1}`}
            value={item.label}
            maxLength={200}
            onChange={(e) => onChange(items.map((x, j) => (j === i ? { ...x, label: e.target.value } : x)))}
          />
          <button
            type="button"
            className="link-button"
            aria-label={`Remove option ${i + 1}`}
            disabled={items.length <= 1}
            onClick={() => onChange(items.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </li>
      ))}
      {items.length < 20 && (
        <li>
          <button type="button" className="link-button" onClick={() => onChange([...items, { label: '' }])}>
            Add an option
          </button>
        </li>
      )}
    </ol>
  );
}
