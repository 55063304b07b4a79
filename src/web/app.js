// The web front end's shell: who is signed in, the navigation, and a hash
// router (#/structures/12/envois) that loads each page's module on demand.
// Pages render into a detached element that replaces <main> when ready, then
// the page's heading takes the focus so that a screen reader announces it.
import { api, session, ApiError } from './api.js';
import { h, append, clear, clearMessages, announce, showError } from './ui.js';

const ROUTES = [
  ['/connexion', 'signin', 'render'],
  ['/structures', 'structures', 'render'],
  ['/structures/:id', 'dashboard', 'render'],
  ['/structures/:id/patients', 'patients', 'render'],
  ['/structures/:id/envois', 'uploads', 'render'],
  ['/structures/:id/calculs', 'runs', 'render'],
  ['/structures/:id/calculs/peps/:run', 'peps', 'renderRun'],
  ['/structures/:id/calculs/peps/:run/patients/:patient', 'peps', 'renderLine'],
  ['/structures/:id/calculs/ipep/:run', 'ipep', 'render'],
  ['/structures/:id/calculs/eds/:run', 'eds', 'render'],
  ['/structures/:id/calculs/eds/:run/episodes/:no', 'eds', 'renderEpisode'],
  ['/structures/:id/patients-a-revoir', 'caregaps', 'render'],
  ['/regions/:code', 'region', 'render'],
].map(([pattern, module, fn]) => {
  const names = [];
  const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return n === 'code' ? '(\\d{2})' : '(\\d+)'; }) + '$');
  return { re, names, module, fn };
});

const state = {
  me: null,
  structures: new Map(), // id -> structure, for the navigation's names
  controller: null,
  navigated: false, // a page has been shown already
};

const main = () => document.getElementById('main');

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, q = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(q) };
}

export function go(path, { replace = false } = {}) {
  const target = '#' + path;
  if (location.hash === target) route();
  else if (replace) { history.replaceState(null, '', target); route(); }
  else location.hash = target;
}

function homeOf(me) {
  if (!me) return '/connexion';
  if (me.kind === 'structure') return '/structures/' + me.structure_id;
  if (me.kind === 'ars') return '/regions/' + me.region;
  return '/structures';
}

// The year shown by default: that of the latest run the caller can see,
// else last year. Kept for the session; each page may change it (?annee=).
async function defaultYear(signal) {
  const kept = Number(session.get('year'));
  if (kept) return kept;
  const lists = await Promise.allSettled(['peps', 'ipep', 'eds'].map((x) => api(`/v1/${x}/runs?limit=1`, { signal })));
  const years = lists.flatMap((r) => (r.status === 'fulfilled' ? r.value.items.map((it) => it.year) : []));
  const year = years.length ? Math.max(...years) : new Date().getFullYear() - 1;
  session.put('year', String(year));
  return year;
}

async function structureOf(id, signal) {
  if (!state.structures.has(id)) state.structures.set(id, await api('/v1/structures/' + id, { signal }));
  return state.structures.get(id);
}

function scopeLabel(me) {
  if (me.kind === 'structure') return me.structure_name || 'structure ' + me.structure_id;
  if (me.kind === 'ars') return 'ARS, région ' + me.region;
  return 'national';
}

function renderWho() {
  const who = clear(document.getElementById('who'));
  const me = state.me;
  if (!me) return;
  who.append(
    h('span', null, h('span', { class: 'visually-hidden', text: 'Connecté : ' }), scopeLabel(me),
      ' · ', me.write ? 'lecture et écriture' : 'lecture seule'),
    h('button', { type: 'button', id: 'signout', text: 'Se déconnecter', on: { click: signOut } }),
  );
}

