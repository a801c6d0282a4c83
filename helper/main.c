/*
 * acred-helper: every network call, signature check and JSON of pam_acred. pam_acred.so runs
 * `acred-helper pam`; operators run `acred-helper check`.
 */
#include "acred_build.h"
#include "config.h"
#include "http.h"
#include "login.h"
#include "oidc.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <curl/curl.h>

#define DEFAULT_CONF ACRED_SYSCONFDIR "/security/pam_acred.conf"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: acred-helper COMMAND [OPTIONS]\n"
            "\n"
            "The helper of pam_acred.so: it does every network call, signature check and JSON\n"
            "parse for IDaaS logins, so that the PAM module itself stays small.\n"
            "\n"
            "Commands:\n"
            "  check [--conf PATH]   read the configuration, reach the IdP (discovery, JWKS)\n"
            "                        and say what is wrong; exit 0 when a login could work\n"
            "  pam                   one authentication for pam_acred.so over stdin/stdout\n"
            "                        (the records of acred_protocol.h; not for people)\n"
            "  --help                this text\n"
            "  --version             the version\n"
            "\n"
            "Default configuration: %s\n",
            DEFAULT_CONF);
}

static int check(const char *conf)
{
    struct acred_config cfg;
    struct acred_http http;
    struct acred_oidc oidc;
    char err[512];
    int bad = 0;
    if (acred_config_load(conf, &cfg, err, sizeof(err)) != 0) {
        printf("FAIL configuration: %s\n", err);
        return 1;
    }
    printf("ok   configuration %s\n", conf);
    memset(&oidc, 0, sizeof(oidc));
    if (acred_http_init(&http, &cfg) != 0) {
        acred_config_free(&cfg);
        return 1;
    }
    if (acred_oidc_discover(&http, &oidc, err, sizeof(err)) != ACRED_OK) {
        printf("FAIL discovery at %s: %s\n", cfg.issuer, err);
        bad = 1;
    } else {
        printf("ok   discovery at %s\n", cfg.issuer);
        if (acred_oidc_fetch_jwks(&http, &oidc, err, sizeof(err)) != ACRED_OK) {
            printf("FAIL JWKS at %s: %s\n", oidc.jwks_uri, err);
            bad = 1;
        } else {
            printf("ok   JWKS at %s\n", oidc.jwks_uri);
        }
    }
    if (cfg.n_roles == 0) {
        printf("FAIL no [role NAME] section: nobody can get credentials\n");
        bad = 1;
    }
    acred_oidc_free(&oidc);
    acred_http_cleanup(&http);
    acred_config_free(&cfg);
    return bad;
}

int main(int argc, char **argv)
{
    int rc;
    /* nobody may read the tokens and credentials of this process from outside */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("acred-helper (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return 0;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (strcmp(argv[1], "pam") == 0 && argc == 2) {
        rc = acred_pam_main(0, 1);
    } else if (strcmp(argv[1], "check") == 0 && (argc == 2 || argc == 4) &&
               (argc == 2 || strcmp(argv[2], "--conf") == 0)) {
        rc = check(argc == 4 ? argv[3] : DEFAULT_CONF);
    } else {
        fprintf(stderr, "acred-helper: unknown command or options; see acred-helper --help\n");
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
