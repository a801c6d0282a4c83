/*
 * test_config.c: the configuration parser (helper/config.c): the CONTRACT.md example, defaults,
 * every error class with its line number, the file checks of acred_config_load, and the table
 * (every known key is accepted in its section).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define NAME "t.conf"
#define MINIMAL "[idaas]\ninstance_id = idaas_x\n"

/* the example of CONTRACT.md, verbatim */
static const char example[] =
    "[idaas]\n"
    "# required\n"
    "instance_id    = idaas_ue2jvisn35ea5lmthk267xxxxx\n"
    "# obtainAccessCredential lives here\n"
    "developer_api  = https://eiam-developerapi.cn-hangzhou.aliyuncs.com\n"
    "# OIDC issuer; discovery at issuer + /.well-known/openid-configuration\n"
    "issuer         = https://xxxx.aliyunidaas.com/api/v2/iauths_system/oauth2\n"
    "# the public client used for device-code login\n"
    "client_id      = app_xxxx\n"
    "# a JWT's aud must contain this; empty means client_id\n"
    "audience       =\n"
    "scope          = urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential\n"
    "# this claim (of the JWT, or of userinfo for an opaque token) must equal the PAM user, byte for\n"
    "# byte, after username_suffix is removed; choose a claim that only administrators can set\n"
    "username_claim = preferred_username\n"
    "username_suffix =\n"
    "# PEM bundle; empty: the system's\n"
    "ca_file        =\n"
    "# HTTPS proxy for the helper (its environment is cleaned); empty: none\n"
    "proxy          =\n"
    "# seconds: bound on each network step of a login\n"
    "timeout        = 10\n"
    "# seconds of clock skew allowed on exp, nbf and iat\n"
    "leeway         = 60\n"
    "# durationSeconds asked of obtainAccessCredential (900..43200); a role may override it\n"
    "duration       = 3600\n"
    "\n"
    "[login]\n"
    "# what the login offers, in this order: a pasted token, a device-code login\n"
    "methods        = token device\n"
    "# seconds a device-code login waits, the prompt included; never more than the IdP's expires_in\n"
    "device_timeout = 90\n"
    "# device-code logins started per minute on this host, at most\n"
    "device_rate    = 10\n"
    "# qr code in the device prompt: utf8, ascii or off (the URI and code are always plain text too)\n"
    "qr             = utf8\n"
    "# a pasted JWT older than this (by iat) is refused, seconds; 0: no limit\n"
    "max_token_age  = 0\n"
    "# accounts below this uid are refused unless listed in allow_users\n"
    "min_uid        = 1000\n"
    "allow_users    =\n"
    "# the [role NAME] used when no other matches; empty: no match is a denial\n"
    "default_role   =\n"
    "# closed: any failure denies. open: when the IdP cannot be reached (refused, timeout, 5xx)\n"
    "# authentication returns PAM_IGNORE and says so in the audit line; a bad token, TLS, signature,\n"
    "# 4xx or parse failure still denies. Authentication never succeeds without a verified token.\n"
    "fail_mode      = closed\n"
    "\n"
    "# One section per cloud role. Every matcher present must match (a list matches when any item\n"
    "# does); the first matching section in file order wins.\n"
    "[role dev]\n"
    "# the cloudAccountRoleExternalId\n"
    "external_id    = acs:ram::1234567890123456:role/dev\n"
    "# local user names\n"
    "users          = alice bob\n"
    "# local groups (getgrouplist)\n"
    "groups         = developers\n"
    "# a token claim: a string equal to the value, or an array containing it\n"
    "claim          = groups=cloud-dev\n"
    "# optional: durationSeconds for this role\n"
    "duration       = 7200\n"
    "\n"
    "[session]\n"
    "# env: the keys themselves in the environment. process: an aliyun CLI configuration with an\n"
    "# External profile that runs `acred-helper credential-process`, through ALIBABA_CLOUD_CONFIG_FILE\n"
    "# and ALIBABA_CLOUD_PROFILE, so long sessions refresh; no keys in the environment.\n"
    "credentials    = env\n"
    "# exported as ALIBABA_CLOUD_REGION_ID (and the aliases' region names)\n"
    "region_id      = cn-hangzhou\n"
    "# any of: terraform oss\n"
    "env_aliases    =\n"
    "\n"
    "# optional: present means on\n"
    "[edas]\n"
    "namespace_id   = cn-shenzhen:prod\n"
    "endpoint       = https://edas.cn-shenzhen.aliyuncs.com\n"
    "# yes: a failure here denies the login\n"
    "required       = no\n"
    "\n"
    "# optional: present means on\n"
    "[dsw]\n"
    "instance_id    = dsw-730xxxxxxxxxx\n"
    "endpoint       = https://pai-dsw.cn-hangzhou.aliyuncs.com\n"
    "# Access or View\n"
    "type           = Access\n"
    "expire_time    = 3600\n"
    "required       = no\n"
    "\n"
    "[audit]\n"
    "# kv or json (one JSON object per line)\n"
    "format         = kv\n";

/* ---- helpers ------------------------------------------------------------------------------------ */

static int is_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i])
            return 0;
    return 1;
}

/* the line number of the first line of text that starts with start */
static unsigned line_of(const char *text, const char *start)
{
    unsigned line = 1;
    for (const char *s = text; strncmp(s, start, strlen(start)) != 0; s++) {
        assert_true(*s != '\0');
        line += *s == '\n';
    }
    return line;
}

