// A structure's dashboard for a year (GET /v1/structures/{id}/dashboard):
// quality indicators against their targets and the territories' deciles,
// patient experience, forfait against fee-for-service by quarter, spending,
// patientèle, uploads and experiments.
import { api, download } from './api.js';
import { h, table, fmt, figures, section, busy, yearPicker } from './ui.js';
import { indicatorChart, barChart, lineChart, hbarChart } from './charts.js';
import { PHASES, PEPS_OPTIONS, EDS_OPTIONS, label } from './labels.js';
import { KINDS } from './page-uploads.js';

// Rates are shown as percentages, anything else as a number.
export function indicatorFormat(it) {
  const vals = [it.value, it.target, ...(it.deciles || [])].filter((v) => typeof v === 'number');
  return vals.every((v) => v >= 0 && v <= 1) ? (v) => fmt.pct(v) : (v) => fmt.num(v, 2);
}

// Where a value falls among 9 deciles: "D3–D4", "< D1", "> D9".
export function decilePosition(value, deciles) {
  if (typeof value !== 'number' || !Array.isArray(deciles) || deciles.length !== 9) return '—';
  const below = deciles.filter((d) => d <= value).length;
  if (below === 0) return 'sous le 1er décile';
  if (below === 9) return 'au-dessus du 9e décile';
  return `entre les déciles ${below} et ${below + 1}`;
}

// The tenth of the territories a value falls in (1: at or below the 1st decile).
export function tenthText(t) {
  return t === 1 ? '1er dixième' : `${t}e dixième`;
}

function experimentText(e) {
  const opt = e.option ? ' · ' + (PEPS_OPTIONS[e.option] || EDS_OPTIONS[e.option] || e.option) : '';
  const since = e.start_on ? ' · depuis le ' + fmt.date(e.start_on) : '';
  return `${e.experiment}${opt}${e.phase ? ' · ' + label(PHASES, e.phase) : ''}${since}`;
}

const reached = (it) => (it.direction === 'decreasing' ? it.value <= it.target : it.value >= it.target);

