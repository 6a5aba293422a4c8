/* test_proxy.c — proxy URLs (the forms taken, the errors, the credentials never
 * echoed) and the NO_PROXY list. */
#include "unit.h"
#include "proxy.h"
#include <string.h>

TEST(test_proxy_parse_forms_and_errors)
{
    iiifs_error e = { 0, "" };
    iiifs_proxy p;
    CHECK(iiifs_proxy_parse(&p, "", "--proxy", &e) == 0 && !p.host[0]);
    CHECK(iiifs_proxy_parse(&p, NULL, "--proxy", &e) == 0 && !p.host[0]);
    CHECK(iiifs_proxy_parse(&p, "HTTP://Proxy", "--proxy", &e) == 0);
    CHECK(!strcmp(p.host, "Proxy") && p.port == 80 && !strcmp(p.name, "http://Proxy:80"));
    CHECK(iiifs_proxy_parse(&p, "http://user@p:1", "--proxy", &e) == 0);
    CHECK(!strcmp(p.auth, "Basic dXNlcjo=")); /* "user:" */
    static const char *const bad[] = {
        "https://p:443", "socks5://p:1080", "http://", "http://p:99999", "http://p:x",
        "http://p:1/path", "http://u:%zz@p:1", "http://p:1?q",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iiifs_error e2 = { 0, "" };
        CHECK(iiifs_proxy_parse(&p, bad[i], "HTTPS_PROXY", &e2) == IIIFS_E_USAGE);
        CHECK(strstr(e2.msg, "HTTPS_PROXY") != NULL);
    }
    iiifs_error e3 = { 0, "" };
    CHECK(iiifs_proxy_parse(&p, "https://u:hunter2@p:1", "--proxy", &e3) == IIIFS_E_USAGE);
    CHECK(strstr(e3.msg, "https") && !strstr(e3.msg, "hunter2"));
}

TEST(test_proxy_no_proxy_table)
{
    static const struct {
        const char *list, *host;
        uint16_t port;
        int bypass;
    } t[] = {
        { NULL, "a.org", 80, 0 },
        { "", "a.org", 80, 0 },
        { "*", "anything.example", 443, 1 },
        { "a.org,*", "b.org", 80, 1 },
        { "example.org", "example.org", 80, 1 },
        { "example.org", "EXAMPLE.ORG", 80, 1 },
        { "example.org", "img.example.org", 80, 1 },
        { ".example.org", "img.example.org", 80, 1 },
        { ".example.org", "example.org", 80, 1 },
        { "example.org", "badexample.org", 80, 0 },
        { "example.org", "example.org.evil", 80, 0 },
        { " foo.test , example.org ", "example.org", 80, 1 },
        { "foo.test,,example.org", "example.org", 80, 1 },
        { "example.org:8080", "example.org", 8080, 1 },
        { "example.org:8080", "example.org", 80, 0 },
        { "localhost", "localhost", 8080, 1 },
        { "127.0.0.1", "127.0.0.1", 80, 1 },
        { "0.0.1", "127.0.0.1", 80, 0 },
        { ".0.0.1", "127.0.0.1", 80, 0 },
        { "127.0.0.1:9", "127.0.0.1", 80, 0 },
        { "127.0.0.1:9", "127.0.0.1", 9, 1 },
        { "::1", "::1", 80, 1 },
        { "[::1]", "::1", 80, 1 },
        { "[::1]:8080", "::1", 8080, 1 },
        { "[::1]:8080", "::1", 80, 0 },
        { "::1", "::2", 80, 0 },
        { "localhost", "127.0.0.1", 80, 0 },
        { "*.example.org", "a.example.org", 80, 0 },   /* no wildcards but the lone "*" */
        { "example.org:", "example.org", 80, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int got = iiifs_proxy_bypass(t[i].list, t[i].host, t[i].port);
        if (got != t[i].bypass)
            fprintf(stderr, "  NO_PROXY '%s' host %s:%u: got %d\n", t[i].list ? t[i].list : "(null)",
                    t[i].host, (unsigned)t[i].port, got);
        CHECK(got == t[i].bypass);
    }
}
