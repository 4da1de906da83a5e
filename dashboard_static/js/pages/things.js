// Things: search, filters, pagination, create one, import many from CSV, enable/disable, delete.
import * as api from '../api.js';
import { parseCsvObjects, toCsv } from '../csv.js';
import { h, replace } from '../dom.js';
import {
  alertBox, busy, button, confirmDialog, downloadBlob, errorText, field, formatTime, input, pageHead,
  pager, parseJsonObject, parseTags, pool, select, statusBadge, table, tags, toast,
} from '../ui.js';

const MAX_IMPORT = 1000;

export function filtersFromQuery(query) {
  return {
    name: query.get('name') || '',
    tag: query.get('tag') || '',
    metadata: query.get('metadata') || '',
    status: query.get('status') || 'all',
    offset: Number(query.get('offset')) || 0,
    limit: Number(query.get('limit')) || 10,
  };
}

/** The search form shared by things and channels; onApply(filters). */
export function filterForm(filters, onApply, { withTag = true } = {}) {
  const name = input('name', { type: 'search', value: filters.name, placeholder: 'Search by name' });
  const status = select('status', [['all', 'All'], ['enabled', 'Enabled'], ['disabled', 'Disabled']], filters.status);
  const tag = withTag ? input('tag', { value: filters.tag, placeholder: 'e.g. lab' }) : null;
  const metadata = input('metadata', { value: filters.metadata, placeholder: '{"site": "A"}' });
  const form = h('form', { class: 'form form-wide', role: 'search', 'aria-label': 'Filter' },
    h('div', { class: 'form-row' },
      field('Name', name), field('Status', status), tag ? field('Tag', tag) : null,
      field('Metadata contains', metadata)),
    h('div', { class: 'row-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', text: 'Apply filters' }),
      button('Clear', () => onApply({ name: '', tag: '', metadata: '', status: 'all', offset: 0, limit: filters.limit }))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (metadata.value.trim()) {
      try {
        parseJsonObject(metadata.value);
        metadata.removeAttribute('aria-invalid');
      } catch (err) {
        metadata.setAttribute('aria-invalid', 'true');
        toast(err.message, 'error');
        metadata.focus();
        return;
      }
    }
    onApply({ name: name.value.trim(), tag: tag ? tag.value.trim() : '', metadata: metadata.value.trim(),
      status: status.value, offset: 0, limit: filters.limit });
  });
  return form;
}

export async function setThingStatus(thing, enable) {
  return api.post(`/things/${thing.id}/${enable ? 'enable' : 'disable'}`);
}

export async function deleteThing(thing) {
  const ok = await confirmDialog('Delete this thing?',
    `"${thing.name || thing.id}" will be deleted with its connections. Devices using its key stop working.`, 'Delete');
  if (!ok) return false;
  await api.del(`/things/${thing.id}`);
  toast(`Deleted ${thing.name || thing.id}`);
  return true;
}

export async function render(ctx) {
  const filters = filtersFromQuery(ctx.query);
  const go = (next) => ctx.navigate('/things', { ...filters, ...next, status: next.status ?? filters.status });
  const listBox = h('div', { id: 'things-list' }, h('p', { class: 'loading', text: 'Loading…' }));
  replace(ctx.main,
    pageHead('Things'),
    createSection(ctx),
    importSection(() => load()),
    h('section', { class: 'card', 'aria-labelledby': 'things-list-title' },
      h('h2', { id: 'things-list-title', text: 'Your things' }),
      filterForm(filters, go),
      listBox));

  async function load() {
    const query = { offset: filters.offset, limit: filters.limit, status: filters.status };
    if (filters.name) query.name = filters.name;
    if (filters.tag) query.tag = filters.tag;
    if (filters.metadata) query.metadata = filters.metadata;
    let page;
    try {
      page = await api.get('/things', query);
    } catch (err) {
      replace(listBox, alertBox(errorText(err)));
      return;
    }
    if (!ctx.current()) return;
    const rows = page.things.map((t) => {
      const toggle = button(t.status === 'enabled' ? 'Disable' : 'Enable', (e) => busy(e.currentTarget, async () => {
        await setThingStatus(t, t.status !== 'enabled');
        await load();
        toast(`${t.status === 'enabled' ? 'Disabled' : 'Enabled'} ${t.name || t.id}`);
      }), 'btn-small', { 'aria-label': `${t.status === 'enabled' ? 'Disable' : 'Enable'} ${t.name || t.id}` });
      const remove = button('Delete', (e) => busy(e.currentTarget, async () => {
        if (await deleteThing(t)) await load();
      }), 'btn-small btn-danger', { 'aria-label': `Delete ${t.name || t.id}` });
      return h('tr', { dataset: { id: t.id } },
        h('td', { class: 'cell-name' }, h('a', { href: `#/things/${t.id}`, text: t.name || '(no name)' })),
        h('td', { class: 'mono', text: t.id }),
        h('td', {}, tags(t.tags)),
        h('td', {}, statusBadge(t.status)),
        h('td', { text: formatTime(t.created_at) }),
        h('td', {}, h('div', { class: 'row-actions' }, toggle, remove)));
    });
    const emptyText = filters.name || filters.tag || filters.metadata || filters.status !== 'all'
      ? 'No things match these filters.' : 'No things yet: create one above.';
    replace(listBox,
      table(['Name', 'ID', 'Tags', 'Status', 'Created', 'Actions'], rows, { empty: emptyText, label: 'Things' }),
      pager({ total: page.total, offset: filters.offset, limit: filters.limit }, go));
  }
  await load();
}

