/*
 * http.c — see http.h.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

struct iiifs_http_shared {
    iiifs_http_options opt;
    port_mutex *lock;               /* guards everything below and the DRBG */
    int tried, rc;                  /* TLS configuration attempted; its result */
    char msg[IIIFS_ERROR_MAX];      /* its error message, repeated to every handle */
    iiifs_tls_config tls;
    iiifs_conn *pool[IIIFS_POOL_MAX];
    uint64_t requests, connects, handshakes, bytes_in;  /* of the handles freed */
};

int iiifs_http_shared_new(iiifs_http_shared **out, const iiifs_http_options *o, iiifs_error *e)
{
    *out = NULL;
    iiifs_http_shared *s = port_malloc(sizeof *s);
    if (!s)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the HTTP client");
    memset(s, 0, sizeof *s);
    if (port_mutex_new(&s->lock) != 0) {
        port_free(s);
        return iiifs_fail(e, IIIFS_E_NOMEM, "cannot create a mutex for the HTTP client");
    }
    s->opt = *o;
    if (!s->opt.timeout_ms)
        s->opt.timeout_ms = IIIFS_TIMEOUT_MS_DEFAULT;
    if (!s->opt.user_agent[0])
        iiifs_copy(s->opt.user_agent, sizeof s->opt.user_agent, "iiifstitch/" IIIFS_VERSION);
    *out = s;
    return 0;
}

static void conn_close(iiifs_conn *k);

void iiifs_http_shared_free(iiifs_http_shared *s)
{
    if (!s)
        return;
    for (int i = 0; i < IIIFS_POOL_MAX; i++) {
        if (s->pool[i]) {
            conn_close(s->pool[i]);
            port_free(s->pool[i]);
        }
    }
    iiifs_tls_config_free(&s->tls);
    port_mutex_free(s->lock);
    port_free(s);
}

void iiifs_http_shared_totals(iiifs_http_shared *s, uint64_t *requests, uint64_t *connects,
                              uint64_t *handshakes, uint64_t *bytes_in)
{
    port_mutex_lock(s->lock);
    *requests = s->requests;
    *connects = s->connects;
    *handshakes = s->handshakes;
    *bytes_in = s->bytes_in;
    port_mutex_unlock(s->lock);
}

void iiifs_http_init(iiifs_http *c, iiifs_http_shared *s)
{
    memset(c, 0, sizeof *c);
    c->shared = s;
    c->opt = &s->opt;
}

void iiifs_http_free(iiifs_http *c)
{
    iiifs_http_shared *s = c->shared;
    if (!s)
        return;
    port_mutex_lock(s->lock);
    s->requests += c->requests;
    s->connects += c->connects;
    s->handshakes += c->handshakes;
    s->bytes_in += c->bytes_in;
    port_mutex_unlock(s->lock);
    c->shared = NULL;
}

/* The TLS configuration for a new connection, made under the shared lock by
 * the first handle that needs it. A failure is remembered and repeated,
 * never retried. */
static int tls_config(iiifs_http *c, iiifs_tls_config **out, iiifs_error *e)
{
    iiifs_http_shared *s = c->shared;
    port_mutex_lock(s->lock);
    if (!s->tried) {
        iiifs_error first = { 0, "" };
        s->tried = 1;
        s->rc = iiifs_tls_config_init(&s->tls, s->opt.cacert[0] ? s->opt.cacert : NULL,
                                      s->opt.insecure, s->lock, &first);
        memcpy(s->msg, first.msg, sizeof s->msg);
    }
    int rc = s->rc;
    port_mutex_unlock(s->lock);
    if (rc)
        return iiifs_fail(e, rc, "%s", s->msg);  /* s->msg no longer changes */
    *out = &s->tls;
    return 0;
}

/* ---- user headers and options */

