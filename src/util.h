/*
 * util.h — small shared pieces: string views, bounded growable buffers,
 * and the named caps every other module sizes itself by.
 */
#ifndef IIIFS_UTIL_H
#define IIIFS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "iiifstitch.h"

/* ---- named caps (a board may override any of them) */
#ifndef IIIFS_URL_MAX
#define IIIFS_URL_MAX 4096            /* bytes of one URL */
#endif
#ifndef IIIFS_HOST_MAX
#define IIIFS_HOST_MAX 256            /* bytes of a host name */
#endif
#ifndef IIIFS_HTTP_HEAD_MAX
#define IIIFS_HTTP_HEAD_MAX 16384     /* status line + header bytes */
#endif
#ifndef IIIFS_HTTP_HEADERS_MAX
#define IIIFS_HTTP_HEADERS_MAX 64     /* header fields in one response */
#endif
#ifndef IIIFS_HTTP_REDIRECTS_MAX
#define IIIFS_HTTP_REDIRECTS_MAX 5
#endif
#ifndef IIIFS_INFO_BYTES_MAX
#define IIIFS_INFO_BYTES_MAX (1u << 20)      /* info.json body */
#endif
#ifndef IIIFS_TILE_BYTES_MAX
#define IIIFS_TILE_BYTES_MAX (16u << 20)     /* one compressed tile */
#endif
#ifndef IIIFS_JSON_TOKENS_MAX
#define IIIFS_JSON_TOKENS_MAX 65536
#endif
#ifndef IIIFS_TILE_SIDE_MAX
#define IIIFS_TILE_SIDE_MAX 8192u            /* pixels, one tile side */
#endif
#ifndef IIIFS_IMAGE_SIDE_MAX
#define IIIFS_IMAGE_SIDE_MAX 1000000u        /* pixels, one image side */
#endif
#ifndef IIIFS_BAND_BYTES_MAX
#define IIIFS_BAND_BYTES_MAX (512u << 20)    /* one band of tile rows */
#endif
#ifndef IIIFS_HTTP_EXTRA_BYTES_MAX
#define IIIFS_HTTP_EXTRA_BYTES_MAX 8192      /* their total bytes, "Name: value\r\n" each */
#endif
#ifndef IIIFS_PROXY_AUTH_MAX
#define IIIFS_PROXY_AUTH_MAX 512             /* Proxy-Authorization value ("Basic ...") */
#endif
#ifndef IIIFS_NO_PROXY_MAX
#define IIIFS_NO_PROXY_MAX 4096              /* bytes of the NO_PROXY list */
#endif


#define IIIFS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define IIIFS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define IIIFS_STR_(x) #x
#define IIIFS_STR(x) IIIFS_STR_(x)                /* a macro's value as a string */
#define IIIFS_CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

/* Non-owning view into somebody else's buffer. */
typedef struct iiifs_str {
    const char *p;
    size_t n;
} iiifs_str;

int iiifs_str_eq_nocase(iiifs_str s, const char *lit);
int iiifs_str_has_token(iiifs_str list, const char *token); /* comma list */

/* Growable byte buffer with a hard cap; grows, never shrinks, until freed. */
typedef struct iiifs_buf {
    uint8_t *p;
    size_t len, cap, limit;
} iiifs_buf;

void iiifs_buf_init(iiifs_buf *b, size_t limit);
int iiifs_buf_reserve(iiifs_buf *b, size_t extra);      /* room for len+extra */
int iiifs_buf_append(iiifs_buf *b, const void *p, size_t n);
void iiifs_buf_free(iiifs_buf *b);
/* The whole file at path into b (len from 0), within b's limit: room for the
 * file's size is made at once, then it is read to its end. IIIFS_E_NOENT (no
 * such file), IIIFS_E_LIMIT, IIIFS_E_NOMEM or IIIFS_E_IO, the path in e. */
int iiifs_buf_read_file(iiifs_buf *b, const char *path, iiifs_error *e);

/* snprintf that reports truncation: 0, or IIIFS_E_LIMIT. */
int iiifs_format(char *out, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Copy a NUL-terminated string; IIIFS_E_LIMIT when it does not fit. */
int iiifs_copy(char *out, size_t cap, const char *s);

/* Seconds since 1970 (UTC) as a TIFF DateTime, "YYYY:MM:DD HH:MM:SS"
 * (TIFF 6.0 section 8): 20 bytes with the NUL. Years 0..9999, else
 * IIIFS_E_LIMIT. */
#define IIIFS_TIFF_DATETIME_SIZE 20
int iiifs_tiff_datetime(int64_t seconds, char out[IIIFS_TIFF_DATETIME_SIZE]);

#endif
