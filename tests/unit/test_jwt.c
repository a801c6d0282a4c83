/*
 * test_jwt.c: strict JSON, base64url, JWT parsing, RS256/ES256 verification against a JWKS and
 * the claim checks. Keys are made in the group setup; tokens are signed here with EVP.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strndup, clock_gettime */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "json.h"
#include "jwt.h"
#include "reason.h"

#define NOW ((time_t)1700000000) /* 2023-11-14 22:13:20 UTC */
#define ISS "https://abc123.aliyunidaas.com/api/v2/app_x/oidc"

static EVP_PKEY *k_rsa, *k_ec, *k_weak, *k_ec_other, *k_ec384;
static char *rsa_pem; /* the RSA public key as PEM: the HS256 "secret" of the confusion attack */
static json_object *jwks;

/* ---- helpers ----------------------------------------------------------------------------- */

static char *b64url(const unsigned char *in, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len / 3 * 4 + 4), *o = out;
    size_t i;

    assert_non_null(out);
    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
        *o++ = abc[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
    }
    *o = '\0';
    return out;
}

static char *b64s(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

static char *cat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *out = malloc(la + lb + lc + 1);
    assert_non_null(out);
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc + 1);
    return out;
}

/* "<b64 header>.<b64 payload>" */
static char *signing_input(const char *header, const char *payload)
{
    char *h = b64s(header), *p = b64s(payload), *hp;
    char *tmp = cat3(h, ".", p);
    hp = tmp;
    free(h);
    free(p);
    return hp;
}

enum kind { K_RSA, K_PSS, K_EC, K_HMAC };

/* the raw signature of in with key (HMAC: rsa_pem as the secret); ECDSA as JOSE r||s */
static unsigned char *raw_sign(const char *in, EVP_PKEY *key, const EVP_MD *md, enum kind k,
                               size_t *siglen)
{
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig;
    size_t len = 0;

    if (k == K_HMAC) {
        unsigned int hlen = 0;
        sig = malloc(EVP_MAX_MD_SIZE);
        assert_non_null(sig);
        assert_non_null(HMAC(md, rsa_pem, (int)strlen(rsa_pem), (const unsigned char *)in,
                             strlen(in), sig, &hlen));
        *siglen = hlen;
        return sig;
    }
    ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, key), 1);
    if (k == K_PSS) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    assert_int_equal(EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)in, strlen(in)), 1);
    sig = malloc(len);
    assert_non_null(sig);
    assert_int_equal(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)in, strlen(in)), 1);
    EVP_MD_CTX_free(ctx);
    if (k == K_EC) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        int coord = (EVP_PKEY_get_bits(key) + 7) / 8;
        unsigned char *jose = malloc((size_t)coord * 2);
        assert_non_null(es);
        assert_non_null(jose);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), jose, coord), coord);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), jose + coord, coord), coord);
        ECDSA_SIG_free(es);
        free(sig);
        sig = jose;
        len = (size_t)coord * 2;
    }
    *siglen = len;
    return sig;
}

/* a whole token: header and payload as JSON text, signed with key */
static char *sign_token(const char *header, const char *payload, EVP_PKEY *key,
                        const EVP_MD *md, enum kind k)
{
    char *si = signing_input(header, payload), *s64, *tok;
    size_t siglen;
    unsigned char *sig = raw_sign(si, key, md, k, &siglen);

    s64 = b64url(sig, siglen);
    tok = cat3(si, ".", s64);
    free(si);
    free(sig);
    free(s64);
    return tok;
}

/* the usual header {"alg":..,"kid":..} (kid NULL: none) */
static char *header_for(const char *alg, const char *kid)
{
    json_object *h = json_object_new_object();
    char *s;

    json_object_object_add(h, "alg", json_object_new_string(alg));
    if (kid != NULL)
        json_object_object_add(h, "kid", json_object_new_string(kid));
    json_object_object_add(h, "typ", json_object_new_string("JWT"));
    s = strdup(json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(h);
    return s;
}

/* claims that pass the default policy */
static json_object *claims_default(void)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "iss", json_object_new_string(ISS));
    json_object_object_add(c, "sub", json_object_new_string("alice"));
    json_object_object_add(c, "aud", json_object_new_string("client1"));
    json_object_object_add(c, "exp", json_object_new_int64((int64_t)NOW + 3600));
    json_object_object_add(c, "iat", json_object_new_int64((int64_t)NOW - 60));
    json_object_object_add(c, "nbf", json_object_new_int64((int64_t)NOW - 60));
    json_object_object_add(c, "scope", json_object_new_string("openid profile"));
    return c;
}

/* the JSON text of c; c is released */
static char *claims_text(json_object *c)
{
    char *s = strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(c);
    assert_non_null(s);
    return s;
}

static char *default_payload(void)
{
    return claims_text(claims_default());
}

/* an RS256 (rsa1) or ES256 (ec1) token with the default claims, or with payload */
static char *good_token(const char *alg, const char *kid, const char *payload)
{
    char *h = header_for(alg, kid), *p = payload ? strdup(payload) : default_payload(), *t;
    if (strcmp(alg, "ES256") == 0)
        t = sign_token(h, p, k_ec, EVP_sha256(), K_EC);
    else
        t = sign_token(h, p, k_rsa, EVP_sha256(), K_RSA);
    free(h);
    free(p);
    return t;
}

static enum acred_reason parse_verify_with(const char *token, size_t len, json_object *set)
{
    struct acred_jwt jwt;
    enum acred_reason r = acred_jwt_parse(token, len, &jwt);
    if (r == ACRED_OK)
        r = acred_jwt_verify(&jwt, set);
    acred_jwt_free(&jwt);
    return r;
}

static enum acred_reason parse_verify(const char *token)
{
    return parse_verify_with(token, strlen(token), jwks);
}

static enum acred_reason parse_only(const char *token)
{
    struct acred_jwt jwt;
    enum acred_reason r = acred_jwt_parse(token, strlen(token), &jwt);
    acred_jwt_free(&jwt);
    return r;
}

/* a token of header and payload with a junk signature that only parses */
static char *unsigned_token(const char *header, const char *payload)
{
    char *si = signing_input(header, payload), *t = cat3(si, ".", "c2lnbmF0dXJl");
    free(si);
    return t;
}

static struct acred_jwt_policy policy(void)
{
    struct acred_jwt_policy p = {
        .issuer = ISS,
        .audience = "client1",
        .scope = "openid",
        .username_claim = "sub",
        .username_suffix = "",
        .user = "alice",
        .leeway = 60,
        .max_token_age = 0,
        .now = NOW,
    };
    return p;
}

static char msg[256];

/* check_claims on the claims c (released); the message never holds token text */
static enum acred_reason check_pol(json_object *c, const struct acred_jwt_policy *p)
{
    char *payload = claims_text(c), *h = header_for("RS256", "rsa1");
    char *t = unsigned_token(h, payload);
    char *pay64 = b64s(payload);
    struct acred_jwt jwt;
    enum acred_reason r;

    assert_int_equal(acred_jwt_parse(t, strlen(t), &jwt), ACRED_OK);
    memset(msg, 'x', sizeof(msg));
    r = acred_jwt_check_claims(&jwt, p, msg, sizeof(msg));
    assert_non_null(memchr(msg, '\0', sizeof(msg)));
    if (r == ACRED_OK)
        assert_string_equal(msg, "");
    else {
        assert_true(strlen(msg) > 0);
        assert_null(strstr(msg, pay64));
        assert_null(strstr(msg, "c2lnbmF0dXJl"));
        assert_null(strstr(msg, "eyJ"));
        assert_null(strstr(msg, "mallory"));
    }
    acred_jwt_free(&jwt);
    free(payload);
    free(h);
    free(t);
    free(pay64);
    return r;
}

static enum acred_reason check(json_object *c)
{
    struct acred_jwt_policy p = policy();
    return check_pol(c, &p);
}

static json_object *with(json_object *c, const char *name, json_object *v)
{
    if (v == NULL)
        json_object_object_del(c, name);
    else
        json_object_object_add(c, name, v);
    return c;
}

/* name: null (json-c's null is a NULL object, which with() takes for "remove") */
static json_object *with_null(json_object *c, const char *name)
{
    json_object_object_add(c, name, NULL);
    return c;
}

static json_object *str_array2(const char *a, const char *b)
{
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_new_string(a));
    if (b != NULL)
        json_object_array_add(arr, json_object_new_string(b));
    return arr;
}

/* a JWK member: the number bn as base64url of exactly len bytes (0: its own length) */
static void add_bn(json_object *jwk, const char *name, const BIGNUM *bn, int len)
{
    unsigned char buf[1024];
    int n = len > 0 ? len : BN_num_bytes(bn);
    char *s;

    assert_true(n <= (int)sizeof(buf));
    assert_int_equal(BN_bn2binpad(bn, buf, n), n);
    s = b64url(buf, (size_t)n);
    json_object_object_add(jwk, name, json_object_new_string(s));
    free(s);
}

static json_object *jwk_rsa(EVP_PKEY *k, const char *kid)
{
    json_object *jwk = json_object_new_object();
    BIGNUM *n = NULL, *e = NULL;

    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
    json_object_object_add(jwk, "kty", json_object_new_string("RSA"));
    json_object_object_add(jwk, "kid", json_object_new_string(kid));
    add_bn(jwk, "n", n, 0);
    add_bn(jwk, "e", e, 0);
    BN_free(n);
    BN_free(e);
    return jwk;
}

