// Building the DOM safely. Every string becomes a text node or an attribute value: nothing here
// (or anywhere in the app) parses HTML from data, so a name like <img src=x onerror=...> stays text.

const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'download']);

/** Only http(s), mailto, relative and blob: URLs reach href/src; "javascript:" and friends do not. */
export function safeUrl(value) {
  const text = String(value ?? '').trim();
  if (!text) return '';
  try {
    const url = new URL(text, document.baseURI);
    if (['http:', 'https:', 'mailto:', 'blob:'].includes(url.protocol)) return text;
    if (url.protocol === 'data:' && /^data:image\/(png|gif|jpeg|webp|svg\+xml)[;,]/i.test(text)) return text;
  } catch {
    return '';
  }
  return '';
}

/**
 * h('button', {class: 'btn', onclick: fn, 'aria-label': 'Close'}, 'text', childNode, [more])
 * Attributes: `class`, `text`, `dataset` (object), `on<event>` (function), booleans (true sets,
 * false/null/undefined skips), everything else via setAttribute. `style` and `innerHTML` are refused.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'style' || key === 'innerHTML' || key === 'outerHTML') {
      throw new Error(`h(): "${key}" is not allowed`);
    }
    if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' && 'value' in el) {
      el.value = String(value);
    } else if (key === 'checked' || key === 'selected' || key === 'disabled') {
      el[key] = Boolean(value);
      if (value) el.setAttribute(key, '');
    } else if (URL_ATTRS.has(key) && key !== 'download') {
      el.setAttribute(key, safeUrl(value));
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}
