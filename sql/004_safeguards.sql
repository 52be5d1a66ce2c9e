-- 004_safeguards.sql - holds and pushed alarm states (issue: safeguards).
--
-- Overrides need no table: an override is an event of the execution it
-- lets through (execution_events, kind "override"), audited in audit_log.

-- A manual hold ("stop the line") on every pipeline, a service, or one
-- pipeline.  Lifting keeps the row: who held what, and who lifted it.
CREATE TABLE holds (
	id		bigserial PRIMARY KEY,
	scope		text NOT NULL CHECK (scope IN ('all', 'service', 'pipeline')),
	name		text,		-- the service or pipeline; NULL for all
	reason		text NOT NULL CHECK (reason <> ''),
	actor		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	lifted_at	timestamptz,
	lifted_by	text,
	lift_reason	text,
	CHECK ((scope = 'all') = (name IS NULL))
);

CREATE INDEX holds_active_idx ON holds (id) WHERE lifted_at IS NULL;

COMMENT ON TABLE holds IS 'Manual holds: blockers on all, a service or a pipeline';

-- The last state pushed to a push alarm (PUT /v1/alarms/NAME/state, the
-- Alertmanager receiver), so a restarted gantryd keeps blocking on an
-- alarm that is still open.  scope: '' for an org-wide alarm, else the
-- pipeline.
CREATE TABLE alarm_states (
	scope		text NOT NULL,
	name		text NOT NULL CHECK (name <> ''),
	state		text NOT NULL
			CHECK (state IN ('ok', 'alarm', 'insufficient_data')),
	reason		text,
	source		text NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (scope, name)
);

COMMENT ON TABLE alarm_states IS 'Last pushed state of each push alarm';
