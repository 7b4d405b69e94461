import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests of the console against a running stack (TRIBUTARY_API_URL; the console
 * at $TRIBUTARY_API_URL/console/), in Debian's Chromium: never a browser Playwright would
 * download. One worker, each run a fresh profile.
 */
const api = process.env.TRIBUTARY_API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `${api}/console/`,
    browserName: 'chromium',
    viewport: { width: 1366, height: 900 },
    colorScheme: 'light',
    // One context lives across the serial tests (the flow is one session), so no per-test trace.
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
