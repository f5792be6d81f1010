// The robot editor, drawn from the API's own description: the fields, their types, enums and limits come from the
// robot schema in /openapi.json (generated from the zod schemas the API validates with), so a field the API gains
// — a new delivery destination type, integration settings — appears here without a change to the page. The
// sections follow the product (Basic, Identity, Stages, Schedule & triggers, Approvals & budget, Delivery,
// Integrations); a field no section names goes to the one its name suggests. The API's 400 answers name each
// bad field (`details[].field`), and the message is shown at that field.
import { $$, api, capital, el, fmtInZone, loadScript, localZone, post } from './dom.js';
import { chatIntegrations } from './chat-integrations.js';
import { confirmAction } from './confirm.js';

let docPromise;
export const openApi = () => (docPromise ??= api('/openapi.json'));

export const SECTIONS = [
  { id: 'basic', title: 'Basic', fields: ['id', 'name', 'workspace', 'workMode', 'reportsTo', 'duty'] },
  { id: 'identity', title: 'Identity', fields: ['role', 'experts', 'tools'] },
  { id: 'stages', title: 'Stages', fields: ['stages'] },
  { id: 'schedule', title: 'Schedule & triggers', fields: ['schedule', 'continuous', 'webhook'] },
  { id: 'control', title: 'Approvals & budget', fields: ['approvals', 'budget', 'host', 'concurrencyLimit'] },
  { id: 'delivery', title: 'Delivery', fields: ['delivery'] },
  { id: 'integrations', title: 'Integrations', fields: [] },
];

/** The section a field without a place of its own goes to. */
function sectionFor(field) {
  const known = SECTIONS.find((s) => s.fields.includes(field));
  if (known) return known.id;
  if (/deliver/i.test(field)) return 'delivery';
  if (/integration|chat|platform|channel/i.test(field)) return 'integrations';
  if (/budget|approval|gate|limit/i.test(field)) return 'control';
  if (/schedule|trigger|hook/i.test(field)) return 'schedule';
  return 'basic';
}

