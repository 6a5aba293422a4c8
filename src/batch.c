/*
 * batch.c — see batch.h.
 */
#include "batch.h"
#include "manifest.h"
#include "sink.h"
#include "url.h"

#include <stdio.h>
#include <string.h>

static int usage_columns(const iiifs_csv *c, const char *msg, iiifs_error *e)
{
    char list[320];
    iiifs_csv_column_list(c, list, sizeof list);
    return iiifs_fail(e, IIIFS_E_USAGE, "%s (columns of %.200s: %s)", msg, c->name, list);
}

/* The column a source option names, or a usage error listing the columns. */
static int source_column(const iiifs_csv *c, const char *opt, const char *name, int *out,
                         iiifs_error *e)
{
    *out = iiifs_csv_column(c, name);
    if (*out >= 0)
        return 0;
    char what[300];
    snprintf(what, sizeof what, "%s: no column '%.200s'", opt, name);
    return usage_columns(c, what, e);
}

/* Last path segment of an image URL, without /info.json or a fragment. */
static iiifs_str url_identifier(iiifs_str u)
{
    const char *hash = memchr(u.p, '#', u.n);
    size_t n = hash ? (size_t)(hash - u.p) : u.n;
    static const char suffix[] = "/info.json";
    size_t sn = sizeof suffix - 1;
    if (n >= sn && !memcmp(u.p + n - sn, suffix, sn))
        n -= sn;
    while (n && u.p[n - 1] == '/')
        n--;
    size_t start = n;
    while (start && u.p[start - 1] != '/' && u.p[start - 1] != '=')
        start--;
    /* "https://host" alone has no identifier */
    if (start >= 2 && u.p[start - 1] == '/' && u.p[start - 2] == '/')
        start = n;
    iiifs_str id = { u.p + start, n - start };
    return id;
}

static int add_text(iiifs_batch *b, const char *s, size_t n, size_t *off, iiifs_error *e)
{
    *off = b->text.len;
    if (iiifs_buf_append(&b->text, s, n) || iiifs_buf_append(&b->text, "", 1))
        return iiifs_fail(e, IIIFS_E_LIMIT, "the job list is over %u bytes of names and URLs "
                          "(IIIFS_BATCH_TEXT_MAX): select fewer rows (--where, --limit)",
                          (unsigned)IIIFS_BATCH_TEXT_MAX);
    return 0;
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a over the lower-cased bytes */
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
    }
    return h;
}

static int same_name(const char *a, const char *b)
{
    iiifs_str s = { a, strlen(a) };
    return iiifs_str_eq_nocase(s, b);
}

/* Two jobs with one output name: an error naming both records (or canvases). */
static int check_duplicates(iiifs_batch *b, const char *csv, iiifs_error *e)
{
    size_t slots = 16;
    while (slots < 2 * (size_t)b->n)
        slots *= 2;
    uint32_t *table = port_malloc(slots * sizeof *table);
    if (!table)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory to compare %u output names", b->n);
    memset(table, 0xff, slots * sizeof *table);
    int rc = 0;
    for (uint32_t i = 0; i < b->n && !rc; i++) {
        const char *name = iiifs_batch_name(b, i);
        size_t k = hash_name(name) & (slots - 1);
        while (table[k] != UINT32_MAX && !same_name(iiifs_batch_name(b, table[k]), name))
            k = (k + 1) & (slots - 1);
        if (table[k] == UINT32_MAX) {
            table[k] = i;
            continue;
        }
        const iiifs_job *a = iiifs_batch_job(b, table[k]), *j = iiifs_batch_job(b, i);
        const char *fold = strcmp(iiifs_batch_name(b, table[k]), name) ? " (names differing "
                           "only in case are one file on many file systems)" : "";
        if (b->manifests)
            rc = iiifs_fail(e, IIIFS_E_USAGE, "%s: canvas %llu (%s) and canvas %llu (%s) both "
                            "make '%s'%s: give a --name template that tells them apart "
                            "({label}, {index}, {manifest})", csv,
                            (unsigned long long)a->record, iiifs_batch_source(b, table[k]),
                            (unsigned long long)j->record, iiifs_batch_source(b, i), name,
                            fold);
        else
            rc = iiifs_fail(e, IIIFS_E_USAGE, "%s: records %llu (line %llu) and %llu (line "
                            "%llu) both make '%s'%s: give --name columns that tell them apart",
                            csv, (unsigned long long)a->record, (unsigned long long)a->line,
                            (unsigned long long)j->record, (unsigned long long)j->line, name,
                            fold);
    }
    port_free(table);
    return rc;
}

