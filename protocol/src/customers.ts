import { z } from 'zod';
import { IsoTime, LIMITS, OpaqueId } from './common.ts';

/**
 * Customers as the back office and CRM integrators manage them (admin API). Phone numbers
 * arrive in any usual written form; the authority normalises them to E.164 (national forms
 * read with its configured default region) and refuses invalid ones naming the field.
 * Secure account fields are write-only here: a view says which are set, never their values
 * (agents see them in the panel once the customer's verification reaches their level).
 */
export const CUSTOMER_LIMITS = {
  phones: 10,
  phoneText: 32,
  phoneLabel: 40,
  externalRef: 100,
  attributes: 20,
  attributeValue: 100,
  searchText: 100,
  pageSize: 100,
  defaultPageSize: 20,
  orders: 100,
} as const;

/** No control characters (C0, DEL, C1) and not only white space. */
const PlainText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^\P{Cc}+$/u, 'must not contain control characters')
    .refine((s) => s.trim().length > 0, 'must not be blank');

export const CustomerName = PlainText(LIMITS.shortText);

/** A phone number as written: digits, spaces, "+", parentheses, dots and dashes ("020 7946 0958", "+44 20 7946 0958"). */
export const PhoneNumberText = z
  .string()
  .min(3)
  .max(CUSTOMER_LIMITS.phoneText)
  .regex(/^[0-9+() .-]+$/, 'a phone number has digits, spaces and + ( ) . - only');
/** E.164: "+", country code, subscriber number, at most 15 digits. */
export const E164 = z.string().regex(/^\+[1-9][0-9]{1,14}$/, 'an E.164 number such as +442079460958');

export const PhoneLabel = PlainText(CUSTOMER_LIMITS.phoneLabel);
export const PhoneInput = z.strictObject({
  number: PhoneNumberText.describe(
    'The number as written ("020 7946 0958", "+44 20 7946 0958"); a national form is read with the default region.',
  ),
  label: PhoneLabel.optional().describe(
    'What the number is, e.g. "mobile" or "home" (at most 40 characters).',
  ),
});
export const PhoneInputs = z.array(PhoneInput).max(CUSTOMER_LIMITS.phones);

/** The customer's id in another system (a CRM id): printable ASCII, no spaces; unique among customers. */
export const ExternalRef = z
  .string()
  .min(1)
  .max(CUSTOMER_LIMITS.externalRef)
  .regex(/^[\x21-\x7e]+$/, 'an external reference is printable ASCII without spaces');

/** Names of routing attributes: what the pipeline's priority rules test (`when.attribute.name`). */
export const AttributeName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'attribute names are lower-case letters, digits, dash and underscore')
  .refine((k) => !Object.prototype.hasOwnProperty.call(Object.prototype, k), 'reserved name');
export const AttributeValue = PlainText(CUSTOMER_LIMITS.attributeValue);
const atMostAttributes = (o: object) => Object.keys(o).length <= CUSTOMER_LIMITS.attributes;
const ATTRIBUTES_HELP = `at most ${CUSTOMER_LIMITS.attributes} attributes`;
/**
 * Routing attributes: string values by name. `tier` and `segment` are the ones the agent's
 * panel shows and the default priority rules test; others are free (at most 20).
 */
export const CustomerAttributes = z
  .record(AttributeName, AttributeValue)
  .refine(atMostAttributes, ATTRIBUTES_HELP);

export const SecureFieldName = z.enum(['accountNumber', 'balance', 'orders']);
export type SecureFieldName = z.infer<typeof SecureFieldName>;
const Money = z.number().min(-1e12).max(1e12);
export const AccountOrder = z.strictObject({
  id: PlainText(64).describe('The order reference, e.g. "ORD-10481".'),
  item: PlainText(LIMITS.shortText).describe('What was ordered.'),
  status: PlainText(64).describe('Its status in words, e.g. "shipped".'),
  amount: Money.describe('Its amount in the account currency.'),
});
export const AccountBalance = z.strictObject({
  amount: Money.describe('The balance.'),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as GBP')
    .describe('ISO 4217 currency code, e.g. GBP.'),
});
export const AccountNumber = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 -]*$/, 'an account number has letters, digits, spaces and dashes');
/** Secure account fields (shown to agents by level, see the pipeline's secureFields). */
export const AccountFields = z.strictObject({
  accountNumber: AccountNumber.optional().describe('The account number (e.g. an IBAN).'),
  balance: AccountBalance.optional().describe(
    'The balance (the priority rules may test its amount: balanceAtLeast).',
  ),
  orders: z
    .array(AccountOrder)
    .max(CUSTOMER_LIMITS.orders)
    .optional()
    .describe(`Recent orders (at most ${CUSTOMER_LIMITS.orders}).`),
});
export type AccountFields = z.infer<typeof AccountFields>;

const ATTRIBUTES_TEXT =
  'Routing attributes by name: tier and segment (shown in the agent panel, tested by the default priority rules) and free ones, at most 20, each value 1 to 100 characters.';
const ACCOUNT_TEXT =
  "Secure account fields, shown to agents only once the verification reaches each field's level; write-only in this API.";
export const CreateCustomerRequest = z.strictObject({
  displayName: CustomerName.describe('The name agents see (1 to 200 characters, no control characters).'),
  phones: PhoneInputs.optional().describe(
    `Phone numbers (at most ${CUSTOMER_LIMITS.phones}); each may belong to one active customer only.`,
  ),
  externalRef: ExternalRef.optional().describe(
    "The customer's id in another system (e.g. the CRM); unique among customers.",
  ),
  attributes: CustomerAttributes.optional().describe(ATTRIBUTES_TEXT),
  account: AccountFields.optional().describe(ACCOUNT_TEXT),
});
export type CreateCustomerRequest = z.infer<typeof CreateCustomerRequest>;

