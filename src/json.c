/*
 * json.c — see json.h. The only file that includes jsmn (as static functions,
 * so no unprefixed symbol leaves the library).
 */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"
#include "port.h"

#include <string.h>

struct iiifs_jtok {
    jsmntok_t t;
};

int iiifs_json_parse(iiifs_json *j, const char *js, size_t len, const char *what,
                     iiifs_error *e)
{
    return iiifs_json_parse_max(j, js, len, what, IIIFS_JSON_TOKENS_MAX, e);
}

int iiifs_json_parse_max(iiifs_json *j, const char *js, size_t len, const char *what,
                         int max_tokens, iiifs_error *e)
{
    memset(j, 0, sizeof *j);
    if (len >= 3 && (unsigned char)js[0] == 0xEF && (unsigned char)js[1] == 0xBB &&
        (unsigned char)js[2] == 0xBF) {
        js += 3;
        len -= 3;
    }
    while (len && (*js == ' ' || *js == '\t' || *js == '\r' || *js == '\n')) {
        js++;
        len--;
    }
    if (!len)
        return iiifs_fail(e, IIIFS_E_JSON, "%s: empty body, expected JSON", what);
    if (*js != '{') {
        char head[24];
        size_t n = 0;
        for (; n < len && n < sizeof head - 1; n++)
            head[n] = (js[n] >= 0x20 && js[n] < 0x7f) ? js[n] : '.';
        head[n] = 0;
        return iiifs_fail(e, IIIFS_E_JSON, "%s: not a JSON object (body starts with \"%s\")",
                          what, head);
    }
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, NULL, 0);
    if (n < 0)
        return iiifs_fail(e, IIIFS_E_JSON, "%s: invalid JSON (%s near byte %u)", what,
                          n == JSMN_ERROR_PART ? "truncated" : "syntax error", p.pos);
    if (n > max_tokens)
        return iiifs_fail(e, IIIFS_E_LIMIT, "%s: %d JSON tokens exceed the cap of %d", what, n,
                          max_tokens);
    j->tok = port_malloc((size_t)n * sizeof *j->tok);
    if (!j->tok)
        return iiifs_fail(e, IIIFS_E_NOMEM, "%s: no memory for %d JSON tokens", what, n);
    jsmn_init(&p);
    int m = jsmn_parse(&p, js, len, &j->tok->t, (unsigned)n);
    if (m != n) {
        iiifs_json_free(j);
        return iiifs_fail(e, IIIFS_E_JSON, "%s: invalid JSON", what);
    }
    /* jsmn stops at the end of the first value: anything but space after it is junk. */
    for (size_t i = (size_t)j->tok[0].t.end; i < len; i++)
        if (js[i] != ' ' && js[i] != '\t' && js[i] != '\r' && js[i] != '\n') {
            iiifs_json_free(j);
            return iiifs_fail(e, IIIFS_E_JSON, "%s: junk after the JSON value at byte %zu",
                              what, i);
        }
    j->js = js;
    j->len = len;
    j->ntok = n;
    return 0;
}

void iiifs_json_free(iiifs_json *j)
{
    port_free(j->tok);
    j->tok = NULL;
    j->ntok = 0;
}

static const jsmntok_t *tk(const iiifs_json *j, int i)
{
    return (i >= 0 && i < j->ntok) ? &j->tok[i].t : NULL;
}

int iiifs_json_type(const iiifs_json *j, int i)
{
    const jsmntok_t *t = tk(j, i);
    if (!t)
        return IIIFS_J_UNDEF;
    switch (t->type) {
    case JSMN_OBJECT: return IIIFS_J_OBJECT;
    case JSMN_ARRAY: return IIIFS_J_ARRAY;
    case JSMN_STRING: return IIIFS_J_STRING;
    case JSMN_PRIMITIVE: return IIIFS_J_PRIMITIVE;
    default: return IIIFS_J_UNDEF;
    }
}

int iiifs_json_size(const iiifs_json *j, int i)
{
    const jsmntok_t *t = tk(j, i);
    return t ? t->size : 0;
}

int iiifs_json_skip(const iiifs_json *j, int i)
{
    /* Tokens are in document order: the subtree ends at the first token
     * that starts after this one ends. */
    const jsmntok_t *t = tk(j, i);
    if (!t)
        return j->ntok;
    int k = i + 1;
    while (k < j->ntok && j->tok[k].t.start < t->end)
        k++;
    return k;
}

