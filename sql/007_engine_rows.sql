-- 007_engine_rows.sql - the rows written for every transition cost less,
-- with the same guarantees.
--
-- 1. execution_events, hook_outputs and hook_runs no longer carry a
--    foreign key to executions.  A foreign key checks every new row on
--    its own, locking the parent row: about 10 us a row, a quarter of the
--    time of a group commit (bench/transitions, auto_explain).  What it
--    guaranteed still holds:
--    - a child row is never written without its execution: gantryd is
--      their only writer; its trigger statement writes the first event of
--      the executions it inserts, joined to them, and its commit statement
--      stores an execution's events only together with the update of that
--      execution's row (joined to it), hook runs and outputs only of
--      executions that exist, and reports any execution it was given that
--      does not exist (the execution is then stopped, loudly);
--    - an execution never goes away under its children: executions can no
--      longer be deleted or truncated (execution_events never could).
-- 2. executions_live_lease_idx indexes only the executions that hold a
--    lease (lease_expires_at set).  Before, every update of a live
--    execution inserted an entry for its NULL lease into it.  A lease
--    take-over query (lease_expires_at < now()) can still use it.

ALTER TABLE execution_events DROP CONSTRAINT execution_events_execution_fkey;
ALTER TABLE hook_outputs DROP CONSTRAINT hook_outputs_execution_fkey;
ALTER TABLE hook_runs DROP CONSTRAINT hook_runs_execution_fkey;

CREATE FUNCTION gantry_keep_executions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'gantry: % on table "%" refused: executions are kept',
	    TG_OP, TG_TABLE_NAME
	    USING ERRCODE = 'restrict_violation',
	          HINT = 'their events and hook output refer to them';
END
$$;

COMMENT ON FUNCTION gantry_keep_executions() IS
    'Trigger function: refuses DELETE/TRUNCATE on executions';

CREATE TRIGGER executions_no_delete
	BEFORE DELETE ON executions
	FOR EACH ROW EXECUTE FUNCTION gantry_keep_executions();
CREATE TRIGGER executions_no_truncate
	BEFORE TRUNCATE ON executions
	FOR EACH STATEMENT EXECUTE FUNCTION gantry_keep_executions();

DROP INDEX executions_live_lease_idx;
CREATE INDEX executions_live_lease_idx ON executions (lease_expires_at)
	WHERE lease_expires_at IS NOT NULL
	    AND state IN ('queued', 'running', 'blocked', 'paused',
	    'rolling_back');
