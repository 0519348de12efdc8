import { Repo } from './base.ts';

/** Tables: pipeline_config. */
export class PipelineConfigRepo extends Repo {}
