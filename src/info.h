/*
 * info.h — an IIIF image information document (info.json), any version
 * (Image API 1.0, 1.1, 2.x, 3.0), normalised into one struct following the
 * IIIF digest §1 (version detection), §2 (fields, profiles, limits) and
 * §7.3 (which base URI to use for tiles).
 */
#ifndef IIIFS_INFO_H
#define IIIFS_INFO_H

#include "util.h"

#ifndef IIIFS_TILESETS_MAX
#define IIIFS_TILESETS_MAX 8
#endif
#ifndef IIIFS_SCALE_FACTORS_MAX
#define IIIFS_SCALE_FACTORS_MAX 32
#endif
#ifndef IIIFS_SIZES_MAX
#define IIIFS_SIZES_MAX 64
#endif

enum {
    IIIFS_F_REGION_PX = 1u << 0,    /* x,y,w,h regions */
    IIIFS_F_SIZE_WH = 1u << 1,      /* w,h sizes */
    IIIFS_F_SIZE_MAX = 1u << 2      /* the max keyword (v2.1+, v3) */
};

typedef struct iiifs_tileset {
    uint32_t w, h;                  /* h == w when the document omits it */
    uint32_t sf[IIIFS_SCALE_FACTORS_MAX];   /* ascending, unique, >= 1 */
    int nsf;
} iiifs_tileset;

typedef struct iiifs_info {
    int api;                        /* 10, 11, 20, 30 */
    int level;                      /* 0, 1, 2 */
    uint64_t width, height;
    iiifs_tileset tiles[IIIFS_TILESETS_MAX];
    int ntiles;
    struct { uint32_t w, h; } sizes[IIIFS_SIZES_MAX];
    int nsizes;
    uint64_t max_w, max_h, max_area;   /* 0 = no declared limit */
    unsigned feat;                  /* IIIFS_F_* */
    int has_auth;                   /* an IIIF Auth service is declared */
    char id[IIIFS_URL_MAX];         /* declared id, unescaped, one trailing '/' dropped */
    char base[IIIFS_URL_MAX];       /* base URI chosen for image requests */
    int base_is_fetched;            /* base came from the fetched URL, not the id */
    char alt_base[IIIFS_URL_MAX];   /* the fetched URL's base when base is the declared
                                       id and differs from it (§7.3, §4.4 step 6); or "" */
} iiifs_info;

/* Parse an info.json body. fetched is where it was read from (final URL
 * after redirects, or a local path): it names the document in messages and
 * is the fallback base URI. */
int iiifs_info_parse(iiifs_info *info, const char *js, size_t len, const char *fetched,
                     iiifs_error *e);

/* The fetched URL minus "/info.json" (ending the path: a query after it is
 * dropped; ending the query, as in "fcgi?IIIF=id/info.json": the query stays),
 * else minus its query and one trailing '/'. */
int iiifs_info_fetched_base(const char *fetched, char *out, size_t cap);

#endif
