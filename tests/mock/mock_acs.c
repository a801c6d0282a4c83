/*
 * mock_acs: a fake Alibaba Cloud API gateway for EDAS and PAI-DSW, for the pam_acred tests
 * (HTTPS, 127.0.0.1 only). It checks the V3 signature ACS3-HMAC-SHA256 the way the gateway does,
 * with an implementation of its own (it links nothing of the helper's):
 *
 *   mock_acs --cert PEM --key PEM --log FILE --sts FILE
 *            [--issued FILE] [--port N] [--port-file FILE] [--pid-file FILE]
 *            [--delay-ms N] [--clock-skew SECONDS]
 *
 *   GET /pop/v5/secure_token?NamespaceId=NS            x-acs-action GetSecureToken,
 *                                                      x-acs-version 2017-08-01 (EDAS)
 *   GET /api/v2/tokens?InstanceId=ID&ExpireTime=N&Type=Access|View
 *                                                      x-acs-action GetToken,
 *                                                      x-acs-version 2022-01-01 (PAI-DSW)
 *
 * --sts FILE is mock_idp's --issued file (JSON lines with access_key_id, access_key_secret and
 * security_token), read again for every request: those are the credentials the gateway knows.
 * Every request is checked, in this order, and refused in the gateway's error shape
 * {"RequestId","HostId","Code","Message","Recommend"}:
 *
 *   Authorization not "ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=.."
 *                                          400 IncompleteSignature
 *   an AccessKeyId it does not know       404 InvalidAccessKeyId.NotFound
 *   no or an unknown x-acs-security-token 400 InvalidSecurityToken.Malformed
 *   another key's security token          400 InvalidSecurityToken.MismatchWithAccessKey
 *   x-acs-date not YYYY-MM-DDTHH:MM:SSZ   400 InvalidTimeStamp.Format
 *   x-acs-date more than 15 minutes off   400 InvalidTimeStamp.Expired
 *   no x-acs-signature-nonce              400 MissingSignatureNonce
 *   a signature that is not the one it computes (a header of host, content-type, x-acs-*
 *   present but not signed, or given twice, counts as a mismatch)
 *                                          400 SignatureDoesNotMatch
 *   a nonce seen before (with a valid signature)
 *                                          400 SignatureNonceUsed
 *   another path, action or version       404 InvalidApi.NotFound
 *
 * Test switches, in NamespaceId or InstanceId: "forbidden" 403 Forbidden.RAM; "broken" 500
 * InternalError; "soft" HTTP 200 with a failure in the body (EDAS "Code": 404, DSW "Success":
 * false); "badsig" the gateway holds another secret for the key (so: SignatureDoesNotMatch);
 * "slow" the answer waits one second; "mse" (EDAS) the answer has the MSE fields; "ctrl" a value
 * of the answer holds a control character.
 *
 * The log gets one JSON object per request and line: time, request_id, method, path, query,
 * action, version, access_key_id, signed_headers, nonce, signature ("valid", "invalid" or null
 * when not checked), code, status. Never a secret or a security token. --issued gets one JSON
 * line per token handed out (secrets included: kept apart from the log).
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
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define EXIT_USAGE 2
#define MAX_BODY (64 * 1024)
#define MAX_FILE (4 * 1024 * 1024)
#define CONN_MEMORY (256 * 1024)
#define MAX_NONCES 8192
#define SKEW_MAX 900 /* seconds x-acs-date may be off */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define ALGORITHM "ACS3-HMAC-SHA256"

struct config {
    const char *cert, *key, *log, *sts, *issued, *port_file, *pid_file;
    unsigned port;
    long delay_ms, clock_skew;
};

static struct {
    struct config cfg;
    char *cert_pem, *key_pem;
    FILE *log, *issued;
    pthread_mutex_t lock; /* the log, the issued file, the nonces */
    char (*nonces)[72];
    size_t n_nonces, next_nonce;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* per request, from the headers to the completed body */
struct req {
    EVP_MD_CTX *body_sha; /* SHA-256 of the body as it arrives */
    size_t body;
};

/* what one answer is built from */
struct ctx {
    struct MHD_Connection *conn;
    const char *method, *url;
    json_object *log;
    char request_id[37];
    char body_sha[65];
    long delay_ms;
};

/* one STS triple the gateway knows */
struct sts {
    char *id, *secret, *token;
};

/* ==== small utilities ===================================================================== */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("mock_acs: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
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
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("out of memory");
    return s;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rbe");
    char *p = NULL;
    size_t n = 0, cap = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            if (cap >= MAX_FILE)
                break;
            cap = cap ? cap * 2 : 8192;
            char *q = realloc(p, cap + 1);
            if (q == NULL)
                die("out of memory");
            p = q;
        }
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    if (p == NULL)
        p = xstrdup("");
    p[n] = '\0';
    return p;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        die("SHA-256 failed");
    hex(md, 32, out);
}

