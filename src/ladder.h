/*
 * ladder.h — which URL form each class of tile answers to (digest §4.4).
 *
 * Tiles fall in five classes: interior, last column, last row, corner, and
 * the whole image. The first tile of a class that is missing (400, 404,
 * 501, or no such file in a local tree) is asked for again in the other
 * forms, in order: the other size form (w, <-> w,h), the full-size keyword
 * (full, v3 max) for an unscaled tile, the box 0,0,W,H for the whole image,
 * the other quality (native; default for 1.x), the fetched URL's base when
 * the declared id was used, and for v3 level 0 a trailing comma (w,h,). The
 * first that answers is kept for the class (a note says which); later tiles
 * of the class use it and nothing else. 401, 403, 429, 5xx and network
 * failures never climb the ladder: they are access or load problems, and
 * the caller's retries handle the transient ones. When every form is
 * missing, the error names the first URL and how many other forms were
 * tried. Safe to use from several threads.
 */
#ifndef IIIFS_LADDER_H
#define IIIFS_LADDER_H

#include "fetch.h"
#include "info.h"
#include "plan.h"

#define IIIFS_CLASSES 5                 /* interior, last column, last row, corner, whole */
#define IIIFS_LADDER_RUNGS 7            /* digest §4.4 steps 1-7 */

typedef struct iiifs_ladder {
    const iiifs_plan *p;            /* not owned */
    const iiifs_info *info;
    port_mutex *mu;                 /* guards the rest */
    int learned[IIIFS_CLASSES];     /* a form answered for this class */
    iiifs_form form[IIIFS_CLASSES];
    int alt_base[IIIFS_CLASSES];
} iiifs_ladder;

int iiifs_ladder_init(iiifs_ladder *l, const iiifs_plan *p, const iiifs_info *info,
                      iiifs_error *e);
void iiifs_ladder_free(iiifs_ladder *l);
/* Fetch tile t once through f (iiifs_fetch_once) into b; url gets the URL
 * asked for last, r what came. When this tile taught its class a form other
 * than the first, note (note_cap bytes) says so; else note is "". */
int iiifs_ladder_fetch(iiifs_ladder *l, iiifs_fetcher *f, const iiifs_tile *t, iiifs_buf *b,
                       iiifs_response *r, char *url, size_t cap, char *note, size_t note_cap,
                       iiifs_error *e);

#endif
