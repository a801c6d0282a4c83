/*
 * mock_idp: a fake Alibaba Cloud IDaaS for the pam_acred tests (HTTPS, 127.0.0.1 only).
 *
 *   mock_idp --cert PEM --key PEM --rsa-key PEM --ec-key PEM --log FILE
 *            [--port N] [--port-file FILE] [--pid-file FILE] [--opaque FILE]
 *            [--issuer-path PATH] [--instance ID] [--scope S] [--delay-ms N]
 *            [--date-offset SECONDS]   (the Date header says now + SECONDS)
 *            [--client-id ID] [--device-expires SECONDS] [--device-interval SECONDS]
 *
 * issuer = https://127.0.0.1:PORT + PATH (PATH default /api/v2/iauths_system/oauth2)
 *
 *   GET PATH/.well-known/openid-configuration   OIDC discovery
 *   GET PATH/jwks                                {"keys":[RSA "rsa1" RS256, EC "ec1" ES256]}
 *   GET PATH/userinfo                            claims of a known opaque token, else 401
 *   GET /v2/INSTANCE/cloudAccountRoles/_/actions/obtainAccessCredential
 *       ?cloudAccountRoleExternalId=X[&durationSeconds=D]
 *       Bearer: a known opaque token, or a JWT signed by rsa1 (RS256) / ec1 (ES256), not
 *       expired (exp required, nbf honoured), whose scope (string) or scp (array) holds the
 *       configured scope. Roles containing "forbidden" -> 403, "broken" -> 500.
 *   POST PATH/device/code                        RFC 8628 device authorization (form: client_id
 *       = --client-id, scope) -> device_code, user_code ABCD-EFGH, verification_uri
 *       https://127.0.0.1:PORT/device, verification_uri_complete, expires_in
 *       (--device-expires, 600), interval (--device-interval, 1)
 *   POST PATH/token                              form: grant_type device_code (device_code,
 *       client_id): authorization_pending / slow_down (+5 s) / access_denied / expired_token /
 *       invalid_grant, or once an RS256 access token (rsa1, 600 s, scope "openid SCOPE") and a
 *       refresh token; grant_type refresh_token (refresh_token, client_id): new tokens, the old
 *       refresh token stops working; other grant types -> unsupported_grant_type
 *   GET|POST /test/device/{approve?user_code=X&user=NAME, deny?user_code=X, expire?user_code=X}
 *       -> {"ok":true}, 404 for an unknown code; /test/device/last -> the newest authorization
 *       {"user_code","polls","state","interval","slow_downs"[,"user"]}
 *   anything else                                404 JSON
 * HEAD is answered like GET. Every response carries x-acs-request-id; error bodies carry
 * "error", "error_description" and "requestId".
 *
 * The opaque file has lines TOKEN<TAB>CLAIMS and is read again for every request; userinfo
 * answers CLAIMS byte for byte (so a test can make it answer garbage).
 *
 * The log gets one JSON object per request and line: time, request_id, method, path, query,
 * status, auth ("jwt" | "opaque" | "none"), conn (a serial number per TCP connection: requests
 * on one connection share it), tls ("TLSv1.3", "TLSv1.2" or "older"), token_sha256, reason (why
 * a token or request was refused), sub, jti, role, duration, and for an issued credential
 * access_key_id, access_key_secret, security_token, expiration, expires_at. Never the bearer
 * token itself.
 * The device flow adds client_id, scope, grant_type, user_code, polls, interval, user, outcome
 * and the sha256 (never the text) of device codes, access and refresh tokens.
 *
 * The port file and the pid file are written atomically (rename) once the server listens, and
 * removed at the clean exit that SIGTERM / SIGINT cause (status 0).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <gnutls/gnutls.h> /* the protocol numbers of MHD_CONNECTION_INFO_PROTOCOL */
#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define EXIT_USAGE 2
#define MAX_BODY (64 * 1024)             /* request body bytes we accept (and discard) */
#define MAX_FILE (4 * 1024 * 1024)       /* PEM and opaque files */
#define MAX_TOKEN (1024 * 1024)          /* bearer token bytes we look at */
#define CONN_MEMORY (256 * 1024)         /* per connection: headers up to ~200 KiB */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#define DEFAULT_ISSUER_PATH "/api/v2/iauths_system/oauth2"
#define DEFAULT_INSTANCE "idaas_test"
#define DEFAULT_SCOPE "urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential"
#define OBTAIN_SUFFIX "/cloudAccountRoles/_/actions/obtainAccessCredential"

struct config {
    const char *cert, *key, *rsa_key, *ec_key;
    const char *port_file, *pid_file, *log, *opaque, *issued;
    const char *issuer_path, *instance, *scope;
    unsigned port;
    long delay_ms;
    long date_offset; /* seconds added to the Date header (clock-skew tests); 0: MHD's own */
    const char *client_id;                 /* the device flow's public client */
    long device_expires, device_interval; /* expires_in and interval of a device authorization */
};

static struct {
    struct config cfg;
    char *cert_pem, *key_pem; /* TLS, NUL-terminated */
    EVP_PKEY *rsa, *ec;       /* JWT keys "rsa1" and "ec1" */
    char *issuer_path;        /* normalised: "" or "/a/b" (no trailing slash) */
    char *issuer;
    char *discovery;          /* serialised JSON */
    char *jwks;
    FILE *log;
    FILE *issued; /* the credentials handed out, secrets included: kept apart from the log */
    pthread_mutex_t log_lock;
} g = { .log_lock = PTHREAD_MUTEX_INITIALIZER };

struct acred_form; /* the form body of a device-flow request (see the device flow) */

/* per request: body accounting, from the first call of the handler to the completed one */
struct req {
    size_t body;
    int answered; /* a response is queued already (413) */
    struct acred_form *form; /* POST to device/code or token: the form read so far */
};

/* what one answer is being built from */
struct ctx {
    struct MHD_Connection *conn;
    json_object *log;
    char request_id[37];
    char *token; /* bearer token, NULL when none */
    size_t token_len;
    struct acred_form *form; /* the form body, NULL but for the device flow's POSTs */
};

enum tok { TOK_OK, TOK_INVALID, TOK_SCOPE };

/* ==== small utilities ===================================================================== */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    unsigned long e;

    fputs("mock_idp: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    while ((e = ERR_get_error()) != 0) {
        char b[256];

        ERR_error_string_n(e, b, sizeof b);
        fprintf(stderr, "  %s\n", b);
    }
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);

    if (p == NULL)
        die("out of memory");
    return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("out of memory");
    return s;
}

/* whole file, NUL-terminated; NULL (errno set) on error */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    char *p = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t r;

        if (cap - n < 4096) {
            char *q;

            if (cap >= MAX_FILE) {
                free(p);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            cap = cap ? cap * 2 : 8192;
            q = realloc(p, cap + 1);
            if (q == NULL) {
                free(p);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            p = q;
        }
        r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(p);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    p[n] = '\0';
    if (len != NULL)
        *len = n;
    return p;
}

static char *b64url(const unsigned char *in, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = xmalloc(n / 3 * 4 + 5), *o = out;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = tab[v >> 6 & 63];
        *o++ = tab[v & 63];
    }
    if (n - i >= 1) {
        unsigned v = (unsigned)in[i] << 16 | (n - i == 2 ? (unsigned)in[i + 1] << 8 : 0);

        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        if (n - i == 2)
            *o++ = tab[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

static int b64url_value(int c)
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

/* strict base64url without padding; malloc'd (NUL-terminated) into *out; -1 if malformed */
static int b64url_decode(const char *in, size_t n, unsigned char **out, size_t *outlen)
{
    unsigned char *o;
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0;

    if (n % 4 == 1)
        return -1;
    o = xmalloc(n / 4 * 3 + 4);
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)in[i]);

        if (v < 0) {
            free(o);
            return -1;
        }
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (unsigned char)(acc >> bits);
        }
    }
    o[k] = '\0';
    *out = o;
    *outlen = k;
    return 0;
}

static void sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        strcpy(hex, "error");
        return;
    }
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
}

static void random_bytes(unsigned char *p, size_t n)
{
    if (RAND_bytes(p, (int)n) != 1)
        die("RAND_bytes failed");
}

/* n random characters of [A-Za-z0-9] (unbiased) */
static void random_alnum(char *out, size_t n)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t k = 0;

    while (k < n) {
        unsigned char b[64];

        random_bytes(b, sizeof b);
        for (size_t i = 0; i < sizeof b && k < n; i++)
            if (b[i] < 248) /* 248 = 4 * 62 */
                out[k++] = set[b[i] % 62];
    }
    out[n] = '\0';
}

static void random_request_id(char out[37])
{
    unsigned char b[16];

    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* a copy fit for the log: printable ASCII and valid UTF-8 kept, any other byte as '?' */
static char *log_safe(const char *s)
{
    size_t n = strlen(s);
    char *o = xmalloc(n + 1);
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                                 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        int ok = len != 0 && i + len <= n && (len > 1 || (c >= 0x20 && c != 0x7f));

        for (size_t k = 1; ok && k < len; k++)
            if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                ok = 0;
        if (ok) {
            memcpy(o + i, s + i, len);
            i += len;
        } else {
            o[i++] = '?';
        }
    }
    o[n] = '\0';
    return o;
}

