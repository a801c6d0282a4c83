/*
 * config.h: the configuration of pam_acred (/etc/security/pam_acred.conf), read by the helper.
 * The keys, sections and defaults are those of CONTRACT.md; the parser is ours (strict,
 * table-driven, tested and fuzzed) because Debian's libinih silently cuts long lines.
 */
#ifndef ACRED_CONFIG_H
#define ACRED_CONFIG_H

#include <stddef.h>

#define ACRED_CONF_MAX_LINE 4096        /* bytes of one line, newline excluded */
#define ACRED_CONF_MAX_SIZE (1 << 20)   /* bytes of the whole file */

enum acred_method { ACRED_METHOD_TOKEN = 1, ACRED_METHOD_DEVICE = 2 };
enum acred_qr { ACRED_QR_UTF8, ACRED_QR_ASCII, ACRED_QR_OFF };
enum acred_fail_mode { ACRED_FAIL_CLOSED, ACRED_FAIL_OPEN };
enum acred_credentials { ACRED_CRED_ENV, ACRED_CRED_PROCESS };
enum acred_audit_format { ACRED_AUDIT_KV, ACRED_AUDIT_JSON };
#define ACRED_ALIAS_TERRAFORM 1u
#define ACRED_ALIAS_OSS 2u

/* A list value: space-separated words in the file. */
struct acred_list {
    char **items;
    size_t n;
};

/* One [role NAME] section. A matcher that is absent is NULL / n == 0 / has_* == 0. */
struct acred_role {
    char *name;              /* NAME of [role NAME] */
    unsigned line;           /* line number of the section header */
    char *external_id;       /* required */
    struct acred_list users; /* has_users: the key was present */
    struct acred_list groups;
    char *claim_name;        /* claim = NAME=VALUE */
    char *claim_value;
    long duration;           /* 0: [idaas] duration */
    int has_users, has_groups, has_claim;
};

struct acred_config {
    /* [idaas] */
    char *instance_id; /* required: no default */
    char *developer_api;
    char *issuer;
    char *client_id;
    char *audience; /* "" means client_id; see acred_config_audience() */
    char *scope;
    char *username_claim;
    char *username_suffix;
    char *ca_file; /* "" : the system's */
    char *proxy;   /* "" : none */
    long timeout;  /* 1..300 */
    long leeway;   /* 0..3600 */
    long duration; /* 900..43200 */

    /* [login] */
    enum acred_method methods[2]; /* in order */
    size_t n_methods;
    long device_timeout; /* 10..600 */
    long device_rate;    /* 1..10000 */
    enum acred_qr qr;
    long max_token_age;  /* 0: no limit */
    long min_uid;
    struct acred_list allow_users;
    char *default_role;  /* "" : none; otherwise names a [role NAME] that exists */
    enum acred_fail_mode fail_mode;

    /* [role NAME], in file order */
    struct acred_role *roles;
    size_t n_roles;

    /* [session] */
    enum acred_credentials credentials;
    char *region_id;
    unsigned env_aliases; /* ACRED_ALIAS_* */

    /* [edas]: present means on */
    int edas_enabled;
    char *edas_namespace_id;
    char *edas_endpoint;
    int edas_required;

    /* [dsw]: present means on */
    int dsw_enabled;
    char *dsw_instance_id;
    char *dsw_endpoint;
    char *dsw_type; /* Access or View */
    long dsw_expire_time;
    int dsw_required;

    /* [audit] */
    enum acred_audit_format audit_format;
};

/*
 * Parse a whole file's text. On error returns -1 and writes one line to err ("NAME:LINE: what
 * is wrong"); cfg is then freed and zeroed. On success returns 0 with every default filled in.
 */
int acred_config_parse(const char *text, size_t len, const char *name, struct acred_config *cfg,
                       char *err, size_t errlen);

/*
 * Open path paranoidly (O_NOFOLLOW|O_CLOEXEC, fstat: a regular file owned by root or by the
 * effective uid, not writable by group or others, at most ACRED_CONF_MAX_SIZE bytes) and parse
 * it. Same return and err convention as acred_config_parse.
 */
int acred_config_load(const char *path, struct acred_config *cfg, char *err, size_t errlen);

void acred_config_free(struct acred_config *cfg);

/* audience to require: audience, or client_id when audience is empty */
const char *acred_config_audience(const struct acred_config *cfg);

/* the role section called name, or NULL */
const struct acred_role *acred_config_role(const struct acred_config *cfg, const char *name);

/* the names of every key the parser knows, "section.key" (role keys as "role.key"); NULL-ended */
extern const char *const acred_config_known_keys[];

#endif
