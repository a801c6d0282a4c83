/*
 * jwt.c: IDaaS access tokens that are JWTs: strict parsing (RFC 7515 compact form), RS256 and
 * ES256 verification against a JWKS with OpenSSL 3 EVP, and the claim checks.
 *
 * The stance is that of a paranoid resource server: only RS256 and ES256, the key only from the
 * JWKS we fetched ourselves (never jku, x5u or jwk from the header), exact lengths everywhere,
 * and every string compared byte for byte.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gmtime_r */
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "json.h"
#include "jwt.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192 /* larger moduli only cost time */
#define SIG_MAX (RSA_MAX_BITS / 8)
#define P256_LEN 32

enum alg { ALG_NONE, ALG_RS256, ALG_ES256 };

static enum alg alg_of(const char *alg)
{
    if (alg == NULL)
        return ALG_NONE;
    if (strcmp(alg, "RS256") == 0)
        return ALG_RS256;
    if (strcmp(alg, "ES256") == 0)
        return ALG_ES256;
    return ALG_NONE;
}

static void free_secret(void *p, size_t len)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

/* ---- base64url ------------------------------------------------------------------------- */

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int acred_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    unsigned char *buf;
    size_t n = 0, rem = len % 4;
    uint32_t acc = 0;
    int bits = 0;

    if (out == NULL || outlen == NULL)
        return -1;
    *out = NULL;
    *outlen = 0;
    if ((in == NULL && len > 0) || rem == 1)
        return -1;
    buf = malloc(len / 4 * 3 + 3);
    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            goto fail;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* the bits left over (2 after 2 chars, 4 after 3 chars) must be zero: canonical form */
    if (acc != 0)
        goto fail;
    *out = buf;
    *outlen = n;
    return 0;
fail:
    free_secret(buf, len / 4 * 3 + 3);
    return -1;
}

/* ---- parsing ---------------------------------------------------------------------------- */

/* a base64url part holding one JSON object */
static json_object *decode_object(const char *part, size_t len)
{
    unsigned char *raw;
    size_t rawlen;
    json_object *obj;

    if (acred_b64url_decode(part, len, &raw, &rawlen) < 0)
        return NULL;
    obj = acred_json_parse((const char *)raw, rawlen);
    free_secret(raw, rawlen);
    if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        obj = NULL;
    }
    return obj;
}

enum acred_reason acred_jwt_parse(const char *token, size_t len, struct acred_jwt *jwt)
{
    const char *dot1, *dot2, *payload, *sig;
    json_object *v;

    if (jwt == NULL)
        return ACRED_R_MALFORMED_TOKEN;
    memset(jwt, 0, sizeof(*jwt));
    if (token == NULL || len == 0 || len > ACRED_TOKEN_MAX)
        return ACRED_R_MALFORMED_TOKEN;

    /* exactly two dots; the decoder refuses every other character outside the alphabet */
    dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return ACRED_R_MALFORMED_TOKEN;
    payload = dot1 + 1;
    dot2 = memchr(payload, '.', len - (size_t)(payload - token));
    if (dot2 == NULL)
        return ACRED_R_MALFORMED_TOKEN;
    sig = dot2 + 1;
    if (memchr(sig, '.', len - (size_t)(sig - token)) != NULL)
        return ACRED_R_MALFORMED_TOKEN;
    if (dot1 == token || dot2 == payload)
        return ACRED_R_MALFORMED_TOKEN; /* an empty header or payload */

    jwt->header = decode_object(token, (size_t)(dot1 - token));
    if (jwt->header == NULL)
        goto malformed;
    jwt->claims = decode_object(payload, (size_t)(dot2 - payload));
    if (jwt->claims == NULL)
        goto malformed;

    jwt->alg = acred_json_string(jwt->header, "alg");
    if (jwt->alg == NULL)
        goto malformed;
    if (json_object_object_get_ex(jwt->header, "kid", &v)) {
        jwt->kid = acred_json_string(jwt->header, "kid");
        if (jwt->kid == NULL)
            goto malformed;
    }
    /* RFC 7515 4.1.11: extensions we do not understand must be refused, and we know none
     * (this also refuses RFC 7797 unencoded payloads, which need crit) */
    if (json_object_object_get_ex(jwt->header, "crit", &v))
        goto malformed;

