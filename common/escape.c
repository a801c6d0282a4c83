#include "escape.h"

#include <string.h>

void acred_line_init(struct acred_line *l, int json)
{
    l->len = 0;
    l->json = json;
    l->truncated = 0;
    l->buf[0] = '\0';
}

static int needs_quotes(const char *v)
{
    return strpbrk(v, " \"\\") != NULL;
}

/* append the escaped value to out[0..cap); returns the length it needs (as snprintf) */
static size_t escape_value(char *out, size_t cap, const char *v, int json)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
#define PUT(c) do { if (n + 1 < cap) out[n] = (c); n++; } while (0)
    int quote = json || needs_quotes(v);
    if (quote)
        PUT('"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            PUT('\\');
            PUT((char)*p);
        } else if (*p < 0x20 || *p >= 0x7f) {
            PUT('\\');
            if (json) {
                /* JSON has no \x: write the byte as \u00HH so the line stays one line */
                PUT('u'); PUT('0'); PUT('0');
            } else {
                PUT('x');
            }
            PUT(hex[*p >> 4]);
            PUT(hex[*p & 15]);
        } else {
            PUT((char)*p);
        }
    }
    if (quote)
        PUT('"');
#undef PUT
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

void acred_line_add(struct acred_line *l, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return;
    char field[2048];
    size_t klen = strlen(key);
    if (klen + 8 >= sizeof(field)) {
        l->truncated = 1;
        return;
    }
    size_t n;
    if (l->json) {
        n = (size_t)(l->len == 0 ? 0 : 1);
        field[0] = ',';
        field[n++] = '"';
        memcpy(field + n, key, klen);
        n += klen;
        field[n++] = '"';
        field[n++] = ':';
    } else {
        n = 0;
        if (l->len > 0)
            field[n++] = ' ';
        memcpy(field + n, key, klen);
        n += klen;
        field[n++] = '=';
    }
    size_t need = escape_value(field + n, sizeof(field) - n, value, l->json);
    if (n + need >= sizeof(field) || l->len + n + need + 2 >= sizeof(l->buf)) {
        l->truncated = 1;
        return;
    }
    if (l->json && l->len == 0) {
        l->buf[0] = '{';
        l->len = 1;
    }
    memcpy(l->buf + l->len, field, n + need);
    l->len += n + need;
    l->buf[l->len] = '\0';
}

const char *acred_line_end(struct acred_line *l)
{
    if (l->json) {
        if (l->len == 0)
            l->buf[l->len++] = '{';
        l->buf[l->len++] = '}';
        l->buf[l->len] = '\0';
    }
    return l->buf;
}
