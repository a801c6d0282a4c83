/*
 * idaas.h: IDaaS obtainAccessCredential (GET {developer_api}/v2/{instance_id}/cloudAccountRoles/
 * _/actions/obtainAccessCredential) and the STS credentials it answers with.
 */
#ifndef ACRED_IDAAS_H
#define ACRED_IDAAS_H

#include <time.h>
#include "http.h"

struct acred_sts {
    char *access_key_id;     /* alibabaCloudStsToken.accessKeyId */
    char *access_key_secret; /* secret */
    char *security_token;    /* secret */
    char *expiration;        /* ISO-8601 UTC, as the IdP wrote it */
    time_t expires_at;
};

/* what an IdP or gateway error said: all printable ASCII, short */
struct acred_idp_error {
    char code[64];
    char message[256];
    char request_id[96];
};

/*
 * Parse a 200 answer. Every STS field must be a non-empty string without control characters and
 * expiration a "YYYY-MM-DDTHH:MM:SSZ" time. ACRED_OK or ACRED_R_IDP_BAD_RESPONSE.
 */
enum acred_reason acred_idaas_parse_credential(const char *body, size_t len,
                                               struct acred_sts *sts);

/* Parse an error answer (IDaaS: error/error_description; gateway: Code/Message/RequestId). */
void acred_idaas_parse_error(const char *body, size_t len, struct acred_idp_error *e);

/*
 * The whole call. On failure msg holds one plain sentence naming the IdP's code and message,
 * and e what the IdP said. 4xx: ACRED_R_IDP_DENIED; 5xx: ACRED_R_IDP_UNAVAILABLE.
 */
enum acred_reason acred_idaas_obtain(struct acred_http *h, const char *token,
                                     const char *external_id, long duration,
                                     struct acred_sts *sts, struct acred_idp_error *e,
                                     char *msg, size_t msglen);

/* "2026-11-22T10:00:00Z" to time_t; -1 when it is not exactly that form */
time_t acred_parse_utc(const char *s);

void acred_sts_free(struct acred_sts *sts);

#endif
