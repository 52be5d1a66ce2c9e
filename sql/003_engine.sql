-- 003_engine.sql - what the execution engine needs beside executions and
-- their events: the version each target runs, and the process of every
-- hook attempt so a restarted gantryd can kill a leftover process group.

-- The artifact (SHA-256) each target of a pipeline runs now, written in
-- the same transaction as the transition that deployed or rolled it back.
-- Rollbacks restore the version recorded here before the execution
-- touched the target.
CREATE TABLE target_versions (
	pipeline	text NOT NULL REFERENCES pipelines (name),
	target		text NOT NULL CHECK (target <> ''),
	version		text,		-- NULL: nothing deployed (rolled back to none)
	execution	bigint REFERENCES executions (id),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (pipeline, target)
);

COMMENT ON TABLE target_versions IS
    'Version (artifact SHA-256) each target runs, per pipeline';

-- One row per hook attempt that was spawned.
CREATE TABLE hook_runs (
	execution	bigint NOT NULL REFERENCES executions (id),
	step		text NOT NULL CHECK (step <> ''),
	attempt		integer NOT NULL CHECK (attempt > 0),
	pid		integer NOT NULL CHECK (pid > 0),
	started_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz,
	PRIMARY KEY (execution, step, attempt)
);

CREATE INDEX hook_runs_unfinished_idx ON hook_runs (execution)
	WHERE finished_at IS NULL;
