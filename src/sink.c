/*
 * sink.c — see sink.h.
 */
#include "sink.h"
#include "resume.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>
#include <zlib.h>

#define TIF(s) ((TIFF *)(s)->tif)

/* The list in sink.h names tiff.h's values: hold it to them. */
_Static_assert(COMPRESSION_NONE == 1 && COMPRESSION_ADOBE_DEFLATE == 8 &&
               COMPRESSION_LZW == 5 && COMPRESSION_ZSTD == 50000 && COMPRESSION_JPEG == 7,
               "IIIFS_TIFF_CODECS in sink.h: a value differs from tiff.h");

#define IIIFS_X_NAME(NAME, CODE, OPT, PRED, LIBNAME, INIT, STATIC) "|" OPT
static const char codec_names[] = IIIFS_TIFF_CODECS(IIIFS_X_NAME);

typedef struct codec {
    iiifs_compression c;
    uint16_t tiff;
    const char *name;
    int predictor;
} codec;

#define IIIFS_X_ROW(NAME, CODE, OPT, PRED, LIBNAME, INIT, STATIC) \
    { IIIFS_COMPRESS_##NAME, CODE, OPT, PRED },
static const codec codecs[] = { IIIFS_TIFF_CODECS(IIIFS_X_ROW) };
#define NCODECS (sizeof codecs / sizeof codecs[0])

static const codec *codec_of(iiifs_compression c)
{
    for (size_t i = 0; i < NCODECS; i++)
        if (codecs[i].c == c)
            return &codecs[i];
    return NULL;
}

int iiifs_compression_parse(const char *name, iiifs_compression *out)
{
    for (size_t i = 0; i < NCODECS; i++)
        if (!strcmp(name, codecs[i].name)) {
            *out = codecs[i].c;
            return 0;
        }
    return IIIFS_E_USAGE;
}

const char *iiifs_compression_name(iiifs_compression c)
{
    const codec *k = codec_of(c);
    return k ? k->name : "?";
}

const char *iiifs_compression_names(void)
{
    return codec_names + 1;
}

int iiifs_sink_is_stream(const char *path)
{
    return !strcmp(path, "-") || port_path_kind(path) == PORT_PATH_OTHER;
}

int iiifs_sink_check(const char *path, const iiifs_sink_spec *o, iiifs_error *e)
{
    const codec *k = codec_of(o->compression);
    int stream = path && iiifs_sink_is_stream(path);
    const char *name = path && strcmp(path, "-") ? path : "stdout";
    if (o->format != IIIFS_FORMAT_TIFF && o->format != IIIFS_FORMAT_PNM)
        return iiifs_fail(e, IIIFS_E_USAGE, "unknown output format %d", (int)o->format);
    if (!k)
        return iiifs_fail(e, IIIFS_E_USAGE, "unknown compression %d (%s)", (int)o->compression,
                          iiifs_compression_names());
    if (o->jpeg_quality < 0 || o->jpeg_quality > 100)
        return iiifs_fail(e, IIIFS_E_USAGE, "JPEG quality %d is not in 1..100", o->jpeg_quality);
    if (o->compression != IIIFS_COMPRESS_NONE) {
        if (o->format != IIIFS_FORMAT_TIFF)
            return iiifs_fail(e, IIIFS_E_USAGE, "--compression %s: only TIFF is compressed, "
                              "not PNM", k->name);
        if (stream)
            return iiifs_fail(e, IIIFS_E_USAGE, "--compression %s needs a seekable output file: "
                              "a TIFF on %s is written uncompressed", k->name, name);
        if (!TIFFIsCODECConfigured(k->tiff))
            return iiifs_fail(e, IIIFS_E_USAGE, "--compression %s: this build's libtiff has no "
                              "%s codec", k->name, k->name);
    }
    if (o->bitonal && o->compression == IIIFS_COMPRESS_JPEG)
        return iiifs_fail(e, IIIFS_E_USAGE, "--quality bitonal cannot be JPEG-compressed "
                          "(use none, deflate, lzw or zstd)");
    if (o->resume && stream)
        return iiifs_fail(e, IIIFS_E_USAGE, "--resume needs an output file: %s cannot be "
                          "continued", name);
    if (o->resume && o->compression != IIIFS_COMPRESS_NONE &&
        o->compression != IIIFS_COMPRESS_DEFLATE)
        return iiifs_fail(e, IIIFS_E_USAGE, "--resume writes none or deflate, not %s (libtiff "
                          "cannot continue a file)", k->name);
    if (o->bigtiff && o->format != IIIFS_FORMAT_TIFF)
        return iiifs_fail(e, IIIFS_E_USAGE, "--bigtiff needs TIFF output, not PNM");
    const char *const tags[][2] = { { "Artist", o->tags.artist },
                                    { "Copyright", o->tags.copyright },
                                    { "ImageDescription", o->tags.description } };
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (tags[i][1] && strlen(tags[i][1]) + 1 > IIIFS_TIFF_TAG_BYTES_MAX)
            return iiifs_fail(e, IIIFS_E_USAGE, "--tag %s: %zu bytes, over the cap of %d",
                              tags[i][0], strlen(tags[i][1]), IIIFS_TIFF_TAG_BYTES_MAX - 1);
    return 0;
}

static tmsize_t proc_read(thandle_t h, void *buf, tmsize_t n)
{
    iiifs_sink *s = (iiifs_sink *)h;
    long r = port_file_read(s->file, buf, (size_t)n);
    return r < 0 ? -1 : (tmsize_t)r;
}

static tmsize_t proc_write(thandle_t h, void *buf, tmsize_t n)
{
    iiifs_sink *s = (iiifs_sink *)h;
    long r = port_file_write(s->file, buf, (size_t)n);
    return r < 0 ? -1 : (tmsize_t)r;
}

static toff_t proc_seek(thandle_t h, toff_t off, int whence)
{
    iiifs_sink *s = (iiifs_sink *)h;
    int64_t r = port_file_seek(s->file, (int64_t)off, whence);
    return r < 0 ? (toff_t)-1 : (toff_t)r;
}

static int proc_close(thandle_t h)
{
    (void)h; /* the sink closes the file itself, after fsync */
    return 0;
}

static toff_t proc_size(thandle_t h)
{
    iiifs_sink *s = (iiifs_sink *)h;
    int64_t r = port_file_size(s->file);
    return r < 0 ? 0 : (toff_t)r;
}

static int proc_map(thandle_t h, void **base, toff_t *size)
{
    (void)h; (void)base; (void)size;
    return 0;
}

static void proc_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h; (void)base; (void)size;
}