iiifs_str iiifs_json_raw(const iiifs_json *j, int i)
{
    iiifs_str s = { "", 0 };
    const jsmntok_t *t = tk(j, i);
    if (t) {
        s.p = j->js + t->start;
        s.n = (size_t)(t->end - t->start);
    }
    return s;
}

int iiifs_json_eq(const iiifs_json *j, int i, const char *lit)
{
    iiifs_str s = iiifs_json_raw(j, i);
    size_t n = strlen(lit);
    return iiifs_json_type(j, i) == IIIFS_J_STRING && s.n == n && memcmp(s.p, lit, n) == 0;
}

int iiifs_json_get(const iiifs_json *j, int obj, const char *key)
{
    if (iiifs_json_type(j, obj) != IIIFS_J_OBJECT)
        return -1;
    int n = iiifs_json_size(j, obj), k = obj + 1;
    for (int i = 0; i < n && k < j->ntok; i++) {
        if (iiifs_json_eq(j, k, key))
            return k + 1;
        k = iiifs_json_skip(j, k + 1);
    }
    return -1;
}

int iiifs_json_item(const iiifs_json *j, int arr, int idx)
{
    if (iiifs_json_type(j, arr) != IIIFS_J_ARRAY || idx < 0 || idx >= iiifs_json_size(j, arr))
        return -1;
    int k = arr + 1;
    for (int i = 0; i < idx; i++)
        k = iiifs_json_skip(j, k);
    return k;
}

int iiifs_json_u64(const iiifs_json *j, int i, uint64_t *out)
{
    int type = iiifs_json_type(j, i);
    if (type != IIIFS_J_PRIMITIVE && type != IIIFS_J_STRING)
        return -1;
    iiifs_str s = iiifs_json_raw(j, i);
    size_t k = 0;
    uint64_t v = 0;
    if (type == IIIFS_J_STRING)
        while (k < s.n && s.p[k] == ' ')
            k++;
    if (k == s.n || s.p[k] < '0' || s.p[k] > '9')
        return -1;
    for (; k < s.n && s.p[k] >= '0' && s.p[k] <= '9'; k++) {
        unsigned d = (unsigned)(s.p[k] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    /* 1500.0 and 1.5e3 style numbers: accept only an integral value. */
    if (k < s.n && s.p[k] == '.') {
        for (k++; k < s.n && s.p[k] == '0'; k++)
            ;
        if (k < s.n && s.p[k] >= '1' && s.p[k] <= '9')
            return -1;
    }
    if (k < s.n && (s.p[k] == 'e' || s.p[k] == 'E'))
        return -1;
    while (type == IIIFS_J_STRING && k < s.n && s.p[k] == ' ')
        k++;
    if (k != s.n)
        return -1;
    *out = v;
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 32) >= 'a' && (c | 32) <= 'f')
            d = (c | 32) - 'a' + 10;
        else
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t utf8(unsigned cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 63));
        o[2] = (char)(0x80 | (cp & 63)); return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63)); return 4;
}

int iiifs_json_str(const iiifs_json *j, int i, char *out, size_t cap)
{
    if (iiifs_json_type(j, i) != IIIFS_J_STRING || cap == 0)
        return -1;
    iiifs_str s = iiifs_json_raw(j, i);
    size_t o = 0;
    for (size_t k = 0; k < s.n; k++) {
        char buf[4];
        size_t n = 1;
        buf[0] = s.p[k];
        if (s.p[k] == '\\' && k + 1 < s.n) {
            char c = s.p[++k];
            switch (c) {
            case 'n': buf[0] = '\n'; break;
            case 't': buf[0] = '\t'; break;
            case 'r': buf[0] = '\r'; break;
            case 'b': buf[0] = '\b'; break;
            case 'f': buf[0] = '\f'; break;
            case 'u': {
                unsigned cp, lo;
                if (k + 4 >= s.n || hex4(s.p + k + 1, &cp))
                    return -1;
                k += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && k + 6 < s.n && s.p[k + 1] == '\\' &&
                    s.p[k + 2] == 'u' && !hex4(s.p + k + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    k += 6;
                }
                n = utf8(cp, buf);
                break;
            }
            default: buf[0] = c; /* \" \\ \/ */
            }
        }
        if (o + n >= cap)
            return IIIFS_E_LIMIT;
        memcpy(out + o, buf, n);
        o += n;
    }
    out[o] = 0;
    return 0;
}
