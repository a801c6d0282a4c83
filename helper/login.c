#include "acred_build.h"
#include "login.h"
#include "config.h"
#include "http.h"
#include "idaas.h"
#include "json.h"
#include "jwt.h"
#include "oidc.h"
#include "proto.h"
#include "reason.h"
#include "role.h"
#include "secret.h"
#include "cache.h"
#include "cloud.h"
#include "device.h"
#include "idpcache.h"

#include <ctype.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct request {
    char *conf, *op, *user, *service, *rhost, *tty, *ruser, *owner, *session, *pid;
    int debug;
};

struct login {
    int out;
    struct acred_reader *rd;
    struct request req;
    struct acred_config cfg;
    struct acred_http http;
    struct acred_oidc oidc;
    int discovered;
    enum acred_reason idp_failed; /* how discovery or the JWKS failed: not asked again */
    char *token; /* secret */
    size_t token_len;
    char *refresh_token; /* secret: from a device-code login, when the IdP gave one */
    struct acred_jwt jwt;
    json_object *userinfo;
    json_object *claims; /* jwt.claims or userinfo */
    const struct acred_role *role;
    const char *role_id; /* the cloudAccountRoleExternalId in use */
    struct acred_sts sts;
    int cache_hit;
    struct acred_idp_error idp;
    struct acred_cloud cloud; /* EDAS and PAI-DSW tokens, with [edas] / [dsw] */
    const char *method;
    char session[17];
    char msg[512]; /* one plain sentence for the person about the failure */
};

/* ---- records ------------------------------------------------------------------------------ */

static void send_rec(struct login *l, const char *kw, const char *value)
{
    (void)acred_write_record(l->out, -1, kw, value);
}