/**
 * A partial update: only the fields present change. `phones` replaces the whole list;
 * `attributes` and `account` are merged by name, null removing one; `externalRef: null` clears it.
 */
export const UpdateCustomerRequest = z
  .strictObject({
    displayName: CustomerName.optional().describe('A new display name.'),
    phones: PhoneInputs.optional().describe(
      'The new list of phone numbers (replaces the old list; [] removes them all).',
    ),
    externalRef: ExternalRef.nullable()
      .optional()
      .describe('A new external reference (unique among customers), or null to clear it.'),
    attributes: z
      .record(AttributeName, AttributeValue.nullable())
      .refine(atMostAttributes, ATTRIBUTES_HELP)
      .optional()
      .describe(
        'Attributes to set (by name) or remove (null); the others stay. At most 20 after the change.',
      ),
    account: z
      .strictObject({
        accountNumber: AccountNumber.nullable()
          .optional()
          .describe('A new account number, or null to remove it.'),
        balance: AccountBalance.nullable().optional().describe('A new balance, or null to remove it.'),
        orders: z
          .array(AccountOrder)
          .max(CUSTOMER_LIMITS.orders)
          .nullable()
          .optional()
          .describe('The new list of orders, or null to remove it.'),
      })
      .optional()
      .describe('Secure account fields to set or remove (null); the others stay. Write-only.'),
  })
  .refine((o) => Object.keys(o).length > 0, 'nothing to update');
export type UpdateCustomerRequest = z.infer<typeof UpdateCustomerRequest>;

export const DeactivateCustomerRequest = z.strictObject({
  reason: PlainText(LIMITS.shortText)
    .optional()
    .describe("Why (kept in the audit log and shown in the customer's view)."),
});

export const CustomerStatus = z.enum(['active', 'deactivated']);
export const CustomerPhone = z.strictObject({
  e164: E164.describe('The number in E.164, e.g. +442079460958.'),
  label: z.string().nullable().describe('What the number is ("mobile", "home"), or null.'),
});
export const CustomerView = z.strictObject({
  customerId: OpaqueId.describe('The customer.'),
  displayName: z.string().describe('The name agents see.'),
  externalRef: z.string().nullable().describe("The customer's id in another system (e.g. the CRM), or null."),
  phones: z.array(CustomerPhone).describe('Phone numbers, in the order given.'),
  attributes: z
    .record(z.string(), z.string())
    .describe('Routing attributes by name (tier, segment, free ones).'),
  secureFields: z
    .array(SecureFieldName)
    .describe('Which secure account fields are set (their values are never returned here).'),
  status: CustomerStatus.describe('active, or deactivated (no device enrols or authenticates).'),
  deactivatedAt: IsoTime.nullable().describe('When the customer was deactivated, or null when active.'),
  deactivationReason: z.string().nullable().describe('The reason given at deactivation, or null.'),
  createdAt: IsoTime.describe('When the customer was created.'),
  updatedAt: IsoTime.describe('When the customer last changed.'),
});
export type CustomerView = z.infer<typeof CustomerView>;

const Count = z.number().int().min(0);
export const CustomerDeactivated = z.strictObject({
  customer: CustomerView.describe('The customer, now deactivated.'),
  endedSessions: Count.describe(
    'Service sessions ended (their requests abandoned, device commands cancelled, sockets closed).',
  ),
  abandonedRequests: Count.describe(
    'Open requests (waiting, offered, assigned, scheduled) that ended as abandoned.',
  ),
  revokedDeviceTokens: Count.describe(
    'Device tokens revoked (a device must authenticate again, which is refused while deactivated).',
  ),
  voidedEnrolmentCodes: Count.describe('Unused enrolment codes voided.'),
});

/** Opaque position after the last customer of a page (base64url). */
export const CustomerCursor = z
  .string()
  .min(1)
  .max(600)
  .regex(/^[A-Za-z0-9_-]+$/, 'a cursor from a previous page');
export const CustomerListQuery = z.strictObject({
  name: PlainText(CUSTOMER_LIMITS.searchText)
    .optional()
    .describe('A part of the display name (case-insensitive for ASCII letters; % and _ are plain text).'),
  phone: PhoneNumberText.optional().describe(
    'A phone number in any written form, normalised like stored numbers (an invalid one is a 400).',
  ),
  externalRef: ExternalRef.optional().describe('The external reference, exactly.'),
  status: z
    .enum(['active', 'deactivated', 'all'])
    .optional()
    .describe('Only active or only deactivated customers; all by default.'),
  limit: z
    .string()
    .regex(/^(?:[1-9][0-9]?|100)$/, `a page size from 1 to ${CUSTOMER_LIMITS.pageSize}`)
    .optional()
    .describe(`Page size, 1 to ${CUSTOMER_LIMITS.pageSize} (default ${CUSTOMER_LIMITS.defaultPageSize}).`),
  cursor: CustomerCursor.optional().describe('nextCursor of the previous page; absent for the first page.'),
});
export type CustomerListQuery = z.infer<typeof CustomerListQuery>;

export const CustomerList = z.strictObject({
  customers: z.array(CustomerView).describe('This page of customers, ordered by display name.'),
  nextCursor: CustomerCursor.nullable().describe(
    'Pass as `cursor` for the next page; null on the last page.',
  ),
});
export type CustomerList = z.infer<typeof CustomerList>;

export const CustomerIdParams = z.strictObject({ customerId: OpaqueId.describe('The customer.') });
