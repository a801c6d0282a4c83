#include "acred_build.h"
#include "credproc.h"
#include "cache.h"
#include "config.h"
#include "device.h"
#include "escape.h"
#include "http.h"
#include "idaas.h"
#include "json.h"
#include "oidc.h"
#include "proto.h"
#include "secret.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define DEFAULT_CONF ACRED_SYSCONFDIR "/security/pam_acred.conf"

static void print_credentials(const struct acred_sts *s)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "mode", json_object_new_string("StsToken"));
    json_object_object_add(o, "access_key_id", json_object_new_string(s->access_key_id));
    json_object_object_add(o, "access_key_secret", json_object_new_string(s->access_key_secret));
    json_object_object_add(o, "sts_token", json_object_new_string(s->security_token));
    json_object_object_add(o, "expiration", json_object_new_string(s->expiration));
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    printf("%s\n", text);
    fflush(stdout);
    acred_wipe((char *)text, strlen(text));
    json_object_put(o);
}

/* one event=refresh line at authpriv: the helper is its own program here, not a module */
static void log_refresh(const struct passwd *pw, const struct acred_cache_entry *e)
{
    struct acred_line l;
    char uid[24];
    snprintf(uid, sizeof(uid), "%lu", (unsigned long)pw->pw_uid);
    acred_line_init(&l, 0);
    acred_line_add(&l, "event", "refresh");
    acred_line_add(&l, "result", "success");
    acred_line_add(&l, "user", pw->pw_name);
    acred_line_add(&l, "uid", uid);
    acred_line_add(&l, "role", e->role);
    acred_line_add(&l, "access_key_id", e->sts.access_key_id);
    acred_line_add(&l, "expiration", e->sts.expiration);
    acred_line_add(&l, "session", e->session);
    openlog("acred-helper", LOG_PID, LOG_AUTHPRIV);
    syslog(LOG_INFO, "%s", acred_line_end(&l));
    closelog();
}

/* a fresh IdP access token: the stored one while it lasts, else from the refresh token */
static enum acred_reason access_token(struct acred_http *h, struct acred_cache_entry *e,
                                      char *msg, size_t msglen)
{
    if (e->token && e->token_exp > (long long)time(NULL) + 30)
        return ACRED_OK;
    if (e->refresh_token == NULL) {
        snprintf(msg, msglen, "your IDaaS login has expired; log in again");
        return ACRED_R_TOKEN_EXPIRED;
    }
    struct acred_oidc o = {0};
    struct acred_tokens t = {0};
    enum acred_reason r = acred_oidc_discover(h, &o, msg, msglen);
    if (r == ACRED_OK)
        r = acred_token_refresh(h, &o, e->refresh_token, &t, msg, msglen);
    if (r == ACRED_OK) {
        acred_secret_free(e->token);
        e->token = t.access_token;
        e->token_exp = 0; /* unknown: try it once more next time */
        if (t.refresh_token) {
            acred_secret_free(e->refresh_token);
            e->refresh_token = t.refresh_token;
        }
        memset(&t, 0, sizeof(t));
    }
    acred_oidc_free(&o);
    return r;
}

static enum acred_reason refresh(struct acred_cache_entry *e, const char *conf, char *msg,
                                 size_t msglen)
{
    struct acred_config cfg;
    struct acred_http h = {0};
    struct acred_sts sts;
    struct acred_idp_error err;
    if (acred_config_load(conf, &cfg, msg, msglen) != 0)
        return ACRED_R_CONFIG_ERROR;
    enum acred_reason r = acred_http_init(&h, &cfg) == 0 ? ACRED_OK : ACRED_R_HELPER_ERROR;
    if (r == ACRED_OK)
        r = access_token(&h, e, msg, msglen);
    if (r == ACRED_OK)
        r = acred_idaas_obtain(&h, e->token, e->role, e->duration ? e->duration : cfg.duration,
                               &sts, &err, msg, msglen);
    if (r == ACRED_OK) {
        acred_sts_free(&e->sts);
        e->sts = sts;
    }
    acred_http_cleanup(&h);
    acred_config_free(&cfg);
    return r;
}

int acred_credential_process(const char *conf)
{
    struct passwd *pw = getpwuid(getuid());
    struct acred_cache_entry e;
    char msg[512] = "";
    if (pw == NULL || acred_cache_read_user(getuid(), &e) != 0) {
        fprintf(stderr, "acred-helper: no pam_acred credentials for this user; log in through "
                        "pam_acred first\n");
        return 1;
    }
    int rc = 0;
    if (!acred_cache_fresh(&e, time(NULL))) {
        enum acred_reason r = refresh(&e, conf ? conf : e.conf ? e.conf : DEFAULT_CONF, msg,
                                      sizeof(msg));
        if (r != ACRED_OK) {
            fprintf(stderr, "acred-helper: cannot refresh the cloud credentials (%s): %s\n",
                    acred_reason_word(r), msg);
            rc = 1;
        } else {
            if (acred_cache_write_user(pw, &e) != 0)
                fprintf(stderr, "acred-helper: warning: cannot store the new credentials\n");
            log_refresh(pw, &e);
        }
    }
    if (rc == 0)
        print_credentials(&e.sts);
    acred_cache_entry_free(&e);
    return rc;
}