static void sendf(struct login *l, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sendf(struct login *l, const char *kw, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    send_rec(l, kw, buf);
}

static void send_env(struct login *l, const char *name, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return;
    size_t n = strlen(name) + strlen(value) + 2;
    char *nv = malloc(n);
    if (nv == NULL)
        return;
    snprintf(nv, n, "%s=%s", name, value);
    send_rec(l, "env", nv);
    acred_wipe(nv, n);
    free(nv);
}

static void send_audit(struct login *l, const char *key, const char *value)
{
    if (value != NULL && value[0] != '\0')
        sendf(l, "audit", "%s %.256s", key, value);
}

/* ask the person; returns the answer (caller frees with acred_secret_free) or NULL */
static char *ask(struct login *l, const char *kind, const char *prompt)
{
    const char *kw, *value;
    send_rec(l, kind, prompt);
    if (acred_read_record(l->rd, -1, &kw, &value) != ACRED_READ_RECORD)
        return NULL;
    if (strcmp(kw, "answer") != 0)
        return NULL;
    return strdup(value);
}

/* ---- the request ----------------------------------------------------------------------- */

/* the request: `hello`, then keyed records in any order (each at most once), then `go` */
static int read_request(struct login *l)
{
    static const char *const keys[] = {"conf", "op", "user", "service", "rhost", "tty",
                                       "ruser", "owner", "session", "pid", "debug"};
    char **slots[] = {&l->req.conf, &l->req.op, &l->req.user, &l->req.service, &l->req.rhost,
                      &l->req.tty, &l->req.ruser, &l->req.owner, &l->req.session, &l->req.pid,
                      NULL};
    const char *kw, *value;
    if (acred_read_record(l->rd, -1, &kw, &value) != ACRED_READ_RECORD ||
        strcmp(kw, "hello") != 0 || strcmp(value, ACRED_PROTO_VERSION) != 0)
        return -1;
    for (;;) {
        if (acred_read_record(l->rd, -1, &kw, &value) != ACRED_READ_RECORD)
            return -1;
        if (strcmp(kw, "go") == 0)
            break;
        size_t i = 0;
        while (i < sizeof(keys) / sizeof(keys[0]) && strcmp(kw, keys[i]) != 0)
            i++;
        if (i == sizeof(keys) / sizeof(keys[0]))
            return -1;
        if (slots[i] == NULL) {
            l->req.debug = strcmp(value, "1") == 0;
            continue;
        }
        if (*slots[i] != NULL || (*slots[i] = strdup(value)) == NULL)
            return -1;
    }
    return l->req.conf && l->req.conf[0] == '/' && l->req.op && l->req.user &&
                   l->req.user[0] != '\0'
               ? 0
               : -1;
}

static void free_request(struct request *r)
{
    char *fields[] = {r->conf, r->op, r->user, r->service, r->rhost, r->tty, r->ruser,
                      r->owner, r->session, r->pid};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        free(fields[i]);
}

/* ---- the IdP ----------------------------------------------------------------------------- */

static enum acred_reason ensure_discovery(struct login *l)
{
    if (l->discovered)
        return ACRED_OK;
    if (l->idp_failed != ACRED_OK)
        return l->idp_failed; /* so that a login waits for a dead IdP once, not per step */
    enum acred_reason r = acred_idpcache_discover(&l->http, &l->oidc, l->msg, sizeof(l->msg));
    l->discovered = r == ACRED_OK;
    if (r != ACRED_OK)
        l->idp_failed = r;
    return r;
}

static enum acred_reason ensure_jwks(struct login *l)
{
    enum acred_reason r = ensure_discovery(l);
    if (r != ACRED_OK || l->oidc.jwks != NULL)
        return r;
    if (l->idp_failed == ACRED_OK)
        l->idp_failed = acred_idpcache_jwks(&l->http, &l->oidc, l->msg, sizeof(l->msg));
    return l->idp_failed;
}

/* the signature length the pasted JWT's key calls for, or -1 */
static long expected_sig_len(struct login *l, const char *text, size_t len)
{
    const char *dot = memchr(text, '.', len);
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    long expected = -1;
    if (dot == NULL || acred_b64url_decode(text, (size_t)(dot - text), &raw, &rawlen) != 0)
        return -1;
    json_object *header = acred_json_parse((const char *)raw, rawlen);
    free(raw);
    const char *alg = acred_json_string(header, "alg");
    if (alg != NULL && ensure_jwks(l) == ACRED_OK) {
        const char *kid = acred_json_string(header, "kid");
        expected = acred_jwt_expected_sig_len(l->oidc.jwks, alg, kid);
        if (expected < 0 &&
            acred_idpcache_jwks_refetch(&l->http, &l->oidc, l->msg, sizeof(l->msg)) == ACRED_OK)
            expected = acred_jwt_expected_sig_len(l->oidc.jwks, alg, kid); /* rotated keys */
    }
    if (header)
        json_object_put(header);
    return expected;
}

int acred_token_complete(const char *text, size_t len, size_t last_piece, long expected_sig_len)
{
    if (len < 3 || memcmp(text, "eyJ", 3) != 0)
        return last_piece < ACRED_PIECE_MAX;
    const char *last_dot = NULL;
    int dots = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '.') {
            dots++;
            last_dot = text + i;
        }
    if (dots < 2)
        return 0;
    if (expected_sig_len < 0)
        return 1;
    size_t sig_chars = len - (size_t)(last_dot + 1 - text);
    return sig_chars >= ((size_t)expected_sig_len * 4 + 2) / 3;
}

/* ---- reading the token in pieces ------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static enum acred_reason fail(struct login *l, enum acred_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum acred_reason fail(struct login *l, enum acred_reason r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
    va_end(ap);
    return r;
}

/* add one trimmed piece; ACRED_OK to go on */
static enum acred_reason add_piece(struct login *l, const char *piece, char **prev)
{
    size_t n = strlen(piece);
    if (*prev != NULL && strcmp(*prev, piece) == 0)
        return fail(l, ACRED_R_MALFORMED_TOKEN,
                    "The same text was entered twice; paste the next piece of the token");
    if (l->token_len + n > ACRED_TOKEN_MAX)
        return fail(l, ACRED_R_MALFORMED_TOKEN, "Token is longer than %d KiB",
                    ACRED_TOKEN_MAX / 1024);
    char *grown = malloc(l->token_len + n + 1);
    if (grown == NULL)
        return ACRED_R_HELPER_ERROR;
    if (l->token)
        memcpy(grown, l->token, l->token_len);
    memcpy(grown + l->token_len, piece, n + 1);
    acred_secret_free(l->token);
    l->token = grown;
    l->token_len += n;
    acred_secret_free(*prev);
    *prev = strdup(piece);
    return ACRED_OK;
}

