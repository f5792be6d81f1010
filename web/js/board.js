// The board view: the fleet overview on top, runs in six columns (closed ones paged), search, keyboard navigation,
// a Review card dragged to Done (approve) or Failed (reject) after a confirmation; the activity stream and the
// metrics sidebar beside it.
import { $, $$, api, capital, el, fmtAge, fmtCost, fmtDuration, fmtPct, fmtTokens, post, toast, tokensOf } from './dom.js';
import { confirmAction } from './confirm.js';
import { activityPanel } from './activity.js';
import { chartsPanel } from './charts.js';
import { CLOSED, STATUSES, hasMore, loadMore, on, statusLine, store } from './store.js';

// ---- overview ----------------------------------------------------------------------------------------------------

function tile(key, value, label) {
  return el('div', { class: 'tile', 'data-metric': key }, el('b', {}, value), el('span', {}, label));
}

function renderOverview(box) {
  const f = store.fleet;
  const c = store.counts;
  const total = STATUSES.reduce((n, s) => n + (c[s] ?? 0), 0);
  box.replaceChildren(
    el('h2', { class: 'visually-hidden' }, 'Overview'),
    el('div', { class: 'tiles' },
      tile('desktops', f ? f.totals.workers : '–', 'active desktops'),
      tile('total', total, 'runs in total'),
      tile('Pending', c.Pending ?? 0, 'pending'),
      tile('Running', c.Running ?? 0, 'running'),
      tile('Review', c.Review ?? 0, 'in review'),
      tile('completion', fmtPct(store.completionRate), 'completion rate'),
      tile('cpu', f ? fmtPct(f.totals.cpu) : '–', 'fleet CPU'),
      tile('memory', f ? fmtPct(f.totals.memory) : '–', 'fleet RAM'),
    ),
    fleetList(f),
  );
}

let fleetOpen;

function fleetList(f) {
  if (!f) return el('p', { class: 'muted' }, 'Asking Temporal for the live workers…');
  if (!f.available) return el('p', { class: 'muted' }, f.note);
  // Open on wide screens; on a phone the workers fold away under their summary (state kept while the page is open).
  fleetOpen ??= window.matchMedia('(min-width: 641px)').matches;
  return el('details', { class: 'fleet', open: fleetOpen, ontoggle: (ev) => (fleetOpen = ev.target.open) },
    el('summary', {}, `Desktops and workers (${f.workers.length}) · ${f.totals.inFlightActivities} activities in flight`),
    f.workers.length === 0
      ? el('p', { class: 'muted' }, `No worker has reported in the last ${f.staleAfterSeconds} s. Start one with npm run worker.`)
      : el('ul', { class: 'workers' },
          f.workers.map((w) =>
            el('li', { class: 'worker', 'data-worker': w.identity },
              el('div', { class: 'worker-head' }, el('b', { class: 'mono' }, w.identity), el('span', { class: `tag ${w.kind}`, ...(w.kind === 'desktop' ? { 'data-desktop': w.desktopQueues.join(' ') } : {}) }, w.kind === 'desktop' ? 'desktop' : 'worker')),
              el('div', { class: 'mono queues' }, w.taskQueues.map((q, i) => [i ? ', ' : '', q, w.desktopQueues?.includes(q) && w.kind !== 'desktop' ? el('span', { class: 'tag desktop', 'data-desktop': q }, 'desktop') : null])),
              el('div', { class: 'gauges' },
                gauge('CPU', w.cpu, 'cpu'),
                gauge('RAM', w.memory, 'memory'),
                el('span', { 'data-field': 'inflight' }, `${w.inFlightActivities} in flight`),
              ),
              el('div', { class: 'muted small' }, `${w.hostName} · pid ${w.processId ?? '?'} · heartbeat ${fmtAge(w.lastHeartbeat)}`),
            ),
          ),
        ),
  );
}

function gauge(label, value, field) {
  const bar = el('span', { class: 'bar' }, el('span', { class: 'fill' }));
  // The width is data: set through CSSOM (the page's CSP allows no style attributes).
  bar.firstChild.style.width = `${Math.round((value ?? 0) * 100)}%`;
  return el('span', { class: 'gauge', 'data-field': field }, `${label} `, el('b', {}, fmtPct(value)), bar);
}

