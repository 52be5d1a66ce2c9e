/*
 * check_pipeline_parse.c - unit tests for lib/pipeline_parse.c and
 * lib/pipeline.c: a full pipeline (SPEC.md section 3) parses into the
 * expected structs, defaults apply, every error class is reported with its
 * exact path, and the golden fixtures under tests/data/pipeline/ give
 * exactly the diagnostics their .err files list.
 *
 * Golden fixtures: tests/data/pipeline/invalid/NNN-name.yaml is loaded with
 * yaml_load() and parsed with file = its basename; the diag list must equal
 * NNN-name.err line by line (order included).  Fixtures whose name contains
 * "floor" are parsed with every safety floor set (all_floors below);
 * others with no floors.  Calendars go through test_io: a name containing
 * "missing" cannot be read, one containing "broken" is not iCalendar,
 * anything else is a small valid VCALENDAR.  tests/data/pipeline/valid/
 * holds files (.yaml or .json) that must parse with no message, under the
 * same rules.  The fixtures are found through $top_srcdir (default ".").
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "diag.h"
#include "pipeline.h"
#include "yaml_load.h"

#define FILE_NAME "p.yaml"
#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)

static const char calendar_text[] = "BEGIN:VCALENDAR\r\n"
                                    "VERSION:2.0\r\n"
                                    "PRODID:-//gantry//tests//EN\r\n"
                                    "BEGIN:VEVENT\r\n"
                                    "UID:freeze-1@gantry.test\r\n"
                                    "DTSTAMP:20260101T000000Z\r\n"
                                    "DTSTART:20261224T000000Z\r\n"
                                    "DTEND:20261227T000000Z\r\n"
                                    "SUMMARY:holiday freeze\r\n"
                                    "END:VEVENT\r\n"
                                    "END:VCALENDAR\r\n";

/* Counts calls, and records the last file/relpath, for the io tests. */
struct io_log {
	int calls;
	char file[64];
	char relpath[128];
};

static int
test_read(void *ctx, const char *file, const char *relpath, char **text,
    size_t *len, char *why, size_t whylen)
{
	struct io_log *log = ctx;
	const char *src = calendar_text;

	if (log != NULL) {
		log->calls++;
		snprintf(log->file, sizeof(log->file), "%s", file ? file : "");
		snprintf(log->relpath, sizeof(log->relpath), "%s", relpath);
	}
	if (strstr(relpath, "missing") != NULL) {
		snprintf(why, whylen, "%s: %s", relpath, strerror(ENOENT));
		return -1;
	}
	if (strstr(relpath, "broken") != NULL)
		src = "this is not a calendar\n";
	*text = strdup(src);
	if (*text == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	*len = strlen(src);
	return 0;
}

static const struct pipeline_io test_io = {test_read, NULL};

/* Every safety floor, for fixtures named *floor*. */
static const struct pipeline_floors all_floors = {
    .require_one_box = true,
    .min_bake_ms = HOUR_MS,
    .min_one_box_bake_ms = 30 * MIN_MS,
    .require_fault_alarm = true,
    .require_latency_alarm = true,
    .max_regions_early_waves = 2,
    .require_review = true,
};

static void
dump_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  diag[%zu] = %s\n", i, d->msgs[i]);
}

static json_t *
load_yaml(const char *text)
{
	struct gantry_error err;
	json_t *doc = yaml_load(text, strlen(text), &err);

	ck_assert_msg(doc != NULL, "bad test YAML: %s", err.msg);
	return doc;
}

static struct pipeline *
parse_with(
    const char *yaml, const struct pipeline_floors *floors, struct diag *d)
{
	json_t *doc = load_yaml(yaml);
	struct pipeline *p =
	    pipeline_parse(doc, FILE_NAME, floors, &test_io, d);

	json_decref(doc);
	return p;
}

/* yaml must parse without any message. */
static struct pipeline *
parse_ok(const char *yaml, const struct pipeline_floors *floors)
{
	struct diag d = {0};
	struct pipeline *p = parse_with(yaml, floors, &d);

	if (d.n > 0)
		dump_diag(&d);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_nonnull(p);
	diag_clear(&d);
	return p;
}

/* yaml must fail with exactly the messages in want (NULL-terminated), in
 * that order, each written without the "p.yaml:" prefix. */
static void
assert_diag(const char *yaml, const struct pipeline_floors *floors,
    const char *const *want)
{
	struct diag d = {0};
	struct pipeline *p = parse_with(yaml, floors, &d);
	size_t n = 0;
	bool same;

	while (want[n] != NULL)
		n++;
	same = d.n == n && d.dropped == 0;
	for (size_t i = 0; same && i < n; i++) {
		char line[1024];

		snprintf(line, sizeof(line), FILE_NAME ":%s", want[i]);
		same = strcmp(line, d.msgs[i]) == 0;
	}
	if (!same) {
		fprintf(stderr, "want:\n");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "  " FILE_NAME ":%s\n", want[i]);
		fprintf(stderr, "got:\n");
		dump_diag(&d);
	}
	ck_assert_msg(same, "diagnostics differ (see above)");
	ck_assert_ptr_null(p);
	diag_clear(&d);
}

#define HEAD                                                                   \
	"pipeline: shop\n"                                                     \
	"service: shop\n"                                                      \
	"source: application\n"

#define DEPLOY_HOOKS "hooks: {deploy: hooks/deploy, rollback: hooks/rollback}\n"

