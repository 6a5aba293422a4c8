/*
 * presentation.c — see presentation.h.
 */
#include "presentation.h"
#include "json.h"
#include "port.h"
#include "url.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- small helpers */

static int has_sub(iiifs_str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.n; i++)
        if (!memcmp(s.p + i, needle, n))
            return 1;
    return 0;
}

/* The string value of key in obj ("" when absent or not a string). */
static void get_str(const iiifs_json *j, int obj, const char *key, char *out, size_t cap)
{
    out[0] = 0;
    int v = iiifs_json_get(j, obj, key);
    if (v >= 0 && iiifs_json_str(j, v, out, cap) != 0)
        out[0] = 0;
}

/* A string token, unescaped; one too long for out is cut on a character
 * boundary. */
static void tok_str(const iiifs_json *j, int t, char *out, size_t cap)
{
    out[0] = 0;
    int rc = iiifs_json_str(j, t, out, cap);
    if (rc == IIIFS_E_LIMIT) {
        iiifs_str raw = iiifs_json_raw(j, t);
        size_t n = IIIFS_MIN(raw.n, cap - 1);
        while (n && ((unsigned char)raw.p[n] & 0xC0) == 0x80)
            n--;
        memcpy(out, raw.p, n);
        out[n] = 0;
    } else if (rc) {
        out[0] = 0;
    }
}

/* @type or type of obj, or -1. */
static int type_of(const iiifs_json *j, int obj)
{
    int t = iiifs_json_get(j, obj, "@type");
    return t >= 0 ? t : iiifs_json_get(j, obj, "type");
}

/* @id or id of obj into out ("" when none). */
static void id_of(const iiifs_json *j, int obj, char *out, size_t cap)
{
    get_str(j, obj, "@id", out, cap);
    if (!out[0])
        get_str(j, obj, "id", out, cap);
}

static int is_type(const iiifs_json *j, int obj, const char *a, const char *b)
{
    int t = type_of(j, obj);
    return iiifs_json_eq(j, t, a) || (b && iiifs_json_eq(j, t, b));
}

static void append(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out), k = strlen(s);
    if (n + k + 1 > cap)
        k = cap - 1 - n;
    while (k && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    memcpy(out + n, s, k);
    out[n + k] = 0;
}

/* ---- labels (digest 9.5) */

static int lang_en(const iiifs_json *j, int t)
{
    iiifs_str s = iiifs_json_raw(j, t);
    return iiifs_json_type(j, t) == IIIFS_J_STRING && s.n >= 2 && (s.p[0] | 32) == 'e' &&
           (s.p[1] | 32) == 'n' && (s.n == 2 || s.p[2] == '-' || s.p[2] == '_');
}

/* The values of a language map entry: a string, or strings joined by "; ". */
static void lang_values(const iiifs_json *j, int v, char *out, size_t cap)
{
    out[0] = 0;
    if (iiifs_json_type(j, v) == IIIFS_J_STRING) {
        tok_str(j, v, out, cap);
        return;
    }
    if (iiifs_json_type(j, v) != IIIFS_J_ARRAY)
        return;
    char one[IIIFS_LABEL_MAX];
    for (int k = 0, i = v + 1; k < iiifs_json_size(j, v); k++, i = iiifs_json_skip(j, i)) {
        if (iiifs_json_type(j, i) != IIIFS_J_STRING)
            continue;
        tok_str(j, i, one, sizeof one);
        if (out[0])
            append(out, cap, "; ");
        append(out, cap, one);
    }
}

