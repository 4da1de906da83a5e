// One thing: edit, enable/disable, rotate key, delete, its channels, and "connect a device".
import * as api from '../api.js';
import { has } from '../capabilities.js';
import { listAll, messagesPath } from '../data.js';
import { h, replace } from '../dom.js';
import { deleteButton, openOrNotFound, statusToggle, THING } from '../entity.js';
import {
  alertBox, busy, button, confirmDialog, copyButton, downloadBlob, errorText, field, formatTime, input,
  onMetadataSubmit, pageHead, parseTags, select, statusBadge, table, tags, toast,
} from '../ui.js';

export async function render(ctx) {
  const thing = await openOrNotFound(ctx, THING, ctx.params[0]);
  if (!thing || !ctx.current()) return;
  const channelsBox = h('div', {}, h('p', { class: 'loading', text: 'Loading…' }));
  const deviceBox = h('div', {});
  const rerender = () => render(ctx);

  const rotate = button('Rotate key', (e) => busy(e.currentTarget, async () => {
    const ok = await confirmDialog('Rotate the key?',
      `A new key is generated for "${thing.name || thing.id}". Devices using the old key can no longer connect or publish.`,
      'Rotate key');
    if (!ok) return;
    await api.patch(`/things/${thing.id}/secret`, {});
    await rerender();
    toast('A new key was generated');
  }));

  replace(ctx.main,
    h('p', {}, h('a', { href: '#/things', text: '← All things' })),
    pageHead(thing.name || '(no name)', statusToggle(THING, thing, rerender), rotate,
      deleteButton(THING, thing, () => ctx.navigate('/things'))),
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
  await renderDevice(deviceBox, thing, connected.items, ctx.config || {});
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
  onMetadataSubmit(form, { status, submit: save, metadata, focusInvalid: true }, async (meta) => {
    await api.patch(`/things/${thing.id}`, { name: name.value.trim(), metadata: meta });
    const newTags = parseTags(tagInput.value);
    if (JSON.stringify(newTags) !== JSON.stringify(thing.tags || [])) {
      await api.patch(`/things/${thing.id}/tags`, { tags: newTags });
    }
    await done();
    toast('Saved');
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
        await done();
        toast(`Disconnected from ${c.name || c.id}`);
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
        await done();
        toast('Connected');
      });
    });
    parts.push(h('div', { class: 'card' }, form));
  } else if (!connected.length) {
    parts.push(h('p', {}, h('a', { href: '#/channels', text: 'Create a channel' }), ' to connect this thing to.'));
  }
  replace(box, parts);
}

async function connectionInfo(thing) {
  if (!has('GET', '/things/{thing_id}/connection', false)) return null;
  try {
    return await api.get(`/things/${thing.id}/connection`);
  } catch (err) {
    if (err.status === 401) throw err;
    return null;
  }
}

async function renderDevice(box, thing, channels, config) {
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
  const certBox = h('div', { id: 'certificates' });

  if (!channels.length) {
    replace(box, credentials, alertBox('Connect this thing to a channel first: the snippets need a channel to publish to.', 'info'));
    return;
  }
  // The broker: from the API's connection info when it has it, else from config.json ("mqtt").
  const info = await connectionInfo(thing);
  const fallback = config.mqtt && typeof config.mqtt === 'object' ? config.mqtt : {};
  const mqtt = info
    ? { host: info.endpoint, port: info.port, caPem: info.ca_certificate, caUrl: info.ca_certificate_url }
    : { host: fallback.host, port: fallback.port, caUrl: fallback.ca_url };

  const channel = select('device-channel', channels.map((c) => [c.id, c.name || c.id]), channels[0].id);
  const snippetBox = h('div', {});
  const show = () => {
    const ch = channel.value;
    const httpUrl = `${apiBase}${messagesPath(ch)}`;
    const senml = JSON.stringify([{ bn: `${thing.name || 'device'}:`, n: 'temperature', u: 'Cel', v: 21.5 }]);
    const curl = `curl -sS -X POST '${httpUrl}' \\\n  -H 'Authorization: Thing ${key}' \\\n`
      + `  -H 'Content-Type: application/senml+json' \\\n  -d '${senml}'`;
    const topic = `channels/${ch}/messages`;
    const parts = [
      h('h3', { text: 'HTTP' }),
      h('dl', { class: 'kv' },
        h('dt', { text: 'Endpoint' }), h('dd', { class: 'mono', text: `POST ${httpUrl}` }),
        h('dt', { text: 'Header' }), h('dd', { class: 'mono', text: 'Authorization: Thing <thing key>' })),
      h('pre', { class: 'snippet', id: 'curl-snippet', text: curl }),
      copyButton(() => curl, 'Copy command'),
      h('h3', { text: 'MQTT' }),
    ];
    if (mqtt.host) {
      const port = mqtt.port || 8883;
      const pub = `mosquitto_pub -h ${mqtt.host} -p ${port} --cafile ca.pem -i ${thing.id} \\\n  -u ${thing.id} -P '${key}' \\\n`
        + `  -t ${topic} -m '${senml}'`;
      let ca = null;
      if (mqtt.caPem) {
        ca = button('Download CA certificate', () => downloadBlob('ca.pem', mqtt.caPem, 'application/x-pem-file'), 'btn-small');
      } else if (mqtt.caUrl) {
        ca = h('a', { class: 'btn btn-small', href: mqtt.caUrl, target: '_blank', rel: 'noopener noreferrer', text: 'CA certificate' });
      }
      parts.push(
        h('dl', { class: 'kv', id: 'mqtt-details' },
          h('dt', { text: 'Broker' }), h('dd', { class: 'mono', text: `${mqtt.host}:${port} (TLS)` }),
          h('dt', { text: 'Client ID' }), h('dd', { class: 'mono', text: thing.id }),
          h('dt', { text: 'Username' }), h('dd', { class: 'mono', text: thing.id }),
          h('dt', { text: 'Password' }), h('dd', { text: 'the thing key' }),
          h('dt', { text: 'Topic' }), h('dd', { class: 'mono', text: topic })),
        h('pre', { class: 'snippet', text: pub }),
        h('div', { class: 'row-actions' }, copyButton(() => pub, 'Copy command'), ca));
    } else {
      parts.push(h('p', { class: 'muted' }, `Topic: ${topic}. This deployment does not say where its MQTT broker is `
        + '(no connection info from the API, no "mqtt" in config.json); ask your administrator.'));
    }
    parts.push(h('h3', { text: 'Credentials file' }),
      h('p', { class: 'hint', text: 'A JSON file with the endpoints, the thing ID and its key. Keep it secret.' }),
      button('Download credentials', () => downloadBlob(`thing-${thing.id}.json`, JSON.stringify({
        thing_id: thing.id, thing_key: key, channel_id: ch, http_url: httpUrl,
        mqtt: mqtt.host ? { host: mqtt.host, port: mqtt.port || 8883, topic, client_id: thing.id, username: thing.id } : null,
      }, null, 2), 'application/json'), 'btn-small btn-secondary'));
    replace(snippetBox, parts);
  };
  channel.addEventListener('change', show);
  replace(box, credentials, field('Channel', channel), snippetBox, certBox);
  show();
  await renderCertificates(certBox, thing);
}

