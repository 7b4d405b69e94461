/**
 * Only for developing the console against a stack whose tributary-local predates its
 * console hosting: CONSOLE_SERVE_DIST=1 answers $API/console/* from console/dist (SPA
 * routes from index.html, config.json from the stack's URL) inside the browser. Without it
 * (as in `make test`) the stack's own hosting is what the tests use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from '@playwright/test';
import { API_URL } from './stack';

// The hosting's response-headers policy (infra/local/src/console.rs), so a page that breaks it fails here too.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'";

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

export async function serveDistIfAsked(context: BrowserContext): Promise<void> {
  if (process.env.CONSOLE_SERVE_DIST !== '1') return;
  const dist = fileURLToPath(new URL('../../dist', import.meta.url));
  await context.route(`${API_URL}/console/**`, (route) => {
    const path = new URL(route.request().url()).pathname.replace(/^\/console\/?/, '');
    if (path === 'config.json') {
      return route.fulfill({ contentType: 'application/json', body: JSON.stringify({ ApiUrl: API_URL, Issuer: `${API_URL}/_local/oidc`, ClientId: 'tributary-console' }) });
    }
    const file = join(dist, path);
    if (path && extname(path) && existsSync(file)) return route.fulfill({ contentType: TYPES[extname(path)] ?? 'application/octet-stream', body: readFileSync(file) });
    if (extname(path)) return route.fulfill({ status: 404, body: 'NoSuchKey' });
    return route.fulfill({ contentType: 'text/html', headers: { 'content-security-policy': CSP }, body: readFileSync(join(dist, 'index.html')) });
  });
  // Playwright routes only the first request of a redirect chain: the issuer's redirect back
  // to <console>/callback is turned into a page that navigates there, a request of its own.
  await context.route(`${API_URL}/_local/oidc/authorize**`, async (route) => {
    const answer = await route.fetch({ maxRedirects: 0 });
    const location = answer.headers()['location'];
    if (answer.status() !== 302 || !location) return route.fulfill({ response: answer });
    const target = location.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    return route.fulfill({ contentType: 'text/html', body: `<meta http-equiv="refresh" content="0;url=${target}">` });
  });
}
