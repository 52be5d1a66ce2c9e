/*
 * webhook.h - code review webhooks (GitHub, GitLab, Gerrit) turned into one
 * normalised event: a push to a branch, an approval given or withdrawn, a
 * change merged, or "ignored" with a reason.  Pure: the daemon reads the
 * request (POST /v1/hooks/github|gitlab|gerrit, SPEC.md section 6), checks
 * the signature or token with the helpers below, and hands the body here.
 * Which branches and approvals matter is decided by the caller, not here.
 */
#ifndef GANTRY_WEBHOOK_H
#define GANTRY_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* Larger bodies are refused (GANTRY_ETOOBIG); GitHub caps its payloads at
 * 25 MB, GitLab and Gerrit events are far smaller. */
#define WEBHOOK_BODY_MAX (25 * 1024 * 1024)

enum webhook_source {
	WEBHOOK_GITHUB,
	WEBHOOK_GITLAB,
	WEBHOOK_GERRIT,
};

/* "github", "gitlab" or "gerrit"; "unknown" for any other value. */
const char *webhook_source_name(enum webhook_source s);

/* The source named name (as webhook_source_name() spells it) into *out;
 * false, *out untouched, for any other name or NULL. */
bool webhook_source_parse(const char *name, enum webhook_source *out);

enum webhook_kind {
	WEBHOOK_IGNORED, /* valid, but nothing gantry acts on: `why` says what */
	WEBHOOK_PUSH, /* a commit landed on a branch of a repository */
	WEBHOOK_APPROVED, /* a change/PR was approved by a reviewer */
	WEBHOOK_APPROVAL_REMOVED, /* an approval was dismissed/withdrawn */
	WEBHOOK_MERGED, /* a change/PR was merged */
};

/* "ignored", "push", "approved", "approval_removed", "merged";
 * "unknown" for any other value. */
const char *webhook_kind_name(enum webhook_kind k);

/*
 * One normalised delivery.  Every string is owned by the event (freed by
 * webhook_event_clear()) and NULL when the kind does not carry it or the
 * payload does not say.  Commit ids are lowercase hex (40, or 64 for
 * SHA-256 repositories).
 */
struct webhook_event {
	enum webhook_source source;
	enum webhook_kind kind;
	char *repository; /* GitHub repository.full_name, GitLab
	                   * project.path_with_namespace, Gerrit project */
	char *branch; /* without "refs/heads/"; for a change: its target */
	char *revision; /* push: the new head; approved/approval_removed: the
	                 * commit reviewed; merged: the landed commit */
	char *head_revision; /* merged: the change's head commit (may equal
	                      * revision) */
	char *change; /* PR number / MR iid / Gerrit change number; NULL for a
	               * push */
	char *author; /* change owner's login, or the pusher / head commit
	               * author (username, else email) for a push */
	char *author_id; /* numeric account id where the payload has one */
	char *reviewer; /* approved / approval_removed: whose vote */
	char *reviewer_id; /* numeric account id where the payload has one */
	char **approvers; /* merged: approvers the payload names (none of the
	                   * three names any today: usually empty) */
	size_t napprovers;
	bool forced; /* push: a force push (GitHub `forced`) */
	char *why; /* WEBHOOK_IGNORED: a short reason ("branch deleted",
	            * "tag push", "event ping", "event issues not handled",
	            * "review state commented", ...) */
};

