#include "acred_build.h"
#include "device.h"
#include "json.h"
#include "proto.h"
#include "secret.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GRANT_DEVICE "urn:ietf:params:oauth:grant-type:device_code"

void acred_device_free(struct acred_device *d)
{
    acred_secret_free(d->device_code);
    free(d->user_code);
    free(d->verification_uri);
    free(d->verification_uri_complete);
    memset(d, 0, sizeof(*d));
}

void acred_tokens_free(struct acred_tokens *t)
{
    acred_secret_free(t->access_token);
    acred_secret_free(t->refresh_token);
    memset(t, 0, sizeof(*t));
}

/* a string of printable ASCII (what a person is shown must not carry escapes) */
static char *printable(json_object *o, const char *key, size_t max)
{
    const char *v = acred_json_string(o, key);
    if (v == NULL || v[0] == '\0' || strlen(v) > max)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return NULL;
    return strdup(v);
}

/* form-encode name=value pairs (a NULL-ended list of name, value; at most 4 pairs) */
static char *form(struct acred_http *h, const char *const *pairs)
{
    char *esc[4] = {0}, *out = NULL;
    size_t total = 1, n = 0;
    for (; pairs[2 * n] && n < 4; n++) {
        if ((esc[n] = curl_easy_escape(h->curl, pairs[2 * n + 1], 0)) == NULL)
            goto done;
        total += strlen(pairs[2 * n]) + strlen(esc[n]) + 2;
    }
    if ((out = malloc(total)) == NULL)
        goto done;
    out[0] = '\0';
    for (size_t i = 0, len = 0; i < n; i++)
        len += (size_t)snprintf(out + len, total - len, "%s%s=%s", i ? "&" : "", pairs[2 * i],
                                esc[i]);
done:
    for (size_t i = 0; i < 4; i++)
        if (esc[i]) {
            acred_wipe(esc[i], strlen(esc[i]));
            curl_free(esc[i]);
        }
    return out;
}

static enum acred_reason post(struct acred_http *h, const char *url, const char *const *pairs,
                              struct acred_http_resp *r, char *msg, size_t msglen)
{
    char *body = form(h, pairs);
    if (body == NULL)
        return ACRED_R_HELPER_ERROR;
    enum acred_reason reason = acred_http_post_form(h, url, body, r, msg, msglen);
    acred_secret_free(body);
    return reason;
}

