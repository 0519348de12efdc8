import type { reportRoutes } from '../../../protocol/src/index.ts';
import { reportCsv } from '../reports/reports.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Historical reports (and their CSV), the CRM screen pop and the webhook delivery log: thin, services only. */
export function reportHandlers(svc: Services): Handlers<typeof reportRoutes> {
  return {
    report: async ({ query }) => await svc.reports.report(query),
    reportCsv: async ({ query }) => {
      const { table, ...q } = query;
      return reportCsv(await svc.reports.report(q), table, q);
    },
    screenPop: async ({ principal, params }) =>
      await svc.screenPops.forHolder(principal.staff.id, params.requestId),
    webhookDeliveries: async ({ query }) => ({ deliveries: await svc.webhooks.deliveries(query) }),
  };
}