static int on_tiff_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    iiifs_sink *s = ud;
    char msg[200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(s->tiff_error, sizeof s->tiff_error, "%s: %s", module ? module : "libtiff", msg);
    return 1;
}

static int on_tiff_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
    (void)tif; (void)ud; (void)module; (void)fmt; (void)ap;
    return 1; /* handled: libtiff's warnings (unknown tags and such) are not ours to print */
}


/* ---- streams (sequential TIFF, PNM) */

static int stream_write(void *ud, const void *p, size_t n)
{
    iiifs_sink *s = ud;
    long r = port_file_write(s->file, p, n);
    if (r < 0)
        return (int)r;
    s->bytes += n;
    return 0;
}

static void pnm_head(const iiifs_sink *s, char head[64])
{
    const iiifs_sink_spec *spec = &s->spec;
    if (spec->bitonal)
        iiifs_format(head, 64, "P4\n%llu %llu\n", (unsigned long long)spec->width,
                     (unsigned long long)spec->height);
    else
        iiifs_format(head, 64, "P%c\n%llu %llu\n255\n", spec->channels == 1 ? '5' : '6',
                     (unsigned long long)spec->width, (unsigned long long)spec->height);
}

static int open_stream_head(iiifs_sink *s, iiifs_error *e)
{
    const iiifs_sink_spec *spec = &s->spec;
    int rc;
    if (spec->format == IIIFS_FORMAT_PNM) {
        char head[64];
        pnm_head(s, head);
        s->planned = strlen(head) + s->row_bytes * spec->height;
        rc = stream_write(s, head, strlen(head));
    } else {
        /* Uncompressed strips need not follow the bands: small ones let a
         * reader of the stream hold less. */
        uint64_t rps = IIIFS_MAX((uint64_t)1, IIIFS_TIFFSEQ_STRIP_BYTES / s->row_bytes);
        if ((rc = iiifs_tiffseq_plan(&s->seq, spec->width, spec->height, spec->channels,
                                     spec->bitonal ? 1 : 8, (uint32_t)IIIFS_MIN(rps, (uint64_t)UINT32_MAX),
                                     spec->bigtiff, IIIFS_TIFFSEQ_NONE, &spec->tags, e)) != 0)
            return rc;
        s->big = s->seq.big;
        s->planned = s->seq.file_size;
        iiifs_error we = { 0, "" };
        rc = iiifs_tiffseq_write_head(&s->seq, stream_write, s, &we);
        if (rc && we.code)
            return iiifs_fail(e, rc, "%s", we.msg);
    }
    if (rc)
        return iiifs_fail(e, rc, "cannot write to %s: %s", s->name, port_error_text());
    return 0;
}