static int offers(const struct acred_config *cfg, enum acred_method m)
{
    for (size_t i = 0; i < cfg->n_methods; i++)
        if (cfg->methods[i] == m)
            return 1;
    return 0;
}

/*
 * The token, in pieces, into l->token; initial (taken over) is an answer already given. An
 * empty first answer leaves l->token NULL: the caller may then start a device-code login.
 */
/* after a conversation error (sudo refuses answers of 512 or more, and leaves what it did not
 * read of a line over 1023 for the next prompts): how many more errors or leftovers to absorb,
 * and how fast a leftover arrives (a person takes longer to paste) */
#define ACRED_RESYNC_MAX 40
#define ACRED_LEFTOVER_MS 300

/* one piece: the answer (NULL on a conversation error, *gone when the module is gone) and how
 * long the person took */
static char *ask_piece(struct login *l, const char *prompt, int *gone, long long *ms)
{
    const char *kw, *value;
    long long start = acred_now_ms();
    *gone = 0;
    send_rec(l, "prompt-off", prompt);
    if (acred_read_record(l->rd, -1, &kw, &value) != ACRED_READ_RECORD) {
        *gone = 1;
        return NULL;
    }
    *ms = acred_now_ms() - start;
    if (strcmp(kw, "answer") == 0)
        return strdup(value);
    *gone = strcmp(kw, "conv-error") != 0;
    return NULL;
}

/* the rest of an over-long line rather than what the person pasted next? */
static int leftover(const char *answer, long long ms)
{
    while (isspace((unsigned char)*answer))
        answer++;
    return ms < ACRED_LEFTOVER_MS && strncmp(answer, "eyJ", 3) != 0;
}

static enum acred_reason read_token(struct login *l, char *initial)
{
    const char *first = offers(&l->cfg, ACRED_METHOD_DEVICE)
                            ? "IDaaS token (or Enter alone for a device-code login): "
                            : "IDaaS token: ";
    char *prev = NULL;
    int told = 0, resync = 0, absorbed = 0, gone = 0;
    enum acred_reason r = ACRED_OK;
    for (;;) {
        long long ms = 0;
        char *answer = initial ? initial
                               : ask_piece(l, l->token ? "Token (continued): " : first, &gone,
                                           &ms);
        int given = initial != NULL;
        initial = NULL;
        if (gone) {
            r = fail(l, ACRED_R_CONV_ERROR, "The token could not be read");
            break;
        }
        if (answer == NULL || (resync && !given && leftover(answer, ms))) {
            acred_secret_free(answer);
            if (++absorbed > ACRED_RESYNC_MAX) {
                r = fail(l, ACRED_R_CONV_ERROR, "The token could not be read");
                break;
            }
            if (!told)
                send_rec(l, "error", "Paste at most 500 characters at a time");
            told = resync = 1;
            continue;
        }
        resync = 0;
        if (strlen(answer) > ACRED_TOKEN_MAX) { /* the module cuts longer answers to one more */
            acred_secret_free(answer);
            r = fail(l, ACRED_R_MALFORMED_TOKEN, "Token is longer than %d KiB",
                     ACRED_TOKEN_MAX / 1024);
            break;
        }
        char *piece = trim(answer);
        size_t n = strlen(piece);
        if (n == 0) {
            acred_secret_free(answer);
            break; /* an empty answer ends the token early */
        }
        r = add_piece(l, piece, &prev);
        acred_secret_free(answer);
        if (r != ACRED_OK)
            break;
        long expected = strncmp(l->token, "eyJ", 3) == 0 && strchr(l->token, '.') != NULL &&
                                strchr(strchr(l->token, '.') + 1, '.') != NULL
                            ? expected_sig_len(l, l->token, l->token_len)
                            : -1;
        if (acred_token_complete(l->token, l->token_len, n, expected))
            break;
    }
    acred_secret_free(prev);
    return r;
}

/* ---- a device-code login (RFC 8628) ---------------------------------------------------- */

static enum acred_reason check_user_exists(struct login *l);

/* the one prompt: who is being logged in where (to tell a phishing prompt), the address, the
 * code verbatim, the QR code of the address, and what to do */
