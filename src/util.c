/*
 * util.c — errors, string views, bounded buffers.
 */
#include "util.h"
#include "port.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int iiifs_fail(iiifs_error *e, int code, const char *fmt, ...)
{
    if (!e || e->code != IIIFS_OK)
        return e ? e->code : code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    for (char *c = e->msg; *c; c++) /* one line, always */
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return code;
}

const char *iiifs_status_name(int code)
{
    switch (code) {
    case IIIFS_OK: return "ok";
    case IIIFS_E_USAGE: return "usage";
    case IIIFS_E_URL: return "bad URL";
    case IIIFS_E_NOMEM: return "out of memory";
    case IIIFS_E_LIMIT: return "limit exceeded";
    case IIIFS_E_RESOLVE: return "name resolution failed";
    case IIIFS_E_CONNECT: return "connection failed";
    case IIIFS_E_TIMEOUT: return "timed out";
    case IIIFS_E_CLOSED: return "connection closed";
    case IIIFS_E_TLS: return "TLS failure";
    case IIIFS_E_CERT: return "certificate not trusted";
    case IIIFS_E_HTTP_STATUS: return "HTTP error status";
    case IIIFS_E_HTTP_PROTO: return "malformed HTTP";
    case IIIFS_E_REDIRECT: return "redirect failure";
    case IIIFS_E_JSON: return "bad JSON";
    case IIIFS_E_IIIF: return "unusable IIIF description";
    case IIIFS_E_JPEG: return "bad JPEG";
    case IIIFS_E_TILE_SIZE: return "wrong tile size";
    case IIIFS_E_IO: return "I/O error";
    case IIIFS_E_NOENT: return "no such file";
    case IIIFS_E_CSV: return "malformed CSV";
    case IIIFS_E_CANCELED: return "stopped";
    case IIIFS_E_AGAIN: return "need more input";
    default: return "internal error";
    }
}

int iiifs_exit_code(int code)
{
    switch (code) {
    case IIIFS_OK: return IIIFS_EXIT_OK;
    case IIIFS_E_USAGE: case IIIFS_E_URL: return IIIFS_EXIT_USAGE;
    case IIIFS_E_RESOLVE: case IIIFS_E_CONNECT: case IIIFS_E_TIMEOUT:
    case IIIFS_E_CLOSED: return IIIFS_EXIT_NETWORK;
    case IIIFS_E_TLS: case IIIFS_E_CERT: return IIIFS_EXIT_TLS;
    case IIIFS_E_HTTP_STATUS: case IIIFS_E_HTTP_PROTO: case IIIFS_E_REDIRECT:
        return IIIFS_EXIT_SERVER;
    case IIIFS_E_JSON: case IIIFS_E_IIIF: case IIIFS_E_JPEG: case IIIFS_E_TILE_SIZE:
    case IIIFS_E_CSV:
        return IIIFS_EXIT_DATA;
    case IIIFS_E_IO: case IIIFS_E_NOENT: return IIIFS_EXIT_IO;
    case IIIFS_E_NOMEM: case IIIFS_E_LIMIT: return IIIFS_EXIT_MEMORY;
    case IIIFS_E_CANCELED: return IIIFS_EXIT_CANCELED;
    default: return IIIFS_EXIT_INTERNAL;
    }
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int iiifs_str_eq_nocase(iiifs_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

int iiifs_str_has_token(iiifs_str list, const char *token)
{
    size_t i = 0;
    while (i < list.n) {
        while (i < list.n && (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == ','))
            i++;
        size_t start = i;
        while (i < list.n && list.p[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (list.p[end - 1] == ' ' || list.p[end - 1] == '\t'))
            end--;
        iiifs_str t = { list.p + start, end - start };
        if (t.n && iiifs_str_eq_nocase(t, token))
            return 1;
    }
    return 0;
}

void iiifs_buf_init(iiifs_buf *b, size_t limit)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->limit = limit;
}

int iiifs_buf_reserve(iiifs_buf *b, size_t extra)
{
    if (extra > b->limit || b->len > b->limit - extra)
        return IIIFS_E_LIMIT;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = IIIFS_MIN(IIIFS_MAX(need, (size_t)4096), b->limit);
    if (b->len) {                   /* growing: double, so appends cost O(n) */
        cap = b->cap;
        while (cap < need)
            cap = cap > b->limit / 2 ? b->limit : cap * 2;
    } else {                        /* nothing to keep: let the old go first */
        port_free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    uint8_t *p = port_malloc(cap);
    if (!p)
        return IIIFS_E_NOMEM;
    if (b->len)
        memcpy(p, b->p, b->len);
    port_free(b->p);
    b->p = p;
    b->cap = cap;
    return 0;
}

int iiifs_buf_append(iiifs_buf *b, const void *p, size_t n)
{
    int rc = iiifs_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int iiifs_buf_read_file(iiifs_buf *b, const char *path, iiifs_error *e)
{
    port_file f;
    int rc = port_file_open_read(path, &f);
    if (rc)
        return iiifs_fail(e, rc, "cannot open %s: %s", path, port_error_text());
    b->len = 0;
    int64_t size = port_file_size(f);
    if (size > (int64_t)b->limit)
        rc = IIIFS_E_LIMIT;
    else if (size > 0)
        rc = iiifs_buf_reserve(b, (size_t)size);
    while (!rc) {
        size_t end = IIIFS_MIN(b->cap, b->limit);     /* the buffer may be larger */
        uint8_t probe;
        int full = b->len == end;   /* one byte more says whether there is more */
        long r = port_file_read(f, full ? &probe : b->p + b->len, full ? 1 : end - b->len);
        if (r < 0) {
            rc = iiifs_fail(e, IIIFS_E_IO, "cannot read %s: %s", path, port_error_text());
            break;
        }
        if (r == 0)
            break;
        if (full)
            rc = b->len == b->limit ? IIIFS_E_LIMIT : iiifs_buf_append(b, &probe, 1);
        else
            b->len += (size_t)r;
    }
    port_file_close(&f);
    if (rc == IIIFS_E_LIMIT)
        return iiifs_fail(e, rc, "%s: larger than the cap of %zu bytes", path, b->limit);
    if (rc == IIIFS_E_NOMEM)
        return iiifs_fail(e, rc, "no memory to read %s", path);
    return rc;
}

void iiifs_buf_free(iiifs_buf *b)
{
    port_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int iiifs_format(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= cap) ? IIIFS_E_LIMIT : 0;
}

int iiifs_copy(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return IIIFS_E_LIMIT;
    memcpy(out, s, n + 1);
    return 0;
}

int iiifs_tiff_datetime(int64_t seconds, char out[IIIFS_TIFF_DATETIME_SIZE])
{
    /* Days to a civil date in the proleptic Gregorian calendar, counted in
     * 400-year eras of 146097 days that start on 1 March (so the leap day
     * ends a year). */
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t secs = seconds - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                    /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                  /* March = 0 */
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999)
        return IIIFS_E_LIMIT;
    return iiifs_format(out, IIIFS_TIFF_DATETIME_SIZE, "%04d:%02d:%02d %02d:%02d:%02d",
                        (int)year, (int)month, (int)day, (int)(secs / 3600),
                        (int)(secs / 60 % 60), (int)(secs % 60));
}

int iiifs_is_terminal(int stream)
{
    return stream == 1 ? port_stdout_is_tty() : stream == 2 ? port_stderr_is_tty() : 0;
}

const char *iiifs_getenv(const char *name)
{
    return port_getenv(name);
}
