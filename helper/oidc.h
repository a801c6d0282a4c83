/*
 * oidc.h: the IdP's discovery document, its JWKS and its userinfo endpoint.
 */
#ifndef ACRED_OIDC_H
#define ACRED_OIDC_H

#include <json-c/json.h>
#include "http.h"

struct acred_oidc {
    json_object *discovery; /* owned */
    json_object *jwks;      /* owned; NULL until fetched */
    const char *jwks_uri;   /* point into discovery */
    const char *userinfo_endpoint;
    const char *token_endpoint;
    const char *device_authorization_endpoint;
    int jwks_fetches;       /* how often the JWKS was fetched in this login */
};

/* GET issuer + "/.well-known/openid-configuration"; its issuer must equal ours exactly */
enum acred_reason acred_oidc_discover(struct acred_http *h, struct acred_oidc *o, char *msg,
                                      size_t msglen);

/* (re)fetch the JWKS from jwks_uri; a failed fetch keeps what was there */
enum acred_reason acred_oidc_fetch_jwks(struct acred_http *h, struct acred_oidc *o, char *msg,
                                        size_t msglen);

/* userinfo for an opaque token: a JSON object of claims, or a reason (401/403: idp_denied) */
enum acred_reason acred_oidc_userinfo(struct acred_http *h, struct acred_oidc *o,
                                      const char *token, json_object **claims, char *msg,
                                      size_t msglen);

/* parse a discovery document (for tests): ACRED_OK and o filled, or a reason */
enum acred_reason acred_oidc_parse_discovery(struct acred_oidc *o, const char *issuer,
                                             const char *body, size_t len, char *msg,
                                             size_t msglen);

void acred_oidc_free(struct acred_oidc *o);

#endif
