import { DomainError } from '../errors.ts';

/** What became of a request to put a held call through. */
export type DeliverOutcome = 'delivered' | 'gone';

/**
 * The authority's side of the SIP server's control channel (Kamailio's xhttp, route
 * PHONE_IN_CONTROL in deploy/kamailio/kamailio.cfg): "deliver the call you hold under
 * this Call-ID to this SIP user". The SIP server told the authority where to reach it
 * when it reported the call (`sipServer`); both sides hold the same secret.
 */
export class SipServerControl {
  constructor(
    private readonly secret: string | undefined,
    private readonly timeoutMs = 5_000,
  ) {}

  async deliver(
    sipServer: string,
    callId: string,
    sipUser: string,
    requestId: string,
  ): Promise<DeliverOutcome> {
    if (!this.secret) throw unreachable('no SIP server secret is configured (VD_SIP_SERVER_SECRET)');
    // The Call-ID holds only path-safe characters (the SIP server and protocol/src/trunk.ts checked it).
    const url = `${sipServer.replace(/\/+$/, '')}/vd/phone-in/${callId}/deliver/${sipUser}/${requestId}`;
    let status: number;
    try {
      const res = await fetch(url, {
        method: 'POST',
        // A fresh connection each time: Kamailio's xhttp may close a kept-alive one just as a
        // pooled socket is reused ("other side closed"), which would fail a call that was fine.
        headers: { authorization: `Bearer ${this.secret}`, connection: 'close' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.arrayBuffer();
      status = res.status;
    } catch (e) {
      throw unreachable(
        (e as Error).name === 'TimeoutError' ? 'it did not answer in time' : 'it cannot be reached',
      );
    }
    if (status === 200) return 'delivered';
    if (status === 404) return 'gone';
    throw unreachable(`it answered ${status}`);
  }
}

const unreachable = (why: string) =>
  new DomainError('unavailable', 'target_unavailable', `the SIP server holding the call: ${why}; try again`);