static json_object *jwk_ec(EVP_PKEY *k, const char *kid, const char *crv, int coord)
{
    json_object *jwk = json_object_new_object();
    BIGNUM *x = NULL, *y = NULL;

    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
    json_object_object_add(jwk, "kty", json_object_new_string("EC"));
    json_object_object_add(jwk, "kid", json_object_new_string(kid));
    json_object_object_add(jwk, "crv", json_object_new_string(crv));
    add_bn(jwk, "x", x, coord);
    add_bn(jwk, "y", y, coord);
    BN_free(x);
    BN_free(y);
    return jwk;
}

/* {"keys":[jwk]} ; jwk is taken */
static json_object *set_of(json_object *jwk)
{
    json_object *set = json_object_new_object(), *keys = json_object_new_array();
    json_object_array_add(keys, jwk);
    json_object_object_add(set, "keys", keys);
    return set;
}

static int setup(void **state)
{
    BIO *bio;
    char *data;
    long len;
    json_object *keys;

    (void)state;
    k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k_weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    k_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (!k_rsa || !k_weak || !k_ec || !k_ec_other || !k_ec384)
        return -1;

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, k_rsa) != 1)
        return -1;
    len = BIO_get_mem_data(bio, &data);
    rsa_pem = strndup(data, (size_t)len);
    BIO_free(bio);

    jwks = json_object_new_object();
    keys = json_object_new_array();
    json_object_array_add(keys, jwk_rsa(k_rsa, "rsa1"));
    json_object_array_add(keys, jwk_ec(k_ec, "ec1", "P-256", 32));
    json_object_array_add(keys, jwk_rsa(k_weak, "weak"));
    json_object_object_add(jwks, "keys", keys);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_object_put(jwks);
    free(rsa_pem);
    EVP_PKEY_free(k_rsa);
    EVP_PKEY_free(k_weak);
    EVP_PKEY_free(k_ec);
    EVP_PKEY_free(k_ec_other);
    EVP_PKEY_free(k_ec384);
    return 0;
}

/* ---- base64url --------------------------------------------------------------------------- */

static int b64_ok(const char *in, const char *want, size_t wantlen)
{
    unsigned char *out = NULL;
    size_t outlen = 99;
    int r = acred_b64url_decode(in, strlen(in), &out, &outlen);
    if (r == 0) {
        assert_int_equal(outlen, wantlen);
        assert_memory_equal(out, want, wantlen);
        free(out);
    } else {
        assert_null(out);
        assert_int_equal(outlen, 0);
    }
    return r;
}

static void test_b64_vectors(void **state)
{
    (void)state;
    assert_int_equal(b64_ok("", "", 0), 0);
    assert_int_equal(b64_ok("Zg", "f", 1), 0);
    assert_int_equal(b64_ok("Zm8", "fo", 2), 0);
    assert_int_equal(b64_ok("Zm9v", "foo", 3), 0);
    assert_int_equal(b64_ok("Zm9vYg", "foob", 4), 0);
    assert_int_equal(b64_ok("Zm9vYmE", "fooba", 5), 0);
    assert_int_equal(b64_ok("Zm9vYmFy", "foobar", 6), 0);
    assert_int_equal(b64_ok("-_-_", "\xfb\xff\xbf", 3), 0);
    assert_int_equal(b64_ok("AAAA", "\0\0\0", 3), 0);
}

static void test_b64_rejects_other_alphabets(void **state)
{
    (void)state;
    assert_int_equal(b64_ok("Zg==", "", 0), -1);
    assert_int_equal(b64_ok("Zm8=", "", 0), -1);
    assert_int_equal(b64_ok("+_-_", "", 0), -1);
    assert_int_equal(b64_ok("-/-_", "", 0), -1);
    assert_int_equal(b64_ok("Zm 9v", "", 0), -1);
    assert_int_equal(b64_ok("Zm9v\n", "", 0), -1);
    assert_int_equal(b64_ok(" Zm9v", "", 0), -1);
    assert_int_equal(b64_ok("Zm9v\r\n", "", 0), -1);
    assert_int_equal(b64_ok("Zm.v", "", 0), -1);
    assert_int_equal(b64_ok("Zm9\xc3\xa9", "", 0), -1);
    {
        unsigned char *out = NULL;
        size_t outlen;
        assert_int_equal(acred_b64url_decode("Zm\0v", 4, &out, &outlen), -1);
        assert_null(out);
    }
}

