/*
 * plan.c — see plan.h. All arithmetic in uint64_t, ceil not round (§4.2:
 * with round a 1-px remainder at s >= 3 gives a zero-width tile).
 */
#include "plan.h"

#include <string.h>

static int fits(const iiifs_info *info, uint64_t w, uint64_t h)
{
    return (!info->max_w || w <= info->max_w) && (!info->max_h || h <= info->max_h) &&
           (!info->max_area || w * h <= info->max_area) && w <= IIIFS_TILE_SIDE_MAX &&
           h <= IIIFS_TILE_SIDE_MAX;
}

int iiifs_plan_make(iiifs_plan *p, const iiifs_info *info, uint32_t s, iiifs_error *e)
{
    memset(p, 0, sizeof *p);
    if (s < 1)
        return iiifs_fail(e, IIIFS_E_USAGE, "scale factor must be at least 1");
    p->W = info->width;
    p->H = info->height;
    p->s = s;
    p->api = info->api;
    int region_px = (info->feat & IIIFS_F_REGION_PX) != 0;

    const iiifs_tileset *ts = NULL;
    for (int i = 0; i < info->ntiles && !ts; i++)
        for (int k = 0; k < info->tiles[i].nsf; k++)
            if (info->tiles[i].sf[k] == s) {
                ts = &info->tiles[i];
                break;
            }
    if (ts) {
        p->tw = ts->w;
        p->th = ts->h;
    } else if (region_px) {
        /* §4.6: no tiles (or none at this scale): choose our own. */
        p->tw = p->th = IIIFS_OWN_TILE;
        p->own_tiles = 1;
    } else if (info->nsizes && s == 1) {
        /* §4.6: level 0 with preset sizes only: the largest, region full. */
        int best = 0;
        for (int i = 1; i < info->nsizes; i++)
            if ((uint64_t)info->sizes[i].w * info->sizes[i].h >
                (uint64_t)info->sizes[best].w * info->sizes[best].h)
                best = i;
        p->preset = 1;
        p->tw = info->sizes[best].w;
        p->th = info->sizes[best].h;
    } else {
        return iiifs_fail(e, IIIFS_E_IIIF,
                          "level-%d service lists no tiles at scale factor %u%s", info->level, s,
                          info->nsizes ? " (it offers preset sizes only)" : "");
    }
    /* §2.4: a declared tile that breaks a declared limit is shrunk, where the
     * server accepts arbitrary regions. */
    while (!fits(info, p->tw, p->th) && region_px && p->tw > 16 && p->th > 16) {
        p->tw = (p->tw + 1) / 2;
        p->th = (p->th + 1) / 2;
        p->own_tiles = 1;
    }
    if (p->tw > IIIFS_TILE_SIDE_MAX || p->th > IIIFS_TILE_SIDE_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "tiles of %ux%u exceed the cap of %u px a side",
                          p->tw, p->th, IIIFS_TILE_SIDE_MAX);

    if (p->preset) {                /* one request, whatever its size */
        p->cols = p->rows = 1;
        p->out_w = p->tw;
        p->out_h = p->th;
    } else {
        uint64_t span_x = (uint64_t)p->tw * s, span_y = (uint64_t)p->th * s;
        p->cols = (uint32_t)IIIFS_CEIL_DIV(p->W, span_x);
        p->rows = (uint32_t)IIIFS_CEIL_DIV(p->H, span_y);
        p->out_w = IIIFS_CEIL_DIV(p->W, s);
        p->out_h = IIIFS_CEIL_DIV(p->H, s);
    }

    /* §4.3: w,h where the server must accept it; w, everywhere else. */
    if (p->api == 30)
        p->size_wh = 1;
    else if (p->api == 20)
        p->size_wh = info->level >= 1 && (info->feat & IIIFS_F_SIZE_WH);
    else
        p->size_wh = 0;
    p->quality = p->api < 20 ? "native" : "default";
    return 0;
}

/* Every scale factor the tile sets list, ascending; our own powers of two
 * (up to the image) for a server without tile sets that takes regions. */
static int listed_factors(const iiifs_info *info, uint32_t *out, int cap)
{
    int n = 0;
    if (info->ntiles == 0 && (info->feat & IIIFS_F_REGION_PX)) {
        for (uint64_t s = 1; n < cap; s *= 2) {
            out[n++] = (uint32_t)s;
            if (s >= info->width && s >= info->height)
                break;
        }
        return n;
    }
    for (int i = 0; i < info->ntiles; i++)
        for (int k = 0; k < info->tiles[i].nsf; k++) {
            uint32_t f = info->tiles[i].sf[k];
            int at = 0;
            while (at < n && out[at] < f)
                at++;
            if ((at < n && out[at] == f) || n == cap)
                continue;
            memmove(out + at + 1, out + at, (size_t)(n - at) * sizeof *out);
            out[at] = f;
            n++;
        }
    return n;
}

