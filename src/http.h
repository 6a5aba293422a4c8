/*
 * http.h — a minimal HTTP/1.1 GET client: keep-alive connection pool,
 * Content-Length, chunked and close-delimited bodies, redirects, timeouts,
 * TLS through tls.h, http proxies through proxy.h. Every size is capped
 * (util.h); every malformed response is an error naming the URL and what
 * was wrong.
 *
 * A non-2xx final status is not an error here: it is returned in
 * r->status with its body, and the caller decides.
 *
 * User headers (-H, --cookie, --referer, --token) go to the host of the URL
 * given to iiifs_http_get. A redirect keeps them only while it stays on the
 * same host name (case-insensitive) and port and never goes from https to
 * http; once dropped in a redirect chain they stay dropped. Built-in
 * headers (User-Agent, Accept) replaced by a user header come back when the
 * user headers are dropped.
 *
 * Threads: one iiifs_http handle per thread; the handles of every thread
 * (and of every job of a batch) share one iiifs_http_shared: the options,
 * the TLS configuration and the pool of keep-alive connections.
 */
#ifndef IIIFS_HTTP_H
#define IIIFS_HTTP_H

#include "http_parse.h"
#include "proxy.h"
#include "tls.h"
#include "url.h"

#ifndef IIIFS_CONN_RBUF
#define IIIFS_CONN_RBUF IIIFS_HTTP_HEAD_MAX   /* a head must fit in one read buffer */
#endif
#ifndef IIIFS_HTTP_REQUEST_MAX                /* one request head, absolute form included */
#define IIIFS_HTTP_REQUEST_MAX (IIIFS_URL_MAX + 2 * IIIFS_HOST_MAX + IIIFS_HTTP_EXTRA_BYTES_MAX + \
                                IIIFS_PROXY_AUTH_MAX + 1024)
#endif

/* How a connection reaches its origin. */
enum { IIIFS_ROUTE_DIRECT, IIIFS_ROUTE_FORWARD /* http via proxy */,
       IIIFS_ROUTE_TUNNEL /* https via CONNECT */ };

typedef struct iiifs_conn {
    int open, https;                /* https: TLS on this socket (direct or tunnelled) */
    int route;                      /* IIIFS_ROUTE_* */
    char host[IIIFS_HOST_MAX];      /* origin; unused for ROUTE_FORWARD */
    uint16_t port;
    char proxy[IIIFS_HOST_MAX];     /* proxy host, "" when direct */
    uint16_t proxy_port;
    port_sock sock;
    iiifs_tls tls;
    uint32_t served;                /* responses read on this connection */
    uint64_t last_used;
    int busy;                       /* taken by a handle for one exchange */
    int pooled;                     /* in the shared pool (else the handle's own) */
    size_t rpos, rlen;
    char rbuf[IIIFS_CONN_RBUF];
} iiifs_conn;

/* Built-in request headers a user header may replace. */
#define IIIFS_HTTP_REPLACES_USER_AGENT 1u
#define IIIFS_HTTP_REPLACES_ACCEPT 2u

/* What the client is told (the strings are read during
 * iiifs_http_options_from only). */
typedef struct iiifs_http_settings {
    uint32_t timeout_ms;            /* 0 = IIIFS_TIMEOUT_MS_DEFAULT */
    const char *cacert;
    int insecure;
    const char *user_agent;         /* NULL = "iiifstitch/VERSION" */
    const char *const *headers;     /* "Name: value" each (-H) */
    int nheaders;
    const char *cookie, *referer, *token;
    const char *proxy;              /* NULL = the environment, "" = none */
} iiifs_http_settings;

typedef struct iiifs_http_options {
    uint32_t timeout_ms;
    char cacert[IIIFS_PATH_MAX];    /* "" = SSL_CERT_FILE, then the system's */
    int insecure;
    char user_agent[IIIFS_HTTP_EXTRA_BYTES_MAX + 1];
    /* All zero = none. */
    char headers[IIIFS_HTTP_EXTRA_BYTES_MAX]; /* user headers, "Name: value\r\n" each */
    size_t headers_len;
    int nheaders;
    unsigned replaces;              /* IIIFS_HTTP_REPLACES_* */
    iiifs_proxy proxy_http;         /* for http URLs; host "" = direct */
    iiifs_proxy proxy_https;        /* for https URLs (CONNECT) */
    char no_proxy[IIIFS_NO_PROXY_MAX];
} iiifs_http_options;

/* The part every thread shares: the options, the TLS configuration (the CA
 * bundle parsed once, on the first https connection of any thread, a
 * failure remembered and repeated to all; the random generator behind a
 * mutex) and the pool of keep-alive connections, at most IIIFS_POOL_MAX
 * (the least recently used idle one makes room; when every one is busy a
 * connection of its own serves the request and is closed after it). */
typedef struct iiifs_http_shared iiifs_http_shared;

#ifndef IIIFS_POOL_MAX
#define IIIFS_POOL_MAX (2 * IIIFS_CONN_MAX)   /* pooled connections, all servers */
#endif

/* One thread's handle: its request buffer and its counters. Connections
 * are taken from the shared pool for one exchange and given back. */
typedef struct iiifs_http {
    iiifs_http_shared *shared;
    const iiifs_http_options *opt;  /* the shared options */
    char req[IIIFS_HTTP_REQUEST_MAX];
    uint32_t requests;              /* requests sent, redirects included */
    uint32_t connects;              /* connections opened */
    uint32_t handshakes;            /* TLS handshakes completed */
    uint64_t bytes_in;              /* bytes received, heads included */
} iiifs_http;

typedef struct iiifs_response {
    int status;
    char url[IIIFS_URL_MAX];        /* final URL, after redirects */
    char content_type[128];
    uint32_t redirects;
    uint32_t retry_after_ms;        /* Retry-After of the final response; 0 = absent or unparseable */
    uint64_t want;                  /* IIIFS_E_NOMEM: the body bytes that could not be
                                       held (its Content-Length, or what it grew to) */
} iiifs_response;

/* Fill every field of ho from s: timeout, CA bundle, insecure, user agent,
 * user headers (validated: IIIFS_E_USAGE naming the bad argument), proxies
 * (s->proxy, else http_proxy/https_proxy and no_proxy from the environment
 * through port_getenv). */
int iiifs_http_options_from(iiifs_http_options *ho, const iiifs_http_settings *s,
                            iiifs_error *e);
/* Append one user header "Name: value" (what names it in messages, e.g.
 * "-H"). Rejects malformed names, control characters (CR/LF injection) and
 * headers the client owns (Host, Content-Length, Transfer-Encoding,
 * Connection) with IIIFS_E_USAGE; the caps with IIIFS_E_USAGE too. */
int iiifs_http_header_add(iiifs_http_options *ho, const char *line, const char *what,
                          iiifs_error *e);
/* The request head of GET u into out (NUL-terminated), *len its length.
 * proxy non-NULL: forwarded through that http proxy (absolute-form target,
 * Proxy-Authorization). user: include the user headers. */
int iiifs_http_request_head(const iiifs_http_options *o, const iiifs_url *u,
                            const iiifs_proxy *proxy, int user, char *out, size_t cap,
                            size_t *len);
/* The CONNECT request opening a tunnel to u's host and port through proxy. */
int iiifs_http_connect_head(const iiifs_http_options *o, const iiifs_url *u,
                            const iiifs_proxy *proxy, char *out, size_t cap, size_t *len);

/* The shared part, with a copy of o. */
int iiifs_http_shared_new(iiifs_http_shared **s, const iiifs_http_options *o, iiifs_error *e);
void iiifs_http_shared_free(iiifs_http_shared *s);   /* NULL is fine; every handle gone */
/* Totals of the handles freed so far. */
void iiifs_http_shared_totals(iiifs_http_shared *s, uint64_t *requests, uint64_t *connects,
                              uint64_t *handshakes, uint64_t *bytes_in);

void iiifs_http_init(iiifs_http *c, iiifs_http_shared *s);
/* Adds the handle's counters to the shared totals. */
void iiifs_http_free(iiifs_http *c);
/* GET url; the body lands in body (reset first, capped at body->limit; a body
 * over the limit is IIIFS_E_LIMIT, one the allocator refuses IIIFS_E_NOMEM
 * with r->want). */
int iiifs_http_get(iiifs_http *c, const char *url, iiifs_buf *body, iiifs_response *r,
                   iiifs_error *e);

#endif
