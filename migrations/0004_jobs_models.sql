-- Long work runs as jobs, claimed by worker threads of any a51d with
-- FOR UPDATE SKIP LOCKED and held by a lease that a heartbeat renews: a worker
-- that dies leaves a job another takes over once the lease has expired.
CREATE TABLE jobs (
    id                bigserial PRIMARY KEY,
    kind              text NOT NULL,
    params            jsonb NOT NULL,
    status            text NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
    progress          real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    message           text,
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL DEFAULT 3,
    cancel_requested  boolean NOT NULL DEFAULT false,
    worker            text,
    lease_until       timestamptz,
    heartbeat_at      timestamptz,
    token_id          bigint,
    scope             text NOT NULL,
    region            text,
    structure_id      bigint,
    request_id        text,
    result_type       text,
    result_id         bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz
);
CREATE INDEX jobs_pending ON jobs (id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_scope ON jobs (region, structure_id, id);

-- Risk models: immutable once fitted; a new fit is a new row (name, version).
CREATE TABLE risk_models (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL,
    version        integer NOT NULL,
    region         text REFERENCES regions (code),   -- a regional variant, NULL for national
    definition     jsonb NOT NULL,
    method         text NOT NULL,
    terms          jsonb NOT NULL,   -- the design dictionary: which column is which term
    coefficients   jsonb NOT NULL,   -- [{term, estimate, se, se_hc1, t, status}]
    stats          jsonb NOT NULL,   -- n, r2, adj_r2, rmse, mae, mae_pct, condition number, ...
    diagnostics    jsonb NOT NULL,   -- predictive ratios by decile and by group
    warnings       jsonb NOT NULL,
    inputs_digest  text NOT NULL,
    code_version   text NOT NULL,
    job_id         bigint REFERENCES jobs (id),
    created_by     bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);
CREATE RULE risk_models_no_update AS ON UPDATE TO risk_models DO INSTEAD NOTHING;
CREATE RULE risk_models_no_delete AS ON DELETE TO risk_models DO INSTEAD NOTHING;

-- Expected costs of patients under a model, with what a contribution needs
-- (the patient's cell, ALD groups and flags on the scoring date).
CREATE TABLE patient_scores (
    model_id        bigint NOT NULL REFERENCES risk_models (id),
    dataset         bigint NOT NULL,
    year            smallint NOT NULL,
    patient_id      bigint NOT NULL,
    expected_cents  bigint NOT NULL,
    cell            smallint NOT NULL,
    ald_groups      smallint NOT NULL,
    flags           smallint NOT NULL,
    exposure        real NOT NULL,
    job_id          bigint,
    PRIMARY KEY (model_id, dataset, year, patient_id)
);