/* Keep the jobs of shard K of N, in order. */
static int take_shard(iiifs_batch *b, uint32_t shard, uint32_t shards, iiifs_error *e)
{
    if (shards <= 1)
        return 0;
    if (shards > IIIFS_BATCH_SHARDS_MAX || shard >= shards)
        return iiifs_fail(e, IIIFS_E_USAGE, "--shard %u/%u: want K/N with 0 <= K < N <= %u",
                          shard, shards, (unsigned)IIIFS_BATCH_SHARDS_MAX);
    iiifs_job *j = (iiifs_job *)(void *)b->jobs.p;
    uint32_t k = 0;
    for (uint32_t i = shard; i < b->n; i += shards)
        j[k++] = j[i];
    b->n = k;
    b->jobs.len = (size_t)k * sizeof *j;
    return 0;
}

void iiifs_batch_init(iiifs_batch *b)
{
    memset(b, 0, sizeof *b);
    iiifs_buf_init(&b->jobs, (size_t)IIIFS_BATCH_JOBS_MAX * sizeof(iiifs_job));
    iiifs_buf_init(&b->text, IIIFS_BATCH_TEXT_MAX);
}

static int add_opt(iiifs_batch *b, const char *s, size_t *off, iiifs_error *e)
{
    if (!s || !*s) {
        *off = IIIFS_BATCH_NONE;
        return 0;
    }
    return add_text(b, s, strlen(s), off, e);
}

int iiifs_batch_add(iiifs_batch *b, uint64_t record, uint64_t line, const char *name,
                    const char *source, const char *label, const char *attribution,
                    const char *rights, iiifs_error *e)
{
    iiifs_job j = { record, line, 0, 0, 0, 0, 0 };
    int rc;
    if ((rc = add_text(b, name, strlen(name), &j.name, e)) != 0 ||
        (rc = add_text(b, source, strlen(source), &j.source, e)) != 0 ||
        (rc = add_opt(b, label, &j.label, e)) != 0 ||
        (rc = add_opt(b, attribution, &j.attribution, e)) != 0 ||
        (rc = add_opt(b, rights, &j.rights, e)) != 0)
        return rc;
    if (iiifs_buf_append(&b->jobs, &j, sizeof j))
        return iiifs_fail(e, IIIFS_E_LIMIT, "more than %u jobs (IIIFS_BATCH_JOBS_MAX): select "
                          "fewer (--where, --limit, --canvas)", (unsigned)IIIFS_BATCH_JOBS_MAX);
    b->n++;
    return 0;
}

int iiifs_batch_finish(iiifs_batch *b, const char *what, uint32_t shard, uint32_t shards,
                       iiifs_error *e)
{
    int rc = check_duplicates(b, what, e);
    b->total = b->n;
    if (!rc)
        rc = take_shard(b, shard, shards, e);
    return rc;
}

const char *iiifs_batch_text(const iiifs_batch *b, size_t off)
{
    return off == IIIFS_BATCH_NONE || off >= b->text.len ? NULL : (const char *)b->text.p + off;
}

