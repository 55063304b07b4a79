-- EDS: an establishment's episodes of a year for an option, built from its
-- stays and claims, each included or excluded with its reasons, costed by
-- segment, targeted and reconciled; the items of each episode; batches.
CREATE TABLE eds_batches (
    id           bigserial PRIMARY KEY,
    year         smallint NOT NULL,
    region       text REFERENCES regions (code),
    job_id       bigint REFERENCES jobs (id),
    summary      jsonb,
    created_by   bigint,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE eds_runs (
    id                 bigserial PRIMARY KEY,
    structure_id       bigint NOT NULL REFERENCES structures (id),
    region             text NOT NULL,
    year               smallint NOT NULL,
    option             text NOT NULL CHECK (option IN ('PTH','PTG','COLECTOMY')),
    phase              text NOT NULL CHECK (phase IN ('no_financial_impact','retrospective','two_sided')),
    what_if            boolean NOT NULL,
    enrolment_id       bigint REFERENCES enrolments (id),
    parameter_set_id   bigint NOT NULL REFERENCES parameter_sets (id),
    model_id           bigint NOT NULL REFERENCES risk_models (id),
    batch_id           bigint REFERENCES eds_batches (id),
    job_id             bigint REFERENCES jobs (id),
    inputs_digest      text NOT NULL,
    code_version       text NOT NULL,
    episodes           integer NOT NULL,   -- built (included and excluded)
    included           integer NOT NULL,
    total_cents        bigint NOT NULL,
    result             jsonb NOT NULL,     -- reconciliation, indicators, exclusions by reason, warnings
    created_by         bigint,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX eds_runs_structure ON eds_runs (structure_id, year, id);
CREATE INDEX eds_runs_region ON eds_runs (region, year, id);
CREATE RULE eds_runs_no_update AS ON UPDATE TO eds_runs DO INSTEAD NOTHING;
CREATE RULE eds_runs_no_delete AS ON DELETE TO eds_runs DO INSTEAD NOTHING;

CREATE TABLE eds_episodes (
    run_id             bigint NOT NULL,    -- written once, with its run
    no                 integer NOT NULL,   -- 1.. in the run, by patient then admission
    patient_id         bigint NOT NULL,
    trigger_stay_id    text NOT NULL,
    admission          date NOT NULL,
    discharge          date NOT NULL,
    window_from        date NOT NULL,
    window_to          date NOT NULL,
    included           boolean NOT NULL,
    exclusions         text NOT NULL,      -- reasons, comma-separated; '' when included
    cell               smallint NOT NULL,
    ald_groups         smallint NOT NULL,
    flags              smallint NOT NULL,  -- 1 C2S, 2 AME, 4 died in the window, 8 pre-operative screening
    pre_cents          bigint NOT NULL,
    index_cents        bigint NOT NULL,
    post_cents         bigint NOT NULL,
    complication_cents bigint NOT NULL,
    complications      integer NOT NULL,
    mco_days           integer NOT NULL,
    chemo_delay        integer,            -- days from admission to the first planned session
    prom_answers       integer NOT NULL,   -- questionnaire answers after discharge, in the window
    prom_mean          double precision,
    expected_cents     bigint,             -- the model's expected cost (included episodes)
    target_cents       bigint,             -- expected + the complications forfait
    actual_cents       bigint NOT NULL,    -- every segment
    PRIMARY KEY (run_id, no)
);
CREATE RULE eds_episodes_no_update AS ON UPDATE TO eds_episodes DO INSTEAD NOTHING;
CREATE RULE eds_episodes_no_delete AS ON DELETE TO eds_episodes DO INSTEAD NOTHING;

CREATE TABLE eds_items (
    run_id      bigint NOT NULL,
    no          integer NOT NULL,          -- the episode
    kind        text NOT NULL,             -- stay or claim
    ref         text NOT NULL,             -- stay_id or claim_id in the establishment's data
    day         date NOT NULL,
    segment     text NOT NULL CHECK (segment IN ('pre','index','post','complication')),
    code        text,                      -- GHM of a stay, act of a claim
    cents       bigint NOT NULL
);
CREATE INDEX eds_items_episode ON eds_items (run_id, no);
CREATE RULE eds_items_no_update AS ON UPDATE TO eds_items DO INSTEAD NOTHING;
CREATE RULE eds_items_no_delete AS ON DELETE TO eds_items DO INSTEAD NOTHING;
