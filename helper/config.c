/*
 * config.c: the parser of pam_acred.conf (see config.h and CONTRACT.md). Strict and table-driven:
 * ACRED_KEYS below is the one list of keys; it yields the parsing table (types, ranges, defaults),
 * the key ids and acred_config_known_keys, so none of them can drift from the others. Anything
 * doubtful is an error naming its line; nothing is silently cut or ignored.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLANKS " \t"
#define SHOW_MAX 64                /* bytes of a value quoted in a message */
#define SHOW_BUF (SHOW_MAX + 4)    /* ... and "..." and the NUL */
#define WHERE_BUF (SHOW_BUF + 16)  /* "[role NAME]" */

enum acred_type {
    T_STR,     /* text without control characters (tabs allowed) */
    T_WORD,    /* text without blanks */
    T_URL,     /* https://HOST..., printable ASCII without blanks */
    T_REGION,  /* [a-z0-9-]* */
    T_LONG,    /* a decimal integer from min to max */
    T_ENUM,    /* one of words, stored as its index in an int-sized field */
    T_CHOICE,  /* one of words, stored as a string */
    T_LIST,    /* blank-separated words, at least min of them */
    T_METHODS, /* words of w_methods, each at most once, in order, at least min */
    T_ALIASES, /* words of w_aliases, each at most once, as a bit mask (1 << index) */
    T_CLAIM,   /* NAME=VALUE, both non-empty: struct acred_role's claim_name, claim_value */
};

enum acred_section_kind {
    SEC_ONCE,   /* at most once; when absent, its defaults apply and its required keys are missing */
    SEC_TOGGLE, /* at most once; present sets the int at off; absent: nothing is required */
    SEC_NAMED,  /* [role NAME]: any number of distinct names */
};

#define C(f) offsetof(struct acred_config, f)
#define R(f) offsetof(struct acred_role, f)

/* X(section, kind, offset of the "present" flag of SEC_TOGGLE) */
#define ACRED_SECTIONS(X)                                                                          \
    X(idaas, SEC_ONCE, 0)                                                                          \
    X(login, SEC_ONCE, 0)                                                                          \
    X(role, SEC_NAMED, 0)                                                                          \
    X(session, SEC_ONCE, 0)                                                                        \
    X(edas, SEC_TOGGLE, C(edas_enabled))                                                           \
    X(dsw, SEC_TOGGLE, C(dsw_enabled))                                                             \
    X(audit, SEC_ONCE, 0)

static const char *const w_methods[] = {"token", "device", NULL};
static const char *const w_qr[] = {"utf8", "ascii", "off", NULL};
static const char *const w_fail_mode[] = {"closed", "open", NULL};
static const char *const w_credentials[] = {"env", "process", NULL};
static const char *const w_aliases[] = {"terraform", "oss", NULL};
static const char *const w_yes_no[] = {"no", "yes", NULL};
static const char *const w_dsw_type[] = {"Access", "View", NULL};
static const char *const w_audit_format[] = {"kv", "json", NULL};

#define REQ 1 /* the key must be present (in a section that is) */
#define OPT 0
#define UID_MAX_L (LONG_MAX > 4294967295 ? 4294967295 : LONG_MAX)

/*
 * X(section, key, type, offset, REQ/OPT, min, max, default, words)
 *   offset: into struct acred_config, or struct acred_role for [role NAME] keys
 *   min, max: an integer's range; for T_STR/T_WORD/T_URL, min is the least length (0 or 1);
 *             for lists, min is the least number of words
 *   default: text parsed exactly like a value from the file; NULL: none (the field stays zero)
 */
