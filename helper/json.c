/*
 * json.c: strict JSON for everything that comes from the network or a token.
 *
 * json-c builds the tree, but its "strict" mode is not strict enough to stand guard: it takes
 * single-quoted names, NaN, Infinity, "1.", raw control characters in strings, overlong and
 * surrogate UTF-8 and "\u0000", and it keeps the last of two equal names without a word. So a
 * document first goes through check_text() below, a small recursive-descent recogniser of
 * RFC 8259 JSON (nesting capped at ACRED_JSON_MAX_DEPTH, so the recursion is bounded) that also
 * counts the names of all objects. Only then does json-c parse it, and the document is taken
 * only if the tree json-c built has exactly as many names as the text: json-c merges two equal
 * names (compared after decoding escapes, so "a" and "\u0061" are the same name) into one entry
 * and drops the first value with everything in it, so any duplicate anywhere makes the tree
 * count smaller. This catches duplicates exactly, escaped or not, with no per-object tables.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

#define ACRED_JSON_MAX_DEPTH 32 /* arrays and objects nested at most this deep */

struct scan {
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* one past the last byte */
    int depth;                /* arrays and objects open around p */
    size_t names;             /* object member names seen */
};

static int scan_value(struct scan *s);

static void scan_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "\uXXXX" at p (p points at the backslash): the code unit, or -1 */
static long scan_u_escape(const struct scan *s, const unsigned char *p)
{
    long v = 0;
    if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    for (int i = 2; i < 6; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* one UTF-8 sequence of RFC 3629 at s->p (lead byte >= 0x80): no overlong form, no surrogate,
 * nothing above U+10FFFF */
static int scan_utf8(struct scan *s)
{
    const unsigned char *p = s->p;
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    int more;

    if (c >= 0xC2 && c <= 0xDF)
        more = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        more = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        more = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return -1;
    if (s->end - p <= more)
        return -1;
    if (p[1] < lo || p[1] > hi)
        return -1;
    for (int i = 2; i <= more; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return -1;
    s->p += 1 + more;
    return 0;
}

static int scan_string(struct scan *s)
{
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return -1; /* control characters, NUL included, must be escaped */
        if (c >= 0x80) {
            if (scan_utf8(s) < 0)
                return -1;
            continue;
        }
        if (c != '\\') {
            s->p++;
            continue;
        }
        if (s->end - s->p < 2)
            return -1;
        c = s->p[1];
        if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
            c == 't') {
            s->p += 2;
            continue;
        }
        if (c != 'u')
            return -1;
        long u = scan_u_escape(s, s->p);
        if (u <= 0)
            return -1; /* bad hex, or \u0000: a NUL would cut the C string json-c hands out */
        if (u >= 0xDC00 && u <= 0xDFFF)
            return -1; /* a low surrogate alone */
        if (u >= 0xD800 && u <= 0xDBFF) {
            long lo = scan_u_escape(s, s->p + 6);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1; /* a high surrogate not followed by a low one */
            s->p += 6;
        }
        s->p += 6;
    }
    return -1; /* unterminated */
}

static int scan_digits(struct scan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : -1;
}

static int scan_number(struct scan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return -1;
    if (*s->p == '0')
        s->p++; /* no leading zero before other digits */
    else if (scan_digits(s) < 0)
        return -1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (scan_digits(s) < 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (scan_digits(s) < 0)
            return -1;
    }
    return 0;
}

static int scan_literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

/* '{' or '[' at s->p */
static int scan_container(struct scan *s)
{
    unsigned char close = *s->p == '{' ? '}' : ']';

    if (++s->depth > ACRED_JSON_MAX_DEPTH)
        return -1;
    s->p++;
    scan_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"' || scan_string(s) < 0)
                return -1;
            s->names++;
            scan_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return -1;
            s->p++;
            scan_ws(s);
        }
        if (scan_value(s) < 0)
            return -1;
        scan_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == close) {
            s->p++;
            s->depth--;
            return 0;
        }
        if (*s->p != ',')
            return -1;
        s->p++;
        scan_ws(s);
    }
}

/* one value at s->p (white space already skipped) */
static int scan_value(struct scan *s)
{
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '{':
    case '[':
        return scan_container(s);
    case '"':
        return scan_string(s);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_number(s);
        return -1;
    }
}

/* buf is exactly one RFC 8259 value with white space around it; *names: names in all objects */
static int check_text(const char *buf, size_t len, size_t *names)
{
    struct scan s = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0, 0};

    scan_ws(&s);
    if (scan_value(&s) < 0)
        return -1;
    scan_ws(&s);
    if (s.p != s.end)
        return -1;
    *names = s.names;
    return 0;
}

/* the names of all objects in the tree; depth is bounded by the parse */
static size_t tree_names(json_object *o)
{
    size_t n = 0;

    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, key, val)
        {
            (void)key;
            n += 1 + tree_names(val);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        size_t len = json_object_array_length(o);
        for (size_t i = 0; i < len; i++)
            n += tree_names(json_object_array_get_idx(o, i));
    }
    return n;
}

json_object *acred_json_parse(const char *buf, size_t len)
{
    struct json_tokener *tok;
    json_object *obj;
    size_t names;

    if (buf == NULL || len == 0 || len > INT_MAX)
        return NULL;
    if (memchr(buf, '\0', len) != NULL)
        return NULL;
    if (check_text(buf, len, &names) < 0)
        return NULL;

    /* json-c counts the scalar inside the deepest container as one more level */
    tok = json_tokener_new_ex(ACRED_JSON_MAX_DEPTH + 1);
    if (tok == NULL)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, buf, (int)len);
    if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
        obj = json_tokener_parse_ex(tok, "", 1); /* end of input: a bare number ends here */
    if (obj != NULL && json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    if (obj != NULL && tree_names(obj) != names) {
        json_object_put(obj); /* a name twice in one object */
        obj = NULL;
    }
    return obj;
}

const char *acred_json_string(json_object *obj, const char *key)
{
    json_object *v;

    if (obj == NULL || key == NULL || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int acred_json_int64(json_object *obj, const char *key, long long *out)
{
    json_object *v;
    int64_t i;

    if (obj == NULL || key == NULL || out == NULL || !json_object_is_type(obj, json_type_object))
        return -1;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    i = json_object_get_int64(v);
    if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
        return -1; /* an unsigned value above INT64_MAX */
    *out = (long long)i;
    return 0;
}
