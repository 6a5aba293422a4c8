/*
 * fetch.h — the one fetch policy, for documents and tiles alike: which
 * failures are tried again, how long to wait before the next try, and how
 * politely one server is asked.
 *
 *   transient    timeouts, refused or dropped connections, truncated
 *                bodies, 408, 429, 500, 502, 503, 504: tried again, up to
 *                the client's tries; every other status, bad data and local
 *                trouble are final.
 *   backoff      before try k+1: d + a random part of [0, d], d = 250 ms
 *                doubling per try, at most IIIFS_BACKOFF_MAX_MS in all.
 *   Retry-After  seconds or an HTTP date (http_parse.h), at most
 *                IIIFS_RETRY_AFTER_MAX_MS: the try waits at least that long,
 *                and so does every request to that server.
 *   --rate R     requests to one server start at least 1/R s apart.
 *   429, 503     the requests one server may have at once halve (at least
 *                1), once per burst (the generation a request started in);
 *                one comes back after every IIIFS_GROW_AFTER successes.
 *
 * The politeness state lives per origin (scheme://host:port) in an
 * iiifs_polite that the client owns, so every job of a batch, and every
 * thread of a job, sees the same limits. Its pure parts (iiifs_origin_try,
 * iiifs_origin_done) take the time as an argument; the locked parts read it
 * from a clock that unit tests replace.
 *
 * Waiting: a job's worker that may not start a request now registers the
 * job's lock and condition (an iiifs_waiter) with the origin and is woken
 * when a request to it ends; a time to try again (a pause, the rate) comes
 * back as *wake. A blocking caller (documents) waits on the polite's own
 * condition. iiifs_polite_release and iiifs_polite_forget take the waiters'
 * locks: never call them while holding one.
 */
#ifndef IIIFS_FETCH_H
#define IIIFS_FETCH_H

#include "http.h"

#ifndef IIIFS_BACKOFF_MS
#define IIIFS_BACKOFF_MS 250u             /* first retry after 250..500 ms, then doubling */
#endif
#ifndef IIIFS_BACKOFF_MAX_MS
#define IIIFS_BACKOFF_MAX_MS 8000u        /* the longest backoff, jitter included */
#endif
#ifndef IIIFS_RETRY_AFTER_MAX_MS
#define IIIFS_RETRY_AFTER_MAX_MS 120000u  /* the longest Retry-After honoured */
#endif
#ifndef IIIFS_GROW_AFTER
#define IIIFS_GROW_AFTER 16u              /* successes before a halved server gets one back */
#endif
#ifndef IIIFS_ORIGINS_MAX
#define IIIFS_ORIGINS_MAX 64              /* servers the client keeps a state for at once */
#endif
#ifndef IIIFS_WAITERS_MAX
#define IIIFS_WAITERS_MAX 40              /* jobs waiting on one server at once */
#endif
#define IIIFS_ORIGIN_KEY_MAX (IIIFS_HOST_MAX + 24)   /* "https://[host]:65535" */

/* ---- the rules */

/* Worth another try: a network failure or a status that says so. */
int iiifs_fetch_transient(int rc, int status);
/* The wait before try tries + 1 (tries >= 1), from the random value rnd:
 * d + rnd % (d + 1), d = IIIFS_BACKOFF_MS doubled tries - 1 times, capped so
 * that the sum stays within IIIFS_BACKOFF_MAX_MS. */
uint32_t iiifs_fetch_backoff_ms(uint32_t tries, uint32_t rnd);
/* The wait before the next try: the backoff, or a longer Retry-After (capped). */
uint32_t iiifs_fetch_delay_ms(uint32_t tries, uint32_t retry_after_ms, uint32_t rnd);
/* xorshift64*: the jitter's random numbers; *state must not be 0. */
uint32_t iiifs_fetch_rand(uint64_t *state);

/* ---- one server's politeness */

typedef struct iiifs_waiter {
    port_mutex *mu;                 /* the job's lock ... */
    port_cond *cond;                /* ... and the condition its workers wait on */
} iiifs_waiter;

typedef struct iiifs_origin {
    char key[IIIFS_ORIGIN_KEY_MAX]; /* "scheme://host:port", lower case; "" = unused */
    uint32_t inflight;              /* requests started and not ended */
    uint32_t active;                /* requests allowed at once */
    uint32_t gen, streak;           /* halving generation; successes since a failure */
    uint64_t pause_until;           /* ms: no request before (Retry-After) */
    uint64_t next_send_us;          /* the rate: no request before */
    uint64_t last_used;             /* ms */
    iiifs_waiter *waiter[IIIFS_WAITERS_MAX];
    uint32_t nwaiters;
} iiifs_origin;

typedef struct iiifs_polite_rules {
    uint32_t limit;                 /* requests at once per server, 1..IIIFS_CONN_MAX */
    uint64_t gap_us;                /* 1/rate; 0 = no rate */
} iiifs_polite_rules;

