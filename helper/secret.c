#include "acred_build.h"
#include "secret.h"
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void acred_secret_free(char *s)
{
    if (s == NULL)
        return;
    acred_wipe(s, strlen(s));
    free(s);
}

char *acred_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int acred_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[64];
    ssize_t got;
    if (n > sizeof(buf))
        return -1;
    /* the kernel's CSPRNG (OpenSSL seeds from it too): a session id or a temporary file name
     * then costs no OpenSSL initialisation, which a login that needs no signature skips */
    while ((got = getrandom(buf, n, 0)) < 0 && errno == EINTR)
        ;
    if (got != (ssize_t)n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 15];
    }
    out[2 * n] = '\0';
    acred_wipe(buf, sizeof(buf));
    return 0;
}
