#include "acred_build.h"
#include "cache.h"
#include "json.h"
#include "proto.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE (64 * 1024)

void acred_cache_entry_free(struct acred_cache_entry *e)
{
    free(e->user);
    free(e->sub);
    free(e->role);
    free(e->session);
    acred_sts_free(&e->sts);
    acred_secret_free(e->token);
    acred_secret_free(e->refresh_token);
    free(e->conf);
    memset(e, 0, sizeof(*e));
}

int acred_cache_fresh(const struct acred_cache_entry *e, time_t now)
{
    return e->sts.access_key_id != NULL && e->sts.expires_at - ACRED_CACHE_MARGIN > now;
}

/* ---- safe files --------------------------------------------------------------------------- */

/* open (creating if asked) a directory that must be owned by owner with exactly mode */
static int open_dir(const char *path, uid_t owner, gid_t group, mode_t mode, int create)
{
    /* the helper runs with umask 077: set the mode explicitly */
    if (create && mkdir(path, mode) == 0 &&
        ((geteuid() == 0 && chown(path, owner, group) != 0) || chmod(path, mode) != 0))
        return -1;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_uid != owner || (st.st_mode & 07777) != mode) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* the directory of root's entries: root 0700 */
static int root_dir(int create)
{
    return open_dir(ACRED_CACHE_DIR, 0, 0, 0700, create);
}

/* the user's own directory under ACRED_USER_DIR (root 0755): the user's, 0700 */
static int user_dir(uid_t uid, gid_t gid, int create)
{
    char path[256];
    if (create && geteuid() == 0) {
        int parent = open_dir(ACRED_USER_DIR, 0, 0, 0755, 1);
        if (parent < 0)
            return -1;
        close(parent);
    }
    snprintf(path, sizeof(path), "%s/%lu", ACRED_USER_DIR, (unsigned long)uid);
    return open_dir(path, uid, gid, 0700, create);
}

char *acred_file_read_at(int dir, const char *name, uid_t owner, size_t max)
{
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    char *buf = NULL;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == owner &&
        (st.st_mode & 077) == 0 && (size_t)st.st_size < max &&
        (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        ssize_t n = read(fd, buf, (size_t)st.st_size);
        if (n != st.st_size) {
            acred_wipe(buf, (size_t)st.st_size);
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    close(fd);
    return buf;
}

int acred_file_write_at(int dir, const char *name, const char *text, uid_t uid, gid_t gid)
{
    char tmp[128], rnd[17];
    if (acred_random_hex(rnd, 8) != 0)
        return -1;
    snprintf(tmp, sizeof(tmp), ".%s.%s", name, rnd);
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), done = 0;
    int ok = fchmod(fd, 0600) == 0 && (geteuid() != 0 || fchown(fd, uid, gid) == 0);
    while (ok && done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n <= 0 && errno != EINTR)
            ok = 0;
        else if (n > 0)
            done += (size_t)n;
    }
    if (close(fd) != 0)
        ok = 0;
    if (ok && renameat(dir, tmp, dir, name) == 0)
        return 0;
    unlinkat(dir, tmp, 0);
    return -1;
}

/* ---- entries as JSON ------------------------------------------------------------------ */

static void put(json_object *o, const char *key, const char *value)
{
    if (value != NULL)
        json_object_object_add(o, key, json_object_new_string(value));
}

static char *entry_json(const struct acred_cache_entry *e, int user_copy)
{
    json_object *o = json_object_new_object();
    put(o, "user", e->user);
    put(o, "sub", e->sub);
    put(o, "role", e->role);
    put(o, "session", e->session);
    json_object_object_add(o, "duration", json_object_new_int64(e->duration));
    put(o, "access_key_id", e->sts.access_key_id);
    put(o, "access_key_secret", e->sts.access_key_secret);
    put(o, "security_token", e->sts.security_token);
    put(o, "expiration", e->sts.expiration);
    if (user_copy) {
        put(o, "token", e->token);
        json_object_object_add(o, "token_exp", json_object_new_int64(e->token_exp));
        put(o, "refresh_token", e->refresh_token);
        put(o, "conf", e->conf);
    }
    const char *inner = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    char *text = strdup(inner);
    /* json-c's own copy of the text holds the secrets too: wipe it before it is freed */
    acred_wipe((char *)inner, strlen(inner));
    json_object_put(o);
    return text;
}

static char *dup_string(json_object *o, const char *key)
{
    return acred_strdup(acred_json_string(o, key));
}

