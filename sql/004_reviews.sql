-- 004_reviews.sql - what the review gate and the webhook receivers need
-- beside 001's approvals and webhook_deliveries.
--
-- A GitHub review approves a pull request's head commit, while the
-- execution deploys the merge commit that landed on the branch: the gate
-- links them through the change (pull request, merge request, Gerrit
-- change) recorded by the merge event.

ALTER TABLE approvals
	ADD COLUMN change_id	text,	-- PR number, MR iid, Gerrit change
	ADD COLUMN reviewer_id	text,	-- numeric account id, when known
	ADD COLUMN author_id	text;

CREATE INDEX approvals_change_idx ON approvals (repository, change_id)
	WHERE change_id IS NOT NULL;

-- One row per merged change: the commit that landed and the change's head.
CREATE TABLE review_merges (
	repository	text NOT NULL CHECK (repository <> ''),
	revision	text NOT NULL CHECK (revision <> ''),	-- landed
	head_revision	text,
	change_id	text,
	author		text,
	author_id	text,
	source		text NOT NULL
			CHECK (source IN ('github', 'gitlab', 'gerrit', 'api')),
	at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (repository, revision)
);

CREATE INDEX review_merges_head_idx ON review_merges (repository, head_revision);

COMMENT ON TABLE review_merges IS
    'Merged changes: landed commit -> change and head (review gate)';

-- What each processed delivery was and what gantry did with it.
ALTER TABLE webhook_deliveries
	ADD COLUMN event	text,
	ADD COLUMN outcome	jsonb;

-- The review gate: is revision (of repository; NULL: any) approved by
-- at least min_approvals reviewers other than the change's author?
-- Approvals count when they are on the revision itself, on the head of a
-- change whose merge landed it, or on that change; each reviewer's latest
-- approval or dismissal wins.  Returns the count and the reviewers.
CREATE FUNCTION gantry_review_status(p_repository text, p_revision text,
    OUT approved integer, OUT reviewers text, OUT self_approved integer)
LANGUAGE sql STABLE AS $$
	WITH m AS (
		SELECT change_id, head_revision, author, author_id
		FROM review_merges
		WHERE (p_repository IS NULL OR repository = p_repository)
		  AND (revision = p_revision OR head_revision = p_revision)),
	a AS (
		SELECT DISTINCT ON (reviewer) reviewer, reviewer_id, state,
		    coalesce(ap.author, (SELECT author FROM m LIMIT 1)) AS author,
		    coalesce(ap.author_id, (SELECT author_id FROM m LIMIT 1))
		        AS author_id
		FROM approvals ap
		WHERE (p_repository IS NULL OR repository = p_repository)
		  AND (revision = p_revision
		       OR revision IN (SELECT head_revision FROM m)
		       OR (change_id IS NOT NULL
		           AND change_id IN (SELECT change_id FROM m)))
		ORDER BY reviewer, at DESC, id DESC),
	v AS (
		SELECT reviewer, state = 'approved' AS ok,
		    (reviewer = author OR (reviewer_id IS NOT NULL
		        AND reviewer_id = author_id)) IS TRUE AS self
		FROM a)
	SELECT count(*) FILTER (WHERE ok AND NOT self)::integer,
	    coalesce(string_agg(reviewer, ', ' ORDER BY reviewer)
	        FILTER (WHERE ok AND NOT self), ''),
	    count(*) FILTER (WHERE ok AND self)::integer
	FROM v
$$;
