-- What each structure's data spent by quarter of N-1 and N, written by the
-- indicator run with its values: dashboards read it instead of summing a
-- structure's claims on every page.
CREATE TABLE indicator_spending (
    run_id           bigint NOT NULL REFERENCES indicator_runs (id) DEFERRABLE INITIALLY DEFERRED,
    structure_id     bigint NOT NULL REFERENCES structures (id),
    year             smallint NOT NULL,
    quarter          smallint NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    town_cents       bigint NOT NULL,
    hospital_cents   bigint NOT NULL,
    PRIMARY KEY (run_id, structure_id, year, quarter)
);
CREATE RULE indicator_spending_no_update AS ON UPDATE TO indicator_spending DO INSTEAD NOTHING;
CREATE RULE indicator_spending_no_delete AS ON DELETE TO indicator_spending DO INSTEAD NOTHING;
