#include "acred_build.h"
#include "cloud.h"
#include "acs3.h"
#include "http.h"
#include "json.h"
#include "proto.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX 8192 /* bytes of one value we take from an answer */

/* ---- reading answers ---------------------------------------------------------------------- */

/*
 * obj[key] as a string of printable ASCII into *out (malloc'd). 0: done (*out NULL when absent,
 * null, or empty); -1: the value is there but unfit (not a string, control character, NUL,
 * too long), or required and absent.
 */
static int field(json_object *obj, const char *key, int required, char **out)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return required ? -1 : 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n != strlen(s) || n > FIELD_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return -1;
    if (n == 0)
        return required ? -1 : 0;
    return (*out = strdup(s)) ? 0 : -1;
}

/* printable ASCII of s into out, any other byte as '?' */
static void copy_clean(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < outlen; p++)
        out[o++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
    out[o] = '\0';
}

/* Code (a string, or EDAS's integer), Message and RequestId of an answer */
static void read_error(json_object *doc, struct acred_idp_error *e)
{
    json_object *v;
    if (json_object_object_get_ex(doc, "Code", &v)) {
        if (json_object_is_type(v, json_type_string))
            copy_clean(json_object_get_string(v), e->code, sizeof(e->code));
        else if (json_object_is_type(v, json_type_int))
            snprintf(e->code, sizeof(e->code), "%lld", (long long)json_object_get_int64(v));
    }
    const char *s = acred_json_string(doc, "Message");
    if (s)
        copy_clean(s, e->message, sizeof(e->message));
    if ((s = acred_json_string(doc, "RequestId")) != NULL)
        copy_clean(s, e->request_id, sizeof(e->request_id));
}

/* the answer as a JSON object (and its error fields in e), or NULL */
static json_object *parse_doc(const char *body, size_t len, struct acred_idp_error *e)
{
    memset(e, 0, sizeof(*e));
    json_object *doc = acred_json_parse(body, len);
    if (doc && !json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        doc = NULL;
    }
    if (doc)
        read_error(doc, e);
    return doc;
}