// ---- cards ---------------------------------------------------------------------------------------------------------

const durationOf = (r, now) => (r.startedAt ? (r.closedAt ? Date.parse(r.closedAt) : now) - Date.parse(r.startedAt) : undefined);

function card(r, now) {
  const draggable = r.status === 'Review' && r.gate && r.gate.gate !== 'budget';
  const tokens = tokensOf(r.usage);
  return el('div', { class: `card status-${String(r.status).toLowerCase()}`, 'data-run-id': r.id, draggable: draggable ? 'true' : undefined },
    el('div', { class: 'robot' }, r.robotName ?? r.robotId ?? ''),
    el('a', { class: 'task', href: `#/run/${encodeURIComponent(r.id)}` }, r.task || '(task)'),
    el('div', { class: 'status-line', title: statusLine(r) }, statusLine(r)),
    el('div', { class: 'meta' },
      el('span', { class: 'age', title: r.startedAt ? `started ${new Date(r.startedAt).toLocaleString()}` : undefined }, fmtAge(r.startedAt, now)),
      el('span', { title: 'duration' }, fmtDuration(durationOf(r, now))),
      tokens ? el('span', {}, fmtTokens(tokens)) : null,
      r.usage?.costUsd ? el('span', {}, fmtCost(r.usage.costUsd)) : null,
    ),
    el('div', { class: 'id mono' }, r.id),
    draggable
      ? el('div', { class: 'card-actions' },
          el('button', { type: 'button', class: 'small', 'data-decide': 'approve', onclick: () => decide(r, 'approve') }, 'Approve…'),
          el('button', { type: 'button', class: 'small danger', 'data-decide': 'reject', onclick: () => decide(r, 'reject') }, 'Reject…'),
        )
      : null,
  );
}

/** Approve or reject at the gate a Review run waits at, after a confirmation. */
async function decide(r, decision) {
  const gate = r.gate.gate;
  const task = r.task && r.task.length > 80 ? `${r.task.slice(0, 80)}…` : r.task;
  const answer = await confirmAction(
    decision === 'approve'
      ? { title: `Approve at the ${gate} gate?`, text: `“${task}” goes on${gate === 'final' ? ': its delivery takes effect and the run is done' : ` with ${capital(gate)}`}.`, ok: 'Approve' }
      : { title: `Reject at the ${gate} gate?`, text: `“${task}” stops here and ends Failed.`, ok: 'Reject', danger: true, reason: { label: 'Reason (optional)' } },
  );
  if (!answer.ok) return;
  try {
    await post(`/api/runs/${encodeURIComponent(r.id)}/approvals`, { gate, decision, by: 'page', ...(answer.reason ? { feedback: answer.reason } : {}) });
    toast(decision === 'approve' ? 'Approved' : 'Rejected');
  } catch (err) {
    toast(err.message, 'error');
  }
}

// ---- board ---------------------------------------------------------------------------------------------------------

function matches(r, q) {
  if (!q) return true;
  return [r.task, r.robotName, r.robotId, r.id].some((x) => x && x.toLowerCase().includes(q));
}

function sortRuns(status, list) {
  return CLOSED.includes(status)
    ? list.sort((a, b) => (b.closedAt ?? '').localeCompare(a.closedAt ?? ''))
    : list.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
}

