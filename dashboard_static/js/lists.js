// The list pages (things, channels, users). Their filters live in the address, so a filtered list can
// be bookmarked and Back returns to it; every list loads one page at a time under the same pager.
import * as api from './api.js';
import { h, replace } from './dom.js';
import { alertBox, button, errorText, field, input, pager, parseJsonObject, select, toast } from './ui.js';

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

/** The search form of things and channels; onApply(filters). */
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

/** The API query of a list: paging and status always, the named filters only when they are set. */
export function listQuery(filters, keys) {
  const query = { offset: filters.offset, limit: filters.limit, status: filters.status };
  for (const key of keys) if (filters[key]) query[key] = filters[key];
  return query;
}

/**
 * Load one page of `path` into `box`: the table toTable(page) builds, then the pager (go(next) on a
 * move). An API error takes the list's place; a page the user has left meanwhile is not touched.
 */
export async function showPage(ctx, box, path, query, go, toTable) {
  let page;
  try {
    page = await api.get(path, query);
  } catch (err) {
    replace(box, alertBox(errorText(err)));
    return;
  }
  if (!ctx.current()) return;
  replace(box, toTable(page), pager({ total: page.total, offset: query.offset, limit: query.limit }, go));
}
