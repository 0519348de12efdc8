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
    sendCommand: ({ principal, params, body }) => commands.send(principal.staff.id, params.requestId, body),
    requestCommands: ({ principal, params }) => commands.list(principal, params.requestId),
    updateMenu: ({ principal, params, body }) =>
      commands.updateMenu(principal.staff.id, params.commandId, body),
    cancelCommand: ({ principal, params, body }) =>
      commands.cancel(principal.staff.id, params.commandId, body.fence),

    deviceCommands: ({ principal }) => ({
      commands: commands.pending(principal),
      stopped: commands.stoppedFor(principal),
    }),
    ackCommand: ({ principal, params }) => commands.ack(principal, params.commandId),
    commandResult: ({ principal, params, body }) => commands.result(principal, params.commandId, body),
    commandImage: ({ principal, params, body, contentType }) =>
      commands.image(principal, params.commandId, contentType, body),
    deviceReceipts: ({ principal }) => ({ receipts: commands.receipts(principal) }),
    stopControl: ({ principal, params }) => commands.stop(principal, params.requestId),
    resumeControl: ({ principal, params }) => commands.resume(principal, params.requestId),

    transfer: ({ principal, params, body }) => transfers.transfer(principal.staff.id, params.requestId, body),
    myTransfers: ({ principal }) => transfers.mine(principal.staff.id),
    acceptTransfer: ({ principal, params }) => transfers.accept(principal.staff.id, params.transferId),
    declineTransfer: ({ principal, params }) => transfers.decline(principal.staff.id, params.transferId),
    cancelTransfer: ({ principal, params, body }) =>
      transfers.cancel(principal.staff.id, params.transferId, body.fence),

    takeOver: ({ principal, params, body }) =>
      transfers.takeOver(principal.staff.id, params.requestId, body.fence),
    reassign: ({ principal, params, body }) =>
      transfers.reassign(principal.staff.id, params.requestId, body.staffId, body.fence),
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
          svc.ctx.audit.append({
            actor: p.kind === 'device' ? `device:${p.device.id}` : `staff:${p.staff.id}`,
            action: `control.${id}`,
            subject,
            outcome: 'failure',
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
