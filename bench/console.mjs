// The console's benchmarks in Debian's Chromium (issue 26), run by bench/console.py, which
// sets up the tenants and passes what it made as JSON on standard input. Prints Markdown.
//
// 1. The first load's JS + CSS as a browser fetches it: a fresh context signs in with
//    "Use a token" and opens the streams list; every .js/.css response until its first row
//    shows is counted (bytes on the wire as served here, and gzip/brotli of what was fetched,
//    since tributary-local serves the files uncompressed while CloudFront compresses them),
//    beside `npm run size`'s static figure.
// 2. Lighthouse 12 (Node API, a user flow on a Puppeteer page of the same Chromium): after
//    signing in with "Use a token" (the token is in the tab's sessionStorage), a cold
//    navigation to the streams list and one to a consumer page (HTTP cache cleared before
//    each, sessionStorage kept), desktop and mobile settings, runs repeated; medians and the
//    audits that cost points.
// 3. The streams list of a tenant with 1,000 streams: navigation → its first page of rows
//    visible, cold (a new context: sign in, HTTP cache cleared, then the navigation) and warm
//    (the same tab again), with the time until every row's health and cost shows.
//
// Playwright comes from console/node_modules, Lighthouse and its puppeteer-core from
// setup.tools (.local/bench-tools); Chromium is /usr/bin/chromium (or $CHROMIUM); nothing
// is downloaded and the browser reaches only the stack.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// The flows' results (JSON, one file per form factor and run), to look into after a run.
const REPORTS = join(ROOT, '.local/bench-console');
// As console/playwright.config.ts: no network beyond the stack, nothing of Google's.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const setup = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text));
}));
const CONSOLE = `${setup.api}/console/`;
const { chromium } = createRequire(join(ROOT, 'console/package.json'))('playwright-core');

const kb = (bytes) => (bytes / 1024).toFixed(1);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const log = (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** Signs in on the sign-in page with "Use a token", as a person does, and waits for the streams list. */
async function signInWithToken(page, token) {
  await page.getByText('Use a token instead').click();
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.getByRole('heading', { level: 1, name: 'Streams' }).waitFor();
}

async function firstLoad(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const pending = [];
  const others = []; // the console's other files (index.html, config.json, the icon)
  page.on('requestfinished', (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith('/console/') && !/\.(js|css)$/.test(url.pathname)) {
      others.push(request.sizes().then((sizes) => `${url.pathname.replace('/console/', '') || 'index.html'} ${kb(sizes.responseBodySize)} KB`));
    }
    if (!/\.(js|css)$/.test(url.pathname)) return;
    pending.push((async () => {
      const response = await request.response();
      const sizes = await request.sizes();
      return { path: url.pathname.replace('/console/', ''), status: response.status(), encoding: response.headers()['content-encoding'] ?? 'identity', wire: sizes.responseBodySize, body: await response.body() };
    })());
  });
  await page.goto(CONSOLE);
  await signInWithToken(page, setup.token);
  await page.getByRole('table', { name: 'Your streams' }).locator('tbody tr').first().waitFor();
  await page.waitForLoadState('networkidle');
  const assets = await Promise.all(pending);
  const rest = await Promise.all(others);
  await context.close();

  const size = execFileSync('node', [join(ROOT, 'console/scripts/first-load-size.mjs')], { encoding: 'utf8' });
  const staticKb = Number(size.trim().split('\n').at(-1).trim().split(/\s+/)[0]);
  const staticFiles = new Set([...size.matchAll(/KB\s+(assets\/\S+)/g)].map((m) => m[1]));

  console.log('### JS + CSS of the first load (sign-in with a token, then the streams list)');
  console.log();
  console.log('| file | status | bytes on the wire here (`Content-Encoding`) | gzip -9 of the body | brotli q11 of the body | in `npm run size` |');
  console.log('|---|---|---|---|---|---|');
  let wire = 0, gzip = 0, brotli = 0;
  for (const a of assets) {
    const gz = gzipSync(a.body, { level: 9 }).length;
    const br = brotliCompressSync(a.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }).length;
    wire += a.wire; gzip += gz; brotli += br;
    console.log(`| ${a.path} | ${a.status} | ${kb(a.wire)} KB (${a.encoding}) | ${kb(gz)} KB | ${kb(br)} KB | ${staticFiles.has(a.path) ? 'yes' : '**no**'} |`);
  }
  const missing = [...staticFiles].filter((f) => !assets.some((a) => a.path === f));
  console.log(`| **total** (${assets.length} files) | | ${kb(wire)} KB | **${kb(gzip)} KB** | ${kb(brotli)} KB | \`npm run size\`: ${staticKb} KB gzip${missing.length ? `; not fetched: ${missing.join(', ')}` : ''} |`);
  console.log();
  console.log(`Goal ≤ 150 KB gzip: ${gzip <= 150 * 1024 ? 'met' : '**missed**'}. Besides JS and CSS the first load fetched ${rest.join(', ')} (as served here, uncompressed).`);
  console.log();
}

