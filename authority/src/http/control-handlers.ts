import type { controlRoutes, RouteDef } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handler, Handlers } from './bind.ts';
import { DomainError } from '../errors.ts';

type ControlRoutes = typeof controlRoutes;

/**
 * Handlers of the remote-control, transfer and supervisor routes. Successes are audited
 * by the services; every refusal (a 4xx with its code: stale_fence, not_assigned,
 * command_expired, ...) is audited here, with who asked and about what.
 */
export function controlHandlers(svc: Services): Handlers<ControlRoutes> {
  const { commands, transfers } = svc;
  const handlers: Handlers<ControlRoutes> = {
    sendCommand: async ({ principal, params, body }) =>
      await commands.send(principal.staff.id, params.requestId, body),
    requestCommands: async ({ principal, params }) => await commands.list(principal, params.requestId),
    updateMenu: async ({ principal, params, body }) =>
      await commands.updateMenu(principal.staff.id, params.commandId, body),
    cancelCommand: ({ principal, params, body }) =>
      commands.cancel(principal.staff.id, params.commandId, body.fence),

    deviceCommands: async ({ principal }) => ({
      commands: await commands.pending(principal),
      stopped: await commands.stoppedFor(principal),
    }),
    ackCommand: async ({ principal, params }) => await commands.ack(principal, params.commandId),
    commandResult: async ({ principal, params, body }) =>
      await commands.result(principal, params.commandId, body),
    commandImage: async ({ principal, params, body, contentType }) =>
      await commands.image(principal, params.commandId, contentType, body),
    deviceReceipts: async ({ principal }) => ({ receipts: await commands.receipts(principal) }),
    stopControl: async ({ principal, params }) => await commands.stop(principal, params.requestId),
    resumeControl: async ({ principal, params }) => await commands.resume(principal, params.requestId),

    transfer: async ({ principal, params, body }) =>
      await transfers.transfer(principal.staff.id, params.requestId, body),
    myTransfers: async ({ principal }) => await transfers.mine(principal.staff.id),
    acceptTransfer: async ({ principal, params }) =>
      await transfers.accept(principal.staff.id, params.transferId),
    declineTransfer: async ({ principal, params }) =>
      await transfers.decline(principal.staff.id, params.transferId),
    cancelTransfer: async ({ principal, params, body }) =>
      await transfers.cancel(principal.staff.id, params.transferId, body.fence),

    takeOver: async ({ principal, params, body }) =>
      await transfers.takeOver(principal.staff.id, params.requestId, body.fence),
    reassign: async ({ principal, params, body }) =>
      await transfers.reassign(principal.staff.id, params.requestId, body.staffId, body.fence),
  };
  for (const id of Object.keys(handlers) as (keyof ControlRoutes)[]) {
    const inner = handlers[id] as unknown as Handler<RouteDef>;
    const audited: Handler<RouteDef> = async (input) => {
      try {
        return await inner(input);
      } catch (e) {
        if (e instanceof DomainError) {
          const p = input.principal as unknown as
            { kind: 'device'; device: { id: string } } | { kind: 'staff'; staff: { id: string } };
          const params = (input.params ?? {}) as Record<string, string>;
          const subject = params.requestId
            ? `request:${params.requestId}`
            : params.commandId
              ? `command:${params.commandId}`
              : params.transferId
                ? `transfer:${params.transferId}`
                : null;
          await svc.audit.refused({
            actor: p.kind === 'device' ? `device:${p.device.id}` : `staff:${p.staff.id}`,
            action: `control.${id}`,
            subject,
            reason: `${e.code}: ${e.message}`.slice(0, 300),
          });
        }
        throw e;
      }
    };
    (handlers as unknown as Record<string, Handler<RouteDef>>)[id] = audited;
  }
  return handlers;
}
