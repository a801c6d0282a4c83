#include "acred_build.h"
#include "module.h"

#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>

int acred_parse_args(struct acred_ctx *ctx, pam_handle_t *pamh, const char *group, int argc,
                     const char **argv)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->pamh = pamh;
    ctx->group = group;
    ctx->conf = ACRED_DEFAULT_CONF;
    ctx->helper = ACRED_DEFAULT_HELPER;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "conf=", 5) == 0 && a[5] == '/')
            ctx->conf = a + 5;
        else if (strncmp(a, "helper=", 7) == 0 && a[7] == '/')
            ctx->helper = a + 7;
        else if (strcmp(a, "debug") == 0)
            ctx->debug = 1;
        else {
            pam_syslog(pamh, LOG_ERR,
                       "unknown or malformed argument \"%s\" (allowed: conf=/PATH helper=/PATH "
                       "debug); refusing",
                       a);
            return PAM_SERVICE_ERR;
        }
    }
    return PAM_SUCCESS;
}
