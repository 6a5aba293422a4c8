/* test_fetch.c — the one fetch policy (fetch.h) on a fake clock and a fake
 * transport: what is retried, the backoff and its jitter, Retry-After and its
 * cap, halving on 429/503 once per burst and the way back, the rate, and a
 * document fetched again after transient failures. */
#include "unit.h"
#include "fetch.h"

#include <string.h>

/* ---- a clock that moves only when slept on */

static uint64_t fake_now_us;
static uint32_t slept[16];
static int nslept;

static uint64_t fake_now(void *ud)
{
    (void)ud;
    return fake_now_us;
}

static void fake_sleep(void *ud, uint32_t ms)
{
    (void)ud;
    if (nslept < 16)
        slept[nslept++] = ms;
    fake_now_us += (uint64_t)ms * 1000u;
}

static const iiifs_clock fake_clock = { fake_now, fake_sleep, NULL };

/* Forget the sleeps; time only goes forward. */
static void clock_reset(void)
{
    if (fake_now_us < 1000000)
        fake_now_us = 1000000;
    nslept = 0;
}

/* ---- a server that answers from a script */

typedef struct answer {
    int rc;                         /* 0, or a network error */
    int status;
    uint32_t retry_after_ms;
} answer;

typedef struct script {
    const answer *a;
    int n, at;
} script;

static int fake_get(void *ud, const char *url, iiifs_buf *body, iiifs_response *r,
                    iiifs_error *e)
{
    script *s = ud;
    memset(r, 0, sizeof *r);
    iiifs_copy(r->url, sizeof r->url, url);
    if (s->at >= s->n)
        return iiifs_fail(e, IIIFS_E_INTERNAL, "the script ran out");
    const answer *a = &s->a[s->at++];
    if (a->rc)
        return iiifs_fail(e, a->rc, "%s: timed out", url);
    r->status = a->status;
    r->retry_after_ms = a->retry_after_ms;
    body->len = 0;
    return iiifs_buf_append(body, "{}", 2);
}

TEST(test_fetch_transient_statuses_and_errors)
{
    static const int again[] = { 408, 429, 500, 502, 503, 504 };
    static const int final[] = { 400, 401, 403, 404, 410, 501, 505 };
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
        CHECK(iiifs_fetch_transient(IIIFS_E_HTTP_STATUS, again[i]));
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        CHECK(!iiifs_fetch_transient(IIIFS_E_HTTP_STATUS, final[i]));
    CHECK(iiifs_fetch_transient(IIIFS_E_TIMEOUT, 0));
    CHECK(iiifs_fetch_transient(IIIFS_E_CLOSED, 0));
    CHECK(iiifs_fetch_transient(IIIFS_E_CONNECT, 0));
    CHECK(!iiifs_fetch_transient(IIIFS_E_RESOLVE, 0));
    CHECK(!iiifs_fetch_transient(IIIFS_E_CERT, 0));
    CHECK(!iiifs_fetch_transient(IIIFS_E_JPEG, 0));
    CHECK(!iiifs_fetch_transient(IIIFS_E_NOMEM, 0));
}

TEST(test_fetch_backoff_doubles_with_jitter_and_stays_capped)
{
    CHECK(iiifs_fetch_backoff_ms(1, 0) == 250);
    CHECK(iiifs_fetch_backoff_ms(1, 250) == 500);     /* d + rnd % (d + 1) */
    CHECK(iiifs_fetch_backoff_ms(1, 251) == 250);
    CHECK(iiifs_fetch_backoff_ms(2, 0) == 500);
    CHECK(iiifs_fetch_backoff_ms(3, 0) == 1000);
    for (uint32_t t = 1; t < 40; t++)
        for (uint32_t rnd = 0; rnd < 5000; rnd += 7) {
            uint32_t d = iiifs_fetch_backoff_ms(t, rnd);
            CHECK(d >= 250 && d <= IIIFS_BACKOFF_MAX_MS);
        }
    CHECK(iiifs_fetch_backoff_ms(30, 0) == IIIFS_BACKOFF_MAX_MS / 2);
    uint64_t state = 1;
    uint32_t a = iiifs_fetch_rand(&state), b = iiifs_fetch_rand(&state);
    CHECK(a != b && state != 1);
}

