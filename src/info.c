/*
 * info.c — see info.h.
 */
#include "info.h"
#include "json.h"
#include "url.h"

#include <string.h>

static int contains(iiifs_str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.n; i++)
        if (memcmp(s.p + i, needle, n) == 0)
            return 1;
    return 0;
}

/* §1 step 1: the version named by one @context string, or 0. */
static int api_from_context(iiifs_str s)
{
    if (contains(s, "/api/image/3"))
        return 30;
    if (contains(s, "/api/image/2"))
        return 20;
    if (contains(s, "library.stanford.edu/iiif/image-api/1.1") || contains(s, "/api/image/1"))
        return 11;
    if (contains(s, "library.stanford.edu/iiif/image-api"))
        return 10;
    return 0;
}

/* "level0".."level2" anywhere in a profile string or URI, or -1. */
static int level_from(iiifs_str s)
{
    for (size_t i = 0; i + 6 <= s.n; i++)
        if (memcmp(s.p + i, "level", 5) == 0 && s.p[i + 5] >= '0' && s.p[i + 5] <= '2')
            return s.p[i + 5] - '0';
    return -1;
}

static int detect_api(const iiifs_json *j)
{
    int ctx = iiifs_json_get(j, 0, "@context");
    int t = iiifs_json_type(j, ctx);
    if (t == IIIFS_J_STRING) {
        int v = api_from_context(iiifs_json_raw(j, ctx));
        if (v)
            return v;
    } else if (t == IIIFS_J_ARRAY) {
        int best = 0;
        for (int k = 0, i = ctx + 1; k < iiifs_json_size(j, ctx); k++, i = iiifs_json_skip(j, i))
            if (iiifs_json_type(j, i) == IIIFS_J_STRING) {
                int v = api_from_context(iiifs_json_raw(j, i));
                if (v)
                    best = v;   /* the IIIF context is normally last */
            }
        if (best)
            return best;
    }
    int type = iiifs_json_get(j, 0, "type");
    if (type < 0)
        type = iiifs_json_get(j, 0, "@type");
    if (iiifs_json_eq(j, type, "ImageService3"))
        return 30;
    if (iiifs_json_get(j, 0, "id") >= 0 && iiifs_json_get(j, 0, "@id") < 0)
        return 30;
    int prof = iiifs_json_get(j, 0, "profile");
    if (iiifs_json_eq(j, prof, "level0") || iiifs_json_eq(j, prof, "level1") ||
        iiifs_json_eq(j, prof, "level2"))
        return 30;
    if (iiifs_json_type(j, iiifs_json_get(j, 0, "tiles")) == IIIFS_J_ARRAY ||
        iiifs_json_type(j, prof) == IIIFS_J_ARRAY)
        return 20;
    if (iiifs_json_get(j, 0, "identifier") >= 0)
        return 10;
    if (iiifs_json_get(j, 0, "scale_factors") >= 0 || iiifs_json_get(j, 0, "tile_width") >= 0)
        return 11;
    return 20;
}

static uint64_t get_u64(const iiifs_json *j, int obj, const char *key)
{
    uint64_t v = 0;
    int i = iiifs_json_get(j, obj, key);
    if (i < 0 || iiifs_json_u64(j, i, &v) != 0)
        return 0;
    return v;
}

static void min_limit(uint64_t *have, uint64_t v)
{
    if (v && (!*have || v < *have))
        *have = v;
}

/* maxWidth/maxHeight/maxArea of one object (§2.4): maxWidth alone also
 * bounds the height; several objects: the smallest of each wins. */
static void read_limits(iiifs_info *info, const iiifs_json *j, int obj)
{
    uint64_t mw = get_u64(j, obj, "maxWidth"), mh = get_u64(j, obj, "maxHeight");
    min_limit(&info->max_w, mw);
    if (mw)
        min_limit(&info->max_h, mh ? mh : mw);
    min_limit(&info->max_area, get_u64(j, obj, "maxArea"));
}

