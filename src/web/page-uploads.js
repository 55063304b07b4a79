// Uploads of the structure's data: a CSV or NDJSON file dropped or chosen, sent
// streamed to POST /v1/structures/{id}/uploads?kind=…; a refused file shows its
// line errors (line, column, reason); past uploads and their errors.
import { api, uploadFile, download } from './api.js';
import { h, table, fmt, field, select, clear, announce, showError, pager, section } from './ui.js';

export const KINDS = [
  ['patients', 'Patients'],
  ['mt_declarations', 'Déclarations de médecin traitant'],
  ['claims', 'Soins de ville (actes remboursés)'],
  ['stays', 'Séjours hospitaliers'],
  ['questionnaires', 'Questionnaires d’expérience patient'],
];
const kindLabel = (k) => KINDS.find(([v]) => v === k)?.[1] || k;
const STATUS = { succeeded: 'accepté', validated: 'vérifié, non enregistré', rejected: 'refusé', aborted: 'interrompu', receiving: 'en cours', failed: 'échec' };

const size = (n) => (n < 1024 ? fmt.int(n) + ' o' : n < 1048576 ? fmt.num(n / 1024, 1) + ' Kio' : fmt.num(n / 1048576, 1) + ' Mio');

function errorsTable(items, caption) {
  return table({
    caption,
    id: 'upload-errors',
    columns: [
      { label: 'Ligne', num: true, header: true, value: (e) => fmt.int(e.line) },
      { label: 'Colonne', value: (e) => e.column || '—' },
      { label: 'Valeur', value: (e) => (e.value === null || e.value === undefined || e.value === '' ? '—' : e.value) },
      { label: 'Motif', value: (e) => e.reason },
    ],
    rows: items,
    empty: 'Aucune erreur.',
  });
}

// Every error of an upload, page by page, with a CSV export of them all.
async function showUploadErrors(panel, upload, signal) {
  const holder = h('div');
  const p = pager(async (cursor) => {
    const page = await api(`/v1/uploads/${upload.id}/errors?limit=100${cursor ? '&cursor=' + cursor : ''}`, { signal });
    clear(holder).append(errorsTable(page.items, `Erreurs de l’envoi n° ${upload.id} (${kindLabel(upload.kind)})`));
    return page.next;
  });
  await p.start();
  const csv = h('button', { type: 'button', class: 'secondary', text: 'Exporter toutes les erreurs (CSV)' });
  csv.addEventListener('click', () => download(`/v1/uploads/${upload.id}/errors?format=csv`, `envoi-${upload.id}-erreurs.csv`).catch((e) => showError(e, 'Export')));
  clear(panel).append(h('h3', { text: `Erreurs de l’envoi n° ${upload.id}`, tabIndex: -1 }), holder, p.el, h('p', null, csv));
  panel.querySelector('h3').focus();
}