static void hmac_sha256_hex(const char *key, const char *data, char out[65])
{
    unsigned char mac[32];
    size_t len = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, strlen(key),
                  (const unsigned char *)data, strlen(data), mac, sizeof mac, &len) == NULL ||
        len != 32)
        die("HMAC-SHA256 failed");
    hex(mac, 32, out);
}

static void random_alnum(char *out, size_t n)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t k = 0;
    while (k < n) {
        unsigned char b[64];
        if (RAND_bytes(b, sizeof b) != 1)
            die("RAND_bytes failed");
        for (size_t i = 0; i < sizeof b && k < n; i++)
            if (b[i] < 248)
                out[k++] = set[b[i] % 62];
    }
    out[n] = '\0';
}

static void random_uuid(char out[37], int upper)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        die("RAND_bytes failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             upper ? "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X"
                   : "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* a copy fit for the log: printable ASCII kept, any other byte as '?' */
static json_object *safe_string(const char *s)
{
    char *t = xstrdup(s);
    for (char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    json_object *j = json_object_new_string(t);
    free(t);
    return j;
}

static const char *header(struct ctx *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

static const char *arg(struct ctx *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ==== the log and the answers =============================================================== */

static void write_line(FILE *f, json_object *o)
{
    pthread_mutex_lock(&g.lock);
    fputs(json_object_to_json_string_ext(o, JSON_FLAGS), f);
    fputc('\n', f);
    fflush(f);
    pthread_mutex_unlock(&g.lock);
}

static void log_set(struct ctx *c, const char *key, json_object *v)
{
    json_object_object_add(c->log, key, v);
}

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static enum MHD_Result respond(struct ctx *c, unsigned status, json_object *body)
{
    const char *text = json_object_to_json_string_ext(body, JSON_FLAGS);
    pause_ms(c->delay_ms);
    log_set(c, "status", json_object_new_int((int)status));
    write_line(g.log, c->log);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    json_object_put(body);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json;charset=utf-8");
    MHD_add_response_header(r, "x-acs-request-id", c->request_id);
    enum MHD_Result ret = MHD_queue_response(c->conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* the gateway's error: {"RequestId","HostId","Code","Message","Recommend"} */
static enum MHD_Result gateway_error(struct ctx *c, unsigned status, const char *code,
                                     const char *message)
{
    json_object *b = json_object_new_object();
    const char *host = header(c, "Host");
    char *recommend = xasprintf("https://api.aliyun.com/troubleshoot?q=%s&product=mock"
                                "&requestId=%s", code, c->request_id);
    json_object_object_add(b, "RequestId", json_object_new_string(c->request_id));
    json_object_object_add(b, "HostId", safe_string(host ? host : ""));
    json_object_object_add(b, "Code", json_object_new_string(code));
    json_object_object_add(b, "Message", json_object_new_string(message));
    json_object_object_add(b, "Recommend", json_object_new_string(recommend));
    free(recommend);
    log_set(c, "code", json_object_new_string(code));
    return respond(c, status, b);
}

/* ==== the credentials the gateway knows ===================================================== */

static void sts_free(struct sts *s)
{
    if (s->secret)
        OPENSSL_cleanse(s->secret, strlen(s->secret));
    if (s->token)
        OPENSSL_cleanse(s->token, strlen(s->token));
    free(s->id);
    free(s->secret);
    free(s->token);
    memset(s, 0, sizeof *s);
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* the triple with this AccessKeyId (*by_id), and whether any triple has this token */
static void sts_lookup(const char *id, const char *token, struct sts *by_id, int *token_known)
{
    char *text = read_file(g.cfg.sts), *save = NULL;
    memset(by_id, 0, sizeof *by_id);
    *token_known = 0;
    if (text == NULL)
        return;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line);
        const char *i = jstr(o, "access_key_id"), *s = jstr(o, "access_key_secret"),
                   *t = jstr(o, "security_token");
        if (i && s && t) {
            if (token && strcmp(t, token) == 0)
                *token_known = 1;
            if (strcmp(i, id) == 0) {
                sts_free(by_id);
                by_id->id = xstrdup(i);
                by_id->secret = xstrdup(s);
                by_id->token = xstrdup(t);
            }
        }
        json_object_put(o);
    }
    OPENSSL_cleanse(text, strlen(text));
    free(text);
}

/* ==== the signature, as the gateway computes it ============================================= */

/* RFC 3986: A-Z a-z 0-9 - _ . ~ stay, everything else %XX (upper case); '/' too unless path */
static char *encode(const char *s, int path)
{
    static const char digits[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(s) + 1), *o = out;
    if (out == NULL)
        die("out of memory");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p) != NULL || (path && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = digits[*p >> 4];
            *o++ = digits[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

struct kv {
    char *k, *v;
};

struct kvs {
    struct kv *items;
    size_t n, cap;
};

static void kvs_add(struct kvs *l, char *k, char *v)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        if ((l->items = realloc(l->items, l->cap * sizeof *l->items)) == NULL)
            die("out of memory");
    }
    l->items[l->n++] = (struct kv){k, v};
}

static void kvs_free(struct kvs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].k);
        free(l->items[i].v);
    }
    free(l->items);
}

static int kv_cmp(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    if (key != NULL)
        kvs_add(cls, encode(key, 0), encode(value ? value : "", 0));
    return MHD_YES;
}

static enum MHD_Result collect_raw(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    if (key != NULL)
        kvs_add(cls, xstrdup(key), xstrdup(value ? value : ""));
    return MHD_YES;
}

static enum MHD_Result collect_headers(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    if (key == NULL)
        return MHD_YES;
    char *k = xstrdup(key), *v;
    for (char *p = k; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *s = value ? value : "";
    size_t n = strlen(s);
    while (*s == ' ' || *s == '\t') {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if ((v = strndup(s, n)) == NULL)
        die("out of memory");
    kvs_add(cls, k, v);
    return MHD_YES;
}

static int is_signable(const char *lower)
{
    return strcmp(lower, "host") == 0 || strcmp(lower, "content-type") == 0 ||
           strncmp(lower, "x-acs-", 6) == 0;
}

/* does the ;-separated list hold name? */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ";");
        if (k == n && strncmp(p, name, n) == 0)
            return 1;
        p += k + (p[k] == ';');
    }
    return 0;
}

/*
 * The canonical request of this request as the gateway sees it, for the SignedHeaders the
 * client named; NULL when they are not what the gateway wants (an x-acs-* header or host left
 * out, a header named but absent or given twice): the signature cannot match then.
 */
static char *canonical_request(struct ctx *c, const char *signed_headers)
{
    struct kvs q = {0}, h = {0};
    char *uri = encode(c->url[0] ? c->url : "/", 1), *out = NULL;
    MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    MHD_get_connection_values(c->conn, MHD_HEADER_KIND, collect_headers, &h);
    qsort(q.items, q.n, sizeof *q.items, kv_cmp);
    qsort(h.items, h.n, sizeof *h.items, kv_cmp);

    size_t cap = 1024 + strlen(uri);
    for (size_t i = 0; i < q.n; i++)
        cap += strlen(q.items[i].k) + strlen(q.items[i].v) + 2;
    for (size_t i = 0; i < h.n; i++)
        cap += strlen(h.items[i].k) + strlen(h.items[i].v) + 2;
    cap += strlen(signed_headers);
    char *b = malloc(cap), *o = b;
    if (b == NULL)
        die("out of memory");
    o += sprintf(o, "%s\n%s\n", c->method, uri);
    for (size_t i = 0; i < q.n; i++)
        o += sprintf(o, "%s%s=%s", i ? "&" : "", q.items[i].k, q.items[i].v);
    o += sprintf(o, "\n");
    int ok = listed(signed_headers, "host");
    for (size_t i = 0; i < h.n; i++) {
        const char *k = h.items[i].k;
        if (!is_signable(k))
            continue;
        if (!listed(signed_headers, k) || (i > 0 && strcmp(h.items[i - 1].k, k) == 0))
            ok = 0; /* present but not signed, or twice */
    }
    /* every name listed, in the order listed (which must be sorted), with its one value */
    char *prev = NULL;
    for (const char *p = signed_headers; *p && ok;) {
        size_t k = strcspn(p, ";");
        char *name = strndup(p, k);
        const char *v = NULL;
        if (name == NULL)
            die("out of memory");
        for (size_t i = 0; i < h.n; i++)
            if (strcmp(h.items[i].k, name) == 0)
                v = h.items[i].v;
        if (v == NULL || (prev != NULL && strcmp(prev, name) >= 0))
            ok = 0;
        else
            o += sprintf(o, "%s:%s\n", name, v);
        free(prev);
        prev = name;
        p += k + (p[k] == ';');
    }
    free(prev);
    if (ok) {
        sprintf(o, "\n%s\n%s", signed_headers, c->body_sha);
        out = b;
    } else {
        free(b);
    }
    free(uri);
    kvs_free(&q);
    kvs_free(&h);
    return out;
}

/* the Authorization header's parts; 0 or -1 */
static int parse_authorization(const char *h, char **id, char **names, char **sig)
{
    *id = *names = *sig = NULL;
    if (h == NULL || strncmp(h, ALGORITHM " ", sizeof ALGORITHM) != 0)
        return -1;
    for (const char *p = h + sizeof ALGORITHM; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        char **slot = strncmp(p, "Credential=", 11) == 0      ? id
                      : strncmp(p, "SignedHeaders=", 14) == 0 ? names
                      : strncmp(p, "Signature=", 10) == 0     ? sig
                                                              : NULL;
        const char *eq = memchr(p, '=', n);
        if (slot == NULL || *slot != NULL || eq == NULL)
            return -1;
        *slot = strndup(eq + 1, n - (size_t)(eq + 1 - p));
        p += n + (p[n] == ',');
    }
    return *id && *names && *sig && **id && **names && strlen(*sig) == 64 ? 0 : -1;
}

static time_t parse_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (s == NULL || strlen(s) != 20)
        return -1;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end && *end == '\0' ? timegm(&tm) : -1;
}