TEST(test_fetch_retry_after_waits_and_is_capped)
{
    CHECK(iiifs_fetch_delay_ms(1, 3000, 0) == 3000);          /* longer than the backoff */
    CHECK(iiifs_fetch_delay_ms(1, 100, 0) == 250);            /* shorter: the backoff */
    CHECK(iiifs_fetch_delay_ms(1, 3600000, 0) == IIIFS_RETRY_AFTER_MAX_MS);
}

TEST(test_origin_halves_once_per_burst_and_grows_back)
{
    iiifs_origin o;
    iiifs_polite_rules r = { 4, 0 };
    memset(&o, 0, sizeof o);
    o.active = 4;
    uint32_t gen[5];
    uint64_t wake;
    for (int i = 0; i < 4; i++)
        CHECK(iiifs_origin_try(&o, &r, 0, &gen[i], &wake) == 1 && gen[i] == 0);
    CHECK(iiifs_origin_try(&o, &r, 0, &gen[4], &wake) == 0 && wake == UINT64_MAX);
    /* the burst of four answers 429: the first halves, the others of its generation not */
    CHECK(iiifs_origin_done(&o, &r, gen[0], IIIFS_E_HTTP_STATUS, 429, 0, 0) == 2);
    CHECK(iiifs_origin_done(&o, &r, gen[1], IIIFS_E_HTTP_STATUS, 429, 0, 0) == 0);
    CHECK(iiifs_origin_done(&o, &r, gen[2], IIIFS_E_HTTP_STATUS, 503, 0, 0) == 0);
    CHECK(o.active == 2 && o.inflight == 1);
    CHECK(iiifs_origin_try(&o, &r, 0, &gen[0], &wake) == 1 && gen[0] == 1);
    CHECK(iiifs_origin_try(&o, &r, 0, &gen[1], &wake) == 0);  /* two at once now */
    iiifs_origin_done(&o, &r, gen[3], 0, 200, 0, 0);
    iiifs_origin_done(&o, &r, gen[0], 0, 200, 0, 0);
    /* a final failure is not the server's load */
    CHECK(iiifs_origin_try(&o, &r, 0, &gen[0], &wake) == 1);
    CHECK(iiifs_origin_done(&o, &r, gen[0], IIIFS_E_HTTP_STATUS, 404, 0, 0) == 0);
    CHECK(o.active == 2);
    /* one back after every IIIFS_GROW_AFTER successes in a row, up to the limit */
    for (uint32_t i = 0; i < 4 * IIIFS_GROW_AFTER; i++) {
        CHECK(iiifs_origin_try(&o, &r, 0, &gen[0], &wake) == 1);
        iiifs_origin_done(&o, &r, gen[0], 0, 200, 0, 0);
    }
    CHECK(o.active == 4 && o.inflight == 0);
}

TEST(test_origin_retry_after_pauses_every_request)
{
    iiifs_origin o;
    iiifs_polite_rules r = { 4, 0 };
    memset(&o, 0, sizeof o);
    o.active = 4;
    uint32_t g;
    uint64_t wake;
    CHECK(iiifs_origin_try(&o, &r, 1000000, &g, &wake) == 1);
    iiifs_origin_done(&o, &r, g, IIIFS_E_HTTP_STATUS, 503, 3000, 1000);
    CHECK(o.pause_until == 4000);
    CHECK(iiifs_origin_try(&o, &r, 2000000, &g, &wake) == 0 && wake == 4000);
    CHECK(iiifs_origin_try(&o, &r, 4000000, &g, &wake) == 1);
    iiifs_origin_done(&o, &r, g, IIIFS_E_HTTP_STATUS, 429, 3600000, 5000);
    CHECK(o.pause_until == 5000 + IIIFS_RETRY_AFTER_MAX_MS);
}

TEST(test_origin_rate_spaces_requests)
{
    iiifs_origin o;
    iiifs_polite_rules r = { 4, 500000 };               /* 2 requests a second */
    memset(&o, 0, sizeof o);
    o.active = 4;
    uint32_t g;
    uint64_t wake;
    CHECK(iiifs_origin_try(&o, &r, 10000000, &g, &wake) == 1);
    CHECK(iiifs_origin_try(&o, &r, 10100000, &g, &wake) == 0 && wake == 10500);
    CHECK(iiifs_origin_try(&o, &r, 10500000, &g, &wake) == 1);
    CHECK(iiifs_origin_try(&o, &r, 10999999, &g, &wake) == 0 && wake == 11000);
}

