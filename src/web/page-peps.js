// One PEPS run: what it computed, the forfait against fee-for-service by
// quarter, the schedule, the split among the team, its lines patient by
// patient; and one line explained step by step.
import { api, download } from './api.js';
import { h, table, fmt, figures, section, clear, pager, select, field, busy, announce, showError, placeFaults, clearFaults } from './ui.js';
import { barChart } from './charts.js';
import { PEPS_PHASES, PEPS_OPTIONS, label, quarters, daysInYear, aldGroups } from './labels.js';

const QUARTERS = ['T1', 'T2', 'T3', 'T4'];
const SCHEDULE = { instalment: 'acompte', adjustment: 'régularisation', bonus: 'bonus' };

function runTitle(run) {
  return `${run.year}${run.quarter ? ' T' + run.quarter : ''} · ${label(PEPS_PHASES, run.phase)} · ${label(PEPS_OPTIONS, run.option)} · ${run.what_if ? 'simulation « et si »' : 'calcul officiel'}${run.current ? ' · en vigueur' : ''}`;
}

function criteriaTable(elig) {
  if (!elig?.criteria) return null;
  return table({
    caption: `Éligibilité mesurée au ${fmt.date(elig.on)} : ${elig.eligible ? 'éligible' : 'non éligible'}`,
    columns: [
      { label: 'Critère', header: true, value: (c) => c.label },
      { label: 'Mesuré', num: true, value: (c) => String(c.measured) },
      { label: 'Requis', num: true, value: (c) => `${c.op} ${c.required}` },
      { label: 'Rempli', value: (c) => (c.met ? 'oui' : 'non'), cls: (c) => (c.met ? 'cell-good' : 'cell-bad') },
    ],
    rows: elig.criteria,
  });
}

const KEYS = { equal: 'parts égales', fte: 'équivalents temps plein', patients: 'patients médecin traitant', prior_ffs: 'paiement à l’acte de l’année précédente' };

// Euros as typed in France ("1 234,56", "1234.5") to cents; null when it is not an amount.
function centsOf(text) {
  const t = String(text).replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  if (!/^\d{1,11}(\.\d{0,2})?$/.test(t)) return null;
  const [units, dec = ''] = t.split('.');
  return Number(units) * 100 + Number(dec.padEnd(2, '0'));
}
const typed = (cents) => (cents / 100).toFixed(2).replace('.', ',');

// A proposal has each member's weight under its key; a recorded split has none.
const weighted = (shares) => shares.length > 0 && shares[0].weight !== undefined;

function sharesTable(caption, shares, id) {
  return table({
    caption,
    id,
    columns: [
      { label: 'RPPS', header: true, value: (m) => h('span', { class: 'mono', text: m.rpps }) },
      { label: 'Profession', value: (m) => m.profession },
      weighted(shares) ? { label: 'Poids', num: true, value: (m) => fmt.num(m.weight, 3) } : null,
      { label: 'Montant', num: true, value: (m) => fmt.euros(m.cents) },
    ].filter(Boolean),
    rows: shares,
  });
}

