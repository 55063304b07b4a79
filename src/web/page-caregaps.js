// Patients to see again: for each quality indicator, the patients of the
// structure who miss what it counts (GET /v1/structures/{id}/care-gaps).
import { api, download } from './api.js';
import { h, table, fmt, clear, pager, select, field, busy, yearPicker } from './ui.js';

export async function render(ctx) {
  const { structure, year, signal } = ctx;
  const sid = structure.id;
  const indicator = ctx.query.get('indicateur') || '';
  ctx.title(`Patients à revoir ${year} — ${structure.name}`);
  // The indicators' names, for the filter: from the dashboard of the year.
  const dash = await api(`/v1/structures/${sid}/dashboard?year=${year}`, { signal }).catch(() => null);
  // only the indicators that count patients to see again
  const known = (dash?.indicators?.items || []).filter((i) => i.care_gap !== false).map((i) => [i.code, i.label]);
  const filter = select([['', 'Tous les indicateurs'], ...known], indicator, { id: 'gap-indicator' });
  const years = yearPicker(ctx, { fields: [field('Indicateur', filter)], changes: () => ({ indicateur: filter.value }) });

  const q = `year=${year}${indicator ? '&indicator=' + encodeURIComponent(indicator) : ''}`;
  const holder = h('div');
  const p = pager(async (cursor) => {
    const page = await api(`/v1/structures/${sid}/care-gaps?${q}&limit=50${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`, { signal });
    clear(holder).append(table({
      caption: `Patients à revoir, ${year}${indicator ? ' — ' + (known.find(([c]) => c === indicator)?.[1] || indicator) : ''}`,
      id: 'care-gaps',
      columns: [
        { label: 'Patient', header: true, cls: () => 'nowrap', value: (g) => (g.pseudonym ? h('span', { class: 'mono', text: fmt.pseudonym(g.pseudonym) }) : `n° ${g.patient_id}`) },
        { label: 'Année de naissance', num: true, value: (g) => String(g.birth_year ?? '—') },
        { label: 'Sexe', value: (g) => fmt.sex(g.sex) },
        { label: 'C2S', value: (g) => (g.c2s === undefined ? '—' : fmt.yesNo(g.c2s)) },
        { label: 'Indicateur', value: (g) => g.label || g.indicator },
        { label: 'Faits / attendus', num: true, value: (g) => (g.required === undefined ? '—' : `${fmt.int(g.acts)} / ${fmt.int(g.required)}`) },
        { label: 'Ce qui manque', value: (g) => g.missing },
        { label: 'Dernier soin', value: (g) => fmt.date(g.last_on) },
      ],
      rows: page.items,
      empty: 'Aucun patient à revoir.',
    }));
    return page.next_cursor ?? page.next ?? null;
  });
  await p.start();
  const csv = h('button', { type: 'button', class: 'secondary', id: 'export-gaps', text: 'Exporter la liste (CSV)' });
  csv.addEventListener('click', () => busy(csv, () => download(`/v1/structures/${sid}/care-gaps?${q}&format=csv`, `patients-a-revoir-${sid}-${year}.csv`), 'Export'));
  ctx.show(
    h('h1', { text: 'Patients à revoir' }),
    h('p', { class: 'subtitle', text: `${structure.name} · ${year}` }),
    h('p', null, 'Les patients de la structure à qui manque un soin compté par un indicateur de qualité, désignés par leur numéro dans a51 (aucun NIR).'),
    years, h('p', null, csv), holder, p.el);
}
