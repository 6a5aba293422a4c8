/* test_info.c — info.json normalisation on our own documents and on every
 * info-*.json in ../shared/fixtures when that folder exists. */
#define _DEFAULT_SOURCE
#include "unit.h"
#include "info.h"
#include "port.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static int parse(iiifs_info *info, const char *js, const char *from)
{
    iiifs_error e = { 0, "" };
    int rc = iiifs_info_parse(info, js, strlen(js), from, &e);
    if (rc)
        fprintf(stderr, "  %s\n", e.msg);
    return rc;
}

TEST(test_info_v2_dzsave_level0)
{
    const char *js = "\xEF\xBB\xBF {\"@context\":\"http://iiif.io/api/image/2/context.json\","
                     "\"@id\":\"https://example.com/iiif/img\",\"profile\":[\"http://iiif.io/api/image/2/level0.json\","
                     "{\"formats\":[\"jpg\"],\"qualities\":[\"default\"]}],\"protocol\":\"http://iiif.io/api/image\","
                     "\"tiles\":[{\"scaleFactors\":[16,8,4,2,1,2],\"width\":256}],\"width\":7216,\"height\":5412}";
    iiifs_info i;
    CHECK(parse(&i, js, "http://127.0.0.1:8080/trees/img/info.json") == 0);
    CHECK(i.api == 20 && i.level == 0 && i.width == 7216 && i.height == 5412);
    CHECK(i.ntiles == 1 && i.tiles[0].w == 256 && i.tiles[0].h == 256 && i.tiles[0].nsf == 5);
    CHECK(i.tiles[0].sf[0] == 1 && i.tiles[0].sf[4] == 16);
    CHECK(!(i.feat & IIIFS_F_SIZE_WH));
    /* example.com id: tiles come from where the document was fetched */
    CHECK(!strcmp(i.base, "http://127.0.0.1:8080/trees/img") && i.base_is_fetched);
}

TEST(test_info_v3_level2_limits)
{
    const char *js = "{\"@context\":[\"http://iiif.io/api/extension/x.json\",\"http://iiif.io/api/image/3/context.json\"],"
                     "\"id\":\"https://iiif.example.org/img/a%2Fb/\",\"type\":\"ImageService3\",\"profile\":\"level2\","
                     "\"width\":\"62651\",\"height\":1500.0,\"maxWidth\":1200,\"maxArea\":1000000,"
                     "\"tiles\":[{\"width\":512,\"height\":1024,\"scaleFactors\":[1,2]}],"
                     "\"service\":[{\"@id\":\"https://x/auth\",\"profile\":\"http://iiif.io/api/auth/1/login\"}]}";
    iiifs_info i;
    CHECK(parse(&i, js, "https://iiif.example.org/img/a%2Fb/info.json") == 0);
    CHECK(i.api == 30 && i.level == 2 && i.width == 62651 && i.height == 1500);
    CHECK(i.max_w == 1200 && i.max_h == 1200 && i.max_area == 1000000);
    CHECK(i.tiles[0].w == 512 && i.tiles[0].h == 1024);
    CHECK(i.has_auth && (i.feat & IIIFS_F_SIZE_WH) && (i.feat & IIIFS_F_REGION_PX));
    CHECK(!strcmp(i.id, "https://iiif.example.org/img/a%2Fb")); /* one '/' dropped, %2F kept */
}

TEST(test_info_v1_scale_factors_unsorted)
{
    const char *js = "{\"identifier\":\"x\",\"width\":1000,\"height\":800,\"tile_width\":256,"
                     "\"scale_factors\":[6,1,3,2,0,-1],\"profile\":\"http://library.stanford.edu/iiif/image-api/compliance.html#level1\"}";
    iiifs_info i;
    CHECK(parse(&i, js, "http://h/iiif/x/info.json") == 0);
    CHECK(i.api == 10 && i.level == 1 && i.tiles[0].nsf == 4 && i.tiles[0].sf[3] == 6);
    CHECK(!strcmp(i.base, "http://h/iiif/x"));
}

TEST(test_info_rejects_non_iiif)
{
    static const char *const bad[] = { "<!DOCTYPE html><html>", "{\"width\":10}", "{\"a\":1",
                                       "", "[1,2]", "{\"width\":10,\"height\":10} x" };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        iiifs_info i;
        iiifs_error e = { 0, "" };
        int rc = iiifs_info_parse(&i, bad[k], strlen(bad[k]), "http://h/info.json", &e);
        CHECK(rc == IIIFS_E_JSON || rc == IIIFS_E_IIIF);
        CHECK(strstr(e.msg, "http://h/info.json") != NULL);
    }
    CHECK(port_mem_current() == 0);
}

