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

#include <ctype.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct request {
    char *conf, *user, *service, *rhost, *tty, *ruser;
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
    char *token; /* secret */
    size_t token_len;
    struct acred_jwt jwt;
    json_object *userinfo;
    json_object *claims; /* jwt.claims or userinfo */
    const struct acred_role *role;
    struct acred_sts sts;
    struct acred_idp_error idp;
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

static int read_request(struct login *l)
{
    static const char *const order[] = {"hello", "conf", "op", "user", "service", "rhost",
                                        "tty", "ruser", "debug", "go"};
    char **slots[] = {NULL, &l->req.conf, NULL, &l->req.user, &l->req.service,
                      &l->req.rhost, &l->req.tty, &l->req.ruser, NULL, NULL};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *kw, *value;
        if (acred_read_record(l->rd, -1, &kw, &value) != ACRED_READ_RECORD ||
            strcmp(kw, order[i]) != 0)
            return -1;
        if (i == 0 && strcmp(value, ACRED_PROTO_VERSION) != 0)
            return -1;
        if (i == 2 && strcmp(value, "auth") != 0)
            return -1;
        if (i == 8)
            l->req.debug = strcmp(value, "1") == 0;
        if (slots[i] && (*slots[i] = strdup(value)) == NULL)
            return -1;
    }
    return l->req.conf[0] == '/' && l->req.user[0] != '\0' ? 0 : -1;
}

static void free_request(struct request *r)
{
    free(r->conf);
    free(r->user);
    free(r->service);
    free(r->rhost);
    free(r->tty);
    free(r->ruser);
}

/* ---- the IdP ----------------------------------------------------------------------------- */

static enum acred_reason ensure_discovery(struct login *l)
{
    if (l->discovered)
        return ACRED_OK;
    enum acred_reason r = acred_oidc_discover(&l->http, &l->oidc, l->msg, sizeof(l->msg));
    l->discovered = r == ACRED_OK;
    return r;
}

static enum acred_reason ensure_jwks(struct login *l)
{
    enum acred_reason r = ensure_discovery(l);
    if (r == ACRED_OK && l->oidc.jwks == NULL)
        r = acred_oidc_fetch_jwks(&l->http, &l->oidc, l->msg, sizeof(l->msg));
    return r;
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
        if (expected < 0 && l->oidc.jwks_fetches < 2 &&
            acred_oidc_fetch_jwks(&l->http, &l->oidc, l->msg, sizeof(l->msg)) == ACRED_OK)
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

static enum acred_reason read_token(struct login *l)
{
    const char *first = "IDaaS token: ";
    char *prev = NULL;
    int told = 0;
    enum acred_reason r = ACRED_OK;
    for (;;) {
        char *answer = ask(l, "prompt-off", l->token ? "Token (continued): " : first);
        if (answer == NULL) {
            if (told) {
                r = fail(l, ACRED_R_CONV_ERROR, "The token could not be read");
                break;
            }
            send_rec(l, "error", "Paste at most 500 characters at a time");
            told = 1;
            continue;
        }
        char *piece = trim(answer);
        size_t n = strlen(piece);
        if (n == 0) {
            acred_secret_free(answer);
            if (l->token == NULL)
                r = fail(l, ACRED_R_MALFORMED_TOKEN, "No token was entered");
            break; /* an empty answer ends the token early */
        }
        r = add_piece(l, piece, &prev);
        acred_secret_free(answer);
        if (r != ACRED_OK)
            break;
        long expected = memcmp(l->token, "eyJ", 3) == 0 && strchr(l->token, '.') != NULL &&
                                strchr(strchr(l->token, '.') + 1, '.') != NULL
                            ? expected_sig_len(l, l->token, l->token_len)
                            : -1;
        if (acred_token_complete(l->token, l->token_len, n, expected))
            break;
    }
    acred_secret_free(prev);
    return r;
}

/* ---- checks ---------------------------------------------------------------------------- */

static enum acred_reason check_user(struct login *l)
{
    struct passwd *pw = getpwnam(l->req.user);
    if (pw == NULL)
        return fail(l, ACRED_R_UNKNOWN_USER, "Login failed: no such user on this host");
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
    if (r == ACRED_R_UNKNOWN_KEY && l->oidc.jwks_fetches < 2 &&
        acred_oidc_fetch_jwks(&l->http, &l->oidc, l->msg, sizeof(l->msg)) == ACRED_OK)
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
    return ACRED_OK;
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
    enum acred_reason r = read_token(l);
    if (r == ACRED_OK)
        r = check_user(l);
    if (r == ACRED_OK)
        r = memcmp(l->token, "eyJ", l->token_len < 3 ? l->token_len : 3) == 0 ? check_jwt(l)
                                                                               : check_opaque(l);
    if (r == ACRED_OK)
        r = select_role(l);
    if (r == ACRED_OK)
        r = obtain(l);
    return r;
}

/* ---- the answer ------------------------------------------------------------------------ */

static void send_credentials(struct login *l)
{
    const struct acred_sts *s = &l->sts;
    const char *region = l->cfg.region_id;
    send_env(l, "ALIBABA_CLOUD_ACCESS_KEY_ID", s->access_key_id);
    send_env(l, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", s->access_key_secret);
    send_env(l, "ALIBABA_CLOUD_SECURITY_TOKEN", s->security_token);
    send_env(l, "ALIBABA_CLOUD_IGNORE_PROFILE", "TRUE");
    send_env(l, "ALIBABA_CLOUD_REGION_ID", region);
    send_env(l, "ACRED_ROLE", l->role->external_id);
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
    if (l->role)
        send_audit(l, "role", l->role->external_id);
    if (r == ACRED_OK) {
        send_audit(l, "access_key_id", l->sts.access_key_id);
        send_audit(l, "expiration", l->sts.expiration);
        send_audit(l, "session", l->session);
        send_credentials(l);
        sendf(l, "info", "Cloud role %s until %s", l->role->external_id, l->sts.expiration);
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
    acred_jwt_free(&l->jwt);
    if (l->userinfo)
        json_object_put(l->userinfo);
    acred_sts_free(&l->sts);
    acred_oidc_free(&l->oidc);
    acred_http_cleanup(&l->http);
    acred_config_free(&l->cfg);
    free_request(&l->req);
    if (l->rd) {
        acred_reader_wipe(l->rd);
        free(l->rd);
    }
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
    enum acred_reason r;
    if (acred_config_load(l.req.conf, &l.cfg, err, sizeof(err)) != 0) {
        sendf(&l, "log", "err %s", err);
        r = fail(&l, ACRED_R_CONFIG_ERROR, "Login failed: pam_acred is misconfigured on this "
                                           "host; ask an administrator");
    } else if (acred_http_init(&l.http, &l.cfg) != 0 || acred_random_hex(l.session, 8) != 0) {
        r = ACRED_R_HELPER_ERROR;
    } else {
        /* discovery, JWKS twice, userinfo, obtainAccessCredential: each bounded by timeout */
        long bound = 5 * l.cfg.timeout + 5;
        sendf(&l, "bound", "%ld", bound > 300 ? 300 : bound);
        r = authenticate(&l);
    }
    answer(&l, r);
    free_login(&l);
    return 0;
}
