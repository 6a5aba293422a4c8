/* test_http.c — user headers, request heads (direct, through a proxy,
 * CONNECT), the options from the public ones and the environment, the shared
 * TLS configuration. */
#define _POSIX_C_SOURCE 200809L /* setenv/unsetenv, for the environment test only */
#include "unit.h"
#include "http.h"
#include "port.h"
#include <stdlib.h>
#include <string.h>

static iiifs_http_options ho;   /* big: static, not on the stack */

static int add(const char *line)
{
    iiifs_error e = { 0, "" };
    int rc = iiifs_http_header_add(&ho, line, "-H", &e);
    CHECK(rc == e.code);
    CHECK(rc == 0 || (e.msg[0] && !strchr(e.msg, '\n') && !strchr(e.msg, '\r')));
    return rc;
}

TEST(test_http_header_add_accepts_and_trims)
{
    memset(&ho, 0, sizeof ho);
    CHECK(add("X-Test:   a b\t ") == 0);
    CHECK(add("x-empty:") == 0);
    CHECK(add("Accept: image/jpeg") == 0);
    CHECK(add("user-agent: probe/1") == 0);
    CHECK(add("X-Utf8: caf\xc3\xa9") == 0);
    CHECK(ho.nheaders == 5);
    CHECK(!strcmp(ho.headers, "X-Test: a b\r\nx-empty: \r\nAccept: image/jpeg\r\n"
                              "user-agent: probe/1\r\nX-Utf8: caf\xc3\xa9\r\n"));
    CHECK(ho.headers_len == strlen(ho.headers));
    CHECK(ho.replaces == (IIIFS_HTTP_REPLACES_ACCEPT | IIIFS_HTTP_REPLACES_USER_AGENT));
}

TEST(test_http_header_add_rejects_malformed_and_injection)
{
    static const char *const bad[] = {
        "no colon", ": empty name", "Bad Name: x", "X :space before colon", "X\t: tab",
        "X-A: one\r\nX-B: two", "X-A: lf\nX-B: two", "X-A: cr\rX", "X-A: nul\x01", "X-A: del\x7f",
        "Host: evil", "host: evil", "Content-Length: 5", "Transfer-Encoding: chunked",
        "CONNECTION: close", "X(y): z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&ho, 0, sizeof ho);
        CHECK(add(bad[i]) == IIIFS_E_USAGE);
        CHECK(ho.nheaders == 0 && ho.headers_len == 0);
    }
    /* the message names the argument but never echoes the value */
    iiifs_error e = { 0, "" };
    memset(&ho, 0, sizeof ho);
    iiifs_http_header_add(&ho, "Authorization: secret\r\nX: y", "-H", &e);
    CHECK(strstr(e.msg, "Authorization") && !strstr(e.msg, "secret"));
}

TEST(test_http_header_caps)
{
    memset(&ho, 0, sizeof ho);
    int i;
    for (i = 0; i < IIIFS_HTTP_EXTRA_HEADERS_MAX; i++)
        CHECK(add("X: y") == 0);
    CHECK(add("X: one too many") == IIIFS_E_USAGE);
    memset(&ho, 0, sizeof ho);
    static char big[IIIFS_HTTP_EXTRA_BYTES_MAX + 16];
    memcpy(big, "X: ", 3);
    memset(big + 3, 'v', sizeof big - 4);
    big[sizeof big - 1] = 0;
    CHECK(add(big) == IIIFS_E_USAGE);
    big[IIIFS_HTTP_EXTRA_BYTES_MAX - 8] = 0;
    CHECK(add(big) == 0);
    CHECK(ho.headers_len < sizeof ho.headers);
}

static iiifs_url url(const char *s)
{
    iiifs_url u;
    iiifs_error e = { 0, "" };
    CHECK(iiifs_url_parse(&u, s, &e) == 0);
    return u;
}

static char req[IIIFS_HTTP_REQUEST_MAX];

TEST(test_http_request_head_direct_exact_bytes)
{
    memset(&ho, 0, sizeof ho);
    iiifs_copy(ho.user_agent, sizeof ho.user_agent, "ua/1");
    iiifs_url u = url("http://Example.org:8080/iiif/a%20b/info.json?x=1");
    size_t len;
    CHECK(iiifs_http_request_head(&ho, &u, NULL, 1, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "GET /iiif/a%20b/info.json?x=1 HTTP/1.1\r\nHost: Example.org:8080\r\n"
                       "User-Agent: ua/1\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"));
    CHECK(len == strlen(req));
    /* default port left out, IPv6 in brackets, user headers before Connection */
    CHECK(add("Cookie: c=1") == 0 && add("X-Test: t") == 0);
    u = url("https://[::1]/x");
    CHECK(iiifs_http_request_head(&ho, &u, NULL, 1, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "GET /x HTTP/1.1\r\nHost: [::1]\r\nUser-Agent: ua/1\r\nAccept: */*\r\n"
                       "Cookie: c=1\r\nX-Test: t\r\nConnection: keep-alive\r\n\r\n"));
    /* user headers off: none of them */
    CHECK(iiifs_http_request_head(&ho, &u, NULL, 0, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "GET /x HTTP/1.1\r\nHost: [::1]\r\nUser-Agent: ua/1\r\nAccept: */*\r\n"
                       "Connection: keep-alive\r\n\r\n"));
    /* too small a buffer is an error, not a truncated request */
    CHECK(iiifs_http_request_head(&ho, &u, NULL, 1, req, 40, &len) == IIIFS_E_LIMIT);
}

