import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  assuranceLevel,
  buildOpenApi,
  jsonDepthExceeds,
  routes,
  type FactorKind,
  type RouteDef,
} from '../../protocol/src/index.ts';

describe('protocol', () => {
  it('assurance levels follow docs/architecture.md (Identity)', () => {
    const cases: [FactorKind[], number][] = [
      [[], 0],
      [['pin'], 0],
      [['biometric'], 0],
      [['device'], 1],
      [['knowledge'], 1],
      [['device', 'pin'], 2],
      [['device', 'photo'], 2],
      [['device', 'knowledge'], 2],
      [['device', 'biometric'], 3],
      [['device', 'pin', 'biometric', 'photo'], 3],
    ];
    for (const [f, level] of cases) assert.equal(assuranceLevel(f), level, f.join('+'));
  });

  it('the depth scanner agrees with JSON.parse on generated JSON, and never recurses', () => {
    const depth = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (v, limit) => {
        const text = JSON.stringify(v);
        assert.equal(jsonDepthExceeds(text, limit), depth(v) > limit);
      }),
      { numRuns: 2000 },
    );
    assert.equal(jsonDepthExceeds('['.repeat(1_000_000), 32), true);
    assert.equal(
      jsonDepthExceeds('"' + '[\\"'.repeat(1000) + '"', 1),
      false,
      'brackets inside strings do not count',
    );
  });

  it('the OpenAPI 3.1 document lists every route with its schemas', () => {
    const doc = buildOpenApi(routes, { title: 't', version: '1' });
    assert.equal(doc.openapi, '3.1.0');
    let n = 0;
    for (const [id, r] of Object.entries(routes) as [string, RouteDef][]) {
      const op = (doc.paths[r.path.replace(/:([A-Za-z]+)/g, '{$1}')] as any)?.[r.method.toLowerCase()];
      assert.ok(op, `${id} in the document`);
      assert.equal(op.operationId, id);
      assert.ok(
        op.responses[String(r.status ?? 200)].content[
          r.responseKind === 'image'
            ? 'image/jpeg'
            : r.responseKind === 'file'
              ? 'application/pdf'
              : 'application/json'
        ].schema,
      );
      if ('body' in r && r.body) {
        const s =
          op.requestBody.content[
            r.bodyKind === 'form' ? 'application/x-www-form-urlencoded' : 'application/json'
          ].schema;
        assert.ok(s.type || s.oneOf || s.anyOf, `${id} body schema`);
      }
      if ('params' in r && r.params)
        assert.ok(
          op.parameters.some((p: any) => p.in === 'path'),
          `${id} path params`,
        );
      n++;
    }
    assert.equal(n, Object.keys(routes).length);
  });
});

describe('confirmChallenge (protocol/ hashes with the runtime WebCrypto, encodes by hand)', () => {
  it("equals Node's SHA-256 base64url of confirmChallengeText for any transaction", async () => {
    const { createHash } = await import('node:crypto');
    const { confirmChallenge, confirmChallengeText } = await import('../../protocol/src/index.ts');
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          commandId: fc.string({ minLength: 1 }),
          transaction: fc.record({
            payee: fc.string(),
            amount: fc.double({ min: 0.01, max: 1e9, noNaN: true }),
            currency: fc.constantFrom('GBP', 'EUR'),
            reference: fc.string(),
          }),
          account: fc.string(),
          nonce: fc.string({ minLength: 1 }),
        }),
        async (c) => {
          const input = c as Parameters<typeof confirmChallengeText>[0];
          const want = createHash('sha256').update(confirmChallengeText(input)).digest('base64url');
          assert.equal(await confirmChallenge(input), want);
        },
      ),
      { numRuns: 200 },
    );
  });
});
