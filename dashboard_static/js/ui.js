// Small shared widgets: fields with labels, tables, pager, badges, toasts, confirmation, downloads, forms.
import { h, nextId, replace } from './dom.js';

export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  const item = h('div', { class: ['toast-item', kind === 'error' && 'toast-error'], text: message });
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

export function errorText(err) {
  if (!err) return 'Something went wrong.';
  if (err.status === 403) return `Not allowed: ${err.message}`;
  return err.message || String(err);
}

export function alertBox(message, kind = 'error') {
  return h('div', { class: ['alert', `alert-${kind}`], role: kind === 'error' ? 'alert' : 'status', text: message });
}

/** A labeled field: field('Name', h('input', {...}), 'hint'). The label is bound with for/id. */
export function field(label, control, hint) {
  const id = control.id || nextId('field');
  control.id = id;
  const parts = [h('label', { for: id, text: label }), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('p', { class: 'hint', id: hintId, text: hint }));
  }
  return h('div', { class: 'field' }, parts);
}

export function input(name, attrs = {}) {
  return h('input', { name, type: 'text', ...attrs });
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map(([v, label]) => h('option', { value: v, text: label, selected: String(v) === String(value ?? '') })));
}

export function checkbox(label, attrs = {}) {
  const box = h('input', { type: 'checkbox', ...attrs });
  return { box, el: h('label', { class: 'check' }, box, label) };
}

export function button(text, onclick, cls = '', attrs = {}) {
  return h('button', { type: 'button', class: ['btn', cls], onclick, text, ...attrs });
}

/** Disable a button while an async action runs; report errors as a toast. */
export async function busy(btn, fn) {
  if (btn) btn.disabled = true;
  try {
    return await fn();
  } catch (err) {
    toast(errorText(err), 'error');
    return undefined;
  } finally {
    if (btn) btn.disabled = false;
  }
}

export function statusBadge(status) {
  return h('span', { class: ['badge', `badge-${status === 'enabled' ? 'enabled' : 'disabled'}`], text: status || '?' });
}

export function tags(list) {
  return (list || []).map((t) => h('span', { class: 'tag', text: t }));
}

/** table(['Name', 'Id'], rows) where each row is an array of cells (strings or nodes) or a <tr>. */
export function table(headers, rows, { caption, empty = 'Nothing here yet.', label } = {}) {
  const head = h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col', text: t }))));
  const body = h('tbody', {});
  if (!rows.length) {
    body.append(h('tr', {}, h('td', { colspan: headers.length, class: 'muted', text: empty })));
  }
  for (const row of rows) {
    body.append(row instanceof Node ? row : h('tr', {}, row.map((cell) => h('td', {}, cell))));
  }
  const t = h('table', { 'aria-label': label }, caption ? h('caption', { text: caption }) : null, head, body);
  return h('div', { class: 'table-wrap' }, t);
}

/** Previous/next pager with a page-size select. onChange({offset, limit}). */
export function pager({ total, offset, limit }, onChange, sizes = [10, 25, 50, 100]) {
  const from = total ? offset + 1 : 0;
  const to = Math.min(offset + limit, total);
  const size = select('limit', sizes.map((s) => [s, `${s} per page`]), limit, { 'aria-label': 'Items per page' });
  size.addEventListener('change', () => onChange({ offset: 0, limit: Number(size.value) }));
  return h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pagination' },
    h('span', { class: 'pager-info', text: `${from}–${to} of ${total}` }),
    size,
    button('Previous', () => onChange({ offset: Math.max(0, offset - limit), limit }), 'btn-small',
      { disabled: offset <= 0 }),
    button('Next', () => onChange({ offset: offset + limit, limit }), 'btn-small',
      { disabled: offset + limit >= total }));
}

/** Resolve true when the user confirms in the modal dialog (Esc or Cancel resolve false). */
export function confirmDialog(title, text, okLabel = 'Confirm') {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  const ok = document.getElementById('confirm-ok');
  ok.textContent = okLabel;
  return new Promise((resolve) => {
    const done = () => {
      dialog.removeEventListener('close', done);
      resolve(dialog.returnValue === 'ok');
    };
    dialog.returnValue = '';
    dialog.addEventListener('close', done);
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

export function downloadBlob(filename, content, type) {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const href = URL.createObjectURL(blob);
  const a = h('a', { href, download: filename, class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}

export function copyButton(getText, label = 'Copy') {
  const btn = button(label, async () => {
    const text = getText();
    try {
      await navigator.clipboard.writeText(text);
      toast('Copied to the clipboard');
    } catch {
      toast('Copy is not available here: select the text and copy it by hand.', 'error');
    }
  }, 'btn-small');
  return btn;
}

export function pageHead(title, ...actions) {
  const heading = h('h1', { tabindex: '-1', text: title });
  return h('div', { class: 'page-head' }, heading, actions.length ? h('div', { class: 'row-actions' }, actions) : null);
}

export function loading(el, text = 'Loading…') {
  replace(el, h('p', { class: 'loading', text }));
}

function pad(n) {
  return String(n).padStart(2, '0');
}

/** Local time as YYYY-MM-DD HH:MM:SS from seconds (number) or an ISO string. */
export function formatTime(value) {
  if (value === undefined || value === null || value === '') return '';
  const d = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Value for <input type="datetime-local"> from seconds. */
export function toLocalInput(seconds) {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(text) {
  if (!text) return undefined;
  const t = new Date(text).getTime();
  return Number.isNaN(t) ? undefined : t / 1000;
}

/** Parse a JSON object typed into a field; throws a readable error. Empty means {}. */
export function parseJsonObject(text, what = 'metadata') {
  const raw = String(text || '').trim();
  if (!raw) return {};
  let value;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${what} must be valid JSON, for example {"site": "lab"}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value;
}

/**
 * The submit of a create or edit form with a "Metadata (JSON object)" field: a JSON mistake is shown in
 * `status` before anything is sent; then send(metadata) runs with the submit button disabled, and an
 * API error is shown in `status` too. focusInvalid puts the focus back on the field after a JSON
 * mistake: the thing forms always did, the channel forms never did.
 */
export function onMetadataSubmit(form, { status, submit, metadata, focusInvalid = false }, send) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let meta;
    try {
      meta = parseJsonObject(metadata.value);
    } catch (err) {
      replace(status, alertBox(err.message));
      if (focusInvalid) metadata.focus();
      return;
    }
    submit.disabled = true;
    try {
      await send(meta);
    } catch (err) {
      replace(status, alertBox(errorText(err)));
    } finally {
      submit.disabled = false;
    }
  });
}

export function parseTags(text) {
  return String(text || '').split(/[,;]/).map((t) => t.trim()).filter(Boolean);
}

/** Run tasks with at most `limit` in flight; onDone(index, result|error) after each. */
export async function pool(items, limit, task, onDone) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      let result;
      try {
        result = { ok: true, value: await task(items[i], i) };
      } catch (err) {
        result = { ok: false, error: err };
      }
      if (onDone) onDone(i, result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function messageValue(m) {
  if (m.value !== undefined && m.value !== null) return m.value;
  if (m.string_value !== undefined && m.string_value !== null) return m.string_value;
  if (m.bool_value !== undefined && m.bool_value !== null) return m.bool_value;
  if (m.data_value !== undefined && m.data_value !== null) return m.data_value;
  if (m.sum !== undefined && m.sum !== null) return m.sum;
  return '';
}
