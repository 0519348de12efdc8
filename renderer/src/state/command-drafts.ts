import { DeviceCommand, type FormField, type TextInputType } from '../../../protocol/src/device-control.ts';

/**
 * What the agent types in the action composers, turned into commands the protocol
 * accepts (checked with its own schema, so the page refuses what the authority would).
 */
export type Draft<T> = { ok: true; value: T } | { ok: false; error: string };

/** "Replace my card" -> "replace-my-card", unique within the list (the protocol's url-safe ids). */
export function itemIds(labels: readonly string[]): string[] {
  const used = new Set<string>();
  return labels.map((label, i) => {
    const base =
      label
        .normalize('NFKD')
        .replace(/[\u0300-\u036f]/g, '')
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || `item-${i + 1}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  });
}

export interface MenuItemDraft {
  /** Kept for items already on the device, so an edit does not change their ids. */
  id?: string;
  label: string;
}

export function menuItems(items: readonly MenuItemDraft[]): Draft<{ id: string; label: string }[]> {
  const kept = items.map((i) => ({ ...i, label: i.label.trim() })).filter((i) => i.label);
  if (kept.length === 0) return { ok: false, error: 'Add at least one option.' };
  if (kept.length > 20) return { ok: false, error: 'A menu has at most 20 options.' };
  const fresh = itemIds(kept.map((i) => i.label));
  const taken = new Set(kept.flatMap((i) => (i.id ? [i.id] : [])));
  const out = kept.map((i, n) => {
    if (i.id) return { id: i.id, label: i.label };
    let id = fresh[n]!;
    for (let k = 2; taken.has(id); k++) id = `${fresh[n]}-${k}`;
    taken.add(id);
    return { id, label: i.label };
  });
  return { ok: true, value: out };
}

export type FieldType = FormField['type'];
export interface FormFieldDraft {
  label: string;
  type: FieldType;
  required: boolean;
  /** For 'select': the options, one per line or comma-separated. */
  options: string;
}

export function formFields(drafts: readonly FormFieldDraft[]): Draft<FormField[]> {
  const kept = drafts.filter((d) => d.label.trim());
  if (kept.length === 0) return { ok: false, error: 'Add at least one field.' };
  const ids = itemIds(kept.map((d) => d.label.trim()));
  const fields: FormField[] = [];
  for (const [i, d] of kept.entries()) {
    const base = { id: ids[i]!, label: d.label.trim(), required: d.required };
    if (d.type === 'select') {
      const labels = d.options
        .split(/[\n,]/)
        .map((o) => o.trim())
        .filter(Boolean);
      if (labels.length === 0) return { ok: false, error: `“${base.label}”: list the choices.` };
      const optionIds = itemIds(labels);
      fields.push({
        ...base,
        type: 'select',
        options: labels.map((label, k) => ({ id: optionIds[k]!, label })),
      });
    } else fields.push({ ...base, type: d.type });
  }
  return { ok: true, value: fields };
}

/** Decimal digits of a currency's minor unit (GBP 2, JPY 0); 2 when the browser does not know it. */
export function minorDigits(currency: string): number {
  try {
    return (
      new Intl.NumberFormat('en-GB', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    return 2;
  }
}

/** "12.50" GBP -> 1250 (minor units), without floating-point rounding. */
export function minorUnits(amount: string, currency: string): number | null {
  const digits = minorDigits(currency);
  const m = /^(\d{1,13})(?:[.,](\d+))?$/.exec(amount.trim());
  if (!m) return null;
  const frac = m[2] ?? '';
  if (frac.length > digits) return null;
  return Number(m[1]) * 10 ** digits + Number(frac.padEnd(digits, '0') || '0');
}

export interface TransactionDraft {
  amount: string;
  currency: string;
  payee: string;
  reference: string;
  terms: string;
}

/** Any composer's result, validated against the protocol (the first problem in words). */
export function checked(command: unknown): Draft<DeviceCommand> {
  const r = DeviceCommand.safeParse(command);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue?.path.filter((p) => typeof p === 'string' && p !== 'payload').join(' ');
  return { ok: false, error: `${where ? `${where}: ` : ''}${issue?.message ?? 'not a valid command'}` };
}

export function confirmCommand(t: TransactionDraft): Draft<DeviceCommand> {
  const currency = t.currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return { ok: false, error: 'Currency: a three-letter code such as GBP.' };
  const amount = minorUnits(t.amount, currency);
  if (amount === null || amount < 1)
    return {
      ok: false,
      error: `Amount: a positive amount with at most ${minorDigits(currency)} decimals.`,
    };
  return checked({
    kind: 'confirm',
    payload: {
      transaction: {
        amount,
        currency,
        payee: t.payee.trim(),
        reference: t.reference.trim(),
        terms: t.terms.trim(),
      },
    },
  });
}

export function textCommand(input: TextInputType, prompt: string, maxLength?: number): Draft<DeviceCommand> {
  return checked({
    kind: 'text',
    payload: { input, prompt: prompt.trim(), ...(input === 'free' && maxLength ? { maxLength } : {}) },
  });
}
