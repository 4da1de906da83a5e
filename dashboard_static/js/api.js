// The API client. Token handling (see README.md, "Tokens"):
//  - the access token lives only in this module's memory: it is never written to any storage, so
//    nothing on disk or in another tab can read it, and it disappears with the page;
//  - the refresh token is kept in sessionStorage: it survives a reload of this tab (so a reload does
//    not log you out) but is scoped to this tab and deleted when the tab closes;
//  - no cookies are used, so the API cannot be driven cross-site (no CSRF); the strict CSP of
//    index.html and text-only rendering are the defence against script that could read either.

const REFRESH_KEY = 'iot.refresh_token';
const EARLY_REFRESH_SECONDS = 60;

export class ApiError extends Error {
  constructor(status, error, message) {
    super(message || error || `HTTP ${status}`);
    this.status = status;
    this.error = error || '';
  }
}

let base = '';
let accessToken = null;
let accessExpiry = 0;
let refreshing = null;
const listeners = new Set();

export function setBaseUrl(url) {
  base = String(url || '').replace(/\/+$/, '');
}

export function baseUrl() {
  return base || window.location.origin;
}

/** Called with 'login', 'logout' (asked for) or 'expired' (the refresh token was refused). */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(kind) {
  for (const fn of listeners) fn(kind);
}

function tokenExpiry(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
    return Number(claims.exp) || 0;
  } catch {
    return 0;
  }
}

function readRefresh() {
  try {
    return window.sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function setTokens(pair) {
  accessToken = pair.access_token;
  accessExpiry = tokenExpiry(accessToken);
  try {
    window.sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  } catch {
    // Storage refused (private mode): the session then lasts as long as this page.
  }
}

export function clearTokens() {
  accessToken = null;
  accessExpiry = 0;
  try {
    window.sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    // nothing stored
  }
}

export function hasSession() {
  return Boolean(accessToken || readRefresh());
}

export function accessTokenExpiry() {
  return accessExpiry;
}

function url(path, query) {
  const u = new URL(baseUrl() + path, window.location.href);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    u.searchParams.set(key, String(value));
  }
  return u;
}

async function errorFrom(response) {
  let error = '';
  let message = '';
  try {
    const body = await response.json();
    error = body.error || body.Code || '';
    message = body.message || body.Message || '';
  } catch {
    // not JSON
  }
  if (response.status === 404 && !message) message = 'not found';
  return new ApiError(response.status, error, message || `${response.status} ${response.statusText}`);
}

async function send(method, path, { query, body, token, headers } = {}) {
  const hdrs = { Accept: 'application/json', ...(headers || {}) };
  let payload;
  if (body !== undefined) {
    hdrs['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (token) hdrs.Authorization = `Bearer ${token}`;
  try {
    return await fetch(url(path, query), {
      method, headers: hdrs, body: payload, cache: 'no-store', credentials: 'omit', mode: 'cors',
    });
  } catch {
    throw new ApiError(0, 'network', `Cannot reach the API at ${baseUrl()}. Check your connection or config.json.`);
  }
}

/** Exchange the refresh token for a new pair; concurrent callers share one request. */
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const token = readRefresh();
      if (!token) throw new ApiError(401, 'unauthenticated', 'Please log in.');
      const response = await send('POST', '/users/tokens/refresh', { token });
      if (!response.ok) {
        const err = await errorFrom(response);
        if (response.status === 401 || response.status === 403) {
          clearTokens();
          emit('expired');
          throw new ApiError(401, err.error, 'Your session has expired. Please log in again.');
        }
        throw err;
      }
      setTokens(await response.json());
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function currentAccess() {
  const now = Date.now() / 1000;
  if (!accessToken || (accessExpiry && accessExpiry - now < EARLY_REFRESH_SECONDS)) {
    await refresh();
  }
  return accessToken;
}

/**
 * request('GET', '/things', {query: {limit: 10}}) -> parsed JSON (null for 204).
 * auth (default true) sends the access token, refreshing it first when it is about to expire
 * and once more after a 401. raw: true returns the Response (for CSV downloads).
 */
export async function request(method, path, { query, body, auth = true, raw = false, headers } = {}) {
  let token = auth ? await currentAccess() : undefined;
  let response = await send(method, path, { query, body, token, headers });
  if (auth && response.status === 401 && readRefresh()) {
    await refresh();
    token = accessToken;
    response = await send(method, path, { query, body, token, headers });
  }
  if (!response.ok) throw await errorFrom(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const patch = (path, body) => request('PATCH', path, { body });
export const put = (path, body) => request('PUT', path, { body });
export const del = (path) => request('DELETE', path);

export async function login(identity, secret) {
  const pair = await request('POST', '/users/tokens/issue', { body: { identity, secret }, auth: false });
  setTokens(pair);
  emit('login');
  return pair;
}

export function logout() {
  // Tokens are stateless JWTs: logging out forgets both, here and in sessionStorage.
  clearTokens();
  emit('logout');
}
