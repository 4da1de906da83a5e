// What things and channels (and, for enable/disable, users) go through on their list and detail pages:
// open one or say it is not found, enable/disable, delete after a confirmation. One copy of each step
// keeps the texts, API calls and buttons the same wherever it is offered.
import * as api from './api.js';
import { h, replace } from './dom.js';
import { alertBox, busy, button, confirmDialog, formatTime, pageHead, statusBadge, toast } from './ui.js';

/** Where the API serves each kind, and the words the pages use for it. */
export const THING = {
  path: '/things',
  noun: 'thing',
  notFound: 'This thing does not exist or is not shared with you.',
  deleteWarning: 'will be deleted with its connections. Devices using its key stop working.',
};
export const CHANNEL = {
  path: '/channels',
  noun: 'channel',
  notFound: 'This channel does not exist or is not yours.',
  deleteWarning: 'will be deleted and every thing disconnected from it.',
};
export const USER = { path: '/users', noun: 'user' };

const capitalized = (word) => word[0].toUpperCase() + word.slice(1);

/**
 * GET one item for its page, or null after showing "not found". The API answers 404 for a missing
 * item and 403 for someone else's; the page does not tell them apart, so it reveals nothing.
 */
export async function openOrNotFound(ctx, kind, id) {
  try {
    return await api.get(`${kind.path}/${id}`);
  } catch (err) {
    if (err.status !== 404 && err.status !== 403) throw err;
    replace(ctx.main, pageHead(`${capitalized(kind.noun)} not found`), alertBox(kind.notFound, 'info'),
      h('p', {}, h('a', { href: `#${kind.path}`, text: `Back to ${kind.noun}s` })));
    return null;
  }
}

/**
 * Enable/Disable: POST .../disable (or .../enable), reload, then say so. In a list row pass `label`
 * (the row's name): the button is small and its accessible name says which row it acts on.
 * `confirmDisable()` asks first where disabling locks someone out (users).
 */
export function statusToggle(kind, item, reload, { label, disabled, confirmDisable } = {}) {
  const enabled = item.status === 'enabled';
  const verb = enabled ? 'Disable' : 'Enable';
  const said = label ? `${enabled ? 'Disabled' : 'Enabled'} ${label}`
    : `${capitalized(kind.noun)} ${enabled ? 'disabled' : 'enabled'}`;
  return button(verb, (e) => busy(e.currentTarget, async () => {
    if (enabled && confirmDisable && !(await confirmDisable())) return;
    await api.post(`${kind.path}/${item.id}/${enabled ? 'disable' : 'enable'}`);
    await reload();
    toast(said);
  }), label ? 'btn-small' : '', label ? { disabled, 'aria-label': `${verb} ${label}` } : {});
}

/** Delete: confirm (naming the item), DELETE, say so, then after() (reload the list or leave the page). */
export function deleteButton(kind, item, after, { label } = {}) {
  const name = item.name || item.id;
  return button('Delete', (e) => busy(e.currentTarget, async () => {
    const ok = await confirmDialog(`Delete this ${kind.noun}?`, `"${name}" ${kind.deleteWarning}`, 'Delete');
    if (!ok) return;
    await api.del(`${kind.path}/${item.id}`);
    toast(`Deleted ${name}`);
    await after();
  }), label ? 'btn-small btn-danger' : 'btn-danger', label ? { 'aria-label': `Delete ${label}` } : {});
}

/** A row of the things or channels list: name, ID, the page's own cells, status, created, actions, Delete. */
export function listRow(kind, item, cells, actions, reload) {
  return h('tr', { dataset: { id: item.id } },
    h('td', { class: 'cell-name' }, h('a', { href: `#${kind.path}/${item.id}`, text: item.name || '(no name)' })),
    h('td', { class: 'mono', text: item.id }),
    cells,
    h('td', {}, statusBadge(item.status)),
    h('td', { text: formatTime(item.created_at) }),
    h('td', {}, h('div', { class: 'row-actions' }, actions, deleteButton(kind, item, reload, { label: item.name || item.id }))));
}
