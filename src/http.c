/*
 * http.c — see http.h.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

void iiifs_http_init(iiifs_http *c, const iiifs_http_options *o)
{
    memset(c, 0, sizeof *c);
    c->opt = *o;
    if (!c->opt.timeout_ms)
        c->opt.timeout_ms = IIIFS_TIMEOUT_MS_DEFAULT;
    if (c->opt.max_conns < 1 || c->opt.max_conns > IIIFS_CONN_MAX)
        c->opt.max_conns = IIIFS_CONN_MAX;
    if (!c->opt.user_agent)
        c->opt.user_agent = "iiifstitch/" IIIFS_VERSION;
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

void iiifs_http_free(iiifs_http *c)
{
    for (int i = 0; i < IIIFS_CONN_MAX; i++) {
        if (c->conn[i]) {
            conn_close(c->conn[i]);
            port_free(c->conn[i]);
            c->conn[i] = NULL;
        }
    }
    iiifs_tls_config_free(&c->tls);
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

/* A pooled connection to u's origin: an idle open one, or a fresh one. */
static int conn_get(iiifs_http *c, const iiifs_url *u, iiifs_conn **out, iiifs_error *e)
{
    iiifs_conn *pick = NULL;
    int free_slot = -1;
    for (int i = 0; i < c->opt.max_conns; i++) {
        iiifs_conn *k = c->conn[i];
        if (!k) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        iiifs_str h = { k->host, strlen(k->host) };
        if (k->open && k->https == u->https && k->port == u->port &&
            iiifs_str_eq_nocase(h, u->host)) {
            if (port_tcp_idle_ok(k->sock)) {
                *out = k;
                return 0;
            }
            conn_close(k); /* the server hung up while it was idle */
        }
        if (!k->open && (!pick || pick->open))
            pick = k;
        else if (!pick || (pick->open && k->last_used < pick->last_used))
            pick = k;
    }
    if (free_slot >= 0 && (!pick || pick->open)) {
        pick = port_malloc(sizeof *pick);
        if (!pick)
            return iiifs_fail(e, IIIFS_E_NOMEM, "out of memory for a connection");
        memset(pick, 0, sizeof *pick);
        pick->sock.h = PORT_SOCK_NONE;
        c->conn[free_slot] = pick;
    }
    conn_close(pick);

    if (u->https && !c->tls_tried) {
        c->tls_tried = 1;
        int rc = iiifs_tls_config_init(&c->tls, c->opt.cacert, c->opt.insecure, e);
        if (rc)
            return rc;
    }
    if (u->https && !c->tls.ready)
        return iiifs_fail(e, IIIFS_E_TLS, "TLS is not available");

    int rc = port_tcp_connect(u->host, u->port, c->opt.timeout_ms, &pick->sock);
    if (rc) {
        const char *what = rc == IIIFS_E_RESOLVE ? "cannot resolve"
                         : rc == IIIFS_E_TIMEOUT ? "timed out connecting to"
                                                 : "cannot connect to";
        return iiifs_fail(e, rc, "%s %s port %u: %s", what, u->host, (unsigned)u->port,
                          port_error_text());
    }
    c->connects++;
    pick->open = 1;
    pick->https = u->https;
    pick->port = u->port;
    pick->served = 0;
    memcpy(pick->host, u->host, sizeof pick->host);
    if (u->https) {
        rc = iiifs_tls_connect(&pick->tls, &c->tls, pick->sock, u->host, c->opt.timeout_ms, e);
        if (rc) {
            conn_close(pick);
            return rc;
        }
    }
    *out = pick;
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
    long r = conn_read(k, k->rbuf + k->rlen, sizeof k->rbuf - k->rlen, c->opt.timeout_ms);
    if (r == 0)
        return IIIFS_E_CLOSED;
    if (r < 0)
        return (int)r;
    k->rlen += (size_t)r;
    c->bytes_in += (uint64_t)r;
    return 0;
}

static int host_header(const iiifs_url *u, char *out, size_t cap)
{
    int v6 = strchr(u->host, ':') != NULL;
    int dflt = u->port == (u->https ? 443 : 80);
    if (dflt)
        return iiifs_format(out, cap, v6 ? "[%s]" : "%s", u->host);
    return iiifs_format(out, cap, v6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);
}