/* ---- our own writer: a file that can be continued (--resume) */

static voidpf z_alloc(voidpf ud, uInt items, uInt size)
{
    (void)ud;
    return size && items > SIZE_MAX / size ? NULL : port_malloc((size_t)items * size);
}

static void z_free(voidpf ud, voidpf p)
{
    (void)ud;
    port_free(p);
}

static int plain_write(void *ud, const void *p, size_t n)   /* not counted in bytes */
{
    iiifs_sink *s = ud;
    long r = port_file_write(s->file, p, n);
    return r < 0 ? (int)r : 0;
}

/* The head this run would write, compared with the .part's. */
typedef struct head_cmp {
    iiifs_sink *s;
    int differ;
} head_cmp;

static int cmp_write(void *ud, const void *p, size_t n)
{
    head_cmp *c = ud;
    const uint8_t *want = p;
    uint8_t buf[1024];
    while (n && !c->differ) {
        size_t k = IIIFS_MIN(n, sizeof buf), got = 0;
        while (got < k) {
            long r = port_file_read(c->s->file, buf + got, k - got);
            if (r < 0)
                return IIIFS_E_IO;
            if (r == 0)
                break;
            got += (size_t)r;
        }
        if (got < k || memcmp(buf, want, k))
            c->differ = 1;
        want += k;
        n -= k;
    }
    return 0;
}

/* The own writer's layout: the head (PNM line or sequential TIFF), its
 * strips and their size array. */
static int own_layout(iiifs_sink *s, char *pnm, iiifs_error *e)
{
    const iiifs_sink_spec *spec = &s->spec;
    int deflate = spec->compression == IIIFS_COMPRESS_DEFLATE, rc;
    s->rps = (uint32_t)IIIFS_MIN((uint64_t)IIIFS_MAX(spec->rows_per_strip, 1u), spec->height);
    if (spec->format == IIIFS_FORMAT_PNM) {
        pnm_head(s, pnm);
        s->head = strlen(pnm);
        s->strips = (uint32_t)IIIFS_CEIL_DIV(spec->height, (uint64_t)s->rps);
    } else {
        if ((rc = iiifs_tiffseq_plan(&s->seq, spec->width, spec->height, spec->channels,
                                     spec->bitonal ? 1 : 8, s->rps, spec->bigtiff,
                                     deflate ? IIIFS_TIFFSEQ_DEFLATE : IIIFS_TIFFSEQ_NONE,
                                     &spec->tags, e)) != 0)
            return rc;
        s->head = s->seq.data_offset;
        s->big = s->seq.big;
        s->strips = s->seq.strips;
    }
    if (s->strips > IIIFS_RESUME_STRIPS_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "%s: %u strips, over the cap of %u for --resume",
                          s->part, s->strips, IIIFS_RESUME_STRIPS_MAX);
    if (!(s->counts = port_malloc(s->strips * sizeof *s->counts)))
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for %u strip sizes", s->strips);
    memset(s->counts, 0, s->strips * sizeof *s->counts);
    return 0;
}

/* The deflate stream and its output chunk, once. */
static int own_deflate(iiifs_sink *s, iiifs_error *e)
{
    z_stream *z = port_malloc(sizeof *z);
    if (!z || !(s->zbuf = port_malloc(IIIFS_DEFLATE_CHUNK))) {
        port_free(z);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for deflate");
    }
    memset(z, 0, sizeof *z);
    z->zalloc = z_alloc;
    z->zfree = z_free;
    if (deflateInit(z, IIIFS_DEFLATE_LEVEL) != Z_OK) {
        port_free(z);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for deflate");
    }
    s->z = z;
    return 0;
}

/* A new .part: the head, synced. */
static int own_create(iiifs_sink *s, const char *pnm, iiifs_error *e)
{
    int rc = port_file_create(s->part, &s->file);
    if (rc)
        return iiifs_fail(e, rc, "cannot create %s: %s", s->part, port_error_text());
    s->own_file = 1;
    if (s->spec.format == IIIFS_FORMAT_PNM) {
        rc = stream_write(s, pnm, strlen(pnm));
    } else {
        iiifs_error we = { 0, "" };
        rc = iiifs_tiffseq_write_head(&s->seq, stream_write, s, &we);
        if (rc && we.code)
            return iiifs_fail(e, rc, "%s", we.msg);
    }
    if (rc || port_file_sync(s->file))
        return iiifs_fail(e, IIIFS_E_IO, "cannot write to %s: %s", s->part, port_error_text());
    return 0;
}

