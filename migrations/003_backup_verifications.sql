-- The result of each backup verification, so the dashboard can show the last one.
CREATE TABLE backup_verifications (
    id          bigserial PRIMARY KEY,
    finished_at timestamptz NOT NULL DEFAULT now(),
    drift       integer NOT NULL,
    repaired    jsonb,
    report      jsonb NOT NULL
);