static void pick_label(const iiifs_json *j, int t, char *out, size_t cap)
{
    out[0] = 0;
    int type = iiifs_json_type(j, t);
    if (type == IIIFS_J_STRING) {
        tok_str(j, t, out, cap);
    } else if (type == IIIFS_J_ARRAY) {
        int first = -1, bare = -1, en = -1;
        for (int k = 0, i = t + 1; k < iiifs_json_size(j, t); k++, i = iiifs_json_skip(j, i)) {
            int val = iiifs_json_type(j, i) == IIIFS_J_STRING ? i
                      : iiifs_json_get(j, i, "@value");
            if (iiifs_json_type(j, val) != IIIFS_J_STRING)
                continue;
            int lang = iiifs_json_type(j, i) == IIIFS_J_OBJECT
                       ? iiifs_json_get(j, i, "@language") : -1;
            if (first < 0)
                first = val;
            if (lang < 0 && bare < 0)
                bare = val;
            if (lang >= 0 && lang_en(j, lang) && en < 0)
                en = val;
        }
        int pick = en >= 0 ? en : bare >= 0 ? bare : first;
        if (pick >= 0)
            tok_str(j, pick, out, cap);
    } else if (type == IIIFS_J_OBJECT) {
        int v = iiifs_json_get(j, t, "@value");
        if (v >= 0) {
            tok_str(j, v, out, cap);
            return;
        }
        int en = -1, none = -1, atnone = -1, first = -1;
        int n = iiifs_json_size(j, t), k = t + 1;
        for (int i = 0; i < n && k < j->ntok; i++, k = iiifs_json_skip(j, k + 1)) {
            if (first < 0)
                first = k + 1;
            if (en < 0 && lang_en(j, k))
                en = k + 1;
            else if (none < 0 && iiifs_json_eq(j, k, "none"))
                none = k + 1;
            else if (atnone < 0 && iiifs_json_eq(j, k, "@none"))
                atnone = k + 1;
        }
        int pick = en >= 0 ? en : none >= 0 ? none : atnone >= 0 ? atnone : first;
        if (pick >= 0)
            lang_values(j, pick, out, cap);
    }
}

/* ---- the walk */

typedef struct walk {
    iiifs_walk *spec;
    iiifs_buf visited;              /* URLs read, NUL-terminated one after the other */
    uint32_t docs;
    int full;                       /* the caller has enough */
    /* the manifest being read */
    const char *doc;                /* its URL or path, for messages and ids */
    char mlabel[IIIFS_LABEL_MAX], attribution[IIIFS_LABEL_MAX], rights[IIIFS_LABEL_MAX];
    char label[IIIFS_LABEL_MAX];
    char id[IIIFS_URL_MAX], src[IIIFS_URL_MAX];
} walk;

static void warn(walk *w, const char *fmt, ...) IIIFS_PRINTF(2, 3);