TEST(test_origin_keys)
{
    char k[IIIFS_ORIGIN_KEY_MAX];
    CHECK(iiifs_origin_key("https://Example.ORG/iiif/x/info.json", k, sizeof k) == 0 &&
          !strcmp(k, "https://example.org:443"));
    CHECK(iiifs_origin_key("http://127.0.0.1:8080/a", k, sizeof k) == 0 &&
          !strcmp(k, "http://127.0.0.1:8080"));
    CHECK(iiifs_origin_key("http://[::1]:81/a", k, sizeof k) == 0 &&
          !strcmp(k, "http://[::1]:81"));
    CHECK(iiifs_origin_key("/local/info.json", k, sizeof k) == IIIFS_E_URL);
}

/* A document under the rules: retried after 503s with their Retry-After and
 * the backoff, on the fake clock; a 404 is final at once. */
TEST(test_fetch_document_retries_on_a_fake_clock)
{
    iiifs_polite p;
    iiifs_error e = { 0, "" };
    CHECK(iiifs_polite_init(&p, 4, 0, &fake_clock, &e) == 0);
    iiifs_fetcher f;
    iiifs_fetcher_init(&f, NULL, &p, 5);
    static const answer busy[] = { { 0, 503, 2000 }, { IIIFS_E_TIMEOUT, 0, 0 }, { 0, 200, 0 } };
    script s = { busy, 3, 0 };
    f.get = fake_get;
    f.get_ud = &s;
    iiifs_buf body;
    iiifs_buf_init(&body, 1024);
    char final[IIIFS_URL_MAX];
    clock_reset();
    CHECK(iiifs_fetch_document(&f, "http://h/x/info.json", &body, final, sizeof final, &e) == 0);
    CHECK(s.at == 3 && f.retries == 2 && nslept == 2);
    CHECK(slept[0] == 2000);                            /* Retry-After over the backoff */
    CHECK(slept[1] >= 500 && slept[1] <= 1000);         /* the second backoff */
    CHECK(!strcmp(final, "http://h/x/info.json") && body.len == 2);

    /* tries run out: the last error, with the count */
    static const answer down[] = { { 0, 502, 0 }, { 0, 502, 0 } };
    script s2 = { down, 2, 0 };
    f.get_ud = &s2;
    f.tries = 2;
    iiifs_error e2 = { 0, "" };
    CHECK(iiifs_fetch_document(&f, "http://h/y", &body, NULL, 0, &e2) == IIIFS_E_HTTP_STATUS);
    CHECK(strstr(e2.msg, "HTTP 502") && strstr(e2.msg, "after 2 tries") && s2.at == 2);

    /* final at once */
    static const answer gone[] = { { 0, 404, 0 } };
    script s3 = { gone, 1, 0 };
    f.get_ud = &s3;
    clock_reset();
    iiifs_error e3 = { 0, "" };
    CHECK(iiifs_fetch_document(&f, "http://h/z", &body, NULL, 0, &e3) == IIIFS_E_HTTP_STATUS);
    CHECK(nslept == 0 && strstr(e3.msg, "HTTP 404") && !strstr(e3.msg, "tries"));
    iiifs_buf_free(&body);
    iiifs_polite_free(&p);
}

/* The pause a Retry-After put on a server holds the next request too. */
TEST(test_polite_acquire_waits_out_a_pause)
{
    iiifs_polite p;
    iiifs_error e = { 0, "" };
    CHECK(iiifs_polite_init(&p, 2, 0, &fake_clock, &e) == 0);
    clock_reset();
    iiifs_grant g = { NULL, 0 };
    CHECK(iiifs_polite_acquire(&p, "http://h:80", &g, &e) == 0 && g.o);
    iiifs_polite_release(&p, &g, IIIFS_E_HTTP_STATUS, 429, 5000);
    CHECK(g.o == NULL);
    CHECK(iiifs_polite_acquire(&p, "http://h:80", &g, &e) == 0);
    CHECK(nslept == 1 && slept[0] == 5000);
    iiifs_polite_release(&p, &g, 0, 200, 0);
    /* another server is not paused */
    clock_reset();
    CHECK(iiifs_polite_acquire(&p, "http://other:80", &g, &e) == 0 && nslept == 0);
    iiifs_polite_release(&p, &g, 0, 200, 0);
    iiifs_polite_free(&p);
}