static void test_b64_length_and_trailing_bits(void **state)
{
    (void)state;
    assert_int_equal(b64_ok("Z", "", 0), -1);
    assert_int_equal(b64_ok("Zm9vY", "", 0), -1);
    assert_int_equal(b64_ok("Zm9vYmFyZ", "", 0), -1);
    /* non-canonical: the unused low bits must be zero */
    assert_int_equal(b64_ok("Zh", "", 0), -1);
    assert_int_equal(b64_ok("Zm9", "", 0), -1);
    assert_int_equal(b64_ok("Zm_", "", 0), -1);
    assert_int_equal(b64_ok("Zm9vYh", "", 0), -1);
    assert_int_equal(b64_ok("Zm9vYmF", "", 0), -1);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static int json_ok(const char *s)
{
    json_object *o = acred_json_parse(s, strlen(s));
    int ok = o != NULL;
    json_object_put(o);
    return ok;
}

static void test_json_valid(void **state)
{
    (void)state;
    assert_true(json_ok("{}"));
    assert_true(json_ok(" \t\r\n{\"a\" : [1, -0.5e+10, 2E-3, 0, -0, true, false, null] }\n "));
    assert_true(json_ok("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}"));
    assert_true(json_ok("{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\":\"\xef\xbf\xbd\"}"));
    assert_true(json_ok("[]"));
    assert_true(json_ok("123"));
    assert_true(json_ok("\"x\""));
    assert_true(json_ok("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}"));
    assert_true(json_ok("{\"\":1,\"a\":2,\"A\":3,\"a \":4}"));
}

static void test_json_duplicate_keys(void **state)
{
    (void)state;
    assert_false(json_ok("{\"a\":1,\"a\":2}"));
    assert_false(json_ok("{\"sub\":\"alice\",\"sub\":\"root\"}"));
    assert_false(json_ok("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}"));
    assert_false(json_ok("[{\"a\":1},{\"b\":1,\"b\":1}]"));
    assert_false(json_ok("{\"a\":{\"x\":{\"y\":1}},\"a\":2}"));
    /* equal after decoding escapes */
    assert_false(json_ok("{\"a\":1,\"\\u0061\":2}"));
    assert_false(json_ok("{\"\\u00e9\":1,\"\xc3\xa9\":2}"));
    assert_false(json_ok("{\"a/b\":1,\"a\\/b\":2}"));
    /* the same name in different objects is fine */
    assert_true(json_ok("{\"a\":{\"a\":1},\"b\":{\"a\":2}}"));
}

static void test_json_trailing_and_incomplete(void **state)
{
    (void)state;
    assert_false(json_ok("{} x"));
    assert_false(json_ok("{}{}"));
    assert_false(json_ok("{},"));
    assert_false(json_ok("{}]"));
    assert_false(json_ok("1 2"));
    assert_false(json_ok("{\"a\":1"));
    assert_false(json_ok("{\"a\":"));
    assert_false(json_ok("{\"a\""));
    assert_false(json_ok("["));
    assert_false(json_ok("\"abc"));
    assert_false(json_ok("tru"));
    assert_false(json_ok(""));
    assert_false(json_ok("   "));
    assert_false(json_ok("-"));
    assert_false(json_ok("1."));
    assert_false(json_ok("1e"));
    assert_false(json_ok("{\"a\":\"\\u12\"}"));
    assert_null(acred_json_parse(NULL, 0));
    assert_null(acred_json_parse("{\"a\":1}\0", 8));
    assert_null(acred_json_parse("{\"a\":\"x\0y\"}", 11));
}

static void test_json_not_strict_refused(void **state)
{
    (void)state;
    assert_false(json_ok("{'a':1}"));
    assert_false(json_ok("{'a\"':1,\"b\":2}"));
    assert_false(json_ok("{a:1}"));
    assert_false(json_ok("{\"a\":'x'}"));
    assert_false(json_ok("{\"a\":NaN}"));
    assert_false(json_ok("{\"a\":Infinity}"));
    assert_false(json_ok("{\"a\":-Infinity}"));
    assert_false(json_ok("{\"a\":01}"));
    assert_false(json_ok("{\"a\":+1}"));
    assert_false(json_ok("{\"a\":.5}"));
    assert_false(json_ok("{\"a\":0x10}"));
    assert_false(json_ok("{\"a\":1,}"));
    assert_false(json_ok("[1,]"));
    assert_false(json_ok("[,1]"));
    assert_false(json_ok("/*c*/{}"));
    assert_false(json_ok("{}//c"));
    assert_false(json_ok("{\"a\":\"x\ty\"}"));
    assert_false(json_ok("{\"a\":\"x\ny\"}"));
    assert_false(json_ok("{\"a\":\"\\x41\"}"));
    assert_false(json_ok("{\"a\":\"\\'\"}"));
    assert_false(json_ok("{\"a\":True}"));
    assert_false(json_ok("\xef\xbb\xbf{}"));
    assert_false(json_ok("{\"a\":1}\v"));
    assert_false(json_ok("{\"a\":\"\\u0000\"}"));
}

static void test_json_utf8(void **state)
{
    (void)state;
    assert_true(json_ok("{\"a\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\"}"));
    assert_true(json_ok("{\"a\":\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}"));
    assert_false(json_ok("{\"a\":\"\xc0\x80\"}"));         /* overlong NUL */
    assert_false(json_ok("{\"a\":\"\xc1\xbf\"}"));         /* overlong */
    assert_false(json_ok("{\"a\":\"\xe0\x80\xaf\"}"));     /* overlong '/' */
    assert_false(json_ok("{\"a\":\"\xf0\x80\x80\xaf\"}")); /* overlong */
    assert_false(json_ok("{\"a\":\"\xed\xa0\x80\"}"));     /* surrogate */
    assert_false(json_ok("{\"a\":\"\xf4\x90\x80\x80\"}")); /* above U+10FFFF */
    assert_false(json_ok("{\"a\":\"\xf5\x80\x80\x80\"}"));
    assert_false(json_ok("{\"a\":\"\xff\"}"));
    assert_false(json_ok("{\"a\":\"\x80\"}"));
    assert_false(json_ok("{\"a\":\"\xe2\x82\"}")); /* cut */
    assert_false(json_ok("{\"a\":\"\xe2\x82"));
    assert_false(json_ok("{\"a\":\"\xe2\x28\xa1\"}"));
    assert_false(json_ok("{\"\xff\":1}"));
    assert_false(json_ok("{\"a\":\"\\ud800\"}"));
    assert_false(json_ok("{\"a\":\"\\udc00\"}"));
    assert_false(json_ok("{\"a\":\"\\ud800\\u0041\"}"));
    assert_false(json_ok("{\"a\":\"\\ude00\\ud83d\"}"));
}

static char *nest(int depth, char open, char close, const char *inner)
{
    size_t il = strlen(inner), n = (size_t)depth;
    char *s = malloc(2 * n + il + 1);
    assert_non_null(s);
    memset(s, open, n);
    memcpy(s + n, inner, il);
    memset(s + n + il, close, n);
    s[2 * n + il] = '\0';
    return s;
}

static void test_json_depth(void **state)
{
    char *s;
    json_object *o;
    int i;
    (void)state;

    s = nest(32, '[', ']', "1");
    assert_true(json_ok(s));
    free(s);
    s = nest(33, '[', ']', "1");
    assert_false(json_ok(s));
    free(s);
    s = nest(32, '[', ']', "");
    assert_true(json_ok(s));
    free(s);
    s = nest(100000, '[', ']', "");
    assert_false(json_ok(s));
    free(s);
    s = nest(100000, '[', '[', "");
    assert_false(json_ok(s));
    free(s);

    /* objects: {"a":{"a":...1...}} */
    for (i = 31; i <= 33; i++) {
        size_t n = (size_t)i, len = 5 * n + 1 + n;
        char *p;
        s = malloc(len + 1);
        assert_non_null(s);
        p = s;
        for (size_t k = 0; k < n; k++) {
            memcpy(p, "{\"a\":", 5);
            p += 5;
        }
        *p++ = '1';
        memset(p, '}', n);
        p[n] = '\0';
        o = acred_json_parse(s, strlen(s));
        if (i <= 32)
            assert_non_null(o);
        else
            assert_null(o);
        json_object_put(o);
        free(s);
    }
}

static void test_json_helpers(void **state)
{
    const char *doc = "{\"s\":\"str\",\"i\":42,\"n\":-7,\"d\":1.5,\"b\":true,\"z\":null,"
                      "\"big\":18446744073709551615,\"max\":9223372036854775807}";
    json_object *o = acred_json_parse(doc, strlen(doc)), *arr;
    long long v = 0;
    (void)state;

    assert_non_null(o);
    assert_string_equal(acred_json_string(o, "s"), "str");
    assert_null(acred_json_string(o, "i"));
    assert_null(acred_json_string(o, "z"));
    assert_null(acred_json_string(o, "missing"));
    assert_null(acred_json_string(NULL, "s"));
    assert_int_equal(acred_json_int64(o, "i", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(acred_json_int64(o, "n", &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(acred_json_int64(o, "max", &v), 0);
    assert_true(v == 9223372036854775807LL);
    assert_int_equal(acred_json_int64(o, "d", &v), -1);
    assert_int_equal(acred_json_int64(o, "s", &v), -1);
    assert_int_equal(acred_json_int64(o, "b", &v), -1);
    assert_int_equal(acred_json_int64(o, "big", &v), -1);
    assert_int_equal(acred_json_int64(o, "missing", &v), -1);
    arr = acred_json_parse("[1]", 3);
    assert_int_equal(acred_json_int64(arr, "0", &v), -1);
    assert_null(acred_json_string(arr, "0"));
    json_object_put(arr);
    json_object_put(o);
}

/* ---- parsing ----------------------------------------------------------------------------- */

static void test_parse_valid(void **state)
{
    char *t = good_token("RS256", "rsa1", NULL);
    const char *dot2 = strrchr(t, '.');
    struct acred_jwt jwt;
    (void)state;

    assert_int_equal(acred_jwt_parse(t, strlen(t), &jwt), ACRED_OK);
    assert_string_equal(jwt.alg, "RS256");
    assert_string_equal(jwt.kid, "rsa1");
    assert_int_equal(jwt.sig_len, 256);
    assert_int_equal(jwt.signing_input_len, (size_t)(dot2 - t));
    assert_memory_equal(jwt.signing_input, t, jwt.signing_input_len);
    assert_int_equal(jwt.signing_input[jwt.signing_input_len], '\0');
    assert_string_equal(acred_json_string(jwt.claims, "sub"), "alice");
    acred_jwt_free(&jwt);
    assert_null(jwt.header);
    assert_null(jwt.signing_input);
    assert_null(jwt.sig);
    acred_jwt_free(&jwt); /* twice is fine */
    free(t);

    t = good_token("ES256", NULL, NULL);
    assert_int_equal(acred_jwt_parse(t, strlen(t), &jwt), ACRED_OK);
    assert_null(jwt.kid);
    assert_int_equal(jwt.sig_len, 64);
    acred_jwt_free(&jwt);
    free(t);
}

static void test_parse_free_zeroed(void **state)
{
    struct acred_jwt jwt;
    (void)state;
    memset(&jwt, 0, sizeof(jwt));
    acred_jwt_free(&jwt);
    acred_jwt_free(NULL);
    /* a failed parse leaves nothing to free but free is still fine */
    memset(&jwt, 0xA5, sizeof(jwt));
    assert_int_equal(acred_jwt_parse("x", 1, &jwt), ACRED_R_MALFORMED_TOKEN);
    assert_null(jwt.header);
    acred_jwt_free(&jwt);
    assert_int_equal(acred_jwt_parse(NULL, 0, &jwt), ACRED_R_MALFORMED_TOKEN);
    acred_jwt_free(&jwt);
    assert_int_equal(acred_jwt_parse("a.b.c", 5, NULL), ACRED_R_MALFORMED_TOKEN);
}

static void test_parse_part_count(void **state)
{
    char *t = good_token("RS256", "rsa1", NULL), *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    char *s;
    (void)state;

    assert_int_equal(parse_only("abc"), ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(parse_only(""), ACRED_R_MALFORMED_TOKEN);
    /* two parts: header.payload */
    s = strndup(t, (size_t)(d2 - t));
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    /* four parts */
    s = cat3(t, ".", "c2ln");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = cat3(t, ".", "");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    /* empty parts */
    s = cat3("", d1, ""); /* ".payload.sig" */
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = strdup(t);
    memmove(s + (d1 - t) + 1, s + (d2 - t), strlen(d2) + 1); /* "header..sig" */
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = strndup(t, (size_t)(d2 - t) + 1); /* "header.payload.": parses, cannot verify */
    assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
    free(s);
    assert_int_equal(parse_only(".."), ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(parse_only("..."), ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(parse_only("a.b.c"), ACRED_R_MALFORMED_TOKEN);
    /* sanity: the whole one parses */
    assert_int_equal(parse_only(t), ACRED_OK);
    free(t);
}

/* t with the character at pos replaced by the string rep */
static char *splice(const char *t, size_t pos, size_t cut, const char *rep)
{
    size_t tl = strlen(t), rl = strlen(rep);
    char *s = malloc(tl - cut + rl + 1);
    assert_non_null(s);
    memcpy(s, t, pos);
    memcpy(s + pos, rep, rl);
    memcpy(s + pos + rl, t + pos + cut, tl - pos - cut + 1);
    return s;
}

static void test_parse_bad_base64(void **state)
{
    char *t = good_token("RS256", "rsa1", NULL), *s;
    size_t d1 = (size_t)(strchr(t, '.') - t), d2 = (size_t)(strrchr(t, '.') - t);
    size_t positions[3] = {d1 / 2, (d1 + d2) / 2, (d2 + strlen(t)) / 2};
    const char *bad[] = {"+", "/", "=", " ", "\t", "%", "\xc3\xa9"};
    (void)state;

    for (size_t p = 0; p < 3; p++)
        for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
            s = splice(t, positions[p], 1, bad[b]);
            assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
            free(s);
        }
    /* '=' padding at the end of each part */
    s = splice(t, d1, 0, "==");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = cat3(t, "", "=");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    /* a part of length 1 mod 4: the header (20 + 1), the payload, the signature (342 + 3) */
    s = cat3("eyJhbGciOiJSUzI1NiJ9A", strchr(t, '.'), "");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = splice(t, d2, 0, (d2 - d1 - 1) % 4 == 0 ? "A" : (d2 - d1 - 1) % 4 == 2 ? "AAA" : "AA");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = cat3(t, "AAA", "");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    /* still canonical base64url, but a signature of 257 or 258 bytes */
    s = cat3(t, "A", "");
    assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
    free(s);
    s = cat3(t, "AA", "");
    assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
    free(s);
    free(t);
}

static void test_parse_nul_newline(void **state)
{
    char *t = good_token("ES256", "ec1", NULL), *s;
    size_t len = strlen(t), d1 = (size_t)(strchr(t, '.') - t);
    struct acred_jwt jwt;
    (void)state;

    /* a NUL inside: the length covers it */
    s = strdup(t);
    s[d1 + 5] = '\0';
    assert_int_equal(acred_jwt_parse(s, len, &jwt), ACRED_R_MALFORMED_TOKEN);
    acred_jwt_free(&jwt);
    free(s);
    /* a NUL after it, counted in the length */
    s = malloc(len + 1);
    memcpy(s, t, len + 1);
    assert_int_equal(acred_jwt_parse(s, len + 1, &jwt), ACRED_R_MALFORMED_TOKEN);
    acred_jwt_free(&jwt);
    free(s);
    /* newlines, inside or at the end */
    s = cat3(t, "\n", "");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = cat3(t, "\r\n", "");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = cat3(" ", t, "");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = splice(t, d1 + 8, 0, "\n");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    s = splice(t, len - 10, 0, "\n");
    assert_int_equal(parse_only(s), ACRED_R_MALFORMED_TOKEN);
    free(s);
    assert_int_equal(parse_verify(t), ACRED_OK);
    free(t);
}

static void test_parse_huge_token(void **state)
{
    size_t n = 3 * 1024 * 1024;
    char *big = malloc(n + 1);
    struct timespec a, b;
    struct acred_jwt jwt;
    double secs;
    (void)state;

    assert_non_null(big);
    memset(big, 'A', n);
    big[1000] = '.';
    big[n - 1000] = '.';
    big[n] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(acred_jwt_parse(big, n, &jwt), ACRED_R_MALFORMED_TOKEN);
        acred_jwt_free(&jwt);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(secs < 0.5); /* refused on its length, not read */
    /* just over the limit, well-formed otherwise */
    assert_int_equal(acred_jwt_parse(big, ACRED_TOKEN_MAX + 1, &jwt), ACRED_R_MALFORMED_TOKEN);
    acred_jwt_free(&jwt);
    free(big);
}

static void test_parse_structure(void **state)
{
    const char *payload = "{\"sub\":\"alice\",\"exp\":1}";
    struct {
        const char *header, *payload;
        enum acred_reason want;
    } cases[] = {
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"alice\"}", ACRED_OK},
        {"{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", NULL, ACRED_OK},
        {"[\"alg\",\"RS256\"]", NULL, ACRED_R_MALFORMED_TOKEN},
        {"\"RS256\"", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "[1]", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "123", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "\"sub\"", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "null", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "", ACRED_R_MALFORMED_TOKEN},
        {"{}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":256}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":null}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":[\"RS256\"]}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\",\"kid\":1}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\",\"kid\":null}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\",\"kid\":[\"rsa1\"]}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}", NULL,
         ACRED_R_MALFORMED_TOKEN},
        /* duplicate names, in the header and in the payload */
        {"{\"alg\":\"RS256\",\"alg\":\"none\"}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"kid\":\"weak\"}", NULL,
         ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"alice\",\"sub\":\"root\",\"exp\":1}",
         ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"alice\",\"\\u0073ub\":\"root\"}",
         ACRED_R_MALFORMED_TOKEN},
        /* trailing garbage after the JSON */
        {"{\"alg\":\"RS256\"}x", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"alice\"}{}", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"alice\"} ,", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"} \n", "{\"sub\":\"alice\"}\r\n", ACRED_OK},
        /* not UTF-8 */
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"al\xe9ice\"}", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"\xc0\xafroot\"}", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS\xff\"}", NULL, ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"alice\\u0000root\"}", ACRED_R_MALFORMED_TOKEN},
        {"{\"alg\":\"RS256\"}", "{\"sub\":'alice'}", ACRED_R_MALFORMED_TOKEN},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = unsigned_token(cases[i].header, cases[i].payload ? cases[i].payload : payload);
        if (parse_only(t) != cases[i].want)
            fail_msg("case %zu: %s / %s", i, cases[i].header,
                     cases[i].payload ? cases[i].payload : payload);
        free(t);
    }
}

static void test_parse_deep_nesting(void **state)
{
    char *inner = nest(40, '[', ']', "1"), *p = cat3("{\"sub\":\"alice\",\"x\":", inner, "}");
    char *t = unsigned_token("{\"alg\":\"RS256\"}", p);
    char *inner2 = nest(30, '[', ']', "1"), *p2 = cat3("{\"x\":", inner2, "}");
    char *t2 = unsigned_token("{\"alg\":\"RS256\"}", p2);
    (void)state;

    assert_int_equal(parse_only(t), ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(parse_only(t2), ACRED_OK);
    free(inner);
    free(p);
    free(t);
    free(inner2);
    free(p2);
    free(t2);
}

/* ---- signatures -------------------------------------------------------------------------- */

static void test_verify_rs256_ok(void **state)
{
    char *t = good_token("RS256", "rsa1", NULL);
    (void)state;
    assert_int_equal(parse_verify(t), ACRED_OK);
    free(t);
}

static void test_verify_es256_ok(void **state)
{
    char *t = good_token("ES256", "ec1", NULL);
    (void)state;
    assert_int_equal(parse_verify(t), ACRED_OK);
    free(t);
}

static void test_verify_alg_none(void **state)
{
    char *p = default_payload(), *t;
    (void)state;

    t = unsigned_token("{\"alg\":\"none\"}", p); /* with some signature */
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    t = unsigned_token("{\"alg\":\"none\",\"kid\":\"rsa1\"}", p);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    t = unsigned_token("{\"alg\":\"None\"}", p);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    /* the usual form: an empty signature, refused for its algorithm */
    {
        char *si = signing_input("{\"alg\":\"none\"}", p);
        t = cat3(si, ".", "");
        assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
        free(t);
        free(si);
    }
    free(p);
}

static void test_verify_hs256_confusion(void **state)
{
    char *p = default_payload(), *t;
    (void)state;

    t = sign_token("{\"alg\":\"HS256\",\"kid\":\"rsa1\"}", p, NULL, EVP_sha256(), K_HMAC);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    t = sign_token("{\"alg\":\"HS256\"}", p, NULL, EVP_sha256(), K_HMAC);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    free(p);
}

static void test_verify_other_algs(void **state)
{
    char *p = default_payload(), *t;
    const char *names[] = {"RS384", "RS512", "PS256", "ES384", "ES512", "HS512", "EdDSA",
                           "rs256", "RS256 ", " RS256", "ES256K", "RS2560", "", "RS"};
    (void)state;

    t = sign_token("{\"alg\":\"RS512\",\"kid\":\"rsa1\"}", p, k_rsa, EVP_sha512(), K_RSA);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    t = sign_token("{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", p, k_rsa, EVP_sha256(), K_PSS);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    t = sign_token("{\"alg\":\"ES384\",\"kid\":\"ec1\"}", p, k_ec384, EVP_sha384(), K_EC);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
    free(t);
    /* a PSS signature (or SHA-512 one) presented as RS256 does not verify */
    t = sign_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", p, k_rsa, EVP_sha256(), K_PSS);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_SIGNATURE);
    free(t);
    t = sign_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", p, k_rsa, EVP_sha512(), K_RSA);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_SIGNATURE);
    free(t);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_object *h = json_object_new_object();
        json_object_object_add(h, "alg", json_object_new_string(names[i]));
        json_object_object_add(h, "kid", json_object_new_string("rsa1"));
        t = sign_token(json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN), p, k_rsa,
                       EVP_sha256(), K_RSA);
        assert_int_equal(parse_verify(t), ACRED_R_BAD_ALGORITHM);
        free(t);
        json_object_put(h);
    }
    free(p);
}

static void test_verify_unknown_kid(void **state)
{
    char *t = good_token("RS256", "rsa2", NULL);
    (void)state;
    assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
    free(t);
    t = good_token("RS256", "RSA1", NULL);
    assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
    free(t);
    t = good_token("RS256", "", NULL);
    assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
    free(t);

    /* keys offered by the token itself (jwk, jku, x5u) are never used */
    {
        json_object *h = json_object_new_object();
        char *p = default_payload();
        json_object_object_add(h, "alg", json_object_new_string("ES256"));
        json_object_object_add(h, "kid", json_object_new_string("attacker"));
        json_object_object_add(h, "jwk", jwk_ec(k_ec_other, "attacker", "P-256", 32));
        json_object_object_add(h, "jku", json_object_new_string("https://evil.example/jwks"));
        json_object_object_add(h, "x5u", json_object_new_string("https://evil.example/x5u"));
        t = sign_token(json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN), p,
                       k_ec_other, EVP_sha256(), K_EC);
        assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
        free(t);
        json_object_object_del(h, "kid"); /* then ec1, the only EC key, which did not sign */
        t = sign_token(json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN), p,
                       k_ec_other, EVP_sha256(), K_EC);
        assert_int_equal(parse_verify(t), ACRED_R_BAD_SIGNATURE);
        free(t);
        json_object_put(h);
        free(p);
    }
}

static void test_verify_kid_wrong_type(void **state)
{
    char *p = default_payload(), *t;
    (void)state;

    /* kid names the EC key, alg says RS256 (signed with the RSA key) */
    t = sign_token("{\"alg\":\"RS256\",\"kid\":\"ec1\"}", p, k_rsa, EVP_sha256(), K_RSA);
    assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
    free(t);
    /* kid names the RSA key, alg says ES256 */
    t = sign_token("{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", p, k_ec, EVP_sha256(), K_EC);
    assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
    free(t);
    free(p);
}

static void test_verify_no_kid(void **state)
{
    char *t;
    json_object *set, *keys;
    (void)state;

    /* one EC key in the set: it is the one */
    t = good_token("ES256", NULL, NULL);
    assert_int_equal(parse_verify(t), ACRED_OK);
    /* two EC P-256 keys: ambiguous */
    set = json_object_new_object();
    keys = json_object_new_array();
    json_object_array_add(keys, jwk_ec(k_ec, "ec1", "P-256", 32));
    json_object_array_add(keys, jwk_ec(k_ec_other, "ec2", "P-256", 32));
    json_object_object_add(set, "keys", keys);
    assert_int_equal(parse_verify_with(t, strlen(t), set), ACRED_R_UNKNOWN_KEY);
    json_object_put(set);
    /* a P-384 key beside does not count */
    set = json_object_new_object();
    keys = json_object_new_array();
    json_object_array_add(keys, jwk_ec(k_ec384, "p384", "P-384", 48));
    json_object_array_add(keys, jwk_ec(k_ec, "ec1", "P-256", 32));
    json_object_object_add(set, "keys", keys);
    assert_int_equal(parse_verify_with(t, strlen(t), set), ACRED_OK);
    json_object_put(set);
    free(t);

    /* two RSA keys (rsa1 and weak): ambiguous */
    t = good_token("RS256", NULL, NULL);
    assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
    /* with rsa1 alone it is fine */
    set = set_of(jwk_rsa(k_rsa, "rsa1"));
    assert_int_equal(parse_verify_with(t, strlen(t), set), ACRED_OK);
    json_object_put(set);
    free(t);

    /* two keys with the same kid and type: ambiguous */
    t = good_token("ES256", "ec1", NULL);
    set = json_object_new_object();
    keys = json_object_new_array();
    json_object_array_add(keys, jwk_ec(k_ec_other, "ec1", "P-256", 32));
    json_object_array_add(keys, jwk_ec(k_ec, "ec1", "P-256", 32));
    json_object_object_add(set, "keys", keys);
    assert_int_equal(parse_verify_with(t, strlen(t), set), ACRED_R_UNKNOWN_KEY);
    json_object_put(set);
    free(t);
}

/* verify() != OK for every one-character change of t */
static void flip_every_char(const char *t)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t len = strlen(t);
    char *s = strdup(t);

    assert_non_null(s);
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.')
            continue;
        /* the next letter of the alphabet: always a different character */
        s[i] = abc[(strchr(abc, t[i]) - abc + 1) % 64];
        if (parse_verify(s) == ACRED_OK)
            fail_msg("a change at %zu of %zu still verifies", i, len);
        s[i] = t[i];
    }
    assert_int_equal(parse_verify(s), ACRED_OK);
    free(s);
}

