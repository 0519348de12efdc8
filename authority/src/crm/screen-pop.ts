import type { ScreenPopOpensIn } from '../../../protocol/src/pipeline.ts';
import type { Ctx } from '../context.ts';
import { conflict, notFound } from '../errors.ts';
import { notAssigned } from '../pipeline/ownership.ts';
import type { PipelineConfigStore } from '../pipeline/pipeline-config.ts';

/**
 * CRM screen pop: the queue's `screenPopUrl` template (pipeline configuration) filled for
 * the request the agent holds: {externalRef} (the customer's external reference, or their
 * id when none), {requestId}, {level} (verification level), each URL-encoded. Only an
 * origin listed in screenPopOrigins is handed out; the console opens it where the queue's
 * `screenPopOpensIn` says: its side panel (a frame; the console allows only the origins of
 * its own managed screenPopOrigins there), or the system browser (browser mode: a new tab).
 */
export class ScreenPops {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipelineConfig: PipelineConfigStore,
  ) {}

  async forHolder(
    staffId: string,
    requestId: string,
  ): Promise<{ url: string | null; unknownCaller?: true; opensIn?: ScreenPopOpensIn }> {
    const req = await this.ctx.data.read.webhooks.request(requestId);
    if (!req) throw notFound('no such request');
    if (req.state !== 'assigned' || req.agent_id !== staffId) throw notAssigned();
    // The placeholder of a caller nobody recognised is nobody's CRM record: ask again once identified.
    if (req.kind === 'unknown_caller') return { url: null, unknownCaller: true };
    const queue = this.pipelineConfig.queue(req.queue_id);
    const template = queue?.screenPopUrl;
    if (!template) return { url: null };
    const values: Record<string, string> = {
      externalRef: req.external_ref ?? req.customer_id,
      requestId,
      level: String(req.level ?? 0),
    };
    const url = template.replace(/\{(externalRef|requestId|level)\}/g, (_, k: string) =>
      encodeURIComponent(values[k]!),
    );
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      throw conflict('the screen pop template does not make a URL');
    }
    const allowed = this.ctx.config.screenPopOrigins.map((o) => new URL(o).origin);
    if (!allowed.includes(origin))
      throw conflict(`the screen pop origin ${origin} is not allow-listed (VD_SCREEN_POP_ORIGINS)`);
    return { url, opensIn: queue.screenPopOpensIn ?? 'browser' };
  }
}
