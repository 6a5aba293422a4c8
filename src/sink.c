/*
 * sink.c — see sink.h.
 */
#include "sink.h"
#include "tiff_codecs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>

#define TIF(s) ((TIFF *)(s)->tif)

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

int iiifs_sink_open(iiifs_sink *s, const char *path, const iiifs_sink_spec *spec,
                    iiifs_error *e)
{
    memset(s, 0, sizeof *s);
    s->file.h = PORT_FILE_NONE;
    s->spec = *spec;
    if (iiifs_copy(s->path, sizeof s->path, path) ||
        iiifs_format(s->part, sizeof s->part, "%s.part", path))
        return iiifs_fail(e, IIIFS_E_USAGE, "output path too long");
    if (spec->width > UINT32_MAX || spec->height > UINT32_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "image too large for TIFF");
    int scheme = -1, predictor = PREDICTOR_NONE;
#define IIIFS_SINK_SCHEME(option, tiff_scheme, name, init, tiff_predictor) \
    if (spec->compression == option) {                                    \
        scheme = tiff_scheme;                                             \
        predictor = tiff_predictor;                                       \
    }
    IIIFS_TIFF_CODECS(IIIFS_SINK_SCHEME)
#undef IIIFS_SINK_SCHEME
    if (scheme < 0)
        return iiifs_fail(e, IIIFS_E_USAGE, "compression %d is not written by this build",
                          (int)spec->compression);
    s->row_bytes = spec->width * (uint64_t)spec->channels;
    uint64_t raw = s->row_bytes * spec->height;

    int rc = port_file_create(s->part, &s->file);
    if (rc)
        return iiifs_fail(e, rc, "cannot create %s: %s", s->part, port_error_text());

    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) {
        iiifs_sink_abort(s);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for libtiff options");
    }
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, s);
    /* BigTIFF when the file could pass 4 GiB (decided before the first byte). */
    const char *mode = raw > 0xFFFFFFFFull - (64u << 20) ? "w8" : "w";
    s->tif = TIFFClientOpenExt(s->part, mode, (thandle_t)s, proc_read, proc_write, proc_seek,
                               proc_close, proc_size, proc_map, proc_unmap, opts);
    TIFFOpenOptionsFree(opts);
    if (!s->tif) {
        iiifs_fail(e, IIIFS_E_IO, "cannot start TIFF %s: %s", s->part, s->tiff_error);
        iiifs_sink_abort(s);
        return IIIFS_E_IO;
    }
    TIFF *t = TIF(s);
    int ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)spec->width) &&
             TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)spec->height) &&
             TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8) &&
             TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spec->channels) &&
             TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                          spec->channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB) &&
             TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
             TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, spec->rows_per_strip) &&
             TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    if (ok) {
        ok = TIFFSetField(t, TIFFTAG_COMPRESSION, scheme);
        if (ok && predictor != PREDICTOR_NONE)
            ok = TIFFSetField(t, TIFFTAG_PREDICTOR, predictor);
    }
    if (ok && spec->software)
        ok = TIFFSetField(t, TIFFTAG_SOFTWARE, spec->software);
    if (ok && spec->document_name)
        ok = TIFFSetField(t, TIFFTAG_DOCUMENTNAME, spec->document_name);
    if (!ok) {
        iiifs_fail(e, IIIFS_E_IO, "cannot set TIFF tags on %s: %s", s->part, s->tiff_error);
        iiifs_sink_abort(s);
        return IIIFS_E_IO;
    }
    return 0;
}

int iiifs_sink_write(iiifs_sink *s, const uint8_t *rows, uint32_t nrows, iiifs_error *e)
{
    tmsize_t n = (tmsize_t)(s->row_bytes * nrows);
    /* The predictor works in place: the band is not read again after this. */
    if (TIFFWriteEncodedStrip(TIF(s), s->strip, (void *)rows, n) < 0)
        return iiifs_fail(e, IIIFS_E_IO, "cannot write strip %u of %s: %s", s->strip, s->part,
                          s->tiff_error[0] ? s->tiff_error : port_error_text());
    s->strip++;
    return 0;
}

int iiifs_sink_commit(iiifs_sink *s, iiifs_error *e)
{
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
    if (s->tif) {
        TIFFCleanup(TIF(s)); /* frees without flushing a directory */
        s->tif = NULL;
    }
    port_file_close(&s->file);
    if (s->part[0]) {
        port_file_remove(s->part);
        s->part[0] = 0;
    }
}
