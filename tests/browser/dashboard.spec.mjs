#!/usr/bin/env node
// Headless-browser check of the dashboard page (GET /dashboard) served by job-history.
//
// Usage: API_KEY=PREFIX.SECRET node dashboard.spec.mjs <base-url>   e.g. http://127.0.0.1:8080
//   env API_KEY                   a key of the server (scripts/e2e passes the demo key)
//   env DASHBOARD_SCREENSHOT=x.png optional: screenshots (x.png wide, x-narrow.png at 375 px)
//   env CHROMIUM=/path/to/chromium optional: browser binary (default /usr/bin/chromium)
//
// Against a real server (`serve --demo`), in a browser whose time zone is America/New_York:
//   1. the page renders with the key and shows the same figures as the API's own answer to
//      the same query, asked here with the same key (totals, both charts' tables, the SVG
//      bars' heights, the per-model table), for a past range chosen in the filter bar;
//   2. switching the bucket re-queries (a new POST /graphql with that bucket), and the
//      figures match again;
//   3. live: over the range reaching now, a job submitted here reaches the page through the
//      jobStatisticsUpdated subscription (its frames are recorded); when the socket is dropped
//      the page says so, polls (reads again at once), and goes live again;
//   4. a bad key shows the server's error (code and message as the API answers them), and
//      the good key entered once is kept for the tab;
//   5. the form controls are labelled, and at 375 px nothing overflows the page sideways;
//   6. no request leaves the server's origin (every HTTP request and websocket recorded),
//      no Content-Security-Policy violation, no uncaught error.
// Prints one PASS line and exits 0, or prints why it failed and exits 1.

import { chromium } from 'playwright-core';

const STEP_TIMEOUT_MS = 30_000; // bound for every single wait
const OVERALL_TIMEOUT_MS = 240_000; // watchdog for the whole run
const ZONE = 'America/New_York';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
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
const problems = []; // CSP violations and uncaught errors: each one fails the run
const notes = []; // other console errors (the refused key's 401 is expected)
const graphqlBodies = []; // the JSON bodies of the page's POST /graphql, in order
const frames = []; // server -> page websocket messages (parsed)
const routes = []; // the page's websockets, as routed through this test
let browser = null;
let shownPage = null; // for the diagnostics of a failure
let step = 'start'; // what the run was doing

function firstLine(e) {
  return String(e && e.message ? e.message : e).split('\n')[0];
}

async function fail(reason) {
  console.error(`FAIL dashboard (${step}): ${reason}`);
  if (shownPage) {
    const seen = await shownPage
      .evaluate(() => ({
        main: Object.assign({}, document.getElementById('main').dataset),
        live: document.getElementById('live-text').textContent,
        error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
        summary: document.getElementById('summary').textContent,
      }))
      .catch((e) => `unreadable: ${firstLine(e)}`);
    console.error(`  the page: ${JSON.stringify(seen)}`);
  }
  for (const p of problems) console.error(`  problem: ${p}`);
  for (const n of notes) console.error(`  console: ${n}`);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}

function check(condition, reason) {
  if (!condition) throw new Error(reason);
}

// ---- The API, asked directly ---------------------------------------------------------------

let base;

async function api(query, variables, key = process.env.API_KEY) {
  const response = await fetch(new URL('/graphql', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `ApiKey ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

// This test's own query (not the page's text): the figures the page must show.
const CHECK_QUERY = `query Check($filter: JobFilter, $bucket: StatisticsBucket!, $timeZone: String!) {
  jobStatistics(filter: $filter, bucket: $bucket, timeZone: $timeZone, groupBy: [MODEL], groupLimit: 20) {
    buckets {
      start
      total {
        jobs
        statuses { submitted inProgress completed canceled timedout error }
        queueTime { p50 p90 p99 }
        elapsedTime { p50 p90 p99 }
      }
    }
    groups {
      key { model { identifier version } other }
      figures { jobs statuses { error timedout } queueTime { p50 p99 } elapsedTime { p50 p99 } }
    }
    total {
      jobs
      statuses { submitted inProgress completed canceled timedout error }
      inputs { total failed byteAmount }
      queueTime { p50 p99 }
      elapsedTime { p50 p99 }
    }
  }
}`;

// ---- Reading what the page shows -------------------------------------------------------------

const STATUS_FIELDS = ['completed', 'error', 'timedout', 'canceled', 'inProgress', 'submitted'];

/** A shown count ("1,234") as a number. */
function count(text) {
  check(/^[0-9,]+$/.test(text), `not a count: ${JSON.stringify(text)}`);
  return Number(text.replace(/,/g, ''));
}

/** A shown duration ("850 ms", "4.25 s", "3.2 min", "1.5 h", "—") as [ms, half a unit]. */
function duration(text) {
  if (text === '—') return [null, 0];
  const m = /^([0-9.]+) (ms|s|min|h)$/.exec(text);
  check(m, `not a duration: ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, min: 60000, h: 3600000 }[m[2]];
  const decimals = (m[1].split('.')[1] || '').length;
  return [Number(m[1]) * unit, (0.5 * unit) / 10 ** decimals];
}

/** A shown byte amount ("512 B", "1.2 MB") as [bytes, half a unit]. */
function bytes(text) {
  const m = /^([0-9.]+) (B|kB|MB|GB|TB)$/.exec(text);
  check(m, `not a byte amount: ${JSON.stringify(text)}`);
  const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2]];
  const decimals = (m[1].split('.')[1] || '').length;
  return [Number(m[1]) * unit, (0.5 * unit) / 10 ** decimals];
}

