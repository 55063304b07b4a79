// The structure's patients, pseudonymised: a51 never holds a NIR, only its
// keyed pseudonym, of which the first 12 characters are shown.
import { api } from './api.js';
import { h, table, fmt, pager, clear } from './ui.js';

export async function render(ctx) {
  const { structure } = ctx;
  ctx.title('Patientèle — ' + structure.name);
  const holder = h('div');
  const p = pager(async (cursor) => {
    const page = await api(`/v1/structures/${structure.id}/patients?limit=50${cursor ? '&cursor=' + cursor : ''}`, { signal: ctx.signal });
    clear(holder).append(table({
      caption: 'Patients de la structure (pseudonymisés)',
      id: 'patients',
      columns: [
        { label: 'Pseudonyme', header: true, value: (x) => h('span', { class: 'mono', title: x.pseudonym, text: fmt.pseudonym(x.pseudonym) }) },
        { label: 'Naissance', value: (x) => fmt.month(x.birth) },
        { label: 'Sexe', value: (x) => fmt.sex(x.sex) },
        { label: 'Commune', value: (x) => x.commune || '—' },
        { label: 'ALD', value: (x) => (x.ald || []).filter((a) => !a.end_on).map((a) => 'ALD ' + a.code).join(', ') || '—' },
        { label: 'C2S', value: (x) => fmt.yesNo(x.c2s) },
        { label: 'AME', value: (x) => fmt.yesNo(x.ame) },
        { label: 'Décès', value: (x) => fmt.date(x.death_date) },
      ],
      rows: page.items,
      empty: 'Aucun patient : envoyez le fichier des patients (page « Envois de données »).',
    }));
    return page.next;
  });
  await p.start();
  ctx.show(
    h('h1', { text: 'Patientèle' }),
    h('p', { class: 'subtitle', text: structure.name }),
    h('p', { class: 'notice', text: 'Les patients sont identifiés par un pseudonyme (empreinte HMAC du NIR) : a51 ne conserve ni n’affiche aucun NIR.' }),
    holder, p.el);
}
