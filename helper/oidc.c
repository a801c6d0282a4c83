#include "acred_build.h"
#include "oidc.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void acred_oidc_free(struct acred_oidc *o)
{
    if (o->discovery)
        json_object_put(o->discovery);
    if (o->jwks)
        json_object_put(o->jwks);
    memset(o, 0, sizeof(*o));
}

/* an https endpoint of the document, or NULL */
static const char *endpoint(json_object *doc, const char *key)
{
    const char *v = acred_json_string(doc, key);
    if (v == NULL || strncmp(v, "https://", 8) != 0 || strpbrk(v, " \t\r\n") != NULL)
        return NULL;
    return v;
}

enum acred_reason acred_oidc_parse_discovery(struct acred_oidc *o, const char *issuer,
                                             const char *body, size_t len, char *msg,
                                             size_t msglen)
{
    json_object *doc = acred_json_parse(body, len);
    if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
        if (doc)
            json_object_put(doc);
        snprintf(msg, msglen, "the identity provider's discovery document is not valid JSON");
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    const char *iss = acred_json_string(doc, "issuer");
    if (iss == NULL) { /* a broken document, not another issuer */
        json_object_put(doc);
        snprintf(msg, msglen, "the identity provider's discovery document has no issuer");
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    if (strcmp(iss, issuer) != 0) {
        json_object_put(doc);
        snprintf(msg, msglen, "the identity provider names another issuer than the configured one");
        return ACRED_R_BAD_ISSUER;
    }
    o->discovery = doc;
    o->jwks_uri = endpoint(doc, "jwks_uri");
    o->userinfo_endpoint = endpoint(doc, "userinfo_endpoint");
    o->token_endpoint = endpoint(doc, "token_endpoint");
    o->device_authorization_endpoint = endpoint(doc, "device_authorization_endpoint");
    if (o->jwks_uri == NULL) {
        snprintf(msg, msglen, "the identity provider's discovery document has no https jwks_uri");
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    return ACRED_OK;
}

/* the reason for an HTTP status that is not 200 from the IdP */
static enum acred_reason status_reason(long status, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "the identity provider answered HTTP %ld for %s", status, what);
    if (status >= 500)
        return ACRED_R_IDP_UNAVAILABLE;
    if (status >= 400)
        return ACRED_R_IDP_DENIED;
    return ACRED_R_IDP_BAD_RESPONSE;
}

enum acred_reason acred_oidc_discover(struct acred_http *h, struct acred_oidc *o, char *msg,
                                      size_t msglen)
{
    const char *issuer = h->cfg->issuer;
    size_t n = strlen(issuer) + sizeof("/.well-known/openid-configuration");
    char *url = malloc(n);
    if (url == NULL)
        return ACRED_R_HELPER_ERROR;
    snprintf(url, n, "%s/.well-known/openid-configuration", issuer);
    struct acred_http_resp r;
    enum acred_reason reason = acred_http_get(h, url, NULL, NULL, &r, msg, msglen);
    free(url);
    if (reason != ACRED_OK)
        return reason;
    if (r.status != 200)
        reason = status_reason(r.status, "discovery", msg, msglen);
    else
        reason = acred_oidc_parse_discovery(o, issuer, r.body, r.len, msg, msglen);
    acred_http_resp_free(&r);
    return reason;
}

enum acred_reason acred_oidc_fetch_jwks(struct acred_http *h, struct acred_oidc *o, char *msg,
                                        size_t msglen)
{
    struct acred_http_resp r;
    enum acred_reason reason = acred_http_get(h, o->jwks_uri, NULL, NULL, &r, msg, msglen);
    if (reason != ACRED_OK)
        return reason;
    o->jwks_fetches++;
    json_object *jwks = NULL, *keys = NULL;
    if (r.status != 200) {
        reason = status_reason(r.status, "the JWKS", msg, msglen);
    } else if ((jwks = acred_json_parse(r.body, r.len)) == NULL ||
               !json_object_object_get_ex(jwks, "keys", &keys) ||
               !json_object_is_type(keys, json_type_array) ||
               json_object_array_length(keys) == 0) {
        snprintf(msg, msglen, "the identity provider's JWKS is not a non-empty key set");
        reason = ACRED_R_IDP_BAD_RESPONSE;
    } else {
        if (o->jwks)
            json_object_put(o->jwks);
        o->jwks = jwks;
        jwks = NULL;
    }
    if (jwks)
        json_object_put(jwks);
    acred_http_resp_free(&r);
    return reason;
}

enum acred_reason acred_oidc_userinfo(struct acred_http *h, struct acred_oidc *o,
                                      const char *token, json_object **claims, char *msg,
                                      size_t msglen)
{
    *claims = NULL;
    if (o->userinfo_endpoint == NULL) {
        snprintf(msg, msglen, "the identity provider has no userinfo endpoint for opaque tokens");
        return ACRED_R_MALFORMED_TOKEN;
    }
    struct acred_http_resp r;
    enum acred_reason reason =
        acred_http_get(h, o->userinfo_endpoint, token, NULL, &r, msg, msglen);
    if (reason != ACRED_OK)
        return reason;
    if (r.status != 200) {
        reason = status_reason(r.status, "userinfo", msg, msglen);
        if (reason == ACRED_R_IDP_DENIED)
            snprintf(msg, msglen, "the identity provider does not accept this token");
    } else if ((*claims = acred_json_parse(r.body, r.len)) == NULL ||
               !json_object_is_type(*claims, json_type_object)) {
        if (*claims)
            json_object_put(*claims);
        *claims = NULL;
        snprintf(msg, msglen, "the identity provider's userinfo answer is not a JSON object");
        reason = ACRED_R_IDP_BAD_RESPONSE;
    }
    acred_http_resp_free(&r);
    return reason;
}
