/*
 * stitch.c — the pipeline: resolve the info.json, plan the grid, then for
 * each tile row fetch every tile, decode it into its place in the band and
 * write the band as one TIFF strip.
 *
 * Memory: everything is sized once, after the first tile is seen: one
 * band (out_w x tile height x channels), one compressed-tile buffer that
 * only grows to the largest tile, the connection pool. The row loop
 * allocates nothing of its own; nothing depends on image height.
 *
 * A source without a scheme is a local info.json in a static tile tree;
 * tiles are then read from the files the same URLs name. The same code
 * path then measures the floor: decoding and writing without a network.
 */
#include "decode.h"
#include "http.h"
#include "info.h"
#include "plan.h"
#include "sink.h"

#include <string.h>

typedef struct job {
    const iiifs_options *o;
    iiifs_http http;
    int local;                  /* source is a local file tree */
    uint32_t file_reads;
    uint64_t file_bytes_in;
    iiifs_buf body;             /* info.json, then every tile in turn */
    iiifs_info info;
    iiifs_plan plan;
    iiifs_decoder *dec;
    uint8_t *band;
    iiifs_sink sink;
    int sink_open;
    int warned_size;
    int last_status;            /* HTTP status of the last fetch */
    uint64_t t0;
} job;

static void warn(job *j, const char *msg)
{
    if (j->o->on_warning)
        j->o->on_warning(j->o->ud, msg);
}

static int read_file(job *j, const char *path, iiifs_buf *b, iiifs_error *e)
{
    port_file f;
    int rc = port_file_open_read(path, &f);
    if (rc)
        return iiifs_fail(e, rc, "cannot open %s: %s", path, port_error_text());
    b->len = 0;
    int64_t size = port_file_size(f);
    if (size > (int64_t)b->limit) {
        port_file_close(&f);
        return iiifs_fail(e, IIIFS_E_LIMIT, "%s: %lld bytes exceed the cap of %zu bytes", path,
                          (long long)size, b->limit);
    }
    if (size > 0 && (rc = iiifs_buf_reserve(b, (size_t)size)) != 0) {
        port_file_close(&f);
        return iiifs_fail(e, rc, "no memory to read %s", path);
    }
    for (;;) {
        if ((rc = iiifs_buf_reserve(b, 4096)) != 0) {
            port_file_close(&f);
            return iiifs_fail(e, rc, "%s: larger than the cap of %zu bytes", path, b->limit);
        }
        long r = port_file_read(f, b->p + b->len, b->cap - b->len);
        if (r < 0) {
            port_file_close(&f);
            return iiifs_fail(e, (int)r, "cannot read %s: %s", path, port_error_text());
        }
        if (r == 0)
            break;
        b->len += (size_t)r;
    }
    port_file_close(&f);
    j->file_reads++;
    j->file_bytes_in += b->len;
    return 0;
}

