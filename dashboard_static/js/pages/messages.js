// Messages explorer: pick a channel, filter, table, time-series chart, aggregation, CSV export, live tail.
import * as api from '../api.js';
import { has, READ_MESSAGES } from '../capabilities.js';
import { seriesFromMessages, timeSeriesChart } from '../chart.js';
import { listAll } from '../data.js';
import { h, replace } from '../dom.js';
import {
  alertBox, button, downloadBlob, errorText, field, formatTime, fromLocalInput, input, messageValue, pageHead,
  pager, select, table, toLocalInput, toast,
} from '../ui.js';

const AGGREGATIONS = [['', 'None (raw messages)'], ['AVG', 'Average'], ['MIN', 'Minimum'], ['MAX', 'Maximum'],
  ['SUM', 'Sum'], ['COUNT', 'Count']];
const INTERVALS = [['1m', '1 minute'], ['5m', '5 minutes'], ['15m', '15 minutes'], ['1h', '1 hour'],
  ['6h', '6 hours'], ['1d', '1 day'], ['1w', '1 week']];
const COMPARATORS = [['eq', '='], ['lt', '<'], ['le', '≤'], ['gt', '>'], ['ge', '≥']];
const LIVE_EVERY_MS = 4000;
const CHART_POINTS = 1000;

function stateFrom(query) {
  const num = (k) => (query.get(k) !== null && query.get(k) !== '' && Number.isFinite(Number(query.get(k)))
    ? Number(query.get(k)) : undefined);
  return {
    channel: query.get('channel') || '',
    format: query.get('format') === 'json' ? 'json' : 'messages',
    subtopic: query.get('subtopic') || '',
    publisher: query.get('publisher') || '',
    name: query.get('name') || '',
    v: query.get('v') ?? '',
    comparator: query.get('comparator') || 'eq',
    from: num('from'),
    to: num('to'),
    aggregation: (query.get('aggregation') || '').toUpperCase(),
    interval: query.get('interval') || '1h',
    offset: num('offset') || 0,
    limit: num('limit') || 25,
    live: query.get('live') === '1',
  };
}

/** The API query for the current state (without paging). */
export function apiQuery(s, now = Date.now() / 1000) {
  const q = {};
  if (s.format === 'json') q.format = 'json';
  if (s.subtopic) q.subtopic = s.subtopic;
  if (s.publisher) q.publisher = s.publisher;
  if (s.format !== 'json') {
    if (s.name) q.name = s.name;
    if (s.v !== '' && s.v !== undefined) {
      q.v = s.v;
      q.comparator = s.comparator;
    }
  }
  if (s.from !== undefined) q.from = s.from;
  if (s.to !== undefined) q.to = s.to;
  if (s.aggregation && s.format !== 'json') {
    q.aggregation = s.aggregation;
    q.interval = s.interval;
    // Aggregation needs a closed range: default to the last 24 hours up to now.
    if (q.from === undefined) q.from = Math.floor(now - 86400);
    if (q.to === undefined) q.to = Math.ceil(now) + 1;
  }
  return q;
}

