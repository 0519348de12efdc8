import type { deviceAccountRoutes } from '../../../protocol/src/index.ts';
import { DeviceAccount } from '../identity/device-account.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** The customer's own account from a device: request history, one receipt, removing this phone. */
export function deviceAccountHandlers(svc: Services): Handlers<typeof deviceAccountRoutes> {
  const account = new DeviceAccount(svc.ctx, svc.pipeline, svc.sessions);
  return {
    deviceHistory: async ({ principal, query }) => await account.history(principal, query),
    deviceReceipt: async ({ principal, params }) => await account.receipt(principal, params.receiptId),
    revokeDevice: async ({ principal }) => await account.revoke(principal),
  };
}
