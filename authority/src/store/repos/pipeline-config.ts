import type { Selectable } from 'kysely';
import type { PipelineConfigTable } from '../schema.ts';
import { Repo } from './base.ts';

export type PipelineConfigRow = Selectable<PipelineConfigTable>;

/** Tables: pipeline_config (one row). */
export class PipelineConfigRepo extends Repo {
  get(): Promise<PipelineConfigRow | undefined> {
    return this.q.selectFrom('pipeline_config').selectAll().where('id', '=', 1).executeTakeFirst();
  }

  /**
   * Store the configuration (JSON text). A save without a file hash keeps the stored
   * one: the file still counts as seen, so it wins again only when it changes.
   */
  async save(json: string, source: string, fileHash: string | null, at = this.now()): Promise<void> {
    await this.q
      .insertInto('pipeline_config')
      .values({ id: 1, json, source, file_hash: fileHash, updated_at: at })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          json: eb.ref('excluded.json'),
          source: eb.ref('excluded.source'),
          file_hash: eb.fn.coalesce(eb.ref('excluded.file_hash'), eb.ref('pipeline_config.file_hash')),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}
