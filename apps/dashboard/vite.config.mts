import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// Served by the gateway under /dashboard/ (apps/gateway/src/dashboard-static.ts), same origin as the APIs.
// `vite --config apps/dashboard/vite.config.mts` (dev server) proxies /api to the gateway on 3000.
export default defineConfig({
  root: here,
  base: '/dashboard/',
  build: { outDir: fileURLToPath(new URL('../../dist/apps/dashboard', import.meta.url)), emptyOutDir: true, sourcemap: false, target: 'es2022' },
  oxc: { jsx: { runtime: 'automatic' } },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
