/**
 * A call whose media has no path: ICE tried every candidate pair and none works (the
 * two networks block direct audio, and no TURN relay is configured or reachable). The
 * SIP call itself is up (the 200 OK went through the SIP server), so without this the
 * agent and the customer would sit in a silent call. Both softphones end the call and
 * say why.
 */

/** The words both sides show when a call ends for want of a media path. */
export function noMediaPathReason(who: string): string {
  return `No media path to ${who}: the network blocks direct audio and no TURN relay is available`;
}

/** The BYE's Reason header (RFC 3326) of a call ended for want of a media path: the far end says why too. */
export const NO_MEDIA_PATH_BYE_REASON = 'Reason: SIP;cause=488;text="no media path"';

/** Whether a BYE's Reason header value says the call ended for want of a media path. */
export const isNoMediaPathReason = (reason: string | null | undefined): boolean =>
  /text="no media path"/.test(reason ?? '');

/** What is watched of a peer connection (the real one, or a test's). */
export type WatchedConnection = Pick<
  RTCPeerConnection,
  'connectionState' | 'iceConnectionState' | 'addEventListener' | 'removeEventListener'
>;

/**
 * Calls `onFailed` once when the connection (or its ICE transport) reaches `failed`,
 * now or later; `disconnected` is left alone (it may recover, or an ICE restart may
 * revive it). Returns the function that stops watching.
 */
export function watchMediaPath(pc: WatchedConnection, onFailed: () => void): () => void {
  let done = false;
  const check = () => {
    if (done || (pc.connectionState !== 'failed' && pc.iceConnectionState !== 'failed')) return;
    stop();
    onFailed();
  };
  function stop() {
    done = true;
    pc.removeEventListener('connectionstatechange', check);
    pc.removeEventListener('iceconnectionstatechange', check);
  }
  pc.addEventListener('connectionstatechange', check);
  pc.addEventListener('iceconnectionstatechange', check);
  check();
  return stop;
}
