#include "acred_build.h"
#include "module.h"
#include "proto.h"

#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>

/* The variables pam_acred may set: CONTRACT.md "The session environment". Nothing else. */
static const char *const allowed[] = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_IGNORE_PROFILE", "ALIBABA_CLOUD_REGION_ID",
    "ACRED_ROLE", "ACRED_EXPIRATION", "ACRED_SESSION",
    "ALIBABA_CLOUD_CONFIG_FILE", "ALIBABA_CLOUD_PROFILE",
    "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN", "ALICLOUD_REGION",
    "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN",
    "EDAS_ACCESS_KEY", "EDAS_SECRET_KEY", "EDAS_TENANT_ID", "EDAS_ADDRESS_SERVER_HOST",
    "EDAS_NAMESPACE_ID", "EDAS_REGION_ID", "EDAS_MSE_REGISTRY_TYPE", "EDAS_MSE_INSTANCE_ID",
    "EDAS_MSE_INTERNET_ADDRESS", "EDAS_MSE_INTRANET_ADDRESS",
    "PAI_DSW_TOKEN", "PAI_DSW_INSTANCE_ID",
};

/* "NAME=VALUE" with NAME in the list and no control character in VALUE */
int acred_env_allowed(const char *nv)
{
    const char *eq = strchr(nv, '=');
    if (eq == NULL)
        return 0;
    size_t nlen = (size_t)(eq - nv);
    int known = 0;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strlen(allowed[i]) == nlen && memcmp(allowed[i], nv, nlen) == 0)
            known = 1;
    if (!known)
        return 0;
    for (const unsigned char *p = (const unsigned char *)eq + 1; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int acred_env_apply(struct acred_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_env; i++) {
        int rc = pam_putenv(ctx->pamh, ctx->env[i]);
        if (rc != PAM_SUCCESS)
            return rc;
    }
    return PAM_SUCCESS;
}

void acred_env_remove_all(pam_handle_t *pamh)
{
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (pam_getenv(pamh, allowed[i]) != NULL)
            pam_putenv(pamh, allowed[i]); /* "NAME" alone removes it */
}

const char *acred_env_get(pam_handle_t *pamh, const char *name)
{
    return pam_getenv(pamh, name);
}

void acred_ctx_free(struct acred_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_env; i++) {
        acred_wipe(ctx->env[i], strlen(ctx->env[i]));
        free(ctx->env[i]);
        ctx->env[i] = NULL;
    }
    ctx->n_env = 0;
    for (size_t i = 0; i < ctx->n_fields; i++) {
        free(ctx->fields[i].value);
        ctx->fields[i].value = NULL;
    }
    ctx->n_fields = 0;
}
