// Log in, sign up, password reset request and reset.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { session } from '../session.js';
import { alertBox, errorText, field, input } from '../ui.js';

function authPage(ctx, title, form, links) {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  replace(ctx.main, h('div', { class: 'auth' },
    h('div', { class: 'card' },
      h('h1', { tabindex: '-1', text: title }),
      status,
      form,
      h('div', { class: 'auth-links' }, links))));
  return status;
}

function safeNext(next) {
  // Only in-app routes: never an absolute URL taken from the address bar.
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function goNext(ctx) {
  const target = safeNext(ctx.query.get('next'));
  const [path, qs = ''] = target.split('?');
  ctx.navigate(path, Object.fromEntries(new URLSearchParams(qs)));
}

export function login(ctx) {
  const identity = input('identity', { type: 'email', autocomplete: 'username', required: true });
  const secret = input('secret', { type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Log in' });
  const form = h('form', { class: 'form', novalidate: true },
    field('Email', identity), field('Password', secret), submit);
  const status = authPage(ctx, `Log in to ${session.branding?.product_name || 'the dashboard'}`, form, [
    h('a', { href: '#/signup', text: 'Create an account' }),
    h('a', { href: '#/forgot', text: 'Forgot your password?' }),
  ]);
  if (ctx.query.get('reset') === 'done') {
    replace(status, alertBox('Your password was changed. Log in with the new one.', 'ok'));
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!identity.value || !secret.value) {
      replace(status, alertBox('Enter your email and password.'));
      return;
    }
    submit.disabled = true;
    try {
      await api.login(identity.value.trim(), secret.value);
      goNext(ctx);
    } catch (err) {
      replace(status, alertBox(err.status === 401 ? 'Wrong email or password.' : errorText(err)));
      secret.select();
    } finally {
      submit.disabled = false;
    }
  });
  identity.focus();
}

export function signup(ctx) {
  const name = input('name', { autocomplete: 'name' });
  const identity = input('identity', { type: 'email', autocomplete: 'email', required: true });
  const secret = input('secret', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const confirm = input('confirm', { type: 'password', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create account' });
  const form = h('form', { class: 'form', novalidate: true },
    field('Name', name), field('Email', identity),
    field('Password', secret, 'At least 8 characters.'), field('Confirm password', confirm), submit);
  const status = authPage(ctx, 'Create an account', form, [
    h('a', { href: '#/login', text: 'I already have an account' }),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (secret.value !== confirm.value) {
      replace(status, alertBox('The passwords do not match.'));
      confirm.setAttribute('aria-invalid', 'true');
      confirm.focus();
      return;
    }
    confirm.removeAttribute('aria-invalid');
    submit.disabled = true;
    try {
      await api.request('POST', '/users', {
        auth: false,
        body: { name: name.value.trim(), credentials: { identity: identity.value.trim(), secret: secret.value } },
      });
      await api.login(identity.value.trim(), secret.value);
      ctx.navigate('/');
    } catch (err) {
      replace(status, alertBox(err.status === 409 ? 'An account with this email already exists.' : errorText(err)));
    } finally {
      submit.disabled = false;
    }
  });
  name.focus();
}

export function forgot(ctx) {
  const email = input('email', { type: 'email', autocomplete: 'email', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Send reset link' });
  const form = h('form', { class: 'form', novalidate: true }, field('Email', email), submit);
  const status = authPage(ctx, 'Reset your password', form, [h('a', { href: '#/login', text: 'Back to log in' })]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!email.value.trim()) {
      replace(status, alertBox('Enter the email address of your account.'));
      return;
    }
    submit.disabled = true;
    try {
      await api.request('POST', '/password/reset-request', { auth: false, body: { email: email.value.trim() } });
      replace(status, alertBox('If an account exists for this address, a reset link is on its way. '
        + 'The link is valid for a short time.', 'ok'));
      form.reset();
    } catch (err) {
      replace(status, alertBox(errorText(err)));
    } finally {
      submit.disabled = false;
    }
  });
  email.focus();
}

export function reset(ctx) {
  const token = ctx.query.get('token') || '';
  const password = input('password', { type: 'password', autocomplete: 'new-password', required: true });
  const confirm = input('confirm_password', { type: 'password', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Set new password' });
  const form = h('form', { class: 'form', novalidate: true },
    field('New password', password, 'At least 8 characters.'), field('Confirm new password', confirm), submit);
  const status = authPage(ctx, 'Choose a new password', form, [h('a', { href: appRoot('#/login'), text: 'Back to log in' })]);
  if (!token) {
    replace(status, alertBox('This reset link is incomplete. Request a new one.'));
    submit.disabled = true;
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (password.value !== confirm.value) {
      replace(status, alertBox('The passwords do not match.'));
      return;
    }
    submit.disabled = true;
    try {
      await api.request('PUT', '/password/reset', {
        auth: false, body: { token, password: password.value, confirm_password: confirm.value },
      });
      // Leave /reset-password?token=... so the token does not linger in the address bar or history.
      window.location.replace(appRoot('#/login?reset=done'));
    } catch (err) {
      replace(status, alertBox(err.status === 401 ? 'This reset link has expired or was already used. Request a new one.'
        : errorText(err)));
      submit.disabled = false;
    }
  });
  password.focus();
}

function appRoot(hash) {
  const path = window.location.pathname.replace(/reset-password\/?$/, '');
  return `${window.location.origin}${path}${hash}`;
}
