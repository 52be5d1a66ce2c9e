/*
 * auth.c - hash-and-compare bearer token authentication (auth.h).
 */
#include "auth.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static const struct {
	const char *name;
	enum auth_role role;
} roles[] = {
    {"read", AUTH_READ},
    {"deploy", AUTH_DEPLOY},
    {"override", AUTH_OVERRIDE},
    {"admin", AUTH_ADMIN},
};

unsigned
auth_role_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(name, roles[i].name) == 0)
			return roles[i].role;
	return 0;
}

const char *
auth_role_name(enum auth_role role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == role)
			return roles[i].name;
	return "none";
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
auth_hex_decode32(const char *hex, unsigned char out[32])
{
	if (strlen(hex) != 64)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

const struct auth_token *
auth_authenticate(const struct auth_token *tokens, size_t n, const char *header,
    struct gantry_error *err)
{
	const struct auth_token *found = NULL;
	unsigned char digest[32];
	unsigned int dlen = 0;
	const char *tok;

	if (header == NULL || *header == '\0') {
		gantry_error_set(err, GANTRY_EAUTH,
		    "missing Authorization header (expected: Bearer TOKEN)");
		return NULL;
	}
	if (strncasecmp(header, "Bearer ", 7) != 0) {
		gantry_error_set(err, GANTRY_EAUTH,
		    "Authorization header is not a Bearer token");
		return NULL;
	}
	tok = header + 7;
	while (*tok == ' ')
		tok++;
	if (*tok == '\0' ||
	    EVP_Digest(tok, strlen(tok), digest, &dlen, EVP_sha256(), NULL) !=
	        1 ||
	    dlen != sizeof(digest)) {
		gantry_error_set(err, GANTRY_EAUTH, "empty bearer token");
		return NULL;
	}
	/* Compare against every token so timing does not tell which matched. */
	for (size_t i = 0; i < n; i++)
		if (CRYPTO_memcmp(digest, tokens[i].sha256, 32) == 0 &&
		    found == NULL)
			found = &tokens[i];
	if (found == NULL)
		gantry_error_set(err, GANTRY_EAUTH, "unknown bearer token");
	return found;
}

bool
auth_has_role(const struct auth_token *tok, enum auth_role role)
{
	if (role == AUTH_NONE)
		return true;
	if (tok == NULL)
		return false;
	if (tok->roles & AUTH_ADMIN)
		return true;
	if (role == AUTH_READ)
		return tok->roles != 0;
	return (tok->roles & role) != 0;
}
