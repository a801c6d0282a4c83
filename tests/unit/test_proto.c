/* The module<->helper records and the audit line's escaping: what crosses a trust boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "escape.h"
#include "proto.h"

static int sv[2];
static struct acred_reader *rd;

static int setup(void **state)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    rd = malloc(sizeof(*rd));
    acred_reader_init(rd, sv[0]);
    return 0;
}

static int teardown(void **state)
{
    close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    free(rd);
    return 0;
}

static void raw(const char *s)
{
    assert_int_equal(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
}

static enum acred_read_status next(const char **kw, const char **v)
{
    return acred_read_record(rd, acred_now_ms() + 1000, kw, v);
}

static void test_round_trip_escapes_controls_and_percent(void **state)
{
    const char *kw, *v;
    const char *text = "line one\nline two\r\t100% \x1b[31mred\x7f end";
    assert_int_equal(acred_write_record(sv[1], -1, "prompt-off", text), 0);
    assert_int_equal(next(&kw, &v), ACRED_READ_RECORD);
    assert_string_equal(kw, "prompt-off");
    assert_string_equal(v, text);
}

static void test_records_in_one_read_come_one_by_one(void **state)
{
    const char *kw, *v;
    raw("bound 30\naudit method token\nresult success\n");
    assert_int_equal(next(&kw, &v), ACRED_READ_RECORD);
    assert_string_equal(v, "30");
    assert_int_equal(next(&kw, &v), ACRED_READ_RECORD);
    assert_string_equal(kw, "audit");
    assert_string_equal(v, "method token");
    assert_int_equal(next(&kw, &v), ACRED_READ_RECORD);
    assert_string_equal(kw, "result");
}

static void test_empty_value(void **state)
{
    const char *kw, *v;
    raw("go \n");
    assert_int_equal(next(&kw, &v), ACRED_READ_RECORD);
    assert_string_equal(kw, "go");
    assert_string_equal(v, "");
}

static void test_escaped_nul_is_refused(void **state)
{
    const char *kw, *v;
    raw("env A=%00B\n");
    assert_int_equal(next(&kw, &v), ACRED_READ_ERROR);
}

static void test_raw_nul_is_refused(void **state)
{
    const char *kw, *v;
    assert_int_equal(write(sv[1], "env A\0B\n", 8), 8);
    assert_int_equal(next(&kw, &v), ACRED_READ_ERROR);
}

static void test_bad_escape_is_refused(void **state)
{
    const char *kw, *v;
    raw("info 100%zz\n");
    assert_int_equal(next(&kw, &v), ACRED_READ_ERROR);
}

static void test_bad_keyword_is_refused(void **state)
{
    const char *kw, *v;
    raw("Result success\n");
    assert_int_equal(next(&kw, &v), ACRED_READ_ERROR);
}

static void test_record_without_space_is_refused(void **state)
{
    const char *kw, *v;
    raw("result\n");
    assert_int_equal(next(&kw, &v), ACRED_READ_ERROR);
}

static void test_over_long_record_is_refused(void **state)
{
    const char *kw, *v;
    char *big = malloc(ACRED_PROTO_MAX_RECORD + 10);
    memset(big, 'a', ACRED_PROTO_MAX_RECORD + 9);
    big[ACRED_PROTO_MAX_RECORD + 9] = '\0';
    assert_int_equal(acred_write_record(sv[1], -1, "info", big), -1);
    memcpy(big, "info ", 5);
    ssize_t n = write(sv[1], big, ACRED_PROTO_MAX_RECORD + 2);
    assert_true(n > 0);
    assert_int_equal(next(&kw, &v), ACRED_READ_ERROR);
    free(big);
}

static void test_clean_eof_between_records(void **state)
{
    const char *kw, *v;
    raw("result failure\n");
    close(sv[1]);
    sv[1] = -1;
    assert_int_equal(next(&kw, &v), ACRED_READ_RECORD);
    assert_int_equal(next(&kw, &v), ACRED_READ_EOF);
}

static void test_eof_inside_a_record_is_an_error(void **state)
{
    const char *kw, *v;
    raw("result succ");
    close(sv[1]);
    sv[1] = -1;
    assert_int_equal(next(&kw, &v), ACRED_READ_ERROR);
}

static void test_silence_times_out(void **state)
{
    const char *kw, *v;
    long long start = acred_now_ms();
    assert_int_equal(acred_read_record(rd, start + 200, &kw, &v), ACRED_READ_TIMEOUT);
    long long took = acred_now_ms() - start;
    assert_true(took >= 190 && took < 1000);
}

static void test_write_to_a_closed_peer_fails_without_sigpipe(void **state)
{
    close(sv[0]);
    sv[0] = socket(AF_UNIX, SOCK_STREAM, 0); /* keep teardown happy */
    assert_int_equal(acred_write_record(sv[1], acred_now_ms() + 500, "answer", "x"), -1);
}

