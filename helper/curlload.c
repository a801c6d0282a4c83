/*
 * curlload.c: libcurl, loaded when the first network call needs it.
 *
 * libcurl brings some thirty shared libraries (OpenSSL's libssl, GnuTLS through librtmp and
 * libldap, Kerberos, SASL, nghttp2, libssh2, ...). Loading and relocating them costs more than
 * everything else the helper does when it needs no network: a session opening or closing, or a
 * login whose keys and credentials are cached. So the helper does not link libcurl: these are
 * the libcurl functions it calls, with libcurl's own prototypes (curl/curl.h), each resolved
 * from libcurl.so.4 (dlopen, by its soname, through the system's library path) on first use.
 * curl_global_init only records its flags; the real one runs right after the library is loaded.
 *
 * The executable does not export these names (nothing it links refers to them), so libcurl's
 * calls to its own functions still reach libcurl.
 */
#define CURL_DISABLE_TYPECHECK /* the real functions, not the type-checking macros */
#include "acred_build.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <curl/curl.h>

#define ACRED_LIBCURL "libcurl.so.4"

/* each function of libcurl the helper uses: name, return type, parameters */
#define ACRED_CURL_FUNCS(X)                                                                     \
    X(curl_global_init, CURLcode, (long))                                                      \
    X(curl_global_cleanup, void, (void))                                                       \
    X(curl_easy_init, CURL *, (void))                                                          \
    X(curl_easy_setopt, CURLcode, (CURL *, CURLoption, ...))                                   \
    X(curl_easy_perform, CURLcode, (CURL *))                                                   \
    X(curl_easy_getinfo, CURLcode, (CURL *, CURLINFO, ...))                                    \
    X(curl_easy_cleanup, void, (CURL *))                                                       \
    X(curl_easy_strerror, const char *, (CURLcode))                                            \
    X(curl_easy_escape, char *, (CURL *, const char *, int))                                   \
    X(curl_free, void, (void *))                                                               \
    X(curl_getdate, time_t, (const char *, const time_t *))                                    \
    X(curl_slist_append, struct curl_slist *, (struct curl_slist *, const char *))             \
    X(curl_slist_free_all, void, (struct curl_slist *))                                        \
    X(curl_multi_init, CURLM *, (void))                                                        \
    X(curl_multi_add_handle, CURLMcode, (CURLM *, CURL *))                                     \
    X(curl_multi_remove_handle, CURLMcode, (CURLM *, CURL *))                                  \
    X(curl_multi_perform, CURLMcode, (CURLM *, int *))                                         \
    X(curl_multi_poll, CURLMcode, (CURLM *, struct curl_waitfd *, unsigned int, int, int *))   \
    X(curl_multi_info_read, CURLMsg *, (CURLM *, int *))                                       \
    X(curl_multi_cleanup, CURLMcode, (CURLM *))

static struct {
    int state; /* 0: not tried, 1: loaded, -1: failed */
    long global_flags;
    int global_pending; /* curl_global_init was called before the library was loaded */
    void *lib;
#define ACRED_CURL_SLOT(name, ret, params) ret(*name) params;
    ACRED_CURL_FUNCS(ACRED_CURL_SLOT)
#undef ACRED_CURL_SLOT
} acred_curl;