/* GET url into b; anything but a 2xx final status is an error. */
static int fetch(job *j, const char *url, iiifs_buf *b, char *final_url, size_t cap,
                 iiifs_error *e)
{
    if (j->local) {
        if (final_url)
            iiifs_copy(final_url, cap, url);
        return read_file(j, url, b, e);
    }
    iiifs_response r;
    int rc = iiifs_http_get(&j->http, url, b, &r, e);
    if (rc)
        return rc;
    j->last_status = r.status;
    if (final_url && iiifs_copy(final_url, cap, r.url))
        return iiifs_fail(e, IIIFS_E_URL, "URL too long");
    if (r.status < 200 || r.status > 299)
        return iiifs_fail(e, IIIFS_E_HTTP_STATUS, "HTTP %d%s%s%s for %s", r.status,
                          r.content_type[0] ? " (" : "", r.content_type,
                          r.content_type[0] ? ")" : "", r.url);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Fetch and parse the info.json for the source (digest §7.2). */
static int resolve(job *j, iiifs_error *e)
{
    const char *src = j->o->source;
    char url[IIIFS_URL_MAX], final_url[IIIFS_URL_MAX];
    size_t q = strcspn(src, "?#");
    int direct = j->local || (q >= 9 && !memcmp(src + q - 9, "info.json", 9)) ||
                 ends_with(src, "info.json");
    if (direct) {
        int rc = fetch(j, src, &j->body, final_url, sizeof final_url, e);
        if (rc)
            return rc;
        return iiifs_info_parse(&j->info, (const char *)j->body.p, j->body.len, final_url, e);
    }
    /* An image base URL: try base/info.json, then the base itself, which a
     * level >= 1 server answers with a 303 to its info.json. */
    size_t n = strlen(src);
    if (n && src[n - 1] == '/')
        n--;
    if (iiifs_format(url, sizeof url, "%.*s/info.json", (int)n, src))
        return iiifs_fail(e, IIIFS_E_URL, "URL too long: %.200s", src);
    iiifs_error first = { 0, "" };
    int rc = fetch(j, url, &j->body, final_url, sizeof final_url, &first);
    if (rc == 0)
        rc = iiifs_info_parse(&j->info, (const char *)j->body.p, j->body.len, final_url, &first);
    if (rc == 0)
        return 0;
    if (rc != IIIFS_E_HTTP_STATUS && rc != IIIFS_E_JSON && rc != IIIFS_E_IIIF) {
        *e = first; /* network trouble: asking again at the same host won't help */
        return rc;
    }
    iiifs_error second = { 0, "" };
    int rc2 = fetch(j, src, &j->body, final_url, sizeof final_url, &second);
    if (rc2 == 0)
        rc2 = iiifs_info_parse(&j->info, (const char *)j->body.p, j->body.len, final_url,
                               &second);
    if (rc2 == 0)
        return 0;
    *e = first;
    return rc;
}

static void progress(job *j, uint32_t rows_done, uint32_t tiles_done, int channels)
{
    if (!j->o->on_progress)
        return;
    iiifs_progress p;
    p.width = j->plan.out_w;
    p.height = j->plan.out_h;
    p.channels = channels;
    p.rows_done = rows_done;
    p.rows = j->plan.rows;
    p.tiles_done = tiles_done;
    p.tiles = j->plan.rows * j->plan.cols;
    p.bytes_in = j->local ? j->file_bytes_in : j->http.bytes_in;
    p.elapsed_ms = port_now_ms() - j->t0;
    j->o->on_progress(j->o->ud, &p);
}

/* Fetch tile t into j->body, its URL left in url. A whole-image tile that
 * is missing as "full" is asked for once more as the box 0,0,W,H, and the
 * form that worked is kept for the run. */
static int fetch_tile(job *j, const iiifs_tile *t, char *url, size_t cap, iiifs_error *e)
{
    iiifs_plan *p = &j->plan;
    iiifs_plan_url(p, j->info.base, t, url, cap);
    int whole = iiifs_plan_tile_is_whole(p, t) && !p->full_as_box;
    iiifs_error first = { 0, "" };
    int rc = fetch(j, url, &j->body, NULL, 0, whole ? &first : e);
    if (!whole || rc == 0)
        return rc;
    if (rc != IIIFS_E_HTTP_STATUS || (j->last_status != 404 && j->last_status != 400)) {
        *e = first;
        return rc;
    }
    p->full_as_box = 1;
    iiifs_plan_url(p, j->info.base, t, url, cap);
    return fetch(j, url, &j->body, NULL, 0, e);
}

static int run(job *j, iiifs_result *r, iiifs_error *e)
{
    const iiifs_options *o = j->o;
    char url[IIIFS_URL_MAX], what[IIIFS_URL_MAX + 64];
    int rc;

    iiifs_buf_init(&j->body, IIIFS_INFO_BYTES_MAX);
    if ((rc = resolve(j, e)) != 0)
        return rc;
    if ((rc = iiifs_plan_make(&j->plan, &j->info, 1, e)) != 0)
        return rc;
    iiifs_plan *p = &j->plan;
    r->api = j->info.api;
    r->width = p->out_w;
    r->height = p->out_h;
    if (j->info.has_auth)
        warn(j, "the image service declares IIIF Auth: pass --cookie or --token if tiles are refused");

    /* From here on the buffer holds tiles. */
    iiifs_buf_free(&j->body);
    iiifs_buf_init(&j->body, IIIFS_TILE_BYTES_MAX);
    if ((rc = iiifs_decoder_new(&j->dec, e)) != 0)
        return rc;

    /* The first tile decides gray or RGB before anything is allocated for the band. */
    iiifs_tile t;
    iiifs_plan_tile(p, 0, 0, &t);
    if ((rc = fetch_tile(j, &t, url, sizeof url, e)) != 0)
        return rc;
    iiifs_jpeg_info ji;
    iiifs_format(what, sizeof what, "tile 0,0 (%s)", url);
    if ((rc = iiifs_decode_header(j->dec, j->body.p, j->body.len, &ji, what, e)) != 0)
        return rc;
    int ch = ji.channels == 1 ? 1 : 3;
    r->channels = ch;

    uint64_t stride = p->out_w * (uint64_t)ch;
    uint64_t band_bytes = stride * p->th;
    if (band_bytes > IIIFS_BAND_BYTES_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "one band of %llux%u px needs %llu bytes, over the cap of %u",
                          (unsigned long long)p->out_w, p->th, (unsigned long long)band_bytes,
                          IIIFS_BAND_BYTES_MAX);
    j->band = port_malloc((size_t)band_bytes);
    if (!j->band)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for a band of %llu bytes",
                          (unsigned long long)band_bytes);

    char software[64];
    iiifs_format(software, sizeof software, "iiifstitch %s", IIIFS_VERSION);
    iiifs_sink_spec spec = { p->out_w, p->out_h, ch, p->th, o->compression, software,
                             o->source };
    if ((rc = iiifs_sink_open(&j->sink, o->output, &spec, e)) != 0)
        return rc;
    j->sink_open = 1;

    uint32_t done = 0;
    for (uint32_t m = 0; m < p->rows; m++) {
        for (uint32_t n = 0; n < p->cols; n++) {
            iiifs_plan_tile(p, n, m, &t);
            if (n || m) {
                if ((rc = fetch_tile(j, &t, url, sizeof url, e)) != 0)
                    return rc;
            }
            iiifs_format(what, sizeof what, "tile %u,%u (%s)", n, m, url);
            int adjusted = 0;
            rc = iiifs_decode_into(j->dec, j->body.p, j->body.len, j->band + t.dest_x * ch,
                                   (size_t)stride, ch, t.ws, t.hs, &adjusted, what, e);
            if (rc)
                return rc;
            if (adjusted && !j->warned_size) {
                j->warned_size = 1;
                char msg[IIIFS_URL_MAX + 128];
                iiifs_format(msg, sizeof msg,
                             "%s came back a pixel or two off its planned %ux%u; cropped or padded",
                             what, t.ws, t.hs);
                warn(j, msg);
            }
            progress(j, m, ++done, ch);
        }
        uint32_t rows = (uint32_t)IIIFS_MIN((uint64_t)p->th, p->out_h - (uint64_t)m * p->th);
        if ((rc = iiifs_sink_write(&j->sink, j->band, rows, e)) != 0)
            return rc;
        progress(j, m + 1, done, ch);
    }
    if ((rc = iiifs_sink_commit(&j->sink, e)) != 0)
        return rc;
    j->sink_open = 0;
    r->file_bytes = j->sink.bytes;
    return 0;
}

int iiifs_stitch(const iiifs_options *o, iiifs_result *r, iiifs_error *e)
{
    job *j = port_malloc(sizeof *j);
    memset(r, 0, sizeof *r);
    if (!j)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the job");
    memset(j, 0, sizeof *j);
    j->o = o;
    j->t0 = port_now_ms();
    j->local = !iiifs_url_has_scheme(o->source);
    iiifs_http_options ho;
    int rc = iiifs_http_options_from(&ho, o, e);
    ho.max_conns = 1;
    iiifs_http_init(&j->http, &ho, NULL);

    if (rc == 0)
        rc = o->output ? run(j, r, e) : iiifs_fail(e, IIIFS_E_USAGE, "no output file given");

    if (j->sink_open)
        iiifs_sink_abort(&j->sink);
    r->requests = j->local ? j->file_reads : j->http.requests;
    r->bytes_in = j->local ? j->file_bytes_in : j->http.bytes_in;
    r->elapsed_ms = port_now_ms() - j->t0;
    iiifs_decoder_free(j->dec);
    port_free(j->band);
    iiifs_buf_free(&j->body);
    iiifs_http_free(&j->http);
    port_free(j);
    r->mem_peak = port_mem_peak();
    return rc;
}
