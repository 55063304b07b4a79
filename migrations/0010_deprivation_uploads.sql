-- Commune deprivation arrives as an upload (kind=deprivation), into the
-- reference dataset only. Its score is stored as sent: a decimal of up to 6
-- places, which real (about 7 significant digits) cannot hold exactly.
ALTER TABLE uploads DROP CONSTRAINT uploads_kind_check;
ALTER TABLE uploads ADD CONSTRAINT uploads_kind_check
    CHECK (kind IN ('patients','mt_declarations','claims','stays','questionnaires','deprivation'));
-- reference data belongs to no structure's dataset
ALTER TABLE uploads ADD CONSTRAINT uploads_reference_kind_check
    CHECK (kind <> 'deprivation' OR dataset = 0);

ALTER TABLE commune_deprivation ALTER COLUMN score TYPE numeric USING round(score::numeric, 6);
ALTER TABLE commune_deprivation ADD CONSTRAINT commune_deprivation_score_check
    CHECK (score <> 'NaN' AND scale(score) <= 6);