static char *device_prompt(struct login *l, const struct acred_device *d)
{
    char host[256] = "this host";
    char *qr = acred_qr_render(d->verification_uri_complete, l->cfg.qr);
    size_t n = strlen(d->verification_uri_complete) + strlen(d->user_code) +
               (qr ? strlen(qr) : 0) + 1024;
    char *text = malloc(n);
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    if (text)
        snprintf(text, n,
                 "IDaaS device-code login for %s on %s\n"
                 "Open %s\n"
                 "and check that it shows the code %s\n"
                 "%s"
                 "Press Enter once you have approved: ",
                 l->req.user, host, d->verification_uri_complete, d->user_code, qr ? qr : "");
    free(qr);
    return text;
}

static enum acred_reason device_login(struct login *l)
{
    struct acred_device d;
    struct acred_tokens t;
    long long started = acred_now_ms();
    l->method = "device";
    enum acred_reason r = check_user_exists(l); /* never for names this host does not know */
    if (r != ACRED_OK)
        return r;
    if (acred_device_rate_take(l->cfg.device_rate, time(NULL)) != 0)
        return fail(l, ACRED_R_RATE_LIMITED, "Too many device-code logins on this host right "
                                             "now; try again in a minute");
    if ((r = ensure_discovery(l)) != ACRED_OK ||
        (r = acred_device_start(&l->http, &l->oidc, &d, l->msg, sizeof(l->msg))) != ACRED_OK)
        return r;
    long wait = d.expires_in < l->cfg.device_timeout ? d.expires_in : l->cfg.device_timeout;
    char *text = device_prompt(l, &d);
    char *answer = text ? ask(l, "prompt-off", text) : NULL;
    free(text);
    if (answer != NULL && answer[0] != '\0' && offers(&l->cfg, ACRED_METHOD_TOKEN)) {
        l->method = "token"; /* a token pasted at the device prompt is used instead */
        acred_device_free(&d);
        return read_token(l, answer);
    }
    acred_secret_free(answer);
    r = acred_device_poll(&l->http, &l->oidc, &d, started + 1000LL * wait, &t, l->msg,
                          sizeof(l->msg));
    acred_device_free(&d);
    if (r != ACRED_OK)
        return r;
    send_rec(l, "info", "The device-code login was approved");
    l->token = t.access_token;
    l->token_len = strlen(t.access_token);
    l->refresh_token = t.refresh_token;
    return ACRED_OK;
}

/* a token, by the methods in the order the configuration offers them */
static enum acred_reason get_token(struct login *l)
{
    if (l->cfg.methods[0] == ACRED_METHOD_DEVICE)
        return device_login(l);
    enum acred_reason r = read_token(l, NULL);
    if (r == ACRED_OK && l->token == NULL)
        r = offers(&l->cfg, ACRED_METHOD_DEVICE)
                ? device_login(l)
                : fail(l, ACRED_R_MALFORMED_TOKEN, "No token was entered");
    return r;
}

/* ---- checks ---------------------------------------------------------------------------- */

static enum acred_reason check_user_exists(struct login *l)
{
    if (getpwnam(l->req.user) == NULL)
        return fail(l, ACRED_R_UNKNOWN_USER, "Login failed: no such user on this host");
    return ACRED_OK;
}

static enum acred_reason check_user(struct login *l)
{
    struct passwd *pw = getpwnam(l->req.user);
    if (pw == NULL)
        return check_user_exists(l);
    if ((long)pw->pw_uid < l->cfg.min_uid) {
        for (size_t i = 0; i < l->cfg.allow_users.n; i++)
            if (strcmp(l->cfg.allow_users.items[i], l->req.user) == 0)
                return ACRED_OK;
        return fail(l, ACRED_R_UID_REFUSED,
                    "Login failed: %s is a system account and may not log in with IDaaS",
                    l->req.user);
    }
    return ACRED_OK;
}

