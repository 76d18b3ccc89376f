#!/usr/bin/env node
// Headless-browser check of the GraphiQL playground served by job-history.
//
// Usage: node graphiql.spec.mjs <base-url>      e.g. http://127.0.0.1:8080
//   env SCREENSHOT=/path/to/file.png   optional: where to save a screenshot
//   env CHROMIUM=/path/to/chromium     optional: browser binary (default /usr/bin/chromium)
//
// Opens <base-url>/, waits for GraphiQL to render, checks that the page made no
// request outside 127.0.0.1/localhost, sees the second (Dashboard) tab, runs the default
// query and checks that the
// response shows "data" and "jobIdentifier". Prints one PASS line and exits 0, or
// prints why it failed (with the page's console errors) and exits 1.

import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STEP_TIMEOUT_MS = 30_000; // bound for every single wait
const OVERALL_TIMEOUT_MS = 120_000; // watchdog for the whole run
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'about:']);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const requests = []; // every URL the page asked for (HTTP and WebSocket)
const consoleErrors = []; // console.error messages and uncaught page errors
const badResponses = []; // failed or >= 400 responses (diagnostics)

let context = null;
let userDataDir = null;

function isLocal(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (LOCAL_SCHEMES.has(u.protocol)) return true;
  return LOCAL_HOSTS.has(u.hostname);
}

function externalRequests() {
  return [...new Set(requests.filter((u) => !isLocal(u)))];
}

// First line of a Playwright error (its call log follows on later lines).
function firstLine(e) {
  return String(e && e.message ? e.message : e).split('\n')[0];
}

async function cleanup() {
  if (context) {
    const c = context;
    context = null;
    await c.close().catch(() => {});
  }
  if (userDataDir) {
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
    userDataDir = null;
  }
}

async function fail(reason) {
  console.error(`FAIL graphiql playground: ${reason}`);
  if (consoleErrors.length) {
    console.error(`page console errors (${consoleErrors.length}):`);
    for (const e of consoleErrors) console.error(`  ${e}`);
  } else {
    console.error('page console errors: none');
  }
  if (badResponses.length) {
    console.error(`failed requests (${badResponses.length}):`);
    for (const r of badResponses) console.error(`  ${r}`);
  }
  await cleanup();
  process.exit(1);
}

// Text of a CodeMirror 5 editor inside `selector` (GraphiQL 4 uses CodeMirror 5,
// which renders only visible lines, so read the editor model, not the DOM).
function editorText(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(`${sel} .CodeMirror`);
    if (!el) return null;
    return el.CodeMirror ? el.CodeMirror.getValue() : el.textContent;
  }, selector);
}

