// Robots: the list (status, mode, schedule in words, next and last run, runs and spend today) and a robot's page
// (assign a task, pause / resume / run the schedule now / backfill, the webhook secret shown once, delete after a
// confirmation, spend per day, recent runs, the editor).
import { $, api, el, fmtAge, fmtCost, fmtDateTime, fmtInZone, fmtTokens, localZone, post, toast, tokensOf } from './dom.js';
import { confirmAction } from './confirm.js';
import { openRunForm } from './run-form.js';
import { robotEditor, scheduleWords } from './robot-form.js';
import { loadRobots, statusLine } from './store.js';

const MODES = { on_demand: 'On demand', schedule: 'On a schedule', continuous: 'Continuous', triggers_only: 'Webhooks only' };
const stateOf = (r) => (r.mode === 'on_demand' ? 'On demand' : r.state.paused ? 'Paused' : 'Active');

/** The webhook secret, shown once, with a copy button. */
export function showSecret(secret, url) {
  const dialog = $('#secret-dialog');
  const input = $('#secret-value');
  input.value = secret;
  $('#secret-url').textContent = url ? `Sign requests to ${location.origin}${url} with it (see the README's Webhooks section).` : '';
  $('#secret-copied').textContent = '';
  $('#secret-copy').onclick = async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(secret);
    } catch {
      document.execCommand('copy');
    }
    $('#secret-copied').textContent = 'Copied.';
  };
  dialog.addEventListener('close', () => (input.value = ''), { once: true });
  dialog.showModal();
  input.select();
}

// ---- the list ------------------------------------------------------------------------------------------------------

