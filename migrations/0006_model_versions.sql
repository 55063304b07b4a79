-- A model's versions count per (name, region): an ARS's regional variant
-- does not take a version number of the national model of the same name.
ALTER TABLE risk_models DROP CONSTRAINT risk_models_name_version_key;
CREATE UNIQUE INDEX risk_models_name_region_version ON risk_models (name, coalesce(region, ''), version);
