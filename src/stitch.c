/*
 * stitch.c — the pipeline: resolve the info.json, plan the grid, fetch the
 * tiles over several keep-alive connections, decode each into its place in
 * the band, and write every complete band as one TIFF strip, in raster order.
 *
 * Threads. Worker k owns connection k: its own iiifs_http and decoder.
 * Tiles are handed out in raster order, within a window of tiles ahead of
 * the band. A tile of the band's row is decoded at once, into the band, by
 * the thread that fetched it; a tile of a later row waits, compressed, in a
 * slot until the band reaches its row. The calling thread writes complete
 * bands, decodes waiting tiles and calls the observers. With one connection
 * (or a port without threads) the calling thread does all of it itself, in
 * the same order.
 *
 * Memory: one band (out_w x band height x channels), the slots' compressed
 * tiles (each buffer grows to the largest tile and is kept), one decoder
 * and one connection per worker. Slots are only filled while the memory
 * they would take fits under max_memory. Nothing depends on image height;
 * nothing is allocated per tile once the buffers have grown.
 *
 * Politeness. Transient failures (timeouts, dropped connections, 408, 429,
 * 500, 502, 503, 504) are tried again after an exponential, jittered
 * backoff; other statuses are final. Retry-After pauses every connection.
 * A 429 or 503 halves the connections in use; one comes back after every
 * IIIFS_GROW_AFTER successes. A rate limit spaces requests evenly.
 *
 * A source without a scheme is a local info.json in a static tile tree;
 * tiles are then read from the files the same URLs name (the benchmark
 * floor uses this path with one connection).
 */
#include "decode.h"
#include "http.h"
#include "info.h"
#include "manifest.h"
#include "plan.h"
#include "resume.h"
#include "sink.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef IIIFS_SLOTS_MAX
#define IIIFS_SLOTS_MAX 4096u           /* tiles in flight or waiting */
#endif
#ifndef IIIFS_BACKOFF_MS
#define IIIFS_BACKOFF_MS 250u           /* first retry after 250..500 ms, then doubling */
#endif
#ifndef IIIFS_BACKOFF_MAX_MS
#define IIIFS_BACKOFF_MAX_MS 8000u
#endif
#ifndef IIIFS_RETRY_AFTER_MAX_MS
#define IIIFS_RETRY_AFTER_MAX_MS 120000u  /* longest Retry-After honoured */
#endif
#ifndef IIIFS_GROW_AFTER
#define IIIFS_GROW_AFTER 16u            /* successes before a connection comes back */
#endif
#ifndef IIIFS_WARNINGS_MAX
#define IIIFS_WARNINGS_MAX 16u          /* warnings queued between two observer calls */
#endif
#ifndef IIIFS_PROBE_SIDE
#define IIIFS_PROBE_SIDE 2048u          /* side of the request that probes a server's cap */
#endif
#define IIIFS_CLASSES 5                 /* interior, last column, last row, corner, whole */
#define IIIFS_LADDER_RUNGS 7            /* digest §4.4 steps 1-7 */
#ifndef IIIFS_PROGRESS_MS
#define IIIFS_PROGRESS_MS 200u
#endif

enum { SLOT_FREE, SLOT_BUSY, SLOT_WAITING, SLOT_RETRY };

typedef struct slot {
    iiifs_buf body;                 /* the compressed tile */
    uint32_t tile;                  /* raster index */
    uint32_t tries;                 /* requests made for it so far */
    uint64_t not_before;            /* SLOT_RETRY: ms */
    int state;
    int split;                      /* not fetched: ask for it in tile-sized pieces */
    int missing;                    /* --allow-partial: failed for good, filled in */
} slot;

struct job;

typedef struct worker {
    struct job *j;
    uint32_t id;
    iiifs_http http;
    int http_ready;
    iiifs_decoder *dec;
    port_thread *thread;
    uint32_t file_reads;
    uint64_t file_bytes;
    uint64_t rng;
    int last_status;                /* HTTP status of the last fetch */
    uint32_t retry_after_ms;
    uint64_t bytes_seen;            /* bytes_in as of the last tile, under mu */
    char url[IIIFS_URL_MAX];
    char what[IIIFS_URL_MAX + 64];
    uint8_t *scratch;               /* one decoded tile, when the view transforms */
} worker;

/* What of the plan's level goes out, and how: a crop (level pixels), a
 * mirror, then a clockwise rotation. Tiles are taken in groups that make
 * one band each, in the order the output's rows need them. */
typedef struct view {
    uint64_t cx, cy, cw, chh;       /* the crop */
    int mirror, rot;                /* rot: 0, 90, 180, 270 */
    int identity;                   /* none of it: tiles decode in place */
    uint64_t ow, oh;                /* output size */
    uint32_t n0, n1, m0, m1;        /* the tiles that meet the crop */
    uint32_t gsize, ngroups;        /* tiles per band, bands */
    uint32_t band_cap;              /* rows the largest band has */
} view;

typedef struct job {
    const iiifs_options *o;
    iiifs_http_options ho;
    iiifs_http_shared *shared;      /* CA chain and TLS configuration, parsed once */
    int local;                      /* source is a local file tree */
    uint32_t nconn, tries;
    size_t max_memory;
    int presentation;               /* resolve found a manifest or collection */
    uint64_t rate_gap_us;           /* 0 = no rate limit */
    iiifs_buf info_body;
    iiifs_info info;
    iiifs_plan plan;
    uint32_t tile_w, tile_h;        /* the advertised tiles, when plan asks for regions */
    int regions;                    /* plan asks for regions larger than the tiles */
    int split;                      /* a region came back the wrong size: pieces from now on */
    int tiles_declared;             /* the info.json declares a usable tile set */
    int learned[IIIFS_CLASSES];     /* the ladder: a form answered for this tile class */
    iiifs_form form[IIIFS_CLASSES];
    int form_alt_base[IIIFS_CLASSES];
    int probe_later;                /* --plan with --request-size auto: a probe would decide */
    view v;
    int started;                    /* worker threads run */
    worker w[IIIFS_CONN_MAX];
    worker self;                    /* the calling thread's decoder */
    uint32_t nworkers;
    int threaded;

    /* everything below is guarded by mu */
    port_mutex *mu;
    port_cond *work;                /* workers: a slot, a tile or a band is free */
    port_cond *wake_main;           /* the calling thread: a tile was decoded */
    slot *slots;
    uint32_t nslots, busy;
    uint32_t ntiles, next_tile, window;
    size_t est_tile;                /* largest compressed tile so far */
    uint8_t *band;
    size_t stride;
    int ch;
    uint32_t band_row, band_left;
    uint32_t tiles_done;
    slot *first;                    /* tile 0, once fetched */
    uint32_t active, gen, streak;   /* connections in use, halving generation */
    uint64_t pause_until;           /* Retry-After: no request before (ms) */
    uint64_t next_send_us;          /* rate limit */
    uint32_t retries;
    int stop, rc;
    iiifs_error err;
    char warnings[IIIFS_WARNINGS_MAX][IIIFS_ERROR_MAX];
    uint32_t nwarn, lost_warn;
    int warned_size;
    uint8_t *icc;                   /* the first tile's ICC profile, if it has one */
    size_t icc_len;
    uint32_t missing;               /* --allow-partial: tiles filled in (counted as
                                       their band is filled) */
    uint32_t missing_n[IIIFS_MISSING_MAX], missing_m[IIIFS_MISSING_MAX];
    uint32_t missing_saved;         /* of them, recorded in the resume state */

    /* --resume */
    iiifs_resume rs;
    int resume_ready;               /* rs was loaded: close it */
    uint64_t key;                   /* what the job is, for the state */
    uint32_t start_tile;            /* the first tile fetched: the first of the band
                                       the job starts at (0 unless continuing) */
    uint64_t skip_rows;             /* output rows the .part has already */

    iiifs_sink sink;
    int sink_open;
    uint64_t t0;
} job;

/* ---- shared state helpers (mu held unless said otherwise) */

