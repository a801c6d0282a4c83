/*
 * fuzz_proto: bytes from the other side of the module<->helper socket through acred_read_record
 * (common/proto.c), as the module reads the helper and the helper reads the module. Every
 * record it hands out must be a keyword of [a-z-] and a value without NUL, and must survive a
 * round trip through acred_write_record.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

static struct acred_reader rd, back;

static void round_trip(const char *kw, const char *value)
{
    int p[2];
    const char *kw2, *v2;
    if (pipe2(p, O_CLOEXEC) != 0)
        abort();
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    if (acred_write_record(p[1], -1, kw, value) == 0) {
        close(p[1]);
        acred_reader_init(&back, p[0]);
        if (acred_read_record(&back, -1, &kw2, &v2) != ACRED_READ_RECORD ||
            strcmp(kw, kw2) != 0 || strcmp(value, v2) != 0)
            abort();
    } else {
        close(p[1]);
    }
    close(p[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int p[2];
    const char *kw, *value;
    if (size > 512 * 1024 || pipe2(p, O_CLOEXEC) != 0)
        return 0;
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    if (write(p[1], data, size) != (ssize_t)size)
        abort();
    close(p[1]);
    acred_reader_init(&rd, p[0]);
    for (int n = 0; n < 10000; n++) {
        enum acred_read_status s = acred_read_record(&rd, acred_now_ms() + 5000, &kw, &value);
        if (s != ACRED_READ_RECORD)
            break;
        if (kw[0] == '\0' || strspn(kw, "abcdefghijklmnopqrstuvwxyz-") != strlen(kw))
            abort();
        round_trip(kw, value);
    }
    acred_reader_wipe(&rd);
    close(p[0]);
    return 0;
}
