/*
 * check_webhook.c - unit tests for lib/webhook.c: every GitHub, GitLab and
 * Gerrit fixture under tests/data/webhooks/SOURCE/ parses into the
 * expected normalised event, malformed deliveries fail naming the field,
 * and the GitHub HMAC and plain token checks accept and refuse what they
 * should.
 *
 * Expected values are read from the fixture itself by path (fx_str), so a
 * test says which payload field each event field must come from: taking
 * head.sha where merge_commit_sha is meant fails.  The fixtures are found
 * through $top_srcdir (default ".").
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "webhook.h"

/* One fixture: its text and the same text as JSON, for expectations. */
struct fixture {
	char *text;
	size_t len;
	json_t *doc;
};

static void
fixture_load(struct fixture *fx, const char *source, const char *name)
{
	const char *top = getenv("top_srcdir");
	json_error_t jerr;
	char path[1024];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/webhooks/%s/%s.json",
	    top && *top ? top : ".", source, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (is top_srcdir set?)", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	fx->text = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(fx->text);
	ck_assert_uint_eq(fread(fx->text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	fx->text[n] = '\0';
	fx->len = (size_t)n;
	fx->doc = json_loadb(fx->text, fx->len, 0, &jerr);
	ck_assert_msg(fx->doc != NULL, "%s: %s", path, jerr.text);
}

static void
fixture_free(struct fixture *fx)
{
	free(fx->text);
	json_decref(fx->doc);
}

/* The value at a dotted path of the fixture; the path must exist. */
static json_t *
fx_get(const struct fixture *fx, const char *path)
{
	char buf[256], *save = NULL;
	json_t *v = fx->doc;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL;
	     k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	ck_assert_msg(v != NULL, "fixture has no %s", path);
	return v;
}

/* The string at path in the fixture. */
static const char *
fx_str(const struct fixture *fx, const char *path)
{
	const char *s = json_string_value(fx_get(fx, path));

	ck_assert_msg(s != NULL, "fixture %s is not a string", path);
	return s;
}

/* The integer at path in the fixture, as a string (static buffer). */
static const char *
fx_int(const struct fixture *fx, const char *path)
{
	static char buf[32];
	json_t *v = fx_get(fx, path);

	ck_assert_msg(json_is_integer(v), "fixture %s is not a number", path);
	snprintf(
	    buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

/* Parse fixture source/name with the event header; must succeed. */
static void
parse_ok(const char *source, const char *event, const char *name,
    struct fixture *fx, struct webhook_event *ev)
{
	struct gantry_error err = {0};
	enum webhook_source src;

	ck_assert(webhook_source_parse(source, &src));
	fixture_load(fx, source, name);
	ck_assert_msg(
	    webhook_parse(src, event, fx->text, fx->len, ev, &err) == 0,
	    "%s/%s: %s", source, name, err.msg);
	ck_assert_int_eq(ev->source, src);
}

/* Parse text, which must fail with code and a message starting with msg. */
static void
parse_fails(enum webhook_source src, const char *event, const char *text,
    size_t len, enum gantry_err code, const char *msg)
{
	struct gantry_error err = {0};
	struct webhook_event ev;

	memset(&ev, 0xa5, sizeof(ev));
	ck_assert_int_eq(webhook_parse(src, event, text, len, &ev, &err), -1);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strncmp(err.msg, msg, strlen(msg)) == 0,
	    "error \"%s\", expected \"%s...\"", err.msg, msg);
	/* Nothing is left behind on failure. */
	ck_assert_ptr_null(ev.repository);
	ck_assert_ptr_null(ev.why);
	ck_assert_uint_eq(ev.napprovers, 0);
}

/* The fixture's JSON, edited by the caller, as text (caller frees). */
static char *
fx_dump(const struct fixture *fx)
{
	char *s = json_dumps(fx->doc, JSON_COMPACT);

	ck_assert_ptr_nonnull(s);
	return s;
}

static void
assert_ignored(const struct webhook_event *ev, const char *why)
{
	ck_assert_int_eq(ev->kind, WEBHOOK_IGNORED);
	ck_assert_ptr_nonnull(ev->why);
	ck_assert_str_eq(ev->why, why);
}

/* --- names ------------------------------------------------------------------ */

START_TEST(test_names)
{
	enum webhook_source s = WEBHOOK_GERRIT;

	ck_assert_str_eq(webhook_source_name(WEBHOOK_GITHUB), "github");
	ck_assert_str_eq(webhook_source_name(WEBHOOK_GITLAB), "gitlab");
	ck_assert_str_eq(webhook_source_name(WEBHOOK_GERRIT), "gerrit");
	ck_assert_str_eq(
	    webhook_source_name((enum webhook_source)42), "unknown");
	ck_assert(webhook_source_parse("gitlab", &s));
	ck_assert_int_eq(s, WEBHOOK_GITLAB);
	ck_assert(!webhook_source_parse("GitHub", &s));
	ck_assert(!webhook_source_parse("bitbucket", &s));
	ck_assert(!webhook_source_parse(NULL, &s));
	ck_assert_int_eq(s, WEBHOOK_GITLAB);
	ck_assert_str_eq(webhook_kind_name(WEBHOOK_IGNORED), "ignored");
	ck_assert_str_eq(webhook_kind_name(WEBHOOK_PUSH), "push");
	ck_assert_str_eq(webhook_kind_name(WEBHOOK_APPROVED), "approved");
	ck_assert_str_eq(
	    webhook_kind_name(WEBHOOK_APPROVAL_REMOVED), "approval_removed");
	ck_assert_str_eq(webhook_kind_name(WEBHOOK_MERGED), "merged");
	ck_assert_str_eq(webhook_kind_name((enum webhook_kind) - 1), "unknown");
}
END_TEST

/* --- GitHub ----------------------------------------------------------------- */

START_TEST(test_github_push)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "push", "push", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_PUSH);
	ck_assert_str_eq(ev.repository, "acme/orders");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "after"));
	ck_assert_str_eq(ev.author, "mhansen");
	ck_assert(!ev.forced);
	ck_assert_ptr_null(ev.change);
	ck_assert_ptr_null(ev.head_revision);
	ck_assert_ptr_null(ev.reviewer);
	ck_assert_ptr_null(ev.why);
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_push_forced)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "push", "push-forced", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_PUSH);
	ck_assert(ev.forced);
	ck_assert_str_eq(ev.revision, fx_str(&fx, "after"));
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_push_deleted)
{
	struct webhook_event ev;
	struct fixture fx;
	char *text;

	parse_ok("github", "push", "push-branch-deleted", &fx, &ev);
	assert_ignored(&ev, "branch deleted");
	ck_assert_str_eq(ev.branch, "feature/old-cart");
	ck_assert_ptr_null(ev.revision);
	webhook_event_clear(&ev);
	/* after = 40 zeros alone is enough, and so is deleted alone */
	json_object_set_new(fx.doc, "deleted", json_false());
	text = fx_dump(&fx);
	ck_assert_int_eq(webhook_parse(WEBHOOK_GITHUB, "push", text,
	                     strlen(text), &ev, NULL),
	    0);
	assert_ignored(&ev, "branch deleted");
	webhook_event_clear(&ev);
	free(text);
	json_object_set_new(fx.doc, "deleted", json_true());
	json_object_set_new(fx.doc, "after",
	    json_string("1f0e3c9b6ab4d1e7c0d5a2f4b8e6d3c1a9f7e5b3"));
	text = fx_dump(&fx);
	ck_assert_int_eq(webhook_parse(WEBHOOK_GITHUB, "push", text,
	                     strlen(text), &ev, NULL),
	    0);
	assert_ignored(&ev, "branch deleted");
	webhook_event_clear(&ev);
	free(text);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_push_tag)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "push", "push-tag", &fx, &ev);
	assert_ignored(&ev, "tag push");
	ck_assert_ptr_null(ev.branch);
	ck_assert_str_eq(ev.repository, "acme/orders");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

