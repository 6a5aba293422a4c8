/*
 * manifest.c — see manifest.h.
 */
#include "manifest.h"
#include "http.h"
#include "json.h"
#include "port.h"
#include "select.h"
#include "url.h"

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

/* ---- fetching */

typedef struct fetcher {
    iiifs_http http;
    iiifs_http_options ho;
    const iiifs_options *o;
    int ready;
} fetcher;


static int fetch_once(fetcher *f, const char *src, iiifs_buf *body, char *final, size_t cap,
                      int *status, uint32_t *retry_after_ms, iiifs_error *e)
{
    iiifs_response r;
    *status = 0;
    *retry_after_ms = 0;
    int rc = iiifs_http_get(&f->http, src, body, &r, e);
    if (rc)
        return rc;
    *status = r.status;
    *retry_after_ms = r.retry_after_ms;
    if (r.status < 200 || r.status > 299)
        return iiifs_fail(e, IIIFS_E_HTTP_STATUS, "HTTP %d%s%s%s for %s", r.status,
                          r.content_type[0] ? " (" : "", r.content_type,
                          r.content_type[0] ? ")" : "", r.url);
    if (iiifs_copy(final, cap, r.url))
        return iiifs_fail(e, IIIFS_E_URL, "URL too long: %.200s", r.url);
    return 0;
}

/* A local file, or a URL with the batch's retries: a network failure or a
 * 408, 429, 500, 502, 503, 504 is tried again after 0.5, 1, 2 ... s (at most
 * IIIFS_MANIFEST_BACKOFF_MAX_MS; a longer Retry-After is honoured up to it). */
static int fetch_default(void *ud, const char *src, iiifs_buf *body, char *final, size_t cap,
                         iiifs_error *e)
{
    fetcher *f = ud;
    if (!iiifs_url_has_scheme(src)) {
        iiifs_copy(final, cap, src);
        return iiifs_buf_read_file(body, src, e);
    }
    uint32_t tries = f->o && f->o->tries ? f->o->tries : 1u + IIIFS_RETRIES_DEFAULT;
    uint32_t delay = 500;
    for (uint32_t t = 1;; t++) {
        iiifs_error e1 = { 0, "" };
        int status;
        uint32_t ra;
        int rc = fetch_once(f, src, body, final, cap, &status, &ra, &e1);
        if (!rc)
            return 0;
        int transient = rc == IIIFS_E_HTTP_STATUS
                        ? status == 408 || status == 429 || status == 500 || status == 502 ||
                          status == 503 || status == 504
                        : rc == IIIFS_E_TIMEOUT || rc == IIIFS_E_CLOSED || rc == IIIFS_E_CONNECT;
        if (!transient || t >= tries) {
            if (t > 1)
                return iiifs_fail(e, rc, "%s after %u tries", e1.msg, t);
            *e = e1;
            return rc;
        }
        uint32_t wait = IIIFS_MIN(IIIFS_MAX(delay, ra), (uint32_t)IIIFS_MANIFEST_BACKOFF_MAX_MS);
        if (f->o && f->o->on_warning) {
            char msg[IIIFS_ERROR_MAX + 64];
            snprintf(msg, sizeof msg, "%s; try %u of %u in %.1f s", e1.msg, t + 1, tries,
                     wait / 1e3);
            f->o->on_warning(f->o->ud, msg);
        }
        port_sleep_ms(wait);
        delay = IIIFS_MIN(delay * 2, (uint32_t)IIIFS_MANIFEST_BACKOFF_MAX_MS);
    }
}

/* ---- the walk */

typedef struct walk {
    iiifs_batch *b;
    const iiifs_manifest_spec *spec;
    const char *tmpl;
    port_regex *re;
    iiifs_canvas_ranges ranges;
    iiifs_fetch_fn fetch;
    void *fetch_ud;
    iiifs_buf visited;              /* URLs read, NUL-terminated one after the other */
    uint32_t docs;
    int full;                       /* the limit is reached */
    /* the manifest being read */
    const char *doc;                /* its URL or path, for messages and ids */
    char mlabel[IIIFS_LABEL_MAX], attribution[IIIFS_LABEL_MAX], rights[IIIFS_LABEL_MAX];
    char label[IIIFS_LABEL_MAX];
    char id[IIIFS_URL_MAX], src[IIIFS_URL_MAX];
    char name[IIIFS_NAME_MAX + 2];
} walk;

