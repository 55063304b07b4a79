-- IPEP: a groupement's quality inputs for a year (indicator results with the
-- territories' deciles, the patient-experience points), versioned; its runs,
-- immutable, with one line per patient of the patientèle; batches.
CREATE TABLE ipep_quality_inputs (
    id            bigserial PRIMARY KEY,
    structure_id  bigint NOT NULL REFERENCES structures (id),
    year          smallint NOT NULL,
    version       integer NOT NULL,
    indicators    jsonb NOT NULL,   -- [{code, a_la_carte, decreasing, value, previous, deciles[9]}]
    experience_points real,         -- NULL: the questionnaire's results are missing
    respondents   integer,
    created_by    bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (structure_id, year, version)
);

CREATE TABLE ipep_batches (
    id           bigserial PRIMARY KEY,
    year         smallint NOT NULL,
    region       text REFERENCES regions (code),
    job_id       bigint REFERENCES jobs (id),
    summary      jsonb,
    created_by   bigint,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ipep_runs (
    id                 bigserial PRIMARY KEY,
    structure_id       bigint NOT NULL REFERENCES structures (id),
    region             text NOT NULL,
    year               smallint NOT NULL,
    phase              text NOT NULL CHECK (phase IN ('phase1','phase2','phase3')),
    what_if            boolean NOT NULL,
    enrolment_id       bigint REFERENCES enrolments (id),
    parameter_set_id   bigint NOT NULL REFERENCES parameter_sets (id),
    model_id           bigint NOT NULL REFERENCES risk_models (id),
    quality_inputs_id  bigint REFERENCES ipep_quality_inputs (id),
    batch_id           bigint REFERENCES ipep_batches (id),
    job_id             bigint REFERENCES jobs (id),
    inputs_digest      text NOT NULL,
    code_version       text NOT NULL,
    patients           integer NOT NULL,
    total_cents        bigint NOT NULL,
    result             jsonb NOT NULL,  -- gaps, floors, sharing, score by indicator, modulation, credits, warnings
    created_by         bigint,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ipep_runs_structure ON ipep_runs (structure_id, year, id);
CREATE INDEX ipep_runs_region ON ipep_runs (region, year, id);
CREATE RULE ipep_runs_no_update AS ON UPDATE TO ipep_runs DO INSTEAD NOTHING;
CREATE RULE ipep_runs_no_delete AS ON DELETE TO ipep_runs DO INSTEAD NOTHING;

CREATE TABLE ipep_lines (
    run_id          bigint NOT NULL,   -- written once, with its run
    patient_id      bigint NOT NULL,
    cell            smallint NOT NULL,
    ald_groups      smallint NOT NULL,
    flags           smallint NOT NULL,
    expected_prev   bigint NOT NULL,   -- annual expected cost in N-1, rounded
    expected        bigint NOT NULL,   -- in N
    observed_prev   bigint NOT NULL,   -- spending of N-1 (truncated as the run says)
    observed        bigint NOT NULL,
    exposure_prev   real NOT NULL,
    exposure        real NOT NULL,
    amount_cents    bigint NOT NULL,   -- the patient's share of the total
    PRIMARY KEY (run_id, patient_id)
);
CREATE RULE ipep_lines_no_update AS ON UPDATE TO ipep_lines DO INSTEAD NOTHING;
CREATE RULE ipep_lines_no_delete AS ON DELETE TO ipep_lines DO INSTEAD NOTHING;
