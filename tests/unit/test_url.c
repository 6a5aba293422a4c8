/* test_url.c — URL parsing and RFC 3986 §5.4 reference resolution. */
#include "unit.h"
#include "url.h"
#include <string.h>

static int resolves(const char *base, const char *ref, const char *want)
{
    char out[IIIFS_URL_MAX];
    if (iiifs_url_resolve(base, ref, out, sizeof out) != 0)
        return 0;
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "  resolve(%s, %s) = %s, want %s\n", base, ref, out, want);
        return 0;
    }
    return 1;
}

TEST(test_url_resolves_rfc3986_normal_examples)
{
    static const char *const t[][2] = {
        { "g:h", "g:h" }, { "g", "http://a/b/c/g" }, { "./g", "http://a/b/c/g" },
        { "g/", "http://a/b/c/g/" }, { "/g", "http://a/g" }, { "//g", "http://g" },
        { "?y", "http://a/b/c/d;p?y" }, { "g?y", "http://a/b/c/g?y" },
        { "#s", "http://a/b/c/d;p?q" }, { "g#s", "http://a/b/c/g" }, { ";x", "http://a/b/c/;x" },
        { "g;x", "http://a/b/c/g;x" }, { "", "http://a/b/c/d;p?q" }, { ".", "http://a/b/c/" },
        { "./", "http://a/b/c/" }, { "..", "http://a/b/" }, { "../", "http://a/b/" },
        { "../g", "http://a/b/g" }, { "../..", "http://a/" }, { "../../", "http://a/" },
        { "../../g", "http://a/g" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK(resolves("http://a/b/c/d;p?q", t[i][0], t[i][1]));
}

TEST(test_url_resolves_protocol_relative_and_abnormal)
{
    CHECK(resolves("http://a/b/c/d;p?q", "../../../g", "http://a/g"));
    CHECK(resolves("http://a/b/c/d;p?q", "/./g", "http://a/g"));
    CHECK(resolves("http://a/b/c/d;p?q", "/../g", "http://a/g"));
    CHECK(resolves("http://a/b/c/d;p?q", "g.", "http://a/b/c/g."));
    CHECK(resolves("http://a/b/c/d;p?q", "./g/.", "http://a/b/c/g/"));
    CHECK(resolves("http://a/b/c/d;p?q", "g/../h", "http://a/b/c/h"));
    /* iipsrv answers a base URI with 303 Location: //host/path/info.json */
    CHECK(resolves("https://x.org:8443/iiif/img", "//x.org:8443/iiif/img/info.json",
                   "https://x.org:8443/iiif/img/info.json"));
    CHECK(resolves("http://h/iipsrv.fcgi?IIIF=/a/b.tif", "b.tif/info.json",
                   "http://h/b.tif/info.json"));
}

TEST(test_url_parse_rejects_bad_input)
{
    static const char *const bad[] = { "ftp://h/x", "http://", "http:///x", "http://h:0/",
                                       "http://h:65536/", "http://h:8x/", "http://u:p@h/",
                                       "http://[::1/", "h/x", "http://h h/" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iiifs_url u;
        iiifs_error e = { 0, "" };
        CHECK(iiifs_url_parse(&u, bad[i], &e) == IIIFS_E_URL);
        CHECK(strstr(e.msg, "bad URL") != NULL);
    }
}

TEST(test_url_parse_escapes_request_line_bytes)
{
    iiifs_url u;
    iiifs_error e = { 0, "" };
    CHECK(iiifs_url_parse(&u, "HTTPS://[::1]:8443/Ch\xc3\xa2teauroux/a%2Fb c?IIIF=/x.tif#f", &e) == 0);
    CHECK(u.https && u.port == 8443 && !strcmp(u.host, "::1"));
    CHECK(!strcmp(u.target, "/Ch%C3%A2teauroux/a%2Fb%20c?IIIF=/x.tif"));
    CHECK(iiifs_url_parse(&u, "http://h.org?x=1", &e) == 0);
    CHECK(!strcmp(u.target, "/?x=1") && u.port == 80);
}

TEST(test_url_escape_id_as_one_path_segment)
{
    static const char *const t[][2] = {
        { "ark:/12148/btv1b8449691v/f11", "ark:%2F12148%2Fbtv1b8449691v%2Ff11" },
        { "a b%20c", "a%20b%2520c" },                 /* a bare id: its '%' is data */
        { "q?x#y[0]", "q%3Fx%23y%5B0%5D" },
        { "id;1:2,x=y~z_-.!$&'()*+@", "id;1:2,x=y~z_-.!$&'()*+@" }, /* pchar stays */
        { "caf\xC3\xA9\\\"<>^`{|}", "caf%C3%A9%5C%22%3C%3E%5E%60%7B%7C%7D" },
        { "\x01\x7f", "%01%7F" },
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        char out[128] = "base/";
        size_t len = 5;
        CHECK(iiifs_url_escape_id(t[k][0], strlen(t[k][0]), out, sizeof out, &len) == 0);
        if (strcmp(out + 5, t[k][1]))
            fprintf(stderr, "  escape(%s) = %s, want %s\n", t[k][0], out + 5, t[k][1]);
        CHECK(!strcmp(out + 5, t[k][1]) && len == strlen(out));
    }
    char small[8];
    size_t len = 0;
    CHECK(iiifs_url_escape_id("abcdef", 6, small, sizeof small, &len) == 0 && len == 6);
    len = 0;
    CHECK(iiifs_url_escape_id("abcde/", 6, small, sizeof small, &len) == IIIFS_E_LIMIT);
}