export async function render(ctx) {
  const { structure, signal } = ctx;
  ctx.title('Envois de données — ' + structure.name);
  const sid = structure.id;
  let chosen = null;

  // ---- the form ----
  const kind = select(KINDS, ctx.query.get('type') || 'patients', { id: 'upload-kind', name: 'kind' });
  const charset = select([['utf-8', 'UTF-8 (avec ou sans BOM)'], ['windows-1252', 'Windows-1252 (Excel)']], 'utf-8', { id: 'upload-charset' });
  const dry = h('input', { type: 'checkbox', id: 'upload-dry' });
  const input = h('input', { type: 'file', id: 'upload-file', accept: '.csv,.txt,.ndjson,.jsonl,text/csv,application/x-ndjson' });
  const chosenText = h('p', { id: 'upload-chosen', 'aria-live': 'polite', text: 'Aucun fichier choisi.' });
  const send = h('button', { type: 'submit', id: 'upload-send', text: 'Envoyer' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Progression de l’envoi' });
  const result = h('div', { id: 'upload-result' });

  const choose = (file) => {
    chosen = file || null;
    chosenText.textContent = chosen ? `Fichier choisi : ${chosen.name} (${size(chosen.size)})` : 'Aucun fichier choisi.';
  };
  input.addEventListener('change', () => choose(input.files[0]));

  const zone = h('div', { class: 'dropzone', id: 'dropzone' },
    h('p', { text: 'Déposez un fichier CSV ou NDJSON ici, ou' }),
    h('p', null, h('label', { for: 'upload-file', text: 'choisissez un fichier : ' }), input),
    chosenText);
  zone.addEventListener('dragover', (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (!e.dataTransfer.files.length) return;
    // The input shows the dropped file too (and sends it if the form is reused).
    try { input.files = e.dataTransfer.files; } catch { /* older browsers: the drop alone counts */ }
    choose(e.dataTransfer.files[0]);
  });

  const form = h('form', { id: 'upload-form' },
    h('fieldset', null, h('legend', { text: 'Nouvel envoi' }),
      h('div', { class: 'toolbar' },
        field('Type de données', kind),
        field('Encodage', charset),
        field('Essai à blanc (tout vérifier, ne rien enregistrer)', dry)),
      zone,
      h('p', null, send), progress));

  const list = h('div', { id: 'uploads-list' });
  const errorsPanel = h('div', { id: 'upload-errors-panel' });

  async function refreshList() {
    const holder = h('div');
    const p = pager(async (cursor) => {
      const page = await api(`/v1/structures/${sid}/uploads?limit=20${cursor ? '&cursor=' + cursor : ''}`, { signal });
      clear(holder).append(table({
        caption: 'Envois précédents (les plus récents d’abord)',
        id: 'uploads',
        columns: [
          { label: 'N°', num: true, value: (u) => String(u.id) },
          { label: 'Date', value: (u) => fmt.date(u.started_at), cls: () => 'nowrap' },
          { label: 'Type', value: (u) => kindLabel(u.kind) },
          { label: 'Statut', value: (u) => (STATUS[u.status] || u.status) + (u.dry_run ? ' (essai)' : '') },
          { label: 'Taille', num: true, value: (u) => size(u.bytes || 0) },
          { label: 'Enregistrements', num: true, value: (u) => fmt.int(u.records) },
          { label: 'Ajoutés', num: true, value: (u) => fmt.int(u.inserted) },
          { label: 'Mis à jour', num: true, value: (u) => fmt.int(u.updated) },
          { label: 'Erreurs', num: true, value: (u) => fmt.int(u.errors_count) },
          {
            label: 'Détail',
            value: (u) => (u.errors_count > 0
              ? h('button', { type: 'button', class: 'link', text: `Voir les erreurs de l’envoi ${u.id}`, on: { click: () => showUploadErrors(errorsPanel, u, signal).catch((e) => showError(e)) } })
              : '—'),
          },
        ],
        rows: page.items,
        empty: 'Aucun envoi pour l’instant.',
      }));
      return page.next;
    });
    await p.start();
    clear(list).append(holder, p.el);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!chosen) {
      showError(new Error('Choisissez ou déposez d’abord un fichier.'), 'Envoi');
      input.focus();
      return;
    }
    const ndjson = /\.(ndjson|jsonl)$/i.test(chosen.name);
    const type = ndjson ? 'application/x-ndjson' : 'text/csv' + (charset.value !== 'utf-8' ? '; charset=' + charset.value : '');
    const url = `/v1/structures/${sid}/uploads?kind=${kind.value}${dry.checked ? '&dry_run=true' : ''}`;
    clear(result);
    clear(document.getElementById('alert'));
    send.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    announce(`Envoi de ${chosen.name} en cours…`);
    try {
      const { status, body } = await uploadFile(url, chosen, { contentType: type, signal, onProgress: (f) => { progress.value = f; } });
      if (status === 201 || status === 200) {
        const u = body.upload || body;
        const msg = `${dry.checked ? 'Essai réussi (rien n’a été enregistré)' : 'Fichier accepté'} : ${fmt.int(u.records)} enregistrement(s) — ${fmt.int(u.inserted)} ajouté(s), ${fmt.int(u.updated)} mis à jour, ${fmt.int(u.unchanged)} inchangé(s).`;
        result.append(h('p', { class: 'status', text: msg }));
        announce(msg);
      } else {
        document.getElementById('status').textContent = '';
        const problem = body || {};
        const errors = Array.isArray(problem.errors) ? problem.errors : [];
        showError({ status, problem }, 'Envoi de ' + chosen.name);
        if (errors.length) {
          const u = problem.upload;
          result.append(
            h('h3', { text: `Le fichier est refusé : ${fmt.int(u?.errors_count ?? errors.length)} erreur(s), rien n’a été enregistré` }),
            errorsTable(errors, errors.length < (u?.errors_count ?? 0) ? `Les ${errors.length} premières erreurs` : 'Erreurs ligne par ligne'));
          if (u && u.errors_count > errors.length) {
            result.append(h('p', null, h('button', { type: 'button', class: 'secondary', text: 'Voir toutes les erreurs', on: { click: () => showUploadErrors(errorsPanel, u, signal).catch((x) => showError(x)) } })));
          }
        }
      }
      await refreshList();
    } catch (err) {
      document.getElementById('status').textContent = '';
      showError(err, 'Envoi');
    } finally {
      send.disabled = false;
      progress.hidden = true;
    }
  });

  await refreshList();
  const canSend = ctx.me.write;
  ctx.show(
    h('h1', { text: 'Envois de données' }),
    h('p', { class: 'subtitle', text: structure.name }),
    h('p', null, 'Fichiers CSV (séparateur « ; » ou « , », en-tête en première ligne) ou NDJSON. Une seule ligne fautive fait refuser tout le fichier : rien n’est enregistré et chaque erreur est indiquée avec sa ligne et sa colonne. Envoyer de nouveau un fichier remplace ses lignes, sans doublon.'),
    canSend ? form : h('p', { class: 'notice', text: 'Jeton en lecture seule : vous pouvez consulter les envois, pas en faire.' }),
    result,
    section('Historique', list, errorsPanel));
}
