/*
 * acred-names: print the names that the documentation must cover, one per line, from the
 * code itself: "key SECTION.KEY" for every key the configuration parser knows, "reason WORD"
 * for every audit reason, "audit FIELD" for every audit field the helper may set. The man
 * page test (tests/e2e/docs.sh) checks each against the man/ sources, so none can go
 * undocumented.
 */
#include "acred_build.h"
#include "acred_protocol.h"
#include "config.h"
#include "reason.h"

#include <stdio.h>

int main(void)
{
    static const char *const audit[] = {ACRED_AUDIT_HELPER_KEYS};
    for (size_t i = 0; acred_config_known_keys[i]; i++)
        printf("key %s\n", acred_config_known_keys[i]);
    for (int r = 0; r < ACRED_REASON_COUNT; r++)
        if (r != ACRED_OK)
            printf("reason %s\n", acred_reason_word((enum acred_reason)r));
    for (size_t i = 0; i < sizeof audit / sizeof *audit; i++)
        printf("audit %s\n", audit[i]);
    return ferror(stdout) ? 1 : 0;
}