static void warn(walk *w, const char *fmt, ...)
{
    if (!w->spec->on_warning)
        return;
    char msg[IIIFS_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->spec->on_warning(w->spec->warn_ud, msg);
}

/* ref resolved against the document: a URL against its URL, a relative
 * path against a local document's directory. */
static int resolve_ref(const walk *w, const char *ref, char *out, size_t cap)
{
    if (iiifs_url_has_scheme(ref) || !w->doc)
        return iiifs_copy(out, cap, ref);
    if (iiifs_url_has_scheme(w->doc))
        return iiifs_url_resolve(w->doc, ref, out, cap);
    if (ref[0] == '/')
        return iiifs_copy(out, cap, ref);
    const char *slash = strrchr(w->doc, '/');
    if (!slash)
        return iiifs_copy(out, cap, ref);
    return iiifs_format(out, cap, "%.*s/%s", (int)(slash - w->doc), w->doc, ref);
}

static int is_image_service(const iiifs_json *j, int s)
{
    if (iiifs_json_type(j, s) != IIIFS_J_OBJECT)
        return 0;
    int t = type_of(j, s);
    if (iiifs_json_type(j, t) == IIIFS_J_STRING && has_sub(iiifs_json_raw(j, t), "ImageService"))
        return 1;
    int ctx = iiifs_json_get(j, s, "@context");
    if (iiifs_json_type(j, ctx) == IIIFS_J_STRING && has_sub(iiifs_json_raw(j, ctx), "/api/image/"))
        return 1;
    int prof = iiifs_json_get(j, s, "profile");
    if (iiifs_json_type(j, prof) == IIIFS_J_ARRAY)
        prof = prof + 1 < j->ntok && iiifs_json_size(j, prof) ? prof + 1 : -1;
    if (iiifs_json_type(j, prof) == IIIFS_J_STRING) {
        iiifs_str p = iiifs_json_raw(j, prof);
        if (has_sub(p, "/api/image/") || has_sub(p, "image-api") ||
            iiifs_json_eq(j, prof, "level0") || iiifs_json_eq(j, prof, "level1") ||
            iiifs_json_eq(j, prof, "level2"))
            return 1;
    }
    int conf = iiifs_json_get(j, s, "dcterms:conformsTo");
    return iiifs_json_type(j, conf) == IIIFS_J_STRING && has_sub(iiifs_json_raw(j, conf), "/api/image/");
}

/* The image service of resource res, or -1. */
static int find_service(const iiifs_json *j, int res)
{
    int s = iiifs_json_get(j, res, "service");
    if (iiifs_json_type(j, s) == IIIFS_J_OBJECT)
        return is_image_service(j, s) ? s : -1;
    if (iiifs_json_type(j, s) != IIIFS_J_ARRAY)
        return -1;
    for (int k = 0, i = s + 1; k < iiifs_json_size(j, s); k++, i = iiifs_json_skip(j, i))
        if (is_image_service(j, i))
            return i;
    return -1;
}

/* An Image API request URL's service: base/REGION/SIZE/ROTATION/QUALITY.FMT. */
static int service_from_image_url(const char *u, char *out, size_t cap)
{
    size_t n = strcspn(u, "?#");
    size_t cut[4];
    size_t end = n;
    for (int k = 0; k < 4; k++) {
        size_t s = end;
        while (s && u[s - 1] != '/')
            s--;
        if (!s || s == end)
            return -1;
        cut[k] = s;
        end = s - 1;
    }
    /* cut[0] quality.format, cut[1] rotation, cut[2] size, cut[3] region */
    const char *q = u + cut[0];
    size_t qn = n - cut[0];
    static const char *const quals[] = { "default.", "color.", "gray.", "bitonal.",
                                         "native.", NULL };
    int ok = 0;
    for (int k = 0; quals[k]; k++)
        if (qn > strlen(quals[k]) && !strncmp(q, quals[k], strlen(quals[k])))
            ok = 1;
    const char *r = u + cut[1];
    if (*r == '!')
        r++;
    if (*r < '0' || *r > '9')
        ok = 0;
    if (!ok || end < 8) /* "http://x" at least */
        return -1;
    if (end + 1 > cap)
        return -1;
    memcpy(out, u, end);
    out[end] = 0;
    return 0;
}

/* The painting image of a v2 canvas: its resource, or -1. *n counts them. */
static int v2_image(walk *w, const iiifs_json *j, int canvas, uint32_t index, int *n)
{
    int imgs = iiifs_json_get(j, canvas, "images"), first = -1;
    *n = 0;
    if (iiifs_json_type(j, imgs) != IIIFS_J_ARRAY)
        return -1;
    for (int k = 0, a = imgs + 1; k < iiifs_json_size(j, imgs); k++, a = iiifs_json_skip(j, a)) {
        int res = iiifs_json_get(j, a, "resource");
        if (iiifs_json_type(j, res) != IIIFS_J_OBJECT)
            continue;
        (*n)++;
        if (first >= 0)
            continue;
        if (is_type(j, res, "oa:Choice", NULL)) {
            int d = iiifs_json_get(j, res, "default");
            if (iiifs_json_type(j, d) != IIIFS_J_OBJECT) {
                int items = iiifs_json_get(j, res, "item");
                d = iiifs_json_type(j, items) == IIIFS_J_ARRAY && iiifs_json_size(j, items)
                    ? items + 1 : iiifs_json_type(j, items) == IIIFS_J_OBJECT ? items : -1;
            }
            warn(w, "%s: canvas %u (%s): a choice of images: taking the default", w->doc, index,
                 w->label);
            res = d;
        } else if (is_type(j, res, "oa:SpecificResource", NULL)) {
            int full = iiifs_json_get(j, res, "full");
            if (iiifs_json_type(j, full) == IIIFS_J_OBJECT)
                res = full;
        }
        first = res;
    }
    return first;
}

/* The first image among the annotations of array annos (a v3 page's items);
 * *n counts them, *first is the first (or -1 so far). */
static void v3_page_images(walk *w, const iiifs_json *j, int annos, uint32_t index, int *n,
                           int *first)
{
    for (int m = 0, a = annos + 1; m < iiifs_json_size(j, annos); m++, a = iiifs_json_skip(j, a)) {
        int body = iiifs_json_get(j, a, "body");
        if (iiifs_json_type(j, body) == IIIFS_J_ARRAY)
            body = iiifs_json_size(j, body) ? body + 1 : -1;
        if (iiifs_json_type(j, body) != IIIFS_J_OBJECT)
            continue;
        int choice = 0;
        if (is_type(j, body, "Choice", "oa:Choice")) {
            int items = iiifs_json_get(j, body, "items");
            body = iiifs_json_type(j, items) == IIIFS_J_ARRAY && iiifs_json_size(j, items)
                   ? items + 1 : -1;
            choice = 1;
        }
        if (is_type(j, body, "SpecificResource", NULL)) {
            int src = iiifs_json_get(j, body, "source");
            body = iiifs_json_type(j, src) == IIIFS_J_OBJECT ? src : -1;
        }
        if (iiifs_json_type(j, body) != IIIFS_J_OBJECT)
            continue;
        int t = type_of(j, body);
        if (t >= 0 && !iiifs_json_eq(j, t, "Image") && !iiifs_json_eq(j, t, "dctypes:Image"))
            continue;
        (*n)++;
        if (*first < 0) {
            if (choice)
                warn(w, "%s: canvas %u (%s): a choice of images: taking the first", w->doc,
                     index, w->label);
            *first = body;
        }
    }
}

/* The painting image of a v3 canvas: its body (an Image), or -1. When no
 * image is embedded and a page is only referenced, *ref is that page. */
static int v3_image(walk *w, const iiifs_json *j, int canvas, uint32_t index, int *n, int *ref)
{
    int pages = iiifs_json_get(j, canvas, "items"), first = -1;
    *n = 0;
    *ref = -1;
    if (iiifs_json_type(j, pages) != IIIFS_J_ARRAY)
        return -1;
    for (int k = 0, p = pages + 1; k < iiifs_json_size(j, pages); k++, p = iiifs_json_skip(j, p)) {
        int annos = iiifs_json_get(j, p, "items");
        if (iiifs_json_type(j, annos) == IIIFS_J_ARRAY)
            v3_page_images(w, j, annos, index, n, &first);
        else if (*ref < 0 && iiifs_json_type(j, p) == IIIFS_J_OBJECT)
            *ref = p;
    }
    return first;
}

/* The source of image res (in j): its service, else its Image API URL's. */
static int image_source(walk *w, const iiifs_json *j, int res, uint32_t index, iiifs_error *e)
{
    int svc = find_service(j, res);
    w->id[0] = 0;
    if (svc >= 0)
        id_of(j, svc, w->id, sizeof w->id);
    if (!w->id[0]) {
        char rid[IIIFS_URL_MAX];
        id_of(j, res, rid, sizeof rid);
        if (!rid[0] || service_from_image_url(rid, w->id, sizeof w->id))
            return iiifs_fail(e, IIIFS_E_IIIF, "%s: canvas %u (%s): no image service%s%.300s%s",
                              w->doc, index, w->label, rid[0] ? " and its image " : "", rid,
                              rid[0] ? " is not an Image API URL" : "");
    }
    if (resolve_ref(w, w->id, w->src, sizeof w->src))
        return iiifs_fail(e, IIIFS_E_LIMIT, "%s: canvas %u: image service URL too long",
                          w->doc, index);
    return 0;
}

/* A v3 canvas whose annotation page is only referenced: fetch the page, then
 * take its first image's source. 1 when found, 0 when the page has none. */
static int referenced_page(walk *w, const iiifs_json *j, int page, uint32_t index, int *n,
                           iiifs_error *e)
{
    char id[IIIFS_URL_MAX], url[IIIFS_URL_MAX], final[IIIFS_URL_MAX];
    id_of(j, page, id, sizeof id);
    if (!id[0])
        return 0;
    if (resolve_ref(w, id, url, sizeof url))
        return iiifs_fail(e, IIIFS_E_LIMIT, "%s: canvas %u: annotation page URL too long",
                          w->doc, index);
    iiifs_buf body;
    iiifs_json pj;
    iiifs_buf_init(&body, IIIFS_MANIFEST_BYTES_MAX);
    memset(&pj, 0, sizeof pj);
    final[0] = 0;
    int rc = w->spec->fetch(w->spec->fetch_ud, url, &body, final, sizeof final, e);
    if (!rc)
        rc = iiifs_json_parse_max(&pj, (const char *)body.p, body.len, final[0] ? final : url,
                                  IIIFS_MANIFEST_TOKENS_MAX, e);
    int first = -1;
    if (!rc) {
        int annos = iiifs_json_get(&pj, 0, "items");
        if (iiifs_json_type(&pj, annos) == IIIFS_J_ARRAY)
            v3_page_images(w, &pj, annos, index, n, &first);
        if (first >= 0)
            rc = image_source(w, &pj, first, index, e);
    }
    iiifs_json_free(&pj);
    iiifs_buf_free(&body);
    return rc ? rc : first >= 0;
}

static int add_canvas(walk *w, const iiifs_json *j, int canvas, uint32_t index,
                      uint32_t count, int v3, iiifs_error *e)
{
    int lt = iiifs_json_get(j, canvas, "label");
    pick_label(j, lt, w->label, sizeof w->label);
    if (!w->label[0])
        snprintf(w->label, sizeof w->label, "p. %u", index);
    if (w->spec->want && !w->spec->want(w->spec->ud, index, w->label))
        return 0;
    int n = 0, ref = -1, rc = 0, found;
    int res = v3 ? v3_image(w, j, canvas, index, &n, &ref) : v2_image(w, j, canvas, index, &n);
    if (res >= 0) {
        rc = image_source(w, j, res, index, e);
        found = 1;
    } else if (ref >= 0) {
        rc = found = referenced_page(w, j, ref, index, &n, e);
    } else {
        found = 0;
    }
    if (rc < 0)
        return rc;
    if (!found) {
        warn(w, "%s: canvas %u (%s): no image on it, left out", w->doc, index, w->label);
        return 0;
    }
    if (n > 1)
        warn(w, "%s: canvas %u (%s): several images on it: taking the first", w->doc, index,
             w->label);
    iiifs_canvas c = { index, count, w->label, w->mlabel, w->attribution, w->rights, w->src,
                       w->doc };
    rc = w->spec->on_canvas(w->spec->ud, &c, e);
    if (rc > 0)
        w->full = 1;
    return rc < 0 ? rc : 0;
}

static int walk_manifest(walk *w, const iiifs_json *j, int m, iiifs_error *e)
{
    int v3 = !is_type(j, m, "sc:Manifest", NULL);
    pick_label(j, iiifs_json_get(j, m, "label"), w->mlabel, sizeof w->mlabel);
    if (!w->mlabel[0]) {
        /* no label: the document's last path segment, without .json */
        size_t n = strcspn(w->doc, "?#");
        while (n && w->doc[n - 1] == '/')
            n--;
        size_t start = n;
        while (start && w->doc[start - 1] != '/')
            start--;
        if (n - start > 5 && !memcmp(w->doc + n - 5, ".json", 5))
            n -= 5;
        snprintf(w->mlabel, sizeof w->mlabel, "%.*s", (int)(n - start), w->doc + start);
    }
    w->attribution[0] = w->rights[0] = 0;
    if (v3) {
        int rs = iiifs_json_get(j, m, "requiredStatement");
        pick_label(j, iiifs_json_get(j, rs, "value"), w->attribution, sizeof w->attribution);
        get_str(j, m, "rights", w->rights, sizeof w->rights);
    } else {
        pick_label(j, iiifs_json_get(j, m, "attribution"), w->attribution,
                   sizeof w->attribution);
        int lic = iiifs_json_get(j, m, "license");
        if (iiifs_json_type(j, lic) == IIIFS_J_ARRAY)
            lic = iiifs_json_size(j, lic) ? lic + 1 : -1;
        if (iiifs_json_type(j, lic) == IIIFS_J_STRING)
            tok_str(j, lic, w->rights, sizeof w->rights);
    }
    w->spec->manifests++;
    int canvases;
    if (v3) {
        canvases = iiifs_json_get(j, m, "items");
    } else {
        int seqs = iiifs_json_get(j, m, "sequences");
        int seq = iiifs_json_type(j, seqs) == IIIFS_J_ARRAY && iiifs_json_size(j, seqs)
                  ? seqs + 1 : -1;
        canvases = iiifs_json_get(j, seq, "canvases");
    }
    if (iiifs_json_type(j, canvases) != IIIFS_J_ARRAY)
        return iiifs_fail(e, IIIFS_E_IIIF, "%s: a %s manifest without %s", w->doc,
                          v3 ? "3.0" : "2.x", v3 ? "items (its canvases)"
                          : "sequences[0].canvases");
    uint32_t count = (uint32_t)iiifs_json_size(j, canvases);
    int rc = 0;
    for (uint32_t k = 0, i = (uint32_t)canvases + 1; k < count && !rc && !w->full;
         k++, i = (uint32_t)iiifs_json_skip(j, (int)i)) {
        w->spec->canvases++;
        if (iiifs_json_type(j, (int)i) != IIIFS_J_OBJECT)
            continue;
        rc = add_canvas(w, j, (int)i, k + 1, count, v3, e);
    }
    return rc;
}

static int walk_doc(walk *w, const char *src, int depth, iiifs_error *e);

/* A collection's members: those given whole are walked here, the others
 * fetched once this document is let go. */
static int walk_collection(walk *w, const iiifs_json *j, int c, int depth, iiifs_buf *refs,
                           iiifs_error *e)
{
    static const char *const keys[] = { "members", "manifests", "collections", "items" };
    int rc = 0, members = iiifs_json_type(j, iiifs_json_get(j, c, "members")) == IIIFS_J_ARRAY;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !rc; k++) {
        int arr = iiifs_json_get(j, c, keys[k]);
        if (iiifs_json_type(j, arr) != IIIFS_J_ARRAY || (members && (k == 1 || k == 2)))
            continue; /* members, when there, replaces manifests and collections */
        for (int n = 0, i = arr + 1; n < iiifs_json_size(j, arr) && !rc && !w->full;
             n++, i = iiifs_json_skip(j, i)) {
            if (iiifs_json_type(j, i) != IIIFS_J_OBJECT)
                continue;
            int man = is_type(j, i, "sc:Manifest", "Manifest");
            int col = is_type(j, i, "sc:Collection", "Collection");
            if (!man && !col)
                continue;
            int whole = man ? iiifs_json_get(j, i, man && is_type(j, i, "sc:Manifest", NULL)
                                                   ? "sequences" : "items") >= 0
                        : (iiifs_json_get(j, i, "manifests") >= 0 ||
                           iiifs_json_get(j, i, "collections") >= 0 ||
                           iiifs_json_get(j, i, "members") >= 0 ||
                           iiifs_json_get(j, i, "items") >= 0);
            if (whole && man) {
                rc = walk_manifest(w, j, i, e);
            } else if (whole) {
                if (depth + 1 > IIIFS_MANIFEST_DEPTH_MAX)
                    return iiifs_fail(e, IIIFS_E_LIMIT, "%s: collections more than %d deep "
                                      "(IIIFS_MANIFEST_DEPTH_MAX)", w->doc,
                                      IIIFS_MANIFEST_DEPTH_MAX);
                rc = walk_collection(w, j, i, depth + 1, refs, e);
            } else {
                char id[IIIFS_URL_MAX], url[IIIFS_URL_MAX];
                id_of(j, i, id, sizeof id);
                if (!id[0])
                    return iiifs_fail(e, IIIFS_E_IIIF, "%s: member %d of %s has no id", w->doc,
                                      n + 1, keys[k]);
                if (resolve_ref(w, id, url, sizeof url))
                    return iiifs_fail(e, IIIFS_E_LIMIT, "%s: member URL too long", w->doc);
                if (iiifs_buf_append(refs, url, strlen(url) + 1))
                    return iiifs_fail(e, IIIFS_E_LIMIT, "%s: too many members", w->doc);
            }
        }
    }
    return rc;
}