static int parse_n(const char *text, size_t len, struct acred_config *cfg, char *err, size_t errlen)
{
    return acred_config_parse(text, len, NAME, cfg, err, errlen);
}

static void parse_ok(const char *text, struct acred_config *cfg)
{
    char err[256] = "";
    int rc = parse_n(text, strlen(text), cfg, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
}

/* text (len bytes) must fail on line `line` with a message containing `what`; cfg is zeroed */
static void fails_n(const char *text, size_t len, unsigned line, const char *what)
{
    struct acred_config cfg;
    char err[512], prefix[64];
    memset(&cfg, 0xa5, sizeof cfg);
    assert_int_equal(parse_n(text, len, &cfg, err, sizeof err), -1);
    snprintf(prefix, sizeof prefix, NAME ":%u: ", line);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, what))
        print_error("message '%s', expected '%s...%s'\n", err, prefix, what);
    assert_memory_equal(err, prefix, strlen(prefix));
    assert_non_null(strstr(err, what));
    assert_null(strchr(err, '\n'));
    assert_true(is_zero(&cfg, sizeof cfg));
}

static void fails(const char *text, unsigned line, const char *what)
{
    fails_n(text, strlen(text), line, what);
}

/* MINIMAL followed by more */
static char *with_minimal(const char *more)
{
    char *s;
    assert_true(asprintf(&s, "%s%s", MINIMAL, more) > 0);
    return s;
}

static void fails_after_minimal(const char *more, unsigned line, const char *what)
{
    char *s = with_minimal(more);
    fails(s, line, what);
    free(s);
}

/* ---- whole files -------------------------------------------------------------------------------- */

static void test_contract_example_parses(void **state)
{
    struct acred_config c;
    (void)state;
    parse_ok(example, &c);
    assert_string_equal(c.instance_id, "idaas_ue2jvisn35ea5lmthk267xxxxx");
    assert_string_equal(c.developer_api, "https://eiam-developerapi.cn-hangzhou.aliyuncs.com");
    assert_string_equal(c.issuer, "https://xxxx.aliyunidaas.com/api/v2/iauths_system/oauth2");
    assert_string_equal(c.client_id, "app_xxxx");
    assert_string_equal(c.audience, "");
    assert_string_equal(c.scope, "urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential");
    assert_string_equal(c.username_claim, "preferred_username");
    assert_string_equal(c.username_suffix, "");
    assert_string_equal(c.ca_file, "");
    assert_string_equal(c.proxy, "");
    assert_int_equal(c.timeout, 10);
    assert_int_equal(c.leeway, 60);
    assert_int_equal(c.duration, 3600);
    assert_int_equal(c.n_methods, 2);
    assert_int_equal(c.methods[0], ACRED_METHOD_TOKEN);
    assert_int_equal(c.methods[1], ACRED_METHOD_DEVICE);
    assert_int_equal(c.device_timeout, 90);
    assert_int_equal(c.device_rate, 10);
    assert_int_equal(c.qr, ACRED_QR_UTF8);
    assert_int_equal(c.max_token_age, 0);
    assert_int_equal(c.min_uid, 1000);
    assert_int_equal(c.allow_users.n, 0);
    assert_string_equal(c.default_role, "");
    assert_int_equal(c.fail_mode, ACRED_FAIL_CLOSED);
    assert_int_equal(c.n_roles, 1);
    assert_string_equal(c.roles[0].name, "dev");
    assert_int_equal(c.roles[0].line, line_of(example, "[role dev]"));
    assert_string_equal(c.roles[0].external_id, "acs:ram::1234567890123456:role/dev");
    assert_true(c.roles[0].has_users);
    assert_int_equal(c.roles[0].users.n, 2);
    assert_string_equal(c.roles[0].users.items[0], "alice");
    assert_string_equal(c.roles[0].users.items[1], "bob");
    assert_true(c.roles[0].has_groups);
    assert_int_equal(c.roles[0].groups.n, 1);
    assert_string_equal(c.roles[0].groups.items[0], "developers");
    assert_true(c.roles[0].has_claim);
    assert_string_equal(c.roles[0].claim_name, "groups");
    assert_string_equal(c.roles[0].claim_value, "cloud-dev");
    assert_int_equal(c.roles[0].duration, 7200);
    assert_int_equal(c.credentials, ACRED_CRED_ENV);
    assert_string_equal(c.region_id, "cn-hangzhou");
    assert_int_equal(c.env_aliases, 0);
    assert_true(c.edas_enabled);
    assert_string_equal(c.edas_namespace_id, "cn-shenzhen:prod");
    assert_string_equal(c.edas_endpoint, "https://edas.cn-shenzhen.aliyuncs.com");
    assert_false(c.edas_required);
    assert_true(c.dsw_enabled);
    assert_string_equal(c.dsw_instance_id, "dsw-730xxxxxxxxxx");
    assert_string_equal(c.dsw_endpoint, "https://pai-dsw.cn-hangzhou.aliyuncs.com");
    assert_string_equal(c.dsw_type, "Access");
    assert_int_equal(c.dsw_expire_time, 3600);
    assert_false(c.dsw_required);
    assert_int_equal(c.audit_format, ACRED_AUDIT_KV);
    assert_string_equal(acred_config_audience(&c), "app_xxxx");
    acred_config_free(&c);
    assert_true(is_zero(&c, sizeof c));
}

