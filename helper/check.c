/*
 * check.c: `acred-helper check [--conf PATH]` (see check.h). It reports what would stop a login,
 * in plain words, one finding per line, and goes on after a failure so that one run shows every
 * problem. Anything that came from the network is shown printable-ASCII only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "acred_build.h"
#include "check.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "jwt.h"
#include "oidc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define SHOW 120 /* bytes of an outside value shown in a finding */

enum acred_level { L_OK, L_WARN, L_FAIL };

struct acred_checker {
    const struct acred_config *cfg;
    struct acred_http http;
    int fails, warns;
    int file_seen, file_ok; /* check_conf_file: lstat worked; type, owner and mode are right */
};

static void __attribute__((format(printf, 3, 4)))
finding(struct acred_checker *c, enum acred_level l, const char *fmt, ...)
{
    static const char *const tags[] = {"ok   ", "warn ", "FAIL "};
    va_list ap;
    fputs(tags[l], stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    c->fails += l == L_FAIL;
    c->warns += l == L_WARN;
}

/* s as it may be shown: printable ASCII, at most SHOW bytes, then "..." */
static const char *shown(const char *s, char out[SHOW + 4])
{
    size_t i = 0;
    for (; s && s[i] && i < SHOW; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    strcpy(out + i, s && s[i] ? "..." : "");
    return out;
}

/* ---- files ---------------------------------------------------------------------------------- */

/* NULL when st is a file only root (or we) could have written, else what is wrong */
static const char *unsafe_owner_mode(const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return "is not owned by root";
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return "is writable by group or others";
    return NULL;
}

/* the configuration file's type, owner and mode, as acred_config_load will judge them */
static void check_conf_file(struct acred_checker *c, const char *path)
{
    struct stat st;
    const char *bad;
    if (lstat(path, &st) != 0) {
        finding(c, L_FAIL, "configuration %s cannot be read: %s", path, strerror(errno));
        return;
    }
    c->file_seen = 1;
    if (S_ISLNK(st.st_mode))
        finding(c, L_FAIL, "configuration %s is a symlink: the module reads only a regular file",
                path);
    else if (!S_ISREG(st.st_mode))
        finding(c, L_FAIL, "configuration %s is not a regular file", path);
    else if ((bad = unsafe_owner_mode(&st)) != NULL)
        finding(c, L_FAIL, "configuration %s %s (owner uid %u, mode %04o): the module refuses it; "
                "chown root and chmod go-w it", path, bad, (unsigned)st.st_uid,
                (unsigned)(st.st_mode & 07777));
    else
        c->file_ok = 1;
    if (c->file_ok)
        finding(c, L_OK, "configuration %s: a regular file, owner uid %u, mode %04o", path,
                (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
}

/*
 * Parse the file's text even when its permissions are wrong, so that a syntax error shows in
 * the same run; then load it as the module's helper would. 0 with cfg filled, or -1.
 */
static int read_config(struct acred_checker *c, const char *path, struct acred_config *cfg)
{
    char err[512];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    char *buf = malloc(ACRED_CONF_MAX_SIZE + 1);
    ssize_t r = 0;
    int rc = -1;
    if (fd >= 0 && buf) {
        while (len <= ACRED_CONF_MAX_SIZE &&
               ((r = read(fd, buf + len, ACRED_CONF_MAX_SIZE + 1 - len)) > 0 ||
                (r < 0 && errno == EINTR)))
            len += r > 0 ? (size_t)r : 0;
        if (r == 0 || len > ACRED_CONF_MAX_SIZE)
            rc = acred_config_parse(buf, len, path, cfg, err, sizeof err);
        else
            snprintf(err, sizeof err, "%s: cannot read: %s", path, strerror(errno));
    } else {
        snprintf(err, sizeof err, "%s: cannot read: %s", path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    if (buf) {
        explicit_bzero(buf, ACRED_CONF_MAX_SIZE + 1);
        free(buf);
    }
    if (rc != 0) {
        if (c->file_seen) /* lstat failing was said by check_conf_file */
            finding(c, L_FAIL, "%s", err);
        return -1;
    }
    finding(c, L_OK, "syntax: every line of %s reads, %zu role section%s", path, cfg->n_roles,
            cfg->n_roles == 1 ? "" : "s");
    struct acred_config loaded;
    if (c->file_ok && acred_config_load(path, &loaded, err, sizeof err) != 0)
        finding(c, L_FAIL, "the module would refuse %s", err);
    else if (c->file_ok)
        acred_config_free(&loaded);
    return 0;
}

/* the helper that runs this check, and its directories, as pam_acred.so checks its helper */
static void check_helper_self(struct acred_checker *c)
{
    char real[PATH_MAX], dir[PATH_MAX];
    struct stat st;
    const char *bad = NULL;
    ssize_t n = readlink("/proc/self/exe", real, sizeof real - 1);
    if (n <= 0) {
        finding(c, L_WARN, "cannot tell where this helper is (/proc/self/exe): %s",
                strerror(errno));
        return;
    }
    real[n] = '\0';
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        finding(c, L_WARN, "cannot look at this helper %s", real);
        return;
    }
    if ((bad = unsafe_owner_mode(&st)) != NULL) {
        finding(c, L_FAIL, "helper %s %s (owner uid %u, mode %04o): pam_acred.so refuses to run "
                "it", real, bad, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return;
    }
    snprintf(dir, sizeof dir, "%s", real);
    for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
        slash[slash == dir ? 1 : 0] = '\0';
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (bad = unsafe_owner_mode(&st))) {
            finding(c, L_FAIL, "helper %s: its directory %s %s: pam_acred.so refuses to run it",
                    real, dir, bad ? bad : "cannot be checked");
            return;
        }
        if (slash == dir)
            break;
    }
    finding(c, L_OK, "helper %s: owned by root, not writable by group or others, nor its "
            "directories", real);
}

/* ca_file: readable, and holds at least one certificate (a PEM bundle) */
static void check_ca(struct acred_checker *c)
{
    const char *path = c->cfg->ca_file;
    int certs = 0, expired = 0;
    if (!path || !*path) {
        finding(c, L_OK, "CA bundle: the system's (ca_file is empty)");
        return;
    }
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) {
        int e = errno;
        ERR_clear_error();
        finding(c, L_FAIL, "CA bundle ca_file = %s cannot be read: %s", path,
                e ? strerror(e) : "cannot open");
        return;
    }
    for (X509 *x; (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL; X509_free(x)) {
        certs++;
        expired += X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
    }
    ERR_clear_error();
    BIO_free(bio);
    if (certs == 0)
        finding(c, L_FAIL, "CA bundle ca_file = %s holds no PEM certificate", path);
    else if (expired == certs)
        finding(c, L_FAIL, "CA bundle ca_file = %s: every certificate in it has expired", path);
    else
        finding(c, expired ? L_WARN : L_OK,
                "CA bundle ca_file = %s: %d certificate%s%s", path, certs, certs == 1 ? "" : "s",
                expired ? ", some of them expired" : "");
}

/* ---- the network ---------------------------------------------------------------------------- */

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/*
 * The IdP's Date header against this host's clock. A host behind the IdP by more than leeway
 * refuses fresh tokens (iat and nbf in its future): a failure. A host ahead of it sees tokens
 * expire early: a warning.
 */
static void check_clock(struct acred_checker *c, const char *date, time_t local)
{
    char sd[SHOW + 4];
    long leeway = c->cfg->leeway;
    if (!*date) {
        finding(c, L_WARN, "clock: the IdP sent no Date header, so the skew cannot be measured");
        return;
    }
    time_t idp = curl_getdate(date, NULL);
    if (idp < 0) {
        finding(c, L_WARN, "clock: cannot read the IdP's Date header '%s'", shown(date, sd));
        return;
    }
    long skew = (long)(idp - local); /* > 0: the IdP is ahead */
    if (skew >= -leeway && skew <= leeway)
        finding(c, L_OK, "clock: this host and the IdP agree within %ld s (leeway = %ld s)",
                skew < 0 ? -skew : skew, leeway);
    else if (skew > 0)
        finding(c, L_FAIL, "clock: this host is %ld s behind the IdP, more than leeway = %ld s: "
                "fresh tokens would be refused as not yet valid; set the time (NTP)", skew,
                leeway);
    else
        finding(c, L_WARN, "clock: this host is %ld s ahead of the IdP, more than leeway = %ld s:"
                " tokens would count as expired early; set the time (NTP)", -skew, leeway);
}

/* GET issuer/.well-known/openid-configuration: reachable, Date, issuer. 0 when o is filled */
static int check_issuer(struct acred_checker *c, struct acred_oidc *o)
{
    const char *issuer = c->cfg->issuer;
    char msg[512], host[256], s1[SHOW + 4];
    struct acred_http_resp r;
    struct timespec t0;
    size_t n = strlen(issuer) + sizeof "/.well-known/openid-configuration";
    char *url = malloc(n);
    if (!url) {
        finding(c, L_FAIL, "out of memory");
        return -1;
    }
    snprintf(url, n, "%s/.well-known/openid-configuration", issuer);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum acred_reason reason = acred_http_get(&c->http, url, NULL, NULL, &r, msg, sizeof msg);
    time_t now = time(NULL);
    if (reason != ACRED_OK) {
        finding(c, L_FAIL, "issuer %s: %s", issuer, msg);
        free(url);
        return -1;
    }
    finding(c, L_OK, "issuer %s answers (HTTP %ld in %ld ms)", acred_url_host(issuer, host,
            sizeof host), r.status, ms_since(&t0));
    check_clock(c, r.date, now);
    if (r.status != 200) {
        finding(c, L_FAIL, "discovery: %s answered HTTP %ld, not 200: is issuer right?", url,
                r.status);
        reason = ACRED_R_IDP_BAD_RESPONSE;
    } else if ((reason = acred_oidc_parse_discovery(o, issuer, r.body, r.len, msg, sizeof msg))
               == ACRED_R_BAD_ISSUER) {
        json_object *doc = acred_json_parse(r.body, r.len);
        const char *named = doc ? acred_json_string(doc, "issuer") : NULL;
        finding(c, L_FAIL, "discovery: the IdP calls itself '%s', but issuer = %s; the two must "
                "be equal byte for byte", named ? shown(named, s1) : "(nothing)", issuer);
        if (doc)
            json_object_put(doc);
    } else if (reason != ACRED_OK) {
        finding(c, L_FAIL, "discovery: %s", msg);
    } else {
        finding(c, L_OK, "discovery: the IdP's issuer is issuer = %s", issuer);
    }
    acred_http_resp_free(&r);
    free(url);
    return reason == ACRED_OK ? 0 : -1;
}

/* the endpoints of the discovery document that the configured methods need */
static void check_endpoints(struct acred_checker *c, const struct acred_oidc *o)
{
    int device = 0;
    for (size_t i = 0; i < c->cfg->n_methods; i++)
        device |= c->cfg->methods[i] == ACRED_METHOD_DEVICE;
    if (device && (!o->device_authorization_endpoint || !o->token_endpoint))
        finding(c, L_FAIL, "methods has device, but the IdP's discovery document has no https %s",
                !o->device_authorization_endpoint ? "device_authorization_endpoint"
                                                  : "token_endpoint");
    else if (device)
        finding(c, L_OK, "device-code login: the IdP has a device authorization and a token "
                "endpoint");
    if (!o->userinfo_endpoint)
        finding(c, L_WARN, "the IdP has no https userinfo_endpoint: opaque (non-JWT) tokens "
                "cannot be checked, only JWTs");
}

/* append "text" to list (", "-separated), as far as it goes */
static void add_item(char *list, size_t len, const char *text)
{
    size_t used = strlen(list);
    snprintf(list + used, len - used, "%s%s", used ? ", " : "", text);
}

/* the keys of jwks that could verify a token: RS256 (RSA) or ES256 (EC P-256), as jwt.c sees them */
static int usable_keys(json_object *jwks, char *good, char *bad, size_t len)
{
    static const char *const algs[] = {"RS256", "ES256"};
    json_object *keys = NULL;
    int usable = 0;
    good[0] = bad[0] = '\0';
    json_object_object_get_ex(jwks, "keys", &keys);
    for (size_t i = 0; i < json_object_array_length(keys); i++) {
        json_object *jwk = json_object_array_get_idx(keys, i);
        json_object *one = json_object_new_object(), *arr = json_object_new_array();
        const char *kid = acred_json_string(jwk, "kid"), *kty = acred_json_string(jwk, "kty");
        char item[2 * SHOW + 64], s1[SHOW + 4], s2[SHOW + 4];
        int fits = 0;
        if (!one || !arr) {
            json_object_put(one);
            json_object_put(arr);
            break;
        }
        json_object_array_add(arr, json_object_get(jwk));
        json_object_object_add(one, "keys", arr);
        for (size_t a = 0; a < sizeof algs / sizeof *algs; a++) {
            long sig = acred_jwt_expected_sig_len(one, algs[a], kid);
            if (sig <= 0)
                continue;
            fits = 1;
            if (a == 0)
                snprintf(item, sizeof item, "%s RS256 %ld-bit", kid ? shown(kid, s1) : "(no kid)",
                         sig * 8);
            else
                snprintf(item, sizeof item, "%s ES256", kid ? shown(kid, s1) : "(no kid)");
            add_item(good, len, item);
        }
        if (!fits) {
            snprintf(item, sizeof item, "%s kty %s", kid ? shown(kid, s1) : "(no kid)",
                     kty ? shown(kty, s2) : "(none)");
            add_item(bad, len, item);
        }
        usable += fits;
        json_object_put(one);
    }
    return usable;
}

static void check_jwks(struct acred_checker *c, struct acred_oidc *o)
{
    char msg[512], good[1024], bad[1024], su[SHOW + 4];
    enum acred_reason reason = acred_oidc_fetch_jwks(&c->http, o, msg, sizeof msg);
    if (reason != ACRED_OK) {
        finding(c, L_FAIL, "JWKS at %s: %s", shown(o->jwks_uri, su), msg);
        return;
    }
    int n = usable_keys(o->jwks, good, bad, sizeof good);
    if (n == 0)
        finding(c, L_FAIL, "JWKS at %s has no usable key: no RS256 (RSA) or ES256 (EC P-256) "
                "signing key, so no token can be verified (it has: %s)", shown(o->jwks_uri, su),
                bad);
    else
        finding(c, L_OK, "JWKS at %s: %d usable key%s (%s)%s%s", shown(o->jwks_uri, su), n,
                n == 1 ? "" : "s", good, *bad ? "; ignored: " : "", bad);
}

/* url answers HTTP at all (any status); otherwise a finding at level down */
static void check_reachable(struct acred_checker *c, const char *what, const char *url,
                            enum acred_level down, const char *consequence)
{
    char msg[512];
    struct acred_http_resp r;
    if (acred_http_get(&c->http, url, NULL, NULL, &r, msg, sizeof msg) != ACRED_OK) {
        finding(c, down, "%s %s: %s%s", what, url, msg, consequence);
        return;
    }
    finding(c, L_OK, "%s %s answers (HTTP %ld)", what, url, r.status);
    acred_http_resp_free(&r);
}

/* ---- roles ---------------------------------------------------------------------------------- */

/* how many names of l are local users (groups: local groups); a warning for every other one */
static size_t check_names(struct acred_checker *c, const struct acred_role *role, int groups,
                          const struct acred_list *l)
{
    const struct acred_config *cfg = c->cfg;
    size_t found = 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *name = l->items[i];
        if (groups) {
            if (getgrnam(name)) {
                found++;
                continue;
            }
            finding(c, L_WARN, "[role %s] groups: '%s' is no local group", role->name, name);
            continue;
        }
        struct passwd *pw = getpwnam(name);
        if (!pw) {
            finding(c, L_WARN, "[role %s] users: '%s' is no local user", role->name, name);
            continue;
        }
        found++;
        int allowed = 0;
        for (size_t j = 0; j < cfg->allow_users.n; j++)
            allowed |= strcmp(cfg->allow_users.items[j], name) == 0;
        if ((long)pw->pw_uid < cfg->min_uid && !allowed)
            finding(c, L_WARN, "[role %s] users: '%s' has uid %u, below min_uid = %ld, and is not "
                    "in allow_users: refused before any role", role->name, name,
                    (unsigned)pw->pw_uid, cfg->min_uid);
    }
    return found;
}

static void describe_role(const struct acred_role *r, char *out, size_t len)
{
    out[0] = '\0';
    const struct acred_list *lists[] = {r->has_users ? &r->users : NULL,
                                        r->has_groups ? &r->groups : NULL};
    static const char *const words[] = {"users", "groups"};
    for (int k = 0; k < 2; k++) {
        if (!lists[k])
            continue;
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", used ? " and " : "", words[k]);
        for (size_t i = 0; i < lists[k]->n; i++) {
            used = strlen(out);
            snprintf(out + used, len - used, " %s", lists[k]->items[i]);
        }
    }
    if (r->has_claim) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%sclaim %s=%s", used ? " and " : "", r->claim_name,
                 r->claim_value);
    }
}

static void check_roles(struct acred_checker *c)
{
    const struct acred_config *cfg = c->cfg;
    const char *def = cfg->default_role && *cfg->default_role ? cfg->default_role : NULL;
    size_t with_matcher = 0, can_match = 0;
    char what[512];
    if (cfg->n_roles == 0) {
        finding(c, L_FAIL, "no [role NAME] section: nobody can get credentials");
        return;
    }
    for (size_t i = 0; i < cfg->n_roles; i++) {
        const struct acred_role *r = &cfg->roles[i];
        if (!r->has_users && !r->has_groups && !r->has_claim) {
            if (!def || strcmp(def, r->name) != 0)
                finding(c, L_WARN, "[role %s] has no matcher (users, groups, claim) and is not "
                        "default_role: it is never used", r->name);
            continue;
        }
        with_matcher++;
        size_t users = r->has_users ? check_names(c, r, 0, &r->users) : 1;
        size_t groups = r->has_groups ? check_names(c, r, 1, &r->groups) : 1;
        if (users == 0 || groups == 0) {
            finding(c, L_WARN, "[role %s] can never match: none of its %s exists here", r->name,
                    users == 0 ? "users" : "groups");
            continue;
        }
        can_match++;
        describe_role(r, what, sizeof what);
        finding(c, L_OK, "[role %s] %s: for %s", r->name, r->external_id, what);
    }
    if (def)
        finding(c, L_OK, "default_role = %s: whoever no other role matches gets %s", def,
                acred_config_role(cfg, def)->external_id);
    else if (with_matcher == 0)
        finding(c, L_FAIL, "default_role is unset and no role has a matcher (users, groups or "
                "claim): nobody can get credentials");
    else if (can_match == 0)
        finding(c, L_FAIL, "no role can match anyone here (their users or groups do not exist) "
                "and default_role is unset: nobody can get credentials");
    for (size_t j = 0; j < cfg->allow_users.n; j++)
        if (!getpwnam(cfg->allow_users.items[j]))
            finding(c, L_WARN, "allow_users: '%s' is no local user", cfg->allow_users.items[j]);
}

/* ---- the command ---------------------------------------------------------------------------- */

static int run_check(const char *path)
{
    struct acred_checker c;
    struct acred_config cfg;
    struct acred_oidc oidc;
    memset(&c, 0, sizeof c);
    memset(&oidc, 0, sizeof oidc);
    check_conf_file(&c, path);
    check_helper_self(&c);
    if (read_config(&c, path, &cfg) == 0) {
        c.cfg = &cfg;
        check_roles(&c);
        check_ca(&c);
        if (acred_http_init(&c.http, &cfg) != 0) {
            finding(&c, L_FAIL, "cannot start libcurl");
        } else {
            if (check_issuer(&c, &oidc) == 0) {
                check_endpoints(&c, &oidc);
                check_jwks(&c, &oidc);
            }
            check_reachable(&c, "developer API", cfg.developer_api, L_FAIL,
                            ": no login can obtain credentials");
            if (cfg.edas_enabled)
                check_reachable(&c, "EDAS endpoint", cfg.edas_endpoint,
                                cfg.edas_required ? L_FAIL : L_WARN,
                                cfg.edas_required ? " ([edas] required = yes: logins are denied)"
                                                  : " (logins go on without the EDAS variables)");
            if (cfg.dsw_enabled)
                check_reachable(&c, "DSW endpoint", cfg.dsw_endpoint,
                                cfg.dsw_required ? L_FAIL : L_WARN,
                                cfg.dsw_required ? " ([dsw] required = yes: logins are denied)"
                                                 : " (logins go on without the DSW variables)");
            acred_http_cleanup(&c.http);
        }
        acred_oidc_free(&oidc);
        acred_config_free(&cfg);
    }
    printf("%s: %d failed, %d warning%s\n", c.fails ? "a login cannot work" : "a login could work",
           c.fails, c.warns, c.warns == 1 ? "" : "s");
    return c.fails ? ACRED_CHECK_FAIL : ACRED_CHECK_OK;
}

static void check_usage(FILE *f, const char *default_conf)
{
    fprintf(f,
            "Usage: acred-helper check [--conf PATH]\n"
            "\n"
            "Read the configuration (default %s) and say, one finding per line\n"
            "(ok, warn, FAIL), what would stop a login: syntax, permissions, the CA bundle,\n"
            "the issuer, discovery, JWKS, clock skew, roles, the developer API, EDAS and DSW.\n"
            "Exit status: 0 when a login could work, 1 when it cannot, 2 for bad usage.\n",
            default_conf);
}

int acred_check_command(int argc, char **argv, const char *default_conf)
{
    const char *conf = NULL;
    char s[SHOW + 4];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            check_usage(stdout, default_conf);
            return ACRED_CHECK_OK;
        }
        if (!conf && strcmp(a, "--conf") == 0 && i + 1 < argc && argv[i + 1][0]) {
            conf = argv[++i];
        } else if (!conf && strncmp(a, "--conf=", 7) == 0 && a[7]) {
            conf = a + 7;
        } else {
            fprintf(stderr, "acred-helper check: %s '%s'\n",
                    strncmp(a, "--conf", 6) == 0 ? "--conf needs one PATH, once:" : "unexpected",
                    shown(a, s));
            check_usage(stderr, default_conf);
            return ACRED_CHECK_USAGE;
        }
    }
    return run_check(conf ? conf : default_conf);
}
