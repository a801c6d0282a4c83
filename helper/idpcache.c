#include "acred_build.h"
#include "idpcache.h"
#include "cache.h"
#include "json.h"
#include "proto.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

/* what one cache file is about */
struct acred_idp_key {
    int dir;            /* the cache directory, or -1 */
    char stem[33];      /* of the issuer */
    const char *issuer;
    const char *kind;   /* "discovery" or "jwks" */
    long ttl;
};

int acred_idpcache_stem(const char *issuer, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(issuer, strlen(issuer), md, &n, EVP_sha256(), NULL) != 1 || n < 16)
        return -1;
    for (size_t i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- the directory and its files --------------------------------------------------------- */

/* the cache directory, root 0700 (made when missing), or -1: no caching */
static int open_cache_dir(void)
{
    if (geteuid() != 0)
        return -1; /* the non-root demo: no cache, every login asks the IdP */
    if (mkdir(ACRED_IDP_CACHE_DIR, 0700) == 0 && chmod(ACRED_IDP_CACHE_DIR, 0700) != 0)
        return -1;
    int fd = open(ACRED_IDP_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_uid != 0 || (st.st_mode & 07777) != 0700) {
        close(fd);
        return -1;
    }
    return fd;
}

static void file_name(const struct acred_idp_key *k, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "%s.%s", k->stem, suffix);
}

/* H.discovery.json or H.jwks.json */
static void entry_name(const struct acred_idp_key *k, char *out, size_t n)
{
    snprintf(out, n, "%s.%s.json", k->stem, k->kind);
}

/* the text of name when it is root's regular 0600 file, or NULL */
static char *read_file_at(int dir, const char *name)
{
    return acred_file_read_at(dir, name, 0, ACRED_IDP_CACHE_MAX);
}

static int write_file_at(int dir, const char *name, const char *text)
{
    if (flock(dir, LOCK_EX) != 0)
        return -1;
    int rc = acred_file_write_at(dir, name, text, 0, 0);
    flock(dir, LOCK_UN);
    return rc;
}

