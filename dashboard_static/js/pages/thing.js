// One thing: edit, enable/disable, rotate key, delete, its channels, and "connect a device".
import * as api from '../api.js';
import { listAll, messagesPath } from '../data.js';
import { h, replace } from '../dom.js';
import {
  alertBox, busy, button, confirmDialog, copyButton, downloadBlob, errorText, field, formatTime, input,
  pageHead, parseJsonObject, parseTags, select, statusBadge, table, tags, toast,
} from '../ui.js';
import { deleteThing, setThingStatus } from './things.js';

export async function render(ctx) {
  const [id] = ctx.params;
  let thing;
  try {
    thing = await api.get(`/things/${id}`);
  } catch (err) {
    if (err.status === 404 || err.status === 403) {
      replace(ctx.main, pageHead('Thing not found'), alertBox('This thing does not exist or is not shared with you.', 'info'),
        h('p', {}, h('a', { href: '#/things', text: 'Back to things' })));
      return;
    }
    throw err;
  }
  if (!ctx.current()) return;
  const channelsBox = h('div', {}, h('p', { class: 'loading', text: 'Loading…' }));
  const deviceBox = h('div', {});
  const rerender = () => render(ctx);

  const toggle = button(thing.status === 'enabled' ? 'Disable' : 'Enable', (e) => busy(e.currentTarget, async () => {
    await setThingStatus(thing, thing.status !== 'enabled');
    toast(thing.status === 'enabled' ? 'Thing disabled' : 'Thing enabled');
    await rerender();
  }));
  const rotate = button('Rotate key', (e) => busy(e.currentTarget, async () => {
    const ok = await confirmDialog('Rotate the key?',
      `A new key is generated for "${thing.name || thing.id}". Devices using the old key can no longer connect or publish.`,
      'Rotate key');
    if (!ok) return;
    await api.patch(`/things/${thing.id}/secret`, {});
    toast('A new key was generated');
    await rerender();
  }));
  const remove = button('Delete', (e) => busy(e.currentTarget, async () => {
    if (await deleteThing(thing)) ctx.navigate('/things');
  }), 'btn-danger');

  replace(ctx.main,
    h('p', {}, h('a', { href: '#/things', text: '← All things' })),
    pageHead(thing.name || '(no name)', toggle, rotate, remove),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'thing-info' },
        h('h2', { id: 'thing-info', text: 'Details' }),
        h('dl', { class: 'kv' },
          h('dt', { text: 'ID' }), h('dd', { class: 'mono', text: thing.id }),
          h('dt', { text: 'Status' }), h('dd', {}, statusBadge(thing.status)),
          h('dt', { text: 'Tags' }), h('dd', {}, thing.tags?.length ? tags(thing.tags) : h('span', { class: 'muted', text: 'none' })),
          h('dt', { text: 'Created' }), h('dd', { text: formatTime(thing.created_at) }),
          h('dt', { text: 'Updated' }), h('dd', { text: formatTime(thing.updated_at) })),
        editForm(thing, rerender)),
      h('section', { class: 'card', 'aria-labelledby': 'thing-device', id: 'connect-device' },
        h('h2', { id: 'thing-device', text: 'Connect a device' }), deviceBox)),
    h('section', { class: 'card', 'aria-labelledby': 'thing-channels' },
      h('h2', { id: 'thing-channels', text: 'Channels' }), channelsBox));

  const [connected, available] = await Promise.all([
    listAll(`/things/${thing.id}/channels`, 'channels', { status: 'all' }, 500),
    listAll(`/things/${thing.id}/channels`, 'channels', { status: 'all', connected: false }, 500),
  ]);
  if (!ctx.current()) return;
  renderChannels(channelsBox, thing, connected.items, available.items, rerender);
  renderDevice(deviceBox, thing, connected.items, ctx.config || {});
}

function editForm(thing, done) {
  const name = input('name', { value: thing.name || '' });
  const tagInput = input('tags', { value: (thing.tags || []).join(', ') });
  const metadata = h('textarea', { name: 'metadata', rows: 4 });
  metadata.value = JSON.stringify(thing.metadata || {}, null, 2);
  const status = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save changes' });
  const form = h('form', { class: 'form', 'aria-label': 'Edit thing' },
    h('h3', { text: 'Edit' }), status,
    field('Name', name), field('Tags', tagInput, 'Separate tags with commas.'), field('Metadata (JSON object)', metadata), save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let meta;
    try {
      meta = parseJsonObject(metadata.value);
    } catch (err) {
      replace(status, alertBox(err.message));
      metadata.focus();
      return;
    }
    save.disabled = true;
    try {
      await api.patch(`/things/${thing.id}`, { name: name.value.trim(), metadata: meta });
      const newTags = parseTags(tagInput.value);
      if (JSON.stringify(newTags) !== JSON.stringify(thing.tags || [])) {
        await api.patch(`/things/${thing.id}/tags`, { tags: newTags });
      }
      toast('Saved');
      await done();
    } catch (err) {
      replace(status, alertBox(errorText(err)));
      save.disabled = false;
    }
  });
  return form;
}

