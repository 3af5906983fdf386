-- highwater schema, version 5 (PostgreSQL): a job's run in progress, claimed by one instance.

-- The fire time a job is being run for right now, by which instance, and until when that
-- instance's claim holds (it renews it while the run goes on). A run that finishes is recorded
-- in job_runs and its claim deleted; a claim whose lease ran out belongs to an instance that
-- died mid-run, and the next scheduler leader takes the run over. One row per job at most.
CREATE TABLE job_claims (
    job          TEXT PRIMARY KEY,
    scheduled_at BIGINT NOT NULL,
    instance     TEXT NOT NULL,
    lease_until  BIGINT NOT NULL
);
