/*
 * fuzz_jwt: a pasted token through the whole JWT path of acred-helper: acred_jwt_parse, then
 * acred_jwt_verify against a JWKS and acred_jwt_check_claims with a fixed policy, and the
 * signature length acred_jwt_expected_sig_len and acred_token_complete use while pasting.
 *
 * Input: a token. When it starts with '{', its first line is the JWKS instead of the fixed one
 * (an RSA key rsa1 and an EC P-256 key ec1; the seed corpus has tokens they really signed), so
 * the key parsing of a JWKS from the network is fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jwt.h"
#include "login.h"

static const char fixed_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"uvxALETwQEHLHEyHweBl0vw7DS9sPhMSOnwf73tnRuISHxdGUfPQxywoFvoDbLkaYfhVU22bJGVsXNylV2vYSmZPB8MahgkRvceRGV8_VkoWTKvHTmBnaQyEboNLJ-qaD48E2yAPRoH43Uutst5JfKPlkapuN8seEp_MoPOy2MIbW4nddDu6oyu4Phkvb4tD47e4jYwm9JR9Wo8utiPVUHIwe0GFtBG7MwYHqi0XDbyKwwWa2XoBPBE-_p4kN_fKmOKHsKt2s1QU91493BiDFlCqAYHPKgGtNG3Od4us9i7oYjMQRbpG2ytT1wG-jymbSkgqTkg9asEmmxpYWzz5-Q\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"use\":\"sig\",\"x\":\"J2D9nGdcuGZlBa0JMzi_3u8umrOCPIhjWoRrj8cM834\",\"y\":\"GM1025YOwiJiugiS9rirAPd3SnR3jQcrlcqaPbYNOp8\"}]}";

static void run(const char *token, size_t len, json_object *jwks)
{
    struct acred_jwt jwt;
    char msg[256];
    if (acred_jwt_parse(token, len, &jwt) == ACRED_OK) {
        (void)acred_jwt_expected_sig_len(jwks, jwt.alg, jwt.kid);
        (void)acred_jwt_verify(&jwt, jwks);
        struct acred_jwt_policy p = {
            .issuer = "https://127.0.0.1/api/v2/iauths_system/oauth2",
            .audience = "app_test",
            .scope = "urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential",
            .username_claim = "preferred_username",
            .username_suffix = (len & 1) ? "@corp" : "",
            .user = "alice",
            .leeway = 60,
            .max_token_age = (len & 2) ? 3600 : 0,
            .now = 1700000000,
        };
        (void)acred_jwt_check_claims(&jwt, &p, msg, sizeof(msg));
    }
    acred_jwt_free(&jwt);
    (void)acred_token_complete(token, len, len, (long)(len % 600) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    json_object *jwks = NULL;
    if (size > 0 && in[0] == '{') {
        const char *nl = memchr(in, '\n', size);
        size_t jlen = nl ? (size_t)(nl - in) : size;
        jwks = acred_json_parse(in, jlen);
        in += nl ? jlen + 1 : size;
        size -= nl ? jlen + 1 : size;
    } else {
        jwks = acred_json_parse(fixed_jwks, sizeof(fixed_jwks) - 1);
    }
    char *token = malloc(size + 1); /* NUL-terminated, as the helper holds it */
    if (token != NULL) {
        memcpy(token, in, size);
        token[size] = '\0';
        run(token, size, jwks);
        free(token);
    }
    json_object_put(jwks);
    return 0;
}
