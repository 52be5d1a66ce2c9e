/*
 * auth.h - bearer tokens and roles.  The daemon config stores only the
 * SHA-256 of each token; a request's token is hashed and compared in
 * constant time against every configured hash.
 *
 * Roles: read, deploy, override, admin.  admin implies every role; any
 * role implies read.
 */
#ifndef GANTRY_AUTH_H
#define GANTRY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum auth_role {
	AUTH_NONE = 0, /* route needs no token */
	AUTH_READ = 1 << 0,
	AUTH_DEPLOY = 1 << 1,
	AUTH_OVERRIDE = 1 << 2,
	AUTH_ADMIN = 1 << 3,
};

#define AUTH_NAME_MAX 64

struct auth_token {
	char name[AUTH_NAME_MAX];
	unsigned char sha256[32];
	unsigned roles; /* enum auth_role bits */
};

/* Role bit for "read", "deploy", "override" or "admin"; 0 if unknown. */
unsigned auth_role_parse(const char *name);
const char *auth_role_name(enum auth_role role);

/* Decode 64 lowercase or uppercase hex digits into out[32]. */
int auth_hex_decode32(const char *hex, unsigned char out[32]) MUSTCHECK;

/*
 * Authenticate the value of an Authorization header against tokens[0..n).
 * header may be NULL.  Returns the matching token (borrowed from tokens),
 * or NULL with err set to GANTRY_EAUTH naming what is wrong (missing
 * header, not a Bearer token, unknown token).
 */
const struct auth_token *auth_authenticate(const struct auth_token *tokens,
    size_t n, const char *header, struct gantry_error *err);

/* Does tok carry role (honouring admin ⊇ all, any ⊇ read)? */
bool auth_has_role(const struct auth_token *tok, enum auth_role role);

#endif /* GANTRY_AUTH_H */
