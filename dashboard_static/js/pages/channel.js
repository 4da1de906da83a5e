// One channel: edit, enable/disable, delete, connect and disconnect many things at once.
import * as api from '../api.js';
import { listAll, messagesPath } from '../data.js';
import { h, replace } from '../dom.js';
import { CHANNEL, deleteButton, openOrNotFound, statusToggle } from '../entity.js';
import { busy, button, field, formatTime, input, onMetadataSubmit, pageHead, statusBadge, toast } from '../ui.js';

export async function render(ctx) {
  const channel = await openOrNotFound(ctx, CHANNEL, ctx.params[0]);
  if (!channel || !ctx.current()) return;
  const rerender = () => render(ctx);
  const connectedBox = h('div', {}, h('p', { class: 'loading', text: 'Loading…' }));
  const availableBox = h('div', {}, h('p', { class: 'loading', text: 'Loading…' }));
  const apiBase = (ctx.config?.api_url || window.location.origin).replace(/\/+$/, '');

  replace(ctx.main,
    h('p', {}, h('a', { href: '#/channels', text: '← All channels' })),
    pageHead(channel.name || '(no name)',
      h('a', { class: 'btn', href: `#/messages?channel=${channel.id}`, text: 'Open messages' }),
      statusToggle(CHANNEL, channel, rerender), deleteButton(CHANNEL, channel, () => ctx.navigate('/channels'))),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'channel-info' },
        h('h2', { id: 'channel-info', text: 'Details' }),
        h('dl', { class: 'kv' },
          h('dt', { text: 'ID' }), h('dd', { class: 'mono', text: channel.id }),
          h('dt', { text: 'Status' }), h('dd', {}, statusBadge(channel.status)),
          h('dt', { text: 'Publish (HTTP)' }), h('dd', { class: 'mono', text: `POST ${apiBase}${messagesPath(channel.id)}` }),
          h('dt', { text: 'MQTT topic' }), h('dd', { class: 'mono', text: `channels/${channel.id}/messages` }),
          h('dt', { text: 'Created' }), h('dd', { text: formatTime(channel.created_at) })),
        editForm(channel, rerender)),
      h('section', { class: 'card', 'aria-labelledby': 'channel-connected', id: 'connected-things' },
        h('h2', { id: 'channel-connected', text: 'Connected things' }), connectedBox)),
    h('section', { class: 'card', 'aria-labelledby': 'channel-available', id: 'connect-things' },
      h('h2', { id: 'channel-available', text: 'Connect things' }), availableBox));

  const [connected, available] = await Promise.all([
    listAll(`/channels/${channel.id}/things`, 'things', { status: 'all' }, 1000),
    listAll(`/channels/${channel.id}/things`, 'things', { status: 'all', connected: false }, 1000),
  ]);
  if (!ctx.current()) return;
  replace(connectedBox, checklist(connected.items, 'connected', 'No things connected yet.', 'Disconnect selected', 'btn-danger',
    async (ids) => {
      await api.post('/disconnect', { channel_ids: [channel.id], thing_ids: ids });
      await rerender();
      toast(`Disconnected ${ids.length} thing(s)`);
    }));
  replace(availableBox, checklist(available.items, 'available', 'Every thing you own is already connected.', 'Connect selected',
    'btn-primary', async (ids) => {
      // The API takes up to 100 ids per call.
      for (let i = 0; i < ids.length; i += 100) {
        await api.post('/connect', { channel_ids: [channel.id], thing_ids: ids.slice(i, i + 100) });
      }
      await rerender();
      toast(`Connected ${ids.length} thing(s)`);
    }, true));
}

function checklist(things, name, emptyText, actionLabel, actionClass, action, withSearch = false) {
  if (!things.length) return h('p', { class: 'muted', text: emptyText });
  const boxes = [];
  const items = things.map((t) => {
    const box = h('input', { type: 'checkbox', name, value: t.id });
    boxes.push(box);
    return h('li', { dataset: { name: (t.name || '').toLowerCase() } },
      h('label', {}, box, h('span', { text: t.name || '(no name)' }), ' ', h('span', { class: 'muted mono', text: t.id.slice(0, 8) }),
        t.status !== 'enabled' ? statusBadge(t.status) : null));
  });
  const list = h('ul', { class: 'checklist', 'aria-label': `${name} things` }, items);
  const count = h('span', { class: 'muted', 'aria-live': 'polite', text: '0 selected' });
  const go = h('button', { type: 'submit', class: ['btn', actionClass], text: actionLabel, disabled: true });
  const update = () => {
    const n = boxes.filter((b) => b.checked).length;
    count.textContent = `${n} selected`;
    go.disabled = n === 0;
  };
  list.addEventListener('change', update);
  const all = button('Select all shown', () => {
    for (const li of items) if (!li.hidden) li.querySelector('input').checked = true;
    update();
  }, 'btn-small');
  const none = button('Select none', () => {
    for (const b of boxes) b.checked = false;
    update();
  }, 'btn-small');
  let search = null;
  if (withSearch) {
    search = input(`${name}-search`, { type: 'search', placeholder: 'Filter by name' });
    search.addEventListener('input', () => {
      const q = search.value.trim().toLowerCase();
      for (const li of items) li.hidden = Boolean(q) && !li.dataset.name.includes(q);
    });
  }
  const form = h('form', { class: 'form form-wide' },
    search ? field('Filter things', search) : null,
    h('div', { class: 'row-actions' }, all, none, count), list, h('div', {}, go));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const ids = boxes.filter((b) => b.checked).map((b) => b.value);
    if (ids.length) busy(go, () => action(ids));
  });
  return form;
}

function editForm(channel, done) {
  const name = input('name', { value: channel.name || '' });
  const description = input('description', { value: channel.description || '' });
  const metadata = h('textarea', { name: 'metadata', rows: 4 });
  metadata.value = JSON.stringify(channel.metadata || {}, null, 2);
  const status = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save changes' });
  const form = h('form', { class: 'form', 'aria-label': 'Edit channel' }, h('h3', { text: 'Edit' }), status,
    field('Name', name), field('Description', description), field('Metadata (JSON object)', metadata), save);
  onMetadataSubmit(form, { status, submit: save, metadata }, async (meta) => {
    await api.put(`/channels/${channel.id}`, { name: name.value.trim(), description: description.value, metadata: meta });
    await done();
    toast('Saved');
  });
  return form;
}