static int is_tchar(int c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int name_is(const char *name, size_t n, const char *lit)
{
    iiifs_str s = { name, n };
    return iiifs_str_eq_nocase(s, lit);
}

/* Append "name: value\r\n" after checking both. */
static int add_field(iiifs_http_options *ho, const char *name, size_t nn, const char *value,
                     size_t vn, const char *what, iiifs_error *e)
{
    static const char *const owned[] = { "Host", "Content-Length", "Transfer-Encoding",
                                         "Connection" };
    if (nn == 0)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: empty header name (expected 'Name: value')", what);
    for (size_t i = 0; i < nn; i++)
        if (!is_tchar((unsigned char)name[i]))
            return iiifs_fail(e, IIIFS_E_USAGE,
                              "%s: invalid character in the header name (expected 'Name: value')",
                              what);
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (name_is(name, nn, owned[i]))
            return iiifs_fail(e, IIIFS_E_USAGE, "%s: %s is set by iiifstitch and cannot be replaced",
                              what, owned[i]);
    while (vn && (*value == ' ' || *value == '\t')) {
        value++;
        vn--;
    }
    while (vn && (value[vn - 1] == ' ' || value[vn - 1] == '\t'))
        vn--;
    for (size_t i = 0; i < vn; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return iiifs_fail(e, IIIFS_E_USAGE, "%s: the value contains %s", what,
                              c == '\r' || c == '\n' ? "a line break (CR or LF)"
                                                     : "a control character");
    }
    if (ho->nheaders == IIIFS_HTTP_EXTRA_HEADERS_MAX)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: more than %d extra headers", what,
                          IIIFS_HTTP_EXTRA_HEADERS_MAX);
    size_t need = nn + 2 + vn + 2;
    if (need >= sizeof ho->headers - ho->headers_len)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: extra headers exceed %d bytes in all", what,
                          IIIFS_HTTP_EXTRA_BYTES_MAX);
    char *p = ho->headers + ho->headers_len;
    memcpy(p, name, nn);
    memcpy(p + nn, ": ", 2);
    memcpy(p + nn + 2, value, vn);
    memcpy(p + nn + 2 + vn, "\r\n", 3);
    ho->headers_len += need;
    ho->nheaders++;
    if (name_is(name, nn, "User-Agent"))
        ho->replaces |= IIIFS_HTTP_REPLACES_USER_AGENT;
    if (name_is(name, nn, "Accept"))
        ho->replaces |= IIIFS_HTTP_REPLACES_ACCEPT;
    return 0;
}

int iiifs_http_header_add(iiifs_http_options *ho, const char *line, const char *what,
                          iiifs_error *e)
{
    const char *colon = strchr(line, ':');
    if (!colon)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s '%.60s': no ':' (expected 'Name: value')", what,
                          line);
    /* name the argument without echoing its value (it may be a secret) */
    char label[96];
    size_t nn = (size_t)(colon - line), show = strcspn(line, "\r\n");
    iiifs_format(label, sizeof label, "%s '%.*s: ...'", what, (int)IIIFS_MIN(IIIFS_MIN(nn, show), 60),
                 line);
    return add_field(ho, line, nn, colon + 1, strlen(colon + 1), label, e);
}

/* 1 when a user header with this name is already in ho. */
static int has_header(const iiifs_http_options *ho, const char *name)
{
    for (const char *p = ho->headers; *p; p = strstr(p, "\r\n") + 2)
        if (name_is(p, strcspn(p, ":"), name))
            return 1;
    return 0;
}

/* --cookie, --referer, --token: one header each, not also given with -H. */
static int add_option(iiifs_http_options *ho, const char *opt, const char *name,
                      const char *prefix, const char *value, iiifs_error *e)
{
    if (!value)
        return 0;
    if (has_header(ho, name))
        return iiifs_fail(e, IIIFS_E_USAGE, "%s and -H '%s: ...' both given: keep one", opt, name);
    char v[IIIFS_HTTP_EXTRA_BYTES_MAX];
    if (iiifs_format(v, sizeof v, "%s%s", prefix, value))
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: longer than %d bytes", opt,
                          IIIFS_HTTP_EXTRA_BYTES_MAX);
    if (!*value)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: empty value", opt);
    return add_field(ho, name, strlen(name), v, strlen(v), opt, e);
}

/* The first of the environment variables that is set (possibly to ""). */
static const char *env2(const char *lower, const char *upper, const char **which)
{
    const char *v = port_getenv(lower);
    *which = lower;
    if (!v) {
        v = port_getenv(upper);
        *which = upper;
    }
    return v;
}

/* --proxy, else the environment; and no_proxy. */
static int proxies_from(iiifs_http_options *ho, const char *proxy, iiifs_error *e)
{
    int rc;
    if (proxy) {
        if ((rc = iiifs_proxy_parse(&ho->proxy_http, proxy, "--proxy", e)) != 0)
            return rc;
        ho->proxy_https = ho->proxy_http;
    } else {
        const char *which, *v = env2("http_proxy", "HTTP_PROXY", &which);
        if ((rc = iiifs_proxy_parse(&ho->proxy_http, v, which, e)) != 0)
            return rc;
        v = env2("https_proxy", "HTTPS_PROXY", &which);
        if ((rc = iiifs_proxy_parse(&ho->proxy_https, v, which, e)) != 0)
            return rc;
    }
    const char *which, *np = env2("no_proxy", "NO_PROXY", &which);
    if (np && iiifs_copy(ho->no_proxy, sizeof ho->no_proxy, np))
        return iiifs_fail(e, IIIFS_E_USAGE, "%s longer than %d bytes", which, IIIFS_NO_PROXY_MAX);
    return 0;
}

