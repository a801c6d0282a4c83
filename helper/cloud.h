/*
 * cloud.h: the Alibaba Cloud calls a login makes with its STS credentials, signed with
 * ACS3-HMAC-SHA256 (acs3.h), at the same time, once the credentials are in:
 *
 *   [edas]  EDAS GetSecureToken  GET {endpoint}/pop/v5/secure_token?NamespaceId=...
 *           (action GetSecureToken, version 2017-08-01)
 *   [dsw]   PAI-DSW GetToken     GET {endpoint}/api/v2/tokens?InstanceId=..&ExpireTime=..&Type=..
 *           (action GetToken, version 2022-01-01)
 *
 * A failure is a transfer error, an HTTP 4xx/5xx (the gateway's Code, Message, RequestId,
 * Recommend), or an answer whose own Code (EDAS: not 200) or Success (DSW: not true) says so
 * under HTTP 200. Its code goes to the audit line (edas_code, dsw_code) and, in one sentence,
 * to the person; with `required = yes` it denies the login (edas_error, dsw_error).
 */
#ifndef ACRED_CLOUD_H
#define ACRED_CLOUD_H

#include "config.h"
#include "idaas.h"
#include "reason.h"

/* what EDAS GetSecureToken answered (SecureToken.*): printable ASCII, secret_key a secret */
struct acred_edas_token {
    char *access_key, *secret_key, *tenant_id, *address_server_host;
    char *region_id;     /* SecureToken.RegionId: the namespace ("cn-shenzhen:prod") */
    char *belong_region; /* SecureToken.BelongRegion: the region ("cn-shenzhen") */
    char *mse_registry_type, *mse_instance_id, *mse_internet_address, *mse_intranet_address;
};

/*
 * Parse an answer of status with body. ACRED_OK; ACRED_R_IDP_DENIED (4xx, or a Code/Success
 * that says failure under 200), ACRED_R_IDP_UNAVAILABLE (5xx), ACRED_R_IDP_BAD_RESPONSE
 * (not JSON, a required field missing, a value with a control character). e gets the answer's
 * Code, Message and RequestId (or "http_NNN" / "bad_response" as code when it had none).
 */
enum acred_reason acred_edas_parse(long status, const char *body, size_t len,
                                   struct acred_edas_token *t, struct acred_idp_error *e);
void acred_edas_token_free(struct acred_edas_token *t);

/* PAI-DSW GetToken: *token (a secret, malloc'd) on ACRED_OK; otherwise as acred_edas_parse */
enum acred_reason acred_dsw_parse(long status, const char *body, size_t len, char **token,
                                  struct acred_idp_error *e);

/* the outcome of one call */
struct acred_cloud_call {
    int enabled;
    enum acred_reason reason; /* ACRED_OK when it worked */
    char code[64];            /* for the audit line; "" when it worked or did not run */
    char notice[400];         /* one sentence for the person about a failure; "" otherwise */
};

#define ACRED_CLOUD_MAX_VARS 12

struct acred_cloud_var {
    const char *name;
    char *value; /* may be a secret: zeroed when freed */
};

struct acred_cloud {
    struct acred_cloud_call edas, dsw;
    struct acred_cloud_var vars[ACRED_CLOUD_MAX_VARS]; /* for the session, in order */
    size_t n_vars;
};

/*
 * Make the calls that cfg turns on ([edas], [dsw]) in parallel with the STS credentials sts,
 * each bounded by cfg->timeout. ACRED_OK, unless a call with `required = yes` failed:
 * ACRED_R_EDAS_ERROR or ACRED_R_DSW_ERROR, with one sentence in msg. Either way c says what
 * each call did and holds the variables of those that worked.
 */
enum acred_reason acred_cloud_tokens(const struct acred_config *cfg, const struct acred_sts *sts,
                                     struct acred_cloud *c, char *msg, size_t msglen);
void acred_cloud_free(struct acred_cloud *c);

#endif
