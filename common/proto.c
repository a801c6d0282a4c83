#include "acred_build.h"
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long long acred_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void acred_wipe(void *p, size_t n)
{
    if (p == NULL || n == 0)
        return;
#ifdef HAVE_EXPLICIT_BZERO
    explicit_bzero(p, n);
#else
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
#endif
}

void acred_reader_init(struct acred_reader *r, int fd)
{
    r->fd = fd;
    r->len = 0;
    r->used = 0;
}

void acred_reader_wipe(struct acred_reader *r)
{
    acred_wipe(r->buf, sizeof(r->buf));
    r->len = r->used = 0;
}

/* wait until fd is ready for events or the deadline passes: 1 ready, 0 timeout, -1 error */
static int wait_fd(int fd, short events, long long deadline_ms)
{
    for (;;) {
        int timeout = -1;
        if (deadline_ms >= 0) {
            long long left = deadline_ms - acred_now_ms();
            if (left <= 0)
                return 0;
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* unescape s in place; -1 on a bad escape or a NUL byte */
static int unescape(char *s)
{
    char *out = s;
    for (char *in = s; *in; in++) {
        if (*in != '%') {
            *out++ = *in;
            continue;
        }
        int hi = hexval(in[1]), lo = hi < 0 ? -1 : hexval(in[2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        *out++ = (char)(hi << 4 | lo);
        in += 2;
    }
    *out = '\0';
    return 0;
}

/* split a complete line (NUL-terminated, LF removed) into keyword and value */
static enum acred_read_status split_record(char *line, const char **keyword, const char **value)
{
    char *sp = strchr(line, ' ');
    if (sp == NULL || sp == line)
        return ACRED_READ_ERROR;
    *sp = '\0';
    for (const char *k = line; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || *k == '-'))
            return ACRED_READ_ERROR;
    if (unescape(sp + 1) < 0)
        return ACRED_READ_ERROR;
    *keyword = line;
    *value = sp + 1;
    return ACRED_READ_RECORD;
}

enum acred_read_status acred_read_record(struct acred_reader *r, long long deadline_ms,
                                         const char **keyword, const char **value)
{
    /* drop the record handed out last time */
    if (r->used > 0) {
        acred_wipe(r->buf, r->used);
        memmove(r->buf, r->buf + r->used, r->len - r->used);
        r->len -= r->used;
        r->used = 0;
    }
    for (;;) {
        char *lf = memchr(r->buf, '\n', r->len);
        if (lf != NULL) {
            *lf = '\0';
            r->used = (size_t)(lf - r->buf) + 1;
            if (memchr(r->buf, '\0', r->used - 1) != NULL)
                return ACRED_READ_ERROR;
            return split_record(r->buf, keyword, value);
        }
        if (r->len >= ACRED_PROTO_MAX_RECORD)
            return ACRED_READ_ERROR;
        int w = wait_fd(r->fd, POLLIN, deadline_ms);
        if (w == 0)
            return ACRED_READ_TIMEOUT;
        if (w < 0)
            return ACRED_READ_ERROR;
        ssize_t n = read(r->fd, r->buf + r->len, ACRED_PROTO_MAX_RECORD - r->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return ACRED_READ_ERROR;
        if (n == 0)
            return r->len == 0 ? ACRED_READ_EOF : ACRED_READ_ERROR;
        r->len += (size_t)n;
    }
}

static size_t escaped_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p < 0x20 || *p == 0x7f || *p == '%') ? 3 : 1;
    return n;
}

static int write_all(int fd, const char *buf, size_t len, long long deadline_ms)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline_ms) <= 0)
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int acred_write_record(int fd, long long deadline_ms, const char *keyword, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t klen = strlen(keyword), vlen = escaped_len(value);
    size_t total = klen + 1 + vlen + 1;
    if (total > ACRED_PROTO_MAX_RECORD)
        return -1;
    char *buf = malloc(total);
    if (buf == NULL)
        return -1;
    char *o = buf;
    memcpy(o, keyword, klen);
    o += klen;
    *o++ = ' ';
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '%') {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '\n';
    int rc = write_all(fd, buf, total, deadline_ms);
    acred_wipe(buf, total);
    free(buf);
    return rc;
}
