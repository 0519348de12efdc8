import type { customerAdminRoutes } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Customer administration for the back office and CRM integrators (admin role, checked by bind). */
export function customerAdminHandlers(svc: Services): Handlers<typeof customerAdminRoutes> {
  const { customers } = svc;
  const actor = (staffId: string) => `staff:${staffId}`;
  return {
    createCustomer: ({ body, principal }) => customers.create(body, actor(principal.staff.id)),
    getCustomer: ({ params }) => customers.get(params.customerId),
    updateCustomer: ({ params, body, principal }) =>
      customers.update(params.customerId, body, actor(principal.staff.id)),
    listCustomers: ({ query }) => customers.list(query),
    deactivateCustomer: ({ params, body, principal }) =>
      customers.deactivate(params.customerId, body.reason?.trim() ?? null, actor(principal.staff.id)),
    reactivateCustomer: ({ params, principal }) =>
      customers.reactivate(params.customerId, actor(principal.staff.id)),
  };
}
