-- 005_dry_run.sql - dry-run executions: an execution that goes through
-- the whole state machine (blockers, bakes, alarms, timers, rollbacks,
-- every transition stored) but spawns no deploy, rollback, build or test
-- hook and records no target version.  The flag is also in the snapshot
-- (what a restarted gantryd resumes from); the column is for filters and
-- for reading at a glance which rows never touched a target.

ALTER TABLE executions
	ADD COLUMN dry_run	boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN executions.dry_run IS
    'A rehearsal: its hooks were not run and it wrote no target_versions row';