static void test_verify_tampered(void **state)
{
    char *t, *h, *p, *t2, *d1, *d2, *s;
    json_object *c;
    (void)state;

    /* a header changed in a way that still parses */
    t = sign_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"x\":\"aaaa\"}",
                   "{\"sub\":\"alice\",\"exp\":1}", k_rsa, EVP_sha256(), K_RSA);
    t2 = sign_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"x\":\"aaab\"}",
                    "{\"sub\":\"alice\",\"exp\":1}", k_rsa, EVP_sha256(), K_RSA);
    d1 = strchr(t2, '.');
    h = strndup(t2, (size_t)(d1 - t2));
    s = cat3(h, strchr(t, '.'), "");
    assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
    free(s);
    free(h);
    free(t);
    free(t2);

    /* a payload swapped for another (sub: mallory) */
    t = good_token("ES256", "ec1", NULL);
    c = with(claims_default(), "sub", json_object_new_string("mallory"));
    p = claims_text(c);
    h = b64s(p);
    d1 = strchr(t, '.');
    d2 = strrchr(t, '.');
    s = splice(t, (size_t)(d1 - t) + 1, (size_t)(d2 - d1) - 1, h);
    assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
    free(s);
    free(h);
    free(p);

    /* one character anywhere */
    flip_every_char(t);
    free(t);
    t = good_token("RS256", "rsa1", NULL);
    flip_every_char(t);
    free(t);
}