async function main() {
  const arg = process.argv[2];
  if (!arg) {
    console.error('usage: node graphiql.spec.mjs <base-url>');
    process.exit(2);
  }
  let base;
  try {
    base = new URL(arg);
  } catch {
    return fail(`not a URL: ${arg}`);
  }
  if (!isLocal(base.href)) {
    return fail(`base URL must point at 127.0.0.1 or localhost, got ${base.host}`);
  }
  const pageUrl = new URL('/', base).href;

  userDataDir = await mkdtemp(join(tmpdir(), 'graphiql-spec-'));
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: STEP_TIMEOUT_MS,
      viewport: { width: 1280, height: 800 },
    });
  } catch (e) {
    return fail(`could not launch ${CHROMIUM}: ${firstLine(e)}`);
  }
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);

  context.on('request', (req) => requests.push(req.url()));
  context.on('requestfailed', (req) => {
    const why = req.failure() ? req.failure().errorText : 'failed';
    badResponses.push(`${req.method()} ${req.url()} -> ${why}`);
  });
  context.on('response', (res) => {
    if (res.status() >= 400) badResponses.push(`${res.request().method()} ${res.url()} -> HTTP ${res.status()}`);
  });

  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  page.on('websocket', (ws) => requests.push(ws.url()));

  let response;
  try {
    response = await page.goto(pageUrl, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
  } catch (e) {
    return fail(`could not load ${pageUrl}: ${firstLine(e)}`);
  }
  if (!response || !response.ok()) {
    return fail(`GET ${pageUrl} answered ${response ? response.status() : 'nothing'}`);
  }
  const title = await page.title();

  // GraphiQL rendered: a visible CodeMirror query editor holding text. The page
  // replaces its "Loading" note with "GraphiQL failed ..." when it cannot start;
  // stop waiting at once in that case.
  let rendered;
  try {
    const handle = await page.waitForFunction(
      () => {
        const note = document.querySelector('#graphiql > .playground-message');
        if (note && /failed/i.test(note.textContent)) return `page says: ${note.textContent}`;
        const el = document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror');
        const ready = el && el.CodeMirror && el.offsetParent !== null && el.CodeMirror.getValue().trim().length > 0;
        return ready ? 'ok' : false;
      },
      null,
      { timeout: STEP_TIMEOUT_MS },
    );
    rendered = await handle.jsonValue();
  } catch (e) {
    return fail(`GraphiQL query editor did not render: ${firstLine(e)}`);
  }
  if (rendered !== 'ok') return fail(`GraphiQL did not render: ${rendered}`);
  const query = (await editorText(page, '.graphiql-query-editor')) || '';

  // The second preloaded tab: a dashboard query (jobStatistics).
  const tabs = await page.evaluate(() =>
    [...document.querySelectorAll('.graphiql-tab')].map((t) => t.textContent.trim()),
  );
  if (!tabs.some((t) => /Dashboard/.test(t))) {
    return fail(`no Dashboard tab among the preloaded tabs: ${JSON.stringify(tabs)}`);
  }

  const early = externalRequests();
  if (early.length) return fail(`page made ${early.length} request(s) outside localhost: ${early.join(', ')}`);

  // Broken asset requests (the vendored files or the page itself) are failures.
  const brokenAssets = badResponses.filter((r) => !/\/graphql(\/ws)?\b/.test(r));
  if (brokenAssets.length) return fail(`asset request(s) failed: ${brokenAssets.join('; ')}`);

  // Run the default query.
  const runButton = page.getByRole('button', { name: /execute query/i }).first();
  try {
    await runButton.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await runButton.click({ timeout: STEP_TIMEOUT_MS });
  } catch (e) {
    return fail(`could not click the execute-query button: ${firstLine(e)}`);
  }

  try {
    await page.waitForFunction(
      () => {
        const el = document.querySelector('.graphiql-response .CodeMirror');
        const text = el ? (el.CodeMirror ? el.CodeMirror.getValue() : el.textContent) : '';
        return text.includes('"data"') || text.includes('"errors"');
      },
      null,
      { timeout: STEP_TIMEOUT_MS },
    );
  } catch (e) {
    const shown = (await editorText(page, '.graphiql-response').catch(() => null)) || '';
    return fail(
      `no JSON result appeared in the response pane within ${STEP_TIMEOUT_MS / 1000}s` +
        (shown ? `; it shows: ${shown.slice(0, 500)}` : ''),
    );
  }
  const result = (await editorText(page, '.graphiql-response')) || '';
  if (!result.includes('"data"')) return fail(`result has no "data": ${result.slice(0, 1000)}`);
  if (!result.includes('"jobIdentifier"')) {
    return fail(`result has no "jobIdentifier": ${result.slice(0, 1000)}`);
  }

  if (process.env.SCREENSHOT) {
    try {
      await page.screenshot({ path: process.env.SCREENSHOT, timeout: STEP_TIMEOUT_MS });
    } catch (e) {
      return fail(`could not save screenshot to ${process.env.SCREENSHOT}: ${firstLine(e)}`);
    }
  }

  // Checked last, so that requests made while executing are covered too.
  const external = externalRequests();
  if (external.length) return fail(`page made ${external.length} request(s) outside localhost: ${external.join(', ')}`);

  const summary =
    `PASS graphiql playground at ${pageUrl}: title "${title}", ` +
    `${requests.length} requests all local, default query ${JSON.stringify(query.replace(/\s+/g, ' ').trim().slice(0, 80))}, ` +
    `result ${result.length} chars with "data" and "jobIdentifier"` +
    (consoleErrors.length ? `, ${consoleErrors.length} console error(s)` : '') +
    (process.env.SCREENSHOT ? `, screenshot ${process.env.SCREENSHOT}` : '');
  if (consoleErrors.length) for (const e of consoleErrors) console.error(`note: ${e}`);
  await cleanup();
  console.log(summary);
  process.exit(0);
}

// Not unref()'d on purpose: a stuck run must end in FAIL, never in a silent exit 0.
setTimeout(() => {
  fail(`overall timeout of ${OVERALL_TIMEOUT_MS / 1000}s exceeded`);
}, OVERALL_TIMEOUT_MS);

main().catch((e) => fail(`unexpected error: ${e && e.stack ? e.stack : e}`));
