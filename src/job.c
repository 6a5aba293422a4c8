/*
 * job.c — one image (iiifs_stitch in iiifstitch.h): its source resolved
 * (or taken as opened), the level planned, larger requests probed for, the
 * view made, the output opened once the first tile says gray or colour, an
 * interrupted image continued; the scheduler (stitch.h) does the rest.
 *
 * A source without a scheme is a local info.json in a static tile tree:
 * tiles are then read from the files the same URLs name (the benchmark
 * floor uses this path with one connection).
 */
#include "decode.h"
#include "resolve.h"
#include "resume.h"
#include "sink.h"
#include "stitch.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef IIIFS_PROBE_SIDE
#define IIIFS_PROBE_SIDE 2048u          /* side of the request that probes a server's cap */
#endif

typedef struct job {
    iiifs_client *client;
    const iiifs_job_options *o;
    iiifs_result *r;
    const iiifs_source *src;
    iiifs_source *owned;            /* resolved here */
    iiifs_http http;                /* the calling thread's handle, for documents */
    iiifs_fetcher f;
    iiifs_decoder *dec;             /* the first tile's header, the probe */
    size_t max_memory;              /* this image's share */
    iiifs_plan plan;
    uint32_t tile_w, tile_h;        /* the advertised tiles */
    int tiles_declared;             /* the info.json declares a usable tile set */
    int probe_later;                /* --plan with --request-size auto: a probe would decide */
    iiifs_view v;
    iiifs_ladder ladder;
    int ladder_ready;
    char origin[IIIFS_ORIGIN_KEY_MAX];
    uint8_t *icc;                   /* the first tile's ICC profile, if it has one */
    size_t icc_len;
    iiifs_sink sink;
    int sink_open;
    char datetime[IIIFS_TIFF_DATETIME_SIZE];
    /* continuing */
    iiifs_resume rs;
    int resume_ready;               /* rs was loaded: close it */
    uint64_t key;                   /* what the job is, for the state */
    uint32_t start_band;
    uint64_t skip_rows;             /* output rows the .part has already */
    uint32_t missing;               /* lost before the start band, the first listed: */
    uint32_t missing_n[IIIFS_MISSING_MAX], missing_m[IIIFS_MISSING_MAX];
} job;

static void warn(job *j, const char *fmt, ...) IIIFS_PRINTF(2, 3);

static void warn(job *j, const char *fmt, ...)
{
    if (!j->o->on_warning)
        return;
    char msg[IIIFS_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    j->o->on_warning(j->o->ud, msg);
}

/* ---- the time the image is begun */

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

/* ---- checks before anything is fetched */

static void sink_spec(const job *j, iiifs_sink_spec *spec)
{
    const iiifs_job_options *o = j->o;
    memset(spec, 0, sizeof *spec);
    spec->bitonal = o->quality == IIIFS_QUALITY_BITONAL;
    spec->format = o->format;
    spec->compression = o->compression;
    spec->jpeg_quality = o->jpeg_quality;
    spec->bigtiff = o->bigtiff;
    spec->resume = o->resume;
    spec->tags.artist = o->artist;
    spec->tags.copyright = o->copyright;
    spec->tags.description = o->description;
}

static int check(const job *j, iiifs_error *e)
{
    const iiifs_job_options *o = j->o;
    if (!o->output)
        return iiifs_fail(e, IIIFS_E_USAGE, "no output file given");
    if (!o->src && !o->source)
        return iiifs_fail(e, IIIFS_E_USAGE, "no source given");
    if (o->src && o->src->kind != IIIFS_SOURCE_IMAGE)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s is a IIIF %s, not an image: run it as a batch",
                          o->src->name, o->src->kind == IIIFS_SOURCE_MANIFEST ? "manifest"
                          : "collection");
    if (o->connections > IIIFS_CONN_MAX)
        return iiifs_fail(e, IIIFS_E_USAGE, "%u connections: at most %u", o->connections,
                          IIIFS_CONN_MAX);
    int64_t epoch;
    if (source_date_epoch(&epoch) < 0)
        return iiifs_fail(e, IIIFS_E_USAGE, "SOURCE_DATE_EPOCH=%s is not a count of seconds",
                          port_getenv("SOURCE_DATE_EPOCH"));
    iiifs_sink_spec spec;
    sink_spec(j, &spec);
    return iiifs_sink_check(o->output, &spec, e);
}