/* A push to a non-mainline branch is a push for that branch; the head
 * commit's author has no GitHub account, so the email stands in. */
START_TEST(test_github_push_other_branch)
{
	struct webhook_event ev;
	struct fixture fx;
	char *text;

	parse_ok("github", "push", "push-feature-branch", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_PUSH);
	ck_assert_str_eq(ev.branch, "release/2026.05");
	ck_assert_str_eq(ev.author, "dev@contractor.example");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "after"));
	webhook_event_clear(&ev);
	/* no head commit at all: the pusher */
	json_object_set_new(fx.doc, "head_commit", json_null());
	text = fx_dump(&fx);
	ck_assert_int_eq(webhook_parse(WEBHOOK_GITHUB, "push", text,
	                     strlen(text), &ev, NULL),
	    0);
	ck_assert_str_eq(ev.author, "mhansen");
	webhook_event_clear(&ev);
	free(text);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_ping_and_unknown)
{
	static const char meta[] = "{\"action\":\"deleted\"}";
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "ping", "ping", &fx, &ev);
	assert_ignored(&ev, "event ping");
	ck_assert_str_eq(ev.repository, "acme/orders");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("github", "issues", "issues", &fx, &ev);
	assert_ignored(&ev, "event issues not handled");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	/* unknown events need no repository (organisation hooks) */
	ck_assert_int_eq(webhook_parse(WEBHOOK_GITHUB, "meta", meta,
	                     strlen(meta), &ev, NULL),
	    0);
	assert_ignored(&ev, "event meta not handled");
	ck_assert_ptr_null(ev.repository);
	webhook_event_clear(&ev);
}
END_TEST

