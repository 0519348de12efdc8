import { useState } from 'react';
import { Field } from '../../components/Field.tsx';
import { checked, menuItems, type MenuItemDraft } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';
import { MenuItemsEditor } from './MenuItemsEditor.tsx';

export function MenuComposer({ submit, problem, sending }: ComposerProps) {
  const [title, setTitle] = useState('Which card is it about?');
  const [items, setItems] = useState<MenuItemDraft[]>([{ label: 'Debit card' }, { label: 'Credit card' }]);
  return (
    <ComposerShell
      title="Send a menu"
      onSubmit={submit(() => {
        const m = menuItems(items);
        return m.ok ? checked({ kind: 'menu', payload: { title: title.trim(), items: m.value } }) : m;
      })}
      problem={problem}
      sending={sending}
      send="Send menu"
    >
      <Field label="Menu title">
        <input value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      </Field>
      <MenuItemsEditor items={items} onChange={setItems} />
    </ComposerShell>
  );
}