static void test_minimal_file_has_every_default(void **state)
{
    struct acred_config c;
    (void)state;
    parse_ok(MINIMAL, &c);
    assert_string_equal(c.instance_id, "idaas_x");
    assert_string_equal(c.developer_api, "https://eiam-developerapi.cn-hangzhou.aliyuncs.com");
    assert_string_equal(c.issuer, "https://xxxx.aliyunidaas.com/api/v2/iauths_system/oauth2");
    assert_string_equal(c.client_id, "app_xxxx");
    assert_string_equal(c.audience, "");
    assert_string_equal(c.scope, "urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential");
    assert_string_equal(c.username_claim, "preferred_username");
    assert_string_equal(c.username_suffix, "");
    assert_string_equal(c.ca_file, "");
    assert_string_equal(c.proxy, "");
    assert_int_equal(c.timeout, 10);
    assert_int_equal(c.leeway, 60);
    assert_int_equal(c.duration, 3600);
    assert_int_equal(c.n_methods, 2);
    assert_int_equal(c.methods[0], ACRED_METHOD_TOKEN);
    assert_int_equal(c.methods[1], ACRED_METHOD_DEVICE);
    assert_int_equal(c.device_timeout, 90);
    assert_int_equal(c.device_rate, 10);
    assert_int_equal(c.qr, ACRED_QR_UTF8);
    assert_int_equal(c.max_token_age, 0);
    assert_int_equal(c.min_uid, 1000);
    assert_int_equal(c.allow_users.n, 0);
    assert_null(c.allow_users.items);
    assert_string_equal(c.default_role, "");
    assert_int_equal(c.fail_mode, ACRED_FAIL_CLOSED);
    assert_int_equal(c.n_roles, 0);
    assert_null(c.roles);
    assert_int_equal(c.credentials, ACRED_CRED_ENV);
    assert_string_equal(c.region_id, "");
    assert_int_equal(c.env_aliases, 0);
    assert_false(c.edas_enabled);
    assert_false(c.edas_required);
    assert_false(c.dsw_enabled);
    assert_false(c.dsw_required);
    assert_int_equal(c.audit_format, ACRED_AUDIT_KV);
    acred_config_free(&c);
}

static void test_other_values(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("audience = aud_1\ntimeout = 300\nleeway = 0\nduration = 43200\n"
                           "[login]\nmethods = device\nqr = off\nfail_mode = open\n"
                           "min_uid = 4294967295\nallow_users = root  admin\t ops\n"
                           "[session]\ncredentials = process\nenv_aliases = oss terraform\n"
                           "[dsw]\ninstance_id = d\nendpoint = https://d.example\ntype = View\n"
                           "expire_time = 60\nrequired = yes\n[audit]\nformat = json\n");
    parse_ok(s, &c);
    free(s);
    assert_string_equal(acred_config_audience(&c), "aud_1");
    assert_int_equal(c.timeout, 300);
    assert_int_equal(c.leeway, 0);
    assert_int_equal(c.duration, 43200);
    assert_int_equal(c.n_methods, 1);
    assert_int_equal(c.methods[0], ACRED_METHOD_DEVICE);
    assert_int_equal(c.qr, ACRED_QR_OFF);
    assert_int_equal(c.fail_mode, ACRED_FAIL_OPEN);
    assert_int_equal(c.min_uid, 4294967295L);
    assert_int_equal(c.allow_users.n, 3);
    assert_string_equal(c.allow_users.items[2], "ops");
    assert_int_equal(c.credentials, ACRED_CRED_PROCESS);
    assert_int_equal(c.env_aliases, ACRED_ALIAS_OSS | ACRED_ALIAS_TERRAFORM);
    assert_false(c.edas_enabled);
    assert_true(c.dsw_enabled);
    assert_string_equal(c.dsw_type, "View");
    assert_int_equal(c.dsw_expire_time, 60);
    assert_true(c.dsw_required);
    assert_int_equal(c.audit_format, ACRED_AUDIT_JSON);
    acred_config_free(&c);
}

static void test_methods_keep_file_order(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("[login]\nmethods = device token\n");
    parse_ok(s, &c);
    free(s);
    assert_int_equal(c.n_methods, 2);
    assert_int_equal(c.methods[0], ACRED_METHOD_DEVICE);
    assert_int_equal(c.methods[1], ACRED_METHOD_TOKEN);
    acred_config_free(&c);
}

static void test_empty_file_needs_idaas(void **state)
{
    (void)state;
    fails("", 0, "missing required key instance_id in [idaas]");
    fails("# nothing\n[login]\nqr = off\n", 0, "missing required key instance_id in [idaas]");
}

static void test_missing_instance_id_names_idaas_line(void **state)
{
    (void)state;
    fails("# c\n\n[idaas]\ntimeout = 5\n[login]\n", 3, "missing required key instance_id in [idaas]");
    fails("[login]\n[idaas]\n", 2, "missing required key instance_id in [idaas]");
}

static void test_empty_instance_id_refused(void **state)
{
    (void)state;
    fails("[idaas]\ninstance_id =\n", 2, "bad value '' for instance_id");
    fails("[idaas]\ninstance_id = a b\n", 2, "one word without spaces");
}

/* ---- line syntax -------------------------------------------------------------------------------- */

static void test_crlf_accepted(void **state)
{
    struct acred_config c;
    (void)state;
    parse_ok("[idaas]\r\ninstance_id = x\r\ntimeout = 7\r\n\r\n# c\r\n[role r]\r\n"
             "external_id = e\r\nusers = a b\r\n", &c);
    assert_string_equal(c.instance_id, "x");
    assert_int_equal(c.timeout, 7);
    assert_int_equal(c.roles[0].users.n, 2);
    assert_string_equal(c.roles[0].users.items[1], "b");
    acred_config_free(&c);
}