int iiifs_batch_load_csv(iiifs_batch *b, iiifs_csv *c, const iiifs_batch_spec *spec,
                         iiifs_error *e)
{
    iiifs_batch_init(b);
    int url_col = -1, id_col = -1, rc;
    if (!spec->url_column == !spec->id_column)
        return usage_columns(c, spec->url_column
                             ? "give --url-column or --id-column, not both"
                             : "say where each row's image is: --url-column NAME, or "
                               "--id-column NAME with --base URL", e);
    if (spec->id_column && (!spec->base || !*spec->base))
        return iiifs_fail(e, IIIFS_E_USAGE, "--id-column needs --base URL (the image "
                          "server's prefix before the identifier)");
    if (spec->url_column && spec->base)
        return iiifs_fail(e, IIIFS_E_USAGE, "--base goes with --id-column, not --url-column");
    if (spec->url_column)
        rc = source_column(c, "--url-column", spec->url_column, &url_col, e);
    else
        rc = source_column(c, "--id-column", spec->id_column, &id_col, e);
    if (rc)
        return rc;
    const char *tmpl = spec->name;
    if (tmpl && (rc = iiifs_name_check(tmpl, c, e)) != 0)
        return rc;

    iiifs_filter f;
    iiifs_filter_init(&f);
    for (int i = 0; i < spec->nwhere && !rc; i++)
        rc = iiifs_filter_add(&f, spec->where[i], e);
    if (!rc)
        rc = iiifs_filter_bind(&f, c, e);

    /* provenance from columns of these names, when the CSV has them */
    int label_col = iiifs_csv_column(c, "label");
    int attr_col = iiifs_csv_column(c, "attribution");
    int rights_col = iiifs_csv_column(c, "rights");
    if (rights_col < 0)
        rights_col = iiifs_csv_column(c, "license");
    char name[IIIFS_NAME_MAX + 2], url[IIIFS_URL_MAX];
    size_t base_len = 0;
    if (spec->base) {
        base_len = strlen(spec->base);
        while (base_len && spec->base[base_len - 1] == '/')
            base_len--;
    }
    while (!rc && (!spec->limit || b->n < spec->limit)) {
        rc = iiifs_csv_next(c, e);
        if (rc <= 0)
            break;
        rc = 0;
        b->records++;
        if (!iiifs_filter_match(&f, c))
            continue;
        char what[IIIFS_PATH_MAX + 64];
        snprintf(what, sizeof what, "%s: record %llu (line %llu)", c->name,
                 (unsigned long long)c->record, (unsigned long long)c->record_line);
        iiifs_str v = iiifs_csv_field(c, (uint32_t)(url_col >= 0 ? url_col : id_col));
        if (v.n == 0) {
            rc = iiifs_fail(e, IIIFS_E_USAGE, "%s: column '%s' is empty (leave such rows "
                            "out with --where '%s~=.')", what,
                            iiifs_csv_column_name(c, (uint32_t)(url_col >= 0 ? url_col : id_col)),
                            iiifs_csv_column_name(c, (uint32_t)(url_col >= 0 ? url_col : id_col)));
            break;
        }
        size_t ulen = 0;
        if (url_col >= 0) {
            if (v.n >= sizeof url) {
                rc = iiifs_fail(e, IIIFS_E_LIMIT, "%s: URL longer than %d bytes", what,
                                IIIFS_URL_MAX - 1);
                break;
            }
            memcpy(url, v.p, v.n + 1);
            ulen = v.n;
        } else {
            int fits = base_len + 1 < sizeof url;
            if (fits) {
                memcpy(url, spec->base, base_len);
                url[base_len] = '/';
                ulen = base_len + 1;
                fits = iiifs_url_escape_id(v.p, v.n, url, sizeof url, &ulen) == 0;
            }
            if (!fits) {
                rc = iiifs_fail(e, IIIFS_E_LIMIT, "%s: URL longer than %d bytes", what,
                                IIIFS_URL_MAX - 1);
                break;
            }
        }
        if (tmpl) {
            rc = iiifs_name_expand(tmpl, c, name, sizeof name, e);
        } else {
            iiifs_str id = url_col >= 0 ? url_identifier(v) : v;
            size_t len = 0;
            if (iiifs_name_safe(id.p, id.n, name, sizeof name, &len))
                len = sizeof name; /* too long: finish says so */
            rc = iiifs_name_finish(name, sizeof name, len, what, e);
        }
        if (rc)
            break;
        url[ulen] = 0; /* ulen < sizeof url: checked above */
        rc = iiifs_batch_add(b, c->record, c->record_line, name, url,
                             label_col >= 0 ? iiifs_csv_field(c, (uint32_t)label_col).p : NULL,
                             attr_col >= 0 ? iiifs_csv_field(c, (uint32_t)attr_col).p : NULL,
                             rights_col >= 0 ? iiifs_csv_field(c, (uint32_t)rights_col).p : NULL,
                             e);
    }
    iiifs_filter_free(&f);
    if (!rc)
        rc = iiifs_batch_finish(b, c->name, spec->shard, spec->shards, e);
    if (rc)
        iiifs_batch_clear(b);
    return rc;
}

int iiifs_batch_load_csv_file(iiifs_batch *b, const iiifs_batch_spec *spec, iiifs_error *e)
{
    iiifs_csv c;
    memset(b, 0, sizeof *b);
    int rc = iiifs_csv_open_file(&c, spec->csv, e);
    if (rc)
        return rc;
    rc = iiifs_batch_load_csv(b, &c, spec, e);
    iiifs_csv_close(&c);
    return rc;
}