int iiifs_http_options_from(iiifs_http_options *ho, const iiifs_http_settings *o,
                            iiifs_error *e)
{
    memset(ho, 0, sizeof *ho);
    ho->timeout_ms = o->timeout_ms ? o->timeout_ms : IIIFS_TIMEOUT_MS_DEFAULT;
    if (o->cacert && iiifs_copy(ho->cacert, sizeof ho->cacert, o->cacert))
        return iiifs_fail(e, IIIFS_E_USAGE, "--cacert: a path longer than %d bytes",
                          IIIFS_PATH_MAX - 1);
    ho->insecure = o->insecure;
    const char *ua = o->user_agent ? o->user_agent : "iiifstitch/" IIIFS_VERSION;
    int rc;
    for (const char *c = ua; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
            return iiifs_fail(e, IIIFS_E_USAGE, "--user-agent contains %s",
                              *c == '\r' || *c == '\n' ? "a line break (CR or LF)"
                                                       : "a control character");
    if (iiifs_copy(ho->user_agent, sizeof ho->user_agent, ua))
        return iiifs_fail(e, IIIFS_E_USAGE, "--user-agent longer than %d bytes",
                          IIIFS_HTTP_EXTRA_BYTES_MAX);
    if (o->nheaders < 0 || (o->nheaders > 0 && !o->headers))
        return iiifs_fail(e, IIIFS_E_USAGE, "bad header list (%d headers)", o->nheaders);
    for (int i = 0; i < o->nheaders; i++)
        if ((rc = iiifs_http_header_add(ho, o->headers[i], "-H", e)) != 0)
            return rc;
    if ((rc = add_option(ho, "--cookie", "Cookie", "", o->cookie, e)) != 0 ||
        (rc = add_option(ho, "--referer", "Referer", "", o->referer, e)) != 0 ||
        (rc = add_option(ho, "--token", "Authorization", "Bearer ", o->token, e)) != 0)
        return rc;
    return proxies_from(ho, o->proxy, e);
}

/* ---- request heads */

/* "host" or "host:port" (port left out when it is the scheme's), IPv6 in brackets. */
static int host_port(const iiifs_url *u, int always_port, char *out, size_t cap)
{
    int v6 = strchr(u->host, ':') != NULL;
    int dflt = u->port == (u->https ? 443 : 80);
    if (dflt && !always_port)
        return iiifs_format(out, cap, v6 ? "[%s]" : "%s", u->host);
    return iiifs_format(out, cap, v6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);
}

int iiifs_http_request_head(const iiifs_http_options *o, const iiifs_url *u,
                            const iiifs_proxy *proxy, int user, char *out, size_t cap,
                            size_t *len)
{
    char host[IIIFS_HOST_MAX + 16];
    const char *ua = o->user_agent[0] ? o->user_agent : "iiifstitch/" IIIFS_VERSION;
    unsigned replaced = user ? o->replaces : 0;
    int rc = host_port(u, 0, host, sizeof host);
    if (rc == 0)
        rc = iiifs_format(out, cap,
                          "GET %s%s%s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%.*s%s%s%s"
                          "Connection: keep-alive\r\n\r\n",
                          proxy ? (u->https ? "https://" : "http://") : "", proxy ? host : "",
                          u->target, host,
                          replaced & IIIFS_HTTP_REPLACES_USER_AGENT ? "" : "User-Agent: ",
                          replaced & IIIFS_HTTP_REPLACES_USER_AGENT ? "" : ua,
                          replaced & IIIFS_HTTP_REPLACES_USER_AGENT ? "" : "\r\n",
                          replaced & IIIFS_HTTP_REPLACES_ACCEPT ? "" : "Accept: */*\r\n",
                          user ? (int)o->headers_len : 0, o->headers,
                          proxy && proxy->auth[0] ? "Proxy-Authorization: " : "",
                          proxy && proxy->auth[0] ? proxy->auth : "",
                          proxy && proxy->auth[0] ? "\r\n" : "");
    *len = rc ? 0 : strlen(out);
    return rc;
}

int iiifs_http_connect_head(const iiifs_http_options *o, const iiifs_url *u,
                            const iiifs_proxy *proxy, char *out, size_t cap, size_t *len)
{
    char target[IIIFS_HOST_MAX + 16];
    const char *ua = o->user_agent[0] ? o->user_agent : "iiifstitch/" IIIFS_VERSION;
    int rc = host_port(u, 1, target, sizeof target);
    if (rc == 0)
        rc = iiifs_format(out, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%s%s%s\r\n",
                          target, target, ua, proxy->auth[0] ? "Proxy-Authorization: " : "",
                          proxy->auth, proxy->auth[0] ? "\r\n" : "");
    *len = rc ? 0 : strlen(out);
    return rc;
}

static void conn_close(iiifs_conn *k)
{
    if (!k->open)
        return;
    iiifs_tls_free(&k->tls);
    port_tcp_close(&k->sock);
    k->open = 0;
    k->rpos = k->rlen = 0;
}

static long conn_read(iiifs_conn *k, void *buf, size_t n, uint32_t timeout_ms)
{
    if (k->https)
        return iiifs_tls_read(&k->tls, buf, n);
    return port_tcp_recv(k->sock, buf, n, timeout_ms);
}

static long conn_write(iiifs_conn *k, const void *buf, size_t n, uint32_t timeout_ms)
{
    if (k->https)
        return iiifs_tls_write(&k->tls, buf, n);
    return port_tcp_send(k->sock, buf, n, timeout_ms);
}

static const char *net_what(int rc)
{
    switch (rc) {
    case IIIFS_E_TIMEOUT: return "timed out";
    case IIIFS_E_CLOSED: return "connection reset";
    case IIIFS_E_TLS: return "TLS error";
    default: return "network error";
    }
}

static int fill(iiifs_http *c, iiifs_conn *k);

static int host_eq(const char *a, const char *b)
{
    iiifs_str s = { a, strlen(a) };
    return iiifs_str_eq_nocase(s, b);
}

/* Is k an open connection for u reached through proxy (NULL = direct)?
 * Direct and proxied connections never mix; a forwarding connection to a
 * proxy serves every http origin, a tunnel only its own origin. */
static int conn_fits(const iiifs_conn *k, const iiifs_url *u, const iiifs_proxy *proxy)
{
    if (!k->open)
        return 0;
    if (!proxy)
        return k->route == IIIFS_ROUTE_DIRECT && k->https == u->https && k->port == u->port &&
               host_eq(k->host, u->host);
    if (k->route == IIIFS_ROUTE_DIRECT || k->proxy_port != proxy->port ||
        !host_eq(k->proxy, proxy->host))
        return 0;
    if (!u->https)
        return k->route == IIIFS_ROUTE_FORWARD;
    return k->route == IIIFS_ROUTE_TUNNEL && k->port == u->port && host_eq(k->host, u->host);
}

/* Read one response head on k (plain, before any TLS) into h. */
static int read_head(iiifs_http *c, iiifs_conn *k, iiifs_http_head *h)
{
    for (;;) {
        int n = k->rlen > k->rpos ? iiifs_http_parse_head(k->rbuf + k->rpos, k->rlen - k->rpos, h)
                                  : IIIFS_E_AGAIN;
        if (n > 0) {
            k->rpos += (size_t)n;
            return 0;
        }
        if (n != IIIFS_E_AGAIN)
            return n;
        int rc = fill(c, k);
        if (rc)
            return rc;
    }
}

/* Open a CONNECT tunnel to u through proxy on the fresh connection k. */
static int tunnel(iiifs_http *c, iiifs_conn *k, const iiifs_url *u, const iiifs_proxy *proxy,
                  iiifs_error *e)
{
    char req[IIIFS_HOST_MAX * 2 + IIIFS_PROXY_AUTH_MAX + 512];
    size_t len;
    if (iiifs_http_connect_head(c->opt, u, proxy, req, sizeof req, &len))
        return iiifs_fail(e, IIIFS_E_LIMIT, "CONNECT request for %s too long", u->host);
    c->requests++;
    long w = port_tcp_send(k->sock, req, len, c->opt->timeout_ms);
    iiifs_http_head h;
    memset(&h, 0, sizeof h);
    int rc = w < 0 ? (int)w : read_head(c, k, &h);
    if (rc == IIIFS_E_HTTP_PROTO || rc == IIIFS_E_LIMIT)
        return iiifs_fail(e, IIIFS_E_HTTP_PROTO, "proxy %s: malformed answer to CONNECT %s:%u: %s",
                          proxy->name, u->host, (unsigned)u->port,
                          h.error ? h.error : "head too long");
    if (rc)
        return iiifs_fail(e, rc, "proxy %s: %s during CONNECT %s:%u", proxy->name,
                          rc == IIIFS_E_CLOSED ? "connection closed" : net_what(rc), u->host,
                          (unsigned)u->port);
    if (h.status < 200 || h.status > 299) {
        /* 5xx: the proxy could not reach the origin (a network failure, worth
         * retrying); anything else is the proxy refusing (permanent). */
        return iiifs_fail(e, h.status >= 500 ? IIIFS_E_CONNECT : IIIFS_E_HTTP_STATUS,
                          "proxy %s answered CONNECT %s:%u with HTTP %d %.*s", proxy->name, u->host,
                          (unsigned)u->port, h.status, (int)IIIFS_MIN(h.reason.n, 80),
                          h.reason.p ? h.reason.p : "");
    }
    if (k->rpos != k->rlen)
        return iiifs_fail(e, IIIFS_E_HTTP_PROTO,
                          "proxy %s: unexpected bytes after its answer to CONNECT %s:%u",
                          proxy->name, u->host, (unsigned)u->port);
    k->rpos = k->rlen = 0;
    return 0;
}

static iiifs_conn *conn_new(int pooled)
{
    iiifs_conn *k = port_malloc(sizeof *k);
    if (k) {
        memset(k, 0, sizeof *k);
        k->sock.h = PORT_SOCK_NONE;
        k->pooled = pooled;
        k->busy = 1;
    }
    return k;
}

/* Take a connection for u (through proxy, NULL = direct) from the shared
 * pool, marked busy: an idle one that fits and is still up, else a slot
 * for a fresh one (a free slot, or the least recently used idle connection,
 * closed). When every slot is busy, a connection of the handle's own. */
static int pool_take(iiifs_http *c, const iiifs_url *u, const iiifs_proxy *proxy,
                     iiifs_conn **out, iiifs_error *e)
{
    iiifs_http_shared *s = c->shared;
    iiifs_conn *pick = NULL;
    int free_slot = -1;
    port_mutex_lock(s->lock);
    for (int i = 0; i < IIIFS_POOL_MAX; i++) {
        iiifs_conn *k = s->pool[i];
        if (!k) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (k->busy)
            continue;
        if (conn_fits(k, u, proxy)) {
            if (port_tcp_idle_ok(k->sock)) {
                k->busy = 1;
                port_mutex_unlock(s->lock);
                *out = k;
                return 0;
            }
            conn_close(k); /* the server hung up while it was idle */
        }
        if (!pick || (pick->open && (!k->open || k->last_used < pick->last_used)))
            pick = k;
    }
    if (free_slot >= 0 && (!pick || pick->open)) {
        pick = s->pool[free_slot] = conn_new(1);
    } else if (pick) {
        conn_close(pick);
        pick->busy = 1;
    }
    port_mutex_unlock(s->lock);
    if (!pick && !(pick = conn_new(0)))
        return iiifs_fail(e, IIIFS_E_NOMEM, "out of memory for a connection");
    *out = pick;
    return 0;
}

/* Give k back: to the pool, or closed and freed when it was the handle's own. */
static void pool_put(iiifs_http *c, iiifs_conn *k)
{
    if (!k->pooled) {
        conn_close(k);
        port_free(k);
        return;
    }
    port_mutex_lock(c->shared->lock);
    k->busy = 0;
    port_mutex_unlock(c->shared->lock);
}

/* Open k to u: TCP, then the proxy's tunnel and TLS where they apply. */
static int conn_open(iiifs_http *c, iiifs_conn *k, const iiifs_url *u, const iiifs_proxy *proxy,
                     iiifs_error *e)
{
    iiifs_tls_config *tls = NULL;
    int rc;
    if (u->https && (rc = tls_config(c, &tls, e)) != 0)
        return rc;
    const char *to = proxy ? proxy->host : u->host;
    uint16_t to_port = proxy ? proxy->port : u->port;
    rc = port_tcp_connect(to, to_port, c->opt->timeout_ms, &k->sock);
    if (rc) {
        const char *what = rc == IIIFS_E_RESOLVE ? "cannot resolve"
                         : rc == IIIFS_E_TIMEOUT ? "timed out connecting to"
                                                 : "cannot connect to";
        if (proxy)
            return iiifs_fail(e, rc, "%s proxy %s (for %s): %s", what, proxy->name, u->host,
                              port_error_text());
        return iiifs_fail(e, rc, "%s %s port %u: %s", what, u->host, (unsigned)u->port,
                          port_error_text());
    }
    c->connects++;
    k->open = 1;
    k->https = 0;
    k->route = !proxy ? IIIFS_ROUTE_DIRECT : u->https ? IIIFS_ROUTE_TUNNEL : IIIFS_ROUTE_FORWARD;
    k->port = u->port;
    k->served = 0;
    memcpy(k->host, u->host, sizeof k->host);
    k->proxy[0] = 0;
    k->proxy_port = 0;
    if (proxy) {
        memcpy(k->proxy, proxy->host, sizeof k->proxy);
        k->proxy_port = proxy->port;
    }
    if (k->route == IIIFS_ROUTE_TUNNEL && (rc = tunnel(c, k, u, proxy, e)) != 0) {
        conn_close(k);
        return rc;
    }
    if (u->https) {
        k->https = 1;
        rc = iiifs_tls_connect(&k->tls, tls, k->sock, u->host, c->opt->timeout_ms, e);
        if (rc) {
            conn_close(k);
            return rc;
        }
        c->handshakes++;
    }
    return 0;
}

/* A connection for u, busy until pool_put: a pooled idle one, or a fresh one. */
static int conn_get(iiifs_http *c, const iiifs_url *u, const iiifs_proxy *proxy,
                    iiifs_conn **out, iiifs_error *e)
{
    iiifs_conn *k = NULL;
    int rc = pool_take(c, u, proxy, &k, e);
    if (rc)
        return rc;
    if (!k->open && (rc = conn_open(c, k, u, proxy, e)) != 0) {
        pool_put(c, k);
        return rc;
    }
    *out = k;
    return 0;
}

/* Make at least one more byte available in k->rbuf. 0, or <0 (0 bytes = EOF → CLOSED). */
static int fill(iiifs_http *c, iiifs_conn *k)
{
    if (k->rpos == k->rlen)
        k->rpos = k->rlen = 0;
    if (k->rlen == sizeof k->rbuf) {
        if (k->rpos == 0)
            return IIIFS_E_LIMIT;
        memmove(k->rbuf, k->rbuf + k->rpos, k->rlen - k->rpos);
        k->rlen -= k->rpos;
        k->rpos = 0;
    }
    long r = conn_read(k, k->rbuf + k->rlen, sizeof k->rbuf - k->rlen, c->opt->timeout_ms);
    if (r == 0)
        return IIIFS_E_CLOSED;
    if (r < 0)
        return (int)r;
    k->rlen += (size_t)r;
    c->bytes_in += (uint64_t)r;
    return 0;
}

/* A growing body the allocator refused: what it needed next. */
static int body_nomem(const iiifs_buf *body, iiifs_response *r, const char *url, iiifs_error *e)
{
    r->want = IIIFS_MIN((uint64_t)body->limit, (uint64_t)IIIFS_MAX(body->cap, 4096u) * 2u);
    return iiifs_fail(e, IIIFS_E_NOMEM, "%s: no memory for a body past %zu bytes (the memory "
                      "cap)", url, body->len);
}

/* Read the body described by h into body. */
static int read_body(iiifs_http *c, iiifs_conn *k, const iiifs_http_head *h, iiifs_buf *body,
                     iiifs_response *r, const char *url, iiifs_error *e)
{
    int rc = 0;
    if (h->body == IIIFS_BODY_NONE)
        return 0;
    if (h->body == IIIFS_BODY_LENGTH) {
        uint64_t left = h->content_length;
        if (left > body->limit)
            return iiifs_fail(e, IIIFS_E_LIMIT,
                              "%s: body of %llu bytes exceeds the cap of %zu bytes", url,
                              (unsigned long long)left, body->limit);
        if ((rc = iiifs_buf_reserve(body, (size_t)left)) != 0) {
            r->want = left;
            return iiifs_fail(e, rc, "%s: no memory for a body of %llu bytes (the memory cap)",
                              url, (unsigned long long)left);
        }
        size_t have = IIIFS_MIN((uint64_t)(k->rlen - k->rpos), left);
        iiifs_buf_append(body, k->rbuf + k->rpos, have);
        k->rpos += have;
        left -= have;
        while (left) {
            long got = conn_read(k, body->p + body->len, (size_t)left, c->opt->timeout_ms);
            if (got <= 0) {
                rc = got == 0 ? IIIFS_E_CLOSED : (int)got;
                return iiifs_fail(e, rc, "%s: %s after %zu of %llu body bytes", url,
                                  got == 0 ? "connection closed" : net_what(rc), body->len,
                                  (unsigned long long)h->content_length);
            }
            body->len += (size_t)got;
            left -= (uint64_t)got;
            c->bytes_in += (uint64_t)got;
        }
        return 0;
    }
    if (h->body == IIIFS_BODY_CHUNKED) {
        iiifs_chunked d;
        iiifs_chunked_init(&d);
        for (;;) {
            size_t used = 0;
            rc = iiifs_chunked_feed(&d, k->rbuf + k->rpos, k->rlen - k->rpos, &used, body);
            k->rpos += used;
            if (rc == 1)
                return 0;
            if (rc == IIIFS_E_NOMEM)
                return body_nomem(body, r, url, e);
            if (rc == IIIFS_E_LIMIT)
                return iiifs_fail(e, rc, "%s: chunked body exceeds the cap of %zu bytes", url,
                                  body->limit);
            if (rc < 0)
                return iiifs_fail(e, rc, "%s: malformed chunked body: %s", url, d.error);
            if ((rc = fill(c, k)) != 0)
                return iiifs_fail(e, rc, "%s: %s in chunked body after %zu bytes", url,
                                  rc == IIIFS_E_CLOSED ? "connection closed" : net_what(rc),
                                  body->len);
        }
    }
    /* close-delimited */
    for (;;) {
        if (k->rlen > k->rpos) {
            if ((rc = iiifs_buf_append(body, k->rbuf + k->rpos, k->rlen - k->rpos)) != 0)
                return rc == IIIFS_E_NOMEM ? body_nomem(body, r, url, e)
                       : iiifs_fail(e, rc, "%s: body exceeds the cap of %zu bytes", url,
                                    body->limit);
            k->rpos = k->rlen;
        }
        rc = fill(c, k);
        if (rc == IIIFS_E_CLOSED)
            return 0;
        if (rc)
            return iiifs_fail(e, rc, "%s: %s while reading body", url, net_what(rc));
    }
}

/* Content-Encoding gzip or deflate, sent although we never ask for it
 * (some CDNs do: digest §7.1): inflate into a buffer of the same cap and
 * swap. Only misbehaving servers pay for the second buffer. */
static int inflate_body(iiifs_buf *body, const char *url, iiifs_error *e)
{
    iiifs_buf out;
    iiifs_buf_init(&out, body->limit);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* +32: gzip or zlib header, detected */
        return iiifs_fail(e, IIIFS_E_NOMEM, "%s: cannot start inflating the body", url);
    z.next_in = body->p;
    z.avail_in = (uInt)body->len;
    int zr = Z_OK, rc = 0;
    while (zr != Z_STREAM_END) {
        if ((rc = iiifs_buf_reserve(&out, 16384)) != 0) {
            iiifs_fail(e, rc, "%s: inflated body exceeds the cap of %zu bytes", url, body->limit);
            break;
        }
        z.next_out = out.p + out.len;
        z.avail_out = (uInt)(out.cap - out.len);
        zr = inflate(&z, Z_NO_FLUSH);
        out.len = out.cap - z.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END) {
            rc = iiifs_fail(e, IIIFS_E_HTTP_PROTO, "%s: corrupt compressed body (zlib: %s)", url,
                            z.msg ? z.msg : "truncated");
            break;
        }
    }
    inflateEnd(&z);
    if (rc) {
        iiifs_buf_free(&out);
        return rc;
    }
    iiifs_buf_free(body);
    *body = out;
    return 0;
}

