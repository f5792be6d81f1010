// What the page knows, shared by its views: runs of the board, the activity stream, the fleet, robots. Filled from
// the API (which reads Temporal) and kept current by pushed events; after a reconnect it is reloaded, never trusted.
import { api, capital, ordinal } from './dom.js';

export const STATUSES = ['Pending', 'Running', 'Review', 'Done', 'Failed', 'Cancelled'];
export const OPEN = ['Pending', 'Running', 'Review'];
export const CLOSED = ['Done', 'Failed', 'Cancelled'];
/** Cards of a closed column per page. */
export const PAGE = 20;
/** Activity entries kept per robot, and in all: one chatty robot cannot drown the rest. */
export const ACTIVITY_PER_ROBOT = 25;
export const ACTIVITY_MAX = 300;

export const store = {
  runs: new Map(),
  /** Per closed column: how many cards it shows (PAGE more per "Show older"), and whether the API has older ones. */
  pages: Object.fromEntries(CLOSED.map((s) => [s, { limit: PAGE, more: false }])),
  counts: {},
  completionRate: null,
  activity: [],
  fleet: null,
  /** Fleet CPU and memory over time, sampled from the fleet stream since the page opened. */
  fleetSamples: [],
  robots: [],
  info: null,
};

const topics = new Map();
export function on(topic, fn) {
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic).add(fn);
  return () => topics.get(topic).delete(fn);
}
export function emit(topic, data) {
  for (const fn of topics.get(topic) ?? []) fn(data);
}

// ---- runs ------------------------------------------------------------------------------------------------------

function normalise(r) {
  return { ...r, gate: r.gate ? (typeof r.gate === 'string' ? { gate: r.gate } : r.gate) : undefined };
}

export async function loadBoard() {
  const lists = await Promise.all(
    STATUSES.map((s) => api(`/api/runs?status=${s}&limit=${CLOSED.includes(s) ? PAGE : 300}`).then((r) => [s, r.runs])),
  );
  const keep = new Map();
  for (const [status, runs] of lists) {
    for (const r of runs) keep.set(r.id, { ...store.runs.get(r.id), ...normalise(r) });
    if (CLOSED.includes(status)) store.pages[status] = { limit: PAGE, more: runs.length === PAGE };
  }
  store.runs = keep;
  emit('runs');
}

/** Closed runs of a column, newest first. */
export const closedRuns = (status) =>
  [...store.runs.values()].filter((r) => r.status === status).sort((a, b) => (b.closedAt ?? '').localeCompare(a.closedAt ?? ''));

/**
 * One more page of a closed column: shows PAGE more cards, asking the API for runs older than the oldest one
 * known when there are not enough. The column never grows by itself: live runs push older cards out of view.
 */
export async function loadMore(status) {
  const page = store.pages[status];
  page.limit += PAGE;
  const known = closedRuns(status);
  if (known.length < page.limit && known.length) {
    const cursor = known.at(-1).closedAt;
    const { runs } = await api(`/api/runs?status=${status}&limit=${page.limit - known.length}&closedBefore=${encodeURIComponent(cursor)}`);
    for (const r of runs) if (!store.runs.has(r.id)) store.runs.set(r.id, normalise(r));
    page.more = runs.length === page.limit - known.length;
  }
  emit('runs');
}

/** Whether a closed column has more than it shows (known runs beyond its limit, or older ones in Temporal). */
export function hasMore(status, shown) {
  const known = closedRuns(status).length;
  return known > shown || store.pages[status].more || (store.counts[status] ?? 0) > known;
}

export async function loadStats() {
  const { counts, completionRate } = await api('/api/stats');
  store.counts = counts;
  store.completionRate = completionRate;
  emit('stats');
}

