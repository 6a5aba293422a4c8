/*
 * stitch.c — see stitch.h.
 */
#include "stitch.h"
#include "decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { SLOT_FREE, SLOT_BUSY, SLOT_WAITING, SLOT_RETRY };

typedef struct slot {
    iiifs_buf body;                 /* the compressed tile */
    uint32_t tile;                  /* the view's index */
    uint32_t tries;                 /* requests made for it so far */
    uint64_t not_before;            /* SLOT_RETRY: ms */
    size_t need;                    /* SLOT_RETRY after a refused body: its bytes */
    size_t pending;                 /* SLOT_BUSY: the growth room was made for */
    int state;
    int split;                      /* not fetched: asked for in tile-sized pieces */
    int missing;                    /* allow_partial: failed for good, filled in */
} slot;

struct run;

typedef struct worker {
    struct run *j;
    uint32_t id;
    iiifs_http http;                /* this thread's handle (with a client) */
    iiifs_fetcher f;
    iiifs_decoder *dec;
    port_thread *thread;
    uint64_t bytes_seen;            /* bytes in as of its last tile, under mu */
    uint8_t *scratch;               /* one decoded tile, when the view transforms */
    char url[IIIFS_URL_MAX];
    char what[IIIFS_URL_MAX + 64];
    char note[IIIFS_ERROR_MAX];
} worker;

typedef struct run {
    const iiifs_sched *s;
    const iiifs_sched_hooks *h;
    const iiifs_view *v;
    iiifs_polite *polite;           /* NULL: no server */
    size_t cap;                     /* the memory account's cap */
    worker w[IIIFS_CONN_MAX];
    worker self;                    /* the calling thread's decoder */
    uint32_t nworkers;
    int threaded;
    iiifs_waiter waiter;

    /* everything below is guarded by mu */
    port_mutex *mu;
    port_cond *work;                /* workers: a slot, a tile, a band or a server is free */
    port_cond *wake_main;           /* the calling thread: a tile was decoded */
    slot *slots;
    uint32_t nslots, busy;          /* slots; of them not free */
    uint32_t ntiles, next_tile, window;
    size_t est_tile;                /* largest compressed tile so far */
    size_t pending;                 /* growth of the slots being fetched, room made for it */
    uint8_t *band;                  /* allocated before the first fetch, at band_ch */
    int band_ch;
    int open;                       /* the first tile said the channels: decoding may start */
    size_t stride;
    int ch;
    uint32_t band_row, band_left, tiles_done;
    slot *first;                    /* the first tile, once fetched */
    uint32_t retries;
    int stop, rc;
    iiifs_error err;
    char warnings[IIIFS_WARNINGS_MAX][IIIFS_ERROR_MAX];
    uint32_t nwarn, lost_warn;
    int warned_size, split;
    uint32_t missing, missing_saved;   /* tiles filled in; of them handed over */
    uint32_t missing_n[IIIFS_MISSING_MAX], missing_m[IIIFS_MISSING_MAX];
    uint64_t t0;
} run;

/* ---- shared state helpers (mu held unless said otherwise) */

static void warn_locked(run *j, const char *fmt, ...) IIIFS_PRINTF(2, 3);

static void warn_locked(run *j, const char *fmt, ...)
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
static int fail_locked(run *j, int rc, const iiifs_error *e)
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
static void wait_until(run *j, port_cond *c, uint64_t until)
{
    if (until == UINT64_MAX) {
        port_cond_wait(c, j->mu, PORT_WAIT_FOREVER);
        return;
    }
    uint64_t now = port_now_ms();
    if (until > now)
        port_cond_wait(c, j->mu, (uint32_t)IIIFS_MIN(until - now, 60000u));
}

/* Hand queued warnings to the observer (the calling thread, mu held). */
static void flush_warnings(run *j)
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
        if (j->h->warning) {
            port_mutex_unlock(j->mu);
            j->h->warning(j->h->ud, msg);
            port_mutex_lock(j->mu);
        }
    }
}

static uint32_t band_of(const run *j, uint32_t k) { return k / j->v->gsize; }

static uint64_t bytes_in(const worker *w)
{
    return w->http.bytes_in + w->f.file_bytes;
}

/* ---- memory */

/* Is there room for grow more bytes (the growth of the slots being fetched
 * kept)? Else let the buffers of slots that hold no tile (free, or waiting
 * to be asked for again; not self) go until there is. */