/* The proxy for u, or NULL for a direct connection. */
static const iiifs_proxy *route(const iiifs_http_options *o, const iiifs_url *u)
{
    const iiifs_proxy *p = u->https ? &o->proxy_https : &o->proxy_http;
    if (!p->host[0] || iiifs_proxy_bypass(o->no_proxy, u->host, u->port))
        return NULL;
    return p;
}

/* Send the request head (c->req, reqlen bytes) on k and read the final
 * response head into h, interim 1xx responses skipped. 0, a network code,
 * or IIIFS_E_HTTP_PROTO with *why (NULL: the connection closed mid-head). */
static int request_head(iiifs_http *c, iiifs_conn *k, size_t reqlen, iiifs_http_head *h,
                        const char **why)
{
    *why = NULL;
    c->requests++;
    long w = conn_write(k, c->req, reqlen, c->opt->timeout_ms);
    int rc = w < 0 ? (int)w : 0;
    while (rc == 0) {
        int n = k->rlen > k->rpos
                    ? iiifs_http_parse_head(k->rbuf + k->rpos, k->rlen - k->rpos, h)
                    : IIIFS_E_AGAIN;
        if (n > 0) {
            k->rpos += (size_t)n;
            if (h->status == 101) {
                *why = "unexpected 101 Switching Protocols";
                return IIIFS_E_HTTP_PROTO;
            }
            if (h->status >= 200)
                return 0;
            continue;
        }
        if (n != IIIFS_E_AGAIN) {
            *why = h->error ? h->error : "malformed response";
            return n;
        }
        size_t before = k->rlen - k->rpos;
        rc = fill(c, k);
        if (rc == IIIFS_E_CLOSED && before > 0)
            rc = IIIFS_E_HTTP_PROTO;
    }
    return rc;
}

