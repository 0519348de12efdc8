import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The agent console: root renderer/, built to renderer/dist with relative asset
 * paths (base './') so the same build loads from the Electron shell's custom
 * protocol and from browser mode's web host.
 *
 * Development (`npm run dev:renderer`): the page needs a bridge, so start browser
 * mode first (`npm run console:browser`), then point Vite at its host with
 * VD_CONSOLE_HOST=http://127.0.0.1:PORT and open the dev URL with the launch
 * token's fragment (#token=...). Vite forwards /bridge to that host and presents
 * the host's own origin, which is the only origin the host accepts.
 */
const here = (path: string) => decodeURIComponent(new URL(path, import.meta.url).pathname);
const consoleHost = process.env.VD_CONSOLE_HOST ?? 'http://127.0.0.1:8790';

export default defineConfig({
  root: here('./'),
  base: './',
  plugins: [react()],
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    host: '127.0.0.1',
    port: 5174,
    strictPort: true,
    proxy: {
      '/bridge': {
        target: consoleHost,
        ws: true,
        configure: (proxy) => {
          proxy.on('proxyReqWs', (req) => req.setHeader('origin', consoleHost));
        },
      },
    },
  },
});
