/*
 * ladder.c — see ladder.h.
 */
#include "ladder.h"

#include <string.h>

static const char *const class_name[IIIFS_CLASSES] = {
    "interior tiles", "the last column", "the last row", "the corner tile", "the whole image"
};

int iiifs_ladder_init(iiifs_ladder *l, const iiifs_plan *p, const iiifs_info *info,
                      iiifs_error *e)
{
    memset(l, 0, sizeof *l);
    l->p = p;
    l->info = info;
    if (port_mutex_new(&l->mu))
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for a lock");
    return 0;
}

void iiifs_ladder_free(iiifs_ladder *l)
{
    port_mutex_free(l->mu);
    l->mu = NULL;
}

static int tile_class(const iiifs_plan *p, const iiifs_tile *t)
{
    if (iiifs_plan_tile_is_whole(p, t))
        return 4;
    return (t->n + 1 == p->cols ? 1 : 0) + (t->m + 1 == p->rows ? 2 : 0);
}

/* Rung k of the ladder for tile t, into *f and *base; 0 when it does not
 * apply to this tile or server. */
static int rung(const iiifs_ladder *l, const iiifs_tile *t, int k, iiifs_form *f,
                const char **base)
{
    const iiifs_plan *p = l->p;
    memset(f, 0, sizeof *f);
    *base = l->info->base;
    switch (k) {
    case 0: return 1;                                       /* §4.3 */
    case 1: f->other_size = 1; return 1;
    case 2: f->size_keyword = 1; return p->s == 1 && t->ws == t->wr && t->hs == t->hr;
    case 3: f->box = 1; return iiifs_plan_tile_is_whole(p, t);
    case 4: f->other_quality = 1; return 1;
    case 5: *base = l->info->alt_base; return l->info->alt_base[0] != 0;
    case 6: f->trailing_comma = 1; return p->api == 30 && l->info->level == 0;
    default: return 0;
    }
}

static const char *form_text(const iiifs_form *f, int alt_base)
{
    return f->other_size ? "the other size form" : f->size_keyword ? "the full-size keyword"
           : f->box ? "the region as a box" : f->other_quality ? "the other quality"
           : alt_base ? "the fetched base URL"
           : f->trailing_comma ? "a size with a trailing comma" : "the primary form";
}

/* Rung k answered for tile t's class: keep it, unless another tile was first. */
static void learn(iiifs_ladder *l, int cls, int k, const iiifs_form *f, const char *base,
                  const char *url, char *note, size_t note_cap)
{
    port_mutex_lock(l->mu);
    if (!l->learned[cls]) {
        l->learned[cls] = 1;
        l->form[cls] = *f;
        l->alt_base[cls] = base != l->info->base;
        if (k > 0)
            iiifs_format(note, note_cap, "%s answer at %s (%s)", class_name[cls],
                         form_text(f, base != l->info->base), url);
    }
    port_mutex_unlock(l->mu);
}

static int missing(int rc, const iiifs_response *r)
{
    return rc == IIIFS_E_NOENT ||
           (rc == IIIFS_E_HTTP_STATUS && (r->status == 404 || r->status == 400 ||
                                          r->status == 501));
}

int iiifs_ladder_fetch(iiifs_ladder *l, iiifs_fetcher *f, const iiifs_tile *t, iiifs_buf *b,
                       iiifs_response *r, char *url, size_t cap, char *note, size_t note_cap,
                       iiifs_error *e)
{
    const iiifs_plan *p = l->p;
    int cls = tile_class(p, t);
    note[0] = 0;
    port_mutex_lock(l->mu);
    int learned = l->learned[cls];
    iiifs_form form = l->form[cls];
    const char *base = l->alt_base[cls] ? l->info->alt_base : l->info->base;
    port_mutex_unlock(l->mu);
    if (learned) {
        iiifs_plan_url_form(p, base, t, &form, url, cap);
        return iiifs_fetch_once(f, url, b, r, e);
    }
    iiifs_error first = { 0, "" };
    int rc_first = 0, tried = 0;
    for (int k = 0; k < IIIFS_LADDER_RUNGS; k++) {
        if (!rung(l, t, k, &form, &base))
            continue;
        iiifs_plan_url_form(p, base, t, &form, url, cap);
        iiifs_error ek = { 0, "" };
        int rc = iiifs_fetch_once(f, url, b, r, k == 0 ? &first : &ek);
        tried++;
        if (rc == 0) {
            learn(l, cls, k, &form, base, url, note, note_cap);
            return 0;
        }
        if (!missing(rc, r)) {
            *e = k == 0 ? first : ek;
            return rc;
        }
        if (k == 0)
            rc_first = rc;
    }
    if (tried > 1)
        iiifs_fail(e, rc_first, "%s (and %d other URL forms)", first.msg, tried - 1);
    else
        *e = first;
    return rc_first;
}
