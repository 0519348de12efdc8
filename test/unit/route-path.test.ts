/**
 * The tests' route helper (test/support/http.ts routePath/api): paths come from the
 * route table's templates, parameters are encoded, a missing or unknown parameter is a
 * mistake in the test, not a request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routes } from '../../protocol/src/routes.ts';
import { routePath } from '../support/http.ts';

describe('test support: routePath', () => {
  it("fills the route's template, encoding each parameter, and appends the query", () => {
    assert.equal(routes.acceptOffer.path, '/v1/agent/requests/:requestId/accept');
    assert.equal(
      routePath('acceptOffer', { params: { requestId: 'r/1?x' } }),
      '/v1/agent/requests/r%2F1%3Fx/accept',
    );
    assert.equal(
      routePath('comparePhoto', { params: { requestId: 'req', photoId: 'pho' } }),
      '/v1/agent/requests/req/photos/pho/comparison',
    );
    assert.equal(
      routePath('photo', { query: { purpose: 'verification', skipped: undefined } }),
      '/v1/device/photos?purpose=verification',
    );
    assert.equal(routePath('health'), '/healthz');
  });

  it('refuses a missing or unknown parameter and an unknown route', () => {
    assert.throws(() => routePath('acceptOffer'), /path parameter "requestId" missing/);
    assert.throws(
      () => routePath('acceptOffer', { params: { requestId: 'r', fence: 1 } }),
      /no path parameter fence/,
    );
    assert.throws(() => routePath('nope' as never), /no route named "nope"/);
  });
});