static json_object *json_safe_string(const char *s)
{
    char *t = log_safe(s);
    json_object *j = json_object_new_string(t);

    free(t);
    return j;
}

/* strict JSON object parse of n bytes (nothing but white space after it); NULL if not */
static json_object *parse_object(const char *text, size_t n)
{
    json_tokener *tok;
    json_object *o;

    if (n > INT_MAX || (tok = json_tokener_new()) == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, text, (int)n);
    if (o != NULL && json_tokener_get_error(tok) == json_tokener_success) {
        for (size_t i = json_tokener_get_parse_end(tok); i < n; i++)
            if (strchr(" \t\r\n", text[i]) == NULL) {
                json_object_put(o);
                o = NULL;
                break;
            }
    } else {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

static const char *json_get_string(json_object *o, const char *key)
{
    json_object *v;

    if (o != NULL && json_object_object_get_ex(o, key, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* ==== the log =============================================================================== */

static void log_set(struct ctx *c, const char *key, json_object *val)
{
    json_object_object_add(c->log, key, val);
}

static void log_str(struct ctx *c, const char *key, const char *val)
{
    log_set(c, key, val ? json_object_new_string(val) : NULL);
}

/* each TCP connection gets a serial number (its socket context), for the log's "conn" */
static unsigned long conn_serial;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)conn;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        *socket_context =
            (void *)(uintptr_t)__atomic_add_fetch(&conn_serial, 1, __ATOMIC_SEQ_CST);
}

/* "conn": the connection's serial; "tls": the protocol version it negotiated */
static void log_connection(struct ctx *c)
{
    const union MHD_ConnectionInfo *sc =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const union MHD_ConnectionInfo *p =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_PROTOCOL);

    if (sc != NULL)
        log_set(c, "conn", json_object_new_int64((int64_t)(uintptr_t)sc->socket_context));
    if (p != NULL)
        log_str(c, "tls", p->protocol == GNUTLS_TLS1_3 ? "TLSv1.3"
                          : p->protocol == GNUTLS_TLS1_2 ? "TLSv1.2" : "older");
}

/* sub and jti of a set of claims, when they are strings */
static void log_claims(struct ctx *c, json_object *claims)
{
    const char *sub = json_get_string(claims, "sub");
    const char *jti = json_get_string(claims, "jti");

    if (sub != NULL)
        log_set(c, "sub", json_safe_string(sub));
    if (jti != NULL)
        log_set(c, "jti", json_safe_string(jti));
}

/* append one JSON object to f under the log lock */
static void write_line(FILE *f, json_object *o)
{
    const char *line = json_object_to_json_string_ext(o, JSON_FLAGS);

    pthread_mutex_lock(&g.log_lock);
    fputs(line, f);
    fputc('\n', f);
    fflush(f);
    pthread_mutex_unlock(&g.log_lock);
}

static void log_write(struct ctx *c)
{
    const char *line = json_object_to_json_string_ext(c->log, JSON_FLAGS);

    pthread_mutex_lock(&g.log_lock);
    fputs(line, g.log);
    fputc('\n', g.log);
    fflush(g.log);
    pthread_mutex_unlock(&g.log_lock);
}

struct query_walk {
    json_object *obj;
    const struct ctx *c;
};

/* query parameters whose value is a secret of the device flow, should one be sent that way */
static int acred_secret_param(const char *key)
{
    return strcmp(key, "device_code") == 0 || strcmp(key, "refresh_token") == 0 ||
           strcmp(key, "access_token") == 0 || strcmp(key, "client_secret") == 0;
}

static enum MHD_Result query_add(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct query_walk *w = cls;
    char *k;

    (void)kind;
    if (key == NULL)
        return MHD_YES;
    k = log_safe(key);
    if (!json_object_object_get_ex(w->obj, k, NULL)) { /* the first of duplicates, as served */
        json_object *v = NULL;

        if (value != NULL && ((w->c->token != NULL && strcmp(value, w->c->token) == 0) ||
                              acred_secret_param(k))) {
            char hex[65];

            sha256_hex(value, strlen(value), hex);
            v = json_object_new_string(hex); /* never the token itself */
        } else if (value != NULL) {
            v = json_safe_string(value);
        }
        json_object_object_add(w->obj, k, v);
    }
    free(k);
    return MHD_YES;
}

/* ==== responses ============================================================================ */

static void delay(void)
{
    struct timespec ts;

    if (g.cfg.delay_ms <= 0)
        return;
    ts.tv_sec = g.cfg.delay_ms / 1000;
    ts.tv_nsec = g.cfg.delay_ms % 1000 * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* queue body (copied) with status, log the request, return MHD's verdict */
static enum MHD_Result respond(struct ctx *c, unsigned status, const char *body)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    delay();
    log_set(c, "status", json_object_new_int((int)status));
    log_write(c);
    r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json;charset=UTF-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "x-acs-request-id", c->request_id);
    if (g.cfg.date_offset != 0) {
        char date[64];
        struct tm tm;
        time_t t = time(NULL) + g.cfg.date_offset;

        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
        MHD_add_response_header(r, MHD_HTTP_HEADER_DATE, date);
    }
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer error=\"invalid_token\"");
    else if (status == MHD_HTTP_FORBIDDEN)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer error=\"insufficient_scope\"");
    ret = MHD_queue_response(c->conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_json(struct ctx *c, unsigned status, json_object *body)
{
    enum MHD_Result ret = respond(c, status, json_object_to_json_string_ext(body, JSON_FLAGS));

    json_object_put(body);
    return ret;
}

/* an error: {"error","error_description","requestId"}; reason also goes to the log */
static enum MHD_Result respond_error(struct ctx *c, unsigned status, const char *error,
                                     const char *desc, const char *reason)
{
    json_object *b = json_object_new_object();

    json_object_object_add(b, "error", json_object_new_string(error));
    if (desc != NULL)
        json_object_object_add(b, "error_description", json_object_new_string(desc));
    json_object_object_add(b, "requestId", json_object_new_string(c->request_id));
    log_str(c, "reason", reason ? reason : error);
    return respond_json(c, status, b);
}

/* ==== tokens ================================================================================ */

/* the bearer token of the Authorization header, or NULL */
static char *bearer_token(struct MHD_Connection *conn, size_t *len)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    size_t n;
    char *t;

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ' || *h == '\t')
        h++;
    n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n == 0 || n > MAX_TOKEN)
        return NULL;
    t = xmalloc(n + 1);
    memcpy(t, h, n);
    t[n] = '\0';
    *len = n;
    return t;
}

static int looks_like_jwt(const char *t)
{
    const char *d1 = strchr(t, '.'), *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;

    return d2 != NULL && strchr(d2 + 1, '.') == NULL;
}

/* the claims text of a known opaque token (malloc'd), or NULL */
static char *opaque_lookup(const char *tok, size_t toklen)
{
    char *text, *line, *save = NULL, *found = NULL;

    if (g.cfg.opaque == NULL || (text = read_file(g.cfg.opaque, NULL)) == NULL)
        return NULL;
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        size_t n = strlen(line);

        if (n > 0 && line[n - 1] == '\r')
            line[n - 1] = '\0';
        if (tab != NULL && (size_t)(tab - line) == toklen && memcmp(line, tok, toklen) == 0) {
            found = xstrdup(tab + 1);
            break;
        }
    }
    free(text);
    return found;
}

/* JOSE r||s (64 bytes) -> DER ECDSA-Sig-Value; -1 on error */
static int jose_to_der(const unsigned char *sig, size_t n, unsigned char **der, size_t *derlen)
{
    ECDSA_SIG *s;
    BIGNUM *r = NULL, *ss = NULL;
    int len;

    if (n != 64 || (s = ECDSA_SIG_new()) == NULL)
        return -1;
    r = BN_bin2bn(sig, 32, NULL);
    ss = BN_bin2bn(sig + 32, 32, NULL);
    if (r == NULL || ss == NULL || ECDSA_SIG_set0(s, r, ss) != 1) {
        BN_free(r);
        BN_free(ss);
        ECDSA_SIG_free(s);
        return -1;
    }
    *der = NULL;
    len = i2d_ECDSA_SIG(s, der);
    ECDSA_SIG_free(s);
    if (len <= 0)
        return -1;
    *derlen = (size_t)len;
    return 0;
}

static int verify_sig(EVP_PKEY *key, int is_ec, const char *input, size_t inlen,
                      const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    int ok = 0;

    if (is_ec) {
        if (jose_to_der(sig, siglen, &der, &siglen) != 0) {
            EVP_MD_CTX_free(ctx);
            return 0;
        }
        sig = der;
    }
    if (ctx != NULL && EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
        EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input, inlen) == 1)
        ok = 1;
    ERR_clear_error();
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* does scope (space-separated string) or scp (array of strings) hold want? */
static int has_scope(json_object *claims, const char *want)
{
    json_object *v;
    size_t wl = strlen(want);

    if (json_object_object_get_ex(claims, "scope", &v) &&
        json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);

        while (*s != '\0') {
            size_t n = strcspn(s, " ");

            if (n == wl && memcmp(s, want, wl) == 0)
                return 1;
            s += n;
            while (*s == ' ')
                s++;
        }
    }
    if (json_object_object_get_ex(claims, "scp", &v) && json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);

            if (json_object_is_type(e, json_type_string) &&
                strcmp(json_object_get_string(e), want) == 0)
                return 1;
        }
    }
    return 0;
}

