// Mission Control page: a hash router over four views (board, run, robots, robot), the live connections
// (activity events and the fleet, pushed as server-sent events), the header, and the dialogs shared by views.
import { $, $$, api, debounce } from './dom.js';
import { addActivity, applyEvent, emit, loadActivity, loadBoard, loadRobots, loadStats, store } from './store.js';
import { boardView } from './board.js';
import { initRunForm, openRunForm } from './run-form.js';

// The board comes with the first load; the other views (and their libraries) load when first opened.
const lazy = (load, name) => (root, ...args) => {
  let stop;
  let gone = false;
  load().then((m) => {
    if (!gone) stop = m[name](root, ...args);
  });
  return () => {
    gone = true;
    stop?.();
  };
};
const runView = lazy(() => import('./run-page.js'), 'runView');
const robotsView = lazy(() => import('./robots.js'), 'robotsView');
const robotView = lazy(() => import('./robots.js'), 'robotView');

// ---- router ------------------------------------------------------------------------------------------------------

let cleanup = () => {};

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const root = $('#view');
  cleanup();
  cleanup = () => {};
  root.replaceChildren();
  let m;
  let nav = 'board';
  if ((m = /^\/run\/(.+)$/.exec(hash))) {
    cleanup = runView(root, decodeURIComponent(m[1]));
  } else if (hash === '/robots') {
    nav = 'robots';
    cleanup = robotsView(root);
  } else if ((m = /^\/robot\/(.+)$/.exec(hash))) {
    nav = 'robots';
    cleanup = robotView(root, decodeURIComponent(m[1]));
  } else {
    cleanup = boardView(root);
  }
  for (const a of $$('header nav a')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  window.scrollTo(0, 0);
}

// ---- live connections ---------------------------------------------------------------------------------------------

const refreshStats = debounce(() => loadStats().catch(() => {}), 500);
const refreshStatsLate = debounce(() => loadStats().catch(() => {}), 2500);

const seen = new Set();

function connectEvents() {
  const live = $('#live');
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'badge on';
    // Catch up from the truth after every (re)connect.
    loadBoard().catch(() => {});
    loadStats().catch(() => {});
    loadActivity().catch(() => {});
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'badge off';
  });
  // The catch-up after a long disconnect was cut to the API's bounds: what is shown comes from the API again.
  source.addEventListener('catchup-truncated', () => {
    loadBoard().catch(() => {});
    loadStats().catch(() => {});
    loadActivity().catch(() => {});
  });
  source.addEventListener('run-event', (msg) => {
    // A resume read back from Temporal may repeat an event (same id): take each once.
    if (msg.lastEventId && seen.has(msg.lastEventId)) return;
    if (msg.lastEventId) seen.add(msg.lastEventId);
    if (seen.size > 2000) seen.delete(seen.values().next().value);
    const e = JSON.parse(msg.data);
    applyEvent(e);
    addActivity([{ ...e, id: msg.lastEventId }]);
    emit('runs');
    emit('run-event', e);
    // Counts come from Temporal visibility, which may trail an event by a moment: now-ish and again later.
    refreshStats();
    refreshStatsLate();
  });
}

const SAMPLES_KEPT = 360;

function connectFleet() {
  const source = new EventSource('/api/fleet/stream');
  source.addEventListener('fleet', (msg) => {
    const fleet = JSON.parse(msg.data);
    store.fleet = fleet;
    store.fleetSamples.push({ t: Date.parse(fleet.at) / 1000, cpu: fleet.totals.cpu, memory: fleet.totals.memory, workers: fleet.totals.workers });
    if (store.fleetSamples.length > SAMPLES_KEPT) store.fleetSamples.shift();
    emit('fleet');
  });
}

async function loadInfo() {
  const info = await api('/api/info');
  store.info = info;
  const model = $('#model');
  model.textContent = info.offline ? 'Offline model (no provider key set)' : `Model: ${info.modelProvider}`;
  model.classList.toggle('offline', info.offline);
  $('#temporal-ui').href = info.temporalUi;
}

// ---- start -------------------------------------------------------------------------------------------------------

initRunForm();
$('#new-run-button').addEventListener('click', () => openRunForm());
window.addEventListener('hashchange', route);
route();
loadInfo().catch(() => {});
loadRobots().catch(() => {});
connectEvents();
connectFleet();
