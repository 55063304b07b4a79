// The structure's runs: PEPS, IPEP and EDS, each with the form asking for a
// run or a what-if simulation (followed as a job until its result opens) and
// the list of runs, each linked to its detail. IPEP and EDS forms are offered
// where they make sense (member GPs who are médecins traitants; a health
// establishment with a FINESS), measured by the API's eligibility criteria;
// elsewhere the page says why not.
import { apiResponse, api, waitJob } from './api.js';
import { h, table, fmt, field, select, clear, announce, showError, pager, section, placeFaults, clearFaults } from './ui.js';
import { PEPS_PHASES, PEPS_OPTIONS, IPEP_PHASES, EDS_PHASES, EDS_OPTIONS, CRITERIA, label } from './labels.js';

const kindOf = (r) => (r.what_if ? 'et si' : 'officiel');
const currentOf = (r) => (r.current ? 'oui' : 'non');

// A list of runs, page by page: its table and pager, and start() loading
// the first page.
function listed(ctx, caption, path, columns, empty) {
  const holder = h('div');
  const p = pager(async (cursor) => {
    const page = await api(`${path}&limit=20${cursor ? '&cursor=' + cursor : ''}`, { signal: ctx.signal });
    clear(holder).append(table({ caption, columns, rows: page.items, empty }));
    return page.next;
  });
  return { el: [holder, p.el], start: p.start };
}

// A form asking for a run, followed as a job until its result, whose page
// then opens. what: "PEPS"; build() answers the body, or null when a control
// refused its value (it then says why at the control).
function runForm(ctx, { id, what, legend, hint, controls, faults, build, path, detail }) {
  const run = h('button', { type: 'submit', id: id + '-run', text: 'Lancer le calcul' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': `Avancement du calcul ${what}` });
  const state = h('p', { id: id + '-job', 'aria-live': 'polite' });
  const form = h('form', { id: id + '-form', novalidate: true },
    h('fieldset', null, h('legend', { text: legend }),
      hint,
      h('div', { class: 'toolbar' }, controls),
      h('p', null, run), progress, state));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(document.getElementById('alert'));
    clearFaults(form);
    const body = build();
    if (!body) return;
    run.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    try {
      const { body: job } = await apiResponse(path, { method: 'POST', body, signal: ctx.signal });
      announce(`Calcul ${what} demandé : il est en file d’attente.`);
      const done = await waitJob(job, {
        signal: ctx.signal,
        onProgress: (j) => {
          progress.value = j.progress || 0;
          state.textContent = j.status === 'queued' ? 'En file d’attente…'
            : j.status === 'running' ? `En cours : ${fmt.pct(j.progress || 0, 0)}${j.message ? ' — ' + j.message : ''}` : '';
        },
      });
      announce(`Calcul terminé : calcul ${what} n° ${done.result.id}.`);
      ctx.go(detail(done.result.id));
    } catch (err) {
      state.textContent = '';
      showError(err, 'Calcul ' + what);
      const placed = placeFaults(faults, err);
      if (placed.length) faults[placed[0].field].focus();
    } finally {
      run.disabled = false;
      progress.hidden = true;
    }
  });
  return form;
}

function yearInput(id, year) {
  return h('input', { type: 'number', id, min: 2018, max: 2100, value: String(year), required: true });
}

// The year typed, or null with the reason at the field.
function yearOf(input) {
  const y = Number(input.value);
  if (Number.isInteger(y) && y >= 2018 && y <= 2100) return y;
  placeFaults({ year: input }, { problem: { errors: [{ field: 'year', reason: 'une année de 2018 à 2100' }] } });
  input.focus();
  return null;
}

function pepsForm(ctx) {
  const { me, structure, year } = ctx;
  const structureCaller = me.kind === 'structure';
  const y = yearInput('peps-year', year);
  const phase = select(Object.entries({ simulation: 'Simulation (rien n’est versé)', retrospective: 'Rétrospective', prospective: 'Prospective' }), 'simulation', { id: 'peps-phase' });
  const quarter = select([['', 'Année entière'], ['1', '1er trimestre'], ['2', '2e trimestre'], ['3', '3e trimestre'], ['4', '4e trimestre']], '', { id: 'peps-quarter' });
  const whatIf = h('input', { type: 'checkbox', id: 'peps-whatif', checked: true, disabled: structureCaller });
  const option = select([['', 'Celle de l’adhésion'], ...Object.entries(PEPS_OPTIONS)], '', { id: 'peps-option' });
  const score = h('input', { type: 'number', id: 'peps-score', min: 0, max: 1, step: 0.01, placeholder: 'présumé' });
  return runForm(ctx, {
    id: 'peps',
    what: 'PEPS',
    legend: 'Lancer un calcul PEPS',
    hint: structureCaller ? h('p', { class: 'hint', text: 'Une structure lance des simulations « et si » : elles ne sont jamais versées. Les calculs officiels sont faits par l’ARS ou la CNAM.' }) : null,
    controls: [field('Année', y), field('Phase', phase), field('Période', quarter), field('Option', option),
      field('Score qualité (0 à 1)', score, 'vide : le score présumé du jeu de paramètres'),
      field('Simulation « et si »', whatIf)],
    faults: { year: y, phase, quarter, option, quality_score: score, what_if: whatIf },
    build() {
      const yv = yearOf(y);
      if (!yv) return null;
      const body = { year: yv, phase: phase.value, what_if: whatIf.checked };
      if (quarter.value) body.quarter = Number(quarter.value);
      if (option.value) body.option = option.value;
      if (score.value !== '') body.quality_score = Number(score.value);
      return body;
    },
    path: `/v1/structures/${structure.id}/peps/runs`,
    detail: (id) => `/structures/${structure.id}/calculs/peps/${id}`,
  });
}

