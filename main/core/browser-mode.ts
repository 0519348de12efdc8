import { fileURLToPath } from 'node:url';
import { DeskCore } from './desk-core.ts';
import type { ManagedConfig } from './settings.ts';
import { effectiveSipUrl, startWebHost } from './web-host.ts';

export interface BrowserModeOptions {
  authorityUrl: string;
  /** The console's local store (history, wrap-up outbox, settings). */
  dataDir: string;
  /** 0 or absent: a free port on 127.0.0.1. */
  port?: number;
  /** The renderer build to serve (default renderer/dist). */
  rendererDir?: string;
  sipUrl?: string | null;
  /** IT's managed configuration; absent: read from the OS path (settings.ts). */
  managed?: ManagedConfig;
  /** Fixed launch token (tests); absent: a fresh random one. */
  token?: string;
}

export interface BrowserMode {
  core: DeskCore;
  url: string;
  /** The URL to open: the per-launch token travels in the fragment. */
  launchUrl: string;
  close(): Promise<void>;
}

export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../renderer/dist', import.meta.url));

/**
 * Browser mode: the same main/core as the Electron app, the renderer served on
 * 127.0.0.1 and the bridge over the web host's token-protected loopback WebSocket.
 * For agents on VDI and for every end-to-end test.
 */
export async function startBrowserMode(opts: BrowserModeOptions): Promise<BrowserMode> {
  const core = new DeskCore({
    dataDir: opts.dataDir,
    defaultAuthorityUrl: opts.authorityUrl,
    defaultSipUrl: opts.sipUrl ?? null,
    ...(opts.managed ? { managed: opts.managed } : {}),
  });
  try {
    const host = await startWebHost({
      core,
      rendererDir: opts.rendererDir ?? DEFAULT_RENDERER_DIR,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.token ? { token: opts.token } : {}),
      sipUrl: effectiveSipUrl(core.settings.get()),
      frameOrigins: core.screenPopOrigins,
    });
    return {
      core,
      url: host.url,
      launchUrl: host.launchUrl,
      async close() {
        await host.close();
        core.close();
      },
    };
  } catch (e) {
    core.close();
    throw e;
  }
}
