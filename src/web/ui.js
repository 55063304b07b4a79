// DOM building, French formatting, tables and messages. Text always goes in
// as text nodes (never innerHTML): nothing the API returns can become markup.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function setProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

// ---- formatting (fr-FR) ----

const nf = (o) => new Intl.NumberFormat('fr-FR', o);
const euros2 = nf({ style: 'currency', currency: 'EUR' });
const euros0 = nf({ style: 'currency', currency: 'EUR', maximumFractionDigits: 0 });
const ints = nf({ maximumFractionDigits: 0 });

export const fmt = {
  euros: (cents) => (cents === null || cents === undefined ? '—' : euros2.format(cents / 100)),
  eurosRound: (cents) => (cents === null || cents === undefined ? '—' : euros0.format(cents / 100)),
  int: (n) => (n === null || n === undefined ? '—' : ints.format(n)),
  num: (x, digits = 2) => (x === null || x === undefined ? '—' : nf({ maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(x)),
  fixed: (x, digits = 2) => (x === null || x === undefined ? '—' : nf({ maximumFractionDigits: digits, minimumFractionDigits: digits }).format(x)),
  pct: (x, digits = 1) => (x === null || x === undefined ? '—' : nf({ style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: digits }).format(x)),
  date(iso) {
    if (!iso) return '—';
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
    if (m) return `${m[3]}/${m[2]}/${m[1]}`;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('fr-FR', { dateStyle: 'short', timeStyle: 'short' });
  },
  month(ym) {
    const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
    return m ? `${m[2]}/${m[1]}` : ym || '—';
  },
  sex: (s) => ({ 1: 'homme', 2: 'femme' }[s] || '—'),
  yesNo: (b) => (b ? 'oui' : 'non'),
  // "F_35_44" -> "femme, 35–44 ans"; "M_85p" -> "homme, 85 ans et plus"
  ageSex(cell) {
    const m = /^([FM])_(\d+)(?:_(\d+)|p)$/.exec(cell || '');
    if (!m) return cell || '—';
    const who = m[1] === 'F' ? 'femme' : 'homme';
    return m[3] ? `${who}, ${m[2]}–${m[3]} ans` : `${who}, ${m[2]} ans et plus`;
  },
  pseudonym: (p) => (p ? p.slice(0, 12) : '—'),
};

// Spaces of any kind as plain spaces: handy to compare formatted figures.
export const plain = (t) => String(t).replace(/[\u00a0\u202f]/g, ' ');

// ---- building blocks ----

// A section with its heading; the heading names the region for assistive tech.
export function section(title, ...children) {
  const id = nextId('sec');
  return h('section', { 'aria-labelledby': id }, h('h2', { id, text: title }), ...children);
}

// Key figures: [[label, value], ...] as a description list.
export function figures(pairs, cls = 'figures') {
  return h('dl', { class: cls }, pairs.filter(Boolean).map(([k, v]) => h('div', null, h('dt', { text: k }), h('dd', null, v))));
}

// A semantic table. columns: [{label, value: row => text|Node, num?: bool, header?: bool}]
export function table({ caption, columns, rows, empty = 'Aucune ligne.', foot, id, className }) {
  const thead = h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null, text: c.label }))));
  const tbody = h('tbody');
  if (!rows.length) {
    tbody.append(h('tr', null, h('td', { colSpan: columns.length, class: 'empty', text: empty })));
  }
  for (const row of rows) {
    tbody.append(h('tr', null, columns.map((c) => {
      const v = c.value(row);
      const cls = [c.num ? 'num' : null, c.cls ? c.cls(row) : null];
      return c.header ? h('th', { scope: 'row', class: cls }, v) : h('td', { class: cls }, v);
    })));
  }
  const t = h('table', { id, class: className }, h('caption', null, caption), thead, tbody);
  if (foot) t.append(h('tfoot', null, foot));
  return h('div', { class: 'table-wrap' }, t);
}

export function field(label, control, hint) {
  const id = control.id || (control.id = nextId('f'));
  const parts = [h('label', { for: id }, label)];
  if (hint) {
    const hid = nextId('hint');
    control.setAttribute('aria-describedby', hid);
    parts.push(control, h('span', { class: 'hint', id: hid, text: hint }));
  } else {
    parts.push(control);
  }
  return h('div', { class: control.type === 'checkbox' ? 'field check' : 'field' }, control.type === 'checkbox' ? [control, parts[0], parts.slice(2)] : parts);
}

export function select(options, value, props) {
  return h('select', props, options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value) }, label)));
}

export function badge(text, kind) {
  return h('span', { class: ['badge', kind], text });
}

// ---- messages ----

const statusEl = () => document.getElementById('status');
const alertEl = () => document.getElementById('alert');

// A polite announcement (screen readers read it when they are free).
export function announce(message) {
  const el = statusEl();
  el.textContent = '';
  // A fresh text node after clearing: read again even when the same message repeats.
  requestAnimationFrame(() => { el.textContent = message; });
}

export function clearMessages() {
  clear(statusEl());
  clear(alertEl());
}

const TITLES = {
  0: 'Serveur injoignable',
  400: 'Requête invalide',
  401: 'Jeton refusé ou expiré',
  403: 'Droits insuffisants',
  404: 'Introuvable',
  405: 'Opération impossible ici',
  409: 'Conflit',
  412: 'Modifié entre-temps',
  413: 'Fichier trop volumineux',
  415: 'Type de fichier non accepté',
  422: 'Données refusées',
  428: 'Version manquante',
  429: 'Trop de demandes',
  500: 'Erreur du serveur',
  503: 'Service momentanément indisponible',
  504: 'Délai dépassé',
};

