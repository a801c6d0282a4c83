/* Role mapping: every matcher present must match, first section in file order wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "role.h"

static struct acred_config cfg;

static void load(const char *roles, const char *default_role)
{
    char text[4096], err[256];
    snprintf(text, sizeof(text), "[idaas]\ninstance_id = idaas_x\n[login]\ndefault_role = %s\n%s",
             default_role, roles);
    acred_config_free(&cfg);
    if (acred_config_parse(text, strlen(text), "test.conf", &cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
}

static const char *pick(const char *user, const char *groups_csv, const char *claims_json)
{
    char *groups[8] = {0}, buf[256];
    size_t n = 0;
    snprintf(buf, sizeof(buf), "%s", groups_csv ? groups_csv : "");
    for (char *g = strtok(buf, ","); g && n < 7; g = strtok(NULL, ","))
        groups[n++] = g;
    json_object *claims = claims_json ? acred_json_parse(claims_json, strlen(claims_json)) : NULL;
    const struct acred_role *r = acred_role_select(&cfg, user, groups, claims);
    if (claims)
        json_object_put(claims);
    return r ? r->name : NULL;
}

static int teardown(void **state)
{
    acred_config_free(&cfg);
    return 0;
}

static const char *roles =
    "[role admin]\nexternal_id = acs:ram::1:role/admin\nusers = alice\ngroups = wheel\n"
    "[role dev]\nexternal_id = acs:ram::1:role/dev\nusers = alice bob\n"
    "[role claimed]\nexternal_id = acs:ram::1:role/c\nclaim = groups=cloud-dev\n"
    "[role fallback]\nexternal_id = acs:ram::1:role/fallback\n";

static void test_user_list_matches_any_item(void **state)
{
    load(roles, "");
    assert_string_equal(pick("bob", NULL, NULL), "dev");
}

static void test_every_matcher_present_must_match(void **state)
{
    load(roles, "");
    /* alice without wheel skips admin (users match, groups do not) and gets dev */
    assert_string_equal(pick("alice", "staff", NULL), "dev");
}

static void test_first_match_in_file_order_wins(void **state)
{
    load(roles, "");
    assert_string_equal(pick("alice", "staff,wheel", NULL), "admin");
}

static void test_claim_string(void **state)
{
    load(roles, "");
    assert_string_equal(pick("carol", NULL, "{\"groups\":\"cloud-dev\"}"), "claimed");
}

static void test_claim_array(void **state)
{
    load(roles, "");
    assert_string_equal(pick("carol", NULL, "{\"groups\":[\"x\",\"cloud-dev\"]}"), "claimed");
}

static void test_claim_other_value_or_type_does_not_match(void **state)
{
    load(roles, "");
    assert_null(pick("carol", NULL, "{\"groups\":\"cloud-dev-2\"}"));
    assert_null(pick("carol", NULL, "{\"groups\":{\"cloud-dev\":true}}"));
    assert_null(pick("carol", NULL, "{\"groups\":[1,2]}"));
    assert_null(pick("carol", NULL, NULL));
}

static void test_section_without_matcher_is_only_a_default(void **state)
{
    load(roles, "");
    assert_null(pick("mallory", NULL, NULL));
    load(roles, "fallback");
    assert_string_equal(pick("mallory", NULL, NULL), "fallback");
}

static void test_default_does_not_override_a_match(void **state)
{
    load(roles, "fallback");
    assert_string_equal(pick("bob", NULL, NULL), "dev");
}

static void test_no_roles_no_match(void **state)
{
    load("", "");
    assert_null(pick("alice", "wheel", "{\"groups\":\"cloud-dev\"}"));
}

static void test_names_are_compared_byte_for_byte(void **state)
{
    load(roles, "");
    assert_null(pick("Bob", NULL, NULL));
    assert_null(pick("bob ", NULL, NULL));
}

static void test_local_groups_of_root(void **state)
{
    char **g = acred_user_groups("root");
    assert_non_null(g);
    int found = 0;
    for (size_t i = 0; g[i]; i++)
        found |= strcmp(g[i], "root") == 0;
    assert_true(found);
    acred_groups_free(g);
    assert_null(acred_user_groups("no-such-user-acred"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_user_list_matches_any_item, teardown),
        cmocka_unit_test_teardown(test_every_matcher_present_must_match, teardown),
        cmocka_unit_test_teardown(test_first_match_in_file_order_wins, teardown),
        cmocka_unit_test_teardown(test_claim_string, teardown),
        cmocka_unit_test_teardown(test_claim_array, teardown),
        cmocka_unit_test_teardown(test_claim_other_value_or_type_does_not_match, teardown),
        cmocka_unit_test_teardown(test_section_without_matcher_is_only_a_default, teardown),
        cmocka_unit_test_teardown(test_default_does_not_override_a_match, teardown),
        cmocka_unit_test_teardown(test_no_roles_no_match, teardown),
        cmocka_unit_test_teardown(test_names_are_compared_byte_for_byte, teardown),
        cmocka_unit_test(test_local_groups_of_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
