/*
 * config_load.c - load the daemon config file (config_load.h).  Runs at
 * start and on reload (SIGHUP, POST /v1/reload); a file is small, so it is
 * read synchronously.
 */
#include "config_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_load.h"

struct gantry_config *
config_load_file(const char *path, struct diag *diag)
{
	struct gantry_config *cfg = NULL;
	struct gantry_error err;
	FILE *f = NULL;
	char *buf = NULL;
	size_t len;
	json_t *root = NULL;

	f = fopen(path, "r");
	if (f == NULL) {
		diag_add(diag, path, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		diag_add(diag, path, NULL, "out of memory");
		goto out;
	}
	len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		diag_add(diag, path, NULL, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (len > CONFIG_FILE_MAX) {
		diag_add(
		    diag, path, NULL, "larger than %d bytes", CONFIG_FILE_MAX);
		goto out;
	}
	root = yaml_load(buf, len, &err);
	if (root == NULL) {
		diag_add(diag, path, NULL, "%s", err.msg);
		goto out;
	}
	cfg = config_from_json(root, path, diag);
out:
	json_decref(root);
	free(buf);
	if (f != NULL)
		fclose(f);
	return cfg;
}