/* remember nonce; 0 when it is new, -1 when it was seen before */
static int nonce_fresh(const char *id, const char *nonce)
{
    char key[72];
    int seen = 0;
    snprintf(key, sizeof key, "%.32s/%.37s", id, nonce);
    pthread_mutex_lock(&g.lock);
    for (size_t i = 0; i < g.n_nonces && !seen; i++)
        seen = strcmp(g.nonces[i], key) == 0;
    if (!seen) {
        memcpy(g.nonces[g.next_nonce], key, sizeof key);
        g.next_nonce = (g.next_nonce + 1) % MAX_NONCES;
        if (g.n_nonces < MAX_NONCES)
            g.n_nonces++;
    }
    pthread_mutex_unlock(&g.lock);
    return seen ? -1 : 0;
}

/* a test switch in NamespaceId or InstanceId */
static int asks(struct ctx *c, const char *word)
{
    const char *ids[] = {arg(c, "NamespaceId"), arg(c, "InstanceId")};
    for (size_t i = 0; i < 2; i++)
        if (ids[i] && strstr(ids[i], word))
            return 1;
    return 0;
}

/* the gateway's checks; MHD_YES/NO after an error was sent, or -1 to go on */
static int verify(struct ctx *c)
{
    char *id, *names, *sig, *canonical = NULL, hashed[65], want[65];
    struct sts s;
    int token_known, ret;
    const char *token = header(c, "x-acs-security-token");
    const char *date = header(c, "x-acs-date"), *nonce = header(c, "x-acs-signature-nonce");

    if (parse_authorization(header(c, "Authorization"), &id, &names, &sig) != 0) {
        ret = gateway_error(c, 400, "IncompleteSignature",
                            "The request signature does not conform to Aliyun standards.");
        goto out_free;
    }
    log_set(c, "access_key_id", safe_string(id));
    log_set(c, "signed_headers", safe_string(names));
    if (nonce)
        log_set(c, "nonce", safe_string(nonce));
    sts_lookup(id, token, &s, &token_known);
    if (s.id == NULL)
        ret = gateway_error(c, 404, "InvalidAccessKeyId.NotFound",
                            "Specified access key is not found.");
    else if (token == NULL || !token_known)
        ret = gateway_error(c, 400, "InvalidSecurityToken.Malformed",
                            "Specified SecurityToken is malformed.");
    else if (strcmp(token, s.token) != 0)
        ret = gateway_error(c, 400, "InvalidSecurityToken.MismatchWithAccessKey",
                            "Specified SecurityToken mismatch with the AccessKey.");
    else if (parse_date(date) < 0)
        ret = gateway_error(c, 400, "InvalidTimeStamp.Format",
                            "Specified time stamp or date value is not well formatted.");
    else if (labs((long)(parse_date(date) - (time(NULL) + g.cfg.clock_skew))) > SKEW_MAX)
        ret = gateway_error(c, 400, "InvalidTimeStamp.Expired",
                            "Specified time stamp or date value is expired.");
    else if (nonce == NULL || nonce[0] == '\0')
        ret = gateway_error(c, 400, "MissingSignatureNonce",
                            "SignatureNonce is mandatory for this action.");
    else
        ret = -1;
    if (ret != -1)
        goto out;

    char *secret = asks(c, "badsig") ? xasprintf("%s-not-the-same", s.secret) : xstrdup(s.secret);
    canonical = canonical_request(c, names);
    if (canonical) {
        char *sts = xasprintf("%s\n", ALGORITHM);
        sha256_hex(canonical, strlen(canonical), hashed);
        char *to_sign = xasprintf("%s%s", sts, hashed);
        hmac_sha256_hex(secret, to_sign, want);
        free(sts);
        free(to_sign);
    }
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    if (canonical == NULL || CRYPTO_memcmp(want, sig, 64) != 0) {
        log_set(c, "signature", json_object_new_string("invalid"));
        ret = gateway_error(c, 400, "SignatureDoesNotMatch",
                            "Specified signature is not matched with our calculation.");
    } else {
        log_set(c, "signature", json_object_new_string("valid"));
        if (nonce_fresh(id, nonce) != 0)
            ret = gateway_error(c, 400, "SignatureNonceUsed",
                                "Specified signature nonce was used already.");
    }
out:
    if (canonical) {
        OPENSSL_cleanse(canonical, strlen(canonical)); /* holds the security token */
        free(canonical);
    }
    sts_free(&s);
out_free:
    free(id);
    free(names);
    free(sig);
    return ret;
}