TEST(test_info_base_uri_rules)
{
    static const char *const t[][3] = {
        /* declared id, fetched URL, base wanted (digest §7.3) */
        { "https://iiif.org/a", "https://iiif.org/a/info.json", "https://iiif.org/a" },
        { "http://iiif.org/a", "https://iiif.org/a/info.json", "https://iiif.org/a" },
        { "http://localhost:8182/iiif/2/a", "https://real.org/iiif/2/a/info.json", "https://real.org/iiif/2/a" },
        { "http://10.0.0.5/a", "https://real.org/a/info.json", "https://real.org/a" },
        { "DSC03389", "http://h/s/DSC03389/info.json", "http://h/s/DSC03389" },
        { "https://cdn.org/iipsrv.fcgi?IIIF=/a.tif", "https://h.org/x/info.json", "https://cdn.org/iipsrv.fcgi?IIIF=/a.tif" },
        /* an id in the query (iipsrv's fcgi?IIIF= form) on a local address: the fetched
         * URL less "/info.json", its query kept */
        { "http://127.0.0.1:8080/fcgi-bin/iipsrv.fcgi?IIIF=a.tif",
          "http://127.0.0.1:8080/fcgi-bin/iipsrv.fcgi?IIIF=a.tif/info.json",
          "http://127.0.0.1:8080/fcgi-bin/iipsrv.fcgi?IIIF=a.tif" },
        { "http://localhost/iipsrv.fcgi?IIIF=/d/a.tif", "https://h.org/iipsrv.fcgi?IIIF=/d/a.tif/info.json#x",
          "https://h.org/iipsrv.fcgi?IIIF=/d/a.tif" },
        /* a query on the info.json request itself is not part of the base */
        { "http://localhost/a", "https://h.org/a/info.json?token=1", "https://h.org/a" },
        { "http://localhost/a", "https://h.org/a/?x=1", "https://h.org/a" },
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        char js[512];
        snprintf(js, sizeof js, "{\"@context\":\"http://iiif.io/api/image/2/context.json\","
                 "\"@id\":\"%s\",\"width\":5,\"height\":5,\"profile\":[\"level1\"]}", t[k][0]);
        iiifs_info i;
        CHECK(parse(&i, js, t[k][1]) == 0);
        if (strcmp(i.base, t[k][2]))
            fprintf(stderr, "  base for %s via %s = %s\n", t[k][0], t[k][1], i.base);
        CHECK(!strcmp(i.base, t[k][2]));
        /* the ladder's last resort: the fetched URL's base, when the declared id
         * is kept and differs from it */
        const char *alt = k == 5 ? "https://h.org/x" : "";
        if (strcmp(i.alt_base, alt))
            fprintf(stderr, "  alt base for %s via %s = '%s'\n", t[k][0], t[k][1], i.alt_base);
        CHECK(!strcmp(i.alt_base, alt));
    }
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

TEST(test_info_shared_fixtures_all_parse)
{
    const char *dir = unit_shared_fixtures();
    DIR *d = opendir(dir);
    if (!d)
        UNIT_SKIP_SHARED(dir);
    int seen = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "info-", 5) || !strstr(de->d_name, ".json"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t n = 0;
        char *js = slurp(path, &n);
        CHECK(js != NULL);
        if (!js)
            continue;
        iiifs_info i;
        iiifs_error e = { 0, "" };
        int rc = iiifs_info_parse(&i, js, n, "https://fixture.test/iiif/x/info.json", &e);
        if (rc)
            fprintf(stderr, "  %s: %s\n", de->d_name, e.msg);
        CHECK(rc == 0);
        CHECK(i.width > 0 && i.height > 0 && i.base[0]);
        /* the version in the file name is the one detected */
        int want = de->d_name[6] == '1' ? (de->d_name[8] == '0' ? 10 : 11) : (de->d_name[6] - '0') * 10;
        if (i.api != want)
            fprintf(stderr, "  %s: api %d, want %d\n", de->d_name, i.api, want);
        CHECK(i.api == want);
        seen++;
    }
    closedir(d);
    CHECK(seen >= 20);
}