export async function render(ctx) {
  const state = stateFrom(ctx.query);
  if (!has(...READ_MESSAGES)) {
    replace(ctx.main, pageHead('Messages'), h('div', { class: 'alert alert-info', role: 'status', id: 'messages-unavailable' },
      h('strong', { text: 'Not available on this deployment. ' }),
      'This API does not serve GET /channels/{id}/messages, so stored messages cannot be read here yet. '
      + 'Devices can still publish.'));
    return;
  }
  const channels = await listAll('/channels', 'channels', { status: 'all' }, 1000);
  if (!ctx.current()) return;
  if (!channels.items.length) {
    replace(ctx.main, pageHead('Messages'),
      alertBox('No channels yet. Create a channel and connect a thing to it, then publish messages.', 'info'),
      h('p', {}, h('a', { href: '#/channels', text: 'Go to channels' })));
    return;
  }
  if (!state.channel || !channels.items.some((c) => c.id === state.channel)) state.channel = channels.items[0].id;
  const channel = channels.items.find((c) => c.id === state.channel);
  const go = (next) => ctx.navigate('/messages', serialize({ ...state, ...next }));

  // -- filter form ----------------------------------------------------------------------------
  const channelSelect = select('channel', channels.items.map((c) => [c.id, c.name || c.id]), state.channel);
  const format = select('format', [['messages', 'SenML values'], ['json', 'JSON documents']], state.format);
  const subtopic = input('subtopic', { value: state.subtopic, placeholder: 'e.g. room1.temp' });
  const publisher = select('publisher', [['', 'Any thing']], state.publisher);
  const name = input('name', { value: state.name, placeholder: 'e.g. temperature' });
  const comparator = select('comparator', COMPARATORS, state.comparator);
  const value = input('v', { type: 'number', step: 'any', value: state.v });
  const from = input('from', { type: 'datetime-local', value: state.from !== undefined ? toLocalInput(state.from) : '' });
  const to = input('to', { type: 'datetime-local', value: state.to !== undefined ? toLocalInput(state.to) : '' });
  const aggregation = select('aggregation', AGGREGATIONS, state.aggregation);
  const interval = select('interval', INTERVALS, state.interval);
  const syncDisabled = () => {
    const json = format.value === 'json';
    name.disabled = json;
    value.disabled = json;
    comparator.disabled = json;
    aggregation.disabled = json;
    interval.disabled = json || !aggregation.value;
  };
  format.addEventListener('change', syncDisabled);
  aggregation.addEventListener('change', syncDisabled);
  syncDisabled();
  channelSelect.addEventListener('change', () => go({ channel: channelSelect.value, publisher: '', offset: 0 }));

  const readForm = () => ({
    channel: channelSelect.value,
    format: format.value,
    subtopic: subtopic.value.trim(),
    publisher: publisher.value,
    name: name.value.trim(),
    v: value.value,
    comparator: comparator.value,
    from: fromLocalInput(from.value),
    to: fromLocalInput(to.value),
    aggregation: format.value === 'json' ? '' : aggregation.value,
    interval: interval.value,
    offset: 0,
  });
  const range = (seconds) => {
    const now = Date.now() / 1000;
    go({ ...readForm(), from: seconds ? Math.floor(now - seconds) : undefined, to: undefined });
  };
  const form = h('form', { class: 'form form-wide', 'aria-label': 'Message filters' },
    h('div', { class: 'form-row' },
      field('Channel', channelSelect), field('Kind', format), field('Subtopic', subtopic), field('Publisher', publisher)),
    h('div', { class: 'form-row' },
      field('Name', name), field('Compare value', comparator), field('Value', value),
      field('From', from), field('To', to)),
    h('div', { class: 'form-row' },
      field('Aggregation', aggregation, 'Without From and To: the last 24 hours.'), field('Interval', interval)),
    h('div', { class: 'row-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', text: 'Apply' }),
      button('Reset', () => go({
        subtopic: '', publisher: '', name: '', v: '', comparator: 'eq', from: undefined, to: undefined,
        aggregation: '', offset: 0, format: 'messages',
      }))),
    h('div', { class: 'row-actions' },
      h('span', { class: 'muted', text: 'Time range:' }),
      button('Last hour', () => range(3600), 'btn-small'),
      button('Last 24 h', () => range(86400), 'btn-small'),
      button('Last 7 days', () => range(7 * 86400), 'btn-small'),
      button('All time', () => range(0), 'btn-small')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go(readForm());
  });

  // -- result areas ----------------------------------------------------------------------------
  const liveBox = h('input', { type: 'checkbox', id: 'live-tail', checked: state.live });
  const liveStatus = h('span', { class: 'muted', id: 'live-status', 'aria-live': 'polite' });
  const exportBtn = button('Export CSV', () => exportCsv(state, exportBtn), 'btn-secondary', { id: 'export-csv' });
  const summary = h('p', { class: 'muted', id: 'messages-summary', 'aria-live': 'polite' });
  const chartBox = h('div', { class: 'chart', id: 'messages-chart' });
  const tableBox = h('div', { id: 'messages-table' }, h('p', { class: 'loading', text: 'Loading…' }));
  const notice = h('div', {});

  replace(ctx.main,
    pageHead('Messages', exportBtn),
    h('section', { class: 'card', 'aria-label': 'Filters' }, form),
    notice,
    h('div', { class: 'row-actions' },
      h('label', { class: 'check', for: 'live-tail' }, liveBox, `Live tail (refresh every ${LIVE_EVERY_MS / 1000} s)`),
      liveStatus),
    h('section', { class: 'card', 'aria-labelledby': 'chart-title' },
      h('h2', { id: 'chart-title', text: state.aggregation && state.format !== 'json'
        ? `${state.aggregation} per ${state.interval} — ${channel.name || channel.id}`
        : `Values over time — ${channel.name || channel.id}` }),
      chartBox),
    h('section', { class: 'card', 'aria-labelledby': 'table-title' },
      h('h2', { id: 'table-title', text: 'Messages' }), summary, tableBox));

  // Publishers: the things connected to this channel.
  listAll(`/channels/${state.channel}/things`, 'things', { status: 'all' }, 1000).then((things) => {
    for (const t of things.items) publisher.append(h('option', { value: t.id, text: t.name || t.id, selected: t.id === state.publisher }));
    if (state.publisher && !things.items.some((t) => t.id === state.publisher)) {
      publisher.append(h('option', { value: state.publisher, text: state.publisher, selected: true }));
    }
  }).catch(() => {});

  let chart = null;
  let timer = null;
  let newest = null;
  ctx.onLeave(() => {
    chart?.destroy();
    if (timer) clearInterval(timer);
  });

  const load = async ({ live = false } = {}) => {
    const q = apiQuery(state);
    const path = `/channels/${state.channel}/messages`;
    let page;
    let chartPage = null;
    try {
      [page, chartPage] = await Promise.all([
        api.get(path, { ...q, offset: state.offset, limit: state.limit }),
        state.format === 'json' ? Promise.resolve(null) : api.get(path, { ...q, offset: 0, limit: CHART_POINTS }),
      ]);
    } catch (err) {
      if (!ctx.current()) return;
      if (err.status === 401) throw err;
      replace(notice, alertBox(err.status === 404 || err.status === 403
        ? `Messages could not be read: ${errorText(err)}` : errorText(err)));
      replace(tableBox);
      chart?.destroy();
      replace(chartBox, h('div', { class: 'chart-empty', text: 'No data.' }));
      return;
    }
    if (!ctx.current()) return;
    replace(notice);
    const msgs = page.messages || [];
    const top = msgs.length ? `${msgs[0].time ?? msgs[0].created}|${page.total}` : `|${page.total}`;
    if (live && top === newest) {
      liveStatus.textContent = `No new messages (checked ${formatTime(Date.now() / 1000).slice(11)})`;
      return;
    }
    const previousNewest = newest ? Number(newest.split('|')[0]) : null;
    newest = top;
    summary.textContent = `${page.total} ${state.aggregation && state.format !== 'json' ? 'bucket(s)' : 'message(s)'} match.`;
    renderTable(tableBox, state, page, live ? previousNewest : null, go);
    chart?.destroy();
    chart = renderChart(chartBox, state, chartPage);
    if (live) liveStatus.textContent = `Updated ${formatTime(Date.now() / 1000).slice(11)}`;
  };

  const startLive = () => {
    if (timer) clearInterval(timer);
    timer = setInterval(() => {
      if (document.hidden) return;
      load({ live: true }).catch(() => {});
    }, LIVE_EVERY_MS);
    liveStatus.textContent = 'Live: watching for new messages';
  };
  liveBox.addEventListener('change', () => {
    if (liveBox.checked) {
      if (state.offset) {
        go({ offset: 0, live: true });
        return;
      }
      state.live = true;
      startLive();
    } else {
      state.live = false;
      clearInterval(timer);
      timer = null;
      liveStatus.textContent = 'Live tail stopped';
    }
  });

  await load();
  if (state.live && ctx.current()) startLive();
}