// What the structure measures, for the experiment's criteria, on 31 December
// of the page's year; null when that cannot be said (no parameter set of the
// year...): the form is then offered and the API says what it refuses.
async function measured(ctx, experiment, option) {
  const q = `experiment=${experiment}${option ? '&option=' + option : ''}&on=${ctx.year}-12-31`;
  try {
    return await api(`/v1/structures/${ctx.structure.id}/eligibility?${q}`, { signal: ctx.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return null;
  }
}

const criterion = (report, code) => report?.criteria?.find((c) => c.code === code) || null;
const unmet = (report, codes) => codes.map((c) => criterion(report, c)).filter((c) => c && !c.met);
const shown = (v) => (v === true ? 'oui' : v === false ? 'non' : typeof v === 'number' ? fmt.int(v) : String(v));
const OPS = { '>=': 'au moins', '>': 'plus de', '<=': 'au plus', '<': 'moins de', in: 'parmi' };

function criteriaTable(caption, list) {
  return table({
    caption,
    columns: [
      { label: 'Critère', header: true, value: (c) => CRITERIA[c.code] || c.label },
      { label: 'Mesuré', value: (c) => shown(c.measured) },
      { label: 'Requis', value: (c) => (typeof c.required === 'boolean' ? shown(c.required) : `${OPS[c.op] || c.op} ${shown(c.required)}`) },
    ],
    rows: list,
  });
}

const OFFICIAL = 'Les calculs officiels, eux, sont faits par l’ARS ou la CNAM pour tous les adhérents de l’année.';

// IPEP pays a groupement whose member GPs are médecins traitants: a what-if
// of a structure without any has no patientèle to compute on.
function ipepForm(ctx, report) {
  const { structure, year } = ctx;
  const missing = unmet(report, ['ipep.gp_present']);
  if (missing.length) {
    return h('div', { id: 'ipep-unavailable' },
      h('p', { class: 'notice', text: `Pas de simulation IPEP pour ${structure.name} : IPEP rémunère un groupement dont des médecins généralistes membres sont médecins traitants de ses patients, et cette structure n’en a aucun au ${fmt.date(report.on)}. Sa patientèle IPEP serait vide.` }),
      criteriaTable('Critère IPEP non rempli', missing));
  }
  const patients = criterion(report, 'ipep.min_patients');
  const y = yearInput('ipep-year', year);
  const phase = select([['', 'Celle de l’adhésion (phase 2 sans adhésion)'], ...Object.entries({
    phase1: 'Phase 1 — score qualité et crédits d’amorçage', phase2: 'Phase 2 — part des gains d’efficience', phase3: 'Phase 3 — gains modulés par la qualité',
  })], '', { id: 'ipep-phase' });
  return runForm(ctx, {
    id: 'ipep',
    what: 'IPEP',
    legend: 'Simuler un calcul IPEP « et si »',
    hint: h('div', null,
      h('p', { class: 'hint', text: 'Une simulation n’est jamais versée : elle montre ce que le groupement recevrait dans la phase choisie. ' + OFFICIAL }),
      patients && !patients.met ? h('p', { class: 'hint', id: 'ipep-small', text: `Au ${fmt.date(report.on)}, ${fmt.int(patients.measured)} patients ont pour médecin traitant un généraliste membre (plus de ${fmt.int(patients.required)} requis) : la simulation va jusqu’au bout mais ne verse rien.` }) : null),
    controls: [field('Année', y), field('Phase', phase)],
    faults: { year: y, phase },
    build() {
      const yv = yearOf(y);
      if (!yv) return null;
      const body = { year: yv, what_if: true };
      if (phase.value) body.phase = phase.value;
      return body;
    },
    path: `/v1/structures/${structure.id}/ipep/runs`,
    detail: (id) => `/structures/${structure.id}/calculs/ipep/${id}`,
  });
}

// EDS builds the surgical episodes of a health establishment, its stays told
// from others' by its FINESS.
function edsForm(ctx, report) {
  const { structure, year } = ctx;
  const missing = unmet(report, ['eds.kind', 'eds.finess']);
  if (missing.length) {
    return h('div', { id: 'eds-unavailable' },
      h('p', { class: 'notice', text: `Pas de simulation EDS pour ${structure.name} : EDS porte sur les épisodes chirurgicaux d’un établissement de santé, dont les séjours se reconnaissent à son numéro FINESS.` }),
      criteriaTable('Critères EDS non remplis', missing));
  }
  const y = yearInput('eds-year', year);
  const option = select(Object.entries(EDS_OPTIONS), 'PTH', { id: 'eds-option' });
  const phase = select([['', 'Celle de l’adhésion (rétrospective sans adhésion)'], ...Object.entries(EDS_PHASES)], '', { id: 'eds-phase' });
  return runForm(ctx, {
    id: 'eds',
    what: 'EDS',
    legend: 'Simuler un calcul EDS « et si »',
    hint: h('p', { class: 'hint', text: 'Une simulation n’est jamais versée : elle rapproche les épisodes de l’année de leurs cibles dans la phase choisie. ' + OFFICIAL }),
    controls: [field('Année', y), field('Option', option), field('Phase', phase)],
    faults: { year: y, option, phase },
    build() {
      const yv = yearOf(y);
      if (!yv) return null;
      const body = { year: yv, option: option.value, what_if: true };
      if (phase.value) body.phase = phase.value;
      return body;
    },
    path: `/v1/structures/${structure.id}/eds/runs`,
    detail: (id) => `/structures/${structure.id}/calculs/eds/${id}`,
  });
}

export async function render(ctx) {
  const { structure, me } = ctx;
  const sid = structure.id;
  ctx.title('Calculs — ' + structure.name);
  const base = `#/structures/${sid}/calculs`;

  const peps = listed(ctx, 'Calculs PEPS de la structure (les plus récents d’abord)', `/v1/peps/runs?structure_id=${sid}`, [
    { label: 'N°', header: true, value: (r) => h('a', { href: `${base}/peps/${r.id}`, text: `Calcul ${r.id}` }) },
    { label: 'Année', value: (r) => String(r.year) + (r.quarter ? ' T' + r.quarter : '') },
    { label: 'Phase', value: (r) => label(PEPS_PHASES, r.phase) },
    { label: 'Option', value: (r) => label(PEPS_OPTIONS, r.option) },
    { label: 'Nature', value: kindOf },
    { label: 'Patients', num: true, value: (r) => fmt.int(r.patients) },
    { label: 'Montant versé', num: true, value: (r) => fmt.euros(r.total_cents) },
    { label: 'En vigueur', value: currentOf },
    { label: 'Créé le', value: (r) => fmt.date(r.created_at) },
  ], 'Aucun calcul PEPS pour cette structure.');
  const ipep = listed(ctx, 'Calculs IPEP de la structure', `/v1/ipep/runs?structure_id=${sid}`, [
    { label: 'N°', header: true, value: (r) => h('a', { href: `${base}/ipep/${r.id}`, text: `Calcul ${r.id}` }) },
    { label: 'Année', value: (r) => String(r.year) },
    { label: 'Phase', value: (r) => label(IPEP_PHASES, r.phase) },
    { label: 'Nature', value: kindOf },
    { label: 'Patients', num: true, value: (r) => fmt.int(r.patients) },
    { label: 'Montant', num: true, value: (r) => fmt.euros(r.total_cents) },
    { label: 'En vigueur', value: currentOf },
    { label: 'Créé le', value: (r) => fmt.date(r.created_at) },
  ], 'Aucun calcul IPEP pour cette structure.');
  const eds = listed(ctx, 'Calculs EDS de la structure', `/v1/eds/runs?structure_id=${sid}`, [
    { label: 'N°', header: true, value: (r) => h('a', { href: `${base}/eds/${r.id}`, text: `Calcul ${r.id}` }) },
    { label: 'Année', value: (r) => String(r.year) },
    { label: 'Option', value: (r) => label(EDS_OPTIONS, r.option) },
    { label: 'Phase', value: (r) => label(EDS_PHASES, r.phase) },
    { label: 'Nature', value: kindOf },
    { label: 'Épisodes (retenus)', num: true, value: (r) => `${fmt.int(r.episodes)} (${fmt.int(r.included)})` },
    { label: 'Montant', num: true, value: (r) => fmt.euros(r.total_cents) },
    { label: 'En vigueur', value: currentOf },
  ], 'Aucun calcul EDS pour cette structure.');
  // whether IPEP and EDS what-ifs make sense here: asked only of a token that may run them
  const [ipepReport, edsReport] = await Promise.all([
    me.write ? measured(ctx, 'IPEP') : null,
    me.write ? measured(ctx, 'EDS', 'PTH') : null,
    peps.start(), ipep.start(), eds.start(),
  ]);

  ctx.show(
    h('h1', { text: 'Calculs' }),
    h('p', { class: 'subtitle', text: structure.name }),
    me.write ? null : h('p', { class: 'notice', text: 'Jeton en lecture seule : vous pouvez consulter les calculs, pas en lancer.' }),
    section('PEPS — forfait d’équipe', me.write ? pepsForm(ctx) : null, peps.el),
    section('IPEP — intéressement collectif', me.write ? ipepForm(ctx, ipepReport) : null, ipep.el),
    section('EDS — épisodes de soins chirurgicaux', me.write ? edsForm(ctx, edsReport) : null, eds.el));
}
