/*
 * dlopen MODULE: load a PAM module the way libpam does (RTLD_NOW, so every symbol must
 * resolve) and check that it exports the six pam_sm_* entry points and nothing else of ours.
 * Prints TAP.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    static const char *const entry[] = {"pam_sm_authenticate", "pam_sm_setcred",
                                        "pam_sm_acct_mgmt", "pam_sm_open_session",
                                        "pam_sm_close_session"};
    static const char *const hidden[] = {"acred_parse_args", "acred_run_helper",
                                         "acred_read_record", "acred_line_add"};
    int n = 0, failed = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: dlopen MODULE\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    printf("%s %d - dlopen(RTLD_NOW) %s%s\n", h ? "ok" : "not ok", ++n, argv[1],
           h ? "" : dlerror());
    if (h == NULL) {
        printf("1..%d\n", n);
        return 1;
    }
    for (size_t i = 0; i < sizeof(entry) / sizeof(entry[0]); i++) {
        int ok = dlsym(h, entry[i]) != NULL;
        failed += !ok;
        printf("%s %d - exports %s\n", ok ? "ok" : "not ok", ++n, entry[i]);
    }
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        int ok = dlsym(h, hidden[i]) == NULL;
        failed += !ok;
        printf("%s %d - does not export %s\n", ok ? "ok" : "not ok", ++n, hidden[i]);
    }
    dlclose(h);
    printf("1..%d\n", n);
    return failed ? 1 : 0;
}