#define ACRED_KEYS(X)                                                                              \
    X(idaas, instance_id, T_WORD, C(instance_id), REQ, 1, 0, NULL, NULL)                           \
    X(idaas, developer_api, T_URL, C(developer_api), OPT, 1, 0,                                    \
      "https://eiam-developerapi.cn-hangzhou.aliyuncs.com", NULL)                                  \
    X(idaas, issuer, T_URL, C(issuer), OPT, 1, 0,                                                  \
      "https://xxxx.aliyunidaas.com/api/v2/iauths_system/oauth2", NULL)                            \
    X(idaas, client_id, T_WORD, C(client_id), OPT, 1, 0, "app_xxxx", NULL)                         \
    X(idaas, audience, T_WORD, C(audience), OPT, 0, 0, "", NULL)                                   \
    X(idaas, scope, T_STR, C(scope), OPT, 1, 0,                                                    \
      "urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential", NULL)                     \
    X(idaas, username_claim, T_WORD, C(username_claim), OPT, 1, 0, "preferred_username", NULL)     \
    X(idaas, username_suffix, T_WORD, C(username_suffix), OPT, 0, 0, "", NULL)                     \
    X(idaas, ca_file, T_STR, C(ca_file), OPT, 0, 0, "", NULL)                                      \
    X(idaas, proxy, T_WORD, C(proxy), OPT, 0, 0, "", NULL)                                         \
    X(idaas, timeout, T_LONG, C(timeout), OPT, 1, 300, "10", NULL)                                 \
    X(idaas, leeway, T_LONG, C(leeway), OPT, 0, 3600, "60", NULL)                                  \
    X(idaas, duration, T_LONG, C(duration), OPT, 900, 43200, "3600", NULL)                         \
    X(login, methods, T_METHODS, C(methods), OPT, 1, 0, "token device", w_methods)                 \
    X(login, device_timeout, T_LONG, C(device_timeout), OPT, 10, 600, "90", NULL)                  \
    X(login, device_rate, T_LONG, C(device_rate), OPT, 1, 10000, "10", NULL)                       \
    X(login, qr, T_ENUM, C(qr), OPT, 0, 0, "utf8", w_qr)                                           \
    X(login, max_token_age, T_LONG, C(max_token_age), OPT, 0, 31536000, "0", NULL)                 \
    X(login, min_uid, T_LONG, C(min_uid), OPT, 0, UID_MAX_L, "1000", NULL)                         \
    X(login, allow_users, T_LIST, C(allow_users), OPT, 0, 0, "", NULL)                             \
    X(login, default_role, T_WORD, C(default_role), OPT, 0, 0, "", NULL)                           \
    X(login, fail_mode, T_ENUM, C(fail_mode), OPT, 0, 0, "closed", w_fail_mode)                    \
    X(role, external_id, T_WORD, R(external_id), REQ, 1, 0, NULL, NULL)                            \
    X(role, users, T_LIST, R(users), OPT, 1, 0, NULL, NULL)                                        \
    X(role, groups, T_LIST, R(groups), OPT, 1, 0, NULL, NULL)                                      \
    X(role, claim, T_CLAIM, R(claim_name), OPT, 0, 0, NULL, NULL)                                  \
    X(role, duration, T_LONG, R(duration), OPT, 900, 43200, NULL, NULL)                            \
    X(session, credentials, T_ENUM, C(credentials), OPT, 0, 0, "env", w_credentials)               \
    X(session, region_id, T_REGION, C(region_id), OPT, 0, 0, "", NULL)                             \
    X(session, env_aliases, T_ALIASES, C(env_aliases), OPT, 0, 0, "", w_aliases)                   \
    X(edas, namespace_id, T_WORD, C(edas_namespace_id), REQ, 1, 0, NULL, NULL)                     \
    X(edas, endpoint, T_URL, C(edas_endpoint), REQ, 1, 0, NULL, NULL)                              \
    X(edas, required, T_ENUM, C(edas_required), OPT, 0, 0, "no", w_yes_no)                         \
    X(dsw, instance_id, T_WORD, C(dsw_instance_id), REQ, 1, 0, NULL, NULL)                         \
    X(dsw, endpoint, T_URL, C(dsw_endpoint), REQ, 1, 0, NULL, NULL)                                \
    X(dsw, type, T_CHOICE, C(dsw_type), OPT, 0, 0, "Access", w_dsw_type)                           \
    X(dsw, expire_time, T_LONG, C(dsw_expire_time), OPT, 60, 86400, "3600", NULL)                  \
    X(dsw, required, T_ENUM, C(dsw_required), OPT, 0, 0, "no", w_yes_no)                           \
    X(audit, format, T_ENUM, C(audit_format), OPT, 0, 0, "kv", w_audit_format)

/* What the table relies on: T_ENUM stores a word's index; methods and aliases follow words. */
_Static_assert(sizeof(enum acred_qr) == sizeof(int) && sizeof(enum acred_fail_mode) == sizeof(int)
                   && sizeof(enum acred_credentials) == sizeof(int)
                   && sizeof(enum acred_audit_format) == sizeof(int),
               "T_ENUM fields are int-sized");
