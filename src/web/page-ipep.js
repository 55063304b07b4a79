// One IPEP run: the patientèle, expected against observed spending per
// patient for both years, the two gaps, the quality score and what is paid.
import { api, download } from './api.js';
import { h, table, fmt, figures, section, clear, pager, busy } from './ui.js';
import { IPEP_PHASES, label } from './labels.js';

export async function render(ctx) {
  const { structure, signal } = ctx;
  const run = await api('/v1/ipep/runs/' + ctx.params.run, { signal });
  const r = run.result || {};
  const g = r.gains || {};
  const q = r.quality || {};
  ctx.title(`Calcul IPEP n° ${run.id}`);

  const holder = h('div');
  const p = pager(async (cursor) => {
    const page = await api(`/v1/ipep/runs/${run.id}/lines?limit=50${cursor ? '&cursor=' + cursor : ''}`, { signal });
    clear(holder).append(table({
      caption: 'Patientèle : dépense attendue et observée par patient',
      columns: [
        { label: 'Patient', header: true, value: (l) => `n° ${l.patient_id}` },
        { label: 'Profil', value: (l) => fmt.ageSex(l.age_sex) },
        { label: `Attendu ${run.year - 1}`, num: true, value: (l) => fmt.euros(l.expected_prev) },
        { label: `Observé ${run.year - 1}`, num: true, value: (l) => fmt.euros(l.observed_prev) },
        { label: `Attendu ${run.year}`, num: true, value: (l) => fmt.euros(l.expected) },
        { label: `Observé ${run.year}`, num: true, value: (l) => fmt.euros(l.observed) },
        { label: 'Exposition', num: true, value: (l) => fmt.num(l.exposure, 2) },
        { label: 'Montant', num: true, value: (l) => fmt.euros(l.amount_cents) },
      ],
      rows: page.items,
    }));
    return page.next;
  });
  await p.start();
  const csv = h('button', { type: 'button', class: 'secondary', text: 'Exporter les lignes (CSV)' });
  csv.addEventListener('click', () => busy(csv, () => download(`/v1/ipep/runs/${run.id}/lines?format=csv`, `ipep-run-${run.id}-lines.csv`), 'Export'));
  const pair = (a) => (Array.isArray(a) ? a : [null, null]);
  const years = [run.year - 1, run.year];

  ctx.show(
    h('p', null, h('a', { href: `#/structures/${structure.id}/calculs`, text: '← Calculs' })),
    h('h1', { text: `Calcul IPEP n° ${run.id}` }),
    h('p', { class: 'subtitle', text: `${structure.name} · ${run.year} · ${label(IPEP_PHASES, run.phase)} · ${run.what_if ? 'simulation « et si »' : 'calcul officiel'}` }),
    (r.warnings || []).length ? h('ul', { class: 'warn' }, r.warnings.map((w) => h('li', { text: w }))) : null,
    figures([
      ['Patients', fmt.int(r.patientele?.patients)],
      ['Seuil de patientèle', fmt.int(r.patientele?.floor)],
      ['Gains d’efficience', fmt.euros(g.gains_cents)],
      ['Score qualité', `${fmt.num(q.points, 1)} / ${fmt.num(q.max_points, 0)}`],
      ['Modulation', fmt.pct(q.modulation ?? 0, 0)],
      ['Crédits d’amorçage', fmt.euros(r.credits_cents)],
      ['Montant', fmt.euros(run.total_cents)],
      ['Échéance', fmt.date(r.due_on)],
    ]),
    section('Dépense par patient',
      table({
        caption: 'Dépense attendue (modèle de risque) et observée, par patient-année',
        columns: [
          { label: 'Année', header: true, value: (i) => String(years[i]) },
          { label: 'Attendue', num: true, value: (i) => fmt.euros(pair(g.expected_pp)[i]) },
          { label: 'Observée', num: true, value: (i) => fmt.euros(pair(g.observed_pp)[i]) },
          { label: 'Exposition (patients-années)', num: true, value: (i) => fmt.num(pair(g.exposure)[i], 1) },
        ],
        rows: [0, 1],
      }),
      h('dl', { class: 'kv' },
        h('dt', { text: 'Écart de niveau (attendu − observé)' }), h('dd', { text: `${fmt.euros(g.level_gap_pp)} par patient, retenu ${fmt.euros(g.level_floored_pp)}` }),
        h('dt', { text: 'Écart d’évolution' }), h('dd', { text: `${fmt.euros(g.evolution_gap_pp)} par patient, retenu ${fmt.euros(g.evolution_floored_pp)}` }),
        h('dt', { text: 'Coefficients' }), h('dd', { text: `partage ${fmt.pct(g.c_partage ?? 0, 0)}, niveau ${fmt.num(g.c_ecart, 3)}, évolution ${fmt.num(g.c_evolution, 3)}` }),
        h('dt', { text: 'Gain partagé par patient' }), h('dd', { text: fmt.euros(g.shared_pp) }))),
    section('Qualité', table({
      caption: 'Indicateurs de qualité et points obtenus',
      columns: [
        { label: 'Indicateur', header: true, value: (i) => i.code + (i.a_la_carte ? ' (à la carte)' : '') },
        { label: 'Valeur', num: true, value: (i) => fmt.num(i.value, 2) },
        { label: 'Année précédente', num: true, value: (i) => fmt.num(i.previous, 2) },
        { label: 'Objectif intermédiaire', num: true, value: (i) => fmt.num(i.intermediate, 2) },
        { label: 'Cible', num: true, value: (i) => fmt.num(i.target, 2) },
        { label: 'Points', num: true, value: (i) => fmt.num(i.points, 1) },
      ],
      rows: q.indicators || [],
      empty: 'Aucun indicateur de qualité saisi pour cette année.',
    })),
    section('Patientèle', h('p', null, csv), holder, p.el),
  );
}