static enum acred_reason check_jwt(struct login *l)
{
    enum acred_reason r = acred_jwt_parse(l->token, l->token_len, &l->jwt);
    if (r != ACRED_OK)
        return fail(l, r, "Token is not a well-formed IDaaS token");
    if ((r = ensure_jwks(l)) != ACRED_OK)
        return r;
    r = acred_jwt_verify(&l->jwt, l->oidc.jwks);
    if (r == ACRED_R_UNKNOWN_KEY &&
        acred_idpcache_jwks_refetch(&l->http, &l->oidc, l->msg, sizeof(l->msg)) == ACRED_OK)
        r = acred_jwt_verify(&l->jwt, l->oidc.jwks); /* the IdP may have rotated its keys */
    if (r == ACRED_R_BAD_ALGORITHM)
        return fail(l, r, "Token is signed with an algorithm this host does not accept");
    if (r == ACRED_R_UNKNOWN_KEY)
        return fail(l, r, "Token is signed with a key the identity provider does not publish");
    if (r != ACRED_OK)
        return fail(l, r, "Token signature is not valid");
    struct acred_jwt_policy p = {
        .issuer = l->cfg.issuer,
        .audience = acred_config_audience(&l->cfg),
        .scope = l->cfg.scope,
        .username_claim = l->cfg.username_claim,
        .username_suffix = l->cfg.username_suffix,
        .user = l->req.user,
        .leeway = l->cfg.leeway,
        .max_token_age = l->cfg.max_token_age,
        .now = time(NULL),
    };
    r = acred_jwt_check_claims(&l->jwt, &p, l->msg, sizeof(l->msg));
    l->claims = l->jwt.claims;
    return r;
}

static enum acred_reason check_opaque(struct login *l)
{
    for (size_t i = 0; i < l->token_len; i++)
        if (l->token[i] <= 0x20 || l->token[i] >= 0x7f)
            return fail(l, ACRED_R_MALFORMED_TOKEN, "Token holds characters no token has");
    enum acred_reason r = ensure_discovery(l);
    if (r == ACRED_OK)
        r = acred_oidc_userinfo(&l->http, &l->oidc, l->token, &l->userinfo, l->msg,
                                sizeof(l->msg));
    if (r != ACRED_OK)
        return r;
    l->claims = l->userinfo;
    return acred_claims_check_user(l->userinfo, l->cfg.username_claim, l->cfg.username_suffix,
                                   l->req.user, l->msg, sizeof(l->msg));
}

static enum acred_reason select_role(struct login *l)
{
    char **groups = acred_user_groups(l->req.user);
    l->role = acred_role_select(&l->cfg, l->req.user, groups, l->claims);
    acred_groups_free(groups);
    if (l->role == NULL)
        return fail(l, ACRED_R_NO_ROLE, "No cloud role is mapped to %s on this host",
                    l->req.user);
    l->role_id = l->role->external_id;
    return ACRED_OK;
}

/* root's cache entry, when it is this user's, with this token's sub and this role, and fresh:
 * obtainAccessCredential is then skipped (the token was still fully validated) */
static int cache_hit(struct login *l)
{
    struct passwd *pw = getpwnam(l->req.user);
    struct acred_cache_entry e;
    const char *sub = acred_json_string(l->claims, "sub");
    if (pw == NULL || sub == NULL || acred_cache_read(pw->pw_uid, &e) != 0)
        return 0;
    int hit = e.sub && strcmp(e.sub, sub) == 0 && strcmp(e.role, l->role_id) == 0 &&
              strcmp(e.user, l->req.user) == 0 && acred_cache_fresh(&e, time(NULL));
    if (hit) {
        l->sts = e.sts; /* moved */
        memset(&e.sts, 0, sizeof(e.sts));
    }
    acred_cache_entry_free(&e);
    return hit;
}

/* the path of this very program, for the aliyun CLI profile of credentials = process */
static void self_path(char *out, size_t outlen)
{
    ssize_t n = readlink("/proc/self/exe", out, outlen - 1);
    if (n <= 0)
        snprintf(out, outlen, "%s/acred-helper", ACRED_BINDIR);
    else
        out[n] = '\0';
}