const iiifs_job *iiifs_batch_job(const iiifs_batch *b, uint32_t i)
{
    return i < b->n ? (const iiifs_job *)(const void *)b->jobs.p + i : NULL;
}

const char *iiifs_batch_name(const iiifs_batch *b, uint32_t i)
{
    const iiifs_job *j = iiifs_batch_job(b, i);
    return j ? (const char *)b->text.p + j->name : NULL;
}

const char *iiifs_batch_source(const iiifs_batch *b, uint32_t i)
{
    const iiifs_job *j = iiifs_batch_job(b, i);
    return j ? (const char *)b->text.p + j->source : NULL;
}

int iiifs_batch_path(const iiifs_batch *b, uint32_t i, const char *out_dir, char *out,
                     size_t cap)
{
    const char *name = iiifs_batch_name(b, i);
    if (!name)
        return IIIFS_E_INTERNAL;
    if (!out_dir || !*out_dir)
        return iiifs_copy(out, cap, name);
    size_t n = strlen(out_dir);
    return iiifs_format(out, cap, "%s%s%s", out_dir, out_dir[n - 1] == '/' ? "" : "/", name);
}

void iiifs_batch_clear(iiifs_batch *b)
{
    iiifs_buf_free(&b->jobs);
    iiifs_buf_free(&b->text);
    b->n = 0;
}

/* The code point of the UTF-8 sequence at s (n bytes left) and its length;
 * 0xFFFD and 1 for a byte that starts no well-formed sequence. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    size_t k = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (!k || k > n)
        return 0xFFFD;
    uint32_t cp = s[0] & (0x7Fu >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0xFFFD;
    *len = k;
    return cp;
}

/* Append "key": "value" (JSON, ASCII only) to out at *o; the value is cut at
 * IIIFS_PROVENANCE_FIELD_MAX bytes. 0, or -1 when out is full (*o kept). */
static int put_field(char *out, size_t cap, size_t *o, const char *key, const char *v)
{
    size_t at = *o, n = strlen(v), used = 0;
    char esc[16];
    int w = snprintf(out + at, cap - at, "%s\"%s\": \"", at > 1 ? ", " : "", key);
    if (w < 0 || (size_t)w >= cap - at)
        return -1;
    at += (size_t)w;
    for (size_t i = 0; i < n;) {
        size_t len;
        uint32_t cp = utf8_next((const unsigned char *)v + i, n - i, &len);
        if (cp == '"' || cp == '\\')
            snprintf(esc, sizeof esc, "\\%c", (char)cp);
        else if (cp >= 0x20 && cp < 0x7f)
            snprintf(esc, sizeof esc, "%c", (char)cp);
        else if (cp < 0x10000)
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        else
            snprintf(esc, sizeof esc, "\\u%04x\\u%04x", (unsigned)(0xD800 + ((cp - 0x10000) >> 10)),
                     (unsigned)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
        size_t el = strlen(esc);
        if (used + el > IIIFS_PROVENANCE_FIELD_MAX) {
            snprintf(esc, sizeof esc, "...");
            el = 3;
            i = n;
        } else {
            i += len;
        }
        if (at + el + 2 >= cap)
            return -1;
        memcpy(out + at, esc, el);
        at += el;
        used += el;
    }
    out[at++] = '"';
    out[at] = 0;
    *o = at;
    return 0;
}

int iiifs_batch_provenance(const iiifs_batch *b, uint32_t i, char *out, size_t cap)
{
    const iiifs_job *j = iiifs_batch_job(b, i);
    if (!j || cap < 3)
        return IIIFS_E_INTERNAL;
    const char *const kv[][2] = {
        { "source", iiifs_batch_source(b, i) },
        { "label", iiifs_batch_text(b, j->label) },
        { "attribution", iiifs_batch_text(b, j->attribution) },
        { "rights", iiifs_batch_text(b, j->rights) },
    };
    size_t o = 1;
    out[0] = '{';
    out[1] = 0;
    for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++)
        if (kv[k][1] && put_field(out, cap - 1, &o, kv[k][0], kv[k][1]))
            return IIIFS_E_LIMIT;
    out[o++] = '}';
    out[o] = 0;
    return 0;
}

/* A complete output already there: its size, for the report. */
static void skipped(const char *path, iiifs_job_report *r)
{
    r->outcome = IIIFS_JOB_SKIPPED;
    port_file f = { PORT_FILE_NONE };
    if (port_file_open_read(path, &f) == 0) {
        int64_t size = port_file_size(f);
        r->file_bytes = size > 0 ? (uint64_t)size : 0;
        port_file_close(&f);
    }
}