/* t with its signature replaced by sig[0..len) */
static char *with_sig(const char *t, const unsigned char *sig, size_t len)
{
    const char *d2 = strrchr(t, '.');
    char *head = strndup(t, (size_t)(d2 - t) + 1), *s64 = b64url(sig, len);
    char *out = cat3(head, s64, "");
    free(head);
    free(s64);
    return out;
}

static void test_verify_signature_length(void **state)
{
    const char *kinds[] = {"RS256", "ES256"};
    (void)state;

    for (int k = 0; k < 2; k++) {
        char *t = good_token(kinds[k], k == 0 ? "rsa1" : "ec1", NULL), *s;
        unsigned char *sig, big[600];
        size_t len;
        const char *d2 = strrchr(t, '.');

        assert_int_equal(acred_b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &len), 0);
        assert_int_equal(len, k == 0 ? 256 : 64);
        s = with_sig(t, sig, len);
        assert_int_equal(parse_verify(s), ACRED_OK);
        free(s);
        /* one byte short */
        s = with_sig(t, sig, len - 1);
        assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
        free(s);
        /* one byte long: at the end, and a zero byte in front */
        memcpy(big, sig, len);
        big[len] = 0;
        s = with_sig(t, big, len + 1);
        assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
        free(s);
        big[0] = 0;
        memcpy(big + 1, sig, len);
        s = with_sig(t, big, len + 1);
        assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
        free(s);
        /* all zero */
        memset(big, 0, len);
        s = with_sig(t, big, len);
        assert_int_equal(parse_verify(s), ACRED_R_BAD_SIGNATURE);
        free(s);
        free(sig);
        free(t);
    }
}

static void test_verify_es256_der_and_wrong_key(void **state)
{
    char *h = header_for("ES256", "ec1"), *p = default_payload(), *si = signing_input(h, p);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t derlen = sizeof(der);
    char *t;
    (void)state;

    /* a DER signature, as OpenSSL makes it, is not the JOSE form */
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k_ec), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)si, strlen(si)), 1);
    EVP_MD_CTX_free(ctx);
    {
        char *tmp = cat3(si, ".", "AAAA");
        t = with_sig(tmp, der, derlen);
        free(tmp);
    }
    assert_int_equal(parse_verify(t), ACRED_R_BAD_SIGNATURE);
    free(t);

    /* signed by another P-256 key under kid ec1 */
    t = sign_token(h, p, k_ec_other, EVP_sha256(), K_EC);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_SIGNATURE);
    free(t);
    /* signed by the 1024-bit key under kid rsa1: wrong length */
    free(h);
    h = header_for("RS256", "rsa1");
    t = sign_token(h, p, k_weak, EVP_sha256(), K_RSA);
    assert_int_equal(parse_verify(t), ACRED_R_BAD_SIGNATURE);
    free(t);
    free(si);
    free(h);
    free(p);
}

static void test_verify_weak_key(void **state)
{
    char *h = header_for("RS256", "weak"), *p = default_payload();
    char *t = sign_token(h, p, k_weak, EVP_sha256(), K_RSA);
    (void)state;

    assert_int_equal(parse_verify(t), ACRED_R_UNKNOWN_KEY);
    free(t);
    free(h);
    free(p);
}

/* verify the RS256 / ES256 token t against a set with one JWK changed by name = v */
static enum acred_reason with_jwk_member(const char *t, int ec, const char *name, json_object *v)
{
    json_object *jwk = ec ? jwk_ec(k_ec, "ec1", "P-256", 32) : jwk_rsa(k_rsa, "rsa1");
    json_object *set;
    enum acred_reason r;

    with(jwk, name, v);
    set = set_of(jwk);
    r = parse_verify_with(t, strlen(t), set);
    json_object_put(set);
    return r;
}

static void test_verify_jwk_constraints(void **state)
{
    char *rt = good_token("RS256", "rsa1", NULL), *et = good_token("ES256", "ec1", NULL);
    json_object *ops;
    (void)state;

    assert_int_equal(with_jwk_member(rt, 0, "alg", json_object_new_string("RS256")), ACRED_OK);
    assert_int_equal(with_jwk_member(rt, 0, "alg", json_object_new_string("RS512")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "alg", json_object_new_string("PS256")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "alg", json_object_new_int(1)), ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "alg", json_object_new_string("ES256")), ACRED_OK);
    assert_int_equal(with_jwk_member(et, 1, "alg", json_object_new_string("RS256")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "use", json_object_new_string("sig")), ACRED_OK);
    assert_int_equal(with_jwk_member(rt, 0, "use", json_object_new_string("enc")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "use", json_object_new_string("SIG")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "use", json_object_new_boolean(1)),
                     ACRED_R_UNKNOWN_KEY);
    ops = str_array2("verify", "sign");
    assert_int_equal(with_jwk_member(rt, 0, "key_ops", ops), ACRED_OK);
    ops = str_array2("encrypt", NULL);
    assert_int_equal(with_jwk_member(rt, 0, "key_ops", ops), ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "key_ops", json_object_new_string("verify")),
                     ACRED_R_UNKNOWN_KEY);
    /* the type itself */
    assert_int_equal(with_jwk_member(rt, 0, "kty", json_object_new_string("rsa")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "kty", NULL), ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "crv", json_object_new_string("P-384")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "crv", NULL), ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "kid", json_object_new_int(1)),
                     ACRED_R_UNKNOWN_KEY);
    free(rt);
    free(et);
}