function sameDuration(shown, value, what) {
  const [ms, half] = duration(shown);
  if (value === null) return check(ms === null, `${what}: shows ${shown}, the API says null`);
  check(ms !== null && Math.abs(ms - value) <= half + 1e-9, `${what}: shows ${shown}, the API says ${value} ms`);
}

function sameCount(shown, value, what) {
  check(count(shown) === value, `${what}: shows ${shown}, the API says ${value}`);
}

/** Everything the page shows, read from its DOM. */
function readPage(page) {
  return page.evaluate(() => {
    const text = (e) => (e ? e.textContent.trim() : null);
    const rows = (id) =>
      [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) => ({
        start: tr.dataset.start,
        model: tr.dataset.model,
        cells: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map((td) => [td.dataset.field, text(td)])),
      }));
    const bars = [...document.querySelectorAll('#jobs-chart svg g[data-start]')].map((g) => ({
      start: g.dataset.start,
      heights: [...g.querySelectorAll('rect')].map((r) => Number(r.getAttribute('height'))),
    }));
    return {
      totals: Object.fromEntries(
        [...document.querySelectorAll('#totals [data-field]')].map((d) => [d.dataset.field, text(d.querySelector('dd'))]),
      ),
      jobs: rows('jobs-table'),
      latency: rows('latency-table'),
      models: rows('models-table'),
      bars,
      charts: [...document.querySelectorAll('.chart svg')].map((s) => s.getAttribute('role') + ':' + s.getAttribute('aria-label')),
      variables: text(document.getElementById('request-variables')),
    };
  });
}

