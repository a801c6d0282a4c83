/*
 * http.h: every HTTPS request of the helper (libcurl). Certificate and host checks on, https
 * only, no redirects, no signals, answers capped at ACRED_HTTP_MAX_BODY, each transfer bounded
 * by the configured timeout. One handle per login, so connections are reused.
 */
#ifndef ACRED_HTTP_H
#define ACRED_HTTP_H

#include <stddef.h>
#include <curl/curl.h>

#include "config.h"
#include "reason.h"

#define ACRED_HTTP_MAX_BODY (1024 * 1024)

struct acred_http {
    CURL *curl;
    const struct acred_config *cfg;
};

struct acred_http_resp {
    long status;
    char *body;   /* NUL-terminated; zeroed when freed (it may hold credentials) */
    size_t len;
    char request_id[96]; /* x-acs-request-id, when the answer had one */
    char date[64];       /* the Date header */
};

int acred_http_init(struct acred_http *h, const struct acred_config *cfg);
void acred_http_cleanup(struct acred_http *h);

/*
 * GET url, with "Authorization: Bearer <bearer>" when bearer is not NULL, and the extra
 * headers (NULL-ended, may be NULL). ACRED_OK when an HTTP answer came (any status); otherwise
 * ACRED_R_TIMEOUT, ACRED_R_IDP_UNAVAILABLE (refused, unreachable), ACRED_R_TLS_ERROR or
 * ACRED_R_IDP_BAD_RESPONSE (too large, broken), with one plain sentence in msg.
 */
enum acred_reason acred_http_get(struct acred_http *h, const char *url, const char *bearer,
                                 const char *const *headers, struct acred_http_resp *r,
                                 char *msg, size_t msglen);

/* POST a form body (application/x-www-form-urlencoded); same conventions */
enum acred_reason acred_http_post_form(struct acred_http *h, const char *url, const char *form,
                                       struct acred_http_resp *r, char *msg, size_t msglen);

void acred_http_resp_free(struct acred_http_resp *r);

/* the host part of url, for messages ("eiam-developerapi.cn-hangzhou.aliyuncs.com") */
const char *acred_url_host(const char *url, char *out, size_t outlen);

/* one GET of acred_http_get_parallel */
#define ACRED_HTTP_PARALLEL_MAX 4
struct acred_http_get_req {
    const char *url;
    const char *const *headers;  /* extra header lines, NULL-ended; may be NULL */
    struct acred_http_resp resp; /* out: when reason is ACRED_OK */
    enum acred_reason reason;    /* out: as acred_http_get */
    char msg[256];               /* out: one plain sentence when reason is not ACRED_OK */
};

/*
 * Run n (at most ACRED_HTTP_PARALLEL_MAX) GETs at the same time (libcurl multi), each on its own
 * handle with the options of every other transfer (so each is bounded by cfg->timeout, and all
 * of them together by one timeout). Fills reqs[i].resp, .reason and .msg.
 */
void acred_http_get_parallel(const struct acred_config *cfg, struct acred_http_get_req *reqs,
                             size_t n);

#endif