async function renderCertificates(box, thing) {
  if (!has('POST', '/things/{thing_id}/certificates', false)) {
    replace(box, h('h3', { text: 'X.509 certificate' }),
      h('p', { class: 'muted', text: 'Device certificates are not issued by this deployment; use the key above.' }));
    return;
  }
  let list = [];
  try {
    list = (await api.get(`/things/${thing.id}/certificates`)).certificates || [];
  } catch (err) {
    if (err.status === 401) throw err;
    replace(box, h('h3', { text: 'X.509 certificate' }), alertBox(errorText(err)));
    return;
  }
  const issued = h('div', { 'aria-live': 'polite' });
  const issue = button(list.some((c) => c.status === 'active') ? 'Rotate certificate' : 'Issue certificate', (e) => busy(e.currentTarget, async () => {
    const rotating = list.some((c) => c.status === 'active');
    if (rotating && !(await confirmDialog('Rotate the certificate?',
      'A new certificate and key are issued; the current ones are revoked and devices using them are disconnected.', 'Rotate'))) return;
    const cert = await api.post(`/things/${thing.id}/certificates${rotating ? '/rotate' : ''}`, {});
    await renderCertificates(box, thing);
    box.prepend(h('div', { class: 'alert alert-ok', role: 'status' },
      h('p', { text: 'Certificate issued. The private key is shown only now: download it and keep it safe.' }),
      h('div', { class: 'row-actions' },
        button('Download certificate', () => downloadBlob(`${thing.id}-certificate.pem`, cert.certificate_pem, 'application/x-pem-file'), 'btn-small'),
        button('Download private key', () => downloadBlob(`${thing.id}-private.key`, cert.private_key_pem, 'application/x-pem-file'), 'btn-small btn-secondary'))));
  }), 'btn-small');
  const rows = list.map((c) => [
    h('span', { class: 'mono', text: (c.certificate_id || c.id || '').slice(0, 16) }),
    statusBadge(c.status === 'active' ? 'enabled' : 'disabled'),
    formatTime(c.created_at),
    h('div', { class: 'row-actions' },
      c.certificate_pem ? button('Download', () => downloadBlob(`${thing.id}-certificate.pem`, c.certificate_pem, 'application/x-pem-file'), 'btn-small') : null,
      c.status === 'active' ? button('Revoke', (e) => busy(e.currentTarget, async () => {
        if (!(await confirmDialog('Revoke this certificate?', 'Devices using it can no longer connect.', 'Revoke'))) return;
        await api.del(`/things/${thing.id}/certificates/${c.id}`);
        await renderCertificates(box, thing);
      }), 'btn-small btn-danger') : null),
  ]);
  replace(box, h('h3', { text: 'X.509 certificate' }), issued,
    table(['Certificate', 'Status', 'Issued', 'Actions'], rows, { empty: 'No certificate yet.', label: 'Certificates' }),
    h('div', { class: 'row-actions' }, issue));
}
