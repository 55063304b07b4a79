// The structure's runs: PEPS (with the form asking for a run or a what-if
// simulation, followed as a job), IPEP and EDS, each listed with a link to its
// detail.
import { apiResponse, api, waitJob } from './api.js';
import { h, table, fmt, field, select, clear, announce, showError, pager, section } from './ui.js';
import { PEPS_PHASES, PEPS_OPTIONS, IPEP_PHASES, EDS_PHASES, EDS_OPTIONS, label } from './labels.js';

const kindOf = (r) => (r.what_if ? 'et si' : 'officiel');
const currentOf = (r) => (r.current ? 'oui' : 'non');

function listed(ctx, title, caption, path, columns, empty) {
  const holder = h('div');
  const p = pager(async (cursor) => {
    const page = await api(`${path}&limit=20${cursor ? '&cursor=' + cursor : ''}`, { signal: ctx.signal });
    clear(holder).append(table({ caption, columns, rows: page.items, empty }));
    return page.next;
  });
  return { el: section(title, holder, p.el), start: p.start };
}

function pepsForm(ctx) {
  const { me, structure, year } = ctx;
  const structureCaller = me.kind === 'structure';
  const y = h('input', { type: 'number', id: 'peps-year', min: 2018, max: 2100, value: String(year), required: true });
  const phase = select(Object.entries({ simulation: 'Simulation (rien n’est versé)', retrospective: 'Rétrospective', prospective: 'Prospective' }), 'simulation', { id: 'peps-phase' });
  const quarter = select([['', 'Année entière'], ['1', '1er trimestre'], ['2', '2e trimestre'], ['3', '3e trimestre'], ['4', '4e trimestre']], '', { id: 'peps-quarter' });
  const whatIf = h('input', { type: 'checkbox', id: 'peps-whatif', checked: true, disabled: structureCaller });
  const option = select([['', 'Celle de l’adhésion'], ...Object.entries(PEPS_OPTIONS)], '', { id: 'peps-option' });
  const score = h('input', { type: 'number', id: 'peps-score', min: 0, max: 1, step: 0.01, placeholder: 'présumé' });
  const run = h('button', { type: 'submit', id: 'peps-run', text: 'Lancer le calcul' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Avancement du calcul' });
  const state = h('p', { id: 'peps-job', 'aria-live': 'polite' });

  const form = h('form', { id: 'peps-form' },
    h('fieldset', null, h('legend', { text: 'Lancer un calcul PEPS' }),
      structureCaller ? h('p', { class: 'hint', text: 'Une structure lance des simulations « et si » : elles ne sont jamais versées. Les calculs officiels sont faits par l’ARS ou la CNAM.' }) : null,
      h('div', { class: 'toolbar' },
        field('Année', y), field('Phase', phase), field('Période', quarter), field('Option', option),
        field('Score qualité (0 à 1)', score, 'vide : le score présumé du jeu de paramètres'),
        field('Simulation « et si »', whatIf)),
      h('p', null, run), progress, state));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { year: Number(y.value), phase: phase.value, what_if: whatIf.checked };
    if (quarter.value) body.quarter = Number(quarter.value);
    if (option.value) body.option = option.value;
    if (score.value !== '') body.quality_score = Number(score.value);
    clear(document.getElementById('alert'));
    run.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    try {
      const { body: job } = await apiResponse(`/v1/structures/${structure.id}/peps/runs`, { method: 'POST', body, signal: ctx.signal });
      announce('Calcul demandé : il est en file d’attente.');
      const done = await waitJob(job, {
        signal: ctx.signal,
        onProgress: (j) => {
          progress.value = j.progress || 0;
          state.textContent = j.status === 'queued' ? 'En file d’attente…'
            : j.status === 'running' ? `En cours : ${fmt.pct(j.progress || 0, 0)}${j.message ? ' — ' + j.message : ''}` : '';
        },
      });
      announce(`Calcul terminé : calcul PEPS n° ${done.result.id}.`);
      ctx.go(`/structures/${structure.id}/calculs/peps/${done.result.id}`);
    } catch (err) {
      state.textContent = '';
      showError(err, 'Calcul PEPS');
    } finally {
      run.disabled = false;
      progress.hidden = true;
    }
  });
  return form;
}

export async function render(ctx) {
  const { structure, me } = ctx;
  const sid = structure.id;
  ctx.title('Calculs — ' + structure.name);
  const base = `#/structures/${sid}/calculs`;

  const peps = listed(ctx, 'PEPS — forfait d’équipe', 'Calculs PEPS de la structure (les plus récents d’abord)', `/v1/peps/runs?structure_id=${sid}`, [
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
  const ipep = listed(ctx, 'IPEP — intéressement collectif', 'Calculs IPEP de la structure', `/v1/ipep/runs?structure_id=${sid}`, [
    { label: 'N°', header: true, value: (r) => h('a', { href: `${base}/ipep/${r.id}`, text: `Calcul ${r.id}` }) },
    { label: 'Année', value: (r) => String(r.year) },
    { label: 'Phase', value: (r) => label(IPEP_PHASES, r.phase) },
    { label: 'Nature', value: kindOf },
    { label: 'Patients', num: true, value: (r) => fmt.int(r.patients) },
    { label: 'Montant', num: true, value: (r) => fmt.euros(r.total_cents) },
    { label: 'En vigueur', value: currentOf },
    { label: 'Créé le', value: (r) => fmt.date(r.created_at) },
  ], 'Aucun calcul IPEP pour cette structure.');
  const eds = listed(ctx, 'EDS — épisodes de soins chirurgicaux', 'Calculs EDS de la structure', `/v1/eds/runs?structure_id=${sid}`, [
    { label: 'N°', header: true, value: (r) => h('a', { href: `${base}/eds/${r.id}`, text: `Calcul ${r.id}` }) },
    { label: 'Année', value: (r) => String(r.year) },
    { label: 'Option', value: (r) => label(EDS_OPTIONS, r.option) },
    { label: 'Phase', value: (r) => label(EDS_PHASES, r.phase) },
    { label: 'Nature', value: kindOf },
    { label: 'Épisodes (retenus)', num: true, value: (r) => `${fmt.int(r.episodes)} (${fmt.int(r.included)})` },
    { label: 'Montant', num: true, value: (r) => fmt.euros(r.total_cents) },
    { label: 'En vigueur', value: currentOf },
  ], 'Aucun calcul EDS pour cette structure.');
  await Promise.all([peps.start(), ipep.start(), eds.start()]);

  ctx.show(
    h('h1', { text: 'Calculs' }),
    h('p', { class: 'subtitle', text: structure.name }),
    me.write ? pepsForm(ctx) : h('p', { class: 'notice', text: 'Jeton en lecture seule : vous pouvez consulter les calculs, pas en lancer.' }),
    peps.el, ipep.el, eds.el);
}