/* ==== the APIs ============================================================================== */

static void record_issued(json_object *i)
{
    if (g.issued != NULL)
        write_line(g.issued, i);
    json_object_put(i);
}

static enum MHD_Result serve_edas(struct ctx *c)
{
    const char *ns = arg(c, "NamespaceId");
    char ak[25], sk[41], tenant[37], edas_id[24], region[64];
    if (ns == NULL || ns[0] == '\0')
        return gateway_error(c, 400, "MissingNamespaceId", "NamespaceId is mandatory for this "
                                                           "action.");
    if (asks(c, "forbidden"))
        return gateway_error(c, 403, "Forbidden.RAM", "User not authorized to operate on the "
                                                      "specified resource.");
    if (asks(c, "broken"))
        return gateway_error(c, 500, "InternalError", "The request processing has failed due "
                                                      "to some unknown error.");
    if (asks(c, "soft")) {
        json_object *b = json_object_new_object();
        json_object_object_add(b, "Code", json_object_new_int(404));
        json_object_object_add(b, "Message", json_object_new_string("The namespace does not "
                                                                    "exist"));
        json_object_object_add(b, "RequestId", json_object_new_string(c->request_id));
        log_set(c, "code", json_object_new_string("404"));
        return respond(c, 200, b);
    }
    random_alnum(ak, 24);
    random_alnum(sk, 40);
    random_uuid(tenant, 0);
    snprintf(edas_id, sizeof edas_id, "1172745800%06d", (int)(time(NULL) % 1000000));
    snprintf(region, sizeof region, "%.*s", (int)strcspn(ns, ":"), ns);
    char *host = xasprintf("addr-%s-internal.edas.aliyun.com%s", region,
                           asks(c, "ctrl") ? "\n" : "");

