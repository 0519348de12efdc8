import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { PhoneCallbackView, PhoneCallView } from '../../../protocol/src/index.ts';
import type { PhoneCallbackRow } from '../store/repos/phone-callbacks.ts';
import type { PhoneCallWithCaller } from '../store/repos/phone-calls.ts';

/** A call from the phone network that passed the trunk's gate, as the pipeline queues it. */
export interface PhoneCallArrival {
  sipCallId: string;
  /** the caller's number in E.164, or null (withheld, unreadable) */
  caller: string | null;
  dialled: string;
  /** the customer the caller ID points to (never proof), or null: an unknown caller (a placeholder customer holds the request until the agent identifies the caller) */
  customerId: string | null;
  optionId: string;
  /** what the agent reads: "Phoned in from ... (not verified)" */
  recognition: string;
  /** the control URL of the SIP server holding the call */
  sipServer?: string;
}

/** The `phone` member of a request's view, when the request is a call from the phone network. */
export const phoneView = (
  call: PhoneCallWithCaller | undefined,
  linkTextedAt?: number,
): { phone?: PhoneCallView } =>
  call
    ? {
        phone: {
          caller: call.caller,
          dialled: call.dialled,
          recognition: call.recognition,
          callerIdVerified: false,
          unknownCaller: call.unknown_caller,
          identifiedByAgent: call.identified_at !== null,
          endedAt: call.ended_at === null ? null : new Date(call.ended_at).toISOString(),
          ...(linkTextedAt !== undefined ? { linkTextedAt: new Date(linkTextedAt).toISOString() } : {}),
        },
      }
    : {};

/** The `phoneCallback` member of a request's view, when the request is a callback to a phone number. */
export const phoneCallbackView = (cb: PhoneCallbackRow | undefined): { phoneCallback?: PhoneCallbackView } =>
  cb
    ? {
        phoneCallback: {
          number: cb.number,
          shown: parsePhoneNumberWithError(cb.number).formatInternational(),
          bookedAt: new Date(cb.booked_at).toISOString(),
          placedAt: cb.placed_at === null ? null : new Date(cb.placed_at).toISOString(),
          attempts: cb.placed_count,
          endedAt: cb.ended_at === null ? null : new Date(cb.ended_at).toISOString(),
          endReason: cb.end_reason,
          endStatus: cb.end_status,
        },
      }
    : {};