_Static_assert(ACRED_QR_ASCII == 1 && ACRED_QR_OFF == 2 && ACRED_FAIL_OPEN == 1
                   && ACRED_CRED_PROCESS == 1 && ACRED_AUDIT_JSON == 1,
               "enum values are the indexes of their words");
_Static_assert(ACRED_METHOD_TOKEN == 1 && ACRED_METHOD_DEVICE == 2
                   && sizeof(((struct acred_config *)0)->methods) == 2 * sizeof(enum acred_method),
               "methods are w_methods' index + 1, each at most once");
_Static_assert(ACRED_ALIAS_TERRAFORM == 1u && ACRED_ALIAS_OSS == 2u, "aliases are 1 << index");

enum acred_section_id {
#define X_SECTION_ID(sec, kind, off) S_##sec,
    ACRED_SECTIONS(X_SECTION_ID)
#undef X_SECTION_ID
    S_COUNT,
    S_NONE = S_COUNT
};

static const struct acred_section {
    const char *name;
    enum acred_section_kind kind;
    size_t present; /* SEC_TOGGLE: offset of its int flag */
} acred_sections[] = {
#define X_SECTION(sec, kind, off) {#sec, kind, off},
    ACRED_SECTIONS(X_SECTION)
#undef X_SECTION
};

enum acred_key_id {
#define X_KEY_ID(sec, key, ...) K_##sec##_##key,
    ACRED_KEYS(X_KEY_ID)
#undef X_KEY_ID
    K_COUNT
};