function renderNav(path, params) {
  const nav = clear(document.getElementById('nav'));
  const me = state.me;
  if (!me) return;
  const items = [];
  if (me.kind !== 'structure') {
    const region = me.kind === 'ars' ? me.region : state.structures.get(params.id)?.region;
    if (region) items.push(['/regions/' + region, 'Région']);
    items.push(['/structures', 'Structures']);
  }
  const sid = params.id || (me.kind === 'structure' ? String(me.structure_id) : null);
  if (sid) {
    if (items.length) items.push(null);
    const base = '/structures/' + sid;
    items.push([base, 'Tableau de bord'], [base + '/patients', 'Patientèle'], [base + '/envois', 'Envois de données'],
      [base + '/calculs', 'Calculs'], [base + '/patients-a-revoir', 'Patients à revoir']);
  }
  const ul = h('ul');
  for (const it of items) {
    if (!it) { ul.append(h('li', { class: 'sep', 'aria-hidden': 'true' })); continue; }
    const [href, text] = it;
    const current = path === href || (href.endsWith('/calculs') && path.startsWith(href + '/'));
    ul.append(h('li', null, h('a', { href: '#' + href, text, 'aria-current': current ? 'page' : null })));
  }
  nav.append(ul);
}

function signOut() {
  session.clear();
  state.me = null;
  state.structures.clear();
  renderWho();
  go('/connexion');
  announce('Vous êtes déconnecté. Le jeton a été oublié par ce navigateur.');
}

// Called by the sign-in page once the token has been checked.
export async function signedIn(me) {
  state.me = me;
  state.structures.clear();
  renderWho();
  go(homeOf(me));
}

function notFound(view) {
  view.append(h('h1', { text: 'Page introuvable' }), h('p', null, 'Cette adresse ne correspond à aucune page. ', h('a', { href: '#/', text: 'Retour à l’accueil' })));
}

async function route() {
  const { path, query } = parseHash();
  state.controller?.abort();
  const controller = (state.controller = new AbortController());
  const { signal } = controller;
  clearMessages();

  if (!session.token() && path !== '/connexion') return go('/connexion', { replace: true });
  try {
    if (session.token() && !state.me) {
      state.me = await api('/v1/me', { signal });
      renderWho();
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
    if (e instanceof ApiError && e.status === 401) return; // handled by a51:unauthorized
    showError(e, 'Connexion');
    return;
  }
  if (path === '/') return go(homeOf(state.me), { replace: true });
  if (path === '/connexion' && state.me) return go(homeOf(state.me), { replace: true });

  let match = null;
  const params = {};
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) { match = r; r.names.forEach((n, i) => { params[n] = m[i + 1]; }); break; }
  }
  const view = h('div', { class: 'view' });
  let title = 'Page introuvable';
  try {
    if (params.id) await structureOf(params.id, signal);
    renderNav(path, params);
    if (!match) {
      notFound(view);
    } else {
      const mod = await import(`./page-${match.module}.js`);
      const year = state.me ? Number(query.get('annee')) || (await defaultYear(signal)) : null;
      const ctx = {
        params, query, year, signal, view, me: state.me, go,
        show: (...children) => append(view, children), // null/false children are skipped
        structure: params.id ? state.structures.get(params.id) : null,
        title: (t) => { title = t; },
        // Same page, another query (the year, a filter): ?annee=2024&...
        with: (changes) => {
          const q = new URLSearchParams(query);
          for (const [k, v] of Object.entries(changes)) { if (v === null || v === '') q.delete(k); else q.set(k, v); }
          const qs = q.toString();
          go(path + (qs ? '?' + qs : ''));
        },
      };
      await mod[match.fn](ctx);
    }
  } catch (e) {
    if (e.name === 'AbortError' || signal.aborted) return;
    showError(e);
    if (!view.querySelector('h1')) view.prepend(h('h1', { text: 'Cette page n’a pas pu être affichée' }));
    title = 'Erreur';
  }
  if (signal.aborted) return;
  document.title = title + ' — a51';
  main().replaceChildren(view);
  // After a navigation inside the app the new page's heading takes the focus
  // (a screen reader reads it); on the first load the browser's focus stays
  // at the start, where the skip link is.
  const h1 = view.querySelector('h1');
  if (h1) h1.tabIndex = -1;
  if (h1 && state.navigated) h1.focus();
  state.navigated = true;
}

window.addEventListener('a51:unauthorized', () => {
  session.clear();
  state.me = null;
  renderWho();
  go('/connexion', { replace: true });
  showError(new ApiError(401, { title: 'Jeton refusé', detail: 'Le jeton a été refusé (révoqué, expiré ou inconnu) : reconnectez-vous.' }));
});
window.addEventListener('hashchange', route);
document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  const target = main().querySelector('h1') || main();
  target.tabIndex = -1;
  target.focus();
});
route();
