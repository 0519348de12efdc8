import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { ApiError } from '../../../protocol/src/index.ts';

/** Where the authority serves the device protocol for native apps (docs/device-protocol.md), beside /openapi.json. */
export const DEVICE_PROTOCOL_DOC_PATH = '/docs/device-protocol.md';
const DEVICE_PROTOCOL_DOC_FILE = new URL('../../../docs/device-protocol.md', import.meta.url);

/** The documents the authority serves: read once at start; a clear 404 when the file was not installed. */
export function serveDocs(app: FastifyInstance): void {
  let text: string | null = null;
  try {
    text = readFileSync(DEVICE_PROTOCOL_DOC_FILE, 'utf8');
  } catch {
    text = null;
  }
  app.get(DEVICE_PROTOCOL_DOC_PATH, (_request, reply) =>
    text === null
      ? reply.code(404).send({
          code: 'not_found',
          message:
            'the device protocol document (docs/device-protocol.md) is not installed with this authority',
        } satisfies ApiError)
      : reply.type('text/markdown; charset=utf-8').send(text),
  );
}