function renderChannels(box, thing, connected, available, done) {
  const rows = connected.map((c) => [
    h('a', { href: `#/channels/${c.id}`, text: c.name || '(no name)' }),
    h('span', { class: 'mono', text: c.id }),
    h('div', { class: 'row-actions' },
      h('a', { class: 'btn btn-small', href: `#/messages?channel=${c.id}&publisher=${thing.id}`, text: 'Messages' }),
      button('Disconnect', (e) => busy(e.currentTarget, async () => {
        await api.post('/disconnect', { thing_ids: [thing.id], channel_ids: [c.id] });
        toast(`Disconnected from ${c.name || c.id}`);
        await done();
      }), 'btn-small', { 'aria-label': `Disconnect from ${c.name || c.id}` })),
  ]);
  const parts = [table(['Channel', 'ID', 'Actions'], rows, { empty: 'Not connected to any channel yet.', label: 'Connected channels' })];
  if (available.length) {
    const choice = select('channel', available.map((c) => [c.id, c.name || c.id]), available[0].id);
    const form = h('form', { class: 'form-row' }, field('Connect to channel', choice),
      h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Connect' })));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form.querySelector('button[type=submit]'), async () => {
        await api.post('/connect', { thing_ids: [thing.id], channel_ids: [choice.value] });
        toast('Connected');
        await done();
      });
    });
    parts.push(h('div', { class: 'card' }, form));
  } else if (!connected.length) {
    parts.push(h('p', {}, h('a', { href: '#/channels', text: 'Create a channel' }), ' to connect this thing to.'));
  }
  replace(box, parts);
}

function renderDevice(box, thing, channels, config) {
  const key = thing.credentials?.secret || '';
  const keyText = h('span', { class: 'mono', id: 'thing-key', text: '•'.repeat(16) });
  let shown = false;
  const reveal = button('Show key', () => {
    shown = !shown;
    keyText.textContent = shown ? key : '•'.repeat(16);
    reveal.textContent = shown ? 'Hide key' : 'Show key';
    reveal.setAttribute('aria-pressed', String(shown));
  }, 'btn-small', { 'aria-pressed': 'false' });
  const apiBase = (config.api_url || window.location.origin).replace(/\/+$/, '');

  const credentials = h('dl', { class: 'kv' },
    h('dt', { text: 'Thing ID' }), h('dd', {}, h('span', { class: 'mono', text: thing.id }), ' ', copyButton(() => thing.id, 'Copy ID')),
    h('dt', { text: 'Thing key' }), h('dd', {}, keyText, ' ', reveal, ' ', copyButton(() => key, 'Copy key')));

  if (!channels.length) {
    replace(box, credentials, alertBox('Connect this thing to a channel first: the snippets need a channel to publish to.', 'info'));
    return;
  }
  const channel = select('device-channel', channels.map((c) => [c.id, c.name || c.id]), channels[0].id);
  const snippetBox = h('div', {});
  const mqtt = config.mqtt && typeof config.mqtt === 'object' ? config.mqtt : null;

  const show = () => {
    const ch = channel.value;
    const httpUrl = `${apiBase}${messagesPath(ch)}`;
    const senml = JSON.stringify([{ bn: `${thing.name || 'device'}:`, n: 'temperature', u: 'Cel', v: 21.5 }]);
    const curl = `curl -sS -X POST '${httpUrl}' \\\n  -H 'Authorization: Thing ${key}' \\\n`
      + `  -H 'Content-Type: application/senml+json' \\\n  -d '${senml}'`;
    const parts = [
      h('h3', { text: 'HTTP' }),
      h('dl', { class: 'kv' },
        h('dt', { text: 'Endpoint' }), h('dd', { class: 'mono', text: `POST ${httpUrl}` }),
        h('dt', { text: 'Header' }), h('dd', { class: 'mono', text: 'Authorization: Thing <thing key>' })),
      h('pre', { class: 'snippet', id: 'curl-snippet', text: curl }),
      copyButton(() => curl, 'Copy command'),
      h('h3', { text: 'MQTT' }),
    ];
    const topic = `channels/${ch}/messages`;
    if (mqtt && mqtt.host) {
      const port = mqtt.port || 8883;
      const caFlag = mqtt.ca_url ? ' --cafile ca.pem' : '';
      const pub = `mosquitto_pub -h ${mqtt.host} -p ${port}${caFlag} -i ${thing.id} \\\n  -u ${thing.id} -P '${key}' \\\n`
        + `  -t ${topic} -m '${senml}'`;
      parts.push(
        h('dl', { class: 'kv' },
          h('dt', { text: 'Broker' }), h('dd', { class: 'mono', text: `${mqtt.host}:${port} (TLS)` }),
          h('dt', { text: 'Username' }), h('dd', { class: 'mono', text: thing.id }),
          h('dt', { text: 'Password' }), h('dd', { class: 'mono', text: 'the thing key' }),
          h('dt', { text: 'Topic' }), h('dd', { class: 'mono', text: topic })),
        h('pre', { class: 'snippet', text: pub }),
        h('div', { class: 'row-actions' }, copyButton(() => pub, 'Copy command'),
          mqtt.ca_url ? h('a', { class: 'btn btn-small', href: mqtt.ca_url, download: 'ca.pem', text: 'Download CA certificate' }) : null));
    } else {
      parts.push(h('p', { class: 'muted' }, `Topic: ${topic}. The MQTT endpoint of this deployment is not configured `
        + 'in config.json ("mqtt": {"host", "port", "ca_url"}); ask your administrator.'));
    }
    parts.push(h('h3', { text: 'Credentials file' }),
      h('p', { class: 'hint', text: 'A JSON file with the endpoints, the thing ID and its key. Keep it secret.' }),
      button('Download credentials', () => downloadBlob(`thing-${thing.id}.json`, JSON.stringify({
        thing_id: thing.id, thing_key: key, channel_id: ch, http_url: httpUrl,
        mqtt: mqtt && mqtt.host ? { host: mqtt.host, port: mqtt.port || 8883, topic, username: thing.id, ca_url: mqtt.ca_url || null } : null,
      }, null, 2), 'application/json'), 'btn-small btn-secondary'));
    replace(snippetBox, parts);
  };
  channel.addEventListener('change', show);
  replace(box, credentials, field('Channel', channel), snippetBox);
  show();
}
