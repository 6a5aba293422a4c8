/*
 * fetch.c — see fetch.h.
 */
#include "fetch.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the rules */

int iiifs_fetch_transient(int rc, int status)
{
    if (rc == IIIFS_E_HTTP_STATUS)
        return status == 408 || status == 429 || status == 500 || status == 502 ||
               status == 503 || status == 504;
    return rc == IIIFS_E_TIMEOUT || rc == IIIFS_E_CLOSED || rc == IIIFS_E_CONNECT;
}

uint32_t iiifs_fetch_backoff_ms(uint32_t tries, uint32_t rnd)
{
    uint32_t d = IIIFS_BACKOFF_MS;
    for (uint32_t i = 1; i < tries && d < IIIFS_BACKOFF_MAX_MS / 2; i++)
        d *= 2;
    d = IIIFS_MIN(d, IIIFS_BACKOFF_MAX_MS / 2);
    return d + rnd % (d + 1);
}

uint32_t iiifs_fetch_delay_ms(uint32_t tries, uint32_t retry_after_ms, uint32_t rnd)
{
    uint32_t d = iiifs_fetch_backoff_ms(tries, rnd);
    uint32_t ra = IIIFS_MIN(retry_after_ms, IIIFS_RETRY_AFTER_MAX_MS);
    return IIIFS_MAX(d, ra);
}

uint32_t iiifs_fetch_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 2685821657736338717ull) >> 32);
}

/* ---- one server */

int iiifs_origin_try(iiifs_origin *o, const iiifs_polite_rules *r, uint64_t now_us,
                     uint32_t *gen, uint64_t *wake_ms)
{
    uint64_t now_ms = now_us / 1000u;
    *wake_ms = UINT64_MAX;
    if (now_ms < o->pause_until) {
        *wake_ms = o->pause_until;
        return 0;
    }
    if (o->inflight >= o->active)
        return 0;
    if (r->gap_us && now_us < o->next_send_us) {
        *wake_ms = (o->next_send_us + 999u) / 1000u;
        return 0;
    }
    if (r->gap_us)
        o->next_send_us = now_us + r->gap_us;
    o->inflight++;
    o->last_used = now_ms;
    *gen = o->gen;
    return 1;
}

uint32_t iiifs_origin_done(iiifs_origin *o, const iiifs_polite_rules *r, uint32_t gen, int rc,
                           int status, uint32_t retry_after_ms, uint64_t now_ms)
{
    if (o->inflight)
        o->inflight--;
    o->last_used = now_ms;
    if (rc == 0) {
        if (o->streak < UINT32_MAX)
            o->streak++;
        if (o->active < r->limit && o->streak >= IIIFS_GROW_AFTER) {
            o->active++;
            o->streak = 0;
        }
        return 0;
    }
    if (!iiifs_fetch_transient(rc, status))
        return 0;
    o->streak = 0;
    if (retry_after_ms) {
        uint64_t until = now_ms + IIIFS_MIN(retry_after_ms, IIIFS_RETRY_AFTER_MAX_MS);
        o->pause_until = IIIFS_MAX(o->pause_until, until);
    }
    if (rc == IIIFS_E_HTTP_STATUS && (status == 429 || status == 503) && gen == o->gen &&
        o->active > 1) {
        o->active /= 2;
        o->gen++;
        return o->active;
    }
    return 0;
}

/* ---- the politeness of every server, locked */

static uint64_t port_now_us(void *ud)
{
    (void)ud;
    return port_now_ms() * 1000u;
}

static void port_sleep(void *ud, uint32_t ms)
{
    (void)ud;
    port_sleep_ms(ms);
}

const iiifs_clock iiifs_clock_port = { port_now_us, port_sleep, NULL };

