/*
 * view.c — see view.h.
 */
#include "view.h"

#include <string.h>

/* ceil of a non-negative double, without libm */
static double ceil_pos(double d)
{
    double f = (double)(uint64_t)d;
    return f < d ? f + 1.0 : f;
}

/* The plan's tile (n, m) that is the view's k-th. */
static void tile_nm(const iiifs_view *v, uint32_t k, uint32_t *n, uint32_t *m)
{
    uint32_t g = k / v->gsize, i = k % v->gsize;
    if (v->rot == 0 || v->rot == 180) {
        *m = v->rot == 0 ? v->m0 + g : v->m1 - g;
        *n = v->n0 + i;
    } else {
        int forward = (v->rot == 90) != v->mirror;
        *n = forward ? v->n0 + g : v->n1 - g;
        *m = v->m0 + i;
    }
}

void iiifs_view_tile(const iiifs_view *v, uint32_t k, iiifs_tile *t)
{
    uint32_t n, m;
    tile_nm(v, k, &n, &m);
    iiifs_plan_tile(v->p, n, m, t);
}

/* [*a, *b) seen from the other end of [0, len). */
static void flip_span(uint64_t *a, uint64_t *b, uint64_t len)
{
    uint64_t a2 = len - *b;
    *b = len - *a;
    *a = a2;
}

void iiifs_view_band_rows(const iiifs_view *v, uint32_t g, uint64_t *y0, uint32_t *h)
{
    iiifs_tile t;
    iiifs_view_tile(v, g * v->gsize, &t);
    uint64_t a, b;
    if (v->rot == 0 || v->rot == 180) {
        a = IIIFS_MAX(t.dest_y, v->cy) - v->cy;
        b = IIIFS_MIN(t.dest_y + t.hs, v->cy + v->chh) - v->cy;
        if (v->rot == 180)
            flip_span(&a, &b, v->chh);
    } else {
        a = IIIFS_MAX(t.dest_x, v->cx) - v->cx;
        b = IIIFS_MIN(t.dest_x + t.ws, v->cx + v->cw) - v->cx;
        if (v->mirror)
            flip_span(&a, &b, v->cw);
        if (v->rot == 270)
            flip_span(&a, &b, v->cw);
    }
    *y0 = a;
    *h = (uint32_t)(b - a);
}

int iiifs_view_make(iiifs_view *v, const iiifs_plan *p, const iiifs_region *g, int mirror,
                    int rotate, iiifs_error *e)
{
    memset(v, 0, sizeof *v);
    v->p = p;
    if (rotate != 0 && rotate != 90 && rotate != 180 && rotate != 270)
        return iiifs_fail(e, IIIFS_E_USAGE, "rotation %d: 0, 90, 180 or 270", rotate);
    v->rot = rotate;
    v->mirror = mirror != 0;
    v->cw = p->out_w;
    v->chh = p->out_h;
    if (g->w > 0 || g->h > 0) {
        double x = g->x, y = g->y, w = g->w, h = g->h;
        if (g->pct) {
            x = x * (double)p->W / 100.0;
            y = y * (double)p->H / 100.0;
            w = w * (double)p->W / 100.0;
            h = h * (double)p->H / 100.0;
        }
        if (!(x >= 0 && y >= 0 && w > 0 && h > 0 && x < (double)p->W && y < (double)p->H))
            return iiifs_fail(e, IIIFS_E_USAGE, "region %s%g,%g,%g,%g is not inside the "
                              "%llux%llu image", g->pct ? "pct:" : "", g->x, g->y, g->w, g->h,
                              (unsigned long long)p->W, (unsigned long long)p->H);
        double s = p->preset ? (double)p->W / (double)p->out_w : (double)p->s;
        uint64_t x0 = (uint64_t)(x / s), y0 = (uint64_t)(y / s);
        uint64_t x1 = (uint64_t)IIIFS_MIN(ceil_pos((x + w) / s), (double)p->out_w);
        uint64_t y1 = (uint64_t)IIIFS_MIN(ceil_pos((y + h) / s), (double)p->out_h);
        if (x1 <= x0 || y1 <= y0)
            return iiifs_fail(e, IIIFS_E_USAGE, "region %s%g,%g,%g,%g is empty at scale "
                              "factor %u", g->pct ? "pct:" : "", g->x, g->y, g->w, g->h, p->s);
        v->cx = x0;
        v->cy = y0;
        v->cw = x1 - x0;
        v->chh = y1 - y0;
    }
    v->identity = !v->mirror && v->rot == 0 && v->cw == p->out_w && v->chh == p->out_h;
    v->n0 = (uint32_t)(v->cx / p->tw);
    v->n1 = (uint32_t)((v->cx + v->cw - 1) / p->tw);
    v->m0 = (uint32_t)(v->cy / p->th);
    v->m1 = (uint32_t)((v->cy + v->chh - 1) / p->th);
    if (p->preset)
        v->n0 = v->n1 = v->m0 = v->m1 = 0;
    if (v->rot == 0 || v->rot == 180) {
        v->gsize = v->n1 - v->n0 + 1;
        v->ngroups = v->m1 - v->m0 + 1;
        v->band_cap = p->th;
        v->ow = v->cw;
        v->oh = v->chh;
    } else {
        v->gsize = v->m1 - v->m0 + 1;
        v->ngroups = v->n1 - v->n0 + 1;
        v->band_cap = p->tw;
        v->ow = v->chh;
        v->oh = v->cw;
    }
    return 0;
}