/* The response after its head: what r keeps of the head, Location into loc,
 * the body. k stays open only when it can serve another request. */
static int response(iiifs_http *c, iiifs_conn *k, const iiifs_http_head *h, iiifs_buf *body,
                    iiifs_response *r, char *loc, size_t loc_cap, const char *url,
                    iiifs_error *e)
{
    /* Views into k->rbuf die when the body is read: copy what we keep. */
    r->status = h->status;
    size_t ct = IIIFS_MIN(h->content_type.n, sizeof r->content_type - 1);
    memcpy(r->content_type, h->content_type.p, ct);
    r->content_type[ct] = 0;
    r->retry_after_ms = 0;
    if (h->retry_after.n)
        iiifs_http_retry_after(h->retry_after.p, h->retry_after.n, port_wall_time(),
                               &r->retry_after_ms);
    loc[0] = 0;
    if (h->location.n >= loc_cap) {
        conn_close(k);
        return iiifs_fail(e, IIIFS_E_REDIRECT, "%s: Location longer than %zu bytes", url, loc_cap);
    }
    memcpy(loc, h->location.p, h->location.n);
    loc[h->location.n] = 0;

    int coded = iiifs_str_eq_nocase(h->content_encoding, "gzip") ||
                iiifs_str_eq_nocase(h->content_encoding, "x-gzip") ||
                iiifs_str_eq_nocase(h->content_encoding, "deflate");
    body->len = 0;
    int rc = read_body(c, k, h, body, r, url, e);
    if (rc == 0 && coded && body->len)
        rc = inflate_body(body, url, e);
    k->served++;
    k->last_used = port_now_ms();
    /* Only a cleanly finished response with nothing left over is reusable. */
    if (rc || !h->keep_alive || k->rpos != k->rlen)
        conn_close(k);
    return rc;
}

