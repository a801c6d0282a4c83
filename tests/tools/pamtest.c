/*
 * pamtest: a PAM application for tests, on pam_start_confdir (the service file comes from a
 * directory of the test's, nothing under /etc is touched). It prints a transcript:
 *
 *     PROMPT-OFF IDaaS token:        a prompt (PROMPT-ON for echo on)
 *     ANSWER 500                     how many characters were answered (never the answer)
 *     INFO text / ERROR text         messages
 *     auth PAM_SUCCESS               the result of each operation
 *     ENV NAME=VALUE                 the PAM environment at the end (with --env)
 *
 * usage: pamtest --confdir DIR --service NAME --user USER [--ruser U] [--rhost H] [--tty T]
 *                [--answers FILE] [--max-answer N] [--ops auth,account,setcred,open,close]
 *                [--env] [--set-user-before-session USER] [--escaped] [--hold SECONDS]
 *
 * --hold keeps the handle (and so an open session) for SECONDS after the operations, or until
 * SIGTERM, then closes the session it opened: a user who stays logged in, then logs out.
 * An answer "@exec COMMAND" runs COMMAND with /bin/sh, the prompt's text in $PROMPT, and
 * answers with the first line it prints (a device-code test approves the code it was shown).
 * Answers are the lines of FILE, one per prompt; when they run out, or an answer is N or more
 * characters long with --max-answer N (as sudo does at 512), the conversation fails.
 * With --escaped, answers are written with C escapes (\\ \n \r \t \0 \xHH), so that a test can
 * answer with a newline or a NUL inside (a NUL ends the answer, as it does for any client).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <security/pam_appl.h>

struct answers {
    char **lines;
    size_t n, next;
    size_t max; /* 0: no limit */
};

static const char *code_name(int rc)
{
    static const struct { int rc; const char *name; } names[] = {
        {PAM_SUCCESS, "PAM_SUCCESS"}, {PAM_AUTH_ERR, "PAM_AUTH_ERR"},
        {PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN"}, {PAM_SERVICE_ERR, "PAM_SERVICE_ERR"},
        {PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL"}, {PAM_IGNORE, "PAM_IGNORE"},
        {PAM_CONV_ERR, "PAM_CONV_ERR"}, {PAM_PERM_DENIED, "PAM_PERM_DENIED"},
        {PAM_SESSION_ERR, "PAM_SESSION_ERR"}, {PAM_CRED_ERR, "PAM_CRED_ERR"},
        {PAM_ABORT, "PAM_ABORT"}, {PAM_BUF_ERR, "PAM_BUF_ERR"},
        {PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR"}, {PAM_ACCT_EXPIRED, "PAM_ACCT_EXPIRED"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].rc == rc)
            return names[i].name;
    return "PAM_OTHER";
}

static void on_term(int sig)
{
    (void)sig; /* only to end sleep() */
}

/* "@exec COMMAND": the first line COMMAND prints, with the prompt in $PROMPT */
static char *run_exec(const char *command, const char *prompt)
{
    char line[4096] = "";
    setenv("PROMPT", prompt, 1);
    fflush(stdout);
    FILE *p = popen(command, "r");
    if (p != NULL) {
        if (fgets(line, sizeof(line), p) == NULL)
            line[0] = '\0';
        pclose(p);
    }
    line[strcspn(line, "\n")] = '\0';
    return strdup(line);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    struct answers *a = data;
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    if (r == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        int style = msg[i]->msg_style;
        if (style == PAM_TEXT_INFO || style == PAM_ERROR_MSG) {
            printf("%s %s\n", style == PAM_TEXT_INFO ? "INFO" : "ERROR", msg[i]->msg);
            continue;
        }
        printf("%s %s\n", style == PAM_PROMPT_ECHO_OFF ? "PROMPT-OFF" : "PROMPT-ON",
               msg[i]->msg);
        if (a->next >= a->n || (a->max && strlen(a->lines[a->next]) >= a->max)) {
            printf("CONV-ERROR\n");
            if (a->next < a->n)
                a->next++;
            for (int j = 0; j < i; j++)
                free(r[j].resp);
            free(r);
            return PAM_CONV_ERR;
        }
        r[i].resp = strncmp(a->lines[a->next], "@exec ", 6) == 0
                        ? run_exec(a->lines[a->next] + 6, msg[i]->msg)
                        : strdup(a->lines[a->next]);
        a->next++;
        printf("ANSWER %zu\n", strlen(r[i].resp));
    }
    fflush(stdout);
    *resp = r;
    return PAM_SUCCESS;
}

/* --escaped: undo C escapes in place (\\ \n \r \t \0 \xHH); a \0 ends the answer */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '\\' || p[1] == '\0') {
            *o++ = *p;
            continue;
        }
        char c = *++p;
        if (c == 'n') *o++ = '\n';
        else if (c == 'r') *o++ = '\r';
        else if (c == 't') *o++ = '\t';
        else if (c == '0') *o++ = '\0';
        else if (c == 'x' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], '\0'};
            *o++ = (char)strtoul(hex, NULL, 16);
            p += 2;
        } else *o++ = c;
    }
    *o = '\0';
}