/* A v2 profile object: limits and supports (§2.2: union lists, min limits). */
static void profile_object(iiifs_info *info, const iiifs_json *j, int obj)
{
    int id = iiifs_json_get(j, obj, "@id");
    if (id < 0)
        id = iiifs_json_get(j, obj, "id");
    if (id >= 0 && info->level < 0)
        info->level = level_from(iiifs_json_raw(j, id));
    read_limits(info, j, obj);
    int sup = iiifs_json_get(j, obj, "supports");
    for (int k = 0, i = sup + 1; k < iiifs_json_size(j, sup); k++, i = iiifs_json_skip(j, i)) {
        if (iiifs_json_eq(j, i, "regionByPx"))
            info->feat |= IIIFS_F_REGION_PX;
        if (iiifs_json_eq(j, i, "sizeByWh") || iiifs_json_eq(j, i, "sizeByForcedWh") ||
            iiifs_json_eq(j, i, "sizeByDistortedWh"))
            info->feat |= IIIFS_F_SIZE_WH;
    }
}

static void parse_profile(iiifs_info *info, const iiifs_json *j)
{
    int prof = iiifs_json_get(j, 0, "profile");
    int t = iiifs_json_type(j, prof);
    if (t == IIIFS_J_STRING) {
        info->level = level_from(iiifs_json_raw(j, prof));
    } else if (t == IIIFS_J_OBJECT) {
        profile_object(info, j, prof);
    } else if (t == IIIFS_J_ARRAY) {
        for (int k = 0, i = prof + 1; k < iiifs_json_size(j, prof); k++, i = iiifs_json_skip(j, i)) {
            if (iiifs_json_type(j, i) == IIIFS_J_STRING && info->level < 0)
                info->level = level_from(iiifs_json_raw(j, i));
            else if (iiifs_json_type(j, i) == IIIFS_J_OBJECT)
                profile_object(info, j, i);
        }
    }
    if (info->api == 30) {
        read_limits(info, j, 0);
        int ef = iiifs_json_get(j, 0, "extraFeatures");
        for (int k = 0, i = ef + 1; k < iiifs_json_size(j, ef); k++, i = iiifs_json_skip(j, i)) {
            if (iiifs_json_eq(j, i, "regionByPx"))
                info->feat |= IIIFS_F_REGION_PX;
            if (iiifs_json_eq(j, i, "sizeByWh"))
                info->feat |= IIIFS_F_SIZE_WH;
        }
    }
    if (info->level < 0)
        info->level = 0; /* v1.1 without a profile, or an unreadable one: assume the least */
    /* What each level guarantees (§2.3). */
    if (info->level >= 1)
        info->feat |= IIIFS_F_REGION_PX;
    if (info->level >= 2 || (info->api == 30 && info->level >= 1))
        info->feat |= IIIFS_F_SIZE_WH;
    if (info->api == 30)
        info->feat |= IIIFS_F_SIZE_MAX;
}

/* Sorted ascending, unique, each >= 1 (§2.5 sanitising rules). */
static void add_factors(iiifs_tileset *ts, const iiifs_json *j, int arr)
{
    for (int k = 0, i = arr + 1; k < iiifs_json_size(j, arr); k++, i = iiifs_json_skip(j, i)) {
        uint64_t v;
        if (iiifs_json_u64(j, i, &v) != 0 || v < 1 || v > 1u << 20)
            continue;
        int pos = 0;
        while (pos < ts->nsf && ts->sf[pos] < v)
            pos++;
        if ((pos < ts->nsf && ts->sf[pos] == v) || ts->nsf == IIIFS_SCALE_FACTORS_MAX)
            continue;
        memmove(ts->sf + pos + 1, ts->sf + pos, (size_t)(ts->nsf - pos) * sizeof ts->sf[0]);
        ts->sf[pos] = (uint32_t)v;
        ts->nsf++;
    }
}

static void add_tileset(iiifs_info *info, uint64_t w, uint64_t h, const iiifs_json *j, int sf)
{
    if (!w || w > IIIFS_TILE_SIDE_MAX * 64u || info->ntiles == IIIFS_TILESETS_MAX)
        return;
    if (!h || h > IIIFS_TILE_SIDE_MAX * 64u)
        h = w;
    iiifs_tileset *ts = &info->tiles[info->ntiles];
    memset(ts, 0, sizeof *ts);
    ts->w = (uint32_t)w;
    ts->h = (uint32_t)h;
    add_factors(ts, j, sf);
    if (ts->nsf == 0) {   /* a tile size without factors: full resolution only */
        ts->sf[0] = 1;
        ts->nsf = 1;
    }
    info->ntiles++;
}