/** Fails unless the page shows `expected` (this test's own answer for the same variables). */
function compare(shown, expected) {
  const s = expected;
  check(s.total.jobs > 0, 'the range holds no job: the comparison would prove nothing');
  // Totals.
  const t = shown.totals;
  sameCount(t.jobs, s.total.jobs, 'total jobs');
  for (const [field, value] of [
    ['completed', s.total.statuses.completed],
    ['error', s.total.statuses.error],
    ['timedout', s.total.statuses.timedout],
    ['canceled', s.total.statuses.canceled],
    ['pending', s.total.statuses.submitted + s.total.statuses.inProgress],
    ['inputs', s.total.inputs.total],
    ['inputsFailed', s.total.inputs.failed],
  ]) {
    sameCount(t[field], value, `total ${field}`);
  }
  const [b, half] = bytes(t.bytes);
  check(Math.abs(b - s.total.inputs.byteAmount) <= half, `input bytes: shows ${t.bytes}, the API says ${s.total.inputs.byteAmount}`);
  sameDuration(t.queueP50, s.total.queueTime.p50, 'total queue p50');
  sameDuration(t.queueP99, s.total.queueTime.p99, 'total queue p99');
  sameDuration(t.elapsedP50, s.total.elapsedTime.p50, 'total elapsed p50');
  sameDuration(t.elapsedP99, s.total.elapsedTime.p99, 'total elapsed p99');

  // Jobs per bucket by status, and the latency percentiles: one row per bucket, in order.
  check(shown.jobs.length === s.buckets.length, `${shown.jobs.length} bucket rows, the API has ${s.buckets.length} buckets`);
  check(shown.latency.length === s.buckets.length, `${shown.latency.length} latency rows, the API has ${s.buckets.length}`);
  s.buckets.forEach((bucket, i) => {
    const row = shown.jobs[i];
    check(row.start === bucket.start, `row ${i} is bucket ${row.start}, the API's is ${bucket.start}`);
    sameCount(row.cells.jobs, bucket.total.jobs, `${bucket.start} jobs`);
    for (const f of STATUS_FIELDS) sameCount(row.cells[f], bucket.total.statuses[f], `${bucket.start} ${f}`);
    const lat = shown.latency[i];
    check(lat.start === bucket.start, `latency row ${i} is ${lat.start}, the API's is ${bucket.start}`);
    for (const what of ['queueTime', 'elapsedTime']) {
      for (const p of ['p50', 'p90', 'p99']) sameDuration(lat.cells[`${what}.${p}`], bucket.total[what][p], `${bucket.start} ${what} ${p}`);
    }
  });

  // The bars: one per bucket with jobs, as tall as its jobs (one scale for all).
  const withJobs = s.buckets.filter((x) => x.total.jobs > 0);
  check(shown.bars.length === withJobs.length, `${shown.bars.length} bars, ${withJobs.length} buckets with jobs`);
  let scale = null;
  withJobs.forEach((bucket, i) => {
    const bar = shown.bars[i];
    check(bar.start === bucket.start, `bar ${i} is ${bar.start}, the API's bucket is ${bucket.start}`);
    const nonZero = STATUS_FIELDS.filter((f) => bucket.total.statuses[f] > 0).length;
    check(bar.heights.length === nonZero, `${bucket.start}: ${bar.heights.length} segments for ${nonZero} statuses`);
    const height = bar.heights.reduce((a, h) => a + h, 0);
    scale = scale === null ? height / bucket.total.jobs : scale;
    check(Math.abs(height - scale * bucket.total.jobs) < 0.01, `${bucket.start}: bar height ${height} is not ${bucket.total.jobs} jobs`);
  });
  check(shown.charts.length === 3 && shown.charts.every((c) => c.startsWith('img:')), `charts are not labelled images: ${shown.charts}`);

  // Per model: the same groups in the same order.
  check(shown.models.length === s.groups.length, `${shown.models.length} model rows, the API has ${s.groups.length} groups`);
  s.groups.forEach((g, i) => {
    const row = shown.models[i];
    const id = g.key.model ? `${g.key.model.identifier}@${g.key.model.version}` : 'other';
    check(row.model === id, `model row ${i} is ${row.model}, the API's group is ${id}`);
    sameCount(row.cells.jobs, g.figures.jobs, `${id} jobs`);
    sameCount(row.cells.error, g.figures.statuses.error, `${id} failed`);
    sameCount(row.cells.timedout, g.figures.statuses.timedout, `${id} timed out`);
    for (const what of ['queueTime', 'elapsedTime']) {
      for (const p of ['p50', 'p99']) sameDuration(row.cells[`${what}.${p}`], g.figures[what][p], `${id} ${what} ${p}`);
    }
  });
}

/** The page's figures for its current variables, compared with this test's own read. */
async function pageMatchesApi(page, bucket) {
  const shown = await readPage(page);
  const variables = JSON.parse(shown.variables);
  check(variables.bucket === bucket, `the page asked for ${variables.bucket}, not ${bucket}`);
  const last = graphqlBodies.filter((b) => b.operationName === 'Dashboard' || /query Dashboard/.test(b.query)).pop();
  check(last && JSON.stringify(last.variables) === JSON.stringify(variables), 'the page shows other variables than it sent last');
  const answer = await api(CHECK_QUERY, variables);
  check(!answer.errors, `the API refused the page's variables: ${JSON.stringify(answer.errors)}`);
  compare(shown, answer.data.jobStatistics);
  return { variables, stats: answer.data.jobStatistics };
}

// ---- Waiting ----------------------------------------------------------------------------------------

let waiters = []; // [check, resolve] of conditions on what this test recorded

/** Re-checks the waiting conditions: called on every request and frame recorded. */
function wake() {
  waiters = waiters.filter(([ready, resolve]) => {
    const value = ready();
    if (value) resolve(value);
    return !value;
  });
}

