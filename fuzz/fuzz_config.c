/*
 * fuzz_config: the configuration file through acred_config_parse (the text as read from the
 * file, len bytes, not NUL-terminated), and what the helper asks of a parsed configuration.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acred_config cfg;
    char err[512];
    char *text = malloc(size ? size : 1); /* exactly size bytes: no NUL after them */
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    memset(&cfg, 0, sizeof(cfg));
    if (acred_config_parse(text, size, "fuzz.conf", &cfg, err, sizeof(err)) == 0) {
        (void)acred_config_audience(&cfg);
        (void)acred_config_role(&cfg, "dev");
        if (cfg.default_role && cfg.default_role[0] && !acred_config_role(&cfg, cfg.default_role))
            abort(); /* the parser promises that default_role names a section */
        acred_config_free(&cfg);
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }
    free(text);
    return 0;
}
