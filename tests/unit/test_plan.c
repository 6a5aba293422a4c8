/* test_plan.c — the grid arithmetic on every row of the digest's worked
 * examples table (§4.2), and the URL forms of §4.3. */
#include "unit.h"
#include "plan.h"
#include <string.h>

static void info_for(iiifs_info *i, int api, int level, uint64_t w, uint64_t h, uint32_t tile)
{
    memset(i, 0, sizeof *i);
    i->api = api;
    i->level = level;
    i->width = w;
    i->height = h;
    i->ntiles = 1;
    i->tiles[0].w = i->tiles[0].h = tile;
    for (int k = 0; k < 6; k++)
        i->tiles[0].sf[k] = 1u << k;
    i->tiles[0].nsf = 6;
    if (level >= 1)
        i->feat |= IIIFS_F_REGION_PX;
    strcpy(i->base, "http://h/x");
}

TEST(test_plan_digest_worked_examples)
{
    static const struct {
        uint64_t W, H; uint32_t tile, s, n, m; const char *region, *size;
    } t[] = {
        { 3509, 2506, 512, 1, 6, 4, "3072,2048,437,458", "437,458" },
        { 3509, 2506, 512, 4, 1, 1, "2048,2048,1461,458", "366,115" },
        { 3509, 2506, 512, 8, 0, 0, "full", "439,314" },
        { 3073, 3073, 256, 2, 6, 0, "3072,0,1,512", "1,256" },
        { 3073, 3073, 256, 8, 1, 1, "2048,2048,1025,1025", "129,129" },
        { 2000, 1271, 512, 2, 1, 1, "1024,1024,976,247", "488,124" },
        { 775, 1024, 256, 2, 1, 0, "512,0,263,512", "132,256" },
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        iiifs_info i;
        iiifs_plan p;
        iiifs_tile tile;
        iiifs_error e = { 0, "" };
        info_for(&i, 30, 0, t[k].W, t[k].H, t[k].tile);
        CHECK(iiifs_plan_make(&p, &i, t[k].s, &e) == 0);
        iiifs_plan_tile(&p, t[k].n, t[k].m, &tile);
        char url[256], want[256];
        iiifs_plan_url(&p, i.base, &tile, url, sizeof url);
        snprintf(want, sizeof want, "http://h/x/%s/%s/0/default.jpg", t[k].region, t[k].size);
        if (strcmp(url, want))
            fprintf(stderr, "  row %zu: %s, want %s\n", k, url, want);
        CHECK(!strcmp(url, want));
        CHECK(tile.dest_x == (uint64_t)t[k].n * t[k].tile && tile.dest_y == (uint64_t)t[k].m * t[k].tile);
    }
    /* the last tile of the first row is (cols-1); the grid covers exactly */
    iiifs_info i;
    iiifs_plan p;
    iiifs_error e = { 0, "" };
    info_for(&i, 20, 0, 7216, 5412, 256);
    CHECK(iiifs_plan_make(&p, &i, 1, &e) == 0);
    CHECK(p.cols == 29 && p.rows == 22 && p.out_w == 7216 && p.out_h == 5412);
}

