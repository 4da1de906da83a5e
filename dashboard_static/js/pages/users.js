// Users (administrators only): list, search, enable/disable, role, add a user.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { statusToggle, USER } from '../entity.js';
import { filtersFromQuery, showPage } from '../lists.js';
import { session } from '../session.js';
import {
  alertBox, busy, confirmDialog, errorText, field, formatTime, input, pageHead, select, statusBadge, table, toast,
} from '../ui.js';

export async function render(ctx) {
  const filters = filtersFromQuery(ctx.query);
  const go = (next) => ctx.navigate('/users', { ...filters, ...next });
  const listBox = h('div', { id: 'users-list' }, h('p', { class: 'loading', text: 'Loading…' }));
  const search = input('name', { type: 'search', value: filters.name, placeholder: 'Search by name' });
  const identity = input('identity', { type: 'search', value: ctx.query.get('identity') || '', placeholder: 'name@example.com' });
  const status = select('status', [['all', 'All'], ['enabled', 'Enabled'], ['disabled', 'Disabled']], filters.status);
  const form = h('form', { class: 'form form-wide', role: 'search', 'aria-label': 'Filter users' },
    h('div', { class: 'form-row' }, field('Name', search), field('Email', identity), field('Status', status)),
    h('div', { class: 'row-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Apply filters' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go({ name: search.value.trim(), identity: identity.value.trim(), status: status.value, offset: 0 });
  });

  replace(ctx.main, pageHead('Users'), addUser(() => load()),
    h('section', { class: 'card', 'aria-labelledby': 'users-title' },
      h('h2', { id: 'users-title', text: 'All users' }), form, listBox));

  function load() {
    const query = {
      offset: filters.offset, limit: filters.limit, status: filters.status, name: filters.name,
      identity: ctx.query.get('identity') || '',
    };
    return showPage(ctx, listBox, '/users', query, go, (page) => {
      const rows = page.users.map((u) => {
        const self = u.id === session.user?.id;
        const label = u.name || u.credentials?.identity || u.id;
        const role = select('role', [['user', 'user'], ['admin', 'admin']], u.role || 'user',
          { 'aria-label': `Role of ${label}`, disabled: self });
        role.addEventListener('change', () => busy(role, async () => {
          await api.patch(`/users/${u.id}/role`, { role: role.value });
          await load();
          toast(`${label} is now ${role.value}`);
        }));
        // Disabling locks the user out, so it asks first; enabling does not.
        const toggle = statusToggle(USER, u, load, {
          label, disabled: self,
          confirmDisable: () => confirmDialog('Disable this user?', `${label} will not be able to log in until enabled again.`, 'Disable'),
        });
        return h('tr', { dataset: { id: u.id } },
          h('td', { class: 'cell-name', text: u.name || '' }),
          h('td', { class: 'cell-name', text: u.credentials?.identity || '' }),
          h('td', {}, role),
          h('td', {}, statusBadge(u.status)),
          h('td', { text: formatTime(u.created_at) }),
          h('td', {}, self ? h('span', { class: 'muted', text: 'you' }) : toggle));
      });
      return table(['Name', 'Email', 'Role', 'Status', 'Created', 'Actions'], rows, { empty: 'No users match.', label: 'Users' });
    });
  }
  await load();
}

function addUser(done) {
  const name = input('name');
  const identity = input('identity', { type: 'email', required: true });
  const secret = input('secret', { type: 'password', autocomplete: 'new-password', required: true });
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Add user' });
  const form = h('form', { class: 'form' }, status, field('Name', name), field('Email', identity),
    field('Initial password', secret, 'At least 8 characters; the user can change it in their profile.'), submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      await api.post('/users', { name: name.value.trim(), credentials: { identity: identity.value.trim(), secret: secret.value } });
      toast(`Added ${identity.value.trim()}`);
      form.reset();
      replace(status);
      await done();
    } catch (err) {
      replace(status, alertBox(errorText(err)));
    } finally {
      submit.disabled = false;
    }
  });
  return h('details', { class: 'card' }, h('summary', {}, h('strong', { text: 'Add a user' })), form);
}
