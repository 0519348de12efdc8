import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The customer app: root customer/app, served by the authority at /app/ from
 * customer/dist. In development (`npm run dev:customer`) Vite proxies the API and
 * the WebSocket to an authority (VD_AUTHORITY_URL, default http://127.0.0.1:8780),
 * so the app talks to its own origin either way.
 */
const here = (path: string) => decodeURIComponent(new URL(path, import.meta.url).pathname);
const authority = process.env.VD_AUTHORITY_URL ?? 'http://127.0.0.1:8780';

export default defineConfig({
  root: here('./app'),
  base: '/app/',
  plugins: [react()],
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    host: 'localhost',
    port: 5173,
    strictPort: true,
    proxy: {
      '/v1/ws': { target: authority, ws: true, changeOrigin: true },
      '/v1': { target: authority, changeOrigin: true },
      '/.well-known': { target: authority, changeOrigin: true },
      // The texted verification links (`/v/<token>`): the authority sends them on to /app/.
      '/v/': { target: authority, changeOrigin: true },
    },
  },
});
