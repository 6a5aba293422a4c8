/*
 * decode.h — JPEG tiles into their place in a band, through libjpeg-turbo.
 *
 * libjpeg reports errors by longjmp; that never leaves decode.c. Corrupt
 * data warnings (a truncated file, for one) are errors too: a tile is either
 * decoded exactly or not at all.
 */
#ifndef IIIFS_DECODE_H
#define IIIFS_DECODE_H

#include "util.h"

typedef struct iiifs_decoder iiifs_decoder;

typedef struct iiifs_jpeg_info {
    uint32_t w, h;
    int channels;               /* components in the file: 1 gray, 3 colour, 4 CMYK */
} iiifs_jpeg_info;

/* max_memory: what libjpeg itself may allocate for one image (its
 * max_memory_to_use; 0 = no limit). */
int iiifs_decoder_new(iiifs_decoder **d, size_t max_memory, iiifs_error *e);
void iiifs_decoder_free(iiifs_decoder *d);     /* NULL is fine */

/* Size and components of a JPEG, reading only its header. */
int iiifs_decode_header(iiifs_decoder *d, const uint8_t *data, size_t len, iiifs_jpeg_info *out,
                        const char *what, iiifs_error *e);

/* The ICC profile a JPEG carries (APP2 markers): *out (port_malloc, the
 * caller frees it) and *n bytes, or NULL and 0 when there is none;
 * IIIFS_E_LIMIT past IIIFS_ICC_BYTES_MAX. */
int iiifs_decode_icc(iiifs_decoder *d, const uint8_t *data, size_t len, uint8_t **out,
                     size_t *n, const char *what, iiifs_error *e);

#ifndef IIIFS_ICC_BYTES_MAX
#define IIIFS_ICC_BYTES_MAX (256u << 10)   /* an ICC profile carried over (sRGB: 3 KB) */
#endif

/* Decode into dst (rows stride bytes apart) as 'channels' (1 or 3) samples per
 * pixel, exactly w x h pixels. A tile up to 2 px larger is cropped, up to 2 px
 * smaller is padded by repeating its last row/column (warned through *adjusted);
 * anything else is IIIFS_E_TILE_SIZE naming expected and actual size. */
int iiifs_decode_into(iiifs_decoder *d, const uint8_t *data, size_t len, uint8_t *dst,
                      size_t stride, int channels, uint32_t w, uint32_t h, int *adjusted,
                      const char *what, iiifs_error *e);

/* 8-bit luma of an RGB pixel: ITU-R BT.601 weights, rounded half up. Used
 * for colour tiles in a gray image (--quality gray, or a gray first tile). */
#define IIIFS_LUMA(r, g, b) \
    ((uint8_t)((299u * (r) + 587u * (g) + 114u * (b) + 500u) / 1000u))

#ifndef IIIFS_DECODE_ROWS
#define IIIFS_DECODE_ROWS 16u   /* scanlines handed to libjpeg per call */
#endif
#ifndef IIIFS_SIZE_SLACK
#define IIIFS_SIZE_SLACK 2u     /* px of rounding tolerated per axis (digest §4.5) */
#endif

#endif