/* decode one part of a JWT as a JSON object */
static json_object *jwt_part(const char *p, size_t n)
{
    unsigned char *raw;
    size_t len;
    json_object *o;

    if (b64url_decode(p, n, &raw, &len) != 0)
        return NULL;
    o = parse_object((const char *)raw, len);
    free(raw);
    return o;
}

/* the number value of a claim (int or double) into *out; 0 if absent or not a number */
static int claim_number(json_object *claims, const char *key, double *out)
{
    json_object *v;

    if (!json_object_object_get_ex(claims, key, &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return 0;
    *out = json_object_get_double(v);
    return 1;
}

static enum tok check_jwt_claims(json_object *claims, const char **why)
{
    double exp, nbf;
    time_t now = time(NULL);

    if (!claim_number(claims, "exp", &exp)) {
        *why = "no_exp";
        return TOK_INVALID;
    }
    if (exp <= (double)now) {
        *why = "expired";
        return TOK_INVALID;
    }
    if (claim_number(claims, "nbf", &nbf) && nbf > (double)now) {
        *why = "not_yet_valid";
        return TOK_INVALID;
    }
    if (!has_scope(claims, g.cfg.scope)) {
        *why = "missing_scope";
        return TOK_SCOPE;
    }
    return TOK_OK;
}

/* a JWT of ours: signature (rsa1 RS256 / ec1 ES256), then the claims */
static enum tok check_jwt(struct ctx *c, const char **why)
{
    const char *t = c->token, *d1 = strchr(t, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    json_object *header = NULL, *claims = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    const char *alg, *kid;
    EVP_PKEY *key;
    int is_ec;
    enum tok r = TOK_INVALID;

    *why = "malformed";
    if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
        return TOK_INVALID;
    header = jwt_part(t, (size_t)(d1 - t));
    claims = jwt_part(d1 + 1, (size_t)(d2 - d1 - 1));
    if (header == NULL || claims == NULL ||
        b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &siglen) != 0)
        goto out;
    log_claims(c, claims);
    alg = json_get_string(header, "alg");
    kid = json_get_string(header, "kid");
    *why = "bad_algorithm";
    if (alg == NULL || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0))
        goto out;
    is_ec = strcmp(alg, "ES256") == 0;
    *why = "unknown_key";
    if (kid != NULL && strcmp(kid, is_ec ? "ec1" : "rsa1") != 0)
        goto out;
    key = is_ec ? g.ec : g.rsa;
    *why = "bad_signature";
    if (!verify_sig(key, is_ec, t, (size_t)(d2 - t), sig, siglen))
        goto out;
    r = check_jwt_claims(claims, why);
out:
    free(sig);
    json_object_put(header);
    json_object_put(claims);
    return r;
}

/* ==== handlers ============================================================================= */

static enum MHD_Result serve_discovery(struct ctx *c)
{
    if (g.discovery == NULL) /* only before the port file exists */
        return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                             "Starting", NULL);
    return respond(c, MHD_HTTP_OK, g.discovery);
}

static enum MHD_Result serve_jwks(struct ctx *c)
{
    return respond(c, MHD_HTTP_OK, g.jwks);
}

static enum MHD_Result serve_userinfo(struct ctx *c)
{
    char *claims;
    json_object *parsed;
    enum MHD_Result ret;

    if (c->token == NULL)
        return respond_error(c, MHD_HTTP_UNAUTHORIZED, "invalid_token",
                             "The access token is invalid", "no_token");
    claims = opaque_lookup(c->token, c->token_len);
    if (claims == NULL)
        return respond_error(c, MHD_HTTP_UNAUTHORIZED, "invalid_token",
                             "The access token is invalid", "unknown_token");
    parsed = parse_object(claims, strlen(claims));
    log_claims(c, parsed);
    json_object_put(parsed);
    ret = respond(c, MHD_HTTP_OK, claims); /* byte for byte, even when not JSON */
    free(claims);
    return ret;
}

/* the role name: what follows the last "role/", or the whole id */
static const char *role_name(const char *ext)
{
    const char *p = ext, *last = NULL;

    while ((p = strstr(p, "role/")) != NULL) {
        last = p + 5;
        p += 5;
    }
    return last != NULL && *last != '\0' ? last : ext;
}

/* 900..43200, digits only; -1 otherwise */
static long parse_duration(const char *s)
{
    long v = 0;

    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > 1000000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v >= 900 && v <= 43200 ? v : -1;
}

static json_object *make_credential(struct ctx *c, const char *ext, long duration)
{
    char akid[4 + 24 + 1] = "STS.", secret[41], expiration[32];
    unsigned char raw[480];
    unsigned char token[641];
    time_t now = time(NULL), exp = now + duration;
    struct tm tm;
    json_object *sts = json_object_new_object(), *cred = json_object_new_object();
    json_object *b = json_object_new_object();

    random_alnum(akid + 4, 24);
    random_alnum(secret, 40);
    random_bytes(raw, sizeof raw);
    EVP_EncodeBlock(token, raw, sizeof raw); /* 640 base64 characters, no '=' */
    gmtime_r(&exp, &tm);
    strftime(expiration, sizeof expiration, "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_object_object_add(sts, "accessKeyId", json_object_new_string(akid));
    json_object_object_add(sts, "accessKeySecret", json_object_new_string(secret));
    json_object_object_add(sts, "securityToken", json_object_new_string((char *)token));
    json_object_object_add(sts, "expiration", json_object_new_string(expiration));
    json_object_object_add(cred, "accessCredentialExpiresAt", json_object_new_int64(exp));
    json_object_object_add(cred, "alibabaCloudStsToken", sts);

    json_object_object_add(b, "cloudAccountId", json_object_new_string("ca_mock01"));
    json_object_object_add(b, "cloudAccountRoleId", json_object_new_string("carole_mock01"));
    json_object_object_add(b, "cloudAccountRoleName", json_object_new_string(role_name(ext)));
    json_object_object_add(b, "cloudAccountRoleExternalId", json_object_new_string(ext));
    json_object_object_add(b, "cloudAccountVendorType", json_object_new_string("alibaba_cloud"));
    json_object_object_add(b, "cloudAccountRoleAccessCredential", cred);

    /* the request log keeps what is not secret; the whole credential goes to --issued only */
    log_str(c, "access_key_id", akid);
    log_str(c, "expiration", expiration);
    log_set(c, "expires_at", json_object_new_int64(exp));
    if (g.issued != NULL) {
        json_object *i = json_object_new_object();
        json_object_object_add(i, "request_id", json_object_new_string(c->request_id));
        json_object_object_add(i, "role", json_safe_string(ext));
        json_object_object_add(i, "duration", json_object_new_int64(duration));
        json_object_object_add(i, "access_key_id", json_object_new_string(akid));
        json_object_object_add(i, "access_key_secret", json_object_new_string(secret));
        json_object_object_add(i, "security_token", json_object_new_string((char *)token));
        json_object_object_add(i, "expiration", json_object_new_string(expiration));
        write_line(g.issued, i);
        json_object_put(i);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return b;
}

static enum MHD_Result serve_obtain(struct ctx *c, const char *instance, size_t instance_len)
{
    const char *ext, *dur;
    long duration = 3600;
    enum tok t;
    const char *why = NULL;

    if (instance_len != strlen(g.cfg.instance) ||
        memcmp(instance, g.cfg.instance, instance_len) != 0)
        return respond_error(c, MHD_HTTP_NOT_FOUND, "instance_not_found",
                             "The specified instance does not exist", NULL);

    /* what is asked (logged before anything is refused) */
    ext = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND,
                                      "cloudAccountRoleExternalId");
    dur = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "durationSeconds");
    if (ext != NULL)
        log_set(c, "role", json_safe_string(ext));
    if (dur != NULL) {
        duration = parse_duration(dur);
        log_set(c, "duration",
                duration > 0 ? json_object_new_int64(duration) : json_safe_string(dur));
    } else {
        log_set(c, "duration", json_object_new_int64(duration));
    }

    /* who is asking */
    if (c->token == NULL)
        return respond_error(c, MHD_HTTP_UNAUTHORIZED, "invalid_token",
                             "The access token is missing", "no_token");
    {
        char *claims = opaque_lookup(c->token, c->token_len);

        if (claims != NULL) {
            json_object *parsed = parse_object(claims, strlen(claims));

            log_str(c, "auth", "opaque");
            log_claims(c, parsed);
            json_object_put(parsed);
            free(claims);
            t = TOK_OK;
        } else if (looks_like_jwt(c->token)) {
            t = check_jwt(c, &why);
        } else {
            why = "unknown_token";
            t = TOK_INVALID;
        }
    }
    if (t == TOK_INVALID)
        return respond_error(c, MHD_HTTP_UNAUTHORIZED, "invalid_token",
                             "The access token is invalid", why);
    if (t == TOK_SCOPE)
        return respond_error(c, MHD_HTTP_FORBIDDEN, "insufficient_scope",
                             "The access token does not have the required scope", why);

    if (ext == NULL || *ext == '\0')
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                             "cloudAccountRoleExternalId is required", "no_role");
    if (strstr(ext, "forbidden") != NULL)
        return respond_error(c, MHD_HTTP_FORBIDDEN, "access_denied",
                             "The user is not authorized to use this cloud account role", NULL);
    if (strstr(ext, "broken") != NULL)
        return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", NULL, NULL);
    if (duration < 0)
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                             "durationSeconds must be an integer between 900 and 43200",
                             "bad_duration");
    return respond_json(c, MHD_HTTP_OK, make_credential(c, ext, duration));
}

