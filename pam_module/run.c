/*
 * run.c: check acred-helper, run it with nothing inherited, and relay its records through the
 * PAM conversation, never waiting longer than the bound it declared (ACRED_BOUND_MAX at most).
 */
#include "acred_build.h"
#include "module.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_ext.h>

/* a file or directory that only root (or we ourselves) could have put there */
static int safe_owner_mode(const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return 0;
    return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* the helper and every directory above it: see CONTRACT.md "What gets installed" */
static int check_helper(struct acred_ctx *ctx, char *real)
{
    struct stat st;
    if (realpath(ctx->helper, real) == NULL) {
        pam_syslog(ctx->pamh, LOG_ERR, "helper %s: %s", ctx->helper, strerror(errno));
        return -1;
    }
    if (lstat(real, &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
        pam_syslog(ctx->pamh, LOG_ERR, "helper %s: not an executable regular file", real);
        return -1;
    }
    if (!safe_owner_mode(&st)) {
        pam_syslog(ctx->pamh, LOG_ERR,
                   "helper %s: must be owned by root and not writable by group or others", real);
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", real);
    for (char *slash = strrchr(dir, '/'); slash != NULL; slash = strrchr(dir, '/')) {
        slash[slash == dir ? 1 : 0] = '\0';
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !safe_owner_mode(&st)) {
            pam_syslog(ctx->pamh, LOG_ERR,
                       "helper %s: directory %s must be owned by root and not writable by "
                       "group or others",
                       real, dir);
            return -1;
        }
        if (slash == dir)
            break;
    }
    return 0;
}

/* the kernel's struct for rt_sigaction (x86-64, arm64 and the like) */
struct acred_ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

/* default disposition for sig; glibc refuses its two reserved signals (32, 33), which an
 * ancestor may have set to ignored (and ignored survives exec): the kernel still lets us */
static void default_signal(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    if (sigaction(sig, &dfl, NULL) != 0) {
        struct acred_ksigaction k = {.handler = SIG_DFL};
        (void)syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
    }
}

/* in the child, between fork and exec: async-signal-safe calls only */
static void child_exec(int sock, const char *path, char *const argv[], char *const envp[])
{
    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            default_signal(sig);
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0 || dup2(sock, 0) < 0 || dup2(sock, 1) < 0 || dup2(devnull, 2) < 0)
        _exit(126);
#ifdef HAVE_CLOSE_RANGE
    if (close_range(3, ~0U, 0) != 0)
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            (void)close(fd);
    }
    umask(077);
    execve(path, argv, envp);
    _exit(127);
}

struct run {
    struct acred_ctx *ctx;
    int fd;
    pid_t pid;
    long long deadline;
    int bound_set;
    struct acred_reader *rd;
};

static int send_request(struct run *r, const struct acred_request *req)
{
    const void *service = NULL, *rhost = NULL, *tty = NULL, *ruser = NULL;
    char pid[24];
    pam_get_item(r->ctx->pamh, PAM_SERVICE, &service);
    pam_get_item(r->ctx->pamh, PAM_RHOST, &rhost);
    pam_get_item(r->ctx->pamh, PAM_TTY, &tty);
    pam_get_item(r->ctx->pamh, PAM_RUSER, &ruser);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    const char *rec[][2] = {
        {"hello", ACRED_PROTO_VERSION},
        {"conf", r->ctx->conf},
        {"op", req->op},
        {"user", req->user},
        {"service", service ? service : ""},
        {"rhost", rhost ? rhost : ""},
        {"tty", tty ? tty : ""},
        {"ruser", ruser ? ruser : ""},
        {"debug", r->ctx->debug ? "1" : "0"},
        {"owner", req->owner ? req->owner : ""},
        {"session", req->session ? req->session : ""},
        {"pid", pid},
        {"go", ""},
    };
    for (size_t i = 0; i < sizeof(rec) / sizeof(rec[0]); i++)
        if (acred_write_record(r->fd, r->deadline, rec[i][0], rec[i][1]) != 0)
            return -1;
    return 0;
}