static int parse_entry(const char *text, struct acred_cache_entry *e)
{
    long long n = 0;
    memset(e, 0, sizeof(*e));
    json_object *o = acred_json_parse(text, strlen(text));
    if (o == NULL)
        return -1;
    e->user = dup_string(o, "user");
    e->sub = dup_string(o, "sub");
    e->role = dup_string(o, "role");
    e->session = dup_string(o, "session");
    if (acred_json_int64(o, "duration", &n) == 0)
        e->duration = (long)n;
    e->sts.access_key_id = dup_string(o, "access_key_id");
    e->sts.access_key_secret = dup_string(o, "access_key_secret");
    e->sts.security_token = dup_string(o, "security_token");
    e->sts.expiration = dup_string(o, "expiration");
    e->token = dup_string(o, "token");
    if (acred_json_int64(o, "token_exp", &n) == 0)
        e->token_exp = n;
    e->refresh_token = dup_string(o, "refresh_token");
    e->conf = dup_string(o, "conf");
    json_object_put(o);
    e->sts.expires_at = acred_parse_utc(e->sts.expiration);
    if (e->user == NULL || e->role == NULL || e->sts.access_key_id == NULL ||
        e->sts.access_key_secret == NULL || e->sts.security_token == NULL ||
        e->sts.expires_at < 0) {
        acred_cache_entry_free(e);
        return -1;
    }
    return 0;
}

static int read_entry(int dir, const char *name, uid_t owner, struct acred_cache_entry *e)
{
    char *text = acred_file_read_at(dir, name, owner, MAX_FILE);
    int rc = text ? parse_entry(text, e) : -1;
    acred_secret_free(text);
    return rc;
}

int acred_cache_read(uid_t uid, struct acred_cache_entry *e)
{
    char name[32];
    int dir = root_dir(0), rc = -1;
    memset(e, 0, sizeof(*e));
    if (dir < 0)
        return -1;
    snprintf(name, sizeof(name), "%lu.json", (unsigned long)uid);
    if (flock(dir, LOCK_SH) == 0)
        rc = read_entry(dir, name, 0, e);
    close(dir);
    return rc;
}

int acred_cache_read_user(uid_t uid, struct acred_cache_entry *e)
{
    int dir = user_dir(uid, (gid_t)-1, 0), rc = -1;
    memset(e, 0, sizeof(*e));
    if (dir < 0)
        return -1;
    if (flock(dir, LOCK_SH) == 0)
        rc = read_entry(dir, "credentials.json", uid, e);
    close(dir);
    return rc;
}

void acred_cache_user_config_path(uid_t uid, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%lu/config.json", ACRED_USER_DIR, (unsigned long)uid);
}

/* the aliyun CLI configuration whose External profile runs credential-process */
static char *cli_config(const struct acred_cache_entry *e, const char *region,
                        const char *helper_path)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s credential-process --conf %s", helper_path,
             e->conf ? e->conf : "/etc/security/pam_acred.conf");
    json_object *o = json_object_new_object(), *profiles = json_object_new_array();
    json_object *p = json_object_new_object();
    put(p, "name", "acred");
    put(p, "mode", "External");
    put(p, "process_command", cmd);
    put(p, "region_id", region && region[0] ? region : "cn-hangzhou");
    put(p, "output_format", "json");
    put(p, "language", "en");
    json_object_array_add(profiles, p);
    put(o, "current", "acred");
    json_object_object_add(o, "profiles", profiles);
    put(o, "meta_path", "");
    char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
    return text;
}

static int write_user_files(const struct passwd *pw, const struct acred_cache_entry *e,
                            const char *cli)
{
    int dir = user_dir(pw->pw_uid, pw->pw_gid, 1), rc = -1;
    if (dir < 0)
        return -1;
    char *text = entry_json(e, 1);
    if (text != NULL && flock(dir, LOCK_EX) == 0) {
        rc = acred_file_write_at(dir, "credentials.json", text, pw->pw_uid, pw->pw_gid);
        if (rc == 0 && cli != NULL)
            rc = acred_file_write_at(dir, "config.json", cli, pw->pw_uid, pw->pw_gid);
    }
    acred_secret_free(text);
    close(dir);
    return rc;
}

int acred_cache_write_user(const struct passwd *pw, const struct acred_cache_entry *e)
{
    return write_user_files(pw, e, NULL);
}

