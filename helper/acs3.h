/*
 * acs3.h: Alibaba Cloud's V3 request signature, ACS3-HMAC-SHA256, as the public document "V3
 * request structure and signature" describes it:
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n
 *                      CanonicalHeaders \n SignedHeaders \n hex(SHA-256(body))
 *   StringToSign     = "ACS3-HMAC-SHA256" \n hex(SHA-256(CanonicalRequest))
 *   Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
 *   Authorization: ACS3-HMAC-SHA256 Credential=ID,SignedHeaders=a;b;c,Signature=HEX
 *
 * Names and values are percent-encoded per RFC 3986 (A-Z a-z 0-9 - _ . ~ stay, everything else
 * is %XX, a space %20, never '+'); the query is sorted by encoded name (then value), a parameter
 * without a value is "name="; the signed headers are host, content-type and every x-acs-*
 * header, names in lower case, values trimmed, sorted by name, each line "name:value\n".
 *
 * acred_acs3_canonical is a pure function (no clock, no randomness, no I/O) so that it can be
 * tested against the document's worked example and fuzzed.
 */
#ifndef ACRED_ACS3_H
#define ACRED_ACS3_H

#include <stddef.h>
#include <time.h>

#define ACRED_ACS3_ALGORITHM "ACS3-HMAC-SHA256"

struct acred_acs3_pair {
    const char *name;
    const char *value; /* NULL or "": no value */
};

struct acred_acs3_request {
    const char *method;                    /* upper case: "GET" */
    const char *path;                      /* not encoded; "" or NULL means "/" */
    const struct acred_acs3_pair *query;   /* not encoded, any order */
    size_t n_query;
    const struct acred_acs3_pair *headers; /* any case, any order; others than host,
                                              content-type and x-acs-* are not signed */
    size_t n_headers;
    const char *payload_sha256;            /* lower-case hex SHA-256 of the body */
};

/* RFC 3986 encoding of s (keep_slash: '/' stays, for a path); malloc'd, NULL when out of memory */
char *acred_acs3_encode(const char *s, int keep_slash);

/* the canonical query string of q (also fit for a URL); malloc'd ("" when n is 0) */
char *acred_acs3_query(const struct acred_acs3_pair *q, size_t n);

/*
 * The canonical request, malloc'd, and in *signed_headers (malloc'd) the signed header names
 * ("host;x-acs-action;..."). NULL (and *signed_headers NULL) when a signed header is given twice
 * (names compare without case), a name or value holds a control character, or memory runs out.
 */
char *acred_acs3_canonical(const struct acred_acs3_request *req, char **signed_headers);

/* hex SHA-256 of n bytes into hex[65]; 0 or -1 */
int acred_sha256_hex(const void *data, size_t n, char hex[65]);

/* hex HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex SHA-256(canonical)) into sig[65]; 0 or -1 */
int acred_acs3_signature(const char *canonical, const char *secret, char sig[65]);

/* t as ISO 8601 UTC, "2023-10-26T10:22:32Z" */
void acred_acs3_date(time_t t, char out[21]);

/* one ROA call to sign: a GET or POST without a body */
struct acred_acs3_call {
    const char *method;  /* "GET" */
    const char *endpoint; /* "https://host[:port][/prefix]" */
    const char *path;     /* "/pop/v5/secure_token", not encoded */
    const struct acred_acs3_pair *query;
    size_t n_query;
    const char *action;  /* x-acs-action */
    const char *version; /* x-acs-version */
    const char *access_key_id;
    const char *access_key_secret; /* secret */
    const char *security_token;    /* secret; NULL: none (a long-term key) */
    const char *date;  /* x-acs-date; NULL: now */
    const char *nonce; /* x-acs-signature-nonce; NULL: 16 bytes of RAND_bytes, hex */
};

/* a signed call: its URL and the header lines ("Name: value", NULL-ended) to send with it */
struct acred_acs3_signed {
    char *url;
    char **headers; /* hold the security token: acred_acs3_signed_free zeroes them */
};

/* sign call; 0, or -1 (out is then empty) */
int acred_acs3_sign(const struct acred_acs3_call *call, struct acred_acs3_signed *out);
void acred_acs3_signed_free(struct acred_acs3_signed *s);

#endif
