/*
 * error.h - the one error value of gantry's functional core.
 *
 * lib/ never logs and never picks an HTTP status: a fallible function fills
 * a caller-owned struct gantry_error (a code and a fixed-size message) and
 * returns -1.  daemon/ turns the code into a log line or an HTTP status.
 */
#ifndef GANTRY_ERROR_H
#define GANTRY_ERROR_H

#include <stddef.h>

#if defined(__GNUC__)
#define MUSTCHECK __attribute__((warn_unused_result))
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define MUSTCHECK
#define PRINTFLIKE(f, a)
#endif

enum gantry_err {
	GANTRY_OK = 0,
	GANTRY_EINVAL, /* bad input: 400 */
	GANTRY_EAUTH, /* missing or unknown token: 401 */
	GANTRY_EPERM, /* token lacks the role: 403 */
	GANTRY_ENOENT, /* no such object: 404 */
	GANTRY_EMETHOD, /* method not allowed on this path: 405 */
	GANTRY_ECONFLICT, /* state conflict: 409 */
	GANTRY_ETOOBIG, /* body over the limit: 413 */
	GANTRY_EMEDIA, /* unsupported content type: 415 */
	GANTRY_EINVALID, /* well-formed but invalid definition: 422 */
	GANTRY_EBUSY, /* rate limited: 429 */
	GANTRY_EINTERNAL, /* broken invariant: 500 */
	GANTRY_EUNAVAIL, /* database down: 503 */
	GANTRY_ENOMEM, /* allocation failed: 500 */
};

#define GANTRY_ERROR_MSG 512

struct gantry_error {
	enum gantry_err code;
	char msg[GANTRY_ERROR_MSG];
};

/* Set code and a printf-formatted message (truncated to fit).  Returns -1
 * so a caller can write `return gantry_error_set(err, ...);`.  err may be
 * NULL, then nothing is recorded. */
int gantry_error_set(struct gantry_error *err, enum gantry_err code,
    const char *fmt, ...) PRINTFLIKE(3, 4);

/* Reset to GANTRY_OK with an empty message. */
void gantry_error_clear(struct gantry_error *err);

/* The stable machine-readable name of a code ("invalid_request",
 * "unauthorized", ...) used in API error bodies. */
const char *gantry_err_name(enum gantry_err code);

/* The HTTP status that goes with a code. */
int gantry_err_http_status(enum gantry_err code);

#endif /* GANTRY_ERROR_H */
