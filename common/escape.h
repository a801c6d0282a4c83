/*
 * escape.h: the audit line (CONTRACT.md "Audit lines"). libc only: the module links it.
 *
 * key=value pairs separated by one space. A value holding a space, a double quote or a backslash
 * is written in double quotes with \" and \\; every control or non-ASCII byte is written \xHH,
 * quoted or not. So nothing a user name or the network holds can forge a field or a line.
 * The JSON form writes the same fields as one object, every value a string.
 */
#ifndef ACRED_ESCAPE_H
#define ACRED_ESCAPE_H

#include <stddef.h>

struct acred_line {
    char buf[4096];
    size_t len;
    int json;       /* 0: key=value, 1: JSON object */
    int truncated;  /* a field did not fit and was left out */
};

void acred_line_init(struct acred_line *l, int json);
/* add key=value; NULL or empty values are left out */
void acred_line_add(struct acred_line *l, const char *key, const char *value);
/* the finished line (closes the JSON object) */
const char *acred_line_end(struct acred_line *l);

#endif
