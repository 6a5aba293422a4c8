/* test_http_parse.c — response heads and chunked bodies, fed whole and byte by
 * byte, and the Retry-After value. */
#include "unit.h"
#include "http_parse.h"
#include "port.h"
#include <string.h>

/* Parse r presented one byte more at a time: every prefix must ask for
 * more, the whole must parse to the same length. */
static int head_bytewise(const char *r, iiifs_http_head *h)
{
    size_t n = strlen(r);
    for (size_t k = 1; k < n; k++) {
        int rc = iiifs_http_parse_head(r, k, h);
        if (rc != IIIFS_E_AGAIN && rc != (int)k)
            return rc > 0 ? -1000 : rc;
    }
    return iiifs_http_parse_head(r, n, h);
}

TEST(test_http_head_parses_whole_and_byte_by_byte)
{
    const char *r = "HTTP/1.1 303 See Other\r\nLocation: //h:1/x/info.json\r\n"
                    "Content-Type:  application/ld+json;profile=\"x\" \r\n"
                    "Content-Length: 0\r\n\r\nBODY";
    iiifs_http_head h;
    int whole = iiifs_http_parse_head(r, strlen(r), &h);
    CHECK(whole == (int)(strlen(r) - 4));
    CHECK(h.status == 303 && h.minor == 1 && h.nheaders == 3);
    CHECK(h.location.n == 17 && !memcmp(h.location.p, "//h:1/x/info.json", 17));
    CHECK(iiifs_str_eq_nocase(h.content_type, "application/ld+json;profile=\"x\""));
    CHECK(h.body == IIIFS_BODY_LENGTH && h.content_length == 0 && h.keep_alive);
    const char *r2 = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n";
    CHECK(head_bytewise(r2, &h) == (int)strlen(r2));
    CHECK(h.body == IIIFS_BODY_CHUNKED);
    const char *r3 = "HTTP/1.0 200\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\n";
    CHECK(head_bytewise(r3, &h) == (int)strlen(r3));
    CHECK(h.keep_alive && h.status == 200 && h.reason.n == 0);
}

