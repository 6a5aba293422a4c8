/*
 * plan.h — pure arithmetic, no I/O: from a normalised info.json and a scale
 * factor, the tile grid, each tile's region and expected size, where it
 * lands in the output, and its request URL (IIIF digest §4.1–§4.3).
 */
#ifndef IIIFS_PLAN_H
#define IIIFS_PLAN_H

#include "info.h"

typedef struct iiifs_plan {
    uint64_t W, H;              /* full image, full-resolution pixels */
    uint32_t s;                 /* scale factor */
    uint32_t tw, th;            /* tile size in output pixels */
    uint32_t cols, rows;
    uint64_t out_w, out_h;      /* ceil(W/s), ceil(H/s) */
    int api;
    int size_wh;                /* size as "w,h" (else "w,") */
    int own_tiles;              /* no usable tile set: the tile size is ours */
    const char *quality;        /* "default", or "native" for Image API 1.x */
    int preset;                 /* level 0 with preset sizes only: one request, region
                                   full, the largest size (tw x th, maybe below W x H) */
} iiifs_plan;

typedef struct iiifs_tile {
    uint32_t n, m;              /* column, row */
    uint64_t xr, yr, wr, hr;    /* region, full-resolution pixels */
    uint32_t ws, hs;            /* expected decoded size */
    uint64_t dest_x, dest_y;    /* top-left in the output */
} iiifs_tile;

#ifndef IIIFS_OWN_TILE
#define IIIFS_OWN_TILE 512u     /* tile side when the server declares none */
#endif

int iiifs_plan_make(iiifs_plan *p, const iiifs_info *info, uint32_t scale, iiifs_error *e);
/* The scale factor to fetch (§4.1): 'want' when given (it must be listed in
 * a tile set, or any factor for a server without tile sets that takes pixel
 * regions); else the smallest listed factor whose level fits max_w x max_h
 * (0: no limit); else 1. IIIFS_E_USAGE naming what is available. */
int iiifs_plan_pick_scale(const iiifs_info *info, uint32_t want, uint64_t max_w, uint64_t max_h,
                          uint32_t *s, iiifs_error *e);
/* Ask for regions of w x h full-resolution pixels at scale factor 1 instead
 * of the advertised tiles; the server must accept pixel regions (level >= 1). */
int iiifs_plan_regions(iiifs_plan *p, const iiifs_info *info, uint32_t w, uint32_t h,
                       iiifs_error *e);
void iiifs_plan_tile(const iiifs_plan *p, uint32_t n, uint32_t m, iiifs_tile *t);
/* Does tile t cover the whole image (the region IIIF calls "full")? */
int iiifs_plan_tile_is_whole(const iiifs_plan *p, const iiifs_tile *t);
int iiifs_plan_url(const iiifs_plan *p, const char *base, const iiifs_tile *t, char *out,
                   size_t cap);

/* The other URL forms of the fallback ladder (digest §4.4), each tried when
 * the one before is missing (400, 404, 501). */
typedef struct iiifs_form {
    int other_size;             /* "w," <-> "w,h" */
    int size_keyword;           /* an unscaled tile's size as "full" (v2) or "max" (v3) */
    int box;                    /* the whole image's region as 0,0,W,H, not full */
    int other_quality;          /* "native" for 2.x and 3.0, "default" for 1.x */
    int trailing_comma;         /* v3 "w,h," (libvips 8.12.0-8.12.1 trees) */
} iiifs_form;

int iiifs_plan_url_form(const iiifs_plan *p, const char *base, const iiifs_tile *t,
                        const iiifs_form *f, char *out, size_t cap);

#endif
