/*
 * error.c - struct gantry_error helpers and the code tables that map an
 * error code to its API name and HTTP status (SPEC.md section 6).
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
	const char *name;
	int status;
} err_table[] = {
    [GANTRY_OK] = {"ok", 200},
    [GANTRY_EINVAL] = {"invalid_request", 400},
    [GANTRY_EAUTH] = {"unauthorized", 401},
    [GANTRY_EPERM] = {"forbidden", 403},
    [GANTRY_ENOENT] = {"not_found", 404},
    [GANTRY_EMETHOD] = {"method_not_allowed", 405},
    [GANTRY_ECONFLICT] = {"conflict", 409},
    [GANTRY_ETOOBIG] = {"payload_too_large", 413},
    [GANTRY_EMEDIA] = {"unsupported_media_type", 415},
    [GANTRY_EINVALID] = {"invalid_definition", 422},
    [GANTRY_EBUSY] = {"too_many_requests", 429},
    [GANTRY_EINTERNAL] = {"internal", 500},
    [GANTRY_EUNAVAIL] = {"unavailable", 503},
    [GANTRY_ENOMEM] = {"out_of_memory", 500},
};

int
gantry_error_set(
    struct gantry_error *err, enum gantry_err code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
gantry_error_clear(struct gantry_error *err)
{
	if (err == NULL)
		return;
	err->code = GANTRY_OK;
	err->msg[0] = '\0';
}

const char *
gantry_err_name(enum gantry_err code)
{
	if ((unsigned)code >= sizeof(err_table) / sizeof(err_table[0]))
		return "internal";
	return err_table[code].name;
}

int
gantry_err_http_status(enum gantry_err code)
{
	if ((unsigned)code >= sizeof(err_table) / sizeof(err_table[0]))
		return 500;
	return err_table[code].status;
}