int iiifs_plan_pick_scale(const iiifs_info *info, uint32_t want, uint64_t max_w, uint64_t max_h,
                          uint32_t *s, iiifs_error *e)
{
    uint32_t f[IIIFS_TILESETS_MAX * IIIFS_SCALE_FACTORS_MAX];
    int n = listed_factors(info, f, (int)(sizeof f / sizeof f[0]));
    char list[256];
    size_t at = 0;
    list[0] = 0;
    for (int i = 0; i < n && at + 16 < sizeof list; i++) {
        iiifs_format(list + at, sizeof list - at, "%s%u", i ? ", " : "", f[i]);
        at += strlen(list + at);
    }
    *s = 1;
    if (want) {
        for (int i = 0; i < n; i++)
            if (f[i] == want) {
                *s = want;
                return 0;
            }
        if (info->ntiles == 0 && (info->feat & IIIFS_F_REGION_PX)) {
            *s = want;
            return 0;
        }
        return iiifs_fail(e, IIIFS_E_USAGE, "--scale %u is not a scale factor of this image "
                          "(it lists %s)", want, n ? list : "none");
    }
    if (!max_w && !max_h)
        return 0;
    for (int i = 0; i < n; i++) {
        uint64_t w = IIIFS_CEIL_DIV(info->width, f[i]), h = IIIFS_CEIL_DIV(info->height, f[i]);
        if ((!max_w || w <= max_w) && (!max_h || h <= max_h)) {
            *s = f[i];
            return 0;
        }
    }
    uint32_t last = n ? f[n - 1] : 1;
    return iiifs_fail(e, IIIFS_E_USAGE, "no level of this image fits %llux%llu: the smallest "
                      "is %llux%llu (scale factor %u)", (unsigned long long)max_w,
                      (unsigned long long)max_h,
                      (unsigned long long)IIIFS_CEIL_DIV(info->width, last),
                      (unsigned long long)IIIFS_CEIL_DIV(info->height, last), last);
}

int iiifs_plan_regions(iiifs_plan *p, const iiifs_info *info, uint32_t w, uint32_t h,
                       iiifs_error *e)
{
    int rc = iiifs_plan_make(p, info, 1, e);
    if (rc)
        return rc;
    if (!(info->feat & IIIFS_F_REGION_PX))
        return iiifs_fail(e, IIIFS_E_IIIF,
                          "the server does not accept pixel regions (level %d): cannot "
                          "request %ux%u regions", info->level, w, h);
    if (w < 1 || h < 1 || w > IIIFS_TILE_SIDE_MAX || h > IIIFS_TILE_SIDE_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "request size %ux%u is outside 1..%u px a side", w,
                          h, IIIFS_TILE_SIDE_MAX);
    p->tw = (uint32_t)IIIFS_MIN((uint64_t)w, p->W);
    p->th = (uint32_t)IIIFS_MIN((uint64_t)h, p->H);
    p->own_tiles = 1;
    p->cols = (uint32_t)IIIFS_CEIL_DIV(p->W, p->tw);
    p->rows = (uint32_t)IIIFS_CEIL_DIV(p->H, p->th);
    return 0;
}

void iiifs_plan_tile(const iiifs_plan *p, uint32_t n, uint32_t m, iiifs_tile *t)
{
    if (p->preset) {
        memset(t, 0, sizeof *t);
        t->wr = p->W;
        t->hr = p->H;
        t->ws = p->tw;
        t->hs = p->th;
        return;
    }
    uint64_t span_x = (uint64_t)p->tw * p->s, span_y = (uint64_t)p->th * p->s;
    t->n = n;
    t->m = m;
    t->xr = n * span_x;
    t->yr = m * span_y;
    t->wr = IIIFS_MIN(span_x, p->W - t->xr);
    t->hr = IIIFS_MIN(span_y, p->H - t->yr);
    t->ws = (uint32_t)IIIFS_CEIL_DIV(t->wr, p->s);
    t->hs = (uint32_t)IIIFS_CEIL_DIV(t->hr, p->s);
    t->dest_x = (uint64_t)n * p->tw;
    t->dest_y = (uint64_t)m * p->th;
}

int iiifs_plan_tile_is_whole(const iiifs_plan *p, const iiifs_tile *t)
{
    return t->xr == 0 && t->yr == 0 && t->wr == p->W && t->hr == p->H;
}

int iiifs_plan_url_form(const iiifs_plan *p, const char *base, const iiifs_tile *t,
                        const iiifs_form *f, char *out, size_t cap)
{
    char region[96], size[48];
    if (iiifs_plan_tile_is_whole(p, t) && !f->box)
        memcpy(region, "full", 5);
    else
        iiifs_format(region, sizeof region, "%llu,%llu,%llu,%llu", (unsigned long long)t->xr,
                     (unsigned long long)t->yr, (unsigned long long)t->wr,
                     (unsigned long long)t->hr);
    if (f->size_keyword)
        memcpy(size, p->api == 30 ? "max" : "full", p->api == 30 ? 4 : 5);
    else if (f->trailing_comma)
        iiifs_format(size, sizeof size, "%u,%u,", t->ws, t->hs);
    else if (p->size_wh != (f->other_size != 0))
        iiifs_format(size, sizeof size, "%u,%u", t->ws, t->hs);
    else
        iiifs_format(size, sizeof size, "%u,", t->ws);
    const char *q = p->quality;
    if (f->other_quality)
        q = p->api < 20 ? "default" : "native";
    return iiifs_format(out, cap, "%s/%s/%s/0/%s.jpg", base, region, size, q);
}

int iiifs_plan_url(const iiifs_plan *p, const char *base, const iiifs_tile *t, char *out,
                   size_t cap)
{
    static const iiifs_form primary = { 0, 0, 0, 0, 0 };
    return iiifs_plan_url_form(p, base, t, &primary, out, cap);
}
