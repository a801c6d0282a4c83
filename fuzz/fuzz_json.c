/*
 * fuzz_json: every JSON answer of the network through its parser: acred_json_parse (strict,
 * duplicate names refused) and the getters, acred_idaas_parse_credential and
 * acred_idaas_parse_error (obtainAccessCredential), acred_oidc_parse_discovery (discovery).
 * The first byte chooses which; the rest is the body, as libcurl hands it over (NUL-terminated
 * after len, but len is what counts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idaas.h"
#include "json.h"
#include "oidc.h"

static void json(const char *body, size_t len)
{
    long long v;
    json_object *doc = acred_json_parse(body, len);
    if (doc == NULL)
        return;
    (void)acred_json_string(doc, "sub");
    (void)acred_json_int64(doc, "exp", &v);
    (void)json_object_to_json_string(doc);
    json_object_put(doc);
}

static void credential(const char *body, size_t len)
{
    struct acred_sts sts;
    struct acred_idp_error e;
    if (acred_idaas_parse_credential(body, len, &sts) == ACRED_OK) {
        /* what the module will export must hold no control character */
        const char *f[] = {sts.access_key_id, sts.access_key_secret, sts.security_token,
                           sts.expiration};
        for (size_t i = 0; i < 4; i++)
            for (const unsigned char *p = (const unsigned char *)f[i]; *p; p++)
                if (*p < 0x20 || *p >= 0x7f)
                    abort();
        acred_sts_free(&sts);
    }
    memset(&e, 0, sizeof(e));
    acred_idaas_parse_error(body, len, &e);
    const char *s[] = {e.code, e.message, e.request_id};
    for (size_t i = 0; i < 3; i++)
        for (const unsigned char *p = (const unsigned char *)s[i]; *p; p++)
            if (*p < 0x20 || *p >= 0x7f)
                abort(); /* these reach the audit line and the person's terminal */
}

static void discovery(const char *body, size_t len)
{
    struct acred_oidc o;
    char msg[256];
    memset(&o, 0, sizeof(o));
    if (acred_oidc_parse_discovery(&o, "https://127.0.0.1/oauth2", body, len, msg,
                                   sizeof(msg)) == ACRED_OK &&
        (o.jwks_uri == NULL || strncmp(o.jwks_uri, "https://", 8) != 0))
        abort(); /* a jwks_uri that is not https must never be used */
    acred_oidc_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *body = malloc(size);
    if (body == NULL)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0: json(body, size - 1); break;
    case 1: credential(body, size - 1); break;
    default: discovery(body, size - 1); break;
    }
    free(body);
    return 0;
}