static void test_comments_blanks_and_trimming(void **state)
{
    struct acred_config c;
    (void)state;
    parse_ok("# hash\n; semicolon\n   # indented\n\t; tab\n\n \t \n[idaas]\n"
             "\t instance_id\t=\t x \t\n  ; timeout = oops\n# timeout = oops\n"
             "scope=a  b\n", &c);
    assert_string_equal(c.instance_id, "x");
    assert_int_equal(c.timeout, 10);
    assert_string_equal(c.scope, "a  b");
    acred_config_free(&c);
}

static void test_hash_inside_value_is_kept(void **state)
{
    struct acred_config c;
    (void)state;
    parse_ok("[idaas]\ninstance_id = x\nscope = a b # not a comment\n", &c);
    assert_string_equal(c.scope, "a b # not a comment");
    acred_config_free(&c);
    c = (struct acred_config){0};
    parse_ok("[idaas]\ninstance_id = x#1;2\nca_file = /etc/a b=c.pem\n", &c);
    assert_string_equal(c.instance_id, "x#1;2");
    assert_string_equal(c.ca_file, "/etc/a b=c.pem");
    acred_config_free(&c);
}

static void test_last_line_without_newline(void **state)
{
    struct acred_config c;
    (void)state;
    parse_ok("[idaas]\ninstance_id = x\ntimeout = 42", &c);
    assert_int_equal(c.timeout, 42);
    acred_config_free(&c);
}

static void test_line_of_max_length_accepted(void **state)
{
    struct acred_config c;
    char *s = malloc(ACRED_CONF_MAX_LINE + 64);
    (void)state;
    int n = sprintf(s, "[idaas]\ninstance_id = ");
    memset(s + n, 'a', ACRED_CONF_MAX_LINE - strlen("instance_id = "));
    strcpy(s + n + ACRED_CONF_MAX_LINE - strlen("instance_id = "), "\r\n");
    assert_int_equal(strlen(strchr(s, '\n') + 1), ACRED_CONF_MAX_LINE + 2);
    parse_ok(s, &c);
    assert_int_equal(strlen(c.instance_id), ACRED_CONF_MAX_LINE - strlen("instance_id = "));
    acred_config_free(&c);
    free(s);
}

static void test_line_too_long_rejected(void **state)
{
    char *s = malloc(ACRED_CONF_MAX_LINE + 64);
    (void)state;
    int n = sprintf(s, "[idaas]\ninstance_id = ");
    memset(s + n, 'a', ACRED_CONF_MAX_LINE + 1 - strlen("instance_id = "));
    strcpy(s + n + ACRED_CONF_MAX_LINE + 1 - strlen("instance_id = "), "\n");
    fails(s, 2, "line longer than 4096 bytes");
    /* a comment is a line too */
    memset(s, '#', ACRED_CONF_MAX_LINE + 1);
    strcpy(s + ACRED_CONF_MAX_LINE + 1, "\n[idaas]\ninstance_id = x\n");
    fails(s, 1, "line longer than 4096 bytes");
    free(s);
}

static void test_nul_byte_rejected(void **state)
{
    static const char text[] = "[idaas]\ninstance_id = x\n# a\0b\ntimeout = 5\n";
    (void)state;
    fails_n(text, sizeof text - 1, 3, "NUL byte");
    fails_n("[idaas]\ninstance_id = x\0", 24, 2, "NUL byte");
}

static void test_control_character_rejected(void **state)
{
    (void)state;
    fails("[idaas]\ninstance_id = x\rb\n", 2, "control character in the value of instance_id");
    fails("[idaas]\ninstance_id = x\nscope = a\033b\n", 3, "control character");
}

static void test_line_without_equals_rejected(void **state)
{
    (void)state;
    fails_after_minimal("timeout\n", 3, "expected 'key = value', '[section]' or a comment");
    fails_after_minimal(" = 5\n", 3, "missing key before '='");
}

static void test_key_before_section(void **state)
{
    (void)state;
    fails("# c\ninstance_id = x\n[idaas]\n", 2, "key 'instance_id' before any [section]");
}

/* ---- sections ----------------------------------------------------------------------------------- */

static void test_unknown_section(void **state)
{
    (void)state;
    fails_after_minimal("\n[logins]\n", 4, "unknown section [logins]");
    fails_after_minimal("[login extra]\n", 3, "unknown section [login extra]");
    fails_after_minimal("[Login]\n", 3, "unknown section [Login]");
}

static void test_bad_section_header(void **state)
{
    (void)state;
    fails_after_minimal("[login] # c\n", 3, "expected ']' at the end of the section header");
    fails_after_minimal("[login\n", 3, "expected ']'");
}

static void test_duplicate_section(void **state)
{
    (void)state;
    fails_after_minimal("[login]\nqr = off\n[login]\n", 5,
                        "duplicate section [login] (first on line 3)");
    fails("[idaas]\ninstance_id = x\n[idaas]\n", 3, "duplicate section [idaas] (first on line 1)");
}

static void test_duplicate_role_name(void **state)
{
    (void)state;
    fails_after_minimal("[role a]\nexternal_id = e\n[role b]\nexternal_id = f\n[role a]\n", 7,
                        "duplicate section [role a] (first on line 3)");
}

static void test_bad_role_name(void **state)
{
    (void)state;
    fails_after_minimal("[role]\n", 3, "expected [role NAME]");
    fails_after_minimal("[role a b]\n", 3, "bad section [role a b]");
    fails_after_minimal("[role a/b]\n", 3, "bad section [role a/b]");
}

