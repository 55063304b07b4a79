// French names of the API's codes.
export const PEPS_PHASES = { simulation: 'simulation', retrospective: 'rétrospective', prospective: 'prospective', preparation: 'préparation' };
export const PEPS_OPTIONS = { whole: 'toute la patientèle', elderly: 'personnes âgées', diabetic: 'patients diabétiques' };
export const IPEP_PHASES = { phase1: 'phase 1', phase2: 'phase 2', phase3: 'phase 3' };
export const EDS_PHASES = { no_financial_impact: 'sans impact financier', retrospective: 'rétrospective', two_sided: 'symétrique (bonus et reprise)' };
export const EDS_OPTIONS = { PTH: 'prothèse totale de hanche', PTG: 'prothèse totale de genou', COLECTOMY: 'colectomie' };
export const EDS_EXCLUSIONS = {
  death: 'décès', emergency: 'urgence', palliative: 'soins palliatifs', not_from_home: 'patient non venu du domicile',
  total_colectomy: 'colectomie totale', prior_intervention: 'intervention antérieure',
};
export const PHASES = { ...PEPS_PHASES, ...IPEP_PHASES, ...EDS_PHASES };
export const label = (map, code) => (code === null || code === undefined ? '—' : map[code] || code);
export const quarters = (mask) => [1, 2, 3, 4].filter((q) => mask & (1 << (q - 1))).map((q) => 'T' + q).join(', ') || 'aucun';
export const daysInYear = (y) => ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 366 : 365);
export const ALD_GROUPS = {
  ald_diabetes: 'diabète', ald_cardio: 'cardio-vasculaire', ald_cancer: 'cancer', ald_psych: 'psychiatrie',
  ald_neuro: 'neurologie', ald_resp: 'respiratoire', ald_other: 'autre ALD',
};
export const aldGroups = (list) => (list && list.length ? list.map((g) => ALD_GROUPS[g] || g).join(', ') : 'aucune');
export const EDS_SEGMENTS = {
  pre: 'Avant l’admission', index: 'Séjour index', post: 'Après la sortie', complication: 'Complications (réhospitalisations)',
};
// Why an episode is left out (include/a51/eds.h), said to whoever reads it.
export const EDS_EXCLUSION_WHY = {
  not_from_home: 'le patient n’est pas venu de son domicile',
  emergency: 'le patient est entré par les urgences',
  death: 'le patient est décédé pendant le séjour index',
  palliative: 'le patient est sorti vers des soins palliatifs',
  prior_intervention: 'le patient avait eu une intervention semblable peu avant',
  total_colectomy: 'l’intervention est une colectomie totale',
};
// Eligibility criteria by code; the API's own label for any other.
export const CRITERIA = {
  'ipep.gp_present': 'médecins généralistes membres déclarés médecin traitant par au moins un patient',
  'ipep.min_patients': 'patients dont le médecin traitant est un généraliste membre',
  'eds.kind': 'type de structure',
  'eds.finess': 'numéro FINESS',
};