/** Lighthouse on the streams list and the consumer page of a signed-in tab, `runs` times per form factor. */
async function lighthouse(runs) {
  const tools = join(setup.tools, 'node_modules');
  const { startFlow, desktopConfig } = await import(pathToFileURL(join(tools, 'lighthouse/core/index.js')).href);
  const { default: puppeteer } = await import(pathToFileURL(join(tools, 'puppeteer-core/lib/esm/puppeteer/puppeteer-core.js')).href);
  const version = createRequire(join(tools, 'lighthouse/package.json'))('./package.json').version;
  const categories = ['performance', 'accessibility', 'best-practices'];
  const settings = { onlyCategories: categories };
  const forms = {
    desktop: { extends: 'lighthouse:default', settings: { ...desktopConfig.settings, ...settings } },
    mobile: { extends: 'lighthouse:default', settings },
  };
  const pages = [
    ['streams list', CONSOLE],
    ['consumer page', `${CONSOLE}streams/${setup.streamId}/consumers/${setup.consumerId}`],
  ];
  const results = []; // {form, page, run, lhr}
  for (let run = 1; run <= runs; run += 1) {
    for (const [form, config] of Object.entries(forms)) {
      const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, defaultViewport: null });
      try {
        const page = await browser.newPage();
        await page.goto(CONSOLE, { waitUntil: 'networkidle0' });
        await page.click('details.token-signin > summary');
        await page.type('#token', setup.token);
        await page.click('details.token-signin button[type=submit]');
        await page.waitForSelector('table tbody tr');
        const flow = await startFlow(page, { name: `Tributary console (${form})`, config });
        for (const [name, url] of pages) {
          // A cold load each (HTTP cache cleared), the tab's sessionStorage (the session) kept.
          await flow.navigate(url, { name, disableStorageReset: false });
        }
        const flowResult = await flow.createFlowResult();
        mkdirSync(REPORTS, { recursive: true });
        writeFileSync(join(REPORTS, `lighthouse-${form}-${run}.json`), JSON.stringify(flowResult));
        flowResult.steps.forEach((step, i) => results.push({ form, page: pages[i][0], run, lhr: step.lhr }));
        const shown = flowResult.steps.map((s, i) => `${pages[i][0]}: ${categories.map((c) => Math.round(s.lhr.categories[c].score * 100)).join('/')} (${s.lhr.finalDisplayedUrl})`);
        log(`lighthouse ${form} run ${run}: ${shown.join('; ')}`);
      } finally {
        await browser.close();
      }
    }
  }

  console.log(`### Lighthouse ${version} (user flow, signed in with a token; ${runs} runs, medians)`);
  console.log();
  console.log('| page | settings | performance | accessibility | best practices | FCP | LCP | TBT | CLS | each run (perf/a11y/bp) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const goals = { performance: 90, accessibility: 95, 'best-practices': 95 };
  const misses = [];
  for (const [name] of pages) {
    for (const form of Object.keys(forms)) {
      const mine = results.filter((r) => r.page === name && r.form === form);
      const score = (c) => median(mine.map((r) => Math.round(r.lhr.categories[c].score * 100)));
      const metric = (id, digits = 0, unit = ' ms') => {
        const v = median(mine.map((r) => r.lhr.audits[id].numericValue));
        return `${v.toFixed(digits)}${unit}`;
      };
      const each = mine.map((r) => categories.map((c) => Math.round(r.lhr.categories[c].score * 100)).join('/')).join(' · ');
      const cells = categories.map((c) => (score(c) >= goals[c] ? `${score(c)}` : `**${score(c)}**`));
      console.log(`| ${name} | ${form} | ${cells.join(' | ')} | ${metric('first-contentful-paint')} | ${metric('largest-contentful-paint')} | ${metric('total-blocking-time')} | ${metric('cumulative-layout-shift', 3, '')} | ${each} |`);
      for (const c of categories) if (score(c) < goals[c]) misses.push(`${name} (${form}) ${c} ${score(c)} < ${goals[c]}`);
    }
  }
  console.log();
  // The audits that cost points: any scored audit below 1 in a run, with how often and its value.
  const lost = new Map();
  for (const r of results) {
    for (const c of categories) {
      for (const ref of r.lhr.categories[c].auditRefs) {
        const audit = r.lhr.audits[ref.id];
        if (ref.weight === 0 || audit.score === null || audit.score >= 1 || !['binary', 'numeric', 'metricSavings'].includes(audit.scoreDisplayMode)) continue;
        const key = `${r.page} (${r.form}) · ${c} · ${ref.id}`;
        const entry = lost.get(key) ?? { runs: 0, title: audit.title, values: [], scores: [], items: new Set() };
        entry.runs += 1;
        entry.scores.push(audit.score);
        if (audit.displayValue) entry.values.push(audit.displayValue);
        // A metric's elements are in the diagnostic audit beside it.
        const beside = { 'cumulative-layout-shift': 'layout-shifts', 'largest-contentful-paint': 'largest-contentful-paint-element' }[ref.id];
        const details = (beside ? r.lhr.audits[beside]?.details : audit.details) ?? {};
        const items = details.type === 'list' ? details.items.flatMap((i) => i.items ?? []) : details.items ?? [];
        for (const item of items) {
          const what = item.node?.snippet ?? item.url ?? item.source?.url ?? item.description;
          if (what && entry.items.size < 3) entry.items.add(String(what).slice(0, 120).replace(/\|/g, '\\|'));
        }
        lost.set(key, entry);
      }
    }
  }
  console.log('Audits that cost points (in how many runs; score; value; what it found):');
  console.log();
  console.log('| page · category · audit | runs | score | value | found |');
  console.log('|---|---|---|---|---|');
  for (const [key, e] of [...lost.entries()].sort()) {
    console.log(`| ${key} — ${e.title.replace(/\|/g, '\\|')} | ${e.runs}/${runs} | ${median(e.scores).toFixed(2)} | ${e.values.length ? median(e.values.map((v) => parseFloat(v.replace(/[^0-9.]/g, '')) || 0)) + ' ' + (e.values[0].replace(/[0-9.,\s]+/, '').trim()) : ''} | ${[...e.items].map((s) => `\`${s}\``).join(', ')} |`);
  }
  if (!lost.size) console.log('| none | | | | |');
  console.log();
  console.log(misses.length ? `Goals (≥ 90 / ≥ 95 / ≥ 95) missed: ${misses.join('; ')}.` : 'Goals (≥ 90 / ≥ 95 / ≥ 95): met on both pages, desktop and mobile.');
  console.log();
}

// Set in the page before the app runs: when the list's first row is in the DOM and when
// every row's health and cost cells hold a value (performance.now(), i.e. since navigation start).
function watchRows() {
  const seen = { firstRow: null, rows: 0, filled: null };
  window.__rows = seen;
  const check = () => {
    const rows = document.querySelectorAll('table tbody tr');
    if (!rows.length) return;
    const now = performance.now();
    if (seen.firstRow === null) {
      seen.firstRow = now;
      requestAnimationFrame(() => (seen.painted = performance.now()));
    }
    seen.rows = rows.length;
    if (seen.filled === null) {
      const done = [...rows].every((row) => {
        const cells = row.querySelectorAll('td');
        return cells.length >= 7 && cells[3].textContent.trim() !== '—' && cells[5].textContent.trim() !== '—';
      });
      if (done) seen.filled = now;
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true });
}

async function timeList(browser, runs) {
  const url = `${CONSOLE}streams`;
  const measure = async (page) => {
    const started = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    await page.getByRole('table', { name: 'Your streams' }).locator('tbody tr').first().waitFor({ state: 'visible' });
    const wall = performance.now() - started;
    await page.waitForFunction(() => window.__rows?.filled !== null, null, { timeout: 60_000 });
    const inPage = await page.evaluate(() => window.__rows);
    return { wall, firstRow: inPage.firstRow, painted: inPage.painted ?? inPage.firstRow, rows: inPage.rows, filled: inPage.filled };
  };
  const cold = [], warm = [];
  const calls = [];
  let recording = false;
  const answers = new Map(); // the API's statuses over every run
  for (let run = 0; run < runs; run += 1) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await context.addInitScript(watchRows);
    const page = await context.newPage();
    page.on('request', (r) => recording && r.url().startsWith(`${setup.api}/streams`) && calls.push(new URL(r.url()).pathname.replace(/[0-9a-f-]{36}/, '{id}')));
    page.on('response', (r) => r.url().startsWith(`${setup.api}/streams`) && answers.set(r.status(), (answers.get(r.status()) ?? 0) + 1));
    await page.goto(CONSOLE);
    await signInWithToken(page, setup.token1k);
    await page.getByRole('table', { name: 'Your streams' }).locator('tbody tr').first().waitFor();
    await page.waitForFunction(() => window.__rows?.filled !== null, null, { timeout: 60_000 });
    // Cold: nothing of the console in the HTTP cache (as a first visit), the session kept.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    recording = run === 0; // the API calls of the first cold navigation
    cold.push(await measure(page));
    recording = false;
    // Warm: the same tab, the console's files in the cache.
    await page.goto('about:blank');
    warm.push(await measure(page));
    await context.close();
    log(`1k list run ${run + 1}: cold ${cold.at(-1).painted.toFixed(0)} ms, warm ${warm.at(-1).painted.toFixed(0)} ms`);
  }
  const byCall = calls.reduce((m, c) => m.set(c, (m.get(c) ?? 0) + 1), new Map());

  console.log(`### Streams list of a tenant with ${setup.streams1k} streams: navigation → first page of rows (${runs} runs each)`);
  console.log();
  console.log('| load | first row in the DOM (in-page `performance.now()`) | next frame after it | wall clock, `goto` → first row visible (Playwright) | every row\'s health and cost shown | rows on the page |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, list] of [['cold (new context, HTTP cache empty)', cold], ['warm (same tab, files cached)', warm]]) {
    const cell = (f) => `${median(list.map(f)).toFixed(0)} ms (${Math.min(...list.map(f)).toFixed(0)}–${Math.max(...list.map(f)).toFixed(0)})`;
    console.log(`| ${name} | ${cell((r) => r.firstRow)} | **${cell((r) => r.painted)}** | ${cell((r) => r.wall)} | ${cell((r) => r.filled)} | ${list[0].rows} |`);
  }
  console.log();
  const worst = Math.max(median(cold.map((r) => r.painted)), median(warm.map((r) => r.painted)), median(cold.map((r) => r.wall)));
  console.log(`Goal ≤ 1 s (median): ${worst <= 1000 ? 'met' : '**missed**'}. Medians (min–max).`);
  console.log();
  console.log(`API calls of one cold load: ${[...byCall.entries()].map(([c, n]) => `\`GET ${c}\` × ${n}`).join(', ')}; the API's answers over all runs (sign-ins included): ${[...answers.entries()].sort().map(([s, n]) => `${s} × ${n}`).join(', ')}.`);
  const reads = setup.rowReads;
  console.log(`A seeded stream's row reads (no Kinesis stream behind it): status ${reads.status.status} in ${reads.status.ms} ms (consumers ${JSON.stringify(reads.status.body.Consumers ?? null)}, IncomingRecords ${reads.status.body.Metrics?.IncomingRecords ?? 'n/a'}), cost ${reads.cost.status} in ${reads.cost.ms} ms (${reads.cost.body.MonthlyTotal ?? 'n/a'} ${reads.cost.body.Currency ?? ''}, ${reads.cost.body.Basis?.Source ?? ''}).`);
  console.log();
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless=new', ...FLAGS] });
try {
  if (setup.parts.includes('size')) await firstLoad(browser);
  if (setup.parts.includes('list')) await timeList(browser, setup.runs);
} finally {
  await browser.close();
}
if (setup.parts.includes('lighthouse')) await lighthouse(setup.lighthouseRuns);