TEST(test_plan_url_forms)
{
    iiifs_info i;
    iiifs_plan p;
    iiifs_tile t;
    iiifs_error e = { 0, "" };
    char url[256];
    info_for(&i, 20, 0, 1001, 777, 256); /* v2 level 0: w, */
    CHECK(iiifs_plan_make(&p, &i, 1, &e) == 0);
    iiifs_plan_tile(&p, 3, 3, &t);
    iiifs_plan_url(&p, i.base, &t, url, sizeof url);
    CHECK(!strcmp(url, "http://h/x/768,768,233,9/233,/0/default.jpg"));
    info_for(&i, 20, 2, 1001, 777, 256); /* v2 level 2: w,h */
    i.feat |= IIIFS_F_SIZE_WH;
    CHECK(iiifs_plan_make(&p, &i, 1, &e) == 0);
    iiifs_plan_url(&p, i.base, &t, url, sizeof url);
    CHECK(!strcmp(url, "http://h/x/768,768,233,9/233,9/0/default.jpg"));
    info_for(&i, 11, 1, 1001, 777, 256); /* v1.1: native */
    CHECK(iiifs_plan_make(&p, &i, 1, &e) == 0);
    iiifs_plan_url(&p, i.base, &t, url, sizeof url);
    CHECK(!strcmp(url, "http://h/x/768,768,233,9/233,/0/native.jpg"));
    /* level 0 with no tiles at all cannot be tiled */
    info_for(&i, 20, 0, 1001, 777, 256);
    i.ntiles = 0;
    CHECK(iiifs_plan_make(&p, &i, 1, &e) == IIIFS_E_IIIF);
    /* level 1 without tiles: our own 512-px tiles, shrunk to maxWidth */
    e.code = 0;
    info_for(&i, 20, 1, 1001, 777, 256);
    i.ntiles = 0;
    i.max_w = i.max_h = 300;
    CHECK(iiifs_plan_make(&p, &i, 1, &e) == 0 && p.own_tiles && p.tw == 256);
}

TEST(test_plan_pick_scale)
{
    iiifs_info i;
    iiifs_error e = { 0, "" };
    uint32_t s = 0;
    info_for(&i, 20, 1, 7216, 5412, 256);         /* factors 1..32 */
    CHECK(iiifs_plan_pick_scale(&i, 0, 0, 0, &s, &e) == 0 && s == 1);
    CHECK(iiifs_plan_pick_scale(&i, 4, 0, 0, &s, &e) == 0 && s == 4);
    /* 7216/4 = 1804 > 1500; 7216/8 = 902 fits */
    CHECK(iiifs_plan_pick_scale(&i, 0, 1500, 0, &s, &e) == 0 && s == 8);
    /* 5412/2 = 2706 fits a height of 2706 exactly */
    CHECK(iiifs_plan_pick_scale(&i, 0, 0, 2706, &s, &e) == 0 && s == 2);
    CHECK(iiifs_plan_pick_scale(&i, 0, 7216, 5412, &s, &e) == 0 && s == 1);
    CHECK(iiifs_plan_pick_scale(&i, 3, 0, 0, &s, &e) == IIIFS_E_USAGE);
    CHECK(strstr(e.msg, "--scale 3") && strstr(e.msg, "1, 2, 4, 8, 16, 32"));
    e.code = 0;
    CHECK(iiifs_plan_pick_scale(&i, 0, 100, 0, &s, &e) == IIIFS_E_USAGE);
    CHECK(strstr(e.msg, "smallest is 226x170 (scale factor 32)"));
    e.code = 0;

    /* two tile sets: the factors of both, in order */
    i.ntiles = 2;
    i.tiles[1].w = 1024;
    i.tiles[1].h = 2048;
    i.tiles[0].nsf = 3;                           /* 1, 2, 4 */
    i.tiles[1].sf[0] = 8;
    i.tiles[1].sf[1] = 16;
    i.tiles[1].nsf = 2;
    CHECK(iiifs_plan_pick_scale(&i, 0, 1000, 0, &s, &e) == 0 && s == 8);
    CHECK(iiifs_plan_pick_scale(&i, 32, 0, 0, &s, &e) == IIIFS_E_USAGE);
    CHECK(strstr(e.msg, "1, 2, 4, 8, 16"));
    e.code = 0;

    /* no tile sets, level 1: any factor; powers of two for a size limit */
    i.ntiles = 0;
    CHECK(iiifs_plan_pick_scale(&i, 3, 0, 0, &s, &e) == 0 && s == 3);
    CHECK(iiifs_plan_pick_scale(&i, 0, 2000, 2000, &s, &e) == 0 && s == 4);
}
