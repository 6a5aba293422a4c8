/*
 * decode.c — see decode.h.
 */
#include "decode.h"
#include "port.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct decode_err {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
};

struct iiifs_decoder {
    struct jpeg_decompress_struct cinfo;
    struct decode_err err;
    uint8_t *row;               /* scratch row for cropped or padded tiles */
    size_t row_cap;
};

static void on_error(j_common_ptr c)
{
    struct decode_err *err = (struct decode_err *)c->err;
    c->err->format_message(c, err->msg);
    longjmp(err->jmp, 1);
}

static void on_message(j_common_ptr c, int level)
{
    /* level -1 is a corrupt-data warning (e.g. premature end of data):
     * fatal here, never a silently grey tile. Trace levels are ignored. */
    if (level < 0)
        on_error(c);
}

int iiifs_decoder_new(iiifs_decoder **out, size_t max_memory, iiifs_error *e)
{
    iiifs_decoder *d = port_malloc(sizeof *d);
    if (!d)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the JPEG decoder");
    memset(d, 0, sizeof *d);
    d->cinfo.err = jpeg_std_error(&d->err.pub);
    d->err.pub.error_exit = on_error;
    d->err.pub.emit_message = on_message;
    if (setjmp(d->err.jmp)) {
        port_free(d);
        return iiifs_fail(e, IIIFS_E_NOMEM, "cannot create the JPEG decoder");
    }
    jpeg_create_decompress(&d->cinfo);
    /* what libjpeg's memory manager may hold (for a progressive tile, its
     * coefficients): past it, it has no backing store and fails */
    d->cinfo.mem->max_memory_to_use = (long)IIIFS_MIN(max_memory, (size_t)LONG_MAX);
    *out = d;
    return 0;
}

void iiifs_decoder_free(iiifs_decoder *d)
{
    if (!d)
        return;
    jpeg_destroy_decompress(&d->cinfo);
    port_free(d->row);
    port_free(d);
}

static int check_soi(const uint8_t *data, size_t len, const char *what, iiifs_error *e)
{
    if (len >= 2 && data[0] == 0xFF && data[1] == 0xD8)
        return 0;
    char head[17];
    size_t n = 0;
    for (; n < len && n < sizeof head - 1; n++)
        head[n] = (data[n] >= 0x20 && data[n] < 0x7f) ? (char)data[n] : '.';
    head[n] = 0;
    return iiifs_fail(e, IIIFS_E_JPEG, "%s: not a JPEG (%zu bytes starting \"%s\")", what, len,
                      head);
}

int iiifs_decode_header(iiifs_decoder *d, const uint8_t *data, size_t len, iiifs_jpeg_info *out,
                        const char *what, iiifs_error *e)
{
    int rc = check_soi(data, len, what, e);
    if (rc)
        return rc;
    j_decompress_ptr c = &d->cinfo;
    if (setjmp(d->err.jmp)) {
        jpeg_abort_decompress(c);
        return iiifs_fail(e, IIIFS_E_JPEG, "%s: bad JPEG: %s", what, d->err.msg);
    }
    jpeg_mem_src(c, data, (unsigned long)len);
    jpeg_read_header(c, TRUE);
    out->w = c->image_width;
    out->h = c->image_height;
    out->channels = c->num_components;
    jpeg_abort_decompress(c);
    return 0;
}

int iiifs_decode_icc(iiifs_decoder *d, const uint8_t *data, size_t len, uint8_t **out,
                     size_t *n, const char *what, iiifs_error *e)
{
    *out = NULL;
    *n = 0;
    int rc = check_soi(data, len, what, e);
    if (rc)
        return rc;
    j_decompress_ptr c = &d->cinfo;
    /* volatile: read after a longjmp */
    JOCTET *volatile icc = NULL;
    if (setjmp(d->err.jmp)) {
        jpeg_save_markers(c, JPEG_APP0 + 2, 0);
        jpeg_abort_decompress(c);
        free(icc);
        return iiifs_fail(e, IIIFS_E_JPEG, "%s: bad JPEG: %s", what, d->err.msg);
    }
    jpeg_save_markers(c, JPEG_APP0 + 2, 0xFFFF);
    jpeg_mem_src(c, data, (unsigned long)len);
    jpeg_read_header(c, TRUE);
    JOCTET *p = NULL;
    unsigned int plen = 0;
    if (jpeg_read_icc_profile(c, &p, &plen))
        icc = p;                    /* malloc'd by libjpeg */
    jpeg_save_markers(c, JPEG_APP0 + 2, 0);     /* the tiles after it: not kept */
    jpeg_abort_decompress(c);
    if (!icc)
        return 0;
    if (plen > IIIFS_ICC_BYTES_MAX) {
        free(icc);
        return iiifs_fail(e, IIIFS_E_LIMIT, "%s: an ICC profile of %u bytes, over the cap of "
                          "%u", what, plen, IIIFS_ICC_BYTES_MAX);
    }
    *out = port_malloc(plen);
    if (*out) {
        memcpy(*out, icc, plen);
        *n = plen;
    }
    free(icc);
    return *out ? 0 : iiifs_fail(e, IIIFS_E_NOMEM, "%s: no memory for an ICC profile", what);
}