static void test_verify_bad_key_material(void **state)
{
    char *rt = good_token("RS256", "rsa1", NULL), *et = good_token("ES256", "ec1", NULL);
    json_object *jwk, *set;
    BIGNUM *x = NULL, *y = NULL;
    (void)state;

    /* x of 31 and 33 bytes, y missing, not base64url */
    assert_int_equal(with_jwk_member(et, 1, "x", json_object_new_string("AAAA")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "y", NULL), ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(et, 1, "x", json_object_new_string("a+b/")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(EVP_PKEY_get_bn_param(k_ec, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(k_ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
    jwk = jwk_ec(k_ec, "ec1", "P-256", 32);
    add_bn(jwk, "x", x, 33);
    set = set_of(jwk);
    assert_int_equal(parse_verify_with(et, strlen(et), set), ACRED_R_UNKNOWN_KEY);
    json_object_put(set);
    /* a point off the curve: y + 1 */
    jwk = jwk_ec(k_ec, "ec1", "P-256", 32);
    assert_int_equal(BN_add_word(y, 1), 1);
    add_bn(jwk, "y", y, 32);
    set = set_of(jwk);
    assert_int_equal(parse_verify_with(et, strlen(et), set), ACRED_R_UNKNOWN_KEY);
    assert_int_equal(acred_jwt_expected_sig_len(set, "ES256", "ec1"), -1);
    json_object_put(set);
    BN_free(x);
    BN_free(y);

    /* RSA: e missing, e = 1, e even, n not base64url, n even */
    assert_int_equal(with_jwk_member(rt, 0, "e", NULL), ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "e", json_object_new_string("AQ")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "e", json_object_new_string("AQAC")),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "e", json_object_new_int(65537)),
                     ACRED_R_UNKNOWN_KEY);
    assert_int_equal(with_jwk_member(rt, 0, "n", json_object_new_string("AQAB=")),
                     ACRED_R_UNKNOWN_KEY);
    {
        BIGNUM *n = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(k_rsa, OSSL_PKEY_PARAM_RSA_N, &n), 1);
        assert_int_equal(BN_add_word(n, 1), 1);
        jwk = jwk_rsa(k_rsa, "rsa1");
        add_bn(jwk, "n", n, 0);
        set = set_of(jwk);
        assert_int_equal(parse_verify_with(rt, strlen(rt), set), ACRED_R_UNKNOWN_KEY);
        json_object_put(set);
        /* a leading zero octet on n is tolerated, and the length stays that of n */
        assert_int_equal(BN_sub_word(n, 1), 1);
        jwk = jwk_rsa(k_rsa, "rsa1");
        add_bn(jwk, "n", n, 257);
        set = set_of(jwk);
        assert_int_equal(parse_verify_with(rt, strlen(rt), set), ACRED_OK);
        assert_int_equal(acred_jwt_expected_sig_len(set, "RS256", "rsa1"), 256);
        json_object_put(set);
        BN_free(n);
    }
    free(rt);
    free(et);
}

static void test_verify_bad_jwks(void **state)
{
    char *t = good_token("RS256", "rsa1", NULL);
    const char *sets[] = {"{}", "{\"keys\":{}}", "{\"keys\":null}", "{\"keys\":[]}",
                          "{\"keys\":[1,\"x\",null,[]]}", "[]", "{\"Keys\":[]}"};
    struct acred_jwt jwt;
    (void)state;

    assert_int_equal(parse_verify_with(t, strlen(t), NULL), ACRED_R_UNKNOWN_KEY);
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        json_object *set = acred_json_parse(sets[i], strlen(sets[i]));
        assert_non_null(set);
        assert_int_equal(parse_verify_with(t, strlen(t), set), ACRED_R_UNKNOWN_KEY);
        json_object_put(set);
    }
    /* verify on a struct that did not parse */
    memset(&jwt, 0, sizeof(jwt));
    assert_int_equal(acred_jwt_verify(&jwt, jwks), ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(acred_jwt_verify(NULL, jwks), ACRED_R_MALFORMED_TOKEN);
    free(t);
}

static void test_expected_sig_len(void **state)
{
    (void)state;
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "RS256", "rsa1"), 256);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "ES256", "ec1"), 64);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "ES256", NULL), 64);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "RS256", NULL), -1); /* two RSA keys */
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "RS256", "nope"), -1);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "RS256", "weak"), -1);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "RS256", "ec1"), -1);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "ES256", "rsa1"), -1);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "RS512", "rsa1"), -1);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, "none", "rsa1"), -1);
    assert_int_equal(acred_jwt_expected_sig_len(jwks, NULL, "rsa1"), -1);
    assert_int_equal(acred_jwt_expected_sig_len(NULL, "RS256", "rsa1"), -1);
}

/* ---- claims ------------------------------------------------------------------------------ */

static void test_claims_ok(void **state)
{
    struct acred_jwt_policy p = policy();
    char *t;
    struct acred_jwt jwt;
    (void)state;

    assert_int_equal(check(claims_default()), ACRED_OK);
    /* the whole path on a signed token */
    t = good_token("ES256", "ec1", NULL);
    assert_int_equal(acred_jwt_parse(t, strlen(t), &jwt), ACRED_OK);
    assert_int_equal(acred_jwt_verify(&jwt, jwks), ACRED_OK);
    assert_int_equal(acred_jwt_check_claims(&jwt, &p, msg, sizeof(msg)), ACRED_OK);
    acred_jwt_check_claims(&jwt, &p, NULL, 0); /* no message buffer */
    acred_jwt_free(&jwt);
    free(t);
}

static void test_claims_exp(void **state)
{
    (void)state;
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_int64(NOW - 3600))),
                     ACRED_R_TOKEN_EXPIRED);
    assert_string_equal(msg, "Token expired at 21:13 UTC; get a new one");
    assert_int_equal(check(with(claims_default(), "exp",
                                json_object_new_int64(NOW - 2 * 86400 - 120))),
                     ACRED_R_TOKEN_EXPIRED);
    assert_string_equal(msg, "Token expired on 2023-11-12 at 22:11 UTC; get a new one");
    /* leeway 60: 30 s ago is fine, 60 s ago is not */
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_int64(NOW - 30))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_int64(NOW - 60))),
                     ACRED_R_TOKEN_EXPIRED);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_int64(NOW - 59))),
                     ACRED_OK);
    /* a double */
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_double(1.7e9 + 100.5))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_double(1.6e9))),
                     ACRED_R_TOKEN_EXPIRED);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_int64(INT64_MIN))),
                     ACRED_R_TOKEN_EXPIRED);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_double(-1e300))),
                     ACRED_R_TOKEN_EXPIRED);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_int64(INT64_MAX))),
                     ACRED_OK);
    /* required, and a number */
    assert_int_equal(check(with(claims_default(), "exp", NULL)), ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_string("1800000000"))),
                     ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(check(with(claims_default(), "exp", json_object_new_boolean(1))),
                     ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(check(with_null(claims_default(), "exp")),
                     ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(check(with(claims_default(), "exp", str_array2("1800000000", NULL))),
                     ACRED_R_MALFORMED_TOKEN);
}

static void test_claims_exp_overflowing_double(void **state)
{
    /* 1e400 is a valid JSON number that json-c turns into infinity: not a NumericDate */
    const char *payload = "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"client1\","
                          "\"scope\":\"openid\",\"exp\":1e400}";
    char *t = unsigned_token("{\"alg\":\"RS256\"}", payload);
    struct acred_jwt_policy p = policy();
    struct acred_jwt jwt;
    (void)state;

    assert_int_equal(acred_jwt_parse(t, strlen(t), &jwt), ACRED_OK);
    assert_int_equal(acred_jwt_check_claims(&jwt, &p, msg, sizeof(msg)),
                     ACRED_R_MALFORMED_TOKEN);
    acred_jwt_free(&jwt);
    free(t);
}

static void test_claims_nbf_iat(void **state)
{
    (void)state;
    assert_int_equal(check(with(claims_default(), "nbf", json_object_new_int64(NOW + 3600))),
                     ACRED_R_TOKEN_NOT_YET_VALID);
    assert_string_equal(msg, "Token is not valid before 23:13 UTC; check this host's clock");
    assert_int_equal(check(with(claims_default(), "nbf", json_object_new_int64(NOW + 30))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "nbf", json_object_new_int64(NOW + 61))),
                     ACRED_R_TOKEN_NOT_YET_VALID);
    assert_int_equal(check(with(claims_default(), "nbf", NULL)), ACRED_OK);
    assert_int_equal(check(with(claims_default(), "nbf", json_object_new_string("0"))),
                     ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(check(with_null(claims_default(), "nbf")), ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(check(with(claims_default(), "nbf",
                                json_object_new_int64(NOW + 2 * 86400))),
                     ACRED_R_TOKEN_NOT_YET_VALID);
    assert_string_equal(msg,
                        "Token is not valid before 2023-11-16 22:13 UTC; check this host's clock");

    assert_int_equal(check(with(claims_default(), "iat", json_object_new_int64(NOW + 3600))),
                     ACRED_R_TOKEN_NOT_YET_VALID);
    assert_non_null(strstr(msg, "check this host's clock"));
    assert_int_equal(check(with(claims_default(), "iat", json_object_new_int64(NOW + 60))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "iat", json_object_new_double(1.7e9 + 60.5))),
                     ACRED_R_TOKEN_NOT_YET_VALID);
    assert_int_equal(check(with(claims_default(), "iat", NULL)), ACRED_OK);
    assert_int_equal(check(with_null(claims_default(), "iat")),
                     ACRED_R_MALFORMED_TOKEN);
}

static void test_claims_max_token_age(void **state)
{
    struct acred_jwt_policy p = policy();
    (void)state;

    p.max_token_age = 600;
    assert_int_equal(check_pol(with(claims_default(), "iat", json_object_new_int64(NOW - 300)),
                               &p),
                     ACRED_OK);
    assert_int_equal(check_pol(with(claims_default(), "iat", json_object_new_int64(NOW - 600)),
                               &p),
                     ACRED_OK);
    assert_int_equal(check_pol(with(claims_default(), "iat", json_object_new_int64(NOW - 601)),
                               &p),
                     ACRED_R_TOKEN_TOO_OLD);
    assert_string_equal(msg, "Token was issued more than 10 minutes ago; get a new one");
    assert_int_equal(check_pol(with(claims_default(), "iat", NULL), &p), ACRED_R_TOKEN_TOO_OLD);
    p.max_token_age = 0;
    assert_int_equal(check_pol(with(claims_default(), "iat", json_object_new_int64(NOW - 86400)),
                               &p),
                     ACRED_OK);
    assert_int_equal(check_pol(with(claims_default(), "iat", NULL), &p), ACRED_OK);
}

static void test_claims_issuer(void **state)
{
    const char *bad[] = {ISS "/", "https://abc123.aliyunidaas.com/api/v2/app_x/oid",
                         "HTTPS://abc123.aliyunidaas.com/api/v2/app_x/oidc", " " ISS,
                         "https://evil.example/" ISS, ISS "x", ""};
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check(with(claims_default(), "iss", json_object_new_string(bad[i]))),
                         ACRED_R_BAD_ISSUER);
        assert_string_equal(msg, "Token is from another issuer");
    }
    assert_int_equal(check(with(claims_default(), "iss", NULL)), ACRED_R_BAD_ISSUER);
    assert_int_equal(check(with(claims_default(), "iss", str_array2(ISS, NULL))),
                     ACRED_R_BAD_ISSUER);
    assert_int_equal(check(with(claims_default(), "iss", json_object_new_int(1))),
                     ACRED_R_BAD_ISSUER);
}