function indicatorsSection(ctx, d) {
  const ind = d.indicators || { items: [] };
  const items = ind.items || [];
  const csv = h('button', { type: 'button', class: 'secondary', id: 'export-indicators', text: 'Exporter les indicateurs (CSV)' });
  csv.addEventListener('click', () => busy(csv, () => download(`/v1/structures/${d.structure.id}/dashboard?year=${d.year}&format=csv`, `indicateurs-${d.structure.id}-${d.year}.csv`), 'Export'));
  if (!items.length) return section('Indicateurs de qualité', h('p', { class: 'notice', text: `Aucun indicateur calculé pour ${d.year}.` }));
  if (items.every((it) => typeof it.value !== 'number')) {
    return section('Indicateurs de qualité', h('p', { class: 'notice', text: `Aucun indicateur n’a pu être mesuré pour cette structure en ${d.year} (pas de patientèle de médecin traitant suivie).` }));
  }
  return section('Indicateurs de qualité',
    h('p', null, `Calculés le ${fmt.date(ind.computed_at)}. La barre est la valeur de la structure, la bande grise les déciles des territoires, le trait rouge la cible. `, csv),
    indicatorChart(items, `Indicateurs de qualité ${d.year} : valeur, déciles et cible de chaque indicateur (détail dans le tableau qui suit)`),
    table({
      caption: `Indicateurs de qualité ${d.year}`,
      id: 'indicators',
      columns: [
        {
          label: 'Indicateur',
          header: true,
          value: (it) => h('span', null, it.label, h('br'),
            h('span', { class: 'hint', text: [it.code, it.direction === 'decreasing' ? 'plus bas = mieux' : null, it.a_la_carte ? 'à la carte' : null].filter(Boolean).join(' · ') })),
        },
        { label: 'Valeur', num: true, value: (it) => h('span', null, indicatorFormat(it)(it.value), h('br'), h('span', { class: 'hint', text: `${fmt.int(it.numerator)} / ${fmt.int(it.denominator)}` })) },
        { label: 'IC 95 %', num: true, value: (it) => (Array.isArray(it.ci) ? `${indicatorFormat(it)(it.ci[0])} – ${indicatorFormat(it)(it.ci[1])}` : '—') },
        { label: 'Cible', num: true, value: (it) => (typeof it.target === 'number' ? indicatorFormat(it)(it.target) : '—') },
        {
          label: 'Atteinte',
          value: (it) => (typeof it.target !== 'number' || typeof it.value !== 'number' ? '—' : reached(it) ? 'cible atteinte' : 'sous la cible'),
          cls: (it) => (typeof it.target !== 'number' ? null : reached(it) ? 'cell-good' : 'cell-bad'),
        },
        { label: 'Parmi les territoires', value: (it) => (it.tenth ? tenthText(it.tenth) : decilePosition(it.value, it.deciles)) },
        { label: 'Points', num: true, value: (it) => fmt.num(it.points, 1) },
        { label: 'Tendance', value: (it) => h('span', { class: 'nowrap' }, (it.trend || []).map((t, i) => [i ? h('br') : null, `${t.year} : ${indicatorFormat(it)(t.value)}`])) },
        {
          label: 'À revoir',
          num: true,
          value: (it) => (it.care_gap && it.numerator < it.denominator
            ? h('a', { href: `#/structures/${d.structure.id}/patients-a-revoir?annee=${d.year}&indicateur=${encodeURIComponent(it.code)}`, text: fmt.int(it.denominator - it.numerator), 'aria-label': `${fmt.int(it.denominator - it.numerator)} patients à revoir : ${it.label}` })
            : '—'),
        },
      ],
      rows: items,
    }));
}

function experienceSection(d) {
  const x = d.experience;
  if (!x) return section('Expérience patient', h('p', { class: 'notice', text: 'Aucun questionnaire d’expérience patient pour cette année.' }));
  return section('Expérience patient',
    figures([['Score global', fmt.num(x.overall, 1) + ' / 100'], ['Répondants', fmt.int(x.respondents)], ['Questionnaire', x.questionnaire]]),
    table({
      caption: 'Scores par dimension (sur 100)',
      columns: [
        { label: 'Dimension', header: true, value: (dim) => dim.label },
        { label: 'Score', num: true, value: (dim) => fmt.num(dim.score, 1) },
      ],
      rows: x.dimensions || [],
    }));
}

