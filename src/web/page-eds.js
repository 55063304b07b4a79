// One EDS run: the reconciliation of an establishment's surgical episodes
// against their targets, and the episodes one by one; and one episode: its
// stays and claims by segment, and how its target and gap were reached.
import { api, download } from './api.js';
import { h, table, fmt, figures, section, clear, pager, busy, select, field } from './ui.js';
import { hbarChart } from './charts.js';
import { EDS_PHASES, EDS_OPTIONS, EDS_EXCLUSIONS, EDS_EXCLUSION_WHY, EDS_SEGMENTS, label, aldGroups } from './labels.js';

const runLine = (run) => `${run.year} · ${label(EDS_OPTIONS, run.option)} · ${label(EDS_PHASES, run.phase)} · ${run.what_if ? 'simulation « et si »' : 'calcul officiel'}`;

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
        { label: 'N°', header: true, value: (e) => h('a', { href: `#/structures/${structure.id}/calculs/eds/${run.id}/episodes/${e.no}`, text: `n° ${e.no}`, 'aria-label': `Détail de l’épisode n° ${e.no}` }) },
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
    h('p', { class: 'subtitle', text: `${structure.name} · ${runLine(run)}` }),
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

const SEGMENTS = ['pre', 'index', 'post', 'complication'];
const ITEM_KINDS = { stay: 'séjour', claim: 'acte' };
const same = (a, b) => (a === b ? ' — identique' : ` — écart de ${fmt.euros(a - b)} avec le montant enregistré`);

function segmentTable(name, seg) {
  const sum = seg.items.reduce((a, it) => a + it.cents, 0);
  return table({
    caption: `${EDS_SEGMENTS[name]} : ${fmt.int(seg.items.length)} séjour(s) et acte(s), ${fmt.euros(seg.cents)}`,
    id: 'segment-' + name,
    columns: [
      { label: 'Date', header: true, cls: () => 'nowrap', value: (it) => fmt.date(it.day) },
      { label: 'Nature', value: (it) => ITEM_KINDS[it.kind] || it.kind },
      { label: 'Code', value: (it) => h('span', { class: 'mono', text: it.code || '—' }) },
      { label: 'Référence', value: (it) => h('span', { class: 'mono', text: it.ref }) },
      { label: 'Montant', num: true, value: (it) => fmt.euros(it.cents) },
    ],
    rows: seg.items,
    empty: 'Aucun séjour ni acte dans ce segment.',
    foot: h('tr', { class: 'total' }, h('th', { scope: 'row', colSpan: 4, text: 'Total du segment' + (sum === seg.cents ? '' : ' (somme des lignes : ' + fmt.euros(sum) + ')') }), h('td', { class: 'num', text: fmt.euros(seg.cents) })),
  });
}

