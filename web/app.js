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
  source.addEventListener('run-event', (msg) => {
    // A resume read back from Temporal may repeat a few events (same ids): show each once.
    if (msg.lastEventId && seenEvents.has(msg.lastEventId)) return;
    if (msg.lastEventId) seenEvents.add(msg.lastEventId);
    if (seenEvents.size > 2000) seenEvents.delete(seenEvents.values().next().value);
    onRunEvent(JSON.parse(msg.data));
  });
  // The catch-up after a long disconnect was cut to its bounds: what is shown comes from the API again.
  source.addEventListener('catchup-truncated', () => {
    loadBoard().catch(() => {});
    loadStats().catch(() => {});
  });
}
const seenEvents = new Set();

// ---- one run ---------------------------------------------------------------------------------------------------

let runSource;
/** Text typed into the dialog survives the re-render of a pushed state. */
const drafts = { feedback: '', message: '' };

async function act(path, body) {
  const error = $('#action-error');
  try {
    await api(path, { method: 'POST', body: JSON.stringify(body || {}) });
    if (error) error.hidden = true;
    return true;
  } catch (err) {
    if (error) {
      error.textContent = err.message;
      error.hidden = false;
    }
    return false;
  }
}

function draftBox(id, key, placeholder) {
  const box = el('textarea', { id, rows: '2', placeholder, oninput: (e) => (drafts[key] = e.target.value) });
  box.value = drafts[key];
  return box;
}

/** The gate the run waits at: what is to be approved, and the three decisions (or a raise at the budget gate). */
function gatePanel(s) {
  const g = s.gate;
  if (!g) return null;
  const runPath = `/api/runs/${encodeURIComponent(s.runId)}/approvals`;
  const decide = (decision, extra = {}) =>
    act(runPath, { gate: g.gate, decision, by: 'page', ...(drafts.feedback.trim() ? { feedback: drafts.feedback.trim() } : {}), ...extra }).then((ok) => {
      if (ok) drafts.feedback = '';
    });
  const latest = Object.entries(g.subject || {}).pop();
  const preview = latest ? (typeof latest[1] === 'object' && latest[1] && latest[1].content ? latest[1].content : JSON.stringify(latest[1], null, 2)) : '';
  const isBudget = g.gate === 'budget';
  return el('section', { class: 'panel gate', id: 'gate-panel', 'data-gate': g.gate },
    el('h3', {}, `Waiting at the ${g.gate} gate`),
    el('p', {}, `Since ${fmtTime(g.since)}`, g.deadline ? ` · deadline ${new Date(g.deadline).toLocaleString()} (then ${g.onTimeout})` : '', g.escalated ? ' · escalated' : ''),
    isBudget && g.budget ? el('p', {}, g.budget.reason) : null,
    !isBudget && latest ? el('details', {}, el('summary', {}, `What is to be approved: ${latest[0]}`), el('pre', {}, preview.slice(0, 20000))) : null,
    draftBox('gate-feedback', 'feedback', isBudget ? 'Note (optional)' : 'Feedback: a reason to reject, or what to change when sending back'),
    el('div', { class: 'actions' },
      isBudget
        ? [
            el('input', { id: 'raise-tokens', type: 'number', min: '0', placeholder: 'raise tokens by' }),
            el('input', { id: 'raise-cost', type: 'number', min: '0', step: '0.01', placeholder: 'raise $ by' }),
            el('button', { id: 'gate-approve', onclick: () => decide('approve', { raiseBy: { tokens: Number($('#raise-tokens').value) || undefined, costUsd: Number($('#raise-cost').value) || undefined } }) }, 'Raise and continue'),
          ]
        : el('button', { id: 'gate-approve', onclick: () => decide('approve') }, 'Approve'),
      g.revisable && !isBudget ? el('button', { id: 'gate-revise', class: 'secondary', onclick: () => decide('revise') }, `Send back to ${g.revisable} (${g.revisions}/${g.maxRevisions})`) : null,
      el('button', { id: 'gate-reject', class: 'danger', onclick: () => decide('reject') }, 'Reject'),
    ),
  );
}

