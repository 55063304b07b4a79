-- PEPS runs: one team's forfait for a year (or one quarter) and a phase,
-- immutable once written, with every input it used; its lines (one per
-- covered patient, adding up to the total), its dated schedule, and the
-- team's split of it. A run of a region or the country is a batch of runs.
CREATE TABLE peps_batches (
    id           bigserial PRIMARY KEY,
    year         smallint NOT NULL,
    quarter      smallint CHECK (quarter BETWEEN 1 AND 4),
    phase        text NOT NULL,
    region       text REFERENCES regions (code),        -- NULL: the country
    job_id       bigint REFERENCES jobs (id),
    summary      jsonb,
    created_by   bigint,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE peps_runs (
    id                 bigserial PRIMARY KEY,
    structure_id       bigint NOT NULL REFERENCES structures (id),
    region             text NOT NULL,
    year               smallint NOT NULL,
    quarter            smallint CHECK (quarter BETWEEN 1 AND 4),
    phase              text NOT NULL CHECK (phase IN ('simulation','retrospective','prospective')),
    what_if            boolean NOT NULL,
    option             text NOT NULL,
    enrolment_id       bigint REFERENCES enrolments (id),
    parameter_set_id   bigint NOT NULL REFERENCES parameter_sets (id),
    model_id           bigint NOT NULL REFERENCES risk_models (id),
    batch_id           bigint REFERENCES peps_batches (id),
    job_id             bigint REFERENCES jobs (id),
    inputs_digest      text NOT NULL,
    code_version       text NOT NULL,
    patients           integer NOT NULL,
    total_cents        bigint NOT NULL,     -- what the run pays: the schedule's sum
    result             jsonb NOT NULL,      -- totals, coefficients, cap, fee-for-service, eligibility, warnings
    created_by         bigint,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX peps_runs_structure ON peps_runs (structure_id, year, id);
CREATE INDEX peps_runs_region ON peps_runs (region, year, id);
CREATE RULE peps_runs_no_update AS ON UPDATE TO peps_runs DO INSTEAD NOTHING;
CREATE RULE peps_runs_no_delete AS ON DELETE TO peps_runs DO INSTEAD NOTHING;

CREATE TABLE peps_lines (
    run_id            bigint NOT NULL,      -- no FK checked row by row: written once, with its run
    patient_id        bigint NOT NULL,
    cell              smallint NOT NULL,
    ald_groups        smallint NOT NULL,
    flags             smallint NOT NULL,
    covered_days      smallint NOT NULL,
    covered_at_start  smallint NOT NULL,    -- bit q: covered on quarter q's first day
    base_cents        bigint NOT NULL,      -- the risk model's expected annual cost, rounded
    fidelisation      real NOT NULL,
    rate_cents        bigint NOT NULL,      -- annual rate after the coefficients, rounded
    earned_cents      bigint NOT NULL,      -- earned over the period before the cap, rounded
    team_cents        bigint NOT NULL,      -- perimeter care by the team in the year
    all_cents         bigint NOT NULL,      -- perimeter care by anyone in the year
    ffs_cents         bigint NOT NULL,      -- the team's perimeter fee-for-service in the period
    amount_cents      bigint NOT NULL,      -- the patient's share of the run's total
    PRIMARY KEY (run_id, patient_id)
);
CREATE RULE peps_lines_no_update AS ON UPDATE TO peps_lines DO INSTEAD NOTHING;
CREATE RULE peps_lines_no_delete AS ON DELETE TO peps_lines DO INSTEAD NOTHING;

CREATE TABLE peps_schedule (
    run_id      bigint NOT NULL REFERENCES peps_runs (id),
    seq         smallint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('instalment','adjustment','bonus')),
    quarter     smallint,
    due_on      date NOT NULL,
    cents       bigint NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE RULE peps_schedule_no_update AS ON UPDATE TO peps_schedule DO INSTEAD NOTHING;
CREATE RULE peps_schedule_no_delete AS ON DELETE TO peps_schedule DO INSTEAD NOTHING;

-- The team's split of a run's total between its members: each recorded split
-- is a new version; the latest is the team's word.
CREATE TABLE peps_distributions (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES peps_runs (id),
    version     integer NOT NULL,
    key         text,                       -- the proposal it started from, if any
    shares      jsonb NOT NULL,             -- [{rpps, profession, cents}]
    total_cents bigint NOT NULL,
    created_by  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, version)
);
