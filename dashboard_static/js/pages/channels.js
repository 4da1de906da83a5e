// Channels: list with filters and pagination, create, delete.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { CHANNEL, listRow } from '../entity.js';
import { filterForm, filtersFromQuery, listQuery, showPage } from '../lists.js';
import { field, input, onMetadataSubmit, pageHead, table, toast } from '../ui.js';

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

  function load() {
    return showPage(ctx, listBox, '/channels', listQuery(filters, ['name', 'metadata']), go, (page) => {
      const rows = page.channels.map((c) => listRow(CHANNEL, c, h('td', { class: 'cell-name', text: c.description || '' }),
        h('a', { class: 'btn btn-small', href: `#/messages?channel=${c.id}`, text: 'Messages' }), load));
      return table(['Name', 'ID', 'Description', 'Status', 'Created', 'Actions'], rows,
        { empty: 'No channels match. Create one above.', label: 'Channels' });
    });
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
  onMetadataSubmit(form, { status, submit, metadata }, async (meta) => {
    const channel = await api.post('/channels', { name: name.value.trim(), description: description.value.trim(), metadata: meta });
    toast(`Created ${channel.name || channel.id}`);
    ctx.navigate(`/channels/${channel.id}`);
  });
  return h('details', { class: 'card', id: 'create-channel' }, h('summary', {}, h('strong', { text: 'Create a channel' })), form);
}