static void test_claims_audience(void **state)
{
    struct acred_jwt_policy p = policy();
    (void)state;

    assert_int_equal(check(with(claims_default(), "aud", str_array2("other", "client1"))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "aud", str_array2("client1", NULL))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "aud", str_array2("other", "client11"))),
                     ACRED_R_BAD_AUDIENCE);
    assert_string_equal(msg, "Token is not meant for this host's client");
    assert_int_equal(check(with(claims_default(), "aud", json_object_new_array())),
                     ACRED_R_BAD_AUDIENCE);
    assert_int_equal(check(with(claims_default(), "aud", json_object_new_string("client"))),
                     ACRED_R_BAD_AUDIENCE);
    assert_int_equal(check(with(claims_default(), "aud", json_object_new_string("Client1"))),
                     ACRED_R_BAD_AUDIENCE);
    assert_int_equal(check(with(claims_default(), "aud", json_object_new_string("client1 other"))),
                     ACRED_R_BAD_AUDIENCE);
    assert_int_equal(check(with(claims_default(), "aud", NULL)), ACRED_R_BAD_AUDIENCE);
    assert_int_equal(check(with(claims_default(), "aud", json_object_new_int(1))),
                     ACRED_R_BAD_AUDIENCE);
    /* no audience in the policy: not checked */
    p.audience = NULL;
    assert_int_equal(check_pol(with(claims_default(), "aud", NULL), &p), ACRED_OK);
    assert_int_equal(check_pol(with(claims_default(), "aud", json_object_new_string("x")), &p),
                     ACRED_OK);
}

static void test_claims_scope(void **state)
{
    struct acred_jwt_policy p = policy();
    (void)state;

    /* scope, a space-separated string */
    assert_int_equal(check(with(claims_default(), "scope", json_object_new_string("openid"))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "scope", json_object_new_string("a openid b"))),
                     ACRED_OK);
    assert_int_equal(check(with(claims_default(), "scope", json_object_new_string("openidx"))),
                     ACRED_R_MISSING_SCOPE);
    assert_string_equal(msg, "Token lacks the scope openid");
    assert_int_equal(check(with(claims_default(), "scope", json_object_new_string("OpenID"))),
                     ACRED_R_MISSING_SCOPE);
    assert_int_equal(check(with(claims_default(), "scope", json_object_new_string("open id"))),
                     ACRED_R_MISSING_SCOPE);
    assert_int_equal(check(with(claims_default(), "scope", json_object_new_string(""))),
                     ACRED_R_MISSING_SCOPE);
    assert_int_equal(check(with(claims_default(), "scope", str_array2("openid", NULL))),
                     ACRED_R_MISSING_SCOPE); /* scope must be a string */
    /* scp, an array of strings */
    assert_int_equal(check(with(with(claims_default(), "scope", NULL), "scp",
                                str_array2("profile", "openid"))),
                     ACRED_OK);
    assert_int_equal(check(with(with(claims_default(), "scope", NULL), "scp",
                                str_array2("openid profile", NULL))),
                     ACRED_R_MISSING_SCOPE);
    assert_int_equal(check(with(with(claims_default(), "scope", NULL), "scp",
                                json_object_new_string("openid"))),
                     ACRED_R_MISSING_SCOPE); /* scp must be an array */
    /* neither */
    assert_int_equal(check(with(claims_default(), "scope", NULL)), ACRED_R_MISSING_SCOPE);

    /* several items in the policy */
    p.scope = "openid  profile ";
    assert_int_equal(check_pol(with(claims_default(), "scope",
                                    json_object_new_string("profile email openid")),
                               &p),
                     ACRED_OK);
    assert_int_equal(check_pol(with(claims_default(), "scope", json_object_new_string("openid")),
                               &p),
                     ACRED_R_MISSING_SCOPE);
    assert_string_equal(msg, "Token lacks the scope profile");
    /* from either claim */
    assert_int_equal(check_pol(with(with(claims_default(), "scope",
                                         json_object_new_string("openid")),
                                    "scp", str_array2("profile", NULL)),
                               &p),
                     ACRED_OK);
    /* no scope in the policy */
    p.scope = NULL;
    assert_int_equal(check_pol(with(claims_default(), "scope", NULL), &p), ACRED_OK);
    p.scope = "";
    assert_int_equal(check_pol(with(claims_default(), "scope", NULL), &p), ACRED_OK);
}

