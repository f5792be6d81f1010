// Mission Control page: board of runs by status, live activity stream, metrics, per-run progress.
// Plain JavaScript, no build, no CDN. All data arrives from the API; updates are pushed (server-sent events),
// and after any reconnect the board is reloaded from the API (which reads Temporal), never from memory.
'use strict';

const STATUSES = ['Pending', 'Running', 'Review', 'Done', 'Failed', 'Cancelled'];
const TERMINAL = ['Done', 'Failed', 'Cancelled'];
const runs = new Map(); // id -> summary
const $ = (sel) => document.querySelector(sel);

/** Build an element; text is always set as text, never as HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

async function api(path, opts = {}) {
  const res = await fetch(path, {
    ...opts,
    headers: { ...(opts.body ? { 'content-type': 'application/json' } : {}), accept: 'application/json' },
    credentials: 'same-origin',
  });
  if (res.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    throw new Error('signed out');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

const fmtMs = (ms) => (ms === undefined ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const fmtTime = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');

// ---- header, metrics -----------------------------------------------------------------------------------------

async function loadInfo() {
  const info = await api('/api/info');
  const model = $('#model');
  model.textContent = info.offline ? 'Offline model (no provider key set)' : `Model: ${info.modelProvider}`;
  model.classList.toggle('offline', info.offline);
  $('#temporal-ui').href = info.temporalUi;
}

let statsTimer;
let statsLateTimer;
/** Counts come from Temporal visibility, which may trail an event by a moment: read them now-ish and again later. */
function refreshStatsSoon() {
  clearTimeout(statsTimer);
  clearTimeout(statsLateTimer);
  statsTimer = setTimeout(() => loadStats().catch(() => {}), 300);
  statsLateTimer = setTimeout(() => loadStats().catch(() => {}), 2000);
}

async function loadStats() {
  const { counts, completionRate } = await api('/api/stats');
  const box = $('#metrics');
  box.replaceChildren(
    ...STATUSES.map((s) => el('div', { class: 'metric', 'data-metric': s }, el('b', {}, counts[s] ?? 0), el('span', {}, s))),
    el('div', { class: 'metric', 'data-metric': 'completion' }, el('b', {}, completionRate === null ? '–' : `${Math.round(completionRate * 100)}%`), el('span', {}, 'completion rate')),
  );
}

// ---- board ---------------------------------------------------------------------------------------------------

function renderBoard() {
  const board = $('#board');
  board.replaceChildren(
    ...STATUSES.map((status) => {
      const items = [...runs.values()].filter((r) => r.status === status).sort((a, b) => (b.startedAt || '').localeCompare(a.startedAt || ''));
      return el(
        'div',
        { class: 'column', 'data-status': status },
        el('h2', {}, status, el('span', { class: 'count' }, items.length)),
        items.map((r) =>
          el(
            'div',
            { class: 'card', 'data-run-id': r.id, onclick: () => openRun(r.id), title: 'Open run' },
            el('div', { class: 'task' }, r.task || '(task)'),
            r.currentStage && !TERMINAL.includes(r.status) ? el('div', { class: 'stage' }, r.currentStage) : null,
            el('div', { class: 'id' }, r.id),
          ),
        ),
      );
    }),
  );
}

async function loadBoard() {
  const { runs: list } = await api('/api/runs?limit=300');
  runs.clear();
  for (const r of list) runs.set(r.id, r);
  renderBoard();
}

// ---- live events -----------------------------------------------------------------------------------------------

function addActivity(e) {
  const list = $('#events');
  list.prepend(
    el('li', { 'data-event-type': e.type }, el('time', {}, fmtTime(e.at)), e.message, ' ', el('span', { class: 'mono' }, e.runId)),
  );
  while (list.children.length > 200) list.lastChild.remove();
}

async function onRunEvent(e) {
  addActivity(e);
  const known = runs.get(e.runId);
  if (known) {
    known.status = e.status;
    if (e.stage) known.currentStage = e.stage;
  } else {
    runs.set(e.runId, { id: e.runId, status: e.status, currentStage: e.stage, startedAt: e.at });
    api(`/api/runs/${encodeURIComponent(e.runId)}`)
      .then((s) => {
        const r = runs.get(e.runId);
        if (r) Object.assign(r, { task: s.task, status: s.status });
        renderBoard();
      })
      .catch(() => {});
  }
  renderBoard();
  refreshStatsSoon();
}