/* Why the .part r describes cannot be this run's (NULL: it can), its head
 * compared with the one this run would write. */
static const char *own_mismatch(iiifs_sink *s, const iiifs_resume *r, const char *pnm,
                                iiifs_error *e)
{
    const char *why = r->head != s->head ? "its head has another size"
                      : r->rows_per_strip != s->rps ? "its strips have other heights"
                      : r->strips > s->strips ? "it has more strips" : NULL;
    if (why)
        return why;
    int rc = port_file_open_update(s->part, &s->file);
    if (rc) {
        iiifs_fail(e, rc, "cannot open %s: %s", s->part, port_error_text());
        return "";
    }
    s->own_file = 1;
    head_cmp c = { s, 0 };
    if (s->spec.format == IIIFS_FORMAT_PNM) {
        rc = cmp_write(&c, pnm, strlen(pnm));
    } else {
        iiifs_error we = { 0, "" };
        rc = iiifs_tiffseq_write_head(&s->seq, cmp_write, &c, &we);
    }
    if (rc) {
        iiifs_fail(e, IIIFS_E_IO, "cannot read %s: %s", s->part, port_error_text());
        return "";
    }
    return c.differ ? "its head differs: other tags, another colour profile or gray" : NULL;
}

/* An existing .part of this run: cut after its recorded strips, go on. */
static int own_continue(iiifs_sink *s, const iiifs_resume *r, const char *pnm, iiifs_error *e)
{
    const char *why = own_mismatch(s, r, pnm, e);
    if (why && e->code)
        return e->code;
    if (why) {
        s->part[0] = 0;     /* another run's: not ours to remove */
        return iiifs_fail(e, IIIFS_E_USAGE, "%s.part does not match this run (%s): run "
                          "with the options it was begun with, or remove %s to start over",
                          s->path, why, r->path);
    }
    uint64_t end = s->head;
    for (uint32_t i = 0; i < r->strips; i++)
        end += s->counts[i] = r->counts[i];
    if (port_file_truncate(s->file, (int64_t)end) ||
        port_file_seek(s->file, (int64_t)end, 0) < 0)
        return iiifs_fail(e, IIIFS_E_IO, "cannot cut %s to %llu bytes: %s", s->part,
                          (unsigned long long)end, port_error_text());
    s->strip = r->strips;
    s->row = IIIFS_MIN((uint64_t)r->strips * s->rps, s->spec.height);
    s->kept_rows = s->row;
    s->bytes = end;
    return 0;
}

static int open_own(iiifs_sink *s, iiifs_error *e)
{
    const iiifs_sink_spec *spec = &s->spec;
    iiifs_resume *r = spec->rstate;
    char pnm[64];
    s->own = 1;
    int rc = own_layout(s, pnm, e);
    if (!rc && spec->compression == IIIFS_COMPRESS_DEFLATE)
        rc = own_deflate(s, e);
    if (!rc)
        rc = r->found ? own_continue(s, r, pnm, e) : own_create(s, pnm, e);
    if (rc)
        return rc;
    return iiifs_resume_start(r, spec->resume_key, s->head, s->rps, spec->tags.datetime,
                              spec->resume_band, e);
}

static void own_free(iiifs_sink *s)
{
    if (s->z) {
        deflateEnd(s->z);
        port_free(s->z);
        s->z = NULL;
    }
    port_free(s->zbuf);
    port_free(s->counts);
    s->zbuf = NULL;
    s->counts = NULL;
}

/* Deflate what is in the stream's input, writing full chunks; with Z_FINISH,
 * everything, the stream ended. */
static int z_drain(iiifs_sink *s, int flush, iiifs_error *e)
{
    z_stream *z = s->z;
    int zr;
    do {
        z->next_out = s->zbuf;
        z->avail_out = IIIFS_DEFLATE_CHUNK;
        zr = deflate(z, flush);
        if (zr == Z_STREAM_ERROR)
            return iiifs_fail(e, IIIFS_E_INTERNAL, "deflate failed on strip %u of %s", s->strip,
                              s->part);
        size_t n = IIIFS_DEFLATE_CHUNK - z->avail_out;
        if (n && stream_write(s, s->zbuf, n))
            return iiifs_fail(e, IIIFS_E_IO, "cannot write strip %u of %s: %s", s->strip,
                              s->part, port_error_text());
        s->strip_bytes += n;
    } while (z->avail_out == 0);
    if (flush == Z_FINISH && zr != Z_STREAM_END)
        return iiifs_fail(e, IIIFS_E_INTERNAL, "deflate did not end strip %u of %s", s->strip,
                          s->part);
    return 0;
}