    /* an empty signature parses (alg "none" is then refused as bad_algorithm, and any other
     * alg fails verification); a present one must decode */
    if (sig < token + len &&
        (acred_b64url_decode(sig, len - (size_t)(sig - token), &jwt->sig, &jwt->sig_len) < 0 ||
         jwt->sig_len == 0 || jwt->sig_len > SIG_MAX))
        goto malformed;

    jwt->signing_input_len = (size_t)(dot2 - token);
    jwt->signing_input = malloc(jwt->signing_input_len + 1);
    if (jwt->signing_input == NULL)
        goto malformed;
    memcpy(jwt->signing_input, token, jwt->signing_input_len);
    jwt->signing_input[jwt->signing_input_len] = '\0';
    return ACRED_OK;

malformed:
    acred_jwt_free(jwt);
    return ACRED_R_MALFORMED_TOKEN;
}

void acred_jwt_free(struct acred_jwt *jwt)
{
    if (jwt == NULL)
        return;
    json_object_put(jwt->header);
    json_object_put(jwt->claims);
    if (jwt->signing_input != NULL)
        free_secret(jwt->signing_input, jwt->signing_input_len + 1);
    free_secret(jwt->sig, jwt->sig_len);
    memset(jwt, 0, sizeof(*jwt));
}

/* ---- keys ------------------------------------------------------------------------------- */

/* a JWK of the algorithm's type that allows it: kty (and crv), alg, use and key_ops */
static int jwk_fits(json_object *jwk, enum alg alg)
{
    json_object *v;
    const char *s;

    if (!json_object_is_type(jwk, json_type_object))
        return 0;
    s = acred_json_string(jwk, "kty");
    if (s == NULL)
        return 0;
    if (alg == ALG_RS256) {
        if (strcmp(s, "RSA") != 0)
            return 0;
    } else {
        const char *crv = acred_json_string(jwk, "crv");
        if (strcmp(s, "EC") != 0 || crv == NULL || strcmp(crv, "P-256") != 0)
            return 0;
    }
    if (json_object_object_get_ex(jwk, "alg", &v)) {
        s = acred_json_string(jwk, "alg");
        if (s == NULL || strcmp(s, alg == ALG_RS256 ? "RS256" : "ES256") != 0)
            return 0;
    }
    if (json_object_object_get_ex(jwk, "use", &v)) {
        s = acred_json_string(jwk, "use");
        if (s == NULL || strcmp(s, "sig") != 0)
            return 0;
    }
    if (json_object_object_get_ex(jwk, "key_ops", &v)) {
        size_t n;
        int verify = 0;
        if (!json_object_is_type(v, json_type_array))
            return 0;
        n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            json_object *op = json_object_array_get_idx(v, i);
            if (json_object_is_type(op, json_type_string) &&
                strcmp(json_object_get_string(op), "verify") == 0)
                verify = 1;
        }
        if (!verify)
            return 0;
    }
    return 1;
}

/*
 * The one JWK for alg and kid: with a kid, the keys with that kid; without, all keys; of those,
 * the ones that fit the algorithm. Exactly one must be left, else NULL.
 */
static json_object *find_jwk(json_object *jwks, enum alg alg, const char *kid)
{
    json_object *keys, *found = NULL;
    size_t n;

    if (alg == ALG_NONE || !json_object_is_type(jwks, json_type_object) ||
        !json_object_object_get_ex(jwks, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array))
        return NULL;
    n = json_object_array_length(keys);
    for (size_t i = 0; i < n; i++) {
        json_object *jwk = json_object_array_get_idx(keys, i);
        if (kid != NULL) {
            const char *k = acred_json_string(jwk, "kid");
            if (k == NULL || strcmp(k, kid) != 0)
                continue;
        }
        if (!jwk_fits(jwk, alg))
            continue;
        if (found != NULL)
            return NULL; /* two keys would do: ambiguous */
        found = jwk;
    }
    return found;
}

/* a base64url member of a JWK as a number (leading zero octets allowed) */
static BIGNUM *jwk_bn(json_object *jwk, const char *name, size_t maxlen)
{
    const char *s = acred_json_string(jwk, name);
    unsigned char *raw;
    size_t rawlen;
    BIGNUM *bn;

    if (s == NULL || acred_b64url_decode(s, strlen(s), &raw, &rawlen) < 0)
        return NULL;
    bn = rawlen > 0 && rawlen <= maxlen ? BN_bin2bn(raw, (int)rawlen, NULL) : NULL;
    free(raw);
    return bn;
}

