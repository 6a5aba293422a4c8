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

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
static int status_line(iiifs_str line, iiifs_http_head *h)
{
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
    return 0;
}

/* What the framing headers said, as they come. */
typedef struct framing {
    int have_length, chunked, coded, close, keep;
    uint64_t length;
} framing;

/* One header field line: kept in h, and what it says about the framing. */
static int field_line(iiifs_str line, iiifs_http_head *h, framing *f)
{
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
        if (f->have_length && n != f->length)
            return proto(h, "conflicting Content-Length fields");
        f->have_length = 1;
        f->length = n;
    } else if (iiifs_str_eq_nocase(name, "transfer-encoding")) {
        f->coded = 1;
        f->chunked = iiifs_str_eq_nocase(last_token(value), "chunked");
    } else if (iiifs_str_eq_nocase(name, "connection")) {
        f->close |= iiifs_str_has_token(value, "close");
        f->keep |= iiifs_str_has_token(value, "keep-alive");
    } else if (iiifs_str_eq_nocase(name, "location")) {
        h->location = value;
    } else if (iiifs_str_eq_nocase(name, "content-type")) {
        h->content_type = value;
    } else if (iiifs_str_eq_nocase(name, "retry-after")) {
        h->retry_after = value;
    } else if (iiifs_str_eq_nocase(name, "content-encoding")) {
        h->content_encoding = value;
    }
    return 0;
}

/* How the body is delimited (RFC 9112 §6.3), and whether the connection
 * can serve another request. */
static void body_framing(iiifs_http_head *h, const framing *f)
{
    h->keep_alive = h->minor >= 1 ? !f->close : (f->keep && !f->close);
    if ((h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304) {
        h->body = IIIFS_BODY_NONE;
    } else if (f->coded) {
        /* Transfer-Encoding overrides Content-Length; a final coding other
         * than chunked means the body runs to the close. */
        h->body = f->chunked ? IIIFS_BODY_CHUNKED : IIIFS_BODY_CLOSE;
        if (f->have_length || !f->chunked)
            h->keep_alive = 0;
    } else if (f->have_length) {
        h->body = IIIFS_BODY_LENGTH;
        h->content_length = f->length;
    } else {
        h->body = IIIFS_BODY_CLOSE;
        h->keep_alive = 0;
    }
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
    int rc = status_line(line, h);
    framing f;
    memset(&f, 0, sizeof f);
    while (!rc && next_line(buf, end, &pos, &line) && line.n)
        rc = field_line(line, h, &f);
    if (rc)
        return rc;
    body_framing(h, &f);
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

/* ---- Retry-After */

static const char *const day_abbr[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const day_full[7] = { "Monday", "Tuesday", "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday" };
static const char *const month_abbr[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of(int64_t days)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2);
}

typedef struct scan {
    const char *p, *end;
} scan;

static int scan_lit(scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

/* Exactly n digits (n > 0). */
static int scan_digits(scan *s, int n, int *out)
{
    if (s->end - s->p < n)
        return 0;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s->p[i] < '0' || s->p[i] > '9')
            return 0;
        v = v * 10 + (s->p[i] - '0');
    }
    s->p += n;
    *out = v;
    return 1;
}

static int scan_word(scan *s, const char *const *words, int count)
{
    for (int i = 0; i < count; i++)
        if (scan_lit(s, words[i]))
            return i;
    return -1;
}

/* "HH:MM:SS" */
static int scan_time(scan *s, int *hms)
{
    int h, m, sec;
    if (!scan_digits(s, 2, &h) || !scan_lit(s, ":") || !scan_digits(s, 2, &m) ||
        !scan_lit(s, ":") || !scan_digits(s, 2, &sec) || h > 23 || m > 59 || sec > 60)
        return 0;
    *hms = h * 3600 + m * 60 + sec;
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dm[m] + (m == 1 && leap);
}

/* An HTTP-date into seconds since 1970; 0 or -1. */
static int http_date(const char *p, size_t n, int64_t now_s, int64_t *t)
{
    scan s = { p, p + n };
    int day = 0, mon = -1, year = 0, hms = 0;
    if (n > 3 && p[3] == ',') {                 /* IMF-fixdate */
        if (scan_word(&s, day_abbr, 7) < 0 || !scan_lit(&s, ", ") || !scan_digits(&s, 2, &day) ||
            !scan_lit(&s, " ") || (mon = scan_word(&s, month_abbr, 12)) < 0 ||
            !scan_lit(&s, " ") || !scan_digits(&s, 4, &year) || !scan_lit(&s, " ") ||
            !scan_time(&s, &hms) || !scan_lit(&s, " GMT"))
            return -1;
    } else if (n > 3 && p[3] == ' ') {          /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (scan_word(&s, day_abbr, 7) < 0 || !scan_lit(&s, " ") ||
            (mon = scan_word(&s, month_abbr, 12)) < 0 || !scan_lit(&s, " "))
            return -1;
        if (!(scan_lit(&s, " ") ? scan_digits(&s, 1, &day) : scan_digits(&s, 2, &day)) ||
            !scan_lit(&s, " ") || !scan_time(&s, &hms) || !scan_lit(&s, " ") ||
            !scan_digits(&s, 4, &year))
            return -1;
    } else {                                    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        int yy;
        if (scan_word(&s, day_full, 7) < 0 || !scan_lit(&s, ", ") || !scan_digits(&s, 2, &day) ||
            !scan_lit(&s, "-") || (mon = scan_word(&s, month_abbr, 12)) < 0 ||
            !scan_lit(&s, "-") || !scan_digits(&s, 2, &yy) || !scan_lit(&s, " ") ||
            !scan_time(&s, &hms) || !scan_lit(&s, " GMT"))
            return -1;
        /* §5.6.7: a two-digit year more than 50 years ahead is in the past century */
        int64_t now_year = year_of(now_s >= 0 ? now_s / 86400 : (now_s - 86399) / 86400);
        int64_t y = now_year - now_year % 100 + yy;
        if (y > now_year + 50)
            y -= 100;
        year = (int)y;
    }
    if (s.p != s.end || day < 1 || day > days_in_month(year, mon))
        return -1;
    *t = days_from_civil(year, mon + 1, day) * 86400 + hms;
    return 0;
}

int iiifs_http_retry_after(const char *value, size_t len, int64_t now_s, uint32_t *ms)
{
    *ms = 0;
    while (len && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len == 0)
        return IIIFS_E_HTTP_PROTO;
    if (value[0] >= '0' && value[0] <= '9') {   /* delta-seconds */
        uint64_t secs = 0;
        for (size_t i = 0; i < len; i++) {
            if (value[i] < '0' || value[i] > '9')
                return IIIFS_E_HTTP_PROTO;
            if (secs < UINT32_MAX)
                secs = secs * 10 + (uint64_t)(value[i] - '0');
        }
        *ms = secs > UINT32_MAX / 1000 ? UINT32_MAX : (uint32_t)(secs * 1000);
        return 0;
    }
    int64_t t;
    if (http_date(value, len, now_s, &t))
        return IIIFS_E_HTTP_PROTO;
    if (t > now_s) {
        uint64_t d = (uint64_t)(t - now_s);
        *ms = d > UINT32_MAX / 1000 ? UINT32_MAX : (uint32_t)(d * 1000);
    }
    return 0;
}