static int visited(walk *w, const char *src)
{
    for (size_t o = 0; o < w->visited.len; o += strlen((const char *)w->visited.p + o) + 1)
        if (!strcmp((const char *)w->visited.p + o, src))
            return 1;
    return 0;
}

/* The kind of the root of a parsed document: 1 manifest, 2 collection, 0. */
static int root_kind(const iiifs_json *j)
{
    if (is_type(j, 0, "sc:Manifest", "Manifest"))
        return 1;
    if (is_type(j, 0, "sc:Collection", "Collection"))
        return 2;
    return 0;
}

/* A document that is neither a manifest nor a collection: say what it is. */
static int not_presentation(const walk *w, const iiifs_json *j, iiifs_error *e)
{
    if (iiifs_json_get(j, 0, "width") >= 0 && iiifs_json_get(j, 0, "height") >= 0)
        return iiifs_fail(e, IIIFS_E_IIIF, "%s is an image's info.json, not a manifest or "
                          "collection", w->doc);
    char t[64];
    int tt = type_of(j, 0);
    t[0] = 0;
    if (tt >= 0)
        tok_str(j, tt, t, sizeof t);
    return iiifs_fail(e, IIIFS_E_IIIF, "%s: not a IIIF manifest or collection (%s%s%s)",
                      w->doc, t[0] ? "type '" : "no @type or type", t, t[0] ? "'" : "");
}