static void read_answers(const char *path, struct answers *a)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = '\0';
        a->lines = realloc(a->lines, (a->n + 1) * sizeof(char *));
        a->lines[a->n++] = strdup(line);
    }
    free(line);
    fclose(f);
}

static int run_op(pam_handle_t *pamh, const char *op)
{
    if (strcmp(op, "auth") == 0)
        return pam_authenticate(pamh, 0);
    if (strcmp(op, "account") == 0)
        return pam_acct_mgmt(pamh, 0);
    if (strcmp(op, "setcred") == 0)
        return pam_setcred(pamh, PAM_ESTABLISH_CRED);
    if (strcmp(op, "open") == 0)
        return pam_open_session(pamh, 0);
    if (strcmp(op, "close") == 0)
        return pam_close_session(pamh, 0);
    fprintf(stderr, "pamtest: unknown op %s\n", op);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *confdir = NULL, *service = NULL, *user = NULL, *ruser = NULL, *rhost = NULL,
               *tty = NULL, *ops = "auth,account,setcred,open,close", *switch_to = NULL;
    struct answers a = {0};
    int show_env = 0;
    int escaped = 0;
    unsigned hold = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--env") == 0) {
            show_env = 1;
            continue;
        }
        if (strcmp(opt, "--escaped") == 0) {
            escaped = 1;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "pamtest: %s needs a value\n", opt);
            return 2;
        }
        i++;
        if (strcmp(opt, "--confdir") == 0) confdir = val;
        else if (strcmp(opt, "--service") == 0) service = val;
        else if (strcmp(opt, "--user") == 0) user = val;
        else if (strcmp(opt, "--ruser") == 0) ruser = val;
        else if (strcmp(opt, "--rhost") == 0) rhost = val;
        else if (strcmp(opt, "--tty") == 0) tty = val;
        else if (strcmp(opt, "--ops") == 0) ops = val;
        else if (strcmp(opt, "--answers") == 0) read_answers(val, &a);
        else if (strcmp(opt, "--max-answer") == 0) a.max = strtoul(val, NULL, 10);
        else if (strcmp(opt, "--set-user-before-session") == 0) switch_to = val;
        else if (strcmp(opt, "--hold") == 0) hold = (unsigned)strtoul(val, NULL, 10);
        else {
            fprintf(stderr, "pamtest: unknown option %s\n", opt);
            return 2;
        }
    }
    if (confdir == NULL || service == NULL || user == NULL) {
        fprintf(stderr, "usage: pamtest --confdir DIR --service NAME --user USER [...]\n");
        return 2;
    }
    for (size_t i = 0; escaped && i < a.n; i++)
        unescape(a.lines[i]);
    struct pam_conv c = {conv, &a};
    pam_handle_t *pamh = NULL;
    int rc = pam_start_confdir(service, user, &c, confdir, &pamh);
    if (rc != PAM_SUCCESS) {
        printf("start %s\n", code_name(rc));
        return 1;
    }
    if (ruser) pam_set_item(pamh, PAM_RUSER, ruser);
    if (rhost) pam_set_item(pamh, PAM_RHOST, rhost);
    if (tty) pam_set_item(pamh, PAM_TTY, tty);
    int failed = 0;
    char *list = strdup(ops);
    for (char *op = strtok(list, ","); op; op = strtok(NULL, ",")) {
        if (switch_to && strcmp(op, "setcred") == 0)
            pam_set_item(pamh, PAM_USER, switch_to);
        rc = run_op(pamh, op);
        printf("%s %s\n", op, code_name(rc));
        fflush(stdout);
        if (rc != PAM_SUCCESS) {
            failed = 1;
            break;
        }
    }
    free(list);
    if (hold > 0 && !failed) {
        struct sigaction act = {.sa_handler = on_term};
        sigaction(SIGTERM, &act, NULL);
        fflush(stdout);
        sleep(hold); /* SIGTERM ends it early */
        if (strstr(ops, "open") != NULL && strstr(ops, "close") == NULL) {
            rc = pam_close_session(pamh, 0);
            printf("close %s\n", code_name(rc));
            fflush(stdout);
        }
    }
    if (show_env) {
        char **env = pam_getenvlist(pamh);
        for (size_t i = 0; env && env[i]; i++) {
            printf("ENV %s\n", env[i]);
            free(env[i]);
        }
        free(env);
    }
    pam_end(pamh, rc);
    for (size_t i = 0; i < a.n; i++)
        free(a.lines[i]);
    free(a.lines);
    return failed;
}
