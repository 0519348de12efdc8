import { useState } from 'react';
import { Field } from '../../components/Field.tsx';
import { checked, formFields, type FieldType, type FormFieldDraft } from '../../state/command-drafts.ts';
import { ComposerShell, type ComposerProps } from './composer.tsx';

const FIELD_TYPES: { value: FieldType; label: string }[] = [
  { value: 'text', label: 'Text' },
  { value: 'email', label: 'Email' },
  { value: 'number', label: 'Number' },
  { value: 'select', label: 'Choice' },
  { value: 'checkbox', label: 'Tick box' },
];

export function FormComposer({ submit, problem, sending }: ComposerProps) {
  const [title, setTitle] = useState('Delivery details');
  const [fields, setFields] = useState<FormFieldDraft[]>([
    { label: 'Address line', type: 'text', required: true, options: '' },
    { label: 'Postcode', type: 'text', required: true, options: '' },
  ]);
  const set = (i: number, patch: Partial<FormFieldDraft>) =>
    setFields(fields.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <ComposerShell
      title="Send a form"
      onSubmit={submit(() => {
        const f = formFields(fields);
        return f.ok ? checked({ kind: 'form', payload: { title: title.trim(), fields: f.value } }) : f;
      })}
      problem={problem}
      sending={sending}
      send="Send form"
    >
      <Field label="Form title">
        <input value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      </Field>
      <ol className="form-editor" aria-label="Form fields">
        {fields.map((f, i) => (
          <li key={i}>
            <input
              aria-label={`Field ${i + 1} label`}
              value={f.label}
              maxLength={200}
              onChange={(e) => set(i, { label: e.target.value })}
            />
            <select
              aria-label={`Field ${i + 1} type`}
              value={f.type}
              onChange={(e) => set(i, { type: e.target.value as FieldType })}
            >
              {FIELD_TYPES.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
            <label className="check">
              <input
                type="checkbox"
                checked={f.required}
                onChange={(e) => set(i, { required: e.target.checked })}
              />
              Required
            </label>
            <button
              type="button"
              className="link-button"
              aria-label={`Remove field ${i + 1}`}
              disabled={fields.length <= 1}
              onClick={() => setFields(fields.filter((_, j) => j !== i))}
            >
              Remove
            </button>
            {f.type === 'select' && (
              <input
                className="options"
                aria-label={`Field ${i + 1} choices (comma-separated)`}
                placeholder="Choices, comma-separated"
                value={f.options}
                onChange={(e) => set(i, { options: e.target.value })}
              />
            )}
          </li>
        ))}
        {fields.length < 30 && (
          <li>
            <button
              type="button"
              className="link-button"
              onClick={() =>
                setFields([...fields, { label: '', type: 'text', required: false, options: '' }])
              }
            >
              Add a field
            </button>
          </li>
        )}
      </ol>
    </ComposerShell>
  );
}
