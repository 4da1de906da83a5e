// Start-up, routing (hash routes, so static hosting needs no rewrites), navigation, theme.
import * as api from './api.js';
import { applyBranding, loadJson } from './branding.js';
import { loadCapabilities } from './capabilities.js';
import { h, replace } from './dom.js';
import { forget, isAdmin, loadProfile, session } from './session.js';
import { alertBox, errorText, loading, pageHead } from './ui.js';

const UUID = '([0-9a-fA-F-]{36})';
const routes = [
  { path: /^\/login$/, nav: null, public: true, load: () => import('./pages/auth.js'), fn: 'login' },
  { path: /^\/signup$/, nav: null, public: true, load: () => import('./pages/auth.js'), fn: 'signup' },
  { path: /^\/forgot$/, nav: null, public: true, load: () => import('./pages/auth.js'), fn: 'forgot' },
  { path: /^\/reset$/, nav: null, public: true, load: () => import('./pages/auth.js'), fn: 'reset' },
  { path: /^\/$/, nav: 'overview', load: () => import('./pages/overview.js') },
  { path: /^\/things$/, nav: 'things', load: () => import('./pages/things.js') },
  { path: new RegExp(`^/things/${UUID}$`), nav: 'things', load: () => import('./pages/thing.js') },
  { path: /^\/channels$/, nav: 'channels', load: () => import('./pages/channels.js') },
  { path: new RegExp(`^/channels/${UUID}$`), nav: 'channels', load: () => import('./pages/channel.js') },
  { path: /^\/messages$/, nav: 'messages', load: () => import('./pages/messages.js') },
  { path: /^\/profile$/, nav: 'profile', load: () => import('./pages/profile.js') },
  { path: /^\/users$/, nav: 'users', admin: true, load: () => import('./pages/users.js') },
  { path: /^\/backup$/, nav: 'backup', admin: true, load: () => import('./pages/backup.js') },
];

const main = document.getElementById('main');
let leaveHandlers = [];
let renderSeq = 0;

export function parseHash(hash = window.location.hash) {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const [path, qs = ''] = (raw || '/').split('?');
  return { path: path || '/', query: new URLSearchParams(qs) };
}

/** navigate('/things', {name: 'x'}) sets the hash; empty values are left out. */
export function navigate(path, query = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const target = `#${path}${qs.toString() ? `?${qs}` : ''}`;
  if (window.location.hash === target) route();
  else window.location.hash = target;
}

function leave() {
  for (const fn of leaveHandlers) {
    try {
      fn();
    } catch {
      // a page's cleanup must not block the next page
    }
  }
  leaveHandlers = [];
}