/* the parsed cache file of k (read under a shared lock of the directory), or NULL */
static json_object *read_entry(const struct acred_idp_key *k)
{
    char name[64];
    char *text = NULL;
    entry_name(k, name, sizeof(name));
    if (flock(k->dir, LOCK_SH) == 0) {
        text = read_file_at(k->dir, name);
        flock(k->dir, LOCK_UN);
    }
    json_object *o = text ? acred_json_parse(text, strlen(text)) : NULL;
    free(text);
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

/* the entry's document when it is this issuer's (and jwks_uri's), fetched less than ttl ago */
static json_object *fresh_document(const struct acred_idp_key *k, json_object *entry,
                                   const char *jwks_uri, time_t now)
{
    long long fetched;
    json_object *doc;
    const char *iss = acred_json_string(entry, "issuer");
    const char *uri = acred_json_string(entry, "jwks_uri");
    if (iss == NULL || strcmp(iss, k->issuer) != 0 ||
        acred_json_int64(entry, "fetched", &fetched) != 0 ||
        fetched > (long long)now + ACRED_IDP_CACHE_SLACK ||
        (long long)now - fetched >= k->ttl ||
        !json_object_object_get_ex(entry, "document", &doc) ||
        !json_object_is_type(doc, json_type_object))
        return NULL;
    if (jwks_uri != NULL && (uri == NULL || strcmp(uri, jwks_uri) != 0))
        return NULL;
    return doc;
}

static int store(const struct acred_idp_key *k, json_object *doc, const char *jwks_uri)
{
    char name[64];
    json_object *e = json_object_new_object();
    json_object_object_add(e, "issuer", json_object_new_string(k->issuer));
    if (jwks_uri)
        json_object_object_add(e, "jwks_uri", json_object_new_string(jwks_uri));
    json_object_object_add(e, "fetched", json_object_new_int64((int64_t)time(NULL)));
    json_object_object_add(e, "document", json_object_get(doc));
    entry_name(k, name, sizeof(name));
    int rc = write_file_at(k->dir, name,
                           json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(e);
    return rc;
}

/* ---- one fetch for many logins ------------------------------------------------------------ */

/*
 * The issuer's lock file, held exclusively: a login that finds no fresh entry takes it, looks
 * again (another login may have fetched meanwhile), fetches, writes, and lets go. The others
 * wait at most wait_s seconds (the configured timeout: what that fetch may take) and then fetch
 * on their own. Returns the locked descriptor, or -1 (fetch without it).
 */
static int lock_issuer(const struct acred_idp_key *k, long wait_s)
{
    char name[64];
    struct stat st;
    file_name(k, "lock", name, sizeof(name));
    int fd = openat(k->dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0) {
        close(fd);
        return -1;
    }
    long long deadline = acred_now_ms() + wait_s * 1000;
    long pause_ms = 2;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || acred_now_ms() >= deadline) {
            close(fd);
            return -1;
        }
        struct timespec ts = {0, pause_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (pause_ms < 20)
            pause_ms *= 2;
    }
    return fd;
}

static void unlock_issuer(int fd)
{
    if (fd >= 0)
        close(fd); /* drops the lock */
}

/* ---- discovery ------------------------------------------------------------------------------ */

static int key_init(struct acred_idp_key *k, const char *issuer, const char *kind, long ttl)
{
    memset(k, 0, sizeof(*k));
    k->issuer = issuer;
    k->kind = kind;
    k->ttl = ttl;
    k->dir = -1;
    if (acred_idpcache_stem(issuer, k->stem) != 0)
        return -1;
    k->dir = open_cache_dir();
    return k->dir;
}

/* o from the cached discovery document: 0, or -1 (o untouched) */
static int load_discovery(const struct acred_idp_key *k, struct acred_oidc *o)
{
    char msg[256];
    json_object *e = read_entry(k);
    json_object *doc = e ? fresh_document(k, e, NULL, time(NULL)) : NULL;
    int rc = -1;
    if (doc != NULL) {
        /* the same checks as for a document off the network: issuer, https endpoints */
        const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
        if (acred_oidc_parse_discovery(o, k->issuer, text, strlen(text), msg, sizeof(msg)) ==
            ACRED_OK)
            rc = 0;
        else
            acred_oidc_free(o);
    }
    if (e)
        json_object_put(e);
    return rc;
}

enum acred_reason acred_idpcache_discover(struct acred_http *h, struct acred_oidc *o, char *msg,
                                          size_t msglen)
{
    struct acred_idp_key k;
    if (key_init(&k, h->cfg->issuer, "discovery", ACRED_DISCOVERY_TTL) < 0)
        return acred_oidc_discover(h, o, msg, msglen);
    enum acred_reason r = ACRED_OK;
    if (load_discovery(&k, o) != 0) {
        int lock = lock_issuer(&k, h->cfg->timeout);
        if (lock < 0 || load_discovery(&k, o) != 0) {
            r = acred_oidc_discover(h, o, msg, msglen);
            if (r == ACRED_OK)
                store(&k, o->discovery, NULL);
        }
        unlock_issuer(lock);
    }
    close(k.dir);
    return r;
}

/* ---- the JWKS ------------------------------------------------------------------------------- */

/* a key set worth using: an object whose "keys" is a non-empty array */
static int usable_jwks(json_object *jwks)
{
    json_object *keys;
    return jwks != NULL && json_object_object_get_ex(jwks, "keys", &keys) &&
           json_object_is_type(keys, json_type_array) && json_object_array_length(keys) > 0;
}

/* o->jwks from the cache when it is fresh and differs from what o holds: 0, else -1 */
static int load_jwks(const struct acred_idp_key *k, struct acred_oidc *o)
{
    json_object *e = read_entry(k);
    json_object *doc = e ? fresh_document(k, e, o->jwks_uri, time(NULL)) : NULL;
    int rc = -1;
    if (usable_jwks(doc) && (o->jwks == NULL || !json_object_equal(doc, o->jwks))) {
        if (o->jwks)
            json_object_put(o->jwks);
        o->jwks = json_object_get(doc);
        rc = 0;
    }
    if (e)
        json_object_put(e);
    return rc;
}

/* fetch the JWKS (holding the issuer's lock when it has it) and cache it when it is usable */
static enum acred_reason fetch_jwks(const struct acred_idp_key *k, struct acred_http *h,
                                    struct acred_oidc *o, char *msg, size_t msglen)
{
    enum acred_reason r = acred_oidc_fetch_jwks(h, o, msg, msglen);
    if (r == ACRED_OK && usable_jwks(o->jwks))
        store(k, o->jwks, o->jwks_uri);
    return r;
}

enum acred_reason acred_idpcache_jwks(struct acred_http *h, struct acred_oidc *o, char *msg,
                                      size_t msglen)
{
    struct acred_idp_key k;
    if (o->jwks_uri == NULL || key_init(&k, h->cfg->issuer, "jwks", ACRED_JWKS_TTL) < 0)
        return acred_oidc_fetch_jwks(h, o, msg, msglen);
    enum acred_reason r = ACRED_OK;
    if (load_jwks(&k, o) != 0) {
        int lock = lock_issuer(&k, h->cfg->timeout);
        if (lock < 0 || load_jwks(&k, o) != 0)
            r = fetch_jwks(&k, h, o, msg, msglen);
        unlock_issuer(lock);
    }
    close(k.dir);
    return r;
}

/* take the issuer's one forced refetch of the last ACRED_JWKS_REFETCH_MIN seconds: 0, or -1 */
static int take_refetch(const struct acred_idp_key *k, time_t now)
{
    char name[64], stamp[32];
    file_name(k, "refetch", name, sizeof(name));
    char *old = NULL;
    if (flock(k->dir, LOCK_SH) == 0) {
        old = read_file_at(k->dir, name);
        flock(k->dir, LOCK_UN);
    }
    long long last = old ? strtoll(old, NULL, 10) : 0;
    free(old);
    if (last <= (long long)now && (long long)now - last < ACRED_JWKS_REFETCH_MIN)
        return -1;
    snprintf(stamp, sizeof(stamp), "%lld\n", (long long)now);
    return write_file_at(k->dir, name, stamp) == 0 ? 0 : -1;
}

enum acred_reason acred_idpcache_jwks_refetch(struct acred_http *h, struct acred_oidc *o,
                                              char *msg, size_t msglen)
{
    struct acred_idp_key k;
    if (o->jwks_uri == NULL || key_init(&k, h->cfg->issuer, "jwks", ACRED_JWKS_TTL) < 0) {
        if (o->jwks_uri == NULL || o->jwks_fetches >= 2)
            return ACRED_R_UNKNOWN_KEY;
        return acred_oidc_fetch_jwks(h, o, msg, msglen); /* no cache: once more per login */
    }
    enum acred_reason r = ACRED_R_UNKNOWN_KEY;
    if (o->jwks_fetches == 0) { /* a key set of this login's own fetch is as new as it gets */
        int lock = lock_issuer(&k, h->cfg->timeout);
        if (lock >= 0 && load_jwks(&k, o) == 0)
            r = ACRED_OK; /* another login brought newer keys meanwhile */
        else if (lock >= 0 && take_refetch(&k, time(NULL)) == 0)
            r = fetch_jwks(&k, h, o, msg, msglen);
        unlock_issuer(lock);
    }
    close(k.dir);
    return r;
}