function renderBoard(box, query) {
  const q = query.trim().toLowerCase();
  const now = Date.now();
  const focused = document.activeElement?.closest?.('.card')?.dataset.runId;
  box.replaceChildren(
    ...STATUSES.map((status) => {
      const closed = CLOSED.includes(status);
      const all = sortRuns(status, [...store.runs.values()].filter((r) => r.status === status && matches(r, q)));
      // A closed column shows one page more per "Show older", never everything it ever saw.
      const items = closed && !q ? all.slice(0, store.pages[status].limit) : all;
      const total = store.counts[status];
      return el('section', { class: 'column', 'data-status': status, 'aria-label': status },
        el('h3', {}, status, el('span', { class: 'count', title: closed ? 'shown / all' : undefined }, closed && total !== undefined && !q ? `${items.length} / ${Math.max(total, items.length)}` : items.length)),
        el('div', { class: 'cards', 'data-drop': status === 'Done' || status === 'Failed' ? status : undefined }, items.map((r) => card(r, now))),
        closed && !q && hasMore(status, items.length)
          ? el('button', { type: 'button', class: 'secondary more', 'data-more': status, onclick: () => loadMore(status).catch((err) => toast(err.message, 'error')) }, 'Show older')
          : null,
      );
    }),
  );
  if (focused) box.querySelector(`.card[data-run-id="${CSS.escape(focused)}"] a.task`)?.focus();
}