static const struct acred_key {
    enum acred_section_id sec;
    const char *key;
    enum acred_type type;
    size_t off;
    int required;
    long min, max;
    const char *def;
    const char *const *words;
} acred_keys[] = {
#define X_KEY(sec, key, type, off, req, min, max, def, words)                                      \
    {S_##sec, #key, type, off, req, min, max, def, words},
    ACRED_KEYS(X_KEY)
#undef X_KEY
};

const char *const acred_config_known_keys[] = {
#define X_KEY_NAME(sec, key, ...) #sec "." #key,
    ACRED_KEYS(X_KEY_NAME)
#undef X_KEY_NAME
    NULL};

struct parser {
    const char *name; /* in messages: the path */
    char *err;
    size_t errlen;
    struct acred_config *cfg;
    unsigned line;                /* the line being read */
    enum acred_section_id cur;    /* the section being read, or S_NONE */
    struct acred_role *role;      /* the role being read, when cur is S_role */
    unsigned sec_line[S_COUNT];   /* header line of each section seen (S_role: the current one) */
    unsigned key_line[K_COUNT];   /* line that set each key, 0: unset (role keys: current role) */
};

#define FIELD(base, k, type) ((type *)(void *)((char *)(base) + (k)->off))

/* ---- messages ------------------------------------------------------------------------------- */

static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static int __attribute__((format(printf, 3, 4)))
fail(struct parser *p, unsigned line, const char *fmt, ...)
{
    if (!p->err || !p->errlen)
        return -1;
    int n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    one_line(p->err);
    return -1;
}

static int oom(struct parser *p)
{
    return fail(p, p->line, "out of memory");
}

/* v as quoted in a message: at most SHOW_MAX bytes, then "..." */
static const char *show(const char *v, char buf[SHOW_BUF])
{
    size_t n = strnlen(v, SHOW_MAX + 1);
    if (n > SHOW_MAX) {
        memcpy(buf, v, SHOW_MAX);
        memcpy(buf + SHOW_MAX, "...", 4);
    } else {
        memcpy(buf, v, n + 1);
    }
    return buf;
}

/* "[idaas]" or "[role NAME]" for the section being read */
static const char *where(const struct parser *p, char buf[WHERE_BUF])
{
    char nb[SHOW_BUF];
    if (p->cur == S_role && p->role)
        snprintf(buf, WHERE_BUF, "[role %s]", show(p->role->name, nb));
    else
        snprintf(buf, WHERE_BUF, "[%s]", acred_sections[p->cur].name);
    return buf;
}

static int bad(struct parser *p, const struct acred_key *k, const char *v, const char *expected)
{
    char sv[SHOW_BUF];
    return fail(p, p->line, "bad value '%s' for %s: expected %s", show(v, sv), k->key, expected);
}

/* "a, b or c" (last = " or ") or "a b c" (sep = last = " ") */
static void join_words(const char *const *w, const char *sep, const char *last, char *buf,
                       size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; w[i] && used < len; i++) {
        const char *s = i == 0 ? "" : w[i + 1] ? sep : last;
        int n = snprintf(buf + used, len - used, "%s%s", s, w[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* ---- values: one setter per type; each checks v and stores it at base + k->off ------------------ */

typedef int acred_setter(struct parser *p, const struct acred_key *k, void *base, const char *v);

static int store_str(struct parser *p, char **field, const char *v)
{
    if (!(*field = strdup(v)))
        return oom(p);
    return 0;
}

static int set_str(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    if ((long)strlen(v) < k->min)
        return bad(p, k, v, k->type == T_WORD ? "one word" : "a value");
    if (k->type == T_WORD && v[strcspn(v, BLANKS)])
        return bad(p, k, v, "one word without spaces");
    return store_str(p, FIELD(base, k, char *), v);
}

static int set_url(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    static const char https[] = "https://";
    const size_t hl = sizeof https - 1;
    if (*v || k->min > 0) {
        if (strncmp(v, https, hl) != 0 || v[hl] == '\0' || v[hl] == '/')
            return bad(p, k, v, "an https:// URL");
        for (const unsigned char *c = (const unsigned char *)v; *c; c++)
            if (*c <= ' ' || *c >= 0x7f)
                return bad(p, k, v, "an https:// URL without spaces or control characters");
    }
    return store_str(p, FIELD(base, k, char *), v);
}

static int set_region(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    if (v[strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-")])
        return bad(p, k, v, "a region id of lower-case letters, digits and '-', or nothing");
    return store_str(p, FIELD(base, k, char *), v);
}

static int set_long(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    char sv[SHOW_BUF], expected[80];
    const char *digits = v + (*v == '-');
    snprintf(expected, sizeof expected, "an integer from %ld to %ld", k->min, k->max);
    if (!*digits || digits[strspn(digits, "0123456789")])
        return bad(p, k, v, expected);
    errno = 0;
    long n = strtol(v, NULL, 10);
    if (errno == ERANGE || n < k->min || n > k->max)
        return fail(p, p->line, "value %s for %s is out of range: expected %s", show(v, sv), k->key,
                    expected);
    *FIELD(base, k, long) = n;
    return 0;
}

/* index of the n bytes at w in words, or -1 */
static int word_index(const char *const *words, const char *w, size_t n)
{
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && memcmp(words[i], w, n) == 0)
            return i;
    return -1;
}

static int set_enum(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    char expected[128];
    int i = word_index(k->words, v, strlen(v));
    if (i < 0) {
        join_words(k->words, ", ", " or ", expected, sizeof expected);
        return bad(p, k, v, expected);
    }
    if (k->type == T_CHOICE)
        return store_str(p, FIELD(base, k, char *), k->words[i]);
    *FIELD(base, k, int) = i;
    return 0;
}

static size_t count_words(const char *v)
{
    size_t n = 0;
    for (v += strspn(v, BLANKS); *v; v += strspn(v, BLANKS)) {
        v += strcspn(v, BLANKS);
        n++;
    }
    return n;
}

static int set_list(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    struct acred_list *l = FIELD(base, k, struct acred_list);
    size_t n = count_words(v);
    if ((long)n < k->min)
        return bad(p, k, v, "one or more names separated by spaces");
    if (n == 0)
        return 0;
    if (!(l->items = calloc(n, sizeof *l->items)))
        return oom(p);
    for (v += strspn(v, BLANKS); *v; v += strspn(v, BLANKS)) {
        size_t len = strcspn(v, BLANKS);
        if (!(l->items[l->n] = strndup(v, len)))
            return oom(p);
        l->n++;
        v += len;
    }
    return 0;
}

/* T_METHODS and T_ALIASES: words of k->words, each at most once */
static int set_word_set(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    char words[64], expected[128];
    int order[8], ok = 1;
    size_t n = 0;
    unsigned mask = 0;
    for (const char *s = v + strspn(v, BLANKS); *s && ok; s += strspn(s, BLANKS)) {
        size_t len = strcspn(s, BLANKS);
        int i = word_index(k->words, s, len);
        ok = i >= 0 && i < 8 && !(mask & (1u << i));
        if (ok) {
            mask |= 1u << i;
            order[n++] = i;
        }
        s += len;
    }
    if (!ok || (long)n < k->min) {
        join_words(k->words, " ", " ", words, sizeof words);
        snprintf(expected, sizeof expected, "%s of: %s (each at most once)",
                 k->min > 0 ? "one or more" : "nothing or any", words);
        return bad(p, k, v, expected);
    }
    if (k->type == T_ALIASES) {
        *FIELD(base, k, unsigned) = mask;
        return 0;
    }
    struct acred_config *c = base;
    for (size_t j = 0; j < n; j++)
        c->methods[j] = (enum acred_method)(order[j] + 1);
    c->n_methods = n;
    return 0;
}

static int set_claim(struct parser *p, const struct acred_key *k, void *base, const char *v)
{
    struct acred_role *r = base;
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1] || strcspn(v, BLANKS) < (size_t)(eq - v) || strchr(BLANKS, eq[1]))
        return bad(p, k, v, "NAME=VALUE: a claim name without spaces, '=' and a value");
    if (!(r->claim_name = strndup(v, (size_t)(eq - v))) || !(r->claim_value = strdup(eq + 1)))
        return oom(p);
    return 0;
}

static acred_setter *const acred_setters[] = {
    [T_STR] = set_str,         [T_WORD] = set_str,     [T_URL] = set_url,
    [T_REGION] = set_region,   [T_LONG] = set_long,    [T_ENUM] = set_enum,
    [T_CHOICE] = set_enum,     [T_LIST] = set_list,    [T_METHODS] = set_word_set,
    [T_ALIASES] = set_word_set, [T_CLAIM] = set_claim,
};

/* ---- sections and lines ------------------------------------------------------------------------ */

static void *base_of(struct parser *p, const struct acred_key *k)
{
    return k->sec == S_role ? (void *)p->role : (void *)p->cfg;
}

static int set_key(struct parser *p, const char *key, const char *v)
{
    char sk[SHOW_BUF], sw[WHERE_BUF];
    size_t i = 0;
    while (i < K_COUNT && (acred_keys[i].sec != p->cur || strcmp(acred_keys[i].key, key) != 0))
        i++;
    if (i == K_COUNT)
        return fail(p, p->line, "unknown key '%s' in %s", show(key, sk), where(p, sw));
    if (p->key_line[i])
        return fail(p, p->line, "duplicate key '%s' in %s (first on line %u)", key, where(p, sw),
                    p->key_line[i]);
    p->key_line[i] = p->line;
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
            return fail(p, p->line, "control character in the value of %s", key);
    return acred_setters[acred_keys[i].type](p, &acred_keys[i], base_of(p, &acred_keys[i]), v);
}

/* End the current section: its missing required keys are an error, the others get defaults. */
static int close_section(struct parser *p, int check_required)
{
    char sw[WHERE_BUF];
    if (p->cur == S_NONE)
        return 0;
    for (size_t i = 0; i < K_COUNT; i++) {
        const struct acred_key *k = &acred_keys[i];
        if (k->sec != p->cur || p->key_line[i])
            continue;
        if (k->required && check_required)
            return fail(p, p->sec_line[p->cur], "missing required key %s in %s", k->key,
                        where(p, sw));
        if (k->def && acred_setters[k->type](p, k, base_of(p, k), k->def))
            return -1;
    }
    if (p->cur == S_role) {
        p->role->has_users = p->key_line[K_role_users] != 0;
        p->role->has_groups = p->key_line[K_role_groups] != 0;
        p->role->has_claim = p->key_line[K_role_claim] != 0;
    }
    p->cur = S_NONE;
    p->role = NULL;
    return 0;
}

static int open_role(struct parser *p, const char *name)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    struct acred_config *c = p->cfg;
    char sv[SHOW_BUF];
    if (!*name || name[strspn(name, ok)])
        return fail(p, p->line, "bad section [role%s%s]: expected [role NAME], NAME made of "
                    "letters, digits, '_', '.' and '-'", *name ? " " : "", show(name, sv));
    const struct acred_role *old = acred_config_role(c, name);
    if (old)
        return fail(p, p->line, "duplicate section [role %s] (first on line %u)", show(name, sv),
                    old->line);
    struct acred_role *roles = reallocarray(c->roles, c->n_roles + 1, sizeof *roles);
    if (!roles)
        return oom(p);
    c->roles = roles;
    p->role = memset(&roles[c->n_roles++], 0, sizeof *roles);
    p->role->line = p->line;
    if (!(p->role->name = strdup(name)))
        return oom(p);
    for (size_t i = 0; i < K_COUNT; i++)
        if (acred_keys[i].sec == S_role)
            p->key_line[i] = 0;
    p->cur = S_role;
    p->sec_line[S_role] = p->line;
    return 0;
}

static char *trim(char *s)
{
    s += strspn(s, BLANKS);
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* s: a trimmed line starting with '[' */
static int parse_header(struct parser *p, char *s)
{
    char sv[SHOW_BUF], sa[SHOW_BUF];
    size_t n = strlen(s);
    if (s[n - 1] != ']')
        return fail(p, p->line, "expected ']' at the end of the section header '%s'", show(s, sv));
    s[n - 1] = '\0';
    char *name = trim(s + 1), *arg = name + strcspn(name, BLANKS);
    if (*arg)
        *arg++ = '\0';
    arg = trim(arg);
    int sec = 0;
    while (sec < S_COUNT && strcmp(acred_sections[sec].name, name) != 0)
        sec++;
    if (sec == S_COUNT || (acred_sections[sec].kind != SEC_NAMED && *arg))
        return fail(p, p->line, "unknown section [%s%s%s]", show(name, sv), *arg ? " " : "",
                    show(arg, sa));
    if (close_section(p, 1))
        return -1;
    if (acred_sections[sec].kind == SEC_NAMED)
        return open_role(p, arg);
    if (p->sec_line[sec])
        return fail(p, p->line, "duplicate section [%s] (first on line %u)", name,
                    p->sec_line[sec]);
    p->sec_line[sec] = p->line;
    p->cur = (enum acred_section_id)sec;
    if (acred_sections[sec].kind == SEC_TOGGLE)
        *(int *)(void *)((char *)p->cfg + acred_sections[sec].present) = 1;
    return 0;
}

static int parse_line(struct parser *p, char *line)
{
    char sv[SHOW_BUF];
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';')
        return 0;
    if (*s == '[')
        return parse_header(p, s);
    char *eq = strchr(s, '=');
    if (!eq)
        return fail(p, p->line, "expected 'key = value', '[section]' or a comment, not '%s'",
                    show(s, sv));
    *eq = '\0';
    char *key = trim(s);
    if (!*key)
        return fail(p, p->line, "missing key before '='");
    if (p->cur == S_NONE)
        return fail(p, p->line, "key '%s' before any [section]", show(key, sv));
    return set_key(p, key, trim(eq + 1));
}

static int parse_lines(struct parser *p, const char *text, size_t len)
{
    char buf[ACRED_CONF_MAX_LINE + 1];
    size_t pos = 0;
    while (pos < len) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL);
        p->line++;
        if (memchr(s, '\0', n))
            return fail(p, p->line, "NUL byte in the line");
        if (n && s[n - 1] == '\r')
            n--;
        if (n > ACRED_CONF_MAX_LINE)
            return fail(p, p->line, "line longer than %d bytes", ACRED_CONF_MAX_LINE);
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (parse_line(p, buf))
            return -1;
    }
    return 0;
}