/* The document whose text is body (from src), then the members it refers to. */
static int walk_body(walk *w, const char *src, const iiifs_buf *body, int depth,
                     iiifs_error *e)
{
    iiifs_buf refs;
    iiifs_buf_init(&refs, (size_t)IIIFS_MANIFEST_COUNT_MAX * IIIFS_URL_MAX);
    iiifs_json j;
    memset(&j, 0, sizeof j);
    const char *prev = w->doc;
    w->doc = src;
    int rc = iiifs_json_parse_max(&j, (const char *)body->p, body->len, w->doc,
                                  IIIFS_MANIFEST_TOKENS_MAX, e);
    int kind = rc ? -1 : root_kind(&j);
    if (kind == 1)
        rc = walk_manifest(w, &j, 0, e);
    else if (kind == 2)
        rc = walk_collection(w, &j, 0, depth, &refs, e);
    else if (kind == 0)
        rc = not_presentation(w, &j, e);
    iiifs_json_free(&j);
    /* members by reference, resolved already: fetched one after the other,
     * once this document is let go (the caller still holds its text) */
    if (!rc && refs.len && depth + 1 > IIIFS_MANIFEST_DEPTH_MAX)
        rc = iiifs_fail(e, IIIFS_E_LIMIT, "%s: collections more than %d deep "
                        "(IIIFS_MANIFEST_DEPTH_MAX)", w->doc, IIIFS_MANIFEST_DEPTH_MAX);
    for (size_t o = 0; !rc && !w->full && o < refs.len;
         o += strlen((const char *)refs.p + o) + 1)
        rc = walk_doc(w, (const char *)refs.p + o, depth + 1, e);
    iiifs_buf_free(&refs);
    w->doc = prev;
    return rc;
}

