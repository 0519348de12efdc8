import type { PhoneCallView } from '../../../protocol/src/index.ts';
import type { PhoneCallRow } from '../store/repos/phone-calls.ts';

/** A call from the phone network that passed the trunk's gate, as the pipeline queues it. */
export interface PhoneCallArrival {
  sipCallId: string;
  /** the caller's number in E.164, or null (withheld, unreadable) */
  caller: string | null;
  dialled: string;
  /** the customer the caller ID points to (never proof) */
  customerId: string;
  optionId: string;
  /** what the agent reads: "Phoned in from ... (not verified)" */
  recognition: string;
  /** the control URL of the SIP server holding the call */
  sipServer?: string;
}

/** The `phone` member of a request's view, when the request is a call from the phone network. */
export const phoneView = (call: PhoneCallRow | undefined): { phone?: PhoneCallView } =>
  call
    ? {
        phone: {
          caller: call.caller,
          dialled: call.dialled,
          recognition: call.recognition,
          callerIdVerified: false,
          endedAt: call.ended_at === null ? null : new Date(call.ended_at).toISOString(),
        },
      }
    : {};
