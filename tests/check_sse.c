/*
 * check_sse.c - unit tests for lib/sse.c: line endings (also split over
 * chunks), fields, multi-line data, comments, the BOM, IDs that persist,
 * retry, the size cap, and a callback that stops the parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sse.h"

#define MAXEV 16

/* What the callback saw. */
struct seen {
	size_t n;
	char id[MAXEV][64];
	char event[MAXEV][64];
	char data[MAXEV][256];
	size_t data_len[MAXEV];
	size_t stop_after; /* 0: never stop */
};

static int
collect(const struct sse_event *ev, void *arg)
{
	struct seen *s = arg;

	ck_assert_uint_lt(s->n, MAXEV);
	snprintf(s->id[s->n], sizeof(s->id[0]), "%s", ev->id);
	snprintf(s->event[s->n], sizeof(s->event[0]), "%s", ev->event);
	ck_assert_uint_lt(ev->data_len, sizeof(s->data[0]));
	memcpy(s->data[s->n], ev->data, ev->data_len + 1);
	s->data_len[s->n] = ev->data_len;
	s->n++;
	if (s->stop_after != 0 && s->n == s->stop_after)
		return 7;
	return 0;
}

/* Feed text in chunks of chunk bytes (0: all at once). */
static int
feed_chunks(struct sse_parser *p, const char *text, size_t len, size_t chunk,
    struct gantry_error *err)
{
	size_t off = 0;
	int rc = 0;

	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len && rc == 0) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = sse_parser_feed(p, text + off, n, err);
		off += n;
	}
	return rc;
}

/* Parse text whole and in every chunk size 1..7; all give the same. */
static void
parse_all_ways(const char *text, struct seen *out)
{
	size_t len = strlen(text);

	for (size_t chunk = 0; chunk <= 7; chunk++) {
		struct gantry_error err = {0};
		struct seen s = {0};
		struct sse_parser *p = sse_parser_new(0, collect, &s);

		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(feed_chunks(p, text, len, chunk, &err), 0);
		sse_parser_free(p);
		if (chunk == 0) {
			*out = s;
			continue;
		}
		ck_assert_uint_eq(s.n, out->n);
		for (size_t i = 0; i < s.n; i++) {
			ck_assert_str_eq(s.id[i], out->id[i]);
			ck_assert_str_eq(s.event[i], out->event[i]);
			ck_assert_uint_eq(s.data_len[i], out->data_len[i]);
			ck_assert_mem_eq(
			    s.data[i], out->data[i], s.data_len[i]);
		}
	}
}

START_TEST(test_sse_basic)
{
	struct seen s;

	parse_all_ways("id: 17\nevent: transition\n"
	               "data: {\"seq\": 17, \"kind\": \"triggered\"}\n\n",
	    &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.id[0], "17");
	ck_assert_str_eq(s.event[0], "transition");
	ck_assert_str_eq(s.data[0], "{\"seq\": 17, \"kind\": \"triggered\"}");
}
END_TEST

static const char *const line_endings[] = {
    ("id: 1\r\nevent: e\r\ndata: a\r\ndata: b\r\n\r\n"
     "data: c\r\n\r\n"),
    "id: 1\revent: e\rdata: a\rdata: b\r\rdata: c\r\r",
    "id: 1\nevent: e\ndata: a\ndata: b\n\ndata: c\n\n",
    "id: 1\r\nevent: e\rdata: a\ndata: b\r\n\rdata: c\n\r\n",
};

START_TEST(test_sse_line_endings)
{
	struct seen s;

	parse_all_ways(line_endings[_i], &s);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.id[0], "1");
	ck_assert_str_eq(s.event[0], "e");
	ck_assert_str_eq(s.data[0], "a\nb");
	ck_assert_str_eq(s.id[1], "1"); /* the ID persists */
	ck_assert_str_eq(s.event[1], "message"); /* the type does not */
	ck_assert_str_eq(s.data[1], "c");
}
END_TEST

/* A "\r" that ends one chunk and a "\n" that starts the next are one line
 * end, not an empty line between two (which would dispatch early). */
