-- The first and last care dates of each dataset's claims, widened by every
-- claims upload in its transaction: a run asks whether the data cover its
-- years without scanning the claims (a dataset's min and max care_date have
-- no index to come from, and the table is the largest).
CREATE TABLE claim_spans (
    dataset   bigint PRIMARY KEY,
    first_on  date NOT NULL,
    last_on   date NOT NULL CHECK (last_on >= first_on)
);

INSERT INTO claim_spans (dataset, first_on, last_on)
SELECT dataset, min(care_date), max(care_date) FROM claims GROUP BY dataset;