static void cache_store(struct login *l)
{
    struct passwd *pw = getpwnam(l->req.user);
    char helper[4096];
    long long exp = 0;
    if (pw == NULL)
        return;
    struct acred_cache_entry e = {
        .user = l->req.user,
        .sub = (char *)acred_json_string(l->claims, "sub"),
        .role = (char *)l->role_id,
        .session = l->session,
        .duration = l->role->duration ? l->role->duration : l->cfg.duration,
        .sts = l->sts,
        .token = l->token,
        .refresh_token = l->refresh_token,
        .conf = l->req.conf,
    };
    if (acred_json_int64(l->claims, "exp", &exp) == 0)
        e.token_exp = exp;
    self_path(helper, sizeof(helper));
    if (acred_cache_write(pw, &e, l->cfg.credentials == ACRED_CRED_PROCESS, l->cfg.region_id,
                          helper) != 0)
        sendf(l, "log", "warning cannot write the credential cache under %s", ACRED_RUNDIR);
}

static enum acred_reason obtain(struct login *l)
{
    long duration = l->role->duration ? l->role->duration : l->cfg.duration;
    enum acred_reason r = acred_idaas_obtain(&l->http, l->token, l->role->external_id, duration,
                                             &l->sts, &l->idp, l->msg, sizeof(l->msg));
    if (r == ACRED_OK && l->sts.expires_at <= time(NULL))
        r = fail(l, ACRED_R_IDP_BAD_RESPONSE, "IDaaS answered with credentials already expired");
    return r;
}

/* the whole login after the request and configuration are in */
static enum acred_reason authenticate(struct login *l)
{
    enum acred_reason r = get_token(l);
    if (r == ACRED_OK && l->token == NULL)
        r = fail(l, ACRED_R_MALFORMED_TOKEN, "No token was entered");
    if (r == ACRED_OK)
        r = check_user(l);
    if (r == ACRED_OK)
        r = memcmp(l->token, "eyJ", l->token_len < 3 ? l->token_len : 3) == 0 ? check_jwt(l)
                                                                               : check_opaque(l);
    if (r == ACRED_OK)
        r = select_role(l);
    if (r == ACRED_OK && !(l->cache_hit = cache_hit(l)))
        r = obtain(l);
    if (r == ACRED_OK) /* [edas] and [dsw], in parallel, with the STS credentials */
        r = acred_cloud_tokens(&l->cfg, &l->sts, &l->cloud, l->msg, sizeof(l->msg));
    if (r == ACRED_OK)
        cache_store(l); /* also on a hit: the user's copy gets this token and session */
    return r;
}

/* ---- the answer ------------------------------------------------------------------------ */