function financeSection(d) {
  const f = d.finance || {};
  const parts = [];
  if (f.peps) {
    const qs = f.peps.quarters || [];
    const runs = f.peps.runs || [];
    const cats = qs.map((q) => 'T' + q.quarter);
    parts.push(h('h3', { text: 'PEPS : forfait et paiement à l’acte par trimestre' }),
      barChart({
        label: `Forfait PEPS et paiement à l’acte par trimestre ${d.year} (détail dans le tableau qui suit)`,
        categories: cats,
        series: [{ name: 'forfait', values: qs.map((q) => q.forfait_cents) }, { name: 'paiement à l’acte', cls: 'ffs', values: qs.map((q) => q.ffs_cents) }],
      }),
      table({
        caption: `Forfait PEPS et paiement à l’acte, ${d.year}`,
        id: 'finance-peps',
        columns: [
          { label: 'Trimestre', header: true, value: (q) => (q.total ? 'Année' : 'T' + q.quarter) },
          { label: 'Forfait', num: true, value: (q) => fmt.euros(q.forfait_cents) },
          { label: 'Paiement à l’acte', num: true, value: (q) => fmt.euros(q.ffs_cents) },
          { label: 'Écart', num: true, value: (q) => fmt.euros((q.forfait_cents ?? 0) - (q.ffs_cents ?? 0)) },
        ],
        rows: [...qs, { total: true, forfait_cents: f.peps.forfait_cents, ffs_cents: f.peps.ffs_cents }],
      }),
      runs.length ? h('p', null, 'Calculs en vigueur : ', runs.map((r, i) => [i ? ', ' : '',
        h('a', { href: `#/structures/${d.structure.id}/calculs/peps/${r.run_id}`, text: `n° ${r.run_id}` }),
        ` (${r.quarter ? 'T' + r.quarter : 'année'}, ${label(PHASES, r.phase)}, ${fmt.euros(r.total_cents)} versés)`])) : null);
  }
  if (f.ipep) {
    parts.push(h('h3', { text: 'IPEP : intéressement collectif' }),
      h('p', null, `Intéressement ${d.year} : ${fmt.euros(f.ipep.incentive_cents)} (${label(PHASES, f.ipep.phase)}). `,
        f.ipep.run_id ? h('a', { href: `#/structures/${d.structure.id}/calculs/ipep/${f.ipep.run_id}`, text: `Calcul IPEP n° ${f.ipep.run_id}` }) : null));
  }
  const eds = Array.isArray(f.eds) ? f.eds : f.eds?.runs || [];
  if (eds.length) {
    parts.push(h('h3', { text: 'EDS : épisodes chirurgicaux' }), table({
      caption: `Épisodes chirurgicaux et leur cible, ${d.year}`,
      id: 'finance-eds',
      columns: [
        { label: 'Option', header: true, value: (r) => label(EDS_OPTIONS, r.option) },
        { label: 'Phase', value: (r) => label(PHASES, r.phase) },
        { label: 'Épisodes (retenus)', num: true, value: (r) => `${fmt.int(r.episodes)} (${fmt.int(r.included ?? r.episodes)})` },
        { label: 'Cible', num: true, value: (r) => fmt.euros(r.target_cents) },
        { label: 'Réel', num: true, value: (r) => fmt.euros(r.actual_cents) },
        { label: 'Paiement', num: true, value: (r) => fmt.euros(r.total_cents ?? r.payment_cents) },
        { label: 'Calcul', value: (r) => h('a', { href: `#/structures/${d.structure.id}/calculs/eds/${r.run_id}`, text: `n° ${r.run_id}` }) },
      ],
      rows: eds,
    }));
  }
  const byQuarter = f.spending_by_quarter || [];
  if (byQuarter.length) {
    parts.push(h('h3', { text: 'Dépense de la patientèle par trimestre' }),
      barChart({
        label: 'Dépense de la patientèle par trimestre, soins de ville et hôpital (détail dans le tableau qui suit)',
        categories: byQuarter.map((q) => `T${q.quarter} ${String(q.year).slice(2)}`),
        series: [{ name: 'soins de ville', values: byQuarter.map((q) => q.town_cents) }, { name: 'hôpital', cls: 'alt', values: byQuarter.map((q) => q.hospital_cents) }],
      }),
      table({
        caption: 'Dépense de la patientèle par trimestre',
        id: 'spending-quarters',
        columns: [
          { label: 'Trimestre', header: true, value: (q) => `T${q.quarter} ${q.year}` },
          { label: 'Soins de ville', num: true, value: (q) => fmt.euros(q.town_cents) },
          { label: 'Hôpital', num: true, value: (q) => fmt.euros(q.hospital_cents) },
          { label: 'Total', num: true, value: (q) => fmt.euros(q.cents) },
        ],
        rows: byQuarter,
      }));
  }
  const spending = f.spending || [];
  if (spending.length) {
    parts.push(h('h3', { text: 'Dépense de la patientèle par année' }),
      lineChart({ label: 'Dépense de la patientèle par année (détail dans le tableau qui suit)', points: spending.map((x) => ({ x: String(x.year), y: x.cents })) }),
      table({
        caption: 'Dépense de la patientèle par année',
        id: 'spending',
        columns: [
          { label: 'Année', header: true, value: (x) => String(x.year) },
          { label: 'Dépense', num: true, value: (x) => fmt.euros(x.cents) },
        ],
        rows: spending,
      }));
  }
  if (!parts.length) parts.push(h('p', { class: 'notice', text: `Aucun calcul de paiement pour ${d.year}.` }));
  return section('Finances', ...parts);
}