/* SPEC.md section 3's example, adapted to the grammar. */
static const char full_yaml[] =
    "pipeline: orders-api\n"
    "service: orders\n"
    "source: application\n"
    "review: {required: true}\n"
    "concurrency: queue\n"
    "hooks:\n"
    "  build: hooks/build\n"
    "  deploy: hooks/deploy\n"
    "  rollback: hooks/rollback\n"
    "  notify: hooks/page-oncall\n"
    "  functional: {command: hooks/functional, timeout: 20m}\n"
    "hook_timeout: 15m\n"
    "signing: {public_key: keys/ci.pub}\n"
    "alarms:\n"
    "  errors:  {prometheus: 'sum(rate(errors[1m]))', above: 0.01, "
    "period: 30s, datapoints: 3/5}\n"
    "  latency: {prometheus: 'histogram_quantile(0.99, x)', above: 0.5, "
    "period: 1m, datapoints: 2/3}\n"
    "  traffic: {prometheus: 'sum(rate(req[1m]))', anomaly: drop-to-zero}\n"
    "  faults:  {prometheus: 'f', anomaly: {spike: 3.0, baseline: 45m}}\n"
    "  canary:  {command: hooks/canary-probe, period: 10s, below: 0.99, "
    "insufficient_data: pass}\n"
    "  beacon:  {push: true}\n"
    "windows:\n"
    "  allow: [{rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9', "
    "duration: 7h, timezone: America/Los_Angeles}]\n"
    "  deny:  [{calendar: calendars/freeze.ics}]\n"
    "  freeze: [{from: '2026-12-24T00:00:00Z', to: "
    "'2026-12-28T09:00:00+01:00', reason: holidays}]\n"
    "stages:\n"
    "  - {name: build, type: build}\n"
    "  - {name: alpha, type: deploy, groups: [{name: alpha, targets: "
    "[alpha-1]}], tests: functional}\n"
    "  - {name: beta,  type: deploy, groups: [{name: beta,  targets: "
    "[beta-1]}],  tests: hooks/e2e, timeout: 45m}\n"
    "  - name: gamma\n"
    "    type: deploy\n"
    "    groups: [{name: us-east-1, targets: [g-use1-a, g-use1-b]}, "
    "{name: eu-west-1, targets: [g-euw1-a]}]\n"
    "    sequential: false\n"
    "    production: true\n"
    "    one_box: {bake: 30m}\n"
    "    rolling: {batch: 2}\n"
    "    bake: 30m\n"
    "    alarms: [errors, latency, canary]\n"
    "    windows: {allow: [{rrule: 'FREQ=DAILY', duration: 2h, timezone: "
    "UTC}]}\n"
    "  - {name: zeta, type: test, command: hooks/backcompat}\n"
    "  - name: prod\n"
    "    type: waves\n"
    "    regions:\n"
    "      - {name: eu-north-1, azs: {az1: [h1, h2], az2: [h3, h4]}}\n"
    "      - {name: us-east-1,  azs: {az1: [h5], az2: [h6], az3: [h7]}}\n"
    "      - {name: us-west-2,  azs: {az1: [h8]}}\n"
    "      - {name: ap-south-1, azs: {az1: [h9]}}\n"
    "      - {name: sa-east-1,  azs: {az1: [h10]}}\n"
    "    wave_sizes: [1, 1, 2, rest]\n"
    "    one_box: {bake: 1h, max_traffic_share: 0.1}\n"
    "    rolling: {batch: 25%}\n"
    "    bake: 1h\n"
    "    alarms: [errors, latency, traffic, faults]\n";