/* ---- the plan */

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
    iiifs_plan p = j->plan;
    p.tw = p.th = side;
    p.own_tiles = 1;
    iiifs_tile t;
    char url[IIIFS_URL_MAX];
    iiifs_plan_tile(&p, 0, 0, &t);
    iiifs_plan_url(&p, j->src->info.base, &t, url, sizeof url);
    iiifs_buf b;
    iiifs_buf_init(&b, IIIFS_TILE_BYTES_MAX);
    iiifs_jpeg_info ji = { 0, 0, 0 };
    uint32_t tries = j->f.tries;
    j->f.tries = 1;                 /* a refusal is an answer too */
    int rc = iiifs_fetch_document(&j->f, url, &b, NULL, 0, e);
    j->f.tries = tries;
    if (rc == 0)
        rc = iiifs_decode_header(j->dec, b.p, b.len, &ji, url, e);
    iiifs_buf_free(&b);
    if (rc)
        return 0;
    return ji.w == side && ji.h == side ? side : IIIFS_MIN(ji.w, ji.h);
}

/* --request-size auto without declared limits: one probe. 0 (keep the
 * tiles) or the side to ask for. */
static uint32_t probe_side(job *j)
{
    const iiifs_plan *p = &j->plan;
    uint32_t tw = j->tile_w, th = j->tile_h;
    uint32_t side = (uint32_t)IIIFS_MIN(IIIFS_MIN(p->W, p->H), (uint64_t)IIIFS_PROBE_SIDE);
    if (side <= IIIFS_MAX(tw, th))
        return 0;
    iiifs_error pe = { 0, "" };
    uint32_t cap = probe_cap(j, side, &pe);
    if (cap == 0) {
        warn(j, "--request-size auto: the probe for the server's cap failed (%s); using its "
                "%ux%u tiles", pe.msg, tw, th);
        return 0;
    }
    if (cap >= side)
        return side;
    cap -= cap % 8u;
    if (cap <= IIIFS_MAX(tw, th)) {
        warn(j, "--request-size auto: the server clamped a %ux%u request to %u px; using its "
                "%ux%u tiles", side, side, cap, tw, th);
        return 0;
    }
    warn(j, "--request-size auto: the server clamps requests to %u px", cap);
    return cap;
}

/* Whether --request-size can apply at all; warns when not. */
static int requests_apply(job *j)
{
    const iiifs_job_options *o = j->o;
    const iiifs_info *in = &j->src->info;
    if (o->rotate || o->mirror || o->region.w > 0 || o->region.h > 0) {
        warn(j, "--request-size is not combined with --region, --rotate or --mirror; the "
                "advertised %ux%u tiles are used", j->tile_w, j->tile_h);
        return 0;
    }
    if (j->plan.s != 1) {
        warn(j, "--request-size works at full resolution; at scale factor %u the advertised "
                "%ux%u tiles are used", j->plan.s, j->tile_w, j->tile_h);
        return 0;
    }
    if (o->request_size == IIIFS_REQUEST_AUTO &&
        (!(in->feat & IIIFS_F_REGION_PX) || in->level < 1 || j->src->local)) {
        warn(j, "--request-size auto: the server does not take pixel regions; using its "
                "%ux%u tiles", j->tile_w, j->tile_h);
        return 0;
    }
    return 1;
}

/* --request-size: regions larger than the advertised tiles where the
 * server takes pixel regions: the declared limits, or one probe. */
static int plan_requests(job *j, iiifs_error *e)
{
    const iiifs_info *in = &j->src->info;
    iiifs_plan *p = &j->plan;
    uint32_t size = j->o->request_size;
    if (!size || !requests_apply(j))
        return 0;
    if (size != IIIFS_REQUEST_AUTO)
        return iiifs_plan_regions(p, in, size, IIIFS_MIN(size, band_rows_fit(j, j->tile_h)), e);
    uint64_t side_w = p->W, side_h = p->H;
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
    } else if (j->o->plan_only) {
        j->probe_later = 1;         /* --plan makes no image request */
        return 0;
    } else {
        uint32_t side = probe_side(j);
        if (!side)
            return 0;
        side_w = IIIFS_MIN(side_w, side);
        side_h = IIIFS_MIN(side_h, side);
    }
    side_h = IIIFS_MIN(side_h, band_rows_fit(j, j->tile_h));
    side_w = IIIFS_MIN(side_w, (uint64_t)IIIFS_TILE_SIDE_MAX);
    if (side_w <= j->tile_w && side_h <= j->tile_h)
        return 0;
    return iiifs_plan_regions(p, in, (uint32_t)side_w, (uint32_t)side_h, e);
}

