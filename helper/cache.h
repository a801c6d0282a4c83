/*
 * cache.h: the credential cache (CONTRACT.md "Files at run time").
 *
 *   /run/pam_acred/            root 0700: UID.json (0600) root's copy of a user's credentials,
 *                              UID.sessions (0600) the sessions that hold them ("SESSION PID").
 *   /run/pam_acred-user/UID/   the user's, 0700: credentials.json (0600, with the IdP token, for
 *                              `acred-helper credential-process`) and config.json (the aliyun
 *                              CLI profile of `credentials = process`). The module never reads it.
 *
 * Files are opened with O_NOFOLLOW, written to a temporary file and renamed, under flock on
 * the directory. An entry is never used past its STS expiration less ACRED_CACHE_MARGIN.
 */
#ifndef ACRED_CACHE_H
#define ACRED_CACHE_H

#include <pwd.h>
#include <sys/types.h>
#include <time.h>

#include "idaas.h"

#ifndef ACRED_RUNDIR
#define ACRED_RUNDIR "/run"
#endif
#define ACRED_CACHE_DIR ACRED_RUNDIR "/pam_acred"
#define ACRED_USER_DIR ACRED_RUNDIR "/pam_acred-user"
#define ACRED_CACHE_MARGIN 300 /* seconds before the STS expiration that an entry stops */

struct acred_cache_entry {
    char *user;
    char *sub;
    char *role;
    char *session;
    long duration;
    struct acred_sts sts;
    /* the user's copy only */
    char *token;         /* the IdP access token: credential-process refreshes with it */
    long long token_exp; /* its exp (0: unknown) */
    char *refresh_token; /* from a device-code login, when the IdP gave one */
    char *conf;          /* the configuration the login used */
};

/* the safe files of the caches (CONTRACT.md "Files at run time"), used by idpcache.c too:
 * a regular file in dir, not a link, owned by owner, private (no group or other bits), shorter
 * than max: its text (NUL-terminated, malloc'd), or NULL */
char *acred_file_read_at(int dir, const char *name, uid_t owner, size_t max);
/* write name in dir atomically: a new temporary file (O_EXCL, O_NOFOLLOW, 0600, owned by
 * uid:gid when root) renamed over it; the caller holds the directory's lock. 0 or -1 */
int acred_file_write_at(int dir, const char *name, const char *text, uid_t uid, gid_t gid);

/* root's entry for uid, valid or not: 0, or -1 when there is none or it is unsafe or broken */
int acred_cache_read(uid_t uid, struct acred_cache_entry *e);

/* the user's own copy (run as that user: credential-process) */
int acred_cache_read_user(uid_t uid, struct acred_cache_entry *e);

/* still usable at now? */
int acred_cache_fresh(const struct acred_cache_entry *e, time_t now);

/*
 * Write root's entry and the user's copy (with the aliyun CLI profile when process is set) for
 * pw. Run as root. Returns 0 or -1 (logged by the caller; a login does not fail for it).
 */
int acred_cache_write(const struct passwd *pw, const struct acred_cache_entry *e, int process,
                      const char *region, const char *helper_path);

/* the user's copy alone, as the user (credential-process after a refresh) */
int acred_cache_write_user(const struct passwd *pw, const struct acred_cache_entry *e);

/* the user's aliyun CLI configuration file (for ALIBABA_CLOUD_CONFIG_FILE) */
void acred_cache_user_config_path(uid_t uid, char *out, size_t outlen);

/* sessions of uid: add or remove one; remove returns how many are left (dead pids pruned);
 * at zero the user's files and root's entry are removed */
int acred_cache_session_add(uid_t uid, const char *session, long pid);
int acred_cache_session_remove(uid_t uid, const char *session, long pid);

/* take one of the per_minute device-code logins this host allows: 0, or -1 when none is left */
int acred_device_rate_take(long per_minute, time_t now);

void acred_cache_entry_free(struct acred_cache_entry *e);

#endif
