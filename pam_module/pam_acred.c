/*
 * pam_acred.c: the PAM entry points, kept thin: parse the arguments, make one call, log, free
 * and return at one place. Everything that talks to the network is acred-helper's.
 */
#include "acred_build.h"
#include "module.h"
#include "proto.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define ACRED_EXPORT __attribute__((visibility("default")))

static void free_user(pam_handle_t *pamh, void *data, int error_status)
{
    free(data);
}

/* the PAM result for a failure reason */
static int failure_code(const char *reason)
{
    if (reason == NULL)
        return PAM_AUTH_ERR;
    if (strcmp(reason, "config_error") == 0 || strcmp(reason, "helper_error") == 0)
        return PAM_SERVICE_ERR;
    if (strcmp(reason, "unknown_user") == 0)
        return PAM_USER_UNKNOWN;
    if (strcmp(reason, "idp_unavailable") == 0 || strcmp(reason, "timeout") == 0)
        return PAM_AUTHINFO_UNAVAIL;
    return PAM_AUTH_ERR;
}

/* run the helper for user and turn what it said into a PAM result and one audit line */
static int authenticate(struct acred_ctx *ctx, const char *user)
{
    struct acred_request req = {.op = "auth", .user = user};
    const char *reason = acred_run_helper(ctx, &req);
    const char *result = reason ? "failure" : ctx->result;
    int rc;

    if (strcmp(result, "success") == 0) {
        char *copy = strdup(user);
        rc = copy ? acred_env_apply(ctx) : PAM_BUF_ERR;
        if (rc == PAM_SUCCESS)
            rc = pam_set_data(ctx->pamh, ACRED_DATA_AUTH, copy, free_user);
        else
            free(copy); /* on success libpam owns it */
        if (rc == PAM_SUCCESS && ctx->json)
            rc = pam_set_data(ctx->pamh, ACRED_DATA_FORMAT, "json", NULL);
        if (rc != PAM_SUCCESS) {
            acred_env_remove_all(ctx->pamh);
            result = "failure";
            reason = "helper_error";
        }
    }
    if (strcmp(result, "success") == 0)
        rc = PAM_SUCCESS;
    else if (strcmp(result, "ignored") == 0)
        rc = PAM_IGNORE;
    else
        rc = failure_code(reason ? reason : acred_field(ctx, "reason"));
    if (reason == NULL && strcmp(result, "failure") == 0 && acred_field(ctx, "reason") == NULL)
        reason = "helper_error";
    acred_audit_auth(ctx, user, result, reason);
    return rc;
}

ACRED_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct acred_ctx ctx;
    const char *user = NULL;
    int rc = acred_parse_args(&ctx, pamh, "auth", argc, argv);
    if (rc != PAM_SUCCESS) {
        pam_get_item(pamh, PAM_USER, (const void **)&user); /* no prompt: only for the line */
        acred_audit_auth(&ctx, user, "failure", "config_error");
        goto done;
    }
    rc = pam_get_user(pamh, &user, NULL);
    if (rc != PAM_SUCCESS || user == NULL || user[0] == '\0') {
        acred_audit_auth(&ctx, NULL, "failure", "unknown_user");
        rc = PAM_USER_UNKNOWN;
        goto done;
    }
    rc = authenticate(&ctx, user);
done:
    acred_ctx_free(&ctx);
    return rc;
}

/* credentials are put in place by auth and session; sshd calls this twice */
ACRED_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct acred_ctx ctx;
    return acred_parse_args(&ctx, pamh, "setcred", argc, argv);
}

ACRED_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct acred_ctx ctx;
    const void *data = NULL;
    int rc = acred_parse_args(&ctx, pamh, "account", argc, argv);
    if (rc != PAM_SUCCESS)
        return rc;
    if (pam_get_data(pamh, ACRED_DATA_AUTH, &data) != PAM_SUCCESS || data == NULL)
        return PAM_IGNORE; /* this handle did not authenticate through the module */
    return PAM_SUCCESS;
}