START_TEST(test_github_pr_merged)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "pull_request", "pull_request-merged", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_MERGED);
	ck_assert_str_eq(ev.repository, "acme/orders");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(
	    ev.revision, fx_str(&fx, "pull_request.merge_commit_sha"));
	ck_assert_str_eq(
	    ev.head_revision, fx_str(&fx, "pull_request.head.sha"));
	ck_assert_str_ne(ev.revision, ev.head_revision);
	ck_assert_str_eq(ev.change, "412");
	ck_assert_str_eq(ev.author, "mhansen");
	ck_assert_str_eq(ev.author_id, fx_int(&fx, "pull_request.user.id"));
	ck_assert_uint_eq(ev.napprovers, 0);
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_pr_not_merged)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "pull_request", "pull_request-closed", &fx, &ev);
	assert_ignored(&ev, "pull request closed without merge");
	ck_assert_str_eq(ev.change, "413");
	ck_assert_ptr_null(ev.revision);
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("github", "pull_request", "pull_request-opened", &fx, &ev);
	assert_ignored(&ev, "pull request opened");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_review_approved)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "pull_request_review",
	    "pull_request_review-approved", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVED);
	ck_assert_str_eq(ev.repository, "acme/orders");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "review.commit_id"));
	ck_assert_str_eq(ev.reviewer, "kpatel");
	ck_assert_str_eq(ev.reviewer_id, fx_int(&fx, "review.user.id"));
	ck_assert_str_eq(ev.author, "mhansen");
	ck_assert_str_eq(ev.author_id, fx_int(&fx, "pull_request.user.id"));
	ck_assert_str_eq(ev.change, "412");
	ck_assert_ptr_null(ev.head_revision);
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_review_not_approval)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "pull_request_review",
	    "pull_request_review-commented", &fx, &ev);
	assert_ignored(&ev, "review state commented");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("github", "pull_request_review",
	    "pull_request_review-changes_requested", &fx, &ev);
	assert_ignored(&ev, "review state changes_requested");
	ck_assert_ptr_null(ev.reviewer);
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

/* A dismissal withdraws the reviewer's approval (review.user), not the
 * dismisser's (sender). */
START_TEST(test_github_review_dismissed)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "pull_request_review",
	    "pull_request_review-dismissed", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVAL_REMOVED);
	ck_assert_str_eq(ev.reviewer, "kpatel");
	ck_assert_str_ne(ev.reviewer, fx_str(&fx, "sender.login"));
	ck_assert_str_eq(ev.revision, fx_str(&fx, "review.commit_id"));
	ck_assert_str_eq(ev.change, "412");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

/* Self approval is reported as it is; the gate refuses it. */
START_TEST(test_github_self_approval)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("github", "pull_request_review",
	    "pull_request_review-self-approved", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVED);
	ck_assert_ptr_nonnull(ev.reviewer);
	ck_assert_ptr_nonnull(ev.author);
	ck_assert_str_eq(ev.reviewer, ev.author);
	ck_assert_str_eq(ev.reviewer_id, ev.author_id);
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_github_malformed)
{
	struct fixture fx;
	char *text;

	fixture_load(&fx, "github", "push-no-repository");
	parse_fails(WEBHOOK_GITHUB, "push", fx.text, fx.len, GANTRY_EINVAL,
	    "repository.full_name: missing");
	fixture_free(&fx);
	fixture_load(&fx, "github", "push");
	parse_fails(WEBHOOK_GITHUB, NULL, fx.text, fx.len, GANTRY_EINVAL,
	    "X-GitHub-Event: missing");
	parse_fails(WEBHOOK_GITHUB, "", fx.text, fx.len, GANTRY_EINVAL,
	    "X-GitHub-Event: missing");
	/* truncated JSON */
	parse_fails(WEBHOOK_GITHUB, "push", fx.text, fx.len / 2, GANTRY_EINVAL,
	    "body: line");
	json_object_set_new(fx.doc, "after", json_string("HEAD"));
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GITHUB, "push", text, strlen(text), GANTRY_EINVAL,
	    "after: not a commit id");
	free(text);
	json_object_set_new(json_object_get(fx.doc, "repository"), "full_name",
	    json_integer(7));
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GITHUB, "push", text, strlen(text), GANTRY_EINVAL,
	    "repository.full_name: not a string");
	free(text);
	fixture_free(&fx);
	fixture_load(&fx, "github", "pull_request-merged");
	json_object_del(json_object_get(fx.doc, "pull_request"), "head");
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GITHUB, "pull_request", text, strlen(text),
	    GANTRY_EINVAL, "pull_request.head.sha: missing");
	free(text);
	fixture_free(&fx);
	fixture_load(&fx, "github", "pull_request_review-approved");
	json_object_del(json_object_get(fx.doc, "review"), "user");
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GITHUB, "pull_request_review", text, strlen(text),
	    GANTRY_EINVAL, "review.user.login: missing");
	free(text);
	fixture_free(&fx);
}
END_TEST

