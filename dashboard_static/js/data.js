// Reading collections from the API page by page (the API caps a page at 100 items).
import * as api from './api.js';

export const PAGE = 100;

/** All items of a paged list, up to `cap`; returns {items, total, truncated}. */
export async function listAll(path, key, query = {}, cap = 1000) {
  const items = [];
  let total = 0;
  for (let offset = 0; offset < cap; offset += PAGE) {
    const page = await api.get(path, { ...query, offset, limit: Math.min(PAGE, cap - offset) });
    total = page.total ?? 0;
    items.push(...(page[key] || []));
    if ((page[key] || []).length === 0 || items.length >= total) break;
  }
  return { items, total, truncated: items.length < total };
}

export function messagesPath(channelId, subtopic) {
  const sub = subtopic ? `/${String(subtopic).split(/[./]/).filter(Boolean).map(encodeURIComponent).join('/')}` : '';
  return `/channels/${encodeURIComponent(channelId)}/messages${sub}`;
}

/** Messages of one channel (newest first as the API orders them), up to `cap`. */
export async function readMessages(channelId, query = {}, cap = 1000) {
  const { items, total, truncated } = await listAll(messagesPath(channelId), 'messages', query, cap);
  return { messages: items, total, truncated };
}