_Static_assert(IIIFS_URL_MAX <= IIIFS_PLAN_URL_MAX, "plan URLs fit the report");

/* What the job will ask for, before it asks (--plan, and every result). */
static void plan_report(const job *j, iiifs_plan_report *r)
{
    const iiifs_plan *p = &j->plan;
    r->level = j->src->info.level;
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
    iiifs_view_tile(&j->v, 0, &t);
    iiifs_plan_url(p, j->src->info.base, &t, r->first_url, sizeof r->first_url);
    iiifs_view_tile(&j->v, j->v.gsize * j->v.ngroups - 1, &t);
    iiifs_plan_url(p, j->src->info.base, &t, r->last_url, sizeof r->last_url);
}

/* The level, the requests and the view. */
static int plan(job *j, iiifs_error *e)
{
    const iiifs_job_options *o = j->o;
    const iiifs_info *in = &j->src->info;
    iiifs_plan *p = &j->plan;
    uint32_t scale;
    int rc = iiifs_plan_pick_scale(in, o->scale, o->max_width, o->max_height, &scale, e);
    if (rc || (rc = iiifs_plan_make(p, in, scale, e)) != 0)
        return rc;
    if (p->preset && (p->out_w < p->W || p->out_h < p->H))
        warn(j, "the server offers at most %llux%llu of the %llux%llu image (level 0, preset "
                "sizes only)", (unsigned long long)p->out_w, (unsigned long long)p->out_h,
             (unsigned long long)p->W, (unsigned long long)p->H);
    j->r->api = in->api;
    if (in->has_auth)
        warn(j, "the image service declares IIIF Auth: pass --cookie or --token if tiles are "
                "refused");
    j->tile_w = p->tw;
    j->tile_h = p->th;
    j->tiles_declared = !p->own_tiles;
    if ((rc = plan_requests(j, e)) != 0 ||
        (rc = iiifs_view_make(&j->v, p, &o->region, o->mirror, o->rotate, e)) != 0)
        return rc;
    j->r->width = j->v.ow;
    j->r->height = j->v.oh;
    plan_report(j, &j->r->plan);
    j->r->request_w = p->tw;
    j->r->request_h = p->th;
    return 0;
}

/* ---- continuing an interrupted image */

/* What the job is, as far as the pixels and the layout go: a .part begun
 * by another is not continued. The tags, the colour profile and gray or
 * colour are in the head, which the sink compares. */
static uint64_t job_key(const job *j)
{
    const iiifs_job_options *o = j->o;
    const iiifs_view *v = &j->v;
    char text[IIIFS_URL_MAX + 256];
    iiifs_format(text, sizeof text, "%s|%llux%llu|s%u|crop %llu,%llu,%llu,%llu|m%d|r%d|q%d|f%d|"
                 "c%d|b%d|rows %u", j->src->name, (unsigned long long)v->ow,
                 (unsigned long long)v->oh, j->plan.s, (unsigned long long)v->cx,
                 (unsigned long long)v->cy, (unsigned long long)v->cw,
                 (unsigned long long)v->chh, v->mirror, v->rot, (int)o->quality, (int)o->format,
                 (int)o->compression, o->bigtiff, v->band_cap);
    return iiifs_fnv1a(IIIFS_FNV_OFFSET, text, strlen(text));
}

/* Read the state, if any, and start at the band that holds the first row
 * the .part lacks. */
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
        iiifs_view_band_rows(&j->v, g, &y0, &h);
        if (done < y0 + h)
            break;
    }
    j->start_band = g;
    j->skip_rows = done;
    iiifs_resume_missing_before(&j->rs, g, &j->missing, j->missing_n, j->missing_m,
                                IIIFS_MISSING_MAX);
    return 0;
}

/* ---- the scheduler's hooks */

/* The first tile: gray or colour, the ICC profile, the band's fit, then
 * the output. */
