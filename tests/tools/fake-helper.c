/*
 * fake-helper: a stand-in for acred-helper that speaks common/acred_protocol.h, well or badly,
 * so that the tests can show what pam_acred.so does with a helper that hangs, dies, lies or
 * sends what it must not. Installed as the module's helper= under the name of its behaviour
 * (the module runs it as "acred-helper pam" with a clean environment, so the name of the file,
 * from /proc/self/exe, is the only thing a test can choose):
 *
 *   success        a well-formed success: a few variables of the list, audit fields
 *   bound-sleep    `bound 2`, then sleeps for ever (the module must kill it after 2 s)
 *   term-proof     as bound-sleep, ignoring SIGTERM and SIGINT (SIGKILL still ends it)
 *   no-bound       sleeps for ever without a bound (ACRED_BOUND_START applies)
 *   partial-hang   `bound 2`, half a record without its newline, then sleeps
 *   exit           reads the request and exits without a result
 *   crash          `bound 5`, then dies of SIGSEGV
 *   die-mid-record half a record, then exits
 *   garbage        4 KiB of random bytes
 *   long-record    70000 bytes without a newline
 *   bound-zero     `bound 0`
 *   bad-result     `result maybe`
 *   bad-keyword    `export ACRED_ROLE=x`
 *   audit-unknown  an audit field outside ACRED_AUDIT_HELPER_KEYS
 *   env-preload    `env LD_PRELOAD=...` among good variables, then success
 *   env-unlisted   `env ACRED_EVIL=1` among good variables, then success
 *   env-lowercase  `env acred_role=x`, then success
 *   env-newline    `env ACRED_ROLE=a<LF>b` (escaped on the wire), then success
 *   env-escape     `env ACRED_ROLE=a<ESC>[31mb`, then success
 *   env-del        `env ACRED_ROLE=a<DEL>b`, then success
 *   env-noeq       `env ACRED_ROLE`, then success
 *   hygiene        reports, as info records, its descriptors, signal mask and dispositions,
 *                  umask, environment and arguments, then a failure (reason no_role)
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"

extern char **environ;

static void rec(const char *kw, const char *value)
{
    if (acred_write_record(1, -1, kw, value) != 0)
        _exit(3);
}

static void raw(const void *buf, size_t n)
{
    if (write(1, buf, n) != (ssize_t)n)
        _exit(3);
}

static void forever(void)
{
    for (;;)
        pause();
}

/* the request: records until `go`, in any order */
static char op[32] = "auth";
static int read_request(void)
{
    static struct acred_reader rd;
    const char *kw, *value;
    acred_reader_init(&rd, 0);
    for (;;) {
        if (acred_read_record(&rd, -1, &kw, &value) != ACRED_READ_RECORD)
            return -1;
        if (strcmp(kw, "op") == 0)
            snprintf(op, sizeof(op), "%s", value);
        if (strcmp(kw, "go") == 0)
            return 0;
    }
}

static void good_env(void)
{
    rec("env", "ACRED_ROLE=acs:ram::1234567890123456:role/fake");
    rec("env", "ACRED_SESSION=fakefakefakefake");
    rec("env", "ALIBABA_CLOUD_ACCESS_KEY_ID=STS.fake-access-key-id");
}

static void success(void)
{
    rec("audit", "method token");
    rec("audit", "role acs:ram::1234567890123456:role/fake");
    rec("audit", "session fakefakefakefake");
    rec("result", "success");
}

/* a line of /proc/self/status, such as "SigBlk:\t0000000000000000", as "sigblk 00...0" */
static void status_field(const char *name, const char *word)
{
    char line[256], out[300];
    FILE *f = fopen("/proc/self/status", "re");
    size_t n = strlen(name);
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            char *v = line + n + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = '\0';
            snprintf(out, sizeof(out), "%s %s", word, v);
            rec("info", out);
        }
    }
    if (f)
        fclose(f);
}