static int room(run *j, size_t grow, const slot *self)
{
    if (!j->cap)
        return 1;
    for (uint32_t i = 0;; i++) {
        size_t now = port_mem_current() + j->pending;
        if (now <= j->cap && grow <= j->cap - now)
            return 1;
        /* the state first: a busy slot's buffer is its fetcher's, read without mu */
        while (i < j->nslots &&
               ((j->slots[i].state != SLOT_FREE && j->slots[i].state != SLOT_RETRY) ||
                &j->slots[i] == self || !j->slots[i].body.cap))
            i++;
        if (i == j->nslots)
            return 0;
        iiifs_buf_free(&j->slots[i].body);
    }
}

/* A tile of the band's group needs grow bytes: push a waiting tile of a
 * later group out (it is fetched again) while that makes room. The first
 * tile, which the band waits for, may push out any waiting tile. */
static int room_for_band(run *j, size_t grow, int first, const slot *self)
{
    for (uint32_t i = 0; !room(j, grow, self); i++) {
        while (i < j->nslots &&
               !(j->slots[i].state == SLOT_WAITING &&
                 (first || band_of(j, j->slots[i].tile) != j->band_row)))
            i++;
        if (i == j->nslots)
            return 0;
        slot *s = &j->slots[i];
        iiifs_buf_free(&s->body);
        if (j->first == s)
            j->first = NULL;
        s->state = SLOT_RETRY;
        s->not_before = 0;
    }
    return 1;
}

/* What s's buffer must grow by for its next body. */
static size_t growth(const run *j, const slot *s)
{
    size_t want = IIIFS_MAX(s->need, j->est_tile);
    return want > s->body.cap ? want - s->body.cap : 0;
}

/* A free slot whose buffer can take the next tile, room made for it. */
static slot *free_slot(run *j)
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
    return best && room(j, growth(j, best), best) ? best : NULL;
}

/* ---- decoding */

/* A region came back the wrong size (the server clamps): ask for it again
 * in pieces of the advertised tile size, each decoded into its place. */
