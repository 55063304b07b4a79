-- Bulk data: uploads (the door), and what comes through it — claims, hospital
-- stays, patient-experience answers. A dataset is a structure's (its id) or the
-- national reference population (0).

CREATE TABLE uploads (
    id               bigserial PRIMARY KEY,
    dataset          bigint NOT NULL,             -- structure id, or 0 for the reference population
    structure_id     bigint REFERENCES structures (id),
    kind             text NOT NULL CHECK (kind IN ('patients','mt_declarations','claims','stays','questionnaires')),
    format           text NOT NULL CHECK (format IN ('csv','ndjson')),
    charset          text NOT NULL,
    dry_run          boolean NOT NULL DEFAULT false,
    status           text NOT NULL CHECK (status IN ('receiving','succeeded','rejected','failed','aborted')),
    idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    token_id         bigint,
    scope            text NOT NULL,
    request_id       text,
    bytes            bigint NOT NULL DEFAULT 0,
    sha256           text,
    lines            bigint NOT NULL DEFAULT 0,
    records          bigint NOT NULL DEFAULT 0,
    inserted         bigint NOT NULL DEFAULT 0,
    updated          bigint NOT NULL DEFAULT 0,
    errors_count     bigint NOT NULL DEFAULT 0,
    message          text,
    http_status      integer,
    response         jsonb,                       -- the answer given, replayed for a retried key
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    parse_ms         integer,
    merge_ms         integer,
    CHECK ((dataset = 0 AND structure_id IS NULL) OR dataset = structure_id)
);
CREATE UNIQUE INDEX uploads_idempotency ON uploads (scope, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX uploads_dataset ON uploads (dataset, id);

CREATE TABLE upload_errors (
    upload_id  bigint NOT NULL REFERENCES uploads (id),
    seq        integer NOT NULL,
    line       bigint NOT NULL,
    col        text,
    value      text,
    reason     text NOT NULL,
    PRIMARY KEY (upload_id, seq)
);

-- The reference population: patients uploaded by the payer for risk models.
CREATE TABLE reference_patients (
    patient_id  bigint PRIMARY KEY REFERENCES patients (id),
    upload_id   bigint NOT NULL REFERENCES uploads (id)
);

-- Town care (ville): one line per act. Money in cents; extra fees (dépassements)
-- are kept apart from the base and never enter a forfait.
-- patient_id has no foreign key on purpose: rows come only through uploads,
-- which resolve every patient against the dataset before writing, and patients
-- are never deleted; a per-row key check would halve the ingest rate.
CREATE TABLE claims (
    dataset            bigint NOT NULL,
    claim_id           text NOT NULL,
    patient_id         bigint NOT NULL,
    care_date          date NOT NULL,
    rpps               text,
    act_code           text NOT NULL,
    quantity           integer NOT NULL,
    base_cents         bigint NOT NULL CHECK (base_cents >= 0),
    reimbursed_cents   bigint NOT NULL CHECK (reimbursed_cents >= 0),
    extra_fees_cents   bigint NOT NULL DEFAULT 0 CHECK (extra_fees_cents >= 0),
    upload_id          bigint NOT NULL,
    PRIMARY KEY (dataset, claim_id)
);
CREATE INDEX claims_patient ON claims (patient_id, care_date);

-- Hospital stays (PMSI-like): MCO, SSR (rehabilitation) and HAD (hospital at home).
CREATE TABLE stays (
    dataset          bigint NOT NULL,
    stay_id          text NOT NULL,
    patient_id       bigint NOT NULL,
    finess           text NOT NULL,
    field            text NOT NULL CHECK (field IN ('MCO','SSR','HAD')),
    admission_date   date NOT NULL,
    discharge_date   date NOT NULL CHECK (discharge_date >= admission_date),
    ghm              text,
    entry_mode       text NOT NULL,
    provenance       text,
    exit_mode        text NOT NULL,
    destination      text,
    main_diagnosis   text,
    procedure        text,
    amount_cents     bigint NOT NULL CHECK (amount_cents >= 0),
    upload_id        bigint NOT NULL,
    PRIMARY KEY (dataset, stay_id)
);
CREATE INDEX stays_patient ON stays (patient_id, admission_date);
CREATE INDEX stays_finess ON stays (finess, admission_date);

CREATE TABLE questionnaire_answers (
    dataset        bigint NOT NULL,
    questionnaire  text NOT NULL,
    patient_id     bigint NOT NULL,
    answered_on    date NOT NULL,
    item           smallint NOT NULL,
    answer         smallint NOT NULL,
    upload_id      bigint NOT NULL,
    PRIMARY KEY (dataset, questionnaire, patient_id, answered_on, item)
);