/* After the last line: close every section, absent ones included; check default_role. */
static int finish(struct parser *p)
{
    char s1[SHOW_BUF], s2[SHOW_BUF];
    if (close_section(p, 1))
        return -1;
    for (int sec = 0; sec < S_COUNT; sec++) {
        if (p->sec_line[sec] || acred_sections[sec].kind == SEC_NAMED)
            continue;
        p->cur = (enum acred_section_id)sec;
        if (close_section(p, acred_sections[sec].kind != SEC_TOGGLE))
            return -1;
    }
    const char *d = p->cfg->default_role;
    if (d && *d && !acred_config_role(p->cfg, d))
        return fail(p, p->key_line[K_login_default_role],
                    "default_role '%s' names no section [role %s]", show(d, s1), show(d, s2));
    return 0;
}

int acred_config_parse(const char *text, size_t len, const char *name, struct acred_config *cfg,
                       char *err, size_t errlen)
{
    struct parser p = {.name = name ? name : "(config)", .err = err, .errlen = errlen,
                       .cfg = cfg, .cur = S_NONE};
    int rc;
    memset(cfg, 0, sizeof *cfg);
    if (err && errlen)
        err[0] = '\0';
    if (len > ACRED_CONF_MAX_SIZE)
        rc = fail(&p, 0, "larger than %d bytes", ACRED_CONF_MAX_SIZE);
    else
        rc = parse_lines(&p, text ? text : "", text ? len : 0) ? -1 : finish(&p);
    if (rc)
        acred_config_free(cfg);
    return rc;
}