static int own_write(iiifs_sink *s, uint8_t *rows, uint32_t nrows, iiifs_error *e)
{
    uint64_t rb = s->row_bytes;
    unsigned ch = (unsigned)s->spec.channels;
    int rc;
    if (s->row + nrows > s->spec.height)
        return iiifs_fail(e, IIIFS_E_INTERNAL, "%s: rows %llu..%llu past the image's %llu",
                          s->part, (unsigned long long)s->row,
                          (unsigned long long)(s->row + nrows), (unsigned long long)s->spec.height);
    for (uint32_t done = 0; done < nrows;) {
        uint32_t want = iiifs_strip_rows(s->spec.height, s->rps, s->strip);
        uint32_t k = IIIFS_MIN(want - s->strip_rows, nrows - done);
        uint8_t *p = rows + (size_t)(done * rb);
        if (s->z) {
            z_stream *z = s->z;
            if (!s->spec.bitonal)       /* the horizontal predictor, in place */
                for (uint32_t y = 0; y < k; y++) {
                    uint8_t *q = p + (size_t)(y * rb);
                    for (uint64_t x = rb - 1; x >= ch; x--)
                        q[x] = (uint8_t)(q[x] - q[x - ch]);
                }
            z->next_in = p;
            z->avail_in = (uInt)(k * rb);
            if ((rc = z_drain(s, Z_NO_FLUSH, e)) != 0)
                return rc;
        } else {
            if (stream_write(s, p, (size_t)(k * rb)))
                return iiifs_fail(e, IIIFS_E_IO, "cannot write rows %llu.. of %s: %s",
                                  (unsigned long long)s->row, s->part, port_error_text());
            s->strip_bytes += k * rb;
        }
        s->strip_rows += k;
        s->row += k;
        done += k;
        if (s->strip_rows < want)
            continue;
        if (s->z) {
            if ((rc = z_drain(s, Z_FINISH, e)) != 0)
                return rc;
            deflateReset(s->z);
        }
        s->counts[s->strip] = s->strip_bytes;
        if (port_file_sync(s->file))
            return iiifs_fail(e, IIIFS_E_IO, "cannot sync %s: %s", s->part, port_error_text());
        if ((rc = iiifs_resume_strip(s->spec.rstate, s->strip, s->strip_bytes, e)) != 0)
            return rc;
        s->strip++;
        s->strip_rows = 0;
        s->strip_bytes = 0;
    }
    return 0;
}

/* Everything written: the head again with the strips' sizes (deflate). */
static int own_finish(iiifs_sink *s, iiifs_error *e)
{
    if (s->row != s->spec.height || s->strip != s->strips)
        return iiifs_fail(e, IIIFS_E_INTERNAL, "%s: %llu of %llu rows, %u of %u strips", s->part,
                          (unsigned long long)s->row, (unsigned long long)s->spec.height,
                          s->strip, s->strips);
    if (!s->z)
        return 0;
    s->seq.counts = s->counts;
    iiifs_error we = { 0, "" };
    int rc = port_file_seek(s->file, 0, 0) < 0
                 ? IIIFS_E_IO : iiifs_tiffseq_write_head(&s->seq, plain_write, s, &we);
    if (rc && we.code)
        return iiifs_fail(e, rc, "%s", we.msg);
    if (rc)
        return iiifs_fail(e, IIIFS_E_IO, "cannot write the head of %s: %s", s->part,
                          port_error_text());
    return 0;
}

/* ---- libtiff */

