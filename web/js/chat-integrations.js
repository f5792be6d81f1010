// A robot's chat platforms in its Integrations section: per platform its status (connected or not, conversations,
// last event, last error), the inbound URL to paste into the platform, and connect / test / disconnect — all through
// /api/robots/:id/integrations. The connect form is drawn from the API's own body schema (ConnectIntegrationBody in
// /openapi.json: one variant per platform, titled with its name; secret fields have format "password").
// Secrets are write-only: typed into password fields, sent once, and the fields are removed from the page as soon
// as the dialog closes; the API never returns them, so nothing here can show them again.
import { $, api, el, fmtAge, fmtDateTime, post } from './dom.js';
import { confirmAction } from './confirm.js';

const NAMES = { telegram: 'Telegram', slack: 'Slack', discord: 'Discord', lark: 'Lark / Feishu', dingtalk: 'DingTalk' };
const LABELS = {
  botToken: 'Bot token', signingSecret: 'Signing secret', applicationId: 'Application ID', publicKey: 'Public key',
  appId: 'App ID', appSecret: 'App Secret', verificationToken: 'Verification Token', encryptKey: 'Encrypt Key', appKey: 'AppKey (Client ID)',
  approvers: 'Approvers', users: 'Users',
};
const LIST_HELP = {
  approvers: 'Platform user ids who may decide at gates and cancel any run, one per line. Empty: nobody decides from the chat.',
  users: 'Platform user ids who may talk to the robot, one per line. Empty: anyone who can message the bot.',
};
const STATES = { connected: 'Connected', incomplete: 'Credentials missing', off: 'Not connected' };

const deref = (doc, s) => {
  let out = s;
  while (out && out.$ref) out = doc.components.schemas[out.$ref.split('/').pop()];
  return out ?? {};
};

/** The connect body of one platform, from the API's document. */
function connectSchema(doc, platform) {
  const union = deref(doc, doc.components.schemas.ConnectIntegrationBody);
  return (union.anyOf ?? union.oneOf ?? []).map((v) => deref(doc, v)).find((v) => v.title === platform);
}

/**
 * The chat platforms of robot `robotId`. `onChange(integrations)` gets the definition's integrations after every
 * load (connecting and disconnecting make a new version of the robot; the editor keeps its copy in step).
 */
