/**
 * The renderer's bridge without main: a ConsoleBridge whose channels are answered by
 * handlers given per test, whose events the test emits, recording every call. Shared by
 * the renderer's store tests (test/unit/renderer-*.test.ts).
 */
import type { BridgeChannel, BridgeEventName, BridgeEventPayload } from '../../protocol/src/bridge.ts';
import type { AgentView, RequestView } from '../../protocol/src/pipeline.ts';
import { BridgeCallError, type ConsoleBridge, type LinkState } from '../../renderer/src/bridge/types.ts';

export type Handler = (args: any) => unknown;

export class FakeBridge implements ConsoleBridge {
  readonly mode = 'browser' as const;
  link: LinkState = 'open';
  readonly calls: { channel: string; args: unknown }[] = [];
  private readonly listeners = new Map<string, Set<(p: any) => void>>();
  constructor(public handlers: Partial<Record<BridgeChannel, Handler>> = {}) {}
  invoke(channel: BridgeChannel, args: any): Promise<any> {
    this.calls.push({ channel, args });
    const h = this.handlers[channel];
    return h
      ? Promise.resolve().then(() => h(args))
      : Promise.reject(new BridgeCallError('unknown', channel));
  }
  on(event: BridgeEventName, listener: (p: any) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
  onLink(): () => void {
    return () => undefined;
  }
  emit<E extends BridgeEventName>(event: E, payload: BridgeEventPayload<E>): void {
    for (const l of this.listeners.get(event) ?? []) l(payload);
  }
  count(channel: string): number {
    return this.calls.filter((c) => c.channel === channel).length;
  }
  last(channel: string): any {
    return this.calls.filter((c) => c.channel === channel).at(-1)?.args;
  }
}

/**
 * A frame clock the test drives: while installed, the stores' once-per-frame notifications
 * (requestAnimationFrame) wait in `queued` until `run()`; `uninstall()` restores the global.
 */
export class ManualFrames {
  private queued: FrameRequestCallback[] = [];
  private readonly saved = Object.getOwnPropertyDescriptor(globalThis, 'requestAnimationFrame');

  constructor() {
    Object.defineProperty(globalThis, 'requestAnimationFrame', {
      configurable: true,
      writable: true,
      value: (cb: FrameRequestCallback) => this.queued.push(cb),
    });
  }

  /** Frame callbacks waiting for the next frame. */
  get pending(): number {
    return this.queued.length;
  }

  /** One frame: run the callbacks queued before it. */
  run(): void {
    const now = this.queued.splice(0);
    for (const cb of now) cb(performance.now());
  }

  uninstall(): void {
    if (this.saved) Object.defineProperty(globalThis, 'requestAnimationFrame', this.saved);
    else delete (globalThis as { requestAnimationFrame?: unknown }).requestAnimationFrame;
  }
}

let n = 0;
export function request(over: Partial<RequestView> = {}): RequestView {
  n++;
  return {
    requestId: `req_${String(n).padStart(20, '0')}`,
    sessionId: `ses_${String(n).padStart(40, '0')}`,
    customerId: 'c_alice_martin_01',
    customerName: `Customer ${n}`,
    queueId: 'cards',
    optionId: 'lost-card',
    optionLabel: 'Lost or stolen card',
    level: 2,
    priority: 0,
    state: 'waiting',
    enqueuedAt: new Date(1_700_000_000_000 + n * 1000).toISOString(),
    position: n,
    estimatedWaitSeconds: 60,
    callback: { mode: 'keep_place', window: null },
    fence: 0,
    agentId: null,
    offerExpiresAt: null,
    ...over,
  };
}

export function agentView(over: Partial<AgentView> = {}): AgentView {
  return {
    staffId: 'stf_dana',
    displayName: 'Dana Reyes',
    presence: 'available',
    since: new Date().toISOString(),
    reasonCode: null,
    skills: [],
    queues: ['cards'],
    onShift: true,
    offer: null,
    currentRequestId: null,
    ...over,
  };
}