/* may the session's target user get the credentials of owner? only owner or root */
static int target_allowed(const char *owner, const char *target)
{
    if (strcmp(owner, target) == 0)
        return 1;
    struct passwd *pw = getpwnam(target);
    return pw != NULL && pw->pw_uid == 0;
}

static const void *data(pam_handle_t *pamh, const char *name)
{
    const void *d = NULL;
    return pam_get_data(pamh, name, &d) == PAM_SUCCESS ? d : NULL;
}

/*
 * With credentials from this handle's authentication (or, under sshd, imported from its
 * keyboard-interactive child): register the session with the helper. Without (sudo within its
 * timestamp): ask the helper for the invoking user's cached credentials.
 */
static int open_session(struct acred_ctx *ctx, const char *user)
{
    pam_handle_t *pamh = ctx->pamh;
    const char *session = acred_env_get(pamh, "ACRED_SESSION");
    const char *owner = data(pamh, ACRED_DATA_AUTH);
    const void *ruser = NULL;
    if (owner == NULL && session != NULL)
        owner = user; /* sshd: authenticated in another process, as this very user */
    if (owner == NULL && pam_get_item(pamh, PAM_RUSER, &ruser) == PAM_SUCCESS)
        owner = ruser;
    if (owner == NULL || owner[0] == '\0')
        return PAM_IGNORE; /* nobody's credentials belong in this session */
    if (!target_allowed(owner, user)) {
        if (session == NULL)
            return PAM_IGNORE;
        ctx->json = data(pamh, ACRED_DATA_FORMAT) != NULL;
        acred_audit_session(ctx, "session_open", user, "withheld");
        acred_env_remove_all(pamh);
        return PAM_SUCCESS;
    }
    struct acred_request req = {.op = "session-open", .user = user, .owner = owner,
                                .session = session};
    const char *reason = acred_run_helper(ctx, &req);
    if (reason != NULL || strcmp(ctx->result, "success") != 0) {
        if (acred_field(ctx, "reason") != NULL || reason != NULL)
            acred_audit_event(ctx, "session_open", user, "failure", reason);
        return session ? PAM_SUCCESS : PAM_IGNORE; /* never lock a session out for this */
    }
    if (acred_env_apply(ctx) != PAM_SUCCESS) {
        acred_env_remove_all(pamh);
        return PAM_SESSION_ERR;
    }
    char *copy = strdup(owner);
    if (copy == NULL || pam_set_data(pamh, ACRED_DATA_OWNER, copy, free_user) != PAM_SUCCESS) {
        free(copy);
        return PAM_BUF_ERR;
    }
    acred_audit_session(ctx, "session_open", user, acred_field(ctx, "method"));
    return PAM_SUCCESS;
}

ACRED_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct acred_ctx ctx;
    const char *user = NULL;
    int rc = acred_parse_args(&ctx, pamh, "session", argc, argv);
    if (rc != PAM_SUCCESS)
        goto done;
    if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || user == NULL) {
        rc = PAM_SESSION_ERR;
        goto done;
    }
    rc = open_session(&ctx, user);
done:
    acred_ctx_free(&ctx);
    return rc;
}

ACRED_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct acred_ctx ctx;
    const char *user = NULL;
    const char *owner = data(pamh, ACRED_DATA_OWNER);
    int rc = acred_parse_args(&ctx, pamh, "session", argc, argv);
    if (rc != PAM_SUCCESS || owner == NULL) {
        rc = rc != PAM_SUCCESS ? rc : PAM_IGNORE; /* this handle opened no session of ours */
        goto done;
    }
    pam_get_item(pamh, PAM_USER, (const void **)&user);
    struct acred_request req = {.op = "session-close", .user = user ? user : owner,
                                .owner = owner,
                                .session = acred_env_get(pamh, "ACRED_SESSION")};
    (void)acred_run_helper(&ctx, &req);
    acred_audit_session(&ctx, "session_close", user, NULL);
    rc = PAM_SUCCESS;
done:
    acred_ctx_free(&ctx);
    return rc;
}