static void test_roles_in_file_order_with_matchers(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("[role ops.prod-1]\nexternal_id = e1\ngroups = wheel adm\n"
                           "[login]\ndefault_role = Dev_2\n"
                           "[role Dev_2]\nexternal_id = e2\nclaim = dept=r&d = x\n"
                           "[role c]\nexternal_id = e3\nusers = carol\nduration = 900\n");
    parse_ok(s, &c);
    free(s);
    assert_int_equal(c.n_roles, 3);
    assert_string_equal(c.default_role, "Dev_2");
    const struct acred_role *r = &c.roles[0];
    assert_string_equal(r->name, "ops.prod-1");
    assert_int_equal(r->line, 3);
    assert_string_equal(r->external_id, "e1");
    assert_false(r->has_users);
    assert_int_equal(r->users.n, 0);
    assert_true(r->has_groups);
    assert_int_equal(r->groups.n, 2);
    assert_string_equal(r->groups.items[1], "adm");
    assert_false(r->has_claim);
    assert_null(r->claim_name);
    assert_int_equal(r->duration, 0);
    r = &c.roles[1];
    assert_string_equal(r->name, "Dev_2");
    assert_int_equal(r->line, 8);
    assert_false(r->has_users);
    assert_false(r->has_groups);
    assert_true(r->has_claim);
    assert_string_equal(r->claim_name, "dept");
    assert_string_equal(r->claim_value, "r&d = x");
    r = &c.roles[2];
    assert_string_equal(r->name, "c");
    assert_true(r->has_users);
    assert_string_equal(r->users.items[0], "carol");
    assert_int_equal(r->duration, 900);
    acred_config_free(&c);
}

static void test_role_lookup(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("[role a]\nexternal_id = ea\n[role b]\nexternal_id = eb\n");
    parse_ok(s, &c);
    free(s);
    assert_ptr_equal(acred_config_role(&c, "a"), &c.roles[0]);
    assert_string_equal(acred_config_role(&c, "b")->external_id, "eb");
    assert_null(acred_config_role(&c, "c"));
    assert_null(acred_config_role(&c, "A"));
    assert_null(acred_config_role(&c, NULL));
    acred_config_free(&c);
    assert_null(acred_config_role(&c, "a"));
}

static void test_role_without_external_id(void **state)
{
    (void)state;
    fails_after_minimal("[role a]\nusers = x\n[role b]\nexternal_id = e\n", 3,
                        "missing required key external_id in [role a]");
    fails_after_minimal("[role a]\nexternal_id = e\n[role b]\nusers = x\n", 5,
                        "missing required key external_id in [role b]");
    fails_after_minimal("[role a]\nexternal_id = e f\n", 4, "one word without spaces");
}

static void test_role_keys_are_per_role(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("[role a]\nexternal_id = ea\nusers = x\n"
                           "[role b]\nexternal_id = eb\nusers = y\n");
    parse_ok(s, &c);
    free(s);
    assert_string_equal(c.roles[1].users.items[0], "y");
    acred_config_free(&c);
    fails_after_minimal("[role a]\nexternal_id = ea\nusers = x\nusers = y\n", 6,
                        "duplicate key 'users' in [role a] (first on line 5)");
}

static void test_empty_role_list_refused(void **state)
{
    (void)state;
    fails_after_minimal("[role a]\nexternal_id = e\nusers =\n", 5, "one or more names");
    fails_after_minimal("[role a]\nexternal_id = e\ngroups = \t\n", 5, "one or more names");
}

static void test_default_role_must_exist(void **state)
{
    struct acred_config c;
    (void)state;
    fails_after_minimal("[login]\nqr = off\ndefault_role = ops\n[role dev]\nexternal_id = e\n", 5,
                        "default_role 'ops' names no section [role ops]");
    char *s = with_minimal("[login]\ndefault_role = dev\n[role dev]\nexternal_id = e\n");
    parse_ok(s, &c);
    free(s);
    assert_string_equal(c.default_role, "dev");
    acred_config_free(&c);
}

static void test_claim_syntax(void **state)
{
    (void)state;
    static const char *const bad[] = {"groups", "=x", "groups=", "groups = x", "a b=c", "g= x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *s;
        assert_true(asprintf(&s, "[role r]\nexternal_id = e\nclaim = %s\n", bad[i]) > 0);
        fails_after_minimal(s, 5, "expected NAME=VALUE");
        free(s);
    }
}

static void test_edas_and_dsw_required_keys(void **state)
{
    (void)state;
    fails_after_minimal("[edas]\nnamespace_id = n\n[audit]\n", 3,
                        "missing required key endpoint in [edas]");
    fails_after_minimal("[edas]\nendpoint = https://e.example\n", 3,
                        "missing required key namespace_id in [edas]");
    fails_after_minimal("[dsw]\ninstance_id = d\n", 3, "missing required key endpoint in [dsw]");
    fails_after_minimal("[dsw]\nendpoint = https://d.example\n", 3,
                        "missing required key instance_id in [dsw]");
}

static void test_edas_present_means_on(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("[edas]\nnamespace_id = cn:x\nendpoint = https://e.example/p\n"
                           "required = yes\n");
    parse_ok(s, &c);
    free(s);
    assert_true(c.edas_enabled);
    assert_true(c.edas_required);
    assert_false(c.dsw_enabled);
    acred_config_free(&c);
    fails_after_minimal("[edas]\nnamespace_id = n\nendpoint = https://e\nrequired = true\n", 6,
                        "bad value 'true' for required: expected no or yes");
}

