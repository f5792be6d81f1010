// The "New run" dialog: a task, a compound goal, or a command on a chosen desktop; run by the built-in robot, a
// stored robot, or an ad-hoc one described here. Also what "Assign task" on a robot's page opens.
import { $, $$, el, post } from './dom.js';
import { on, store } from './store.js';

const ADHOC = '__adhoc';

/** `echo "two words"` → ['echo', 'two words'] (no shell: quotes only group words). */
export function splitCommand(line) {
  const out = [];
  for (const m of String(line).matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const kind = () => $('#run-form input[name=kind]:checked').value;

function fillRobots(selected) {
  const select = $('#run-robot');
  const current = selected ?? select.value;
  select.replaceChildren(
    el('option', { value: '' }, 'Built-in robot (Mission Control)'),
    ...store.robots.map((r) => el('option', { value: r.id }, `${r.name} (${r.id})`)),
    el('option', { value: ADHOC }, 'Ad-hoc robot: describe one…'),
  );
  select.value = [...select.options].some((o) => o.value === current) ? current : '';
}

function fillDesktops() {
  const select = $('#run-desktop');
  const current = select.value;
  const queues = [...new Set((store.fleet?.workers ?? []).flatMap((w) => w.desktopQueues ?? []))].sort();
  select.replaceChildren(...queues.map((q) => el('option', { value: q }, q)));
  if (queues.includes(current)) select.value = current;
  $('#desktop-hint').textContent = queues.length
    ? `${queues.length} desktop${queues.length === 1 ? '' : 's'} connected.`
    : 'No desktop is connected. Start one on the machine that should run the command: npm run desktop -- --queue <name>';
}

function sync() {
  const k = kind();
  const robot = $('#run-robot').value;
  $('#adhoc-fields').hidden = robot !== ADHOC;
  $('#command-fields').hidden = k !== 'command';
  $('#task-options').hidden = k !== 'task';
  $('#task-label').textContent = k === 'compound' ? 'Goal (it is planned as a graph of tasks)' : k === 'command' ? 'What the command is for' : 'Task';
  if (k === 'command') fillDesktops();
}

export function openRunForm({ robotId, host } = {}) {
  fillRobots(robotId ?? '');
  $('#opt-host').checked = !!host;
  $('#opt-review').checked = false;
  $('#form-error').hidden = true;
  sync();
  $('#run-dialog').showModal();
  $('#task').focus();
}

function fail(message) {
  const error = $('#form-error');
  error.textContent = message;
  error.hidden = false;
}

async function submit() {
  const k = kind();
  const task = $('#task').value.trim();
  const robotChoice = $('#run-robot').value;
  const adhoc = robotChoice === ADHOC ? { name: $('#adhoc-name').value.trim(), role: $('#adhoc-role').value.trim() } : undefined;
  if (adhoc && (!adhoc.name || !adhoc.role)) return fail('Give the ad-hoc robot a name and a role.');
  const robotId = robotChoice && robotChoice !== ADHOC ? robotChoice : undefined;
  let id;
  if (k === 'compound') {
    if (!task) return fail('Describe the goal.');
    if (adhoc) return fail('A compound goal runs with the built-in robot or a stored one.');
    ({ id } = await post('/task/compound', { goal: task, ...(robotId ? { robotId } : {}) }));
  } else if (k === 'command') {
    const desktop = $('#run-desktop').value;
    const argv = splitCommand($('#run-command').value);
    if (!desktop) return fail('Choose a desktop (none is connected).');
    if (!argv.length) return fail('Write the command to run.');
    const stored = robotId ? store.robots.find((r) => r.id === robotId) : undefined;
    if (stored && !(stored.tools ?? []).includes('command')) return fail(`${stored.name} may not run commands: add "command" to its tools, or pick the built-in or an ad-hoc robot.`);
    const line = argv.join(' ');
    const body = {
      task: task || `Run ${line} on ${desktop}`,
      dag: [
        {
          id: 'command',
          title: `Run ${argv[0]} on ${desktop}`.slice(0, 200),
          instructions: `Run ${line} on the desktop ${desktop}`.slice(0, 8000),
          kind: 'command',
          tool: 'command',
          args: { argv },
          worker: desktop,
          dependsOn: [],
          expectedOutput: 'The output of the command',
        },
      ],
      ...(robotId
        ? { robotId }
        : { robot: { name: adhoc?.name ?? 'Command runner', role: adhoc?.role ?? 'Runs approved commands on a desktop and reports their output.', tools: ['command'] } }),
    };
    ({ id } = await post('/api/runs', body));
  } else {
    if (!task) return fail('Describe the task.');
    const body = {
      task,
      ...(robotId ? { robotId } : {}),
      ...(adhoc ? { robot: adhoc } : {}),
      ...($('#opt-review').checked ? { approvals: { gates: [{ at: 'final' }] } } : {}),
      ...($('#opt-host').checked ? { host: true } : {}),
    };
    ({ id } = await post('/api/runs', body));
  }
  $('#run-dialog').close();
  $('#task').value = '';
  $('#run-command').value = '';
  location.hash = `#/run/${encodeURIComponent(id)}`;
}

export function initRunForm() {
  for (const input of $$('#run-form input[name=kind]')) input.addEventListener('change', sync);
  $('#run-robot').addEventListener('change', sync);
  $('#run-cancel').addEventListener('click', () => $('#run-dialog').close());
  $('#run-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('#form-error').hidden = true;
    const button = $('#run-start');
    button.disabled = true;
    submit()
      .catch((err) => fail(err.message))
      .finally(() => (button.disabled = false));
  });
  on('robots', () => $('#run-dialog').open || fillRobots());
  on('fleet', () => !$('#command-fields').hidden && fillDesktops());
}