static int open_tiff(iiifs_sink *s, iiifs_error *e)
{
    const iiifs_sink_spec *spec = &s->spec;
    const codec *k = codec_of(spec->compression);
    uint64_t raw = s->row_bytes * spec->height;
    /* BigTIFF when the file could pass 4 GiB, decided before the first byte:
     * the pixels, half again when compressed (LZW and JPEG can grow noise),
     * and a margin for the directory and strip arrays. */
    uint64_t worst = raw + (spec->compression == IIIFS_COMPRESS_NONE ? 0 : raw / 2) + (64u << 20);
    s->big = spec->bigtiff || worst > 0xFFFFFFFFull;

    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for libtiff options");
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, s);
    s->tif = TIFFClientOpenExt(s->part, s->big ? "w8" : "w", (thandle_t)s, proc_read,
                               proc_write, proc_seek, proc_close, proc_size, proc_map,
                               proc_unmap, opts);
    TIFFOpenOptionsFree(opts);
    if (!s->tif)
        return iiifs_fail(e, IIIFS_E_IO, "cannot start TIFF %s: %s", s->part, s->tiff_error);

    TIFF *t = TIF(s);
    int jpeg = spec->compression == IIIFS_COMPRESS_JPEG;
    int ycbcr = jpeg && spec->channels == 3;
    uint32_t rps = spec->rows_per_strip;
    if (spec->uneven) {
        rps = IIIFS_UNEVEN_STRIP_ROWS;
        s->scanlines = 1;
    } else if (jpeg) {
        /* Strips of a JPEG TIFF hold whole rows of 8x8 blocks of the
         * subsampled chroma: 16 rows for YCbCr 4:2:0, 8 for gray. */
        uint32_t unit = ycbcr ? 16 : 8;
        if (rps % unit && (uint64_t)rps < spec->height) {
            rps = rps > unit ? rps - rps % unit : unit;
            s->scanlines = 1;
        }
    }
    int ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)spec->width) &&
             TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)spec->height) &&
             TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, spec->bitonal ? 1 : 8) &&
             TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spec->channels) &&
             TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
             TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps) &&
             TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) &&
             TIFFSetField(t, TIFFTAG_COMPRESSION, k->tiff);
    if (ok && k->predictor && !spec->bitonal)
        ok = TIFFSetField(t, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
    if (ok && spec->compression == IIIFS_COMPRESS_ZSTD)
        ok = TIFFSetField(t, TIFFTAG_ZSTD_LEVEL, IIIFS_ZSTD_LEVEL);
    if (ok && ycbcr)
        /* libtiff turns the RGB rows into YCbCr (4:2:0) through libjpeg */
        ok = TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR) &&
             TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    else if (ok)
        ok = TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                          spec->channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
    if (ok && jpeg)
        ok = TIFFSetField(t, TIFFTAG_JPEGQUALITY,
                          spec->jpeg_quality ? spec->jpeg_quality : IIIFS_JPEG_QUALITY_DEFAULT);
    const iiifs_tiff_tags *g = &spec->tags;
    const struct { uint32_t tag; const char *v; } text[] = {
        { TIFFTAG_SOFTWARE, g->software }, { TIFFTAG_DOCUMENTNAME, g->document_name },
        { TIFFTAG_DATETIME, g->datetime }, { TIFFTAG_ARTIST, g->artist },
        { TIFFTAG_COPYRIGHT, g->copyright }, { TIFFTAG_IMAGEDESCRIPTION, g->description },
    };
    for (size_t i = 0; ok && i < sizeof text / sizeof text[0]; i++)
        if (text[i].v)
            ok = TIFFSetField(t, text[i].tag, text[i].v);
    if (ok && g->icc && g->icc_len)
        ok = TIFFSetField(t, TIFFTAG_ICCPROFILE, (uint32_t)g->icc_len, g->icc);
    if (!ok)
        return iiifs_fail(e, IIIFS_E_IO, "cannot set TIFF tags on %s: %s", s->part,
                          s->tiff_error);
    return 0;
}

