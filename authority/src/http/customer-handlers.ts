import type { customerAdminRoutes } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Customer administration for the back office and CRM integrators (admin role, checked by bind). */
export function customerAdminHandlers(svc: Services): Handlers<typeof customerAdminRoutes> {
  const { customers } = svc;
  const actor = (staffId: string) => `staff:${staffId}`;
  return {
    createCustomer: async ({ body, principal }) => await customers.create(body, actor(principal.staff.id)),
    getCustomer: async ({ params }) => await customers.get(params.customerId),
    updateCustomer: async ({ params, body, principal }) =>
      await customers.update(params.customerId, body, actor(principal.staff.id)),
    listCustomers: async ({ query }) => await customers.list(query),
    deactivateCustomer: async ({ params, body, principal }) =>
      await customers.deactivate(params.customerId, body.reason?.trim() ?? null, actor(principal.staff.id)),
    reactivateCustomer: async ({ params, principal }) =>
      await customers.reactivate(params.customerId, actor(principal.staff.id)),
  };
}
