import {
  CreateCustomerRequest,
  CustomerDeactivated,
  CustomerIdParams,
  CustomerList,
  CustomerListQuery,
  CustomerView,
  DeactivateCustomerRequest,
  UpdateCustomerRequest,
} from './customers.ts';
import { ADMIN, route, type RouteDef } from './route-def.ts';

const WHO =
  'Admins only (staff bearer token with the admin role; 401 without a valid token, 403 for other roles).';
const PHONES =
  'Phone numbers are accepted in any usual written form and stored in E.164; a national form is read with the configured default region (VD_DEFAULT_PHONE_REGION). An invalid number is a 400 naming the field (e.g. phones[1].number).';

/** The back office's and CRM integrators' customer administration (schemas in customers.ts). */
export const customerAdminRoutes = {
  createCustomer: route({
    method: 'POST',
    path: '/v1/admin/customers',
    summary:
      'Create a customer (name, phone numbers, external reference, routing attributes, account fields)',
    description: `Creates an active customer. ${PHONES} A number may belong to one active customer only and an external reference (e.g. a CRM id) to one customer only: 409 otherwise. Attributes (tier, segment and free ones) feed the pipeline's priority rules; secure account fields are optional and never returned. Audited (customer.create) with the fields set, not the secure values. ${WHO}`,
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    body: CreateCustomerRequest,
    response: CustomerView,
    status: 201,
    errors: {
      400: 'Invalid input, e.g. an invalid phone number (the message names the field).',
      409: 'A phone number belongs to another active customer, or the external reference to another customer.',
    },
  }),
  getCustomer: route({
    method: 'GET',
    path: '/v1/admin/customers/:customerId',
    summary: 'A customer: phone numbers, external reference, attributes, which secure fields are set, status',
    description: `The customer's administrative view; secure account values are not included, only which fields are set. 404 for an unknown id. ${WHO}`,
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: CustomerIdParams,
    response: CustomerView,
    errors: { 404: 'No such customer.' },
  }),
  updateCustomer: route({
    method: 'PATCH',
    path: '/v1/admin/customers/:customerId',
    summary:
      "Change some of a customer's fields (phones replaced as a list; attributes and account fields merged, null removes)",
    description: `A partial update: only the fields present change; "phones" replaces the whole list, "attributes" and "account" are merged by name (null removes one), "externalRef": null clears it. ${PHONES} 409 when a number belongs to another active customer or the external reference to another customer; 404 for an unknown id. A deactivated customer may be edited (its numbers are checked again when it is reactivated). Audited (customer.update) with what changed (attribute values before and after, phone numbers masked, secure field names only). ${WHO}`,
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: CustomerIdParams,
    body: UpdateCustomerRequest,
    response: CustomerView,
    errors: {
      400: 'Invalid input, e.g. an invalid phone number (the message names the field), or nothing to update.',
      404: 'No such customer.',
      409: 'A phone number belongs to another active customer, or the external reference to another customer.',
      413: 'Body over 64 KiB.',
      415: 'Body not application/json.',
    },
  }),
  listCustomers: route({
    method: 'GET',
    path: '/v1/admin/customers',
    summary:
      'List or search customers by name part, phone number (any form) or external reference, a page at a time',
    description: `Customers ordered by display name, at most "limit" (1 to 100, default 20) per page; "nextCursor" fetches the next page. Filters combine: "name" (a part of the display name), "phone" (normalised like stored numbers; an invalid one is a 400), "externalRef" (exact), "status" (active, deactivated or all, the default). 400 for a cursor that is not from this API. ${WHO}`,
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    query: CustomerListQuery,
    response: CustomerList,
    errors: {
      400: 'Invalid query: a phone number that is not valid, a cursor not from this API, a page size outside 1 to 100.',
    },
  }),
  deactivateCustomer: route({
    method: 'POST',
    path: '/v1/admin/customers/:customerId/deactivate',
    summary:
      'Deactivate a customer: no new devices, no device authentication, open sessions and requests end',
    description: `The customer's open service sessions end (ended_by_admin) and their open requests are abandoned (an agent holding one goes to wrap-up, device commands are cancelled, sockets closed); the devices' tokens are revoked and device authentication is refused (401) until reactivation; unused enrolment codes are voided and new ones refused (409); the customer's phone numbers are released for other customers. 409 when already deactivated, 404 for an unknown id. Audited (customer.deactivate) with the reason and what ended. ${WHO}`,
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: CustomerIdParams,
    body: DeactivateCustomerRequest,
    response: CustomerDeactivated,
    errors: { 404: 'No such customer.', 409: 'The customer is already deactivated.' },
  }),
  reactivateCustomer: route({
    method: 'POST',
    path: '/v1/admin/customers/:customerId/reactivate',
    summary: 'Reactivate a deactivated customer (devices authenticate again; enrolment codes may be issued)',
    description: `Makes the customer active again: its enrolled devices may authenticate again and new enrolment codes may be issued. 409 when the customer is already active, or when one of its phone numbers now belongs to another active customer (change the numbers first); 404 for an unknown id. Audited (customer.reactivate). ${WHO}`,
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: CustomerIdParams,
    response: CustomerView,
    errors: {
      404: 'No such customer.',
      409: 'The customer is already active, or one of its phone numbers now belongs to another active customer.',
    },
  }),
} as const satisfies Record<string, RouteDef>;
