/*
 * manifest.c — see manifest.h.
 */
#include "manifest.h"
#include "resolve.h"

#include <stdio.h>
#include <string.h>

/* ---- --canvas */

static int parse_u32(const char **p, uint32_t *out)
{
    uint64_t n = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        n = n * 10 + (uint64_t)(*s - '0');
        if (n > UINT32_MAX)
            return -1;
        s++;
    }
    *p = s;
    *out = (uint32_t)n;
    return 0;
}

int iiifs_canvas_ranges_parse(iiifs_canvas_ranges *r, const char *s, iiifs_error *e)
{
    memset(r, 0, sizeof *r);
    const char *p = s;
    for (;;) {
        uint32_t lo, hi;
        const char *at = p;
        if (parse_u32(&p, &lo))
            return iiifs_fail(e, IIIFS_E_USAGE, "--canvas '%s': expected a number at '%.20s' "
                              "(positions from 1: 3, 3-17, 1,4-6)", s, at);
        hi = lo;
        if (*p == '-') {
            p++;
            at = p;
            if (parse_u32(&p, &hi))
                return iiifs_fail(e, IIIFS_E_USAGE, "--canvas '%s': expected a number at "
                                  "'%.20s' (positions from 1: 3, 3-17, 1,4-6)", s, at);
        }
        if (lo == 0 || hi < lo)
            return iiifs_fail(e, IIIFS_E_USAGE, "--canvas '%s': %u-%u is not a range of "
                              "positions from 1", s, lo, hi);
        if (r->n == IIIFS_CANVAS_RANGES_MAX)
            return iiifs_fail(e, IIIFS_E_USAGE, "--canvas '%s': more than %d ranges", s,
                              IIIFS_CANVAS_RANGES_MAX);
        r->lo[r->n] = lo;
        r->hi[r->n] = hi;
        r->n++;
        if (!*p)
            return 0;
        if (*p != ',')
            return iiifs_fail(e, IIIFS_E_USAGE, "--canvas '%s': unexpected '%c' (positions "
                              "from 1: 3, 3-17, 1,4-6)", s, *p);
        p++;
    }
}

int iiifs_canvas_ranges_has(const iiifs_canvas_ranges *r, uint32_t index)
{
    if (!r->n)
        return 1;
    for (int i = 0; i < r->n; i++)
        if (index >= r->lo[i] && index <= r->hi[i])
            return 1;
    return 0;
}

/* ---- names */

static const char unsafe_chars[] = "/\\:*?\"<>|";

int iiifs_manifest_name_check(const char *tmpl, iiifs_error *e)
{
    if (strlen(tmpl) >= IIIFS_TEMPLATE_MAX)
        return iiifs_fail(e, IIIFS_E_USAGE, "--name: template longer than %d bytes",
                          IIIFS_TEMPLATE_MAX - 1);
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '{' && p[1] == '{') {
            p++;
        } else if (p[0] == '}' && p[1] == '}') {
            p++;
        } else if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end)
                return iiifs_fail(e, IIIFS_E_USAGE, "--name '%s': '{' without '}'", tmpl);
            size_t n = (size_t)(end - p - 1);
            if (!((n == 5 && !memcmp(p + 1, "label", 5)) || (n == 5 && !memcmp(p + 1, "index", 5)) ||
                  (n == 8 && !memcmp(p + 1, "manifest", 8))))
                return iiifs_fail(e, IIIFS_E_USAGE, "--name: {%.*s} is not a manifest field "
                                  "({label}, {index}, {manifest})", (int)IIIFS_MIN(n, 64), p + 1);
            p = end;
        } else if (*p == '}') {
            return iiifs_fail(e, IIIFS_E_USAGE, "--name '%s': '}' without '{' (write }} for "
                              "a brace)", tmpl);
        } else if ((unsigned char)*p < 0x20 || strchr(unsafe_chars, *p)) {
            return iiifs_fail(e, IIIFS_E_USAGE, "--name '%s': '%c' cannot be part of a file "
                              "name", tmpl, (unsigned char)*p < 0x20 ? '?' : *p);
        }
    }
    return 0;
}

static int expand_name(const char *tmpl, const char *label, uint32_t index, int width,
                       const char *manifest, char *out, size_t cap, const char *what,
                       iiifs_error *e)
{
    size_t len = 0;
    int over = 0;
    char num[32];
    for (const char *p = tmpl; *p && !over; p++) {
        const char *v = NULL;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
            if (len + 1 >= cap)
                over = 1;
            else
                out[len++] = *p;
            continue;
        }
        if (*p != '{') {
            if (len + 1 >= cap)
                over = 1;
            else
                out[len++] = *p;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!strncmp(p, "{label}", 7)) {
            v = label;
        } else if (!strncmp(p, "{index}", 7)) {
            snprintf(num, sizeof num, "%0*u", IIIFS_MIN(width, 10), index);
            v = num;
        } else {
            v = manifest;
        }
        if (iiifs_name_safe(v, strlen(v), out, cap, &len))
            over = 1;
        p = end;
    }
    return iiifs_name_finish(out, cap, over ? cap : len, what, e);
}

