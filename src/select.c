/*
 * select.c — see select.h.
 */
#include "select.h"

#include <stdio.h>
#include <string.h>

void iiifs_filter_init(iiifs_filter *f)
{
    memset(f, 0, sizeof *f);
}

int iiifs_filter_add(iiifs_filter *f, const char *expr, iiifs_error *e)
{
    if (f->n == IIIFS_WHERE_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "more than %d --where conditions",
                          IIIFS_WHERE_MAX);
    const char *eq = strchr(expr, '=');
    if (!eq || eq == expr || (eq == expr + 1 && expr[0] == '~'))
        return iiifs_fail(e, IIIFS_E_USAGE, "--where '%.200s': expected COLUMN=VALUE or "
                          "COLUMN~=REGEX", expr);
    int regex = eq[-1] == '~';
    size_t n = (size_t)(eq - expr) - (size_t)regex;
    if (n >= IIIFS_COLUMN_NAME_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "--where: column name longer than %d bytes",
                          IIIFS_COLUMN_NAME_MAX - 1);
    iiifs_where *w = &f->w[f->n];
    memset(w, 0, sizeof *w);
    w->expr = expr;
    w->index = -1;
    memcpy(w->column, expr, n);
    w->column[n] = 0;
    w->value = eq + 1;
    if (regex) {
        char why[128] = "";
        int rc = port_regex_compile(&w->re, eq + 1, why, sizeof why);
        if (rc == IIIFS_E_NOMEM)
            return iiifs_fail(e, rc, "--where '%.200s': no memory for the regular expression",
                              expr);
        if (rc)
            return iiifs_fail(e, IIIFS_E_USAGE, "--where '%.200s': bad regular expression "
                              "(%s)", expr, why);
    }
    f->n++;
    return 0;
}

/* "no column 'x' in FILE (columns: a, b, c)" */
static int no_column(const iiifs_csv *c, const char *what, const char *name, iiifs_error *e)
{
    char list[320];
    iiifs_csv_column_list(c, list, sizeof list);
    return iiifs_fail(e, IIIFS_E_USAGE, "%s: no column '%.100s' in %.200s (columns: %s)", what,
                      name, c->name, list);
}

int iiifs_filter_bind(iiifs_filter *f, const iiifs_csv *c, iiifs_error *e)
{
    for (int i = 0; i < f->n; i++) {
        f->w[i].index = iiifs_csv_column(c, f->w[i].column);
        if (f->w[i].index < 0)
            return no_column(c, "--where", f->w[i].column, e);
    }
    return 0;
}

int iiifs_filter_match(const iiifs_filter *f, const iiifs_csv *c)
{
    for (int i = 0; i < f->n; i++) {
        const iiifs_where *w = &f->w[i];
        iiifs_str v = iiifs_csv_field(c, (uint32_t)w->index);
        if (w->re ? !port_regex_match(w->re, v.p) : strcmp(v.p, w->value) != 0)
            return 0;
    }
    return 1;
}

void iiifs_filter_free(iiifs_filter *f)
{
    for (int i = 0; i < f->n; i++) {
        port_regex_free(f->w[i].re);
        f->w[i].re = NULL;
    }
}

static int unsafe(unsigned char c)
{
    return c < 0x20 || c == 0x7f || (c && strchr("/\\:*?\"<>|", c));
}

int iiifs_name_safe(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
    size_t o = *len;
    for (size_t i = 0; i < n; i++) {
        if (o + 1 >= cap) {
            out[o] = 0;
            *len = o;
            return IIIFS_E_LIMIT;
        }
        out[o++] = unsafe((unsigned char)s[i]) ? '_' : s[i];
    }
    out[o] = 0;
    *len = o;
    return 0;
}

static int ends_nocase(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    if (n < k)
        return 0;
    iiifs_str tail = { s + n - k, k };
    return iiifs_str_eq_nocase(tail, suffix);
}

int iiifs_name_finish(char *out, size_t cap, size_t len, const char *what, iiifs_error *e)
{
    if (len == 0)
        return iiifs_fail(e, IIIFS_E_USAGE, "%s: the output name is empty (give --name a "
                          "column that is never empty)", what);
    for (size_t i = 0; i < len && out[i] == '.'; i++)
        out[i] = '_'; /* no hidden files, no "." or ".." */
    int too_long = len > IIIFS_NAME_MAX || len >= cap;
    if (!too_long && !ends_nocase(out, len, ".tif") && !ends_nocase(out, len, ".tiff")) {
        too_long = len + 4 > IIIFS_NAME_MAX || len + 4 >= cap;
        if (!too_long)
            memcpy(out + len, ".tif", 5);
    }
    if (too_long)
        return iiifs_fail(e, IIIFS_E_LIMIT, "%s: the output name '%.40s...' is longer than %d "
                          "bytes", what, out, IIIFS_NAME_MAX);
    return 0;
}

/* Walk a template: for each literal run call lit, for each {field} call
 * field. Returns 0, or a usage error for bad syntax. */
typedef int (*tmpl_fn)(void *ud, const char *p, size_t n, int is_field);