TEST(test_http_head_rejects_malformed)
{
    static const char *const bad[] = {
        "<html>", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: novalue\r\n\r\n", "HTTP/1.1 20x OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iiifs_http_head h;
        int rc = iiifs_http_parse_head(bad[i], strlen(bad[i]), &h);
        CHECK(rc == IIIFS_E_HTTP_PROTO && h.error != NULL);
        CHECK(head_bytewise(bad[i], &h) == IIIFS_E_HTTP_PROTO);
    }
    /* a head that never ends hits the cap, not a crash */
    static char big[IIIFS_HTTP_HEAD_MAX + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    iiifs_http_head h;
    CHECK(iiifs_http_parse_head(big, sizeof big, &h) == IIIFS_E_LIMIT);
    /* too many fields */
    static char many[IIIFS_HTTP_HEAD_MAX];
    size_t n = (size_t)sprintf(many, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i <= IIIFS_HTTP_HEADERS_MAX; i++)
        n += (size_t)sprintf(many + n, "X-%d: y\r\n", i);
    n += (size_t)sprintf(many + n, "\r\n");
    CHECK(iiifs_http_parse_head(many, n, &h) == IIIFS_E_LIMIT);
}

TEST(test_http_head_body_framing)
{
    iiifs_http_head h;
    const char *a = "HTTP/1.1 204 No Content\r\n\r\n";
    CHECK(iiifs_http_parse_head(a, strlen(a), &h) > 0 && h.body == IIIFS_BODY_NONE);
    const char *b = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
    CHECK(iiifs_http_parse_head(b, strlen(b), &h) > 0 && h.body == IIIFS_BODY_CLOSE && !h.keep_alive);
    const char *c = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(iiifs_http_parse_head(c, strlen(c), &h) > 0 && h.body == IIIFS_BODY_CHUNKED && !h.keep_alive);
    const char *d = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
    CHECK(iiifs_http_parse_head(d, strlen(d), &h) > 0 && h.body == IIIFS_BODY_CLOSE);
}

static int chunked(const char *in, size_t n, int bytewise, iiifs_buf *out, size_t *consumed)
{
    iiifs_chunked d;
    iiifs_chunked_init(&d);
    size_t pos = 0;
    int rc = 0;
    while (pos < n) {
        size_t used = 0, give = bytewise ? 1 : n - pos;
        rc = iiifs_chunked_feed(&d, in + pos, give, &used, out);
        pos += used;
        if (rc != 0)
            break;
        if (used == 0)
            return -500;
    }
    *consumed = pos;
    return rc;
}

TEST(test_chunked_decodes_whole_and_byte_by_byte)
{
    const char in[] = "7\r\nMozilla\r\n9;ext=1\r\nDeveloper\r\nA\r\n Network!!\r\n0\r\n"
                      "Trailer: x\r\n\r\nNEXT";
    for (int bw = 0; bw < 2; bw++) {
        iiifs_buf out;
        size_t used;
        iiifs_buf_init(&out, 1024);
        CHECK(chunked(in, sizeof in - 1, bw, &out, &used) == 1);
        CHECK(used == sizeof in - 1 - 4); /* stops before NEXT */
        CHECK(out.len == 26 && !memcmp(out.p, "MozillaDeveloper Network!!", 26));
        iiifs_buf_free(&out);
    }
    const char lf[] = "3\nabc\n0\n\n";
    iiifs_buf out;
    size_t used;
    iiifs_buf_init(&out, 1024);
    CHECK(chunked(lf, sizeof lf - 1, 1, &out, &used) == 1 && out.len == 3);
    iiifs_buf_free(&out);
}

TEST(test_chunked_rejects_malformed)
{
    static const char *const bad[] = { "x\r\n", "3\r\nabcd\r\n", "\r\n", "3\rabc",
                                       "fffffffffffffffff\r\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (int bw = 0; bw < 2; bw++) {
            iiifs_buf out;
            size_t used;
            iiifs_buf_init(&out, 1024);
            CHECK(chunked(bad[i], strlen(bad[i]), bw, &out, &used) == IIIFS_E_HTTP_PROTO);
            iiifs_buf_free(&out);
        }
}

TEST(test_chunked_body_cap)
{
    const char in[] = "10\r\n0123456789abcdef\r\n0\r\n\r\n";
    iiifs_buf out;
    size_t used;
    iiifs_buf_init(&out, 8);
    CHECK(chunked(in, sizeof in - 1, 0, &out, &used) == IIIFS_E_LIMIT);
    iiifs_buf_free(&out);
    CHECK(port_mem_current() == 0);
}

/* Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, made a
 * delay in milliseconds from the clock given */
static uint32_t ra(const char *v, int64_t now, int *rc)
{
    uint32_t ms = 12345;
    *rc = iiifs_http_retry_after(v, strlen(v), now, &ms);
    return ms;
}

TEST(test_retry_after_delta_seconds)
{
    int rc;
    CHECK(ra("120", 0, &rc) == 120000 && rc == 0);
    CHECK(ra(" 0 ", 0, &rc) == 0 && rc == 0);
    CHECK(ra("4294967", 0, &rc) == 4294967000u && rc == 0);
    CHECK(ra("4294968", 0, &rc) == UINT32_MAX && rc == 0);             /* saturates */
    CHECK(ra("99999999999999999999999", 0, &rc) == UINT32_MAX && rc == 0);
}

TEST(test_retry_after_http_dates)
{
    /* 1994-11-06 08:49:37 UTC = 784111777 */
    const int64_t t = 784111777;
    int rc;
    CHECK(ra("Sun, 06 Nov 1994 08:49:37 GMT", t - 90, &rc) == 90000 && rc == 0);
    CHECK(ra("Sunday, 06-Nov-94 08:49:37 GMT", t - 90, &rc) == 90000 && rc == 0);
    CHECK(ra("Sun Nov  6 08:49:37 1994", t - 90, &rc) == 90000 && rc == 0);
    CHECK(ra("Sun Nov 16 08:49:37 1994", t, &rc) == 10u * 86400 * 1000 && rc == 0);
    /* leap day, end of year */
    CHECK(ra("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800 - 1, &rc) == 1000 && rc == 0);
    CHECK(ra("Tue, 31 Dec 2030 23:59:59 GMT", 1924991999 - 5, &rc) == 5000 && rc == 0);
    /* RFC 850 two-digit years: more than 50 years ahead means the last century */
    CHECK(ra("Wednesday, 01-Jan-75 00:00:00 GMT", 1704067200 /* 2024 */, &rc) == 0 && rc == 0);
    CHECK(ra("Monday, 01-Jan-74 00:00:00 GMT", 1704067200, &rc) > 0 && rc == 0); /* 2074 */
    CHECK(ra("Thursday, 01-Jan-60 00:00:00 GMT", 1704067200, &rc) > 0 && rc == 0); /* 2060 */
    CHECK(ra("Friday, 01-Jan-60 00:00:00 GMT", 1704067200 + 1, &rc) > 0 && rc == 0);
    CHECK(ra("Thursday, 01-Jan-60 00:00:00 GMT", 946684800 /* 2000 */, &rc) == 0 && rc == 0);
    CHECK(ra("Thursday, 01-Jan-50 00:00:00 GMT", 946684800, &rc) > 0 && rc == 0); /* 2050 */
    CHECK(ra("Thursday, 01-Jan-99 00:00:00 GMT", 946684800, &rc) == 0 && rc == 0); /* 1999 */
    /* past dates: 0, not an error */
    CHECK(ra("Sun, 06 Nov 1994 08:49:37 GMT", t + 1, &rc) == 0 && rc == 0);
    CHECK(ra("Sun, 06 Nov 1994 08:49:37 GMT", t, &rc) == 0 && rc == 0);
    /* far future saturates */
    CHECK(ra("Fri, 31 Dec 9999 23:59:59 GMT", 0, &rc) == UINT32_MAX && rc == 0);
}

TEST(test_retry_after_garbage)
{
    static const char *const bad[] = {
        "", "   ", "-1", "1.5", "12s", "soon", "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 2023 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Foo, 06 Nov 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 94",
        "Sun, 06-Nov-94 08:49:37 GMT", "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT junk",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        uint32_t ms = ra(bad[i], 0, &rc);
        if (rc != IIIFS_E_HTTP_PROTO || ms != 0)
            fprintf(stderr, "  Retry-After '%s': rc %d ms %u\n", bad[i], rc, (unsigned)ms);
        CHECK(rc == IIIFS_E_HTTP_PROTO && ms == 0);
    }
}