static int split_region(worker *w, slot *s, const iiifs_tile *t, iiifs_error *e)
{
    run *j = w->j;
    const iiifs_plan *p = j->v->p;
    for (uint64_t y = 0; y < t->hr; y += j->s->tile_h) {
        for (uint64_t x = 0; x < t->wr; x += j->s->tile_w) {
            iiifs_tile piece = *t;
            piece.xr = t->xr + x;
            piece.yr = t->yr + y;
            piece.wr = IIIFS_MIN((uint64_t)j->s->tile_w, t->wr - x);
            piece.hr = IIIFS_MIN((uint64_t)j->s->tile_h, t->hr - y);
            piece.ws = (uint32_t)piece.wr;        /* regions are at scale factor 1 */
            piece.hs = (uint32_t)piece.hr;
            iiifs_plan_url(p, j->s->info->base, &piece, w->url, sizeof w->url);
            int rc = iiifs_fetch_document(&w->f, w->url, &s->body, NULL, 0, e);
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

/* A lost tile's place in the band, filled with IIIFS_PARTIAL_FILL. */
static void fill_tile(worker *w, const iiifs_tile *t, uint32_t g)
{
    run *j = w->j;
    size_t row = (size_t)t->ws * (size_t)j->ch;
    if (!j->v->identity) {
        memset(w->scratch, IIIFS_PARTIAL_FILL, row * t->hs);
        iiifs_view_place(j->v, t, w->scratch, j->ch, j->band, j->stride, g);
        return;
    }
    for (uint32_t y = 0; y < t->hs; y++)
        memset(j->band + (size_t)y * j->stride + t->dest_x * (uint64_t)j->ch,
               IIIFS_PARTIAL_FILL, row);
}

/* Decode s's tile t into the band: in place, or through the worker's tile
 * buffer for a view. Sets *adjusted for a tile a pixel or two off. */
static int decode_tile(worker *w, slot *s, const iiifs_tile *t, int *adjusted, iiifs_error *e)
{
    run *j = w->j;
    uint32_t g = band_of(j, s->tile);
    if (!j->v->identity) {
        int rc = iiifs_decode_into(w->dec, s->body.p, s->body.len, w->scratch,
                                   (size_t)t->ws * (size_t)j->ch, j->ch, t->ws, t->hs, adjusted,
                                   w->what, e);
        if (rc == 0)
            iiifs_view_place(j->v, t, w->scratch, j->ch, j->band, j->stride, g);
        return rc;
    }
    if (s->split)
        return IIIFS_E_TILE_SIZE;   /* straight to the pieces */
    uint8_t *dst = j->band + t->dest_x * (uint64_t)j->ch;
    return iiifs_decode_into(w->dec, s->body.p, s->body.len, dst, j->stride, j->ch, t->ws,
                             t->hs, adjusted, w->what, e);
}

/* Lost tile t was filled into the band: list it. Counted here, not when it
 * was lost, so that the list grows band by band (a continued image's state
 * records each band's). Under mu. */
static void count_missing(run *j, const iiifs_tile *t)
{
    if (j->missing < IIIFS_MISSING_MAX) {
        j->missing_n[j->missing] = t->n;
        j->missing_m[j->missing] = t->m;
    }
    j->missing++;
}

/* The slot's tile is in the band (or failed): free the slot. Under mu. */
static void decoded(run *j, worker *w, slot *s, const iiifs_tile *t, int rc, int adjusted,
                    int lost, const iiifs_error *e)
{
    s->state = SLOT_FREE;
    s->missing = 0;
    s->need = 0;
    j->busy--;
    if (rc) {
        fail_locked(j, rc, e);
    } else {
        if (adjusted && !j->warned_size) {
            j->warned_size = 1;
            warn_locked(j, "%s came back a pixel or two off its planned %ux%u; cropped or padded",
                        w->what, t->ws, t->hs);
        }
        if (lost)
            count_missing(j, t);
        j->band_left--;
        j->tiles_done++;
        port_cond_signal(j->wake_main);
    }
    port_cond_broadcast(j->work);
}

/* Decode slot s (a tile of the band's group) into the band, then free it.
 * Called without mu; returns with mu released. */
static int decode_slot(worker *w, slot *s)
{
    run *j = w->j;
    iiifs_tile t;
    iiifs_view_tile(j->v, s->tile, &t);
    iiifs_plan_url(j->v->p, j->s->info->base, &t, w->url, sizeof w->url);
    iiifs_format(w->what, sizeof w->what, "tile %u,%u (%s)", t.n, t.m, w->url);
    iiifs_error e = { 0, "" };
    int adjusted = 0, rc = 0, lost = s->missing;
    if (s->missing)
        fill_tile(w, &t, band_of(j, s->tile));
    else
        rc = decode_tile(w, s, &t, &adjusted, &e);
    if (rc == IIIFS_E_TILE_SIZE && j->s->regions) {
        port_mutex_lock(j->mu);
        if (!j->split) {
            j->split = 1;
            warn_locked(j, "%s; the server clamps: asking for %ux%u tiles from now on", e.msg,
                        j->s->tile_w, j->s->tile_h);
        }
        port_mutex_unlock(j->mu);
        e.code = 0;
        rc = split_region(w, s, &t, &e);
    }
    if (rc && (rc == IIIFS_E_JPEG || rc == IIIFS_E_TILE_SIZE) && j->s->allow_partial) {
        port_mutex_lock(j->mu);
        warn_locked(j, "%s; filled with %u (allow-partial)", e.msg, IIIFS_PARTIAL_FILL);
        port_mutex_unlock(j->mu);
        fill_tile(w, &t, band_of(j, s->tile));
        rc = 0;
        lost = 1;
    }
    port_mutex_lock(j->mu);
    decoded(j, w, s, &t, rc, adjusted, lost, &e);
    port_mutex_unlock(j->mu);
    return rc;
}

/* Slot s is ready (fetched, or lost under allow_partial): decode it now
 * when it belongs to the band, else leave it waiting. Called with mu held;
 * returns with mu released. */
static int hand_over(worker *w, slot *s)
{
    run *j = w->j;
    if (j->open && band_of(j, s->tile) == j->band_row) {
        port_mutex_unlock(j->mu);
        return decode_slot(w, s);
    }
    s->state = SLOT_WAITING;
    if (s->tile == j->s->start_band * j->v->gsize)
        j->first = s;
    port_cond_signal(j->wake_main);
    port_mutex_unlock(j->mu);
    return 0;
}

/* ---- fetching */

/* The request for slot s (tile t) failed with rc: try it again later, wait
 * for memory, or give it up. Under mu; returns with mu released. */
static int fetch_failed(worker *w, slot *s, const iiifs_tile *t, int rc,
                        const iiifs_response *r, const iiifs_error *e)
{
    run *j = w->j;
    uint64_t now = port_now_ms();
    if (rc == IIIFS_E_NOMEM && r->want && !j->stop) {
        s->tries--;                 /* not the server's fault: not a try */
        s->need = (size_t)r->want;
        j->est_tile = IIIFS_MAX(j->est_tile, s->need);
        s->state = SLOT_RETRY;
        s->not_before = now;
        port_cond_broadcast(j->work);
        port_mutex_unlock(j->mu);
        return 0;
    }
    int status = rc == IIIFS_E_HTTP_STATUS ? r->status : 0;
    if (j->stop || !iiifs_fetch_transient(rc, status) || s->tries >= j->s->tries) {
        iiifs_error final = { 0, "" };
        if (s->tries > 1)
            iiifs_fail(&final, rc, "tile %u,%u: %s after %u tries", t->n, t->m, e->msg, s->tries);
        else
            iiifs_fail(&final, rc, "tile %u,%u: %s", t->n, t->m, e->msg);
        int lose = rc != IIIFS_E_NOMEM && rc != IIIFS_E_LIMIT && rc != IIIFS_E_IO &&
                   rc != IIIFS_E_CANCELED;
        if (!j->stop && j->s->allow_partial && lose) {
            warn_locked(j, "%s; filled with %u (allow-partial)", final.msg, IIIFS_PARTIAL_FILL);
            s->missing = 1;
            s->body.len = 0;
            return hand_over(w, s);
        }
        fail_locked(j, rc, &final);
        port_mutex_unlock(j->mu);
        return rc;
    }
    uint32_t delay = iiifs_fetch_delay_ms(s->tries, r->retry_after_ms,
                                          iiifs_fetch_rand(&w->f.rng));
    j->retries++;
    warn_locked(j, "tile %u,%u: %s; try %u of %u in %.1f s", t->n, t->m, e->msg, s->tries + 1,
                j->s->tries, delay / 1e3);
    s->not_before = now + delay;
    s->state = SLOT_RETRY;
    port_cond_broadcast(j->work);
    port_mutex_unlock(j->mu);
    return 0;
}

/* One request for slot s, under grant g; decodes it at once when it belongs
 * to the band. Called without mu; returns with mu released. */
static int fetch_slot(worker *w, slot *s, iiifs_grant *g)
{
    run *j = w->j;
    iiifs_tile t;
    iiifs_view_tile(j->v, s->tile, &t);
    iiifs_error e = { 0, "" };
    iiifs_response r;
    memset(&r, 0, sizeof r);
    int rc = 0;
    w->note[0] = 0;
    if (s->split)
        s->body.len = 0;        /* fetched in pieces once its band is ready */
    else
        rc = iiifs_ladder_fetch(j->s->ladder, &w->f, &t, &s->body, &r, w->url, sizeof w->url,
                                w->note, sizeof w->note, &e);
    uint32_t halved = j->polite ? iiifs_polite_release(j->polite, g, rc, r.status,
                                                       r.retry_after_ms) : 0;
    port_mutex_lock(j->mu);
    s->tries++;
    j->pending -= s->pending;
    s->pending = 0;
    w->bytes_seen = bytes_in(w);
    if (halved)
        warn_locked(j, "HTTP %d: the server is busy; down to %u connection%s", r.status, halved,
                    halved > 1 ? "s" : "");
    if (w->note[0])
        warn_locked(j, "%s", w->note);
    if (rc)
        return fetch_failed(w, s, &t, rc, &r, &e);
    if (s->body.len > j->est_tile)
        j->est_tile = s->body.len;
    return hand_over(w, s);
}

/* The slot to fetch next: a failed one whose time has come (with room for
 * the body it needs), else a new tile within the window. *wake: when one of
 * the failed ones is due. Under mu. */
static slot *next_slot(run *j, uint64_t now, uint64_t *wake, int *fresh)
{
    slot *retry = NULL;
    *fresh = 0;
    for (uint32_t i = 0; i < j->nslots; i++) {
        slot *s = &j->slots[i];
        if (s->state != SLOT_RETRY)
            continue;
        if (s->not_before > now) {
            *wake = IIIFS_MIN(*wake, s->not_before);
            continue;
        }
        if (!retry || s->tile < retry->tile)
            retry = s;
    }
    if (retry) {
        size_t grow = growth(j, retry);
        int first = !j->open && retry->tile == j->s->start_band * j->v->gsize;
        int fits = band_of(j, retry->tile) == j->band_row ? room_for_band(j, grow, first, retry)
                                                          : room(j, grow, retry);
        return fits ? retry : NULL;
    }
    if (j->next_tile >= j->ntiles || j->next_tile >= j->band_row * j->v->gsize + j->window)
        return NULL;
    slot *s = free_slot(j);
    *fresh = s != NULL;
    return s;
}

/* Nothing is in flight or waiting, nothing is due later, and yet nothing
 * could be fetched: what is left does not fit in memory. Fail, naming it.
 * Under mu. */
static int stuck(run *j, uint64_t wake)
{
    if (wake != UINT64_MAX || j->stop)
        return 0;
    slot *need = NULL;
    for (uint32_t i = 0; i < j->nslots; i++) {
        slot *s = &j->slots[i];
        if (s->state == SLOT_BUSY || s->state == SLOT_WAITING)
            return 0;
        if (s->state == SLOT_RETRY && s->need && !need)
            need = s;
    }
    int more = j->next_tile < j->ntiles && j->next_tile < j->band_row * j->v->gsize + j->window;
    if (!need && !more)
        return 0;
    iiifs_tile t;
    iiifs_view_tile(j->v, need ? need->tile : j->next_tile, &t);
    iiifs_error e = { 0, "" };
    iiifs_fail(&e, IIIFS_E_NOMEM, "tile %u,%u: %zu bytes do not fit under the memory cap of "
               "%zu bytes (--max-memory) beside the band of %zu", t.n, t.m,
               need ? need->need : j->est_tile, j->cap,
               (size_t)(j->v->ow * j->v->band_cap * (uint64_t)j->band_ch));
    fail_locked(j, IIIFS_E_NOMEM, &e);
    return 1;
}

/* What worker_step did. */
enum { STEP_STOP = -1, STEP_IDLE = 0, STEP_DONE = 1, STEP_HELD = 2 };

/* One unit of work for w: decode a waiting tile of the band's group, try a
 * failed request again when its time has come, or fetch the next tile.
 * STEP_DONE after doing something; STEP_IDLE when there is nothing to do
 * before ms *wake (UINT64_MAX: until signalled); STEP_HELD when a request
 * waits for the server's leave (woken when a request to it ends, or at
 * *wake); STEP_STOP when the job stops. Called without mu. */
static int worker_step(worker *w, uint64_t *wake)
{
    run *j = w->j;
    *wake = UINT64_MAX;
    port_mutex_lock(j->mu);
    for (uint32_t i = 0; i < j->nslots && !j->stop; i++) {
        slot *s = &j->slots[i];
        if (s->state == SLOT_WAITING && j->open && band_of(j, s->tile) == j->band_row) {
            s->state = SLOT_BUSY;
            port_mutex_unlock(j->mu);
            return decode_slot(w, s) ? STEP_STOP : STEP_DONE;
        }
    }
    if (j->stop) {
        port_mutex_unlock(j->mu);
        return STEP_STOP;
    }
    int fresh;
    slot *s = next_slot(j, port_now_ms(), wake, &fresh);
    if (!s) {
        int r = stuck(j, *wake) ? STEP_STOP : STEP_IDLE;
        port_mutex_unlock(j->mu);
        return r;
    }
    iiifs_grant g = { NULL, 0 };
    if (j->polite) {
        iiifs_error e = { 0, "" };
        int ok = iiifs_polite_try(j->polite, j->s->origin, &j->waiter, &g, wake, &e);
        if (ok < 0)
            fail_locked(j, ok, &e);
        if (ok <= 0) {
            port_mutex_unlock(j->mu);
            return ok < 0 ? STEP_STOP : STEP_HELD;
        }
    }
    if (fresh) {
        s->tile = j->next_tile++;
        s->tries = 0;
        s->split = j->split;
        j->busy++;
    }
    s->state = SLOT_BUSY;
    s->pending = growth(j, s);
    j->pending += s->pending;
    port_mutex_unlock(j->mu);
    return fetch_slot(w, s, &g) < 0 ? STEP_STOP : STEP_DONE;
}

static void worker_main(void *arg)
{
    worker *w = arg;
    run *j = w->j;
    for (;;) {
        uint64_t wake;
        int r = worker_step(w, &wake);
        if (r == STEP_STOP)
            return;
        if (r != STEP_DONE) {
            port_mutex_lock(j->mu);
            if (!j->stop)
                wait_until(j, j->work, wake);
            port_mutex_unlock(j->mu);
        }
    }
}

/* ---- the calling thread */

/* The observer's view of the job (mu held); non-zero: it asks to stop. */
static int progress(run *j)
{
    if (!j->h->progress)
        return 0;
    iiifs_progress pr;
    pr.width = j->v->ow;
    pr.height = j->v->oh;
    pr.channels = j->ch;
    pr.rows_done = j->band_row;
    pr.rows = j->v->ngroups;
    pr.tiles_done = j->tiles_done;
    pr.tiles = j->ntiles;
    pr.bytes_in = 0;
    for (uint32_t i = 0; i < j->nworkers; i++)
        pr.bytes_in += j->w[i].bytes_seen;
    pr.elapsed_ms = port_now_ms() - j->t0;
    port_mutex_unlock(j->mu);
    int stop = j->h->progress(j->h->ud, &pr);
    port_mutex_lock(j->mu);
    if (stop) {
        iiifs_error e = { 0, "" };
        iiifs_fail(&e, IIIFS_E_CANCELED, "stopped at band %u of %u", j->band_row,
                   j->v->ngroups);
        fail_locked(j, IIIFS_E_CANCELED, &e);
    }
    return stop;
}

/* Without threads the calling thread fetches too; else it waits for the
 * workers. Under mu. */
static void step_or_wait(run *j)
{
    if (!j->threaded) {
        uint64_t wake;
        port_mutex_unlock(j->mu);
        int r = worker_step(&j->w[0], &wake);
        port_mutex_lock(j->mu);
        if (r == STEP_HELD && !j->stop) {
            wait_until(j, j->wake_main, wake);
        } else if (r == STEP_IDLE && !j->stop) {
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
}

/* Run the calling thread's share until the band is complete or the job
 * stops: decode waiting tiles; without threads, do the workers' work too. */
static void fill_band(run *j)
{
    uint64_t last = 0;
    while (!j->stop && j->band_left) {
        slot *s = NULL;
        for (uint32_t i = 0; i < j->nslots && !s; i++)
            if (j->slots[i].state == SLOT_WAITING && band_of(j, j->slots[i].tile) == j->band_row)
                s = &j->slots[i];
        if (s) {
            s->state = SLOT_BUSY;
            port_mutex_unlock(j->mu);
            decode_slot(&j->self, s);
            port_mutex_lock(j->mu);
        } else {
            step_or_wait(j);
        }
        flush_warnings(j);
        uint64_t now = port_now_ms();
        if (now - last >= IIIFS_PROGRESS_MS / 2) {
            last = now;
            progress(j);
        }
    }
}

/* Wait for the first tile; meanwhile, without threads, fetch. Under mu. */
static void wait_first(run *j)
{
    while (!j->stop && !j->first) {
        uint64_t wake = UINT64_MAX;
        int s = STEP_IDLE;
        if (!j->threaded) {
            port_mutex_unlock(j->mu);
            s = worker_step(&j->w[0], &wake);
            port_mutex_lock(j->mu);
        }
        flush_warnings(j);
        if (s != STEP_DONE && !j->stop && !j->first)
            wait_until(j, j->wake_main, wake);
    }
}

/* The band and, for a view, one decoded tile per decoder, at ch channels
 * (what they held before is let go first). */
static int alloc_band(run *j, int ch)
{
    const iiifs_view *v = j->v;
    port_free(j->band);
    j->band = port_malloc((size_t)(v->ow * (uint64_t)ch) * v->band_cap);
    j->band_ch = j->band ? ch : 0;
    for (uint32_t i = 0; !v->identity && i <= IIIFS_CONN_MAX; i++) {
        worker *w = i < IIIFS_CONN_MAX ? &j->w[i] : &j->self;
        port_free(w->scratch);
        w->scratch = NULL;
        if (w->j && j->band &&
            !(w->scratch = port_malloc((size_t)v->p->tw * v->p->th * (size_t)ch)))
            j->band_ch = 0;
    }
    return j->band_ch ? 0 : IIIFS_E_NOMEM;
}

/* Before anything is fetched, so that tiles in flight never take its
 * place: three channels, or one when three do not fit (the first tile may
 * be gray). */
static int first_band(run *j, iiifs_error *e)
{
    uint64_t gray = j->v->ow * j->v->band_cap, share = j->s->memory ? j->s->memory : j->cap;
    if (share && gray > share)
        return iiifs_fail(e, IIIFS_E_LIMIT, "one band of %llux%u px needs %llu bytes, over "
                          "the memory cap (--max-memory) of %llu", (unsigned long long)j->v->ow,
                          j->v->band_cap, (unsigned long long)gray, (unsigned long long)share);
    if ((3 * gray <= share || !share) && alloc_band(j, 3) == 0)
        return 0;
    if (alloc_band(j, 1) == 0)
        return 0;
    return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for a band of %llu bytes (memory cap %zu, "
                      "--max-memory)", (unsigned long long)(j->v->ow * j->v->band_cap), j->cap);
}

/* The band, sized by the caller's answer to the first tile. Not under mu. */
static int open_band(run *j, iiifs_result *r, iiifs_error *e)
{
    const uint8_t *first = j->first->missing ? NULL : j->first->body.p;
    size_t len = j->first->missing ? 0 : j->first->body.len;
    int ch = 3, rc = j->h->open(j->h->ud, first, len, &ch, e);
    if (rc)
        return rc;
    const iiifs_view *v = j->v;
    port_mutex_lock(j->mu);
    if (ch != j->band_ch && alloc_band(j, ch) != 0) {
        port_mutex_unlock(j->mu);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for a band of %llu bytes (memory cap "
                          "%zu, --max-memory)", (unsigned long long)(v->ow * ch * v->band_cap),
                          j->cap);
    }
    r->channels = ch;
    j->ch = ch;
    j->stride = (size_t)(v->ow * (uint64_t)ch);
    j->open = 1;
    port_cond_broadcast(j->work);
    port_mutex_unlock(j->mu);
    return 0;
}

/* Band band_row is complete: hand it over, then move on. Under mu. */
static void write_band(run *j)
{
    iiifs_band b;
    b.index = j->band_row;
    iiifs_view_band_rows(j->v, j->band_row, &b.y0, &b.rows);
    b.pixels = j->band;
    b.stride = j->stride;
    b.lost = j->missing - j->missing_saved;
    uint32_t from = IIIFS_MIN(j->missing_saved, (uint32_t)IIIFS_MISSING_MAX);
    b.listed = IIIFS_MIN(j->missing, (uint32_t)IIIFS_MISSING_MAX) - from;
    b.lost_n = j->missing_n + from;
    b.lost_m = j->missing_m + from;
    j->missing_saved = j->missing;
    port_mutex_unlock(j->mu);
    iiifs_error we = { 0, "" };
    int rc = j->h->write(j->h->ud, &b, &we);
    port_mutex_lock(j->mu);
    if (rc) {
        fail_locked(j, rc, &we);
        return;
    }
    uint32_t g = j->v->gsize;
    j->band_row++;
    j->band_left = (uint32_t)IIIFS_MIN((uint64_t)g, j->ntiles - (uint64_t)j->band_row * g);
    port_cond_broadcast(j->work);
    progress(j);
}

/* ---- setting up and taking down */

static int worker_init(run *j, worker *w, uint32_t id, iiifs_error *e)
{
    w->j = j;
    w->id = id;
    if (j->s->client)
        iiifs_client_fetcher(j->s->client, &w->f, &w->http, NULL, NULL);
    else
        iiifs_fetcher_init(&w->f, NULL, NULL, j->s->tries);
    w->f.tries = j->s->tries;
    return iiifs_decoder_new(&w->dec, port_mem_cap(), e);
}

static void worker_free(run *j, worker *w, iiifs_result *r)
{
    if (!w->j)
        return;
    r->requests += w->http.requests + w->f.files;
    r->bytes_in += bytes_in(w);
    r->retries += w->f.retries;
    if (j->s->client)
        iiifs_http_free(&w->http);
    iiifs_decoder_free(w->dec);
    port_free(w->scratch);
}

/* Slots for the window: the band's group and as many tiles again (at least
 * two per worker). */
static int make_slots(run *j, iiifs_error *e)
{
    uint32_t g = j->v->gsize;
    j->ntiles = g * j->v->ngroups;
    uint64_t window = (uint64_t)g + IIIFS_MAX((uint64_t)g, 2u * j->nworkers);
    j->window = (uint32_t)IIIFS_MIN(window, (uint64_t)IIIFS_SLOTS_MAX);
    if (j->window < g)
        return iiifs_fail(e, IIIFS_E_LIMIT, "%u tiles in a band exceed the cap of %u", g,
                          IIIFS_SLOTS_MAX);
    j->nslots = (uint32_t)IIIFS_MIN((uint64_t)j->window, j->ntiles);
    j->slots = port_malloc(j->nslots * sizeof *j->slots);
    if (!j->slots)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for %u tile slots", j->nslots);
    for (uint32_t i = 0; i < j->nslots; i++) {
        memset(&j->slots[i], 0, sizeof j->slots[i]);
        iiifs_buf_init(&j->slots[i].body, IIIFS_TILE_BYTES_MAX);
    }
    return 0;
}

static int setup(run *j, iiifs_error *e)
{
    const iiifs_sched *s = j->s;
    j->t0 = port_now_ms();
    j->cap = port_mem_cap();
    j->nworkers = IIIFS_MAX(1u, IIIFS_MIN(s->workers, (uint32_t)IIIFS_CONN_MAX));
    j->threaded = j->nworkers > 1;
    j->polite = s->client && s->origin && s->origin[0] ? &s->client->polite : NULL;
    if (port_mutex_new(&j->mu) || port_cond_new(&j->work) || port_cond_new(&j->wake_main))
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the job's locks");
    j->waiter.mu = j->mu;
    j->waiter.cond = j->work;
    int rc;
    for (uint32_t i = 0; i < j->nworkers; i++)
        if ((rc = worker_init(j, &j->w[i], i, e)) != 0)
            return rc;
    if ((rc = worker_init(j, &j->self, IIIFS_CONN_MAX, e)) != 0)
        return rc;
    if ((rc = make_slots(j, e)) != 0)
        return rc;
    if ((rc = first_band(j, e)) != 0)
        return rc;
    j->missing = j->missing_saved = s->missing;
    for (uint32_t i = 0; i < IIIFS_MIN(s->missing, (uint32_t)IIIFS_MISSING_MAX); i++) {
        j->missing_n[i] = s->missing_n[i];
        j->missing_m[i] = s->missing_m[i];
    }
    uint32_t g = j->v->gsize, start = s->start_band * g;
    j->band_row = s->start_band;
    j->next_tile = j->tiles_done = start;
    j->band_left = IIIFS_MIN(g, j->ntiles - start);
    return 0;
}

/* Start the workers; a thread that cannot start leaves its share to the
 * others (and this one). Under mu. */
static void start_workers(run *j)
{
    if (!j->threaded)
        return;
    for (uint32_t i = 0; i < j->nworkers; i++) {
        if (port_thread_start(&j->w[i].thread, worker_main, &j->w[i]) != 0) {
            j->threaded = i > 0;
            j->nworkers = i > 0 ? i : 1;
            break;
        }
    }
}

static void take_down(run *j, iiifs_result *r)
{
    for (uint32_t i = 0; i < IIIFS_CONN_MAX; i++)
        worker_free(j, &j->w[i], r);
    worker_free(j, &j->self, r);
    for (uint32_t i = 0; j->slots && i < j->nslots; i++)
        iiifs_buf_free(&j->slots[i].body);
    port_free(j->slots);
    port_free(j->band);
    port_cond_free(j->wake_main);
    port_cond_free(j->work);
    port_mutex_free(j->mu);
}

/* The band loop, on the calling thread, from the first tile to the last band. */
static void bands(run *j, iiifs_result *r)
{
    port_mutex_lock(j->mu);
    start_workers(j);
    /* a server frees up: wake whoever fetches (without threads, this thread) */
    j->waiter.cond = j->threaded ? j->work : j->wake_main;
    wait_first(j);
    int stop = j->stop;             /* read under mu: a worker may set it any time */
    port_mutex_unlock(j->mu);
    iiifs_error e = { 0, "" };
    int rc = stop ? 0 : open_band(j, r, &e);
    port_mutex_lock(j->mu);
    if (rc)
        fail_locked(j, rc, &e);
    while (!j->stop && j->band_row < j->v->ngroups) {
        fill_band(j);
        if (!j->stop)
            write_band(j);
    }
    j->stop = 1;
    port_cond_broadcast(j->work);
    flush_warnings(j);
    port_mutex_unlock(j->mu);
    for (uint32_t i = 0; i < j->nworkers; i++) {
        port_thread_join(j->w[i].thread);
        j->w[i].thread = NULL;
    }
    if (j->polite)
        iiifs_polite_forget(j->polite, &j->waiter);
}

int iiifs_sched_run(const iiifs_sched *s, const iiifs_sched_hooks *h, iiifs_result *r,
                    iiifs_error *e)
{
    run *j = port_malloc(sizeof *j);
    if (!j)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the job");
    memset(j, 0, sizeof *j);
    j->s = s;
    j->h = h;
    j->v = s->view;
    int rc = setup(j, e);
    r->tiles = j->ntiles;
    if (!rc) {
        bands(j, r);
        if ((rc = j->rc) != 0)
            *e = j->err;
    }
    r->retries += j->retries;
    r->missing = j->missing;
    memcpy(r->missing_n, j->missing_n, sizeof r->missing_n);
    memcpy(r->missing_m, j->missing_m, sizeof r->missing_m);
    if (j->split) {                 /* the regions fell back on the advertised tiles */
        r->request_w = s->tile_w;
        r->request_h = s->tile_h;
    }
    take_down(j, r);
    port_free(j);
    return rc;
}