START_TEST(test_sse_crlf_split)
{
	struct gantry_error err = {0};
	struct seen s = {0};
	struct sse_parser *p = sse_parser_new(0, collect, &s);

	ck_assert_int_eq(sse_parser_feed(p, "data: a\r", 8, &err), 0);
	ck_assert_int_eq(sse_parser_feed(p, "\ndata: b\r", 9, &err), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(sse_parser_feed(p, "\n\r", 2, &err), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.data[0], "a\nb");
	ck_assert_int_eq(sse_parser_feed(p, "\ndata: c\r\n\r\n", 12, &err), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.data[1], "c");
	sse_parser_free(p);
}
END_TEST

START_TEST(test_sse_fields)
{
	struct seen s;

	parse_all_ways(": a comment, as keep-alives are\n"
	               ":\n"
	               "data:no space\n\n"
	               "data:  two spaces\n\n"
	               "data\n\n" /* no colon: an empty data line */
	               "data:\ndata:\n\n" /* two empty lines: "\n" */
	               "event: lonely\n\n" /* no data: nothing */
	               "foo: bar\nretry: x\ndata: after unknown\n\n"
	               "data: with: colon\n\n",
	    &s);
	ck_assert_uint_eq(s.n, 6);
	ck_assert_str_eq(s.data[0], "no space");
	ck_assert_str_eq(s.data[1], " two spaces");
	ck_assert_str_eq(s.data[2], "");
	ck_assert_uint_eq(s.data_len[2], 0);
	ck_assert_str_eq(s.data[3], "\n");
	ck_assert_str_eq(s.data[4], "after unknown");
	ck_assert_str_eq(s.event[4], "message"); /* "lonely" was reset */
	ck_assert_str_eq(s.data[5], "with: colon");
	for (size_t i = 0; i < s.n; i++)
		ck_assert_str_eq(s.id[i], "");
}
END_TEST

START_TEST(test_sse_ids)
{
	struct gantry_error err = {0};
	struct seen s = {0};
	struct sse_parser *p = sse_parser_new(0, collect, &s);
	static const char nul_id[] = "id: 9\0x\ndata: d\n\n";

	ck_assert_str_eq(sse_parser_last_id(p), "");
	ck_assert_int_eq(
	    sse_parser_feed(p, "id: 5\ndata: a\n\ndata: b\n\n", 24, &err), 0);
	ck_assert_str_eq(s.id[0], "5");
	ck_assert_str_eq(s.id[1], "5");
	/* An ID with a NUL is ignored. */
	ck_assert_int_eq(
	    sse_parser_feed(p, nul_id, sizeof(nul_id) - 1, &err), 0);
	ck_assert_str_eq(s.id[2], "5");
	/* An ID without an event still counts; "id" alone empties it. */
	ck_assert_int_eq(sse_parser_feed(p, "id: 6\n\n", 7, &err), 0);
	ck_assert_str_eq(sse_parser_last_id(p), "6");
	ck_assert_int_eq(sse_parser_feed(p, "id\ndata: e\n\n", 12, &err), 0);
	ck_assert_str_eq(s.id[3], "");
	ck_assert_uint_eq(s.n, 4);
	sse_parser_free(p);
}
END_TEST

START_TEST(test_sse_retry)
{
	struct gantry_error err = {0};
	struct sse_parser *p = sse_parser_new(0, NULL, NULL);

	ck_assert_int_eq(sse_parser_retry_ms(p), -1);
	ck_assert_int_eq(sse_parser_feed(p, "retry: 2500\n", 12, &err), 0);
	ck_assert_int_eq(sse_parser_retry_ms(p), 2500);
	ck_assert_int_eq(sse_parser_feed(p, "retry: 25x\n", 11, &err), 0);
	ck_assert_int_eq(sse_parser_retry_ms(p), 2500);
	ck_assert_int_eq(sse_parser_feed(p, "retry:\n", 7, &err), 0);
	ck_assert_int_eq(sse_parser_retry_ms(p), 2500);
	ck_assert_int_eq(
	    sse_parser_feed(p, "retry: 99999999999999999999\n", 28, &err), 0);
	ck_assert_int_eq(sse_parser_retry_ms(p), 86400000L);
	sse_parser_free(p);
}
END_TEST

START_TEST(test_sse_bom)
{
	struct seen s;

	parse_all_ways("\xef\xbb\xbf"
	               "data: x\n\n",
	    &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.data[0], "x");
	/* Only one BOM, and only at the start. */
	parse_all_ways("\xef\xbb\xbf\xef\xbb\xbf"
	               "data: x\n\n"
	               "\xef\xbb\xbf"
	               "data: y\n\n"
	               "data: z\n\n",
	    &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.data[0], "z");
	/* A prefix of a BOM is text. */
	parse_all_ways("\xef\xbb"
	               "data: x\n\n"
	               "data: y\n\n",
	    &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.data[0], "y");
}
END_TEST

/* No blank line at the end: the event is incomplete, never dispatched. */
START_TEST(test_sse_incomplete)
{
	struct seen s;

	parse_all_ways("data: a\n\ndata: b\n", &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.data[0], "a");
}
END_TEST

START_TEST(test_sse_cap)
{
	struct gantry_error err = {0};
	struct seen s = {0};
	struct sse_parser *p = sse_parser_new(32, collect, &s);
	char big[64];

	ck_assert_int_eq(sse_parser_feed(p, "data: 0123456789\n\n", 18, &err),
	    0); /* within */
	ck_assert_uint_eq(s.n, 1);
	/* Over the cap across lines of one event. */
	ck_assert_int_eq(sse_parser_feed(p, "data: 0123456789\n", 17, &err), 0);
	ck_assert_int_eq(
	    sse_parser_feed(p, "data: 0123456789abcdef\n", 23, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "larger than 32 bytes"));
	sse_parser_free(p);

	/* One endless line, fed in small pieces. */
	p = sse_parser_new(32, collect, &s);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(sse_parser_feed(p, big, 20, &err), 0);
	ck_assert_int_eq(sse_parser_feed(p, big, 20, &err), -1);
	sse_parser_free(p);
}
END_TEST

START_TEST(test_sse_stop)
{
	struct gantry_error err = {0};
	struct seen s = {.stop_after = 2};
	struct sse_parser *p = sse_parser_new(0, collect, &s);
	const char *text = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	ck_assert_int_eq(sse_parser_feed(p, text, strlen(text), &err), 7);
	ck_assert_uint_eq(s.n, 2);
	sse_parser_free(p);
}
END_TEST

START_TEST(test_sse_reset)
{
	struct gantry_error err = {0};
	struct seen s = {0};
	struct sse_parser *p = sse_parser_new(0, collect, &s);

	ck_assert_int_eq(
	    sse_parser_feed(p, "id: 3\ndata: a\n\nid: 4\ndata: part", 31, &err),
	    0);
	sse_parser_reset(p); /* the connection dropped mid-event */
	ck_assert_str_eq(sse_parser_last_id(p), "4");
	ck_assert_int_eq(sse_parser_feed(p, "data: b\n\n", 9, &err), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.data[1], "b");
	ck_assert_str_eq(s.id[1], "4");
	sse_parser_free(p);
	sse_parser_free(NULL);
}
END_TEST

static Suite *
sse_suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sse_basic);
	tcase_add_loop_test(tc, test_sse_line_endings, 0,
	    (int)(sizeof(line_endings) / sizeof(line_endings[0])));
	tcase_add_test(tc, test_sse_crlf_split);
	tcase_add_test(tc, test_sse_fields);
	tcase_add_test(tc, test_sse_ids);
	tcase_add_test(tc, test_sse_retry);
	tcase_add_test(tc, test_sse_bom);
	tcase_add_test(tc, test_sse_incomplete);
	tcase_add_test(tc, test_sse_cap);
	tcase_add_test(tc, test_sse_stop);
	tcase_add_test(tc, test_sse_reset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