/* Bodies that are not a JSON object, and size limits. */
START_TEST(test_not_an_object)
{
	static const char *const bodies[] = {
	    "", "{", "[1, 2]", "\"push\"", "42", "null", "{\"a\":1} x",
	    "{\"ref\":1,\"ref\":2}", /* duplicate keys are refused */
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		parse_fails(WEBHOOK_GITHUB, "push", bodies[i],
		    strlen(bodies[i]), GANTRY_EINVAL, "body: ");
		parse_fails(WEBHOOK_GERRIT, NULL, bodies[i], strlen(bodies[i]),
		    GANTRY_EINVAL, "body: ");
	}
	parse_fails(
	    WEBHOOK_GITLAB, "Push Hook", NULL, 0, GANTRY_EINVAL, "body: ");
	/* refused before anything past the first byte is read */
	parse_fails(WEBHOOK_GITLAB, "Push Hook", "{", WEBHOOK_BODY_MAX + 1,
	    GANTRY_ETOOBIG, "body: larger than");
	/* the body need not be NUL-terminated: only len bytes are read */
	{
		struct webhook_event ev;
		const char text[] = "{\"type\":\"patchset-created\"}garbage";

		ck_assert_int_eq(webhook_parse(WEBHOOK_GERRIT, NULL, text,
		                     strlen(text) - 7, &ev, NULL),
		    0);
		assert_ignored(&ev, "event patchset-created not handled");
		webhook_event_clear(&ev);
	}
}
END_TEST

/* --- GitLab ----------------------------------------------------------------- */

START_TEST(test_gitlab_push)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("gitlab", "Push Hook", "push", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_PUSH);
	ck_assert_str_eq(ev.repository, "shop/orders");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "after"));
	ck_assert_str_eq(ev.revision, fx_str(&fx, "checkout_sha"));
	ck_assert_str_eq(ev.author, "lvogt");
	ck_assert_str_eq(ev.author_id, "118");
	ck_assert(!ev.forced);
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gitlab", "Push Hook", "push-branch-deleted", &fx, &ev);
	assert_ignored(&ev, "branch deleted");
	ck_assert_str_eq(ev.branch, "hotfix/cart");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gitlab", "Tag Push Hook", "tag-push", &fx, &ev);
	assert_ignored(&ev, "tag push");
	ck_assert_str_eq(ev.repository, "shop/orders");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

/* approved / approval and unapproved / unapproval. */
START_TEST(test_gitlab_approvals)
{
	static const struct {
		const char *fixture;
		enum webhook_kind kind;
	} cases[] = {
	    {"mr-approved", WEBHOOK_APPROVED},
	    {"mr-approval", WEBHOOK_APPROVED},
	    {"mr-unapproved", WEBHOOK_APPROVAL_REMOVED},
	    {"mr-unapproval", WEBHOOK_APPROVAL_REMOVED},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct webhook_event ev;
		struct fixture fx;

		parse_ok(
		    "gitlab", "Merge Request Hook", cases[i].fixture, &fx, &ev);
		ck_assert_msg(ev.kind == cases[i].kind, "%s: kind %s",
		    cases[i].fixture, webhook_kind_name(ev.kind));
		ck_assert_str_eq(ev.repository, "shop/orders");
		ck_assert_str_eq(ev.branch, "main");
		ck_assert_str_eq(ev.change, "57");
		ck_assert_str_eq(ev.reviewer, "tberg");
		ck_assert_str_eq(ev.reviewer_id, "203");
		ck_assert_str_eq(ev.author_id, "118");
		ck_assert_ptr_null(ev.author); /* GitLab names it by id only */
		ck_assert_str_eq(ev.revision,
		    fx_str(&fx, "object_attributes.last_commit.id"));
		webhook_event_clear(&ev);
		fixture_free(&fx);
	}
}
END_TEST

