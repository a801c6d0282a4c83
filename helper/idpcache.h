/*
 * idpcache.h: the IdP's discovery document and JWKS, cached on disk (CONTRACT.md "Files at run
 * time"), so that a login whose token is signed by a known key makes no network call to check it.
 *
 *   /var/cache/pam_acred/            root 0700
 *       H.discovery.json             root 0600: {"issuer","fetched","document"}
 *       H.jwks.json                  root 0600: {"issuer","jwks_uri","fetched","document"}
 *       H.refetch                    root 0600: when the JWKS was last fetched for an unknown kid
 *       H.lock                       root 0600: held while one login fetches for the others
 *
 * H is the SHA-256 of the issuer URL (hex, 32 characters). An entry is used only when the
 * helper runs as root, the file is root's, 0600, a regular file (O_NOFOLLOW), parses, names
 * this very issuer (and for the JWKS this jwks_uri), and is younger than its TTL; anything else
 * is fetched again and replaced (temporary file + rename, under flock on the directory). Only a
 * successful fetch is written: a failure, or an empty key set, never is. An entry past its TTL
 * that cannot be refreshed (the IdP is down) is not used: the login fails closed.
 *
 * While one login fetches, the others wait for it (on H.lock, at most the configured timeout)
 * and then read what it wrote: at nine in the morning the IdP sees one fetch, not fifty.
 */
#ifndef ACRED_IDPCACHE_H
#define ACRED_IDPCACHE_H

#include "http.h"
#include "oidc.h"

#ifndef ACRED_IDP_CACHE_DIR
#define ACRED_IDP_CACHE_DIR "/var/cache/pam_acred"
#endif
#define ACRED_DISCOVERY_TTL 3600     /* seconds a discovery document is used */
#define ACRED_JWKS_TTL 600           /* seconds a JWKS is used */
#define ACRED_JWKS_REFETCH_MIN 30    /* seconds between two unknown-kid fetches, per issuer */
#define ACRED_IDP_CACHE_SLACK 60     /* seconds an entry may seem to come from the future (a
                                        clock step back): more, and it is fetched again */
#define ACRED_IDP_CACHE_MAX (1024 * 1024 + 4096) /* bytes of one cache file */

/* acred_oidc_discover, from the cache when it holds a fresh document of this issuer */
enum acred_reason acred_idpcache_discover(struct acred_http *h, struct acred_oidc *o, char *msg,
                                          size_t msglen);

/* acred_oidc_fetch_jwks, from the cache when it holds a fresh key set of this issuer and
 * jwks_uri (after acred_idpcache_discover) */
enum acred_reason acred_idpcache_jwks(struct acred_http *h, struct acred_oidc *o, char *msg,
                                      size_t msglen);

/*
 * The token names a key the JWKS in hand lacks: the IdP may have rotated its keys. ACRED_OK
 * when o->jwks was replaced by a newer key set (fetched now, or by another login meanwhile), so
 * that the caller checks again; otherwise a reason, without a network call when this login
 * fetched the JWKS already or one was fetched for an unknown kid less than
 * ACRED_JWKS_REFETCH_MIN seconds ago (as root; without the cache, one more fetch per login).
 */
enum acred_reason acred_idpcache_jwks_refetch(struct acred_http *h, struct acred_oidc *o,
                                              char *msg, size_t msglen);

/* the file name stem of issuer (its SHA-256, 32 hex characters) into out (33 bytes): 0 or -1 */
int acred_idpcache_stem(const char *issuer, char out[33]);

#endif
