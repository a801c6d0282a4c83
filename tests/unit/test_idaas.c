/* The IdP's answers: obtainAccessCredential (IDaaS documentation shape), its errors, discovery,
 * and when a pasted token is whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "idaas.h"
#include "login.h"
#include "oidc.h"

#define DOC(sts)                                                                              \
    "{\"cloudAccountId\":\"ca_01kmegjc11qa1txxxxx\",\"cloudAccountRoleId\":\"carole_01\","     \
    "\"cloudAccountRoleName\":\"role-test\",\"cloudAccountRoleExternalId\":"                  \
    "\"acs:ram::xxx:role/role-test\",\"cloudAccountVendorType\":\"alibaba_cloud\","            \
    "\"cloudAccountRoleAccessCredential\":{\"accessCredentialExpiresAt\":1767196800,"         \
    "\"alibabaCloudStsToken\":" sts "}}"
#define GOOD_STS                                                                              \
    "{\"accessKeyId\":\"STS.NUgYrLnoC37mZZCNnAbez\",\"accessKeySecret\":\"secretX\","           \
    "\"securityToken\":\"CAIS1234\",\"expiration\":\"2026-01-01T00:00:00Z\"}"

static enum acred_reason parse(const char *body, struct acred_sts *s)
{
    return acred_idaas_parse_credential(body, strlen(body), s);
}

static void test_documented_answer(void **state)
{
    struct acred_sts s;
    assert_int_equal(parse(DOC(GOOD_STS), &s), ACRED_OK);
    assert_string_equal(s.access_key_id, "STS.NUgYrLnoC37mZZCNnAbez");
    assert_string_equal(s.access_key_secret, "secretX");
    assert_string_equal(s.security_token, "CAIS1234");
    assert_string_equal(s.expiration, "2026-01-01T00:00:00Z");
    assert_int_equal(s.expires_at, 1767225600);
    acred_sts_free(&s);
    assert_null(s.access_key_secret);
}

static void test_missing_field_is_refused(void **state)
{
    struct acred_sts s;
    assert_int_equal(parse(DOC("{\"accessKeyId\":\"STS.x\",\"accessKeySecret\":\"y\","
                               "\"expiration\":\"2026-01-01T00:00:00Z\"}"), &s),
                     ACRED_R_IDP_BAD_RESPONSE);
    assert_null(s.access_key_id);
}

static void test_wrong_type_is_refused(void **state)
{
    struct acred_sts s;
    assert_int_equal(parse(DOC("{\"accessKeyId\":42,\"accessKeySecret\":\"y\","
                               "\"securityToken\":\"z\",\"expiration\":\"2026-01-01T00:00:00Z\"}"),
                           &s),
                     ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(parse(DOC("[]"), &s), ACRED_R_IDP_BAD_RESPONSE);
}

static void test_control_character_is_refused(void **state)
{
    struct acred_sts s;
    assert_int_equal(parse(DOC("{\"accessKeyId\":\"STS.x\\nLD_PRELOAD=/tmp/x\","
                               "\"accessKeySecret\":\"y\",\"securityToken\":\"z\","
                               "\"expiration\":\"2026-01-01T00:00:00Z\"}"), &s),
                     ACRED_R_IDP_BAD_RESPONSE);
}

static void test_bad_expiration_is_refused(void **state)
{
    struct acred_sts s;
    assert_int_equal(parse(DOC("{\"accessKeyId\":\"STS.x\",\"accessKeySecret\":\"y\","
                               "\"securityToken\":\"z\",\"expiration\":\"tomorrow\"}"), &s),
                     ACRED_R_IDP_BAD_RESPONSE);
}

static void test_not_json_is_refused(void **state)
{
    struct acred_sts s;
    assert_int_equal(parse("<html>502 Bad Gateway</html>", &s), ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(parse("", &s), ACRED_R_IDP_BAD_RESPONSE);
}

static void test_utc_times(void **state)
{
    assert_int_equal(acred_parse_utc("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(acred_parse_utc("2026-11-22T10:00:00Z"), 1795341600);
    assert_int_equal(acred_parse_utc("2026-11-22T10:00:00"), -1);
    assert_int_equal(acred_parse_utc("2026-11-22 10:00:00Z"), -1);
    assert_int_equal(acred_parse_utc("2026-11-22T10:00:00Zjunk"), -1);
    assert_int_equal(acred_parse_utc(NULL), -1);
}

static void test_idaas_error_shape(void **state)
{
    struct acred_idp_error e = {0};
    const char *b = "{\"error\":\"access_denied\",\"error_description\":\"Not allowed\","
                    "\"requestId\":\"5E4A-11\"}";
    acred_idaas_parse_error(b, strlen(b), &e);
    assert_string_equal(e.code, "access_denied");
    assert_string_equal(e.message, "Not allowed");
    assert_string_equal(e.request_id, "5E4A-11");
}

static void test_gateway_error_shape(void **state)
{
    struct acred_idp_error e = {0};
    const char *b = "{\"Code\":\"Forbidden.RAM\",\"Message\":\"no\\npermission\","
                    "\"RequestId\":\"ABC\",\"Recommend\":\"https://x\"}";
    acred_idaas_parse_error(b, strlen(b), &e);
    assert_string_equal(e.code, "Forbidden.RAM");
    assert_string_equal(e.message, "no?permission"); /* no control byte reaches a message */
    assert_string_equal(e.request_id, "ABC");
}