/* May a request start at now_us? 1: yes, counted in flight, *gen its
 * generation. 0: not now; *wake_ms is when the rate or a pause allows one
 * (UINT64_MAX: when a request in flight ends). */
int iiifs_origin_try(iiifs_origin *o, const iiifs_polite_rules *r, uint64_t now_us,
                     uint32_t *gen, uint64_t *wake_ms);
/* A request of generation gen ended with rc (0 = a 2xx answer) and status.
 * Returns the new allowance when this halved it, else 0. */
uint32_t iiifs_origin_done(iiifs_origin *o, const iiifs_polite_rules *r, uint32_t gen, int rc,
                           int status, uint32_t retry_after_ms, uint64_t now_ms);

typedef struct iiifs_clock {
    uint64_t (*now_us)(void *ud);
    void (*sleep_ms)(void *ud, uint32_t ms);
    void *ud;
} iiifs_clock;

/* The port's clock. */
extern const iiifs_clock iiifs_clock_port;

typedef struct iiifs_polite {
    port_mutex *mu;
    port_cond *freed;               /* a request ended: blocking callers look again */
    iiifs_polite_rules rules;
    iiifs_clock clock;
    uint32_t waking;                /* releases waking waiters outside mu */
    iiifs_origin origin[IIIFS_ORIGINS_MAX];
} iiifs_polite;

typedef struct iiifs_grant {
    iiifs_origin *o;                /* NULL: nothing was granted (a local file) */
    uint32_t gen;
} iiifs_grant;

/* rate: requests per second per server, 0 = none. clock NULL: the port's. */
int iiifs_polite_init(iiifs_polite *p, uint32_t limit, double rate, const iiifs_clock *clock,
                      iiifs_error *e);
void iiifs_polite_free(iiifs_polite *p);
/* "scheme://host:port" of url, lower case; IIIFS_E_URL when it has none. */
int iiifs_origin_key(const char *url, char *out, size_t cap);
/* Try to start a request to the origin of key. 1 granted; 0 not now: w (when
 * not NULL) is woken when a request to it ends, *wake_ms as in
 * iiifs_origin_try; IIIFS_E_LIMIT when IIIFS_ORIGINS_MAX servers are busy. */
int iiifs_polite_try(iiifs_polite *p, const char *key, iiifs_waiter *w, iiifs_grant *g,
                     uint64_t *wake_ms, iiifs_error *e);
/* Wait until a request may start (documents). */
int iiifs_polite_acquire(iiifs_polite *p, const char *key, iiifs_grant *g, iiifs_error *e);
/* The granted request ended (see iiifs_origin_done); wakes the waiters. */
uint32_t iiifs_polite_release(iiifs_polite *p, iiifs_grant *g, int rc, int status,
                              uint32_t retry_after_ms);
/* w is going away: it is never woken again. */
void iiifs_polite_forget(iiifs_polite *p, iiifs_waiter *w);

/* ---- fetching under the rules */

/* One GET: the transport (the HTTP client, or a fake in tests). */
typedef int (*iiifs_get_fn)(void *ud, const char *url, iiifs_buf *body, iiifs_response *r,
                            iiifs_error *e);

typedef struct iiifs_fetcher {
    iiifs_http *http;               /* this thread's handle (the default transport) */
    iiifs_polite *polite;           /* NULL: no politeness */
    uint32_t tries;                 /* attempts per request, 1.. */
    uint64_t rng;                   /* the jitter's state, not 0 */
    uint32_t files;                 /* local files read (requests are counted by http) */
    uint64_t file_bytes;            /* their bytes */
    uint32_t retries;               /* tries after a failure */
    void (*warn)(void *ud, const char *msg);
    void *ud;
    iiifs_get_fn get;               /* NULL: iiifs_http_get on http */
    void *get_ud;
} iiifs_fetcher;

/* A fetcher on http (NULL for local files only) under polite (may be NULL). */
void iiifs_fetcher_init(iiifs_fetcher *f, iiifs_http *http, iiifs_polite *polite,
                        uint32_t tries);
/* GET url once, with no politeness: anything but a final 2xx is an error
 * (IIIFS_E_HTTP_STATUS naming the status and the URL); r says what came. */
int iiifs_fetch_raw(iiifs_fetcher *f, const char *url, iiifs_buf *body, iiifs_response *r,
                    iiifs_error *e);
/* One try of src with no politeness: a local file (no scheme: IIIFS_E_NOENT
 * when there is none), or one GET as iiifs_fetch_raw. */
int iiifs_fetch_once(iiifs_fetcher *f, const char *src, iiifs_buf *body, iiifs_response *r,
                     iiifs_error *e);
/* A document: a local file (no scheme), or the URL under the politeness
 * rules, tried again after transient failures. final (may be NULL) is where
 * it came from, after redirects. */
int iiifs_fetch_document(iiifs_fetcher *f, const char *src, iiifs_buf *body, char *final,
                         size_t cap, iiifs_error *e);

#endif