enum acred_reason acred_device_start(struct acred_http *h, const struct acred_oidc *o,
                                     struct acred_device *d, char *msg, size_t msglen)
{
    const struct acred_config *cfg = h->cfg;
    const char *pairs[] = {"client_id", cfg->client_id, "scope", cfg->scope, NULL};
    struct acred_http_resp r;
    long long n;
    memset(d, 0, sizeof(*d));
    if (o->device_authorization_endpoint == NULL) {
        snprintf(msg, msglen, "the identity provider offers no device-code login");
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    enum acred_reason reason = post(h, o->device_authorization_endpoint, pairs, &r, msg, msglen);
    if (reason != ACRED_OK)
        return reason;
    json_object *doc = r.status == 200 ? acred_json_parse(r.body, r.len) : NULL;
    if (r.status >= 500) {
        snprintf(msg, msglen, "the identity provider answered HTTP %ld to a device-code login",
                 r.status);
        reason = ACRED_R_IDP_UNAVAILABLE;
    } else if (r.status != 200) {
        snprintf(msg, msglen, "the identity provider refused a device-code login (HTTP %ld)",
                 r.status);
        reason = ACRED_R_IDP_DENIED;
    } else {
        d->device_code = printable(doc, "device_code", 4096);
        d->user_code = printable(doc, "user_code", 64);
        d->verification_uri = printable(doc, "verification_uri", 2048);
        d->verification_uri_complete = printable(doc, "verification_uri_complete", 2048);
        d->expires_in = acred_json_int64(doc, "expires_in", &n) == 0 ? (long)n : 0;
        d->interval = acred_json_int64(doc, "interval", &n) == 0 ? (long)n : 5;
        if (d->verification_uri_complete == NULL && d->verification_uri != NULL)
            d->verification_uri_complete = strdup(d->verification_uri);
        if (d->device_code == NULL || d->user_code == NULL || d->verification_uri == NULL ||
            strncmp(d->verification_uri, "https://", 8) != 0 || d->expires_in <= 0 ||
            d->interval < 0 || d->interval > 60) {
            snprintf(msg, msglen, "the identity provider's device-code answer is not usable");
            reason = ACRED_R_IDP_BAD_RESPONSE;
            acred_device_free(d);
        }
    }
    if (doc)
        json_object_put(doc);
    acred_http_resp_free(&r);
    return reason;
}

/* the tokens of a 200 answer of the token endpoint */
static enum acred_reason take_tokens(const struct acred_http_resp *r, struct acred_tokens *t,
                                     char *msg, size_t msglen)
{
    json_object *doc = acred_json_parse(r->body, r->len);
    t->access_token = printable(doc, "access_token", 16384);
    t->refresh_token = printable(doc, "refresh_token", 16384);
    if (doc)
        json_object_put(doc);
    if (t->access_token == NULL) {
        acred_tokens_free(t);
        snprintf(msg, msglen, "the identity provider's token answer has no access token");
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    return ACRED_OK;
}

/* the `error` of a 400 answer of the token endpoint, or "" */
static void token_error(const struct acred_http_resp *r, char *out, size_t outlen)
{
    json_object *doc = acred_json_parse(r->body, r->len);
    const char *e = acred_json_string(doc, "error");
    snprintf(out, outlen, "%s", e ? e : "");
    if (doc)
        json_object_put(doc);
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0)
        ;
}

enum acred_reason acred_device_poll(struct acred_http *h, const struct acred_oidc *o,
                                    struct acred_device *d, long long deadline_ms,
                                    struct acred_tokens *t, char *msg, size_t msglen)
{
    const char *pairs[] = {"grant_type", GRANT_DEVICE, "device_code", d->device_code,
                           "client_id", h->cfg->client_id, NULL};
    char err[64];
    memset(t, 0, sizeof(*t));
    for (;;) {
        struct acred_http_resp r;
        enum acred_reason reason = post(h, o->token_endpoint, pairs, &r, msg, msglen);
        d->polls++;
        if (reason != ACRED_OK)
            return reason;
        if (r.status == 200) {
            reason = take_tokens(&r, t, msg, msglen);
            acred_http_resp_free(&r);
            return reason;
        }
        token_error(&r, err, sizeof(err));
        long status = r.status;
        acred_http_resp_free(&r);
        if (strcmp(err, "slow_down") == 0)
            d->interval += 5;
        else if (strcmp(err, "access_denied") == 0)
            return snprintf(msg, msglen, "The device-code login was denied"),
                   ACRED_R_DEVICE_DENIED;
        else if (strcmp(err, "expired_token") == 0)
            return snprintf(msg, msglen, "The device code expired before it was approved; "
                                         "log in again"),
                   ACRED_R_DEVICE_EXPIRED;
        else if (strcmp(err, "authorization_pending") != 0) {
            snprintf(msg, msglen, "the identity provider answered HTTP %ld (%s) while waiting",
                     status, err[0] ? err : "no error code");
            return status >= 500 ? ACRED_R_IDP_UNAVAILABLE : ACRED_R_IDP_DENIED;
        }
        long long wait = 1000LL * (d->interval > 0 ? d->interval : 1);
        if (acred_now_ms() + wait > deadline_ms)
            return snprintf(msg, msglen, "The device-code login was not approved in time; "
                                         "log in again"),
                   ACRED_R_DEVICE_EXPIRED;
        sleep_ms(wait);
    }
}

enum acred_reason acred_token_refresh(struct acred_http *h, const struct acred_oidc *o,
                                      const char *refresh_token, struct acred_tokens *t,
                                      char *msg, size_t msglen)
{
    const char *pairs[] = {"grant_type", "refresh_token", "refresh_token", refresh_token,
                           "client_id", h->cfg->client_id, NULL};
    struct acred_http_resp r;
    memset(t, 0, sizeof(*t));
    if (o->token_endpoint == NULL) {
        snprintf(msg, msglen, "the identity provider has no token endpoint");
        return ACRED_R_IDP_BAD_RESPONSE;
    }
    enum acred_reason reason = post(h, o->token_endpoint, pairs, &r, msg, msglen);
    if (reason != ACRED_OK)
        return reason;
    if (r.status == 200) {
        reason = take_tokens(&r, t, msg, msglen);
    } else {
        snprintf(msg, msglen, "the identity provider refused to refresh the login (HTTP %ld)",
                 r.status);
        reason = r.status >= 500 ? ACRED_R_IDP_UNAVAILABLE : ACRED_R_IDP_DENIED;
    }
    acred_http_resp_free(&r);
    return reason;
}

char *acred_qr_render(const char *text, enum acred_qr mode)
{
    if (mode == ACRED_QR_OFF)
        return NULL;
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    if (q == NULL)
        return NULL;
    const int quiet = 2, w = q->width + 2 * quiet;
    /* utf8: two rows per line with half blocks (3 bytes each); ascii: "##" per module */
    size_t cap = (size_t)(w * 6 + 2) * (size_t)(w + 1);
    char *out = malloc(cap), *o = out;
#define DARK(x, y)                                                                       \
    ((x) >= quiet && (y) >= quiet && (x) < w - quiet && (y) < w - quiet &&               \
     (q->data[((y)-quiet) * q->width + ((x)-quiet)] & 1))
    for (int y = 0; out && y < w; y += mode == ACRED_QR_UTF8 ? 2 : 1) {
        for (int x = 0; x < w; x++) {
            if (mode == ACRED_QR_ASCII) {
                memcpy(o, DARK(x, y) ? "##" : "  ", 2);
                o += 2;
                continue;
            }
            /* light modules are drawn as blocks, so the code reads on a dark terminal */
            int top = !DARK(x, y), bottom = y + 1 < w && !DARK(x, y + 1);
            const char *c = top && bottom ? "\xe2\x96\x88" : top ? "\xe2\x96\x80"
                            : bottom      ? "\xe2\x96\x84"
                                          : " ";
            size_t n = strlen(c);
            memcpy(o, c, n);
            o += n;
        }
        *o++ = '\n';
    }
#undef DARK
    if (out)
        *o = '\0';
    QRcode_free(q);
    return out;
}