/* Count src as read; 1 when it was read already. */
static int seen(walk *w, const char *src, iiifs_error *e)
{
    if (visited(w, src))
        return 1;
    if (w->docs >= IIIFS_MANIFEST_COUNT_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "more than %d manifests and collections "
                          "(IIIFS_MANIFEST_COUNT_MAX) reading %.300s", IIIFS_MANIFEST_COUNT_MAX,
                          src);
    w->docs++;
    if (iiifs_buf_append(&w->visited, src, strlen(src) + 1))
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the documents read");
    return 0;
}

static int walk_doc(walk *w, const char *src, int depth, iiifs_error *e)
{
    int rc = seen(w, src, e);
    if (rc)
        return rc < 0 ? rc : 0;
    iiifs_buf body;
    iiifs_buf_init(&body, IIIFS_MANIFEST_BYTES_MAX);
    char final[IIIFS_URL_MAX];
    final[0] = 0;
    rc = w->spec->fetch(w->spec->fetch_ud, src, &body, final, sizeof final, e);
    if (!rc)
        rc = walk_body(w, final[0] ? final : src, &body, depth, e);
    iiifs_buf_free(&body);
    return rc;
}

int iiifs_presentation_walk(iiifs_walk *spec, const char *final, const iiifs_buf *body,
                            iiifs_error *e)
{
    walk *w = port_malloc(sizeof *w);
    if (!w)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory to read a manifest");
    memset(w, 0, sizeof *w);
    w->spec = spec;
    iiifs_buf_init(&w->visited, (size_t)IIIFS_MANIFEST_COUNT_MAX * IIIFS_URL_MAX);
    int rc = seen(w, final, e);
    if (!rc)
        rc = walk_body(w, final, body, 0, e);
    iiifs_buf_free(&w->visited);
    port_free(w);
    return rc < 0 ? rc : 0;
}

