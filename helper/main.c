/*
 * acred-helper: every network call, signature check and JSON of pam_acred. pam_acred.so runs
 * `acred-helper pam`; operators run `acred-helper check`.
 */
#include "acred_build.h"
#include "check.h"
#include "credproc.h"
#include "login.h"

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
            "  check [--conf PATH]   read the configuration, reach the IdP and say what would\n"
            "                        stop a login (file, roles, CA, issuer, JWKS, clock,\n"
            "                        endpoints); exit 0 when a login could work, else 1\n"
            "  credential-process [--conf PATH]\n"
            "                        print this user's STS credentials for the aliyun CLI\n"
            "                        (External mode), refreshing them while the login lasts\n"
            "  pam                   one authentication for pam_acred.so over stdin/stdout\n"
            "                        (the records of acred_protocol.h; not for people)\n"
            "  --help                this text\n"
            "  --version             the version\n"
            "\n"
            "Default configuration: %s\n",
            DEFAULT_CONF);
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
    } else if (strcmp(argv[1], "credential-process") == 0 && (argc == 2 || argc == 4) &&
               (argc == 2 || strcmp(argv[2], "--conf") == 0)) {
        rc = acred_credential_process(argc == 4 ? argv[3] : NULL);
    } else if (strcmp(argv[1], "check") == 0) {
        rc = acred_check_command(argc - 1, argv + 1, DEFAULT_CONF);
    } else {
        fprintf(stderr, "acred-helper: unknown command or options; see acred-helper --help\n");
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
