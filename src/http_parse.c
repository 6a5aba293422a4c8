/*
 * http_parse.c — see http_parse.h. Bare LF line endings are accepted
 * (RFC 9112 §2.2 allows it); obsolete line folding is rejected (§5.2).
 */
#include "http_parse.h"

#include <string.h>

static int proto(iiifs_http_head *h, const char *why)
{
    h->error = why;
    return IIIFS_E_HTTP_PROTO;
}

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Offset just past the blank line ending the head, or 0 if not there yet. */
static size_t find_head_end(const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (b[i] != '\n')
            continue;
        if (i + 1 < len && b[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Line [*pos, eol) without its CR; returns 0 at the end of the head. */
static int next_line(const char *b, size_t end, size_t *pos, iiifs_str *line)
{
    if (*pos >= end)
        return 0;
    const char *nl = memchr(b + *pos, '\n', end - *pos);
    size_t e = (size_t)(nl - b);
    size_t stop = e;
    if (stop > *pos && b[stop - 1] == '\r')
        stop--;
    line->p = b + *pos;
    line->n = stop - *pos;
    *pos = e + 1;
    return 1;
}

static int parse_length(iiifs_str v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.n == 0 || v.n > 18)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = n;
    return 0;
}

/* Last element of a comma list, e.g. the final transfer coding. */
static iiifs_str last_token(iiifs_str v)
{
    size_t end = v.n;
    while (end && (v.p[end - 1] == ' ' || v.p[end - 1] == '\t' || v.p[end - 1] == ','))
        end--;
    size_t start = end;
    while (start && v.p[start - 1] != ',')
        start--;
    while (start < end && (v.p[start] == ' ' || v.p[start] == '\t'))
        start++;
    iiifs_str t = { v.p + start, end - start };
    return t;
}

int iiifs_http_parse_head(const char *buf, size_t len, iiifs_http_head *h)
{
    static const char prefix[] = "HTTP/1.";
    memset(h, 0, sizeof *h);
    /* Absent fields are empty views, never NULL ones. */
    h->reason.p = h->location.p = h->content_type.p = buf;
    h->retry_after.p = h->content_encoding.p = buf;
    size_t cmp = IIIFS_MIN(len, sizeof prefix - 1);
    if (memcmp(buf, prefix, cmp) != 0)
        return proto(h, "not an HTTP/1.x response");
    size_t end = find_head_end(buf, len);
    if (!end)
        return len >= IIIFS_HTTP_HEAD_MAX ? (h->error = "response head too large", IIIFS_E_LIMIT)
                                          : IIIFS_E_AGAIN;
    if (end > IIIFS_HTTP_HEAD_MAX) {
        h->error = "response head too large";
        return IIIFS_E_LIMIT;
    }

    size_t pos = 0;
    iiifs_str line;
    next_line(buf, end, &pos, &line);
    /* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
    if (line.n < 12 || line.p[7] < '0' || line.p[7] > '9' || line.p[8] != ' ')
        return proto(h, "malformed status line");
    h->minor = line.p[7] - '0';
    for (int i = 9; i < 12; i++) {
        if (line.p[i] < '0' || line.p[i] > '9')
            return proto(h, "malformed status code");
        h->status = h->status * 10 + (line.p[i] - '0');
    }
    if (h->status < 100 || h->status > 599)
        return proto(h, "status code out of range");
    if (line.n > 12 && line.p[12] != ' ')
        return proto(h, "malformed status line");
    h->reason.p = line.p + IIIFS_MIN(line.n, 13);
    h->reason.n = line.n > 13 ? line.n - 13 : 0;

    int have_length = 0, chunked = 0, coded = 0, close = 0, keep = 0;
    uint64_t length = 0;
    while (next_line(buf, end, &pos, &line) && line.n) {
        if (line.p[0] == ' ' || line.p[0] == '\t')
            return proto(h, "obsolete header line folding");
        size_t c = 0;
        while (c < line.n && is_tchar((unsigned char)line.p[c]))
            c++;
        if (c == 0 || c == line.n || line.p[c] != ':')
            return proto(h, "malformed header field");
        if (h->nheaders == IIIFS_HTTP_HEADERS_MAX) {
            h->error = "too many header fields";
            return IIIFS_E_LIMIT;
        }
        iiifs_str name = { line.p, c };
        size_t vs = c + 1, ve = line.n;
        while (vs < ve && (line.p[vs] == ' ' || line.p[vs] == '\t'))
            vs++;
        while (ve > vs && (line.p[ve - 1] == ' ' || line.p[ve - 1] == '\t'))
            ve--;
        iiifs_str value = { line.p + vs, ve - vs };
        for (size_t i = 0; i < value.n; i++) {
            unsigned char ch = (unsigned char)value.p[i];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return proto(h, "control character in header value");
        }
        h->name[h->nheaders] = name;
        h->value[h->nheaders] = value;
        h->nheaders++;

        if (iiifs_str_eq_nocase(name, "content-length")) {
            uint64_t n;
            if (parse_length(value, &n) != 0)
                return proto(h, "invalid Content-Length");
            if (have_length && n != length)
                return proto(h, "conflicting Content-Length fields");
            have_length = 1;
            length = n;
        } else if (iiifs_str_eq_nocase(name, "transfer-encoding")) {
            coded = 1;
            chunked = iiifs_str_eq_nocase(last_token(value), "chunked");
        } else if (iiifs_str_eq_nocase(name, "connection")) {
            close |= iiifs_str_has_token(value, "close");
            keep |= iiifs_str_has_token(value, "keep-alive");
        } else if (iiifs_str_eq_nocase(name, "location")) {
            h->location = value;
        } else if (iiifs_str_eq_nocase(name, "content-type")) {
            h->content_type = value;
        } else if (iiifs_str_eq_nocase(name, "retry-after")) {
            h->retry_after = value;
        } else if (iiifs_str_eq_nocase(name, "content-encoding")) {
            h->content_encoding = value;
        }
    }

    h->keep_alive = h->minor >= 1 ? !close : (keep && !close);
    if ((h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304) {
        h->body = IIIFS_BODY_NONE;
    } else if (coded) {
        /* §6.3: Transfer-Encoding overrides Content-Length; a final coding
         * other than chunked means the body runs to the close. */
        h->body = chunked ? IIIFS_BODY_CHUNKED : IIIFS_BODY_CLOSE;
        if (have_length || !chunked)
            h->keep_alive = 0;
    } else if (have_length) {
        h->body = IIIFS_BODY_LENGTH;
        h->content_length = length;
    } else {
        h->body = IIIFS_BODY_CLOSE;
        h->keep_alive = 0;
    }
    return (int)end;
}

/* ---- chunked transfer coding (RFC 9112 §7.1) */

enum {
    CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF,
    CH_TRAILER, CH_TRAILER_LINE, CH_END_LF, CH_DONE
};

void iiifs_chunked_init(iiifs_chunked *d)
{
    memset(d, 0, sizeof *d);
    d->state = CH_SIZE;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 32;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int chunk_error(iiifs_chunked *d, const char *why)
{
    d->error = why;
    return IIIFS_E_HTTP_PROTO;
}

int iiifs_chunked_feed(iiifs_chunked *d, const char *in, size_t n, size_t *used,
                       iiifs_buf *out)
{
    size_t i = 0;
    int rc = 0;
    while (i < n && d->state != CH_DONE) {
        unsigned char c = (unsigned char)in[i];
        switch (d->state) {
        case CH_SIZE: {
            int v = hexval(c);
            if (v >= 0) {
                if (d->digits == 15) {
                    rc = chunk_error(d, "chunk size too large");
                    goto out;
                }
                d->size = d->size * 16 + (uint64_t)v;
                d->digits++;
                i++;
                break;
            }
            if (d->digits == 0) {
                rc = chunk_error(d, "malformed chunk size");
                goto out;
            }
            if (c == ';' || c == ' ' || c == '\t') {
                d->state = CH_EXT;
                d->line = 0;
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else if (c == '\n') {
                d->state = d->size ? CH_DATA : CH_TRAILER;
            } else {
                rc = chunk_error(d, "malformed chunk size");
                goto out;
            }
            i++;
            break;
        }
        case CH_EXT:
            if (++d->line > IIIFS_CHUNK_LINE_MAX) {
                rc = chunk_error(d, "chunk extension too long");
                goto out;
            }
            if (c == '\n')
                d->state = d->size ? CH_DATA : CH_TRAILER;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n') {
                rc = chunk_error(d, "missing LF after chunk size");
                goto out;
            }
            d->state = d->size ? CH_DATA : CH_TRAILER;
            i++;
            break;
        case CH_DATA: {
            size_t take = (size_t)IIIFS_MIN((uint64_t)(n - i), d->size);
            if ((rc = iiifs_buf_append(out, in + i, take)) != 0) {
                d->error = "body too large";
                goto out;
            }
            i += take;
            d->size -= take;
            if (!d->size)
                d->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c == '\r') {
                d->state = CH_DATA_LF;
            } else if (c == '\n') {
                d->state = CH_SIZE;
                d->digits = 0;
            } else {
                rc = chunk_error(d, "missing CRLF after chunk data");
                goto out;
            }
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n') {
                rc = chunk_error(d, "missing CRLF after chunk data");
                goto out;
            }
            d->state = CH_SIZE;
            d->digits = 0;
            i++;
            break;
        case CH_TRAILER:
            if (c == '\r') {
                d->state = CH_END_LF;
            } else if (c == '\n') {
                d->state = CH_DONE;
            } else {
                d->state = CH_TRAILER_LINE;
                d->line = 1;
            }
            i++;
            break;
        case CH_TRAILER_LINE:
            if (++d->line > IIIFS_CHUNK_LINE_MAX) {
                rc = chunk_error(d, "trailer field too long");
                goto out;
            }
            if (c == '\n')
                d->state = CH_TRAILER;
            i++;
            break;
        case CH_END_LF:
            if (c != '\n') {
                rc = chunk_error(d, "missing LF after last chunk");
                goto out;
            }
            d->state = CH_DONE;
            i++;
            break;
        }
    }
out:
    *used = i;
    if (rc)
        return rc;
    return d->state == CH_DONE;
}
