#include "acred_build.h"
#include "module.h"
#include "escape.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <security/pam_ext.h>

static const char *const helper_keys[] = {ACRED_AUDIT_HELPER_KEYS};

const char *acred_field(const struct acred_ctx *ctx, const char *key)
{
    for (size_t i = 0; i < ctx->n_fields; i++)
        if (strcmp(ctx->fields[i].key, key) == 0)
            return ctx->fields[i].value;
    return NULL;
}

static const char *item(pam_handle_t *pamh, int type)
{
    const void *v = NULL;
    if (pam_get_item(pamh, type, &v) != PAM_SUCCESS)
        return NULL;
    return v;
}

/* the fields every line starts with: event, result, user, ruser, service, rhost, tty */
static void add_head(struct acred_line *l, pam_handle_t *pamh, const char *event,
                     const char *result, const char *user)
{
    acred_line_add(l, "event", event);
    acred_line_add(l, "result", result);
    acred_line_add(l, "user", user);
    acred_line_add(l, "ruser", item(pamh, PAM_RUSER));
    acred_line_add(l, "service", item(pamh, PAM_SERVICE));
    acred_line_add(l, "rhost", item(pamh, PAM_RHOST));
    acred_line_add(l, "tty", item(pamh, PAM_TTY));
}

void acred_audit_auth(struct acred_ctx *ctx, const char *user, const char *result,
                      const char *reason)
{
    acred_audit_event(ctx, "auth", user, result, reason);
}

void acred_audit_event(struct acred_ctx *ctx, const char *event, const char *user,
                       const char *result, const char *reason)
{
    struct acred_line l;
    char pid[24];
    acred_line_init(&l, ctx->json);
    add_head(&l, ctx->pamh, event, result, user);
    for (size_t i = 0; i < sizeof(helper_keys) / sizeof(helper_keys[0]); i++) {
        const char *v = acred_field(ctx, helper_keys[i]);
        if (strcmp(helper_keys[i], "reason") == 0 && reason != NULL)
            v = reason; /* the module's own reason (timeout, helper_error) wins */
        acred_line_add(&l, helper_keys[i], v);
    }
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    acred_line_add(&l, "pid", pid);
    pam_syslog(ctx->pamh, strcmp(result, "success") == 0 ? LOG_INFO : LOG_NOTICE, "%s",
               acred_line_end(&l));
}

void acred_audit_session(struct acred_ctx *ctx, const char *event, const char *user,
                         const char *method)
{
    struct acred_line l;
    char pid[24];
    acred_line_init(&l, ctx->json);
    add_head(&l, ctx->pamh, event, NULL, user);
    acred_line_add(&l, "method", method);
    acred_line_add(&l, "role", acred_env_get(ctx->pamh, "ACRED_ROLE"));
    acred_line_add(&l, "access_key_id", acred_env_get(ctx->pamh, "ALIBABA_CLOUD_ACCESS_KEY_ID"));
    acred_line_add(&l, "expiration", acred_env_get(ctx->pamh, "ACRED_EXPIRATION"));
    acred_line_add(&l, "session", acred_env_get(ctx->pamh, "ACRED_SESSION"));
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    acred_line_add(&l, "pid", pid);
    pam_syslog(ctx->pamh, LOG_INFO, "%s", acred_line_end(&l));
}
