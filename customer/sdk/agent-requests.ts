import type { AssuranceLevel } from '../../protocol/src/index.ts';
import { Emitter } from './emitter.ts';

/**
 * What an agent can ask of the device during a call (DESIGN.md, "Agent actions on
 * the device"), each with what the device answers. The remote-control issue puts
 * their wire format in protocol/ and delivers them over the authority's WebSocket;
 * until then this registry only holds handlers and the list the in-call screen shows.
 */
export interface AgentRequestKinds {
  fingerprint: { payload: { reason: string }; result: { level: AssuranceLevel } };
  photo: { payload: { reason: string }; result: { photoId: string } };
  screenshot: { payload: { reason: string }; result: { imageId: string } };
  text: { payload: { prompt: string }; result: { text: string } };
  menu: {
    payload: { title: string; options: { id: string; label: string }[] };
    result: { optionId: string };
  };
  form: {
    payload: { title: string; fields: { id: string; label: string; kind: 'text' | 'number' | 'date' }[] };
    result: { values: Record<string, string> };
  };
  confirmTransaction: {
    payload: { summary: string; amount: { value: string; currency: string } };
    result: { approved: boolean; signature: string | null };
  };
}
export type AgentRequestKind = keyof AgentRequestKinds;

export interface AgentRequest<K extends AgentRequestKind = AgentRequestKind> {
  requestId: string;
  kind: K;
  payload: AgentRequestKinds[K]['payload'];
  receivedAt: Date;
  /** What the customer sees on the card, e.g. "Dana asks for your fingerprint". */
  title: string;
}

export type AgentRequestHandler<K extends AgentRequestKind> = (
  request: AgentRequest<K>,
) => Promise<AgentRequestKinds[K]['result']>;

type HandlerMap = { [K in AgentRequestKind]?: AgentRequestHandler<K> };

/** Handler hooks for the agent's requests, one per kind, and the requests currently shown to the customer. */
export class AgentRequestRegistry extends Emitter<{ changed: readonly AgentRequest[] }> {
  private readonly handlers: HandlerMap = {};
  private list: readonly AgentRequest[] = [];

  /** Register the handler of one kind; returns the function that removes it. */
  register<K extends AgentRequestKind>(kind: K, handler: AgentRequestHandler<K>): () => void {
    if (this.handlers[kind]) throw new Error(`a handler for "${kind}" is already registered`);
    (this.handlers as Record<K, AgentRequestHandler<K>>)[kind] = handler;
    return () => {
      if (this.handlers[kind] === handler) delete this.handlers[kind];
    };
  }

  handlerFor<K extends AgentRequestKind>(kind: K): AgentRequestHandler<K> | undefined {
    return this.handlers[kind] as AgentRequestHandler<K> | undefined;
  }

  kinds(): AgentRequestKind[] {
    return Object.keys(this.handlers) as AgentRequestKind[];
  }

  /** The requests shown as cards on the in-call screen (empty until the remote-control issue feeds it). */
  requests(): readonly AgentRequest[] {
    return this.list;
  }

  /** Clear the cards at the end of a call. */
  clear(): void {
    if (this.list.length === 0) return;
    this.list = [];
    this.emit('changed', this.list);
  }
}
