-- A score keeps the patient's deprivation quintile (0: unknown) with its other
-- covariates, so that its contributions can be explained from the row alone.
ALTER TABLE patient_scores ADD COLUMN deprivation smallint NOT NULL DEFAULT 0 CHECK (deprivation BETWEEN 0 AND 5);
