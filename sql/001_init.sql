-- 001_init.sql - gantry's first schema: pipelines, executions and their
-- append-only event log, artifacts, alarms, blockers (holds, overrides),
-- review approvals, webhook replay protection, idempotency keys, audit log.
--
-- Forward-only.  gantryd wraps this file in one transaction and records it
-- in schema_migrations (which it creates itself); do not add BEGIN/COMMIT.
-- Every timestamp is timestamptz.  Names of states match SPEC.md section 5.

-- Raised by the append-only triggers below.  SQLSTATE 23001
-- (restrict_violation) so the daemon can tell it from other failures.
CREATE FUNCTION gantry_forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'gantry: % on table "%" refused: rows are immutable',
	    TG_OP, TG_TABLE_NAME
	    USING ERRCODE = 'restrict_violation',
	          HINT = 'history is append-only; insert a new row instead';
END
$$;

COMMENT ON FUNCTION gantry_forbid_change() IS
    'Trigger function: refuses UPDATE/DELETE/TRUNCATE on append-only tables';

-- Pipelines (SPEC.md section 3).  One row per pipeline name; each accepted
-- definition is a row of pipeline_versions, and current_version points at
-- the one new executions start with.
CREATE TABLE pipelines (
	name		text PRIMARY KEY
			CHECK (name ~ '^[a-z0-9][a-z0-9-]*$'
			    AND length(name) <= 128),
	current_version	integer CHECK (current_version > 0),
	source_file	text,		-- NULL when created over the API
	last_error	text,		-- last rejected reload of source_file
	updated_at	timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE pipelines IS
    'One row per pipeline; current_version is the definition new executions run';

CREATE TABLE pipeline_versions (
	pipeline	text NOT NULL REFERENCES pipelines (name),
	version		integer NOT NULL CHECK (version > 0),
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	definition	jsonb NOT NULL
			CHECK (jsonb_typeof(definition) = 'object'),
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (pipeline, version),
	UNIQUE (pipeline, sha256)
);

COMMENT ON TABLE pipeline_versions IS
    'Immutable accepted definitions; sha256 is over the canonical JSON';
COMMENT ON COLUMN pipeline_versions.definition IS
    'Expanded definition (templates merged), as validated';

-- A stored version never changes: an execution runs the version it started
-- with (SPEC.md section 3).
CREATE TRIGGER pipeline_versions_immutable
	BEFORE UPDATE OR DELETE ON pipeline_versions
	FOR EACH ROW EXECUTE FUNCTION gantry_forbid_change();
CREATE TRIGGER pipeline_versions_no_truncate
	BEFORE TRUNCATE ON pipeline_versions
	FOR EACH STATEMENT EXECUTE FUNCTION gantry_forbid_change();

-- current_version must name a stored version of the same pipeline.  The
-- check is deferred to COMMIT so the pipeline row and its first version can
-- be inserted in either order within one transaction.
ALTER TABLE pipelines
	ADD CONSTRAINT pipelines_current_version_fkey
	FOREIGN KEY (name, current_version)
	REFERENCES pipeline_versions (pipeline, version)
	DEFERRABLE INITIALLY DEFERRED;

-- Artifacts: immutable and content-addressed.  Insert with
-- ON CONFLICT (sha256) DO NOTHING; a row is never updated.
CREATE TABLE artifacts (
	sha256		text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	uri		text NOT NULL CHECK (uri <> ''),
	size_bytes	bigint CHECK (size_bytes >= 0),
	signature	text,
	signed_by	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (signed_by IS NULL OR signature IS NOT NULL)
);

COMMENT ON TABLE artifacts IS
    'Immutable build outputs, addressed by the lowercase hex SHA-256 of their content';

CREATE TRIGGER artifacts_immutable
	BEFORE UPDATE ON artifacts
	FOR EACH ROW EXECUTE FUNCTION gantry_forbid_change();

-- Executions (SPEC.md section 5).  snapshot is the pure state machine's
-- whole state after event last_seq; replaying execution_events 1..last_seq
-- reproduces it.  Terminal states are exactly those with finished_at set.
CREATE TABLE executions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	pipeline	text NOT NULL,
	pipeline_version integer NOT NULL,
	revision	text NOT NULL CHECK (revision <> ''),
	artifact_sha256	text REFERENCES artifacts (sha256),
	state		text NOT NULL DEFAULT 'queued'
			CHECK (state IN ('queued', 'running', 'blocked',
			    'paused', 'rolling_back', 'rolled_back',
			    'succeeded', 'failed', 'aborted', 'rejected',
			    'superseded')),
	snapshot	jsonb NOT NULL DEFAULT '{}'::jsonb
			CHECK (jsonb_typeof(snapshot) = 'object'),
	last_seq	bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
	reason		text,
	triggered_by	text NOT NULL,
	idempotency_key	text,
	lease_owner	text,
	lease_expires_at timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz,
	FOREIGN KEY (pipeline, pipeline_version)
	    REFERENCES pipeline_versions (pipeline, version),
	CONSTRAINT executions_finished_iff_terminal
	    CHECK ((state IN ('rolled_back', 'succeeded', 'failed',
		'aborted', 'rejected', 'superseded'))
		= (finished_at IS NOT NULL)),
	CONSTRAINT executions_lease_pair
	    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
	CHECK (finished_at IS NULL OR finished_at >= created_at)
);