TEST(test_http_request_head_user_header_replaces_builtin)
{
    memset(&ho, 0, sizeof ho);
    iiifs_copy(ho.user_agent, sizeof ho.user_agent, "ua/1");
    CHECK(add("User-Agent: mine/2") == 0 && add("accept: image/*") == 0);
    iiifs_url u = url("http://h/p");
    size_t len;
    CHECK(iiifs_http_request_head(&ho, &u, NULL, 1, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "GET /p HTTP/1.1\r\nHost: h\r\nUser-Agent: mine/2\r\naccept: image/*\r\n"
                       "Connection: keep-alive\r\n\r\n"));
    /* dropped on a redirect to another host: the built-ins come back */
    CHECK(iiifs_http_request_head(&ho, &u, NULL, 0, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "GET /p HTTP/1.1\r\nHost: h\r\nUser-Agent: ua/1\r\nAccept: */*\r\n"
                       "Connection: keep-alive\r\n\r\n"));
}

TEST(test_http_request_head_proxied_absolute_form)
{
    iiifs_error e = { 0, "" };
    iiifs_proxy p;
    memset(&ho, 0, sizeof ho);
    iiifs_copy(ho.user_agent, sizeof ho.user_agent, "ua/1");
    CHECK(add("X-Test: t") == 0);
    CHECK(iiifs_proxy_parse(&p, "http://Aladdin:open%20sesame@proxy.local:3128/", "--proxy", &e) == 0);
    CHECK(!strcmp(p.auth, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    iiifs_url u = url("http://origin:81/iiif/x/info.json");
    size_t len;
    CHECK(iiifs_http_request_head(&ho, &u, &p, 1, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "GET http://origin:81/iiif/x/info.json HTTP/1.1\r\nHost: origin:81\r\n"
                       "User-Agent: ua/1\r\nAccept: */*\r\nX-Test: t\r\n"
                       "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
                       "Connection: keep-alive\r\n\r\n"));
    CHECK(iiifs_proxy_parse(&p, "proxy.local:3128", "HTTP_PROXY", &e) == 0 && !p.auth[0]);
    u = url("http://origin/");
    CHECK(iiifs_http_request_head(&ho, &u, &p, 0, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "GET http://origin/ HTTP/1.1\r\nHost: origin\r\nUser-Agent: ua/1\r\n"
                       "Accept: */*\r\nConnection: keep-alive\r\n\r\n"));
}

TEST(test_http_connect_head_exact_bytes)
{
    iiifs_error e = { 0, "" };
    iiifs_proxy p;
    memset(&ho, 0, sizeof ho);
    iiifs_copy(ho.user_agent, sizeof ho.user_agent, "ua/1");
    CHECK(add("Authorization: Bearer never-to-the-proxy") == 0);
    CHECK(iiifs_proxy_parse(&p, "http://127.0.0.1:8888", "--proxy", &e) == 0);
    iiifs_url u = url("https://images.example.org/iiif/x");
    size_t len;
    CHECK(iiifs_http_connect_head(&ho, &u, &p, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "CONNECT images.example.org:443 HTTP/1.1\r\n"
                       "Host: images.example.org:443\r\nUser-Agent: ua/1\r\n\r\n"));
    CHECK(len == strlen(req));
    CHECK(iiifs_proxy_parse(&p, "http://u:p@[::1]:8888", "--proxy", &e) == 0);
    CHECK(!strcmp(p.name, "http://[::1]:8888") && !strcmp(p.host, "::1"));
    u = url("https://[2001:db8::1]:8443/x");
    CHECK(iiifs_http_connect_head(&ho, &u, &p, req, sizeof req, &len) == 0);
    CHECK(!strcmp(req, "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n"
                       "User-Agent: ua/1\r\nProxy-Authorization: Basic dTpw\r\n\r\n"));
}

TEST(test_http_options_from_settings_and_environment)
{
    iiifs_http_settings o;
    iiifs_error e = { 0, "" };
    memset(&o, 0, sizeof o);
    const char *h[] = { "X-Test: 1" };
    o.headers = h;
    o.nheaders = 1;
    o.cookie = "session=abc";
    o.referer = "https://example.org/viewer";
    o.token = "t0k";
    setenv("http_proxy", "http://envproxy:3128", 1);
    setenv("HTTPS_PROXY", "http://u:p@secure-proxy:8080", 1);
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    setenv("NO_PROXY", "localhost,.internal", 1);
    unsetenv("no_proxy");
    CHECK(iiifs_http_options_from(&ho, &o, &e) == 0);
    CHECK(ho.timeout_ms == IIIFS_TIMEOUT_MS_DEFAULT && !strcmp(ho.user_agent, "iiifstitch/" IIIFS_VERSION));
    CHECK(!strcmp(ho.headers, "X-Test: 1\r\nCookie: session=abc\r\n"
                              "Referer: https://example.org/viewer\r\nAuthorization: Bearer t0k\r\n"));
    CHECK(ho.nheaders == 4);
    CHECK(!strcmp(ho.proxy_http.host, "envproxy") && ho.proxy_http.port == 3128);
    CHECK(!strcmp(ho.proxy_https.host, "secure-proxy") && ho.proxy_https.auth[0]);
    CHECK(!strcmp(ho.no_proxy, "localhost,.internal"));
    /* --proxy overrides both; '' disables both */
    o.proxy = "http://cli:1";
    CHECK(iiifs_http_options_from(&ho, &o, &e) == 0);
    CHECK(!strcmp(ho.proxy_http.host, "cli") && !strcmp(ho.proxy_https.host, "cli"));
    o.proxy = "";
    CHECK(iiifs_http_options_from(&ho, &o, &e) == 0);
    CHECK(!ho.proxy_http.host[0] && !ho.proxy_https.host[0]);
    /* an https:// proxy in the environment: a clear error naming the variable */
    o.proxy = NULL;
    setenv("HTTPS_PROXY", "https://secure-proxy:8443", 1);
    CHECK(iiifs_http_options_from(&ho, &o, &e) == IIIFS_E_USAGE);
    CHECK(strstr(e.msg, "HTTPS_PROXY") != NULL);
    /* --token together with -H Authorization */
    iiifs_error e2 = { 0, "" };
    unsetenv("HTTPS_PROXY");
    h[0] = "authorization: Basic x";
    CHECK(iiifs_http_options_from(&ho, &o, &e2) == IIIFS_E_USAGE && strstr(e2.msg, "--token"));
    iiifs_error e3 = { 0, "" };
    o.token = NULL;
    o.user_agent = "a\r\nX-Injected: 1";
    CHECK(iiifs_http_options_from(&ho, &o, &e3) == IIIFS_E_USAGE && strstr(e3.msg, "--user-agent"));
    unsetenv("http_proxy");
    unsetenv("NO_PROXY");
}

/* ---- the shared TLS configuration */

static iiifs_http_shared *shared;

typedef struct worker {
    iiifs_http http;
    iiifs_error e;
    int rc;
} worker;

static void fetch(void *arg)
{
    worker *w = arg;
    iiifs_buf body;
    iiifs_response r;
    iiifs_buf_init(&body, 1024);
    w->rc = iiifs_http_get(&w->http, "https://localhost:1/info.json", &body, &r, &w->e);
    iiifs_buf_free(&body);
}

TEST(test_http_shared_tls_error_is_made_once_and_repeated)
{
    iiifs_error e = { 0, "" };
    memset(&ho, 0, sizeof ho);
    iiifs_copy(ho.cacert, sizeof ho.cacert, "/nonexistent/ca.pem");
    CHECK(iiifs_http_shared_new(&shared, &ho, &e) == 0);
    static worker w[2];
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof w[i]);
        iiifs_http_init(&w[i].http, shared);
        fetch(&w[i]);
        CHECK(w[i].rc == IIIFS_E_CERT && strstr(w[i].e.msg, "/nonexistent/ca.pem"));
        iiifs_http_free(&w[i].http);
    }
    CHECK(!strcmp(w[0].e.msg, w[1].e.msg));
    iiifs_http_shared_free(shared);
    iiifs_http_shared_free(NULL);
    CHECK(port_mem_current() == 0);
}

