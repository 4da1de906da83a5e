// Things: search, filters, pagination, create one, import many from CSV, enable/disable, delete.
import * as api from '../api.js';
import { parseCsvObjects, toCsv } from '../csv.js';
import { h, replace } from '../dom.js';
import { listRow, statusToggle, THING } from '../entity.js';
import { filterForm, filtersFromQuery, listQuery, showPage } from '../lists.js';
import {
  alertBox, button, downloadBlob, errorText, field, input, onMetadataSubmit, pageHead, parseJsonObject,
  parseTags, pool, table, tags, toast,
} from '../ui.js';

const MAX_IMPORT = 1000;

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

  function load() {
    return showPage(ctx, listBox, '/things', listQuery(filters, ['name', 'tag', 'metadata']), go, (page) => {
      const rows = page.things.map((t) => listRow(THING, t, h('td', {}, tags(t.tags)),
        statusToggle(THING, t, load, { label: t.name || t.id }), load));
      const emptyText = filters.name || filters.tag || filters.metadata || filters.status !== 'all'
        ? 'No things match these filters.' : 'No things yet: create one above.';
      return table(['Name', 'ID', 'Tags', 'Status', 'Created', 'Actions'], rows, { empty: emptyText, label: 'Things' });
    });
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
  onMetadataSubmit(form, { status, submit, metadata, focusInvalid: true }, async (meta) => {
    const thing = await api.post('/things', { name: name.value.trim(), tags: parseTags(tagsInput.value), metadata: meta });
    toast(`Created ${thing.name || thing.id}`);
    ctx.navigate(`/things/${thing.id}`);
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
