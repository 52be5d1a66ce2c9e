/*
 * webhook.c - GitHub, GitLab and Gerrit webhook payloads into one
 * normalised struct webhook_event, and the signature/token checks
 * (webhook.h).  One function per (source, event) below; each takes the
 * fields it needs by dotted path, so an error names the path it missed.
 */
#include "webhook.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"

#define WHY_MAX 160
#define ID_MAX 20 /* digits of a numeric id, as a string */
#define KEY_MAX 64 /* one step of a dotted path */

static const char *const source_names[] = {
    [WEBHOOK_GITHUB] = "github",
    [WEBHOOK_GITLAB] = "gitlab",
    [WEBHOOK_GERRIT] = "gerrit",
};

static const char *const kind_names[] = {
    [WEBHOOK_IGNORED] = "ignored",
    [WEBHOOK_PUSH] = "push",
    [WEBHOOK_APPROVED] = "approved",
    [WEBHOOK_APPROVAL_REMOVED] = "approval_removed",
    [WEBHOOK_MERGED] = "merged",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
webhook_source_name(enum webhook_source s)
{
	if ((size_t)s < NELEM(source_names))
		return source_names[s];
	return "unknown";
}

bool
webhook_source_parse(const char *name, enum webhook_source *out)
{
	if (name == NULL)
		return false;
	for (size_t i = 0; i < NELEM(source_names); i++) {
		if (strcmp(name, source_names[i]) == 0) {
			*out = (enum webhook_source)i;
			return true;
		}
	}
	return false;
}

const char *
webhook_kind_name(enum webhook_kind k)
{
	if ((size_t)k < NELEM(kind_names))
		return kind_names[k];
	return "unknown";
}

/* --- field access by dotted path ------------------------------------------ */

/* One parse in progress: the document, the event being filled, the error. */
struct parse {
	const json_t *doc;
	struct webhook_event *ev;
	struct gantry_error *err;
};

/* The value at a dotted path below doc ("pull_request.head.sha"); NULL
 * when a step is missing or its parent is not an object. */
static const json_t *
walk(const json_t *doc, const char *path)
{
	const char *p = path;
	char key[KEY_MAX];

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (!json_is_object(doc) || n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		doc = json_object_get(doc, key);
		if (dot == NULL || doc == NULL)
			return doc;
		p = dot + 1;
	}
}

static int
fail(struct parse *p, const char *path, const char *what)
{
	return gantry_error_set(p->err, GANTRY_EINVAL, "%s: %s", path, what);
}

static int
nomem(struct parse *p)
{
	return gantry_error_set(p->err, GANTRY_ENOMEM, "out of memory");
}

/* The non-empty string at path, borrowed from the document; NULL when
 * absent, null, empty or not a string. */
static const char *
opt_str(const struct parse *p, const char *path)
{
	const char *s = json_string_value(walk(p->doc, path));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* The non-empty string at path into *out (borrowed), or -1 naming why. */
static int
need_str(struct parse *p, const char *path, const char **out)
{
	const json_t *v = walk(p->doc, path);

	if (v == NULL || json_is_null(v))
		return fail(p, path, "missing");
	if (!json_is_string(v))
		return fail(p, path, "not a string");
	if (*json_string_value(v) == '\0')
		return fail(p, path, "empty");
	*out = json_string_value(v);
	return 0;
}

/* A copy of s (NULL stays NULL) into *dst. */
static int
copy(struct parse *p, char **dst, const char *s)
{
	free(*dst);
	*dst = NULL;
	if (s != NULL && (*dst = strdup(s)) == NULL)
		return nomem(p);
	return 0;
}

/* need_str() and a copy into *dst. */
static int
take_str(struct parse *p, const char *path, char **dst)
{
	const char *s;

	if (need_str(p, path, &s) < 0)
		return -1;
	return copy(p, dst, s);
}

/* A git object id: 40 (SHA-1) or 64 (SHA-256) hex digits. */
static bool
is_sha(const char *s)
{
	size_t n = strlen(s);

	if (n != 40 && n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The all-zero id git uses for "no commit" (a created or deleted ref). */
static bool
is_zero_sha(const char *s)
{
	return is_sha(s) && strspn(s, "0") == strlen(s);
}

/* The commit id at path, lowercased, into *dst. */
static int
take_sha(struct parse *p, const char *path, char **dst)
{
	const char *s;

	if (need_str(p, path, &s) < 0)
		return -1;
	if (!is_sha(s))
		return fail(p, path, "not a commit id");
	if (copy(p, dst, s) < 0)
		return -1;
	for (char *c = *dst; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

/* The id at path (a JSON integer >= 0, or a string of digits: Gerrit sent
 * change numbers as strings before 2.14) as a string into *dst.  Absent or
 * null is an error only when required. */
static int
take_id(struct parse *p, const char *path, char **dst, bool required)
{
	const json_t *v = walk(p->doc, path);
	char buf[ID_MAX + 2];
	const char *s;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return fail(p, path, "missing");
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return copy(p, dst, buf);
	}
	s = json_string_value(v);
	if (s == NULL || *s == '\0' || strlen(s) > ID_MAX ||
	    strspn(s, "0123456789") != strlen(s))
		return fail(p, path, "not a number");
	return copy(p, dst, s);
}

/* A Gerrit or GitLab account at path: its username, else its email, into
 * *dst.  Neither is an error only when required. */
static int
take_account(struct parse *p, const char *path, const char *username,
    const char *email, char **dst, bool required)
{
	char upath[128], epath[128];
	const char *s;

	snprintf(
	    upath, sizeof(upath), "%s%s%s", path, *path ? "." : "", username);
	snprintf(epath, sizeof(epath), "%s%s%s", path, *path ? "." : "", email);
	s = opt_str(p, upath);
	if (s == NULL)
		s = opt_str(p, epath);
	if (s == NULL && required)
		return fail(p, upath, "missing");
	return copy(p, dst, s);
}

/* Mark the event ignored with a printf-formatted reason; 0. */
static int PRINTFLIKE(2, 3) ignore(struct parse *p, const char *fmt, ...)
{
	char why[WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	p->ev->kind = WEBHOOK_IGNORED;
	return copy(p, &p->ev->why, why);
}

/*
 * Sort a pushed ref (at path): refs/heads/X sets the branch and is 0;
 * refs/tags/ and other refs are ignored (1); -1 on error.  bare: a name
 * without "refs/" is a branch (Gerrit before 2.13 sent "master").
 */
static int
push_ref(struct parse *p, const char *path, const char *ref, bool bare)
{
	static const char heads[] = "refs/heads/", tags[] = "refs/tags/";
	const char *branch = NULL;

	if (strncmp(ref, heads, sizeof(heads) - 1) == 0)
		branch = ref + sizeof(heads) - 1;
	else if (strncmp(ref, tags, sizeof(tags) - 1) == 0)
		return ignore(p, "tag push") < 0 ? -1 : 1;
	else if (bare && strncmp(ref, "refs/", 5) != 0)
		branch = ref;
	else
		return ignore(p, "ref %.64s is not a branch", ref) < 0 ? -1 : 1;
	if (*branch == '\0')
		return fail(p, path, "empty branch name");
	return copy(p, &p->ev->branch, branch);
}

/* --- GitHub ------------------------------------------------------------------
 * https://docs.github.com/en/webhooks/webhook-events-and-payloads
 */

/* push: a branch moved (or was created, deleted, force-pushed). */
static int
github_push(struct parse *p)
{
	struct webhook_event *ev = p->ev;
	const char *ref, *after, *author;
	int rc;

	if (take_str(p, "repository.full_name", &ev->repository) < 0 ||
	    need_str(p, "ref", &ref) < 0 || need_str(p, "after", &after) < 0)
		return -1;
	if ((rc = push_ref(p, "ref", ref, false)) != 0)
		return rc < 0 ? -1 : 0;
	if (json_is_true(walk(p->doc, "deleted")) || is_zero_sha(after))
		return ignore(p, "branch deleted");
	if (take_sha(p, "after", &ev->revision) < 0)
		return -1;
	ev->kind = WEBHOOK_PUSH;
	ev->forced = json_is_true(walk(p->doc, "forced"));
	/* head_commit is null for a push that added no commit. */
	author = opt_str(p, "head_commit.author.username");
	if (author == NULL)
		author = opt_str(p, "head_commit.author.email");
	if (author == NULL)
		author = opt_str(p, "pusher.name");
	return copy(p, &ev->author, author);
}

/* The fields every pull request event carries: number, target, owner. */
static int
github_pr_common(struct parse *p)
{
	struct webhook_event *ev = p->ev;

	if (take_str(p, "pull_request.base.ref", &ev->branch) < 0 ||
	    take_str(p, "pull_request.user.login", &ev->author) < 0 ||
	    take_id(p, "pull_request.user.id", &ev->author_id, false) < 0)
		return -1;
	return 0;
}

/* pull_request: only "closed" with merged=true matters. */
static int
github_pull_request(struct parse *p)
{
	struct webhook_event *ev = p->ev;
	const char *action;

	if (take_str(p, "repository.full_name", &ev->repository) < 0 ||
	    need_str(p, "action", &action) < 0 ||
	    take_id(p, "pull_request.number", &ev->change, true) < 0)
		return -1;
	if (strcmp(action, "closed") != 0)
		return ignore(p, "pull request %.32s", action);
	if (!json_is_true(walk(p->doc, "pull_request.merged")))
		return ignore(p, "pull request closed without merge");
	if (github_pr_common(p) < 0 ||
	    take_sha(p, "pull_request.merge_commit_sha", &ev->revision) < 0 ||
	    take_sha(p, "pull_request.head.sha", &ev->head_revision) < 0)
		return -1;
	ev->kind = WEBHOOK_MERGED;
	return 0;
}

/* pull_request_review: submitted "approved", or dismissed. */
static int
github_review(struct parse *p)
{
	struct webhook_event *ev = p->ev;
	const char *action, *state;

	if (take_str(p, "repository.full_name", &ev->repository) < 0 ||
	    need_str(p, "action", &action) < 0 ||
	    take_id(p, "pull_request.number", &ev->change, true) < 0)
		return -1;
	if (strcmp(action, "submitted") == 0) {
		if (need_str(p, "review.state", &state) < 0)
			return -1;
		/* Webhooks send lowercase; the REST API upper case. */
		if (strcasecmp(state, "approved") != 0)
			return ignore(p, "review state %.32s", state);
		ev->kind = WEBHOOK_APPROVED;
	} else if (strcmp(action, "dismissed") == 0) {
		ev->kind = WEBHOOK_APPROVAL_REMOVED;
	} else {
		return ignore(p, "review %.32s", action);
	}
	if (github_pr_common(p) < 0 ||
	    take_str(p, "review.user.login", &ev->reviewer) < 0 ||
	    take_id(p, "review.user.id", &ev->reviewer_id, false) < 0 ||
	    take_sha(p, "review.commit_id", &ev->revision) < 0)
		return -1;
	return 0;
}

static int
github_parse(struct parse *p, const char *event)
{
	if (event == NULL || *event == '\0')
		return fail(p, "X-GitHub-Event", "missing");
	if (strcmp(event, "push") == 0)
		return github_push(p);
	if (strcmp(event, "pull_request") == 0)
		return github_pull_request(p);
	if (strcmp(event, "pull_request_review") == 0)
		return github_review(p);
	/* ping and the rest: repository is absent from organisation hooks. */
	if (copy(p, &p->ev->repository, opt_str(p, "repository.full_name")) < 0)
		return -1;
	if (strcmp(event, "ping") == 0)
		return ignore(p, "event ping");
	return ignore(p, "event %.64s not handled", event);
}

/* --- GitLab ------------------------------------------------------------------
 * https://docs.gitlab.com/user/project/integrations/webhook_events/
 */

/* Push Hook: a branch moved, was created or deleted. */
static int
gitlab_push(struct parse *p)
{
	struct webhook_event *ev = p->ev;
	const char *ref, *after;
	int rc;

	if (take_str(p, "project.path_with_namespace", &ev->repository) < 0 ||
	    need_str(p, "ref", &ref) < 0 || need_str(p, "after", &after) < 0)
		return -1;
	if ((rc = push_ref(p, "ref", ref, false)) != 0)
		return rc < 0 ? -1 : 0;
	if (is_zero_sha(after))
		return ignore(p, "branch deleted");
	if (take_sha(p, "after", &ev->revision) < 0 ||
	    take_account(
	        p, "", "user_username", "user_email", &ev->author, false) < 0 ||
	    take_id(p, "user_id", &ev->author_id, false) < 0)
		return -1;
	ev->kind = WEBHOOK_PUSH;
	return 0;
}

/* Merge Request Hook: approvals, their withdrawal, and the merge. */
static int
gitlab_merge_request(struct parse *p)
{
	static const char merged_from[][40] = {
	    "object_attributes.merge_commit_sha",
	    "object_attributes.squash_commit_sha",
	    "object_attributes.last_commit.id",
	};
	struct webhook_event *ev = p->ev;
	const char *action;

	if (take_str(p, "project.path_with_namespace", &ev->repository) < 0 ||
	    need_str(p, "object_attributes.action", &action) < 0 ||
	    take_id(p, "object_attributes.iid", &ev->change, true) < 0)
		return -1;
	/* "approval"/"unapproval": one reviewer's vote; "approved"/
	 * "unapproved": the rules became (un)satisfied by that vote.  Both
	 * name the voter in user, so both are the same event here. */
	if (strcmp(action, "approved") == 0 || strcmp(action, "approval") == 0)
		ev->kind = WEBHOOK_APPROVED;
	else if (strcmp(action, "unapproved") == 0 ||
	    strcmp(action, "unapproval") == 0)
		ev->kind = WEBHOOK_APPROVAL_REMOVED;
	else if (strcmp(action, "merge") == 0)
		ev->kind = WEBHOOK_MERGED;
	else if (strcmp(action, "close") == 0)
		return ignore(p, "merge request closed without merge");
	else
		return ignore(p, "merge request %.32s", action);
	if (take_str(p, "object_attributes.target_branch", &ev->branch) < 0 ||
	    take_id(p, "object_attributes.author_id", &ev->author_id, true) < 0)
		return -1;
	if (ev->kind != WEBHOOK_MERGED) {
		if (take_str(p, "user.username", &ev->reviewer) < 0 ||
		    take_id(p, "user.id", &ev->reviewer_id, false) < 0 ||
		    take_sha(p, "object_attributes.last_commit.id",
		        &ev->revision) < 0)
			return -1;
		return 0;
	}
	if (take_sha(
	        p, "object_attributes.last_commit.id", &ev->head_revision) < 0)
		return -1;
	/* Merge commit, else the squash commit of a fast-forward squash,
	 * else (fast-forward) the head itself. */
	for (size_t i = 0; i < NELEM(merged_from); i++) {
		const json_t *v = walk(p->doc, merged_from[i]);

		if (v != NULL && !json_is_null(v))
			return take_sha(p, merged_from[i], &ev->revision);
	}
	return 0; /* not reached: last_commit.id was taken above */
}

/* Tag Push Hook: tags are not deployed from. */
static int
gitlab_tag_push(struct parse *p)
{
	if (copy(p, &p->ev->repository,
	        opt_str(p, "project.path_with_namespace")) < 0)
		return -1;
	return ignore(p, "tag push");
}

static int
gitlab_parse(struct parse *p, const char *event)
{
	static const struct {
		const char *header, *object_kind;
		int (*parse)(struct parse *);
	} hooks[] = {
	    {"Push Hook", "push", gitlab_push},
	    {"Tag Push Hook", "tag_push", gitlab_tag_push},
	    {"Merge Request Hook", "merge_request", gitlab_merge_request},
	};
	const char *kind = opt_str(p, "object_kind");
	bool system;

	if (event == NULL || *event == '\0')
		return fail(p, "X-Gitlab-Event", "missing");
	/* A system hook sends every kind under one header: the body's
	 * object_kind says which.  Otherwise object_kind, when present,
	 * must agree with the header. */
	system = strcmp(event, "System Hook") == 0;
	for (size_t i = 0; i < NELEM(hooks); i++) {
		if (system ? kind == NULL ||
		            strcmp(kind, hooks[i].object_kind) != 0
		           : strcmp(event, hooks[i].header) != 0)
			continue;
		if (kind != NULL && strcmp(kind, hooks[i].object_kind) != 0)
			return gantry_error_set(p->err, GANTRY_EINVAL,
			    "object_kind: %.32s does not match %s", kind,
			    hooks[i].header);
		return hooks[i].parse(p);
	}
	if (copy(p, &p->ev->repository,
	        opt_str(p, "project.path_with_namespace")) < 0)
		return -1;
	if (system)
		return ignore(
		    p, "event %.64s not handled", kind != NULL ? kind : event);
	return ignore(p, "event %.64s not handled", event);
}

/* --- Gerrit ------------------------------------------------------------------
 * stream-events / webhooks plugin JSON (Documentation/cmd-stream-events.txt,
 * "Events"): any field may be missing; the ones used here are not.
 */

/* ref-updated: a branch moved by a direct push or a submit. */
static int
gerrit_ref_updated(struct parse *p)
{
	struct webhook_event *ev = p->ev;
	const char *ref, *rev;
	int rc;

	if (take_str(p, "refUpdate.project", &ev->repository) < 0 ||
	    need_str(p, "refUpdate.refName", &ref) < 0 ||
	    need_str(p, "refUpdate.newRev", &rev) < 0)
		return -1;
	if ((rc = push_ref(p, "refUpdate.refName", ref, true)) != 0)
		return rc < 0 ? -1 : 0;
	if (is_zero_sha(rev))
		return ignore(p, "branch deleted");
	if (take_sha(p, "refUpdate.newRev", &ev->revision) < 0 ||
	    take_account(
	        p, "submitter", "username", "email", &ev->author, false) < 0)
		return -1;
	ev->kind = WEBHOOK_PUSH;
	return 0;
}

/* The change attribute every change event carries. */
static int
gerrit_change_common(struct parse *p)
{
	struct webhook_event *ev = p->ev;

	if (take_str(p, "change.project", &ev->repository) < 0 ||
	    take_id(p, "change.number", &ev->change, true) < 0 ||
	    take_str(p, "change.branch", &ev->branch) < 0 ||
	    take_account(
	        p, "change.owner", "username", "email", &ev->author, true) < 0)
		return -1;
	return 0;
}

/* A label vote: "2", "+2", "-1" (strings in every Gerrit version) or a
 * JSON integer. */
static bool
vote_value(const json_t *v, int *out)
{
	const char *s = json_string_value(v);
	char *end;
	long n;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < -99 || json_integer_value(v) > 99)
			return false;
		*out = (int)json_integer_value(v);
		return true;
	}
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return false;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < -99 || n > 99)
		return false;
	*out = (int)n;
	return true;
}

/*
 * The Code-Review vote in approvals: +2 approves, a change from +2 to less
 * withdraws the approval (approve false: only that counts).  Sets the kind
 * or ignores the event.
 */
static int
gerrit_code_review(struct parse *p, bool approve)
{
	const json_t *approvals = walk(p->doc, "approvals");
	const json_t *a;
	size_t i;

	if (approvals != NULL && !json_is_array(approvals))
		return fail(p, "approvals", "not an array");
	json_array_foreach(approvals, i, a)
	{
		const json_t *type = json_object_get(a, "type");
		const json_t *old = json_object_get(a, "oldValue");
		char path[64];
		int value, was = 0;

		if (!json_is_object(a)) {
			snprintf(path, sizeof(path), "approvals[%zu]", i);
			return fail(p, path, "not an object");
		}
		if (!json_is_string(type) ||
		    strcmp(json_string_value(type), "Code-Review") != 0)
			continue;
		if (!vote_value(json_object_get(a, "value"), &value)) {
			snprintf(path, sizeof(path), "approvals[%zu].value", i);
			return fail(p, path, "not a vote");
		}
		if (old != NULL && !json_is_null(old) &&
		    !vote_value(old, &was)) {
			snprintf(
			    path, sizeof(path), "approvals[%zu].oldValue", i);
			return fail(p, path, "not a vote");
		}
		if (approve && value >= 2) {
			p->ev->kind = WEBHOOK_APPROVED;
			return 0;
		}
		if (was >= 2 && value < 2) {
			p->ev->kind = WEBHOOK_APPROVAL_REMOVED;
			return 0;
		}
		return ignore(
		    p, "Code-Review %s%d", value > 0 ? "+" : "", value);
	}
	return ignore(p, "no Code-Review vote");
}

/* comment-added (author voted) and vote-deleted (reviewer's vote removed
 * by remover). */
static int
gerrit_vote(struct parse *p, bool deleted)
{
	struct webhook_event *ev = p->ev;

	if (gerrit_change_common(p) < 0 ||
	    take_sha(p, "patchSet.revision", &ev->revision) < 0)
		return -1;
	if (gerrit_code_review(p, !deleted) < 0)
		return -1;
	if (ev->kind == WEBHOOK_IGNORED)
		return 0;
	return take_account(p, deleted ? "reviewer" : "author", "username",
	    "email", &ev->reviewer, true);
}

/* change-merged: newRev is what landed (a rebase or cherry-pick submit
 * differs from the patch set). */
static int
gerrit_change_merged(struct parse *p)
{
	struct webhook_event *ev = p->ev;

	if (gerrit_change_common(p) < 0 ||
	    take_sha(p, "newRev", &ev->revision) < 0 ||
	    take_sha(p, "patchSet.revision", &ev->head_revision) < 0)
		return -1;
	ev->kind = WEBHOOK_MERGED;
	return 0;
}

static int
gerrit_parse(struct parse *p)
{
	const char *type, *project;

	if (need_str(p, "type", &type) < 0)
		return -1;
	if (strcmp(type, "ref-updated") == 0)
		return gerrit_ref_updated(p);
	if (strcmp(type, "comment-added") == 0)
		return gerrit_vote(p, false);
	if (strcmp(type, "vote-deleted") == 0)
		return gerrit_vote(p, true);
	if (strcmp(type, "change-merged") == 0)
		return gerrit_change_merged(p);
	project = opt_str(p, "change.project");
	if (project == NULL)
		project = opt_str(p, "project");
	if (copy(p, &p->ev->repository, project) < 0)
		return -1;
	return ignore(p, "event %.64s not handled", type);
}

/* --- entry points ------------------------------------------------------------ */

int
webhook_parse(enum webhook_source src, const char *event_type, const char *body,
    size_t len, struct webhook_event *out, struct gantry_error *err)
{
	struct parse p = {.ev = out, .err = err};
	json_error_t jerr;
	json_t *doc = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > WEBHOOK_BODY_MAX) {
		gantry_error_set(err, GANTRY_ETOOBIG,
		    "body: larger than %d bytes", WEBHOOK_BODY_MAX);
		goto out;
	}
	doc = json_loadb(body != NULL ? body : "", body != NULL ? len : 0,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		gantry_error_set(err, GANTRY_EINVAL,
		    "body: line %d, column %d: %s", jerr.line, jerr.column,
		    jerr.text);
		goto out;
	}
	if (!json_is_object(doc)) {
		gantry_error_set(err, GANTRY_EINVAL, "body: not a JSON object");
		goto out;
	}
	p.doc = doc;
	out->source = src;
	switch (src) {
	case WEBHOOK_GITHUB:
		rc = github_parse(&p, event_type);
		break;
	case WEBHOOK_GITLAB:
		rc = gitlab_parse(&p, event_type);
		break;
	case WEBHOOK_GERRIT:
		rc = gerrit_parse(&p);
		break;
	default:
		gantry_error_set(
		    err, GANTRY_EINVAL, "unknown webhook source %d", (int)src);
		break;
	}
out:
	json_decref(doc);
	if (rc != 0)
		webhook_event_clear(out);
	return rc;
}

void
webhook_event_clear(struct webhook_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->repository);
	free(ev->branch);
	free(ev->revision);
	free(ev->head_revision);
	free(ev->change);
	free(ev->author);
	free(ev->author_id);
	free(ev->reviewer);
	free(ev->reviewer_id);
	for (size_t i = 0; i < ev->napprovers; i++)
		free(ev->approvers[i]);
	free(ev->approvers);
	free(ev->why);
	memset(ev, 0, sizeof(*ev));
}

/* s as a JSON string, or null for NULL; NULL when out of memory. */
static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *
webhook_event_to_json(const struct webhook_event *ev)
{
	const struct {
		const char *key;
		const char *value;
	} fields[] = {
	    {"source", webhook_source_name(ev->source)},
	    {"kind", webhook_kind_name(ev->kind)},
	    {"repository", ev->repository},
	    {"branch", ev->branch},
	    {"revision", ev->revision},
	    {"head_revision", ev->head_revision},
	    {"change", ev->change},
	    {"author", ev->author},
	    {"author_id", ev->author_id},
	    {"reviewer", ev->reviewer},
	    {"reviewer_id", ev->reviewer_id},
	    {"why", ev->why},
	};
	json_t *o = json_object(), *approvers = json_array();

	if (o == NULL || approvers == NULL)
		goto fail;
	for (size_t i = 0; i < NELEM(fields); i++)
		if (json_object_set_new(
		        o, fields[i].key, str_or_null(fields[i].value)) != 0)
			goto fail;
	for (size_t i = 0; i < ev->napprovers; i++)
		if (json_array_append_new(
		        approvers, str_or_null(ev->approvers[i])) != 0)
			goto fail;
	if (json_object_set(o, "approvers", approvers) != 0 ||
	    json_object_set_new(o, "forced", json_boolean(ev->forced)) != 0)
		goto fail;
	json_decref(approvers);
	return o;
fail:
	json_decref(approvers);
	json_decref(o);
	return NULL;
}

/* --- signatures -------------------------------------------------------------- */

bool
webhook_verify_github(
    const char *secret, const void *body, size_t len, const char *header)
{
	static const char prefix[] = "sha256=";
	unsigned char mac[EVP_MAX_MD_SIZE], given[32];
	unsigned int maclen = 0;

	if (secret == NULL || *secret == '\0' || header == NULL)
		return false;
	/* Prefix and length are public (every valid header has them), so
	 * an early return on them tells an attacker nothing. */
	if (strncmp(header, prefix, sizeof(prefix) - 1) != 0 ||
	    auth_hex_decode32(header + sizeof(prefix) - 1, given) != 0)
		return false;
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	        body != NULL ? body : "", body != NULL ? len : 0, mac,
	        &maclen) == NULL ||
	    maclen != sizeof(given))
		return false;
	return CRYPTO_memcmp(mac, given, sizeof(given)) == 0;
}

bool
webhook_verify_token(const char *expected, const char *given)
{
	unsigned char de[32], dg[32];
	unsigned int le = 0, lg = 0;

	if (expected == NULL || *expected == '\0' || given == NULL)
		return false;
	/* Digests of equal length: the compare costs the same whatever
	 * given is, and its length is not compared at all. */
	if (EVP_Digest(
	        expected, strlen(expected), de, &le, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(given, strlen(given), dg, &lg, EVP_sha256(), NULL) !=
	        1 ||
	    le != sizeof(de) || lg != sizeof(dg))
		return false;
	return CRYPTO_memcmp(de, dg, sizeof(de)) == 0;
}
