import { createHash } from 'node:crypto';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { appLinkDocuments, verificationLinkUrl } from '../../../protocol/src/app-links.ts';
import type { Ctx } from '../context.ts';
import { conflict, DomainError, forbidden, notFound } from '../errors.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import { randomId } from '../ids.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { Repos } from '../store/repos/index.ts';
import { FileTextSink, HttpTextGateway, TextGatewayError, type TextGateway } from '../sms/gateway.ts';

const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');
const gone = (message: string) => new DomainError('gone', 'gone', message);
const unavailable = (message: string) => new DomainError('unavailable', 'target_unavailable', message);

/** The configured text-message gateway: a provider's HTTP API, the demo's file sink, or none. */
export function textGatewayOf(config: Ctx['config']): TextGateway | null {
  if (config.textGatewayUrl && config.textGatewayToken && config.textFrom)
    return new HttpTextGateway({
      url: config.textGatewayUrl,
      from: config.textFrom,
      auth: { kind: 'bearer', token: config.textGatewayToken },
    });
  if (config.textSinkFile) return new FileTextSink(config.textSinkFile);
  return null;
}

/**
 * The association documents of the native apps configured to open verification links
 * (`/.well-known/apple-app-site-association`, `/.well-known/assetlinks.json`); a platform
 * without an app configured answers 404 (the link then opens in the browser).
 */
export function appLinkDocument<P extends 'apple' | 'android'>(
  config: Ctx['config'],
  platform: P,
): NonNullable<ReturnType<typeof appLinkDocuments>[P]> {
  const doc = appLinkDocuments(config)[platform];
  if (!doc)
    throw notFound(
      platform === 'apple'
        ? 'no iOS app is configured to open verification links (VD_IOS_APP_IDS)'
        : 'no Android app is configured to open verification links (VD_ANDROID_PACKAGE, VD_ANDROID_CERT_FINGERPRINTS)',
    );
  return doc;
}

/**
 * What a link opened in a browser (`/v/<token>`) is, before the customer authenticates:
 * `usable`, or why not. Reads only (the link stays unused); unknown tokens are not audited
 * (anyone may knock; a token is 192 random bits).
 */
export async function verificationLinkState(
  ctx: Ctx,
  token: string,
): Promise<'usable' | 'unknown' | 'used' | 'expired'> {
  const link = await ctx.data.read.verificationLinks.byHash(hashOf(token));
  return link ? stateOf(link, ctx.clock.now()) : 'unknown';
}

/** Whether a stored link can still be used at `now`, or why not (one rule for the page and for use). */
function stateOf(
  link: { used_at: number | null; expires_at: number },
  now: number,
): 'usable' | 'used' | 'expired' {
  if (link.used_at !== null) return 'used';
  return link.expires_at <= now ? 'expired' : 'usable';
}

/**
 * Verification during a phone call by a link (issue 14 item 3, the patent family's flow):
 * the agent holding a phone request texts the caller a single-use, short-lived link to the
 * number the call came from, when that number is registered to the customer and the
 * customer has the app enrolled. The customer opens it in the app, verifies with the
 * device key plus fingerprint or PIN, and the app presents the link with that
 * authentication: the request is bound to the device and its level, and the agent's panel
 * turns verified live. Only the link's hash is stored; every send and use is audited.
 */
