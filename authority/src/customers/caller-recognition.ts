import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { Ctx } from '../context.ts';
import { normalisePhone } from './phones.ts';

const withheld = (callerId: string | null): boolean =>
  /^\s*(anonymous|unknown|restricted|private)?\s*$/i.test(callerId ?? '');

const UNKNOWN = ' — unknown caller';

/** The recognition of an unknown caller once the agent identified them: what the caller says, never proof. */
export const identifiedByAgent = (recognition: string, customerName: string): string =>
  (recognition.endsWith(UNKNOWN) ? recognition.slice(0, -UNKNOWN.length) : recognition) +
  ` — the caller says they are ${customerName} (identified by the agent, not verified)`;

/** Who a phone call's caller ID points to. Never proof: `verified` is always false. */
export interface CallerIdentity {
  /** The caller's number in E.164, or null (withheld, or not a phone number). */
  number: string | null;
  /** The active customer the number is registered to, or null (unknown caller). */
  customerId: string | null;
  customerName: string | null;
  /** Whether that customer has an enrolled device (a text-message link can verify them during the call). */
  hasDevice: boolean;
  /** A caller ID can be forged: it recognises, it never verifies. */
  verified: false;
  /** What the agent reads: "Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)". */
  text: string;
}

/**
 * Caller recognition for calls from the phone network (issue 14 item 2): the caller ID as
 * the trunk delivers it (E.164, national, or international digits without "+"),
 * normalised with libphonenumber against the configured default region, looked up in the
 * customers' active numbers. The caller ID is never treated as proof of identity.
 */
export class CallerRecognition {
  constructor(private readonly ctx: Ctx) {}

  /** `callerId` as delivered (null, "", "anonymous": withheld). */
  async recognise(callerId: string | null): Promise<CallerIdentity> {
    const number = this.e164(callerId);
    const unknown = (shown: string): CallerIdentity => ({
      number,
      customerId: null,
      customerName: null,
      hasDevice: false,
      verified: false,
      text: `Phoned in from ${shown}${UNKNOWN}`,
    });
    if (number === null) return unknown(withheld(callerId) ? 'a withheld number' : 'an unreadable number');
    const shown = parsePhoneNumberWithError(number).formatInternational();
    const read = this.ctx.data.read;
    const customerId = await read.customers.activeHolderOf(number, null);
    if (customerId === undefined) return unknown(shown);
    const name = (await read.devices.customerName(customerId)) ?? 'a customer';
    const devices = await read.devices.otherActiveDeviceIds(customerId, '');
    return {
      number,
      customerId,
      customerName: name,
      hasDevice: devices.length > 0,
      verified: false,
      text: `Phoned in from ${shown} — number registered to ${name} (not verified)`,
    };
  }

  /** E.164 of a caller ID, or null. Digits without "+" that are not a national number are tried as international. */
  private e164(callerId: string | null): string | null {
    const text = (callerId ?? '').trim();
    if (withheld(text)) return null;
    const region = this.ctx.config.defaultPhoneRegion;
    const asWritten = normalisePhone(text, region);
    if (asWritten.ok) return asWritten.e164;
    if (/^[1-9]\d{7,14}$/.test(text)) {
      const international = normalisePhone(`+${text}`, region);
      if (international.ok) return international.e164;
    }
    return null;
  }
}
