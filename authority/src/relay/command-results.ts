import { z } from 'zod';
import type {
  CommandOf,
  CommandResultView,
  DeviceCommand,
  DeviceResult,
  FormField,
} from '../../../protocol/src/index.ts';
import { LIMITS } from '../../../protocol/src/index.ts';
import { DomainError } from '../errors.ts';

export const invalidResult = (message: string) => new DomainError('invalid', 'invalid_result', message);

const TRACKING = /^[A-Za-z0-9]{6,40}$/;
const Email = z.email();

/** A typed text answer, checked against the kind of input asked for. */
export function checkText(cmd: CommandOf<'text'>, value: string): string {
  const p = cmd.payload;
  switch (p.input) {
    case 'tracking':
      if (!TRACKING.test(value)) throw invalidResult('a tracking number is 6 to 40 letters and digits');
      return value.toUpperCase();
    case 'email':
      if (!Email.safeParse(value).success) throw invalidResult('not an email address');
      return value;
    case 'free':
      if (value.length > (p.maxLength ?? LIMITS.longText))
        throw invalidResult(`at most ${p.maxLength ?? LIMITS.longText} characters`);
      return value;
    default: {
      const never: never = p.input;
      return never;
    }
  }
}

function checkField(f: FormField, v: unknown): void {
  const bad = (why: string) => invalidResult(`field "${f.id}": ${why}`);
  switch (f.type) {
    case 'text':
      if (typeof v !== 'string') throw bad('expects text');
      if (v.length > (f.maxLength ?? LIMITS.longText)) throw bad('too long');
      if (f.required && v.trim() === '') throw bad('required');
      return;
    case 'email':
      if (typeof v !== 'string' || !Email.safeParse(v).success) throw bad('expects an email address');
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('expects a number');
      if (f.min !== undefined && v < f.min) throw bad(`at least ${f.min}`);
      if (f.max !== undefined && v > f.max) throw bad(`at most ${f.max}`);
      return;
    case 'select':
      if (typeof v !== 'string' || !f.options.some((o) => o.id === v)) throw bad('not one of the options');
      return;
    case 'checkbox':
      if (typeof v !== 'boolean') throw bad('expects true or false');
      if (f.required && !v) throw bad('must be ticked');
      return;
    default: {
      const never: never = f;
      return never;
    }
  }
}

/** Form values: every required field present, each of its type, no unknown field. */
export function checkForm(cmd: CommandOf<'form'>, values: Record<string, unknown>): void {
  const fields = new Map(cmd.payload.fields.map((f) => [f.id, f]));
  for (const id of Object.keys(values)) if (!fields.has(id)) throw invalidResult(`unknown field "${id}"`);
  for (const f of fields.values()) {
    if (!Object.hasOwn(values, f.id)) {
      if (f.required) throw invalidResult(`field "${f.id}": required`);
      continue;
    }
    checkField(f, values[f.id]);
  }
}

/**
 * The synchronous part of checking a device's answer: the result's kind matches the
 * command, and its value fits what was asked. verify and confirm need the store and
 * the device key; the caller finishes those.
 */
export function checkResultShape(
  cmd: DeviceCommand,
  revision: number,
  res: DeviceResult,
): CommandResultView | 'verify' | 'confirm' {
  if (cmd.kind !== res.kind)
    throw invalidResult(
      cmd.kind === 'photo' || cmd.kind === 'screenshot'
        ? `a ${cmd.kind} is answered by uploading the image to /v1/device/commands/:commandId/image`
        : `this is a ${cmd.kind} command, not ${res.kind}`,
    );
  switch (res.kind) {
    case 'verify':
      if (cmd.kind === 'verify' && cmd.payload.factor !== res.factor)
        throw invalidResult(`the agent asked for the ${cmd.payload.factor}`);
      return 'verify';
    case 'confirm':
      return 'confirm';
    case 'text':
      return { kind: 'text', value: checkText(cmd as CommandOf<'text'>, res.value) };
    case 'menu': {
      const menu = cmd as CommandOf<'menu'>;
      if (res.revision !== revision)
        throw new DomainError(
          'conflict',
          'menu_revised',
          `the menu was changed (revision ${revision}); choose from the current one`,
          { revision },
        );
      const item = menu.payload.items.find((i) => i.id === res.itemId);
      if (!item) throw invalidResult(`no item "${res.itemId}" in this menu`);
      return { kind: 'menu', itemId: item.id, label: item.label, revision };
    }
    case 'form':
      checkForm(cmd as CommandOf<'form'>, res.values);
      return { kind: 'form', values: res.values };
    case 'navigate':
      if ((cmd as CommandOf<'navigate'>).payload.screen !== res.screen)
        throw invalidResult('the device opened another screen than asked');
      return { kind: 'navigate', screen: res.screen };
    case 'end':
      return { kind: 'end' };
    default: {
      const never: never = res;
      return never;
    }
  }
}
