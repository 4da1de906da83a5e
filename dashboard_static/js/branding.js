// White-label: branding.json (next to index.html) names the product and sets logo, favicon, colors and
// support link. Colors become CSS custom properties on <html>, so every rule of the theme follows.
import { safeUrl } from './dom.js';

// The preset itself (Choovio's colors) lives in css/theme.css; a branding file overrides what it sets.
export const DEFAULT_BRANDING = Object.freeze({
  product_name: 'Choovio IoT',
  logo: 'img/logo.svg',
  favicon: 'img/favicon.svg',
  support: { label: 'Support', url: '' },
});

const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
const BRAND_COLORS = ['primary', 'secondary', 'accent'];
// Relative luminance of the two text colors of theme.css: --on-dark (white) and --on-light (#1a202c).
const ON_DARK_LUMINANCE = 1;
const ON_LIGHT_LUMINANCE = 0.0137;

function channel(c) {
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

export function luminance(hex) {
  let s = hex.slice(1);
  if (s.length === 3) s = s.split('').map((c) => c + c).join('');
  const [r, g, b] = [0, 2, 4].map((i) => channel(parseInt(s.slice(i, i + 2), 16) / 255));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function ratio(a, b) {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/** The theme's text color (as a CSS variable) that reads better on `hex` (WCAG contrast ratio). */
export function readableOn(hex) {
  const l = luminance(hex);
  return ratio(l, ON_DARK_LUMINANCE) >= ratio(l, ON_LIGHT_LUMINANCE) ? 'var(--on-dark)' : 'var(--on-light)';
}

export function normalize(raw) {
  const b = raw && typeof raw === 'object' ? raw : {};
  const colors = {};
  for (const key of BRAND_COLORS) {
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
  for (const key of BRAND_COLORS) {
    root.style.removeProperty(`--brand-${key}`);
    root.style.removeProperty(`--brand-on-${key}`);
  }
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