START_TEST(test_gitlab_merge)
{
	struct webhook_event ev;
	struct fixture fx;
	char *text;

	parse_ok("gitlab", "Merge Request Hook", "mr-merge", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_MERGED);
	ck_assert_str_eq(
	    ev.revision, fx_str(&fx, "object_attributes.merge_commit_sha"));
	ck_assert_str_eq(
	    ev.head_revision, fx_str(&fx, "object_attributes.last_commit.id"));
	ck_assert_str_ne(ev.revision, ev.head_revision);
	ck_assert_str_eq(ev.change, "57");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(ev.author_id, "118");
	ck_assert_ptr_null(ev.reviewer);
	ck_assert_uint_eq(ev.napprovers, 0);
	webhook_event_clear(&ev);
	fixture_free(&fx);
	/* fast-forward: no merge commit, the head landed as it is */
	parse_ok(
	    "gitlab", "Merge Request Hook", "mr-merge-fast-forward", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_MERGED);
	ck_assert_str_eq(ev.revision, ev.head_revision);
	webhook_event_clear(&ev);
	/* fast-forward with squash: the squash commit landed */
	json_object_set_new(json_object_get(fx.doc, "object_attributes"),
	    "squash_commit_sha",
	    json_string("7A3C9E1B5D2F4A6C8E0B1D3F5A7C9E1B3D5F7A9C"));
	text = fx_dump(&fx);
	ck_assert_int_eq(webhook_parse(WEBHOOK_GITLAB, "Merge Request Hook",
	                     text, strlen(text), &ev, NULL),
	    0);
	ck_assert_str_eq(
	    ev.revision, "7a3c9e1b5d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c");
	webhook_event_clear(&ev);
	free(text);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_gitlab_ignored)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("gitlab", "Merge Request Hook", "mr-close", &fx, &ev);
	assert_ignored(&ev, "merge request closed without merge");
	ck_assert_str_eq(ev.change, "57");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gitlab", "Merge Request Hook", "mr-update", &fx, &ev);
	assert_ignored(&ev, "merge request update");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gitlab", "Pipeline Hook", "push", &fx, &ev);
	assert_ignored(&ev, "event Pipeline Hook not handled");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

/* A system hook: one header, the body's object_kind decides. */
START_TEST(test_gitlab_system_hook)
{
	static const char user[] = "{\"event_name\":\"user_create\"}";
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("gitlab", "System Hook", "mr-approved", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVED);
	ck_assert_str_eq(ev.reviewer, "tberg");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gitlab", "System Hook", "push", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_PUSH);
	webhook_event_clear(&ev);
	fixture_free(&fx);
	ck_assert_int_eq(webhook_parse(WEBHOOK_GITLAB, "System Hook", user,
	                     strlen(user), &ev, NULL),
	    0);
	assert_ignored(&ev, "event System Hook not handled");
	webhook_event_clear(&ev);
}
END_TEST

START_TEST(test_gitlab_malformed)
{
	struct fixture fx;
	char *text;

	fixture_load(&fx, "gitlab", "push");
	parse_fails(WEBHOOK_GITLAB, "Merge Request Hook", fx.text, fx.len,
	    GANTRY_EINVAL,
	    "object_kind: push does not match Merge Request Hook");
	parse_fails(WEBHOOK_GITLAB, NULL, fx.text, fx.len, GANTRY_EINVAL,
	    "X-Gitlab-Event: missing");
	json_object_del(fx.doc, "project");
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GITLAB, "Push Hook", text, strlen(text),
	    GANTRY_EINVAL, "project.path_with_namespace: missing");
	free(text);
	fixture_free(&fx);
	fixture_load(&fx, "gitlab", "mr-approved");
	json_object_set_new(json_object_get(fx.doc, "object_attributes"), "iid",
	    json_string("57a"));
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GITLAB, "Merge Request Hook", text, strlen(text),
	    GANTRY_EINVAL, "object_attributes.iid: not a number");
	free(text);
	json_object_set_new(json_object_get(fx.doc, "object_attributes"), "iid",
	    json_integer(57));
	json_object_del(fx.doc, "user");
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GITLAB, "Merge Request Hook", text, strlen(text),
	    GANTRY_EINVAL, "user.username: missing");
	free(text);
	fixture_free(&fx);
}
END_TEST

/* --- Gerrit ----------------------------------------------------------------- */