/* "PATH/NAME" where PATH is the issuer path */
static int is_issuer_path(const char *url, const char *name)
{
    size_t n = strlen(g.issuer_path);

    return strncmp(url, g.issuer_path, n) == 0 && strcmp(url + n, name) == 0;
}

/* ==== device authorization grant (RFC 8628) and refresh tokens ============================== */

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
#define DEVICE_MAX 1000      /* authorizations kept in memory; a new one replaces the oldest */
#define REFRESH_MAX 1000     /* refresh tokens kept in memory, likewise */
#define ACCESS_TTL 600       /* seconds an access token issued here lives */
#define FORM_FIELDS 16       /* form parameters we keep; more is refused */
#define FORM_VALUE (8 * 1024) /* bytes of one form value */
#define USER_CODE_SET "BCDFGHJKLMNPQRSTVWXZ" /* RFC 8628 6.1: no vowels, no look-alikes */
#define USER_NAME_MAX 64

/* a form body (application/x-www-form-urlencoded), read by MHD's post processor */
struct acred_form {
    struct MHD_PostProcessor *pp;
    const char *bad; /* why the body is no usable form; NULL when it is */
    size_t n;
    struct {
        char key[32];
        char *val; /* NUL-terminated; wiped before it is freed */
        size_t len;
    } f[FORM_FIELDS];
};

enum acred_dev_state { DEV_PENDING, DEV_APPROVED, DEV_DENIED, DEV_EXPIRED, DEV_EXCHANGED };
static const char *const acred_dev_state_name[] = { "pending", "approved", "denied", "expired",
                                                    "exchanged" };

struct acred_device {
    int used;
    char code_sha256[65]; /* the device_code itself is never kept */
    char user_code[10];   /* ABCD-EFGH */
    char user[USER_NAME_MAX + 1]; /* who approved it */
    double expires;       /* CLOCK_MONOTONIC seconds */
    double last_poll;     /* when polled last (valid when polls > 0) */
    long interval;        /* seconds the client must wait between polls (grows on slow_down) */
    unsigned polls, slow_downs;
    enum acred_dev_state state;
};

struct acred_refresh {
    int used;
    char sha256[65]; /* of the refresh token, which is never kept */
    char user[USER_NAME_MAX + 1];
};

static struct {
    pthread_mutex_t lock;
    struct acred_device dev[DEVICE_MAX];
    size_t dev_next; /* the slot the next authorization takes */
    long dev_last;   /* the most recent authorization, -1 before the first */
    struct acred_refresh ref[REFRESH_MAX];
    size_t ref_next;
} acred_dev = { .lock = PTHREAD_MUTEX_INITIALIZER, .dev_last = -1 };

static double acred_mono(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* -- the form --------------------------------------------------------------------------------- */

/* value bytes are appended to the field they belong to; a repeated parameter spoils the form */
static enum MHD_Result acred_form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *filename, const char *content_type,
                                        const char *transfer_encoding, const char *data,
                                        uint64_t off, size_t size)
{
    struct acred_form *f = cls;
    size_t i;
    char *v;

    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    if (f->bad != NULL || key == NULL || strlen(key) >= sizeof f->f[0].key)
        return MHD_YES; /* spoilt already, or no parameter of ours */
    if (data == NULL)
        size = 0;
    if (memchr(data != NULL ? data : "", '\0', size) != NULL) {
        f->bad = "nul_in_parameter";
        return MHD_YES;
    }
    for (i = 0; i < f->n && strcmp(f->f[i].key, key) != 0; i++)
        ;
    if (i == f->n) { /* a new parameter */
        if (off != 0 || f->n == FORM_FIELDS) {
            f->bad = off != 0 ? "malformed_form" : "too_many_parameters";
            return MHD_YES;
        }
        snprintf(f->f[i].key, sizeof f->f[i].key, "%s", key);
        f->f[i].val = xmalloc(1);
        f->f[i].val[0] = '\0';
        f->f[i].len = 0;
        f->n++;
    } else if (i != f->n - 1 || off != f->f[i].len) {
        f->bad = "duplicate_parameter"; /* RFC 6749 3.2: sent at most once */
        return MHD_YES;
    }
    if (size == 0)
        return MHD_YES;
    if (f->f[i].len + size > FORM_VALUE) {
        f->bad = "parameter_too_long";
        return MHD_YES;
    }
    v = xmalloc(f->f[i].len + size + 1); /* not realloc: the old copy is wiped first */
    memcpy(v, f->f[i].val, f->f[i].len);
    memcpy(v + f->f[i].len, data, size);
    v[f->f[i].len + size] = '\0';
    OPENSSL_cleanse(f->f[i].val, f->f[i].len);
    free(f->f[i].val);
    f->f[i].val = v;
    f->f[i].len += size;
    return MHD_YES;
}

/* a form for the POST endpoints of the device flow; NULL for any other request */
static struct acred_form *acred_form_start(struct MHD_Connection *conn, const char *url,
                                           const char *method)
{
    const char *ct;
    struct acred_form *f;
    size_t n = strlen(MHD_HTTP_POST_ENCODING_FORM_URLENCODED);

    if (strcmp(method, "POST") != 0 ||
        !(is_issuer_path(url, "/device/code") || is_issuer_path(url, "/token")))
        return NULL;
    f = xmalloc(sizeof *f);
    memset(f, 0, sizeof *f);
    ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL || strncasecmp(ct, MHD_HTTP_POST_ENCODING_FORM_URLENCODED, n) != 0 ||
        (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
        f->bad = "not_a_form";
    else if ((f->pp = MHD_create_post_processor(conn, 1024, acred_form_field, f)) == NULL)
        f->bad = "not_a_form";
    return f;
}

static void acred_form_feed(struct acred_form *f, const char *data, size_t n)
{
    if (f->pp != NULL && f->bad == NULL && MHD_post_process(f->pp, data, n) != MHD_YES)
        f->bad = "malformed_form";
}

/* the whole body is in: the last value reaches the iterator only now */
static void acred_form_finish(struct acred_form *f)
{
    if (f->pp == NULL)
        return;
    if (MHD_destroy_post_processor(f->pp) != MHD_YES && f->bad == NULL)
        f->bad = "malformed_form";
    f->pp = NULL;
}

static void acred_form_free(struct acred_form *f)
{
    if (f == NULL)
        return;
    acred_form_finish(f);
    for (size_t i = 0; i < f->n; i++) {
        OPENSSL_cleanse(f->f[i].val, f->f[i].len);
        free(f->f[i].val);
    }
    free(f);
}

static const char *acred_form_get(const struct acred_form *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->f[i].key, key) == 0)
            return f->f[i].val;
    return NULL;
}

/* -- answers ------------------------------------------------------------------------------------ */

/* an OAuth error of the device flow: the error is also the logged outcome */
static enum MHD_Result acred_oauth_error(struct ctx *c, unsigned status, const char *error,
                                         const char *desc, const char *reason)
{
    log_str(c, "outcome", error);
    return respond_error(c, status, error, desc, reason);
}

/* a body that is no usable form: why, for the client and for the log */
static enum MHD_Result acred_bad_form(struct ctx *c)
{
    const char *why = c->form != NULL && c->form->bad != NULL ? c->form->bad : "not_a_form";

    return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                             strcmp(why, "not_a_form") == 0
                                 ? "The body must be an application/x-www-form-urlencoded form"
                                 : "The form has a repeated, overlong or malformed parameter",
                             why);
}

/* overwrite the string member key of o (a secret about to be freed) */
static void acred_json_wipe(json_object *o, const char *key)
{
    json_object *v;

    if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        OPENSSL_cleanse((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* a body that holds secrets: the serialised text and the named members are wiped after use */
static enum MHD_Result acred_respond_secret(struct ctx *c, json_object *body,
                                            const char *const *secrets)
{
    const char *text = json_object_to_json_string_ext(body, JSON_FLAGS);
    enum MHD_Result ret = respond(c, MHD_HTTP_OK, text);

    OPENSSL_cleanse((char *)text, strlen(text));
    for (; *secrets != NULL; secrets++)
        acred_json_wipe(body, *secrets);
    json_object_put(body);
    return ret;
}

static void log_sha256(struct ctx *c, const char *key, const char *secret)
{
    char hex[65];

    sha256_hex(secret, strlen(secret), hex);
    log_str(c, key, hex);
}

/* -- tokens ------------------------------------------------------------------------------------- */

/* claims signed with rsa1 (RS256) as a compact JWT; NULL if OpenSSL fails */
static char *acred_sign_jwt(json_object *claims)
{
    static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa1\"}";
    const char *payload = json_object_to_json_string_ext(claims, JSON_FLAGS);
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    char *input = xasprintf("%s.%s", h, p), *jwt = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0, n = strlen(input);

    if (md != NULL &&
        EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, g.rsa, NULL) == 1 &&
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, n) == 1) {
        sig = xmalloc(siglen);
        if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, n) == 1) {
            char *s = b64url(sig, siglen);

            jwt = xasprintf("%s.%s", input, s);
            free(s);
        }
    }
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(sig);
    free(h);
    free(p);
    free(input);
    return jwt;
}