int iiifs_sink_open(iiifs_sink *s, const char *path, const iiifs_sink_spec *spec,
                    iiifs_error *e)
{
    memset(s, 0, sizeof *s);
    s->file.h = PORT_FILE_NONE;
    s->spec = *spec;
    iiifs_tiff_tags *g = &s->spec.tags;
    if ((g->software && iiifs_copy(s->software, sizeof s->software, g->software)) ||
        (g->datetime && iiifs_copy(s->datetime, sizeof s->datetime, g->datetime)))
        return iiifs_fail(e, IIIFS_E_LIMIT, "Software or DateTime tag too long");
    if (g->software)
        g->software = s->software;
    if (g->datetime)
        g->datetime = s->datetime;
    if (iiifs_copy(s->path, sizeof s->path, path))
        return iiifs_fail(e, IIIFS_E_USAGE, "output path too long");
    if (spec->width > UINT32_MAX || spec->height > UINT32_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "image too large for TIFF");
    s->row_bytes = spec->bitonal ? (spec->width + 7) / 8 : spec->width * (uint64_t)spec->channels;
    s->stream = iiifs_sink_is_stream(path);
    int rc;
    if (s->stream && !strcmp(path, "-")) {
        s->file = port_file_stdout();
        s->name = "stdout";
    } else if (s->stream) {
        s->name = s->path;
        if ((rc = port_file_open_write(path, &s->file)) != 0)
            return iiifs_fail(e, rc, "cannot open %s: %s", path, port_error_text());
        s->own_file = 1;
    } else {
        if (iiifs_format(s->part, sizeof s->part, "%s.part", path))
            return iiifs_fail(e, IIIFS_E_USAGE, "output path too long");
        s->name = s->part;
        if (spec->resume) {
            if ((rc = open_own(s, e)) != 0)
                iiifs_sink_abort(s);
            return rc;
        }
        if ((rc = port_file_create(s->part, &s->file)) != 0) {
            iiifs_fail(e, rc, "cannot create %s: %s", s->part, port_error_text());
            s->part[0] = 0; /* not ours to remove */
            return rc;
        }
        s->own_file = 1;
        /* an interrupted --resume run's state: this .part is a new one */
        char state[sizeof s->part + sizeof IIIFS_RESUME_SUFFIX];
        if (!iiifs_format(state, sizeof state, "%s%s", s->part, IIIFS_RESUME_SUFFIX))
            port_file_remove(state);
    }
    if (s->stream || spec->format == IIIFS_FORMAT_PNM)
        rc = open_stream_head(s, e);
    else
        rc = open_tiff(s, e);
    if (rc)
        iiifs_sink_abort(s);
    return rc;
}

/* Bitonal rows: each 8-bit row packed in place, MSB first, into rows of
 * row_bytes; 1 is white (TIFF MinIsBlack), or black for PBM. Row i is read
 * from i * width and written at i * row_bytes <= it, so in place is safe. */
static void pack_rows(iiifs_sink *s, uint8_t *rows, uint32_t nrows)
{
    uint64_t w = s->spec.width;
    uint8_t one = s->spec.format == IIIFS_FORMAT_PNM ? 0 : 1;
    for (uint32_t i = 0; i < nrows; i++) {
        const uint8_t *in = rows + (size_t)i * w;
        uint8_t *out = rows + (size_t)i * s->row_bytes;
        for (uint64_t x = 0; x < w; x += 8) {
            uint8_t b = 0;
            for (uint64_t k = 0; k < 8; k++) {
                uint8_t bit = x + k < w && (in[x + k] >= IIIFS_BITONAL_THRESHOLD) == one;
                b = (uint8_t)(b | bit << (7 - k));
            }
            out[x / 8] = b;
        }
    }
}

int iiifs_sink_write(iiifs_sink *s, uint8_t *rows, uint32_t nrows, iiifs_error *e)
{
    size_t n = (size_t)(s->row_bytes * nrows);
    if (s->spec.bitonal)
        pack_rows(s, rows, nrows);
    if (s->own)
        return own_write(s, rows, nrows, e);
    if (!s->tif) {
        if (stream_write(s, rows, n))
            return iiifs_fail(e, IIIFS_E_IO, "cannot write rows %llu.. of %s: %s",
                              (unsigned long long)s->row, s->name, port_error_text());
        s->row += nrows;
        s->strip++;
        return 0;
    }
    if (s->scanlines) {
        uint64_t row = s->row;
        s->row += nrows;
        for (uint32_t i = 0; i < nrows; i++)
            if (TIFFWriteScanline(TIF(s), (void *)(rows + i * s->row_bytes),
                                  (uint32_t)(row + i), 0) < 0)
                return iiifs_fail(e, IIIFS_E_IO, "cannot write row %llu of %s: %s",
                                  (unsigned long long)(row + i), s->part,
                                  s->tiff_error[0] ? s->tiff_error : port_error_text());
        s->strip++;
        return 0;
    }
    /* The predictor works in place: the band is not read again after this. */
    if (TIFFWriteEncodedStrip(TIF(s), s->strip, (void *)rows, (tmsize_t)n) < 0)
        return iiifs_fail(e, IIIFS_E_IO, "cannot write strip %u of %s: %s", s->strip, s->part,
                          s->tiff_error[0] ? s->tiff_error : port_error_text());
    s->strip++;
    s->row += nrows;
    return 0;
}