function markNav(name) {
  for (const a of document.querySelectorAll('#sidenav a[data-route]')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function showChrome(loggedIn) {
  document.getElementById('sidenav').hidden = !loggedIn;
  document.getElementById('logout').hidden = !loggedIn;
  const chip = document.getElementById('user-chip');
  chip.hidden = !loggedIn;
  chip.textContent = loggedIn && session.user ? (session.user.name || session.user.credentials?.identity || 'Profile') : '';
  for (const li of document.querySelectorAll('#sidenav [data-admin]')) li.hidden = !(loggedIn && isAdmin());
}

function closeNav() {
  const nav = document.getElementById('sidenav');
  nav.classList.remove('is-open');
  document.getElementById('nav-toggle').setAttribute('aria-expanded', 'false');
}

function isResetLink() {
  return /\/reset-password\/?$/.test(window.location.pathname);
}

export async function route() {
  const seq = ++renderSeq;
  leave();
  closeNav();
  let { path, query } = parseHash();
  if (isResetLink() && (!window.location.hash || window.location.hash === '#')) {
    path = '/reset';
    query = new URLSearchParams(window.location.search);
  }
  const match = routes.map((r) => ({ r, m: r.path.exec(path) })).find((x) => x.m);
  if (!match) {
    showChrome(api.hasSession());
    replace(main, pageHead('Page not found'), h('p', {}, h('a', { href: '#/', text: 'Go to the overview' })));
    return;
  }
  const { r, m } = match;
  if (!r.public) {
    if (!api.hasSession()) {
      navigate('/login', path === '/' ? {} : { next: `${path}${query.toString() ? `?${query}` : ''}` });
      return;
    }
    if (!session.user) {
      loading(main);
      try {
        await loadProfile();
      } catch (err) {
        if (seq !== renderSeq) return;
        if (err.status === 401) {
          api.logout();
          return;
        }
        showChrome(false);
        replace(main, pageHead('Cannot load your profile'), alertBox(errorText(err)));
        return;
      }
    }
  } else if (api.hasSession() && ['login', 'signup'].includes(r.fn)) {
    navigate('/');
    return;
  }
  if (seq !== renderSeq) return;
  showChrome(!r.public && Boolean(session.user));
  markNav(r.nav);
  if (r.admin && !isAdmin()) {
    replace(main, pageHead('Administrators only'),
      alertBox('This page is for administrators. Ask an administrator if you need access.', 'info'));
    return;
  }
  loading(main);
  const ctx = {
    main,
    params: m.slice(1),
    query,
    path,
    config: session.config,
    navigate,
    onLeave: (fn) => leaveHandlers.push(fn),
    current: () => seq === renderSeq,
  };
  try {
    const mod = await r.load();
    if (seq !== renderSeq) return;
    await mod[r.fn || 'render'](ctx);
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err.status === 401) return; // the session ended; the logout handler shows the login page
    replace(main, pageHead('Something went wrong'), alertBox(errorText(err)));
  }
  if (seq === renderSeq) {
    const heading = main.querySelector('h1');
    if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
  }
}

// -- theme ------------------------------------------------------------------------------------

const THEME_KEY = 'iot.theme';

function effectiveTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen) return chosen;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try {
    window.localStorage.setItem(THEME_KEY, theme);
  } catch {
    // not persisted
  }
  syncThemeButton();
  window.dispatchEvent(new CustomEvent('themechange'));
}

function syncThemeButton() {
  const dark = effectiveTheme() === 'dark';
  const btn = document.getElementById('theme-toggle');
  btn.setAttribute('aria-pressed', String(dark));
}

function initTheme() {
  let saved = null;
  try {
    saved = window.localStorage.getItem(THEME_KEY);
  } catch {
    // no storage
  }
  if (saved === 'dark' || saved === 'light') document.documentElement.dataset.theme = saved;
  syncThemeButton();
  document.getElementById('theme-toggle').addEventListener('click', () => {
    setTheme(effectiveTheme() === 'dark' ? 'light' : 'dark');
  });
}

// -- start --------------------------------------------------------------------------------------

async function start() {
  initTheme();
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  const toggle = document.getElementById('nav-toggle');
  toggle.addEventListener('click', () => {
    const nav = document.getElementById('sidenav');
    const open = !nav.classList.contains('is-open');
    nav.classList.toggle('is-open', open);
    toggle.setAttribute('aria-expanded', String(open));
    if (open) nav.querySelector('a')?.focus();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.getElementById('sidenav').classList.contains('is-open')) {
      closeNav();
      toggle.focus();
    }
  });
  document.getElementById('logout').addEventListener('click', () => api.logout());

  const [branding, config] = await Promise.allSettled([loadJson('branding.json'), loadJson('config.json')]);
  session.branding = applyBranding(branding.status === 'fulfilled' ? branding.value : {});
  session.config = config.status === 'fulfilled' && config.value && typeof config.value === 'object' ? config.value : {};
  api.setBaseUrl(session.config.api_url || '');
  await loadCapabilities();
  if (config.status !== 'fulfilled') {
    // Without config.json the API is assumed on this origin; say so instead of failing silently.
    console.warn('config.json could not be loaded; using this origin as the API');
  }

  api.onSessionChange((kind) => {
    if (kind === 'logout' || kind === 'expired') {
      forget();
      showChrome(false);
      const { path, query } = parseHash();
      if (path === '/login') return;
      // After an expired session, come back here once logged in again; after "Log out", start afresh.
      const here = `${path}${query.toString() ? `?${query}` : ''}`;
      navigate('/login', kind === 'expired' && path !== '/' ? { next: here } : {});
    }
  });
  window.addEventListener('hashchange', route);
  await route();
  document.documentElement.dataset.ready = 'true';
}

start().catch((err) => {
  replace(main, alertBox(`The dashboard failed to start: ${errorText(err)}`));
});