int iiifs_polite_init(iiifs_polite *p, uint32_t limit, double rate, const iiifs_clock *clock,
                      iiifs_error *e)
{
    memset(p, 0, sizeof *p);
    if (limit < 1 || limit > IIIFS_CONN_MAX)
        return iiifs_fail(e, IIIFS_E_USAGE, "%u connections: from 1 to %u", limit,
                          IIIFS_CONN_MAX);
    if (!(rate >= 0) || rate > 1e6)
        return iiifs_fail(e, IIIFS_E_USAGE, "rate %g is not in [0, 1e6] requests/s", rate);
    p->rules.limit = limit;
    p->rules.gap_us = rate > 0 ? (uint64_t)(1e6 / rate + 0.5) : 0;
    p->clock = clock ? *clock : iiifs_clock_port;
    if (port_mutex_new(&p->mu) || port_cond_new(&p->freed)) {
        iiifs_polite_free(p);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the politeness locks");
    }
    return 0;
}

void iiifs_polite_free(iiifs_polite *p)
{
    port_cond_free(p->freed);
    port_mutex_free(p->mu);
    p->freed = NULL;
    p->mu = NULL;
}

int iiifs_origin_key(const char *url, char *out, size_t cap)
{
    iiifs_url u;
    iiifs_error ignore = { 0, "" };
    if (iiifs_url_parse(&u, url, &ignore))
        return IIIFS_E_URL;
    int rc = iiifs_format(out, cap, strchr(u.host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
                          u.https ? "https" : "http", u.host, (unsigned)u.port);
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    return rc;
}

/* The state of key, made when new: an unused entry, or the least recently
 * used one that nothing holds (mu held). NULL when every one is held. */
static iiifs_origin *origin_of(iiifs_polite *p, const char *key, uint64_t now_ms)
{
    iiifs_origin *spare = NULL;
    for (int i = 0; i < IIIFS_ORIGINS_MAX; i++) {
        iiifs_origin *o = &p->origin[i];
        if (o->key[0] && !strcmp(o->key, key))
            return o;
        int idle = !o->key[0] || (!o->inflight && !o->nwaiters && o->pause_until <= now_ms);
        if (idle && (!spare || !o->key[0] || (spare->key[0] && o->last_used < spare->last_used)))
            spare = o;
    }
    if (!spare)
        return NULL;
    memset(spare, 0, sizeof *spare);
    iiifs_copy(spare->key, sizeof spare->key, key);
    spare->active = p->rules.limit;
    return spare;
}

static void add_waiter(iiifs_origin *o, iiifs_waiter *w)
{
    for (uint32_t i = 0; i < o->nwaiters; i++)
        if (o->waiter[i] == w)
            return;
    if (o->nwaiters < IIIFS_WAITERS_MAX)
        o->waiter[o->nwaiters++] = w;
}

int iiifs_polite_try(iiifs_polite *p, const char *key, iiifs_waiter *w, iiifs_grant *g,
                     uint64_t *wake_ms, iiifs_error *e)
{
    uint64_t now = p->clock.now_us(p->clock.ud);
    port_mutex_lock(p->mu);
    iiifs_origin *o = origin_of(p, key, now / 1000u);
    if (!o) {
        port_mutex_unlock(p->mu);
        return iiifs_fail(e, IIIFS_E_LIMIT, "more than %d servers at once (IIIFS_ORIGINS_MAX)",
                          IIIFS_ORIGINS_MAX);
    }
    int ok = iiifs_origin_try(o, &p->rules, now, &g->gen, wake_ms);
    if (ok)
        g->o = o;
    else if (w)
        add_waiter(o, w);
    port_mutex_unlock(p->mu);
    return ok;
}

int iiifs_polite_acquire(iiifs_polite *p, const char *key, iiifs_grant *g, iiifs_error *e)
{
    for (;;) {
        uint64_t wake;
        int rc = iiifs_polite_try(p, key, NULL, g, &wake, e);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        uint64_t now = p->clock.now_us(p->clock.ud) / 1000u;
        if (wake != UINT64_MAX) {
            if (wake > now)
                p->clock.sleep_ms(p->clock.ud, (uint32_t)IIIFS_MIN(wake - now, 60000u));
            continue;
        }
        port_mutex_lock(p->mu);
        /* a request ends, or at the latest a second goes by: look again */
        port_cond_wait(p->freed, p->mu, 1000u);
        port_mutex_unlock(p->mu);
    }
}

uint32_t iiifs_polite_release(iiifs_polite *p, iiifs_grant *g, int rc, int status,
                              uint32_t retry_after_ms)
{
    if (!g->o)
        return 0;
    iiifs_waiter *wake[IIIFS_WAITERS_MAX];
    uint64_t now = p->clock.now_us(p->clock.ud) / 1000u;
    port_mutex_lock(p->mu);
    uint32_t halved = iiifs_origin_done(g->o, &p->rules, g->gen, rc, status, retry_after_ms, now);
    uint32_t n = g->o->nwaiters;
    memcpy(wake, g->o->waiter, n * sizeof wake[0]);
    g->o->nwaiters = 0;
    p->waking++;
    port_cond_broadcast(p->freed);
    port_mutex_unlock(p->mu);
    g->o = NULL;
    /* under each waiter's own lock: it checked under that lock before waiting */
    for (uint32_t i = 0; i < n; i++) {
        port_mutex_lock(wake[i]->mu);
        port_cond_broadcast(wake[i]->cond);
        port_mutex_unlock(wake[i]->mu);
    }
    port_mutex_lock(p->mu);
    p->waking--;
    port_cond_broadcast(p->freed);
    port_mutex_unlock(p->mu);
    return halved;
}

void iiifs_polite_forget(iiifs_polite *p, iiifs_waiter *w)
{
    port_mutex_lock(p->mu);
    for (int i = 0; i < IIIFS_ORIGINS_MAX; i++) {
        iiifs_origin *o = &p->origin[i];
        for (uint32_t k = 0; k < o->nwaiters;)
            if (o->waiter[k] == w)
                o->waiter[k] = o->waiter[--o->nwaiters];
            else
                k++;
    }
    while (p->waking)           /* a release may hold a copy of w */
        port_cond_wait(p->freed, p->mu, PORT_WAIT_FOREVER);
    port_mutex_unlock(p->mu);
}

/* ---- fetching */

void iiifs_fetcher_init(iiifs_fetcher *f, iiifs_http *http, iiifs_polite *polite,
                        uint32_t tries)
{
    memset(f, 0, sizeof *f);
    f->http = http;
    f->polite = polite;
    f->tries = tries ? tries : 1;
    uint64_t seed = 0;
    port_entropy(&seed, sizeof seed);
    f->rng = seed | 1u;
}

static int http_get(void *ud, const char *url, iiifs_buf *body, iiifs_response *r,
                    iiifs_error *e)
{
    return iiifs_http_get(ud, url, body, r, e);
}

int iiifs_fetch_raw(iiifs_fetcher *f, const char *url, iiifs_buf *body, iiifs_response *r,
                    iiifs_error *e)
{
    iiifs_get_fn get = f->get ? f->get : http_get;
    void *ud = f->get ? f->get_ud : (void *)f->http;
    int rc = get(ud, url, body, r, e);
    if (rc)
        return rc;
    if (r->status < 200 || r->status > 299)
        return iiifs_fail(e, IIIFS_E_HTTP_STATUS, "HTTP %d%s%s%s for %s", r->status,
                          r->content_type[0] ? " (" : "", r->content_type,
                          r->content_type[0] ? ")" : "", r->url);
    return 0;
}

static void warn(iiifs_fetcher *f, const char *fmt, ...) IIIFS_PRINTF(2, 3);

static void warn(iiifs_fetcher *f, const char *fmt, ...)
{
    if (!f->warn)
        return;
    char line[IIIFS_ERROR_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    f->warn(f->ud, line);
}

/* One try of a URL under the rules: wait for the server, ask, tell it how
 * it went. */
static int polite_get(iiifs_fetcher *f, const char *key, const char *url, iiifs_buf *body,
                      iiifs_response *r, iiifs_error *e)
{
    iiifs_grant g = { NULL, 0 };
    memset(r, 0, sizeof *r);
    int rc = f->polite && key[0] ? iiifs_polite_acquire(f->polite, key, &g, e) : 0;
    if (rc)
        return rc;
    rc = iiifs_fetch_raw(f, url, body, r, e);
    if (g.o) {
        uint32_t halved = iiifs_polite_release(f->polite, &g, rc, r->status, r->retry_after_ms);
        if (halved)
            warn(f, "HTTP %d: the server is busy; down to %u connection%s", r->status, halved,
                 halved > 1 ? "s" : "");
    }
    return rc;
}

/* The size of the file at path, 0 when it cannot be told. */
static uint64_t file_size(const char *path)
{
    port_file pf;
    if (port_file_open_read(path, &pf))
        return 0;
    int64_t n = port_file_size(pf);
    port_file_close(&pf);
    return n > 0 ? (uint64_t)n : 0;
}

/* A local file whole into body; the allocator's refusal says, in *want, how
 * much it needed. */
static int read_file(iiifs_fetcher *f, const char *path, iiifs_buf *body, uint64_t *want,
                     iiifs_error *e)
{
    int rc = iiifs_buf_read_file(body, path, e);
    if (rc == IIIFS_E_NOMEM && want)
        *want = file_size(path);
    if (rc)
        return rc;
    f->files++;
    f->file_bytes += body->len;
    return 0;
}

int iiifs_fetch_once(iiifs_fetcher *f, const char *src, iiifs_buf *body, iiifs_response *r,
                     iiifs_error *e)
{
    memset(r, 0, sizeof *r);
    if (iiifs_url_has_scheme(src))
        return iiifs_fetch_raw(f, src, body, r, e);
    iiifs_copy(r->url, sizeof r->url, src);
    return read_file(f, src, body, &r->want, e);
}

int iiifs_fetch_document(iiifs_fetcher *f, const char *src, iiifs_buf *body, char *final,
                         size_t cap, iiifs_error *e)
{
    if (!iiifs_url_has_scheme(src)) {
        int rc = read_file(f, src, body, NULL, e);
        if (rc)
            return rc;
        return final && iiifs_copy(final, cap, src)
               ? iiifs_fail(e, IIIFS_E_LIMIT, "path too long: %.200s", src) : 0;
    }
    char key[IIIFS_ORIGIN_KEY_MAX] = "";
    iiifs_origin_key(src, key, sizeof key);
    iiifs_response r;
    for (uint32_t tries = 1;; tries++) {
        iiifs_error e1 = { 0, "" };
        int rc = polite_get(f, key, src, body, &r, &e1);
        if (rc == 0)
            return final && iiifs_copy(final, cap, r.url)
                   ? iiifs_fail(e, IIIFS_E_URL, "URL too long: %.200s", r.url) : 0;
        int status = rc == IIIFS_E_HTTP_STATUS ? r.status : 0;
        if (!iiifs_fetch_transient(rc, status) || tries >= f->tries) {
            if (tries > 1)
                return iiifs_fail(e, rc, "%s after %u tries", e1.msg, tries);
            *e = e1;
            return rc;
        }
        uint32_t delay = iiifs_fetch_delay_ms(tries, r.retry_after_ms, iiifs_fetch_rand(&f->rng));
        f->retries++;
        warn(f, "%s; try %u of %u in %.1f s", e1.msg, tries + 1, f->tries, delay / 1e3);
        iiifs_clock clock = f->polite ? f->polite->clock : iiifs_clock_port;
        clock.sleep_ms(clock.ud, delay);
    }
}