static void warn_locked(job *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void warn_locked(job *j, const char *fmt, ...)
{
    if (j->nwarn == IIIFS_WARNINGS_MAX) {
        j->lost_warn++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->warnings[j->nwarn++], IIIFS_ERROR_MAX, fmt, ap);
    va_end(ap);
}

/* Record the job's failure (first one wins) and stop every thread. */
static int fail_locked(job *j, int rc, const iiifs_error *e)
{
    if (!j->rc) {
        j->rc = rc;
        j->err = *e;
    }
    j->stop = 1;
    port_cond_broadcast(j->work);
    port_cond_broadcast(j->wake_main);
    return rc;
}

/* Wait on c until signalled or until ms 'until' (UINT64_MAX: no limit). */
static void wait_until(job *j, port_cond *c, uint64_t until)
{
    if (until == UINT64_MAX) {
        port_cond_wait(c, j->mu, PORT_WAIT_FOREVER);
        return;
    }
    uint64_t now = port_now_ms();
    if (until > now)
        port_cond_wait(c, j->mu, (uint32_t)IIIFS_MIN(until - now, 60000u));
}

/* Hand queued warnings to the observer (called on the calling thread, mu held). */
static void flush_warnings(job *j)
{
    char msg[IIIFS_ERROR_MAX];
    while (j->nwarn || j->lost_warn) {
        if (j->nwarn) {
            memcpy(msg, j->warnings[0], sizeof msg);
            memmove(j->warnings[0], j->warnings[1], (size_t)(j->nwarn - 1) * IIIFS_ERROR_MAX);
            j->nwarn--;
        } else {
            snprintf(msg, sizeof msg, "%u more warnings not shown", j->lost_warn);
            j->lost_warn = 0;
        }
        if (j->o->on_warning) {
            port_mutex_unlock(j->mu);
            j->o->on_warning(j->o->ud, msg);
            port_mutex_lock(j->mu);
        }
    }
}

/* ceil of a non-negative double, without libm */
static double ceil_pos(double d)
{
    double f = (double)(uint64_t)d;
    return f < d ? f + 1.0 : f;
}

static uint32_t tile_row(const job *j, uint32_t t) { return t / j->v.gsize; }

/* The plan's tile (n, m) that is the view's k-th. */
static void tile_nm(const job *j, uint32_t k, uint32_t *n, uint32_t *m)
{
    const view *v = &j->v;
    uint32_t g = k / v->gsize, i = k % v->gsize;
    if (v->rot == 0 || v->rot == 180) {
        *m = v->rot == 0 ? v->m0 + g : v->m1 - g;
        *n = v->n0 + i;
    } else {
        int forward = (v->rot == 90) != v->mirror;
        *n = forward ? v->n0 + g : v->n1 - g;
        *m = v->m0 + i;
    }
}

static void view_tile(const job *j, uint32_t k, iiifs_tile *t)
{
    uint32_t n, m;
    tile_nm(j, k, &n, &m);
    iiifs_plan_tile(&j->plan, n, m, t);
}

/* [*a, *b) seen from the other end of [0, len). */
static void flip_span(uint64_t *a, uint64_t *b, uint64_t len)
{
    uint64_t a2 = len - *b;
    *b = len - *a;
    *a = a2;
}

/* Output rows [*y0, *y0 + *h) of band g. */
static void group_rows(const job *j, uint32_t g, uint64_t *y0, uint32_t *h)
{
    const view *v = &j->v;
    iiifs_tile t;
    view_tile(j, g * v->gsize, &t);
    uint64_t a, b;
    if (v->rot == 0 || v->rot == 180) {
        a = IIIFS_MAX(t.dest_y, v->cy) - v->cy;
        b = IIIFS_MIN(t.dest_y + t.hs, v->cy + v->chh) - v->cy;
        if (v->rot == 180)
            flip_span(&a, &b, v->chh);
    } else {
        a = IIIFS_MAX(t.dest_x, v->cx) - v->cx;
        b = IIIFS_MIN(t.dest_x + t.ws, v->cx + v->cw) - v->cx;
        if (v->mirror)
            flip_span(&a, &b, v->cw);
        if (v->rot == 270)
            flip_span(&a, &b, v->cw);
    }
    *y0 = a;
    *h = (uint32_t)(b - a);
}

/* The crop, mirror and rotation of the options over the plan's level. */
static int view_setup(job *j, iiifs_error *e)
{
    const iiifs_options *o = j->o;
    const iiifs_plan *p = &j->plan;
    view *v = &j->v;
    memset(v, 0, sizeof *v);
    if (o->rotate != 0 && o->rotate != 90 && o->rotate != 180 && o->rotate != 270)
        return iiifs_fail(e, IIIFS_E_USAGE, "rotation %d: 0, 90, 180 or 270", o->rotate);
    v->rot = o->rotate;
    v->mirror = o->mirror != 0;
    v->cw = p->out_w;
    v->chh = p->out_h;
    const iiifs_region *g = &o->region;
    if (g->w > 0 || g->h > 0) {
        double x = g->x, y = g->y, w = g->w, h = g->h;
        if (g->pct) {
            x = x * (double)p->W / 100.0;
            y = y * (double)p->H / 100.0;
            w = w * (double)p->W / 100.0;
            h = h * (double)p->H / 100.0;
        }
        if (!(x >= 0 && y >= 0 && w > 0 && h > 0 && x < (double)p->W && y < (double)p->H))
            return iiifs_fail(e, IIIFS_E_USAGE, "region %s%g,%g,%g,%g is not inside the "
                              "%llux%llu image", g->pct ? "pct:" : "", g->x, g->y, g->w, g->h,
                              (unsigned long long)p->W, (unsigned long long)p->H);
        double s = p->preset ? (double)p->W / (double)p->out_w : (double)p->s;
        uint64_t x0 = (uint64_t)(x / s), y0 = (uint64_t)(y / s);
        uint64_t x1 = (uint64_t)IIIFS_MIN(ceil_pos((x + w) / s), (double)p->out_w);
        uint64_t y1 = (uint64_t)IIIFS_MIN(ceil_pos((y + h) / s), (double)p->out_h);
        if (x1 <= x0 || y1 <= y0)
            return iiifs_fail(e, IIIFS_E_USAGE, "region %s%g,%g,%g,%g is empty at scale "
                              "factor %u", g->pct ? "pct:" : "", g->x, g->y, g->w, g->h, p->s);
        v->cx = x0;
        v->cy = y0;
        v->cw = x1 - x0;
        v->chh = y1 - y0;
    }
    v->identity = !v->mirror && v->rot == 0 && v->cw == p->out_w && v->chh == p->out_h;
    v->n0 = (uint32_t)(v->cx / p->tw);
    v->n1 = (uint32_t)((v->cx + v->cw - 1) / p->tw);
    v->m0 = (uint32_t)(v->cy / p->th);
    v->m1 = (uint32_t)((v->cy + v->chh - 1) / p->th);
    if (p->preset)
        v->n0 = v->n1 = v->m0 = v->m1 = 0;
    if (v->rot == 0 || v->rot == 180) {
        v->gsize = v->n1 - v->n0 + 1;
        v->ngroups = v->m1 - v->m0 + 1;
        v->band_cap = p->th;
        v->ow = v->cw;
        v->oh = v->chh;
    } else {
        v->gsize = v->m1 - v->m0 + 1;
        v->ngroups = v->n1 - v->n0 + 1;
        v->band_cap = p->tw;
        v->ow = v->chh;
        v->oh = v->cw;
    }
    return 0;
}

/* Copy the part of decoded tile t (src, ws x hs) inside the crop into the
 * band of group g, mirrored and rotated. */
static void place(const job *j, const iiifs_tile *t, const uint8_t *src, uint32_t g)
{
    const view *v = &j->v;
    uint64_t y0;
    uint32_t bh;
    group_rows(j, g, &y0, &bh);
    size_t ch = (size_t)j->ch, sstride = (size_t)t->ws * ch;
    uint64_t u0 = v->cx > t->dest_x ? v->cx - t->dest_x : 0;
    uint64_t u1 = IIIFS_MIN((uint64_t)t->ws, v->cx + v->cw - t->dest_x);
    uint64_t w0 = v->cy > t->dest_y ? v->cy - t->dest_y : 0;
    uint64_t w1 = IIIFS_MIN((uint64_t)t->hs, v->cy + v->chh - t->dest_y);
    if (u1 <= u0)
        return;
    /* Along a source row the output moves by one pixel (0, 180) or one band
     * row (90, 270), forwards or backwards: one step for the whole row. */
    ptrdiff_t px = (ptrdiff_t)ch, row = (ptrdiff_t)j->stride, step;
    switch (v->rot) {
    case 90: step = row; break;
    case 180: step = -px; break;
    case 270: step = -row; break;
    default: step = px; break;
    }
    if (v->mirror)
        step = -step;
    size_t n = (size_t)(u1 - u0);
    for (uint64_t yy = w0; yy < w1; yy++) {
        const uint8_t *in = src + yy * sstride + u0 * ch;
        uint64_t y = t->dest_y + yy - v->cy;
        uint64_t x = t->dest_x + u0 - v->cx;
        if (v->mirror)
            x = v->cw - 1 - x;
        uint64_t ox, oy;
        switch (v->rot) {
        case 90: ox = v->chh - 1 - y; oy = x; break;
        case 180: ox = v->cw - 1 - x; oy = v->chh - 1 - y; break;
        case 270: ox = y; oy = v->cw - 1 - x; break;
        default: ox = x; oy = y; break;
        }
        uint8_t *out = j->band + (oy - y0) * j->stride + ox * ch;
        if (step == px) {
            memcpy(out, in, n * ch);
        } else if (ch == 1) {
            for (size_t k = 0; k < n; k++, out += step)
                *out = in[k];
        } else {
            for (size_t k = 0; k < n; k++, out += step, in += 3) {
                out[0] = in[0];
                out[1] = in[1];
                out[2] = in[2];
            }
        }
    }
}

/* ---- fetching one URL */

static int read_file(worker *w, const char *path, iiifs_buf *b, iiifs_error *e)
{
    int rc = iiifs_buf_read_file(b, path, e);
    if (rc)
        return rc;
    w->file_reads++;
    w->file_bytes += b->len;
    return 0;
}

/* GET url into b; anything but a 2xx final status is an error. */
static int fetch(worker *w, const char *url, iiifs_buf *b, char *final_url, size_t cap,
                 iiifs_error *e)
{
    w->last_status = 0;
    w->retry_after_ms = 0;
    if (w->j->local) {
        if (final_url)
            iiifs_copy(final_url, cap, url);
        return read_file(w, url, b, e);
    }
    iiifs_response r;
    int rc = iiifs_http_get(&w->http, url, b, &r, e);
    if (rc)
        return rc;
    w->last_status = r.status;
    w->retry_after_ms = r.retry_after_ms;
    if (final_url && iiifs_copy(final_url, cap, r.url))
        return iiifs_fail(e, IIIFS_E_URL, "URL too long");
    if (r.status < 200 || r.status > 299)
        return iiifs_fail(e, IIIFS_E_HTTP_STATUS, "HTTP %d%s%s%s for %s", r.status,
                          r.content_type[0] ? " (" : "", r.content_type,
                          r.content_type[0] ? ")" : "", r.url);
    return 0;
}

/* Worth another try later: a network failure or a status that says so. */
static int transient(int rc, int status)
{
    if (rc == IIIFS_E_HTTP_STATUS)
        return status == 408 || status == 429 || status == 500 || status == 502 ||
               status == 503 || status == 504;
    return rc == IIIFS_E_TIMEOUT || rc == IIIFS_E_CLOSED || rc == IIIFS_E_CONNECT;
}

static uint32_t rand32(worker *w)
{
    uint64_t x = w->rng;                /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (uint32_t)((x * 2685821657736338717ull) >> 32);
}

/* Delay before try number tries + 1: 250..500 ms, doubling, at most 8 s. */
static uint32_t backoff_ms(worker *w, uint32_t tries)
{
    uint32_t d = IIIFS_BACKOFF_MS;
    for (uint32_t i = 1; i < tries && d < IIIFS_BACKOFF_MAX_MS / 2; i++)
        d *= 2;
    d = IIIFS_MIN(d, IIIFS_BACKOFF_MAX_MS / 2);
    return d + rand32(w) % (d + 1);
}

/* Take this request's place under the rate limit and wait for it. */
static int rate_wait(worker *w)
{
    job *j = w->j;
    port_mutex_lock(j->mu);
    uint64_t now_us = port_now_ms() * 1000u;
    uint64_t at = IIIFS_MAX(j->next_send_us, now_us);
    j->next_send_us = at + j->rate_gap_us;
    while (!j->stop && port_now_ms() * 1000u < at)
        wait_until(j, j->work, (at + 999u) / 1000u);
    int stop = j->stop;
    port_mutex_unlock(j->mu);
    return stop ? -1 : 0;
}

/* ---- the fallback ladder (digest §4.4) */

static const char *const class_name[IIIFS_CLASSES] = {
    "interior tiles", "the last column", "the last row", "the corner tile", "the whole image"
};

static int tile_class(const iiifs_plan *p, const iiifs_tile *t)
{
    if (iiifs_plan_tile_is_whole(p, t))
        return 4;
    return (t->n + 1 == p->cols ? 1 : 0) + (t->m + 1 == p->rows ? 2 : 0);
}

/* Rung k of the ladder for tile t, into *f and *base; 0 when it does not
 * apply to this tile or server. */
static int rung(const job *j, const iiifs_tile *t, int k, iiifs_form *f, const char **base)
{
    const iiifs_plan *p = &j->plan;
    memset(f, 0, sizeof *f);
    *base = j->info.base;
    switch (k) {
    case 0: return 1;                                       /* §4.3 */
    case 1: f->other_size = 1; return 1;
    case 2: f->size_keyword = 1; return p->s == 1 && t->ws == t->wr && t->hs == t->hr;
    case 3: f->box = 1; return iiifs_plan_tile_is_whole(p, t);
    case 4: f->other_quality = 1; return 1;
    case 5: *base = j->info.alt_base; return j->info.alt_base[0] != 0;
    case 6: f->trailing_comma = 1; return p->api == 30 && j->info.level == 0;
    default: return 0;
    }
}

static void form_text(const iiifs_form *f, int alt_base, char *out, size_t cap)
{
    iiifs_format(out, cap, "%s", f->other_size ? "the other size form" :
                 f->size_keyword ? "the full-size keyword" : f->box ? "the region as a box" :
                 f->other_quality ? "the other quality" : alt_base ? "the fetched base URL" :
                 f->trailing_comma ? "a size with a trailing comma" : "the primary form");
}

/* Fetch tile t into b, its URL left in w->url. The first tile of each class
 * (interior, last column, last row, corner, whole image) that is missing
 * (400, 404, 501; no such file in a local tree) climbs the ladder until a
 * form answers; the class keeps that form for the run. Other failures
 * (401, 403, 429, 5xx, the network) never climb. */
static int fetch_tile(worker *w, const iiifs_tile *t, iiifs_buf *b, iiifs_error *e)
{
    job *j = w->j;
    const iiifs_plan *p = &j->plan;
    int cls = tile_class(p, t);
    port_mutex_lock(j->mu);
    int learned = j->learned[cls];
    iiifs_form f = j->form[cls];
    const char *base = j->form_alt_base[cls] ? j->info.alt_base : j->info.base;
    port_mutex_unlock(j->mu);
    if (learned) {
        iiifs_plan_url_form(p, base, t, &f, w->url, sizeof w->url);
        return fetch(w, w->url, b, NULL, 0, e);
    }
    iiifs_error first = { 0, "" };
    int rc_first = 0, tried = 0;
    for (int k = 0; k < IIIFS_LADDER_RUNGS; k++) {
        if (!rung(j, t, k, &f, &base))
            continue;
        iiifs_plan_url_form(p, base, t, &f, w->url, sizeof w->url);
        iiifs_error ek = { 0, "" };
        int rc = fetch(w, w->url, b, NULL, 0, k == 0 ? &first : &ek);
        tried++;
        if (rc == 0) {
            port_mutex_lock(j->mu);
            if (!j->learned[cls]) {
                j->learned[cls] = 1;
                j->form[cls] = f;
                j->form_alt_base[cls] = base != j->info.base;
                if (k > 0) {
                    char how[64];
                    form_text(&f, base != j->info.base, how, sizeof how);
                    warn_locked(j, "%s answer at %s (%s)", class_name[cls], how, w->url);
                }
            }
            port_mutex_unlock(j->mu);
            return 0;
        }
        int missing = rc == IIIFS_E_NOENT ||
                      (rc == IIIFS_E_HTTP_STATUS && (w->last_status == 404 ||
                                                     w->last_status == 400 ||
                                                     w->last_status == 501));
        if (!missing) {
            *e = k == 0 ? first : ek;
            return rc;
        }
        if (k == 0)
            rc_first = rc;
    }
    if (tried > 1)
        iiifs_fail(e, rc_first, "%s (and %d other URL forms)", first.msg, tried - 1);
    else
        *e = first;
    return rc_first;
}

static int fetch_retrying(worker *w, const char *url, iiifs_buf *b, char *final_url,
                          size_t cap, iiifs_error *e);

/* ---- tiles: decode, fetch, the work loop */

/* A region came back the wrong size (the server clamps): ask for it again
 * in pieces of the advertised tile size, each decoded into its place. */
static int split_region(worker *w, slot *s, const iiifs_tile *t, iiifs_error *e)
{
    job *j = w->j;
    iiifs_plan *p = &j->plan;
    for (uint64_t y = 0; y < t->hr; y += j->tile_h) {
        for (uint64_t x = 0; x < t->wr; x += j->tile_w) {
            iiifs_tile piece = *t;
            piece.xr = t->xr + x;
            piece.yr = t->yr + y;
            piece.wr = IIIFS_MIN((uint64_t)j->tile_w, t->wr - x);
            piece.hr = IIIFS_MIN((uint64_t)j->tile_h, t->hr - y);
            piece.ws = (uint32_t)piece.wr;        /* regions are at scale factor 1 */
            piece.hs = (uint32_t)piece.hr;
            iiifs_plan_url(p, j->info.base, &piece, w->url, sizeof w->url);
            int rc = fetch_retrying(w, w->url, &s->body, NULL, 0, e);
            if (rc)
                return rc;
            iiifs_format(w->what, sizeof w->what, "tile %u,%u piece at %llu,%llu (%s)", t->n,
                         t->m, (unsigned long long)piece.xr, (unsigned long long)piece.yr,
                         w->url);
            int adjusted = 0;
            uint8_t *dst = j->band + (size_t)y * j->stride + (t->dest_x + x) * (uint64_t)j->ch;
            rc = iiifs_decode_into(w->dec, s->body.p, s->body.len, dst, j->stride, j->ch,
                                   piece.ws, piece.hs, &adjusted, w->what, e);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* --allow-partial: a tile is lost (e says which); say so. Under mu. */
static void note_missing(job *j, const iiifs_error *e)
{
    warn_locked(j, "%s; filled with %u (--allow-partial)", e->msg, IIIFS_PARTIAL_FILL);
}

/* Lost tile t was filled into the band: list it. Counted here, not when it
 * was lost, so that the list grows band by band (the resume state records
 * each band's). Under mu. */
static void count_missing(job *j, const iiifs_tile *t)
{
    if (j->missing < IIIFS_MISSING_MAX) {
        j->missing_n[j->missing] = t->n;
        j->missing_m[j->missing] = t->m;
    }
    j->missing++;
}

/* A lost tile's place in the band, filled with IIIFS_PARTIAL_FILL. */
static void fill_tile(worker *w, const iiifs_tile *t, uint32_t g)
{
    job *j = w->j;
    size_t row = (size_t)t->ws * (size_t)j->ch;
    if (!j->v.identity) {
        memset(w->scratch, IIIFS_PARTIAL_FILL, row * t->hs);
        place(j, t, w->scratch, g);
        return;
    }
    for (uint32_t y = 0; y < t->hs; y++)
        memset(j->band + (size_t)y * j->stride + t->dest_x * (uint64_t)j->ch,
               IIIFS_PARTIAL_FILL, row);
}

/* Decode slot s (a tile of the band's row) into the band, then free it.
 * Called without mu; returns with mu released. */
static int decode_slot(worker *w, slot *s)
{
    job *j = w->j;
    iiifs_plan *p = &j->plan;
    iiifs_tile t;
    view_tile(j, s->tile, &t);
    iiifs_plan_url(p, j->info.base, &t, w->url, sizeof w->url);
    iiifs_format(w->what, sizeof w->what, "tile %u,%u (%s)", t.n, t.m, w->url);
    iiifs_error e = { 0, "" };
    int adjusted = 0, rc = IIIFS_E_TILE_SIZE, lost = s->missing;
    if (s->missing) {
        rc = 0;
        fill_tile(w, &t, tile_row(j, s->tile));
    } else if (!j->v.identity) {
        rc = iiifs_decode_into(w->dec, s->body.p, s->body.len, w->scratch,
                               (size_t)t.ws * (size_t)j->ch, j->ch, t.ws, t.hs, &adjusted,
                               w->what, &e);
        if (rc == 0)
            place(j, &t, w->scratch, tile_row(j, s->tile));
    } else if (!s->split) {
        uint8_t *dst = j->band + t.dest_x * (uint64_t)j->ch;
        rc = iiifs_decode_into(w->dec, s->body.p, s->body.len, dst, j->stride, j->ch, t.ws,
                               t.hs, &adjusted, w->what, &e);
    }
    if (rc == IIIFS_E_TILE_SIZE && j->regions) {
        port_mutex_lock(j->mu);
        if (!j->split) {
            j->split = 1;
            warn_locked(j, "%s; the server clamps: asking for %ux%u tiles from now on", e.msg,
                        j->tile_w, j->tile_h);
        }
        port_mutex_unlock(j->mu);
        e.code = 0;
        rc = split_region(w, s, &t, &e);
    }
    if (rc && (rc == IIIFS_E_JPEG || rc == IIIFS_E_TILE_SIZE) && j->o->allow_partial) {
        port_mutex_lock(j->mu);
        note_missing(j, &e);
        port_mutex_unlock(j->mu);
        fill_tile(w, &t, tile_row(j, s->tile));
        rc = 0;
        lost = 1;
    }
    port_mutex_lock(j->mu);
    s->state = SLOT_FREE;
    s->missing = 0;
    j->busy--;
    if (rc) {
        fail_locked(j, rc, &e);
    } else {
        if (adjusted && !j->warned_size) {
            j->warned_size = 1;
            warn_locked(j, "%s came back a pixel or two off its planned %ux%u; cropped or padded",
                        w->what, t.ws, t.hs);
        }
        if (lost)
            count_missing(j, &t);
        j->band_left--;
        j->tiles_done++;
        port_cond_signal(j->wake_main);
    }
    port_cond_broadcast(j->work);
    port_mutex_unlock(j->mu);
    return rc;
}

/* Slot s is ready (fetched, or lost under --allow-partial): decode it now
 * when it belongs to the band, else leave it waiting. Called with mu held;
 * returns with mu released. */
static int hand_over(worker *w, slot *s)
{
    job *j = w->j;
    if (j->band && tile_row(j, s->tile) == j->band_row) {
        port_mutex_unlock(j->mu);
        return decode_slot(w, s);
    }
    s->state = SLOT_WAITING;
    if (s->tile == j->start_tile)
        j->first = s;
    port_cond_signal(j->wake_main);
    port_mutex_unlock(j->mu);
    return 0;
}

/* One request for slot s; decodes it at once when it belongs to the band.
 * Called without mu; returns with mu released. */
static int fetch_slot(worker *w, slot *s, uint32_t gen)
{
    job *j = w->j;
    if (j->rate_gap_us && rate_wait(w))
        return -1;
    iiifs_tile t;
    view_tile(j, s->tile, &t);
    iiifs_error e = { 0, "" };
    int rc = 0;
    if (s->split)
        s->body.len = 0;        /* fetched in pieces once its band is ready */
    else
        rc = fetch_tile(w, &t, &s->body, &e);
    s->tries++;

    port_mutex_lock(j->mu);
    w->bytes_seen = j->local ? w->file_bytes : w->http.bytes_in;
    if (rc == 0) {
        if (j->streak < UINT32_MAX)
            j->streak++;
        if (j->active < j->nworkers && j->streak >= IIIFS_GROW_AFTER) {
            j->active++;
            j->streak = 0;
            port_cond_broadcast(j->work);
        }
        if (s->body.len > j->est_tile)
            j->est_tile = s->body.len;
        return hand_over(w, s);
    }
    int status = rc == IIIFS_E_HTTP_STATUS ? w->last_status : 0;
    if (j->stop || !transient(rc, status) || s->tries >= j->tries) {
        iiifs_error final = { 0, "" };
        if (s->tries > 1)
            iiifs_fail(&final, rc, "tile %u,%u: %s after %u tries", t.n, t.m, e.msg, s->tries);
        else
            iiifs_fail(&final, rc, "tile %u,%u: %s", t.n, t.m, e.msg);
        int lost = rc != IIIFS_E_NOMEM && rc != IIIFS_E_LIMIT && rc != IIIFS_E_IO;
        if (!j->stop && j->o->allow_partial && lost) {
            note_missing(j, &final);
            s->missing = 1;
            s->body.len = 0;
            return hand_over(w, s);
        }
        fail_locked(j, rc, &final);
        port_mutex_unlock(j->mu);
        return rc;
    }
    uint64_t now = port_now_ms();
    uint32_t delay = backoff_ms(w, s->tries);
    j->retries++;
    j->streak = 0;
    if ((status == 429 || status == 503) && gen == j->gen && j->active > 1) {
        j->active /= 2;
        j->gen++;
        warn_locked(j, "HTTP %d: the server is busy; down to %u connection%s", status,
                    j->active, j->active > 1 ? "s" : "");
    }
    if (w->retry_after_ms) {
        uint32_t ra = IIIFS_MIN(w->retry_after_ms, IIIFS_RETRY_AFTER_MAX_MS);
        if (now + ra > j->pause_until)
            j->pause_until = now + ra;
        if (ra > delay)
            delay = ra;
    }
    warn_locked(j, "tile %u,%u: %s; try %u of %u in %.1f s", t.n, t.m, e.msg, s->tries + 1,
                j->tries, delay / 1e3);
    s->not_before = now + delay;
    s->state = SLOT_RETRY;
    port_cond_broadcast(j->work);
    port_mutex_unlock(j->mu);
    return 0;
}

/* A free slot whose buffer can take the next tile within the memory cap. */
static slot *free_slot(job *j)
{
    slot *best = NULL;
    for (uint32_t i = 0; i < j->nslots; i++) {
        slot *s = &j->slots[i];
        if (s->state != SLOT_FREE)
            continue;
        if (!best || s->body.cap > best->body.cap)
            best = s;
        if (best->body.cap >= j->est_tile)
            break;
    }
    if (!best || j->busy == 0)
        return best;
    size_t grow = j->est_tile > best->body.cap ? j->est_tile - best->body.cap : 0;
    size_t cap = j->o->memory_pool ? j->o->memory_pool : j->max_memory;
    return port_mem_current() + grow <= cap ? best : NULL;
}

/* One unit of work for w: decode a waiting tile of the band's row, try a
 * failed request again when its time has come, or fetch the next tile.
 * Returns 1 after doing something, 0 when there is nothing to do before ms
 * *wake (UINT64_MAX: until signalled), <0 when the job stops. Called
 * without mu. */
static int worker_step(worker *w, uint64_t *wake)
{
    job *j = w->j;
    *wake = UINT64_MAX;
    port_mutex_lock(j->mu);
    if (j->stop) {
        port_mutex_unlock(j->mu);
        return -1;
    }
    uint64_t now = port_now_ms();
    slot *retry = NULL;
    for (uint32_t i = 0; i < j->nslots; i++) {
        slot *s = &j->slots[i];
        if (s->state == SLOT_WAITING && j->band && tile_row(j, s->tile) == j->band_row) {
            s->state = SLOT_BUSY;
            port_mutex_unlock(j->mu);
            return decode_slot(w, s) ? -1 : 1;
        }
        if (s->state == SLOT_RETRY) {
            if (s->not_before <= now && (!retry || s->tile < retry->tile))
                retry = s;
            else if (s->not_before > now && s->not_before < *wake)
                *wake = s->not_before;
        }
    }
    if (w->id >= j->active) {
        port_mutex_unlock(j->mu);
        return 0;
    }
    if (now < j->pause_until) {
        *wake = j->pause_until;
        port_mutex_unlock(j->mu);
        return 0;
    }
    slot *s = retry;
    if (!s && j->next_tile < j->ntiles &&
        j->next_tile < j->band_row * j->v.gsize + j->window && (s = free_slot(j)) != NULL) {
        s->tile = j->next_tile++;
        s->tries = 0;
        s->split = j->split;
        j->busy++;
    }
    if (!s) {
        port_mutex_unlock(j->mu);
        return 0;
    }
    s->state = SLOT_BUSY;
    uint32_t gen = j->gen;
    port_mutex_unlock(j->mu);
    return fetch_slot(w, s, gen) < 0 ? -1 : 1;
}

static void worker_main(void *arg)
{
    worker *w = arg;
    job *j = w->j;
    for (;;) {
        uint64_t wake;
        int r = worker_step(w, &wake);
        if (r < 0)
            return;
        if (r == 0) {
            port_mutex_lock(j->mu);
            if (!j->stop)
                wait_until(j, j->work, wake);
            port_mutex_unlock(j->mu);
        }
    }
}

/* ---- resolving the source */

/* fetch() with the tile rules for transient failures: backoff, Retry-After
 * (no threads run yet, so this thread simply waits). */
static int fetch_retrying(worker *w, const char *url, iiifs_buf *b, char *final_url,
                          size_t cap, iiifs_error *e)
{
    job *j = w->j;
    for (uint32_t tries = 1;; tries++) {
        iiifs_error e1 = { 0, "" };
        int rc = fetch(w, url, b, final_url, cap, &e1);
        if (rc == 0)
            return 0;
        int status = rc == IIIFS_E_HTTP_STATUS ? w->last_status : 0;
        if (!transient(rc, status) || tries >= j->tries) {
            if (tries > 1)
                return iiifs_fail(e, rc, "%s after %u tries", e1.msg, tries);
            *e = e1;
            return rc;
        }
        uint32_t delay = backoff_ms(w, tries);
        if (w->retry_after_ms)
            delay = IIIFS_MAX(delay, IIIFS_MIN(w->retry_after_ms, IIIFS_RETRY_AFTER_MAX_MS));
        port_mutex_lock(j->mu);
        j->retries++;
        warn_locked(j, "%s; try %u of %u in %.1f s", e1.msg, tries + 1, j->tries, delay / 1e3);
        if (!j->started)
            flush_warnings(j);
        port_mutex_unlock(j->mu);
        port_sleep_ms(delay);
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Fetch and parse the info.json for the source (digest §7.2). */
static int resolve(job *j, iiifs_error *e)
{
    worker *w = &j->w[0];
    const char *src = j->o->source;
    char url[IIIFS_URL_MAX], final_url[IIIFS_URL_MAX];
    size_t q = strcspn(src, "?#");
    int direct = j->local || (q >= 9 && !memcmp(src + q - 9, "info.json", 9)) ||
                 ends_with(src, "info.json");
    if (direct) {
        int rc = fetch_retrying(w, src, &j->info_body, final_url, sizeof final_url, e);
        if (rc)
            return rc;
        rc = iiifs_info_parse(&j->info, (const char *)j->info_body.p, j->info_body.len,
                              final_url, e);
        if (rc)
            j->presentation = iiifs_presentation_sniff((const char *)j->info_body.p,
                                                       j->info_body.len);
        return rc;
    }
    /* An image base URL: try base/info.json, then the base itself, which a
     * level >= 1 server answers with a 303 to its info.json. */
    size_t n = strlen(src);
    if (n && src[n - 1] == '/')
        n--;
    if (iiifs_format(url, sizeof url, "%.*s/info.json", (int)n, src))
        return iiifs_fail(e, IIIFS_E_URL, "URL too long: %.200s", src);
    iiifs_error first = { 0, "" };
    int rc = fetch_retrying(w, url, &j->info_body, final_url, sizeof final_url, &first);
    if (rc == 0)
        rc = iiifs_info_parse(&j->info, (const char *)j->info_body.p, j->info_body.len,
                              final_url, &first);
    if (rc == 0)
        return 0;
    if (rc != IIIFS_E_HTTP_STATUS && rc != IIIFS_E_JSON && rc != IIIFS_E_IIIF) {
        *e = first; /* network trouble: asking again at the same host won't help */
        return rc;
    }
    iiifs_error second = { 0, "" };
    int rc2 = fetch_retrying(w, src, &j->info_body, final_url, sizeof final_url, &second);
    if (rc2 == 0)
        rc2 = iiifs_info_parse(&j->info, (const char *)j->info_body.p, j->info_body.len,
                               final_url, &second);
    if (rc2 == 0)
        return 0;
    if (rc2 == IIIFS_E_JSON || rc2 == IIIFS_E_IIIF || rc2 == IIIFS_E_LIMIT)
        j->presentation = iiifs_presentation_sniff((const char *)j->info_body.p,
                                                   j->info_body.len);
    *e = j->presentation ? second : first;
    return j->presentation ? rc2 : rc;
}

/* ---- planning the requests */

/* Rows of output a band may have within the memory cap, for RGB: a
 * multiple of the tile height th when that fits, so that a region split
 * after a clamp falls back on the advertised tiles exactly; else of 8. */
static uint32_t band_rows_fit(const job *j, uint32_t th)
{
    uint64_t row = j->plan.out_w * 3u;
    uint64_t rows = (uint64_t)j->max_memory * 2u / 3u / (row ? row : 1);
    rows = IIIFS_MIN(rows, (uint64_t)IIIFS_TILE_SIDE_MAX);
    rows -= rows >= th ? rows % th : rows % 8u;
    return (uint32_t)rows;
}

/* Learn the largest square the server really returns: ask for one and
 * look at the JPEG header of the answer. 0, and why in *e, when the probe
 * failed. */
static uint32_t probe_cap(job *j, uint32_t side, iiifs_error *e)
{
    worker *w = &j->w[0];
    iiifs_plan p = j->plan;
    p.tw = p.th = side;
    p.own_tiles = 1;
    iiifs_tile t;
    iiifs_plan_tile(&p, 0, 0, &t);
    iiifs_plan_url(&p, j->info.base, &t, w->url, sizeof w->url);
    iiifs_buf b;
    iiifs_buf_init(&b, IIIFS_TILE_BYTES_MAX);
    iiifs_jpeg_info ji = { 0, 0, 0 };
    int rc = fetch(w, w->url, &b, NULL, 0, e);
    if (rc == 0)
        rc = iiifs_decode_header(w->dec, b.p, b.len, &ji, w->url, e);
    iiifs_buf_free(&b);
    if (rc)
        return 0;
    return ji.w == side && ji.h == side ? side : IIIFS_MIN(ji.w, ji.h);
}

/* --request-size: regions larger than the advertised tiles where the
 * server takes pixel regions: the declared limits, or one probe. */
static int plan_requests(job *j, iiifs_error *e)
{
    const iiifs_options *o = j->o;
    const iiifs_info *in = &j->info;
    iiifs_plan *p = &j->plan;
    if (!o->request_size)
        return 0;
    uint32_t tile_w = p->tw, tile_h = p->th;
    if (o->rotate || o->mirror || o->region.w > 0 || o->region.h > 0) {
        warn_locked(j, "--request-size is not combined with --region, --rotate or --mirror; "
                       "the advertised %ux%u tiles are used", tile_w, tile_h);
        return 0;
    }
    if (p->s != 1) {
        warn_locked(j, "--request-size works at full resolution; at scale factor %u the "
                       "advertised %ux%u tiles are used", p->s, tile_w, tile_h);
        return 0;
    }
    if (o->request_size != IIIFS_REQUEST_AUTO) {
        int rc = iiifs_plan_regions(p, in, o->request_size,
                                    IIIFS_MIN(o->request_size, band_rows_fit(j, tile_h)), e);
        return rc;
    }
    if (!(in->feat & IIIFS_F_REGION_PX) || in->level < 1 || j->local) {
        warn_locked(j, "--request-size auto: the server does not take pixel regions; "
                       "using its %ux%u tiles", tile_w, tile_h);
        return 0;
    }
    uint64_t side_w = p->W, side_h = p->H;
    if (j->o->plan_only && !(in->max_w || in->max_h || in->max_area)) {
        j->probe_later = 1;         /* --plan makes no image request */
        return 0;
    }
    if (in->max_w || in->max_h || in->max_area) {
        if (in->max_w)
            side_w = IIIFS_MIN(side_w, in->max_w);
        if (in->max_h)
            side_h = IIIFS_MIN(side_h, in->max_h);
        while (in->max_area && side_w * side_h > in->max_area) {
            if (side_w >= side_h)
                side_w--;
            else
                side_h--;
        }
    } else {
        uint32_t side = (uint32_t)IIIFS_MIN(IIIFS_MIN(p->W, p->H), (uint64_t)IIIFS_PROBE_SIDE);
        if (side <= IIIFS_MAX(tile_w, tile_h))
            return 0;
        iiifs_error pe = { 0, "" };
        uint32_t cap = probe_cap(j, side, &pe);
        if (cap == 0) {
            warn_locked(j, "--request-size auto: the probe for the server's cap failed (%s); "
                           "using its %ux%u tiles", pe.msg, tile_w, tile_h);
            return 0;
        }
        if (cap < side) {
            cap -= cap % 8u;
            if (cap <= IIIFS_MAX(tile_w, tile_h)) {
                warn_locked(j, "--request-size auto: the server clamped a %ux%u request to "
                               "%u px; using its %ux%u tiles", side, side, cap, tile_w, tile_h);
                return 0;
            }
            warn_locked(j, "--request-size auto: the server clamps requests to %u px", cap);
            side_w = IIIFS_MIN(side_w, cap);
            side_h = IIIFS_MIN(side_h, cap);
        } else {
            side_w = IIIFS_MIN(side_w, side);
            side_h = IIIFS_MIN(side_h, side);
        }
    }
    side_h = IIIFS_MIN(side_h, band_rows_fit(j, tile_h));
    side_w = IIIFS_MIN(side_w, (uint64_t)IIIFS_TILE_SIDE_MAX);
    if (side_w <= tile_w && side_h <= tile_h)
        return 0;
    return iiifs_plan_regions(p, in, (uint32_t)side_w, (uint32_t)side_h, e);
}

/* ---- the job */

_Static_assert(IIIFS_URL_MAX <= IIIFS_PLAN_URL_MAX, "plan URLs fit the report");

/* What the job will ask for, before it asks (--plan, and every result). */
static void plan_report(const job *j, iiifs_plan_report *r)
{
    const iiifs_plan *p = &j->plan;
    r->level = j->info.level;
    r->full_w = p->W;
    r->full_h = p->H;
    r->scale = p->s;
    r->tile_w = j->tiles_declared ? j->tile_w : 0;
    r->tile_h = j->tiles_declared ? j->tile_h : 0;
    r->request_w = p->tw;
    r->request_h = p->th;
    r->cols = j->v.n1 - j->v.n0 + 1;
    r->rows = j->v.m1 - j->v.m0 + 1;
    r->probe = j->probe_later;
    r->est_bytes = (uint64_t)r->cols * p->tw * r->rows * p->th * IIIFS_EST_BITS_PER_PX / 8u;
    r->band_bytes = j->v.ow * j->v.band_cap * 3u;
    r->max_memory = j->max_memory;
    iiifs_tile t;
    view_tile(j, 0, &t);
    iiifs_plan_url(p, j->info.base, &t, r->first_url, sizeof r->first_url);
    view_tile(j, j->v.gsize * j->v.ngroups - 1, &t);
    iiifs_plan_url(p, j->info.base, &t, r->last_url, sizeof r->last_url);
}

static void progress(job *j)
{
    if (!j->o->on_progress)
        return;
    iiifs_progress pr;
    pr.width = j->v.ow;
    pr.height = j->v.oh;
    pr.channels = j->ch;
    pr.rows_done = j->band_row;
    pr.rows = j->v.ngroups;
    pr.tiles_done = j->tiles_done;
    pr.tiles = j->ntiles;
    pr.bytes_in = 0;
    for (uint32_t i = 0; i < j->nworkers; i++)
        pr.bytes_in += j->w[i].bytes_seen;
    pr.elapsed_ms = port_now_ms() - j->t0;
    port_mutex_unlock(j->mu);
    j->o->on_progress(j->o->ud, &pr);
    port_mutex_lock(j->mu);
}

static int worker_init(job *j, worker *w, uint32_t id, iiifs_error *e)
{
    w->j = j;
    w->id = id;
    uint64_t seed = 0;
    port_entropy(&seed, sizeof seed);
    w->rng = seed | 1u;
    iiifs_http_init(&w->http, &j->ho, j->shared);
    w->http_ready = 1;
    return iiifs_decoder_new(&w->dec, e);
}

/* Run the calling thread's share until the band is complete or the job
 * stops: decode waiting tiles; without threads, do the workers' work too. */
static void fill_band(job *j)
{
    uint64_t last = 0;
    while (!j->stop && j->band_left) {
        slot *s = NULL;
        for (uint32_t i = 0; i < j->nslots && !s; i++)
            if (j->slots[i].state == SLOT_WAITING && tile_row(j, j->slots[i].tile) == j->band_row)
                s = &j->slots[i];
        if (s) {
            s->state = SLOT_BUSY;
            port_mutex_unlock(j->mu);
            decode_slot(&j->self, s);
            port_mutex_lock(j->mu);
        } else if (!j->threaded) {
            uint64_t wake;
            port_mutex_unlock(j->mu);
            int r = worker_step(&j->w[0], &wake);
            port_mutex_lock(j->mu);
            if (r == 0 && !j->stop) {
                if (wake == UINT64_MAX) {
                    iiifs_error e = { 0, "" };
                    iiifs_fail(&e, IIIFS_E_INTERNAL, "no work left but the band is incomplete");
                    fail_locked(j, IIIFS_E_INTERNAL, &e);
                } else {
                    wait_until(j, j->wake_main, wake);
                }
            }
        } else {
            wait_until(j, j->wake_main, port_now_ms() + IIIFS_PROGRESS_MS);
        }
        flush_warnings(j);
        uint64_t now = port_now_ms();
        if (now - last >= IIIFS_PROGRESS_MS / 2) {
            last = now;
            progress(j);
        }
    }
}

/* SOURCE_DATE_EPOCH (reproducible output: the DateTime tag): 1 and *t when
 * set, 0 when not, -1 when it is not a count of seconds. */
static int source_date_epoch(int64_t *t)
{
    const char *v = port_getenv("SOURCE_DATE_EPOCH");
    if (!v)
        return 0;
    int64_t n = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9' && i < 15; i++)
        n = n * 10 + (v[i] - '0');
    if (v[i])
        return -1;
    *t = n;
    return 1;
}

static int64_t wall_time(void)
{
    int64_t t;
    return source_date_epoch(&t) == 1 ? t : port_wall_time();
}

/* Size the band from the first tile's header and open the sink. */
static int open_band(job *j, iiifs_result *r, iiifs_error *e)
{
    const iiifs_options *o = j->o;
    iiifs_plan *p = &j->plan;
    int rc;
    iiifs_jpeg_info ji;
    iiifs_tile t;
    view_tile(j, j->start_tile, &t);
    iiifs_plan_url(p, j->info.base, &t, j->self.url, sizeof j->self.url);
    iiifs_format(j->self.what, sizeof j->self.what, "tile %u,%u (%s)", t.n, t.m, j->self.url);
    if (j->first->missing)          /* nothing to learn gray or colour from */
        ji.channels = 3;
    else if ((rc = iiifs_decode_header(j->self.dec, j->first->body.p, j->first->body.len, &ji,
                                       j->self.what, e)) != 0 ||
             (rc = iiifs_decode_icc(j->self.dec, j->first->body.p, j->first->body.len,
                                    &j->icc, &j->icc_len, j->self.what, e)) != 0)
        return rc;
    if (j->icc && ji.channels == 3 && o->quality != IIIFS_QUALITY_DEFAULT) {
        port_free(j->icc);          /* an RGB profile does not describe gray pixels */
        j->icc = NULL;
        j->icc_len = 0;
    }
    j->ch = ji.channels == 1 || j->o->quality != IIIFS_QUALITY_DEFAULT ? 1 : 3;
    r->channels = j->ch;

    const view *v = &j->v;
    j->stride = (size_t)(v->ow * (uint64_t)j->ch);
    uint64_t band_bytes = (uint64_t)j->stride * v->band_cap;
    if (band_bytes > IIIFS_BAND_BYTES_MAX || band_bytes > j->max_memory)
        return iiifs_fail(e, IIIFS_E_LIMIT,
                          "one band of %llux%u px needs %llu bytes, over the %s of %llu",
                          (unsigned long long)v->ow, v->band_cap, (unsigned long long)band_bytes,
                          band_bytes > j->max_memory ? "memory cap (--max-memory)" : "cap",
                          (unsigned long long)IIIFS_MIN((uint64_t)IIIFS_BAND_BYTES_MAX,
                                                        (uint64_t)j->max_memory));
    uint8_t *band = port_malloc((size_t)band_bytes);
    if (!band)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for a band of %llu bytes",
                          (unsigned long long)band_bytes);
    if (!v->identity) {             /* one decoded tile per decoder, once */
        size_t tile = (size_t)p->tw * p->th * (size_t)j->ch;
        for (uint32_t i = 0; i <= j->nworkers; i++) {
            worker *w = i < j->nworkers ? &j->w[i] : &j->self;
            if (!(w->scratch = port_malloc(tile))) {
                port_free(band);
                return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for a tile of %zu bytes",
                                  tile);
            }
        }
    }

    char software[64], datetime[IIIFS_TIFF_DATETIME_SIZE];
    iiifs_format(software, sizeof software, "iiifstitch %s", IIIFS_VERSION);
    iiifs_sink_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.width = v->ow;
    spec.height = v->oh;
    spec.channels = j->ch;
    spec.rows_per_strip = v->band_cap;
    if (o->resume) {
        spec.resume = &j->rs;
        spec.resume_key = j->key;
        spec.resume_band = tile_row(j, j->start_tile);
    }
    spec.uneven = !v->identity;
    spec.bitonal = o->quality == IIIFS_QUALITY_BITONAL;
    spec.format = o->format;
    spec.compression = o->compression;
    spec.jpeg_quality = o->jpeg_quality;
    spec.bigtiff = o->bigtiff;
    spec.tags.software = software;
    spec.tags.document_name = o->source;
    if (j->rs.found)                /* the time the image was begun */
        spec.tags.datetime = j->rs.datetime[0] ? j->rs.datetime : NULL;
    else
        spec.tags.datetime = iiifs_tiff_datetime(wall_time(), datetime) ? NULL : datetime;
    spec.tags.artist = o->artist;
    spec.tags.copyright = o->copyright;
    spec.tags.description = o->description;
    spec.tags.icc = j->icc;
    spec.tags.icc_len = j->icc_len;
    if ((rc = iiifs_sink_open(&j->sink, o->output, &spec, e)) != 0) {
        port_free(band);
        return rc;
    }
    j->sink_open = 1;
    port_mutex_lock(j->mu);
    j->band = band;
    port_cond_broadcast(j->work);
    port_mutex_unlock(j->mu);
    return 0;
}

/* What the job is, as far as the pixels and the layout go: a .part begun
 * by another is not continued. The tags, the colour profile and gray or
 * colour are in the head, which the sink compares. */
static uint64_t job_key(const job *j)
{
    const iiifs_options *o = j->o;
    const view *v = &j->v;
    char text[IIIFS_URL_MAX + 256];
    iiifs_format(text, sizeof text, "%s|%llux%llu|s%u|crop %llu,%llu,%llu,%llu|m%d|r%d|q%d|f%d|"
                 "c%d|b%d|rows %u", o->source, (unsigned long long)v->ow,
                 (unsigned long long)v->oh, j->plan.s, (unsigned long long)v->cx,
                 (unsigned long long)v->cy, (unsigned long long)v->cw,
                 (unsigned long long)v->chh, v->mirror, v->rot, (int)o->quality, (int)o->format,
                 (int)o->compression, o->bigtiff, v->band_cap);
    return iiifs_fnv1a(IIIFS_FNV_OFFSET, text, strlen(text));
}

/* --resume: read the state, if any, and start at the band that holds the
 * first row the .part lacks. */
static int resume_load(job *j, iiifs_error *e)
{
    int rc = iiifs_resume_load(&j->rs, j->o->output, e);
    j->resume_ready = 1;
    j->key = job_key(j);
    if (rc <= 0)
        return rc;
    if (j->rs.key != j->key || j->rs.rows_per_strip != j->v.band_cap)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s.part was begun from another source or with "
                          "other options (size, region, scale, quality, format, compression): "
                          "run with those, or remove %s to start over", j->o->output,
                          j->rs.path);
    uint64_t done = IIIFS_MIN((uint64_t)j->rs.strips * j->rs.rows_per_strip, j->v.oh);
    uint32_t g = 0;
    for (; g + 1 < j->v.ngroups; g++) {
        uint64_t y0;
        uint32_t h;
        group_rows(j, g, &y0, &h);
        if (done < y0 + h)
            break;
    }
    j->start_tile = g * j->v.gsize;
    j->skip_rows = done;
    iiifs_resume_missing_before(&j->rs, g, &j->missing, j->missing_n, j->missing_m,
                                IIIFS_MISSING_MAX);
    j->missing_saved = j->missing;
    return 0;
}

static int o_is_tiff(const iiifs_options *o)
{
    return o->format == IIIFS_FORMAT_TIFF;
}

static int run(job *j, iiifs_result *r, iiifs_error *e)
{
    iiifs_plan *p = &j->plan;
    int rc;

    iiifs_buf_init(&j->info_body, IIIFS_INFO_BYTES_MAX);
    for (uint32_t i = 0; i < j->nworkers; i++)
        if ((rc = worker_init(j, &j->w[i], i, e)) != 0)
            return rc;
    if ((rc = worker_init(j, &j->self, IIIFS_CONN_MAX, e)) != 0)
        return rc;
    if ((rc = resolve(j, e)) != 0)
        return rc;
    iiifs_buf_free(&j->info_body);
    uint32_t scale;
    if ((rc = iiifs_plan_pick_scale(&j->info, j->o->scale, j->o->max_width, j->o->max_height,
                                    &scale, e)) != 0)
        return rc;
    if ((rc = iiifs_plan_make(p, &j->info, scale, e)) != 0)
        return rc;
    if (p->preset && (p->out_w < p->W || p->out_h < p->H)) {
        port_mutex_lock(j->mu);
        warn_locked(j, "the server offers at most %llux%llu of the %llux%llu image (level 0, "
                       "preset sizes only)", (unsigned long long)p->out_w,
                    (unsigned long long)p->out_h, (unsigned long long)p->W,
                    (unsigned long long)p->H);
        port_mutex_unlock(j->mu);
    }
    r->api = j->info.api;
    port_mutex_lock(j->mu);
    if (j->info.has_auth)
        warn_locked(j, "the image service declares IIIF Auth: pass --cookie or --token if "
                       "tiles are refused");
    j->tile_w = p->tw;
    j->tile_h = p->th;
    j->tiles_declared = !p->own_tiles;
    rc = plan_requests(j, e);
    flush_warnings(j);
    port_mutex_unlock(j->mu);
    if (!rc)
        rc = view_setup(j, e);
    if (rc)
        return rc;
    r->width = j->v.ow;
    r->height = j->v.oh;
    plan_report(j, &r->plan);
    if (j->o->plan_only)
        return 0;
    r->request_w = p->tw;
    r->request_h = p->th;
    j->regions = p->own_tiles && (p->tw > j->tile_w || p->th > j->tile_h);

    /* The window: the band's row and as many tiles again (at least two per
     * connection), every one with a slot. */
    uint32_t g = j->v.gsize;
    j->ntiles = g * j->v.ngroups;
    r->tiles = j->ntiles;
    uint64_t window = (uint64_t)g + IIIFS_MAX((uint64_t)g, 2u * j->nworkers);
    j->window = (uint32_t)IIIFS_MIN(window, (uint64_t)IIIFS_SLOTS_MAX);
    if (j->window < g)
        return iiifs_fail(e, IIIFS_E_LIMIT, "%u tiles in a band exceed the cap of %u", g,
                          IIIFS_SLOTS_MAX);
    if (j->o->resume && (rc = resume_load(j, e)) != 0)
        return rc;
    j->nslots = (uint32_t)IIIFS_MIN((uint64_t)j->window, j->ntiles);
    j->slots = port_malloc(j->nslots * sizeof *j->slots);
    if (!j->slots)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for %u tile slots", j->nslots);
    for (uint32_t i = 0; i < j->nslots; i++) {
        memset(&j->slots[i], 0, sizeof j->slots[i]);
        iiifs_buf_init(&j->slots[i].body, IIIFS_TILE_BYTES_MAX);
    }
    j->active = j->nworkers;
    j->band_row = tile_row(j, j->start_tile);
    j->next_tile = j->tiles_done = j->start_tile;
    j->band_left = IIIFS_MIN(g, j->ntiles - j->start_tile);

    /* The workers start at once; the first tile decides gray or RGB, and so
     * the band: until it is allocated, every tile fetched waits in its slot. */
    port_mutex_lock(j->mu);
    j->started = j->threaded;
    if (j->threaded) {
        for (uint32_t i = 0; i < j->nworkers; i++) {
            if (port_thread_start(&j->w[i].thread, worker_main, &j->w[i]) != 0) {
                /* No more threads: the ones running (and this one) will do. */
                j->active = j->nworkers = i > 0 ? i : 1;
                j->threaded = j->started = i > 0;
                break;
            }
        }
    }
    while (!j->stop && !j->first) {
        uint64_t wake = UINT64_MAX;
        int s = 0;
        if (!j->threaded) {
            port_mutex_unlock(j->mu);
            s = worker_step(&j->w[0], &wake);
            port_mutex_lock(j->mu);
        }
        flush_warnings(j);
        if (s == 0 && !j->stop && !j->first)
            wait_until(j, j->wake_main, wake);
    }
    port_mutex_unlock(j->mu);
    if (!j->stop && (rc = open_band(j, r, e)) != 0) {
        port_mutex_lock(j->mu);
        fail_locked(j, rc, e);
        port_mutex_unlock(j->mu);
    }
    port_mutex_lock(j->mu);
    while (!j->stop && j->band_row < j->v.ngroups) {
        fill_band(j);
        if (j->stop)
            break;
        uint64_t y0;
        uint32_t rows;
        group_rows(j, j->band_row, &y0, &rows);
        uint32_t skip = y0 < j->skip_rows                /* rows the .part has */
                            ? (uint32_t)IIIFS_MIN(j->skip_rows - y0, (uint64_t)rows) : 0;
        uint32_t lost = j->missing - j->missing_saved, listed = 0;
        if (j->missing_saved < IIIFS_MISSING_MAX)
            listed = IIIFS_MIN(j->missing, (uint32_t)IIIFS_MISSING_MAX) - j->missing_saved;
        uint32_t from = IIIFS_MIN(j->missing_saved, (uint32_t)IIIFS_MISSING_MAX);
        j->missing_saved = j->missing;
        port_mutex_unlock(j->mu);
        iiifs_error we = { 0, "" };
        rc = 0;
        if (lost && j->o->resume)   /* before the band's strips: see resume.h */
            rc = iiifs_resume_missing(&j->rs, j->band_row, lost, j->missing_n + from,
                                      j->missing_m + from, listed, &we);
        if (!rc && rows > skip)
            rc = iiifs_sink_write(&j->sink, j->band + (size_t)skip * j->stride, rows - skip,
                                  &we);
        port_mutex_lock(j->mu);
        if (rc) {
            fail_locked(j, rc, &we);
            break;
        }
        j->band_row++;
        j->band_left = (uint32_t)IIIFS_MIN((uint64_t)g,
                                           j->ntiles - (uint64_t)j->band_row * g);
        port_cond_broadcast(j->work);
        progress(j);
    }
    j->stop = 1;
    port_cond_broadcast(j->work);
    flush_warnings(j);
    port_mutex_unlock(j->mu);
    for (uint32_t i = 0; i < j->nworkers; i++) {
        port_thread_join(j->w[i].thread);
        j->w[i].thread = NULL;
    }
    if (j->rc) {
        *e = j->err;
        return j->rc;
    }
    if ((rc = iiifs_sink_commit(&j->sink, e)) != 0)
        return rc;
    j->sink_open = 0;
    if (j->resume_ready) {          /* the image is whole: its state goes */
        iiifs_resume_close(&j->rs, 1);
        j->resume_ready = 0;
    }
    r->resumed_rows = j->skip_rows;
    r->file_bytes = j->sink.bytes;
    r->bigtiff = o_is_tiff(j->o) && j->sink.big;
    r->missing = j->missing;
    memcpy(r->missing_n, j->missing_n, sizeof r->missing_n);
    memcpy(r->missing_m, j->missing_m, sizeof r->missing_m);
    if (j->split) {                 /* the regions fell back on the advertised tiles */
        r->request_w = j->tile_w;
        r->request_h = j->tile_h;
    }
    return 0;
}

int iiifs_stitch(const iiifs_options *o, iiifs_result *r, iiifs_error *e)
{
    memset(r, 0, sizeof *r);
    if (!o->output)
        return iiifs_fail(e, IIIFS_E_USAGE, "no output file given");
    int rc = iiifs_sink_check(o, e);
    if (rc)
        return rc;
    if (o->connections > IIIFS_CONN_MAX)
        return iiifs_fail(e, IIIFS_E_USAGE, "%u connections: at most %u", o->connections,
                          IIIFS_CONN_MAX);
    int64_t epoch;
    if (source_date_epoch(&epoch) < 0)
        return iiifs_fail(e, IIIFS_E_USAGE, "SOURCE_DATE_EPOCH=%s is not a count of seconds",
                          port_getenv("SOURCE_DATE_EPOCH"));
    if (!(o->rate >= 0) || o->rate > 1e6)
        return iiifs_fail(e, IIIFS_E_USAGE, "rate %g is not in [0, 1e6] requests/s", o->rate);
    job *j = port_malloc(sizeof *j);
    if (!j)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the job");
    memset(j, 0, sizeof *j);
    j->o = o;
    j->t0 = port_now_ms();
    j->local = !iiifs_url_has_scheme(o->source);
    j->nconn = o->connections ? o->connections : IIIFS_CONNECTIONS_DEFAULT;
    j->nconn = IIIFS_MIN(j->nconn, (uint32_t)IIIFS_CONN_MAX);
    j->nworkers = j->nconn;
    j->threaded = j->nconn > 1;
    j->tries = o->tries ? o->tries : 1u + IIIFS_RETRIES_DEFAULT;
    j->max_memory = o->max_memory ? o->max_memory : IIIFS_MAX_MEMORY_DEFAULT;
    j->rate_gap_us = o->rate > 0 ? (uint64_t)(1e6 / o->rate + 0.5) : 0;

    rc = iiifs_http_options_from(&j->ho, o, e);
    j->ho.max_conns = 2;            /* its host, and one a redirect leads to */
    if (!rc && (port_mutex_new(&j->mu) || port_cond_new(&j->work) ||
                port_cond_new(&j->wake_main)))
        rc = iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the job's locks");
    if (!rc && !j->local)
        rc = iiifs_http_shared_new(&j->shared, &j->ho, e);
    if (!rc)
        rc = run(j, r, e);
    if (rc)
        r->presentation = j->presentation;

    if (j->sink_open) {
        r->kept = j->sink.own;
        iiifs_sink_abort(&j->sink);
    }
    if (j->resume_ready) {
        /* failed before the sink was open: a .part found stays as it was */
        if (rc && j->rs.found && rc != IIIFS_E_USAGE)
            r->kept = 1;
        iiifs_resume_close(&j->rs, 0);
    }
    if (rc && r->kept) {
        size_t n = strlen(e->msg);
        iiifs_format(e->msg + n, sizeof e->msg - n, "; %s.part kept: --resume continues it",
                     o->output);
    }
    for (uint32_t i = 0; i <= IIIFS_CONN_MAX; i++) {
        worker *w = i < IIIFS_CONN_MAX ? &j->w[i] : &j->self;
        if (!w->http_ready)
            continue;
        r->requests += j->local ? w->file_reads : w->http.requests;
        r->bytes_in += j->local ? w->file_bytes : w->http.bytes_in;
    }
    r->retries = j->retries;
    r->elapsed_ms = port_now_ms() - j->t0;
    for (uint32_t i = 0; i < IIIFS_CONN_MAX; i++) {
        iiifs_decoder_free(j->w[i].dec);
        if (j->w[i].http_ready)
            iiifs_http_free(&j->w[i].http);
    }
    iiifs_decoder_free(j->self.dec);
    for (uint32_t i = 0; i < IIIFS_CONN_MAX; i++)
        port_free(j->w[i].scratch);
    port_free(j->self.scratch);
    if (j->self.http_ready)
        iiifs_http_free(&j->self.http);
    for (uint32_t i = 0; j->slots && i < j->nslots; i++)
        iiifs_buf_free(&j->slots[i].body);
    iiifs_http_shared_free(j->shared);
    port_free(j->slots);
    port_free(j->band);
    port_free(j->icc);
    iiifs_buf_free(&j->info_body);
    port_cond_free(j->wake_main);
    port_cond_free(j->work);
    port_mutex_free(j->mu);
    port_free(j);
    r->mem_peak = port_mem_peak();
    return rc;
}