/* ---- keys and values ---------------------------------------------------------------------------- */

static void test_unknown_key_names_only_it(void **state)
{
    struct acred_config c;
    char err[256];
    (void)state;
    fails_after_minimal("\ntimeout = 5\nfoo = 1\n", 5, "unknown key 'foo' in [idaas]");
    fails_after_minimal("[login]\ntimeout = 5\n", 4, "unknown key 'timeout' in [login]");
    fails_after_minimal("[role r]\nexternal_id = e\nmethods = token\n", 5,
                        "unknown key 'methods' in [role r]");
    char *s = with_minimal("Timeout = 5\n");
    assert_int_equal(parse_n(s, strlen(s), &c, err, sizeof err), -1);
    assert_string_equal(err, NAME ":3: unknown key 'Timeout' in [idaas]");
    free(s);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    fails_after_minimal("timeout = 5\n\ntimeout = 5\n", 5,
                        "duplicate key 'timeout' in [idaas] (first on line 3)");
    fails("[idaas]\ninstance_id = a\ninstance_id = a\n", 3, "duplicate key 'instance_id'");
}

static void test_bad_integer(void **state)
{
    (void)state;
    static const char *const bad[] = {"ten", "", "10s", "+10", "0x10", "1 0", "1.5", "-", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *s;
        assert_true(asprintf(&s, "timeout = %s\n", bad[i]) > 0);
        fails_after_minimal(s, 3, "for timeout: expected an integer from 1 to 300");
        free(s);
    }
}

static void test_integer_out_of_range(void **state)
{
    (void)state;
    fails_after_minimal("timeout = 301\n", 3,
                        "value 301 for timeout is out of range: expected an integer from 1 to 300");
    fails_after_minimal("timeout = 0\n", 3, "out of range");
    fails_after_minimal("timeout = -1\n", 3, "out of range");
    fails_after_minimal("timeout = 99999999999999999999999\n", 3, "out of range");
    fails_after_minimal("duration = 899\n", 3, "expected an integer from 900 to 43200");
    fails_after_minimal("[login]\nmin_uid = 4294967296\n", 4, "out of range");
    fails_after_minimal("[dsw]\ninstance_id = d\nendpoint = https://d\nexpire_time = 86401\n", 6,
                        "out of range");
    fails_after_minimal("[role r]\nexternal_id = e\nduration = 0\n", 5,
                        "expected an integer from 900 to 43200");
}

static void test_bad_enum(void **state)
{
    (void)state;
    fails_after_minimal("[login]\nqr = UTF8\n", 4,
                        "bad value 'UTF8' for qr: expected utf8, ascii or off");
    fails_after_minimal("[login]\nfail_mode =\n", 4, "expected closed or open");
    fails_after_minimal("[session]\ncredentials = file\n", 4, "expected env or process");
    fails_after_minimal("[audit]\nformat = xml\n", 4, "expected kv or json");
    fails_after_minimal("[dsw]\ninstance_id = d\nendpoint = https://d\ntype = access\n", 6,
                        "expected Access or View");
}

static void test_bad_url(void **state)
{
    (void)state;
    static const char *const bad[] = {"http://a.example", "", "https://", "https:///x",
                                      "https://a b", "HTTPS://a", "a.example", "https://a\tb"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *s;
        assert_true(asprintf(&s, "issuer = %s\n", bad[i]) > 0);
        fails_after_minimal(s, 3, "for issuer: expected an https:// URL");
        free(s);
    }
    fails_after_minimal("[edas]\nnamespace_id = n\nendpoint = http://e\n", 5,
                        "for endpoint: expected an https:// URL");
}

static void test_bad_region(void **state)
{
    (void)state;
    fails_after_minimal("[session]\nregion_id = CN-Hangzhou\n", 4, "for region_id: expected");
    fails_after_minimal("[session]\nregion_id = cn hangzhou\n", 4, "for region_id: expected");
}

static void test_methods_words(void **state)
{
    (void)state;
    fails_after_minimal("[login]\nmethods = token password\n", 4,
                        "bad value 'token password' for methods: expected one or more of: "
                        "token device (each at most once)");
    fails_after_minimal("[login]\nmethods = token device token\n", 4, "each at most once");
    fails_after_minimal("[login]\nmethods =\n", 4, "expected one or more of");
    fails_after_minimal("[login]\nmethods = Token\n", 4, "for methods");
}

static void test_env_aliases(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("[session]\nenv_aliases = terraform\n");
    parse_ok(s, &c);
    free(s);
    assert_int_equal(c.env_aliases, ACRED_ALIAS_TERRAFORM);
    acred_config_free(&c);
    fails_after_minimal("[session]\nenv_aliases = oss oss\n", 4,
                        "for env_aliases: expected nothing or any of: terraform oss");
    fails_after_minimal("[session]\nenv_aliases = aws\n", 4, "for env_aliases");
}

static void test_long_value_cut_in_message(void **state)
{
    struct acred_config c;
    char err[512], *s, big[300];
    (void)state;
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_true(asprintf(&s, MINIMAL "issuer = %s\n", big) > 0);
    assert_int_equal(parse_n(s, strlen(s), &c, err, sizeof err), -1);
    free(s);
    assert_non_null(strstr(err, "zzz...'"));
    assert_true(strlen(err) < 200);
}

