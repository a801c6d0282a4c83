#include "acred_build.h"
#include "http.h"
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int acred_http_init(struct acred_http *h, const struct acred_config *cfg)
{
    h->cfg = cfg;
    h->curl = NULL; /* made by the first transfer: no network, no libcurl loaded */
    return 0;
}

/* the login's one handle (so that its transfers share connections), made on first use */
static CURL *easy_handle(struct acred_http *h)
{
    if (h->curl == NULL)
        h->curl = curl_easy_init();
    return h->curl;
}

void acred_http_cleanup(struct acred_http *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    h->curl = NULL;
}

void acred_http_resp_free(struct acred_http_resp *r)
{
    if (r->body) {
        acred_wipe(r->body, r->len);
        free(r->body);
    }
    memset(r, 0, sizeof(*r));
}

const char *acred_url_host(const char *url, char *out, size_t outlen)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    snprintf(out, outlen, "%.*s", (int)n, p);
    return out;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct acred_http_resp *r = userp;
    size_t n = size * nmemb;
    if (r->len + n > ACRED_HTTP_MAX_BODY)
        return 0; /* libcurl fails the transfer with CURLE_WRITE_ERROR */
    char *grown = malloc(r->len + n + 1);
    if (grown == NULL)
        return 0;
    if (r->body) {
        memcpy(grown, r->body, r->len);
        acred_wipe(r->body, r->len);
        free(r->body);
    }
    memcpy(grown + r->len, data, n);
    r->body = grown;
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* keep one header's value, printable ASCII only */
static void keep_header(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0)
        return;
    line += k;
    n -= k;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++)
        if (line[i] > 0x20 && line[i] < 0x7f)
            out[o++] = line[i];
        else if (line[i] == ' ' && o > 0)
            out[o++] = ' ';
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct acred_http_resp *r = userp;
    size_t n = size * nmemb;
    keep_header(data, n, "x-acs-request-id:", r->request_id, sizeof(r->request_id));
    keep_header(data, n, "date:", r->date, sizeof(r->date));
    return n;
}

static enum acred_reason transfer_error(CURLcode c, const char *url, char *msg, size_t msglen)
{
    char host[256];
    acred_url_host(url, host, sizeof(host));
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(msg, msglen, "%s did not answer in time", host);
        return ACRED_R_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        snprintf(msg, msglen, "the TLS certificate of %s could not be verified", host);
        return ACRED_R_TLS_ERROR;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_BAD_CONTENT_ENCODING:
        snprintf(msg, msglen, "%s sent an answer that is too large or broken", host);
        return ACRED_R_IDP_BAD_RESPONSE;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        snprintf(msg, msglen, "%s is not an https URL this host may use", host);
        return ACRED_R_CONFIG_ERROR;
    default:
        snprintf(msg, msglen, "%s cannot be reached (%s)", host, curl_easy_strerror(c));
        return ACRED_R_IDP_UNAVAILABLE;
    }
}

/* zero and free a header list: one of its lines holds the bearer token */
static void free_headers(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l; l = l->next)
        acred_wipe(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

/* the options of every transfer: TLS checks, https only, no redirects, no signals, bounds */
static void setup_easy(CURL *c, const struct acred_config *cfg, const char *url,
                       struct curl_slist *hdrs, struct acred_http_resp *r)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg->ca_file && cfg->ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(c, CURLOPT_PROXY, cfg->proxy ? cfg->proxy : "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cfg->timeout);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ACRED_HTTP_MAX_BODY);
    curl_easy_setopt(c, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
}

static enum acred_reason perform(struct acred_http *h, const char *url, struct curl_slist *hdrs,
                                 struct acred_http_resp *r, char *msg, size_t msglen)
{
    CURL *c = h->curl;
    memset(r, 0, sizeof(*r));
    setup_easy(c, h->cfg, url, hdrs, r);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    if (rc != CURLE_OK) {
        acred_http_resp_free(r);
        return transfer_error(rc, url, msg, msglen);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body == NULL && (r->body = calloc(1, 1)) == NULL)
        return ACRED_R_HELPER_ERROR;
    return ACRED_OK;
}

enum acred_reason acred_http_get(struct acred_http *h, const char *url, const char *bearer,
                                 const char *const *headers, struct acred_http_resp *r,
                                 char *msg, size_t msglen)
{
    if (easy_handle(h) == NULL) {
        memset(r, 0, sizeof(*r));
        return ACRED_R_HELPER_ERROR;
    }
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    for (size_t i = 0; headers && headers[i]; i++)
        hdrs = curl_slist_append(hdrs, headers[i]);
    if (bearer) {
        size_t n = strlen(bearer) + sizeof("Authorization: Bearer ");
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", bearer);
            hdrs = curl_slist_append(hdrs, line);
            acred_wipe(line, n);
            free(line);
        }
    }
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    enum acred_reason reason = perform(h, url, hdrs, r, msg, msglen);
    free_headers(hdrs);
    return reason;
}

enum acred_reason acred_http_post_form(struct acred_http *h, const char *url, const char *form,
                                       struct acred_http_resp *r, char *msg, size_t msglen)
{
    if (easy_handle(h) == NULL) {
        memset(r, 0, sizeof(*r));
        return ACRED_R_HELPER_ERROR;
    }
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, form);
    enum acred_reason reason = perform(h, url, hdrs, r, msg, msglen);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
    free_headers(hdrs);
    return reason;
}