/** A pushed event: the run's card follows it (status, stage, gate, usage come with the event). */
export function applyEvent(e) {
  const r = store.runs.get(e.runId) ?? { id: e.runId };
  const wasClosed = CLOSED.includes(r.status);
  r.status = e.status;
  if (e.run) {
    Object.assign(r, {
      task: r.task && r.task.length > e.run.task.length ? r.task : e.run.task,
      robotId: e.run.robotId,
      robotName: e.run.robotName,
      usage: e.run.usage ?? r.usage,
      currentStage: e.run.currentStage ?? r.currentStage,
      gate: e.run.gate ? { gate: e.run.gate, since: r.gate?.since ?? e.at } : undefined,
      host: e.run.host,
      startedAt: r.startedAt ?? e.run.startedAt,
      delivery: e.run.deliveryWarning ? { warning: e.run.deliveryWarning } : r.delivery,
    });
  } else if (e.stage) r.currentStage = e.stage;
  if (CLOSED.includes(e.status) && !wasClosed) r.closedAt = e.run?.finishedAt ?? e.at;
  if (!CLOSED.includes(e.status)) r.closedAt = undefined;
  store.runs.set(e.runId, r);
  // Keep what a closed column can show, and a page more: a long session does not pile up finished runs.
  if (CLOSED.includes(e.status)) for (const old of closedRuns(e.status).slice(store.pages[e.status].limit + PAGE)) store.runs.delete(old.id);
}

// ---- activity ----------------------------------------------------------------------------------------------------

/** The newest entries of `lists` (deduplicated), at most ACTIVITY_PER_ROBOT of each robot. */
export function mergeActivity(...lists) {
  const byId = new Map();
  for (const list of lists) for (const e of list) byId.set(e.id, e);
  const sorted = [...byId.values()].sort((a, b) => b.at.localeCompare(a.at) || (b.seq ?? 0) - (a.seq ?? 0));
  const perRobot = new Map();
  return sorted.filter((e) => {
    const robot = e.run?.robotId ?? 'unknown';
    const n = (perRobot.get(robot) ?? 0) + 1;
    perRobot.set(robot, n);
    return n <= ACTIVITY_PER_ROBOT;
  }).slice(0, ACTIVITY_MAX);
}

export function addActivity(entries) {
  store.activity = mergeActivity(store.activity, entries);
  emit('activity');
}

/** Recent activity from the API (which reads Temporal); with a filter, only what matches it. */
export async function fetchActivity(filter = {}) {
  const q = new URLSearchParams({ limit: '150', perRobot: String(ACTIVITY_PER_ROBOT) });
  if (filter.robotId) q.set('robotId', filter.robotId);
  if (filter.kind) q.set('kind', filter.kind);
  return (await api(`/api/activity?${q}`)).events;
}

export async function loadActivity() {
  addActivity(await fetchActivity());
}

export async function loadRobots() {
  const { robots } = await api('/api/robots');
  store.robots = robots;
  emit('robots');
  return robots;
}

// ---- what a run waits for ------------------------------------------------------------------------------------------

/**
 * One line that says where a run stands and what it waits for. `r` is a run summary (board) or a whole run state;
 * `detail` (host, slot, graph) comes from the run's state when known.
 */
export function statusLine(r) {
  const gate = r.gate?.gate ?? r.gate;
  const host = r.host?.status ?? r.host;
  const stage = r.currentStage;
  const waitingNode = r.dag?.nodes?.find((n) => n.status === 'waiting') ?? r.waitingNode;
  switch (r.status) {
    case 'Pending':
      if (host === 'asking') return 'host asks a question';
      if (host === 'confirming') return 'host waits for you to confirm the task';
      if (host === 'thinking') return 'host is thinking';
      if (r.slot) return `waiting for a slot (${ordinal(r.slot.position)} in line)`;
      return 'starting';
    case 'Running':
      return stage ? `running ${capital(stage)}` : 'running';
    case 'Review':
      if (gate === 'budget') return 'over budget: waiting for a raise';
      if (gate === 'final') return 'waiting at the final gate (report ready)';
      if (gate) return `waiting at the ${gate} gate`;
      if (waitingNode) return `a command waits for approval${waitingNode.placement?.taskQueue ? ` on ${waitingNode.placement.taskQueue}` : ''}`;
      if (r.dag?.awaitingRetry || r.awaitingRetry) return 'a failed task waits for a retry';
      return 'waiting for a person';
    case 'Done':
      return r.delivery?.warning ? 'done, with a delivery warning' : 'done';
    case 'Failed':
      return r.error ? `failed${r.error.stage ? ` in ${capital(r.error.stage)}` : ''}: ${r.error.message}` : 'failed';
    case 'Cancelled':
      return r.interruptedStage ? `cancelled during ${capital(r.interruptedStage)}` : 'cancelled';
    default:
      return String(r.status ?? '').toLowerCase();
  }
}
