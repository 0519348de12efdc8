/**
 * Set-up shared by the phone-in tests (issue 14): the contact center answers a number
 * (pipeline configuration `phoneNumbers`), and a customer has a registered phone number.
 */
import assert from 'node:assert/strict';
import { TestDevice } from './device.ts';
import { api, bearer } from './http.ts';

/**
 * Calls to `number` join menu option `optionId` (the admin edits the pipeline configuration);
 * `linkWhileQueued: false` leaves the verification link to the agent (default: texted as the
 * call queues).
 */
export async function answerNumber(
  url: string,
  adminToken: string,
  number: string,
  optionId = 'other',
  route: { linkWhileQueued?: boolean } = {},
) {
  const cfg = await api(url, 'getPipelineConfig', { headers: bearer(adminToken) });
  const put = await api(url, 'putPipelineConfig', {
    headers: bearer(adminToken),
    json: { ...cfg.body, phoneNumbers: [{ number, optionId, ...route }] },
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
}

/** The customer's phone numbers become exactly `number` (as an admin writes it). */
export async function registerPhone(url: string, adminToken: string, customerId: string, number: string) {
  const r = await api(url, 'updateCustomer', {
    headers: bearer(adminToken),
    params: { customerId },
    json: { phones: [{ number, label: 'mobile' }] },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** The customer's phone with the app: enrolled with a one-time code from the admin, authenticated, its PIN set. */
export async function enrolWithPin(
  url: string,
  adminToken: string,
  customerId: string,
  now: () => number,
  pin = '112358',
): Promise<TestDevice> {
  const code = await api(url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(adminToken) });
  assert.equal(code.status, 201, JSON.stringify(code.body));
  const device = await new TestDevice(url, now).enrolAndAuthenticate(code.body.code);
  assert.equal((await device.api('setPin', { json: { pin } })).status, 200);
  return device;
}