/* from n and e: at least RSA_MIN_BITS, odd modulus, odd exponent 3 .. 2^64-1 */
static EVP_PKEY *rsa_key(json_object *jwk)
{
    BIGNUM *n = jwk_bn(jwk, "n", RSA_MAX_BITS / 8 + 1), *e = jwk_bn(jwk, "e", 8);
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (n == NULL || e == NULL)
        goto out;
    if (BN_num_bits(n) < RSA_MIN_BITS || BN_num_bits(n) > RSA_MAX_BITS || !BN_is_odd(n) ||
        !BN_is_odd(e) || BN_is_one(e) || BN_cmp(e, n) >= 0)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* a JWK coordinate of P-256: exactly 32 bytes */
static int p256_coord(json_object *jwk, const char *name, unsigned char *out)
{
    const char *s = acred_json_string(jwk, name);
    unsigned char *raw;
    size_t rawlen;
    int ok;

    if (s == NULL || acred_b64url_decode(s, strlen(s), &raw, &rawlen) < 0)
        return -1;
    ok = rawlen == P256_LEN;
    if (ok)
        memcpy(out, raw, P256_LEN);
    free(raw);
    return ok ? 0 : -1;
}

/* from crv P-256, x and y; the point must be on the curve (and a valid public key) */
static EVP_PKEY *ec_key(json_object *jwk)
{
    unsigned char point[1 + 2 * P256_LEN];
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *check = NULL;
    EVP_PKEY *pkey = NULL;

    point[0] = POINT_CONVERSION_UNCOMPRESSED;
    if (p256_coord(jwk, "x", point + 1) < 0 || p256_coord(jwk, "y", point + 1 + P256_LEN) < 0)
        return NULL;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1,
                                         0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto fail;
    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (check == NULL || EVP_PKEY_public_check(check) != 1)
        goto fail;
    goto out;
fail:
    EVP_PKEY_free(pkey);
    pkey = NULL;
out:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *jwk_key(json_object *jwk, enum alg alg)
{
    EVP_PKEY *pkey = alg == ALG_RS256 ? rsa_key(jwk) : ec_key(jwk);
    ERR_clear_error();
    return pkey;
}

long acred_jwt_expected_sig_len(json_object *jwks, const char *alg, const char *kid)
{
    enum alg a = alg_of(alg);
    json_object *jwk = find_jwk(jwks, a, kid);
    EVP_PKEY *pkey;
    long len;

    if (jwk == NULL)
        return -1;
    pkey = jwk_key(jwk, a);
    if (pkey == NULL)
        return -1;
    len = a == ALG_RS256 ? (long)EVP_PKEY_get_size(pkey) : 2 * P256_LEN;
    EVP_PKEY_free(pkey);
    return len;
}

/* ---- signatures ------------------------------------------------------------------------- */

/* JOSE r||s to a DER ECDSA-Sig-Value; *der is OPENSSL_malloc'd */
static int es256_der(const unsigned char *sig, unsigned char **der, int *derlen)
{
    ECDSA_SIG *esig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, P256_LEN, NULL), *s = BN_bin2bn(sig + P256_LEN, P256_LEN, NULL);
    int ok = 0;

    *der = NULL;
    if (esig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(esig, r, s)) {
        BN_free(r);
        BN_free(s);
    } else {
        *derlen = i2d_ECDSA_SIG(esig, der);
        ok = *derlen > 0;
    }
    ECDSA_SIG_free(esig);
    return ok ? 0 : -1;
}

static int verify_sig(EVP_PKEY *pkey, enum alg alg, const struct acred_jwt *jwt)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    const unsigned char *sig = jwt->sig;
    size_t siglen = jwt->sig_len;
    int derlen = 0, ok = 0;

    if (md == NULL)
        goto out;
    if (alg == ALG_RS256) {
        if (EVP_PKEY_get_size(pkey) <= 0 || siglen != (size_t)EVP_PKEY_get_size(pkey))
            goto out;
    } else {
        if (siglen != 2 * P256_LEN || es256_der(jwt->sig, &der, &derlen) < 0)
            goto out;
        sig = der;
        siglen = (size_t)derlen;
    }
    if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pkey) != 1)
        goto out;
    if (alg == ALG_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
        goto out;
    ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt->signing_input,
                          jwt->signing_input_len) == 1;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