static int on_open(void *ud, const uint8_t *tile, size_t len, int *channels, iiifs_error *e)
{
    job *j = ud;
    const iiifs_job_options *o = j->o;
    iiifs_jpeg_info ji;
    char what[IIIFS_URL_MAX + 64];
    iiifs_tile t;
    iiifs_view_tile(&j->v, j->start_band * j->v.gsize, &t);
    iiifs_format(what, sizeof what, "tile %u,%u", t.n, t.m);
    int rc;
    if (!tile)                      /* lost: nothing to learn gray or colour from */
        ji.channels = 3;
    else if ((rc = iiifs_decode_header(j->dec, tile, len, &ji, what, e)) != 0 ||
             (rc = iiifs_decode_icc(j->dec, tile, len, &j->icc, &j->icc_len, what, e)) != 0)
        return rc;
    if (j->icc && ji.channels == 3 && o->quality != IIIFS_QUALITY_DEFAULT) {
        port_free(j->icc);          /* an RGB profile does not describe gray pixels */
        j->icc = NULL;
        j->icc_len = 0;
    }
    int ch = ji.channels == 1 || o->quality != IIIFS_QUALITY_DEFAULT ? 1 : 3;
    uint64_t band = j->v.ow * ch * (uint64_t)j->v.band_cap;
    if (band > IIIFS_BAND_BYTES_MAX || band > j->max_memory)
        return iiifs_fail(e, IIIFS_E_LIMIT,
                          "one band of %llux%u px needs %llu bytes, over the %s of %llu",
                          (unsigned long long)j->v.ow, j->v.band_cap, (unsigned long long)band,
                          band > j->max_memory ? "memory cap (--max-memory)" : "cap",
                          (unsigned long long)IIIFS_MIN((uint64_t)IIIFS_BAND_BYTES_MAX,
                                                        (uint64_t)j->max_memory));
    iiifs_sink_spec spec;
    sink_spec(j, &spec);
    spec.width = j->v.ow;
    spec.height = j->v.oh;
    spec.channels = ch;
    spec.rows_per_strip = j->v.band_cap;
    spec.uneven = !j->v.identity;
    spec.rstate = &j->rs;
    spec.resume_key = j->key;
    spec.resume_band = j->start_band;
    char software[64];
    iiifs_format(software, sizeof software, "iiifstitch %s", IIIFS_VERSION);
    spec.tags.software = software;
    spec.tags.document_name = j->src->name;
    if (j->rs.found)                /* the time the image was begun */
        spec.tags.datetime = j->rs.datetime[0] ? j->rs.datetime : NULL;
    else
        spec.tags.datetime = iiifs_tiff_datetime(wall_time(), j->datetime) ? NULL : j->datetime;
    spec.tags.icc = j->icc;
    spec.tags.icc_len = j->icc_len;
    if ((rc = iiifs_sink_open(&j->sink, o->output, &spec, e)) != 0)
        return rc;
    j->sink_open = 1;
    *channels = ch;
    return 0;
}

/* A complete band: its lost tiles into the state (before its strips: see
 * resume.h), then the rows the .part does not have yet. */
static int on_write(void *ud, const iiifs_band *b, iiifs_error *e)
{
    job *j = ud;
    uint32_t skip = b->y0 < j->skip_rows
                    ? (uint32_t)IIIFS_MIN(j->skip_rows - b->y0, (uint64_t)b->rows) : 0;
    int rc = 0;
    if (b->lost && j->o->resume)
        rc = iiifs_resume_missing(&j->rs, b->index, b->lost, b->lost_n, b->lost_m, b->listed,
                                  e);
    if (!rc && b->rows > skip)
        rc = iiifs_sink_write(&j->sink, b->pixels + (size_t)skip * b->stride, b->rows - skip,
                              e);
    return rc;
}

static int on_progress(void *ud, const iiifs_progress *p)
{
    job *j = ud;
    return j->o->on_progress ? j->o->on_progress(j->o->ud, p) : 0;
}

static void on_warning(void *ud, const char *msg)
{
    job *j = ud;
    if (j->o->on_warning)
        j->o->on_warning(j->o->ud, msg);
}

/* ---- the job */

