// Backup health (administrators): retry-queue depth, dead letters with redrive, last verify result.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { alertBox, busy, button, confirmDialog, errorText, formatTime, pageHead, table, toast } from '../ui.js';

function countOf(value) {
  if (Array.isArray(value)) return value.length;
  if (value && typeof value === 'object') return value.count ?? value.total ?? value.depth ?? '?';
  return value ?? '?';
}

function scalar(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function timeish(value) {
  if (typeof value === 'number') return formatTime(value > 1e12 ? value / 1000 : value);
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return formatTime(value);
  return scalar(value);
}

function keyValues(obj, id) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('p', { class: 'muted', text: 'Nothing reported.' });
  return h('dl', { class: 'kv', id },
    entries.flatMap(([k, v]) => [h('dt', { text: k.replace(/_/g, ' ') }),
      h('dd', { class: typeof v === 'object' && v !== null ? 'mono' : '', text: /(_at|time)$/.test(k) ? timeish(v) : scalar(v) })]));
}

export async function render(ctx) {
  const refreshBtn = button('Refresh', () => render(ctx));
  let health;
  try {
    health = await api.get('/admin/backup/health');
  } catch (err) {
    if (!ctx.current()) return;
    if (err.status === 404 || (err.status === 403 && /Missing Authentication Token/i.test(err.message))) {
      replace(ctx.main, pageHead('Backup health', refreshBtn),
        h('div', { class: 'alert alert-info', role: 'status', id: 'backup-unavailable' },
          h('strong', { text: 'Not available on this deployment. ' }),
          'The API does not offer GET /admin/backup/health yet, so the retry queue, the dead-letter queue '
          + 'and the last verification cannot be shown here.'));
      return;
    }
    throw err;
  }
  if (!ctx.current()) return;

  const dead = health.dead_letters;
  const deadCount = countOf(dead);
  const lastVerify = health.last_verify;
  const redrive = button('Redrive dead letters', (e) => busy(e.currentTarget, async () => {
    const ok = await confirmDialog('Redrive the dead letters?',
      `${deadCount} message(s) go back to the retry queue and are replayed (replays are idempotent).`, 'Redrive');
    if (!ok) return;
    const result = await api.post('/admin/backup/redrive', {});
    const moved = result && typeof result === 'object' ? (result.redriven ?? result.moved ?? result.count) : undefined;
    toast(moved !== undefined ? `Redrove ${moved} message(s)` : 'Redrive started');
    await render(ctx);
  }), 'btn-secondary', { disabled: !deadCount });

  const deadDetails = [];
  if (Array.isArray(dead) && dead.length) {
    const columns = [...new Set(dead.flatMap((d) => (d && typeof d === 'object' ? Object.keys(d) : ['message'])))].slice(0, 6);
    deadDetails.push(table(columns, dead.slice(0, 100).map((d) => columns.map((c) => (
      d && typeof d === 'object' ? (/(_at|time)$/.test(c) ? timeish(d[c]) : scalar(d[c])) : scalar(d)))), { label: 'Dead letters' }));
  } else if (dead && typeof dead === 'object' && !Array.isArray(dead)) {
    deadDetails.push(keyValues(dead, 'dead-letters-details'));
  }

  let verifyBody;
  if (!lastVerify) {
    verifyBody = h('p', { class: 'muted', text: 'No verification has run yet.' });
  } else if (typeof lastVerify === 'object') {
    verifyBody = keyValues(lastVerify, 'last-verify');
  } else {
    verifyBody = h('p', { text: timeish(lastVerify) });
  }
  const extras = Object.fromEntries(Object.entries(health).filter(([k]) => !['retry_queue_depth', 'dead_letters', 'last_verify'].includes(k)));

  replace(ctx.main,
    pageHead('Backup health', refreshBtn),
    h('div', { class: 'stats' },
      h('div', { class: 'stat' }, h('p', { class: 'stat-label', text: 'Retry queue depth' }),
        h('p', { class: 'stat-value', id: 'retry-depth', text: scalar(countOf(health.retry_queue_depth)) })),
      h('div', { class: 'stat' }, h('p', { class: 'stat-label', text: 'Dead letters' }),
        h('p', { class: 'stat-value', id: 'dead-letters', text: scalar(deadCount) }))),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'dlq-title' },
        h('h2', { id: 'dlq-title', text: 'Dead-letter queue' }),
        h('p', { class: 'hint', text: 'Messages that kept failing after the retry queue\'s attempts. Redrive moves them back for another replay.' }),
        deadDetails, h('div', { class: 'row-actions' }, redrive)),
      h('section', { class: 'card', 'aria-labelledby': 'verify-title' },
        h('h2', { id: 'verify-title', text: 'Last verification' }), verifyBody)),
    Object.keys(extras).length ? h('section', { class: 'card' }, h('h2', { text: 'Other' }), keyValues(extras, 'backup-extra')) : null);
}