function connectEvents() {
  const live = $('#live');
  const source = new EventSource('/api/events');
  source.onopen = () => {
    live.textContent = 'live';
    live.className = 'badge on';
    // Catch up from the truth after every (re)connect.
    loadBoard().catch(() => {});
    loadStats().catch(() => {});
  };
  source.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'badge off';
  };
  source.addEventListener('run-event', (msg) => onRunEvent(JSON.parse(msg.data)));
}

// ---- one run ---------------------------------------------------------------------------------------------------

let runSource;

function renderRun(s) {
  const detail = $('#run-detail');
  const stages = s.stages || [];
  const result = s.result && s.result.content;
  const canCancel = !TERMINAL.includes(s.status);
  const parts = [
    el('h2', {}, s.task || ''),
    el('p', { class: 'run-meta' }, el('span', { class: `status-${String(s.status).toLowerCase()}`, 'data-run-status': s.status }, s.status),
      s.offline ? el('span', { class: 'badge offline' }, 'offline model') : null,
      el('a', { href: (s.links && s.links.temporalUi) || '#', target: '_blank', rel: 'noopener' }, 'open in Temporal UI')),
    el('p', { class: 'mono', 'data-run-id': s.runId }, s.runId),
    s.robot ? el('p', {}, `Robot: ${s.robot.name} — ${s.robot.role}`) : null,
    s.error ? el('p', { class: 'error' }, `Failed in ${s.error.stage || '?'}: ${s.error.message}`) : null,
    s.interruptedStage ? el('p', {}, `Cancelled during ${s.interruptedStage}`) : null,
    canCancel ? el('button', { class: 'danger', id: 'cancel-run', onclick: () => cancelRun(s.runId) }, 'Cancel run') : null,
    el('table', {},
      el('thead', {}, el('tr', {}, ['Stage', 'Status', 'Duration', 'Tokens in/out', 'Cost', 'Summary'].map((h) => el('th', {}, h)))),
      el('tbody', {}, stages.map((st) =>
        el('tr', { 'data-stage': st.name },
          el('td', {}, st.name),
          el('td', { class: `status-${st.status}` }, st.status),
          el('td', {}, fmtMs(st.durationMs)),
          el('td', {}, st.usage ? `${st.usage.inputTokens}/${st.usage.outputTokens}` : ''),
          el('td', {}, st.usage ? `$${st.usage.costUsd.toFixed(4)}` : ''),
          el('td', {}, st.summary || st.error || ''),
        ))),
    ),
    s.usage ? el('p', {}, `Total: ${s.usage.calls} model calls, ${s.usage.inputTokens + s.usage.outputTokens} tokens, $${s.usage.costUsd.toFixed(4)}`) : null,
    result ? el('h3', {}, 'Result') : null,
    result ? el('pre', { id: 'run-result' }, result) : null,
    el('h3', {}, 'Events'),
    el('ol', {}, (s.events || []).slice(-50).map((e) => el('li', {}, el('time', {}, fmtTime(e.at)), ' ', e.message))),
  ];
  detail.replaceChildren(...parts.filter(Boolean));
}

function openRun(id) {
  if (runSource) runSource.close();
  $('#run-detail').replaceChildren(el('p', {}, 'Loading…'));
  const dialog = $('#run-dialog');
  if (!dialog.open) dialog.showModal();
  runSource = new EventSource(`/api/runs/${encodeURIComponent(id)}/stream`);
  runSource.addEventListener('state', (msg) => renderRun(JSON.parse(msg.data)));
}

async function cancelRun(id) {
  try {
    await api(`/api/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  } catch (err) {
    alert(err.message);
  }
}

// ---- start ------------------------------------------------------------------------------------------------------

$('#run-dialog').addEventListener('close', () => {
  if (runSource) runSource.close();
  runSource = undefined;
});

$('#run-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const error = $('#form-error');
  error.hidden = true;
  try {
    const created = await api('/api/runs', { method: 'POST', body: JSON.stringify({ task: $('#task').value }) });
    $('#task').value = '';
    if (!runs.has(created.id)) runs.set(created.id, { id: created.id, status: created.status, task: created.task, startedAt: new Date().toISOString() });
    renderBoard();
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
});

renderBoard();
loadInfo().catch(() => {});
connectEvents();
