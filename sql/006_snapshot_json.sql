-- 006_snapshot_json.sql - executions.snapshot becomes json (was jsonb).
-- The snapshot is an opaque blob the engine rewrites with every committed
-- batch of an execution and reads back whole (on start, and for a
-- finished execution's tree); it is never searched.  jsonb paid a full
-- parse into its binary form on every write: 70-90 ms per 1,000 snapshots
-- of 1.4 KB, the largest single cost of a group commit (bench/transitions
-- with BENCH_PG_EXTRA auto_explain).  json only checks the text.  The ->
-- and ->> operators still work for ad-hoc queries.

ALTER TABLE executions DROP CONSTRAINT executions_snapshot_check;
ALTER TABLE executions ALTER COLUMN snapshot DROP DEFAULT;
ALTER TABLE executions ALTER COLUMN snapshot TYPE json USING snapshot::json;
ALTER TABLE executions ALTER COLUMN snapshot SET DEFAULT '{}'::json;
ALTER TABLE executions ADD CONSTRAINT executions_snapshot_check
	CHECK (json_typeof(snapshot) = 'object');