TEST(test_http_shared_by_threads)
{
    iiifs_error e = { 0, "" };
    memset(&ho, 0, sizeof ho);
    ho.insecure = 1;        /* no CA bundle needed: the configuration is made, the connect fails */
    ho.timeout_ms = 2000;
    CHECK(iiifs_http_shared_new(&shared, &ho, &e) == 0);
    enum { N = 4 };
    static worker w[N];
    port_thread *t[N];
    int started[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        iiifs_http_init(&w[i].http, shared);
        started[i] = port_thread_start(&t[i], fetch, &w[i]) == 0;
        if (!started[i])
            fetch(&w[i]);
    }
    for (int i = 0; i < N; i++) {
        if (started[i])
            port_thread_join(t[i]);
        CHECK(w[i].rc == IIIFS_E_CONNECT || w[i].rc == IIIFS_E_RESOLVE);
        CHECK(w[i].http.shared == shared && w[i].http.handshakes == 0 &&
              w[i].http.connects == 0);
        iiifs_http_free(&w[i].http);
    }
    uint64_t rq, cn, hs, bi;
    iiifs_http_shared_totals(shared, &rq, &cn, &hs, &bi);
    CHECK(rq == 0 && cn == 0 && hs == 0);   /* no connection made, so nothing sent */
    iiifs_http_shared_free(shared);
    CHECK(port_mem_current() == 0);
}