function createSection(ctx) {
  const name = input('name', { required: true });
  const tagsInput = input('tags', { placeholder: 'sensor, lab' });
  const metadata = h('textarea', { name: 'metadata', rows: 3, placeholder: '{"site": "A"}' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create thing' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'form' }, status,
    field('Name', name), field('Tags', tagsInput, 'Separate tags with commas.'),
    field('Metadata (JSON object)', metadata), submit);
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
    submit.disabled = true;
    try {
      const thing = await api.post('/things', { name: name.value.trim(), tags: parseTags(tagsInput.value), metadata: meta });
      toast(`Created ${thing.name || thing.id}`);
      ctx.navigate(`/things/${thing.id}`);
    } catch (err) {
      replace(status, alertBox(errorText(err)));
    } finally {
      submit.disabled = false;
    }
  });
  return h('details', { class: 'card', id: 'create-thing' }, h('summary', {}, h('strong', { text: 'Create a thing' })), form);
}

const TEMPLATE = 'name,tags,metadata\r\nboiler-sensor,"temperature;basement","{""site"": ""A""}"\r\ndoor-1,door,\r\n';

function rowToThing(row) {
  const thing = { name: row.name || '' };
  if (!thing.name) throw new Error('name is empty');
  thing.tags = parseTags(row.tags);
  thing.metadata = row.metadata ? parseJsonObject(row.metadata) : {};
  if (row.id) thing.id = row.id;
  if (row.key || row.secret) thing.credentials = { secret: row.key || row.secret };
  return thing;
}

function importSection(onDone) {
  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv' });
  const start = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create things', disabled: true });
  const progress = h('progress', { max: 1, value: 0, 'aria-label': 'Import progress', hidden: true });
  const progressText = h('p', { class: 'muted', 'aria-live': 'polite' });
  const results = h('div', { id: 'import-results' });
  let parsed = [];
  file.addEventListener('change', async () => {
    replace(results);
    parsed = [];
    start.disabled = true;
    const f = file.files[0];
    if (!f) return;
    const { columns, rows } = parseCsvObjects(await f.text());
    if (!columns.includes('name')) {
      replace(results, alertBox('The first line must be a header with at least a "name" column.'));
      return;
    }
    if (rows.length > MAX_IMPORT) {
      replace(results, alertBox(`At most ${MAX_IMPORT} rows per file; this one has ${rows.length}.`));
      return;
    }
    parsed = rows;
    start.disabled = rows.length === 0;
    progressText.textContent = `${rows.length} row(s) ready to import.`;
  });
  const form = h('form', { class: 'form' },
    h('p', { class: 'hint' }, 'Columns: name (required), tags (separated by ";"), metadata (a JSON object), '
      + 'optionally id and key. ', button('Download a template', () => downloadBlob('things-template.csv', TEMPLATE, 'text/csv'), 'btn-small')),
    field('CSV file', file), start, progress, progressText, results);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!parsed.length) return;
    start.disabled = true;
    file.disabled = true;
    const outcome = parsed.map(() => null);
    let done = 0;
    progress.hidden = false;
    progress.max = parsed.length;
    progress.value = 0;
    const resultRows = parsed.map((row, i) => {
      const cell = h('td', { class: 'muted', text: 'waiting' });
      return { tr: h('tr', {}, h('td', { text: String(i + 2) }), h('td', { class: 'cell-name', text: row.name || '' }), cell), cell };
    });
    replace(results, table(['Line', 'Name', 'Result'], resultRows.map((r) => r.tr), { label: 'Import results' }));
    await pool(parsed, 4, async (row) => api.post('/things', rowToThing(row)), (i, result) => {
      outcome[i] = result;
      done += 1;
      progress.value = done;
      progressText.textContent = `${done} of ${parsed.length} processed`;
      const { cell } = resultRows[i];
      cell.className = '';
      if (result.ok) {
        replace(cell, h('span', { class: 'badge badge-ok', text: 'created' }), ' ',
          h('a', { href: `#/things/${result.value.id}`, class: 'mono', text: result.value.id }));
      } else {
        replace(cell, h('span', { class: 'badge badge-warn', text: 'failed' }), ' ', errorText(result.error));
      }
    });
    const created = outcome.filter((r) => r.ok).length;
    progressText.textContent = `Done: ${created} created, ${parsed.length - created} failed.`;
    const report = parsed.map((row, i) => ({
      line: i + 2, name: row.name, result: outcome[i].ok ? 'created' : 'failed',
      id: outcome[i].ok ? outcome[i].value.id : '', key: outcome[i].ok ? outcome[i].value.credentials?.secret : '',
      error: outcome[i].ok ? '' : errorText(outcome[i].error),
    }));
    results.append(h('p', {}, button('Download results (with keys)', () => downloadBlob('things-import-results.csv',
      toCsv(['line', 'name', 'result', 'id', 'key', 'error'], report), 'text/csv'), 'btn-small')));
    file.disabled = false;
    file.value = '';
    parsed = [];
    onDone();
  });
  return h('details', { class: 'card', id: 'import-things' },
    h('summary', {}, h('strong', { text: 'Import things from a CSV file' })), form);
}
