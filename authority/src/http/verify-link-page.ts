import type { FastifyInstance, FastifyReply } from 'fastify';
import { VERIFY_CALL_HASH, VERIFY_LINK_PATH, VerificationLinkParams } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { verificationLinkState } from '../trunk/verification-links.ts';

/** What a browser is told about a link that cannot be used (HTTP status, heading, sentence). */
const REFUSED = {
  malformed: [400, 'This link is not valid', 'Check that the whole link from the text message was opened.'],
  unknown: [404, 'This link is not valid', 'Ask the agent on your call for a new one.'],
  used: [
    410,
    'This link was used already',
    'Each link works once: ask the agent on your call for a new one.',
  ],
  expired: [410, 'This link has expired', 'Ask the agent on your call for a new one.'],
} as const;

/** A small page of its own (no script, no style: the API's CSP allows nothing). */
function refusedPage(reply: FastifyReply, why: keyof typeof REFUSED): FastifyReply {
  const [status, heading, sentence] = REFUSED[why];
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${heading}</title></head>` +
        `<body><main><h1>${heading}</h1><p>${sentence}</p><p>We never ask for this link by phone.</p></main></body></html>\n`,
    );
}

/**
 * The verification link texted to a caller, `/v/<token>`, opened in a browser (a phone
 * without the company's native app; with it, the operating system opens the app instead:
 * the association files in trunk-handlers). A usable link is sent on to the web customer
 * app's screen (`<app>/#/verify-call/<token>`: the token stays in the fragment, never sent
 * again); one that is malformed, unknown, used or expired gets a page saying so (400, 404,
 * 410). Nothing is used up here: the app presents the link once the customer has verified.
 */
export function serveVerifyLinkPage(app: FastifyInstance, ctx: Ctx): void {
  const appPath = ctx.config.customerAppUrl ? new URL(ctx.config.customerAppUrl).pathname : '/app/';
  app.get(`${VERIFY_LINK_PATH}:token`, async (request, reply) => {
    const parsed = VerificationLinkParams.safeParse(request.params);
    if (!parsed.success) return refusedPage(reply, 'malformed');
    const state = await verificationLinkState(ctx, parsed.data.token);
    if (state !== 'usable') return refusedPage(reply, state);
    return reply
      .code(303)
      .header('cache-control', 'no-store')
      .header('location', `${appPath.replace(/\/?$/, '/')}${VERIFY_CALL_HASH}${parsed.data.token}`)
      .send();
  });
}

/** A request's URL for the log: the token of a verification link is a credential, never written. */
export function redactLinkTokens(url: string): string {
  return url.replace(/^(\/v\/|\/v1\/device\/verification-links\/)[^/?#]+/, '$1[token]');
}
