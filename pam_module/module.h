/*
 * module.h: the inside of pam_acred.so. The entry points (pam_acred.c) are thin; arguments,
 * running the helper, the environment and the audit line live in their own files.
 */
#ifndef ACRED_MODULE_H
#define ACRED_MODULE_H

#include <stddef.h>
#include <security/pam_modules.h>

#include "acred_protocol.h"

#define ACRED_DEFAULT_CONF ACRED_SYSCONFDIR "/security/pam_acred.conf"
#define ACRED_DEFAULT_HELPER ACRED_BINDIR "/acred-helper"
#define ACRED_DATA_AUTH "pam_acred_authenticated" /* pam_set_data: the user authenticated */
#define ACRED_DATA_FORMAT "pam_acred_format"       /* pam_set_data: "json" after an auth that
                                                      said so, for lines without the helper */
#define ACRED_DATA_OWNER "pam_acred_owner"         /* pam_set_data: whose credentials the
                                                      open session holds, for its close */

/* one audit field the helper reported */
struct acred_field {
    char key[32];
    char *value;
};

#define ACRED_MAX_ENV 32
#define ACRED_MAX_FIELDS 16

struct acred_ctx {
    pam_handle_t *pamh;
    const char *conf;      /* conf= */
    const char *helper;    /* helper= */
    int debug;             /* debug */
    const char *group;     /* "auth", "session", ...: for messages */

    /* what the helper said */
    char *env[ACRED_MAX_ENV]; /* "NAME=VALUE", secrets: wiped when freed */
    size_t n_env;
    struct acred_field fields[ACRED_MAX_FIELDS];
    size_t n_fields;
    char result[16];          /* success, failure, ignored; "" when none came */
    int json;                 /* audit lines as JSON ([audit] format = json, said by the helper) */
};

/* args.c: parse the module arguments; PAM_SUCCESS or PAM_SERVICE_ERR (logged) */
int acred_parse_args(struct acred_ctx *ctx, pam_handle_t *pamh, const char *group, int argc,
                     const char **argv);

/* what the helper is asked to do (acred_protocol.h, the request) */
struct acred_request {
    const char *op;      /* "auth", "session-open", "session-close" */
    const char *user;    /* PAM_USER as it stands */
    const char *owner;   /* session ops: whose credentials */
    const char *session; /* session ops: ACRED_SESSION, or NULL */
};

/* run.c: check and run the helper once; fills ctx; returns a reason word of its own
 * ("timeout", "helper_error") or NULL when the helper answered a result */
const char *acred_run_helper(struct acred_ctx *ctx, const struct acred_request *req);

/* env.c */
int acred_env_allowed(const char *name_value);
int acred_env_apply(struct acred_ctx *ctx);            /* pam_putenv every collected variable */
void acred_env_remove_all(pam_handle_t *pamh);         /* unset every variable of the list */
const char *acred_env_get(pam_handle_t *pamh, const char *name);

/* audit.c: one audit line through pam_syslog */
void acred_audit_auth(struct acred_ctx *ctx, const char *user, const char *result,
                      const char *reason);
/* a line with the helper's fields (as the auth line) for another event */
void acred_audit_event(struct acred_ctx *ctx, const char *event, const char *user,
                       const char *result, const char *reason);
void acred_audit_session(struct acred_ctx *ctx, const char *event, const char *user,
                         const char *method);
const char *acred_field(const struct acred_ctx *ctx, const char *key);

void acred_ctx_free(struct acred_ctx *ctx);

#endif