static void hygiene(void)
{
    char buf[4096] = "fds", path[64], target[256];
    DIR *d = opendir("/proc/self/fd");
    int self = d ? dirfd(d) : -1;
    /* in numeric order: 0..1023 is plenty for a test */
    for (int fd = 0; fd < 1024; fd++) {
        if (fd == self || fcntl(fd, F_GETFD) < 0)
            continue;
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof(buf) - n, " %d", fd);
    }
    if (d)
        closedir(d);
    rec("info", buf);
    for (int fd = 0; fd < 3; fd++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        if (strncmp(target, "socket:", 7) == 0)
            target[6] = '\0';
        snprintf(buf, sizeof(buf), "fd%d %s", fd, target);
        rec("info", buf);
    }
    status_field("SigBlk", "sigblk");
    status_field("SigIgn", "sigign");
    status_field("SigCgt", "sigcgt");
    mode_t m = umask(0);
    snprintf(buf, sizeof(buf), "umask %04o", (unsigned)m);
    rec("info", buf);
    for (char **v = environ; *v; v++) {
        snprintf(buf, sizeof(buf), "environ %s", *v);
        rec("info", buf);
    }
    snprintf(buf, sizeof(buf), "uid %u euid %u", (unsigned)getuid(), (unsigned)geteuid());
    rec("info", buf);
    rec("audit", "reason no_role");
    rec("result", "failure");
}

static const char *mode_name(void)
{
    static char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return "";
    exe[n] = '\0';
    const char *slash = strrchr(exe, '/');
    return slash ? slash + 1 : exe;
}

int main(int argc, char **argv)
{
    const char *mode = mode_name();
    if (argc != 2 || strcmp(argv[1], "pam") != 0)
        return 2;
    if (read_request() != 0)
        return 2;
    if (strcmp(op, "auth") != 0) { /* session ops: nothing to do */
        rec("result", "ignored");
        return 0;
    }
    if (strcmp(mode, "success") == 0) {
        rec("bound", "5");
        good_env();
        success();
    } else if (strcmp(mode, "bound-sleep") == 0) {
        rec("bound", "2");
        forever();
    } else if (strcmp(mode, "term-proof") == 0) {
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        rec("bound", "2");
        forever();
    } else if (strcmp(mode, "no-bound") == 0) {
        forever();
    } else if (strcmp(mode, "partial-hang") == 0) {
        rec("bound", "2");
        raw("env ACRED_ROLE=par", 18);
        forever();
    } else if (strcmp(mode, "exit") == 0) {
        return 0;
    } else if (strcmp(mode, "crash") == 0) {
        rec("bound", "5");
        raise(SIGSEGV);
    } else if (strcmp(mode, "die-mid-record") == 0) {
        rec("bound", "5");
        rec("env", "ACRED_ROLE=acs:ram::1234567890123456:role/fake");
        raw("env ACRED_SESSION=fa", 20);
        return 0;
    } else if (strcmp(mode, "garbage") == 0) {
        unsigned char junk[4096];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
            return 3;
        junk[sizeof(junk) - 1] = '\n';
        raw(junk, sizeof(junk));
    } else if (strcmp(mode, "long-record") == 0) {
        static char big[70000];
        memset(big, 'a', sizeof(big));
        memcpy(big, "info ", 5);
        raw(big, sizeof(big));
        sleep(1);
    } else if (strcmp(mode, "bound-zero") == 0) {
        rec("bound", "0");
        success();
    } else if (strcmp(mode, "bad-result") == 0) {
        good_env();
        rec("result", "maybe");
    } else if (strcmp(mode, "bad-keyword") == 0) {
        rec("export", "ACRED_ROLE=x");
        success();
    } else if (strcmp(mode, "audit-unknown") == 0) {
        rec("audit", "password hunter2");
        success();
    } else if (strncmp(mode, "env-", 4) == 0) {
        static const struct { const char *mode, *env; } bad[] = {
            {"env-preload", "LD_PRELOAD=/tmp/evil.so"},
            {"env-unlisted", "ACRED_EVIL=1"},
            {"env-lowercase", "acred_role=x"},
            {"env-newline", "ACRED_ROLE=a\nb"},
            {"env-escape", "ACRED_ROLE=a\033[31mb"},
            {"env-del", "ACRED_ROLE=a\177b"},
            {"env-noeq", "ACRED_ROLE"},
        };
        const char *env = NULL;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (strcmp(mode, bad[i].mode) == 0)
                env = bad[i].env;
        if (env == NULL)
            return 2;
        rec("bound", "5");
        good_env();
        rec("env", env);
        success();
    } else if (strcmp(mode, "hygiene") == 0) {
        hygiene();
    } else {
        rec("log", "err fake-helper: unknown behaviour");
        rec("result", "failure");
    }
    return 0;
}
