/*
 * fuzz_pipeline.c - fuzz the pipeline front end (YAML and JSON parsing,
 * classification, validation, hashing) through pipeline_compile_text(),
 * without templates and without I/O (no pipeline_io: deny calendars are
 * only checked to be strings).
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

#include "pipeline_set.h"
#include "waves.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One compile of text as YAML or JSON; a valid result is also expanded,
 * so waves_expand() sees every pipeline the parser accepts. */
static void
compile_one(const char *text, size_t len, bool yaml)
{
	struct pipeline_compiled c;
	struct stage *stages = NULL;
	struct gantry_error err;
	size_t nstages = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = pipeline_compile_text(yaml ? "fuzz.yaml" : "fuzz.json", text, len,
	    yaml, NULL, 0, NULL, NULL, &c);
	if (rc == 0 && c.p != NULL &&
	    waves_expand(c.p, &stages, &nstages, &err) == 0)
		stages_free(stages, nstages);
	pipeline_compiled_clear(&c, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size > PIPELINE_FILE_MAX)
		return 0;
	/* A NUL-terminated copy: parsers must not rely on the terminator,
	 * but nothing after size may be read either. */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	compile_one(text, size, true);
	compile_one(text, size, false);
	free(text);
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
