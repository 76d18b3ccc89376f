// job-history dashboard: a small web frontend built on the GraphQL API alone. One query
// (`jobStatistics` grouped by model, plus `viewer`) over `POST /graphql` fills the page; the
// `jobStatisticsUpdated` subscription over `/graphql/ws` (graphql-transport-ws, written out
// below) keeps the current bucket live, with polling when the socket is gone. Charts are SVG
// drawn here; every chart has a table with the same figures. No library, no build step.
(function () {
  'use strict';

  // ---- Vocabulary -------------------------------------------------------------------------

  /** Statuses in stacking order (bottom first): field of JobStatusCounts, enum, label. */
  const STATUSES = [
    ['completed', 'COMPLETED', 'Completed'],
    ['error', 'ERROR', 'Error'],
    ['timedout', 'TIMEDOUT', 'Timed out'],
    ['canceled', 'CANCELED', 'Canceled'],
    ['inProgress', 'IN_PROGRESS', 'In progress'],
    ['submitted', 'SUBMITTED', 'Submitted'],
  ];
  const PERCENTILES = ['p50', 'p90', 'p99'];
  const KEY_STORAGE = 'job-history:dashboard:key';
  const GROUP_LIMIT = 20;
  /** Least time between two full re-reads while live updates arrive. */
  const REFRESH_MS = 5000;
  /** Polling period when the socket is gone. */
  const POLL_MS = 15000;
  /** Waits before reconnecting the socket, one per failed attempt (the last repeats). */
  const RECONNECT_MS = [2000, 5000, 15000, 30000, 60000];

  const FIGURES = `
fragment Statuses on JobStatusCounts { submitted inProgress completed canceled timedout error }
fragment BucketFigures on JobFigures {
  jobs
  statuses { ...Statuses }
  queueTime { p50 p90 p99 }
  elapsedTime { p50 p90 p99 }
}`;

  const QUERY = `query Dashboard($filter: JobFilter, $bucket: StatisticsBucket!, $timeZone: String!) {
  viewer { keyPrefix role user { firstName lastName } account { name } }
  jobStatistics(filter: $filter, bucket: $bucket, timeZone: $timeZone,
                groupBy: [MODEL], groupLimit: ${GROUP_LIMIT}) {
    bucket timeZone from to
    buckets { start total { ...BucketFigures } }
    groups {
      key { model { identifier version name } other }
      figures {
        jobs
        statuses { error timedout }
        queueTime { p50 p99 }
        elapsedTime { p50 p99 }
      }
    }
    total {
      ...BucketFigures
      inputs { total completed failed byteAmount }
    }
  }
}
${FIGURES}`;

  const SUBSCRIPTION = `subscription DashboardLive($filter: JobFilter, $bucket: StatisticsBucket!,
                                $timeZone: String!) {
  jobStatisticsUpdated(filter: $filter, bucket: $bucket, timeZone: $timeZone) {
    buckets { start total { ...BucketFigures } }
  }
}
${FIGURES}`;

  // ---- Small helpers ----------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';

  function el(tag, attrs, parent, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function svg(tag, attrs, parent, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  const countFormat = new Intl.NumberFormat('en-US');
  const fmtCount = (n) => countFormat.format(n);

  /** Milliseconds for people: "850 ms", "4.25 s", "12.5 s", "3.2 min", "1.5 h"; "—" for none. */
  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 10000) return `${(ms / 1000).toFixed(2)} s`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
    return `${(ms / 3600000).toFixed(1)} h`;
  }

  function fmtBytes(n) {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let v = n;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i += 1;
    }
    return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
  }

  /** A round step near `span / parts` (1, 2 or 5 times a power of ten). */
  function niceStep(span, parts, integer) {
    const raw = span / parts;
    const power = 10 ** Math.floor(Math.log10(raw));
    const f = raw / power;
    const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
    return integer ? Math.max(1, step) : step;
  }

  /** Axis ticks from 0 to at least `max`. */
  function ticks(max, integer) {
    const step = niceStep(max > 0 ? max : 1, 4, integer);
    const top = Math.max(step, Math.ceil((max > 0 ? max : 1) / step) * step);
    const out = [];
    for (let v = 0; v <= top + step / 2; v += step) out.push(v);
    return out;
  }

  // ---- Time zones and dates -----------------------------------------------------------------

  const partsFormats = new Map();

  /** `zone`'s offset from UTC at instant `ms`, in ms (0 for a zone this browser lacks). */
  function zoneOffset(ms, zone) {
    let f = partsFormats.get(zone);
    if (!f) {
      try {
        f = new Intl.DateTimeFormat('en-US', {
          timeZone: zone,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
      } catch (e) {
        return 0; // the server names the unknown zone in its answer
      }
      partsFormats.set(zone, f);
    }
    const p = {};
    for (const { type, value } of f.formatToParts(new Date(ms))) p[type] = Number(value);
    const local = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return local - Math.floor(ms / 1000) * 1000;
  }

  /** The instant of local midnight starting day `ymd` (`YYYY-MM-DD`, `days` later) in `zone`. */
  function zonedMidnight(ymd, zone, days) {
    const [y, m, d] = ymd.split('-').map(Number);
    const guess = Date.UTC(y, m - 1, d + (days || 0));
    let t = guess - zoneOffset(guess, zone);
    const again = zoneOffset(t, zone);
    if (guess - again !== t) t = guess - again;
    return t;
  }

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    } catch (e) {
      return 'UTC';
    }
  }

  const labelFormats = new Map();

  function formatIn(zone, options, date) {
    const id = zone + JSON.stringify(options);
    let f = labelFormats.get(id);
    if (!f) {
      try {
        f = new Intl.DateTimeFormat('en-GB', Object.assign({ timeZone: zone }, options));
      } catch (e) {
        f = new Intl.DateTimeFormat('en-GB', Object.assign({ timeZone: 'UTC' }, options));
      }
      labelFormats.set(id, f);
    }
    return f.format(date);
  }

  /** A bucket's name in the table: "2026-03-03 14:00", "2026-03-03", "week of …", "2026-03". */
  function bucketName(iso, bucket, zone) {
    const date = new Date(iso);
    const p = {};
    const options = { year: 'numeric', month: '2-digit', day: '2-digit' };
    if (bucket === 'HOUR') Object.assign(options, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    let f;
    try {
      f = new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: zone }, options));
    } catch (e) {
      f = new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: 'UTC' }, options));
    }
    for (const { type, value } of f.formatToParts(date)) p[type] = value;
    const day = `${p.year}-${p.month}-${p.day}`;
    if (bucket === 'HOUR') return `${day} ${p.hour}:${p.minute}`;
    if (bucket === 'WEEK') return `week of ${day}`;
    if (bucket === 'MONTH') return `${p.year}-${p.month}`;
    return day;
  }

  /** A bucket's short label on a chart's axis; hours name their day when it is not the one
   * of the label before (`previous`). */
  function axisLabel(iso, bucket, zone, previous) {
    const date = new Date(iso);
    const day = formatIn(zone, { day: 'numeric', month: 'short' }, date);
    if (bucket === 'HOUR') {
      const hour = formatIn(zone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }, date);
      const before = previous ? formatIn(zone, { day: 'numeric', month: 'short' }, new Date(previous)) : null;
      return before === day ? hour : `${day} ${hour}`;
    }
    if (bucket === 'MONTH') return formatIn(zone, { month: 'short', year: 'numeric' }, date);
    return day;
  }

  // ---- State ----------------------------------------------------------------------------------

  const state = {
    key: null,
    variables: null, // of the figures shown
    result: null, // jobStatistics shown
    generation: 0, // of the latest full read started
    lastRead: 0, // when the latest full read started (ms)
    refreshTimer: null,
    pollTimer: null,
    live: null, // the socket client, when one runs
    liveUpdates: 0, // subscription items applied
    reconnects: 0,
    reconnectTimer: null,
  };

  // ---- The API key ------------------------------------------------------------------------------

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || localStorage.getItem(KEY_STORAGE);
    } catch (e) {
      return null; // storage blocked: the key lives in memory only
    }
  }

  function storeKey(key, remember) {
    try {
      sessionStorage.setItem(KEY_STORAGE, key);
      if (remember) localStorage.setItem(KEY_STORAGE, key);
      else localStorage.removeItem(KEY_STORAGE);
    } catch (e) {
      /* in memory only */
    }
  }

  function forgetKey() {
    try {
      sessionStorage.removeItem(KEY_STORAGE);
      localStorage.removeItem(KEY_STORAGE);
    } catch (e) {
      /* nothing stored */
    }
  }

  function demoKey() {
    const meta = document.querySelector('meta[name="job-history-demo-key"]');
    const key = meta ? meta.getAttribute('content').trim() : '';
    return key && !key.startsWith('__') ? key : null;
  }

  // ---- Errors -----------------------------------------------------------------------------------

  /** A failed request: the GraphQL errors (each with `message`, maybe `extensions.code`). */
  class Problem extends Error {
    constructor(errors, title) {
      super(errors.map((e) => e.message).join('; '));
      this.errors = errors;
      this.title = title;
    }

    get codes() {
      return this.errors.map((e) => (e.extensions && e.extensions.code) || null);
    }
  }

  const HINTS = {
    UNAUTHENTICATED: 'Check the API key (PREFIX.SECRET) and enter it again above.',
    FORBIDDEN: 'This key may not read these figures; use another key.',
    QUERY_TOO_COMPLEX: 'Choose a longer bucket or a shorter date range.',
    RATE_LIMITED: 'Too many requests with this key; wait a moment and apply again.',
  };

  function showErrors(problem) {
    const box = $('error');
    box.textContent = '';
    const codes = problem.codes;
    const refused = codes.some((c) => c === 'UNAUTHENTICATED' || c === 'FORBIDDEN');
    el('strong', {}, box, problem.title || (refused ? 'The server refused the API key.' : 'The server answered with an error.'));
    for (const e of problem.errors.slice(0, 5)) {
      const p = el('p', {}, box);
      const code = e.extensions && e.extensions.code;
      if (code) {
        el('code', { class: 'code' }, p, code);
        p.appendChild(document.createTextNode(': '));
      }
      el('span', { class: 'message' }, p, e.message);
      if (code && HINTS[code]) el('p', { class: 'hint' }, box, HINTS[code]);
    }
    box.hidden = false;
  }

  function clearErrors() {
    $('error').hidden = true;
    $('error').textContent = '';
  }

  // ---- GraphQL over HTTP ------------------------------------------------------------------------

  /** Runs `query` with the key; the answer's `data`, or a Problem. */
  async function graphql(query, variables) {
    let response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `ApiKey ${state.key}`,
        },
        body: JSON.stringify({ query, variables }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e) {
      throw new Problem([{ message: `cannot reach the server (${e.message})` }], 'No answer from the server.');
    }
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (!body || typeof body !== 'object' || (!Array.isArray(body.errors) && !body.data)) {
      throw new Problem(
        [{ message: `HTTP ${response.status} ${response.statusText}: not a GraphQL answer` }],
        'The server answered with an error.',
      );
    }
    if (Array.isArray(body.errors) && body.errors.length) throw new Problem(body.errors);
    return body.data;
  }

  // ---- Filters -------------------------------------------------------------------------------------

  const FILTER_FIELDS = ['from', 'to', 'bucket', 'timeZone', 'status', 'model', 'user'];

  function readFilters() {
    const form = $('filters');
    const values = {};
    for (const name of FILTER_FIELDS) values[name] = form.elements[name].value.trim();
    values.timeZone = values.timeZone || 'UTC';
    return values;
  }

  function writeFilters(values) {
    const form = $('filters');
    for (const name of FILTER_FIELDS) {
      if (values[name] !== undefined && values[name] !== null) form.elements[name].value = values[name];
    }
  }

  /** The query's variables for the filter bar's values. */
  function variablesOf(values) {
    const filter = {};
    if (values.status && values.status !== 'ALL') filter.status = values.status;
    if (values.model) filter.model = values.model;
    if (values.user) filter.user = values.user;
    if (values.from || values.to) {
      filter.createdAt = {};
      const zone = values.timeZone;
      if (values.from) filter.createdAt.from = new Date(zonedMidnight(values.from, zone)).toISOString();
      // `to` is inclusive: the last millisecond of that day.
      if (values.to) filter.createdAt.to = new Date(zonedMidnight(values.to, zone, 1) - 1).toISOString();
    }
    return {
      filter: Object.keys(filter).length ? filter : null,
      bucket: values.bucket,
      timeZone: values.timeZone,
    };
  }

  /** Whether the range of `variables` reaches the present (so live updates matter). */
  function reachesNow(variables) {
    const range = variables.filter && variables.filter.createdAt;
    return !range || !range.to || Date.parse(range.to) >= Date.now();
  }

  function rememberFilters(values) {
    const params = new URLSearchParams();
    for (const name of FILTER_FIELDS) if (values[name]) params.set(name, values[name]);
    history.replaceState(null, '', `${location.pathname}?${params}`);
  }

  // ---- Loading -------------------------------------------------------------------------------------

  /** Reads every figure: for the filter bar's values, or with `refresh` again for those shown
   * (a live update, a poll), keeping the subscription. */
  async function load(refresh) {
    if (!state.key) return;
    const keepLive = refresh && state.variables !== null;
    const variables = keepLive ? state.variables : variablesOf(readFilters());
    const generation = ++state.generation;
    state.lastRead = Date.now();
    clearTimeout(state.refreshTimer);
    state.refreshTimer = null;
    const main = $('main');
    if (!keepLive) {
      main.setAttribute('aria-busy', 'true');
      main.dataset.state = 'loading';
      if (!state.result) $('summary').textContent = 'Reading the figures…';
      stopLive();
    }
    showRequest(variables);
    let data;
    try {
      data = await graphql(QUERY, variables);
    } catch (problem) {
      if (generation !== state.generation) return;
      main.setAttribute('aria-busy', 'false');
      main.dataset.state = 'error';
      showErrors(problem);
      if (!state.result) $('summary').textContent = 'No figures: the server refused the request (above).';
      if (problem.codes.includes('UNAUTHENTICATED')) {
        // A refused key is not kept, nor the figures another key read.
        forgetKey();
        stopLive();
        clearFigures();
        setLive('off', 'Not connected: the key was refused');
      }
      return;
    }
    if (generation !== state.generation) return;
    clearErrors();
    state.variables = variables;
    state.result = data.jobStatistics;
    showViewer(data.viewer);
    renderAll();
    main.setAttribute('aria-busy', 'false');
    main.dataset.state = 'ready';
    main.dataset.bucket = state.result.bucket;
    main.dataset.loads = String(generation);
    if (!keepLive) startLive();
  }

  /** A full re-read soon, at most one per REFRESH_MS. */
  function scheduleRefresh() {
    if (state.refreshTimer) return;
    const wait = Math.max(0, state.lastRead + REFRESH_MS - Date.now());
    state.refreshTimer = setTimeout(() => {
      state.refreshTimer = null;
      load(true);
    }, wait);
  }

  function showViewer(viewer) {
    const who = viewer.user ? `${viewer.user.firstName} ${viewer.user.lastName}` : '';
    const text = `Key ${viewer.keyPrefix} (${viewer.role.toLowerCase()}) of ${who}, account ${viewer.account.name}.`;
    if ($('viewer').textContent !== text) $('viewer').textContent = text;
  }

  /** Empties every figure (no key, or a refused one). */
  function clearFigures() {
    state.result = null;
    state.variables = null;
    for (const id of ['totals', 'jobs-chart', 'queue-chart', 'elapsed-chart', 'jobs-legend', 'latency-legend']) {
      $(id).textContent = '';
    }
    for (const id of ['jobs-table', 'latency-table', 'models-table']) tableHead($(id), []);
    $('summary').textContent = 'Enter an API key to see the figures.';
    $('viewer').textContent = '';
    delete $('main').dataset.state;
  }

  function showRequest(variables) {
    $('request-query').textContent = QUERY;
    $('request-variables').textContent = JSON.stringify(variables, null, 2);
  }

  // ---- Rendering --------------------------------------------------------------------------------

  function renderAll() {
    renderSummary();
    renderTotals();
    renderCharts();
    renderModels();
  }

  function renderCharts() {
    renderJobs();
    renderLatency();
  }

  function renderSummary() {
    const r = state.result;
    const zone = r.timeZone;
    const from = bucketName(r.from, 'HOUR', zone);
    const to = bucketName(r.to, 'HOUR', zone);
    const noun = { HOUR: 'hour', DAY: 'day', WEEK: 'week', MONTH: 'month' }[r.bucket];
    $('summary').textContent =
      `${fmtCount(r.total.jobs)} jobs created from ${from} to ${to} (${zone}), ` +
      `${r.buckets.length} buckets of one ${noun}.`;
    document.title = `job-history · Dashboard · ${fmtCount(r.total.jobs)} jobs`;
  }

  function renderTotals() {
    const t = state.result.total;
    const s = t.statuses;
    const items = [
      ['jobs', 'Jobs', fmtCount(t.jobs)],
      ['completed', 'Completed', fmtCount(s.completed)],
      ['error', 'Failed (ERROR)', fmtCount(s.error)],
      ['timedout', 'Timed out', fmtCount(s.timedout)],
      ['canceled', 'Canceled', fmtCount(s.canceled)],
      ['pending', 'Pending', fmtCount(s.submitted + s.inProgress)],
      ['inputs', 'Inputs', fmtCount(t.inputs.total)],
      ['inputsFailed', 'Failed inputs', fmtCount(t.inputs.failed)],
      ['bytes', 'Input bytes', fmtBytes(t.inputs.byteAmount)],
      ['queueP50', 'Queue p50', fmtDuration(t.queueTime.p50)],
      ['queueP99', 'Queue p99', fmtDuration(t.queueTime.p99)],
      ['elapsedP50', 'Elapsed p50', fmtDuration(t.elapsedTime.p50)],
      ['elapsedP99', 'Elapsed p99', fmtDuration(t.elapsedTime.p99)],
    ];
    const dl = $('totals');
    dl.textContent = '';
    for (const [field, label, shown] of items) {
      const div = el('div', { 'data-field': field }, dl);
      el('dt', {}, div, label);
      const dd = el('dd', {}, div, shown);
      if (field === 'bytes') dd.title = `${fmtCount(t.inputs.byteAmount)} bytes`;
    }
  }

  /** A table's head row from `labels` (the first one names the rows). */
  function tableHead(table, labels) {
    const caption = table.querySelector('caption');
    table.textContent = '';
    if (caption) table.appendChild(caption);
    const tr = el('tr', {}, el('thead', {}, table));
    for (const label of labels) el('th', { scope: 'col' }, tr, label);
    return el('tbody', {}, table);
  }

  function cell(tr, field, value, shown) {
    return el('td', { 'data-field': field, 'data-value': value === null ? '' : String(value) }, tr, shown);
  }

  function renderJobs() {
    const r = state.result;
    const legend = $('jobs-legend');
    legend.textContent = '';
    for (const [, status, label] of STATUSES.slice().reverse()) {
      el('span', {}, el('li', { class: `s-${status}` }, legend), label);
    }
    const table = $('jobs-table');
    const body = tableHead(table, ['Bucket', 'Jobs', ...STATUSES.map(([, , label]) => label)]);
    for (const b of r.buckets) {
      const tr = el('tr', { 'data-start': b.start }, body);
      el('th', { scope: 'row' }, tr, bucketName(b.start, r.bucket, r.timeZone));
      cell(tr, 'jobs', b.total.jobs, fmtCount(b.total.jobs));
      for (const [field] of STATUSES) {
        const n = b.total.statuses[field];
        cell(tr, field, n, fmtCount(n));
      }
    }
    const foot = el('tr', { 'data-total': '' }, el('tfoot', {}, table));
    el('th', { scope: 'row' }, foot, 'All buckets');
    cell(foot, 'jobs', r.total.jobs, fmtCount(r.total.jobs));
    for (const [field] of STATUSES) cell(foot, field, r.total.statuses[field], fmtCount(r.total.statuses[field]));
    drawStacked($('jobs-chart'), r);
  }

  function renderLatency() {
    const r = state.result;
    const legend = $('latency-legend');
    legend.textContent = '';
    for (const p of PERCENTILES) el('span', {}, el('li', { class: `p-${p}` }, legend), p);
    const table = $('latency-table');
    const labels = ['Bucket'];
    for (const what of ['Queue', 'Elapsed']) for (const p of PERCENTILES) labels.push(`${what} ${p}`);
    const body = tableHead(table, labels);
    for (const b of r.buckets) {
      const tr = el('tr', { 'data-start': b.start }, body);
      el('th', { scope: 'row' }, tr, bucketName(b.start, r.bucket, r.timeZone));
      for (const what of ['queueTime', 'elapsedTime']) {
        for (const p of PERCENTILES) {
          const v = b.total[what][p];
          cell(tr, `${what}.${p}`, v, fmtDuration(v));
        }
      }
    }
    drawLines($('queue-chart'), r, 'queueTime', 'Queue time');
    drawLines($('elapsed-chart'), r, 'elapsedTime', 'Elapsed time');
  }

  function renderModels() {
    const r = state.result;
    const table = $('models-table');
    const body = tableHead(table, [
      'Model',
      'Version',
      'Jobs',
      'Failed (ERROR)',
      'Timed out',
      'Queue p50',
      'Queue p99',
      'Elapsed p50',
      'Elapsed p99',
    ]);
    if (!r.groups.length || r.total.jobs === 0) {
      const tr = el('tr', {}, body);
      el('td', { colspan: '9' }, tr, 'No jobs match.');
      return;
    }
    for (const g of r.groups) {
      const m = g.key.model;
      const f = g.figures;
      const tr = el('tr', { 'data-model': m ? `${m.identifier}@${m.version}` : 'other' }, body);
      el('th', { scope: 'row' }, tr, m ? m.name : `Other models (beyond the ${GROUP_LIMIT} busiest)`);
      el('td', { class: 'version' }, tr, m ? m.version : '');
      cell(tr, 'jobs', f.jobs, fmtCount(f.jobs));
      cell(tr, 'error', f.statuses.error, fmtCount(f.statuses.error));
      cell(tr, 'timedout', f.statuses.timedout, fmtCount(f.statuses.timedout));
      cell(tr, 'queueTime.p50', f.queueTime.p50, fmtDuration(f.queueTime.p50));
      cell(tr, 'queueTime.p99', f.queueTime.p99, fmtDuration(f.queueTime.p99));
      cell(tr, 'elapsedTime.p50', f.elapsedTime.p50, fmtDuration(f.elapsedTime.p50));
      cell(tr, 'elapsedTime.p99', f.elapsedTime.p99, fmtDuration(f.elapsedTime.p99));
    }
  }

  // ---- Charts (SVG) -----------------------------------------------------------------------------

  const H = 240;
  const M = { left: 56, right: 10, top: 12, bottom: 30 };

  /** An empty chart as wide as its container (so its text keeps its size on any screen): its
   * SVG with the accessible name, axes and grid, and the scales. */
  function frame(container, label, buckets, bucket, zone, yTicks, yFormat) {
    const W = Math.max(280, Math.round(container.clientWidth || 800));
    container.textContent = '';
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': label }, container);
    const plotW = W - M.left - M.right;
    const plotH = H - M.top - M.bottom;
    const top = yTicks[yTicks.length - 1];
    const y = (v) => M.top + plotH - (v / top) * plotH;
    for (const t of yTicks) {
      svg('line', { class: 'grid', x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) }, root);
      svg('text', { x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, root, yFormat(t));
    }
    const band = plotW / Math.max(1, buckets.length);
    const labelWidth = bucket === 'HOUR' ? 90 : 60;
    const every = Math.max(1, Math.ceil(buckets.length / Math.max(1, Math.floor(plotW / labelWidth))));
    let previous = null;
    buckets.forEach((b, i) => {
      if (i % every !== 0) return;
      const x = M.left + band * (i + 0.5);
      svg('text', { x, y: H - 10, 'text-anchor': 'middle' }, root, axisLabel(b.start, bucket, zone, previous));
      previous = b.start;
    });
    return { root, band, y, W };
  }

  function drawStacked(container, r) {
    const max = Math.max(0, ...r.buckets.map((b) => b.total.jobs));
    const noun = r.bucket.toLowerCase();
    const label = `Stacked bar chart of jobs per ${noun} by status; the table below has the figures.`;
    const { root, band, y, W } = frame(container, label, r.buckets, r.bucket, r.timeZone, ticks(max, true), fmtCount);
    const width = Math.max(1, band * 0.8);
    r.buckets.forEach((b, i) => {
      if (!b.total.jobs) return;
      const g = svg('g', { 'data-start': b.start }, root);
      const parts = STATUSES.filter(([f]) => b.total.statuses[f]).map(
        ([f, , l]) => `${fmtCount(b.total.statuses[f])} ${l.toLowerCase()}`,
      );
      svg('title', {}, g, `${bucketName(b.start, r.bucket, r.timeZone)}: ${fmtCount(b.total.jobs)} jobs (${parts.join(', ')})`);
      let below = 0;
      const x = M.left + band * i + (band - width) / 2;
      for (const [field, status] of STATUSES) {
        const n = b.total.statuses[field];
        if (!n) continue;
        svg('rect', { class: `bar s-${status}`, x, width, y: y(below + n), height: y(below) - y(below + n) }, g);
        below += n;
      }
    });
    if (max === 0) svg('text', { class: 'empty', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, root, 'No jobs in this range');
  }

  function drawLines(container, r, what, name) {
    const values = r.buckets.flatMap((b) => PERCENTILES.map((p) => b.total[what][p])).filter((v) => v !== null);
    const max = Math.max(0, ...values);
    const label = `Line chart of ${name.toLowerCase()} p50, p90 and p99 per ${r.bucket.toLowerCase()}; the table below has the figures.`;
    // Axis ticks without trailing zeros ("5 s", "2.5 s").
    const tick = (v) => fmtDuration(v).replace(/(\.\d*?)0+ /, '$1 ').replace(/\. /, ' ');
    const { root, band, y, W } = frame(container, label, r.buckets, r.bucket, r.timeZone, ticks(max, false), tick);
    // p99 first, so that where the lines meet the median is the one on top.
    for (const p of PERCENTILES.slice().reverse()) {
      let d = '';
      let open = false;
      r.buckets.forEach((b, i) => {
        const v = b.total[what][p];
        if (v === null) {
          open = false;
          return;
        }
        const x = (M.left + band * (i + 0.5)).toFixed(1);
        d += `${open ? 'L' : 'M'}${x},${y(v).toFixed(1)}`;
        open = true;
        const prev = i > 0 ? r.buckets[i - 1].total[what][p] : null;
        const next = i + 1 < r.buckets.length ? r.buckets[i + 1].total[what][p] : null;
        if (prev === null && next === null) {
          // A lone point draws no line: mark it.
          svg('circle', { class: `series p-${p}`, cx: x, cy: y(v), r: 2.5 }, root);
        }
      });
      if (d) svg('path', { class: `series p-${p}`, d }, root);
    }
    if (!values.length) svg('text', { class: 'empty', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, root, 'No durations in this range');
  }

  // ---- Live updates: graphql-transport-ws, by hand ----------------------------------------------

  function setLive(stateName, text) {
    const live = $('live');
    live.dataset.state = stateName;
    $('live-text').textContent = text;
  }

  /** Opens the socket and subscribes to the current bucket of `variables`. */
  function connect(variables) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`;
    const client = { socket: null, closedByUs: false };
    let socket;
    try {
      socket = new WebSocket(url, 'graphql-transport-ws');
    } catch (e) {
      fallBack(`Polling: the socket cannot open (${e.message})`);
      return null;
    }
    client.socket = socket;
    setLive('connecting', 'Connecting…');
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `ApiKey ${state.key}` } }));
    };
    socket.onmessage = (event) => {
      if (state.live !== client) return; // a socket of filters no longer shown
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      switch (message.type) {
        case 'connection_ack':
          state.reconnects = 0;
          stopPolling();
          setLive('live', 'Live');
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables } }));
          break;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          break;
        case 'next':
          onLiveItem(message.payload || {});
          break;
        case 'error':
          showErrors(new Problem(Array.isArray(message.payload) ? message.payload : [{ message: 'subscription refused' }]));
          client.closedByUs = true;
          socket.close(1000);
          fallBack('Polling: the subscription was refused');
          break;
        case 'complete':
          client.closedByUs = true;
          socket.close(1000);
          fallBack('Polling: the server ended the subscription');
          break;
        default:
          break;
      }
    };
    socket.onclose = (event) => {
      if (client.closedByUs || state.live !== client) return;
      state.live = null;
      if (event.code === 4403) {
        // The key itself was refused (revoked, expired): polling would be refused too.
        const why = `the live connection closed with 4403 (Forbidden): ${event.reason || 'key refused'}`;
        showErrors(new Problem([{ message: why }], 'The server refused the API key.'));
        setLive('off', 'Not connected: the key was refused');
        return;
      }
      fallBack(`Polling: the live connection closed (code ${event.code})`);
    };
    return client;
  }

  function onLiveItem(payload) {
    if (Array.isArray(payload.errors) && payload.errors.length) {
      const codes = payload.errors.map((e) => e.extensions && e.extensions.code);
      // EVENTS_MISSED: the server dropped events for us; a full read catches up.
      if (!codes.every((c) => c === 'EVENTS_MISSED')) showErrors(new Problem(payload.errors));
      scheduleRefresh();
      return;
    }
    const update = payload.data && payload.data.jobStatisticsUpdated;
    if (!update || !state.result) return;
    let changed = false;
    for (const fresh of update.buckets) {
      const shown = state.result.buckets.find((b) => b.start === fresh.start);
      if (!shown) {
        // A new bucket began: the range moved on, read it all.
        scheduleRefresh();
        return;
      }
      if (JSON.stringify(shown.total) !== JSON.stringify(fresh.total)) {
        shown.total = fresh.total;
        changed = true;
      }
    }
    if (!changed) return;
    state.liveUpdates += 1;
    $('main').dataset.liveUpdates = String(state.liveUpdates);
    renderCharts();
    scheduleRefresh(); // totals and models follow within REFRESH_MS
  }

  function startLive() {
    if (!reachesNow(state.variables)) {
      setLive('off', 'Not live: the range ends in the past');
      return;
    }
    state.live = connect(state.variables);
  }

  function stopLive() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    stopPolling();
    if (state.live) {
      state.live.closedByUs = true;
      if (state.live.socket) state.live.socket.close(1000);
      state.live = null;
    }
    setLive('off', 'Not connected');
  }

  /** Polls every POLL_MS (reading at once) and tries the socket again after a while. */
  function fallBack(text) {
    state.live = null;
    setLive('polling', text);
    if (!state.pollTimer) {
      state.pollTimer = setInterval(() => load(true), POLL_MS);
      load(true);
    }
    const wait = RECONNECT_MS[Math.min(state.reconnects, RECONNECT_MS.length - 1)];
    state.reconnects += 1;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(() => {
      state.reconnectTimer = null;
      if (state.key && state.variables && reachesNow(state.variables)) state.live = connect(state.variables);
    }, wait);
  }

  function stopPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  // ---- Start ------------------------------------------------------------------------------------

  function fillZones() {
    const list = $('zones');
    let zones = ['UTC'];
    try {
      if (Intl.supportedValuesOf) zones = zones.concat(Intl.supportedValuesOf('timeZone'));
    } catch (e) {
      /* UTC only */
    }
    for (const z of zones) el('option', { value: z }, list);
  }

  function useKey(key) {
    state.key = key;
    clearErrors();
    load(false);
  }

  function start() {
    fillZones();
    const params = new URLSearchParams(location.search);
    const initial = { timeZone: browserZone() };
    for (const name of FILTER_FIELDS) if (params.get(name)) initial[name] = params.get(name);
    writeFilters(initial);

    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('key-input');
      const key = input.value.trim();
      if (!key) {
        showErrors(new Problem([{ message: 'enter an API key (PREFIX.SECRET)' }], 'No API key.'));
        input.focus();
        return;
      }
      storeKey(key, $('key-remember').checked);
      input.value = '';
      useKey(key);
    });
    $('key-forget').addEventListener('click', () => {
      forgetKey();
      stopLive();
      state.key = null;
      state.generation += 1;
      clearFigures();
      $('viewer').textContent = 'Key forgotten.';
    });
    // A text field's Enter fires `change` and then `submit`: one read for both.
    let applied = { values: '', at: 0 };
    const apply = (event) => {
      if (event) event.preventDefault();
      const values = readFilters();
      const same = JSON.stringify(values) === applied.values && Date.now() - applied.at < 500;
      applied = { values: JSON.stringify(values), at: Date.now() };
      rememberFilters(values);
      if (state.key && !same) load(false);
    };
    $('filters').addEventListener('submit', apply);
    $('filters').addEventListener('change', () => apply());

    // Charts are drawn at their containers' width: again when that changes.
    let drawnFor = window.innerWidth;
    let pending = false;
    window.addEventListener('resize', () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        if (!state.result || window.innerWidth === drawnFor) return;
        drawnFor = window.innerWidth;
        renderCharts();
      });
    });

    const key = storedKey() || demoKey();
    if (key) useKey(key);
    else $('key-input').focus();
  }

  start();
})();