/*
 * Parse one delivery of src into *out (overwritten; release it with
 * webhook_event_clear() after a 0 return; after -1 it holds nothing).
 *
 * event_type is the event header: GitHub X-GitHub-Event ("push",
 * "pull_request", "pull_request_review", "ping", ...), GitLab
 * X-Gitlab-Event ("Push Hook", "Tag Push Hook", "Merge Request Hook", or
 * "System Hook", then the body's object_kind decides).  Gerrit (webhooks
 * plugin or stream-events) carries the type in the body; event_type is
 * ignored and may be NULL.
 *
 * Unknown event types and actions gantry does not act on are
 * WEBHOOK_IGNORED with `why` set, not errors.  -1 with err (GANTRY_EINVAL,
 * the message starting with the field path, e.g.
 * "repository.full_name: missing") for malformed JSON, a body that is not
 * an object, a missing event type (GitHub, GitLab) or a known event
 * missing a required field or with a malformed one; GANTRY_ETOOBIG over
 * WEBHOOK_BODY_MAX; GANTRY_ENOMEM.  body need not be NUL-terminated.
 *
 * Per source (what the fields are taken from):
 * - GitHub push: ref, after, forced, head_commit.author.username (else
 *   .email, else pusher.name).  deleted or after all zeros: ignored
 *   "branch deleted"; refs/tags/: ignored "tag push".
 * - GitHub pull_request closed with merged: merged, revision =
 *   merge_commit_sha, head_revision = head.sha, branch = base.ref; closed
 *   otherwise: ignored; other actions: ignored.
 * - GitHub pull_request_review submitted, state approved: approved
 *   (revision = review.commit_id, reviewer = review.user.login); other
 *   states ignored.  dismissed: approval_removed for review.user (the
 *   payload does not keep the dismissed review's former state, so any
 *   dismissal is reported; the caller drops approvals it does not hold).
 * - GitLab Push Hook: ref, after, user_username, user_id; after all zeros:
 *   ignored "branch deleted".  Tag Push Hook: ignored "tag push".
 * - GitLab Merge Request Hook: action approved/approval: approved
 *   (reviewer = user.username, reviewer_id = user.id, revision =
 *   object_attributes.last_commit.id); unapproved/unapproval:
 *   approval_removed; merge: merged (revision = merge_commit_sha, else
 *   squash_commit_sha, else last_commit.id for a fast-forward merge;
 *   head_revision = last_commit.id); others ignored.  GitLab MR payloads
 *   name the author only by id: author is NULL, author_id is set.
 * - Gerrit ref-updated on a branch: push (refUpdate.newRev, submitter);
 *   newRev all zeros: ignored "branch deleted".  comment-added (and
 *   vote-deleted) with a Code-Review vote: value 2 is approved (also when
 *   re-sent without oldValue: Gerrit repeats current votes on every
 *   comment); oldValue 2 and value below 2 is approval_removed; anything
 *   else ignored.  change-merged: merged (revision = newRev,
 *   head_revision = patchSet.revision).
 */
int webhook_parse(enum webhook_source src, const char *event_type,
    const char *body, size_t len, struct webhook_event *out,
    struct gantry_error *err) MUSTCHECK;

/* Free everything ev owns and zero it; a zeroed event and NULL are fine. */
void webhook_event_clear(struct webhook_event *ev);

/* ev as a new JSON object (caller releases with json_decref()): "source",
 * "kind", every string field (null when unset), "approvers" (an array),
 * "forced"; NULL when out of memory.  For logs, audit and tests. */
json_t *webhook_event_to_json(const struct webhook_event *ev);

/* True when header is GitHub's X-Hub-Signature-256 for body under secret:
 * "sha256=" followed by the 64 hex digits of HMAC-SHA256(secret, body).
 * Hex digits are accepted in either case (GitHub sends lowercase).  The
 * comparison is constant time; false for a NULL or empty header or
 * secret, a wrong prefix or a wrong length. */
bool webhook_verify_github(
    const char *secret, const void *body, size_t len, const char *header);

/* True when given equals expected (GitLab X-Gitlab-Token, Gerrit token).
 * Both are hashed with SHA-256 and the digests compared in constant time,
 * so neither content nor length leaks through timing.  false when either
 * is NULL or expected is empty. */
bool webhook_verify_token(const char *expected, const char *given);

#endif /* GANTRY_WEBHOOK_H */