/* One request/response exchange on a pooled connection, no redirects.
 * user: send the user headers. */
static int exchange(iiifs_http *c, const char *url, int user, iiifs_buf *body,
                    iiifs_http_head *h, iiifs_response *r, char *loc, size_t loc_cap,
                    iiifs_error *e)
{
    iiifs_url u;
    int rc = iiifs_url_parse(&u, url, e);
    if (rc)
        return rc;
    const iiifs_proxy *proxy = route(c->opt, &u);
    size_t reqlen;
    if (iiifs_http_request_head(c->opt, &u, proxy && !u.https ? proxy : NULL, user, c->req,
                                sizeof c->req, &reqlen))
        return iiifs_fail(e, IIIFS_E_LIMIT, "request for %s too long", url);

    iiifs_conn *k = NULL;
    for (int attempt = 0;; attempt++) {
        if ((rc = conn_get(c, &u, proxy, &k, e)) != 0)
            return rc;
        int reused = k->served > 0;
        const char *why;
        rc = request_head(c, k, reqlen, h, &why);
        if (rc == 0)
            break;
        /* A reused keep-alive connection may have been closed by the server
         * just before our request: retry once on a fresh one. */
        int nothing = k->rlen == k->rpos;
        conn_close(k);
        pool_put(c, k);
        if (reused && attempt == 0 && nothing && (rc == IIIFS_E_CLOSED || rc == IIIFS_E_IO))
            continue;
        if (why)
            return iiifs_fail(e, rc, "%s: %s", url, why);
        if (rc == IIIFS_E_HTTP_PROTO)
            return iiifs_fail(e, rc, "%s: connection closed in the middle of the response head",
                              url);
        if (rc == IIIFS_E_CLOSED)
            return iiifs_fail(e, rc, "%s: connection closed before any response", url);
        return iiifs_fail(e, rc, "%s: %s waiting for the response", url, net_what(rc));
    }
    rc = response(c, k, h, body, r, loc, loc_cap, url, e);
    pool_put(c, k);
    return rc;
}

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* May the user headers follow a redirect from a to b? Same host name
 * (case-insensitive) and port, and never from https down to http. */