static void send_credentials(struct login *l)
{
    const struct acred_sts *s = &l->sts;
    const char *region = l->cfg.region_id;
    if (l->cfg.credentials == ACRED_CRED_PROCESS) {
        char path[256];
        const char *who = l->req.owner && l->req.owner[0] ? l->req.owner : l->req.user;
        struct passwd *pw = getpwnam(who);
        if (pw != NULL) {
            acred_cache_user_config_path(pw->pw_uid, path, sizeof(path));
            send_env(l, "ALIBABA_CLOUD_CONFIG_FILE", path);
            send_env(l, "ALIBABA_CLOUD_PROFILE", "acred");
        }
    } else {
        send_env(l, "ALIBABA_CLOUD_ACCESS_KEY_ID", s->access_key_id);
        send_env(l, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", s->access_key_secret);
        send_env(l, "ALIBABA_CLOUD_SECURITY_TOKEN", s->security_token);
        send_env(l, "ALIBABA_CLOUD_IGNORE_PROFILE", "TRUE");
    }
    send_env(l, "ALIBABA_CLOUD_REGION_ID", region);
    send_env(l, "ACRED_ROLE", l->role_id);
    send_env(l, "ACRED_EXPIRATION", s->expiration);
    send_env(l, "ACRED_SESSION", l->session);
    if (l->cfg.env_aliases & ACRED_ALIAS_TERRAFORM) {
        send_env(l, "ALICLOUD_ACCESS_KEY", s->access_key_id);
        send_env(l, "ALICLOUD_SECRET_KEY", s->access_key_secret);
        send_env(l, "ALICLOUD_SECURITY_TOKEN", s->security_token);
        send_env(l, "ALICLOUD_REGION", region);
    }
    if (l->cfg.env_aliases & ACRED_ALIAS_OSS) {
        send_env(l, "OSS_ACCESS_KEY_ID", s->access_key_id);
        send_env(l, "OSS_ACCESS_KEY_SECRET", s->access_key_secret);
        send_env(l, "OSS_SESSION_TOKEN", s->security_token);
    }
    for (size_t i = 0; i < l->cloud.n_vars; i++)
        send_env(l, l->cloud.vars[i].name, l->cloud.vars[i].value);
}

static int unreachable(enum acred_reason r)
{
    return r == ACRED_R_IDP_UNAVAILABLE || r == ACRED_R_TIMEOUT;
}

static void answer(struct login *l, enum acred_reason r)
{
    send_audit(l, "method", l->method);
    if (l->claims) {
        send_audit(l, "sub", acred_json_string(l->claims, "sub"));
        send_audit(l, "jti", acred_json_string(l->claims, "jti"));
    }
    send_audit(l, "role", l->role_id);
    send_audit(l, "edas_code", l->cloud.edas.code);
    send_audit(l, "dsw_code", l->cloud.dsw.code);
    if (r == ACRED_OK) {
        send_audit(l, "access_key_id", l->sts.access_key_id);
        send_audit(l, "expiration", l->sts.expiration);
        send_audit(l, "session", l->session);
        send_credentials(l);
        sendf(l, "info", "Cloud role %s until %s", l->role_id, l->sts.expiration);
        if (l->cloud.edas.notice[0]) /* required = no: the login goes on without */
            send_rec(l, "error", l->cloud.edas.notice);
        if (l->cloud.dsw.notice[0])
            send_rec(l, "error", l->cloud.dsw.notice);
        send_rec(l, "result", "success");
        return;
    }
    send_audit(l, "reason", acred_reason_word(r));
    send_audit(l, "idp_code", l->idp.code);
    send_audit(l, "request_id", l->idp.request_id);
    if (l->req.debug)
        sendf(l, "log", "debug %s: %s", acred_reason_word(r), l->msg);
    if (l->msg[0] >= 'a' && l->msg[0] <= 'z')
        l->msg[0] = (char)(l->msg[0] - 'a' + 'A');
    if (unreachable(r) && l->cfg.fail_mode == ACRED_FAIL_OPEN) {
        sendf(l, "error", "%s; IDaaS login skipped (fail_mode = open)", l->msg);
        send_rec(l, "result", "ignored");
        return;
    }
    if (r == ACRED_R_HELPER_ERROR && l->msg[0] == '\0')
        snprintf(l->msg, sizeof(l->msg), "Login failed: internal error in acred-helper");
    send_rec(l, "error", l->msg[0] ? l->msg : "Login failed");
    send_rec(l, "result", "failure");
}

static void free_login(struct login *l)
{
    acred_secret_free(l->token);
    acred_secret_free(l->refresh_token);
    acred_jwt_free(&l->jwt);
    if (l->userinfo)
        json_object_put(l->userinfo);
    acred_sts_free(&l->sts);
    acred_cloud_free(&l->cloud);
    acred_oidc_free(&l->oidc);
    acred_http_cleanup(&l->http);
    acred_config_free(&l->cfg);
    free_request(&l->req);
    if (l->rd) {
        acred_reader_wipe(l->rd);
        free(l->rd);
    }
}

/* ---- sessions ------------------------------------------------------------------------- */

/* a session of the owner's: register it, or (no session yet: sudo within its timestamp) hand
 * out the owner's cached credentials when they are fresh and the target may have them */
static void session_open(struct login *l)
{
    struct passwd *pw = l->req.owner ? getpwnam(l->req.owner) : NULL;
    long pid = l->req.pid ? strtol(l->req.pid, NULL, 10) : 0;
    struct acred_cache_entry e;
    memset(&e, 0, sizeof(e));
    if (pw == NULL) {
        send_rec(l, "result", "ignored");
        return;
    }
    uid_t owner = pw->pw_uid; /* getpwnam's answer is overwritten by the next call */
    if (l->req.session && l->req.session[0]) {
        if (acred_cache_session_add(owner, l->req.session, pid) != 0)
            sendf(l, "log", "warning cannot record the session under %s", ACRED_RUNDIR);
        send_rec(l, "result", "success");
        return;
    }
    struct passwd *target = getpwnam(l->req.user);
    if (target == NULL || (target->pw_uid != 0 && target->pw_uid != owner) ||
        acred_cache_read(owner, &e) != 0 || strcmp(e.user, l->req.owner) != 0) {
        acred_cache_entry_free(&e);
        send_rec(l, "result", "ignored"); /* nothing of the owner's belongs here */
        return;
    }
    l->method = "cached";
    send_audit(l, "method", l->method);
    send_audit(l, "role", e.role);
    send_audit(l, "session", e.session);
    if (!acred_cache_fresh(&e, time(NULL))) {
        sendf(l, "error", "Your cloud credentials expired at %s; authenticate again for new ones",
              e.sts.expiration);
        send_audit(l, "reason", acred_reason_word(ACRED_R_CREDENTIALS_EXPIRED));
        send_rec(l, "result", "ignored");
    } else {
        snprintf(l->session, sizeof(l->session), "%s", e.session ? e.session : "");
        l->role_id = e.role;
        l->sts = e.sts; /* moved */
        memset(&e.sts, 0, sizeof(e.sts));
        if (acred_cache_session_add(owner, l->session, pid) != 0)
            sendf(l, "log", "warning cannot record the session under %s", ACRED_RUNDIR);
        send_credentials(l);
        send_rec(l, "result", "success");
        l->role_id = NULL;
    }
    acred_cache_entry_free(&e);
}

static void session_close(struct login *l)
{
    struct passwd *pw = l->req.owner ? getpwnam(l->req.owner) : NULL;
    long pid = l->req.pid ? strtol(l->req.pid, NULL, 10) : 0;
    if (pw != NULL && l->req.session && l->req.session[0])
        acred_cache_session_remove(pw->pw_uid, l->req.session, pid);
    send_rec(l, "result", "success");
}

/* discovery, JWKS twice, userinfo, obtainAccessCredential, and [edas] with [dsw] (in
 * parallel): each bounded by timeout */
static long auth_bound(const struct acred_config *cfg)
{
    long bound = 5 * cfg->timeout + 5;
    if (cfg->edas_enabled || cfg->dsw_enabled)
        bound += cfg->timeout;
    return bound > 300 ? 300 : bound;
}

/* the request's operation, once the configuration is in */
static enum acred_reason run_op(struct login *l, int is_auth)
{
    if (is_auth) {
        long bound = auth_bound(&l->cfg) +
                     (offers(&l->cfg, ACRED_METHOD_DEVICE) ? l->cfg.device_timeout : 0);
        sendf(l, "bound", "%ld", bound > ACRED_BOUND_MAX ? ACRED_BOUND_MAX : bound);
        return authenticate(l);
    }
    if (strcmp(l->req.op, "session-open") == 0)
        session_open(l);
    else if (strcmp(l->req.op, "session-close") == 0)
        session_close(l);
    else
        return ACRED_R_HELPER_ERROR;
    return ACRED_OK;
}

int acred_pam_main(int in, int out)
{
    struct login l;
    char err[512];
    memset(&l, 0, sizeof(l));
    l.out = out;
    l.method = "token";
    if ((l.rd = malloc(sizeof(*l.rd))) == NULL)
        return 1;
    acred_reader_init(l.rd, in);
    if (read_request(&l) != 0) {
        free_login(&l);
        return 2;
    }
    int is_auth = strcmp(l.req.op, "auth") == 0;
    enum acred_reason r = ACRED_OK;
    if (acred_config_load(l.req.conf, &l.cfg, err, sizeof(err)) != 0) {
        sendf(&l, "log", "err %s", err);
        r = fail(&l, ACRED_R_CONFIG_ERROR, "Login failed: pam_acred is misconfigured on this "
                                           "host; ask an administrator");
    } else if (acred_http_init(&l.http, &l.cfg) != 0 || acred_random_hex(l.session, 8) != 0) {
        r = ACRED_R_HELPER_ERROR;
    } else {
        send_rec(&l, "format", l.cfg.audit_format == ACRED_AUDIT_JSON ? "json" : "kv");
        r = run_op(&l, is_auth);
    }
    if (is_auth || r != ACRED_OK)
        answer(&l, r);
    free_login(&l);
    return 0;
}