/* ---- the list */

typedef struct loader {
    iiifs_batch *b;
    const iiifs_batch_spec *spec;
    const char *tmpl;
    port_regex *re;
    iiifs_canvas_ranges ranges;
    char name[IIIFS_NAME_MAX + 2];
} loader;

static int want(void *ud, uint32_t index, const char *label)
{
    loader *l = ud;
    return iiifs_canvas_ranges_has(&l->ranges, index) &&
           (!l->re || port_regex_match(l->re, label));
}

static int on_canvas(void *ud, const iiifs_canvas *c, iiifs_error *e)
{
    loader *l = ud;
    int width = 1;
    for (uint32_t n = c->count; n >= 10; n /= 10)
        width++;
    char what[IIIFS_URL_MAX + 64];
    snprintf(what, sizeof what, "%.3000s: canvas %u", c->doc, c->index);
    int rc = expand_name(l->tmpl, c->label, c->index, width, c->manifest, l->name,
                         sizeof l->name, what, e);
    if (!rc)
        rc = iiifs_batch_add(l->b, c->index, 0, l->name, c->source, c->label, c->attribution,
                             c->rights, e);
    if (rc)
        return rc;
    return l->spec->limit && l->b->n >= l->spec->limit;
}

static int loader_init(loader *l, iiifs_batch *b, const iiifs_batch_spec *spec, iiifs_error *e)
{
    memset(l, 0, sizeof *l);
    l->b = b;
    l->spec = spec;
    l->tmpl = spec->name ? spec->name : IIIFS_MANIFEST_NAME_DEFAULT;
    int rc = iiifs_manifest_name_check(l->tmpl, e);
    if (!rc && spec->canvases)
        rc = iiifs_canvas_ranges_parse(&l->ranges, spec->canvases, e);
    if (!rc && spec->label_re) {
        char err[200];
        rc = port_regex_compile(&l->re, spec->label_re, err, sizeof err);
        if (rc)
            rc = iiifs_fail(e, rc, "--label '%s': bad regular expression (%s)", spec->label_re,
                            err);
    }
    return rc;
}

int iiifs_batch_load_document(iiifs_batch *b, const iiifs_batch_spec *spec, const char *src,
                              const iiifs_buf *body, iiifs_fetch_fn fetch, void *fetch_ud,
                              iiifs_error *e)
{
    iiifs_batch_init(b);
    loader l;
    int rc = loader_init(&l, b, spec, e);
    if (!rc) {
        iiifs_walk w;
        memset(&w, 0, sizeof w);
        w.fetch = fetch;
        w.fetch_ud = fetch_ud;
        w.want = want;
        w.on_canvas = on_canvas;
        w.ud = &l;
        w.on_warning = spec->on_warning;
        w.warn_ud = spec->ud;
        rc = iiifs_presentation_walk(&w, src, body, e);
        b->records = w.canvases;
        b->manifests = w.manifests;
    }
    if (!rc)
        rc = iiifs_batch_finish(b, src, spec->shard, spec->shards, e);
    port_regex_free(l.re);
    if (rc)
        iiifs_batch_clear(b);
    return rc;
}

/* The documents a manifest refers to, through the client. */
typedef struct doc_fetch {
    iiifs_http http;
    iiifs_fetcher f;
} doc_fetch;

static int fetch_doc(void *ud, const char *src, iiifs_buf *body, char *final, size_t cap,
                     iiifs_error *e)
{
    doc_fetch *d = ud;
    return iiifs_fetch_document(&d->f, src, body, final, cap, e);
}

int iiifs_batch_load_manifest(iiifs_client *c, iiifs_batch *b, const iiifs_batch_spec *spec,
                              iiifs_error *e)
{
    const iiifs_source *s = spec->manifest;
    if (s->kind == IIIFS_SOURCE_IMAGE)
        return iiifs_fail(e, IIIFS_E_IIIF, "%s is an image's info.json, not a manifest or "
                          "collection", s->url);
    doc_fetch *d = port_malloc(sizeof *d);
    if (!d)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for an HTTP handle");
    iiifs_client_fetcher(c, &d->f, &d->http, spec->on_warning, spec->ud);
    int rc = iiifs_batch_load_document(b, spec, s->url, &s->body, fetch_doc, d, e);
    iiifs_http_free(&d->http);
    port_free(d);
    return rc;
}
