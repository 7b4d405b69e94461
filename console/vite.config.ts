/// <reference types="vitest/config" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';

// `vite dev` and `vite preview` stand in for the stack's hosting while the console is
// developed: the API and the issuer are proxied to TRIBUTARY_API_URL so that they share the
// page's origin (as they do when tributary-local or CloudFront serves the console), and
// /console/config.json is answered from there. Nothing of this goes into dist.
const api = process.env.TRIBUTARY_API_URL ?? 'http://127.0.0.1:3000';
const API_PATHS = ['/streams', '/datasets', '/jobs', '/quotas', '/openapi.json', '/_local'];

function devConfigJson(): Plugin {
  const serve = (server: { middlewares: { use: (path: string, fn: (req: IncomingMessage, res: ServerResponse) => void) => unknown } }) => {
    server.middlewares.use('/console/config.json', (req, res) => {
      const origin = `http://${req.headers.host}`;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ApiUrl: origin, Issuer: `${api}/_local/oidc`, ClientId: 'tributary-console' }));
    });
  };
  return { name: 'tributary-dev-config', configureServer: serve, configurePreviewServer: serve };
}

const proxy = Object.fromEntries(API_PATHS.map((path) => [path, { target: api, changeOrigin: true }]));

export default defineConfig({
  base: '/console/',
  plugins: [preact(), devConfigJson()],
  server: { proxy },
  preview: { proxy },
  build: {
    target: 'es2022',
    // Everything as files under assets/: the console is served with `default-src 'self'`.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
