#include "acred_build.h"
#include "acs3.h"
#include "proto.h"
#include "secret.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/* ---- a growing string ---------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = malloc(cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        if (b->p) {
            memcpy(grown, b->p, b->len);
            acred_wipe(b->p, b->cap);
            free(b->p);
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* the string (owned by the caller), or NULL after a failure */
static char *buf_take(struct buf *b)
{
    if (b->failed) {
        if (b->p) {
            acred_wipe(b->p, b->cap);
            free(b->p);
        }
        return NULL;
    }
    if (b->p == NULL)
        return strdup("");
    return b->p;
}

/* ---- encoding ----------------------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

char *acred_acs3_encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

struct enc_pair {
    char *name, *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct enc_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

char *acred_acs3_query(const struct acred_acs3_pair *q, size_t n)
{
    struct enc_pair *e = calloc(n ? n : 1, sizeof(*e));
    struct buf b = {0};
    if (e == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        e[i].name = acred_acs3_encode(q[i].name, 0);
        e[i].value = acred_acs3_encode(q[i].value ? q[i].value : "", 0);
        if (e[i].name == NULL || e[i].value == NULL)
            b.failed = 1;
    }
    if (!b.failed)
        qsort(e, n, sizeof(*e), cmp_pair);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_str(&b, "&");
        if (e[i].name && e[i].value) {
            buf_str(&b, e[i].name);
            buf_str(&b, "=");
            buf_str(&b, e[i].value);
        }
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
    return buf_take(&b);
}

/* ---- the canonical request ---------------------------------------------------------------- */

struct hdr {
    char *name;        /* lower case */
    const char *value; /* trimmed: value[0..len) */
    size_t len;
};

