/*
 * sign.h - artifact signatures: Ed25519 over the artifact's SHA-256 (the
 * 64 lowercase hex digits as bytes), base64-encoded.  Keys are PEM text
 * (PKCS#8 private, SPKI public) as `openssl genpkey -algorithm ed25519`
 * and `openssl pkey -pubout` write them.  Pure: the caller reads files.
 */
#ifndef GANTRY_SIGN_H
#define GANTRY_SIGN_H

#include <stddef.h>

#include "error.h"

struct sign_key;

/* Load a private (is_private) or public Ed25519 key from PEM text.
 * Anything but Ed25519 is refused.  Caller frees with sign_key_free(). */
struct sign_key *sign_key_load(
    const char *pem, size_t len, int is_private, struct gantry_error *err);
void sign_key_free(struct sign_key *k);

/* Sign sha256_hex with a private key: a new base64 string (caller
 * frees), or NULL with err. */
char *sign_digest(
    const struct sign_key *k, const char *sha256_hex, struct gantry_error *err);

/* 0 when signature_b64 is a valid signature of sha256_hex by k, else -1
 * with err naming why (GANTRY_EPERM for a bad signature). */
int sign_verify(const struct sign_key *k, const char *sha256_hex,
    const char *signature_b64, struct gantry_error *err) MUSTCHECK;

#endif /* GANTRY_SIGN_H */