/* the answer to a granted request: an access token for user and a new refresh token */
static enum MHD_Result acred_issue(struct ctx *c, const char *user)
{
    static const char *const secrets[] = { "access_token", "refresh_token", NULL };
    char refresh[49], hex[65], jti[25], *sub = xasprintf("u_%s", user);
    char *scope = xasprintf("openid %s", g.cfg.scope), *jwt;
    time_t now = time(NULL);
    json_object *claims = json_object_new_object(), *b;
    struct acred_refresh *r;

    random_alnum(jti, 24);
    json_object_object_add(claims, "iss", json_object_new_string(g.issuer));
    json_object_object_add(claims, "aud", json_object_new_string(g.cfg.client_id));
    json_object_object_add(claims, "sub", json_object_new_string(sub));
    json_object_object_add(claims, "preferred_username", json_object_new_string(user));
    json_object_object_add(claims, "scope", json_object_new_string(scope));
    json_object_object_add(claims, "iat", json_object_new_int64(now));
    json_object_object_add(claims, "exp", json_object_new_int64(now + ACCESS_TTL));
    json_object_object_add(claims, "jti", json_object_new_string(jti));
    jwt = acred_sign_jwt(claims);
    json_object_put(claims);
    log_str(c, "user", user);
    log_str(c, "sub", sub);
    log_str(c, "jti", jti);
    free(sub);
    if (jwt == NULL) {
        free(scope);
        return acred_oauth_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                 "Cannot sign the access token", "sign_failed");
    }

    random_alnum(refresh, 48);
    sha256_hex(refresh, 48, hex);
    pthread_mutex_lock(&acred_dev.lock);
    r = &acred_dev.ref[acred_dev.ref_next];
    acred_dev.ref_next = (acred_dev.ref_next + 1) % REFRESH_MAX;
    r->used = 1;
    memcpy(r->sha256, hex, sizeof r->sha256);
    snprintf(r->user, sizeof r->user, "%s", user);
    pthread_mutex_unlock(&acred_dev.lock);

    log_sha256(c, "access_token_sha256", jwt);
    log_str(c, "issued_refresh_token_sha256", hex);
    log_str(c, "outcome", "issued");
    b = json_object_new_object();
    json_object_object_add(b, "access_token", json_object_new_string(jwt));
    json_object_object_add(b, "token_type", json_object_new_string("Bearer"));
    json_object_object_add(b, "expires_in", json_object_new_int(ACCESS_TTL));
    json_object_object_add(b, "refresh_token", json_object_new_string(refresh));
    json_object_object_add(b, "scope", json_object_new_string(scope));
    OPENSSL_cleanse(jwt, strlen(jwt));
    OPENSSL_cleanse(refresh, sizeof refresh);
    free(jwt);
    free(scope);
    return acred_respond_secret(c, b, secrets);
}

/* -- the authorizations ------------------------------------------------------------------------ */

/* past expires_in, a pending or approved authorization is expired */
static void acred_dev_age(struct acred_device *d, double now)
{
    if ((d->state == DEV_PENDING || d->state == DEV_APPROVED) && now >= d->expires)
        d->state = DEV_EXPIRED;
}

/* under the lock: a fresh user code, ABCD-EFGH, that no authorization we keep has */
static void acred_new_user_code(char out[10])
{
    for (;;) {
        unsigned char b[32];
        size_t k = 0, i;
        int taken = 0;

        random_bytes(b, sizeof b);
        for (i = 0; i < sizeof b && k < 9; i++) {
            if (k == 4)
                out[k++] = '-';
            if (b[i] < 240) /* 240 = 12 * 20: unbiased */
                out[k++] = USER_CODE_SET[b[i] % 20];
        }
        if (k < 9)
            continue;
        out[9] = '\0';
        for (i = 0; i < DEVICE_MAX && !taken; i++)
            taken = acred_dev.dev[i].used && strcmp(acred_dev.dev[i].user_code, out) == 0;
        if (!taken)
            return;
    }
}

/* under the lock: the authorization with this user code (as typed: any case, dash optional) */
static struct acred_device *acred_find_user_code(const char *typed)
{
    char code[10];
    size_t k = 0;

    for (; *typed != '\0'; typed++) {
        char ch = *typed >= 'a' && *typed <= 'z' ? (char)(*typed - 'a' + 'A') : *typed;

        if (ch == '-' || ch == ' ')
            continue;
        if (k == 9 || strchr(USER_CODE_SET, ch) == NULL)
            return NULL;
        if (k == 4)
            code[k++] = '-';
        code[k++] = ch;
    }
    if (k != 9)
        return NULL;
    code[9] = '\0';
    for (size_t i = 0; i < DEVICE_MAX; i++)
        if (acred_dev.dev[i].used && strcmp(acred_dev.dev[i].user_code, code) == 0)
            return &acred_dev.dev[i];
    return NULL;
}

/* POST {issuer}/device/code: client_id and scope -> a pending authorization */
static enum MHD_Result acred_serve_device_code(struct ctx *c)
{
    static const char *const secrets[] = { "device_code", NULL };
    const char *client, *scope;
    char device_code[44], hex[65], user_code[10], *uri, *complete;
    struct acred_device *d;
    json_object *b;
    size_t origin;

    if (g.issuer == NULL) /* only before the port file exists */
        return acred_oauth_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                                 "Starting", NULL);
    if (c->form == NULL || c->form->bad != NULL)
        return acred_bad_form(c);
    client = acred_form_get(c->form, "client_id");
    scope = acred_form_get(c->form, "scope");
    if (client != NULL)
        log_set(c, "client_id", json_safe_string(client));
    if (scope != NULL)
        log_set(c, "scope", json_safe_string(scope));
    if (client == NULL || strcmp(client, g.cfg.client_id) != 0)
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_client",
                                 "Client authentication failed",
                                 client == NULL ? "no_client_id" : "unknown_client");
    if (scope == NULL || *scope == '\0')
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", "scope is required",
                                 "no_scope");

    random_alnum(device_code, 43);
    sha256_hex(device_code, 43, hex);
    pthread_mutex_lock(&acred_dev.lock);
    d = &acred_dev.dev[acred_dev.dev_next];
    acred_dev.dev_last = (long)acred_dev.dev_next;
    acred_dev.dev_next = (acred_dev.dev_next + 1) % DEVICE_MAX;
    memset(d, 0, sizeof *d);
    acred_new_user_code(d->user_code);
    d->used = 1;
    memcpy(d->code_sha256, hex, sizeof d->code_sha256);
    d->expires = acred_mono() + (double)g.cfg.device_expires;
    d->interval = g.cfg.device_interval;
    d->state = DEV_PENDING;
    memcpy(user_code, d->user_code, sizeof user_code);
    pthread_mutex_unlock(&acred_dev.lock);

    origin = strlen(g.issuer) - strlen(g.issuer_path); /* https://127.0.0.1:PORT */
    uri = xasprintf("%.*s/device", (int)origin, g.issuer);
    complete = xasprintf("%s?user_code=%s", uri, user_code);
    log_str(c, "user_code", user_code);
    log_str(c, "device_code_sha256", hex);
    log_str(c, "outcome", "created");
    b = json_object_new_object();
    json_object_object_add(b, "device_code", json_object_new_string(device_code));
    json_object_object_add(b, "user_code", json_object_new_string(user_code));
    json_object_object_add(b, "verification_uri", json_object_new_string(uri));
    json_object_object_add(b, "verification_uri_complete", json_object_new_string(complete));
    json_object_object_add(b, "expires_in", json_object_new_int64(g.cfg.device_expires));
    json_object_object_add(b, "interval", json_object_new_int64(g.cfg.device_interval));
    OPENSSL_cleanse(device_code, sizeof device_code);
    free(uri);
    free(complete);
    return acred_respond_secret(c, b, secrets);
}

/* the device_code grant: pending, slow_down, denied, expired, or the tokens (once) */
static enum MHD_Result acred_token_device(struct ctx *c)
{
    const char *code = acred_form_get(c->form, "device_code");
    char hex[65], user[USER_NAME_MAX + 1] = "";
    enum { T_UNKNOWN, T_PENDING, T_SLOW, T_DENIED, T_EXPIRED, T_USED, T_ISSUE } t = T_UNKNOWN;
    double now = acred_mono();

