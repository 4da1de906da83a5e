// What this API offers, from its own OpenAPI document (GET /openapi.json, public). Pages ask before
// calling optional routes (messages reader, device certificates, backup administration), so a
// deployment without them shows a clear "not available" instead of failing requests.
import * as api from './api.js';

let paths = null;

export async function loadCapabilities() {
  try {
    const doc = await api.request('GET', '/openapi.json', { auth: false });
    paths = doc && typeof doc.paths === 'object' ? doc.paths : null;
  } catch {
    paths = null; // unknown: pages try the route and report what happens
  }
}

/**
 * has('GET', '/channels/{channel_id}/messages'). When the document could not be read the answer is
 * `unknown` (default true: try the route and report what happens; pass false for extras).
 */
export function has(method, path, unknown = true) {
  if (!paths) return unknown;
  const entry = paths[path];
  return Boolean(entry && entry[method.toLowerCase()]);
}

export const READ_MESSAGES = ['GET', '/channels/{channel_id}/messages'];
