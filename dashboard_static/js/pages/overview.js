// Overview: every number is computed from the API at load time (nothing is made up).
import * as api from '../api.js';
import { has, READ_MESSAGES } from '../capabilities.js';
import { timeSeriesChart } from '../chart.js';
import { listAll, readMessages } from '../data.js';
import { h, replace } from '../dom.js';
import { session } from '../session.js';
import { alertBox, errorText, formatTime, messageValue, pageHead, pool, table } from '../ui.js';

const DAY = 86400;
const ACTIVE_WINDOW = 15 * 60;
const MAX_CHANNELS = 100;
const PER_CHANNEL = 1000;

function stat(label, id) {
  const value = h('p', { class: 'stat-value', id, text: '…' });
  return { el: h('div', { class: 'stat', 'aria-live': 'polite' }, h('p', { class: 'stat-label', text: label }), value), value };
}

export async function render(ctx) {
  const stats = {
    things: stat('Things', 'stat-things'),
    channels: stat('Channels', 'stat-channels'),
    connections: stat('Connections', 'stat-connections'),
    messages: stat('Messages (24 h)', 'stat-messages'),
    active: stat('Active things (15 min)', 'stat-active'),
  };
  const notes = h('div', {});
  const chartBox = h('div', { class: 'chart', id: 'rate-chart' });
  const recentBox = h('div', { id: 'recent-messages' }, h('p', { class: 'loading', text: 'Loading…' }));
  const refreshBtn = h('button', { type: 'button', class: 'btn', text: 'Refresh' });
  const who = session.user?.name || session.user?.credentials?.identity || '';
  replace(ctx.main,
    pageHead('Overview', refreshBtn),
    h('p', { class: 'muted', text: who ? `Welcome, ${who}.` : '' }),
    notes,
    h('div', { class: 'stats' }, Object.values(stats).map((s) => s.el)),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'rate-title' },
        h('h2', { id: 'rate-title', text: 'Messages per hour, last 24 hours' }), chartBox),
      h('section', { class: 'card', 'aria-labelledby': 'recent-title' },
        h('h2', { id: 'recent-title', text: 'Most recent messages' }), recentBox)));

  let chart = null;
  ctx.onLeave(() => chart?.destroy());
  const load = async () => {
    refreshBtn.disabled = true;
    replace(notes);
    try {
      chart?.destroy();
      chart = await fill(ctx, stats, notes, chartBox, recentBox);
    } catch (err) {
      if (err.status !== 401) replace(notes, alertBox(errorText(err)));
    } finally {
      refreshBtn.disabled = false;
    }
  };
  refreshBtn.addEventListener('click', load);
  await load();
}

async function fill(ctx, stats, notes, chartBox, recentBox) {
  const now = Date.now() / 1000;
  const [things, channels] = await Promise.all([
    api.get('/things', { limit: 1, status: 'all' }),
    listAll('/channels', 'channels', { status: 'all' }, MAX_CHANNELS),
  ]);
  if (!ctx.current()) return null;
  stats.things.value.textContent = String(things.total);
  stats.channels.value.textContent = String(channels.total);
  if (channels.truncated) {
    notes.append(alertBox(`Connections and messages are counted over the first ${MAX_CHANNELS} channels.`, 'info'));
  }

  let messagesUnavailable = null;
  const canRead = has(...READ_MESSAGES);
  if (!canRead) messagesUnavailable = new Error('this API does not serve GET /channels/{id}/messages');
  let connections = 0;
  let messages24h = 0;
  let partial = false;
  const recent = [];
  const failures = [];
  const active = new Set();
  const hourly = new Map();
  const firstHour = Math.floor((now - DAY) / 3600) * 3600;
  for (let t = firstHour; t <= now; t += 3600) hourly.set(t, 0);

  await pool(channels.items, 6, async (channel) => {
    const page = await api.get(`/channels/${channel.id}/things`, { limit: 1, status: 'all' });
    connections += page.total || 0;
    if (!canRead) return;
    let read;
    try {
      read = await readMessages(channel.id, { from: now - DAY, to: now }, PER_CHANNEL);
    } catch (err) {
      if (err.status === 401) throw err;
      messagesUnavailable = err;
      return;
    }
    messages24h += read.total;
    if (read.truncated) partial = true;
    for (const m of read.messages) {
      const time = Number(m.time);
      if (time >= now - ACTIVE_WINDOW && m.publisher) active.add(m.publisher);
      const hour = Math.floor(time / 3600) * 3600;
      if (hourly.has(hour)) hourly.set(hour, hourly.get(hour) + 1);
      recent.push({ ...m, channelName: channel.name || channel.id });
    }
  }, (i, result) => {
    if (!result.ok) failures.push(result.error);
  });
  if (!ctx.current()) return null;
  const expired = failures.find((e) => e.status === 401);
  if (expired) throw expired;
  if (failures.length) {
    notes.append(alertBox(`${failures.length} channel(s) could not be read: ${errorText(failures[0])}`));
  }

  stats.connections.value.textContent = String(connections);
  if (messagesUnavailable && !messages24h && !recent.length) {
    stats.messages.value.textContent = '—';
    stats.active.value.textContent = '—';
    notes.append(alertBox(`Messages could not be read: ${errorText(messagesUnavailable)}`, 'info'));
    replace(chartBox, h('div', { class: 'chart-empty', text: 'No message data available.' }));
    replace(recentBox, h('p', { class: 'muted', text: 'No message data available.' }));
    return null;
  }
  stats.messages.value.textContent = String(messages24h);
  stats.active.value.textContent = `${active.size}${partial ? '+' : ''}`;
  if (partial) {
    notes.append(alertBox(`Busy channels: the chart and the active count use the latest ${PER_CHANNEL} messages of each channel.`, 'info'));
  }

  const x = [...hourly.keys()];
  const chart = timeSeriesChart(chartBox, {
    x, series: [{ label: 'messages', values: x.map((t) => hourly.get(t)) }], bars: true, title: 'Messages per hour',
  });

  recent.sort((a, b) => Number(b.time) - Number(a.time));
  const rows = recent.slice(0, 10).map((m) => [
    formatTime(Number(m.time)),
    m.channelName,
    m.name || '',
    `${messageValue(m)}${m.unit ? ` ${m.unit}` : ''}`,
  ]);
  replace(recentBox, table(['Time', 'Channel', 'Name', 'Value'], rows, {
    empty: 'No messages in the last 24 hours.', label: 'Most recent messages',
  }));
  if (channels.total === 0) {
    replace(recentBox, h('p', {}, 'No channels yet. ', h('a', { href: '#/channels', text: 'Create a channel' }),
      ' and connect a thing to start collecting messages.'));
  }
  return chart;
}