static void parse_tiles(iiifs_info *info, const iiifs_json *j)
{
    int tiles = iiifs_json_get(j, 0, "tiles");
    if (iiifs_json_type(j, tiles) == IIIFS_J_ARRAY) {
        for (int k = 0, i = tiles + 1; k < iiifs_json_size(j, tiles); k++, i = iiifs_json_skip(j, i)) {
            int sf = iiifs_json_get(j, i, "scaleFactors");
            if (sf < 0)
                sf = iiifs_json_get(j, i, "scalefactors"); /* libvips 8.9 */
            add_tileset(info, get_u64(j, i, "width"), get_u64(j, i, "height"), j, sf);
        }
    }
    if (info->api < 20 || info->ntiles == 0) {
        uint64_t tw = get_u64(j, 0, "tile_width");
        if (tw)
            add_tileset(info, tw, get_u64(j, 0, "tile_height"), j,
                        iiifs_json_get(j, 0, "scale_factors"));
    }
    int sizes = iiifs_json_get(j, 0, "sizes");
    for (int k = 0, i = sizes + 1; k < iiifs_json_size(j, sizes) && info->nsizes < IIIFS_SIZES_MAX;
         k++, i = iiifs_json_skip(j, i)) {
        uint64_t w = get_u64(j, i, "width"), h = get_u64(j, i, "height");
        if (w && h && w <= IIIFS_IMAGE_SIDE_MAX && h <= IIIFS_IMAGE_SIDE_MAX) {
            info->sizes[info->nsizes].w = (uint32_t)w;
            info->sizes[info->nsizes].h = (uint32_t)h;
            info->nsizes++;
        }
    }
}

/* Any string in the service subtree that names the IIIF Auth API. */
static int declares_auth(const iiifs_json *j)
{
    int svc = iiifs_json_get(j, 0, "service");
    if (svc < 0)
        return 0;
    int end = iiifs_json_skip(j, svc);
    for (int i = svc; i < end; i++) {
        iiifs_str s = iiifs_json_raw(j, i);
        if (iiifs_json_type(j, i) == IIIFS_J_STRING &&
            (contains(s, "/api/auth/") || (s.n > 4 && memcmp(s.p, "Auth", 4) == 0)))
            return 1;
    }
    return 0;
}

/* The base URI the info.json was fetched from: the URL less "/info.json".
 * "/info.json" ends either the path, and a query after it belongs to that
 * request alone (".../id/info.json?token=x" -> ".../id"), or the query, when
 * the identifier is in the query ("iipsrv.fcgi?IIIF=id/info.json" ->
 * "iipsrv.fcgi?IIIF=id", digest §7.3 and quirk 20), which then stays. */
int iiifs_info_fetched_base(const char *fetched, char *out, size_t cap)
{
    static const char suffix[] = "/info.json";
    size_t sn = sizeof suffix - 1;
    size_t f = strcspn(fetched, "#"); /* a fragment is never sent */
    size_t q = strcspn(fetched, "?#");
    size_t n;
    if (q >= sn && memcmp(fetched + q - sn, suffix, sn) == 0)
        n = q - sn;
    else if (q < f && f >= q + sn && memcmp(fetched + f - sn, suffix, sn) == 0)
        n = f - sn;
    else {
        n = q;
        if (n > 0 && fetched[n - 1] == '/')
            n--;
    }
    if (n >= cap)
        return IIIFS_E_LIMIT;
    memcpy(out, fetched, n);
    out[n] = 0;
    return 0;
}

