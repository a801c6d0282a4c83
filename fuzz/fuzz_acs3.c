/*
 * fuzz_acs3: the canonicalisation of V3 request signing (helper/acs3.c). The input is fields
 * separated by newlines: the method, the path, then name/value pairs, the first half of them
 * query parameters and the second half headers. The canonical request must come out (or NULL
 * for what acs3.h refuses) with its signed headers, and every encoding must be RFC 3986.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acs3.h"

#define MAX_PAIRS 16

static void check_encoded(const char *e, int keep_slash)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
    for (; e && *e; e++) {
        if (*e == '%') {
            if (!strchr("0123456789ABCDEF", e[1]) || !strchr("0123456789ABCDEF", e[2]) ||
                e[1] == '\0' || e[2] == '\0')
                abort();
            e += 2;
        } else if (!(strchr(ok, *e) || (keep_slash && *e == '/'))) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1), *f[2 + 2 * MAX_PAIRS];
    size_t n = 0;
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    for (char *p = in; n < sizeof(f) / sizeof(f[0]);) {
        f[n++] = p;
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    struct acred_acs3_pair pairs[MAX_PAIRS];
    size_t np = n > 2 ? (n - 2) / 2 : 0;
    for (size_t i = 0; i < np; i++) {
        pairs[i].name = f[2 + 2 * i];
        pairs[i].value = f[3 + 2 * i];
    }
    struct acred_acs3_request req = {
        .method = f[0],
        .path = n > 1 ? f[1] : NULL,
        .query = pairs,
        .n_query = np / 2,
        .headers = pairs + np / 2,
        .n_headers = np - np / 2,
        .payload_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    };
    char *signed_headers = NULL;
    char *canon = acred_acs3_canonical(&req, &signed_headers);
    if ((canon == NULL) != (signed_headers == NULL))
        abort();
    if (canon != NULL) {
        char sig[65];
        if (acred_acs3_signature(canon, "secret", sig) != 0 || strlen(sig) != 64)
            abort();
    }
    free(canon);
    free(signed_headers);
    char *e = acred_acs3_encode(f[0], 0), *q = acred_acs3_query(pairs, np);
    check_encoded(e, 0);
    if (q != NULL)
        for (char *amp = q; *amp; amp++)
            if (*amp != '&' && *amp != '=' && *amp != '%' && !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~", *amp))
                abort();
    e = (free(e), acred_acs3_encode(n > 1 ? f[1] : "", 1));
    check_encoded(e, 1);
    free(e);
    free(q);
    free(in);
    return 0;
}