    json_object *t = json_object_new_object(), *b = json_object_new_object();
    json_object *i = json_object_new_object();
    json_object_object_add(t, "SecretKey", json_object_new_string(sk));
    json_object_object_add(t, "AccessKey", json_object_new_string(ak));
    json_object_object_add(t, "BelongRegion", json_object_new_string(region));
    json_object_object_add(t, "Description", json_object_new_string(""));
    const char *name = strchr(ns, ':') ? strchr(ns, ':') + 1 : ns;
    json_object_object_add(t, "RegionName", json_object_new_string(name));
    json_object_object_add(t, "EdasId", json_object_new_string(edas_id));
    json_object_object_add(t, "AddressServerHost", json_object_new_string(host));
    json_object_object_add(t, "UserId", json_object_new_string("edas_mock@example.com"));
    json_object_object_add(t, "Id", json_object_new_int(7279));
    json_object_object_add(t, "TenantId", json_object_new_string(tenant));
    json_object_object_add(t, "RegionId", json_object_new_string(ns));
    json_object_object_add(i, "api", json_object_new_string("edas"));
    json_object_object_add(i, "request_id", json_object_new_string(c->request_id));
    json_object_object_add(i, "namespace_id", json_object_new_string(ns));
    json_object_object_add(i, "access_key", json_object_new_string(ak));
    json_object_object_add(i, "secret_key", json_object_new_string(sk));
    json_object_object_add(i, "tenant_id", json_object_new_string(tenant));
    json_object_object_add(i, "address_server_host", json_object_new_string(host));
    json_object_object_add(i, "region_id", json_object_new_string(ns));
    json_object_object_add(i, "belong_region", json_object_new_string(region));
    if (asks(c, "mse")) {
        static const char *const mse[][3] = {
            {"MseRegistryType", "mse_registry_type", "exclusive_mse"},
            {"MseInstanceId", "mse_instance_id", "mse_prepaid_public_cn-mock01"},
            {"MseInternetAddress", "mse_internet_address",
             "mse-mock01-p.nacos-ans.mse.aliyuncs.com"},
            {"MseIntranetAddress", "mse_intranet_address", "mse-mock01-nacos-ans.mse.aliyuncs.com"},
        };
        for (size_t k = 0; k < 4; k++) {
            json_object_object_add(t, mse[k][0], json_object_new_string(mse[k][2]));
            json_object_object_add(i, mse[k][1], json_object_new_string(mse[k][2]));
        }
    }
    json_object_object_add(b, "Code", json_object_new_int(200));
    json_object_object_add(b, "Message", json_object_new_string("success"));
    json_object_object_add(b, "RequestId", json_object_new_string(c->request_id));
    json_object_object_add(b, "SecureToken", t);
    record_issued(i);
    log_set(c, "edas_access_key", json_object_new_string(ak)); /* an id, not the secret */
    free(host);
    OPENSSL_cleanse(sk, sizeof sk);
    return respond(c, 200, b);
}

