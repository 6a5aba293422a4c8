/*
 * client.c — see client.h and iiifstitch.h.
 */
#include "client.h"

#include <string.h>

static int check(const iiifs_client_options *o, iiifs_error *e)
{
    if (o->connections > IIIFS_CONN_MAX)
        return iiifs_fail(e, IIIFS_E_USAGE, "%u connections: at most %u", o->connections,
                          IIIFS_CONN_MAX);
    if (o->max_memory && o->max_memory < IIIFS_MAX_MEMORY_MIN)
        return iiifs_fail(e, IIIFS_E_USAGE, "memory cap of %zu bytes: at least %u",
                          o->max_memory, IIIFS_MAX_MEMORY_MIN);
    if (o->tries > 1000)
        return iiifs_fail(e, IIIFS_E_USAGE, "%u tries per request: at most 1000", o->tries);
    return 0;
}

int iiifs_client_new(iiifs_client **out, const iiifs_client_options *o, iiifs_error *e)
{
    *out = NULL;
    int rc = check(o, e);
    if (rc)
        return rc;
    iiifs_http_settings hs = { o->timeout_ms, o->cacert, o->insecure, o->user_agent,
                               o->headers, o->nheaders, o->cookie, o->referer, o->token,
                               o->proxy };
    iiifs_http_options *ho = port_malloc(sizeof *ho);   /* 30 KB: not on the stack */
    iiifs_client *c = port_malloc(sizeof *c);
    if (!ho || !c) {
        port_free(ho);
        port_free(c);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the client");
    }
    memset(c, 0, sizeof *c);
    c->connections = o->connections ? o->connections : IIIFS_CONNECTIONS_DEFAULT;
    c->tries = o->tries ? o->tries : 1u + IIIFS_RETRIES_DEFAULT;
    c->max_memory = o->max_memory ? o->max_memory : IIIFS_MAX_MEMORY_DEFAULT;
    c->on_warning = o->on_warning;
    c->ud = o->ud;
    rc = iiifs_http_options_from(ho, &hs, e);
    if (!rc)
        rc = iiifs_http_shared_new(&c->http, ho, e);
    port_free(ho);
    if (!rc)
        rc = iiifs_polite_init(&c->polite, c->connections, o->rate, NULL, e);
    if (rc) {
        iiifs_http_shared_free(c->http);
        port_free(c);
        return rc;
    }
    c->cap_before = port_mem_cap();
    port_mem_set_cap(c->max_memory);
    *out = c;
    return 0;
}

void iiifs_client_free(iiifs_client *c)
{
    if (!c)
        return;
    iiifs_http_shared_free(c->http);
    iiifs_polite_free(&c->polite);
    port_mem_set_cap(c->cap_before);
    port_free(c);
}

void iiifs_client_stats_get(const iiifs_client *c, iiifs_client_stats *s)
{
    memset(s, 0, sizeof *s);
    iiifs_http_shared_totals(c->http, &s->requests, &s->connects, &s->handshakes,
                             &s->bytes_in);
}

void iiifs_client_fetcher(iiifs_client *c, iiifs_fetcher *f, iiifs_http *http,
                          void (*warn)(void *ud, const char *msg), void *ud)
{
    iiifs_http_init(http, c->http);
    iiifs_fetcher_init(f, http, &c->polite, c->tries);
    f->warn = warn ? warn : c->on_warning;
    f->ud = warn ? ud : c->ud;
}
