// The structures a national or ARS caller sees, by region: a picker leading to
// any structure's dashboard.
import { api } from './api.js';
import { h, table, select, field, fmt } from './ui.js';

export async function render(ctx) {
  const { me } = ctx;
  ctx.title('Structures');
  const regions = (await api('/v1/regions', { signal: ctx.signal })).items;
  const region = me.kind === 'ars' ? me.region : ctx.query.get('region') || '';
  const view = ctx.view;
  ctx.show(h('h1', { text: 'Structures' }));

  if (me.kind !== 'ars') {
    const sel = select([['', 'Toutes les régions'], ...regions.map((r) => [r.code, `${r.name} (${r.code})`])], region, { id: 'region-filter' });
    const form = h('form', { class: 'toolbar' }, field('Région', sel), h('button', { type: 'submit', text: 'Afficher' }));
    form.addEventListener('submit', (e) => { e.preventDefault(); ctx.with({ region: sel.value }); });
    view.append(form);
  }
  const items = [];
  let next = '/v1/structures?limit=200' + (region ? '&region=' + region : '');
  // A region holds at most a few hundred structures: all of them, page by page.
  while (next && items.length < 2000) {
    const page = await api(next, { signal: ctx.signal });
    items.push(...page.items);
    next = page.next;
  }
  const regionName = (code) => regions.find((r) => r.code === code)?.name || code;
  if (region) view.append(h('p', null, h('a', { href: '#/regions/' + region, text: 'Tableau de bord de la région ' + regionName(region) })));
  ctx.show(table({
    caption: `${fmt.int(items.length)} structure(s)${region ? ' — ' + regionName(region) : ''}`,
    columns: [
      { label: 'Structure', header: true, value: (s) => h('a', { href: `#/structures/${s.id}`, text: s.name }) },
      { label: 'Type', value: (s) => s.kind },
      { label: 'Région', value: (s) => regionName(s.region) },
      { label: 'FINESS', value: (s) => s.finess || '—' },
      { label: 'Expérimentations', value: (s) => (s.experiments || []).join(', ') || '—' },
    ],
    rows: items,
    empty: 'Aucune structure.',
  }));
}