static void test_message_truncated_to_errlen(void **state)
{
    struct acred_config c;
    char err[16];
    (void)state;
    memset(err, 'x', sizeof err);
    assert_int_equal(acred_config_parse("[nope]\n", 7, NAME, &c, err, 10), -1);
    assert_string_equal(err, "t.conf:1:");
    assert_int_equal(err[10], 'x');
    assert_int_equal(acred_config_parse("[nope]\n", 7, NAME, &c, NULL, 0), -1);
    assert_int_equal(acred_config_parse("[nope]\n", 7, NAME, &c, err, 0), -1);
}

static void test_free_is_safe_twice_and_on_zero(void **state)
{
    struct acred_config c = {0};
    (void)state;
    acred_config_free(&c);
    acred_config_free(NULL);
    parse_ok(example, &c);
    acred_config_free(&c);
    acred_config_free(&c);
    assert_true(is_zero(&c, sizeof c));
}

static void test_audience_falls_back_to_client_id(void **state)
{
    struct acred_config c;
    (void)state;
    char *s = with_minimal("client_id = app_1\n");
    parse_ok(s, &c);
    free(s);
    assert_string_equal(acred_config_audience(&c), "app_1");
    acred_config_free(&c);
    s = with_minimal("client_id = app_1\naudience = urn:aud\n");
    parse_ok(s, &c);
    free(s);
    assert_string_equal(acred_config_audience(&c), "urn:aud");
    acred_config_free(&c);
}

/* ---- the table ---------------------------------------------------------------------------------- */

/* a value that key accepts, tried in turn */
static const char *const samples[] = {"x", "token", "https://h.example", "1000", "60", "utf8",
                                      "closed", "env", "oss", "no", "Access", "kv", "g=v"};

/* a file that sets section.key = value, with the required keys around it */
static char *file_with(const char *section, const char *key, const char *value)
{
    static const struct { const char *sec, *key, *line; } required[] = {
        {"idaas", "instance_id", "instance_id = i\n"},
        {"role", "external_id", "external_id = e\n"},
        {"edas", "namespace_id", "namespace_id = n\n"},
        {"edas", "endpoint", "endpoint = https://e.example\n"},
        {"dsw", "instance_id", "instance_id = d\n"},
        {"dsw", "endpoint", "endpoint = https://d.example\n"},
    };
    char needed[256] = "", *s;
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (strcmp(required[i].sec, section) == 0 && strcmp(required[i].key, key) != 0)
            strcat(needed, required[i].line);
    /* [role x] lets default_role = x name a role */
    assert_true(asprintf(&s, "%s[role x]\nexternal_id = e\n[%s%s]\n%s%s = %s\n",
                         strcmp(section, "idaas") ? MINIMAL : "", section,
                         strcmp(section, "role") ? "" : " y", needed, key, value) > 0);
    return s;
}

static void test_every_known_key_is_accepted(void **state)
{
    (void)state;
    size_t n = 0;
    for (const char *const *k = acred_config_known_keys; *k; k++, n++) {
        char section[32], key[64];
        const char *dot = strchr(*k, '.');
        assert_non_null(dot);
        snprintf(section, sizeof section, "%.*s", (int)(dot - *k), *k);
        snprintf(key, sizeof key, "%s", dot + 1);
        int accepted = 0;
        for (size_t i = 0; i < sizeof samples / sizeof *samples && !accepted; i++) {
            struct acred_config c;
            char err[256], *s = file_with(section, key, samples[i]);
            accepted = parse_n(s, strlen(s), &c, err, sizeof err) == 0;
            if (!accepted && (strstr(err, "unknown") || strstr(err, "duplicate")))
                print_error("%s: %s\n", *k, err);
            assert_null(strstr(err, "unknown"));
            assert_null(strstr(err, "duplicate"));
            acred_config_free(&c);
            free(s);
        }
        if (!accepted)
            print_error("no sample value accepted for %s\n", *k);
        assert_true(accepted);
    }
    assert_int_equal(n, 39);
}

static void test_known_keys_names(void **state)
{
    (void)state;
    static const char *const expected[] = {"idaas.instance_id", "idaas.duration", "login.methods",
                                           "login.default_role", "role.external_id", "role.claim",
                                           "role.duration", "session.env_aliases", "edas.required",
                                           "dsw.type", "dsw.required", "audit.format"};
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
        const char *const *k = acred_config_known_keys;
        while (*k && strcmp(*k, expected[i]) != 0)
            k++;
        assert_non_null(*k);
    }
    assert_string_equal(acred_config_known_keys[0], "idaas.instance_id");
}

/* ---- acred_config_load ------------------------------------------------------------------------- */