int iiifs_decode_into(iiifs_decoder *d, const uint8_t *data, size_t len, uint8_t *dst,
                      size_t stride, int channels, uint32_t w, uint32_t h, int *adjusted,
                      const char *what, iiifs_error *e)
{
    int rc = check_soi(data, len, what, e);
    if (rc)
        return rc;
    j_decompress_ptr c = &d->cinfo;
    /* volatile: read after a longjmp */
    volatile uint32_t rows_out = 0;
    if (setjmp(d->err.jmp)) {
        jpeg_abort_decompress(c);
        return iiifs_fail(e, IIIFS_E_JPEG, "%s: bad JPEG after %u rows: %s", what,
                          (unsigned)rows_out, d->err.msg);
    }
    jpeg_mem_src(c, data, (unsigned long)len);
    jpeg_read_header(c, TRUE);
    if (c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK) {
        jpeg_abort_decompress(c);
        return iiifs_fail(e, IIIFS_E_JPEG, "%s: CMYK JPEG tiles are not supported", what);
    }
    /* A colour tile into a gray band is decoded as RGB and converted with
     * IIIFS_LUMA, not taken from the file's Y: the same pixels whatever the
     * encoder did, and what a reference made from the RGB image gives. */
    int to_gray = channels == 1 && c->num_components == 3;
    c->out_color_space = channels == 1 && !to_gray ? JCS_GRAYSCALE : JCS_RGB;
    uint32_t aw = c->image_width, ah = c->image_height;
    if (aw > w + IIIFS_SIZE_SLACK || aw + IIIFS_SIZE_SLACK < w || ah > h + IIIFS_SIZE_SLACK ||
        ah + IIIFS_SIZE_SLACK < h || aw == 0 || ah == 0) {
        jpeg_abort_decompress(c);
        return iiifs_fail(e, IIIFS_E_TILE_SIZE,
                          "%s: server sent %ux%u for a %ux%u request (clamped or resized)",
                          what, aw, ah, w, h);
    }
    *adjusted = aw != w || ah != h;
    size_t px = (size_t)channels, spx = to_gray ? 3u : px;
    size_t need = (size_t)(aw > w ? aw : w) * spx;
    if ((to_gray || aw != w || ah > h) && d->row_cap < need) {
        /* once per run in practice: it only grows, to one tile width */
        port_free(d->row);
        d->row_cap = 0;
        d->row = port_malloc(need);
        if (!d->row) {
            jpeg_abort_decompress(c);
            return iiifs_fail(e, IIIFS_E_NOMEM, "%s: no memory for a tile row", what);
        }
        d->row_cap = need;
    }
    jpeg_start_decompress(c);
    while (c->output_scanline < c->output_height) {
        uint32_t y = c->output_scanline;
        /* Exact rows go straight into the band, several per call; others
         * (cropped, padded, or past h) one at a time via the scratch row. */
        if (!to_gray && aw == w && y < h) {
            JSAMPROW rows[IIIFS_DECODE_ROWS];
            uint32_t k = 0;
            for (; k < IIIFS_DECODE_ROWS && y + k < h; k++)
                rows[k] = dst + (size_t)(y + k) * stride;
            rows_out = y + jpeg_read_scanlines(c, rows, k);
            continue;
        }
        JSAMPROW rowp = d->row;
        jpeg_read_scanlines(c, &rowp, 1);
        rows_out = y + 1;
        if (y >= h)
            continue;
        uint8_t *out = dst + (size_t)y * stride;
        if (to_gray) {
            const uint8_t *in = d->row;
            for (uint32_t x = 0; x < IIIFS_MIN(aw, w); x++, in += 3)
                out[x] = IIIFS_LUMA(in[0], in[1], in[2]);
        } else {
            memcpy(out, d->row, (size_t)IIIFS_MIN(aw, w) * px);
        }
        for (uint32_t x = aw; x < w; x++) /* pad: repeat the last column */
            memcpy(out + (size_t)x * px, d->row + (size_t)(aw - 1) * px, px);
    }
    jpeg_finish_decompress(c);
    for (uint32_t y = ah; y < h; y++) /* pad: repeat the last row */
        memcpy(dst + (size_t)y * stride, dst + (size_t)(ah - 1) * stride, (size_t)w * px);
    return 0;
}
