// Backup health (administrators): retry-queue depth, dead letters with redrive, the last verification.
// API: GET /admin/backup/health -> {retry_queue_depth, dead_letter_depth, dead_letters: [{id, body,
// receives, sent_at}], last_verify: {finished_at, drift, repaired, report} | null};
// POST /admin/backup/redrive -> {redriven}; POST /admin/backup/verify -> {drift, entities, messages, ...}.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { alertBox, busy, button, confirmDialog, formatTime, pageHead, table, toast } from '../ui.js';

function text(value, max = 240) {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function when(value) {
  if (typeof value === 'number' && value > 0) return formatTime(value > 1e12 ? value / 1000 : value);
  if (typeof value === 'string' && value) return formatTime(value);
  return '';
}

function stat(label, value, id) {
  return h('div', { class: 'stat' }, h('p', { class: 'stat-label', text: label }),
    h('p', { class: 'stat-value', id, text: value === undefined || value === null ? '—' : String(value) }));
}

function unavailable(ctx, refresh, why) {
  replace(ctx.main, pageHead('Backup health', refresh),
    h('div', { class: 'alert alert-info', role: 'status', id: 'backup-unavailable' },
      h('strong', { text: 'Not available on this deployment. ' }), why));
}

export async function render(ctx) {
  const refresh = button('Refresh', (e) => busy(e.currentTarget, () => render(ctx)));
  let health;
  try {
    health = await api.get('/admin/backup/health');
  } catch (err) {
    if (!ctx.current()) return;
    if (err.status === 404) {
      unavailable(ctx, refresh, `The API answered: ${err.message}. Without a DynamoDB backup and its retry `
        + 'queue there is no queue depth, dead-letter queue or verification to show.');
      return;
    }
    if (err.status === 403 && /Missing Authentication Token/i.test(err.message)) {
      unavailable(ctx, refresh, 'This API has no /admin/backup/health route.');
      return;
    }
    throw err;
  }
  if (!ctx.current()) return;

  const letters = Array.isArray(health.dead_letters) ? health.dead_letters : [];
  const deadCount = health.dead_letter_depth ?? letters.length;
  const redrive = button('Redrive dead letters', (e) => busy(e.currentTarget, async () => {
    const ok = await confirmDialog('Redrive the dead letters?',
      `${deadCount} message(s) go back to the retry queue and are replayed. Replays are idempotent: nothing is `
      + 'stored twice. Fix what made them fail first, or they end here again.', 'Redrive');
    if (!ok) return;
    const result = await api.post('/admin/backup/redrive', {});
    await render(ctx);
    toast(`Redrove ${result?.redriven ?? 0} message(s) to the retry queue`);
  }), 'btn-secondary', { disabled: !deadCount });
  const verify = button('Verify now', (e) => busy(e.currentTarget, async () => {
    const result = await api.post('/admin/backup/verify', {});
    await render(ctx);
    toast(result?.drift ? `Verification found ${result.drift} difference(s)` : 'Verification found no difference');
  }));

  const letterRows = letters.map((d) => [
    h('span', { class: 'mono', text: text(d.id, 40) }),
    String(d.receives ?? ''),
    when(d.sent_at),
    h('span', { class: 'mono', text: text(d.body) }),
  ]);

  const last = health.last_verify;
  let verifyBody;
  if (!last) {
    verifyBody = h('p', { class: 'muted', id: 'last-verify', text: 'No verification has run yet.' });
  } else {
    const drift = Number(last.drift ?? last.report?.drift ?? 0);
    verifyBody = h('div', { id: 'last-verify' },
      h('dl', { class: 'kv' },
        h('dt', { text: 'Finished' }), h('dd', { text: when(last.finished_at) || '—' }),
        h('dt', { text: 'Differences' }), h('dd', {},
          h('span', { class: ['badge', drift ? 'badge-warn' : 'badge-ok'], id: 'verify-drift', text: String(drift) })),
        h('dt', { text: 'Repaired' }), h('dd', { text: last.repaired ? text(last.repaired) : 'no' })),
      last.report ? h('details', {}, h('summary', { text: 'Full report' }),
        h('pre', { class: 'snippet', text: JSON.stringify(last.report, null, 2) })) : null);
  }

  replace(ctx.main,
    pageHead('Backup health', refresh),
    h('div', { class: 'stats' },
      stat('Retry queue depth', health.retry_queue_depth, 'retry-depth'),
      stat('Dead letters', deadCount, 'dead-letters'),
      stat('Last verification drift', last ? Number(last.drift ?? 0) : undefined, 'drift-stat')),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'dlq-title' },
        h('h2', { id: 'dlq-title', text: 'Dead-letter queue' }),
        h('p', { class: 'hint', text: 'Writes that kept failing after the retry queue\'s attempts. '
          + (letters.length < deadCount ? `The first ${letters.length} are shown.` : '') }),
        deadCount ? table(['Message', 'Receives', 'Sent', 'Body'], letterRows, { label: 'Dead letters' })
          : alertBox('The dead-letter queue is empty.', 'ok'),
        h('div', { class: 'row-actions' }, redrive)),
      h('section', { class: 'card', 'aria-labelledby': 'verify-title' },
        h('h2', { id: 'verify-title', text: 'Last verification' }),
        h('p', { class: 'hint', text: 'Compares PostgreSQL with the DynamoDB backup, entity by entity and message by message.' }),
        verifyBody,
        h('div', { class: 'row-actions' }, verify))));
}