/* ask the person; the time spent here does not count against the helper's bound */
static int converse(struct run *r, int style, const char *text)
{
    const void *item = NULL;
    const struct pam_conv *conv;
    struct pam_message msg = {.msg_style = style, .msg = text};
    const struct pam_message *msgp = &msg;
    struct pam_response *resp = NULL;
    long long started = acred_now_ms();
    int rc = pam_get_item(r->ctx->pamh, PAM_CONV, &item);
    conv = item;
    if (rc == PAM_SUCCESS && (conv == NULL || conv->conv == NULL))
        rc = PAM_CONV_ERR;
    if (rc == PAM_SUCCESS)
        rc = conv->conv(1, &msgp, &resp, conv->appdata_ptr);
    r->deadline += acred_now_ms() - started;

    int wrc = 0;
    size_t len = resp != NULL && resp->resp != NULL ? strlen(resp->resp) : 0;
    if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
        if (rc == PAM_SUCCESS && resp != NULL && resp->resp != NULL) {
            if (len > ACRED_ANSWER_MAX)
                resp->resp[ACRED_ANSWER_MAX] = '\0'; /* the helper refuses it as too long */
            wrc = acred_write_record(r->fd, r->deadline, "answer", resp->resp);
        } else {
            wrc = acred_write_record(r->fd, r->deadline, "conv-error", "");
        }
    }
    if (resp != NULL) {
        if (resp->resp != NULL) {
            acred_wipe(resp->resp, len);
            free(resp->resp);
        }
        free(resp);
    }
    return wrc;
}

static int add_field(struct acred_ctx *ctx, const char *value)
{
    static const char *const keys[] = {ACRED_AUDIT_HELPER_KEYS};
    const char *sp = strchr(value, ' ');
    size_t klen = sp ? (size_t)(sp - value) : 0;
    for (size_t i = 0; sp != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strlen(keys[i]) != klen || memcmp(keys[i], value, klen) != 0)
            continue;
        if (acred_field(ctx, keys[i]) != NULL || ctx->n_fields >= ACRED_MAX_FIELDS)
            return -1;
        struct acred_field *f = &ctx->fields[ctx->n_fields];
        if ((f->value = strdup(sp + 1)) == NULL)
            return -1;
        snprintf(f->key, sizeof(f->key), "%s", keys[i]);
        ctx->n_fields++;
        return 0;
    }
    return -1;
}

static int add_env(struct acred_ctx *ctx, const char *value)
{
    if (!acred_env_allowed(value)) {
        const char *eq = strchr(value, '=');
        pam_syslog(ctx->pamh, LOG_ERR, "helper sent a variable outside the list: %.*s",
                   eq ? (int)(eq - value) : 0, value);
        return -1;
    }
    if (ctx->n_env >= ACRED_MAX_ENV || (ctx->env[ctx->n_env] = strdup(value)) == NULL)
        return -1;
    ctx->n_env++;
    return 0;
}