function patienteleSection(d) {
  const p = d.patientele;
  if (!p) return null;
  const bands = p.by_age || [];
  return section('Patientèle',
    figures([
      ['Patients', fmt.int(p.patients)],
      ['Femmes', fmt.int(p.women)],
      ['Hommes', fmt.int(p.men)],
      ['En ALD', fmt.int(p.ald)],
      ['Bénéficiaires de la C2S', fmt.int(p.c2s)],
      typeof p.ame === 'number' ? ['Bénéficiaires de l’AME', fmt.int(p.ame)] : null,
    ]),
    bands.length ? hbarChart({ label: 'Patients par tranche d’âge (détail dans le tableau qui suit)', rows: bands.map((b) => ({ label: b.band + ' ans', value: b.patients })) }) : null,
    bands.length ? table({
      caption: 'Patients par tranche d’âge',
      columns: [
        { label: 'Âge', header: true, value: (b) => b.band + ' ans' },
        { label: 'Patients', num: true, value: (b) => fmt.int(b.patients) },
        { label: 'Part', num: true, value: (b) => (p.patients ? fmt.pct(b.patients / p.patients) : '—') },
      ],
      rows: bands,
    }) : null,
    h('p', null, h('a', { href: `#/structures/${d.structure.id}/patients`, text: 'Voir la liste des patients' }), ' · ',
      h('a', { href: `#/structures/${d.structure.id}/patients-a-revoir?annee=${d.year}`, text: 'Patients à revoir' })));
}

function uploadsSection(d) {
  const kinds = Object.fromEntries(KINDS);
  return section('Envois de données', table({
    caption: 'Données reçues, par type',
    id: 'uploads-status',
    columns: [
      { label: 'Type', header: true, value: (u) => kinds[u.kind] || u.kind },
      { label: 'Envois', num: true, value: (u) => fmt.int(u.uploads) },
      { label: 'Enregistrements', num: true, value: (u) => fmt.int(u.records ?? u.rows) },
      { label: 'Dernier envoi', value: (u) => fmt.date(u.last_at) },
      { label: 'Refusés', num: true, value: (u) => fmt.int(u.rejected), cls: (u) => (u.rejected ? 'cell-bad' : null) },
    ],
    rows: d.uploads || [],
    empty: 'Aucune donnée reçue.',
  }), h('p', null, h('a', { href: `#/structures/${d.structure.id}/envois`, text: 'Envoyer des données' })));
}

export async function render(ctx) {
  const { structure, year, signal } = ctx;
  const d = await api(`/v1/structures/${structure.id}/dashboard?year=${year}`, { signal });
  const s = d.structure;
  ctx.title(`Tableau de bord ${d.year} — ${s.name}`);
  ctx.show(
    h('h1', { text: s.name }),
    h('p', { class: 'subtitle', text: [s.kind, s.region ? 'région ' + s.region : null, s.finess ? 'FINESS ' + s.finess : null, 'tableau de bord ' + d.year].filter(Boolean).join(' · ') }),
    yearPicker(ctx),
    h('ul', { class: 'chips', 'aria-label': 'Expérimentations' }, (d.experiments || []).length
      ? d.experiments.map((e) => h('li', { text: experimentText(e) }))
      : h('li', { text: 'aucune expérimentation en cours' })),
    indicatorsSection(ctx, d),
    experienceSection(d),
    financeSection(d),
    patienteleSection(d),
    uploadsSection(d),
  );
}