/* ---- several GETs at once (libcurl multi) -------------------------------------------------- */

static void finish_parallel(CURL *c, CURLcode rc, struct acred_http_get_req *q)
{
    if (rc != CURLE_OK) {
        acred_http_resp_free(&q->resp);
        q->reason = transfer_error(rc, q->url, q->msg, sizeof(q->msg));
        return;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->resp.status);
    if (q->resp.body == NULL && (q->resp.body = calloc(1, 1)) == NULL) {
        q->reason = ACRED_R_HELPER_ERROR;
        return;
    }
    q->reason = ACRED_OK;
}

void acred_http_get_parallel(const struct acred_config *cfg, struct acred_http_get_req *reqs,
                             size_t n)
{
    CURLM *m = curl_multi_init();
    CURL *easy[ACRED_HTTP_PARALLEL_MAX] = {NULL};
    struct curl_slist *hdrs[ACRED_HTTP_PARALLEL_MAX] = {NULL};
    for (size_t i = 0; i < n; i++) {
        memset(&reqs[i].resp, 0, sizeof(reqs[i].resp));
        reqs[i].reason = ACRED_R_HELPER_ERROR;
        snprintf(reqs[i].msg, sizeof(reqs[i].msg), "internal error in acred-helper");
    }
    if (m == NULL || n > ACRED_HTTP_PARALLEL_MAX)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if ((easy[i] = curl_easy_init()) == NULL)
            goto out;
        hdrs[i] = curl_slist_append(NULL, "Accept: application/json");
        for (size_t k = 0; reqs[i].headers && reqs[i].headers[k]; k++)
            hdrs[i] = curl_slist_append(hdrs[i], reqs[i].headers[k]);
        setup_easy(easy[i], cfg, reqs[i].url, hdrs[i], &reqs[i].resp);
        curl_easy_setopt(easy[i], CURLOPT_HTTPGET, 1L);
        if (curl_multi_add_handle(m, easy[i]) != CURLM_OK)
            goto out;
    }
    /* each transfer is bounded by CURLOPT_TIMEOUT, so this loop ends within one timeout */
    int running = 1;
    while (running > 0) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
            break;
    }
    CURLMsg *done;
    int left;
    while ((done = curl_multi_info_read(m, &left)) != NULL) {
        if (done->msg != CURLMSG_DONE)
            continue;
        for (size_t i = 0; i < n; i++)
            if (easy[i] == done->easy_handle)
                finish_parallel(easy[i], done->data.result, &reqs[i]);
    }
out:
    for (size_t i = 0; i < n && i < ACRED_HTTP_PARALLEL_MAX; i++) {
        if (easy[i]) {
            if (m)
                curl_multi_remove_handle(m, easy[i]);
            curl_easy_cleanup(easy[i]);
        }
        free_headers(hdrs[i]);
        if (reqs[i].reason != ACRED_OK)
            acred_http_resp_free(&reqs[i].resp);
    }
    if (m)
        curl_multi_cleanup(m);
}
