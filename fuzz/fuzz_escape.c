/*
 * fuzz_escape: user names and network text through the audit line (common/escape.c). The input
 * is fields separated by NUL bytes; each becomes a value of the line. The kv line must be one
 * line of printable ASCII that reads back, field by field, as exactly the values that fitted
 * (nothing forged, nothing lost); the JSON line must be one JSON object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "escape.h"

#define MAX_FIELDS 16

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* read one "kN=value" at *p into out; 0, or -1 when the line is not what escape.c promises */
static int read_field(const char **p, char *key, char *out, size_t outlen)
{
    const char *s = *p;
    size_t k = strcspn(s, "=");
    if (s[k] != '=' || k == 0 || k >= 8)
        return -1;
    memcpy(key, s, k);
    key[k] = '\0';
    s += k + 1;
    int quoted = *s == '"';
    size_t o = 0;
    if (quoted)
        s++;
    while (*s && (quoted ? *s != '"' : *s != ' ')) {
        char c = *s++;
        if (c == '\\') {
            if (*s == '"' || *s == '\\')
                c = *s++;
            else if (*s == 'x' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
                c = (char)(hexval(s[1]) << 4 | hexval(s[2]));
                s += 3;
            } else
                return -1;
        } else if (c == '"' && !quoted)
            return -1;
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    if (quoted && *s++ != '"')
        return -1;
    if (*s == ' ')
        s++;
    else if (*s != '\0')
        return -1;
    *p = s;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1), *values[MAX_FIELDS];
    size_t n = 0;
    struct acred_line kv, js;
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    for (char *p = in; n < MAX_FIELDS && p <= in + size; p += strlen(p) + 1)
        values[n++] = p;
    acred_line_init(&kv, 0);
    acred_line_init(&js, 1);
    for (size_t i = 0; i < n; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%zu", i);
        acred_line_add(&kv, key, values[i]);
        acred_line_add(&js, key, values[i]);
    }
    const char *line = acred_line_end(&kv);
    for (const unsigned char *c = (const unsigned char *)line; *c; c++)
        if (*c < 0x20 || *c >= 0x7f)
            abort();
    /* read it back: every field is one of ours, in order, with its exact value */
    const char *p = line;
    long last = -1;
    size_t fields = 0;
    static char value[8192];
    while (*p) {
        char key[8], *end;
        if (read_field(&p, key, value, sizeof(value)) != 0 || key[0] != 'k')
            abort();
        long i = strtol(key + 1, &end, 10);
        /* one of ours, after the one before (empty values and fields that did not fit are
         * left out), with its exact value */
        if (*end != '\0' || i <= last || i >= (long)n || strcmp(values[i], value) != 0)
            abort();
        last = i;
        fields++;
    }
    size_t nonempty = 0;
    for (size_t i = 0; i < n; i++)
        nonempty += values[i][0] != '\0';
    if (!kv.truncated && fields != nonempty)
        abort(); /* a field went missing without a word */
    const char *j = acred_line_end(&js);
    json_object *obj = json_tokener_parse(j);
    if (obj == NULL || !json_object_is_type(obj, json_type_object) || strchr(j, '\n'))
        abort();
    json_object_put(obj);
    free(in);
    return 0;
}
