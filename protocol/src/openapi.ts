import { z } from 'zod';
import { ApiError } from './common.ts';
import type { RouteDef } from './route-def.ts';

type JsonSchema = Record<string, unknown>;

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
};

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: toSchema(ApiError, 'output') } },
});

/** OpenAPI 3.1 document for a route table: request and response schemas come from the same zod schemas the authority validates with. */
export function buildOpenApi(routes: Record<string, RouteDef>, info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [operationId, r] of Object.entries(routes)) {
    const parameters: unknown[] = [];
    for (const [where, obj] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!obj) continue;
      for (const [name, schema] of Object.entries(obj.shape)) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !(schema as z.ZodType).safeParse(undefined).success,
          schema: toSchema(schema as z.ZodType, 'input'),
        });
      }
    }
    const security =
      r.auth === 'public'
        ? []
        : r.auth === 'device'
          ? [{ deviceToken: [], deviceProof: [] }]
          : r.auth === 'staff'
            ? [{ staffBearer: [] }]
            : [{ deviceToken: [], deviceProof: [] }, { staffBearer: [] }];
    const op: Record<string, unknown> = {
      operationId,
      summary: r.summary,
      tags: [r.tag],
      security,
      ...(r.roles ? { 'x-roles': r.roles } : {}),
      ...(parameters.length ? { parameters } : {}),
      responses: {
        [String(r.status ?? 200)]: {
          description: 'Success',
          content:
            r.responseKind === 'image'
              ? {
                  'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } },
                  'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
                }
              : { 'application/json': { schema: toSchema(r.response, 'output') } },
        },
        '400': errorResponse('Invalid request'),
        ...(r.auth === 'public'
          ? {}
          : { '401': errorResponse('Not authenticated'), '403': errorResponse('Not allowed') }),
      },
    };
    if (r.bodyKind === 'image') {
      op.requestBody = {
        required: true,
        content: {
          'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } },
          'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
        },
      };
    } else if (r.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: toSchema(r.body, 'input') } },
      };
    }
    const p = toOpenApiPath(r.path);
    paths[p] ??= {};
    paths[p][r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        staffBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        deviceToken: { type: 'apiKey', in: 'header', name: 'authorization', description: '"Device <token>"' },
        deviceProof: {
          type: 'apiKey',
          in: 'header',
          name: 'device-proof',
          description: 'JWS signed by the device key per request (RFC 9449 pattern)',
        },
      },
    },
  };
}