enum acred_reason acred_jwt_verify(const struct acred_jwt *jwt, json_object *jwks)
{
    enum alg alg;
    json_object *jwk;
    EVP_PKEY *pkey;
    int ok;

    if (jwt == NULL || jwt->alg == NULL || jwt->signing_input == NULL)
        return ACRED_R_MALFORMED_TOKEN;
    alg = alg_of(jwt->alg);
    if (alg == ALG_NONE)
        return ACRED_R_BAD_ALGORITHM;
    jwk = find_jwk(jwks, alg, jwt->kid);
    if (jwk == NULL)
        return ACRED_R_UNKNOWN_KEY;
    pkey = jwk_key(jwk, alg);
    if (pkey == NULL)
        return ACRED_R_UNKNOWN_KEY;
    ok = verify_sig(pkey, alg, jwt);
    EVP_PKEY_free(pkey);
    return ok ? ACRED_OK : ACRED_R_BAD_SIGNATURE;
}

/* ---- claims ----------------------------------------------------------------------------- */

static void say(char *msg, size_t msglen, const char *text)
{
    if (msg != NULL && msglen > 0)
        snprintf(msg, msglen, "%s", text);
}

/* s as printable ASCII, at most 64 characters, for a message */
static void printable(const char *s, char *out, size_t outlen)
{
    size_t i = 0, o = 0;

    for (; s != NULL && s[i] != '\0' && o + 4 < outlen && i < 64; i++)
        out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (s != NULL && s[i] != '\0' && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* a NumericDate: a json integer or a finite double */
struct numdate {
    int is_double;
    long long i;
    double d;
};

/* 1: present and a number, 0: absent, -1: present but not a number */
static int get_numdate(json_object *claims, const char *name, struct numdate *out)
{
    json_object *v;

    memset(out, 0, sizeof(*out));
    if (!json_object_object_get_ex(claims, name, &v))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        /* json-c clamps integers beyond 64 bits: monotonic, so no check changes direction */
        out->i = (long long)json_object_get_int64(v);
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        out->d = json_object_get_double(v);
        out->is_double = 1;
        return isfinite(out->d) ? 1 : -1;
    }
    return -1;
}

/* <0, 0, >0 as nd is before, at or after t */
static int numdate_cmp(const struct numdate *nd, long long t)
{
    if (nd->is_double)
        return nd->d < (double)t ? -1 : nd->d > (double)t ? 1 : 0;
    return nd->i < t ? -1 : nd->i > t ? 1 : 0;
}

/* the whole seconds of nd as a time_t, clamped */
static time_t numdate_time(const struct numdate *nd)
{
    if (nd->is_double) {
        if (nd->d >= 9.2e18)
            return (time_t)9200000000000000000LL;
        if (nd->d <= -9.2e18)
            return (time_t)-9200000000000000000LL;
        long long t = (long long)nd->d; /* toward zero; floor it */
        return (time_t)((double)t > nd->d ? t - 1 : t);
    }
    return (time_t)nd->i;
}

/* t as "YYYY-MM-DD" and "HH:MM" (UTC), and whether it is on the UTC day of now */
/* t as a person reads it next to now: "10:00" today, "2026-11-22 10:00" another day; with at,
 * "at 10:00" and "on 2026-11-22 at 10:00". -1 when t cannot be shown */
static int when_phrase(time_t t, time_t now, int at, char *out, size_t n)
{
    struct tm tt, tn;

    if (gmtime_r(&t, &tt) == NULL || gmtime_r(&now, &tn) == NULL || tt.tm_year > 9999 - 1900 ||
        tt.tm_year < -1900)
        return -1;
    if (tt.tm_year == tn.tm_year && tt.tm_yday == tn.tm_yday)
        snprintf(out, n, "%s%02d:%02d", at ? "at " : "", tt.tm_hour, tt.tm_min);
    else
        snprintf(out, n, "%s%04d-%02d-%02d %s%02d:%02d", at ? "on " : "", tt.tm_year + 1900,
                 tt.tm_mon + 1, tt.tm_mday, at ? "at " : "", tt.tm_hour, tt.tm_min);
    return 0;
}

/* a - b for times, saturated well inside long long */
static long long t_sub(long long a, long long b)
{
    const long long lim = 4000000000000000000LL;
    if (b > 0 && a < -lim + b)
        return -lim;
    if (b < 0 && a > lim + b)
        return lim;
    return a - b;
}

/* the space-separated word w[0..wlen) is one of the space-separated words of list */
static int word_in(const char *list, const char *w, size_t wlen)
{
    const char *p = list;

    while (*p != '\0') {
        const char *end;
        while (*p == ' ')
            p++;
        end = p;
        while (*end != '\0' && *end != ' ')
            end++;
        if ((size_t)(end - p) == wlen && wlen > 0 && memcmp(p, w, wlen) == 0)
            return 1;
        p = end;
    }
    return 0;
}

static int word_in_array(json_object *arr, const char *w, size_t wlen)
{
    size_t n;

    if (!json_object_is_type(arr, json_type_array))
        return 0;
    n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (json_object_is_type(v, json_type_string) &&
            (size_t)json_object_get_string_len(v) == wlen &&
            memcmp(json_object_get_string(v), w, wlen) == 0)
            return 1;
    }
    return 0;
}