export function chatIntegrations({ doc, robotId, onChange }) {
  const base = `/api/robots/${encodeURIComponent(robotId)}/integrations`;
  const list = el('div', { class: 'chat-platforms' }, el('p', { class: 'muted' }, 'Loading…'));
  /** What the last connect / test / disconnect said, per platform (kept across reloads). */
  const notes = new Map();
  const element = el('div', { id: 'chat-integrations', class: 'chat-integrations' },
    el('div', { class: 'panel-head' },
      el('h4', {}, 'Chat platforms'),
      el('button', { type: 'button', class: 'secondary small', id: 'chat-refresh', onclick: () => void refresh() }, 'Refresh status'),
    ),
    el('p', { class: 'hint' }, 'People talk to the robot from these apps: a message starts a run, progress and the result come back to the chat, and approvers decide at gates with buttons.'),
    list,
  );

  async function refresh() {
    let data;
    try {
      data = await api(base);
    } catch (err) {
      list.replaceChildren(el('p', { class: 'error' }, err.message));
      return;
    }
    onChange?.(data.integrations.map((s) => s.integration));
    const connected = new Map(data.integrations.map((s) => [s.platform, s]));
    list.replaceChildren(...data.platforms.map((offer) => card(offer, connected.get(offer.platform))));
  }

  function card(offer, status) {
    const p = offer.platform;
    const state = !status ? 'off' : status.connected ? 'connected' : 'incomplete';
    const url = el('input', { id: `chat-${p}-url`, readonly: true, value: status?.inboundUrl ?? offer.inboundUrl, 'data-field': 'inbound-url' });
    const note = notes.get(p);
    const i = status?.integration;
    return el('section', { class: 'chat-platform', id: `chat-${p}`, 'data-platform': p, 'data-state': state, 'aria-labelledby': `chat-${p}-title` },
      el('div', { class: 'panel-head' },
        el('h5', { id: `chat-${p}-title` }, NAMES[p] ?? p),
        el('span', { class: `badge ${state === 'connected' ? 'on' : state === 'incomplete' ? 'off' : ''}`, 'data-field': 'status' }, STATES[state]),
      ),
      el('label', { for: url.id }, 'Inbound URL (paste it into the platform)'),
      el('div', { class: 'copy-row' }, url, el('button', { type: 'button', class: 'secondary small', 'data-action': 'copy', 'aria-label': `Copy the ${NAMES[p]} inbound URL`, onclick: () => copy(url) }, 'Copy')),
      el('p', { class: 'hint' }, status?.setup ?? offer.setup),
      status
        ? el('ul', { class: 'plain small chat-facts' },
            state === 'incomplete' ? el('li', { class: 'error', 'data-field': 'missing' }, `Missing credentials: ${status.missingCredentials.join(', ')}`) : null,
            el('li', { 'data-field': 'conversations' }, `Conversations: ${status.conversations}`),
            el('li', { 'data-field': 'last-event' }, 'Last event: ', status.lastEvent ? [el('time', { datetime: status.lastEvent.at, title: fmtDateTime(status.lastEvent.at) }, fmtAge(status.lastEvent.at)), ` (${status.lastEvent.type})`] : 'none yet'),
            el('li', {}, `Approvers: ${i.approvers?.length ? i.approvers.join(', ') : 'nobody'}`),
            el('li', {}, `Users: ${i.users ? i.users.join(', ') || 'nobody' : 'anyone who can message the bot'}`),
          )
        : null,
      status?.lastError
        ? el('p', { class: 'error', 'data-field': 'last-error' }, 'Last error (', el('time', { datetime: status.lastError.at, title: fmtDateTime(status.lastError.at) }, fmtAge(status.lastError.at)), `): ${status.lastError.message}`)
        : null,
      el('p', { class: `hint${note?.bad ? ' error' : ''}`, role: 'status', 'data-field': 'note' }, note?.text ?? ''),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: status ? 'secondary' : '', 'data-action': 'connect', onclick: () => openConnect(p, status) }, status ? 'Reconnect…' : 'Connect…'),
        status ? el('button', { type: 'button', class: 'secondary', 'data-action': 'test', onclick: (ev) => test(p, ev.currentTarget) }, 'Test') : null,
        status ? el('button', { type: 'button', class: 'danger', 'data-action': 'disconnect', onclick: () => disconnect(p) }, 'Disconnect…') : null,
      ),
    );
  }

  async function copy(input) {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      document.execCommand('copy');
    }
  }

  async function test(p, button) {
    button.disabled = true;
    try {
      const r = await post(`${base}/${p}/test`);
      notes.set(p, { text: r.ok ? `Test passed: ${r.detail}` : `Test failed: ${r.detail}`, bad: !r.ok });
    } catch (err) {
      notes.set(p, { text: `Test failed: ${err.message}`, bad: true });
    }
    await refresh();
  }

  async function disconnect(p) {
    const { ok } = await confirmAction({
      title: `Disconnect ${NAMES[p]}?`,
      text: 'The robot stops answering there: the credentials stored for it are deleted and its inbound URL refuses requests. Past conversations and runs stay in Temporal.',
      ok: 'Disconnect',
      danger: true,
    });
    if (!ok) return;
    try {
      const r = await api(`${base}/${p}`, { method: 'DELETE' });
      notes.set(p, { text: `Disconnected (${r.detail}).` });
    } catch (err) {
      notes.set(p, { text: err.message, bad: true });
    }
    await refresh();
  }

  function openConnect(p, status) {
    const schema = connectSchema(doc, p);
    const dialog = $('#integration-dialog');
    const fields = $('#integration-fields');
    const error = $('#integration-error');
    if (!schema) return;
    $('#integration-title').textContent = `${status ? 'Reconnect' : 'Connect'} ${NAMES[p] ?? p}`;
    $('#integration-setup').textContent = status?.setup ?? '';
    $('#integration-save').textContent = status ? 'Reconnect' : 'Connect';
    error.hidden = true;
    const required = new Set(schema.required ?? []);
    const controls = Object.entries(schema.properties ?? {}).map(([key, ps]) => {
      const id = `integration-${key}`;
      const s = deref(doc, ps);
      let control;
      if (s.type === 'array') {
        control = el('textarea', { id, rows: '2', spellcheck: 'false' });
        control.value = (status?.integration?.[key] ?? []).join('\n');
      } else if (s.format === 'password') {
        control = el('input', { id, type: 'password', autocomplete: 'new-password', spellcheck: 'false' });
      } else {
        control = el('input', { id, type: 'text', autocomplete: 'off', spellcheck: 'false' });
        control.value = status?.integration?.[key] ?? '';
      }
      control.dataset.key = key;
      if (required.has(key)) control.required = true;
      const help = LIST_HELP[key] ?? (s.format === 'password' ? `${s.description ?? ''}${status ? ' (type it again to reconnect)' : ''}` : s.description);
      const hint = help ? el('p', { class: 'hint', id: `${id}-help` }, help) : null;
      const err = el('p', { class: 'field-error', id: `${id}-error`, hidden: true });
      control.setAttribute('aria-describedby', [hint?.id, err.id].filter(Boolean).join(' '));
      return el('div', { class: 'field', 'data-field': key }, el('label', { for: id }, `${LABELS[key] ?? key}${required.has(key) ? ' (required)' : ''}`), control, hint, err);
    });
    fields.replaceChildren(...controls);

    const form = $('#integration-form');
    const save = $('#integration-save');
    // The typed secrets leave the page with the dialog, however it closes.
    dialog.addEventListener('close', () => fields.replaceChildren(), { once: true });
    $('#integration-cancel').onclick = () => dialog.close();
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      for (const e of fields.querySelectorAll('.field-error')) e.hidden = true;
      for (const c of fields.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
      const body = {};
      for (const c of fields.querySelectorAll('[data-key]')) {
        const key = c.dataset.key;
        if (c.tagName === 'TEXTAREA') {
          const lines = c.value.split('\n').map((x) => x.trim()).filter(Boolean);
          // No users listed: anyone may talk to the robot (the field is left out); approvers may be none.
          if (lines.length || key === 'approvers') body[key] = lines;
        } else if (c.value.trim()) body[key] = c.value.trim();
      }
      save.disabled = true;
      try {
        const r = await api(`${base}/${p}`, { method: 'PUT', body });
        notes.set(p, { text: r.check.ok ? `Connected: ${r.check.detail}` : `Connected, but the check with ${NAMES[p]} failed: ${r.check.detail}`, bad: !r.check.ok });
        dialog.close();
        await refresh();
      } catch (err) {
        const details = Array.isArray(err.details) ? err.details : [];
        let placed = false;
        for (const d of details) {
          const key = String(d.field ?? '').split('.')[0];
          const box = fields.querySelector(`[data-field="${CSS.escape(key)}"]`);
          if (!box) continue;
          const e = box.querySelector('.field-error');
          e.textContent = d.message;
          e.hidden = false;
          box.querySelector('[data-key]')?.setAttribute('aria-invalid', 'true');
          placed = true;
        }
        error.textContent = placed ? 'The API refused some fields; see the messages at the fields.' : err.message;
        error.hidden = false;
      } finally {
        save.disabled = false;
      }
    };
    dialog.showModal();
    fields.querySelector('[data-key]')?.focus();
  }

  void refresh();
  return { element, refresh };
}