export function robotsView(root) {
  const body = el('div', { id: 'robots-list' }, el('p', { class: 'muted' }, 'Loading…'));
  root.append(
    el('div', { class: 'page-head' }, el('h2', {}, 'Robots'), el('a', { class: 'button', href: '#/robot/new', id: 'add-robot' }, '+ Add robot')),
    body,
  );
  let alive = true;
  Promise.all([loadRobots(), api(`/api/spend?days=1&timezone=${encodeURIComponent(localZone())}`)])
    .then(async ([robots, spend]) => {
      if (!alive) return;
      if (!robots.length) {
        body.replaceChildren(el('p', {}, 'No robot yet. A robot is a configured team member that runs on its own: on a schedule, continuously, or on webhooks. ', el('a', { href: '#/robot/new' }, 'Add the first one'), '.'));
        return;
      }
      const today = new Map(spend.robots.map((s) => [s.robotId, s]));
      const words = await Promise.all(robots.map((r) => scheduleWords(r)));
      body.replaceChildren(
        el('table', { class: 'robots' },
          el('thead', {}, el('tr', {}, ['Robot', 'Status', 'Mode', 'Schedule', 'Next run', 'Last run', 'Runs today', 'Spend today'].map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, robots.map((r, i) => {
            const s = today.get(r.id);
            const last = r.state.recentRuns.at(-1)?.startedAt ?? s?.lastRun?.startedAt;
            return el('tr', { 'data-robot': r.id },
              el('td', { 'data-label': 'Robot' }, el('a', { href: `#/robot/${encodeURIComponent(r.id)}` }, r.name), el('div', { class: 'mono small muted' }, r.id)),
              el('td', { 'data-label': 'Status' }, el('span', { class: `badge robot-${stateOf(r).toLowerCase().replace(' ', '-')}` }, stateOf(r))),
              el('td', { 'data-label': 'Mode' }, MODES[r.mode] ?? r.mode),
              el('td', { 'data-label': 'Schedule' }, words[i]),
              el('td', { 'data-label': 'Next run', 'data-field': 'next-run' }, r.state.nextRunTimes[0] ? el('time', { datetime: r.state.nextRunTimes[0] }, fmtInZone(r.state.nextRunTimes[0], r.schedule?.timezone)) : '–'),
              el('td', { 'data-label': 'Last run' }, last ? fmtAge(last) : '–'),
              el('td', { 'data-label': 'Runs today' }, String(s?.total.runs ?? 0)),
              el('td', { 'data-label': 'Spend today' }, s ? `${fmtTokens(s.total.inputTokens + s.total.outputTokens)} · ${fmtCost(s.total.costUsd)}` : '–'),
            );
          })),
        ),
      );
    })
    .catch((err) => body.replaceChildren(el('p', { class: 'error' }, err.message)));
  return () => (alive = false);
}

// ---- one robot -------------------------------------------------------------------------------------------------------

export function robotView(root, id) {
  let alive = true;
  const editorBox = el('section', { id: 'robot-editor', 'aria-label': 'Settings' });
  if (id === 'new') {
    root.append(el('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, el('a', { href: '#/robots' }, 'Robots'), ' › ', el('span', {}, 'New robot')), el('h2', {}, 'New robot'), editorBox);
    robotEditor({
      mode: 'create',
      onSaved: (reply) => {
        toast(`${reply.name} created`);
        void loadRobots();
        location.hash = `#/robot/${encodeURIComponent(reply.id)}`;
        if (reply.webhookSecret) showSecret(reply.webhookSecret, reply.webhook?.url);
      },
    })
      .then((ed) => alive && editorBox.append(ed.element))
      .catch((err) => editorBox.append(el('p', { class: 'error' }, err.message)));
    return () => (alive = false);
  }

  const headBox = el('div', { id: 'robot-head' }, el('p', { class: 'muted' }, 'Loading…'));
  const summaryBox = el('section', { id: 'robot-summary', class: 'panel', 'aria-label': 'How it runs' });
  const spendBox = el('section', { id: 'robot-spend', class: 'panel', 'aria-labelledby': 'spend-title' });
  const runsBox = el('section', { id: 'robot-runs', class: 'panel', 'aria-labelledby': 'runs-title' });
  root.append(
    el('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, el('a', { href: '#/robots' }, 'Robots'), ' › ', el('span', {}, id)),
    headBox,
    el('div', { class: 'robot-grid' }, summaryBox, spendBox),
    runsBox,
    el('h3', {}, 'Settings'),
    editorBox,
  );

  const load = async (withEditor) => {
    const robot = await api(`/api/robots/${encodeURIComponent(id)}`);
    if (!alive) return;
    renderHead(robot);
    renderSummary(robot);
    void api(`/api/spend?days=14&robotId=${encodeURIComponent(id)}&timezone=${encodeURIComponent(localZone())}`).then((s) => alive && renderSpend(s));
    void api(`/api/robots/${encodeURIComponent(id)}/runs?limit=15`).then(({ runs }) => alive && renderRuns(runs));
    if (withEditor) {
      const ed = await robotEditor({
        mode: 'edit',
        robot,
        onSaved: (reply) => {
          toast('Saved');
          if (reply.webhookSecret) showSecret(reply.webhookSecret, reply.webhook?.url);
          editorBox.replaceChildren();
          void loadRobots();
          void load(true);
        },
      });
      if (alive) editorBox.replaceChildren(ed.element);
    }
  };

  const act = async (what, fn) => {
    try {
      await fn();
      toast(what);
      await load(false);
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  const renderHead = (r) => {
    const base = `/api/robots/${encodeURIComponent(r.id)}`;
    const scheduled = r.mode === 'schedule' || r.mode === 'continuous';
    headBox.replaceChildren(
      el('div', { class: 'page-head' },
        el('h2', {}, r.name),
        el('span', { class: 'badge', id: 'robot-state', 'data-state': stateOf(r) }, stateOf(r)),
      ),
      el('p', { class: 'muted' }, el('span', { class: 'mono' }, r.id), ` · version ${r.version} · ${MODES[r.mode] ?? r.mode} · workspace ${r.workspace}${r.reportsTo ? ` · reports to ${r.reportsTo}` : ''}`),
      el('p', { class: 'role' }, r.role),
      el('div', { class: 'actions' },
        el('button', { type: 'button', id: 'assign-task', onclick: () => openRunForm({ robotId: r.id, host: r.host?.enabled }) }, 'Assign task'),
        el('button', { type: 'button', class: 'secondary', id: 'run-now', onclick: () => act('Run started', async () => { const run = await post(`${base}/trigger`, {}); location.hash = `#/run/${encodeURIComponent(run.id)}`; }) }, 'Run its duty now'),
        scheduled && !r.state.paused ? el('button', { type: 'button', class: 'secondary', id: 'pause-robot', onclick: () => act('Paused', () => post(`${base}/schedule/pause`, { note: 'paused from the page' })) }, 'Pause') : null,
        scheduled && r.state.paused ? el('button', { type: 'button', class: 'secondary', id: 'resume-robot', onclick: () => act('Resumed', () => post(`${base}/schedule/resume`)) }, 'Resume') : null,
        r.mode === 'schedule' ? el('button', { type: 'button', class: 'secondary', id: 'trigger-schedule', onclick: () => act('Scheduled run started', () => post(`${base}/schedule/trigger`)) }, 'Run the schedule now') : null,
        r.schedule ? el('button', { type: 'button', class: 'secondary', id: 'backfill', onclick: () => backfill(r) }, 'Backfill…') : null,
        r.webhook?.enabled ? el('button', { type: 'button', class: 'secondary', id: 'rotate-secret', onclick: () => rotate(r) }, 'New webhook secret…') : null,
        el('button', { type: 'button', class: 'danger', id: 'delete-robot', onclick: () => remove(r) }, 'Delete…'),
      ),
    );
  };

  const rotate = async (r) => {
    const { ok } = await confirmAction({ title: 'Make a new webhook secret?', text: 'The current secret stops working at once; senders need the new one.', ok: 'Make a new secret', danger: true });
    if (!ok) return;
    try {
      const out = await post(`/api/robots/${encodeURIComponent(r.id)}/webhook/rotate`);
      showSecret(out.webhookSecret, r.webhook?.url);
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  const remove = async (r) => {
    const { ok } = await confirmAction({ title: `Delete ${r.name}?`, text: 'Its definition and schedule are removed. Its past runs stay in Temporal.', ok: 'Delete', danger: true });
    if (!ok) return;
    const path = `/api/robots/${encodeURIComponent(r.id)}`;
    try {
      await api(path, { method: 'DELETE' });
    } catch (err) {
      if (err.status !== 409) return toast(err.message, 'error');
      const running = err.details?.runningRuns ?? [];
      const again = await confirmAction({ title: `${running.length} run(s) of ${r.name} are going`, text: 'Delete anyway and cancel them?', ok: 'Cancel them and delete', danger: true });
      if (!again.ok) return;
      try {
        await api(`${path}?force=true`, { method: 'DELETE' });
      } catch (err2) {
        return toast(err2.message, 'error');
      }
    }
    toast(`${r.name} deleted`);
    void loadRobots();
    location.hash = '#/robots';
  };

  const backfill = (r) => {
    const dialog = $('#backfill-dialog');
    const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    $('#backfill-start').value = local(new Date(Date.now() - 86_400_000));
    $('#backfill-end').value = local(new Date());
    $('#backfill-error').hidden = true;
    $('#backfill-cancel').onclick = () => dialog.close();
    $('#backfill-form').onsubmit = async (ev) => {
      ev.preventDefault();
      try {
        const overlap = $('#backfill-overlap').value;
        await post(`/api/robots/${encodeURIComponent(r.id)}/schedule/backfill`, {
          start: new Date($('#backfill-start').value).toISOString(),
          end: new Date($('#backfill-end').value).toISOString(),
          ...(overlap ? { overlap } : {}),
        });
        dialog.close();
        toast('Backfill requested');
      } catch (err) {
        $('#backfill-error').textContent = err.message;
        $('#backfill-error').hidden = false;
      }
    };
    dialog.showModal();
  };

  const renderSummary = async (r) => {
    const words = await scheduleWords(r);
    const zone = r.schedule?.timezone;
    summaryBox.replaceChildren(
      ...[
        el('h3', {}, 'How it runs'),
        el('p', { id: 'robot-schedule-words' }, words),
        r.state.paused ? el('p', {}, el('b', {}, 'Paused'), r.state.note && !r.state.note.startsWith('mc:') ? `: ${r.state.note}` : '') : null,
        r.state.nextRunTimes.length
          ? el('div', {}, el('b', {}, 'Next runs'), el('ul', { class: 'plain', id: 'robot-next-runs' }, r.state.nextRunTimes.slice(0, 5).map((t) => el('li', {}, el('time', { datetime: t }, fmtInZone(t, zone))))))
          : el('p', { class: 'muted' }, 'No next run scheduled.'),
        r.events.length ? el('ul', { class: 'plain small' }, r.events.slice(-6).map((e) => el('li', {}, `${e.at ? `${fmtDateTime(e.at)}: ` : ''}${e.message}`))) : null,
        el('a', { href: r.links.schedule, target: '_blank', rel: 'noopener' }, 'Its schedule in the Temporal UI'),
      ].filter(Boolean),
    );
  };

  const renderSpend = (s) => {
    const row = s.robots[0];
    const days = row?.perDay ?? s.days.map((day) => ({ day, runs: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }));
    const max = Math.max(1, ...days.map((d) => d.inputTokens + d.outputTokens));
    const withRuns = days.filter((d) => d.runs > 0).reverse();
    spendBox.replaceChildren(
      el('h3', { id: 'spend-title' }, `Spend per day (last ${days.length} days)`),
      // One bar per day: its height is the day's tokens (set through CSSOM; the CSP allows no style attributes).
      el('div', { class: 'day-bars', role: 'img', 'aria-label': `Tokens per day, ${days[0]?.day} to ${days.at(-1)?.day}` },
        days.map((d) => {
          const bar = el('span', { class: 'day', title: `${d.day}: ${d.runs} runs, ${fmtTokens(d.inputTokens + d.outputTokens)}, ${fmtCost(d.costUsd)}` });
          bar.style.height = `${Math.max(2, ((d.inputTokens + d.outputTokens) / max) * 100)}%`;
          return bar;
        }),
      ),
      withRuns.length
        ? el('table', { class: 'spend' },
            el('thead', {}, el('tr', {}, ['Day', 'Runs', 'Tokens', 'Cost'].map((h) => el('th', { scope: 'col' }, h)))),
            el('tbody', {}, withRuns.map((d) => el('tr', { 'data-day': d.day }, el('td', {}, d.day), el('td', {}, String(d.runs)), el('td', {}, fmtTokens(d.inputTokens + d.outputTokens)), el('td', {}, fmtCost(d.costUsd))))),
            row ? el('tfoot', {}, el('tr', {}, el('th', { scope: 'row' }, 'Total'), el('td', {}, String(row.total.runs)), el('td', {}, fmtTokens(row.total.inputTokens + row.total.outputTokens)), el('td', {}, fmtCost(row.total.costUsd)))) : null,
          )
        : el('p', { class: 'muted' }, 'No runs in these days.'),
      el('p', { class: 'muted small' }, `Days in ${s.timezone}; a run counts on the day it started.`),
    );
  };

  const renderRuns = (runs) => {
    runsBox.replaceChildren(
      el('h3', { id: 'runs-title' }, 'Recent runs'),
      runs.length
        ? el('ul', { class: 'plain run-list' }, runs.map((r) => el('li', {},
            el('a', { href: `#/run/${encodeURIComponent(r.id)}` }, r.task ?? r.id),
            el('span', { class: `small status-${String(r.status).toLowerCase()}` }, ` ${r.status}`),
            el('span', { class: 'muted small' }, ` · ${statusLine({ ...r, gate: r.gate })} · ${fmtAge(r.startedAt)} · ${fmtTokens(tokensOf(r.usage))}`),
          )))
        : el('p', { class: 'muted' }, 'No runs yet.'),
    );
  };

  load(true).catch((err) => headBox.replaceChildren(el('h2', {}, 'Robot not found'), el('p', {}, err.message), el('a', { href: '#/robots' }, 'Back to the robots')));
  return () => (alive = false);
}