static int keeps_user_headers(const iiifs_url *a, const iiifs_url *b)
{
    return a->port == b->port && host_eq(a->host, b->host) && !(a->https && !b->https);
}

int iiifs_http_get(iiifs_http *c, const char *url, iiifs_buf *body, iiifs_response *r,
                   iiifs_error *e)
{
    iiifs_http_head h;
    memset(r, 0, sizeof *r);
    if (iiifs_copy(r->url, sizeof r->url, url))
        return iiifs_fail(e, IIIFS_E_URL, "URL longer than %d bytes", IIIFS_URL_MAX);
    char loc[IIIFS_URL_MAX], next[IIIFS_URL_MAX];
    int user = 1;   /* once dropped in this chain, the user headers stay dropped */
    for (;;) {
        int rc = exchange(c, r->url, user, body, &h, r, loc, sizeof loc, e);
        if (rc)
            return rc;
        if (!is_redirect(r->status))
            return 0;
        if (!loc[0])
            return iiifs_fail(e, IIIFS_E_REDIRECT, "%s: HTTP %d redirect without a Location",
                              r->url, r->status);
        if (r->redirects == IIIFS_HTTP_REDIRECTS_MAX)
            return iiifs_fail(e, IIIFS_E_REDIRECT, "%s: more than %d redirects", url,
                              IIIFS_HTTP_REDIRECTS_MAX);
        if (iiifs_url_resolve(r->url, loc, next, sizeof next))
            return iiifs_fail(e, IIIFS_E_REDIRECT, "%s: redirect target too long", r->url);
        iiifs_url from, to;
        iiifs_error ignore = { 0, "" };
        if (iiifs_url_parse(&to, next, &ignore))
            return iiifs_fail(e, IIIFS_E_REDIRECT, "%s: HTTP %d redirect to unusable URL '%.200s'",
                              r->url, r->status, loc);
        if (user && (iiifs_url_parse(&from, r->url, &ignore) || !keeps_user_headers(&from, &to)))
            user = 0;
        memcpy(r->url, next, sizeof next);
        r->redirects++;
    }
}