function serialize(s) {
  return {
    channel: s.channel,
    format: s.format === 'json' ? 'json' : '',
    subtopic: s.subtopic,
    publisher: s.publisher,
    name: s.name,
    v: s.v,
    comparator: s.v !== '' && s.v !== undefined && s.comparator !== 'eq' ? s.comparator : '',
    from: s.from !== undefined ? Math.floor(s.from) : '',
    to: s.to !== undefined ? Math.floor(s.to) : '',
    aggregation: s.aggregation,
    interval: s.aggregation ? s.interval : '',
    offset: s.offset || '',
    limit: s.limit !== 25 ? s.limit : '',
    live: s.live ? '1' : '',
  };
}

function renderTable(box, state, page, newerThan, go) {
  const msgs = page.messages || [];
  const isNew = (m) => newerThan !== null && Number(m.time ?? m.created) > newerThan;
  let headers;
  let rows;
  if (state.aggregation && state.format !== 'json') {
    headers = ['Interval start', 'Name', state.aggregation];
    rows = msgs.map((m) => h('tr', { class: isNew(m) ? 'is-new' : '' },
      h('td', { text: formatTime(Number(m.time)) }), h('td', { text: m.name || '' }), h('td', { text: String(m.value ?? '') })));
  } else if (state.format === 'json') {
    headers = ['Received', 'Subtopic', 'Publisher', 'Protocol', 'Payload'];
    rows = msgs.map((m) => h('tr', { class: isNew(m) ? 'is-new' : '' },
      h('td', { text: formatTime(Number(m.created)) }), h('td', { text: m.subtopic || '' }),
      h('td', { class: 'mono', text: m.publisher || '' }), h('td', { text: m.protocol || '' }),
      h('td', { class: 'mono', text: JSON.stringify(m.payload) })));
  } else {
    headers = ['Time', 'Name', 'Value', 'Unit', 'Subtopic', 'Publisher', 'Protocol'];
    rows = msgs.map((m) => h('tr', { class: isNew(m) ? 'is-new' : '' },
      h('td', { text: formatTime(Number(m.time)) }), h('td', { class: 'cell-name', text: m.name || '' }),
      h('td', { text: String(messageValue(m)) }), h('td', { text: m.unit || '' }), h('td', { text: m.subtopic || '' }),
      h('td', { class: 'mono', text: m.publisher || '' }), h('td', { text: m.protocol || '' })));
  }
  replace(box,
    table(headers, rows, { empty: 'No messages match these filters.', label: 'Messages' }),
    pager({ total: page.total, offset: state.offset, limit: state.limit }, ({ offset, limit }) => go({ offset, limit, live: false }),
      [10, 25, 50, 100, 250]));
}