const LABELS = {
  id: 'Id', name: 'Name', workspace: 'Workspace', workMode: 'Work mode', reportsTo: 'Reports to', duty: 'Standing task (duty)',
  role: 'Role and responsibilities', experts: 'Experts', tools: 'Tools', stages: 'Per-stage agents',
  inspiration: 'Inspiration', goals: 'Goals', tasks: 'Tasks', validation: 'Validation', delivery: 'Delivery',
  provider: 'Provider', model: 'Model', temperature: 'Temperature', promptAddition: 'Prompt addition', agent: 'Custom agent', instructions: 'Instructions',
  schedule: 'Schedule', every: 'Every', preset: 'Preset', cron: 'Cron expressions', calendar: 'Calendar times', timezone: 'Time zone',
  startAt: 'Not before', endAt: 'Not after', jitter: 'Jitter', overlap: 'If the previous run is still going', catchupWindow: 'Catch-up window', pauseOnFailure: 'Pause when a scheduled run fails',
  continuous: 'Continuous mode', pause: 'Pause between cycles', webhook: 'Webhook trigger', enabled: 'Enabled', filters: 'Payload filters', path: 'JSON path', equals: 'Equals',
  approvals: 'Approval gates', gates: 'Gates', at: 'Before', timeoutSeconds: 'Deadline (seconds)', onTimeout: 'At the deadline', escalationTimeoutSeconds: 'Second deadline after escalating (seconds)', maxRevisions: 'Revisions allowed per gate',
  budget: 'Budget', maxTokens: 'Most tokens per run', maxCostUsd: 'Most cost per run (USD)', host: 'Robot Host', maxTurns: 'Most host turns', concurrencyLimit: 'Runs at once',
  type: 'Type', url: 'URL', to: 'To', platform: 'Platform', channel: 'Channel', description: 'Description', second: 'Second', minute: 'Minute', hour: 'Hour', dayOfMonth: 'Day of month', month: 'Month', dayOfWeek: 'Day of week', comment: 'Comment',
};
const ENUM_LABELS = {
  on_demand: 'On demand (runs when triggered)', autonomous: 'Autonomous (schedule, continuous or webhooks)',
  skip: 'Skip that time', buffer_one: 'Run one after it', buffer_all: 'Run all after it', cancel_other: 'Cancel the old run', terminate_other: 'Terminate the old run', allow_all: 'Run both',
  reject: 'Reject', approve: 'Approve', escalate: 'Escalate to “reports to”', final: 'Final (before delivery takes effect)',
  hourly: 'Hourly', daily: 'Daily', weekly: 'Weekly',
};
const HELP = {
  id: 'Lower-case letters, digits, - and _; part of the robot\'s schedule and webhook URL. Leave empty for a generated one.',
  workMode: 'Schedules, continuous mode and webhooks run only in autonomous mode.',
  reportsTo: 'A name, or an http(s) URL that receives gate escalations.',
  duty: 'What scheduled, continuous and webhook runs do.',
  tools: 'One tool name per line: http_fetch, command (runs commands on a desktop, each after an approval).',
  cron: 'One expression per line, e.g. 0 9 * * MON-FRI (evaluated in the time zone below).',
  every: 'An interval such as 30s, 15m, 6h or 1d.',
  timezone: 'An IANA name such as Europe/Berlin; cron and calendar times are read in it (default UTC).',
  startAt: 'An ISO time such as 2030-01-31T09:00:00Z.', endAt: 'An ISO time such as 2030-12-31T18:00:00Z.',
  pause: 'e.g. 1m, 10m, 1h', jitter: 'A random delay added to each run, e.g. 30s', catchupWindow: 'How late a missed time may still run, e.g. 1m',
  promptAddition: 'Added to the stage\'s system prompt.', concurrencyLimit: 'Extra runs wait as Pending for a slot.',
};
const TEXTAREAS = new Set(['role', 'duty', 'instructions', 'promptAddition', 'description']);
/** Fields that name a stored credential (delivery destinations): offered the names /api/credentials knows. */
const CREDENTIAL_FIELDS = new Set(['credential', 'signingSecret']);
/** Optional objects shown behind a switch ("Use a schedule"), with what they start as. */
const SWITCHED = {
  schedule: { every: '1h' }, continuous: { pause: '1m' }, webhook: { enabled: true }, approvals: { gates: [{ at: 'final' }] }, budget: {}, host: { enabled: true }, agent: { name: '', instructions: '' },
  // Per-stage overrides (objects under `stages`).
  inspiration: {}, goals: {}, tasks: {}, validation: {}, delivery: {},
};

const labelOf = (key) => LABELS[key] ?? capital(String(key).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase());

// ---- schema helpers ------------------------------------------------------------------------------------------------

function deref(doc, s) {
  let out = s;
  while (out && out.$ref) out = doc.components.schemas[out.$ref.split('/').pop()];
  if (out?.allOf) {
    const parts = out.allOf.map((p) => deref(doc, p));
    out = { type: 'object', properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})), required: parts.flatMap((p) => p.required ?? []) };
  }
  return out ?? {};
}

const getIn = (obj, path) => path.reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
function setIn(obj, path, value) {
  let o = obj;
  for (let i = 0; i < path.length - 1; i++) {
    if (o[path[i]] === undefined || o[path[i]] === null || typeof o[path[i]] !== 'object') o[path[i]] = typeof path[i + 1] === 'number' ? [] : {};
    o = o[path[i]];
  }
  if (value === undefined) delete o[path.at(-1)];
  else o[path.at(-1)] = value;
}

/** Without empty strings, undefined and empty objects/arrays (array items are kept, so the API names a bad one). */
export function prune(v) {
  if (Array.isArray(v)) return v.map((x) => (x && typeof x === 'object' ? prune(x) ?? {} : x));
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p === undefined || p === '' || (typeof p === 'object' && p !== null && Object.keys(p).length === 0)) continue;
      out[k] = p;
    }
    return out;
  }
  return v;
}

// ---- schedule in words ---------------------------------------------------------------------------------------------

