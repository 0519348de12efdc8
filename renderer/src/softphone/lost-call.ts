/**
 * Which request had a call on this console's line, kept across a reload or a restart of
 * the console (localStorage): a call still marked when the page comes back was lost
 * with the page, and the desk says "Call lost — call again" for that request.
 */
const KEY = 'vd.softphone.callInProgress';

const storage = (): Storage | null => {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
};

export function rememberCall(requestId: string): void {
  try {
    storage()?.setItem(KEY, requestId);
  } catch {
    // Storage full or refused: the notice is a courtesy, the call is unaffected.
  }
}

export function forgetCall(): void {
  try {
    storage()?.removeItem(KEY);
  } catch {
    // as above
  }
}

/** The request whose call was cut by the page going away, if any. */
export function lostCallRequestId(): string | null {
  try {
    return storage()?.getItem(KEY) ?? null;
  } catch {
    return null;
  }
}
