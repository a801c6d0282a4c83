/*
 * proto.h: reading and writing the records of acred_protocol.h. libc only: the module links it.
 */
#ifndef ACRED_PROTO_H
#define ACRED_PROTO_H

#include <stddef.h>
#include "acred_protocol.h"

struct acred_reader {
    int fd;
    size_t len;                            /* bytes in buf */
    size_t used;                           /* bytes of buf already handed out */
    char buf[ACRED_PROTO_MAX_RECORD + 1];  /* +1: the record is NUL-terminated in place */
};

enum acred_read_status {
    ACRED_READ_RECORD = 1, /* *keyword and *value point into the reader, valid until next read */
    ACRED_READ_EOF = 0,    /* the other side closed cleanly between records */
    ACRED_READ_ERROR = -1, /* I/O error, over-long record, bad escape or EOF inside a record */
    ACRED_READ_TIMEOUT = -2
};

void acred_reader_init(struct acred_reader *r, int fd);

/*
 * Read one record. deadline_ms is an absolute CLOCK_MONOTONIC time in milliseconds, or -1 to
 * wait without bound. The value is unescaped and NUL-terminated; a value holding a NUL byte is
 * an error.
 */
enum acred_read_status acred_read_record(struct acred_reader *r, long long deadline_ms,
                                         const char **keyword, const char **value);

/* zero what the reader holds (records may carry secrets) */
void acred_reader_wipe(struct acred_reader *r);

/*
 * Write one record (keyword, escaped value, LF) in full. Uses send(MSG_NOSIGNAL) on sockets so
 * that a dead peer cannot raise SIGPIPE. deadline_ms as above. Returns 0 or -1.
 */
int acred_write_record(int fd, long long deadline_ms, const char *keyword, const char *value);

/* CLOCK_MONOTONIC now, in milliseconds */
long long acred_now_ms(void);

/* explicit_bzero, also where libc lacks it */
void acred_wipe(void *p, size_t n);

#endif