void iiifs_batch_run_one(iiifs_client *c, const iiifs_batch *b, uint32_t i,
                         const char *out_dir, const iiifs_job_options *base,
                         iiifs_job_report *r, iiifs_result *res, iiifs_error *je, char *path,
                         size_t cap, char *desc, size_t desc_cap)
{
    const iiifs_job *job = iiifs_batch_job(b, i);
    memset(r, 0, sizeof *r);
    r->index = i;
    r->record = job->record;
    r->line = job->line;
    r->source = iiifs_batch_source(b, i);
    r->path = path;
    r->msg = je->msg;
    if (iiifs_batch_path(b, i, out_dir, path, cap)) {
        r->outcome = IIIFS_JOB_FAILED;
        r->code = iiifs_fail(je, IIIFS_E_LIMIT, "output path in %s longer than %zu bytes",
                             out_dir, cap - 1);
        return;
    }
    iiifs_error ce = { 0, "" };
    int complete = iiifs_sink_check_complete_size(path, &r->width, &r->height, &ce);
    if (complete == 1) {
        skipped(path, r);
        return;
    }
    if (complete < 0 && base->on_warning) {
        char msg[IIIFS_ERROR_MAX + 32];
        snprintf(msg, sizeof msg, "%s: downloading it again", ce.msg);
        base->on_warning(base->ud, msg);
    }
    iiifs_job_options o = *base;
    o.source = r->source;
    o.src = NULL;
    o.output = path;
    if (!o.description && iiifs_batch_provenance(b, i, desc, desc_cap) == 0)
        o.description = desc;
    int rc = iiifs_stitch(c, &o, res, je);
    r->result = res;
    if (rc) {
        r->outcome = IIIFS_JOB_FAILED;
        r->code = rc;
        if (!je->msg[0])
            iiifs_fail(je, rc, "%s", iiifs_status_name(rc));
        return;
    }
    r->outcome = IIIFS_JOB_DONE;
}

/* What the runners share; mu guards next, counts and the on_job calls. */
typedef struct runner {
    iiifs_client *c;
    const iiifs_batch *b;
    const iiifs_batch_run_options *o;
    port_mutex *mu;
    uint32_t next;                  /* the next job to take */
    iiifs_batch_counts *counts;
} runner;

/* One runner's own state, on the heap (port threads have small stacks). */
typedef struct runner_self {
    runner *r;
    iiifs_job_options o;            /* with this image's share */
    const char *path;               /* the image being stitched, for warnings */
    iiifs_result res;
    iiifs_error je;
    char path_buf[IIIFS_PATH_MAX];
    char desc[IIIFS_PROVENANCE_MAX];
    port_thread *t;
} runner_self;

static void tally(iiifs_batch_counts *counts, const iiifs_job_report *r)
{
    if (r->outcome == IIIFS_JOB_DONE)
        counts->done++;
    else if (r->outcome == IIIFS_JOB_SKIPPED)
        counts->skipped++;
    else {
        counts->failed++;
        if (!counts->first_code)
            counts->first_code = r->code;
    }
}

/* Warnings of one of several images at once: its path first. */
static void self_warning(void *ud, const char *msg)
{
    runner_self *me = ud;
    runner *r = me->r;
    const iiifs_job_options *job = r->o->job;
    char line[IIIFS_ERROR_MAX + 64];
    snprintf(line, sizeof line, "%.300s: %s", me->path ? me->path : "?", msg);
    port_mutex_lock(r->mu);
    job->on_warning(job->ud, line);
    port_mutex_unlock(r->mu);
}

/* A runner: take the next job until there is none. */
static void runner_main(void *arg)
{
    runner_self *me = arg;
    runner *r = me->r;
    for (;;) {
        port_mutex_lock(r->mu);
        uint32_t i = r->next < r->b->n ? r->next++ : UINT32_MAX;
        port_mutex_unlock(r->mu);
        if (i == UINT32_MAX)
            break;
        iiifs_job_report rep;
        memset(&me->res, 0, sizeof me->res);
        me->je.code = 0;
        me->je.msg[0] = 0;
        me->path = me->path_buf;
        me->path_buf[0] = 0;
        iiifs_batch_path(r->b, i, r->o->out_dir, me->path_buf, sizeof me->path_buf);
        iiifs_batch_run_one(r->c, r->b, i, r->o->out_dir, &me->o, &rep, &me->res, &me->je,
                            me->path_buf, sizeof me->path_buf, me->desc, sizeof me->desc);
        port_mutex_lock(r->mu);
        tally(r->counts, &rep);
        if (r->o->on_job)
            r->o->on_job(r->o->ud, &rep);
        port_mutex_unlock(r->mu);
    }
}