/** Resolves when `ready()` (on what was recorded) is truthy; fails after STEP_TIMEOUT_MS. */
function waitFor(ready, what) {
  const value = ready();
  if (value) return Promise.resolve(value);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${STEP_TIMEOUT_MS / 1000}s`)), STEP_TIMEOUT_MS);
    waiters.push([ready, (v) => (clearTimeout(timer), resolve(v))]);
  });
}

/** The first websocket item from the server, from the `since`-th on, for which `pick` returns
 * something. */
function frameWhere(since, pick) {
  return waitFor(() => {
    for (const m of frames.slice(since)) {
      const v = m && typeof m === 'object' ? pick(m) : null;
      if (v) return v;
    }
    return null;
  }, 'subscription item counting the submitted job');
}

/** Waits until `fn(arg)` holds in the page; fails saying `what` did not happen. */
async function until(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT_MS });
  } catch (e) {
    throw new Error(`${what} did not happen within ${STEP_TIMEOUT_MS / 1000}s (${firstLine(e)})`);
  }
}

/** Waits until the live indicator is in `state` (off, connecting, live, polling). */
const liveIs = (page, state) =>
  until(page, `the live state "${state}"`, (s) => document.getElementById('live').dataset.state === s, state);

/** Waits until the page finished a read newer than `after` (main[data-loads]). */
async function readyAfter(page, after, bucket) {
  await until(
    page,
    `a finished read${bucket ? ` by ${bucket}` : ''}`,
    ([after, bucket]) => {
      const main = document.getElementById('main');
      return (
        main.dataset.state === 'ready' && Number(main.dataset.loads || 0) > after && (!bucket || main.dataset.bucket === bucket)
      );
    },
    [after, bucket],
  );
}

const loads = (page) => page.evaluate(() => Number(document.getElementById('main').dataset.loads || 0));
const liveState = (page) => page.evaluate(() => document.getElementById('live').dataset.state);

/** `YYYY-MM-DD` of `days` ago in ZONE. */
function dayAgo(days) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(new Date(Date.now() - days * 86_400_000));
}

/** `YYYY-MM-DD HH:MM:SS.mmm` of an instant in ZONE. */
function local(iso) {
  const d = new Date(iso);
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: ZONE,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(d)
      .map(({ type, value }) => [type, value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
}

// ---- The run ------------------------------------------------------------------------------------

async function main() {
  const arg = process.argv[2];
  const key = process.env.API_KEY;
  if (!arg || !key) {
    console.error('usage: API_KEY=PREFIX.SECRET node dashboard.spec.mjs <base-url>');
    process.exit(2);
  }
  try {
    base = new URL(arg);
  } catch {
    return fail(`not a URL: ${arg}`);
  }
  const origin = base.origin;
  const wsOrigin = origin.replace(/^http/, 'ws');
  const pageUrl = new URL('/dashboard', base).href;

  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: STEP_TIMEOUT_MS });
  } catch (e) {
    return fail(`could not launch ${CHROMIUM}: ${firstLine(e)}`);
  }
  const context = await browser.newContext({ timezoneId: ZONE, viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.on('request', (req) => {
    requests.push(req.url());
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/graphql') {
      const auth = req.headers().authorization || '';
      graphqlBodies.push(Object.assign(JSON.parse(req.postData() || '{}'), { authorization: auth, at: Date.now() }));
      wake();
    }
  });
  // Every websocket of the page passes through here: recorded, its frames read, and the test
  // can drop it (the page must then poll and reconnect).
  await context.routeWebSocket(
    () => true,
    (ws) => {
      requests.push(ws.url());
      const server = ws.connectToServer();
      const route = { ws, server, dropped: false };
      routes.push(route);
      server.onMessage((m) => {
        try {
          frames.push(JSON.parse(String(m)));
        } catch {
          frames.push(String(m));
        }
        ws.send(m);
        wake();
      });
    },
  );
  const page = await context.newPage();
  shownPage = page;
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (/Content Security Policy/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    else notes.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));

  step = 'renders with the key';
  // 1. It renders with the key (served under --demo, and kept for the tab once entered).
  const response = await page.goto(pageUrl, { waitUntil: 'load' });
  check(response && response.ok(), `GET ${pageUrl} answered ${response ? response.status() : 'nothing'}`);
  check(/script-src 'self'/.test(response.headers()['content-security-policy'] || ''), 'the page has no script policy');
  await page.fill('#key-input', key);
  await page.click('#key-form button[type=submit]');
  await readyAfter(page, 0);
  const kept = await page.evaluate(() => sessionStorage.getItem('job-history:dashboard:key'));
  check(kept === key, 'the key entered is not kept for the tab');
  check(graphqlBodies.every((b) => b.authorization === `ApiKey ${key}`), 'a request went without the key');

  step = 'a past range by week';
  // A past range in the filter bar (figures that no longer move), by week.
  const from = dayAgo(120);
  const to = dayAgo(2);
  let n = await loads(page);
  await page.selectOption('#f-bucket', 'WEEK');
  await page.fill('#f-from', from);
  await page.fill('#f-to', to);
  await readyAfter(page, n, 'WEEK');
  await liveIs(page, 'off');
  const week = await pageMatchesApi(page, 'WEEK');
  const range = week.variables.filter.createdAt;
  check(week.variables.timeZone === ZONE, `the zone asked is ${week.variables.timeZone}, the browser's is ${ZONE}`);
  check(local(range.from) === `${from} 00:00:00.000`, `From ${from} was sent as ${range.from} (${local(range.from)} here)`);
  check(local(range.to) === `${to} 23:59:59.999`, `To ${to} was sent as ${range.to} (${local(range.to)} here)`);

  step = 'switching to DAY';
  // 2. Switching the bucket asks again, and the figures match again.
  const sent = graphqlBodies.length;
  n = await loads(page);
  await page.selectOption('#f-bucket', 'DAY');
  await readyAfter(page, n, 'DAY');
  check(graphqlBodies.slice(sent).some((b) => b.variables && b.variables.bucket === 'DAY'), 'no request asked for DAY');
  const day = await pageMatchesApi(page, 'DAY');
  check(day.stats.buckets.length > week.stats.buckets.length, 'DAY has no more buckets than WEEK');
  check(day.stats.total.jobs === week.stats.total.jobs, 'the same range counts other jobs by day than by week');

  step = 'live';
  // 3. Live: the range up to now, by hour; a job submitted here arrives by the subscription.
  n = await loads(page);
  await page.fill('#f-to', '');
  await page.fill('#f-from', '');
  await page.selectOption('#f-bucket', 'HOUR');
  await readyAfter(page, n, 'HOUR');
  await liveIs(page, 'live');
  const updatesBefore = await page.evaluate(() => Number(document.getElementById('main').dataset.liveUpdates || 0));
  const current = await page.evaluate(() => {
    const rows = document.querySelectorAll('#jobs-table tbody tr');
    const last = rows[rows.length - 1];
    return { start: last.dataset.start, jobs: Number(last.querySelector('td[data-field="jobs"]').textContent.replace(/,/g, '')) };
  });
  const since = frames.length; // items of the subscription from now on
  const models = await api('{ models { identifier version } }', {});
  const model = models.data.models[0];
  const submitted = await api(
    'mutation Submit($m: ModelRef!) { submitJob(input: { model: $m, inputs: [{ name: "dashboard-e2e", byteAmount: 1 }] }) { jobIdentifier createdAt } }',
    { m: { identifier: model.identifier, version: model.version } },
  );
  check(!submitted.errors, `could not submit a job: ${JSON.stringify(submitted.errors)}`);
  const createdAt = Date.parse(submitted.data.submitJob.createdAt);
  // A subscription item counting the new job: the bucket holding it, one more job than the
  // page showed before (or a bucket begun since).
  const item = await frameWhere(since, (m) => {
    const update = m.type === 'next' && m.payload && m.payload.data && m.payload.data.jobStatisticsUpdated;
    const b = update && update.buckets.find((x) => Date.parse(x.start) <= createdAt);
    if (!b) return null;
    const enough = b.start === current.start ? b.total.jobs >= current.jobs + 1 : b.total.jobs >= 1;
    return enough ? { start: b.start, jobs: b.total.jobs } : null;
  });
  // The page shows it (counts of the current bucket only grow), applied from the subscription.
  await until(
    page,
    `the page showing the subscription's ${item.jobs} jobs for ${item.start}`,
    ([item, updatesBefore, currentStart]) => {
      const td = document.querySelector(`#jobs-table tr[data-start="${item.start}"] td[data-field="jobs"]`);
      const updates = Number(document.getElementById('main').dataset.liveUpdates || 0);
      const shown = td ? Number(td.textContent.replace(/,/g, '')) : -1;
      return shown >= item.jobs && (updates > updatesBefore || item.start !== currentStart);
    },
    [item, updatesBefore, current.start],
  );
  // The subscription's count includes the job just submitted: the API agrees it is there.
  const after = await api(CHECK_QUERY, JSON.parse((await readPage(page)).variables));
  const apiBucket = after.data.jobStatistics.buckets.find((b) => b.start === item.start);
  check(apiBucket && apiBucket.total.jobs >= item.jobs && item.jobs >= 1, 'the live count is not the API\'s');

  step = 'socket dropped';
  // The socket drops: the page says it polls, reads again at once, then goes live again.
  const route = routes[routes.length - 1];
  const sockets = routes.length;
  const dropped = Date.now();
  route.server.close({ code: 1000 });
  route.ws.close({ code: 1011, reason: 'dropped by the test' });
  await liveIs(page, 'polling');
  const pollingText = await page.textContent('#live-text');
  check(/polling/i.test(pollingText), `the live state says "${pollingText}"`);
  await waitFor(() => graphqlBodies.some((b) => b.at >= dropped && /query Dashboard/.test(b.query)), 'a read after the socket dropped');
  await liveIs(page, 'live');
  check(routes.length > sockets, 'the page went live without a new socket');

  step = 'bad key';
  // 4. A bad key: the server's own error, code and message, on the page.
  const bad = `${key.split('.')[0]}.not-the-secret`;
  const refusal = await api('{ viewer { keyPrefix } }', {}, bad);
  const expected = refusal.errors && refusal.errors[0];
  check(expected && expected.extensions && expected.extensions.code, `the API did not refuse a bad key: ${JSON.stringify(refusal)}`);
  await page.fill('#key-input', bad);
  await page.click('#key-form button[type=submit]');
  await until(page, 'an error shown for the bad key', () => !document.getElementById('error').hidden);
  const shownError = await page.evaluate(() => ({
    code: document.querySelector('#error .code') && document.querySelector('#error .code').textContent,
    message: document.querySelector('#error .message') && document.querySelector('#error .message').textContent,
    role: document.getElementById('error').getAttribute('role'),
  }));
  check(shownError.code === expected.extensions.code, `the page shows code ${shownError.code}, the API ${expected.extensions.code}`);
  check(shownError.message === expected.message, `the page shows "${shownError.message}", the API "${expected.message}"`);
  check(shownError.role === 'alert', 'the error is not announced (role=alert)');
  check((await liveState(page)) === 'off', 'still live with a refused key');
  check((await page.$$('#jobs-table tbody tr')).length === 0, 'figures stay on the page after the key was refused');
  // The good key again: figures back, the key kept.
  n = await loads(page);
  await page.fill('#key-input', key);
  await page.click('#key-form button[type=submit]');
  await readyAfter(page, n);
  check((await page.isHidden('#error')), 'the error stays after a good key');

  step = 'labels and narrow screen';
  // 5. Labels, and a narrow screen.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select')].filter((c) => c.type !== 'hidden' && !(c.labels && c.labels.length)).map((c) => c.id),
  );
  check(unlabelled.length === 0, `form controls without a label: ${unlabelled.join(', ')}`);
  const shot = process.env.DASHBOARD_SCREENSHOT;
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `at 375 px the page is ${overflow}px wider than the screen`);
  if (shot) await page.screenshot({ path: shot.replace(/(\.png)?$/, '-narrow.png'), fullPage: true });

  step = 'origin';
  // 6. Nothing left the origin; nothing broke.
  const foreign = [...new Set(requests)].filter((u) => {
    const url = new URL(u);
    return url.origin !== origin && `${url.protocol}//${url.host}` !== wsOrigin;
  });
  check(foreign.length === 0, `requests outside ${origin}: ${foreign.join(', ')}`);
  check(problems.length === 0, `${problems.length} CSP violation(s) or uncaught error(s)`);

  await browser.close();
  console.log(
    `PASS dashboard at ${pageUrl}: ${requests.length} requests all to ${origin}; ` +
      `${week.stats.total.jobs} jobs from ${from} to ${to} (${ZONE}) match the API by week ` +
      `(${week.stats.buckets.length} buckets) and by day (${day.stats.buckets.length}), ` +
      `${week.stats.groups.length} model rows; live: a submitted job shown through the subscription ` +
      `(${frames.length} items), polling after a dropped socket ("${pollingText}") then live again; ` +
      `bad key shows ${expected.extensions.code}` +
      (shot ? `; screenshots ${shot}` : ''),
  );
  process.exit(0);
}

// Not unref()'d on purpose: a stuck run must end in FAIL, never in a silent exit 0.
setTimeout(() => {
  fail(`overall timeout of ${OVERALL_TIMEOUT_MS / 1000}s exceeded`);
}, OVERALL_TIMEOUT_MS);

main().catch((e) => fail(firstLine(e)));