static enum MHD_Result serve_dsw(struct ctx *c)
{
    const char *inst = arg(c, "InstanceId"), *exp = arg(c, "ExpireTime"), *type = arg(c, "Type");
    char token[65], *end = NULL;
    long expire = exp ? strtol(exp, &end, 10) : 0;
    if (inst == NULL || inst[0] == '\0' || (exp && (*end != '\0' || expire <= 0)) ||
        (type && strcmp(type, "Access") != 0 && strcmp(type, "View") != 0)) {
        json_object *b = json_object_new_object();
        json_object_object_add(b, "RequestId", json_object_new_string(c->request_id));
        json_object_object_add(b, "Success", json_object_new_boolean(0));
        json_object_object_add(b, "Code", json_object_new_string("ValidationError"));
        json_object_object_add(b, "Message", json_object_new_string("InstanceId, ExpireTime or "
                                                                    "Type is not valid"));
        log_set(c, "code", json_object_new_string("ValidationError"));
        return respond(c, 400, b);
    }
    if (asks(c, "forbidden"))
        return gateway_error(c, 403, "Forbidden.RAM", "User not authorized to operate on the "
                                                      "specified resource.");
    if (asks(c, "broken"))
        return gateway_error(c, 500, "InternalError", "The request processing has failed due "
                                                      "to some unknown error.");
    json_object *b = json_object_new_object();
    json_object_object_add(b, "RequestId", json_object_new_string(c->request_id));
    if (asks(c, "soft")) {
        json_object_object_add(b, "Success", json_object_new_boolean(0));
        json_object_object_add(b, "Code", json_object_new_string("ValidationError"));
        json_object_object_add(b, "Message", json_object_new_string("The instance is not "
                                                                    "running"));
        log_set(c, "code", json_object_new_string("ValidationError"));
        return respond(c, 200, b);
    }
    random_alnum(token, 64);
    if (asks(c, "ctrl"))
        token[10] = '\x1b';
    json_object_object_add(b, "Success", json_object_new_boolean(1));
    json_object_object_add(b, "Code", json_object_new_string(""));
    json_object_object_add(b, "Message", json_object_new_string(""));
    json_object_object_add(b, "Token", json_object_new_string(token));
    json_object *i = json_object_new_object();
    json_object_object_add(i, "api", json_object_new_string("dsw"));
    json_object_object_add(i, "request_id", json_object_new_string(c->request_id));
    json_object_object_add(i, "instance_id", json_object_new_string(inst));
    json_object_object_add(i, "expire_time", json_object_new_int64(expire));
    json_object_object_add(i, "type", json_object_new_string(type ? type : ""));
    json_object_object_add(i, "token", json_object_new_string(token));
    record_issued(i);
    OPENSSL_cleanse(token, sizeof token);
    return respond(c, 200, b);
}