function renderChart(box, state, page) {
  if (!page) {
    replace(box, h('div', { class: 'chart-empty', text: 'JSON documents are not charted: pick "SenML values".' }));
    box.dataset.points = '0';
    return null;
  }
  const msgs = (page.messages || []).map((m) => ({ ...m, time: Number(m.time) }));
  const { x, series } = seriesFromMessages(msgs);
  return timeSeriesChart(box, {
    x, series, bars: state.aggregation === 'COUNT',
    title: state.aggregation ? `${state.aggregation} per ${state.interval}` : 'Values',
  });
}

async function exportCsv(state, btn) {
  btn.disabled = true;
  try {
    const response = await api.request('GET', `/channels/${state.channel}/messages`, {
      query: { ...apiQuery(state), format: 'csv' }, raw: true, headers: { Accept: 'text/csv' },
    });
    const text = await response.text();
    const disposition = response.headers.get('Content-Disposition') || '';
    const match = /filename="?([^";]+)"?/.exec(disposition);
    const filename = match ? match[1].replace(/[^\w.-]/g, '_') : `${state.channel}-messages.csv`;
    downloadBlob(filename, text, 'text/csv');
    const rows = Math.max(0, text.split(/\r?\n/).filter(Boolean).length - 1);
    if (response.headers.get('X-Truncated') === 'true') {
      toast(`Exported the newest ${rows} rows: there were more. Narrow the time range to export the rest.`, 'error');
    } else {
      toast(`Exported ${rows} row(s)`);
    }
  } catch (err) {
    toast(errorText(err), 'error');
  } finally {
    btn.disabled = false;
  }
}
