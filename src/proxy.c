/*
 * proxy.c — see proxy.h.
 */
#include "proxy.h"
#include "url.h"

#include <mbedtls/base64.h>
#include <string.h>

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int eq_nocase(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode in[0..n) onto out[*len]; -1 on a bad escape or overflow. */
static int decode(const char *in, size_t n, char *out, size_t cap, size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval((unsigned char)in[i + 1]), l = hexval((unsigned char)in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (*len + 1 >= cap)
            return -1;
        out[(*len)++] = (char)c;
    }
    out[*len] = 0;
    return 0;
}

int iiifs_proxy_parse(iiifs_proxy *p, const char *s, const char *what, iiifs_error *e)
{
    memset(p, 0, sizeof *p);
    if (!s || !*s)
        return 0;
    const char *rest = s;
    const char *sep = strstr(s, "://");
    if (sep) {
        size_t n = (size_t)(sep - s);
        if (eq_nocase(s, n, "https", 5))
            return iiifs_fail(e, IIIFS_E_USAGE,
                              "%s: https:// proxies are not supported (give the proxy as "
                              "http://HOST:PORT; https URLs still use TLS through it)", what);
        if (!eq_nocase(s, n, "http", 4))
            return iiifs_fail(e, IIIFS_E_USAGE, "%s: unsupported proxy scheme '%.*s' (only http://)",
                              what, (int)IIIFS_MIN(n, 20), s);
        rest = sep + 3;
    }
    size_t alen = strcspn(rest, "/?#");
    if (rest[alen] && strcmp(rest + alen, "/") != 0)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: a proxy URL has no path or query (want http://HOST:PORT)",
                          what);
    /* userinfo: up to the last '@' of the authority */
    const char *host = rest;
    size_t hlen = alen;
    for (size_t i = alen; i > 0; i--) {
        if (rest[i - 1] == '@') {
            char cred[IIIFS_PROXY_AUTH_MAX / 2];
            size_t clen = 0;
            const char *colon = memchr(rest, ':', i - 1);
            size_t ulen = colon ? (size_t)(colon - rest) : i - 1;
            if (decode(rest, ulen, cred, sizeof cred, &clen) ||
                decode(":", 1, cred, sizeof cred, &clen) ||
                (colon && decode(colon + 1, (size_t)(rest + i - 1 - colon - 1), cred, sizeof cred,
                                 &clen)))
                return iiifs_fail(e, IIIFS_E_USAGE,
                                  "%s: proxy credentials malformed or longer than %zu bytes", what,
                                  sizeof cred - 1);
            static const char basic[] = "Basic ";
            size_t olen = 0;
            memcpy(p->auth, basic, sizeof basic);
            if (mbedtls_base64_encode((unsigned char *)p->auth + sizeof basic - 1,
                                      sizeof p->auth - (sizeof basic - 1), &olen,
                                      (const unsigned char *)cred, clen) != 0)
                return iiifs_fail(e, IIIFS_E_USAGE, "%s: proxy credentials too long", what);
            memset(cred, 0, sizeof cred);
            host = rest + i;
            hlen = alen - i;
            break;
        }
    }
    /* host[:port]: reuse the URL parser on "http://HOSTPORT/" */
    char url[IIIFS_HOST_MAX + 32];
    iiifs_url u;
    iiifs_error ignore = { 0, "" };
    if (hlen == 0)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: proxy URL without a host", what);
    if (hlen + 9 > sizeof url)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: proxy host name too long", what);
    memcpy(url, "http://", 7);
    memcpy(url + 7, host, hlen);
    memcpy(url + 7 + hlen, "/", 2);
    if (iiifs_url_parse(&u, url, &ignore))
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: bad proxy host or port '%.*s'", what,
                          (int)IIIFS_MIN(hlen, 200), host);
    memcpy(p->host, u.host, sizeof p->host);
    p->port = u.port;
    int v6 = strchr(p->host, ':') != NULL;
    iiifs_format(p->name, sizeof p->name, v6 ? "http://[%s]:%u" : "http://%s:%u", p->host,
                 (unsigned)p->port);
    return 0;
}

static int is_ip_literal(const char *h, size_t n)
{
    if (memchr(h, ':', n))
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return 0;
    return n > 0;
}

/* One NO_PROXY entry against host:port. */
static int entry_matches(const char *en, size_t n, const char *host, uint16_t port)
{
    const char *eh = en;
    size_t ehn = n;
    const char *portp = NULL;
    if (n && en[0] == '[') {
        const char *close = memchr(en, ']', n);
        if (!close)
            return 0;
        eh = en + 1;
        ehn = (size_t)(close - eh);
        if (close + 1 < en + n) {
            if (close[1] != ':')
                return 0;
            portp = close + 2;
        }
    } else {
        const char *colon = memchr(en, ':', n);
        if (colon && !memchr(colon + 1, ':', (size_t)(en + n - colon - 1))) {
            ehn = (size_t)(colon - en);
            portp = colon + 1;
        }
    }
    if (portp) {
        unsigned long v = 0;
        const char *end = en + n;
        if (portp == end)
            return 0;
        for (const char *c = portp; c < end; c++) {
            if (*c < '0' || *c > '9' || (v = v * 10 + (unsigned long)(*c - '0')) > 65535)
                return 0;
        }
        if (v != port)
            return 0;
    }
    size_t hn = strlen(host);
    if (is_ip_literal(eh, ehn) || is_ip_literal(host, hn))
        return eq_nocase(eh, ehn, host, hn);
    if (ehn && eh[0] == '.') {
        eh++;
        ehn--;
    }
    if (ehn == 0)
        return 0;
    if (eq_nocase(eh, ehn, host, hn))
        return 1;
    return hn > ehn && host[hn - ehn - 1] == '.' && eq_nocase(eh, ehn, host + hn - ehn, ehn);
}

int iiifs_proxy_bypass(const char *no_proxy, const char *host, uint16_t port)
{
    if (!no_proxy)
        return 0;
    const char *s = no_proxy;
    while (*s) {
        size_t n = strcspn(s, ",");
        const char *a = s, *b = s + n;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b - a == 1 && *a == '*')
            return 1;
        if (b > a && entry_matches(a, (size_t)(b - a), host, port))
            return 1;
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}
