/*
 * sign.c - Ed25519 artifact signatures with OpenSSL 3 (sign.h).
 * Ed25519 is one-shot: EVP_DigestSign/Verify with a NULL digest
 * (PLATFORM.md 7).
 */
#include "sign.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct sign_key {
	EVP_PKEY *pkey;
	int is_private;
};

struct sign_key *
sign_key_load(
    const char *pem, size_t len, int is_private, struct gantry_error *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = NULL;
	struct sign_key *k;

	if (bio == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	pkey = is_private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
	                  : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		gantry_error_set(err, GANTRY_EINVAL, "not a PEM %s key",
		    is_private ? "private" : "public");
		return NULL;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		gantry_error_set(
		    err, GANTRY_EINVAL, "the key is not an Ed25519 key");
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	k->pkey = pkey;
	k->is_private = is_private;
	return k;
}

void
sign_key_free(struct sign_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

char *
sign_digest(
    const struct sign_key *k, const char *sha256_hex, struct gantry_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[64];
	size_t siglen = sizeof(sig);
	char *out = NULL;

	if (!k->is_private) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "a public key cannot sign");
		goto done;
	}
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)sha256_hex,
	        strlen(sha256_hex)) != 1) {
		gantry_error_set(err, GANTRY_EINTERNAL, "signing failed");
		goto done;
	}
	out = malloc(4 * ((siglen + 2) / 3) + 1);
	if (out == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
done:
	EVP_MD_CTX_free(ctx);
	return out;
}

int
sign_verify(const struct sign_key *k, const char *sha256_hex,
    const char *signature_b64, struct gantry_error *err)
{
	unsigned char sig[128];
	EVP_MD_CTX *ctx;
	size_t blen;
	int n, ok;

	if (signature_b64 == NULL || *signature_b64 == '\0')
		return gantry_error_set(
		    err, GANTRY_EPERM, "the artifact carries no signature");
	blen = strlen(signature_b64);
	if (blen != 88) /* base64 of 64 bytes */
		return gantry_error_set(err, GANTRY_EPERM,
		    "the signature is not a base64 Ed25519 signature");
	n = EVP_DecodeBlock(
	    sig, (const unsigned char *)signature_b64, (int)blen);
	if (n != 66) /* 64 bytes + 2 of padding */
		return gantry_error_set(err, GANTRY_EPERM,
		    "the signature is not a base64 Ed25519 signature");
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)sha256_hex,
	        strlen(sha256_hex)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return gantry_error_set(err, GANTRY_EPERM,
		    "the signature does not verify against the pipeline's "
		    "public key");
	return 0;
}