/* ---- the file ----------------------------------------------------------------------------------- */

static int load_fail(char *err, size_t errlen, const char *path, const char *what, int errnum)
{
    if (err && errlen) {
        if (errnum)
            snprintf(err, errlen, "%s: %s: %s", path, what, strerror(errnum));
        else
            snprintf(err, errlen, "%s: %s", path, what);
        one_line(err);
    }
    return -1;
}

/* an fd of path in blocking mode, when the file is fit to be trusted; else -1 and err */
static int open_config(const char *path, struct stat *st, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), flags, e = 0;
    const char *what = NULL;
    if (fd < 0)
        return errno == ELOOP ? load_fail(err, errlen, path, "is a symlink", 0)
                              : load_fail(err, errlen, path, "cannot open", errno);
    if (fstat(fd, st) != 0)
        what = "cannot stat", e = errno;
    else if (!S_ISREG(st->st_mode))
        what = "not a regular file";
    else if (st->st_uid != 0 && st->st_uid != geteuid())
        what = "not owned by root";
    else if (st->st_mode & (S_IWGRP | S_IWOTH))
        what = "writable by group or others";
    else if (st->st_size > ACRED_CONF_MAX_SIZE)
        what = "too large";
    else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        what = "cannot set blocking mode", e = errno;
    if (what) {
        close(fd);
        return load_fail(err, errlen, path, what, e);
    }
    return fd;
}

