import {
  bridgeEvents,
  bridgeRequests,
  type BridgeChannel,
  type BridgeEventName,
} from '../protocol/src/bridge.ts';

/**
 * The channel and event names of the bridge contract. The shell build
 * (scripts/build-shell.mjs) replaces this module with the same two lists as
 * literals, so the preload bundle carries names, not the zod schemas (main
 * validates every argument; the preload only needs to know what exists).
 */
export const REQUEST_CHANNELS = Object.keys(bridgeRequests) as readonly BridgeChannel[];
export const EVENT_NAMES = Object.keys(bridgeEvents) as readonly BridgeEventName[];
