/* The V3 signature ACS3-HMAC-SHA256 (the public document's worked example, RFC 3986 encoding,
 * header canonicalisation), and the answers of EDAS GetSecureToken and PAI-DSW GetToken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "acs3.h"
#include "cloud.h"
#include "config.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DOC_SIGNATURE "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
#define DOC_IMAGE "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"

/* ---- the document's worked example -------------------------------------------------------- */

static const struct acred_acs3_pair doc_query[] = {
    {"RegionId", "cn-shanghai"}, /* given out of order on purpose: the query is sorted */
    {"ImageId", DOC_IMAGE},
};

static const char doc_canonical[] =
    "POST\n"
    "/\n"
    "ImageId=" DOC_IMAGE "&RegionId=cn-shanghai\n"
    "host:ecs.cn-shanghai.aliyuncs.com\n"
    "x-acs-action:RunInstances\n"
    "x-acs-content-sha256:" EMPTY_SHA "\n"
    "x-acs-date:2023-10-26T10:22:32Z\n"
    "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
    "x-acs-version:2014-05-26\n"
    "\n"
    "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
    EMPTY_SHA;

static void test_document_example_canonical_request(void **state)
{
    const struct acred_acs3_pair headers[] = {
        {"x-acs-version", "2014-05-26"},
        {"host", "ecs.cn-shanghai.aliyuncs.com"},
        {"x-acs-date", "2023-10-26T10:22:32Z"},
        {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
        {"x-acs-action", "RunInstances"},
        {"x-acs-content-sha256", EMPTY_SHA},
    };
    struct acred_acs3_request req = {
        .method = "POST", .path = "/", .query = doc_query, .n_query = 2,
        .headers = headers, .n_headers = 6, .payload_sha256 = EMPTY_SHA,
    };
    char *names = NULL, sig[65];
    char *canonical = acred_acs3_canonical(&req, &names);
    assert_non_null(canonical);
    assert_string_equal(canonical, doc_canonical);
    assert_string_equal(names, "host;x-acs-action;x-acs-content-sha256;x-acs-date;"
                               "x-acs-signature-nonce;x-acs-version");
    assert_int_equal(acred_acs3_signature(canonical, "YourAccessKeySecret", sig), 0);
    assert_string_equal(sig, DOC_SIGNATURE);
    free(canonical);
    free(names);
}

static void test_document_example_empty_payload_hash(void **state)
{
    char hex[65];
    assert_int_equal(acred_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, EMPTY_SHA);
}

static void test_document_example_authorization_header(void **state)
{
    struct acred_acs3_call call = {
        .method = "POST", .endpoint = "https://ecs.cn-shanghai.aliyuncs.com", .path = "/",
        .query = doc_query, .n_query = 2, .action = "RunInstances", .version = "2014-05-26",
        .access_key_id = "YourAccessKeyId", .access_key_secret = "YourAccessKeySecret",
        .date = "2023-10-26T10:22:32Z", .nonce = "3156853299f313e23d1673dc12e1703d",
    };
    struct acred_acs3_signed s;
    assert_int_equal(acred_acs3_sign(&call, &s), 0);
    assert_string_equal(s.url, "https://ecs.cn-shanghai.aliyuncs.com/?ImageId=" DOC_IMAGE
                               "&RegionId=cn-shanghai");
    const char *want[] = {
        "Host: ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action: RunInstances",
        "x-acs-version: 2014-05-26",
        "x-acs-date: 2023-10-26T10:22:32Z",
        "x-acs-signature-nonce: 3156853299f313e23d1673dc12e1703d",
        "x-acs-content-sha256: " EMPTY_SHA,
        "Authorization: ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;"
        "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=" DOC_SIGNATURE,
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_string_equal(s.headers[i], want[i]);
    assert_null(s.headers[7]);
    acred_acs3_signed_free(&s);
    assert_null(s.url);
}

/* ---- encoding ----------------------------------------------------------------------------- */

static void check_encode(const char *in, int keep_slash, const char *want)
{
    char *got = acred_acs3_encode(in, keep_slash);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_encoding_rfc3986(void **state)
{
    check_encode("cn-shenzhen:prod", 0, "cn-shenzhen%3Aprod");
    check_encode("a/b", 0, "a%2Fb");
    check_encode("/pop/v5/secure_token", 1, "/pop/v5/secure_token");
    check_encode("a b", 0, "a%20b");  /* never '+' */
    check_encode("a*b", 0, "a%2Ab");  /* java.net.URLEncoder leaves '*': the document encodes it */
    check_encode("a~b", 0, "a~b");    /* and '~' stays (not %7E) */
    check_encode("a+b", 0, "a%2Bb");
    check_encode("100%", 0, "100%25");
    check_encode("AZaz09-_.", 0, "AZaz09-_.");
    check_encode("\xe4\xb8\xad", 0, "%E4%B8%AD"); /* UTF-8 bytes, upper-case hex */
    check_encode("", 0, "");
}

static void test_query_sorted_with_empty_values(void **state)
{
    const struct acred_acs3_pair q[] = {
        {"b", ""}, {"a", NULL}, {"A", "x y"}, {"k:", "v/w"}, {"a*", "~"},
    };
    char *got = acred_acs3_query(q, 5);
    /* sorted by encoded name, byte order: "A" < "a" < "a%2A" < "b" < "k%3A" */
    assert_string_equal(got, "A=x%20y&a=&a%2A=~&b=&k%3A=v%2Fw");
    free(got);
    got = acred_acs3_query(NULL, 0);
    assert_string_equal(got, "");
    free(got);
}

static void test_query_same_name_sorted_by_value(void **state)
{
    const struct acred_acs3_pair q[] = {{"Tag", "b"}, {"Tag", "a"}};
    char *got = acred_acs3_query(q, 2);
    assert_string_equal(got, "Tag=a&Tag=b");
    free(got);
}

/* ---- headers ------------------------------------------------------------------------------ */

static char *canon(const struct acred_acs3_pair *h, size_t n, char **names)
{
    struct acred_acs3_request req = {
        .method = "GET", .path = "/api/v2/tokens", .headers = h, .n_headers = n,
        .payload_sha256 = EMPTY_SHA,
    };
    return acred_acs3_canonical(&req, names);
}

static void test_headers_lower_cased_trimmed_and_filtered(void **state)
{
    const struct acred_acs3_pair h[] = {
        {"X-ACS-Version", "  2022-01-01  "}, /* trimmed */
        {"Host", "pai-dsw.cn-hangzhou.aliyuncs.com"},
        {"Accept", "application/json"},     /* not signed */
        {"User-Agent", "pam_acred/0.1.0"},  /* not signed */
        {"Content-Type", "application/json"},
        {"x-acs-Action", "GetToken"},
    };
    char *names = NULL, *got = canon(h, 6, &names);
    assert_non_null(got);
    assert_string_equal(got, "GET\n/api/v2/tokens\n\n"
                             "content-type:application/json\n"
                             "host:pai-dsw.cn-hangzhou.aliyuncs.com\n"
                             "x-acs-action:GetToken\n"
                             "x-acs-version:2022-01-01\n"
                             "\n"
                             "content-type;host;x-acs-action;x-acs-version\n" EMPTY_SHA);
    assert_string_equal(names, "content-type;host;x-acs-action;x-acs-version");
    free(got);
    free(names);
}

static void test_repeated_header_is_refused(void **state)
{
    const struct acred_acs3_pair twice[] = {
        {"x-acs-date", "2023-10-26T10:22:32Z"}, {"x-acs-date", "2030-01-01T00:00:00Z"}};
    const struct acred_acs3_pair mixed[] = {{"Host", "a.example"}, {"host", "b.example"}};
    const struct acred_acs3_pair unsigned_twice[] = {{"Accept", "a"}, {"accept", "b"}};
    char *names = (char *)"sentinel";
    assert_null(canon(twice, 2, &names));
    assert_null(names);
    assert_null(canon(mixed, 2, &names));
    char *got = canon(unsigned_twice, 2, &names); /* not signed: not our business */
    assert_non_null(got);
    assert_string_equal(names, "");
    free(got);
    free(names);
}

static void test_control_character_in_header_is_refused(void **state)
{
    const struct acred_acs3_pair h[] = {{"x-acs-action", "GetToken\r\nx-evil: 1"}};
    char *names;
    assert_null(canon(h, 1, &names));
}

static void test_path_is_encoded_per_segment(void **state)
{
    struct acred_acs3_request req = {
        .method = "GET", .path = "/a b/c:d", .payload_sha256 = EMPTY_SHA,
    };
    char *names, *got = acred_acs3_canonical(&req, &names);
    assert_string_equal(got, "GET\n/a%20b/c%3Ad\n\n\n\n" EMPTY_SHA);
    free(got);
    free(names);
    req.path = NULL; /* no path is "/" */
    got = acred_acs3_canonical(&req, &names);
    assert_string_equal(got, "GET\n/\n\n\n\n" EMPTY_SHA);
    free(got);
    free(names);
}

/* ---- a signed call with STS credentials --------------------------------------------------- */

static void test_sts_call_signs_the_security_token(void **state)
{
    const struct acred_acs3_pair q[] = {{"NamespaceId", "cn-shenzhen:prod"}};
    struct acred_acs3_call call = {
        .method = "GET", .endpoint = "https://127.0.0.1:8443/", .path = "/pop/v5/secure_token",
        .query = q, .n_query = 1, .action = "GetSecureToken", .version = "2017-08-01",
        .access_key_id = "STS.NUgYrLnoC37mZZCNnAbez", .access_key_secret = "sk-secret",
        .security_token = "CAIS-token", .date = "2026-01-01T00:00:00Z",
        .nonce = "00112233445566778899aabbccddeeff",
    };
    struct acred_acs3_signed s;
    assert_int_equal(acred_acs3_sign(&call, &s), 0);
    assert_string_equal(s.url, "https://127.0.0.1:8443/pop/v5/secure_token"
                               "?NamespaceId=cn-shenzhen%3Aprod");
    assert_string_equal(s.headers[0], "Host: 127.0.0.1:8443");
    assert_string_equal(s.headers[6], "x-acs-security-token: CAIS-token");
    assert_non_null(strstr(s.headers[7], "SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
                                         "x-acs-date;x-acs-security-token;"
                                         "x-acs-signature-nonce;x-acs-version,"));
    assert_null(s.headers[8]);

    /* the signature is that of the canonical request built from what is sent */
    const struct acred_acs3_pair h[] = {
        {"host", "127.0.0.1:8443"}, {"x-acs-action", "GetSecureToken"},
        {"x-acs-version", "2017-08-01"}, {"x-acs-date", "2026-01-01T00:00:00Z"},
        {"x-acs-signature-nonce", "00112233445566778899aabbccddeeff"},
        {"x-acs-content-sha256", EMPTY_SHA}, {"x-acs-security-token", "CAIS-token"},
    };
    struct acred_acs3_request req = {
        .method = "GET", .path = "/pop/v5/secure_token", .query = q, .n_query = 1,
        .headers = h, .n_headers = 7, .payload_sha256 = EMPTY_SHA,
    };
    char *names, *canonical = acred_acs3_canonical(&req, &names), sig[65], want[128];
    assert_int_equal(acred_acs3_signature(canonical, "sk-secret", sig), 0);
    snprintf(want, sizeof(want), ",Signature=%s", sig);
    assert_non_null(strstr(s.headers[7], want));
    assert_null(strstr(s.headers[7], "sk-secret")); /* the secret never travels */
    free(canonical);
    free(names);
    acred_acs3_signed_free(&s);
}

static void test_endpoint_path_prefix_is_kept(void **state)
{
    struct acred_acs3_call call = {
        .method = "GET", .endpoint = "https://gw.example/prefix//", .path = "/api/v2/tokens",
        .action = "GetToken", .version = "2022-01-01", .access_key_id = "a",
        .access_key_secret = "b", .date = "2026-01-01T00:00:00Z", .nonce = "n",
    };
    struct acred_acs3_signed s;
    assert_int_equal(acred_acs3_sign(&call, &s), 0);
    assert_string_equal(s.url, "https://gw.example/prefix/api/v2/tokens");
    acred_acs3_signed_free(&s);
}

static void test_nonce_and_date_are_fresh(void **state)
{
    struct acred_acs3_call call = {
        .method = "GET", .endpoint = "https://gw.example", .path = "/", .action = "A",
        .version = "V", .access_key_id = "a", .access_key_secret = "b",
    };
    struct acred_acs3_signed s1, s2;
    assert_int_equal(acred_acs3_sign(&call, &s1), 0);
    assert_int_equal(acred_acs3_sign(&call, &s2), 0);
    const char *n1 = s1.headers[4], *n2 = s2.headers[4];
    assert_int_equal(strncmp(n1, "x-acs-signature-nonce: ", 23), 0);
    assert_int_equal(strlen(n1 + 23), 32);
    assert_int_equal(strspn(n1 + 23, "0123456789abcdef"), 32);
    assert_string_not_equal(n1, n2);
    const char *d = s1.headers[3];
    assert_int_equal(strncmp(d, "x-acs-date: ", 12), 0);
    assert_int_equal(strlen(d + 12), 20);
    assert_int_equal(d[12 + 10], 'T');
    assert_int_equal(d[12 + 19], 'Z');
    acred_acs3_signed_free(&s1);
    acred_acs3_signed_free(&s2);
}

static void test_date_format(void **state)
{
    char out[21];
    acred_acs3_date(1698315752, out);
    assert_string_equal(out, "2023-10-26T10:22:32Z");
}

/* ---- EDAS GetSecureToken ------------------------------------------------------------------ */

#define EDAS_DOC(code, token)                                                                 \
    "{\"Code\":" code ",\"Message\":\"success\",\"RequestId\":\"D16979DC-4D42-1234\","         \
    "\"SecureToken\":" token "}"
#define EDAS_TOKEN(extra)                                                                     \
    "{\"SecretKey\":\"gOSgbgR2Rsecret\",\"AccessKey\":\"f676f1ak\",\"BelongRegion\":"          \
    "\"cn-shenzhen\",\"Description\":\"\",\"RegionName\":\"prod\",\"EdasId\":\"1172745800\","  \
    "\"AddressServerHost\":\"addr-sz-internal.edas.aliyun.com\",\"UserId\":\"edas_com\","      \
    "\"Id\":7279,\"TenantId\":\"401b7bc8-9441-4693-0000-000000000000\",\"RegionId\":"         \
    "\"cn-shenzhen:prod\"" extra "}"
#define MSE                                                                                   \
    ",\"MseRegistryType\":\"exclusive_mse\",\"MseInstanceId\":\"mse_prepaid_public_cn-tl32p\"," \
    "\"MseInternetAddress\":\"mse-aa2-p.nacos-ans.mse.aliyuncs.com\","                        \
    "\"MseIntranetAddress\":\"mse-72-nacos-ans.mse.aliyuncs.com\""

static enum acred_reason edas(long status, const char *body, struct acred_edas_token *t,
                              struct acred_idp_error *e)
{
    return acred_edas_parse(status, body, strlen(body), t, e);
}

static void test_edas_documented_answer(void **state)
{
    struct acred_edas_token t;
    struct acred_idp_error e;
    assert_int_equal(edas(200, EDAS_DOC("200", EDAS_TOKEN(MSE)), &t, &e), ACRED_OK);
    assert_string_equal(t.access_key, "f676f1ak");
    assert_string_equal(t.secret_key, "gOSgbgR2Rsecret");
    assert_string_equal(t.tenant_id, "401b7bc8-9441-4693-0000-000000000000");
    assert_string_equal(t.address_server_host, "addr-sz-internal.edas.aliyun.com");
    assert_string_equal(t.region_id, "cn-shenzhen:prod");
    assert_string_equal(t.belong_region, "cn-shenzhen");
    assert_string_equal(t.mse_registry_type, "exclusive_mse");
    assert_string_equal(t.mse_instance_id, "mse_prepaid_public_cn-tl32p");
    assert_string_equal(t.mse_internet_address, "mse-aa2-p.nacos-ans.mse.aliyuncs.com");
    assert_string_equal(t.mse_intranet_address, "mse-72-nacos-ans.mse.aliyuncs.com");
    assert_string_equal(e.code, "");
    assert_string_equal(e.request_id, "D16979DC-4D42-1234");
    acred_edas_token_free(&t);
    assert_null(t.secret_key);
}

static void test_edas_without_mse_fields(void **state)
{
    struct acred_edas_token t;
    struct acred_idp_error e;
    assert_int_equal(edas(200, EDAS_DOC("\"200\"", EDAS_TOKEN("")), &t, &e), ACRED_OK);
    assert_null(t.mse_registry_type);
    assert_null(t.mse_intranet_address);
    acred_edas_token_free(&t);
}

static void test_edas_gateway_errors(void **state)
{
    struct acred_edas_token t;
    struct acred_idp_error e;
    const char *sig = "{\"RequestId\":\"7F2B-1\",\"HostId\":\"edas.cn-shenzhen.aliyuncs.com\","
                      "\"Code\":\"SignatureDoesNotMatch\",\"Message\":\"Specified signature is "
                      "not matched with our calculation.\",\"Recommend\":"
                      "\"https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch\"}";
    assert_int_equal(edas(400, sig, &t, &e), ACRED_R_IDP_DENIED);
    assert_string_equal(e.code, "SignatureDoesNotMatch");
    assert_string_equal(e.request_id, "7F2B-1");
    assert_non_null(strstr(e.message, "not matched"));
    assert_null(t.access_key);
    const char *internal = "{\"RequestId\":\"7F2B-2\",\"Code\":\"InternalError\","
                           "\"Message\":\"The request processing has failed.\"}";
    assert_int_equal(edas(500, internal, &t, &e), ACRED_R_IDP_UNAVAILABLE);
    assert_string_equal(e.code, "InternalError");
    assert_int_equal(edas(502, "<html>Bad Gateway</html>", &t, &e), ACRED_R_IDP_UNAVAILABLE);
    assert_string_equal(e.code, "http_502");
    assert_int_equal(edas(403, "", &t, &e), ACRED_R_IDP_DENIED);
    assert_string_equal(e.code, "http_403");
}

static void test_edas_code_failure_under_200(void **state)
{
    struct acred_edas_token t;
    struct acred_idp_error e;
    const char *soft = "{\"Code\":404,\"Message\":\"The namespace does not exist\","
                       "\"RequestId\":\"R-3\"}";
    assert_int_equal(edas(200, soft, &t, &e), ACRED_R_IDP_DENIED);
    assert_string_equal(e.code, "404");
    assert_string_equal(e.message, "The namespace does not exist");
    /* a token next to a failing Code is still a failure */
    assert_int_equal(edas(200, EDAS_DOC("500", EDAS_TOKEN("")), &t, &e), ACRED_R_IDP_DENIED);
    assert_null(t.secret_key);
    assert_string_equal(e.code, "500");
}

static void test_edas_missing_or_bad_fields(void **state)
{
    struct acred_edas_token t;
    struct acred_idp_error e;
    /* no Code at all */
    assert_int_equal(edas(200, "{\"SecureToken\":" EDAS_TOKEN("") "}", &t, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
    assert_string_equal(e.code, "bad_response");
    /* no SecretKey */
    assert_int_equal(edas(200, EDAS_DOC("200", "{\"AccessKey\":\"a\",\"TenantId\":\"t\","
                                               "\"AddressServerHost\":\"h\"}"), &t, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
    /* an empty required field */
    assert_int_equal(edas(200, EDAS_DOC("200", "{\"AccessKey\":\"\",\"SecretKey\":\"s\","
                                               "\"TenantId\":\"t\",\"AddressServerHost\":\"h\"}"),
                          &t, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
    /* SecureToken of the wrong type, a number as a key */
    assert_int_equal(edas(200, EDAS_DOC("200", "[]"), &t, &e), ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(edas(200, EDAS_DOC("200", "{\"AccessKey\":42,\"SecretKey\":\"s\","
                                               "\"TenantId\":\"t\",\"AddressServerHost\":\"h\"}"),
                          &t, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(edas(200, "not json", &t, &e), ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(edas(204, "", &t, &e), ACRED_R_IDP_BAD_RESPONSE);
}

static void test_edas_control_characters_are_refused(void **state)
{
    struct acred_edas_token t;
    struct acred_idp_error e;
    const char *nl = EDAS_DOC("200", "{\"AccessKey\":\"ak\\nLD_PRELOAD=/tmp/x\",\"SecretKey\":"
                                     "\"s\",\"TenantId\":\"t\",\"AddressServerHost\":\"h\"}");
    assert_int_equal(edas(200, nl, &t, &e), ACRED_R_IDP_BAD_RESPONSE);
    assert_null(t.access_key);
    assert_null(t.secret_key);
    const char *esc = EDAS_DOC("200", EDAS_TOKEN(",\"MseInstanceId\":\"mse\\u001b[31m\""));
    assert_int_equal(edas(200, esc, &t, &e), ACRED_R_IDP_BAD_RESPONSE);
    const char *nul = EDAS_DOC("200", EDAS_TOKEN(",\"MseInstanceId\":\"mse\\u0000x\""));
    assert_int_equal(edas(200, nul, &t, &e), ACRED_R_IDP_BAD_RESPONSE);
    /* a gateway message with control characters is kept, made harmless */
    const char *msg = "{\"Code\":\"Forbidden.RAM\",\"Message\":\"no\\r\\naccess\"}";
    assert_int_equal(edas(403, msg, &t, &e), ACRED_R_IDP_DENIED);
    assert_string_equal(e.message, "no??access");
}

/* ---- PAI-DSW GetToken --------------------------------------------------------------------- */

static enum acred_reason dsw(long status, const char *body, char **token,
                             struct acred_idp_error *e)
{
    return acred_dsw_parse(status, body, strlen(body), token, e);
}

static void test_dsw_documented_answer(void **state)
{
    char *token;
    struct acred_idp_error e;
    /* the document's example, Code "ValidationError" and all: Success decides */
    const char *doc = "{\"RequestId\":\"E7D55162-4489-1619-AAF5-3F97D5FCA948\",\"Success\":true,"
                      "\"Message\":\"\\\"XXX\\\"\",\"Code\":\"ValidationError\","
                      "\"Token\":\"dsw-token-0123456789\"}";
    assert_int_equal(dsw(200, doc, &token, &e), ACRED_OK);
    assert_string_equal(token, "dsw-token-0123456789");
    assert_string_equal(e.request_id, "E7D55162-4489-1619-AAF5-3F97D5FCA948");
    assert_string_equal(e.code, "");
    free(token);
}

static void test_dsw_success_false_under_200(void **state)
{
    char *token;
    struct acred_idp_error e;
    const char *soft = "{\"RequestId\":\"R-9\",\"Success\":false,\"Code\":\"ValidationError\","
                       "\"Message\":\"Instance dsw-1 not found\"}";
    assert_int_equal(dsw(200, soft, &token, &e), ACRED_R_IDP_DENIED);
    assert_null(token);
    assert_string_equal(e.code, "ValidationError");
    assert_string_equal(e.message, "Instance dsw-1 not found");
    assert_int_equal(dsw(200, "{\"Success\":false,\"Token\":\"t\"}", &token, &e),
                     ACRED_R_IDP_DENIED);
    assert_null(token);
    assert_string_equal(e.code, "failed");
}

static void test_dsw_gateway_error(void **state)
{
    char *token;
    struct acred_idp_error e;
    const char *err = "{\"RequestId\":\"R-1\",\"HostId\":\"pai-dsw.cn-hangzhou.aliyuncs.com\","
                      "\"Code\":\"InvalidSecurityToken.Malformed\",\"Message\":\"Specified "
                      "SecurityToken is malformed.\",\"Recommend\":\"https://api.aliyun.com/x\"}";
    assert_int_equal(dsw(400, err, &token, &e), ACRED_R_IDP_DENIED);
    assert_string_equal(e.code, "InvalidSecurityToken.Malformed");
    assert_int_equal(dsw(503, "{}", &token, &e), ACRED_R_IDP_UNAVAILABLE);
    assert_string_equal(e.code, "http_503");
}

static void test_dsw_missing_or_bad_fields(void **state)
{
    char *token;
    struct acred_idp_error e;
    assert_int_equal(dsw(200, "{\"Token\":\"t\"}", &token, &e), ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(dsw(200, "{\"Success\":\"true\",\"Token\":\"t\"}", &token, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(dsw(200, "{\"Success\":true}", &token, &e), ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(dsw(200, "{\"Success\":true,\"Token\":\"\"}", &token, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
    assert_int_equal(dsw(200, "{\"Success\":true,\"Token\":\"a\\tb\"}", &token, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
    assert_null(token);
    assert_string_equal(e.code, "bad_response");
    /* two Token keys: which one? refused */
    assert_int_equal(dsw(200, "{\"Success\":true,\"Token\":\"a\",\"Token\":\"b\"}", &token, &e),
                     ACRED_R_IDP_BAD_RESPONSE);
}

/* ---- both calls, when the endpoint cannot be reached -------------------------------------- */

static void unreachable_config(struct acred_config *cfg, int required)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->timeout = 5;
    cfg->edas_enabled = cfg->dsw_enabled = 1;
    cfg->edas_namespace_id = (char *)"cn-shenzhen:prod";
    cfg->edas_endpoint = (char *)"https://127.0.0.1:1";
    cfg->edas_required = required;
    cfg->dsw_instance_id = (char *)"dsw-730xxxxxxxxxx";
    cfg->dsw_endpoint = (char *)"https://127.0.0.1:1";
    cfg->dsw_type = (char *)"Access";
    cfg->dsw_expire_time = 3600;
}

static void test_unreachable_not_required_goes_on(void **state)
{
    struct acred_config cfg;
    struct acred_sts sts = {.access_key_id = (char *)"STS.a", .access_key_secret = (char *)"s",
                            .security_token = (char *)"t"};
    struct acred_cloud c;
    char msg[512] = "";
    unreachable_config(&cfg, 0);
    assert_int_equal(acred_cloud_tokens(&cfg, &sts, &c, msg, sizeof(msg)), ACRED_OK);
    assert_string_equal(msg, "");
    assert_true(c.edas.enabled && c.dsw.enabled);
    assert_string_equal(c.edas.code, "unreachable");
    assert_string_equal(c.dsw.code, "unreachable");
    assert_int_equal(c.n_vars, 0);
    assert_non_null(strstr(c.edas.notice, "EDAS GetSecureToken failed (127.0.0.1:1 cannot be "
                                          "reached"));
    assert_non_null(strstr(c.edas.notice, "; the session has no EDAS_* variables"));
    assert_non_null(strstr(c.dsw.notice, "; the session has no PAI_DSW_* variables"));
    acred_cloud_free(&c);
}

static void test_unreachable_required_denies(void **state)
{
    struct acred_config cfg;
    struct acred_sts sts = {.access_key_id = (char *)"STS.a", .access_key_secret = (char *)"s",
                            .security_token = (char *)"t"};
    struct acred_cloud c;
    char msg[512] = "";
    unreachable_config(&cfg, 0);
    cfg.dsw_required = 1;
    assert_int_equal(acred_cloud_tokens(&cfg, &sts, &c, msg, sizeof(msg)), ACRED_R_DSW_ERROR);
    assert_non_null(strstr(msg, "Login failed: PAI-DSW GetToken failed ("));
    acred_cloud_free(&c);
    cfg.edas_required = 1;
    assert_int_equal(acred_cloud_tokens(&cfg, &sts, &c, msg, sizeof(msg)), ACRED_R_EDAS_ERROR);
    acred_cloud_free(&c);
    cfg.edas_enabled = cfg.dsw_enabled = 0;
    assert_int_equal(acred_cloud_tokens(&cfg, &sts, &c, msg, sizeof(msg)), ACRED_OK);
    assert_false(c.edas.enabled || c.dsw.enabled);
    acred_cloud_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_example_canonical_request),
        cmocka_unit_test(test_document_example_empty_payload_hash),
        cmocka_unit_test(test_document_example_authorization_header),
        cmocka_unit_test(test_encoding_rfc3986),
        cmocka_unit_test(test_query_sorted_with_empty_values),
        cmocka_unit_test(test_query_same_name_sorted_by_value),
        cmocka_unit_test(test_headers_lower_cased_trimmed_and_filtered),
        cmocka_unit_test(test_repeated_header_is_refused),
        cmocka_unit_test(test_control_character_in_header_is_refused),
        cmocka_unit_test(test_path_is_encoded_per_segment),
        cmocka_unit_test(test_sts_call_signs_the_security_token),
        cmocka_unit_test(test_endpoint_path_prefix_is_kept),
        cmocka_unit_test(test_nonce_and_date_are_fresh),
        cmocka_unit_test(test_date_format),
        cmocka_unit_test(test_edas_documented_answer),
        cmocka_unit_test(test_edas_without_mse_fields),
        cmocka_unit_test(test_edas_gateway_errors),
        cmocka_unit_test(test_edas_code_failure_under_200),
        cmocka_unit_test(test_edas_missing_or_bad_fields),
        cmocka_unit_test(test_edas_control_characters_are_refused),
        cmocka_unit_test(test_dsw_documented_answer),
        cmocka_unit_test(test_dsw_success_false_under_200),
        cmocka_unit_test(test_dsw_gateway_error),
        cmocka_unit_test(test_dsw_missing_or_bad_fields),
        cmocka_unit_test(test_unreachable_not_required_goes_on),
        cmocka_unit_test(test_unreachable_required_denies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
