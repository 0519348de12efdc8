import { z } from 'zod';
import {
  LIMITS,
  type AppScreen,
  type CommandClaims,
  type CommandOf,
  type FormField,
  type Transaction,
} from '../../protocol/src/index.ts';

/**
 * What the customer types or picks for an agent's command, checked on the phone with
 * the same rules the authority applies (authority/src/relay/command-results.ts), so the
 * customer reads a plain message instead of a refused answer.
 */

const TRACKING = /^[A-Za-z0-9]{6,40}$/;
const Email = z.email();

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** A typed text answer: a tracking number, an email address or free text. */
export function validateText(payload: CommandOf<'text'>['payload'], raw: string): Checked<string> {
  const value = raw.trim();
  switch (payload.input) {
    case 'tracking':
      return TRACKING.test(value)
        ? { ok: true, value: value.toUpperCase() }
        : { ok: false, message: 'A tracking number is 6 to 40 letters and digits, without spaces.' };
    case 'email':
      return Email.safeParse(value).success
        ? { ok: true, value }
        : { ok: false, message: 'Enter an email address, like name@example.com.' };
    case 'free': {
      const max = payload.maxLength ?? LIMITS.longText;
      if (value === '') return { ok: false, message: 'Type your answer first.' };
      if (value.length > max)
        return { ok: false, message: `At most ${max} characters (you typed ${value.length}).` };
      return { ok: true, value };
    }
    default: {
      const never: never = payload.input;
      return never;
    }
  }
}

/** What a form's inputs hold before checking: text for text-like fields, a boolean for checkboxes. */
export type FormDraft = Record<string, string | boolean | undefined>;
export type FormAnswer = Record<string, string | number | boolean>;

function checkField(
  f: FormField,
  raw: string | boolean | undefined,
): Checked<string | number | boolean | undefined> {
  if (f.type === 'checkbox') {
    const v = raw === true;
    return f.required && !v ? { ok: false, message: 'Tick this box to continue.' } : { ok: true, value: v };
  }
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '')
    return f.required ? { ok: false, message: 'This field is required.' } : { ok: true, value: undefined };
  switch (f.type) {
    case 'text': {
      const max = f.maxLength ?? LIMITS.longText;
      return text.length > max
        ? { ok: false, message: `At most ${max} characters.` }
        : { ok: true, value: text };
    }
    case 'email':
      return Email.safeParse(text).success
        ? { ok: true, value: text }
        : { ok: false, message: 'Enter an email address, like name@example.com.' };
    case 'number': {
      const n = Number(text.replace(',', '.'));
      if (!Number.isFinite(n)) return { ok: false, message: 'Enter a number.' };
      if (f.min !== undefined && n < f.min) return { ok: false, message: `At least ${f.min}.` };
      if (f.max !== undefined && n > f.max) return { ok: false, message: `At most ${f.max}.` };
      return { ok: true, value: n };
    }
    case 'select':
      return f.options.some((o) => o.id === text)
        ? { ok: true, value: text }
        : { ok: false, message: 'Choose one of the options.' };
    default: {
      const never: never = f;
      return never;
    }
  }
}

/**
 * A form's answer from what the inputs hold: numbers parsed, empty optional fields
 * left out, checkboxes always present. Either the typed values, or a message per field.
 */
export function validateForm(
  payload: CommandOf<'form'>['payload'],
  draft: FormDraft,
): { ok: true; values: FormAnswer } | { ok: false; errors: Record<string, string> } {
  const values: FormAnswer = {};
  const errors: Record<string, string> = {};
  for (const f of payload.fields) {
    const r = checkField(f, draft[f.id]);
    if (!r.ok) errors[f.id] = r.message;
    else if (r.value !== undefined) values[f.id] = r.value;
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, values };
}

/**
 * An amount in minor units shown in its currency (Intl.NumberFormat): 125000 GBP ->
 * "£1,250.00", 5000 JPY -> "¥5,000". The currency's own number of decimals is used.
 */
export function formatAmount(t: Pick<Transaction, 'amount' | 'currency'>, locale?: string): string {
  const f = new Intl.NumberFormat(locale, { style: 'currency', currency: t.currency });
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(t.amount / 10 ** digits);
}

/** How each app screen is named to the customer. */
export const SCREEN_TEXT: Record<AppScreen, string> = {
  home: 'the home screen',
  menu: 'the help menu',
  request: 'your request',
  call: 'the call screen',
  account: 'your account',
  help: 'the help page',
};

/** What a card says, e.g. "Dana asks you to confirm with your fingerprint". */
export function describeCommand(c: Pick<CommandClaims, 'agn' | 'cmd'>): string {
  const who = c.agn;
  const cmd = c.cmd;
  switch (cmd.kind) {
    case 'verify':
      return cmd.payload.factor === 'biometric'
        ? `${who} asks you to confirm with your fingerprint`
        : `${who} asks you to confirm with your PIN`;
    case 'photo':
      return `${who} asks for a photo`;
    case 'screenshot':
      return `${who} asks for a picture of this screen`;
    case 'text':
      return cmd.payload.input === 'tracking'
        ? `${who} asks for a tracking number`
        : cmd.payload.input === 'email'
          ? `${who} asks for your email address`
          : `${who} asks you a question`;
    case 'menu':
      return `${who} asks you to choose`;
    case 'form':
      return `${who} asks you to fill in a form`;
    case 'confirm':
      return `${who} asks you to confirm a payment`;
    case 'navigate':
      return `${who} wants to open ${SCREEN_TEXT[cmd.payload.screen]}`;
    case 'end':
      return `${who} ended the requests on your phone`;
    default: {
      const never: never = cmd;
      return never;
    }
  }
}
