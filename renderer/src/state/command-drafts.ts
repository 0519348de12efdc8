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

/** The decimal mark of a locale ("." in en-GB, "," in de-DE); "." when unknown. */
function decimalMark(locale?: string): string {
  try {
    return new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.';
  } catch {
    return '.';
  }
}

/**
 * "1,500.00" GBP -> 150000 (minor units), without floating-point rounding, as agents type
 * amounts: spaces (also no-break and narrow no-break) and apostrophes group digits; with both
 * "." and "," the last one is the decimal mark; one mark alone is a group separator when it is
 * repeated, or when it is not the locale's decimal mark and three digits follow it. Groups are
 * of three digits; anything else is refused (null).
 */
export function minorUnits(amount: string, currency: string, locale?: string): number | null {
  const digits = minorDigits(currency);
  let text = amount.trim();
  const spaced = /\d[\s\u00a0\u202f']\d/.test(text);
  if (spaced) text = text.replace(/(\d)[\s\u00a0\u202f'](?=\d)/g, '$1 ');
  if (!/^[\d.,]+$/.test(text.replace(/ /g, ''))) return null;
  const dots = (text.match(/\./g) ?? []).length;
  const commas = (text.match(/,/g) ?? []).length;
  let decimal: string | null = null;
  let group: string | null = null;
  if (spaced) {
    if (dots + commas > 1) return null;
    group = ' ';
    decimal = dots ? '.' : commas ? ',' : null;
  } else if (dots && commas) {
    decimal = text.lastIndexOf('.') > text.lastIndexOf(',') ? '.' : ',';
    group = decimal === '.' ? ',' : '.';
  } else if (dots || commas) {
    const mark = dots ? '.' : ',';
    const after = text.length - text.lastIndexOf(mark) - 1;
    if ((dots || commas) > 1 || (mark !== decimalMark(locale) && after === 3)) group = mark;
    else decimal = mark;
  }
  let int = text;
  let frac = '';
  if (decimal !== null) {
    if (text.indexOf(decimal) !== text.lastIndexOf(decimal)) return null;
    [int, frac] = text.split(decimal) as [string, string];
    if (!/^\d+$/.test(frac)) return null;
  }
  if (group !== null) {
    const parts = int.split(group);
    if (!/^\d{1,3}$/.test(parts[0]!) || parts.slice(1).some((g) => !/^\d{3}$/.test(g))) return null;
    int = parts.join('');
  }
  text = int;
  if (!/^\d{1,13}$/.test(text)) return null;
  if (frac.length > digits) return null;
  return Number(text) * 10 ** digits + Number(frac.padEnd(digits, '0') || '0');
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

export function confirmCommand(t: TransactionDraft, locale?: string): Draft<DeviceCommand> {
  const currency = t.currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return { ok: false, error: 'Currency: a three-letter code such as GBP.' };
  const amount = minorUnits(t.amount, currency, locale);
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
