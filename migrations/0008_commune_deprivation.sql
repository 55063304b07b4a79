-- Deprivation of the communes (e.g. FDep, the French deprivation index, by
-- quintile of the population): an optional covariate of risk models, sent by
-- the payer as a reference upload (kind=deprivation). One row per commune.
CREATE TABLE commune_deprivation (
    commune    text PRIMARY KEY CHECK (commune ~ '^[0-9][0-9AB][0-9]{3}$'),
    quintile   smallint NOT NULL CHECK (quintile BETWEEN 1 AND 5),  -- 1 least deprived, 5 most
    score      real,                                                -- the index itself, when sent
    upload_id  bigint NOT NULL REFERENCES uploads (id)
);