// One readable line per fault of a problem's errors[].
export function describeFault(e) {
  const where = [];
  if (e.line !== undefined && e.line !== null) where.push('ligne ' + e.line);
  if (e.column) where.push('colonne « ' + e.column + ' »');
  if (e.field) where.push('champ « ' + e.field + ' »');
  const value = e.value !== undefined && e.value !== null && e.value !== '' ? ` (valeur « ${e.value} »)` : '';
  return (where.length ? where.join(', ') + ' : ' : '') + (e.reason || e.message || '') + value;
}

// Shows an error in the alert region (assertive: read at once).
export function showError(err, context) {
  if (err?.name === 'AbortError') return;
  const el = clear(alertEl());
  const p = err?.problem || { title: err?.message || String(err) };
  const status = err?.status ?? p.status;
  const title = (context ? context + ' — ' : '') + (TITLES[status] || p.title || 'Erreur');
  const close = h('button', { class: 'secondary close', type: 'button', text: 'Fermer', on: { click: () => clear(el) } });
  el.append(close, h('p', { class: 'problem-title', text: title + (status ? ` (${status})` : '') }));
  const detail = p.detail && p.detail !== p.title ? p.detail : p.title !== TITLES[status] ? p.title : null;
  if (detail) el.append(h('p', { text: detail }));
  const errors = Array.isArray(p.errors) ? p.errors : [];
  if (errors.length) {
    const shown = errors.slice(0, 20);
    el.append(h('ul', null, shown.map((e) => h('li', { text: describeFault(e) }))));
    if (errors.length > shown.length) el.append(h('p', { text: `… et ${errors.length - shown.length} autre(s).` }));
  }
  if (p.instance) el.append(h('p', { class: 'hint', text: 'Référence de la demande : ' + p.instance.replace('urn:a51:request:', '') }));
}

// The faults of a refusal placed at the controls they name, as well as in the
// alert region: controls maps a fault's field ("year", "shares[2]") to its
// control, which gets aria-invalid and the reason under it (read with the
// control: aria-describedby; any other element, a sum, just the reason). reasons may give a field's reason in French
// (field, fault) => text; else the API's own words. Answers the faults placed.
export function placeFaults(controls, err, reasons = () => null) {
  const placed = [];
  for (const e of err?.problem?.errors || []) {
    const control = e.field && controls[e.field];
    if (!control) continue;
    const id = nextId('fault');
    const msg = h('p', { class: 'field-error', id, text: reasons(e.field, e) || e.reason || 'valeur refusée' });
    if (control.matches('input, select, textarea')) {
      control.setAttribute('aria-invalid', 'true');
      control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
    }
    (control.closest('.field') || control.parentElement).append(msg);
    placed.push(e);
  }
  return placed;
}

// Takes back what placeFaults put in a form.
export function clearFaults(root) {
  for (const msg of root.querySelectorAll('.field-error')) {
    for (const c of root.querySelectorAll(`[aria-describedby~="${msg.id}"]`)) {
      const rest = c.getAttribute('aria-describedby').split(' ').filter((x) => x !== msg.id).join(' ');
      if (rest) c.setAttribute('aria-describedby', rest); else c.removeAttribute('aria-describedby');
    }
    msg.remove();
  }
  for (const c of root.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
}

// Runs an async action on a button: disabled meanwhile, errors shown.
export async function busy(button, fn, context) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } catch (e) {
    showError(e, context);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// Previous/next over cursor pages. load(cursor) renders a page and answers its
// `next` link (or null); start() shows the first page again.
export function pager(load) {
  const before = []; // cursors of the pages before the one shown
  let current = null;
  let next = null;
  const prev = h('button', { type: 'button', class: 'secondary', text: 'Page précédente', disabled: true });
  const nextBtn = h('button', { type: 'button', class: 'secondary', text: 'Page suivante', disabled: true });
  const where = h('span', { class: 'hint' });
  // a `next` link (/v1/...?cursor=N) or a bare next_cursor
  const cursorOf = (link) => {
    if (link === null || link === undefined || link === '') return null;
    if (typeof link === 'string' && link.startsWith('/')) return new URL(link, location.origin).searchParams.get('cursor');
    return String(link);
  };
  const update = () => {
    prev.disabled = before.length === 0;
    nextBtn.disabled = !next;
    where.textContent = `page ${before.length + 1}`;
    el.hidden = before.length === 0 && !next; // one page: nothing to turn
  };
  async function show(cursor) {
    next = cursorOf(await load(cursor));
    current = cursor;
  }
  prev.addEventListener('click', () => busy(prev, async () => {
    await show(before[before.length - 1]);
    before.pop();
    update();
  }));
  nextBtn.addEventListener('click', () => busy(nextBtn, async () => {
    const was = current;
    await show(next);
    before.push(was);
    update();
  }));
  const el = h('div', { class: 'pager' }, prev, nextBtn, where);
  return {
    el,
    async start() {
      before.length = 0;
      await show(null);
      update();
    },
  };
}

// The year a page shows: a form that reloads the page with ?annee=; extra
// fields (a filter) go in the same form, their values given by changes().
export function yearPicker(ctx, { fields = [], changes = () => ({}) } = {}) {
  const now = new Date().getFullYear();
  const years = [];
  for (let y = Math.max(now, ctx.year); y >= Math.min(now, ctx.year) - 5; y--) years.push([String(y), String(y)]);
  const sel = select(years, ctx.year, { id: 'year', name: 'annee' });
  const form = h('form', { class: 'toolbar' }, field('Année', sel), fields, h('button', { type: 'submit', class: 'secondary', text: 'Afficher' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem('a51.year', sel.value);
    ctx.with({ annee: sel.value, ...changes() });
  });
  return form;
}