/* Hosts that cannot be what a remote server meant (§7.3, quirk 15). */
static int unusable_host(const char *h)
{
    static const char *const names[] = { "localhost", "0.0.0.0", "::1", "example.com",
                                         "example.org", "example.net", NULL };
    size_t n = strlen(h);
    for (int i = 0; names[i]; i++) {
        size_t m = strlen(names[i]);
        iiifs_str s = { h, n };
        if (iiifs_str_eq_nocase(s, names[i]))
            return 1;
        iiifs_str tail = { h + (n > m ? n - m : 0), n > m ? m : 0 };
        if (n > m && h[n - m - 1] == '.' && iiifs_str_eq_nocase(tail, names[i]))
            return 1;
    }
    if (!strncmp(h, "127.", 4) || !strncmp(h, "10.", 3) || !strncmp(h, "192.168.", 8))
        return 1;
    if (!strncmp(h, "172.", 4)) {
        int second = 0;
        for (const char *p = h + 4; *p >= '0' && *p <= '9'; p++)
            second = second * 10 + (*p - '0');
        return second >= 16 && second <= 31;
    }
    return 0;
}

static void choose_base(iiifs_info *info, const char *fetched)
{
    char fb[IIIFS_URL_MAX];
    if (iiifs_info_fetched_base(fetched, fb, sizeof fb) != 0)
        fb[0] = 0;
    iiifs_url d, f;
    iiifs_error quiet = { 0, "" };
    int use_fetched = !info->id[0] || info->api == 10 || !iiifs_url_has_scheme(info->id) ||
                      iiifs_url_parse(&d, info->id, &quiet) != 0;
    if (!use_fetched) {
        quiet.code = 0;
        int fetched_is_url = iiifs_url_parse(&f, fb, &quiet) == 0;
        if (unusable_host(d.host) && fetched_is_url)
            use_fetched = 1;
        /* differs only in scheme: trust the scheme we actually reached */
        iiifs_str dh = { d.host, strlen(d.host) };
        if (fetched_is_url && d.https != f.https && iiifs_str_eq_nocase(dh, f.host) &&
            !strcmp(d.target, f.target))
            use_fetched = 1;
        if (!fetched_is_url && fb[0])
            use_fetched = 1; /* a local tree: its own files, never the network */
    }
    if (use_fetched && fb[0]) {
        memcpy(info->base, fb, sizeof fb);
        info->base_is_fetched = 1;
    } else {
        memcpy(info->base, info->id, sizeof info->base);
        if (fb[0] && strcmp(fb, info->base))
            memcpy(info->alt_base, fb, sizeof fb);
    }
}

int iiifs_info_parse(iiifs_info *info, const char *js, size_t len, const char *fetched,
                     iiifs_error *e)
{
    iiifs_json j;
    memset(info, 0, sizeof *info);
    info->level = -1;
    char what[IIIFS_URL_MAX + 16];
    iiifs_format(what, sizeof what, "%s", fetched);
    int rc = iiifs_json_parse(&j, js, len, what, e);
    if (rc)
        return rc;

    info->api = detect_api(&j);
    parse_profile(info, &j);
    info->width = get_u64(&j, 0, "width");
    info->height = get_u64(&j, 0, "height");
    if (!info->width || !info->height) {
        rc = iiifs_fail(e, IIIFS_E_IIIF, "%s: no usable width and height: not an IIIF info.json",
                        fetched);
        goto out;
    }
    if (info->width > IIIFS_IMAGE_SIDE_MAX || info->height > IIIFS_IMAGE_SIDE_MAX) {
        rc = iiifs_fail(e, IIIFS_E_LIMIT, "%s: image %llux%llu exceeds the cap of %u px a side",
                        fetched, (unsigned long long)info->width,
                        (unsigned long long)info->height, IIIFS_IMAGE_SIDE_MAX);
        goto out;
    }
    parse_tiles(info, &j);
    info->has_auth = declares_auth(&j);

    const char *keys[] = { info->api == 30 ? "id" : "@id", info->api == 30 ? "@id" : "id",
                           "identifier" };
    for (int k = 0; k < 3 && !info->id[0]; k++) {
        int i = iiifs_json_get(&j, 0, keys[k]);
        if (i >= 0 && iiifs_json_str(&j, i, info->id, sizeof info->id) != 0)
            info->id[0] = 0;
    }
    size_t n = strlen(info->id);
    if (n && info->id[n - 1] == '/')
        info->id[n - 1] = 0;
    choose_base(info, fetched);
out:
    iiifs_json_free(&j);
    return rc;
}
