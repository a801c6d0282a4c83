/*
 * device.h: the OAuth 2.0 device authorization grant (RFC 8628) against the IdP's
 * device_authorization_endpoint and token_endpoint, the refresh_token grant, and the QR code
 * of the verification URI (libqrencode).
 */
#ifndef ACRED_DEVICE_H
#define ACRED_DEVICE_H

#include "config.h"
#include "http.h"
#include "oidc.h"

struct acred_device {
    char *device_code; /* secret */
    char *user_code;
    char *verification_uri;
    char *verification_uri_complete; /* verification_uri when the IdP gave none */
    long expires_in;
    long interval;
    int polls; /* token requests made */
};

struct acred_tokens {
    char *access_token;  /* secret */
    char *refresh_token; /* secret; NULL when the IdP gave none */
};

/* POST client_id and scope to the device authorization endpoint */
enum acred_reason acred_device_start(struct acred_http *h, const struct acred_oidc *o,
                                     struct acred_device *d, char *msg, size_t msglen);

/*
 * Poll the token endpoint until approval, denial, expiry or deadline_ms (CLOCK_MONOTONIC ms),
 * waiting `interval` between polls and 5 s more after each slow_down. ACRED_OK with tokens;
 * ACRED_R_DEVICE_DENIED, ACRED_R_DEVICE_EXPIRED, or a transport reason.
 */
enum acred_reason acred_device_poll(struct acred_http *h, const struct acred_oidc *o,
                                    struct acred_device *d, long long deadline_ms,
                                    struct acred_tokens *t, char *msg, size_t msglen);

/* the refresh_token grant */
enum acred_reason acred_token_refresh(struct acred_http *h, const struct acred_oidc *o,
                                      const char *refresh_token, struct acred_tokens *t,
                                      char *msg, size_t msglen);

/* the QR code of text as lines of text (utf8 half blocks or ascii), or NULL for ACRED_QR_OFF */
char *acred_qr_render(const char *text, enum acred_qr mode);

void acred_device_free(struct acred_device *d);
void acred_tokens_free(struct acred_tokens *t);

#endif