/* ---- the audit line ---------------------------------------------------------------------- */

static const char *kv(const char *key, const char *value)
{
    static struct acred_line l;
    acred_line_init(&l, 0);
    acred_line_add(&l, key, value);
    return acred_line_end(&l);
}

static void test_plain_value_is_bare(void **state)
{
    assert_string_equal(kv("user", "alice"), "user=alice");
}

static void test_space_quotes_the_value(void **state)
{
    /* a user name cannot forge a second field */
    assert_string_equal(kv("user", "alice result=success"), "user=\"alice result=success\"");
}

static void test_quote_and_backslash_are_escaped(void **state)
{
    assert_string_equal(kv("v", "a\"b\\c"), "v=\"a\\\"b\\\\c\"");
}

static void test_newline_cannot_forge_a_line(void **state)
{
    assert_string_equal(kv("rhost", "x\nevent=auth result=success"),
                        "rhost=\"x\\x0aevent=auth result=success\"");
}

static void test_control_and_non_ascii_bytes_are_hex(void **state)
{
    assert_string_equal(kv("v", "\x1b[0m\xc3\xa9"), "v=\\x1b[0m\\xc3\\xa9");
}

static void test_empty_and_null_values_are_left_out(void **state)
{
    struct acred_line l;
    acred_line_init(&l, 0);
    acred_line_add(&l, "event", "auth");
    acred_line_add(&l, "rhost", "");
    acred_line_add(&l, "tty", NULL);
    acred_line_add(&l, "result", "failure");
    assert_string_equal(acred_line_end(&l), "event=auth result=failure");
}

static void test_json_form(void **state)
{
    struct acred_line l;
    acred_line_init(&l, 1);
    acred_line_add(&l, "event", "auth");
    acred_line_add(&l, "user", "a\"b\n");
    assert_string_equal(acred_line_end(&l), "{\"event\":\"auth\",\"user\":\"a\\\"b\\u000a\"}");
}

static void test_over_long_field_is_dropped_not_cut(void **state)
{
    struct acred_line l;
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    acred_line_init(&l, 0);
    acred_line_add(&l, "event", "auth");
    acred_line_add(&l, "sub", big);
    acred_line_add(&l, "result", "failure");
    assert_string_equal(acred_line_end(&l), "event=auth result=failure");
    assert_true(l.truncated);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_escapes_controls_and_percent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_in_one_read_come_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaped_nul_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_nul_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_escape_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_keyword_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_without_space_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over_long_record_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_eof_between_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_inside_a_record_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_to_a_closed_peer_fails_without_sigpipe, setup, teardown),
        cmocka_unit_test(test_plain_value_is_bare),
        cmocka_unit_test(test_space_quotes_the_value),
        cmocka_unit_test(test_quote_and_backslash_are_escaped),
        cmocka_unit_test(test_newline_cannot_forge_a_line),
        cmocka_unit_test(test_control_and_non_ascii_bytes_are_hex),
        cmocka_unit_test(test_empty_and_null_values_are_left_out),
        cmocka_unit_test(test_json_form),
        cmocka_unit_test(test_over_long_field_is_dropped_not_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