/** Arrow keys move between cards (up/down in a column, left/right across columns); Enter opens the run. */
function keyboard(box) {
  box.addEventListener('keydown', (ev) => {
    const link = ev.target.closest?.('a.task');
    if (!link || !['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key)) return;
    const columns = $$('.column', box).map((c) => $$('a.task', c));
    const col = columns.findIndex((links) => links.includes(link));
    const row = columns[col].indexOf(link);
    let target;
    if (ev.key === 'ArrowDown') target = columns[col][row + 1];
    else if (ev.key === 'ArrowUp') target = columns[col][row - 1];
    else if (ev.key === 'Home') target = columns[col][0];
    else if (ev.key === 'End') target = columns[col].at(-1);
    else {
      const step = ev.key === 'ArrowRight' ? 1 : -1;
      for (let c = col + step; c >= 0 && c < columns.length; c += step) {
        if (columns[c].length) {
          target = columns[c][Math.min(row, columns[c].length - 1)];
          break;
        }
      }
    }
    if (target) {
      ev.preventDefault();
      target.focus();
    }
  });
}

/** A Review card dropped on Done approves, on Failed rejects — each after a confirmation. */
function dragAndDrop(box) {
  let dragged;
  box.addEventListener('dragstart', (ev) => {
    const c = ev.target.closest?.('.card[draggable="true"]');
    if (!c) return;
    dragged = c.dataset.runId;
    ev.dataTransfer.setData('text/plain', dragged);
    ev.dataTransfer.effectAllowed = 'move';
    box.classList.add('dragging');
  });
  const release = () => {
    dragged = undefined;
    box.classList.remove('dragging');
    box.dispatchEvent(new Event('redraw'));
    for (const z of $$('.drop-target', box)) z.classList.remove('drop-target');
  };
  // Hold redraws from the moment a draggable card is pressed, not only once the drag has started: a redraw between
  // the press and the first move would replace the card under the pointer, and the browser's drag would start on a
  // detached element (or not at all). A press that becomes no drag releases on pointerup.
  box.addEventListener('pointerdown', (ev) => {
    if (ev.button === 0 && ev.target.closest?.('.card[draggable="true"]')) box.classList.add('dragging');
  });
  // After the click that follows this pointerup (a link on the card must still be there to be clicked).
  const unpressed = () => setTimeout(() => {
    if (!dragged && box.classList.contains('dragging')) release();
  });
  document.addEventListener('pointerup', unpressed);
  box.addEventListener('dragend', release);
  box.addEventListener('dragover', (ev) => {
    const zone = ev.target.closest?.('.column')?.querySelector('[data-drop]');
    if (!zone || !dragged) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'move';
    for (const z of $$('.drop-target', box)) if (z !== zone) z.classList.remove('drop-target');
    zone.classList.add('drop-target');
  });
  box.addEventListener('drop', (ev) => {
    const zone = ev.target.closest?.('.column')?.querySelector('[data-drop]');
    const id = ev.dataTransfer.getData('text/plain') || dragged;
    const r = store.runs.get(id);
    if (!zone || !r || r.status !== 'Review' || !r.gate) return;
    ev.preventDefault();
    zone.classList.remove('drop-target');
    void decide(r, zone.dataset.drop === 'Done' ? 'approve' : 'reject');
  });
  return () => document.removeEventListener('pointerup', unpressed);
}

/** Pending and Review cards say what they wait for: the host, a slot, a command's approval (from the run's state). */
const detailAsked = new Map();
function fetchDetails() {
  for (const r of store.runs.values()) {
    if (!(r.status === 'Pending' || (r.status === 'Review' && !r.gate))) continue;
    const key = `${r.status}:${r.currentStage}:${r.host}`;
    if (detailAsked.get(r.id) === key) continue;
    detailAsked.set(r.id, key);
    api(`/api/runs/${encodeURIComponent(r.id)}`)
      .then((s) => {
        const known = store.runs.get(r.id);
        if (!known) return;
        Object.assign(known, {
          host: s.host?.status,
          slot: s.slot,
          waitingNode: s.dag?.nodes?.find((n) => n.status === 'waiting'),
          awaitingRetry: s.dag?.awaitingRetry,
        });
        known.task = s.task ?? known.task;
        detailRefresh();
      })
      .catch(() => detailAsked.delete(r.id));
  }
}
let detailRefresh = () => {};

// ---- the view --------------------------------------------------------------------------------------------------------

export function boardView(root) {
  const overview = el('section', { id: 'overview', 'aria-label': 'Overview' });
  const search = el('input', { id: 'board-search', type: 'search', placeholder: 'Search by task, robot or run id', autocomplete: 'off', 'aria-label': 'Search runs' });
  const searchNote = el('span', { class: 'muted small', role: 'status' });
  const board = el('div', { id: 'board' });
  const aside = el('aside', { id: 'sidebar', 'aria-label': 'Activity and metrics' });
  root.append(
    overview,
    el('div', { class: 'board-layout' },
      el('section', { id: 'runs', 'aria-label': 'Runs by status' },
        el('div', { class: 'board-tools' }, el('h2', {}, 'Runs'), search, searchNote),
        el('p', { class: 'hint' }, 'Arrow keys move between cards; drag a Review card to Done to approve or to Failed to reject.'),
        board,
      ),
      aside,
    ),
  );
  const draw = () => {
    // Redrawing would drop the card being dragged: wait for the drop.
    if (board.classList.contains('dragging')) return;
    renderBoard(board, search.value);
    fetchDetails();
  };
  detailRefresh = () => !board.classList.contains('dragging') && renderBoard(board, search.value);
  board.addEventListener('redraw', draw);
  keyboard(board);
  const stopDragging = dragAndDrop(board);
  let lookup;
  search.addEventListener('input', () => {
    draw();
    const q = search.value.trim();
    searchNote.textContent = q ? `${$$('.card', board).length} match${$$('.card', board).length === 1 ? '' : 'es'}` : '';
    // A whole run id that is not on the board: ask for it.
    clearTimeout(lookup);
    if (/^[A-Za-z0-9][A-Za-z0-9_.:-]{8,}$/.test(q) && !store.runs.has(q)) {
      lookup = setTimeout(() => {
        api(`/api/runs/${encodeURIComponent(q)}`)
          .then((s) => {
            store.runs.set(s.runId, { id: s.runId, status: s.status, task: s.task, robotId: s.robot?.id, robotName: s.robot?.name, usage: s.usage, startedAt: s.startedAt ?? s.createdAt, closedAt: s.finishedAt, gate: s.gate ? { gate: s.gate.gate, since: s.gate.since } : undefined, currentStage: s.currentStage, error: s.error, interruptedStage: s.interruptedStage });
            draw();
          })
          .catch(() => {});
      }, 300);
    }
  });
  renderOverview(overview);
  draw();
  const stopActivity = activityPanel(aside);
  const stopCharts = chartsPanel(aside);
  const offs = [on('runs', draw), on('stats', () => (renderOverview(overview), draw())), on('fleet', () => renderOverview(overview))];
  // Ages and durations move on.
  const ticker = setInterval(draw, 15_000);
  return () => {
    offs.forEach((off) => off());
    stopDragging();
    clearInterval(ticker);
    stopActivity();
    stopCharts();
    detailRefresh = () => {};
  };
}