    if (code == NULL || *code == '\0')
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                 "device_code is required", "no_device_code");
    sha256_hex(code, strlen(code), hex);
    log_str(c, "device_code_sha256", hex);
    pthread_mutex_lock(&acred_dev.lock);
    for (size_t i = 0; i < DEVICE_MAX; i++) {
        struct acred_device *d = &acred_dev.dev[i];

        if (!d->used || strcmp(d->code_sha256, hex) != 0)
            continue;
        acred_dev_age(d, now);
        switch (d->state) {
        case DEV_PENDING:
            if (d->polls > 0 && now - d->last_poll < (double)d->interval) {
                d->interval += 5; /* RFC 8628 3.5 */
                d->slow_downs++;
                t = T_SLOW;
            } else {
                t = T_PENDING;
            }
            break;
        case DEV_APPROVED:
            d->state = DEV_EXCHANGED;
            memcpy(user, d->user, sizeof user);
            t = T_ISSUE;
            break;
        case DEV_DENIED: t = T_DENIED; break;
        case DEV_EXPIRED: t = T_EXPIRED; break;
        case DEV_EXCHANGED: t = T_USED; break;
        }
        d->polls++;
        d->last_poll = now;
        log_str(c, "user_code", d->user_code);
        log_set(c, "polls", json_object_new_int64(d->polls));
        log_set(c, "interval", json_object_new_int64(d->interval));
        break;
    }
    pthread_mutex_unlock(&acred_dev.lock);

    switch (t) {
    case T_PENDING:
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "authorization_pending",
                                 "The user has not yet approved the request", NULL);
    case T_SLOW:
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "slow_down",
                                 "Polling too fast; wait 5 seconds longer", NULL);
    case T_DENIED:
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "access_denied",
                                 "The user denied the request", NULL);
    case T_EXPIRED:
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "expired_token",
                                 "The device code has expired", NULL);
    case T_USED:
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_grant",
                                 "The device code was used already", "code_reused");
    case T_ISSUE:
        return acred_issue(c, user);
    case T_UNKNOWN:
        break;
    }
    return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_grant", "Unknown device code",
                             "unknown_device_code");
}

/* the refresh_token grant: a refresh token of ours, once; it is replaced by a new one */
static enum MHD_Result acred_token_refresh(struct ctx *c)
{
    const char *rt = acred_form_get(c->form, "refresh_token");
    char hex[65], user[USER_NAME_MAX + 1] = "";

    if (rt == NULL || *rt == '\0')
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                 "refresh_token is required", "no_refresh_token");
    sha256_hex(rt, strlen(rt), hex);
    log_str(c, "refresh_token_sha256", hex);
    pthread_mutex_lock(&acred_dev.lock);
    for (size_t i = 0; i < REFRESH_MAX; i++) {
        struct acred_refresh *r = &acred_dev.ref[i];

        if (r->used && strcmp(r->sha256, hex) == 0) {
            memcpy(user, r->user, sizeof user);
            memset(r, 0, sizeof *r); /* rotated: it works once */
            break;
        }
    }
    pthread_mutex_unlock(&acred_dev.lock);
    if (user[0] == '\0')
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_grant",
                                 "Unknown refresh token", "unknown_refresh_token");
    return acred_issue(c, user);
}

/* POST {issuer}/token */
static enum MHD_Result acred_serve_token(struct ctx *c)
{
    const char *grant, *client;

    if (g.issuer == NULL) /* only before the port file exists */
        return acred_oauth_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                                 "Starting", NULL);
    if (c->form == NULL || c->form->bad != NULL)
        return acred_bad_form(c);
    grant = acred_form_get(c->form, "grant_type");
    client = acred_form_get(c->form, "client_id");
    if (grant != NULL)
        log_set(c, "grant_type", json_safe_string(grant));
    if (client != NULL)
        log_set(c, "client_id", json_safe_string(client));
    if (grant == NULL || *grant == '\0')
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                 "grant_type is required", "no_grant_type");
    if (strcmp(grant, DEVICE_GRANT) != 0 && strcmp(grant, "refresh_token") != 0)
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "unsupported_grant_type",
                                 "This grant type is not supported here", NULL);
    if (client == NULL || strcmp(client, g.cfg.client_id) != 0)
        return acred_oauth_error(c, MHD_HTTP_BAD_REQUEST, "invalid_client",
                                 "Client authentication failed",
                                 client == NULL ? "no_client_id" : "unknown_client");
    return strcmp(grant, DEVICE_GRANT) == 0 ? acred_token_device(c) : acred_token_refresh(c);
}

/* -- test control: /test/device/{approve,deny,expire,last} ---------------------------------- */

static int acred_valid_user(const char *u)
{
    size_t n = strlen(u);

    if (n == 0 || n > USER_NAME_MAX)
        return 0;
    for (; *u != '\0'; u++)
        if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9') ||
              strchr("._@-", *u) != NULL))
            return 0;
    return 1;
}

static enum MHD_Result acred_serve_device_last(struct ctx *c)
{
    json_object *b;
    struct acred_device *d;

    pthread_mutex_lock(&acred_dev.lock);
    if (acred_dev.dev_last < 0) {
        pthread_mutex_unlock(&acred_dev.lock);
        return respond_error(c, MHD_HTTP_NOT_FOUND, "not_found", "No authorization yet", NULL);
    }
    d = &acred_dev.dev[acred_dev.dev_last];
    acred_dev_age(d, acred_mono());
    b = json_object_new_object();
    json_object_object_add(b, "user_code", json_object_new_string(d->user_code));
    json_object_object_add(b, "polls", json_object_new_int64(d->polls));
    json_object_object_add(b, "state", json_object_new_string(acred_dev_state_name[d->state]));
    json_object_object_add(b, "interval", json_object_new_int64(d->interval));
    json_object_object_add(b, "slow_downs", json_object_new_int64(d->slow_downs));
    if (d->user[0] != '\0')
        json_object_object_add(b, "user", json_object_new_string(d->user));
    pthread_mutex_unlock(&acred_dev.lock);
    return respond_json(c, MHD_HTTP_OK, b);
}

static enum MHD_Result acred_serve_device_test(struct ctx *c, const char *action)
{
    const char *code, *user = NULL;
    enum acred_dev_state to;
    struct acred_device *d;
    int ok = 0;

    if (strcmp(action, "last") == 0)
        return acred_serve_device_last(c);
    if (strcmp(action, "approve") == 0)
        to = DEV_APPROVED;
    else if (strcmp(action, "deny") == 0)
        to = DEV_DENIED;
    else if (strcmp(action, "expire") == 0)
        to = DEV_EXPIRED;
    else
        return respond_error(c, MHD_HTTP_NOT_FOUND, "not_found", "No such resource", NULL);
    code = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "user_code");
    if (code == NULL || *code == '\0')
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", "user_code is required",
                             "no_user_code");
    if (to == DEV_APPROVED) {
        user = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "user");
        if (user == NULL || !acred_valid_user(user))
            return respond_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                 "user must be 1-64 characters of A-Z a-z 0-9 . _ @ -",
                                 "bad_user");
    }

    pthread_mutex_lock(&acred_dev.lock);
    d = acred_find_user_code(code);
    if (d != NULL) {
        acred_dev_age(d, acred_mono());
        log_str(c, "user_code", d->user_code);
        log_str(c, "state", acred_dev_state_name[d->state]);
        /* approve and deny act before the code is used or expired; expire acts until it is used */
        ok = d->state == to || d->state == DEV_PENDING ||
             (d->state == DEV_APPROVED && to != DEV_APPROVED) ||
             (d->state == DEV_DENIED && to == DEV_EXPIRED);
        if (ok) {
            d->state = to;
            if (user != NULL)
                snprintf(d->user, sizeof d->user, "%s", user);
        }
    }
    pthread_mutex_unlock(&acred_dev.lock);
    if (d == NULL)
        return respond_error(c, MHD_HTTP_NOT_FOUND, "not_found", "Unknown user_code",
                             "unknown_user_code");
    if (!ok)
        return respond_error(c, MHD_HTTP_CONFLICT, "conflict",
                             "The authorization is no longer pending", "not_pending");
    log_str(c, "outcome", action);
    return respond(c, MHD_HTTP_OK, "{\"ok\":true}");
}

static enum MHD_Result route(struct ctx *c, const char *url, const char *method)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (get && is_issuer_path(url, "/.well-known/openid-configuration"))
        return serve_discovery(c);
    if (get && is_issuer_path(url, "/jwks"))
        return serve_jwks(c);
    if (get && is_issuer_path(url, "/userinfo"))
        return serve_userinfo(c);
    if (get && strncmp(url, "/v2/", 4) == 0) {
        const char *inst = url + 4, *slash = strchr(inst, '/');

        if (slash != NULL && slash != inst && strcmp(slash, OBTAIN_SUFFIX) == 0)
            return serve_obtain(c, inst, (size_t)(slash - inst));
    }
    if (strcmp(method, "POST") == 0 && is_issuer_path(url, "/device/code"))
        return acred_serve_device_code(c);
    if (strcmp(method, "POST") == 0 && is_issuer_path(url, "/token"))
        return acred_serve_token(c);
    if ((get || strcmp(method, "POST") == 0) && strncmp(url, "/test/device/", 13) == 0)
        return acred_serve_device_test(c, url + 13);
    return respond_error(c, MHD_HTTP_NOT_FOUND, "not_found", "No such resource", NULL);
}

