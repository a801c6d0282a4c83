/*
 * json.h: strict JSON for everything that comes from the network or a token (json-c).
 */
#ifndef ACRED_JSON_H
#define ACRED_JSON_H

#include <stddef.h>
#include <json-c/json.h>

/*
 * Parse exactly one JSON value from buf[0..len): strict mode, valid UTF-8, no NUL byte, nothing
 * but white space after it, nesting at most 32 deep, and no object with the same key twice
 * (json-c would silently keep the last one, and a token with two "sub" is an attack).
 * Returns a new reference or NULL.
 */
json_object *acred_json_parse(const char *buf, size_t len);

/* obj[key] when it is a string, else NULL */
const char *acred_json_string(json_object *obj, const char *key);

/* obj[key] when it is an integer (json int, no fraction) into *out: 0; else -1 */
int acred_json_int64(json_object *obj, const char *key, long long *out);

#endif