export class VerificationLinks {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
    private readonly company: () => string,
    private readonly gateway: TextGateway | null = textGatewayOf(ctx.config),
  ) {}

  /** Whether a link can be texted at all: a text-message gateway and the customer app's URL are configured. */
  get canText(): boolean {
    return !!this.gateway && !!this.ctx.config.customerAppUrl;
  }

  async send(
    staffId: string,
    requestId: string,
    fence: number,
  ): Promise<{ sentTo: string; expiresAt: string }> {
    const read = this.ctx.data.read;
    const r = checkHolder(await read.requests.get(requestId), staffId, fence);
    const call = await read.phoneCalls.byRequest(requestId);
    if (!call)
      throw conflict('the link is for callers from the phone network; this customer has the app on the call');
    if (!call.caller) throw conflict('the caller ID is withheld: there is no number to text');
    if ((await read.customers.activeHolderOf(call.caller, null)) !== r.customer_id)
      throw conflict('the number calling is not registered to this customer: ask the security questions');
    if ((await read.devices.otherActiveDeviceIds(r.customer_id, '')).length === 0)
      throw conflict('this customer has no enrolled app to verify with: ask the security questions');
    if (!this.canText)
      throw unavailable(
        'no text-message gateway or customer app URL is configured: ask the security questions',
      );
    const caller = call.caller;
    const link = await this.ctx.data.tx((t) =>
      this.issueIn(t, {
        requestId,
        customerId: r.customer_id,
        sentTo: caller,
        actor: `staff:${staffId}`,
        data: { fence },
      }),
    );
    // The request's view carries when the latest link was texted (phone.linkTextedAt).
    await this.pipeline.announce([requestId]);
    try {
      await this.gateway!.send({ to: caller, text: this.messageOf(link.token) });
    } catch (e) {
      throw unavailable(
        e instanceof TextGatewayError
          ? `the text message was not sent: ${e.message}`
          : 'the text message was not sent',
      );
    }
    return {
      sentTo: parsePhoneNumberWithError(caller).formatInternational(),
      expiresAt: new Date(link.expiresAt).toISOString(),
    };
  }

  /**
   * A new link for the request, in the caller's unit: its row (only the token's hash) and
   * the `phone.link.send` audit row. The token goes out by `messageOf` once the unit has
   * committed. Callers check first that `sentTo` is the customer's number and that they
   * have the app.
   */
  async issueIn(
    t: Repos,
    o: {
      requestId: string;
      customerId: string;
      sentTo: string;
      actor: string;
      data: Record<string, unknown>;
    },
  ): Promise<{ token: string; expiresAt: number }> {
    const token = randomId(24);
    const now = this.ctx.clock.now();
    const expiresAt = now + this.ctx.config.verificationLinkSeconds * 1000;
    await t.verificationLinks.insert({
      token_hash: hashOf(token),
      request_id: o.requestId,
      customer_id: o.customerId,
      sent_to: o.sentTo,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
      used_by_device: null,
    });
    await t.audit.append({
      actor: o.actor,
      action: 'phone.link.send',
      subject: `request:${o.requestId}`,
      outcome: 'success',
      data: { ...o.data, expiresAt },
    });
    return { token, expiresAt };
  }

  /**
   * Texts a link issued as the call joined the queue (`PhoneIn.arrived`, before any agent
   * holds it) to the number calling. Never throws: the caller stays queued whatever the
   * gateway does, and a send that failed is audited (`phone.link.text`, failure) so the
   * agent's "Text a verification link" remains the way to try again.
   */
  async textWhileQueued(requestId: string, to: string, token: string): Promise<boolean> {
    let reason: string | null = null;
    try {
      if (!this.gateway) throw new TextGatewayError('no text-message gateway is configured', false);
      await this.gateway.send({ to, text: this.messageOf(token) });
    } catch (e) {
      reason = e instanceof TextGatewayError ? e.message : 'the text message was not sent';
    }
    if (reason !== null)
      await this.ctx.data.tx((t) =>
        t.audit.append({
          actor: 'sip:trunk',
          action: 'phone.link.text',
          subject: `request:${requestId}`,
          outcome: 'failure',
          reason: `the text message was not sent: ${reason}`,
        }),
      );
    return reason === null;
  }

  /** The text message carrying a link's token: the path form on the customer app's host (`https://host/v/<token>`). */
  private messageOf(token: string): string {
    const url = verificationLinkUrl(this.ctx.config.customerAppUrl!, token);
    const ttl = this.ctx.config.verificationLinkSeconds;
    return `${this.company()}: to verify yourself for your call, open ${url} in the app (valid ${Math.round(ttl / 60)} minutes, once). We never ask for this link by phone. Not on a call with us? Ignore this message.`;
  }

  /** The customer's app presents the link with its authentication (device key + fingerprint or PIN). */
  async use(p: DevicePrincipal, token: string): Promise<{ requestId: string; level: number }> {
    const hash = hashOf(token);
    const link = await this.ctx.data.read.verificationLinks.byHash(hash);
    const refuse = async (reason: string, e: DomainError) => {
      await this.ctx.data.tx((t) =>
        t.audit.append({
          actor: `device:${p.device.id}`,
          action: 'phone.link.use',
          subject: link ? `request:${link.request_id}` : undefined,
          outcome: 'failure',
          reason,
        }),
      );
      return e;
    };
    if (!link) throw await refuse('unknown link', notFound('this link is not valid'));
    if (link.customer_id !== p.device.customer_id)
      throw await refuse('another customer', forbidden('this link was sent to someone else'));
    const now = this.ctx.clock.now();
    const state = stateOf(link, now);
    if (state === 'used')
      throw await refuse('used', gone('this link was used already: ask the agent for a new one'));
    if (state === 'expired')
      throw await refuse('expired', gone('this link has expired: ask the agent for a new one'));
    if (p.authentication.level < 2)
      throw await refuse(
        'level too low',
        new DomainError(
          'forbidden',
          'level_too_low',
          'verify with your fingerprint or PIN first, then open the link again',
        ),
      );
    const bound = await this.ctx.data.tx(async (t) => {
      if (!(await t.verificationLinks.use(hash, p.device.id, now))) return 'used' as const;
      if (!(await t.requests.bindDevice(link.request_id, p.authentication.id, p.device.id)))
        return 'ended' as const;
      await t.audit.append({
        actor: `device:${p.device.id}`,
        action: 'phone.link.use',
        subject: `request:${link.request_id}`,
        outcome: 'success',
        data: { level: p.authentication.level },
      });
      return 'bound' as const;
    });
    if (bound === 'used')
      throw await refuse('used', gone('this link was used already: ask the agent for a new one'));
    if (bound === 'ended') throw await refuse('call ended', gone('the call has ended'));
    await this.pipeline.announce([link.request_id]);
    return { requestId: link.request_id, level: p.authentication.level };
  }
}