static char *temp_file(const char *text, mode_t mode, int *fd_out)
{
    char *path = strdup("/tmp/test_config.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return path;
}

static void load_fails(const char *path, const char *what)
{
    struct acred_config c;
    char err[512], *expected;
    memset(&c, 0x5a, sizeof c);
    assert_true(asprintf(&expected, "%s: %s", path, what) > 0);
    assert_int_equal(acred_config_load(path, &c, err, sizeof err), -1);
    if (strncmp(err, expected, strlen(expected)) != 0)
        print_error("message '%s', expected '%s'\n", err, expected);
    assert_memory_equal(err, expected, strlen(expected));
    assert_true(is_zero(&c, sizeof c));
    free(expected);
}

static void test_load_good_file(void **state)
{
    struct acred_config c;
    char err[256];
    (void)state;
    char *path = temp_file(example, 0644, NULL);
    assert_int_equal(acred_config_load(path, &c, err, sizeof err), 0);
    assert_string_equal(c.instance_id, "idaas_ue2jvisn35ea5lmthk267xxxxx");
    assert_string_equal(c.roles[0].claim_value, "cloud-dev");
    acred_config_free(&c);
    unlink(path);
    free(path);
}

static void test_load_parse_error_names_path_and_line(void **state)
{
    struct acred_config c;
    char err[256], *expected;
    (void)state;
    char *path = temp_file(MINIMAL "bogus = 1\n", 0600, NULL);
    assert_true(asprintf(&expected, "%s:3: unknown key 'bogus' in [idaas]", path) > 0);
    assert_int_equal(acred_config_load(path, &c, err, sizeof err), -1);
    assert_string_equal(err, expected);
    assert_true(is_zero(&c, sizeof c));
    unlink(path);
    free(path);
    free(expected);
}

static void test_load_symlink_refused(void **state)
{
    (void)state;
    char *path = temp_file(MINIMAL, 0644, NULL), *link;
    assert_true(asprintf(&link, "%s.link", path) > 0);
    assert_int_equal(symlink(path, link), 0);
    load_fails(link, "is a symlink");
    unlink(link);
    unlink(path);
    free(link);
    free(path);
}

static void test_load_group_writable_refused(void **state)
{
    (void)state;
    char *path = temp_file(MINIMAL, 0664, NULL);
    load_fails(path, "writable by group or others");
    unlink(path);
    free(path);
}

static void test_load_other_writable_refused(void **state)
{
    (void)state;
    char *path = temp_file(MINIMAL, 0602, NULL);
    load_fails(path, "writable by group or others");
    unlink(path);
    free(path);
}

static void test_load_directory_refused(void **state)
{
    char dir[] = "/tmp/test_config.dir.XXXXXX";
    (void)state;
    assert_non_null(mkdtemp(dir));
    load_fails(dir, "not a regular file");
    rmdir(dir);
}

static void test_load_too_large_refused(void **state)
{
    int fd;
    (void)state;
    char *path = temp_file(MINIMAL, 0644, &fd);
    assert_int_equal(ftruncate(fd, ACRED_CONF_MAX_SIZE + 1), 0);
    close(fd);
    load_fails(path, "too large");
    unlink(path);
    free(path);
}

static void test_load_not_owned_refused(void **state)
{
    int fd;
    (void)state;
    if (geteuid() != 0)
        skip();
    char *path = temp_file(MINIMAL, 0644, &fd);
    assert_int_equal(fchown(fd, 12345, (gid_t)-1), 0);
    close(fd);
    load_fails(path, "not owned by root");
    unlink(path);
    free(path);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    load_fails("/nonexistent/pam_acred.conf", "cannot open: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_example_parses),
        cmocka_unit_test(test_minimal_file_has_every_default),
        cmocka_unit_test(test_other_values),
        cmocka_unit_test(test_methods_keep_file_order),
        cmocka_unit_test(test_empty_file_needs_idaas),
        cmocka_unit_test(test_missing_instance_id_names_idaas_line),
        cmocka_unit_test(test_empty_instance_id_refused),
        cmocka_unit_test(test_crlf_accepted),
        cmocka_unit_test(test_comments_blanks_and_trimming),
        cmocka_unit_test(test_hash_inside_value_is_kept),
        cmocka_unit_test(test_last_line_without_newline),
        cmocka_unit_test(test_line_of_max_length_accepted),
        cmocka_unit_test(test_line_too_long_rejected),
        cmocka_unit_test(test_nul_byte_rejected),
        cmocka_unit_test(test_control_character_rejected),
        cmocka_unit_test(test_line_without_equals_rejected),
        cmocka_unit_test(test_key_before_section),
        cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_bad_section_header),
        cmocka_unit_test(test_duplicate_section),
        cmocka_unit_test(test_duplicate_role_name),
        cmocka_unit_test(test_bad_role_name),
        cmocka_unit_test(test_roles_in_file_order_with_matchers),
        cmocka_unit_test(test_role_lookup),
        cmocka_unit_test(test_role_without_external_id),
        cmocka_unit_test(test_role_keys_are_per_role),
        cmocka_unit_test(test_empty_role_list_refused),
        cmocka_unit_test(test_default_role_must_exist),
        cmocka_unit_test(test_claim_syntax),
        cmocka_unit_test(test_edas_and_dsw_required_keys),
        cmocka_unit_test(test_edas_present_means_on),
        cmocka_unit_test(test_unknown_key_names_only_it),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_bad_integer),
        cmocka_unit_test(test_integer_out_of_range),
        cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_bad_url),
        cmocka_unit_test(test_bad_region),
        cmocka_unit_test(test_methods_words),
        cmocka_unit_test(test_env_aliases),
        cmocka_unit_test(test_long_value_cut_in_message),
        cmocka_unit_test(test_message_truncated_to_errlen),
        cmocka_unit_test(test_free_is_safe_twice_and_on_zero),
        cmocka_unit_test(test_audience_falls_back_to_client_id),
        cmocka_unit_test(test_every_known_key_is_accepted),
        cmocka_unit_test(test_known_keys_names),
        cmocka_unit_test(test_load_good_file),
        cmocka_unit_test(test_load_parse_error_names_path_and_line),
        cmocka_unit_test(test_load_symlink_refused),
        cmocka_unit_test(test_load_group_writable_refused),
        cmocka_unit_test(test_load_other_writable_refused),
        cmocka_unit_test(test_load_directory_refused),
        cmocka_unit_test(test_load_too_large_refused),
        cmocka_unit_test(test_load_not_owned_refused),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