static int cmp_hdr(const void *a, const void *b)
{
    return strcmp(((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

static int signed_name(const char *lower)
{
    return strcmp(lower, "host") == 0 || strcmp(lower, "content-type") == 0 ||
           strncmp(lower, "x-acs-", 6) == 0;
}

static int has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* the signed headers of req, lower-cased, trimmed and sorted, into h; their count, or -1 */
static long collect_headers(const struct acred_acs3_request *req, struct hdr *h)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[i].name;
        const char *v = req->headers[i].value ? req->headers[i].value : "";
        if (name == NULL || name[0] == '\0' || has_control(name) || has_control(v))
            return -1;
        char *lower = strdup(name);
        if (lower == NULL)
            return -1;
        for (char *c = lower; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        if (!signed_name(lower)) {
            free(lower);
            continue;
        }
        size_t len = strlen(v);
        while (*v == ' ' || *v == '\t') {
            v++;
            len--;
        }
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        h[n++] = (struct hdr){lower, v, len};
    }
    qsort(h, n, sizeof(*h), cmp_hdr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(h[i - 1].name, h[i].name) == 0)
            return -1; /* which of two values was signed? refuse rather than guess */
    return (long)n;
}

char *acred_acs3_canonical(const struct acred_acs3_request *req, char **signed_headers)
{
    *signed_headers = NULL;
    struct hdr *h = calloc(req->n_headers ? req->n_headers : 1, sizeof(*h));
    if (h == NULL)
        return NULL;
    long nh = collect_headers(req, h);
    const char *path = req->path && req->path[0] ? req->path : "/";
    char *uri = acred_acs3_encode(path, 1);
    char *query = acred_acs3_query(req->query, req->n_query);
    struct buf b = {0}, sh = {0};
    if (nh < 0 || uri == NULL || query == NULL || req->method == NULL ||
        req->payload_sha256 == NULL)
        b.failed = 1;
    buf_str(&b, req->method ? req->method : "");
    buf_str(&b, "\n");
    buf_str(&b, uri ? uri : "");
    buf_str(&b, "\n");
    buf_str(&b, query ? query : "");
    buf_str(&b, "\n");
    for (long i = 0; i < nh; i++) {
        buf_str(&b, h[i].name);
        buf_str(&b, ":");
        buf_add(&b, h[i].value, h[i].len);
        buf_str(&b, "\n");
        if (i > 0)
            buf_str(&sh, ";");
        buf_str(&sh, h[i].name);
    }
    buf_str(&b, "\n");
    buf_str(&b, sh.p ? sh.p : "");
    buf_str(&b, "\n");
    buf_str(&b, req->payload_sha256 ? req->payload_sha256 : "");
    for (size_t i = 0; i < req->n_headers; i++)
        free(h[i].name);
    free(h);
    free(uri);
    free(query);
    char *canonical = buf_take(&b);
    char *names = buf_take(&sh);
    if (canonical == NULL || names == NULL) {
        acred_secret_free(canonical);
        free(names);
        return NULL;
    }
    *signed_headers = names;
    return canonical;
}

/* ---- hashes ------------------------------------------------------------------------------- */

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int acred_sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -1;
    to_hex(md, 32, hex);
    return 0;
}

int acred_acs3_signature(const char *canonical, const char *secret, char sig[65])
{
    char hashed[65], sts[sizeof(ACRED_ACS3_ALGORITHM) + 65];
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    if (acred_sha256_hex(canonical, strlen(canonical), hashed) != 0)
        return -1;
    snprintf(sts, sizeof(sts), "%s\n%s", ACRED_ACS3_ALGORITHM, hashed);
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
                  (const unsigned char *)sts, strlen(sts), mac, sizeof(mac), &maclen) == NULL ||
        maclen != 32)
        return -1;
    to_hex(mac, 32, sig);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

void acred_acs3_date(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- a signed call ------------------------------------------------------------------------ */

void acred_acs3_signed_free(struct acred_acs3_signed *s)
{
    free(s->url);
    for (size_t i = 0; s->headers && s->headers[i]; i++)
        acred_secret_free(s->headers[i]);
    free(s->headers);
    memset(s, 0, sizeof(*s));
}

static char *line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *line(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* "https://host:port/prefix/" -> host "host:port" and prefix "/prefix" (no trailing '/') */
static int split_endpoint(const char *endpoint, char **host, char **prefix)
{
    const char *p = strstr(endpoint, "://");
    p = p ? p + 3 : endpoint;
    size_t hn = strcspn(p, "/?#");
    const char *rest = p + hn;
    size_t pn = strcspn(rest, "?#");
    while (pn > 0 && rest[pn - 1] == '/')
        pn--;
    if (hn == 0 || rest[strcspn(rest, "?#")] != '\0')
        return -1;
    *host = strndup(p, hn);
    *prefix = strndup(rest, pn);
    return *host && *prefix ? 0 : -1;
}

int acred_acs3_sign(const struct acred_acs3_call *call, struct acred_acs3_signed *out)
{
    char date[21], nonce[33], empty_sha[65], sig[65];
    char *host = NULL, *prefix = NULL, *path = NULL, *canonical = NULL, *names = NULL;
    char *uri = NULL, *query = NULL;
    int rc = -1;
    memset(out, 0, sizeof(out[0]));
    if (call->date)
        snprintf(date, sizeof(date), "%s", call->date);
    else
        acred_acs3_date(time(NULL), date);
    if (call->nonce)
        snprintf(nonce, sizeof(nonce), "%s", call->nonce);
    else if (acred_random_hex(nonce, 16) != 0)
        return -1;
    if (acred_sha256_hex("", 0, empty_sha) != 0 ||
        split_endpoint(call->endpoint, &host, &prefix) != 0 ||
        (path = line("%s%s", prefix, call->path)) == NULL)
        goto out;

    struct acred_acs3_pair h[] = {
        {"host", host},
        {"x-acs-action", call->action},
        {"x-acs-version", call->version},
        {"x-acs-date", date},
        {"x-acs-signature-nonce", nonce},
        {"x-acs-content-sha256", empty_sha},
        {"x-acs-security-token", call->security_token},
    };
    size_t nh = call->security_token ? 7 : 6;
    struct acred_acs3_request req = {
        .method = call->method, .path = path, .query = call->query, .n_query = call->n_query,
        .headers = h, .n_headers = nh, .payload_sha256 = empty_sha,
    };
    if ((canonical = acred_acs3_canonical(&req, &names)) == NULL ||
        acred_acs3_signature(canonical, call->access_key_secret, sig) != 0 ||
        (uri = acred_acs3_encode(path, 1)) == NULL ||
        (query = acred_acs3_query(call->query, call->n_query)) == NULL)
        goto out;
    if ((out->headers = calloc(nh + 2, sizeof(char *))) == NULL ||
        (out->url = line("https://%s%s%s%s", host, uri, query[0] ? "?" : "", query)) == NULL)
        goto out;
    /* the header names as the document writes them; curl sends "Host" for the one we give */
    static const char *const shown[] = {"Host", "x-acs-action", "x-acs-version", "x-acs-date",
                                        "x-acs-signature-nonce", "x-acs-content-sha256",
                                        "x-acs-security-token"};
    for (size_t i = 0; i < nh; i++)
        if ((out->headers[i] = line("%s: %s", shown[i], h[i].value)) == NULL)
            goto out;
    if ((out->headers[nh] = line("Authorization: %s Credential=%s,SignedHeaders=%s,Signature=%s",
                                 ACRED_ACS3_ALGORITHM, call->access_key_id, names, sig)) == NULL)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        acred_acs3_signed_free(out);
    acred_secret_free(canonical); /* holds the security token */
    free(names);
    free(host);
    free(prefix);
    free(path);
    free(uri);
    free(query);
    OPENSSL_cleanse(sig, sizeof(sig));
    return rc;
}