/* the json string v equals s byte for byte */
static int json_str_eq(json_object *v, const char *s)
{
    size_t len = strlen(s);
    return json_object_is_type(v, json_type_string) &&
           (size_t)json_object_get_string_len(v) == len &&
           memcmp(json_object_get_string(v), s, len) == 0;
}

static enum acred_reason check_times(json_object *claims, const struct acred_jwt_policy *policy,
                                     char *msg, size_t msglen)
{
    long long now = (long long)policy->now;
    long long leeway = policy->leeway < 0 ? 0 : policy->leeway;
    struct numdate exp, nbf, iat;
    int has_iat;
    char when[48], text[200];

    if (get_numdate(claims, "exp", &exp) != 1) {
        say(msg, msglen, "Token has no valid expiry time (exp)");
        return ACRED_R_MALFORMED_TOKEN;
    }
    if (numdate_cmp(&exp, t_sub(now, leeway)) <= 0) {
        if (when_phrase(numdate_time(&exp), policy->now, 1, when, sizeof(when)) < 0)
            say(msg, msglen, "Token expired; get a new one");
        else {
            snprintf(text, sizeof(text), "Token expired %s UTC; get a new one", when);
            say(msg, msglen, text);
        }
        return ACRED_R_TOKEN_EXPIRED;
    }

    switch (get_numdate(claims, "nbf", &nbf)) {
    case -1:
        say(msg, msglen, "Token has an invalid nbf claim");
        return ACRED_R_MALFORMED_TOKEN;
    case 1:
        if (numdate_cmp(&nbf, t_sub(now, -leeway)) > 0) {
            if (when_phrase(numdate_time(&nbf), policy->now, 0, when, sizeof(when)) < 0)
                say(msg, msglen, "Token is not valid yet; check this host's clock");
            else {
                snprintf(text, sizeof(text),
                         "Token is not valid before %s UTC; check this host's clock", when);
                say(msg, msglen, text);
            }
            return ACRED_R_TOKEN_NOT_YET_VALID;
        }
        break;
    default:
        break;
    }

    has_iat = get_numdate(claims, "iat", &iat);
    if (has_iat < 0) {
        say(msg, msglen, "Token has an invalid iat claim");
        return ACRED_R_MALFORMED_TOKEN;
    }
    if (has_iat && numdate_cmp(&iat, t_sub(now, -leeway)) > 0) {
        if (when_phrase(numdate_time(&iat), policy->now, 0, when, sizeof(when)) < 0)
            say(msg, msglen, "Token was issued in the future; check this host's clock");
        else {
            snprintf(text, sizeof(text),
                     "Token was issued in the future (%s UTC); check this host's clock", when);
            say(msg, msglen, text);
        }
        return ACRED_R_TOKEN_NOT_YET_VALID;
    }

    if (policy->max_token_age > 0) {
        if (!has_iat) {
            say(msg, msglen, "Token has no issue time (iat) and this host limits token age");
            return ACRED_R_TOKEN_TOO_OLD;
        }
        if (numdate_cmp(&iat, t_sub(now, policy->max_token_age)) < 0) {
            if (policy->max_token_age % 60 == 0)
                snprintf(text, sizeof(text),
                         "Token was issued more than %ld minutes ago; get a new one",
                         policy->max_token_age / 60);
            else
                snprintf(text, sizeof(text),
                         "Token was issued more than %ld seconds ago; get a new one",
                         policy->max_token_age);
            say(msg, msglen, text);
            return ACRED_R_TOKEN_TOO_OLD;
        }
    }
    return ACRED_OK;
}