START_TEST(test_full_pipeline)
{
	struct pipeline *p = parse_ok(full_yaml, NULL);
	const struct alarm_def *a;
	const struct pipeline_hook *h;
	const struct stage *s;

	ck_assert_str_eq(p->name, "orders-api");
	ck_assert_str_eq(p->service, "orders");
	ck_assert_int_eq(p->source, SOURCE_APPLICATION);
	ck_assert_ptr_null(p->repository);
	ck_assert_str_eq(p->branch, "main");
	ck_assert(p->review_required);
	ck_assert_int_eq(p->review_min_approvals, 1);
	ck_assert_int_eq(p->concurrency, CONCURRENCY_QUEUE);
	ck_assert_int_eq(p->hook_timeout_ms, 15 * MIN_MS);
	ck_assert_str_eq(p->signing_public_key, "keys/ci.pub");

	/* hooks, in file order */
	ck_assert_uint_eq(p->nhooks, 5);
	ck_assert_str_eq(p->hooks[0].name, "build");
	ck_assert_str_eq(p->hooks[0].command, "hooks/build");
	ck_assert_int_eq(p->hooks[0].timeout_ms, 0);
	ck_assert_str_eq(p->hooks[3].name, "notify");
	h = pipeline_hook_find(p, "functional");
	ck_assert_ptr_eq(h, &p->hooks[4]);
	ck_assert_str_eq(h->command, "hooks/functional");
	ck_assert_int_eq(h->timeout_ms, 20 * MIN_MS);
	ck_assert_ptr_null(pipeline_hook_find(p, "test"));

	/* alarms */
	ck_assert_uint_eq(p->nalarms, 6);
	a = pipeline_alarm_find(p, "errors");
	ck_assert_ptr_eq(a, &p->alarms[0]);
	ck_assert_int_eq(a->source, ALARM_SRC_PROMETHEUS);
	ck_assert_str_eq(a->query, "sum(rate(errors[1m]))");
	ck_assert_int_eq(a->kind, ALARM_THRESHOLD);
	ck_assert(a->above);
	ck_assert_double_eq(a->threshold, 0.01);
	ck_assert_int_eq(a->period_ms, 30000);
	ck_assert_int_eq(a->m, 3);
	ck_assert_int_eq(a->n, 5);
	ck_assert(!a->missing_data_ok);
	a = pipeline_alarm_find(p, "latency");
	ck_assert_int_eq(a->period_ms, MIN_MS);
	ck_assert_int_eq(a->m, 2);
	ck_assert_int_eq(a->n, 3);
	a = pipeline_alarm_find(p, "traffic");
	ck_assert_int_eq(a->kind, ALARM_DROP_TO_ZERO);
	ck_assert_int_eq(a->m, 1);
	ck_assert_int_eq(a->n, 1);
	a = pipeline_alarm_find(p, "faults");
	ck_assert_int_eq(a->kind, ALARM_SPIKE);
	ck_assert_double_eq(a->factor, 3.0);
	ck_assert_int_eq(a->baseline_ms, 45 * MIN_MS);
	a = pipeline_alarm_find(p, "canary");
	ck_assert_int_eq(a->source, ALARM_SRC_COMMAND);
	ck_assert_str_eq(a->query, "hooks/canary-probe");
	ck_assert(!a->above);
	ck_assert_double_eq(a->threshold, 0.99);
	ck_assert_int_eq(a->period_ms, 10000);
	ck_assert(a->missing_data_ok);
	a = pipeline_alarm_find(p, "beacon");
	ck_assert_int_eq(a->source, ALARM_SRC_PUSH);
	ck_assert_int_eq(a->kind, ALARM_STATE);
	ck_assert_ptr_null(a->query);
	ck_assert_ptr_null(pipeline_alarm_find(p, "nope"));

	/* pipeline windows */
	ck_assert_uint_eq(p->windows.nallow, 1);
	ck_assert_str_eq(p->windows.allow[0].rrule,
	    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9");
	ck_assert_int_eq(p->windows.allow[0].duration_ms, 7 * HOUR_MS);
	ck_assert_str_eq(p->windows.allow[0].timezone, "America/Los_Angeles");
	ck_assert_uint_eq(p->windows.ndeny, 1);
	ck_assert_str_eq(p->windows.deny[0].calendar, "calendars/freeze.ics");
	ck_assert_str_eq(p->windows.deny[0].ics, calendar_text);
	ck_assert_uint_eq(p->windows.nfreeze, 1);
	ck_assert_int_eq(p->windows.freeze[0].from, 1798070400); /* 12-24 */
	ck_assert_int_eq(p->windows.freeze[0].to, 1798444800); /* 12-28 8Z */
	ck_assert_str_eq(p->windows.freeze[0].reason, "holidays");

	ck_assert_uint_eq(p->nstages, 6);
	s = &p->stages[0];
	ck_assert_str_eq(s->name, "build");
	ck_assert_int_eq(s->type, STAGE_BUILD);

	s = &p->stages[1];
	ck_assert_str_eq(s->name, "alpha");
	ck_assert_int_eq(s->type, STAGE_DEPLOY);
	ck_assert_uint_eq(s->ngroups, 1);
	ck_assert_str_eq(s->groups[0].name, "alpha");
	ck_assert_uint_eq(s->groups[0].ntargets, 1);
	ck_assert_str_eq(s->groups[0].targets[0], "alpha-1");
	ck_assert_str_eq(s->tests, "functional");
	ck_assert(s->sequential);
	ck_assert(!s->one_box);
	ck_assert(!s->production);
	ck_assert_int_eq(s->batch, 1);
	ck_assert(!s->batch_percent);
	ck_assert_int_eq(s->bake_ms, 0);
	ck_assert_uint_eq(s->nalarms, 0);
	ck_assert_int_eq(s->timeout_ms, 0);

	s = &p->stages[2];
	ck_assert_str_eq(s->tests, "hooks/e2e");
	ck_assert_int_eq(s->timeout_ms, 45 * MIN_MS);

	s = &p->stages[3];
	ck_assert_str_eq(s->name, "gamma");
	ck_assert_uint_eq(s->ngroups, 2);
	ck_assert_str_eq(s->groups[1].name, "eu-west-1");
	ck_assert_uint_eq(s->groups[0].ntargets, 2);
	ck_assert_str_eq(s->groups[0].targets[1], "g-use1-b");
	ck_assert(!s->sequential);
	ck_assert(s->production);
	ck_assert(s->one_box);
	ck_assert_int_eq(s->one_box_bake_ms, 30 * MIN_MS);
	ck_assert_double_eq(s->one_box_max_traffic_share, 0);
	ck_assert_int_eq(s->batch, 2);
	ck_assert(!s->batch_percent);
	ck_assert_int_eq(s->bake_ms, 30 * MIN_MS);
	ck_assert_uint_eq(s->nalarms, 3);
	ck_assert_str_eq(s->alarms[2], "canary");
	ck_assert_uint_eq(s->windows.nallow, 1);
	ck_assert_str_eq(s->windows.allow[0].timezone, "UTC");
	ck_assert_ptr_null(s->tests);

	s = &p->stages[4];
	ck_assert_int_eq(s->type, STAGE_TEST);
	ck_assert_str_eq(s->command, "hooks/backcompat");

	s = &p->stages[5];
	ck_assert_str_eq(s->name, "prod");
	ck_assert_int_eq(s->type, STAGE_WAVES);
	ck_assert(s->production); /* implied */
	ck_assert_uint_eq(s->nregions, 5);
	ck_assert_str_eq(s->regions[0].name, "eu-north-1");
	ck_assert_uint_eq(s->regions[0].nazs, 2);
	ck_assert_str_eq(s->regions[0].azs[1].name, "az2");
	ck_assert_uint_eq(s->regions[0].azs[1].ntargets, 2);
	ck_assert_str_eq(s->regions[0].azs[1].targets[1], "h4");
	ck_assert_uint_eq(s->regions[1].nazs, 3);
	ck_assert_str_eq(s->regions[1].azs[2].targets[0], "h7");
	ck_assert_uint_eq(s->nwave_sizes, 4);
	ck_assert_int_eq(s->wave_sizes[0], 1);
	ck_assert_int_eq(s->wave_sizes[2], 2);
	ck_assert_int_eq(s->wave_sizes[3], WAVE_REST);
	ck_assert(s->one_box);
	ck_assert_int_eq(s->one_box_bake_ms, HOUR_MS);
	ck_assert_double_eq(s->one_box_max_traffic_share, 0.1);
	ck_assert(s->batch_percent);
	ck_assert_int_eq(s->batch, 25);
	ck_assert_int_eq(s->bake_ms, HOUR_MS);
	ck_assert_uint_eq(s->nalarms, 4);
	ck_assert_ptr_null(s->waves_of);
	ck_assert_int_eq(s->wave, 0);
	pipeline_free(p);
}
END_TEST

START_TEST(test_defaults)
{
	struct pipeline *p = parse_ok(HEAD "stages:\n"
	                                   "  - {name: smoke, type: test, "
	                                   "command: hooks/smoke}\n",
	    NULL);

	ck_assert_str_eq(p->name, "shop");
	ck_assert_ptr_null(p->repository);
	ck_assert_str_eq(p->branch, "main");
	ck_assert(p->review_required);
	ck_assert_int_eq(p->review_min_approvals, 1);
	ck_assert_int_eq(p->concurrency, CONCURRENCY_SUPERSEDE);
	ck_assert_uint_eq(p->nhooks, 0);
	ck_assert_int_eq(p->hook_timeout_ms, 10 * MIN_MS);
	ck_assert_ptr_null(p->signing_public_key);
	ck_assert_uint_eq(p->nalarms, 0);
	ck_assert_uint_eq(
	    p->windows.nallow + p->windows.ndeny + p->windows.nfreeze, 0);
	ck_assert_uint_eq(p->nstages, 1);
	ck_assert_str_eq(p->stages[0].command, "hooks/smoke");
	pipeline_free(p);

	p = parse_ok(HEAD DEPLOY_HOOKS
	    "alarms: {slow: {prometheus: q, above: 2}}\n"
	    "stages:\n"
	    "  - {name: prod, type: deploy, one_box: {}, rolling: {},\n"
	    "     groups: [{name: g, targets: [t-1]}]}\n",
	    NULL);
	ck_assert(p->stages[0].sequential);
	ck_assert(p->stages[0].one_box);
	ck_assert_int_eq(p->stages[0].one_box_bake_ms, 0);
	ck_assert_int_eq(p->stages[0].batch, 1);
	ck_assert_int_eq(p->alarms[0].period_ms, 30000);
	ck_assert_int_eq(p->alarms[0].m, 1);
	ck_assert_int_eq(p->alarms[0].n, 1);
	ck_assert_int_eq(p->alarms[0].baseline_ms, 30 * MIN_MS);
	ck_assert(!p->alarms[0].missing_data_ok);
	pipeline_free(p);
}
END_TEST

START_TEST(test_source_mapping)
{
	struct pipeline *p = parse_ok(
	    "pipeline: infra\nservice: net\n"
	    "source: {kind: os-patches, repository: acme/net, branch: rel}\n"
	    "review: {required: false, min_approvals: 3}\n"
	    "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL);

	ck_assert_int_eq(p->source, SOURCE_OS_PATCHES);
	ck_assert_str_eq(p->repository, "acme/net");
	ck_assert_str_eq(p->branch, "rel");
	ck_assert(!p->review_required);
	ck_assert_int_eq(p->review_min_approvals, 3);
	pipeline_free(p);

	p = parse_ok("pipeline: infra\nservice: net\n"
	             "source: {kind: static-assets, repository: "
	             "'https://git.example.com/a/b.git'}\n"
	             "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL);
	ck_assert_int_eq(p->source, SOURCE_STATIC_ASSETS);
	ck_assert_str_eq(p->repository, "https://git.example.com/a/b.git");
	ck_assert_str_eq(p->branch, "main");
	pipeline_free(p);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(
	    pipeline_source_name(SOURCE_APPLICATION), "application");
	ck_assert_str_eq(
	    pipeline_source_name(SOURCE_INFRASTRUCTURE), "infrastructure");
	ck_assert_str_eq(pipeline_source_name(SOURCE_OS_PATCHES), "os-patches");
	ck_assert_str_eq(pipeline_source_name(SOURCE_CONFIG), "config");
	ck_assert_str_eq(
	    pipeline_source_name(SOURCE_STATIC_ASSETS), "static-assets");
	ck_assert_str_eq(
	    pipeline_source_name((enum pipeline_source_kind)99), "unknown");
	ck_assert_str_eq(stage_type_name(STAGE_BUILD), "build");
	ck_assert_str_eq(stage_type_name(STAGE_TEST), "test");
	ck_assert_str_eq(stage_type_name(STAGE_DEPLOY), "deploy");
	ck_assert_str_eq(stage_type_name(STAGE_WAVES), "waves");
	ck_assert_str_eq(stage_type_name((enum stage_type) - 1), "unknown");
	ck_assert_ptr_null(pipeline_hook_find(NULL, "x"));
	ck_assert_ptr_null(pipeline_alarm_find(NULL, "x"));
	pipeline_free(NULL);
}
END_TEST

START_TEST(test_not_a_mapping)
{
	static const char *const roots[] = {
	    "[1, 2]", "\"pipeline\"", "42", "null", "true", "1.5"};
	struct diag d = {0};

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		json_t *doc = json_loads(roots[i], JSON_DECODE_ANY, NULL);

		ck_assert_ptr_nonnull(doc);
		ck_assert_ptr_null(
		    pipeline_parse(doc, FILE_NAME, NULL, NULL, &d));
		ck_assert_uint_eq(d.n, 1);
		ck_assert_str_eq(d.msgs[0],
		    FILE_NAME ": a pipeline file must be a mapping of keys");
		diag_clear(&d);
		json_decref(doc);
	}
	ck_assert_ptr_null(pipeline_parse(NULL, NULL, NULL, NULL, &d));
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(
	    d.msgs[0], "a pipeline file must be a mapping of keys");
	diag_clear(&d);
}
END_TEST

START_TEST(test_unknown_keys)
{
	assert_diag(HEAD "stagse: []\ncolour: red\n", NULL,
	    (const char *const[]){"stagse: unknown key (did you mean "
	                          "\"stages\"?)",
	        "colour: unknown key", "stages: required key is missing",
	        NULL});
	assert_diag(HEAD "stages: [{name: t, type: test, command: hooks/t, "
	                 "comand: x}]\n",
	    NULL,
	    (const char *const[]){
	        "stages[0].comand: unknown key (did you mean \"command\"?)",
	        NULL});
	assert_diag(HEAD "alarms: {e: {prometheus: q, abve: 1}}\n"
	                 "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL,
	    (const char *const[]){
	        "alarms.e.abve: unknown key (did you mean \"above\"?)",
	        "alarms.e: alarm needs a threshold (above/below) or an anomaly",
	        NULL});
}
END_TEST

START_TEST(test_wrong_types)
{
	assert_diag("pipeline: 3\nservice: [a]\nsource: 1\nreview: []\n"
	            "concurrency: true\nhooks: x\nhook_timeout: 5\n"
	            "signing: 1\nalarms: []\nwindows: 2\nstages: {}\n",
	    NULL,
	    (const char *const[]){"pipeline: must be a string",
	        "service: must be a string",
	        "source: must be a string or a mapping",
	        "review: must be a mapping",
	        "concurrency: must be supersede or queue",
	        "hooks: must be a mapping",
	        "hook_timeout: must be a duration such as 5s or 1m30s",
	        "signing: must be a mapping", "alarms: must be a mapping",
	        "windows: must be a mapping", "stages: must be a list", NULL});
	assert_diag(HEAD "review: {required: 1, min_approvals: '2'}\n"
	                 "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL,
	    (const char *const[]){"review.required: must be a boolean",
	        "review.min_approvals: must be an integer", NULL});
	assert_diag(HEAD "alarms: {e: {prometheus: q, above: '1'}}\n"
	                 "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL,
	    (const char *const[]){"alarms.e.above: must be a number", NULL});
}
END_TEST

START_TEST(test_ranges)
{
	assert_diag(HEAD "hook_timeout: 0s\nreview: {min_approvals: 0}\n"
	                 "stages: [{name: t, type: test, command: hooks/t, "
	                 "timeout: 25h}]\n",
	    NULL,
	    (const char *const[]){
	        "review.min_approvals: 0 is out of range 1..10",
	        "hook_timeout: 0s is out of range 1s..1d",
	        "stages[0].timeout: 25h is out of range 1s..1d", NULL});
	assert_diag(HEAD "stages: [{name: t, type: test, command: hooks/t, "
	                 "timeout: 5x}]\n",
	    NULL,
	    (const char *const[]){"stages[0].timeout: bad duration \"5x\": "
	                          "unexpected unit (units d, h, m, s, ms, "
	                          "largest first, each once)",
	        NULL});
}
END_TEST

START_TEST(test_missing_required)
{
	assert_diag("pipeline: shop\nstages: [{type: test}, {name: d, type: "
	            "deploy}, {name: w, type: waves}]\n" DEPLOY_HOOKS,
	    NULL,
	    (const char *const[]){"service: required key is missing",
	        "source: required key is missing",
	        "stages[0].name: required key is missing",
	        "stages[0].command: required key is missing",
	        "stages[1].groups: required key is missing",
	        "stages[2].regions: required key is missing",
	        "stages[2].wave_sizes: required key is missing", NULL});
	assert_diag("service: s\nsource: config\nstages: [{name: t, type: "
	            "test, command: hooks/t}]\n",
	    NULL,
	    (const char *const[]){" file must name a pipeline (pipeline: NAME) "
	                          "or a template (template: NAME)",
	        NULL});
}
END_TEST

START_TEST(test_duplicates)
{
	assert_diag(HEAD DEPLOY_HOOKS
	    "stages:\n"
	    "  - {name: a, type: test, command: hooks/t}\n"
	    "  - {name: a, type: test, command: hooks/t}\n"
	    "  - name: d\n"
	    "    type: deploy\n"
	    "    groups: [{name: g, targets: [x, y]}, {name: g, targets: "
	    "[z, x]}]\n",
	    NULL,
	    (const char *const[]){
	        "stages[1].name: duplicate stage name \"a\" (also stages[0])",
	        "stages[2].groups[1].name: duplicate group name \"g\" (also "
	        "stages[2].groups[0])",
	        "stages[2].groups[1].targets[1]: duplicate target \"x\" (also "
	        "stages[2].groups[0].targets[0])",
	        NULL});
}
END_TEST

START_TEST(test_references)
{
	assert_diag(HEAD "hooks: {build: hooks/build, e2e: hooks/e2e}\n"
	                 "alarms: {errors: {push: true}}\n"
	                 "stages:\n"
	                 "  - {name: build, type: build}\n"
	                 "  - {name: t, type: test, command: smoke}\n"
	                 "  - {name: u, type: test, command: e2e}\n"
	                 "  - {name: d, type: deploy, tests: functional, "
	                 "alarms: [errors, latency],\n"
	                 "     groups: [{name: g, targets: [x]}]}\n",
	    NULL,
	    (const char *const[]){"stages[1].command: undefined hook \"smoke\"",
	        "stages[3].alarms[1]: undefined alarm \"latency\"",
	        "stages[3].tests: undefined hook \"functional\"",
	        "stages[3]: a deploy stage needs hooks.deploy",
	        "stages[3]: a deploy stage needs hooks.rollback", NULL});
	/* a broken hooks / alarms mapping: references are not checked */
	assert_diag(HEAD "hooks: [x]\nalarms: 3\n"
	                 "stages:\n"
	                 "  - {name: t, type: test, command: smoke}\n"
	                 "  - {name: d, type: deploy, alarms: [e],\n"
	                 "     groups: [{name: g, targets: [x]}]}\n",
	    NULL,
	    (const char *const[]){
	        "hooks: must be a mapping", "alarms: must be a mapping", NULL});
}
END_TEST

START_TEST(test_build_stage_rules)
{
	assert_diag(HEAD "hooks: {build: hooks/build}\n"
	                 "stages:\n"
	                 "  - {name: t, type: test, command: hooks/t}\n"
	                 "  - {name: b1, type: build}\n"
	                 "  - {name: b2, type: build}\n",
	    NULL,
	    (const char *const[]){
	        "stages[1]: the build stage must be the first stage",
	        "stages[2]: a pipeline has at most one build stage (also "
	        "stages[1])",
	        NULL});
	assert_diag(HEAD "stages: [{name: b, type: build, command: x}]\n", NULL,
	    (const char *const[]){
	        "stages[0]: key \"command\" is not valid for a build stage",
	        "stages[0]: a build stage needs hooks.build", NULL});
}
END_TEST

START_TEST(test_alarm_errors)
{
	assert_diag(HEAD "alarms:\n"
	                 "  a: {prometheus: q, above: 1, datapoints: 4/3}\n"
	                 "  b: {prometheus: q, above: 1, anomaly: "
	                 "drop-to-zero}\n"
	                 "  c: {command: hooks/c}\n"
	                 "  d: {prometheus: q, anomaly: {spike: 1.0}}\n"
	                 "  e: {push: true, below: 3}\n"
	                 "  f: {prometheus: q, push: true, above: 1}\n"
	                 "  g: {above: 1}\n"
	                 "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL,
	    (const char *const[]){"alarms.a.datapoints: datapoints must be M/N "
	                          "with 1 <= M <= N <= 100",
	        "alarms.b: threshold (above/below) and anomaly are exclusive "
	        "(except above: as the floor of a spike)",
	        "alarms.c: alarm needs a threshold (above/below) or an anomaly",
	        "alarms.d.anomaly.spike: spike factor must be greater than 1",
	        "alarms.e.below: not valid for a push alarm (its state is "
	        "pushed)",
	        "alarms.f: prometheus, command and push are exclusive (one "
	        "source per alarm)",
	        "alarms.g: alarm needs a source: prometheus, command or push",
	        NULL});
}
END_TEST

START_TEST(test_window_errors)
{
	assert_diag(HEAD "windows:\n"
	                 "  allow:\n"
	                 "    - {rrule: 'FREQ=DAILY;COUNT=3', duration: 1h, "
	                 "timezone: UTC}\n"
	                 "    - {rrule: 'FREQ=DAILY', duration: 8d, timezone: "
	                 "UTC}\n"
	                 "  deny: [{calendar: cal/missing.ics}]\n"
	                 "  freeze:\n"
	                 "    - {from: '2026-01-02T00:00:00Z', to: "
	                 "'2026-01-01T00:00:00Z', reason: r}\n"
	                 "    - {from: 'yesterday', to: "
	                 "'2026-01-01T00:00:00Z', reason: r}\n"
	                 "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL,
	    (const char *const[]){"windows.allow[0].rrule: COUNT is not "
	                          "supported in allow rules",
	        "windows.allow[1].duration: 8d is out of range 1m..7d",
	        "windows.deny[0].calendar: cannot read calendar: "
	        "cal/missing.ics: No such file or directory",
	        "windows.freeze[0]: from must be before to",
	        "windows.freeze[1].from: bad timestamp \"yesterday\" (expected "
	        "RFC 3339 such as 2026-12-24T00:00:00Z or "
	        "2026-12-24T09:00:00+01:00)",
	        NULL});
}
END_TEST

START_TEST(test_calendar_io)
{
	struct io_log log = {0};
	struct pipeline_io io = {test_read, &log};
	struct diag d = {0};
	json_t *doc = load_yaml(HEAD "windows: {deny: [{calendar: a.ics}]}\n"
	                             "stages:\n"
	                             "  - {name: t, type: test, command: "
	                             "hooks/t, windows: {deny: [{calendar: "
	                             "sub/b.ics}]}}\n");
	struct pipeline *p;

	p = pipeline_parse(doc, "dir/p.yaml", NULL, &io, &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(log.calls, 2);
	ck_assert_str_eq(log.file, "dir/p.yaml");
	ck_assert_str_eq(log.relpath, "sub/b.ics");
	ck_assert_str_eq(p->stages[0].windows.deny[0].calendar, "sub/b.ics");
	ck_assert_str_eq(p->stages[0].windows.deny[0].ics, calendar_text);
	pipeline_free(p);

	/* without io, calendars are only checked to be strings */
	p = pipeline_parse(doc, "p.yaml", NULL, NULL, &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(p->windows.deny[0].calendar, "a.ics");
	ck_assert_ptr_null(p->windows.deny[0].ics);
	pipeline_free(p);
	json_decref(doc);
}
END_TEST

START_TEST(test_freeze_times)
{
	struct pipeline *p =
	    parse_ok(HEAD "windows:\n"
	                  "  freeze:\n"
	                  "    - {from: '1970-01-01T00:00:00Z', to: "
	                  "'1970-01-01T01:00:00.5-01:30', reason: a}\n"
	                  "    - {from: '2024-02-29t23:59:59z', to: "
	                  "'2024-03-01T00:00:00Z', reason: leap}\n"
	                  "stages: [{name: t, type: test, command: hooks/t}]\n",
	        NULL);

	ck_assert_int_eq(p->windows.freeze[0].from, 0);
	ck_assert_int_eq(p->windows.freeze[0].to, 3600 + 5400);
	ck_assert_int_eq(p->windows.freeze[1].from, 1709251199);
	ck_assert_int_eq(p->windows.freeze[1].to, 1709251200);
	pipeline_free(p);
	assert_diag(HEAD "windows:\n"
	                 "  freeze:\n"
	                 "    - {from: '2023-02-29T00:00:00Z', to: "
	                 "'2024-01-01T24:00:00Z', reason: a}\n"
	                 "stages: [{name: t, type: test, command: hooks/t}]\n",
	    NULL,
	    (const char *const[]){"windows.freeze[0].from: bad timestamp "
	                          "\"2023-02-29T00:00:00Z\" (expected RFC 3339 "
	                          "such as 2026-12-24T00:00:00Z or "
	                          "2026-12-24T09:00:00+01:00)",
	        "windows.freeze[0].to: bad timestamp \"2024-01-01T24:00:00Z\" "
	        "(expected RFC 3339 such as 2026-12-24T00:00:00Z or "
	        "2026-12-24T09:00:00+01:00)",
	        NULL});
}
END_TEST

START_TEST(test_waves_errors)
{
	assert_diag(HEAD DEPLOY_HOOKS
	    "stages:\n"
	    "  - name: w\n"
	    "    type: waves\n"
	    "    regions: [{name: r1, azs: {a: [x]}}, {name: r2, azs: {}}]\n"
	    "    wave_sizes: [rest, 1]\n"
	    "  - name: v\n"
	    "    type: waves\n"
	    "    regions: [{name: r1, azs: {a: [x]}}, {name: r2, azs: {a: "
	    "[y]}}]\n"
	    "    wave_sizes: [1, 2]\n",
	    NULL,
	    (const char *const[]){
	        "stages[0].regions[1].azs: must have 1..100 AZs (has 0)",
	        "stages[0].wave_sizes[0]: \"rest\" may only be the last item",
	        "stages[1].wave_sizes: wave_sizes cover 3 regions but 2 are "
	        "listed",
	        NULL});
}
END_TEST

#define FLOOR_HEAD                                                             \
	HEAD DEPLOY_HOOKS "alarms:\n"                                          \
	                  "  errors: {prometheus: q, above: 1}\n"              \
	                  "  latency: {prometheus: q, above: 1}\n"

START_TEST(test_floors)
{
	static const char stage_text[] =
	    FLOOR_HEAD "stages:\n"
	               "  - name: d\n"
	               "    type: deploy\n"
	               "    production: true\n"
	               "    groups: [{name: g, targets: [x]}]\n"
	               "    bake: 10m\n"
	               "    alarms: [latency]\n";
	struct pipeline_floors fl = {0};
	struct pipeline *p;

	/* no floors, or floors that do not bite */
	p = parse_ok(stage_text, NULL);
	pipeline_free(p);
	p = parse_ok(stage_text, &fl);
	pipeline_free(p);
	fl.min_bake_ms = 10 * MIN_MS;
	fl.require_latency_alarm = true;
	p = parse_ok(stage_text, &fl);
	pipeline_free(p);

	assert_diag(stage_text, &all_floors,
	    (const char *const[]){"stages[0]: safety floor require_one_box: a "
	                          "production stage needs a one_box",
	        "stages[0].bake: safety floor min_bake: 10m is below the "
	        "floor 1h",
	        "stages[0].alarms: safety floor require_fault_alarm: no fault "
	        "alarm among [latency]",
	        NULL});

	/* non-production stages are not held to floors */
	p = parse_ok(FLOOR_HEAD "review: {required: false}\n"
	                        "stages: [{name: d, type: deploy, groups: "
	                        "[{name: g, targets: [x]}]}]\n",
	    &all_floors);
	pipeline_free(p);
	assert_diag(FLOOR_HEAD
	    "review: {required: false}\n"
	    "stages:\n"
	    "  - name: w\n"
	    "    type: waves\n"
	    "    regions: [{name: r1, azs: {a: [x]}}, {name: "
	    "r2, azs: {a: [y]}}, {name: r3, azs: {a: [z]}}]\n"
	    "    wave_sizes: [rest]\n"
	    "    one_box: {bake: 1h}\n"
	    "    bake: 1h\n"
	    "    alarms: [errors, latency]\n",
	    &all_floors,
	    (const char *const[]){"stages[0].wave_sizes[0]: safety floor "
	                          "max_regions_early_waves: 3 regions exceeds "
	                          "2",
	        "review.required: safety floor require_review: a pipeline "
	        "with production stages needs review.required: true",
	        NULL});
}
END_TEST

/* --- robustness: the parser must survive any JSON ----------------------- */

static json_t *
replacement(int kind)
{
	switch (kind) {
	case 0:
		return json_null();
	case 1:
		return json_integer(-1);
	case 2:
		return json_string("");
	case 3:
		return json_array();
	case 4:
		return json_object();
	case 5:
		return json_real(1e300);
	case 6:
		return json_true();
	default:
		return json_stringn("a\0b", 3);
	}
}

/* Parse root once; every message must be "p.yaml:..." and a NULL result
 * must come with messages. */
static void
parse_any(const json_t *root, size_t *count)
{
	struct diag d = {0};
	struct pipeline *p =
	    pipeline_parse(root, FILE_NAME, &all_floors, &test_io, &d);

	ck_assert((p == NULL) == (d.n > 0 || d.dropped > 0));
	for (size_t i = 0; i < d.n; i++)
		ck_assert_msg(
		    strncmp(d.msgs[i], FILE_NAME ":", 7) == 0, "%s", d.msgs[i]);
	pipeline_free(p);
	diag_clear(&d);
	(*count)++;
}

/* Replace every node under node (one at a time) by each replacement and
 * parse the whole tree root. */
static void
mutate_all(json_t *root, json_t *node, size_t *count)
{
	if (json_is_object(node)) {
		const char *k;
		json_t *v;
		void *tmp;

		json_object_foreach_safe(node, tmp, k, v)
		{
			json_t *saved = json_incref(v);

			for (int kind = 0; kind < 8; kind++) {
				json_object_set_new(node, k, replacement(kind));
				parse_any(root, count);
			}
			json_object_set(node, k, saved);
			mutate_all(root, saved, count);
			json_decref(saved);
		}
	} else if (json_is_array(node)) {
		for (size_t i = 0; i < json_array_size(node); i++) {
			json_t *saved = json_incref(json_array_get(node, i));

			for (int kind = 0; kind < 8; kind++) {
				json_array_set_new(node, i, replacement(kind));
				parse_any(root, count);
			}
			json_array_set(node, i, saved);
			mutate_all(root, saved, count);
			json_decref(saved);
		}
	}
}

START_TEST(test_survives_any_json)
{
	json_t *doc = load_yaml(full_yaml);
	size_t count = 0;

	mutate_all(doc, doc, &count);
	ck_assert_uint_gt(count, 500);
	/* the mutations were all undone */
	{
		struct diag d = {0};
		struct pipeline *p =
		    pipeline_parse(doc, FILE_NAME, NULL, &test_io, &d);

		ck_assert_uint_eq(d.n, 0);
		pipeline_free(p);
	}
	json_decref(doc);
}
END_TEST

/* --- golden fixtures ---------------------------------------------------- */

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	for (;;) {
		size_t r;

		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *
fixture_dir(const char *which, char *buf, size_t len)
{
	const char *top = getenv("top_srcdir");

	snprintf(buf, len, "%s/tests/data/pipeline/%s", top && *top ? top : ".",
	    which);
	return buf;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fixture names in dir ending in one of the given suffixes, sorted. */
static size_t
list_fixtures(const char *dir, const char *const *suffixes, char ***out)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	ck_assert_msg(dp != NULL, "cannot open %s (is top_srcdir set?): %s",
	    dir, strerror(errno));
	while ((de = readdir(dp)) != NULL) {
		size_t l = strlen(de->d_name);

		for (size_t i = 0; suffixes[i] != NULL; i++) {
			size_t sl = strlen(suffixes[i]);

			if (l > sl &&
			    strcmp(de->d_name + l - sl, suffixes[i]) == 0) {
				names =
				    realloc(names, (n + 1) * sizeof(*names));
				ck_assert_ptr_nonnull(names);
				names[n] = strdup(de->d_name);
				ck_assert_ptr_nonnull(names[n]);
				n++;
				break;
			}
		}
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return n;
}

/* Load and parse one fixture (floors for *floor* names) into d. */
static void
parse_fixture(const char *dir, const char *name, struct diag *d)
{
	char path[1024];
	struct gantry_error err;
	struct pipeline *p;
	size_t len;
	char *text;
	json_t *doc;
	size_t nl = strlen(name);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = read_all(path, &len);
	if (nl > 5 && strcmp(name + nl - 5, ".json") == 0) {
		json_error_t jerr;

		doc = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
		ck_assert_msg(doc != NULL, "%s: %s", name, jerr.text);
	} else {
		doc = yaml_load(text, len, &err);
		ck_assert_msg(doc != NULL, "%s: %s", name, err.msg);
	}
	free(text);
	p = pipeline_parse(doc, name,
	    strstr(name, "floor") != NULL ? &all_floors : NULL, &test_io, d);
	ck_assert_msg(
	    (p == NULL) == (d->n > 0), "%s: result and diag disagree", name);
	pipeline_free(p);
	json_decref(doc);
}

START_TEST(test_golden_invalid)
{
	static const char *const yaml_suffix[] = {".yaml", NULL};
	char dir[1024];
	char **names;
	size_t n, failed = 0;

	n = list_fixtures(
	    fixture_dir("invalid", dir, sizeof(dir)), yaml_suffix, &names);
	ck_assert_uint_ge(n, 45);
	for (size_t i = 0; i < n; i++) {
		struct diag d = {0};
		char errpath[1024], *want, *line, *save = NULL;
		size_t len, j = 0;
		bool same = true;

		parse_fixture(dir, names[i], &d);
		snprintf(errpath, sizeof(errpath), "%s/%s", dir, names[i]);
		strcpy(errpath + strlen(errpath) - strlen(".yaml"), ".err");
		want = read_all(errpath, &len);
		for (line = strtok_r(want, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save), j++)
			if (j >= d.n || strcmp(line, d.msgs[j]) != 0)
				same = false;
		if (!same || j != d.n || d.n == 0 || d.dropped != 0) {
			fprintf(stderr,
			    "%s: diagnostics differ from %s; got:\n", names[i],
			    errpath);
			dump_diag(&d);
			failed++;
		}
		free(want);
		diag_clear(&d);
		free(names[i]);
	}
	free(names);
	ck_assert_msg(failed == 0, "%zu golden fixtures differ", failed);
}
END_TEST

START_TEST(test_golden_valid)
{
	static const char *const suffixes[] = {".yaml", ".yml", ".json", NULL};
	char dir[1024];
	char **names;
	size_t n, failed = 0;

	n = list_fixtures(
	    fixture_dir("valid", dir, sizeof(dir)), suffixes, &names);
	ck_assert_uint_ge(n, 3);
	for (size_t i = 0; i < n; i++) {
		struct diag d = {0};

		parse_fixture(dir, names[i], &d);
		if (d.n != 0) {
			fprintf(stderr, "%s: should be valid:\n", names[i]);
			dump_diag(&d);
			failed++;
		}
		diag_clear(&d);
		free(names[i]);
	}
	free(names);
	ck_assert_msg(failed == 0, "%zu valid fixtures rejected", failed);
}
END_TEST

static Suite *
pipeline_parse_suite(void)
{
	Suite *s = suite_create("pipeline_parse");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full_pipeline);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_source_mapping);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_not_a_mapping);
	tcase_add_test(tc, test_unknown_keys);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_references);
	tcase_add_test(tc, test_build_stage_rules);
	tcase_add_test(tc, test_alarm_errors);
	tcase_add_test(tc, test_window_errors);
	tcase_add_test(tc, test_calendar_io);
	tcase_add_test(tc, test_freeze_times);
	tcase_add_test(tc, test_waves_errors);
	tcase_add_test(tc, test_floors);
	tcase_add_test(tc, test_survives_any_json);
	tcase_add_test(tc, test_golden_invalid);
	tcase_add_test(tc, test_golden_valid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pipeline_parse_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