static void test_claims_user(void **state)
{
    struct acred_jwt_policy p = policy();
    (void)state;

    assert_int_equal(check(with(claims_default(), "sub", json_object_new_string("mallory"))),
                     ACRED_R_USER_MISMATCH);
    assert_string_equal(msg, "Token belongs to another user, not alice");
    assert_int_equal(check(with(claims_default(), "sub", json_object_new_string("Alice"))),
                     ACRED_R_USER_MISMATCH);
    assert_int_equal(check(with(claims_default(), "sub", json_object_new_string("alice "))),
                     ACRED_R_USER_MISMATCH);
    assert_int_equal(check(with(claims_default(), "sub", json_object_new_string("alic"))),
                     ACRED_R_USER_MISMATCH);
    assert_int_equal(check(with(claims_default(), "sub", json_object_new_string(""))),
                     ACRED_R_USER_MISMATCH);
    assert_int_equal(check(with(claims_default(), "sub", NULL)), ACRED_R_MALFORMED_TOKEN);
    assert_string_equal(msg, "Token has no sub claim");
    assert_int_equal(check(with(claims_default(), "sub", json_object_new_int(1000))),
                     ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(check(with(claims_default(), "sub", str_array2("alice", NULL))),
                     ACRED_R_MALFORMED_TOKEN);
    /* another claim */
    p.username_claim = "preferred_username";
    assert_int_equal(check_pol(with(claims_default(), "preferred_username",
                                    json_object_new_string("alice")),
                               &p),
                     ACRED_OK);
    assert_int_equal(check_pol(claims_default(), &p), ACRED_R_MALFORMED_TOKEN);
    assert_string_equal(msg, "Token has no preferred_username claim");
    /* the user in the message is made printable */
    p = policy();
    p.user = "al\nice\x1b[31m";
    assert_int_equal(check_pol(claims_default(), &p), ACRED_R_USER_MISMATCH);
    assert_string_equal(msg, "Token belongs to another user, not al?ice?[31m");
    /* an empty user never matches */
    p.user = "";
    assert_int_equal(check_pol(with(claims_default(), "sub", json_object_new_string("")), &p),
                     ACRED_R_USER_MISMATCH);
}

static void test_claims_user_suffix(void **state)
{
    struct acred_jwt_policy p = policy();
    const char *bad[] = {"alice", "@example.com", "alice@example.org", "alice@EXAMPLE.com",
                         "bob@example.com", "alice@example.com@example.com",
                         "Alice@example.com", "alice @example.com", "xalice@example.com",
                         "alice@example.comx"};
    (void)state;

    p.username_suffix = "@example.com";
    assert_int_equal(check_pol(with(claims_default(), "sub",
                                    json_object_new_string("alice@example.com")),
                               &p),
                     ACRED_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (check_pol(with(claims_default(), "sub", json_object_new_string(bad[i])), &p) !=
            ACRED_R_USER_MISMATCH)
            fail_msg("suffix case %s", bad[i]);
    /* NULL suffix is none */
    p.username_suffix = NULL;
    assert_int_equal(check_pol(claims_default(), &p), ACRED_OK);
    assert_int_equal(check_pol(with(claims_default(), "sub",
                                    json_object_new_string("alice@example.com")),
                               &p),
                     ACRED_R_USER_MISMATCH);
}

static void test_claims_check_user_direct(void **state)
{
    const char *doc = "{\"sub\":\"u-123\",\"preferred_username\":\"alice@corp\",\"n\":5}";
    json_object *c = acred_json_parse(doc, strlen(doc));
    char m[128];
    (void)state;

    assert_int_equal(acred_claims_check_user(c, "preferred_username", "@corp", "alice", m,
                                             sizeof(m)),
                     ACRED_OK);
    assert_int_equal(acred_claims_check_user(c, "preferred_username", "", "alice", m, sizeof(m)),
                     ACRED_R_USER_MISMATCH);
    assert_int_equal(acred_claims_check_user(c, "sub", NULL, "u-123", m, sizeof(m)), ACRED_OK);
    assert_int_equal(acred_claims_check_user(c, "n", NULL, "5", m, sizeof(m)),
                     ACRED_R_MALFORMED_TOKEN);
    assert_string_equal(m, "Token has no n claim");
    assert_int_equal(acred_claims_check_user(c, "email", NULL, "alice", m, sizeof(m)),
                     ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(acred_claims_check_user(NULL, "sub", NULL, "alice", m, sizeof(m)),
                     ACRED_R_MALFORMED_TOKEN);
    /* a short buffer still gets a terminated message */
    assert_int_equal(acred_claims_check_user(c, "sub", NULL, "bob", m, 8), ACRED_R_USER_MISMATCH);
    assert_string_equal(m, "Token b");
    json_object_put(c);
}

static void test_claims_order(void **state)
{
    json_object *c;
    (void)state;

    /* expired wins over everything after it */
    c = with(with(with(claims_default(), "exp", json_object_new_int64(NOW - 3600)), "iss",
                  json_object_new_string("x")),
             "sub", json_object_new_string("mallory"));
    assert_int_equal(check(c), ACRED_R_TOKEN_EXPIRED);
    /* nbf before iss */
    c = with(with(claims_default(), "nbf", json_object_new_int64(NOW + 3600)), "iss", NULL);
    assert_int_equal(check(c), ACRED_R_TOKEN_NOT_YET_VALID);
    /* iss before aud before scope before user */
    c = with(with(with(with(claims_default(), "iss", NULL), "aud", NULL), "scope", NULL), "sub",
             NULL);
    assert_int_equal(check(c), ACRED_R_BAD_ISSUER);
    c = with(with(with(claims_default(), "aud", NULL), "scope", NULL), "sub", NULL);
    assert_int_equal(check(c), ACRED_R_BAD_AUDIENCE);
    c = with(with(claims_default(), "scope", NULL), "sub", NULL);
    assert_int_equal(check(c), ACRED_R_MISSING_SCOPE);
}

static void test_claims_bad_policy(void **state)
{
    struct acred_jwt_policy p = policy();
    struct acred_jwt jwt;
    (void)state;

    memset(&jwt, 0, sizeof(jwt));
    assert_int_equal(acred_jwt_check_claims(&jwt, &p, msg, sizeof(msg)),
                     ACRED_R_MALFORMED_TOKEN);
    assert_int_equal(acred_jwt_check_claims(NULL, &p, msg, sizeof(msg)),
                     ACRED_R_MALFORMED_TOKEN);
    p.issuer = NULL;
    assert_int_not_equal(check_pol(claims_default(), &p), ACRED_OK);
    p = policy();
    p.username_claim = NULL;
    assert_int_not_equal(check_pol(claims_default(), &p), ACRED_OK);
    p = policy();
    p.user = NULL;
    assert_int_not_equal(check_pol(claims_default(), &p), ACRED_OK);
    /* a negative leeway counts as none */
    p = policy();
    p.leeway = -100000;
    assert_int_equal(check_pol(claims_default(), &p), ACRED_OK);
}

/* every failure message of the whole path holds no part of the token */
static void test_messages_hold_no_token(void **state)
{
    json_object *cases[8];
    size_t n = 0;
    struct acred_jwt_policy p = policy();
    (void)state;

    cases[n++] = with(claims_default(), "exp", json_object_new_int64(NOW - 100));
    cases[n++] = with(claims_default(), "nbf", json_object_new_int64(NOW + 1000));
    cases[n++] = with(claims_default(), "iss", json_object_new_string("https://evil"));
    cases[n++] = with(claims_default(), "aud", json_object_new_string("evil"));
    cases[n++] = with(claims_default(), "scope", json_object_new_string("evil"));
    cases[n++] = with(claims_default(), "sub", json_object_new_string("mallory"));
    cases[n++] = with(claims_default(), "sub", NULL);
    cases[n++] = with(claims_default(), "iat", json_object_new_int64(NOW + 1000));
    for (size_t i = 0; i < n; i++) {
        char *pl = claims_text(cases[i]);
        char *t = good_token("ES256", "ec1", pl);
        const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
        char *hdr = strndup(t, (size_t)(d1 - t)), *pay = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
        struct acred_jwt jwt;

        assert_int_equal(acred_jwt_parse(t, strlen(t), &jwt), ACRED_OK);
        assert_int_equal(acred_jwt_verify(&jwt, jwks), ACRED_OK);
        assert_int_not_equal(acred_jwt_check_claims(&jwt, &p, msg, sizeof(msg)), ACRED_OK);
        assert_true(strlen(msg) > 0);
        /* no 8-character piece of any part */
        for (const char *part = t; *part != '\0' && part + 8 <= t + strlen(t); part++) {
            char piece[9];
            memcpy(piece, part, 8);
            piece[8] = '\0';
            if (strchr(piece, '.') == NULL && strstr(msg, piece) != NULL)
                fail_msg("message \"%s\" holds token text", msg);
        }
        assert_null(strstr(msg, "mallory"));
        assert_null(strstr(msg, "evil"));
        acred_jwt_free(&jwt);
        free(hdr);
        free(pay);
        free(t);
        free(pl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_vectors),
        cmocka_unit_test(test_b64_rejects_other_alphabets),
        cmocka_unit_test(test_b64_length_and_trailing_bits),
        cmocka_unit_test(test_json_valid),
        cmocka_unit_test(test_json_duplicate_keys),
        cmocka_unit_test(test_json_trailing_and_incomplete),
        cmocka_unit_test(test_json_not_strict_refused),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_json_helpers),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_free_zeroed),
        cmocka_unit_test(test_parse_part_count),
        cmocka_unit_test(test_parse_bad_base64),
        cmocka_unit_test(test_parse_nul_newline),
        cmocka_unit_test(test_parse_huge_token),
        cmocka_unit_test(test_parse_structure),
        cmocka_unit_test(test_parse_deep_nesting),
        cmocka_unit_test(test_verify_rs256_ok),
        cmocka_unit_test(test_verify_es256_ok),
        cmocka_unit_test(test_verify_alg_none),
        cmocka_unit_test(test_verify_hs256_confusion),
        cmocka_unit_test(test_verify_other_algs),
        cmocka_unit_test(test_verify_unknown_kid),
        cmocka_unit_test(test_verify_kid_wrong_type),
        cmocka_unit_test(test_verify_no_kid),
        cmocka_unit_test(test_verify_tampered),
        cmocka_unit_test(test_verify_signature_length),
        cmocka_unit_test(test_verify_es256_der_and_wrong_key),
        cmocka_unit_test(test_verify_weak_key),
        cmocka_unit_test(test_verify_jwk_constraints),
        cmocka_unit_test(test_verify_bad_key_material),
        cmocka_unit_test(test_verify_bad_jwks),
        cmocka_unit_test(test_expected_sig_len),
        cmocka_unit_test(test_claims_ok),
        cmocka_unit_test(test_claims_exp),
        cmocka_unit_test(test_claims_exp_overflowing_double),
        cmocka_unit_test(test_claims_nbf_iat),
        cmocka_unit_test(test_claims_max_token_age),
        cmocka_unit_test(test_claims_issuer),
        cmocka_unit_test(test_claims_audience),
        cmocka_unit_test(test_claims_scope),
        cmocka_unit_test(test_claims_user),
        cmocka_unit_test(test_claims_user_suffix),
        cmocka_unit_test(test_claims_check_user_direct),
        cmocka_unit_test(test_claims_order),
        cmocka_unit_test(test_claims_bad_policy),
        cmocka_unit_test(test_messages_hold_no_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