/* load libcurl and resolve every function: 0, or -1 (then every call fails as out of memory) */
static int acred_curl_load(void)
{
    if (acred_curl.state != 0)
        return acred_curl.state > 0 ? 0 : -1;
    acred_curl.state = -1;
    acred_curl.lib = dlopen(ACRED_LIBCURL, RTLD_NOW | RTLD_LOCAL);
    if (acred_curl.lib == NULL)
        return -1;
#define ACRED_CURL_RESOLVE(name, ret, params)                                                  \
    if ((*(void **)&acred_curl.name = dlsym(acred_curl.lib, #name)) == NULL)                    \
        return -1;
    ACRED_CURL_FUNCS(ACRED_CURL_RESOLVE)
#undef ACRED_CURL_RESOLVE
    if (acred_curl.global_pending && acred_curl.curl_global_init(acred_curl.global_flags) != 0)
        return -1;
    acred_curl.state = 1;
    return 0;
}

CURLcode curl_global_init(long flags)
{
    acred_curl.global_flags = flags;
    acred_curl.global_pending = 1;
    return CURLE_OK;
}

void curl_global_cleanup(void)
{
    if (acred_curl.state > 0 && acred_curl.global_pending)
        acred_curl.curl_global_cleanup();
    acred_curl.global_pending = 0;
}

CURL *curl_easy_init(void)
{
    return acred_curl_load() == 0 ? acred_curl.curl_easy_init() : NULL;
}

/* one value of the type the option's number says (as libcurl itself reads it) */
CURLcode curl_easy_setopt(CURL *c, CURLoption option, ...)
{
    va_list ap;
    CURLcode rc;
    if (acred_curl_load() != 0)
        return CURLE_FAILED_INIT;
    va_start(ap, option);
    if (option < CURLOPTTYPE_OBJECTPOINT) {
        long v = va_arg(ap, long);
        rc = acred_curl.curl_easy_setopt(c, option, v);
    } else if (option < CURLOPTTYPE_FUNCTIONPOINT || option >= CURLOPTTYPE_BLOB) {
        void *v = va_arg(ap, void *);
        rc = acred_curl.curl_easy_setopt(c, option, v);
    } else if (option < CURLOPTTYPE_OFF_T) {
        void (*v)(void) = va_arg(ap, void (*)(void));
        rc = acred_curl.curl_easy_setopt(c, option, v);
    } else {
        curl_off_t v = va_arg(ap, curl_off_t);
        rc = acred_curl.curl_easy_setopt(c, option, v);
    }
    va_end(ap);
    return rc;
}

CURLcode curl_easy_perform(CURL *c)
{
    return acred_curl_load() == 0 ? acred_curl.curl_easy_perform(c) : CURLE_FAILED_INIT;
}

/* every CURLINFO takes a pointer to where the answer goes */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
    va_list ap;
    if (acred_curl_load() != 0)
        return CURLE_FAILED_INIT;
    va_start(ap, info);
    void *out = va_arg(ap, void *);
    va_end(ap);
    return acred_curl.curl_easy_getinfo(c, info, out);
}

void curl_easy_cleanup(CURL *c)
{
    if (c != NULL && acred_curl_load() == 0)
        acred_curl.curl_easy_cleanup(c);
}

const char *curl_easy_strerror(CURLcode code)
{
    return acred_curl_load() == 0 ? acred_curl.curl_easy_strerror(code) : "libcurl is missing";
}

char *curl_easy_escape(CURL *c, const char *s, int len)
{
    return acred_curl_load() == 0 ? acred_curl.curl_easy_escape(c, s, len) : NULL;
}

void curl_free(void *p)
{
    if (p != NULL && acred_curl_load() == 0)
        acred_curl.curl_free(p);
}

time_t curl_getdate(const char *p, const time_t *unused)
{
    return acred_curl_load() == 0 ? acred_curl.curl_getdate(p, unused) : -1;
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
    return acred_curl_load() == 0 ? acred_curl.curl_slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
    if (list != NULL && acred_curl_load() == 0)
        acred_curl.curl_slist_free_all(list);
}

CURLM *curl_multi_init(void)
{
    return acred_curl_load() == 0 ? acred_curl.curl_multi_init() : NULL;
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *c)
{
    return acred_curl_load() == 0 ? acred_curl.curl_multi_add_handle(m, c)
                                  : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *c)
{
    return acred_curl_load() == 0 ? acred_curl.curl_multi_remove_handle(m, c)
                                  : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
    return acred_curl_load() == 0 ? acred_curl.curl_multi_perform(m, running)
                                  : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd *fds, unsigned int n, int timeout_ms,
                          int *numfds)
{
    return acred_curl_load() == 0 ? acred_curl.curl_multi_poll(m, fds, n, timeout_ms, numfds)
                                  : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
    return acred_curl_load() == 0 ? acred_curl.curl_multi_info_read(m, left) : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
    return acred_curl_load() == 0 ? acred_curl.curl_multi_cleanup(m) : CURLM_INTERNAL_ERROR;
}
