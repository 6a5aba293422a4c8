/* test_view.c — view geometry (crop, mirror, rotation over a level) against
 * a brute-force mapping of every output pixel, for every combination of
 * mirror x rotation x region x scale on small images with uneven tiles. */
#include "unit.h"
#include "view.h"

#include <stdlib.h>
#include <string.h>

/* An info.json as info.c would make it: one tile set at scale factors 1, 2, 4. */
static void make_info(iiifs_info *in, uint64_t w, uint64_t h, uint32_t tw, uint32_t th)
{
    memset(in, 0, sizeof *in);
    in->api = 20;
    in->level = 1;
    in->width = w;
    in->height = h;
    in->feat = IIIFS_F_REGION_PX | IIIFS_F_SIZE_WH;
    in->ntiles = 1;
    in->tiles[0].w = tw;
    in->tiles[0].h = th;
    in->tiles[0].sf[0] = 1;
    in->tiles[0].sf[1] = 2;
    in->tiles[0].sf[2] = 4;
    in->tiles[0].nsf = 3;
}

/* A level pixel's colour: its coordinates, so that any misplaced pixel shows. */
static void colour(uint64_t x, uint64_t y, uint8_t *px)
{
    px[0] = (uint8_t)x;
    px[1] = (uint8_t)y;
    px[2] = (uint8_t)(((x >> 8) & 15) | ((y >> 8) << 4));
}

/* The crop, in level pixels, computed here from the region's definition:
 * floor(x/s) .. ceil((x+w)/s), clipped to the level. */
static void expected_crop(const iiifs_plan *p, const iiifs_region *g, uint64_t c[4])
{
    c[0] = c[1] = 0;
    c[2] = p->out_w;
    c[3] = p->out_h;
    if (g->w <= 0)
        return;
    double x = g->x, y = g->y, w = g->w, h = g->h;
    if (g->pct) {
        x = x * (double)p->W / 100;
        y = y * (double)p->H / 100;
        w = w * (double)p->W / 100;
        h = h * (double)p->H / 100;
    }
    double s = p->s;
    uint64_t x0 = (uint64_t)(x / s), y0 = (uint64_t)(y / s);
    uint64_t x1 = (uint64_t)((x + w) / s), y1 = (uint64_t)((y + h) / s);
    if ((double)x1 < (x + w) / s)
        x1++;
    if ((double)y1 < (y + h) / s)
        y1++;
    x1 = x1 < p->out_w ? x1 : p->out_w;
    y1 = y1 < p->out_h ? y1 : p->out_h;
    c[0] = x0;
    c[1] = y0;
    c[2] = x1 - x0;
    c[3] = y1 - y0;
}

/* The level pixel output pixel (ox, oy) shows: undo the rotation (clockwise),
 * then the mirror, then the crop. */
static void source_of(uint64_t ox, uint64_t oy, const uint64_t c[4], int mirror, int rot,
                      uint64_t *x, uint64_t *y)
{
    uint64_t cw = c[2], ch = c[3], u, v;
    switch (rot) {
    case 90: u = oy; v = ch - 1 - ox; break;
    case 180: u = cw - 1 - ox; v = ch - 1 - oy; break;
    case 270: u = cw - 1 - oy; v = ox; break;
    default: u = ox; v = oy; break;
    }
    if (mirror)
        u = cw - 1 - u;
    *x = c[0] + u;
    *y = c[1] + v;
}

/* Run the view band by band as the scheduler does; compare every pixel and
 * check that every output row is written once and every tile meeting the
 * crop is asked for once. */
static int check_view(const iiifs_plan *p, const iiifs_region *g, int mirror, int rot)
{
    iiifs_view v;
    iiifs_error e = { 0, "" };
    if (iiifs_view_make(&v, p, g, mirror, rot, &e) != 0)
        return 0;
    uint64_t c[4];
    expected_crop(p, g, c);
    uint64_t ow = rot == 90 || rot == 270 ? c[3] : c[2];
    uint64_t oh = rot == 90 || rot == 270 ? c[2] : c[3];
    if (v.ow != ow || v.oh != oh)
        return 0;
    size_t stride = (size_t)ow * 3;
    uint8_t *out = calloc(oh, stride), *band = calloc(v.band_cap, stride);
    uint8_t *rows = calloc(oh, 1), *asked = calloc((size_t)p->cols * p->rows, 1);
    uint8_t *tile = malloc((size_t)p->tw * p->th * 3);
    int ok = out && band && rows && asked && tile;
    for (uint32_t b = 0; ok && b < v.ngroups; b++) {
        uint64_t y0;
        uint32_t h;
        iiifs_view_band_rows(&v, b, &y0, &h);
        ok = h >= 1 && h <= v.band_cap && y0 + h <= oh;
        for (uint32_t k = 0; ok && k < v.gsize; k++) {
            iiifs_tile t;
            iiifs_view_tile(&v, b * v.gsize + k, &t);
            asked[(size_t)t.m * p->cols + t.n]++;
            for (uint32_t yy = 0; yy < t.hs; yy++)
                for (uint32_t xx = 0; xx < t.ws; xx++)
                    colour(t.dest_x + xx, t.dest_y + yy, tile + ((size_t)yy * t.ws + xx) * 3);
            iiifs_view_place(&v, &t, tile, 3, band, stride, b);
        }
        for (uint32_t r = 0; ok && r < h; r++) {
            rows[y0 + r]++;
            memcpy(out + (y0 + r) * stride, band + (size_t)r * stride, stride);
        }
    }
    for (uint64_t y = 0; ok && y < oh; y++)
        ok = rows[y] == 1;
    /* the tiles that meet the crop, each once, and no other */
    for (uint32_t m = 0; ok && m < p->rows; m++)
        for (uint32_t n = 0; ok && n < p->cols; n++) {
            iiifs_tile t;
            iiifs_plan_tile(p, n, m, &t);
            int meets = t.dest_x < c[0] + c[2] && t.dest_x + t.ws > c[0] &&
                        t.dest_y < c[1] + c[3] && t.dest_y + t.hs > c[1];
            ok = asked[(size_t)m * p->cols + n] == (meets ? 1 : 0);
        }
    for (uint64_t oy = 0; ok && oy < oh; oy++)
        for (uint64_t ox = 0; ok && ox < ow; ox++) {
            uint64_t x, y;
            uint8_t want[3];
            source_of(ox, oy, c, mirror, rot, &x, &y);
            colour(x, y, want);
            ok = !memcmp(out + oy * stride + ox * 3, want, 3);
        }
    free(out);
    free(band);
    free(rows);
    free(asked);
    free(tile);
    return ok;
}