START_TEST(test_gerrit_ref_updated)
{
	struct webhook_event ev;
	struct fixture fx;
	char *text;

	parse_ok("gerrit", NULL, "ref-updated", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_PUSH);
	ck_assert_str_eq(ev.repository, "platform/orders");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "refUpdate.newRev"));
	ck_assert_str_eq(ev.author, "jmeyer");
	ck_assert_ptr_null(ev.change);
	webhook_event_clear(&ev);
	/* Gerrit before 2.13 sent the bare branch name */
	json_object_set_new(json_object_get(fx.doc, "refUpdate"), "refName",
	    json_string("main"));
	text = fx_dump(&fx);
	ck_assert_int_eq(
	    webhook_parse(WEBHOOK_GERRIT, NULL, text, strlen(text), &ev, NULL),
	    0);
	ck_assert_int_eq(ev.kind, WEBHOOK_PUSH);
	ck_assert_str_eq(ev.branch, "main");
	webhook_event_clear(&ev);
	free(text);
	fixture_free(&fx);
	parse_ok("gerrit", NULL, "ref-updated-deleted", &fx, &ev);
	assert_ignored(&ev, "branch deleted");
	ck_assert_str_eq(ev.branch, "stable-1.2");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gerrit", NULL, "ref-updated-change", &fx, &ev);
	assert_ignored(&ev, "ref refs/changes/81/22381/meta is not a branch");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_gerrit_code_review_2)
{
	struct webhook_event ev;
	struct fixture fx;
	char *text;

	parse_ok("gerrit", NULL, "comment-added-cr2", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVED);
	ck_assert_str_eq(ev.repository, "platform/orders");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(ev.change, "22381");
	ck_assert_str_eq(ev.reviewer, "jmeyer");
	ck_assert_str_eq(ev.author, "aruiz");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "patchSet.revision"));
	ck_assert_ptr_null(ev.reviewer_id);
	webhook_event_clear(&ev);
	/* an older Gerrit: the change number as a string, no oldValue */
	json_object_set_new(
	    json_object_get(fx.doc, "change"), "number", json_string("22381"));
	json_object_del(json_array_get(json_object_get(fx.doc, "approvals"), 0),
	    "oldValue");
	text = fx_dump(&fx);
	ck_assert_int_eq(
	    webhook_parse(WEBHOOK_GERRIT, NULL, text, strlen(text), &ev, NULL),
	    0);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVED);
	ck_assert_str_eq(ev.change, "22381");
	webhook_event_clear(&ev);
	free(text);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_gerrit_code_review_other)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("gerrit", NULL, "comment-added-cr2-removed", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVAL_REMOVED);
	ck_assert_str_eq(ev.reviewer, "jmeyer");
	ck_assert_str_eq(ev.change, "22381");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "patchSet.revision"));
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gerrit", NULL, "comment-added-cr1", &fx, &ev);
	assert_ignored(&ev, "Code-Review +1");
	ck_assert_ptr_null(ev.reviewer);
	webhook_event_clear(&ev);
	/* +1 withdrawn, or turned to -1: no approval was there to remove */
	for (int i = 0; i < 2; i++) {
		json_t *cr =
		    json_array_get(json_object_get(fx.doc, "approvals"), 0);
		char *text;

		json_object_set_new(cr, "oldValue", json_string("1"));
		json_object_set_new(cr, "value", json_string(i ? "-1" : "0"));
		text = fx_dump(&fx);
		ck_assert_int_eq(webhook_parse(WEBHOOK_GERRIT, NULL, text,
		                     strlen(text), &ev, NULL),
		    0);
		assert_ignored(&ev, i ? "Code-Review -1" : "Code-Review 0");
		webhook_event_clear(&ev);
		free(text);
	}
	fixture_free(&fx);
	parse_ok("gerrit", NULL, "comment-added-verified", &fx, &ev);
	assert_ignored(&ev, "no Code-Review vote");
	webhook_event_clear(&ev);
	fixture_free(&fx);
	/* vote-deleted: the reviewer's +2 is gone, whoever removed it */
	parse_ok("gerrit", NULL, "vote-deleted", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_APPROVAL_REMOVED);
	ck_assert_str_eq(ev.reviewer, "jmeyer");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_gerrit_merged)
{
	struct webhook_event ev;
	struct fixture fx;

	parse_ok("gerrit", NULL, "change-merged", &fx, &ev);
	ck_assert_int_eq(ev.kind, WEBHOOK_MERGED);
	ck_assert_str_eq(ev.repository, "platform/orders");
	ck_assert_str_eq(ev.branch, "main");
	ck_assert_str_eq(ev.change, "22381");
	ck_assert_str_eq(ev.author, "aruiz");
	ck_assert_str_eq(ev.revision, fx_str(&fx, "newRev"));
	ck_assert_str_eq(ev.head_revision, fx_str(&fx, "patchSet.revision"));
	ck_assert_str_ne(ev.revision, ev.head_revision);
	ck_assert_uint_eq(ev.napprovers, 0);
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gerrit", "ignored header", "patchset-created", &fx, &ev);
	assert_ignored(&ev, "event patchset-created not handled");
	ck_assert_str_eq(ev.repository, "platform/orders");
	webhook_event_clear(&ev);
	fixture_free(&fx);
}
END_TEST