int iiifs_sink_commit(iiifs_sink *s, iiifs_error *e)
{
    if (s->own) {
        int rc = own_finish(s, e);
        if (rc) {
            iiifs_sink_abort(s);
            return rc;
        }
        own_free(s);
    } else if (s->tif) {
        s->tiff_error[0] = 0;
        int ok = TIFFFlush(TIF(s));
        TIFFClose(TIF(s));
        s->tif = NULL;
        if (!ok) {
            iiifs_fail(e, IIIFS_E_IO, "cannot finish %s: %s", s->part,
                       s->tiff_error[0] ? s->tiff_error : port_error_text());
            iiifs_sink_abort(s);
            return IIIFS_E_IO;
        }
    } else if (s->bytes != s->planned) {
        iiifs_fail(e, IIIFS_E_INTERNAL, "%s: %llu bytes written, %llu planned", s->name,
                   (unsigned long long)s->bytes, (unsigned long long)s->planned);
        iiifs_sink_abort(s);
        return IIIFS_E_INTERNAL;
    }
    if (s->stream) {
        int rc = s->own_file ? port_file_close(&s->file) : 0;
        s->file.h = PORT_FILE_NONE;
        if (rc)
            return iiifs_fail(e, rc, "cannot finish %s: %s", s->name, port_error_text());
        return 0;
    }
    int64_t size = port_file_size(s->file);
    int rc = port_file_sync(s->file);
    if (!rc)
        rc = port_file_close(&s->file);
    if (!rc)
        rc = port_file_rename(s->part, s->path);
    if (rc) {
        iiifs_fail(e, rc, "cannot finish %s: %s", s->path, port_error_text());
        iiifs_sink_abort(s);
        return rc;
    }
    s->bytes = size > 0 ? (uint64_t)size : 0;
    s->part[0] = 0; /* committed: nothing left to remove */
    return 0;
}

void iiifs_sink_abort(iiifs_sink *s)
{
    if (s->own) {           /* kept, to be continued: its state says how far it got */
        own_free(s);
        s->part[0] = 0;
    }
    if (s->tif) {
        TIFFCleanup(TIF(s)); /* frees without flushing a directory */
        s->tif = NULL;
    }
    if (s->own_file)
        port_file_close(&s->file);
    s->file.h = PORT_FILE_NONE;
    if (s->part[0]) {
        port_file_remove(s->part);
        s->part[0] = 0;
    }
}

int iiifs_sink_check_complete(const char *path, iiifs_error *e)
{
    return iiifs_sink_check_complete_size(path, NULL, NULL, e);
}

int iiifs_sink_check_complete_size(const char *path, uint32_t *w_out, uint32_t *h_out,
                                   iiifs_error *e)
{
    iiifs_sink s;
    memset(&s, 0, sizeof s);
    s.file.h = PORT_FILE_NONE;
    int rc = port_file_open_read(path, &s.file);
    if (rc == IIIFS_E_NOENT)
        return 0;
    if (rc)
        return iiifs_fail(e, rc, "cannot open %s: %s", path, port_error_text());
    int64_t size = port_file_size(s.file);
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) {
        port_file_close(&s.file);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for libtiff options");
    }
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, &s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, &s);
    TIFF *t = TIFFClientOpenExt(path, "r", (thandle_t)&s, proc_read, proc_write, proc_seek,
                                proc_close, proc_size, proc_map, proc_unmap, opts);
    TIFFOpenOptionsFree(opts);
    if (!t) {
        port_file_close(&s.file);
        return iiifs_fail(e, IIIFS_E_IO, "%s is not a readable TIFF (%s)", path,
                          s.tiff_error[0] ? s.tiff_error : "no directory");
    }
    uint32_t w = 0, h = 0;
    uint64_t *counts = NULL, *offsets = NULL;
    uint32_t strips = TIFFNumberOfStrips(t);
    rc = 0;
    if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h) ||
        !w || !h || TIFFIsTiled(t) || !strips ||
        !TIFFGetField(t, TIFFTAG_STRIPBYTECOUNTS, &counts) ||
        !TIFFGetField(t, TIFFTAG_STRIPOFFSETS, &offsets) || !counts || !offsets) {
        rc = iiifs_fail(e, IIIFS_E_IO, "%s: no striped image in its first directory", path);
    } else {
        for (uint32_t i = 0; i < strips && !rc; i++)
            if (!counts[i] || size < 0 || offsets[i] + counts[i] > (uint64_t)size)
                rc = iiifs_fail(e, IIIFS_E_IO, "%s: strip %u of %u is %s", path, i, strips,
                                counts[i] ? "past the end of the file" : "empty");
    }
    TIFFClose(t);
    port_file_close(&s.file);
    if (!rc && w_out)
        *w_out = w;
    if (!rc && h_out)
        *h_out = h;
    return rc ? rc : 1;
}
