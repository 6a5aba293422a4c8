/*
 * url.c — see url.h.
 */
#include "url.h"

#include <string.h>

typedef struct parts {
    iiifs_str scheme, authority, path, query;
    int has_authority, has_query;
} parts;

static int is_alpha(int c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

int iiifs_url_has_scheme(const char *s)
{
    if (!is_alpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; s[i]; i++) {
        int c = (unsigned char)s[i];
        if (c == ':')
            return 1;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
            return 0;
    }
    return 0;
}

/* RFC 3986 appendix B, without the fragment. */
static void split(const char *s, parts *p)
{
    memset(p, 0, sizeof *p);
    size_t n = strcspn(s, "#");
    size_t i = 0;
    if (iiifs_url_has_scheme(s)) {
        size_t c = strcspn(s, ":");
        if (c < n) {
            p->scheme.p = s;
            p->scheme.n = c;
            i = c + 1;
        }
    }
    if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        size_t a = i;
        while (i < n && s[i] != '/' && s[i] != '?')
            i++;
        p->authority.p = s + a;
        p->authority.n = i - a;
        p->has_authority = 1;
    }
    size_t st = i;
    while (i < n && s[i] != '?')
        i++;
    p->path.p = s + st;
    p->path.n = i - st;
    if (i < n && s[i] == '?') {
        p->has_query = 1;
        p->query.p = s + i + 1;
        p->query.n = n - i - 1;
    } else {
        p->query.p = s + n;
    }
}

/* Append bytes to out[*len], failing when out is full. */
static int put(char *out, size_t cap, size_t *len, const char *p, size_t n)
{
    if (n >= cap - *len)
        return IIIFS_E_LIMIT;
    memcpy(out + *len, p, n);
    *len += n;
    out[*len] = 0;
    return 0;
}

/* RFC 3986 §5.2.4, in place on a NUL-terminated path. */
static void remove_dot_segments(char *path)
{
    char *in = path, *out = path;
    while (*in) {
        if (!strncmp(in, "../", 3)) {
            in += 3;
        } else if (!strncmp(in, "./", 2)) {
            in += 2;
        } else if (!strncmp(in, "/./", 3)) {
            in += 2;
        } else if (!strcmp(in, "/.")) {
            in[1] = 0;
        } else if (!strncmp(in, "/../", 4) || !strcmp(in, "/..")) {
            if (in[3] == '/')
                in += 3;
            else {
                in += 2;
                *in = '/';
            }
            while (out > path && *--out != '/')
                ;
        } else if (!strcmp(in, ".") || !strcmp(in, "..")) {
            *in = 0;
        } else {
            do
                *out++ = *in++;
            while (*in && *in != '/');
        }
    }
    *out = 0;
}

int iiifs_url_resolve(const char *base, const char *ref, char *out, size_t cap)
{
    parts b, r;
    split(base, &b);
    split(ref, &r);
    char path[IIIFS_URL_MAX];
    size_t plen = 0, len = 0;
    int rc = 0;
    const parts *auth = &b, *query = &r;
    path[0] = 0;
    if (cap == 0)
        return IIIFS_E_LIMIT;
    out[0] = 0;

    if (r.scheme.n) {
        rc |= put(path, sizeof path, &plen, r.path.p, r.path.n);
        auth = &r;
        b.scheme = r.scheme;
    } else if (r.has_authority) {
        rc |= put(path, sizeof path, &plen, r.path.p, r.path.n);
        auth = &r;
    } else if (r.path.n == 0) {
        rc |= put(path, sizeof path, &plen, b.path.p, b.path.n);
        if (!r.has_query)
            query = &b;
    } else if (r.path.p[0] == '/') {
        rc |= put(path, sizeof path, &plen, r.path.p, r.path.n);
    } else {
        /* merge (§5.2.3) */
        if (b.has_authority && b.path.n == 0) {
            rc |= put(path, sizeof path, &plen, "/", 1);
        } else {
            size_t keep = b.path.n;
            while (keep && b.path.p[keep - 1] != '/')
                keep--;
            rc |= put(path, sizeof path, &plen, b.path.p, keep);
        }
        rc |= put(path, sizeof path, &plen, r.path.p, r.path.n);
    }
    if (rc)
        return IIIFS_E_LIMIT;
    remove_dot_segments(path);

    rc |= put(out, cap, &len, b.scheme.p, b.scheme.n);
    rc |= put(out, cap, &len, ":", 1);
    if (auth->has_authority) {
        rc |= put(out, cap, &len, "//", 2);
        rc |= put(out, cap, &len, auth->authority.p, auth->authority.n);
    }
    rc |= put(out, cap, &len, path, strlen(path));
    if (query->has_query) {
        rc |= put(out, cap, &len, "?", 1);
        rc |= put(out, cap, &len, query->query.p, query->query.n);
    }
    return rc ? IIIFS_E_LIMIT : 0;
}