int iiifs_presentation_kind(const char *body, size_t len)
{
    iiifs_json j;
    iiifs_error ignore = { 0, "" };
    memset(&j, 0, sizeof j);
    if (iiifs_json_parse_max(&j, body, len, "", IIIFS_MANIFEST_TOKENS_MAX, &ignore))
        return 0;
    int kind = root_kind(&j);
    iiifs_json_free(&j);
    return kind;
}

int iiifs_presentation_sniff(const char *body, size_t len)
{
    static const char *const types[] = { "\"sc:Manifest\"", "\"sc:Collection\"",
                                         "\"Manifest\"", "\"Collection\"" };
    size_t n = IIIFS_MIN(len, (size_t)65536);
    for (size_t i = 0; i < n; i++) {
        if (body[i] != '"')
            continue;
        size_t k = i + 1;
        if (k < n && body[k] == '@')
            k++;
        if (k + 5 > n || memcmp(body + k, "type\"", 5))
            continue;
        k += 5;
        while (k < n && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r' ||
                         body[k] == '\n'))
            k++;
        if (k >= n || body[k] != ':')
            continue;
        k++;
        while (k < n && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r' ||
                         body[k] == '\n'))
            k++;
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            size_t tl = strlen(types[t]);
            if (k + tl <= n && !memcmp(body + k, types[t], tl))
                return 1;
        }
    }
    return 0;
}
