// Channels: list with filters and pagination, create, delete.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import {
  alertBox, busy, button, confirmDialog, errorText, field, formatTime, input, pageHead, pager,
  parseJsonObject, statusBadge, table, toast,
} from '../ui.js';
import { filterForm, filtersFromQuery } from './things.js';

export async function deleteChannel(channel) {
  const ok = await confirmDialog('Delete this channel?',
    `"${channel.name || channel.id}" will be deleted and every thing disconnected from it.`, 'Delete');
  if (!ok) return false;
  await api.del(`/channels/${channel.id}`);
  toast(`Deleted ${channel.name || channel.id}`);
  return true;
}

export async function render(ctx) {
  const filters = filtersFromQuery(ctx.query);
  const go = (next) => ctx.navigate('/channels', { ...filters, ...next });
  const listBox = h('div', { id: 'channels-list' }, h('p', { class: 'loading', text: 'Loading…' }));
  replace(ctx.main,
    pageHead('Channels'),
    createSection(ctx),
    h('section', { class: 'card', 'aria-labelledby': 'channels-list-title' },
      h('h2', { id: 'channels-list-title', text: 'Your channels' }),
      filterForm(filters, go, { withTag: false }),
      listBox));

  async function load() {
    const query = { offset: filters.offset, limit: filters.limit, status: filters.status };
    if (filters.name) query.name = filters.name;
    if (filters.metadata) query.metadata = filters.metadata;
    let page;
    try {
      page = await api.get('/channels', query);
    } catch (err) {
      replace(listBox, alertBox(errorText(err)));
      return;
    }
    if (!ctx.current()) return;
    const rows = page.channels.map((c) => h('tr', { dataset: { id: c.id } },
      h('td', { class: 'cell-name' }, h('a', { href: `#/channels/${c.id}`, text: c.name || '(no name)' })),
      h('td', { class: 'mono', text: c.id }),
      h('td', { class: 'cell-name', text: c.description || '' }),
      h('td', {}, statusBadge(c.status)),
      h('td', { text: formatTime(c.created_at) }),
      h('td', {}, h('div', { class: 'row-actions' },
        h('a', { class: 'btn btn-small', href: `#/messages?channel=${c.id}`, text: 'Messages' }),
        button('Delete', (e) => busy(e.currentTarget, async () => {
          if (await deleteChannel(c)) await load();
        }), 'btn-small btn-danger', { 'aria-label': `Delete ${c.name || c.id}` })))));
    replace(listBox,
      table(['Name', 'ID', 'Description', 'Status', 'Created', 'Actions'], rows,
        { empty: 'No channels match. Create one above.', label: 'Channels' }),
      pager({ total: page.total, offset: filters.offset, limit: filters.limit }, go));
  }
  await load();
}

function createSection(ctx) {
  const name = input('name', { required: true });
  const description = input('description');
  const metadata = h('textarea', { name: 'metadata', rows: 3, placeholder: '{"building": "HQ"}' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create channel' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'form' }, status,
    field('Name', name), field('Description', description), field('Metadata (JSON object)', metadata), submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let meta;
    try {
      meta = parseJsonObject(metadata.value);
    } catch (err) {
      replace(status, alertBox(err.message));
      return;
    }
    submit.disabled = true;
    try {
      const channel = await api.post('/channels', { name: name.value.trim(), description: description.value.trim(), metadata: meta });
      toast(`Created ${channel.name || channel.id}`);
      ctx.navigate(`/channels/${channel.id}`);
    } catch (err) {
      replace(status, alertBox(errorText(err)));
    } finally {
      submit.disabled = false;
    }
  });
  return h('details', { class: 'card', id: 'create-channel' }, h('summary', {}, h('strong', { text: 'Create a channel' })), form);
}