/* zero obj[key] (a string json-c owns) before the document is freed: it may be a secret */
static void wipe_string(json_object *obj, const char *key)
{
    json_object *v;
    if (obj && json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
        acred_wipe((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static enum acred_reason status_reason(long status)
{
    return status >= 500 ? ACRED_R_IDP_UNAVAILABLE
           : status >= 400 ? ACRED_R_IDP_DENIED
           : status == 200 ? ACRED_OK : ACRED_R_IDP_BAD_RESPONSE;
}

/* the code a failure is known by when the answer named none */
static void settle_code(enum acred_reason r, long status, struct acred_idp_error *e)
{
    if (r == ACRED_OK) {
        e->code[0] = e->message[0] = '\0';
        return;
    }
    if (r == ACRED_R_IDP_BAD_RESPONSE && status == 200)
        snprintf(e->code, sizeof(e->code), "bad_response");
    else if (e->code[0] == '\0' && status != 200)
        snprintf(e->code, sizeof(e->code), "http_%ld", status);
    else if (e->code[0] == '\0')
        snprintf(e->code, sizeof(e->code), "failed");
}

void acred_edas_token_free(struct acred_edas_token *t)
{
    char **all[] = {&t->access_key, &t->secret_key, &t->tenant_id, &t->address_server_host,
                    &t->region_id, &t->belong_region, &t->mse_registry_type,
                    &t->mse_instance_id, &t->mse_internet_address, &t->mse_intranet_address};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        acred_secret_free(*all[i]);
        *all[i] = NULL;
    }
}

/* EDAS says success with "Code": 200 (an integer; "200" taken too) */
static int edas_code_ok(json_object *doc, int *present)
{
    json_object *v;
    *present = json_object_object_get_ex(doc, "Code", &v) && v != NULL;
    if (!*present)
        return 0;
    if (json_object_is_type(v, json_type_int))
        return json_object_get_int64(v) == 200;
    return json_object_is_type(v, json_type_string) &&
           strcmp(json_object_get_string(v), "200") == 0;
}

static enum acred_reason edas_fields(json_object *doc, struct acred_edas_token *t)
{
    json_object *st;
    if (!json_object_object_get_ex(doc, "SecureToken", &st) ||
        !json_object_is_type(st, json_type_object))
        return ACRED_R_IDP_BAD_RESPONSE;
    int bad = field(st, "AccessKey", 1, &t->access_key) |
              field(st, "SecretKey", 1, &t->secret_key) |
              field(st, "TenantId", 1, &t->tenant_id) |
              field(st, "AddressServerHost", 1, &t->address_server_host) |
              field(st, "RegionId", 0, &t->region_id) |
              field(st, "BelongRegion", 0, &t->belong_region) |
              field(st, "MseRegistryType", 0, &t->mse_registry_type) |
              field(st, "MseInstanceId", 0, &t->mse_instance_id) |
              field(st, "MseInternetAddress", 0, &t->mse_internet_address) |
              field(st, "MseIntranetAddress", 0, &t->mse_intranet_address);
    return bad ? ACRED_R_IDP_BAD_RESPONSE : ACRED_OK;
}

enum acred_reason acred_edas_parse(long status, const char *body, size_t len,
                                   struct acred_edas_token *t, struct acred_idp_error *e)
{
    memset(t, 0, sizeof(*t));
    json_object *doc = parse_doc(body, len, e);
    enum acred_reason r = status_reason(status);
    if (r == ACRED_OK) {
        int present;
        if (doc == NULL)
            r = ACRED_R_IDP_BAD_RESPONSE;
        else if (!edas_code_ok(doc, &present))
            r = present ? ACRED_R_IDP_DENIED : ACRED_R_IDP_BAD_RESPONSE;
        else
            r = edas_fields(doc, t);
    }
    settle_code(r, status, e);
    if (doc) {
        json_object *st = NULL;
        if (json_object_object_get_ex(doc, "SecureToken", &st))
            wipe_string(st, "SecretKey");
        json_object_put(doc);
    }
    if (r != ACRED_OK)
        acred_edas_token_free(t);
    return r;
}

enum acred_reason acred_dsw_parse(long status, const char *body, size_t len, char **token,
                                  struct acred_idp_error *e)
{
    *token = NULL;
    json_object *doc = parse_doc(body, len, e), *ok;
    enum acred_reason r = status_reason(status);
    if (r == ACRED_OK) {
        /* Success decides: the documented example has Code "ValidationError" with Success true */
        if (doc == NULL || !json_object_object_get_ex(doc, "Success", &ok) ||
            !json_object_is_type(ok, json_type_boolean))
            r = ACRED_R_IDP_BAD_RESPONSE;
        else if (!json_object_get_boolean(ok))
            r = ACRED_R_IDP_DENIED;
        else if (field(doc, "Token", 1, token) != 0)
            r = ACRED_R_IDP_BAD_RESPONSE;
    }
    settle_code(r, status, e);
    if (doc) {
        wipe_string(doc, "Token");
        json_object_put(doc);
    }
    if (r != ACRED_OK) {
        acred_secret_free(*token);
        *token = NULL;
    }
    return r;
}

/* ---- the calls ---------------------------------------------------------------------------- */

struct api {
    const char *name;     /* "EDAS GetSecureToken" */
    const char *vars;     /* "EDAS_*" */
    const char *endpoint; /* [section] endpoint */
    const char *path, *action, *version;
    struct acred_acs3_pair query[3];
    size_t n_query;
    int required;
    enum acred_reason denial; /* the login's reason when required and failed */
    struct acred_cloud_call *out;
    struct acred_acs3_signed sig;
};

static const char *transport_code(enum acred_reason r)
{
    switch (r) {
    case ACRED_R_TIMEOUT: return "timeout";
    case ACRED_R_IDP_UNAVAILABLE: return "unreachable";
    case ACRED_R_TLS_ERROR: return "tls_error";
    case ACRED_R_IDP_BAD_RESPONSE: return "bad_response";
    case ACRED_R_CONFIG_ERROR: return "config_error";
    default: return "helper_error";
    }
}

/* what went wrong, for the person: "HTTP 403, Forbidden.RAM: ..." */
static void describe(const struct acred_http_get_req *q, const struct acred_idp_error *e,
                     char *out, size_t outlen)
{
    if (q->reason != ACRED_OK)
        snprintf(out, outlen, "%s", q->msg);
    else if (q->resp.status != 200)
        snprintf(out, outlen, "HTTP %ld, %s%s%.160s", q->resp.status, e->code,
                 e->message[0] ? ": " : "", e->message);
    else if (strcmp(e->code, "bad_response") == 0)
        snprintf(out, outlen, "an answer this host cannot read");
    else
        snprintf(out, outlen, "code %s%s%.160s", e->code, e->message[0] ? ": " : "", e->message);
}

static void failed(struct api *a, const struct acred_http_get_req *q, enum acred_reason r,
                   const struct acred_idp_error *e)
{
    char what[300];
    a->out->reason = r;
    if (q->reason != ACRED_OK)
        snprintf(a->out->code, sizeof(a->out->code), "%s", transport_code(q->reason));
    else
        snprintf(a->out->code, sizeof(a->out->code), "%s", e->code);
    describe(q, e, what, sizeof(what));
    snprintf(a->out->notice, sizeof(a->out->notice), "%s failed (%s)%s%s", a->name, what,
             a->required ? "" : "; the session has no ", a->required ? "" : a->vars);
}

static void add_var(struct acred_cloud *c, const char *name, const char *value)
{
    if (value == NULL || value[0] == '\0' || c->n_vars >= ACRED_CLOUD_MAX_VARS)
        return;
    char *copy = strdup(value);
    if (copy == NULL)
        return;
    c->vars[c->n_vars].name = name;
    c->vars[c->n_vars++].value = copy;
}

static void edas_done(struct api *a, struct acred_http_get_req *q, const struct acred_config *cfg,
                      struct acred_cloud *c)
{
    struct acred_edas_token t;
    struct acred_idp_error e;
    memset(&t, 0, sizeof(t));
    memset(&e, 0, sizeof(e));
    enum acred_reason r = q->reason;
    if (r == ACRED_OK)
        r = acred_edas_parse(q->resp.status, q->resp.body, q->resp.len, &t, &e);
    if (r != ACRED_OK) {
        failed(a, q, r, &e);
        return;
    }
    char region[128];
    const char *ns = t.region_id ? t.region_id : cfg->edas_namespace_id;
    snprintf(region, sizeof(region), "%.*s", (int)strcspn(ns, ":"), ns);
    add_var(c, "EDAS_ACCESS_KEY", t.access_key);
    add_var(c, "EDAS_SECRET_KEY", t.secret_key);
    add_var(c, "EDAS_TENANT_ID", t.tenant_id);
    add_var(c, "EDAS_ADDRESS_SERVER_HOST", t.address_server_host);
    add_var(c, "EDAS_NAMESPACE_ID", ns);
    add_var(c, "EDAS_REGION_ID", t.belong_region ? t.belong_region : region);
    add_var(c, "EDAS_MSE_REGISTRY_TYPE", t.mse_registry_type);
    add_var(c, "EDAS_MSE_INSTANCE_ID", t.mse_instance_id);
    add_var(c, "EDAS_MSE_INTERNET_ADDRESS", t.mse_internet_address);
    add_var(c, "EDAS_MSE_INTRANET_ADDRESS", t.mse_intranet_address);
    acred_edas_token_free(&t);
    a->out->reason = ACRED_OK;
}

static void dsw_done(struct api *a, struct acred_http_get_req *q, const struct acred_config *cfg,
                     struct acred_cloud *c)
{
    char *token = NULL;
    struct acred_idp_error e;
    memset(&e, 0, sizeof(e));
    enum acred_reason r = q->reason;
    if (r == ACRED_OK)
        r = acred_dsw_parse(q->resp.status, q->resp.body, q->resp.len, &token, &e);
    if (r != ACRED_OK) {
        failed(a, q, r, &e);
        return;
    }
    add_var(c, "PAI_DSW_TOKEN", token);
    add_var(c, "PAI_DSW_INSTANCE_ID", cfg->dsw_instance_id);
    acred_secret_free(token);
    a->out->reason = ACRED_OK;
}

/* the required call that failed first, as the login's reason */
static enum acred_reason verdict(const struct api *apis, size_t n, char *msg, size_t msglen)
{
    for (size_t i = 0; i < n; i++) {
        if (!apis[i].required || apis[i].out->reason == ACRED_OK)
            continue;
        snprintf(msg, msglen, "Login failed: %s", apis[i].out->notice);
        return apis[i].denial;
    }
    return ACRED_OK;
}

enum acred_reason acred_cloud_tokens(const struct acred_config *cfg, const struct acred_sts *sts,
                                     struct acred_cloud *c, char *msg, size_t msglen)
{
    struct api apis[2];
    struct acred_http_get_req reqs[2];
    char expire[24];
    size_t n = 0;
    memset(c, 0, sizeof(*c));
    memset(apis, 0, sizeof(apis));
    memset(reqs, 0, sizeof(reqs));
    snprintf(expire, sizeof(expire), "%ld", cfg->dsw_expire_time);
    if (cfg->edas_enabled)
        apis[n++] = (struct api){
            .name = "EDAS GetSecureToken", .vars = "EDAS_* variables",
            .endpoint = cfg->edas_endpoint, .path = "/pop/v5/secure_token",
            .action = "GetSecureToken", .version = "2017-08-01",
            .query = {{"NamespaceId", cfg->edas_namespace_id}}, .n_query = 1,
            .required = cfg->edas_required, .denial = ACRED_R_EDAS_ERROR,
            .out = &c->edas};
    if (cfg->dsw_enabled)
        apis[n++] = (struct api){
            .name = "PAI-DSW GetToken", .vars = "PAI_DSW_* variables",
            .endpoint = cfg->dsw_endpoint, .path = "/api/v2/tokens",
            .action = "GetToken", .version = "2022-01-01",
            .query = {{"InstanceId", cfg->dsw_instance_id}, {"ExpireTime", expire},
                      {"Type", cfg->dsw_type}},
            .n_query = 3, .required = cfg->dsw_required, .denial = ACRED_R_DSW_ERROR,
            .out = &c->dsw};
    if (n == 0)
        return ACRED_OK;

    for (size_t i = 0; i < n; i++) {
        struct acred_acs3_call call = {
            .method = "GET", .endpoint = apis[i].endpoint, .path = apis[i].path,
            .query = apis[i].query, .n_query = apis[i].n_query, .action = apis[i].action,
            .version = apis[i].version, .access_key_id = sts->access_key_id,
            .access_key_secret = sts->access_key_secret, .security_token = sts->security_token,
        };
        apis[i].out->enabled = 1;
        if (acred_acs3_sign(&call, &apis[i].sig) != 0) {
            for (size_t k = 0; k < i; k++)
                acred_acs3_signed_free(&apis[k].sig);
            snprintf(msg, msglen, "Login failed: internal error in acred-helper");
            return ACRED_R_HELPER_ERROR;
        }
        reqs[i].url = apis[i].sig.url;
        reqs[i].headers = (const char *const *)apis[i].sig.headers;
    }
    acred_http_get_parallel(cfg, reqs, n);
    for (size_t i = 0; i < n; i++) {
        if (apis[i].out == &c->edas)
            edas_done(&apis[i], &reqs[i], cfg, c);
        else
            dsw_done(&apis[i], &reqs[i], cfg, c);
        acred_http_resp_free(&reqs[i].resp);
        acred_acs3_signed_free(&apis[i].sig);
    }
    return verdict(apis, n, msg, msglen);
}

void acred_cloud_free(struct acred_cloud *c)
{
    for (size_t i = 0; i < c->n_vars; i++)
        acred_secret_free(c->vars[i].value);
    memset(c, 0, sizeof(*c));
}