START_TEST(test_gerrit_malformed)
{
	static const char untyped[] = "{\"change\":{}}";
	struct fixture fx;
	char *text;

	parse_fails(WEBHOOK_GERRIT, NULL, untyped, strlen(untyped),
	    GANTRY_EINVAL, "type: missing");
	fixture_load(&fx, "gerrit", "comment-added-cr2");
	json_object_set_new(
	    json_array_get(json_object_get(fx.doc, "approvals"), 0), "value",
	    json_string("two"));
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GERRIT, NULL, text, strlen(text), GANTRY_EINVAL,
	    "approvals[0].value: not a vote");
	free(text);
	json_object_set_new(fx.doc, "approvals", json_string("Code-Review+2"));
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GERRIT, NULL, text, strlen(text), GANTRY_EINVAL,
	    "approvals: not an array");
	free(text);
	json_object_del(json_object_get(fx.doc, "change"), "number");
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GERRIT, NULL, text, strlen(text), GANTRY_EINVAL,
	    "change.number: missing");
	free(text);
	fixture_free(&fx);
	fixture_load(&fx, "gerrit", "change-merged");
	json_object_del(fx.doc, "newRev");
	text = fx_dump(&fx);
	parse_fails(WEBHOOK_GERRIT, NULL, text, strlen(text), GANTRY_EINVAL,
	    "newRev: missing");
	free(text);
	fixture_free(&fx);
}
END_TEST

/* --- to_json ---------------------------------------------------------------- */

START_TEST(test_to_json)
{
	struct webhook_event ev;
	struct fixture fx;
	json_t *j;

	parse_ok("github", "pull_request", "pull_request-merged", &fx, &ev);
	j = webhook_event_to_json(&ev);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "source")), "github");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "kind")), "merged");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "revision")), ev.revision);
	ck_assert_str_eq(json_string_value(json_object_get(j, "head_revision")),
	    ev.head_revision);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "change")), "412");
	ck_assert(json_is_null(json_object_get(j, "reviewer")));
	ck_assert(json_is_null(json_object_get(j, "why")));
	ck_assert(json_is_array(json_object_get(j, "approvers")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "approvers")), 0);
	ck_assert(json_is_false(json_object_get(j, "forced")));
	ck_assert_uint_eq(json_object_size(j), 14);
	json_decref(j);
	webhook_event_clear(&ev);
	fixture_free(&fx);
	parse_ok("gitlab", "Tag Push Hook", "tag-push", &fx, &ev);
	j = webhook_event_to_json(&ev);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "kind")), "ignored");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "why")), "tag push");
	json_decref(j);
	webhook_event_clear(&ev);
	webhook_event_clear(&ev); /* twice is fine */
	webhook_event_clear(NULL);
	fixture_free(&fx);
	/* approvers a caller filled in */
	{
		char *names[] = {strdup("kpatel"), strdup("tberg")};

		memset(&ev, 0, sizeof(ev));
		ev.kind = WEBHOOK_MERGED;
		ev.approvers = malloc(sizeof(names));
		ck_assert_ptr_nonnull(ev.approvers);
		memcpy(ev.approvers, names, sizeof(names));
		ev.napprovers = 2;
		j = webhook_event_to_json(&ev);
		ck_assert_str_eq(json_string_value(json_array_get(
		                     json_object_get(j, "approvers"), 1)),
		    "tberg");
		json_decref(j);
		webhook_event_clear(&ev);
		ck_assert_ptr_null(ev.approvers);
	}
}
END_TEST

/* --- signatures ------------------------------------------------------------- */

/* The example of GitHub's "Validating webhook deliveries". */
static const char gh_secret[] = "It's a Secret to Everybody";
static const char gh_body[] = "Hello, World!";
static const char gh_sig[] = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d"
                             "7586c22c46f4379c8b043e17";