static void helper_log(struct acred_ctx *ctx, const char *value)
{
    static const struct { const char *word; int prio; } levels[] = {
        {"err ", LOG_ERR}, {"warning ", LOG_WARNING}, {"info ", LOG_INFO}, {"debug ", LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        size_t n = strlen(levels[i].word);
        if (strncmp(value, levels[i].word, n) == 0) {
            if (levels[i].prio != LOG_DEBUG || ctx->debug)
                pam_syslog(ctx->pamh, levels[i].prio, "%s", value + n);
            return;
        }
    }
}

/* handle one record; 1: result reached, 0: go on, -1: protocol error */
static int handle_record(struct run *r, const char *kw, const char *value)
{
    struct acred_ctx *ctx = r->ctx;
    if (strcmp(kw, "bound") == 0) {
        char *end;
        long s = strtol(value, &end, 10);
        if (r->bound_set || *end != '\0' || s < 1)
            return -1;
        r->deadline = acred_now_ms() + 1000LL * (s > ACRED_BOUND_MAX ? ACRED_BOUND_MAX : s);
        r->bound_set = 1;
        return 0;
    }
    if (strcmp(kw, "format") == 0) {
        if (strcmp(value, "json") != 0 && strcmp(value, "kv") != 0)
            return -1;
        ctx->json = strcmp(value, "json") == 0;
        return 0;
    }
    if (strcmp(kw, "prompt-off") == 0)
        return converse(r, PAM_PROMPT_ECHO_OFF, value);
    if (strcmp(kw, "prompt-on") == 0)
        return converse(r, PAM_PROMPT_ECHO_ON, value);
    if (strcmp(kw, "info") == 0)
        return converse(r, PAM_TEXT_INFO, value);
    if (strcmp(kw, "error") == 0)
        return converse(r, PAM_ERROR_MSG, value);
    if (strcmp(kw, "env") == 0)
        return add_env(ctx, value);
    if (strcmp(kw, "audit") == 0)
        return add_field(ctx, value);
    if (strcmp(kw, "log") == 0) {
        helper_log(ctx, value);
        return 0;
    }
    if (strcmp(kw, "result") == 0) {
        if (strcmp(value, "success") != 0 && strcmp(value, "failure") != 0 &&
            strcmp(value, "ignored") != 0)
            return -1;
        snprintf(ctx->result, sizeof(ctx->result), "%s", value);
        return 1;
    }
    return -1;
}

/* the helper said its result: give it a moment to exit, then make sure it is gone */
static void reap(struct run *r, int kill_now)
{
    int status;
    if (!kill_now) {
        long long until = acred_now_ms() + 2000;
        if (until > r->deadline)
            until = r->deadline;
        const char *kw, *v;
        while (acred_read_record(r->rd, until, &kw, &v) == ACRED_READ_RECORD)
            ; /* nothing may follow result; EOF or timeout ends this */
        long pause_us = 50; /* it closed the socket and is exiting: a moment, then a bit more */
        while (acred_now_ms() < until) {
            pid_t w = waitpid(r->pid, &status, WNOHANG);
            if (w == r->pid || (w < 0 && errno != EINTR))
                return;
            struct timespec ts = {0, pause_us * 1000};
            nanosleep(&ts, NULL);
            if (pause_us < 5000)
                pause_us *= 2;
        }
    }
    kill(r->pid, SIGKILL);
    while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static const char *exchange(struct run *r, const struct acred_request *req)
{
    const char *kw, *value;
    if (send_request(r, req) != 0)
        return "helper_error";
    for (;;) {
        enum acred_read_status s = acred_read_record(r->rd, r->deadline, &kw, &value);
        if (s == ACRED_READ_TIMEOUT) {
            pam_syslog(r->ctx->pamh, LOG_ERR, "helper did not finish within its bound; killed");
            return "timeout";
        }
        if (s != ACRED_READ_RECORD) {
            pam_syslog(r->ctx->pamh, LOG_ERR, "helper ended without a result");
            return "helper_error";
        }
        int h = handle_record(r, kw, value);
        if (h < 0) {
            pam_syslog(r->ctx->pamh, LOG_ERR, "helper broke the protocol (record \"%s\")", kw);
            return "helper_error";
        }
        if (h > 0)
            return NULL;
    }
}

const char *acred_run_helper(struct acred_ctx *ctx, const struct acred_request *req)
{
    char real[PATH_MAX];
    if (check_helper(ctx, real) != 0)
        return "helper_error";

    char *const argv[] = {"acred-helper", "pam", NULL};
    char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        pam_syslog(ctx->pamh, LOG_ERR, "socketpair: %s", strerror(errno));
        return "helper_error";
    }
    /* SIGCHLD back to default while we wait, so that the host's handler cannot reap our child */
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, &old);

    struct acred_reader *rd = malloc(sizeof(*rd));
    pid_t pid = rd ? fork() : -1;
    if (pid == 0)
        child_exec(sv[1], real, argv, envp);
    close(sv[1]);
    const char *reason = "helper_error";
    if (pid < 0) {
        pam_syslog(ctx->pamh, LOG_ERR, "cannot start the helper: %s", strerror(errno));
    } else {
        struct run r = {.ctx = ctx, .fd = sv[0], .pid = pid,
                        .deadline = acred_now_ms() + 1000LL * ACRED_BOUND_START, .rd = rd};
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
        acred_reader_init(rd, sv[0]);
        reason = exchange(&r, req);
        reap(&r, reason != NULL);
        acred_reader_wipe(rd);
    }
    free(rd);
    close(sv[0]);
    sigaction(SIGCHLD, &old, NULL);
    return reason;
}