/* Bytes that may not appear raw on an HTTP request line (digest §7.3). */
static int needs_escape(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c) != NULL;
}

static int bad(iiifs_error *e, const char *s, const char *why)
{
    return iiifs_fail(e, IIIFS_E_URL, "bad URL '%.300s': %s", s, why);
}

int iiifs_url_parse(iiifs_url *u, const char *s, iiifs_error *e)
{
    parts p;
    memset(u, 0, sizeof *u);
    split(s, &p);
    if (!p.scheme.n)
        return bad(e, s, "no scheme (expected http:// or https://)");
    if (iiifs_str_eq_nocase(p.scheme, "https"))
        u->https = 1;
    else if (!iiifs_str_eq_nocase(p.scheme, "http"))
        return bad(e, s, "only http and https are supported");
    if (!p.has_authority || p.authority.n == 0)
        return bad(e, s, "no host");
    if (memchr(p.authority.p, '@', p.authority.n))
        return bad(e, s, "credentials in URLs are not supported (use -H or --cookie)");

    const char *a = p.authority.p, *end = a + p.authority.n, *hs, *he;
    if (*a == '[') {
        he = memchr(a, ']', p.authority.n);
        if (!he)
            return bad(e, s, "unterminated IPv6 literal");
        hs = a + 1;
        a = he + 1;
    } else {
        hs = a;
        while (a < end && *a != ':')
            a++;
        he = a;
    }
    if (he == hs)
        return bad(e, s, "empty host");
    if ((size_t)(he - hs) >= sizeof u->host)
        return bad(e, s, "host name too long");
    for (const char *c = hs; c < he; c++)
        if (needs_escape((unsigned char)*c) || *c == '/' || *c == '%')
            return bad(e, s, "invalid character in host");
    memcpy(u->host, hs, (size_t)(he - hs));

    u->port = u->https ? 443 : 80;
    if (a < end) {
        if (*a != ':')
            return bad(e, s, "junk after host");
        a++;
        if (a < end) {
            unsigned long port = 0;
            for (; a < end; a++) {
                if (!is_digit((unsigned char)*a))
                    return bad(e, s, "port is not a number");
                port = port * 10 + (unsigned long)(*a - '0');
                if (port > 65535)
                    return bad(e, s, "port out of range");
            }
            if (port == 0)
                return bad(e, s, "port out of range");
            u->port = (uint16_t)port;
        }
    }

    /* Request target: path (at least "/") and query, escaped where needed. */
    size_t len = 0;
    static const char hex[] = "0123456789ABCDEF";
    char *t = u->target;
    if (p.path.n == 0)
        t[len++] = '/';
    const char *src = p.path.p;
    size_t n = p.path.n + (p.has_query ? 1 + p.query.n : 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (len + 4 >= sizeof u->target)
            return bad(e, s, "URL too long");
        if (needs_escape(c)) {
            t[len++] = '%';
            t[len++] = hex[c >> 4];
            t[len++] = hex[c & 15];
        } else {
            t[len++] = (char)c;
        }
    }
    t[len] = 0;
    return 0;
}

int iiifs_url_escape_id(const char *id, size_t n, char *out, size_t cap, size_t *len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = *len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        int keep = is_alpha(c) || is_digit(c) || (c && strchr("-._~!$&'()*+,;=:@", c));
        if (o + (keep ? 1 : 3) >= cap)
            return IIIFS_E_LIMIT;
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
    *len = o;
    return 0;
}

int iiifs_url_same_origin(const iiifs_url *a, const iiifs_url *b)
{
    iiifs_str ha = { a->host, strlen(a->host) };
    return a->https == b->https && a->port == b->port && iiifs_str_eq_nocase(ha, b->host);
}