static enum MHD_Result route(struct ctx *c)
{
    const char *action = header(c, "x-acs-action"), *version = header(c, "x-acs-version");
    int get = strcmp(c->method, "GET") == 0;
    int ret = verify(c);
    if (ret != -1)
        return (enum MHD_Result)ret;
    if (get && strcmp(c->url, "/pop/v5/secure_token") == 0 && action && version &&
        strcmp(action, "GetSecureToken") == 0 && strcmp(version, "2017-08-01") == 0)
        return serve_edas(c);
    if (get && strcmp(c->url, "/api/v2/tokens") == 0 && action && version &&
        strcmp(action, "GetToken") == 0 && strcmp(version, "2022-01-01") == 0)
        return serve_dsw(c);
    return gateway_error(c, 404, "InvalidApi.NotFound",
                         "Specified api is not found, please check your url and method.");
}

/* ==== requests =============================================================================== */

static enum MHD_Result dispatch(struct MHD_Connection *conn, const char *url, const char *method,
                                struct req *r)
{
    struct ctx c;
    struct kvs q = {0};
    unsigned char md[32];
    unsigned int mdlen = 0;
    struct timespec now;

    memset(&c, 0, sizeof c);
    c.conn = conn;
    c.url = url;
    c.method = method;
    c.delay_ms = g.cfg.delay_ms;
    random_uuid(c.request_id, 1);
    if (EVP_DigestFinal_ex(r->body_sha, md, &mdlen) != 1)
        die("SHA-256 failed");
    hex(md, 32, c.body_sha);
    clock_gettime(CLOCK_REALTIME, &now);
    c.log = json_object_new_object();
    log_set(&c, "time", json_object_new_double((double)now.tv_sec + now.tv_nsec / 1e9));
    log_set(&c, "request_id", json_object_new_string(c.request_id));
    log_set(&c, "method", safe_string(method));
    log_set(&c, "path", safe_string(url));
    json_object *query = json_object_new_object();
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_raw, &q);
    for (size_t i = 0; i < q.n; i++) { /* as sent, decoded; the first of duplicates */
        char *k = q.items[i].k;
        for (char *p = k; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        if (!json_object_object_get_ex(query, k, NULL))
            json_object_object_add(query, k, safe_string(q.items[i].v));
    }
    kvs_free(&q);
    log_set(&c, "query", query);
    const char *action = header(&c, "x-acs-action"), *version = header(&c, "x-acs-version");
    log_set(&c, "action", action ? safe_string(action) : NULL);
    log_set(&c, "version", version ? safe_string(version) : NULL);
    log_set(&c, "access_key_id", NULL);
    log_set(&c, "signed_headers", NULL);
    log_set(&c, "nonce", NULL);
    log_set(&c, "signature", NULL);
    log_set(&c, "code", NULL);
    log_set(&c, "status", NULL);
    if (asks(&c, "slow"))
        c.delay_ms += 1000;
    enum MHD_Result ret = route(&c);
    json_object_put(c.log);
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
    if (r == NULL) {
        if ((r = calloc(1, sizeof *r)) == NULL || (r->body_sha = EVP_MD_CTX_new()) == NULL ||
            EVP_DigestInit_ex(r->body_sha, EVP_sha256(), NULL) != 1)
            return MHD_NO;
        *req_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        r->body += *upload_data_size;
        if (r->body > MAX_BODY ||
            EVP_DigestUpdate(r->body_sha, upload_data, *upload_data_size) != 1)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(conn, url, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *req_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (r != NULL) {
        EVP_MD_CTX_free(r->body_sha);
        free(r);
    }
    *req_cls = NULL;
}

/* ==== start-up ============================================================================== */

static void write_atomic(const char *path, const char *text)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "we");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        die("cannot write %s: %s", path, strerror(errno));
    free(tmp);
}

static void usage(FILE *f)
{
    fputs("usage: mock_acs --cert PEM --key PEM --log FILE --sts FILE [--issued FILE]\n"
          "                [--port N] [--port-file FILE] [--pid-file FILE] [--delay-ms N]\n"
          "                [--clock-skew SECONDS]\n",
          f);
}