static void test_error_that_is_not_json(void **state)
{
    struct acred_idp_error e = {0};
    acred_idaas_parse_error("Service Unavailable", 19, &e);
    assert_string_equal(e.code, "");
}

static void test_discovery(void **state)
{
    struct acred_oidc o = {0};
    char msg[256];
    const char *d = "{\"issuer\":\"https://idp.example/oauth2\",\"jwks_uri\":"
                    "\"https://idp.example/oauth2/jwks\",\"userinfo_endpoint\":"
                    "\"https://idp.example/oauth2/userinfo\",\"token_endpoint\":\"http://x/t\"}";
    assert_int_equal(acred_oidc_parse_discovery(&o, "https://idp.example/oauth2", d, strlen(d),
                                                msg, sizeof(msg)),
                     ACRED_OK);
    assert_string_equal(o.jwks_uri, "https://idp.example/oauth2/jwks");
    assert_string_equal(o.userinfo_endpoint, "https://idp.example/oauth2/userinfo");
    assert_null(o.token_endpoint); /* http:// is never used */
    acred_oidc_free(&o);
}

static void test_discovery_of_another_issuer(void **state)
{
    struct acred_oidc o = {0};
    char msg[256];
    const char *d = "{\"issuer\":\"https://idp.example/oauth2/\",\"jwks_uri\":\"https://a/j\"}";
    assert_int_equal(acred_oidc_parse_discovery(&o, "https://idp.example/oauth2", d, strlen(d),
                                                msg, sizeof(msg)),
                     ACRED_R_BAD_ISSUER);
    acred_oidc_free(&o);
}

/* no issuer, or one that is not a string: a broken answer (idp_bad_response), not bad_issuer */
static void test_discovery_without_issuer(void **state)
{
    struct acred_oidc o = {0};
    char msg[256];
    const char *docs[] = {"{\"jwks_uri\":\"https://i/jwks\"}",
                          "{\"issuer\":42,\"jwks_uri\":\"https://i/jwks\"}",
                          "{\"issuer\":null,\"jwks_uri\":\"https://i/jwks\"}"};
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        assert_int_equal(acred_oidc_parse_discovery(&o, "https://i", docs[i], strlen(docs[i]), msg,
                                                    sizeof(msg)),
                         ACRED_R_IDP_BAD_RESPONSE);
        acred_oidc_free(&o);
    }
}

static void test_discovery_without_jwks(void **state)
{
    struct acred_oidc o = {0};
    char msg[256];
    const char *d = "{\"issuer\":\"https://i\",\"jwks_uri\":\"http://i/jwks\"}";
    assert_int_equal(acred_oidc_parse_discovery(&o, "https://i", d, strlen(d), msg, sizeof(msg)),
                     ACRED_R_IDP_BAD_RESPONSE);
    acred_oidc_free(&o);
}

static int whole(const char *t, size_t last, long sig)
{
    return acred_token_complete(t, strlen(t), last, sig);
}

static void test_jwt_needs_three_parts(void **state)
{
    assert_false(whole("eyJhbGciOiJSUzI1NiJ9", 20, 256));
    assert_false(whole("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", 30, 256));
}

static void test_jwt_needs_a_full_signature(void **state)
{
    char t[1024] = "eyJh.eyJz.";
    memset(t + 10, 'A', 341);
    assert_false(whole(t, 500, 256)); /* 341 characters hold 255 bytes */
    t[10 + 341] = 'A';
    assert_true(whole(t, 500, 256)); /* 342 hold 256 */
    assert_true(whole("eyJh.eyJz.x", 11, -1)); /* unknown key: whole once it has three parts */
}

static void test_es256_signature_length(void **state)
{
    char t[256] = "eyJh.eyJz.";
    memset(t + 10, 'A', 85);
    assert_false(whole(t, 95, 64));
    t[10 + 85] = 'A';
    assert_true(whole(t, 96, 64)); /* 86 characters: 64 bytes */
}

static void test_opaque_token_ends_with_a_short_piece(void **state)
{
    assert_true(whole("opaque-token", 12, -1));
    assert_false(whole("opaque-token", 500, -1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_answer),
        cmocka_unit_test(test_missing_field_is_refused),
        cmocka_unit_test(test_wrong_type_is_refused),
        cmocka_unit_test(test_control_character_is_refused),
        cmocka_unit_test(test_bad_expiration_is_refused),
        cmocka_unit_test(test_not_json_is_refused),
        cmocka_unit_test(test_utc_times),
        cmocka_unit_test(test_idaas_error_shape),
        cmocka_unit_test(test_gateway_error_shape),
        cmocka_unit_test(test_error_that_is_not_json),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_discovery_of_another_issuer),
        cmocka_unit_test(test_discovery_without_jwks),
        cmocka_unit_test(test_discovery_without_issuer),
        cmocka_unit_test(test_jwt_needs_three_parts),
        cmocka_unit_test(test_jwt_needs_a_full_signature),
        cmocka_unit_test(test_es256_signature_length),
        cmocka_unit_test(test_opaque_token_ends_with_a_short_piece),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
