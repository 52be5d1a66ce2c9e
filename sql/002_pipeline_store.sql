-- 002_pipeline_store.sql - store pipeline definitions atomically.
--
-- gantry_store_pipeline_version() makes one accepted definition current:
-- it reuses the stored version with the same canonical SHA-256 or appends
-- version max+1, points pipelines.current_version at it, clears
-- last_error, and writes an audit entry for a new version, all in one
-- statement.  The upsert locks the pipeline's row first, so two gantryd
-- processes storing the same pipeline get consecutive, distinct versions.

CREATE FUNCTION gantry_store_pipeline_version(p_name text, p_file text,
    p_sha256 text, p_definition jsonb, p_actor text)
RETURNS TABLE (version integer, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
	v integer;
BEGIN
	INSERT INTO pipelines AS p (name, source_file, last_error, updated_at)
	VALUES (p_name, p_file, NULL, now())
	ON CONFLICT (name) DO UPDATE
	SET source_file = EXCLUDED.source_file, last_error = NULL,
	    updated_at = now();

	SELECT pv.version INTO v FROM pipeline_versions pv
	WHERE pv.pipeline = p_name AND pv.sha256 = p_sha256;
	IF FOUND THEN
		UPDATE pipelines SET current_version = v WHERE name = p_name;
		RETURN QUERY SELECT v, false;
		RETURN;
	END IF;

	SELECT coalesce(max(pv.version), 0) + 1 INTO v
	FROM pipeline_versions pv WHERE pv.pipeline = p_name;
	INSERT INTO pipeline_versions (pipeline, version, sha256, definition,
	    created_by)
	VALUES (p_name, v, p_sha256, p_definition, p_actor);
	UPDATE pipelines SET current_version = v WHERE name = p_name;
	INSERT INTO audit_log (actor, action, object, reason, data)
	VALUES (p_actor, 'pipeline.version', p_name, NULL,
	    jsonb_build_object('version', v, 'sha256', p_sha256,
	        'source_file', p_file));
	RETURN QUERY SELECT v, true;
END
$$;

COMMENT ON FUNCTION gantry_store_pipeline_version(text, text, text, jsonb,
    text) IS
    'Make a validated definition current; returns its version and whether it is new';

-- Record why a pipeline's file was rejected (the last good version stays).
CREATE FUNCTION gantry_record_pipeline_error(p_name text, p_file text,
    p_error text)
RETURNS void
LANGUAGE sql AS $$
	INSERT INTO pipelines (name, source_file, last_error, updated_at)
	VALUES (p_name, p_file, p_error, now())
	ON CONFLICT (name) DO UPDATE
	SET last_error = EXCLUDED.last_error, updated_at = now();
$$;
