// A run's page, pushed live (GET /api/runs/:id/stream): what it is and what it waits for, its recovery from lost
// workers, the Robot Host and the gate (the work to approve in readable form, raw JSON one click away), the five
// stages on a timeline, the task graph drawn as a graph with node details, the result and stage outputs rendered
// as Markdown (safely), delivery status, decisions and events. Each part is redrawn only when its data changed,
// so typing in a box or reading a node is not disturbed by updates elsewhere.
import { $, api, capital, el, fmtAge, fmtCost, fmtDateTime, fmtDuration, fmtTime, fmtTokens, post, toast, tokensOf } from './dom.js';
import { confirmAction } from './confirm.js';
import { drawGraph, layoutGraph, loadDagre } from './graph.js';
import { markdownLibs, renderMarkdownSync } from './markdown.js';
import { statusLine } from './store.js';

const STAGES = ['inspiration', 'goals', 'tasks', 'validation', 'delivery'];
const TERMINAL = ['Done', 'Failed', 'Cancelled'];

export function runView(root, id) {
  const enc = encodeURIComponent(id);
  const base = `/api/runs/${enc}`;
  const ui = { selected: undefined, drafts: { feedback: '', message: '' }, keys: new Map(), layout: undefined, layoutKey: '', recovery: undefined };
  const part = (name) => el('section', { class: `run-part ${name}`, id: `run-${name}`, hidden: true });
  const parts = Object.fromEntries(['head', 'recovery', 'host', 'gate', 'timeline', 'graph', 'result', 'delivery', 'outputs', 'approvals', 'events'].map((n) => [n, part(n)]));
  root.append(
    el('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, el('a', { href: '#/' }, 'Board'), ' › ', el('span', {}, 'Run')),
    el('article', { id: 'run-detail', 'data-run-id': id }, Object.values(parts)),
  );
  parts.head.hidden = false;
  parts.head.append(el('p', { class: 'muted' }, 'Loading…'));

  let state;
  let libs;
  let alive = true;
  const ready = Promise.all([markdownLibs(), loadDagre()]).then(([m, dagre]) => (libs = { ...m, dagre }));

  /** Redraw one part when its data changed (by value). */
  const update = (name, data, draw) => {
    const key = JSON.stringify(data ?? null);
    if (ui.keys.get(name) === key) return;
    ui.keys.set(name, key);
    const node = parts[name];
    const children = data === undefined || data === null || data === false ? [] : [draw(data)].flat(Infinity).filter(Boolean);
    node.replaceChildren(...children);
    node.hidden = children.length === 0;
  };
  const md = (text) => el('div', { class: 'markdown' }, renderMarkdownSync(text, libs));
  const raw = (value, label = 'Raw JSON') => el('details', { class: 'raw' }, el('summary', {}, label), el('pre', {}, JSON.stringify(value, null, 2)));

  const render = () => {
    if (!alive || !state) return;
    const s = state;
    update('head', head(s), () => headPart(s));
    update('recovery', ui.recovery?.survived ? ui.recovery : undefined, (r) => el('div', { class: 'notice', role: 'note' }, el('b', {}, 'Survived a crash: '), r.summary, raw(r.losses, 'What the history says')));
    update('host', s.host && s.host.status !== 'confirmed' && !TERMINAL.includes(s.status) ? s.host : undefined, (h) => hostPart(h));
    update('gate', s.gate && !TERMINAL.includes(s.status) ? s.gate : undefined, (g) => gatePart(g));
    update('timeline', { stages: s.stages, created: s.createdAt, status: s.status }, () => timelinePart(s));
    const graphData = s.dag?.nodes?.length ? { nodes: s.dag.nodes, selected: ui.selected, open: !TERMINAL.includes(s.status), summary: s.dag.summary } : undefined;
    update('graph', graphData, () => graphPart(s));
    const result = typeof s.result === 'object' && s.result?.content ? s.result.content : undefined;
    update('result', result, (content) => [el('h3', {}, 'Result'), el('div', { id: 'run-result' }, isClaim(content) ? claimView(content) : md(content))]);
    update('delivery', s.delivery?.destinations?.length || s.delivery?.warning || s.artifacts?.length ? { delivery: s.delivery, artifacts: s.artifacts } : undefined, (d) => deliveryPart(d));
    update('outputs', s.stages?.filter((x) => x.output !== undefined).map((x) => [x.name, x.output]), (outs) => outputsPart(outs));
    update('approvals', s.approvals?.length ? s.approvals : undefined, (list) => [
      el('h3', {}, 'Decisions'),
      el('ol', { class: 'plain' }, list.map((a) => el('li', {}, el('time', { datetime: a.at }, fmtTime(a.at)), ` ${a.decision} at the ${a.gate} gate by ${a.by} (${a.channel})`, a.feedback ? `: ${a.feedback}` : ''))),
    ]);
    update('events', (s.events ?? []).slice(-80), (events) => [
      el('h3', {}, 'Events'),
      el('ol', { class: 'plain events-list', reversed: true }, [...events].reverse().map((e) => el('li', { 'data-event-type': e.type }, el('time', { datetime: e.at }, fmtTime(e.at)), ' ', e.message))),
    ]);
  };

  // ---- head -------------------------------------------------------------------------------------------------------
  const head = (s) => ({ task: s.task, status: s.status, stage: s.currentStage, gate: s.gate?.gate, host: s.host?.status, slot: s.slot, usage: s.usage, error: s.error, fin: s.finishedAt, dag: s.dag?.nodes?.map((n) => n.status), tick: Math.floor(Date.now() / 15000) });
  const headPart = (s) => {
    const start = s.startedAt ?? s.createdAt;
    const duration = start ? (s.finishedAt ? Date.parse(s.finishedAt) : Date.now()) - Date.parse(start) : undefined;
    const long = (s.task ?? '').length > 600;
    const task = el('h2', { class: `task${long ? ' clamp' : ''}`, id: 'run-task' }, s.task ?? '');
    return [
      task,
      long ? el('button', { type: 'button', class: 'link', onclick: (ev) => (task.classList.toggle('clamp'), (ev.target.textContent = task.classList.contains('clamp') ? 'Show the whole task' : 'Show less')) }, 'Show the whole task') : null,
      el('div', { class: 'run-meta' },
        el('span', { class: `badge status status-${String(s.status).toLowerCase()}`, 'data-run-status': s.status }, s.status),
        statusLine(s) !== String(s.status).toLowerCase() ? el('span', { class: 'status-line', id: 'run-status-line' }, statusLine(s)) : null,
        s.offline ? el('span', { class: 'badge offline' }, 'offline model') : null,
      ),
      el('dl', { class: 'facts' },
        fact('Robot', s.robot ? (s.robot.version > 0 ? el('a', { href: `#/robot/${encodeURIComponent(s.robot.id)}` }, `${s.robot.name} (v${s.robot.version})`) : s.robot.name) : '–'),
        fact('Run id', el('span', { class: 'mono', 'data-run-id': s.runId }, s.runId)),
        fact('Trigger', s.trigger ?? '–'),
        fact('Started', start ? `${fmtDateTime(start)} (${fmtAge(start)})` : '–'),
        fact('Duration', fmtDuration(duration) || '–'),
        fact('Tokens', s.usage ? `${fmtTokens(tokensOf(s.usage))} (${s.usage.inputTokens} in / ${s.usage.outputTokens} out, ${s.usage.calls} calls)` : '–'),
        fact('Cost', s.usage ? fmtCost(s.usage.costUsd) : '–'),
      ),
      s.error ? el('p', { class: 'error' }, `Failed${s.error.stage ? ` in ${capital(s.error.stage)}` : ''}: ${s.error.message}`) : null,
      el('div', { class: 'actions' },
        !TERMINAL.includes(s.status) ? el('button', { type: 'button', class: 'danger', id: 'cancel-run', onclick: () => cancelRun(s) }, 'Cancel run…') : null,
        el('a', { href: s.links?.temporalUi ?? '#', target: '_blank', rel: 'noopener' }, 'Open in the Temporal UI'),
      ),
      el('p', { class: 'error', id: 'action-error', role: 'alert', hidden: true }),
    ];
  };
  const fact = (k, v) => el('div', {}, el('dt', {}, k), el('dd', {}, v));

  const showError = (message) => {
    const box = $('#action-error');
    if (!box) return toast(message, 'error');
    box.textContent = message;
    box.hidden = false;
  };
  const act = async (path, body) => {
    try {
      await post(path, body ?? {});
      const box = $('#action-error');
      if (box) box.hidden = true;
      return true;
    } catch (err) {
      showError(err.message);
      return false;
    }
  };

  const cancelRun = async (s) => {
    const { ok } = await confirmAction({ title: 'Cancel this run?', text: `“${cutText(s.task, 100)}” stops now: the model call in flight is aborted and the run ends Cancelled.`, ok: 'Cancel the run', cancel: 'Keep it running', danger: true });
    if (ok) await act(`${base}/cancel`);
  };

  // ---- host -------------------------------------------------------------------------------------------------------
  const hostPart = (h) => {
    const box = el('textarea', { id: 'host-message', rows: '2', 'aria-label': 'Your answer', placeholder: 'Your answer', oninput: (e) => (ui.drafts.message = e.target.value) });
    box.value = ui.drafts.message;
    return el('div', { class: 'panel host', id: 'host-panel' },
      el('h3', {}, 'Robot Host'),
      el('ol', { class: 'transcript' }, h.transcript.map((m) => el('li', { class: m.role }, el('b', {}, m.role === 'host' ? 'Host: ' : 'You: '), m.text))),
      h.status === 'thinking' ? el('p', {}, 'The host is thinking…') : null,
      h.status === 'asking'
        ? el('div', { class: 'reply' }, box, el('button', { type: 'button', id: 'host-send', onclick: () => act(`${base}/messages`, { text: ui.drafts.message, by: 'page' }).then((ok) => ok && (ui.drafts.message = '')) }, 'Send'))
        : null,
      h.status === 'confirming' ? el('button', { type: 'button', id: 'host-confirm', onclick: () => act(`${base}/confirm`, { by: 'page' }) }, 'Confirm and start') : null,
    );
  };

  // ---- gate -------------------------------------------------------------------------------------------------------
  const gatePart = (g) => {
    const isBudget = g.gate === 'budget';
    const feedback = el('textarea', { id: 'gate-feedback', rows: '2', 'aria-label': 'Feedback', placeholder: isBudget ? 'Note (optional)' : 'Feedback: what to change when sending back, or a reason to reject', oninput: (e) => (ui.drafts.feedback = e.target.value) });
    feedback.value = ui.drafts.feedback;
    const decide = async (decision, extra = {}) => {
      const text = ui.drafts.feedback.trim();
      if (decision === 'reject') {
        const answer = await confirmAction({ title: `Reject at the ${g.gate} gate?`, text: 'The run stops here and ends Failed.', ok: 'Reject', danger: true, reason: { label: 'Reason (optional)' } });
        if (!answer.ok) return;
        const reason = answer.reason ?? (text || undefined);
        if (await act(`${base}/approvals`, { gate: g.gate, decision, by: 'page', ...(reason ? { feedback: reason } : {}) })) ui.drafts.feedback = '';
        return;
      }
      if (await act(`${base}/approvals`, { gate: g.gate, decision, by: 'page', ...(text ? { feedback: text } : {}), ...extra })) ui.drafts.feedback = '';
    };
    const tokens = el('input', { id: 'raise-tokens', type: 'number', min: '1', 'aria-label': 'Raise tokens by', placeholder: 'raise tokens by' });
    const cost = el('input', { id: 'raise-cost', type: 'number', min: '0', step: '0.01', 'aria-label': 'Raise cost by (USD)', placeholder: 'raise $ by' });
    return el('div', { class: 'panel gate', id: 'gate-panel', 'data-gate': g.gate },
      el('h3', {}, isBudget ? 'Over budget: raise it or stop' : `Waiting at the ${g.gate} gate`),
      el('p', { class: 'muted' }, `Since ${fmtDateTime(g.since)}`, g.deadline ? ` · deadline ${fmtDateTime(g.deadline)} (then ${g.onTimeout ?? 'reject'})` : '', g.escalated ? ' · escalated' : ''),
      isBudget && g.budget ? el('p', {}, g.budget.reason) : gateSubject(g),
      feedback,
      el('div', { class: 'actions' },
        isBudget
          ? [tokens, cost, el('button', { type: 'button', id: 'gate-approve', onclick: () => decide('approve', { raiseBy: { tokens: Number(tokens.value) || undefined, costUsd: Number(cost.value) || undefined } }) }, 'Raise and continue')]
          : el('button', { type: 'button', id: 'gate-approve', onclick: () => decide('approve') }, 'Approve'),
        g.revisable && !isBudget ? el('button', { type: 'button', class: 'secondary', id: 'gate-revise', onclick: () => (ui.drafts.feedback.trim() ? decide('revise') : showError('Write what should change, then send it back.')) }, `Send back to ${capital(g.revisable)} (${g.revisions}/${g.maxRevisions})`) : null,
        el('button', { type: 'button', class: 'danger', id: 'gate-reject', onclick: () => decide('reject') }, 'Reject…'),
      ),
    );
  };

  /** The work to approve, readable: the brief at goals, the plan at tasks, results at validation, the draft at delivery and final. */
  const gateSubject = (g) => {
    const sub = g.subject ?? {};
    let title;
    let body;
    // An output too large for history is a claim check here: its preview, and the whole as a download.
    const view = (v, fn) => (isClaim(v) ? claimView(v) : fn(v));
    if (g.gate === 'final' && sub.delivery) {
      title = 'The report, ready to be delivered';
      body = view(sub.delivery, (d) => view(d.content, (c) => md(c ?? '')));
    } else if (g.gate === 'delivery' && sub.tasks) {
      title = 'The draft to be formatted and delivered';
      body = [view(sub.tasks, (t) => md(t.result ?? t.summary ?? '')), sub.validation ? view(sub.validation, validationView) : null];
    } else if (g.gate === 'validation' && sub.tasks) {
      title = 'The results to be checked';
      body = view(sub.tasks, tasksView);
    } else if (g.gate === 'tasks' && sub.goals) {
      title = 'The plan: goals and deliverables';
      body = view(sub.goals, goalsView);
    } else if (g.gate === 'goals' && sub.inspiration) {
      title = 'The brief';
      body = view(sub.inspiration, briefView);
    } else {
      title = 'Nothing has run yet';
      body = el('p', {}, 'Approve to start the pipeline on the task above.');
    }
    return el('div', { class: 'subject', id: 'gate-subject' }, el('h4', {}, title), body, raw(sub));
  };

  // ---- readable stage outputs ------------------------------------------------------------------------------------------
  const briefView = (o) => [md(o.brief ?? ''), o.focus?.length ? el('ul', {}, o.focus.map((f) => el('li', {}, f))) : null];
  const goalsView = (o) => el('ol', { class: 'goals' }, (o.goals ?? []).map((g) => el('li', {}, el('b', {}, g.title), ': ', g.deliverable)));
  const tasksView = (o) => [
    o.result ? md(o.result) : null,
    o.tasks?.length ? el('ul', { class: 'plain' }, o.tasks.map((t) => el('li', {}, el('b', {}, t.title), ` — ${t.status}${t.validation ? (t.validation.passed ? ', passed its check' : ', did not pass its check') : ''}`))) : null,
  ];
  const validationView = (o) => el('div', { class: 'validation' },
    el('p', {}, el('b', {}, o.passed ? 'Validation passed' : 'Validation did not pass'), `: ${o.summary ?? ''}`),
    o.checks?.length ? el('ul', { class: 'plain' }, o.checks.map((c) => el('li', {}, `${c.passed ? '✓' : '✗'} ${c.taskId}: ${c.feedback}`))) : null,
  );
  const readable = (name, o) => {
    if (!o || typeof o !== 'object') return el('pre', {}, String(o ?? ''));
    if (isClaim(o)) return claimView(o);
    if (name === 'delivery' && isClaim(o.content)) return claimView(o.content);
    if (name === 'inspiration') return briefView(o);
    if (name === 'goals') return goalsView(o);
    if (name === 'tasks') return tasksView(o);
    if (name === 'validation') return validationView(o);
    if (name === 'delivery' && o.content) return md(o.content);
    return el('pre', {}, JSON.stringify(o, null, 2));
  };
  const outputsPart = (outs) => [
    el('h3', {}, 'Stage outputs'),
    outs.map(([name, output]) => el('details', { class: 'stage-output', 'data-stage': name }, el('summary', {}, capital(name)), readable(name, output), raw(output))),
  ];

  // ---- timeline ----------------------------------------------------------------------------------------------------------
  const timelinePart = (s) => {
    const stages = s.stages ?? [];
    const t0 = Math.min(...stages.filter((x) => x.startedAt).map((x) => Date.parse(x.startedAt)), Date.parse(s.createdAt ?? new Date().toISOString()));
    const t1 = Math.max(...stages.map((x) => (x.finishedAt ? Date.parse(x.finishedAt) : x.startedAt ? Date.now() : 0)), t0 + 1);
    return [
      el('h3', {}, 'Stages'),
      el('ol', { class: 'timeline' },
        STAGES.map((name) => {
          const st = stages.find((x) => x.name === name) ?? { name, status: 'pending' };
          const bar = el('span', { class: 'span' });
          if (st.startedAt) {
            const from = Date.parse(st.startedAt);
            const to = st.finishedAt ? Date.parse(st.finishedAt) : Date.now();
            bar.style.marginLeft = `${((from - t0) / (t1 - t0)) * 100}%`;
            bar.style.width = `${Math.max(1, ((to - from) / (t1 - t0)) * 100)}%`;
          }
          return el('li', { class: `stage status-${st.status}`, 'data-stage': name },
            el('div', { class: 'stage-head' }, el('b', {}, capital(name)), el('span', { class: `stage-status status-${st.status}` }, st.status), st.revisions ? el('span', { class: 'muted small' }, `revised ${st.revisions}×`) : null),
            el('div', { class: 'track' }, bar),
            el('div', { class: 'stage-facts small' },
              st.startedAt ? el('span', {}, `started ${fmtTime(st.startedAt)}`) : el('span', { class: 'muted' }, 'not started'),
              st.durationMs !== undefined ? el('span', {}, fmtDuration(st.durationMs)) : null,
              st.usage?.calls ? el('span', {}, `${fmtTokens(tokensOf(st.usage))} · ${fmtCost(st.usage.costUsd)}`) : null,
            ),
            st.summary || st.error ? el('div', { class: 'small muted summary' }, st.error ?? st.summary) : null,
          );
        }),
      ),
    ];
  };

  // ---- graph -------------------------------------------------------------------------------------------------------------
  const graphPart = (s) => {
    const nodes = s.dag.nodes;
    const vertical = (root.clientWidth || 1000) < 640;
    const key = JSON.stringify([vertical, nodes.map((n) => [n.id, n.dependsOn])]);
    if (key !== ui.layoutKey) {
      ui.layout = layoutGraph(libs.dagre, nodes, vertical);
      ui.layoutKey = key;
    }
    const selected = nodes.find((n) => n.id === ui.selected);
    return [
      el('h3', {}, `Task graph (${nodes.length} tasks)`),
      s.dag.summary ? el('details', { class: 'raw small' }, el('summary', {}, 'Rolling summary'), el('p', { class: 'muted' }, s.dag.summary)) : null,
      el('div', { class: 'legend small' }, ['pending', 'waiting', 'running', 'done', 'failed', 'skipped', 'cancelled'].map((st) => el('span', { class: `key status-${st}` }, st))),
      drawGraph(ui.layout, nodes, {
        selected: ui.selected,
        onSelect: (nid) => {
          ui.selected = ui.selected === nid ? undefined : nid;
          render();
          parts.graph.querySelector(`g.node[data-node="${CSS.escape(nid)}"]`)?.focus();
        },
      }),
      selected ? nodePart(selected, !TERMINAL.includes(s.status)) : el('p', { class: 'muted small' }, 'Select a task to see its output, model, reason, usage and timings.'),
    ];
  };

  const nodePart = (n, open) => {
    const nbase = `${base}/nodes/${encodeURIComponent(n.id)}`;
    const controls = [];
    if (open && ['pending', 'running', 'waiting'].includes(n.status)) {
      controls.push(el('button', { type: 'button', class: 'secondary node-cancel', onclick: async () => {
        const { ok } = await confirmAction({ title: `Cancel the task ${n.id}?`, text: 'It stops; the tasks that need it are skipped, the rest of the graph goes on.', ok: 'Cancel the task', cancel: 'Keep it', danger: true });
        if (ok) await act(`${nbase}/cancel`);
      } }, 'Cancel task…'));
    }
    if (open && ['failed', 'cancelled'].includes(n.status)) controls.push(el('button', { type: 'button', class: 'node-retry', onclick: () => act(`${nbase}/retry`) }, 'Retry'));
    if (open && n.status === 'waiting') {
      controls.push(el('button', { type: 'button', class: 'node-approve', onclick: () => act(`${nbase}/approval`, { decision: 'approve' }) }, 'Approve and run'));
      controls.push(el('button', { type: 'button', class: 'danger node-reject', onclick: async () => {
        const answer = await confirmAction({ title: `Reject the task ${n.id}?`, text: 'It will not run; the task fails.', ok: 'Reject', danger: true, reason: { label: 'Reason (optional)' } });
        if (answer.ok) await act(`${nbase}/approval`, { decision: 'reject', ...(answer.reason ? { feedback: answer.reason } : {}) });
      } }, 'Reject…'));
    }
    return el('div', { class: 'panel node-detail', id: 'node-detail', 'data-node': n.id },
      el('h4', {}, n.title),
      el('dl', { class: 'facts' },
        fact('Id', el('span', { class: 'mono' }, n.id)),
        fact('Kind', n.kind + (n.tool ? ` (${n.tool})` : '')),
        fact('Status', n.status),
        fact('Needs', n.dependsOn?.length ? n.dependsOn.join(', ') : '–'),
        fact('Model', n.model ?? '–'),
        fact('Why this model', n.reason ?? '–'),
        fact('Usage', n.usage?.calls ? `${fmtTokens(tokensOf(n.usage))} (${n.usage.calls} calls) · ${fmtCost(n.usage.costUsd)}` : '–'),
        fact('Timings', n.startedAt ? `${fmtTime(n.startedAt)} → ${n.finishedAt ? fmtTime(n.finishedAt) : '…'}${n.durationMs !== undefined ? ` (${fmtDuration(n.durationMs)})` : ''}` : '–'),
        fact('Runs', String(n.runs ?? 0)),
        n.placement?.on === 'desktop' ? fact('Desktop', n.placement.taskQueue) : null,
        n.args ? fact('Arguments', el('code', {}, JSON.stringify(n.args))) : null,
        n.ranOn ? fact('Ran on', el('code', {}, JSON.stringify(n.ranOn))) : null,
      ),
      n.error ? el('p', { class: 'error' }, n.error) : null,
      n.validation?.length ? el('ul', { class: 'plain small' }, n.validation.map((v) => el('li', {}, `check ${v.round + 1}: ${v.passed ? 'passed' : 'sent back'} — ${v.feedback}`))) : null,
      controls.length ? el('div', { class: 'actions' }, controls) : null,
      n.output !== undefined ? el('div', { class: 'node-output' }, el('h5', {}, `Output${n.truncated ? ' (cut at the output limit)' : ''}${n.outputChars && n.output && n.outputChars > n.output.length ? `: first ${n.output.length} of ${n.outputChars} characters` : ''}`), md(n.output)) : null,
      el('details', { class: 'raw' }, el('summary', {}, 'Instructions and expected output'), el('p', {}, n.instructions ?? ''), el('p', { class: 'muted' }, `Expected: ${n.expectedOutput ?? ''}`)),
    );
  };

  // ---- delivery and artifacts ---------------------------------------------------------------------------------------------
  const artifactLink = (name) => el('a', { href: `${base}/artifacts/${encodeURIComponent(name)}`, download: name }, name);
  /** An output too large for history: its preview, and the whole of it as a download. */
  const claimView = (c) => el('div', { class: 'claim' },
    el('p', { class: 'muted small' }, `Too large for the run's history (${Math.round(c.claimCheck.bytes / 1024)} KiB): kept as `, artifactLink(c.claimCheck.name), '. Its beginning:'),
    md(c.preview ?? ''),
  );
  const deliveryPart = ({ delivery, artifacts }) => [
    el('h3', {}, 'Delivery'),
    delivery?.warning ? el('p', { class: 'notice warning', role: 'note', id: 'delivery-warning' }, el('b', {}, 'Warning: '), delivery.warning) : null,
    delivery?.destinations?.length
      ? el('table', { class: 'destinations' },
          el('thead', {}, el('tr', {}, ['#', 'Destination', 'Status', 'Attempts', 'Answer', 'When'].map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, delivery.destinations.map((d) =>
            el('tr', { 'data-destination': d.type, 'data-status': d.status },
              el('td', {}, String(d.n)),
              el('td', {}, el('b', {}, d.type), el('div', { class: 'muted small' }, d.target)),
              el('td', { class: `status-${d.status}` }, d.status, d.error ? el('div', { class: 'small error' }, d.error) : null),
              el('td', {}, String(d.attempts)),
              el('td', { class: 'small' }, [d.response?.statusCode ? `HTTP ${d.response.statusCode}` : '', d.response?.messageId ? `id ${d.response.messageId}` : ''].filter(Boolean).join(' · ') || '–', d.artifacts?.length ? el('div', {}, d.artifacts.map((a, i) => [i ? ', ' : '', artifactLink(a)])) : null),
              el('td', { class: 'small' }, d.at ? fmtTime(d.at) : '–'),
            ))),
        )
      : null,
    delivery ? el('p', { class: 'muted small' }, `A destination that fails for good: ${delivery.onFailure === 'fail' ? 'the run fails' : 'the run is done, with a warning'}.`) : null,
    artifacts?.length
      ? el('div', {}, el('h4', {}, 'Files'), el('ul', { class: 'plain', id: 'artifacts' }, artifacts.map((a) => el('li', {}, artifactLink(a.name), el('span', { class: 'muted small' }, ` ${Math.max(1, Math.round(a.bytes / 1024))} KiB · ${a.source}`)))))
      : null,
  ];

  // ---- data ----------------------------------------------------------------------------------------------------------------
  let lastStatus;
  const readRecovery = () =>
    api(`${base}/recovery`)
      .then((r) => {
        ui.recovery = r;
        render();
      })
      .catch(() => {});
  const source = new EventSource(`${base}/stream`);
  let opened = false;
  source.addEventListener('state', async (msg) => {
    opened = true;
    const next = JSON.parse(msg.data);
    await ready;
    state = next;
    if (state.status !== lastStatus) {
      lastStatus = state.status;
      void readRecovery();
    }
    render();
  });
  source.addEventListener('error', () => {
    if (opened) return;
    source.close();
    api(base).catch((err) => {
      parts.head.replaceChildren(el('h2', {}, 'Run not found'), el('p', {}, err.message), el('a', { href: '#/' }, 'Back to the board'));
    });
  });
  // Ages, durations and the recovery facts move on while the page is open.
  const ticker = setInterval(() => {
    render();
    if (state && !TERMINAL.includes(state.status)) void readRecovery();
  }, 15_000);
  ready.catch((err) => parts.head.replaceChildren(el('p', { class: 'error' }, `Could not load the page's libraries: ${err.message}`)));
  return () => {
    alive = false;
    source.close();
    clearInterval(ticker);
  };
}

const cutText = (s, n) => (!s ? '' : s.length > n ? `${s.slice(0, n)}…` : s);
/** A claim-check reference (contracts/artifacts.ts): an output kept as an artifact, a preview in history. */
const isClaim = (v) => typeof v === 'object' && v !== null && typeof v.claimCheck?.name === 'string';