TEST(test_view_every_mirror_rotation_region_and_scale_against_brute_force)
{
    static const struct { uint64_t w, h; uint32_t tw, th; } sizes[] = {
        { 37, 23, 8, 8 }, { 64, 48, 16, 16 }, { 50, 71, 16, 8 }, { 9, 9, 16, 16 },
    };
    static const iiifs_region regions[] = {
        { 0, 0, 0, 0, 0 },              /* the whole image */
        { 0, 5, 3, 20, 11 },            /* pixels, off the tile grid */
        { 0, 0, 0, 1, 1 },              /* one pixel */
        { 0, 8, 8, 16, 16 },            /* on the tile grid */
        { 0, 30, 17, 1000, 1000 },      /* past the edges: clipped */
        { 1, 12.5, 33.3, 50, 41.7 },    /* percent */
    };
    static const int rots[] = { 0, 90, 180, 270 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        iiifs_info in;
        make_info(&in, sizes[i].w, sizes[i].h, sizes[i].tw, sizes[i].th);
        for (uint32_t s = 1; s <= 4; s *= 2) {
            iiifs_plan p;
            iiifs_error e = { 0, "" };
            CHECK(iiifs_plan_make(&p, &in, s, &e) == 0);
            for (size_t r = 0; r < sizeof regions / sizeof regions[0]; r++) {
                const iiifs_region *g = &regions[r];
                if (g->w > 0 && !g->pct && (g->x >= (double)in.width || g->y >= (double)in.height))
                    continue;   /* outside this image: refused (tested below) */
                for (int mirror = 0; mirror <= 1; mirror++)
                    for (size_t k = 0; k < 4; k++) {
                        int ok = check_view(&p, g, mirror, rots[k]);
                        if (!ok)
                            fprintf(stderr, "  %llux%llu tiles %ux%u s=%u region %zu mirror %d "
                                    "rotate %d\n", (unsigned long long)in.width,
                                    (unsigned long long)in.height, sizes[i].tw, sizes[i].th, s,
                                    r, mirror, rots[k]);
                        CHECK(ok);
                    }
            }
        }
    }
}

TEST(test_view_identity_only_without_a_view)
{
    iiifs_info in;
    iiifs_plan p;
    iiifs_view v;
    iiifs_error e = { 0, "" };
    iiifs_region none = { 0, 0, 0, 0, 0 }, all = { 0, 0, 0, 37, 23 };
    make_info(&in, 37, 23, 8, 8);
    CHECK(iiifs_plan_make(&p, &in, 1, &e) == 0);
    CHECK(iiifs_view_make(&v, &p, &none, 0, 0, &e) == 0 && v.identity);
    CHECK(iiifs_view_make(&v, &p, &all, 0, 0, &e) == 0 && v.identity);
    CHECK(iiifs_view_make(&v, &p, &none, 1, 0, &e) == 0 && !v.identity);
    CHECK(iiifs_view_make(&v, &p, &none, 0, 180, &e) == 0 && !v.identity);
    CHECK(v.gsize == 5 && v.ngroups == 3 && v.band_cap == 8);
    CHECK(iiifs_view_make(&v, &p, &none, 0, 90, &e) == 0 && v.gsize == 3 && v.ngroups == 5 &&
          v.ow == 23 && v.oh == 37);
}

TEST(test_view_rejects_bad_rotation_and_regions)
{
    iiifs_info in;
    iiifs_plan p;
    iiifs_view v;
    make_info(&in, 37, 23, 8, 8);
    iiifs_error e = { 0, "" };
    CHECK(iiifs_plan_make(&p, &in, 4, &e) == 0);
    iiifs_region none = { 0, 0, 0, 0, 0 }, outside = { 0, 37, 0, 5, 5 };
    iiifs_region pct_outside = { 1, 100, 0, 5, 5 };
    iiifs_error e1 = { 0, "" }, e2 = { 0, "" }, e3 = { 0, "" };
    CHECK(iiifs_view_make(&v, &p, &none, 0, 45, &e1) == IIIFS_E_USAGE && strstr(e1.msg, "45"));
    CHECK(iiifs_view_make(&v, &p, &outside, 0, 0, &e2) == IIIFS_E_USAGE &&
          strstr(e2.msg, "not inside the 37x23 image"));
    CHECK(iiifs_view_make(&v, &p, &pct_outside, 0, 0, &e3) == IIIFS_E_USAGE);
}