// The team's own split: one amount per member, their sum against the run's
// total said as it is typed; the API checks it again (422 naming the field).
// The amounts start from the recorded version, else the proposal; kept: what
// was typed before the form was built again (rpps -> text).
function splitForm(ctx, run, d, onRecorded, kept = new Map()) {
  const total = d.total_cents;
  const members = d.proposal;
  const recorded = new Map((d.recorded?.shares || []).map((x) => [x.rpps, x.cents]));
  const inputs = members.map((m) => h('input', {
    type: 'text', inputmode: 'decimal', autocomplete: 'off', id: 'share-' + m.rpps, class: 'amount', dataset: { rpps: m.rpps },
    value: kept.get(m.rpps) ?? typed(d.recorded ? recorded.get(m.rpps) ?? 0 : m.cents),
  }));
  const remaining = h('p', { id: 'split-remaining', class: 'remaining', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const fromProposal = h('button', { type: 'button', class: 'secondary', id: 'split-from-proposal', text: `Repartir de la proposition (${KEYS[d.key] || d.key})` });
  const save = h('button', { type: 'submit', id: 'split-save', text: 'Enregistrer la répartition' });
  const amounts = () => inputs.map((i) => centsOf(i.value));
  const sameAsProposal = () => amounts().every((c, k) => c === members[k].cents);

  function update() {
    const cents = amounts();
    if (cents.some((c) => c === null)) {
      remaining.textContent = 'Un montant n’est pas lisible : saisissez des euros, par exemple 1 234,56.';
      remaining.className = 'remaining cell-bad';
      return;
    }
    const diff = total - cents.reduce((a, b) => a + b, 0);
    remaining.textContent = diff === 0 ? `Le compte est juste : ${fmt.euros(total)} répartis.`
      : diff > 0 ? `Reste à répartir : ${fmt.euros(diff)} (sur ${fmt.euros(total)}).`
        : `Dépassement : ${fmt.euros(-diff)} de trop (le total est ${fmt.euros(total)}).`;
    remaining.className = diff === 0 ? 'remaining cell-good' : 'remaining cell-bad';
  }
  // a refusal said at the fields no longer holds once they change
  for (const i of inputs) i.addEventListener('input', () => { clearFaults(form); update(); });
  fromProposal.addEventListener('click', () => {
    inputs.forEach((i, k) => { i.value = typed(members[k].cents); });
    clearFaults(form);
    update();
    inputs[0]?.focus();
  });

  const rows = members.map((m, k) => h('tr', null,
    h('th', { scope: 'row' }, h('span', { class: 'mono', text: m.rpps })),
    h('td', { text: m.profession }),
    h('td', { class: 'num' }, h('div', { class: 'field' },
      h('label', { for: inputs[k].id, class: 'visually-hidden', text: `Part de ${m.rpps} (${m.profession}), en euros` }), inputs[k]))));
  const grid = h('table', { id: 'split-shares', class: 'form-grid' },
    h('caption', null, `Parts des ${members.length} membres de l’équipe, en euros : leur somme doit faire ${fmt.euros(total)}`),
    h('thead', null, h('tr', null, ['RPPS', 'Profession', 'Montant (€)'].map((t, i) => h('th', { scope: 'col', class: i === 2 ? 'num' : null, text: t })))),
    h('tbody', null, rows));
  const form = h('form', { id: 'split-form', novalidate: true },
    h('fieldset', null, h('legend', { text: 'Enregistrer la répartition de l’équipe' }),
      h('p', { class: 'hint', text: d.recorded
        ? `Les montants sont ceux de la version ${d.recorded.version} enregistrée ; chaque enregistrement en fait une nouvelle version.`
        : 'Les montants sont ceux de la proposition : modifiez-les au centime près, puis enregistrez.' }),
      h('div', { class: 'table-wrap' }, grid),
      h('div', { class: 'field' }, remaining),
      h('p', { class: 'toolbar' }, save, fromProposal)));
  update();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(document.getElementById('alert'));
    clearFaults(form);
    const cents = amounts();
    const unreadable = cents.map((c, k) => (c === null ? k : -1)).filter((k) => k >= 0);
    if (unreadable.length) {
      placeFaults(Object.fromEntries(unreadable.map((k) => ['x' + k, inputs[k]])),
        { problem: { errors: unreadable.map((k) => ({ field: 'x' + k, reason: 'un montant en euros, par exemple 1 234,56' })) } });
      inputs[unreadable[0]].focus();
      return;
    }
    const body = { shares: members.map((m, k) => ({ rpps: m.rpps, cents: cents[k] })) };
    if (sameAsProposal()) body.key = d.key; // the split follows that key
    save.disabled = true;
    try {
      const saved = await api(`/v1/peps/runs/${run.id}/distribution`, { method: 'PUT', body, signal: ctx.signal });
      announce(`Répartition enregistrée : version ${saved.version}.`);
      onRecorded(saved);
    } catch (err) {
      showError(err, 'Répartition');
      const sum = cents.reduce((a, b) => a + b, 0);
      const controls = { shares: remaining, ...Object.fromEntries(inputs.map((i, k) => [`shares[${k}]`, i])) };
      const placed = placeFaults(controls, err, (f) => (f === 'shares' && sum !== total
        ? `Refusé : les parts font ${fmt.euros(sum)}, soit ${sum > total ? fmt.euros(sum - total) + ' de trop' : fmt.euros(total - sum) + ' de moins'} que le total du calcul (${fmt.euros(total)}).` : null));
      if (placed.some((p) => p.field !== 'shares')) controls[placed.find((p) => p.field !== 'shares').field].focus();
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function recordedPart(r) {
  return h('div', { id: 'split-recorded' },
    h('h3', { text: `Répartition enregistrée — version ${r.version}` }),
    h('p', { text: `Enregistrée le ${fmt.date(r.created_at)}${r.key ? ', selon la clé « ' + (KEYS[r.key] || r.key) + ' »' : ', montants fixés par l’équipe'} : ${fmt.euros(r.total_cents)} au total.` }),
    sharesTable(`Répartition enregistrée, version ${r.version}`, r.shares, 'split-recorded-shares'));
}

function distributionSection(ctx, run) {
  const key = select(Object.entries(KEYS), 'equal', { id: 'split-key' });
  const proposal = h('div', { id: 'split' });
  const recorded = h('div');
  const editor = h('div');
  const show = h('button', { type: 'button', class: 'secondary', text: 'Afficher la proposition' });
  // the new version shown, and the form now starting from it
  const onRecorded = (d) => (r) => {
    d.recorded = r;
    clear(recorded).append(recordedPart(r));
    clear(editor).append(splitForm(ctx, run, d, onRecorded(d)));
    const title = recorded.querySelector('h3');
    title.tabIndex = -1;
    title.focus();
  };
  async function load() {
    // another key's proposal: the amounts being typed stay
    const kept = new Map([...editor.querySelectorAll('#split-shares input')].map((i) => [i.dataset.rpps, i.value]));
    clear(proposal);
    try {
      const d = await api(`/v1/peps/runs/${run.id}/distribution?key=${key.value}`, { signal: ctx.signal });
      proposal.append(sharesTable(`Proposition de répartition de ${fmt.euros(d.total_cents)} (${KEYS[d.key] || d.key})`, d.proposal, 'split-proposal'));
      clear(recorded).append(d.recorded ? recordedPart(d.recorded) : h('p', { id: 'split-none', text: 'L’équipe n’a pas encore enregistré de répartition pour ce calcul.' }));
      clear(editor).append(!ctx.me.write
        ? h('p', { class: 'notice', text: 'Jeton en lecture seule : la répartition se consulte ici, elle s’enregistre avec un jeton en écriture de la structure, de son ARS ou national.' })
        : d.proposal.length ? splitForm(ctx, run, d, onRecorded(d), kept)
          : h('p', { class: 'notice', text: 'Aucun membre de l’équipe sur la période du calcul : il n’y a personne entre qui répartir.' }));
    } catch (e) {
      // A run that pays nothing has nothing to split: said in place, not as a failure.
      if (e.status === 422) proposal.append(h('p', { class: 'notice', text: 'Rien à répartir : ' + (e.problem?.errors?.[0]?.reason || e.message) }));
      else throw e;
    }
  }
  show.addEventListener('click', () => busy(show, load, 'Répartition'));
  const paid = !run.what_if && run.total_cents;
  return {
    el: section('Répartition entre les membres de l’équipe',
      paid
        ? h('div', null, h('p', { class: 'hint', text: 'Le forfait est versé à la structure ; l’équipe le répartit entre ses membres comme elle l’entend. a51 propose une répartition selon une clé et garde chaque version de celle que l’équipe enregistre.' }),
          h('div', { class: 'toolbar' }, field('Clé de la proposition', key), show), proposal, recorded, editor)
        : h('p', { class: 'notice', text: run.what_if ? 'Une simulation « et si » n’est jamais versée : elle ne se répartit pas.' : 'Ce calcul ne verse rien : il n’y a rien à répartir.' })),
    start: paid ? () => load().catch((e) => showError(e, 'Répartition')) : () => null,
  };
}

function linesSection(ctx, run, sid) {
  const holder = h('div');
  const p = pager(async (cursor) => {
    const page = await api(`/v1/peps/runs/${run.id}/lines?limit=50${cursor ? '&cursor=' + cursor : ''}`, { signal: ctx.signal });
    clear(holder).append(table({
      caption: 'Forfait patient par patient',
      id: 'peps-lines',
      columns: [
        { label: 'Patient', header: true, cls: () => 'nowrap', value: (l) => h('a', { href: `#/structures/${sid}/calculs/peps/${run.id}/patients/${l.patient_id}`, text: `n° ${l.patient_id}`, 'aria-label': `Explication du patient n° ${l.patient_id}` }) },
        { label: 'Profil', value: (l) => fmt.ageSex(l.age_sex) + (l.ald_groups.length ? ' · ALD ' + aldGroups(l.ald_groups) : '') },
        { label: 'Jours couverts', num: true, value: (l) => fmt.int(l.covered_days) },
        { label: 'Coût de référence', num: true, value: (l) => fmt.euros(l.base_cents) },
        { label: 'Fidélisation', num: true, value: (l) => fmt.pct(l.fidelisation) },
        { label: 'Taux annuel', num: true, value: (l) => fmt.euros(l.rate_cents) },
        { label: 'Forfait gagné', num: true, value: (l) => fmt.euros(l.earned_cents) },
        { label: 'Paiement à l’acte', num: true, value: (l) => fmt.euros(l.ffs_cents) },
        { label: 'Montant', num: true, value: (l) => fmt.euros(l.amount_cents) },
      ],
      rows: page.items,
      empty: 'Aucun patient couvert.',
    }));
    return page.next;
  });
  const csv = h('button', { type: 'button', class: 'secondary', text: 'Exporter les lignes (CSV)' });
  csv.addEventListener('click', () => busy(csv, () => download(`/v1/peps/runs/${run.id}/lines?format=csv`, `peps-run-${run.id}-lines.csv`), 'Export'));
  return { el: section('Patients', h('p', null, 'Chaque ligne mène au détail du calcul pour ce patient. ', csv), holder, p.el), start: p.start };
}

export async function renderRun(ctx) {
  const { structure, signal } = ctx;
  const run = await api('/v1/peps/runs/' + ctx.params.run, { signal });
  const r = run.result || {};
  ctx.title(`Calcul PEPS n° ${run.id}`);
  const lines = linesSection(ctx, run, structure.id);
  const split = distributionSection(ctx, run);
  await Promise.all([lines.start(), split.start()]);

  const forfaitQ = r.forfait_by_quarter || [];
  const ffsQ = r.ffs?.by_quarter || [];
  const quarterRows = QUARTERS.map((q, i) => ({ q, forfait: forfaitQ[i], ffs: ffsQ[i] }));
  ctx.show(
    h('h1', { text: `Calcul PEPS n° ${run.id}` }),
    h('p', { class: 'subtitle', text: `${structure.name} · ${runTitle(run)}` }),
    (r.warnings || []).length ? h('ul', { class: 'warn' }, r.warnings.map((w) => h('li', { text: w }))) : null,
    figures([
      ['Patients couverts', fmt.int(run.patients)],
      ['Forfait (après plafond)', fmt.euros(r.forfait_cents)],
      ['Paiement à l’acte (mêmes patients)', fmt.euros(r.ffs?.total_cents)],
      ['Montant versé', fmt.euros(run.total_cents)],
      ['Fidélisation', fmt.pct(r.fidelisation)],
      ['Facteur qualité', fmt.num(r.quality_factor, 4)],
      r.cap ? ['Plafond', r.cap.applied ? fmt.euros(r.cap.cap_cents) : 'aucun'] : null,
      r.cap ? ['Effet du plafond', fmt.euros(r.cap.effect_cents)] : null,
    ]),
    section('Forfait et paiement à l’acte par trimestre',
      barChart({
        label: 'Forfait et paiement à l’acte par trimestre (détail dans le tableau)',
        categories: QUARTERS,
        series: [{ name: 'forfait', values: forfaitQ }, { name: 'paiement à l’acte', cls: 'ffs', values: ffsQ }],
      }),
      table({
        caption: 'Forfait et paiement à l’acte par trimestre',
        id: 'peps-quarters',
        columns: [
          { label: 'Trimestre', header: true, value: (x) => x.q },
          { label: 'Forfait', num: true, value: (x) => fmt.euros(x.forfait) },
          { label: 'Paiement à l’acte', num: true, value: (x) => fmt.euros(x.ffs) },
          { label: 'Écart', num: true, value: (x) => (x.forfait === undefined || x.ffs === undefined ? '—' : fmt.euros(x.forfait - x.ffs)) },
        ],
        rows: quarterRows,
      })),
    run.schedule?.length ? section('Échéancier', table({
      caption: 'Versements prévus',
      columns: [
        { label: 'Échéance', header: true, value: (x) => fmt.date(x.due_on) },
        { label: 'Nature', value: (x) => (SCHEDULE[x.kind] || x.kind) + (x.quarter ? ' T' + x.quarter : '') },
        { label: 'Montant', num: true, value: (x) => fmt.euros(x.cents) },
      ],
      rows: run.schedule,
    })) : null,
    split.el,
    lines.el,
    section('Provenance',
      h('dl', { class: 'kv' },
        h('dt', { text: 'Jeu de paramètres' }), h('dd', { text: r.parameter_set ? `PEPS ${r.parameter_set.year}, version ${r.parameter_set.version}` : '—' }),
        h('dt', { text: 'Modèle de risque' }), h('dd', { text: r.model ? `${r.model.name}, version ${r.model.version}` : '—' }),
        h('dt', { text: 'Période' }), h('dd', { text: `${fmt.date(r.period_from)} au ${fmt.date(r.period_to)}` }),
        h('dt', { text: 'Version du code' }), h('dd', { text: run.code_version }),
        h('dt', { text: 'Empreinte des données' }), h('dd', { class: 'mono', text: run.inputs_digest })),
      criteriaTable(r.eligibility)),
  );
}

// The line of one patient: the lines are ordered by patient and `cursor` is
// the last patient of the page before, so cursor = id − 1 reads that line.
async function lineOf(runId, pid, signal) {
  const page = await api(`/v1/peps/runs/${runId}/lines?limit=1&cursor=${pid - 1}`, { signal });
  const line = page.items[0];
  return line && line.patient_id === pid ? line : null;
}

export async function renderLine(ctx) {
  const { structure, signal } = ctx;
  const pid = Number(ctx.params.patient);
  const [run, line, patient] = await Promise.all([
    api('/v1/peps/runs/' + ctx.params.run, { signal }),
    lineOf(ctx.params.run, pid, signal),
    api(`/v1/structures/${structure.id}/patients/${pid}`, { signal }).catch(() => null),
  ]);
  const back = h('p', null, h('a', { href: `#/structures/${structure.id}/calculs/peps/${run.id}`, text: `← Calcul PEPS n° ${run.id}` }));
  ctx.title(`Patient n° ${pid} — calcul PEPS n° ${run.id}`);
  if (!line) {
    ctx.show(back, h('h1', { text: `Patient n° ${pid}` }), h('p', { class: 'notice', text: 'Ce patient n’est pas dans la patientèle couverte par ce calcul.' }));
    return;
  }
  const r = run.result || {};
  const p = r.parameters || {};
  const ydays = daysInYear(run.year);
  const local = r.local_coefficient ?? p.local_coefficient ?? 1;
  const quality = r.quality_factor ?? 1;
  const recomputed = Math.round(line.base_cents * line.fidelisation * local * quality);
  const earnedRecomputed = Math.round((line.rate_cents * line.covered_days) / ydays);
  const uplift = (p.uplift_quarters || []).length && p.uplift_rate;
  const step = (what, how, value) => h('li', null, h('div', null, h('div', { text: what }), how ? h('div', { class: 'step-how', text: how }) : null), h('div', { class: 'step-value', text: value }));

  ctx.show(
    back,
    h('h1', { text: `Comment le forfait du patient n° ${pid} a été calculé` }),
    h('p', { class: 'subtitle', text: `${structure.name} · calcul PEPS n° ${run.id} · ${runTitle(run)}` }),
    section('Le patient',
      h('dl', { class: 'kv', id: 'line-profile' },
        h('dt', { text: 'Pseudonyme' }), h('dd', { class: 'mono', text: patient ? fmt.pseudonym(patient.pseudonym) : '—' }),
        h('dt', { text: 'Âge et sexe (cellule du modèle)' }), h('dd', { text: fmt.ageSex(line.age_sex) }),
        h('dt', { text: 'Groupes d’ALD' }), h('dd', { text: aldGroups(line.ald_groups) }),
        h('dt', { text: 'C2S / AME' }), h('dd', { text: `${fmt.yesNo(line.c2s)} / ${fmt.yesNo(line.ame)}` }),
        h('dt', { text: 'Jours couverts' }), h('dd', { text: `${fmt.int(line.covered_days)} sur ${ydays}` }),
        h('dt', { text: 'Couvert au premier jour des trimestres' }), h('dd', { text: quarters(line.covered_at_start) }))),
    section('Le calcul, étape par étape',
      h('ol', { class: 'steps', id: 'line-steps' },
        step('Coût de référence annuel', `coût attendu des actes du périmètre pour ce profil, modèle ${r.model ? r.model.name + ' v' + r.model.version : ''}`, fmt.euros(line.base_cents)),
        step('× fidélisation', p.fidelisation_level === 'patient' ? 'part des soins du périmètre de ce patient faits par l’équipe' : 'part des soins du périmètre des patients de l’équipe faits par l’équipe', fmt.fixed(line.fidelisation, 4)),
        step('× coefficient local', null, fmt.fixed(local, 2)),
        step('× facteur qualité', `1 + ${fmt.pct(p.quality_bonus_rate ?? 0, 0)} × score ${fmt.num(r.quality_score ?? 1, 2)}`, fmt.fixed(quality, 4)),
        step('= taux annuel du patient', `recalculé : ${fmt.euros(recomputed)}${Math.abs(recomputed - line.rate_cents) <= 1 ? ' — identique' : ' — écart avec le montant enregistré'}`, fmt.euros(line.rate_cents)),
        step(`× ${fmt.int(line.covered_days)} jours couverts ÷ ${ydays} jours${uplift ? ' (majoré dans les trimestres d’activité exceptionnelle)' : ''}`, `= forfait gagné ; recalculé : ${fmt.euros(earnedRecomputed)}`, fmt.euros(line.earned_cents)),
        step(run.phase === 'simulation' ? 'Part du forfait de l’équipe (après plafond)' : 'Part du montant versé à l’équipe', 'total du calcul réparti entre les patients au plus fort reste, au centime', fmt.euros(line.amount_cents)))),
    section('À comparer',
      figures([
        ['Paiement à l’acte de l’équipe pour ce patient', fmt.euros(line.ffs_cents)],
        ['Soins du périmètre faits par l’équipe', fmt.euros(line.team_cents)],
        ['Soins du périmètre, tous professionnels', fmt.euros(line.all_cents)],
        ['Forfait gagné moins paiement à l’acte', fmt.euros(line.earned_cents - line.ffs_cents)],
      ])),
  );
}