const UNIT = { ms: 'millisecond', s: 'second', m: 'minute', h: 'hour', d: 'day' };
export function durationWords(d) {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d ?? '');
  if (!m) return d ?? '';
  const n = Number(m[1]);
  return n === 1 ? `every ${UNIT[m[2]]}` : `every ${n} ${UNIT[m[2]]}s`;
}

function calendarWords(c) {
  const list = (v) => (Array.isArray(v) ? v.join(', ') : v);
  const time = c.hour !== undefined ? `at ${list(c.hour)}:${String(c.minute ?? 0).padStart(2, '0')}` : c.minute !== undefined ? `at minute ${list(c.minute)}` : 'every minute';
  const days = c.dayOfWeek ? ` on ${[c.dayOfWeek].flat().map((d) => capital(d.toLowerCase())).join(', ')}` : '';
  const dom = c.dayOfMonth !== undefined ? ` on day ${list(c.dayOfMonth)}` : '';
  const month = c.month ? ` in ${[c.month].flat().map((x) => capital(x.toLowerCase())).join(', ')}` : '';
  return `${time}${days}${dom}${month}`;
}

/** How often a robot runs, in words (cron expressions through cronstrue). */
export async function scheduleWords(r) {
  if ((r.workMode ?? 'on_demand') !== 'autonomous') return 'On demand: runs when triggered.';
  if (r.continuous) return `Continuously, pausing ${r.continuous.pause ?? '1m'} between runs.`;
  const s = r.schedule;
  if (!s) return r.webhook?.enabled ? 'On webhooks only.' : 'Autonomous, without a schedule.';
  const parts = [];
  if (s.every) parts.push(capital(durationWords(s.every)));
  if (s.preset) parts.push({ hourly: 'Every hour', daily: 'Every day', weekly: 'Every week' }[s.preset] ?? s.preset);
  if (s.cron?.length) {
    await loadScript('/vendor/cronstrue.js').catch(() => {});
    for (const expr of s.cron) {
      try {
        parts.push(window.cronstrue ? window.cronstrue.toString(expr, { use24HourTimeFormat: true, verbose: false }) : expr);
      } catch {
        parts.push(`${expr} (not a valid cron expression)`);
      }
    }
  }
  for (const c of s.calendar ?? []) parts.push(capital(calendarWords(c)));
  const zone = s.cron?.length || s.calendar?.length ? ` (${s.timezone ?? 'UTC'})` : '';
  return `${parts.join('; ')}${zone}.`;
}

// ---- the editor ----------------------------------------------------------------------------------------------------

/**
 * The editor of a robot's fields. `mode`: 'create' (POST /api/robots, with an id field) or 'edit' (PUT). `robot`: the
 * robot as the API shows it (edit). `onSaved(reply)` gets the API's answer (with the webhook secret when there is one).
 */
