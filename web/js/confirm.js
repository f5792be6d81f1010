// Every destructive action asks first, in one dialog: a title, what will happen, an optional reason.
import { $ } from './dom.js';

/**
 * Resolves `{ ok, reason }` once the person chose. `reason: { label, required }` adds a text box (a reason to
 * reject, feedback) whose text comes back as `reason`.
 */
export function confirmAction({ title, text, ok = 'OK', cancel = 'Keep as it is', danger = false, reason }) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  const okButton = $('#confirm-ok');
  okButton.textContent = ok;
  okButton.className = danger ? 'danger' : '';
  $('#confirm-cancel').textContent = cancel;
  const box = $('#confirm-reason-box');
  const input = $('#confirm-reason');
  box.hidden = !reason;
  input.value = '';
  if (reason) $('#confirm-reason-label').textContent = reason.label;
  dialog.returnValue = '';
  dialog.showModal();
  (reason ? input : okButton).focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve({ ok: dialog.returnValue === 'ok', reason: input.value.trim() || undefined }),
      { once: true },
    );
  });
}
