-- Quality indicators: a run computes, for a region and a year, every
-- indicator of the IPEP parameter set's catalogue for each of the region's
-- structures, and their patient-experience scores. Immutable, like every run.
CREATE TABLE indicator_runs (
    id                 bigserial PRIMARY KEY,
    region             text NOT NULL REFERENCES regions (code),
    year               smallint NOT NULL,
    parameter_set_id   bigint NOT NULL REFERENCES parameter_sets (id),
    job_id             bigint REFERENCES jobs (id),
    code_version       text NOT NULL,
    structures         integer NOT NULL,
    digest             text NOT NULL,      -- SHA-256 of the values, in order: same inputs, same digest
    result             jsonb NOT NULL,     -- definitions, deciles, means, experience dimensions, data period
    created_by         bigint,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX indicator_runs_region ON indicator_runs (region, year, id);
CREATE RULE indicator_runs_no_update AS ON UPDATE TO indicator_runs DO INSTEAD NOTHING;
CREATE RULE indicator_runs_no_delete AS ON DELETE TO indicator_runs DO INSTEAD NOTHING;

CREATE TABLE indicator_values (
    -- the run row is written after its values (it carries their digest)
    run_id             bigint NOT NULL REFERENCES indicator_runs (id) DEFERRABLE INITIALLY DEFERRED,
    structure_id       bigint NOT NULL REFERENCES structures (id),
    code               text NOT NULL,
    numerator          bigint NOT NULL CHECK (numerator >= 0),
    denominator        bigint NOT NULL CHECK (denominator >= numerator),
    value              double precision,   -- NULL when the denominator is 0
    ci_low             double precision,
    ci_high            double precision,
    previous           double precision,   -- the value of the latest run of N-1, if any
    target             double precision,
    intermediate       double precision,
    points             double precision,
    how                text,
    PRIMARY KEY (run_id, structure_id, code)
);
CREATE INDEX indicator_values_structure ON indicator_values (structure_id, code);
CREATE RULE indicator_values_no_update AS ON UPDATE TO indicator_values DO INSTEAD NOTHING;
CREATE RULE indicator_values_no_delete AS ON DELETE TO indicator_values DO INSTEAD NOTHING;

CREATE TABLE indicator_experience (
    run_id             bigint NOT NULL REFERENCES indicator_runs (id) DEFERRABLE INITIALLY DEFERRED,
    structure_id       bigint NOT NULL REFERENCES structures (id),
    respondents        integer NOT NULL,
    overall            double precision,   -- 0..100; NULL under the minimum of respondents
    dimensions         jsonb NOT NULL,     -- [{code, label, score, answers}]
    PRIMARY KEY (run_id, structure_id)
);
CREATE RULE indicator_experience_no_update AS ON UPDATE TO indicator_experience DO INSTEAD NOTHING;
CREATE RULE indicator_experience_no_delete AS ON DELETE TO indicator_experience DO INSTEAD NOTHING;