/** The Robot Host conversation: its questions, the person's answers, and the confirmation. */
function hostPanel(s) {
  const h = s.host;
  if (!h || h.status === 'confirmed') return null;
  const base = `/api/runs/${encodeURIComponent(s.runId)}`;
  return el('section', { class: 'panel host', id: 'host-panel' },
    el('h3', {}, 'Robot Host'),
    el('ol', { class: 'transcript' }, h.transcript.map((m) => el('li', { class: m.role }, el('b', {}, m.role === 'host' ? 'Host: ' : 'You: '), m.text))),
    h.status === 'thinking' ? el('p', {}, 'The host is thinking…') : null,
    h.status === 'asking'
      ? el('div', { class: 'actions' }, draftBox('host-message', 'message', 'Your answer'),
          el('button', { id: 'host-send', onclick: () => act(`${base}/messages`, { text: drafts.message, by: 'page' }).then((ok) => ok && (drafts.message = '')) }, 'Send'))
      : null,
    h.status === 'confirming' ? el('button', { id: 'host-confirm', onclick: () => act(`${base}/confirm`, { by: 'page' }) }, 'Confirm and start') : null,
  );
}

/** The Tasks stage's graph: every node, live, with its own cancel / retry / approval. */
function dagPanel(s) {
  const d = s.dag;
  if (!d || !d.nodes) return null;
  const base = `/api/runs/${encodeURIComponent(s.runId)}/nodes`;
  const open = !TERMINAL.includes(s.status);
  return el('section', { class: 'panel dag', id: 'dag-panel' },
    el('h3', {}, `Task graph (${d.nodes.length} nodes)`),
    d.summary ? el('p', { class: 'summary' }, d.summary) : null,
    el('table', {},
      el('thead', {}, el('tr', {}, ['Node', 'Kind', 'Needs', 'Status', 'Model', 'Duration', ''].map((x) => el('th', {}, x)))),
      el('tbody', {}, d.nodes.map((n) => {
        const id = encodeURIComponent(n.id);
        const controls = [];
        if (open && ['pending', 'running', 'waiting'].includes(n.status)) controls.push(el('button', { class: 'secondary node-cancel', onclick: () => act(`${base}/${id}/cancel`) }, 'Cancel'));
        if (open && ['failed', 'cancelled'].includes(n.status)) controls.push(el('button', { class: 'node-retry', onclick: () => act(`${base}/${id}/retry`) }, 'Retry'));
        if (open && n.status === 'waiting') {
          controls.push(el('button', { class: 'node-approve', onclick: () => act(`${base}/${id}/approval`, { decision: 'approve' }) }, 'Approve'));
          controls.push(el('button', { class: 'danger node-reject', onclick: () => act(`${base}/${id}/approval`, { decision: 'reject' }) }, 'Reject'));
        }
        return el('tr', { 'data-node': n.id },
          el('td', {}, el('span', { class: 'mono' }, n.id), ' ', n.title),
          el('td', {}, n.kind),
          el('td', { class: 'mono' }, (n.dependsOn || []).join(', ')),
          el('td', { class: `status-${n.status}` }, n.status),
          el('td', { class: 'mono', title: n.reason || '' }, n.model || ''),
          el('td', {}, fmtMs(n.durationMs)),
          el('td', {}, controls),
        );
      })),
    ),
  );
}

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
    el('p', { class: 'error', id: 'action-error', hidden: '' }),
    hostPanel(s),
    gatePanel(s),
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
    dagPanel(s),
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
    const body = { task: $('#task').value };
    if ($('#opt-review').checked) body.approvals = { gates: [{ at: 'final' }] };
    if ($('#opt-host').checked) body.host = true;
    const created = await api('/api/runs', { method: 'POST', body: JSON.stringify(body) });
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