void iiifs_view_place(const iiifs_view *v, const iiifs_tile *t, const uint8_t *src, int chn,
                      uint8_t *band, size_t stride, uint32_t g)
{
    uint64_t y0;
    uint32_t bh;
    iiifs_view_band_rows(v, g, &y0, &bh);
    size_t ch = (size_t)chn, sstride = (size_t)t->ws * ch;
    uint64_t u0 = v->cx > t->dest_x ? v->cx - t->dest_x : 0;
    uint64_t u1 = IIIFS_MIN((uint64_t)t->ws, v->cx + v->cw - t->dest_x);
    uint64_t w0 = v->cy > t->dest_y ? v->cy - t->dest_y : 0;
    uint64_t w1 = IIIFS_MIN((uint64_t)t->hs, v->cy + v->chh - t->dest_y);
    if (u1 <= u0)
        return;
    /* Along a source row the output moves by one pixel (0, 180) or one band
     * row (90, 270), forwards or backwards: one step for the whole row. */
    ptrdiff_t px = (ptrdiff_t)ch, row = (ptrdiff_t)stride, step;
    switch (v->rot) {
    case 90: step = row; break;
    case 180: step = -px; break;
    case 270: step = -row; break;
    default: step = px; break;
    }
    if (v->mirror)
        step = -step;
    size_t n = (size_t)(u1 - u0);
    for (uint64_t yy = w0; yy < w1; yy++) {
        const uint8_t *in = src + yy * sstride + u0 * ch;
        uint64_t y = t->dest_y + yy - v->cy;
        uint64_t x = t->dest_x + u0 - v->cx;
        if (v->mirror)
            x = v->cw - 1 - x;
        uint64_t ox, oy;
        switch (v->rot) {
        case 90: ox = v->chh - 1 - y; oy = x; break;
        case 180: ox = v->cw - 1 - x; oy = v->chh - 1 - y; break;
        case 270: ox = y; oy = v->cw - 1 - x; break;
        default: ox = x; oy = y; break;
        }
        uint8_t *out = band + (oy - y0) * stride + ox * ch;
        if (step == px) {
            memcpy(out, in, n * ch);
        } else if (ch == 1) {
            for (size_t k = 0; k < n; k++, out += step)
                *out = in[k];
        } else {
            for (size_t k = 0; k < n; k++, out += step, in += 3) {
                out[0] = in[0];
                out[1] = in[1];
                out[2] = in[2];
            }
        }
    }
}