COMMENT ON TABLE executions IS
    'One run of a pipeline version for one revision; leased to one gantryd at a time';
COMMENT ON COLUMN executions.snapshot IS
    'State machine state after event last_seq (stage/group/target tree)';

-- GET /v1/executions?pipeline=... newest first, keyset-paginated on id.
CREATE INDEX executions_pipeline_id_idx ON executions (pipeline, id DESC);
-- Scheduler and ?state= filters: the live executions only.
CREATE INDEX executions_live_state_idx ON executions (state)
	WHERE state IN ('queued', 'running', 'blocked', 'paused',
	    'rolling_back');
-- Lease take-over: live executions whose lease expired.
CREATE INDEX executions_live_lease_idx ON executions (lease_expires_at)
	WHERE state IN ('queued', 'running', 'blocked', 'paused',
	    'rolling_back');
CREATE UNIQUE INDEX executions_idempotency_key_idx
	ON executions (pipeline, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_artifact_idx ON executions (artifact_sha256)
	WHERE artifact_sha256 IS NOT NULL;

-- The transition log: (execution, seq, kind, data, at).  Append-only.
CREATE TABLE execution_events (
	execution	bigint NOT NULL REFERENCES executions (id),
	seq		bigint NOT NULL CHECK (seq > 0),
	kind		text NOT NULL CHECK (kind <> ''),
	data		jsonb NOT NULL DEFAULT '{}'::jsonb,
	at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (execution, seq)
);

COMMENT ON TABLE execution_events IS
    'Append-only transition log; replaying it reproduces executions.snapshot';

CREATE TRIGGER execution_events_append_only
	BEFORE UPDATE OR DELETE ON execution_events
	FOR EACH ROW EXECUTE FUNCTION gantry_forbid_change();
CREATE TRIGGER execution_events_no_truncate
	BEFORE TRUNCATE ON execution_events
	FOR EACH STATEMENT EXECUTE FUNCTION gantry_forbid_change();

-- Captured, bounded hook output, one row per step attempt and stream.
-- content may be appended to while the hook runs; finished_at and
-- exit_status are set when it ends (exit_status stays NULL if killed).
CREATE TABLE hook_outputs (
	execution	bigint NOT NULL REFERENCES executions (id),
	step		text NOT NULL CHECK (step <> ''),
	attempt		integer NOT NULL CHECK (attempt > 0),
	stream		text NOT NULL CHECK (stream IN ('stdout', 'stderr')),
	content		bytea NOT NULL DEFAULT ''::bytea,
	truncated	boolean NOT NULL DEFAULT false,
	exit_status	integer,
	started_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz,
	PRIMARY KEY (execution, step, attempt, stream),
	CHECK (finished_at IS NULL OR finished_at >= started_at)
);

-- Alarm states, pushed (PUT /v1/alarms, Alertmanager) or evaluated.
-- scope is 'org' for organisation-wide alarms from the daemon config, else
-- the name of the pipeline that defines the alarm.
CREATE TABLE alarms (
	scope		text NOT NULL CHECK (scope ~ '^[a-z0-9][a-z0-9-]*$'),
	name		text NOT NULL CHECK (name <> ''),
	state		text NOT NULL DEFAULT 'insufficient_data'
			CHECK (state IN ('ok', 'alarm', 'insufficient_data')),
	reason		text,
	source		text,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (scope, name)
);

COMMENT ON COLUMN alarms.scope IS
    '''org'' for organisation-wide alarms, else a pipeline name';

-- History of alarm state changes (prunable: not append-only).
CREATE TABLE alarm_transitions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	scope		text NOT NULL,
	name		text NOT NULL,
	old_state	text CHECK (old_state IN ('ok', 'alarm',
			    'insufficient_data')),	-- NULL: first seen
	new_state	text NOT NULL CHECK (new_state IN ('ok', 'alarm',
			    'insufficient_data')),
	reason		text,
	datapoints	jsonb,
	at		timestamptz NOT NULL DEFAULT now(),
	CHECK (old_state IS DISTINCT FROM new_state)
);

CREATE INDEX alarm_transitions_alarm_idx
	ON alarm_transitions (scope, name, at DESC);
CREATE INDEX alarm_transitions_at_idx ON alarm_transitions (at);

-- Manual holds ("stop the line").  scope is NULL for scope_kind 'all',
-- else the service or pipeline name.  Active while released_at is NULL.
CREATE TABLE holds (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	scope_kind	text NOT NULL
			CHECK (scope_kind IN ('all', 'service', 'pipeline')),
	scope		text,
	reason		text NOT NULL CHECK (btrim(reason) <> ''),
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	released_by	text,
	released_at	timestamptz,
	CONSTRAINT holds_scope_matches_kind
	    CHECK ((scope_kind = 'all' AND scope IS NULL)
		OR (scope_kind <> 'all' AND scope <> '')),
	CONSTRAINT holds_release_pair
	    CHECK ((released_by IS NULL) = (released_at IS NULL)),
	CHECK (released_at IS NULL OR released_at >= created_at)
);

CREATE INDEX holds_active_idx ON holds (scope_kind, scope)
	WHERE released_at IS NULL;

-- Overrides (SPEC.md promise 5): one blocker, one execution, one stage
-- start, a reason, an expiry.  used_at is set when the stage starts on it.
CREATE TABLE overrides (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	blocker_id	text NOT NULL CHECK (blocker_id <> ''),
	execution	bigint NOT NULL REFERENCES executions (id),
	stage		text NOT NULL CHECK (stage <> ''),
	reason		text NOT NULL CHECK (btrim(reason) <> ''),
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CHECK (expires_at > created_at),
	CHECK (used_at IS NULL
	    OR (used_at >= created_at AND used_at <= expires_at))
);

CREATE INDEX overrides_unused_idx ON overrides (execution, stage)
	WHERE used_at IS NULL;

-- Code review results from webhooks or the API.  The review gate looks up
-- the latest state per reviewer for (repository, revision) and ignores a
-- reviewer equal to the author.
CREATE TABLE approvals (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	repository	text NOT NULL CHECK (repository <> ''),
	revision	text NOT NULL CHECK (revision <> ''),
	reviewer	text NOT NULL CHECK (reviewer <> ''),
	author		text,		-- commit/change author, when known
	source		text NOT NULL
			CHECK (source IN ('github', 'gitlab', 'gerrit', 'api')),
	state		text NOT NULL CHECK (state IN ('approved', 'dismissed')),
	at		timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX approvals_repository_revision_idx
	ON approvals (repository, revision);

-- Webhook replay protection: a (source, delivery id) is processed once.
CREATE TABLE webhook_deliveries (
	source		text NOT NULL CHECK (source <> ''),
	delivery_id	text NOT NULL CHECK (delivery_id <> ''),
	received_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (source, delivery_id)
);

CREATE INDEX webhook_deliveries_received_at_idx
	ON webhook_deliveries (received_at);

-- Idempotency-Key of creating POSTs.  scope is e.g. the token name plus
-- route; status/response are NULL while the first request is in flight.
CREATE TABLE idempotency_keys (
	scope		text NOT NULL,
	key		text NOT NULL
			CHECK (length(key) BETWEEN 1 AND 255),
	request_sha256	text CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
	status		integer CHECK (status BETWEEN 100 AND 599),
	response	jsonb,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (scope, key),
	CHECK (response IS NULL OR status IS NOT NULL)
);

CREATE INDEX idempotency_keys_created_at_idx
	ON idempotency_keys (created_at);

-- Who triggered, overrode, aborted, held what, when and why.  Append-only.
CREATE TABLE audit_log (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	actor		text NOT NULL CHECK (actor <> ''),
	action		text NOT NULL CHECK (action <> ''),
	object		text,
	reason		text,
	data		jsonb
);

COMMENT ON TABLE audit_log IS
    'Append-only record of every privileged action (GET /v1/audit)';

-- GET /v1/audit: newest first (id breaks ties between equal timestamps).
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object, at DESC)
	WHERE object IS NOT NULL;

CREATE TRIGGER audit_log_append_only
	BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION gantry_forbid_change();
CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION gantry_forbid_change();
