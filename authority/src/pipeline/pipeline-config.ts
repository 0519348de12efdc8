import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PipelineConfig, type MenuNodeInput, type PipelineConfigInput } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest } from '../errors.ts';

export interface MenuLeaf {
  id: string;
  label: string;
  queue: string;
  level: 0 | 1 | 2 | 3;
  skills: string[];
  /** voice, chat or both (voice when the option says nothing) */
  channels: ('voice' | 'chat')[];
  /** a customer below the level may ask to be verified on the call (the security questions) */
  verifyOnCall: boolean;
}

/**
 * The pipeline configuration (queues, menu, priority rules). The file seeds the
 * store; when the file changes it wins again; the admin API replaces it in the store.
 */
export class PipelineConfigStore {
  private current!: PipelineConfig;
  private leaves = new Map<string, MenuLeaf>();

  /** Called after this node applied a configuration replaced on another node (the pipeline announces it). */
  onReloaded: (() => void) | null = null;

  private constructor(private readonly ctx: Ctx) {
    // Replaced on any node (this one included): read it again from the store, so every
    // node's menu, queues and rules are the stored ones (issue 12: caches invalidated).
    ctx.events.follow(['pipeline.config.changed'], () => this.reload());
  }

  /** The configuration as stored, or the file's when the file changed since (then stored). Before the bus starts. */
  static async open(ctx: Ctx): Promise<PipelineConfigStore> {
    const store = new PipelineConfigStore(ctx);
    await store.load();
    return store;
  }

  /** The stored configuration applied again (another node replaced it). */
  private async reload(): Promise<void> {
    const row = await this.ctx.data.read.pipelineConfig.get();
    if (!row) return;
    this.apply(PipelineConfig.parse(JSON.parse(row.json)));
    this.onReloaded?.();
  }

  private async load(): Promise<void> {
    const file = this.ctx.config.pipelineFile;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`pipeline file ${file}: ${(e as Error).message}`, { cause: e });
    }
    const hash = createHash('sha256').update(text).digest('hex');
    const row = await this.ctx.data.read.pipelineConfig.get();
    if (row && row.file_hash === hash) {
      this.apply(PipelineConfig.parse(JSON.parse(row.json)));
      return;
    }
    const parsed = PipelineConfig.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(
        `pipeline file ${file} is invalid:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`,
      );
    await this.ctx.data.tx((r) =>
      r.pipelineConfig.save(JSON.stringify(parsed.data), file, hash, this.ctx.clock.now()),
    );
    this.apply(parsed.data);
  }

  private apply(config: PipelineConfig): void {
    this.current = config;
    this.leaves = new Map();
    const walk = (nodes: MenuNodeInput[]) => {
      for (const n of nodes) {
        if (n.children) walk(n.children);
        else
          this.leaves.set(n.id, {
            id: n.id,
            label: n.label,
            queue: n.queue!,
            level: n.level ?? 0,
            skills: n.skills ?? [],
            channels: n.channels ?? ['voice'],
            verifyOnCall: n.verifyOnCall === true,
          });
      }
    };
    walk(config.menu);
  }

  get config(): PipelineConfig {
    return this.current;
  }

  /**
   * Replace the configuration (the admin API): stored with its audit row and a
   * `pipeline.config.changed` event in one unit, then applied here; every other node
   * follows the event and reads it again.
   */
  async replace(input: PipelineConfigInput, actor: string): Promise<PipelineConfig> {
    const parsed = PipelineConfig.safeParse(input);
    if (!parsed.success) throw badRequest(parsed.error.issues.map((i) => i.message).join('; '));
    await this.ctx.data.tx(async (r) => {
      await r.pipelineConfig.save(JSON.stringify(parsed.data), 'admin', null, this.ctx.clock.now());
      await r.audit.append({
        actor,
        action: 'pipeline.config',
        outcome: 'success',
        data: { queues: parsed.data.queues.length },
      });
      await r.outbox.emit('pipeline.config.changed', { actor });
    });
    this.apply(parsed.data);
    return parsed.data;
  }

  leaf(optionId: string): MenuLeaf | undefined {
    return this.leaves.get(optionId);
  }

  queue(id: string) {
    return this.current.queues.find((q) => q.id === id);
  }

  /**
   * The channels a queue is offered on: those of the menu options leading to it (voice
   * when none does: phone-in numbers and callbacks are calls).
   */
  channelsOf(queueId: string): ('voice' | 'chat')[] {
    const out = new Set<'voice' | 'chat'>();
    for (const l of this.leaves.values()) if (l.queue === queueId) for (const c of l.channels) out.add(c);
    if (!out.size) out.add('voice');
    return (['voice', 'chat'] as const).filter((c) => out.has(c));
  }

  /** The accept window of a queue's offers (ms): the queue's own, else the authority's offerTimeoutSeconds. */
  offerTimeoutMs(queueId: string): number {
    return (this.queue(queueId)?.offerTimeoutSeconds ?? this.ctx.config.offerTimeoutSeconds) * 1000;
  }

  /** How many chats of a queue an agent may hold at once: the queue's own capacity, else the default. */
  chatCapacity(queueId: string): number {
    return this.queue(queueId)?.chatCapacity ?? this.current.chatCapacity;
  }
}