/* Read the body described by h into body. */
static int read_body(iiifs_http *c, iiifs_conn *k, const iiifs_http_head *h, iiifs_buf *body,
                     const char *url, iiifs_error *e)
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
        if ((rc = iiifs_buf_reserve(body, (size_t)left)) != 0)
            return iiifs_fail(e, rc, "%s: no memory for a body of %llu bytes", url,
                              (unsigned long long)left);
        size_t have = IIIFS_MIN((uint64_t)(k->rlen - k->rpos), left);
        iiifs_buf_append(body, k->rbuf + k->rpos, have);
        k->rpos += have;
        left -= have;
        while (left) {
            long r = conn_read(k, body->p + body->len, (size_t)left, c->opt.timeout_ms);
            if (r <= 0) {
                rc = r == 0 ? IIIFS_E_CLOSED : (int)r;
                return iiifs_fail(e, rc, "%s: %s after %zu of %llu body bytes", url,
                                  r == 0 ? "connection closed" : net_what(rc), body->len,
                                  (unsigned long long)h->content_length);
            }
            body->len += (size_t)r;
            left -= (uint64_t)r;
            c->bytes_in += (uint64_t)r;
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
            if (rc == IIIFS_E_LIMIT || rc == IIIFS_E_NOMEM)
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
                return iiifs_fail(e, rc, "%s: body exceeds the cap of %zu bytes", url,
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

/* One request/response exchange on a pooled connection, no redirects. */
static int exchange(iiifs_http *c, const char *url, iiifs_buf *body, iiifs_http_head *h,
                    iiifs_response *r, char *loc, size_t loc_cap, iiifs_error *e)
{
    iiifs_url u;
    int rc = iiifs_url_parse(&u, url, e);
    if (rc)
        return rc;
    char host[IIIFS_HOST_MAX + 16], req[IIIFS_URL_MAX + 1024];
    if (host_header(&u, host, sizeof host) ||
        iiifs_format(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
                     "Connection: keep-alive\r\n\r\n",
                     u.target, host, c->opt.user_agent))
        return iiifs_fail(e, IIIFS_E_LIMIT, "request for %s too long", url);

    iiifs_conn *k = NULL;
    for (int attempt = 0;; attempt++) {
        if ((rc = conn_get(c, &u, &k, e)) != 0)
            return rc;
        int reused = k->served > 0;
        c->requests++;
        long w = conn_write(k, req, strlen(req), c->opt.timeout_ms);
        rc = w < 0 ? (int)w : 0;
        /* Read the head; skip interim 1xx responses. */
        while (rc == 0) {
            int n = k->rlen > k->rpos
                        ? iiifs_http_parse_head(k->rbuf + k->rpos, k->rlen - k->rpos, h)
                        : IIIFS_E_AGAIN;
            if (n > 0) {
                k->rpos += (size_t)n;
                if (h->status == 101) {
                    conn_close(k);
                    return iiifs_fail(e, IIIFS_E_HTTP_PROTO,
                                      "%s: unexpected 101 Switching Protocols", url);
                }
                if (h->status < 200)
                    continue;
                break;
            }
            if (n != IIIFS_E_AGAIN) {
                conn_close(k);
                return iiifs_fail(e, n, "%s: %s", url, h->error ? h->error : "malformed response");
            }
            size_t before = k->rlen - k->rpos;
            rc = fill(c, k);
            if (rc == IIIFS_E_CLOSED && before > 0)
                rc = IIIFS_E_HTTP_PROTO;
        }
        if (rc == 0)
            break;
        /* A reused keep-alive connection may have been closed by the server
         * just before our request: retry once on a fresh one. */
        int nothing = k->rlen == k->rpos;
        conn_close(k);
        if (reused && attempt == 0 && nothing && (rc == IIIFS_E_CLOSED || rc == IIIFS_E_IO))
            continue;
        if (rc == IIIFS_E_HTTP_PROTO)
            return iiifs_fail(e, rc, "%s: connection closed in the middle of the response head",
                              url);
        if (rc == IIIFS_E_CLOSED)
            return iiifs_fail(e, rc, "%s: connection closed before any response", url);
        return iiifs_fail(e, rc, "%s: %s waiting for the response", url, net_what(rc));
    }

    /* Views into k->rbuf die when the body is read: copy what we keep. */
    r->status = h->status;
    size_t ct = IIIFS_MIN(h->content_type.n, sizeof r->content_type - 1);
    memcpy(r->content_type, h->content_type.p, ct);
    r->content_type[ct] = 0;
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
    rc = read_body(c, k, h, body, url, e);
    if (rc == 0 && coded && body->len)
        rc = inflate_body(body, url, e);
    k->served++;
    k->last_used = port_now_ms();
    /* Only a cleanly finished response with nothing left over is reusable. */
    if (rc || !h->keep_alive || k->rpos != k->rlen)
        conn_close(k);
    return rc;
}

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int iiifs_http_get(iiifs_http *c, const char *url, iiifs_buf *body, iiifs_response *r,
                   iiifs_error *e)
{
    iiifs_http_head h;
    memset(r, 0, sizeof *r);
    if (iiifs_copy(r->url, sizeof r->url, url))
        return iiifs_fail(e, IIIFS_E_URL, "URL longer than %d bytes", IIIFS_URL_MAX);
    char loc[IIIFS_URL_MAX], next[IIIFS_URL_MAX];
    for (;;) {
        int rc = exchange(c, r->url, body, &h, r, loc, sizeof loc, e);
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
        iiifs_url check;
        iiifs_error ignore = { 0, "" };
        if (iiifs_url_parse(&check, next, &ignore))
            return iiifs_fail(e, IIIFS_E_REDIRECT, "%s: HTTP %d redirect to unusable URL '%.200s'",
                              r->url, r->status, loc);
        memcpy(r->url, next, sizeof next);
        r->redirects++;
    }
}