static void warn(walk *w, const char *fmt, const char *a, uint32_t n, const char *b)
{
    const iiifs_options *o = w->spec->o;
    if (!o || !o->on_warning)
        return;
    char msg[IIIFS_ERROR_MAX];
    snprintf(msg, sizeof msg, fmt, a, n, b);
    o->on_warning(o->ud, msg);
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
    int rc = w->fetch(w->fetch_ud, url, &body, final, sizeof final, e);
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

static int add_canvas(walk *w, const iiifs_json *j, int canvas, uint32_t index, int width,
                      int v3, iiifs_error *e)
{
    int lt = iiifs_json_get(j, canvas, "label");
    pick_label(j, lt, w->label, sizeof w->label);
    if (!w->label[0])
        snprintf(w->label, sizeof w->label, "p. %u", index);
    if (w->re && !port_regex_match(w->re, w->label))
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
    char what[IIIFS_URL_MAX + 64];
    snprintf(what, sizeof what, "%.3000s: canvas %u", w->doc, index);
    rc = expand_name(w->tmpl, w->label, index, width, w->mlabel, w->name, sizeof w->name,
                     what, e);
    if (!rc)
        rc = iiifs_batch_add(w->b, index, 0, w->name, w->src, w->label, w->attribution,
                             w->rights, e);
    if (!rc && w->spec->limit && w->b->n >= w->spec->limit)
        w->full = 1;
    return rc;
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
    w->b->manifests++;
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
    int width = 1;
    for (uint32_t c = count; c >= 10; c /= 10)
        width++;
    int rc = 0;
    for (uint32_t k = 0, i = (uint32_t)canvases + 1; k < count && !rc && !w->full;
         k++, i = (uint32_t)iiifs_json_skip(j, (int)i)) {
        w->b->records++;
        if (!iiifs_canvas_ranges_has(&w->ranges, k + 1))
            continue;
        if (iiifs_json_type(j, (int)i) != IIIFS_J_OBJECT)
            continue;
        rc = add_canvas(w, j, (int)i, k + 1, width, v3, e);
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

static int walk_doc(walk *w, const char *src, int depth, iiifs_error *e)
{
    if (visited(w, src))
        return 0;
    if (w->docs >= IIIFS_MANIFEST_COUNT_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "more than %d manifests and collections "
                          "(IIIFS_MANIFEST_COUNT_MAX) reading %.300s", IIIFS_MANIFEST_COUNT_MAX,
                          src);
    w->docs++;
    if (iiifs_buf_append(&w->visited, src, strlen(src) + 1))
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the documents read");
    iiifs_buf body, refs;
    iiifs_buf_init(&body, IIIFS_MANIFEST_BYTES_MAX);
    iiifs_buf_init(&refs, (size_t)IIIFS_MANIFEST_COUNT_MAX * IIIFS_URL_MAX);
    char final[IIIFS_URL_MAX];
    final[0] = 0;
    iiifs_json j;
    memset(&j, 0, sizeof j);
    int rc = w->fetch(w->fetch_ud, src, &body, final, sizeof final, e);
    const char *prev = w->doc;
    w->doc = final[0] ? final : src;
    if (!rc)
        rc = iiifs_json_parse_max(&j, (const char *)body.p, body.len, w->doc,
                                  IIIFS_MANIFEST_TOKENS_MAX, e);
    if (!rc) {
        if (is_type(&j, 0, "sc:Manifest", "Manifest")) {
            rc = walk_manifest(w, &j, 0, e);
        } else if (is_type(&j, 0, "sc:Collection", "Collection")) {
            rc = walk_collection(w, &j, 0, depth, &refs, e);
        } else if (iiifs_json_get(&j, 0, "width") >= 0 && iiifs_json_get(&j, 0, "height") >= 0) {
            rc = iiifs_fail(e, IIIFS_E_IIIF, "%s is an image's info.json, not a manifest or "
                            "collection", w->doc);
        } else {
            char t[64];
            int tt = type_of(&j, 0);
            t[0] = 0;
            if (tt >= 0)
                tok_str(&j, tt, t, sizeof t);
            rc = iiifs_fail(e, IIIFS_E_IIIF, "%s: not a IIIF manifest or collection (%s%s%s)",
                            w->doc, t[0] ? "type '" : "no @type or type", t, t[0] ? "'" : "");
        }
    }
    iiifs_json_free(&j);
    iiifs_buf_free(&body);
    /* members by reference, resolved already: fetched one after the other */
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

int iiifs_batch_load_manifest(iiifs_batch *b, const iiifs_manifest_spec *spec, iiifs_error *e)
{
    iiifs_batch_init(b);
    walk *w = port_malloc(sizeof *w);
    fetcher *f = NULL;
    if (!w)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory to read a manifest");
    memset(w, 0, sizeof *w);
    w->b = b;
    w->spec = spec;
    w->tmpl = spec->name ? spec->name : IIIFS_MANIFEST_NAME_DEFAULT;
    iiifs_buf_init(&w->visited, (size_t)IIIFS_MANIFEST_COUNT_MAX * IIIFS_URL_MAX);
    int rc = iiifs_manifest_name_check(w->tmpl, e);
    if (!rc && spec->canvases)
        rc = iiifs_canvas_ranges_parse(&w->ranges, spec->canvases, e);
    if (!rc && spec->label_re) {
        char err[200];
        rc = port_regex_compile(&w->re, spec->label_re, err, sizeof err);
        if (rc)
            rc = iiifs_fail(e, rc, "--label '%s': bad regular expression (%s)", spec->label_re,
                            err);
    }
    w->fetch = spec->fetch;
    w->fetch_ud = spec->fetch_ud;
    if (!rc && !w->fetch) {
        iiifs_options none;
        memset(&none, 0, sizeof none);
        f = port_malloc(sizeof *f);
        if (!f)
            rc = iiifs_fail(e, IIIFS_E_NOMEM, "no memory for an HTTP client");
        else {
            memset(f, 0, sizeof *f);
            f->o = spec->o;
            rc = iiifs_http_options_from(&f->ho, spec->o ? spec->o : &none, e);
            f->ho.max_conns = 2;
        }
        if (!rc) {
            iiifs_http_init(&f->http, &f->ho, NULL);
            f->ready = 1;
            w->fetch = fetch_default;
            w->fetch_ud = f;
        }
    }
    if (!rc)
        rc = walk_doc(w, spec->source, 0, e);
    if (!rc)
        rc = iiifs_batch_finish(b, spec->source, spec->shard, spec->shards, e);
    if (f && f->ready)
        iiifs_http_free(&f->http);
    port_free(f);
    port_regex_free(w->re);
    iiifs_buf_free(&w->visited);
    port_free(w);
    if (rc)
        iiifs_batch_free(b);
    return rc;
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