enum acred_reason acred_jwt_check_claims(const struct acred_jwt *jwt,
                                         const struct acred_jwt_policy *policy, char *msg,
                                         size_t msglen)
{
    json_object *claims, *v;
    enum acred_reason r;
    char text[200], word[80];

    say(msg, msglen, "");
    if (policy == NULL || policy->issuer == NULL || policy->user == NULL) {
        say(msg, msglen, "Internal error: no token policy");
        return ACRED_R_HELPER_ERROR;
    }
    if (jwt == NULL || !json_object_is_type(jwt->claims, json_type_object)) {
        say(msg, msglen, "Token is malformed");
        return ACRED_R_MALFORMED_TOKEN;
    }
    claims = jwt->claims;

    r = check_times(claims, policy, msg, msglen);
    if (r != ACRED_OK)
        return r;

    if (!json_object_object_get_ex(claims, "iss", &v) || !json_str_eq(v, policy->issuer)) {
        say(msg, msglen, "Token is from another issuer");
        return ACRED_R_BAD_ISSUER;
    }

    if (policy->audience != NULL) {
        int ok = 0;
        if (json_object_object_get_ex(claims, "aud", &v)) {
            if (json_object_is_type(v, json_type_array)) {
                size_t n = json_object_array_length(v);
                for (size_t i = 0; i < n && !ok; i++)
                    ok = json_str_eq(json_object_array_get_idx(v, i), policy->audience);
            } else
                ok = json_str_eq(v, policy->audience);
        }
        if (!ok) {
            say(msg, msglen, "Token is not meant for this host's client");
            return ACRED_R_BAD_AUDIENCE;
        }
    }

    if (policy->scope != NULL) {
        const char *scope = acred_json_string(claims, "scope");
        json_object *scp = NULL;
        const char *p = policy->scope;

        json_object_object_get_ex(claims, "scp", &scp);
        while (*p != '\0') {
            const char *end;
            size_t wlen;
            while (*p == ' ')
                p++;
            end = p;
            while (*end != '\0' && *end != ' ')
                end++;
            wlen = (size_t)(end - p);
            if (wlen > 0 && !(scope != NULL && word_in(scope, p, wlen)) &&
                !word_in_array(scp, p, wlen)) {
                char item[80];
                size_t cut = wlen < sizeof(item) ? wlen : sizeof(item) - 1;
                memcpy(item, p, cut);
                item[cut] = '\0';
                printable(item, word, sizeof(word));
                snprintf(text, sizeof(text), "Token lacks the scope %s", word);
                say(msg, msglen, text);
                return ACRED_R_MISSING_SCOPE;
            }
            p = end;
        }
    }

    return acred_claims_check_user(claims, policy->username_claim, policy->username_suffix,
                                   policy->user, msg, msglen);
}

enum acred_reason acred_claims_check_user(json_object *claims, const char *claim,
                                          const char *suffix, const char *user, char *msg,
                                          size_t msglen)
{
    json_object *v;
    const char *val;
    size_t vlen, slen, ulen;
    char text[200], word[80];

    if (claim == NULL || claim[0] == '\0' || user == NULL) {
        say(msg, msglen, "Internal error: no user claim or user");
        return ACRED_R_HELPER_ERROR;
    }
    if (!json_object_is_type(claims, json_type_object) ||
        !json_object_object_get_ex(claims, claim, &v) ||
        !json_object_is_type(v, json_type_string)) {
        printable(claim, word, sizeof(word));
        snprintf(text, sizeof(text), "Token has no %s claim", word);
        say(msg, msglen, text);
        return ACRED_R_MALFORMED_TOKEN;
    }
    val = json_object_get_string(v);
    vlen = (size_t)json_object_get_string_len(v);
    slen = suffix != NULL ? strlen(suffix) : 0;
    ulen = strlen(user);

    /* the claim less the suffix (which must be there) is the user, and not empty */
    if (vlen < slen || (slen > 0 && memcmp(val + vlen - slen, suffix, slen) != 0) ||
        vlen - slen == 0 || vlen - slen != ulen || memcmp(val, user, ulen) != 0) {
        printable(user, word, sizeof(word));
        snprintf(text, sizeof(text), "Token belongs to another user, not %s", word);
        say(msg, msglen, text);
        return ACRED_R_USER_MISMATCH;
    }
    return ACRED_OK;
}
