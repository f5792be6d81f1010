// The activity stream: filled on open from recent history (GET /api/activity), then by pushed events. Each entry
// names its run's task and robot and opens the run; filters by robot and kind; at most a few entries per robot are
// kept (store.js), so one chatty robot cannot drown the rest.
import { el, fmtTime } from './dom.js';
import { ACTIVITY_PER_ROBOT, fetchActivity, mergeActivity, on, store } from './store.js';

const KINDS = [
  ['', 'All kinds'],
  ['run', 'Runs'],
  ['stage', 'Stages'],
  ['gate', 'Gates'],
  ['approval', 'Approvals'],
  ['node', 'Tasks in graphs'],
  ['host', 'Robot Host'],
  ['budget', 'Budget'],
  ['delivery', 'Delivery'],
];

const filter = { robotId: '', kind: '' };

export function activityPanel(aside) {
  const robotSelect = el('select', { id: 'activity-robot', 'aria-label': 'Filter by robot' });
  const kindSelect = el('select', { id: 'activity-kind', 'aria-label': 'Filter by kind' }, KINDS.map(([v, label]) => el('option', { value: v }, label)));
  kindSelect.value = filter.kind;
  const list = el('ol', { id: 'events', class: 'events' });
  const note = el('p', { class: 'muted small' });
  const panel = el('section', { id: 'activity', class: 'panel', 'aria-labelledby': 'activity-title' },
    el('h2', { id: 'activity-title' }, 'Activity'),
    el('div', { class: 'filters' }, robotSelect, kindSelect),
    list,
    note,
  );
  aside.append(panel);

  const fillRobots = () => {
    const robots = new Map(store.robots.map((r) => [r.id, r.name]));
    for (const e of store.activity) if (e.run) robots.set(e.run.robotId, e.run.robotName);
    robotSelect.replaceChildren(el('option', { value: '' }, 'All robots'), ...[...robots].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => el('option', { value: id }, name)));
    robotSelect.value = robots.has(filter.robotId) ? filter.robotId : '';
  };

  /** With a filter: what the API found for it (from further back than the live list keeps), plus live matches. */
  let found = [];
  const matches = (e) => (!filter.robotId || e.run?.robotId === filter.robotId) && (!filter.kind || e.type.split('.')[0] === filter.kind);
  const render = () => {
    fillRobots();
    const shown = mergeActivity(found, store.activity.filter(matches)).filter(matches).slice(0, 120);
    list.replaceChildren(
      ...shown.map((e) =>
        el('li', { 'data-event-type': e.type, 'data-run-id': e.runId },
          el('a', { href: `#/run/${encodeURIComponent(e.runId)}` },
            el('span', { class: 'when' }, el('time', { datetime: e.at }, fmtTime(e.at)), el('span', { class: 'robot' }, e.run?.robotName ?? 'robot')),
            el('span', { class: 'what' }, e.message),
            el('span', { class: 'task' }, e.run?.task ?? e.runId),
          ),
        ),
      ),
    );
    note.textContent = shown.length ? `Newest first; at most ${ACTIVITY_PER_ROBOT} entries per robot.` : 'Nothing yet.';
  };
  const refilter = () => {
    filter.robotId = robotSelect.value;
    filter.kind = kindSelect.value;
    found = [];
    render();
    if (!filter.robotId && !filter.kind) return;
    const asked = { ...filter };
    fetchActivity(asked)
      .then((events) => {
        if (asked.robotId !== filter.robotId || asked.kind !== filter.kind) return;
        found = events;
        render();
      })
      .catch(() => {});
  };
  robotSelect.addEventListener('change', refilter);
  kindSelect.addEventListener('change', refilter);
  if (filter.robotId || filter.kind) refilter();
  else render();
  const offs = [on('activity', render), on('robots', render)];
  return () => offs.forEach((off) => off());
}
