-- Uploads, after review: a dry run is recorded as 'validated' (its answer's
-- status), an aborted upload as having got no answer (499, as proxies log a
-- client that closed the request), and a médecin-traitant declaration knows
-- the upload that recorded it, so that only uploads into the same dataset may
-- replace it.

ALTER TABLE uploads DROP CONSTRAINT uploads_status_check;
ALTER TABLE uploads ADD CONSTRAINT uploads_status_check
    CHECK (status IN ('receiving','succeeded','validated','rejected','failed','aborted'));
UPDATE uploads SET status = 'validated' WHERE dry_run AND status = 'succeeded';
UPDATE uploads SET http_status = 499 WHERE status = 'aborted';

-- NULL: recorded one by one (POST .../mt-declarations), or before this column.
ALTER TABLE mt_declarations ADD COLUMN upload_id bigint REFERENCES uploads (id);