/* a request's context and the start of its log line */
static void ctx_init(struct ctx *c, struct MHD_Connection *conn, const char *url,
                     const char *method)
{
    struct query_walk w;
    struct timespec now;

    memset(c, 0, sizeof *c);
    c->conn = conn;
    random_request_id(c->request_id);
    c->token = bearer_token(conn, &c->token_len);
    clock_gettime(CLOCK_REALTIME, &now);

    c->log = json_object_new_object();
    log_set(c, "time", json_object_new_double((double)now.tv_sec + now.tv_nsec / 1e9));
    log_str(c, "request_id", c->request_id);
    log_set(c, "method", json_safe_string(method));
    if (c->token != NULL && c->token_len >= 4 && strstr(url, c->token) != NULL)
        log_str(c, "path", "(redacted: holds the token)");
    else
        log_set(c, "path", json_safe_string(url));
    w.obj = json_object_new_object();
    w.c = c;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_add, &w);
    log_set(c, "query", w.obj);
    log_set(c, "status", NULL); /* placeholders, to keep the order of the fields */
    log_str(c, "auth", c->token == NULL ? "none" : looks_like_jwt(c->token) ? "jwt" : "opaque");
    log_connection(c);
    if (c->token != NULL) {
        char hex[65];

        sha256_hex(c->token, c->token_len, hex);
        log_str(c, "token_sha256", hex);
    }
}

static void ctx_free(struct ctx *c)
{
    json_object_put(c->log);
    if (c->token != NULL)
        OPENSSL_cleanse(c->token, c->token_len);
    free(c->token);
}

static enum MHD_Result dispatch(struct MHD_Connection *conn, const char *url, const char *method,
                                struct acred_form *form)
{
    struct ctx c;
    enum MHD_Result ret;

    ctx_init(&c, conn, url, method);
    c.form = form;
    ret = route(&c, url, method);
    ctx_free(&c);
    return ret;
}

/* a body announced bigger than MAX_BODY: 413 at once (MHD then closes the connection) */
static int body_too_big(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    unsigned long long v;

    if (cl == NULL)
        return 0;
    errno = 0;
    v = strtoull(cl, &end, 10);
    return errno != 0 || end == cl || v > MAX_BODY;
}

static enum MHD_Result refuse_body(struct MHD_Connection *conn, const char *url,
                                   const char *method)
{
    struct ctx c;
    enum MHD_Result ret;

    ctx_init(&c, conn, url, method);
    ret = respond_error(&c, 413 /* Content Too Large */, "request_too_large",
                        "The request body is too large", NULL);
    ctx_free(&c);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    struct req *r = *req_cls;

    (void)cls;
    (void)version;
    (void)upload_data;
    if (r == NULL) { /* headers are in; the body (if any) comes next */
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        *req_cls = r;
        if (body_too_big(conn)) {
            r->answered = 1;
            return refuse_body(conn, url, method);
        }
        r->form = acred_form_start(conn, url, method);
        return MHD_YES;
    }
    if (r->answered) { /* MHD should not read that body; if it does, drop it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* discard the body; a chunked one over MAX_BODY: hang up */
        r->body += *upload_data_size;
        if (r->form != NULL && r->body <= MAX_BODY) /* the device flow reads its form */
            acred_form_feed(r->form, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r->body > MAX_BODY ? MHD_NO : MHD_YES;
    }
    if (r->form != NULL)
        acred_form_finish(r->form);
    return dispatch(conn, url, method, r->form);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    if (*req_cls != NULL)
        acred_form_free(((struct req *)*req_cls)->form);
    free(*req_cls);
    *req_cls = NULL;
}

/* ==== start-up ============================================================================= */

static EVP_PKEY *load_private_key(const char *path, const char *what)
{
    size_t n;
    char *pem = read_file(path, &n);
    BIO *bio;
    EVP_PKEY *k;

    if (pem == NULL)
        die("%s: cannot read %s: %s", what, path, strerror(errno));
    bio = BIO_new_mem_buf(pem, (int)n);
    k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(pem, n);
    free(pem);
    if (k == NULL)
        die("%s: %s is not a PEM private key", what, path);
    return k;
}

static char *bn_param_b64(EVP_PKEY *k, const char *name, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char *buf;
    int n;
    char *s;

    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
        die("cannot get %s of a key", name);
    n = pad > 0 ? pad : BN_num_bytes(bn);
    buf = xmalloc((size_t)n);
    if (BN_bn2binpad(bn, buf, n) != n)
        die("%s does not fit in %d bytes", name, n);
    s = b64url(buf, (size_t)n);
    free(buf);
    BN_free(bn);
    return s;
}

static json_object *jwk_rsa(EVP_PKEY *k)
{
    json_object *j = json_object_new_object();
    char *n = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
    char *e = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);

    json_object_object_add(j, "kty", json_object_new_string("RSA"));
    json_object_object_add(j, "kid", json_object_new_string("rsa1"));
    json_object_object_add(j, "use", json_object_new_string("sig"));
    json_object_object_add(j, "alg", json_object_new_string("RS256"));
    json_object_object_add(j, "n", json_object_new_string(n));
    json_object_object_add(j, "e", json_object_new_string(e));
    free(n);
    free(e);
    return j;
}

static json_object *jwk_ec(EVP_PKEY *k)
{
    json_object *j = json_object_new_object();
    char *x = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    char *y = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);

    json_object_object_add(j, "kty", json_object_new_string("EC"));
    json_object_object_add(j, "kid", json_object_new_string("ec1"));
    json_object_object_add(j, "use", json_object_new_string("sig"));
    json_object_object_add(j, "alg", json_object_new_string("ES256"));
    json_object_object_add(j, "crv", json_object_new_string("P-256"));
    json_object_object_add(j, "x", json_object_new_string(x));
    json_object_object_add(j, "y", json_object_new_string(y));
    free(x);
    free(y);
    return j;
}

static void load_keys(void)
{
    char group[64] = "";
    size_t glen = 0;
    json_object *jwks, *keys;

    g.rsa = load_private_key(g.cfg.rsa_key, "--rsa-key");
    if (!EVP_PKEY_is_a(g.rsa, "RSA"))
        die("--rsa-key: %s is not an RSA key", g.cfg.rsa_key);
    g.ec = load_private_key(g.cfg.ec_key, "--ec-key");
    if (!EVP_PKEY_is_a(g.ec, "EC") ||
        EVP_PKEY_get_utf8_string_param(g.ec, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &glen) != 1 ||
        strcmp(group, "prime256v1") != 0)
        die("--ec-key: %s is not an EC P-256 key", g.cfg.ec_key);

    jwks = json_object_new_object();
    keys = json_object_new_array();
    json_object_array_add(keys, jwk_rsa(g.rsa));
    json_object_array_add(keys, jwk_ec(g.ec));
    json_object_object_add(jwks, "keys", keys);
    g.jwks = xstrdup(json_object_to_json_string_ext(jwks, JSON_FLAGS));
    json_object_put(jwks);
}

static json_object *string_array(const char *const *v)
{
    json_object *a = json_object_new_array();

    for (; *v != NULL; v++)
        json_object_array_add(a, json_object_new_string(*v));
    return a;
}

static void add_endpoint(json_object *d, const char *key, const char *suffix)
{
    char *u = xasprintf("%s%s", g.issuer, suffix);

    json_object_object_add(d, key, json_object_new_string(u));
    free(u);
}

static void make_discovery(unsigned port)
{
    static const char *const response_types[] = { "code", "token", "id_token", "code id_token",
                                                  "code token", "id_token token",
                                                  "code id_token token", NULL };
    static const char *const grant_types[] = { "authorization_code", "implicit", "refresh_token",
                                               "client_credentials", "password",
                                               "urn:ietf:params:oauth:grant-type:device_code",
                                               "urn:ietf:params:oauth:grant-type:token-exchange",
                                               NULL };
    static const char *const subject_types[] = { "public", NULL };
    static const char *const algs[] = { "RS256", "ES256", NULL };
    static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post",
                                                "private_key_jwt", "none", NULL };
    static const char *const claims[] = { "iss", "sub", "aud", "exp", "iat", "nbf", "jti",
                                          "name", "preferred_username", "email", "phone_number",
                                          NULL };
    static const char *const pkce[] = { "S256", NULL };
    const char *scopes[] = { "openid", "profile", "email", "phone", "offline_access",
                             g.cfg.scope, NULL };
    json_object *d = json_object_new_object();

    g.issuer = xasprintf("https://127.0.0.1:%u%s", port, g.issuer_path);
    json_object_object_add(d, "issuer", json_object_new_string(g.issuer));
    add_endpoint(d, "authorization_endpoint", "/authorize");
    add_endpoint(d, "token_endpoint", "/token");
    add_endpoint(d, "device_authorization_endpoint", "/device/code");
    add_endpoint(d, "userinfo_endpoint", "/userinfo");
    add_endpoint(d, "jwks_uri", "/jwks");
    add_endpoint(d, "revocation_endpoint", "/revoke");
    add_endpoint(d, "introspection_endpoint", "/introspect");
    add_endpoint(d, "end_session_endpoint", "/logout");
    json_object_object_add(d, "response_types_supported", string_array(response_types));
    json_object_object_add(d, "grant_types_supported", string_array(grant_types));
    json_object_object_add(d, "subject_types_supported", string_array(subject_types));
    json_object_object_add(d, "id_token_signing_alg_values_supported", string_array(algs));
    json_object_object_add(d, "token_endpoint_auth_methods_supported", string_array(auth_methods));
    json_object_object_add(d, "scopes_supported", string_array(scopes));
    json_object_object_add(d, "claims_supported", string_array(claims));
    json_object_object_add(d, "code_challenge_methods_supported", string_array(pkce));
    g.discovery = xstrdup(json_object_to_json_string_ext(d, JSON_FLAGS));
    json_object_put(d);
}