export async function robotEditor({ mode, robot, onSaved }) {
  const doc = await openApi();
  const root = deref(doc, doc.components.schemas[mode === 'create' ? 'CreateRobotBody' : 'RobotFields']);
  const fieldNames = Object.keys(root.properties ?? {});
  const model = {};
  if (robot) for (const k of fieldNames) if (robot[k] !== undefined) model[k] = structuredClone(robot[k]);
  if (model.webhook) delete model.webhook.url;

  // Chat integrations are connected through their own API (which stores the secrets): not edited as fields here.
  // The model keeps them, in step with the chat panel, so saving the other fields keeps the connections.
  const chatApi = !!doc.paths['/api/robots/{id}/integrations'];
  const managed = new Set(chatApi ? ['integrations'] : []);
  const chat = chatApi && robot ? chatIntegrations({ doc, robotId: robot.id, onChange: (list) => setIn(model, ['integrations'], list.length ? list : undefined) }) : undefined;
  const bySection = new Map(SECTIONS.map((s) => [s.id, []]));
  for (const f of fieldNames) if (!managed.has(f)) bySection.get(sectionFor(f)).push(f);
  const panels = new Map();
  const tabs = SECTIONS.map((s, i) =>
    el('button', { type: 'button', role: 'tab', id: `tab-${s.id}`, 'aria-controls': `panel-${s.id}`, 'aria-selected': String(i === 0), tabindex: i === 0 ? '0' : '-1', 'data-section': s.id, onclick: () => select(s.id) }, s.title),
  );
  const select = (id, focus = false) => {
    for (const t of tabs) {
      const on = t.dataset.section === id;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      if (on && focus) t.focus();
    }
    for (const [sid, p] of panels) p.hidden = sid !== id;
  };
  const tablist = el('div', { role: 'tablist', 'aria-label': 'Robot settings', class: 'tabs' }, tabs);
  tablist.addEventListener('keydown', (ev) => {
    const i = tabs.indexOf(document.activeElement);
    if (i < 0 || !['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key)) return;
    ev.preventDefault();
    const next = ev.key === 'Home' ? 0 : ev.key === 'End' ? tabs.length - 1 : (i + (ev.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
    select(tabs[next].dataset.section, true);
  });

  const formError = el('div', { class: 'error', id: 'robot-form-error', role: 'alert', hidden: true });
  const save = el('button', { type: 'submit', id: 'robot-save' }, mode === 'create' ? 'Create robot' : 'Save changes');
  const form = el('form', { id: 'robot-form', class: 'robot-form', novalidate: true }, tablist);
  const extras = { schedule: el('div', { class: 'schedule-summary', id: 'schedule-summary', role: 'status' }) };

  const renderSection = (s) => {
    const panel = panels.get(s.id);
    const focusedPath = document.activeElement?.closest?.('[data-path]')?.dataset.path;
    panel.replaceChildren(
      el('h3', { class: 'visually-hidden' }, s.title),
      ...bySection.get(s.id).map((f) => field(root.properties[f], [f], (root.required ?? []).includes(f))),
      ...(s.id === 'schedule' ? [extras.schedule] : []),
      ...(s.id === 'integrations' ? integrationsInfo() : []),
      ...(s.id === 'delivery' && doc.paths['/api/credentials'] ? [credentialsBox] : []),
      ...(bySection.get(s.id).length === 0 && s.id !== 'integrations' ? [el('p', { class: 'muted' }, 'Nothing to set here yet.')] : []),
    );
    if (focusedPath) panel.querySelector(`[data-path="${CSS.escape(focusedPath)}"]`)?.focus();
  };
  const sectionOf = (path) => SECTIONS.find((s) => s.id === sectionFor(path[0]));
  const rerender = (path) => {
    renderSection(sectionOf(path));
    void summarise();
  };

  for (const s of SECTIONS) {
    const panel = el('div', { role: 'tabpanel', id: `panel-${s.id}`, 'aria-labelledby': `tab-${s.id}`, class: 'tabpanel', hidden: s.id !== 'basic', 'data-section': s.id });
    panels.set(s.id, panel);
    form.append(panel);
  }
  form.append(formError, el('div', { class: 'actions' }, save));

  // ---- fields ----
  function wrap(path, label, control, help, opts = {}) {
    const id = `f-${path.join('-')}`;
    control.id = control.id || id;
    control.dataset.path = path.join('.');
    const err = el('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    const hint = help ? el('p', { class: 'hint', id: `${id}-help` }, help) : null;
    control.setAttribute('aria-describedby', [hint?.id, err.id].filter(Boolean).join(' '));
    return el('div', { class: `field${opts.inline ? ' inline' : ''}`, 'data-field': path.join('.') },
      opts.inline ? el('label', { for: control.id }, control, ` ${label}`) : [el('label', { for: control.id }, label), control],
      opts.after ?? null,
      hint,
      err,
    );
  }

  function field(schema, path, required) {
    const s = deref(doc, schema);
    const key = path.at(-1);
    const label = typeof key === 'number' ? `${key + 1}` : labelOf(key);
    const help = HELP[key] ?? s.description;
    const value = getIn(model, path);
    const variants = (s.anyOf ?? s.oneOf ?? []).map((v) => deref(doc, v));

    if (s.type === 'object' && s.properties) {
      const inner = () => Object.entries(s.properties).map(([k, ps]) => field(ps, [...path, k], (s.required ?? []).includes(k)));
      if (!required && key in SWITCHED) {
        const on = value !== undefined;
        const toggle = el('input', { type: 'checkbox', checked: on, id: `f-${path.join('-')}-on`, 'data-toggle': path.join('.') });
        toggle.addEventListener('change', () => {
          setIn(model, path, toggle.checked ? structuredClone(SWITCHED[key]) : undefined);
          rerender(path);
        });
        return el('fieldset', { class: 'group', 'data-field': path.join('.') },
          el('legend', {}, el('label', { for: toggle.id }, toggle, ` ${label}`)),
          help ? el('p', { class: 'hint' }, help) : null,
          on ? inner() : null,
        );
      }
      return el('fieldset', { class: 'group', 'data-field': path.join('.') }, el('legend', {}, label), help ? el('p', { class: 'hint' }, help) : null, inner());
    }

    if (s.type === 'array') {
      const items = deref(doc, s.items ?? {});
      const itemVariants = (items.oneOf ?? items.anyOf ?? []).map((v) => deref(doc, v));
      if (items.type === 'string' && items.enum) {
        const chosen = new Set(value ?? []);
        return el('fieldset', { class: 'group checks', 'data-field': path.join('.') }, el('legend', {}, label),
          items.enum.map((opt) => {
            const box = el('input', { type: 'checkbox', checked: chosen.has(opt), id: `f-${path.join('-')}-${opt}` });
            box.addEventListener('change', () => {
              const next = new Set(getIn(model, path) ?? []);
              if (box.checked) next.add(opt);
              else next.delete(opt);
              setIn(model, path, next.size ? [...next] : undefined);
            });
            return el('label', { for: box.id }, box, ` ${ENUM_LABELS[opt] ?? opt}`);
          }),
        );
      }
      if (items.type === 'object' || itemVariants.length) {
        const list = value ?? [];
        const itemName = labelOf(key).replace(/s$/, '').toLowerCase();
        return el('fieldset', { class: 'group list', 'data-field': path.join('.') },
          el('legend', {}, label),
          help ? el('p', { class: 'hint' }, help) : null,
          list.map((_, i) =>
            el('div', { class: 'item', 'data-item': `${path.join('.')}.${i}` },
              itemVariants.length ? variantField(itemVariants, [...path, i]) : Object.entries(items.properties ?? {}).map(([k, ps]) => field(ps, [...path, i, k], (items.required ?? []).includes(k))),
              el('button', { type: 'button', class: 'secondary small', 'data-remove': `${path.join('.')}.${i}`, onclick: () => {
                const arr = getIn(model, path) ?? [];
                arr.splice(i, 1);
                setIn(model, path, arr.length ? arr : undefined);
                rerender(path);
              } }, `Remove ${itemName}`),
            ),
          ),
          el('button', { type: 'button', class: 'secondary small', 'data-add': path.join('.'), onclick: () => {
            const arr = getIn(model, path) ?? [];
            const first = itemVariants[0];
            arr.push(first ? { type: first.properties?.type?.enum?.[0] } : {});
            setIn(model, path, arr);
            rerender(path);
          } }, `Add ${itemName}`),
        );
      }
      // A list of plain values: one per line.
      const box = el('textarea', { rows: '3', spellcheck: 'false' });
      box.value = (value ?? []).join('\n');
      box.addEventListener('input', () => {
        const lines = box.value.split('\n').map((x) => x.trim()).filter(Boolean);
        setIn(model, path, lines.length ? lines.map((x) => (items.type === 'integer' || items.type === 'number' ? Number(x) : x)) : undefined);
        void summarise();
      });
      return wrap(path, label, box, help ?? 'One per line.');
    }

    if (variants.length) {
      // A value or a list of values (calendar fields, several addresses): "9" or "9, 17".
      const numeric = variants.some((v) => v.type === 'integer' || v.type === 'number');
      const enums = variants.flatMap((v) => v.enum ?? deref(doc, v.items ?? {}).enum ?? []);
      const typed = (x) => {
        if (numeric && /^-?\d+$/.test(x)) return Number(x);
        return enums.find((e) => e.toLowerCase() === x.toLowerCase()) ?? x;
      };
      const input = el('input', { type: 'text', autocomplete: 'off' });
      input.value = value === undefined ? '' : [value].flat().join(', ');
      input.addEventListener('input', () => {
        const parts = input.value.split(',').map((x) => x.trim()).filter(Boolean).map(typed);
        setIn(model, path, parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : parts);
        void summarise();
      });
      return wrap(path, label, input, help ?? `A value or a comma-separated list${enums.length ? ` (${enums.slice(0, 3).join(', ')}, …)` : ''}.`);
    }

    if (s.enum) {
      const select = el('select', {},
        !required || s.default === undefined ? el('option', { value: '' }, s.default !== undefined ? `Default (${ENUM_LABELS[s.default] ?? s.default})` : '—') : null,
        s.enum.map((opt) => el('option', { value: opt }, ENUM_LABELS[opt] ?? opt)),
      );
      select.value = value ?? (required && s.default === undefined ? s.enum[0] : '');
      if (required && value === undefined && s.default === undefined) setIn(model, path, s.enum[0]);
      select.addEventListener('change', () => {
        setIn(model, path, select.value || undefined);
        void summarise();
      });
      return wrap(path, label, select, help);
    }

    if (s.type === 'boolean') {
      const box = el('input', { type: 'checkbox', checked: value ?? s.default ?? false });
      box.addEventListener('change', () => setIn(model, path, box.checked));
      return wrap(path, label, box, help, { inline: true });
    }

    if (s.type === 'integer' || s.type === 'number') {
      const input = el('input', { type: 'number', min: s.minimum ?? s.exclusiveMinimum, max: s.maximum, step: s.type === 'integer' ? '1' : 'any', inputmode: s.type === 'integer' ? 'numeric' : 'decimal' });
      input.value = value ?? '';
      if (s.default !== undefined) input.placeholder = `default ${s.default}`;
      input.addEventListener('input', () => setIn(model, path, input.value === '' ? undefined : Number(input.value)));
      return wrap(path, label, input, help);
    }

    // A string.
    const long = TEXTAREAS.has(key) || (s.maxLength ?? 0) > 400;
    const input = long ? el('textarea', { rows: key === 'role' || key === 'instructions' ? '5' : '3', maxlength: s.maxLength }) : el('input', { type: s.format === 'email' ? 'email' : s.format === 'uri' ? 'url' : 'text', maxlength: s.maxLength, autocomplete: 'off' });
    input.value = value ?? '';
    if (s.default !== undefined) input.placeholder = `default ${s.default}`;
    if (key === 'timezone') {
      input.setAttribute('list', 'time-zones');
      input.placeholder = `e.g. ${localZone()}`;
    }
    if (CREDENTIAL_FIELDS.has(key)) input.setAttribute('list', 'credential-names');
    input.addEventListener('input', () => {
      setIn(model, path, input.value === '' ? undefined : input.value);
      if (path[0] === 'schedule' || path[0] === 'continuous' || key === 'workMode') void summarise();
    });
    const after = key === 'role' && path.length === 1 ? generateButton(input) : null;
    return wrap(path, label, input, help, { after });
  }

  /** One item of a list whose items are one of several shapes told apart by `type` (delivery destinations). */
  function variantField(variants, path) {
    const value = getIn(model, path) ?? {};
    const typeOf = (v) => v.properties?.type?.enum?.[0];
    const chosen = variants.find((v) => typeOf(v) === value.type) ?? variants[0];
    const select = el('select', {}, variants.map((v) => el('option', { value: typeOf(v) }, capital(typeOf(v) ?? '?'))));
    select.value = typeOf(chosen);
    select.addEventListener('change', () => {
      setIn(model, path, { type: select.value });
      rerender(path);
    });
    return [
      wrap([...path, 'type'], 'Type', select),
      ...Object.entries(chosen.properties ?? {}).filter(([k]) => k !== 'type').map(([k, ps]) => field(ps, [...path, k], (chosen.required ?? []).includes(k))),
    ];
  }

  function generateButton(roleInput) {
    const status = el('span', { class: 'muted small', role: 'status' });
    const button = el('button', { type: 'button', class: 'secondary small', id: 'generate-role', onclick: async () => {
      const name = (model.name ?? '').trim();
      if (!name) {
        status.textContent = 'Give the robot a name first (Basic).';
        return;
      }
      button.disabled = true;
      status.textContent = 'Drafting…';
      try {
        const out = await post('/api/robots/generate-role', { name });
        model.role = out.role;
        roleInput.value = out.role;
        status.textContent = out.offline ? 'Drafted by the offline model.' : 'Drafted.';
      } catch (err) {
        status.textContent = err.message;
      } finally {
        button.disabled = false;
      }
    } }, 'Generate');
    return el('div', { class: 'generate' }, button, status);
  }

  function integrationsInfo() {
    const id = robot?.id ?? model.id ?? '<robot id>';
    const out = [
      el('h4', {}, 'Webhook'),
      el('p', {}, robot?.webhook?.enabled ? ['Signed requests to ', el('code', {}, `${location.origin}${robot.webhook.url}`), ' start a run (enable it under Schedule & triggers).'] : 'Enable the webhook trigger under Schedule & triggers to start runs from other systems.'),
    ];
    if (doc.paths['/v1/chat/completions']) {
      out.push(el('h4', {}, 'API access'), el('p', {}, 'Any OpenAI client can call this robot: ', el('code', {}, `${location.origin}/v1/chat/completions`), ' with ', el('code', {}, `"model": "${id}"`), '.'));
    }
    if (chat) out.push(chat.element);
    else if (chatApi) out.push(el('h4', {}, 'Chat platforms'), el('p', { class: 'muted' }, 'Create the robot first; then connect Telegram, Slack, Discord, Lark or DingTalk here.'));
    else if (!fieldNames.some((f) => sectionFor(f) === 'integrations')) out.push(el('p', { class: 'muted' }, 'Chat platforms appear here once the API offers them.'));
    return out;
  }

  /**
   * Credentials that destinations name (bot tokens, webhook URLs, signing secrets): stored encrypted by the API,
   * never shown again — this lists names only, stores a new value, deletes after a confirmation.
   */
  const credentialsBox = el('div', { class: 'credentials', id: 'credentials' });
  const names = el('datalist', { id: 'credential-names' });
  async function refreshCredentials() {
    let list = [];
    try {
      ({ credentials: list } = await api('/api/credentials'));
    } catch (err) {
      credentialsBox.replaceChildren(el('p', { class: 'error' }, err.message));
      return;
    }
    names.replaceChildren(...list.map((c) => el('option', { value: c.name })));
    const name = el('input', { id: 'credential-name', autocomplete: 'off', placeholder: 'e.g. slack-bot' });
    const value = el('input', { id: 'credential-value', type: 'password', autocomplete: 'new-password' });
    const description = el('input', { id: 'credential-description', autocomplete: 'off' });
    const status = el('p', { class: 'hint', role: 'status' });
    credentialsBox.replaceChildren(
      el('h4', {}, 'Credentials'),
      el('p', { class: 'hint' }, 'Destinations name a credential; its value is stored encrypted and never shown again.'),
      list.length
        ? el('ul', { class: 'plain' }, list.map((c) => el('li', { 'data-credential': c.name },
            el('code', {}, c.name), c.description ? ` — ${c.description}` : '', ' ',
            el('button', { type: 'button', class: 'secondary small', onclick: async () => {
              const { ok } = await confirmAction({ title: `Delete the credential ${c.name}?`, text: 'Destinations that name it stop delivering until it is stored again.', ok: 'Delete', danger: true });
              if (!ok) return;
              await api(`/api/credentials/${encodeURIComponent(c.name)}`, { method: 'DELETE' }).catch((err) => (status.textContent = err.message));
              void refreshCredentials();
            } }, 'Delete…'),
          )))
        : el('p', { class: 'muted' }, 'None stored yet.'),
      el('div', { class: 'credential-new' },
        el('label', { for: name.id }, 'Name'), name,
        el('label', { for: value.id }, 'Value (secret)'), value,
        el('label', { for: description.id }, 'Description (optional)'), description,
        el('div', { class: 'actions' }, el('button', { type: 'button', class: 'secondary', id: 'credential-store', onclick: async () => {
          try {
            await api(`/api/credentials/${encodeURIComponent(name.value.trim())}`, { method: 'PUT', body: { value: value.value, ...(description.value.trim() ? { description: description.value.trim() } : {}) } });
            value.value = '';
            status.textContent = `Stored ${name.value.trim()}.`;
            void refreshCredentials();
          } catch (err) {
            status.textContent = err.message;
          }
        } }, 'Store credential')),
        status,
      ),
    );
  }

  async function summarise() {
    const words = await scheduleWords(model).catch(() => '');
    const next = robot?.state?.nextRunTimes ?? [];
    extras.schedule.replaceChildren(
      el('p', {}, el('b', {}, 'In words: '), el('span', { id: 'schedule-words' }, words)),
      robot
        ? el('div', {},
            el('b', {}, robot.state?.paused ? 'Paused: no next run.' : next.length ? 'Next runs (from Temporal):' : 'No next run.'),
            next.length ? el('ul', { class: 'plain', id: 'next-runs' }, next.slice(0, 5).map((t) => el('li', {}, el('time', { datetime: t }, fmtInZone(t, robot.schedule?.timezone))))) : null,
            el('p', { class: 'hint' }, 'Saved changes show their next runs here.'),
          )
        : el('p', { class: 'hint' }, 'The next run times come from Temporal once the robot is created.'),
    );
  }

  // ---- errors and saving ----
  const clearErrors = () => {
    formError.hidden = true;
    for (const e of $$('.field-error', form)) {
      e.hidden = true;
      e.textContent = '';
    }
    for (const c of $$('[aria-invalid]', form)) c.removeAttribute('aria-invalid');
  };

  /** The API's 400 names each field: show each message at its field (or its nearest shown parent). */
  const showErrors = (message, details) => {
    const problems = Array.isArray(details) ? details.filter((d) => d && typeof d.field === 'string') : [];
    let first;
    const unplaced = [];
    for (const p of problems) {
      const path = p.field.split('.');
      let target;
      for (let n = path.length; n > 0 && !target; n--) target = form.querySelector(`[data-field="${CSS.escape(path.slice(0, n).join('.'))}"]`);
      if (!target) {
        unplaced.push(`${p.field || 'robot'}: ${p.message}`);
        continue;
      }
      const err = target.querySelector(':scope > .field-error') ?? target.appendChild(el('p', { class: 'field-error' }));
      err.textContent = err.textContent ? `${err.textContent}; ${p.message}` : p.message;
      err.hidden = false;
      target.querySelector('[data-path]')?.setAttribute('aria-invalid', 'true');
      first ??= target;
    }
    formError.replaceChildren(
      el('p', {}, problems.length ? `The API refused ${problems.length === 1 ? 'one field' : `${problems.length} fields`}; see the messages at the fields.` : message),
      unplaced.length ? el('ul', {}, unplaced.map((u) => el('li', {}, u))) : null,
    );
    formError.hidden = false;
    if (first) {
      select(first.closest('[role=tabpanel]').dataset.section);
      (first.querySelector('[data-path]') ?? first.querySelector('input, select, textarea'))?.focus();
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    save.disabled = true;
    try {
      const body = prune(model);
      const reply = mode === 'create' ? await post('/api/robots', body) : await api(`/api/robots/${encodeURIComponent(robot.id)}`, { method: 'PUT', body });
      onSaved(reply);
    } catch (err) {
      showErrors(err.message, err.details);
    } finally {
      save.disabled = false;
    }
  });

  for (const s of SECTIONS) renderSection(s);
  void summarise();
  if (doc.paths['/api/credentials']) {
    document.getElementById('credential-names')?.remove();
    document.body.append(names);
    void refreshCredentials();
  }
  if (!document.getElementById('time-zones') && Intl.supportedValuesOf) {
    document.body.append(el('datalist', { id: 'time-zones' }, Intl.supportedValuesOf('timeZone').map((z) => el('option', { value: z }))));
  }
  return { element: form, model, select };
}
