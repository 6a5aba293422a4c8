/*
 * http_parse.h — HTTP/1.1 response parsing (RFC 9112), no I/O.
 *
 * iiifs_http_parse_head returns the head length (>0) once the blank line
 * is in, IIIFS_E_AGAIN while it is not, or a negative error with a static
 * reason in h->error. Field names and values are views into buf.
 *
 * iiifs_chunked_feed decodes a chunked body incrementally: it returns 1 when
 * the last chunk and trailers are consumed, 0 when it needs more input, or
 * a negative error; *used tells how much input it took.
 */
#ifndef IIIFS_HTTP_PARSE_H
#define IIIFS_HTTP_PARSE_H

#include "util.h"

enum { IIIFS_BODY_NONE, IIIFS_BODY_LENGTH, IIIFS_BODY_CHUNKED, IIIFS_BODY_CLOSE };

typedef struct iiifs_http_head {
    int minor;                      /* HTTP/1.minor */
    int status;
    iiifs_str reason;
    iiifs_str name[IIIFS_HTTP_HEADERS_MAX];
    iiifs_str value[IIIFS_HTTP_HEADERS_MAX];
    size_t nheaders;
    int body;                       /* IIIFS_BODY_* (before knowing the method) */
    uint64_t content_length;        /* when body == IIIFS_BODY_LENGTH */
    int keep_alive;                 /* connection reusable after this response */
    iiifs_str location, content_type, retry_after, content_encoding;
    const char *error;              /* why parsing failed */
} iiifs_http_head;

int iiifs_http_parse_head(const char *buf, size_t len, iiifs_http_head *h);

/* Retry-After (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date in any of
 * the three forms of §5.6.7 (IMF-fixdate, RFC 850, asctime) taken relative to
 * now_s (seconds since 1970, UTC). 0 with *ms set (a date in the past gives
 * 0; huge values saturate at UINT32_MAX, the caller caps them), or
 * IIIFS_E_HTTP_PROTO with *ms = 0 when the value is not one of those. */
int iiifs_http_retry_after(const char *value, size_t len, int64_t now_s, uint32_t *ms);

#ifndef IIIFS_CHUNK_LINE_MAX
#define IIIFS_CHUNK_LINE_MAX 4096   /* chunk-size line with extensions, or a trailer line */
#endif

typedef struct iiifs_chunked {
    int state;
    uint64_t size;                  /* bytes left in the current chunk */
    unsigned digits;
    size_t line;                    /* bytes in the current size/trailer line */
    const char *error;
} iiifs_chunked;

void iiifs_chunked_init(iiifs_chunked *d);
int iiifs_chunked_feed(iiifs_chunked *d, const char *in, size_t n, size_t *used,
                       iiifs_buf *out);

#endif