/* Each runner's options: the job's, with its share of the connections and
 * the memory. */
static void share(runner_self *me, runner *r, const iiifs_job_options *job, uint32_t jobs)
{
    iiifs_client *c = r->c;
    me->r = r;
    me->o = *job;
    if (jobs > 1) {
        me->o.connections = IIIFS_MAX(1u, c->connections / jobs);
        me->o.max_memory = c->max_memory / jobs;
        me->o.on_progress = NULL;
        me->o.on_warning = job->on_warning ? self_warning : NULL;
        me->o.ud = me;
    }
}

static int run_check(const iiifs_client *c, const iiifs_batch_run_options *o, uint32_t jobs,
                     iiifs_error *e)
{
    if (jobs < 1 || jobs > IIIFS_BATCH_THREADS_MAX)
        return iiifs_fail(e, IIIFS_E_USAGE, "%u images at once: from 1 to %u "
                          "(IIIFS_BATCH_THREADS_MAX)", jobs, (unsigned)IIIFS_BATCH_THREADS_MAX);
    if (jobs > 1 && c->max_memory / jobs < ((size_t)1 << 20))
        return iiifs_fail(e, IIIFS_E_USAGE, "--max-memory %zu KiB over %u images at once is "
                          "under 1 MiB each: give more memory or fewer --jobs",
                          c->max_memory >> 10, jobs);
    if (o->out_dir && *o->out_dir) {
        int rc = port_dir_make(o->out_dir);
        if (rc)
            return iiifs_fail(e, rc, "cannot make the output directory %s: %s", o->out_dir,
                              port_error_text());
    }
    return 0;
}

int iiifs_batch_run(iiifs_client *c, const iiifs_batch *b, const iiifs_batch_run_options *o,
                    iiifs_batch_counts *counts, iiifs_error *e)
{
    memset(counts, 0, sizeof *counts);
    uint32_t jobs = o->jobs ? o->jobs : 1;
    int rc = run_check(c, o, jobs, e);
    if (rc)
        return rc;
    iiifs_job_options none;
    memset(&none, 0, sizeof none);
    runner r = { c, b, o, NULL, 0, counts };
    runner_self *selves = port_malloc((size_t)jobs * sizeof *selves);
    if (!selves || port_mutex_new(&r.mu)) {
        port_free(selves);
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for %u batch runners", jobs);
    }
    memset(selves, 0, (size_t)jobs * sizeof *selves);
    for (uint32_t k = 0; k < jobs; k++)
        share(&selves[k], &r, o->job ? o->job : &none, jobs);
    /* the calling thread is runner 0; a runner that cannot start is left out */
    for (uint32_t k = 1; k < jobs; k++)
        if (port_thread_start(&selves[k].t, runner_main, &selves[k]))
            selves[k].t = NULL;
    runner_main(&selves[0]);
    for (uint32_t k = 1; k < jobs; k++)
        port_thread_join(selves[k].t);
    port_mutex_free(r.mu);
    port_free(selves);
    return 0;
}

/* ---- the public face */

int iiifs_batch_load(iiifs_client *c, const iiifs_batch_spec *spec, iiifs_batch **out,
                     iiifs_error *e)
{
    *out = NULL;
    if (!spec->csv == !spec->manifest)
        return iiifs_fail(e, IIIFS_E_USAGE, "a batch is a CSV list or a manifest, one of them");
    iiifs_batch *b = port_malloc(sizeof *b);
    if (!b)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the job list");
    int rc = spec->csv ? iiifs_batch_load_csv_file(b, spec, e)
                       : iiifs_batch_load_manifest(c, b, spec, e);
    if (rc) {
        port_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void iiifs_batch_free(iiifs_batch *b)
{
    if (!b)
        return;
    iiifs_batch_clear(b);
    port_free(b);
}

void iiifs_batch_describe(const iiifs_batch *b, iiifs_batch_about *a)
{
    a->jobs = b->n;
    a->total = b->total;
    a->records = b->records;
    a->manifests = b->manifests;
}