/* write "TEXT\n" to path via a temporary file and rename */
static void write_atomic(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void write_atomic(const char *path, const char *fmt, ...)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "we");
    va_list ap;
    int bad;

    if (f == NULL)
        die("cannot create %s: %s", tmp, strerror(errno));
    va_start(ap, fmt);
    bad = vfprintf(f, fmt, ap) < 0;
    va_end(ap);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        int e = errno;

        unlink(tmp);
        die("cannot write %s: %s", path, strerror(e));
    }
    free(tmp);
}

static void usage(FILE *f)
{
    fputs("usage: mock_idp --cert PEM --key PEM --rsa-key PEM --ec-key PEM --log FILE\n"
          "                [--port N] [--port-file FILE] [--pid-file FILE] [--opaque FILE]\n"
          "                [--issuer-path PATH] [--instance ID] [--scope S] [--delay-ms N]\n"
          "                [--issued FILE] [--date-offset SECONDS]\n"
          "                [--client-id ID] [--device-expires SECONDS] [--device-interval SECONDS]\n",
          f);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("mock_idp: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    exit(EXIT_USAGE);
}

static long number_arg(const char *opt, const char *s, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        die_usage("%s: want an integer %ld..%ld, not '%s'", opt, min, max, s);
    return v;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    enum { O_CERT = 256, O_KEY, O_RSA, O_EC, O_PORT, O_PORTF, O_PIDF, O_LOG, O_ISSUED, O_OPAQUE, O_IPATH,
           O_INST, O_SCOPE, O_DELAY, O_DATE, O_HELP, O_CLIENT, O_DEV_EXPIRES, O_DEV_INTERVAL };
    static const struct option lo[] = {
        { "cert", required_argument, NULL, O_CERT },
        { "key", required_argument, NULL, O_KEY },
        { "rsa-key", required_argument, NULL, O_RSA },
        { "ec-key", required_argument, NULL, O_EC },
        { "port", required_argument, NULL, O_PORT },
        { "port-file", required_argument, NULL, O_PORTF },
        { "pid-file", required_argument, NULL, O_PIDF },
        { "log", required_argument, NULL, O_LOG },
        { "issued", required_argument, NULL, O_ISSUED },
        { "opaque", required_argument, NULL, O_OPAQUE },
        { "issuer-path", required_argument, NULL, O_IPATH },
        { "instance", required_argument, NULL, O_INST },
        { "scope", required_argument, NULL, O_SCOPE },
        { "delay-ms", required_argument, NULL, O_DELAY },
        { "date-offset", required_argument, NULL, O_DATE },
        { "client-id", required_argument, NULL, O_CLIENT },
        { "device-expires", required_argument, NULL, O_DEV_EXPIRES },
        { "device-interval", required_argument, NULL, O_DEV_INTERVAL },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(cfg, 0, sizeof *cfg);
    cfg->issuer_path = DEFAULT_ISSUER_PATH;
    cfg->instance = DEFAULT_INSTANCE;
    cfg->scope = DEFAULT_SCOPE;
    cfg->client_id = "app_test";
    cfg->device_expires = 600;
    cfg->device_interval = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
        switch (c) {
        case O_CERT: cfg->cert = optarg; break;
        case O_KEY: cfg->key = optarg; break;
        case O_RSA: cfg->rsa_key = optarg; break;
        case O_EC: cfg->ec_key = optarg; break;
        case O_PORT: cfg->port = (unsigned)number_arg("--port", optarg, 0, 65535); break;
        case O_PORTF: cfg->port_file = optarg; break;
        case O_PIDF: cfg->pid_file = optarg; break;
        case O_LOG: cfg->log = optarg; break;
        case O_ISSUED: cfg->issued = optarg; break;
        case O_OPAQUE: cfg->opaque = optarg; break;
        case O_IPATH: cfg->issuer_path = optarg; break;
        case O_INST: cfg->instance = optarg; break;
        case O_SCOPE: cfg->scope = optarg; break;
        case O_DELAY: cfg->delay_ms = number_arg("--delay-ms", optarg, 0, 3600000); break;
        case O_DATE: cfg->date_offset = number_arg("--date-offset", optarg, -86400, 86400); break;
        case O_CLIENT: cfg->client_id = optarg; break;
        case O_DEV_EXPIRES:
            cfg->device_expires = number_arg("--device-expires", optarg, 1, 86400);
            break;
        case O_DEV_INTERVAL:
            cfg->device_interval = number_arg("--device-interval", optarg, 0, 3600);
            break;
        case O_HELP: usage(stdout); exit(0);
        case ':': die_usage("%s needs an argument", argv[optind - 1]);
        default: die_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (!cfg->cert || !cfg->key || !cfg->rsa_key || !cfg->ec_key || !cfg->log)
        die_usage("--cert, --key, --rsa-key, --ec-key and --log are required");
    if (cfg->issuer_path[0] != '\0' && cfg->issuer_path[0] != '/')
        die_usage("--issuer-path must be empty or start with '/'");
    if (cfg->instance[0] == '\0' || strchr(cfg->instance, '/') != NULL)
        die_usage("--instance must be a non-empty path segment");
    if (cfg->scope[0] == '\0' || strchr(cfg->scope, ' ') != NULL)
        die_usage("--scope must be one non-empty scope");
    if (cfg->client_id[0] == '\0')
        die_usage("--client-id must not be empty");
}

static struct MHD_Daemon *start_daemon(void)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g.cfg.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
                            (uint16_t)g.cfg.port, NULL, NULL, on_request, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_HTTPS_MEM_CERT, g.cert_pem,
                            MHD_OPTION_HTTPS_MEM_KEY, g.key_pem,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512,
                            MHD_OPTION_END);
}

static void cleanup(void)
{
    EVP_PKEY_free(g.rsa);
    EVP_PKEY_free(g.ec);
    if (g.key_pem != NULL)
        OPENSSL_cleanse(g.key_pem, strlen(g.key_pem));
    free(g.cert_pem);
    free(g.key_pem);
    free(g.issuer_path);
    free(g.issuer);
    free(g.discovery);
    free(g.jwks);
    if (g.log != NULL)
        fclose(g.log);
    if (g.issued != NULL)
        fclose(g.issued);
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    unsigned port;
    int sig = 0;
    size_t n;

    parse_args(argc, argv, &g.cfg);
    g.issuer_path = xstrdup(g.cfg.issuer_path);
    n = strlen(g.issuer_path);
    while (n > 0 && g.issuer_path[n - 1] == '/')
        g.issuer_path[--n] = '\0';

    g.cert_pem = read_file(g.cfg.cert, NULL);
    if (g.cert_pem == NULL)
        die("--cert: cannot read %s: %s", g.cfg.cert, strerror(errno));
    g.key_pem = read_file(g.cfg.key, NULL);
    if (g.key_pem == NULL)
        die("--key: cannot read %s: %s", g.cfg.key, strerror(errno));
    load_keys();
    g.log = fopen(g.cfg.log, "ae");
    if (g.log == NULL)
        die("--log: cannot open %s: %s", g.cfg.log, strerror(errno));
    if (g.cfg.issued != NULL && (g.issued = fopen(g.cfg.issued, "ae")) == NULL)
        die("--issued: cannot open %s: %s", g.cfg.issued, strerror(errno));
    if (g.cfg.port_file != NULL)
        unlink(g.cfg.port_file);

    /* the MHD threads inherit this mask: only the main thread takes SIGTERM / SIGINT */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    d = start_daemon();
    if (d == NULL)
        die("cannot start the HTTPS server on 127.0.0.1:%u", g.cfg.port);
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info != NULL && info->port != 0 ? info->port : g.cfg.port;
    if (port == 0) {
        MHD_stop_daemon(d);
        die("cannot tell the port");
    }
    make_discovery(port);

    if (g.cfg.pid_file != NULL)
        write_atomic(g.cfg.pid_file, "%ld\n", (long)getpid());
    if (g.cfg.port_file != NULL)
        write_atomic(g.cfg.port_file, "%u\n", port);

    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGTERM || sig == SIGINT)
            break; /* SIGHUP: ignored */
    }

    MHD_stop_daemon(d);
    if (g.cfg.port_file != NULL)
        unlink(g.cfg.port_file);
    if (g.cfg.pid_file != NULL)
        unlink(g.cfg.pid_file);
    cleanup();
    return 0;
}