int acred_cache_write(const struct passwd *pw, const struct acred_cache_entry *e, int process,
                      const char *region, const char *helper_path)
{
    char name[32];
    int dir = root_dir(1), rc = -1;
    if (dir < 0)
        return -1;
    snprintf(name, sizeof(name), "%lu.json", (unsigned long)pw->pw_uid);
    char *text = entry_json(e, 0);
    if (text != NULL && flock(dir, LOCK_EX) == 0)
        rc = acred_file_write_at(dir, name, text, 0, 0);
    acred_secret_free(text);
    close(dir);
    char *cli = process ? cli_config(e, region, helper_path) : NULL;
    if (rc == 0)
        rc = write_user_files(pw, e, cli);
    free(cli);
    return rc;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static int alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* the lines of sessions_text less (session, pid) and the dead, plus add when not NULL */
static char *edit_sessions(const char *text, const char *drop, long drop_pid, const char *add,
                           long add_pid, int *count)
{
    size_t cap = (text ? strlen(text) : 0) + 128;
    char *out = calloc(1, cap), *copy = text ? strdup(text) : NULL;
    *count = 0;
    if (out == NULL)
        return NULL;
    for (char *line = copy ? strtok(copy, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char s[64];
        long pid;
        if (sscanf(line, "%63s %ld", s, &pid) != 2 || !alive(pid))
            continue;
        if (drop && strcmp(s, drop) == 0 && pid == drop_pid)
            continue;
        snprintf(out + strlen(out), cap - strlen(out), "%s %ld\n", s, pid);
        (*count)++;
    }
    if (add) {
        snprintf(out + strlen(out), cap - strlen(out), "%s %ld\n", add, add_pid);
        (*count)++;
    }
    free(copy);
    return out;
}

static void remove_user_files(uid_t uid, int root)
{
    char name[32], path[256];
    snprintf(name, sizeof(name), "%lu.json", (unsigned long)uid);
    unlinkat(root, name, 0);
    snprintf(name, sizeof(name), "%lu.sessions", (unsigned long)uid);
    unlinkat(root, name, 0);
    int dir = user_dir(uid, (gid_t)-1, 0);
    if (dir >= 0) {
        unlinkat(dir, "credentials.json", 0);
        unlinkat(dir, "config.json", 0);
        close(dir);
        snprintf(path, sizeof(path), "%s/%lu", ACRED_USER_DIR, (unsigned long)uid);
        rmdir(path);
    }
}

static int update_sessions(uid_t uid, const char *drop, long drop_pid, const char *add,
                           long add_pid)
{
    char name[32];
    int count = -1, dir = root_dir(add != NULL);
    if (dir < 0)
        return -1;
    snprintf(name, sizeof(name), "%lu.sessions", (unsigned long)uid);
    if (flock(dir, LOCK_EX) == 0) {
        char *old = acred_file_read_at(dir, name, 0, MAX_FILE);
        char *text = edit_sessions(old, drop, drop_pid, add, add_pid, &count);
        if (text != NULL && count > 0 && acred_file_write_at(dir, name, text, 0, 0) != 0)
            count = -1;
        if (text != NULL && count == 0)
            remove_user_files(uid, dir);
        free(old);
        free(text);
    }
    close(dir);
    return count;
}

int acred_cache_session_add(uid_t uid, const char *session, long pid)
{
    return update_sessions(uid, NULL, 0, session, pid) > 0 ? 0 : -1;
}

int acred_cache_session_remove(uid_t uid, const char *session, long pid)
{
    return update_sessions(uid, session, pid, NULL, 0);
}

/* ---- device-code logins per minute ----------------------------------------------------- */

int acred_device_rate_take(long per_minute, time_t now)
{
    int dir = root_dir(1), rc = 0, count = 0;
    if (dir < 0)
        return 0; /* nowhere to count (not root): the IdP's own limits still apply */
    if (flock(dir, LOCK_EX) == 0) {
        char *old = acred_file_read_at(dir, "device-rate", 0, MAX_FILE), out[65536] = "";
        size_t len = 0;
        for (char *line = old ? strtok(old, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            long long t = strtoll(line, NULL, 10);
            if (t > now - 60 && t <= now && len + 24 < sizeof(out)) {
                len += (size_t)snprintf(out + len, sizeof(out) - len, "%lld\n", t);
                count++;
            }
        }
        if (count >= per_minute)
            rc = -1;
        else
            snprintf(out + len, sizeof(out) - len, "%lld\n", (long long)now);
        acred_file_write_at(dir, "device-rate", out, 0, 0);
        free(old);
    }
    close(dir);
    return rc;
}
