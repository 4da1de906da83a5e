// Profile: who you are, your name, your password, your session.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { loadProfile, session } from '../session.js';
import { alertBox, errorText, field, formatTime, input, pageHead, tags, toast } from '../ui.js';

export async function render(ctx) {
  const user = await loadProfile();
  if (!ctx.current()) return;

  const name = input('name', { value: user.name || '', autocomplete: 'name' });
  const nameStatus = h('div', { 'aria-live': 'polite' });
  const nameForm = h('form', { class: 'form', 'aria-label': 'Your name' }, nameStatus, field('Name', name),
    h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save name' })));
  nameForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.patch(`/users/${user.id}`, { name: name.value.trim() });
      await loadProfile();
      document.getElementById('user-chip').textContent = session.user.name || session.user.credentials?.identity || 'Profile';
      replace(nameStatus, alertBox('Name saved.', 'ok'));
    } catch (err) {
      replace(nameStatus, alertBox(errorText(err)));
    }
  });

  const oldSecret = input('old_secret', { type: 'password', autocomplete: 'current-password', required: true });
  const newSecret = input('new_secret', { type: 'password', autocomplete: 'new-password', required: true });
  const confirmSecret = input('confirm_secret', { type: 'password', autocomplete: 'new-password', required: true });
  const pwStatus = h('div', { 'aria-live': 'polite' });
  const pwForm = h('form', { class: 'form', 'aria-label': 'Change password' }, pwStatus,
    field('Current password', oldSecret), field('New password', newSecret, 'At least 8 characters.'),
    field('Confirm new password', confirmSecret),
    h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Change password' })));
  pwForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (newSecret.value !== confirmSecret.value) {
      replace(pwStatus, alertBox('The new passwords do not match.'));
      return;
    }
    try {
      await api.patch('/users/secret', { old_secret: oldSecret.value, new_secret: newSecret.value });
      pwForm.reset();
      replace(pwStatus, alertBox('Password changed.', 'ok'));
    } catch (err) {
      replace(pwStatus, alertBox(err.status === 401 ? 'The current password is wrong.' : errorText(err)));
    }
  });

  const expiry = h('dd', { id: 'session-expiry', text: expiryText() });
  const refreshBtn = h('button', { type: 'button', class: 'btn', text: 'Refresh session now' });
  refreshBtn.addEventListener('click', async () => {
    refreshBtn.disabled = true;
    try {
      await api.refresh();
      expiry.textContent = expiryText();
      toast('Session refreshed');
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      refreshBtn.disabled = false;
    }
  });

  replace(ctx.main,
    pageHead('Profile'),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'profile-info' },
        h('h2', { id: 'profile-info', text: 'Account' }),
        h('dl', { class: 'kv', id: 'profile-details' },
          h('dt', { text: 'Email' }), h('dd', { id: 'profile-email', text: user.credentials?.identity || '' }),
          h('dt', { text: 'Role' }), h('dd', {}, h('span', { class: ['badge', user.role === 'admin' && 'badge-admin'], id: 'profile-role', text: user.role || 'user' })),
          h('dt', { text: 'User ID' }), h('dd', { class: 'mono', text: user.id }),
          h('dt', { text: 'Tags' }), h('dd', {}, user.tags?.length ? tags(user.tags) : h('span', { class: 'muted', text: 'none' })),
          h('dt', { text: 'Member since' }), h('dd', { text: formatTime(user.created_at) })),
        h('h3', { text: 'Your name' }), nameForm),
      h('section', { class: 'card', 'aria-labelledby': 'profile-password' },
        h('h2', { id: 'profile-password', text: 'Password' }), pwForm),
      h('section', { class: 'card', 'aria-labelledby': 'profile-session' },
        h('h2', { id: 'profile-session', text: 'Session' }),
        h('p', { class: 'hint', text: 'Your access token is kept in memory only and renewed automatically before it expires. '
          + 'Closing this tab ends the session.' }),
        h('dl', { class: 'kv' }, h('dt', { text: 'Access token valid until' }), expiry),
        h('div', { class: 'row-actions' }, refreshBtn,
          h('button', { type: 'button', class: 'btn btn-danger', text: 'Log out', onclick: () => api.logout() })))));
}

function expiryText() {
  const exp = api.accessTokenExpiry();
  return exp ? formatTime(exp) : 'unknown';
}
