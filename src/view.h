/*
 * view.h — what of the plan's level goes out, and how: pure geometry, no
 * I/O and no allocation.
 *
 * A view is a crop (level pixels, from --region: full-resolution pixels or
 * percent, covering level pixels floor(x/s) .. ceil((x+w)/s)), then a
 * mirror (left-right), then a clockwise rotation: IIIF's order for !n.
 *
 * Tiles are taken in groups, one group per output band, in the order the
 * output's rows need them: tile rows top-down (0) or bottom-up (180); tile
 * columns for 90 and 270 (left to right or right to left, by the mirror).
 * Only the tiles that meet the crop are in a group. The k-th tile of the
 * view is tile k % gsize of band k / gsize.
 */
#ifndef IIIFS_VIEW_H
#define IIIFS_VIEW_H

#include "plan.h"

typedef struct iiifs_view {
    const iiifs_plan *p;            /* the level the tiles come from (not owned) */
    uint64_t cx, cy, cw, chh;       /* the crop, level pixels */
    int mirror, rot;                /* rot: 0, 90, 180, 270 */
    int identity;                   /* none of it: tiles decode in place */
    uint64_t ow, oh;                /* output size */
    uint32_t n0, n1, m0, m1;        /* the tiles that meet the crop: columns, rows */
    uint32_t gsize, ngroups;        /* tiles per band, bands */
    uint32_t band_cap;              /* rows the largest band has */
} iiifs_view;

/* The view of region (w == 0: all), mirror and rotate over plan p (which
 * must outlive v). IIIFS_E_USAGE for a rotation other than 0, 90, 180, 270
 * or a region outside the image or empty at the level. */
int iiifs_view_make(iiifs_view *v, const iiifs_plan *p, const iiifs_region *region,
                    int mirror, int rotate, iiifs_error *e);
/* The plan's tile that is the view's k-th. */
void iiifs_view_tile(const iiifs_view *v, uint32_t k, iiifs_tile *t);
/* Output rows [*y0, *y0 + *h) of band g. */
void iiifs_view_band_rows(const iiifs_view *v, uint32_t g, uint64_t *y0, uint32_t *h);
/* Copy the part of decoded tile t (src: t->ws x t->hs, ch samples a pixel)
 * that lies inside the crop into band g (rows stride bytes apart),
 * mirrored and turned. */
void iiifs_view_place(const iiifs_view *v, const iiifs_tile *t, const uint8_t *src, int ch,
                      uint8_t *band, size_t stride, uint32_t g);

#endif