/* read until end of file or cap bytes; -1 with errno on error */
static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return 0;
}

int acred_config_load(const char *path, struct acred_config *cfg, char *err, size_t errlen)
{
    struct stat st;
    size_t len = 0;
    int rc;
    memset(cfg, 0, sizeof *cfg);
    int fd = open_config(path, &st, err, errlen);
    if (fd < 0)
        return -1;
    size_t cap = (size_t)st.st_size + 1; /* one more: a file that grew is noticed */
    char *buf = malloc(cap);
    if (!buf)
        rc = load_fail(err, errlen, path, "out of memory", 0);
    else if (read_all(fd, buf, cap, &len) != 0)
        rc = load_fail(err, errlen, path, "cannot read", errno);
    else if (len == cap)
        rc = load_fail(err, errlen, path, "changed while being read", 0);
    else
        rc = acred_config_parse(buf, len, path, cfg, err, errlen);
    close(fd);
    if (buf) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    return rc;
}

/* ---- the rest of the interface ------------------------------------------------------------------ */

static void free_list(struct acred_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

static void free_value(const struct acred_key *k, void *base)
{
    switch (k->type) {
    case T_STR: case T_WORD: case T_URL: case T_REGION: case T_CHOICE:
        free(*FIELD(base, k, char *));
        break;
    case T_LIST:
        free_list(FIELD(base, k, struct acred_list));
        break;
    case T_CLAIM:
        free(((struct acred_role *)base)->claim_name);
        free(((struct acred_role *)base)->claim_value);
        break;
    default:
        break;
    }
}

void acred_config_free(struct acred_config *cfg)
{
    if (!cfg)
        return;
    for (size_t r = 0; r < cfg->n_roles; r++) {
        for (size_t i = 0; i < K_COUNT; i++)
            if (acred_keys[i].sec == S_role)
                free_value(&acred_keys[i], &cfg->roles[r]);
        free(cfg->roles[r].name);
    }
    free(cfg->roles);
    for (size_t i = 0; i < K_COUNT; i++)
        if (acred_keys[i].sec != S_role)
            free_value(&acred_keys[i], cfg);
    memset(cfg, 0, sizeof *cfg);
}

const char *acred_config_audience(const struct acred_config *cfg)
{
    return cfg->audience && *cfg->audience ? cfg->audience : cfg->client_id;
}

const struct acred_role *acred_config_role(const struct acred_config *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_roles; i++)
        if (cfg->roles[i].name && strcmp(cfg->roles[i].name, name) == 0)
            return &cfg->roles[i];
    return NULL;
}
