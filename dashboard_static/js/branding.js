// White-label: branding.json (next to index.html) names the product and sets logo, favicon, colors and
// support link. Colors become CSS custom properties on <html>, so every rule of the theme follows.
import { safeUrl } from './dom.js';

export const DEFAULT_BRANDING = Object.freeze({
  product_name: 'Choovio IoT',
  logo: 'img/logo.svg',
  favicon: 'img/favicon.svg',
  colors: { primary: '#2C5282', secondary: '#ED8936', accent: '#805AD5' },
  support: { label: 'Support', url: '' },
});

const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

function rgb(hex) {
  let s = hex.slice(1);
  if (s.length === 3) s = s.split('').map((c) => c + c).join('');
  return [0, 2, 4].map((i) => parseInt(s.slice(i, i + 2), 16) / 255);
}

function luminance(hex) {
  const [r, g, b] = rgb(hex).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** White or near-black, whichever reads better on `hex` (WCAG contrast ratio). */
export function readableOn(hex) {
  return contrast(hex, '#ffffff') >= contrast(hex, '#1a202c') ? '#ffffff' : '#1a202c';
}

export function normalize(raw) {
  const b = raw && typeof raw === 'object' ? raw : {};
  const colors = { ...DEFAULT_BRANDING.colors };
  for (const key of Object.keys(colors)) {
    const value = b.colors && b.colors[key];
    if (typeof value === 'string' && HEX.test(value.trim())) colors[key] = value.trim();
  }
  const support = b.support && typeof b.support === 'object' ? b.support : {};
  return {
    product_name: typeof b.product_name === 'string' && b.product_name.trim()
      ? b.product_name.trim().slice(0, 80) : DEFAULT_BRANDING.product_name,
    logo: safeUrl(b.logo) || DEFAULT_BRANDING.logo,
    favicon: safeUrl(b.favicon) || DEFAULT_BRANDING.favicon,
    colors,
    support: {
      label: typeof support.label === 'string' && support.label.trim() ? support.label.trim().slice(0, 40) : 'Support',
      url: safeUrl(support.url || b.support_url || ''),
    },
  };
}

export function applyBranding(raw) {
  const brand = normalize(raw);
  const root = document.documentElement;
  for (const [key, value] of Object.entries(brand.colors)) {
    root.style.setProperty(`--brand-${key}`, value);
    root.style.setProperty(`--brand-on-${key}`, readableOn(value));
  }
  document.getElementById('brand-name').textContent = brand.product_name;
  const logo = document.getElementById('brand-logo');
  logo.src = brand.logo;
  logo.alt = '';
  document.getElementById('favicon').href = brand.favicon;
  const support = document.getElementById('support-link');
  if (brand.support.url) {
    support.href = brand.support.url;
    support.textContent = brand.support.label;
    support.hidden = false;
  } else {
    support.hidden = true;
  }
  document.title = brand.product_name;
  return brand;
}

export async function loadJson(path) {
  const response = await fetch(path, { cache: 'no-cache', credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}