static int fetch_tiles(job *j, iiifs_error *e)
{
    int rc = iiifs_ladder_init(&j->ladder, &j->plan, &j->src->info, e);
    if (rc)
        return rc;
    j->ladder_ready = 1;
    if (!j->src->local)
        iiifs_origin_key(j->src->info.base, j->origin, sizeof j->origin);
    iiifs_sched s;
    memset(&s, 0, sizeof s);
    s.client = j->src->local ? NULL : j->client;
    s.view = &j->v;
    s.info = &j->src->info;
    s.ladder = &j->ladder;
    s.origin = j->origin;
    s.workers = j->o->connections ? j->o->connections : j->client->connections;
    s.memory = j->max_memory;
    s.tries = j->client->tries;
    s.allow_partial = j->o->allow_partial;
    s.regions = j->plan.own_tiles && (j->plan.tw > j->tile_w || j->plan.th > j->tile_h);
    s.tile_w = j->tile_w;
    s.tile_h = j->tile_h;
    s.start_band = j->start_band;
    s.missing = j->missing;
    s.missing_n = j->missing_n;
    s.missing_m = j->missing_m;
    iiifs_sched_hooks h = { on_open, on_write, on_progress, on_warning, j };
    return iiifs_sched_run(&s, &h, j->r, e);
}

/* Resolve, plan, run, commit. */
static int run(job *j, iiifs_error *e)
{
    int rc = iiifs_decoder_new(&j->dec, j->max_memory, e);
    if (rc)
        return rc;
    j->src = j->o->src;
    if (!j->src) {
        if ((rc = iiifs_resolve(&j->f, j->o->source, &j->owned, e)) != 0)
            return rc;
        if (j->owned->kind != IIIFS_SOURCE_IMAGE)
            return iiifs_fail(e, IIIFS_E_USAGE, "%s is a IIIF %s, not an image: run it as a "
                              "batch", j->o->source, j->owned->kind == IIIFS_SOURCE_MANIFEST
                              ? "manifest" : "collection");
        j->src = j->owned;
    } else {
        j->r->requests += j->src->requests + j->src->files;
        j->r->bytes_in += j->src->bytes_in;
        j->r->retries += j->src->retries;
    }
    if ((rc = plan(j, e)) != 0 || j->o->plan_only)
        return rc;
    if (j->o->resume && (rc = resume_load(j, e)) != 0)
        return rc;
    if ((rc = fetch_tiles(j, e)) != 0)
        return rc;
    if ((rc = iiifs_sink_commit(&j->sink, e)) != 0)
        return rc;
    j->sink_open = 0;
    if (j->resume_ready) {          /* the image is whole: its state goes */
        iiifs_resume_close(&j->rs, 1);
        j->resume_ready = 0;
    }
    j->r->resumed_rows = j->skip_rows;
    j->r->file_bytes = j->sink.bytes;
    j->r->bigtiff = j->o->format == IIIFS_FORMAT_TIFF && j->sink.big;
    return 0;
}

/* Whatever the job still holds, let go; a failed continued image keeps
 * its .part and says so. */
static void finish(job *j, int rc, iiifs_error *e)
{
    iiifs_result *r = j->r;
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
                     j->o->output);
    }
    r->requests += j->http.requests + j->f.files;
    r->bytes_in += j->http.bytes_in + j->f.file_bytes;
    r->retries += j->f.retries;
    iiifs_http_free(&j->http);
    if (j->ladder_ready)
        iiifs_ladder_free(&j->ladder);
    iiifs_decoder_free(j->dec);
    iiifs_source_free(j->owned);
    port_free(j->icc);
}

int iiifs_stitch(iiifs_client *c, const iiifs_job_options *o, iiifs_result *r, iiifs_error *e)
{
    memset(r, 0, sizeof *r);
    uint64_t t0 = port_now_ms();
    job *j = port_malloc(sizeof *j);
    if (!j)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the job");
    memset(j, 0, sizeof *j);
    j->client = c;
    j->o = o;
    j->r = r;
    j->max_memory = o->max_memory ? IIIFS_MIN(o->max_memory, c->max_memory) : c->max_memory;
    iiifs_client_fetcher(c, &j->f, &j->http, on_warning, j);
    int rc = check(j, e);
    if (!rc)
        rc = run(j, e);
    finish(j, rc, e);
    port_free(j);
    r->elapsed_ms = port_now_ms() - t0;
    r->mem_peak = port_mem_peak();
    return rc;
}
