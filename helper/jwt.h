/*
 * jwt.h: IDaaS access tokens that are JWTs (RFC 7519): strict parsing, RS256/ES256 signature
 * verification against a JWKS (OpenSSL EVP), and the claim checks of pam_acred.
 */
#ifndef ACRED_JWT_H
#define ACRED_JWT_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "reason.h"

#define ACRED_TOKEN_MAX 16384 /* bytes of a token, the most the module accepts */

struct acred_jwt {
    json_object *header;    /* owned */
    json_object *claims;    /* owned: the payload */
    const char *alg;        /* points into header */
    const char *kid;        /* points into header; NULL when absent */
    char *signing_input;    /* "header.payload", owned */
    size_t signing_input_len;
    unsigned char *sig;     /* decoded signature, owned */
    size_t sig_len;
};

/* what a token must satisfy, besides its signature */
struct acred_jwt_policy {
    const char *issuer;          /* iss must equal it exactly */
    const char *audience;        /* aud (string or array) must contain it; NULL: not checked */
    const char *scope;           /* every space-separated item must be in scope or scp */
    const char *username_claim;  /* this claim, less username_suffix, must equal user */
    const char *username_suffix; /* "" or NULL: none */
    const char *user;            /* PAM_USER */
    long leeway;                 /* seconds of skew allowed on exp, nbf, iat */
    long max_token_age;          /* seconds; 0: no limit (needs iat otherwise) */
    time_t now;
};

/*
 * Strict parse of a compact JWS: three base64url parts (no padding, no other characters),
 * header and payload each one JSON object (valid UTF-8, nothing after it, no duplicate key),
 * `alg` a string. Returns ACRED_OK or ACRED_R_MALFORMED_TOKEN. jwt is zeroed first and must be
 * freed with acred_jwt_free whatever the result.
 */
enum acred_reason acred_jwt_parse(const char *token, size_t len, struct acred_jwt *jwt);

/*
 * Verify the signature with the JWKS (a JSON object with "keys"). alg must be RS256 or ES256
 * (otherwise ACRED_R_BAD_ALGORITHM: `none`, HS*, PS*, ... are refused). The key is the one whose
 * kid equals the header's kid (no kid: the only key of the algorithm's type); it must be of the
 * algorithm's type (RSA / EC P-256) and, when the JWK says, of that alg and use "sig". No such
 * key: ACRED_R_UNKNOWN_KEY. A signature of the wrong length or that does not verify:
 * ACRED_R_BAD_SIGNATURE.
 */
enum acred_reason acred_jwt_verify(const struct acred_jwt *jwt, json_object *jwks);

/*
 * The length in bytes that a whole signature for this header's alg/kid has with that JWKS
 * (RSA: the modulus length; ES256: 64), or -1 when no key fits. Used to tell a token that is
 * still being pasted in pieces from a whole one.
 */
long acred_jwt_expected_sig_len(json_object *jwks, const char *alg, const char *kid);

/*
 * Check exp, nbf, iat (with leeway; exp is required), max_token_age, iss, aud, scope and the
 * user claim. On failure, msg gets one plain sentence for the person, e.g.
 * "Token expired at 10:00 UTC; get a new one" (never the token itself).
 */
enum acred_reason acred_jwt_check_claims(const struct acred_jwt *jwt,
                                         const struct acred_jwt_policy *policy, char *msg,
                                         size_t msglen);

/*
 * The user check alone, shared with opaque tokens (claims from userinfo): the claim must be a
 * string that ends with suffix (when one is set) and, with it removed, equals user byte for byte.
 */
enum acred_reason acred_claims_check_user(json_object *claims, const char *claim,
                                          const char *suffix, const char *user, char *msg,
                                          size_t msglen);

void acred_jwt_free(struct acred_jwt *jwt);

/* strict base64url (RFC 4648 §5, no padding). Returns 0 and a malloc'd buffer, or -1. */
int acred_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif
