/*
 * http.h — a minimal HTTP/1.1 GET client: keep-alive connection pool,
 * Content-Length, chunked and close-delimited bodies, redirects, timeouts,
 * TLS through tls.h. Every size is capped (util.h); every malformed response
 * is an error naming the URL and what was wrong.
 *
 * A non-2xx final status is not an error here: it is returned in
 * r->status with its body, and the caller decides.
 */
#ifndef IIIFS_HTTP_H
#define IIIFS_HTTP_H

#include "http_parse.h"
#include "tls.h"
#include "url.h"

#ifndef IIIFS_CONN_RBUF
#define IIIFS_CONN_RBUF IIIFS_HTTP_HEAD_MAX   /* a head must fit in one read buffer */
#endif

typedef struct iiifs_conn {
    int open, https;
    char host[IIIFS_HOST_MAX];
    uint16_t port;
    port_sock sock;
    iiifs_tls tls;
    uint32_t served;                /* responses read on this connection */
    uint64_t last_used;
    size_t rpos, rlen;
    char rbuf[IIIFS_CONN_RBUF];
} iiifs_conn;

typedef struct iiifs_http_options {
    uint32_t timeout_ms;
    const char *cacert;
    int insecure;
    const char *user_agent;
    int max_conns;                  /* pool size, 1..IIIFS_CONN_MAX */
} iiifs_http_options;

typedef struct iiifs_http {
    iiifs_http_options opt;
    iiifs_conn *conn[IIIFS_CONN_MAX];
    iiifs_tls_config tls;
    int tls_tried;
    uint32_t requests;              /* requests sent, redirects included */
    uint32_t connects;
    uint64_t bytes_in;              /* bytes received, heads included */
} iiifs_http;

typedef struct iiifs_response {
    int status;
    char url[IIIFS_URL_MAX];        /* final URL, after redirects */
    char content_type[128];
    uint32_t redirects;
    uint32_t retry_after_ms;        /* Retry-After of the final response, 0 = none */
} iiifs_response;

void iiifs_http_init(iiifs_http *c, const iiifs_http_options *o);
void iiifs_http_free(iiifs_http *c);
/* GET url; the body lands in body (reset first, capped at body->limit). */
int iiifs_http_get(iiifs_http *c, const char *url, iiifs_buf *body, iiifs_response *r,
                   iiifs_error *e);

#endif