export async function renderEpisode(ctx) {
  const { structure, signal } = ctx;
  const no = Number(ctx.params.no);
  const [run, ep] = await Promise.all([
    api('/v1/eds/runs/' + ctx.params.run, { signal }),
    api(`/v1/eds/runs/${ctx.params.run}/episodes/${no}`, { signal }),
  ]);
  const patient = await api(`/v1/structures/${structure.id}/patients/${ep.patient_id}`, { signal }).catch((e) => {
    if (e.name === 'AbortError') throw e;
    return null;
  });
  const r = run.result || {};
  const rec = r.reconciliation || {};
  const model = r.model || {};
  const segs = ep.segments || {};
  const cents = (k) => segs[k]?.cents ?? 0;
  const actual = SEGMENTS.reduce((a, k) => a + cents(k), 0);
  const forfait = model.complications_forfait_cents ?? 0;
  ctx.title(`Épisode n° ${no} — calcul EDS n° ${run.id}`);
  const step = (what, how, value) => h('li', null, h('div', null, h('div', { text: what }), how ? h('div', { class: 'step-how', text: how }) : null), h('div', { class: 'step-value', text: value }));
  const reasons = ep.exclusions || [];

  ctx.show(
    h('p', null, h('a', { href: `#/structures/${structure.id}/calculs/eds/${run.id}`, text: `← Calcul EDS n° ${run.id}` })),
    h('h1', { text: `Épisode n° ${no} : comment il a été compté` }),
    h('p', { class: 'subtitle', text: `${structure.name} · calcul EDS n° ${run.id} · ${runLine(run)}` }),
    ep.included
      ? h('p', { class: 'notice', id: 'episode-status', text: 'Épisode retenu : sa cible et sa dépense réelle entrent dans le rapprochement de l’établissement.' })
      : h('div', { class: 'warn', id: 'episode-status' },
        h('p', { text: 'Épisode exclu du rapprochement : il n’a pas de cible et sa dépense n’est pas comparée. Motif(s) :' }),
        h('ul', { id: 'episode-exclusions' }, reasons.map((x) => h('li', null, h('strong', { text: label(EDS_EXCLUSIONS, x) }), EDS_EXCLUSION_WHY[x] ? ' — ' + EDS_EXCLUSION_WHY[x] : '')))),
    figures([
      ['Cible', fmt.euros(ep.target_cents)],
      ['Dépense réelle', fmt.euros(ep.actual_cents)],
      ['Écart (cible − réel)', fmt.euros(ep.gap_cents)],
      ['Réhospitalisations', fmt.int(ep.complications)],
    ]),
    section('Le patient et l’épisode',
      h('dl', { class: 'kv', id: 'episode-profile' },
        h('dt', { text: 'Pseudonyme' }), h('dd', { class: 'mono', text: patient ? fmt.pseudonym(patient.pseudonym) : `patient n° ${ep.patient_id}` }),
        h('dt', { text: 'Âge et sexe (cellule du modèle)' }), h('dd', { text: fmt.ageSex(ep.age_sex) }),
        h('dt', { text: 'Groupes d’ALD' }), h('dd', { text: aldGroups(ep.ald_groups) }),
        h('dt', { text: 'C2S / AME' }), h('dd', { text: `${fmt.yesNo(ep.c2s)} / ${fmt.yesNo(ep.ame)}` }),
        h('dt', { text: 'Séjour déclencheur' }), h('dd', { class: 'mono', text: ep.trigger_stay_id }),
        h('dt', { text: 'Séjour index' }), h('dd', { text: `du ${fmt.date(ep.admission)} au ${fmt.date(ep.discharge)}` }),
        h('dt', { text: 'Fenêtre de l’épisode' }), h('dd', { text: `du ${fmt.date(ep.window_from)} au ${fmt.date(ep.window_to)}` }),
        h('dt', { text: 'Jours en MCO' }), h('dd', { text: fmt.int(ep.mco_days) }),
        h('dt', { text: 'Bilan biologique avant l’admission' }), h('dd', { text: fmt.yesNo(ep.preop_screening) }),
        h('dt', { text: 'Décès dans la fenêtre' }), h('dd', { text: fmt.yesNo(ep.died_in_window) }),
        ep.chemo_delay !== null && ep.chemo_delay !== undefined ? [h('dt', { text: 'Délai avant la chimiothérapie' }), h('dd', { text: `${fmt.int(ep.chemo_delay)} jours` })] : null)),
    section('Dépense par segment',
      hbarChart({ rows: SEGMENTS.map((k) => ({ label: EDS_SEGMENTS[k], value: cents(k) })), format: fmt.eurosRound, label: `Dépense de l’épisode par segment (détail dans le tableau) ; cible ${fmt.euros(ep.target_cents)}` }),
      table({
        caption: 'Dépense de l’épisode par segment',
        id: 'episode-segments',
        columns: [
          { label: 'Segment', header: true, value: (k) => EDS_SEGMENTS[k] },
          { label: 'Séjours et actes', num: true, value: (k) => fmt.int(segs[k]?.items.length ?? 0) },
          { label: 'Montant', num: true, value: (k) => fmt.euros(cents(k)) },
        ],
        rows: SEGMENTS,
        foot: h('tr', { class: 'total' }, h('th', { scope: 'row', colSpan: 2, text: 'Dépense réelle' }), h('td', { class: 'num', text: fmt.euros(actual) })),
      })),
    section('Le calcul, étape par étape',
      h('ol', { class: 'steps', id: 'episode-steps' },
        step('Dépense réelle', `avant l’admission ${fmt.euros(cents('pre'))} + séjour index ${fmt.euros(cents('index'))} + après la sortie ${fmt.euros(cents('post'))} + complications ${fmt.euros(cents('complication'))} ; recalculée : ${fmt.euros(actual)}${same(actual, ep.actual_cents)}`, fmt.euros(ep.actual_cents)),
        ep.included ? [
          step('Dépense attendue pour ce profil', `modèle de risque ${model.name ? model.name + ' v' + model.version : ''} : âge et sexe, ALD, C2S et AME du patient`, fmt.euros(ep.expected_cents)),
          step('+ forfait complications', 'le même pour chaque épisode retenu de l’option', fmt.euros(forfait)),
          step('= cible de l’épisode', `recalculée : ${fmt.euros(ep.expected_cents + forfait)}${same(ep.expected_cents + forfait, ep.target_cents)}`, fmt.euros(ep.target_cents)),
          step('Écart = cible − dépense réelle', `${ep.gap_cents >= 0 ? 'positif : l’épisode a coûté moins que sa cible' : 'négatif : l’épisode a coûté plus que sa cible'} ; recalculé : ${fmt.euros(ep.target_cents - ep.actual_cents)}${same(ep.target_cents - ep.actual_cents, ep.gap_cents)}`, fmt.euros(ep.gap_cents)),
        ] : step('Pas de cible', 'un épisode exclu n’est pas rapproché d’une dépense attendue', '—')),
      ep.included ? h('p', { id: 'episode-run', text: `Cet écart s’ajoute à ceux des ${fmt.int(rec.episodes)} épisodes retenus de l’établissement : ${fmt.euros(rec.gap_cents)} au total, partagé à ${fmt.pct(rec.share ?? 0, 0)}, borné puis modulé par la qualité ; le calcul verse ${fmt.euros(run.total_cents)}.` }) : null),
    section('Séjours et actes de l’épisode', SEGMENTS.map((k) => segmentTable(k, segs[k] || { cents: 0, items: [] }))),
  );
}
