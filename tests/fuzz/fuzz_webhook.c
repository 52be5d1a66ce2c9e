/*
 * fuzz_webhook.c - fuzz the GitHub, GitLab and Gerrit webhook parsers
 * (webhook_parse(), webhook_event_to_json()).  The first input byte picks
 * the source and event header from targets[] below; the rest is the body.
 * Every source is reached, with each event type it handles, a header it
 * does not know and (GitHub, GitLab) no header at all.  The seed corpus,
 * tests/fuzz/corpus-webhook/, is that byte followed by a fixture of
 * tests/data/webhooks/.
 *
 * Built with clang -fsanitize=fuzzer -DGANTRY_LIBFUZZER it is a libFuzzer
 * target; built with any C compiler it is a corpus replayer: every file
 * named on the command line is run through the same code
 * (tests/fuzz_run.sh does one or the other).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Selector byte (modulo the table size) -> source and event header. */
static const struct {
	enum webhook_source source;
	const char *event;
} targets[] = {
    {WEBHOOK_GITHUB, "push"}, /* 0 */
    {WEBHOOK_GITHUB, "pull_request"}, /* 1 */
    {WEBHOOK_GITHUB, "pull_request_review"}, /* 2 */
    {WEBHOOK_GITHUB, "ping"}, /* 3 */
    {WEBHOOK_GITHUB, "issues"}, /* 4 */
    {WEBHOOK_GITHUB, NULL}, /* 5 */
    {WEBHOOK_GITLAB, "Push Hook"}, /* 6 */
    {WEBHOOK_GITLAB, "Tag Push Hook"}, /* 7 */
    {WEBHOOK_GITLAB, "Merge Request Hook"}, /* 8 */
    {WEBHOOK_GITLAB, "System Hook"}, /* 9 */
    {WEBHOOK_GITLAB, "Pipeline Hook"}, /* 10 */
    {WEBHOOK_GITLAB, NULL}, /* 11 */
    {WEBHOOK_GERRIT, NULL}, /* 12 */
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gantry_error err = {0};
	struct webhook_event ev;
	size_t t;
	char *body;
	json_t *j;

	if (size < 1 || size > 1 + 1024 * 1024)
		return 0;
	t = data[0] % (sizeof(targets) / sizeof(targets[0]));
	/* An exact-size copy without a terminator, so ASan catches a parser
	 * reading past len. */
	body = malloc(size - 1 > 0 ? size - 1 : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	if (webhook_parse(targets[t].source, targets[t].event, body, size - 1,
	        &ev, &err) == 0) {
		/* Every event has a kind, and an ignored one says why. */
		if (ev.kind == WEBHOOK_IGNORED && ev.why == NULL)
			abort();
		j = webhook_event_to_json(&ev);
		json_decref(j);
		webhook_event_clear(&ev);
	} else if (err.msg[0] == '\0' || ev.repository != NULL) {
		abort();
	}
	free(body);
	return 0;
}

#ifndef GANTRY_LIBFUZZER
/* Replay: run every file of argv through the target. */
int
main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf = NULL;
		size_t n = 0, cap = 0;

		if (f == NULL) {
			perror(argv[i]);
			failed++;
			continue;
		}
		for (;;) {
			size_t r;

			if (n == cap) {
				uint8_t *grown;

				cap = cap ? cap * 2 : 65536;
				grown = realloc(buf, cap);
				if (grown == NULL)
					break;
				buf = grown;
			}
			r = fread(buf + n, 1, cap - n, f);
			if (r == 0)
				break;
			n += r;
		}
		if (ferror(f)) {
			perror(argv[i]);
			failed++;
		} else {
			LLVMFuzzerTestOneInput(buf, n);
			printf("ok: %s\n", argv[i]);
		}
		fclose(f);
		free(buf);
	}
	return failed ? 1 : 0;
}
#endif
