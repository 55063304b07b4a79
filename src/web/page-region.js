// A region for its ARS (or a national caller): every structure side by side —
// experiments, payments, patients, indicators against the region's deciles —
// and a picker leading to any structure's dashboard.
import { api, download } from './api.js';
import { h, table, fmt, section, busy, select, field, yearPicker } from './ui.js';
import { hbarChart } from './charts.js';
import { indicatorFormat } from './page-dashboard.js';

const total = (p) => (p ? (p.peps || 0) + (p.ipep || 0) + (p.eds || 0) : 0);

function picker(ctx, structures) {
  const sel = select(structures.map((s) => [String(s.id), `${s.name} (${s.kind})`]), '', { id: 'structure-picker' });
  const form = h('form', { class: 'toolbar', id: 'picker' }, field('Structure', sel), h('button', { type: 'submit', text: 'Ouvrir son tableau de bord' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (sel.value) ctx.go(`/structures/${sel.value}?annee=${ctx.year}`);
  });
  return form;
}

// Better or worse than the region's median, in the indicator's direction.
function against(ind, value) {
  if (!ind || typeof value !== 'number' || !Array.isArray(ind.deciles) || ind.deciles.length !== 9) return null;
  const median = ind.deciles[4];
  if (value === median) return null;
  return (ind.direction === 'decreasing' ? value < median : value > median) ? 'cell-good' : 'cell-bad';
}

export async function render(ctx) {
  const { signal, year } = ctx;
  const code = ctx.params.code;
  const [d, list] = await Promise.all([
    api(`/v1/regions/${code}/dashboard?year=${year}`, { signal }),
    api(`/v1/structures?region=${code}&limit=200`, { signal }),
  ]);
  const name = d.region?.name || 'région ' + code;
  ctx.title(`Région ${name} — ${d.year}`);
  const inds = d.indicators || [];
  const byCode = Object.fromEntries(inds.map((i) => [i.code, i]));
  const structures = d.structures || [];
  const csv = h('button', { type: 'button', class: 'secondary', id: 'export-region', text: 'Exporter (CSV, une ligne par structure)' });
  csv.addEventListener('click', () => busy(csv, () => download(`/v1/regions/${code}/dashboard?year=${d.year}&format=csv`, `region-${code}-${d.year}.csv`), 'Export'));

  ctx.show(
    h('h1', { text: `Région ${name}` }),
    h('p', { class: 'subtitle', text: `Tableau de bord régional ${d.year} · ${fmt.int(structures.length)} structure(s)` }),
    yearPicker(ctx),
    section('Aller à une structure', picker(ctx, list.items),
      list.next ? h('p', null, h('a', { href: '#/structures', text: 'Toutes les structures de la région' })) : null),
    section('Les structures côte à côte',
      h('p', null, csv),
      table({
        caption: `Structures de la région ${name}, ${d.year} : expérimentations, patients et paiements`,
        id: 'region-structures',
        columns: [
          { label: 'Structure', header: true, value: (s) => h('a', { href: `#/structures/${s.id}?annee=${d.year}`, text: s.name }) },
          { label: 'Type', value: (s) => s.kind },
          { label: 'Expérimentations', value: (s) => (s.experiments || []).join(', ') || '—' },
          { label: 'Patients', num: true, value: (s) => fmt.int(s.patients) },
          { label: 'PEPS', num: true, value: (s) => fmt.eurosRound(s.payments_cents?.peps) },
          { label: 'IPEP', num: true, value: (s) => fmt.eurosRound(s.payments_cents?.ipep) },
          { label: 'EDS', num: true, value: (s) => fmt.eurosRound(s.payments_cents?.eds) },
          { label: 'Total versé', num: true, value: (s) => fmt.eurosRound(total(s.payments_cents)) },
          { label: 'Expérience patient (sur 100)', num: true, value: (s) => (typeof s.experience === 'number' ? fmt.num(s.experience, 1) : '—') },
        ],
        rows: structures,
        empty: 'Aucune structure dans cette région.',
      }),
      structures.some((s) => total(s.payments_cents) > 0)
        ? hbarChart({
          label: `Paiements ${d.year} par structure, PEPS, IPEP et EDS ensemble (détail dans le tableau qui précède)`,
          rows: structures.map((s) => ({ label: s.name, value: total(s.payments_cents) })),
          format: fmt.eurosRound,
        })
        : h('p', { class: 'notice', text: `Aucun paiement versé pour ${d.year} : les calculs de l’année sont des simulations ou ne versent rien.` })),
    inds.length ? section('Indicateurs par structure',
      h('p', { text: 'En vert, meilleur que la médiane régionale ; en rouge, moins bon (dans le sens de chaque indicateur). Les codes sont expliqués dans le tableau qui suit.' }),
      table({
        caption: `Valeur de chaque indicateur par structure, ${d.year}`,
        id: 'region-matrix',
        columns: [
          { label: 'Structure', header: true, value: (s) => s.name },
          ...inds.map((ind) => ({
            label: ind.code,
            num: true,
            value: (s) => {
              const v = s.indicators?.[ind.code];
              if (typeof v !== 'number') return '—';
              const cls = against(ind, v);
              const text = indicatorFormat({ value: v, deciles: ind.deciles })(v);
              // the colour is not the only sign: a word for assistive technologies
              return cls ? h('span', null, text, h('span', { class: 'visually-hidden', text: cls === 'cell-good' ? ' (meilleur que la médiane)' : ' (moins bon que la médiane)' })) : text;
            },
            cls: (s) => against(byCode[ind.code], s.indicators?.[ind.code]),
          })),
        ],
        rows: structures,
      })) : null,
    section('Indicateurs de la région', table({
      caption: `Distribution des indicateurs entre les structures de la région, ${d.year}`,
      id: 'region-indicators',
      columns: [
        { label: 'Indicateur', header: true, value: (i) => h('span', null, i.label || i.code, h('br'), h('span', { class: 'hint mono', text: i.code })) },
        { label: 'Sens', value: (i) => (i.direction === 'decreasing' ? 'plus bas = mieux' : 'plus haut = mieux') },
        { label: 'Structures', num: true, value: (i) => fmt.int(i.n) },
        { label: 'Moyenne', num: true, value: (i) => indicatorFormat({ value: i.mean, deciles: i.deciles })(i.mean) },
        { label: '1er décile', num: true, value: (i) => (i.deciles ? indicatorFormat(i)(i.deciles[0]) : '—') },
        { label: 'Médiane', num: true, value: (i) => (i.deciles ? indicatorFormat(i)(i.deciles[4]) : '—') },
        { label: '9e décile', num: true, value: (i) => (i.deciles ? indicatorFormat(i)(i.deciles[8]) : '—') },
      ],
      rows: inds,
      empty: 'Aucun indicateur.',
    })),
  );
}
