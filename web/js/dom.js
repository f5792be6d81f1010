// Small helpers every view uses: building elements (text is always text, never HTML), calling the API, formats.
// The page runs under a strict Content-Security-Policy: no inline scripts or handlers, no style attributes —
// styles come from app.css classes, and the few computed sizes are set through CSSOM (element.style.x = ...).

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
}

/** An element: `on<event>` attributes become listeners, `hidden`/`disabled`/... booleans are set or left out. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** An SVG element (same rules as el). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'style') throw new Error('no style attributes: use a class (the page runs under a strict CSP)');
    if (k === 'class') node.setAttribute('class', v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in node) node.value = v;
    else if (k === 'checked' || k === 'selected') node[k] = !!v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

export class ApiError extends Error {
  constructor(message, status, details) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

/** JSON over fetch with the session cookie; a 401 goes to the login page and comes back here afterwards. */
export async function api(path, opts = {}) {
  const res = await fetch(path, {
    method: opts.method ?? 'GET',
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    headers: { ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), accept: 'application/json' },
    credentials: 'same-origin',
  });
  if (res.status === 401) {
    location.href = `/login?next=${encodeURIComponent(`/${location.hash}`)}`;
    throw new ApiError('signed out', 401);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.error || `HTTP ${res.status}`, res.status, body.details);
  return body;
}

export const post = (path, body = {}) => api(path, { method: 'POST', body });

/** A classic script (a UMD library), once. */
const scripts = new Map();
export function loadScript(src) {
  if (!scripts.has(src)) {
    scripts.set(src, new Promise((resolve, reject) => {
      const s = el('script', { src });
      s.addEventListener('load', resolve);
      s.addEventListener('error', () => reject(new Error(`could not load ${src}`)));
      document.head.append(s);
    }));
  }
  return scripts.get(src);
}

/** A stylesheet, once. */
export function loadStyle(href) {
  if (!$(`link[href="${href}"]`)) document.head.append(el('link', { rel: 'stylesheet', href }));
}

// ---- formats ---------------------------------------------------------------------------------------------------

export function fmtDuration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function fmtAge(iso, now = Date.now()) {
  if (!iso) return '';
  const ms = now - Date.parse(iso);
  if (ms < 5000) return 'just now';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

export const fmtInt = (n) => (n ?? 0).toLocaleString('en-US');
export function fmtTokens(n) {
  n = n ?? 0;
  if (n < 10_000) return `${fmtInt(n)} tok`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k tok`;
  return `${(n / 1_000_000).toFixed(2)}M tok`;
}
export function fmtCost(usd) {
  usd = usd ?? 0;
  if (usd === 0) return '$0';
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}
export const fmtPct = (x) => (x === null || x === undefined ? '–' : `${Math.round(x * 100)}%`);
export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
export const fmtDateTime = (iso) => (iso ? new Date(iso).toLocaleString() : '');
/** A time as the schedule's zone sees it ("Mon, 23 Nov 2026, 09:00 Europe/Berlin"), or local time without a zone. */
export function fmtInZone(iso, timeZone) {
  if (!iso) return '';
  if (!timeZone) return fmtDateTime(iso);
  const opts = { timeZone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  return `${new Intl.DateTimeFormat(undefined, opts).format(new Date(iso))} ${timeZone}`;
}
export function ordinal(n) {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] || s[v] || s[0]}`;
}
export const capital = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : '');
export const tokensOf = (u) => (u ? (u.inputTokens ?? 0) + (u.outputTokens ?? 0) : 0);

/** A short message at the bottom of the screen. */
let toastTimer;
export function toast(text, kind = 'info') {
  const t = $('#toast');
  t.textContent = text;
  t.className = `show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.className = ''), 4000);
}

/** Debounce per key. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** The browser's IANA time zone. */
export const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