START_TEST(test_verify_github)
{
	char body[sizeof(gh_body)], sig[sizeof(gh_sig)];

	ck_assert(
	    webhook_verify_github(gh_secret, gh_body, strlen(gh_body), gh_sig));
	/* one byte of the body changed */
	memcpy(body, gh_body, sizeof(body));
	body[0] = 'h';
	ck_assert(
	    !webhook_verify_github(gh_secret, body, strlen(body), gh_sig));
	/* one byte less of the body */
	ck_assert(!webhook_verify_github(
	    gh_secret, gh_body, strlen(gh_body) - 1, gh_sig));
	/* another secret */
	ck_assert(!webhook_verify_github(
	    "It's a secret to everybody", gh_body, strlen(gh_body), gh_sig));
	/* one hex digit of the signature changed */
	memcpy(sig, gh_sig, sizeof(sig));
	sig[sizeof(sig) - 2] = sig[sizeof(sig) - 2] == '7' ? '8' : '7';
	ck_assert(
	    !webhook_verify_github(gh_secret, gh_body, strlen(gh_body), sig));
	/* wrong prefixes: the SHA-1 header, upper case, none */
	ck_assert(!webhook_verify_github(gh_secret, gh_body, strlen(gh_body),
	    "sha1="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1"
	    "7"));
	ck_assert(!webhook_verify_github(gh_secret, gh_body, strlen(gh_body),
	    "SHA256="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b04"
	    "3e17"));
	ck_assert(!webhook_verify_github(
	    gh_secret, gh_body, strlen(gh_body), gh_sig + strlen("sha256=")));
	/* truncated, extended, not hex */
	ck_assert(!webhook_verify_github(gh_secret, gh_body, strlen(gh_body),
	    "sha256="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b04"
	    "3e1"));
	ck_assert(!webhook_verify_github(gh_secret, gh_body, strlen(gh_body),
	    "sha256="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b04"
	    "3e170"));
	ck_assert(!webhook_verify_github(gh_secret, gh_body, strlen(gh_body),
	    "sha256="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b04"
	    "3e1g"));
	/* empty or missing header, empty or missing secret */
	ck_assert(
	    !webhook_verify_github(gh_secret, gh_body, strlen(gh_body), ""));
	ck_assert(
	    !webhook_verify_github(gh_secret, gh_body, strlen(gh_body), NULL));
	ck_assert(!webhook_verify_github("", gh_body, strlen(gh_body), gh_sig));
	ck_assert(
	    !webhook_verify_github(NULL, gh_body, strlen(gh_body), gh_sig));
	/* upper-case hex digits are accepted (documented in webhook.h) */
	ck_assert(webhook_verify_github(gh_secret, gh_body, strlen(gh_body),
	    "sha256="
	    "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B04"
	    "3E17"));
	/* an empty body has a signature too */
	ck_assert(!webhook_verify_github(gh_secret, NULL, 0, gh_sig));
}
END_TEST

START_TEST(test_verify_token)
{
	ck_assert(webhook_verify_token("glpat-s3cret", "glpat-s3cret"));
	ck_assert(!webhook_verify_token("glpat-s3cret", "glpat-s3creT"));
	ck_assert(!webhook_verify_token("glpat-s3cret", "glpat-s3cre"));
	ck_assert(!webhook_verify_token("glpat-s3cret", "glpat-s3cret "));
	ck_assert(!webhook_verify_token("glpat-s3cret", ""));
	ck_assert(!webhook_verify_token("glpat-s3cret", NULL));
	ck_assert(!webhook_verify_token(NULL, "glpat-s3cret"));
	ck_assert(!webhook_verify_token(NULL, NULL));
	/* no configured token never matches, not even an empty one */
	ck_assert(!webhook_verify_token("", ""));
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_github_push);
	tcase_add_test(tc, test_github_push_forced);
	tcase_add_test(tc, test_github_push_deleted);
	tcase_add_test(tc, test_github_push_tag);
	tcase_add_test(tc, test_github_push_other_branch);
	tcase_add_test(tc, test_github_ping_and_unknown);
	tcase_add_test(tc, test_github_pr_merged);
	tcase_add_test(tc, test_github_pr_not_merged);
	tcase_add_test(tc, test_github_review_approved);
	tcase_add_test(tc, test_github_review_not_approval);
	tcase_add_test(tc, test_github_review_dismissed);
	tcase_add_test(tc, test_github_self_approval);
	tcase_add_test(tc, test_github_malformed);
	tcase_add_test(tc, test_not_an_object);
	tcase_add_test(tc, test_gitlab_push);
	tcase_add_test(tc, test_gitlab_approvals);
	tcase_add_test(tc, test_gitlab_merge);
	tcase_add_test(tc, test_gitlab_ignored);
	tcase_add_test(tc, test_gitlab_system_hook);
	tcase_add_test(tc, test_gitlab_malformed);
	tcase_add_test(tc, test_gerrit_ref_updated);
	tcase_add_test(tc, test_gerrit_code_review_2);
	tcase_add_test(tc, test_gerrit_code_review_other);
	tcase_add_test(tc, test_gerrit_merged);
	tcase_add_test(tc, test_gerrit_malformed);
	tcase_add_test(tc, test_to_json);
	tcase_add_test(tc, test_verify_github);
	tcase_add_test(tc, test_verify_token);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(webhook_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
