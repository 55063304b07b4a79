// One EDS run: the reconciliation of an establishment's surgical episodes
// against their targets, and the episodes one by one.
import { api, download } from './api.js';
import { h, table, fmt, figures, section, clear, pager, busy, select, field } from './ui.js';
import { EDS_PHASES, EDS_OPTIONS, EDS_EXCLUSIONS, label } from './labels.js';

export async function render(ctx) {
  const { structure, signal } = ctx;
  const run = await api('/v1/eds/runs/' + ctx.params.run, { signal });
  const r = run.result || {};
  const rec = r.reconciliation || {};
  const ep = r.episodes || {};
  ctx.title(`Calcul EDS n° ${run.id}`);

  const filter = select([['', 'tous'], ['true', 'retenus'], ['false', 'exclus']], '', { id: 'eds-included' });
  const holder = h('div');
  const p = pager(async (cursor) => {
    const inc = filter.value ? '&included=' + filter.value : '';
    const page = await api(`/v1/eds/runs/${run.id}/episodes?limit=50${inc}${cursor ? '&cursor=' + cursor : ''}`, { signal });
    clear(holder).append(table({
      caption: 'Épisodes',
      id: 'eds-episodes',
      columns: [
        { label: 'N°', header: true, value: (e) => String(e.no) },
        { label: 'Patient', value: (e) => `n° ${e.patient_id}` },
        { label: 'Profil', value: (e) => fmt.ageSex(e.age_sex) },
        { label: 'Admission', value: (e) => fmt.date(e.admission) },
        { label: 'Retenu', value: (e) => (e.included ? 'oui' : 'non : ' + e.exclusions.map((x) => label(EDS_EXCLUSIONS, x)).join(', ')) },
        { label: 'Complications', num: true, value: (e) => fmt.int(e.complications) },
        { label: 'Cible', num: true, value: (e) => fmt.euros(e.target_cents) },
        { label: 'Réel', num: true, value: (e) => fmt.euros(e.actual_cents) },
        { label: 'Écart', num: true, value: (e) => fmt.euros(e.gap_cents) },
      ],
      rows: page.items,
      empty: 'Aucun épisode.',
    }));
    return page.next;
  });
  filter.addEventListener('change', () => p.start());
  await p.start();
  const csv = h('button', { type: 'button', class: 'secondary', text: 'Exporter les épisodes (CSV)' });
  csv.addEventListener('click', () => busy(csv, () => download(`/v1/eds/runs/${run.id}/episodes?format=csv`, `eds-run-${run.id}-episodes.csv`), 'Export'));
  const excluded = Object.entries(ep.excluded || {}).filter(([, n]) => n > 0);

  ctx.show(
    h('p', null, h('a', { href: `#/structures/${structure.id}/calculs`, text: '← Calculs' })),
    h('h1', { text: `Calcul EDS n° ${run.id}` }),
    h('p', { class: 'subtitle', text: `${structure.name} · ${run.year} · ${label(EDS_OPTIONS, run.option)} · ${label(EDS_PHASES, run.phase)} · ${run.what_if ? 'simulation « et si »' : 'calcul officiel'}` }),
    (r.warnings || []).length ? h('ul', { class: 'warn' }, r.warnings.map((w) => h('li', { text: w }))) : null,
    figures([
      ['Épisodes construits', fmt.int(ep.built)],
      ['Épisodes retenus', fmt.int(ep.included)],
      ['Cible totale', fmt.euros(rec.target_cents)],
      ['Dépense réelle', fmt.euros(rec.actual_cents)],
      ['Écart (cible − réel)', fmt.euros(rec.gap_cents)],
      ['Part partagée', fmt.euros(rec.shared_cents)],
      ['Enveloppe qualité', fmt.euros(rec.quality_cents)],
      ['Montant', fmt.euros(run.total_cents)],
    ]),
    excluded.length ? section('Exclusions', table({
      caption: 'Épisodes exclus, par motif',
      columns: [{ label: 'Motif', header: true, value: ([k]) => label(EDS_EXCLUSIONS, k) }, { label: 'Épisodes', num: true, value: ([, n]) => fmt.int(n) }],
      rows: excluded,
    })) : null,
    section('Épisodes', h('div', { class: 'toolbar' }, field('Afficher', filter), csv), holder, p.el),
  );
}
