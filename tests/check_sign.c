/*
 * check_sign.c - Ed25519 artifact signatures: sign/verify round trip,
 * tampered digest and signature, wrong key, malformed input, non-Ed25519
 * keys refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sign.h"

static const char digest[] =
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/* A fresh key pair as PEM text (private in *priv, public in *pub). */
static void
make_pair(int type, char **priv, char **pub)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL,
	    type == EVP_PKEY_ED25519 ? "ED25519" : "EC",
	    type == EVP_PKEY_ED25519 ? NULL : "P-256");
	BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem());
	char *p;
	long n;

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(
	    PEM_write_bio_PrivateKey(b1, k, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(b2, k), 1);
	n = BIO_get_mem_data(b1, &p);
	*priv = strndup(p, (size_t)n);
	n = BIO_get_mem_data(b2, &p);
	*pub = strndup(p, (size_t)n);
	BIO_free(b1);
	BIO_free(b2);
	EVP_PKEY_free(k);
}

START_TEST(test_round_trip)
{
	struct gantry_error err;
	char *priv, *pub, *sig;
	struct sign_key *sk, *pk;

	make_pair(EVP_PKEY_ED25519, &priv, &pub);
	sk = sign_key_load(priv, strlen(priv), 1, &err);
	pk = sign_key_load(pub, strlen(pub), 0, &err);
	ck_assert_ptr_nonnull(sk);
	ck_assert_ptr_nonnull(pk);
	sig = sign_digest(sk, digest, &err);
	ck_assert_ptr_nonnull(sig);
	ck_assert_uint_eq(strlen(sig), 88);
	ck_assert_int_eq(sign_verify(pk, digest, sig, &err), 0);
	/* a different digest does not verify */
	ck_assert_int_eq(
	    sign_verify(pk,
	        "0f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15"
	        "d6c15b0f00a08",
	        sig, &err),
	    -1);
	ck_assert_int_eq(err.code, GANTRY_EPERM);
	/* a flipped signature byte does not verify */
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(sign_verify(pk, digest, sig, &err), -1);
	/* a public key cannot sign */
	ck_assert_ptr_null(sign_digest(pk, digest, &err));
	free(sig);
	sign_key_free(sk);
	sign_key_free(pk);
	free(priv);
	free(pub);
}
END_TEST

START_TEST(test_wrong_key)
{
	struct gantry_error err;
	char *priv1, *pub1, *priv2, *pub2, *sig;
	struct sign_key *sk, *pk;

	make_pair(EVP_PKEY_ED25519, &priv1, &pub1);
	make_pair(EVP_PKEY_ED25519, &priv2, &pub2);
	sk = sign_key_load(priv1, strlen(priv1), 1, &err);
	pk = sign_key_load(pub2, strlen(pub2), 0, &err);
	sig = sign_digest(sk, digest, &err);
	ck_assert_int_eq(sign_verify(pk, digest, sig, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "does not verify"));
	free(sig);
	sign_key_free(sk);
	sign_key_free(pk);
	free(priv1);
	free(pub1);
	free(priv2);
	free(pub2);
}
END_TEST

START_TEST(test_bad_input)
{
	struct gantry_error err;
	char *priv, *pub;
	struct sign_key *pk;

	ck_assert_ptr_null(sign_key_load("garbage", 7, 0, &err));
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	make_pair(EVP_PKEY_EC, &priv, &pub);
	ck_assert_ptr_null(sign_key_load(pub, strlen(pub), 0, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "not an Ed25519"));
	free(priv);
	free(pub);
	make_pair(EVP_PKEY_ED25519, &priv, &pub);
	pk = sign_key_load(pub, strlen(pub), 0, &err);
	ck_assert_int_eq(sign_verify(pk, digest, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no signature"));
	ck_assert_int_eq(sign_verify(pk, digest, "short", &err), -1);
	ck_assert_int_eq(
	    sign_verify(pk, digest,
	        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
	        &err),
	    -1);
	sign_key_free(pk);
	sign_key_free(NULL);
	free(priv);
	free(pub);
}
END_TEST

static Suite *
sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sign_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