static long number_arg(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "mock_acs: %s: want an integer %ld..%ld, not '%s'\n", opt, min, max, s);
        usage(stderr);
        exit(EXIT_USAGE);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    enum { O_CERT = 256, O_KEY, O_LOG, O_STS, O_ISSUED, O_PORT, O_PORTF, O_PIDF, O_DELAY,
           O_SKEW, O_HELP };
    static const struct option lo[] = {
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"log", required_argument, NULL, O_LOG},
        {"sts", required_argument, NULL, O_STS},
        {"issued", required_argument, NULL, O_ISSUED},
        {"port", required_argument, NULL, O_PORT},
        {"port-file", required_argument, NULL, O_PORTF},
        {"pid-file", required_argument, NULL, O_PIDF},
        {"delay-ms", required_argument, NULL, O_DELAY},
        {"clock-skew", required_argument, NULL, O_SKEW},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(cfg, 0, sizeof *cfg);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
        switch (c) {
        case O_CERT: cfg->cert = optarg; break;
        case O_KEY: cfg->key = optarg; break;
        case O_LOG: cfg->log = optarg; break;
        case O_STS: cfg->sts = optarg; break;
        case O_ISSUED: cfg->issued = optarg; break;
        case O_PORT: cfg->port = (unsigned)number_arg("--port", optarg, 0, 65535); break;
        case O_PORTF: cfg->port_file = optarg; break;
        case O_PIDF: cfg->pid_file = optarg; break;
        case O_DELAY: cfg->delay_ms = number_arg("--delay-ms", optarg, 0, 3600000); break;
        case O_SKEW: cfg->clock_skew = number_arg("--clock-skew", optarg, -86400, 86400); break;
        case O_HELP: usage(stdout); exit(0);
        default:
            fprintf(stderr, "mock_acs: bad option '%s'\n", argv[optind - 1]);
            usage(stderr);
            exit(EXIT_USAGE);
        }
    }
    if (optind != argc || !cfg->cert || !cfg->key || !cfg->log || !cfg->sts) {
        fputs("mock_acs: --cert, --key, --log and --sts are required\n", stderr);
        usage(stderr);
        exit(EXIT_USAGE);
    }
}

int main(int argc, char **argv)
{
    sigset_t set;
    int sig = 0;
    parse_args(argc, argv, &g.cfg);
    if ((g.cert_pem = read_file(g.cfg.cert)) == NULL)
        die("--cert: cannot read %s: %s", g.cfg.cert, strerror(errno));
    if ((g.key_pem = read_file(g.cfg.key)) == NULL)
        die("--key: cannot read %s: %s", g.cfg.key, strerror(errno));
    if ((g.log = fopen(g.cfg.log, "ae")) == NULL)
        die("--log: cannot open %s: %s", g.cfg.log, strerror(errno));
    if (g.cfg.issued && (g.issued = fopen(g.cfg.issued, "ae")) == NULL)
        die("--issued: cannot open %s: %s", g.cfg.issued, strerror(errno));
    if ((g.nonces = calloc(MAX_NONCES, sizeof *g.nonces)) == NULL)
        die("out of memory");
    if (g.cfg.port_file)
        unlink(g.cfg.port_file);

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g.cfg.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
            MHD_USE_ERROR_LOG,
        (uint16_t)g.cfg.port, NULL, NULL, on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_HTTPS_MEM_CERT, g.cert_pem, MHD_OPTION_HTTPS_MEM_KEY, g.key_pem,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_END);
    if (d == NULL)
        die("cannot start the HTTPS server on 127.0.0.1:%u", g.cfg.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info && info->port ? info->port : g.cfg.port;
    if (g.cfg.pid_file) {
        char *pid = xasprintf("%ld\n", (long)getpid());
        write_atomic(g.cfg.pid_file, pid);
        free(pid);
    }
    if (g.cfg.port_file) {
        char *p = xasprintf("%u\n", port);
        write_atomic(g.cfg.port_file, p);
        free(p);
    }
    for (;;)
        if (sigwait(&set, &sig) == 0 && (sig == SIGTERM || sig == SIGINT))
            break;
    MHD_stop_daemon(d);
    if (g.cfg.port_file)
        unlink(g.cfg.port_file);
    if (g.cfg.pid_file)
        unlink(g.cfg.pid_file);
    OPENSSL_cleanse(g.key_pem, strlen(g.key_pem));
    free(g.key_pem);
    free(g.cert_pem);
    free(g.nonces);
    fclose(g.log);
    if (g.issued)
        fclose(g.issued);
    return 0;
}
