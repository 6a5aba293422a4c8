/*
 * json.h — read-only access to a JSON document tokenized by jsmn.
 *
 * Tokens are owned by the iiifs_json (counted first, then allocated once,
 * capped at IIIFS_JSON_TOKENS_MAX). Values are addressed by token index;
 * strings come back unescaped into caller buffers.
 */
#ifndef IIIFS_JSON_H
#define IIIFS_JSON_H

#include "util.h"

enum { IIIFS_J_UNDEF, IIIFS_J_OBJECT, IIIFS_J_ARRAY, IIIFS_J_STRING, IIIFS_J_PRIMITIVE };

typedef struct iiifs_jtok iiifs_jtok; /* jsmntok_t, kept out of the headers */

typedef struct iiifs_json {
    const char *js;
    size_t len;
    iiifs_jtok *tok;
    int ntok;
} iiifs_json;

/* Parse js (a leading UTF-8 BOM and whitespace are skipped). 'what' names the
 * document in messages. The root must be an object. */
int iiifs_json_parse(iiifs_json *j, const char *js, size_t len, const char *what,
                     iiifs_error *e);
/* The same with another token cap than IIIFS_JSON_TOKENS_MAX. */
int iiifs_json_parse_max(iiifs_json *j, const char *js, size_t len, const char *what,
                         int max_tokens, iiifs_error *e);
void iiifs_json_free(iiifs_json *j);

int iiifs_json_type(const iiifs_json *j, int i);
int iiifs_json_size(const iiifs_json *j, int i);        /* object keys / array items */
int iiifs_json_skip(const iiifs_json *j, int i);        /* index after i's subtree */
iiifs_str iiifs_json_raw(const iiifs_json *j, int i);   /* span, still escaped */
/* Value of key in object obj, or -1. */
int iiifs_json_get(const iiifs_json *j, int obj, const char *key);
/* Index of the k-th item of array arr (linear walk), or -1. */
int iiifs_json_item(const iiifs_json *j, int arr, int k);
/* Raw span equals lit (for plain strings without escapes). */
int iiifs_json_eq(const iiifs_json *j, int i, const char *lit);
/* Unsigned integer from a number (1500, 1500.0) or a numeric string ("1500");
 * saturates at UINT64_MAX. 0 ok, -1 not a number. */
int iiifs_json_u64(const iiifs_json *j, int i, uint64_t *out);
/* Unescaped string into out (NUL-terminated, UTF-8). 0 ok, IIIFS_E_LIMIT, -1 not a string. */
int iiifs_json_str(const iiifs_json *j, int i, char *out, size_t cap);

#endif