static int walk(const char *t, tmpl_fn fn, void *ud, iiifs_error *e)
{
    size_t n = strlen(t);
    if (n >= IIIFS_TEMPLATE_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "--name: template longer than %d bytes",
                          IIIFS_TEMPLATE_MAX - 1);
    for (size_t i = 0; i < n;) {
        if ((t[i] == '{' || t[i] == '}') && i + 1 < n && t[i + 1] == t[i]) {
            int rc = fn(ud, t + i, 1, 0);
            if (rc)
                return rc;
            i += 2;
        } else if (t[i] == '{') {
            const char *close = strchr(t + i + 1, '}');
            const char *open = strchr(t + i + 1, '{');
            if (!close || (open && open < close))
                return iiifs_fail(e, IIIFS_E_USAGE, "--name '%.200s': '{' at byte %zu is not "
                                  "closed by '}' (write {{ for a brace)", t, i + 1);
            if (close == t + i + 1)
                return iiifs_fail(e, IIIFS_E_USAGE, "--name '%.200s': empty {} at byte %zu",
                                  t, i + 1);
            int rc = fn(ud, t + i + 1, (size_t)(close - t - i - 1), 1);
            if (rc)
                return rc;
            i = (size_t)(close - t) + 1;
        } else if (t[i] == '}') {
            return iiifs_fail(e, IIIFS_E_USAGE, "--name '%.200s': '}' at byte %zu without "
                              "'{' (write }} for a brace)", t, i + 1);
        } else {
            size_t k = i;
            while (k < n && t[k] != '{' && t[k] != '}')
                k++;
            int rc = fn(ud, t + i, k - i, 0);
            if (rc)
                return rc;
            i = k;
        }
    }
    return 0;
}

typedef struct walk_ctx {
    const char *tmpl;
    const iiifs_csv *csv;
    iiifs_error *e;
    char *out;
    size_t cap, len;
} walk_ctx;

static int check_part(void *ud, const char *p, size_t n, int is_field)
{
    walk_ctx *w = ud;
    char name[IIIFS_COLUMN_NAME_MAX];
    if (!is_field) {
        for (size_t i = 0; i < n; i++)
            if (unsafe((unsigned char)p[i]))
                return iiifs_fail(w->e, IIIFS_E_USAGE, "--name '%.200s': '%c' cannot be part "
                                  "of a file name (--out-dir chooses the directory)", w->tmpl,
                                  p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
        return 0;
    }
    if (n >= sizeof name)
        return iiifs_fail(w->e, IIIFS_E_LIMIT, "--name: a {field} name is longer than %d bytes",
                          IIIFS_COLUMN_NAME_MAX - 1);
    memcpy(name, p, n);
    name[n] = 0;
    if (iiifs_csv_column(w->csv, name) >= 0)
        return 0;
    if (!strcmp(name, "label") || !strcmp(name, "index") || !strcmp(name, "manifest")) {
        char list[320];
        iiifs_csv_column_list(w->csv, list, sizeof list);
        return iiifs_fail(w->e, IIIFS_E_USAGE, "--name: {%s} is reserved for manifests and "
                          "%.200s has no column '%s' (columns: %s)", name, w->csv->name, name,
                          list);
    }
    return no_column(w->csv, "--name", name, w->e);
}

int iiifs_name_check(const char *tmpl, const iiifs_csv *c, iiifs_error *e)
{
    walk_ctx w = { tmpl, c, e, NULL, 0, 0 };
    return walk(tmpl, check_part, &w, e);
}

static int expand_part(void *ud, const char *p, size_t n, int is_field)
{
    walk_ctx *w = ud;
    if (is_field) {
        char name[IIIFS_COLUMN_NAME_MAX];
        memcpy(name, p, n); /* checked: it fits */
        name[n] = 0;
        int col = iiifs_csv_column(w->csv, name);
        if (col < 0)
            return iiifs_fail(w->e, IIIFS_E_INTERNAL, "--name: column '%s' vanished", name);
        iiifs_str v = iiifs_csv_field(w->csv, (uint32_t)col);
        p = v.p;
        n = v.n;
    }
    if (iiifs_name_safe(p, n, w->out, w->cap, &w->len))
        return iiifs_fail(w->e, IIIFS_E_LIMIT, "%s: record %llu (line %llu): the output name "
                          "is longer than %d bytes", w->csv->name,
                          (unsigned long long)w->csv->record,
                          (unsigned long long)w->csv->record_line, IIIFS_NAME_MAX);
    return 0;
}

int iiifs_name_expand(const char *tmpl, const iiifs_csv *c, char *out, size_t cap,
                      iiifs_error *e)
{
    /* room for the cap and one byte more, so "too long" is seen, not cut */
    cap = IIIFS_MIN(cap, (size_t)IIIFS_NAME_MAX + 2);
    walk_ctx w = { tmpl, c, e, out, cap, 0 };
    out[0] = 0;
    int rc = walk(tmpl, expand_part, &w, e);
    if (rc)
        return rc;
    char what[IIIFS_PATH_MAX + 64];
    snprintf(what, sizeof what, "%s: record %llu (line %llu)", c->name,
             (unsigned long long)c->record, (unsigned long long)c->record_line);
    return iiifs_name_finish(out, cap, w.len, what, e);
}
