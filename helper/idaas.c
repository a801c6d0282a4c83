#include "acred_build.h"
#include "idaas.h"
#include "json.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void acred_sts_free(struct acred_sts *sts)
{
    acred_secret_free(sts->access_key_id);
    acred_secret_free(sts->access_key_secret);
    acred_secret_free(sts->security_token);
    acred_secret_free(sts->expiration);
    memset(sts, 0, sizeof(*sts));
}

time_t acred_parse_utc(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strlen(s) != 20)
        return -1;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    return timegm(&tm);
}

/* a non-empty string of printable ASCII */
static char *clean_string(json_object *obj, const char *key)
{
    const char *v = acred_json_string(obj, key);
    if (v == NULL || v[0] == '\0' || strlen(v) > 8192)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return NULL;
    return strdup(v);
}

enum acred_reason acred_idaas_parse_credential(const char *body, size_t len,
                                               struct acred_sts *sts)
{
    memset(sts, 0, sizeof(*sts));
    json_object *doc = acred_json_parse(body, len), *cred = NULL, *token = NULL;
    if (doc == NULL ||
        !json_object_object_get_ex(doc, "cloudAccountRoleAccessCredential", &cred) ||
        !json_object_object_get_ex(cred, "alibabaCloudStsToken", &token) ||
        !json_object_is_type(token, json_type_object)) {
        if (doc)
            json_object_put(doc);
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    sts->access_key_id = clean_string(token, "accessKeyId");
    sts->access_key_secret = clean_string(token, "accessKeySecret");
    sts->security_token = clean_string(token, "securityToken");
    sts->expiration = clean_string(token, "expiration");
    json_object_put(doc);
    if (sts->access_key_id == NULL || sts->access_key_secret == NULL ||
        sts->security_token == NULL || sts->expiration == NULL ||
        (sts->expires_at = acred_parse_utc(sts->expiration)) < 0) {
        acred_sts_free(sts);
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    return ACRED_OK;
}

/* copy the first of keys that obj has as a string, printable ASCII only */
static void copy_first(json_object *obj, const char *const *keys, char *out, size_t outlen)
{
    for (; *keys; keys++) {
        const char *v = acred_json_string(obj, *keys);
        if (v == NULL || v[0] == '\0')
            continue;
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *)v; *p && o + 1 < outlen; p++)
            out[o++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
        out[o] = '\0';
        return;
    }
}

void acred_idaas_parse_error(const char *body, size_t len, struct acred_idp_error *e)
{
    static const char *const codes[] = {"error", "error_code", "code", "Code", NULL};
    static const char *const messages[] = {"error_description", "error_message", "message",
                                           "Message", NULL};
    static const char *const ids[] = {"requestId", "request_id", "RequestId", NULL};
    json_object *doc = acred_json_parse(body, len);
    if (doc == NULL)
        return;
    if (json_object_is_type(doc, json_type_object)) {
        copy_first(doc, codes, e->code, sizeof(e->code));
        copy_first(doc, messages, e->message, sizeof(e->message));
        copy_first(doc, ids, e->request_id, sizeof(e->request_id));
    }
    json_object_put(doc);
}

static char *obtain_url(struct acred_http *h, const char *external_id, long duration)
{
    const struct acred_config *cfg = h->cfg;
    char *inst = curl_easy_escape(h->curl, cfg->instance_id, 0);
    char *role = curl_easy_escape(h->curl, external_id, 0);
    char *url = NULL;
    if (inst && role) {
        size_t n = strlen(cfg->developer_api) + strlen(inst) + strlen(role) + 160;
        if ((url = malloc(n)) != NULL)
            snprintf(url, n,
                     "%s/v2/%s/cloudAccountRoles/_/actions/obtainAccessCredential"
                     "?cloudAccountRoleExternalId=%s&durationSeconds=%ld",
                     cfg->developer_api, inst, role, duration);
    }
    curl_free(inst);
    curl_free(role);
    return url;
}

enum acred_reason acred_idaas_obtain(struct acred_http *h, const char *token,
                                     const char *external_id, long duration,
                                     struct acred_sts *sts, struct acred_idp_error *e,
                                     char *msg, size_t msglen)
{
    memset(e, 0, sizeof(*e));
    memset(sts, 0, sizeof(*sts));
    char *url = obtain_url(h, external_id, duration);
    if (url == NULL)
        return ACRED_R_HELPER_ERROR;
    struct acred_http_resp r;
    enum acred_reason reason = acred_http_get(h, url, token, NULL, &r, msg, msglen);
    free(url);
    if (reason != ACRED_OK)
        return reason;
    snprintf(e->request_id, sizeof(e->request_id), "%s", r.request_id);
    if (r.status == 200) {
        reason = acred_idaas_parse_credential(r.body, r.len, sts);
        if (reason != ACRED_OK)
            snprintf(msg, msglen, "IDaaS answered with credentials this host cannot read");
    } else {
        acred_idaas_parse_error(r.body, r.len, e);
        reason = r.status >= 500 ? ACRED_R_IDP_UNAVAILABLE
                 : r.status >= 400 ? ACRED_R_IDP_DENIED : ACRED_R_IDP_BAD_RESPONSE;
        if (r.status >= 300 && r.status < 400)
            snprintf(msg, msglen, "IDaaS answered with a redirect (HTTP %ld), which this host "
                                  "never follows", r.status);
        else
            snprintf(msg, msglen, "IDaaS %s the credentials (HTTP %ld%s%s%s%s)",
                     r.status >= 500 ? "could not issue" : "refused", r.status,
                     e->code[0] ? ", " : "", e->code, e->message[0] ? ": " : "", e->message);
    }
    acred_http_resp_free(&r);
    return reason;
}
