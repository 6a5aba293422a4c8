/*
 * resume.c — see resume.h.
 */
#include "resume.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "iiifstitch resume 1"

uint64_t iiifs_fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- reading */

typedef struct cursor {
    const char *p, *end;
} cursor;

/* A decimal (or, with hex, hexadecimal) number of at most 20 digits. */
static int number(cursor *c, int hex, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;
    for (; c->p < c->end; c->p++, digits++) {
        unsigned d;
        char ch = *c->p;
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (hex && ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else
            break;
        uint64_t base = hex ? 16 : 10;
        if (v > (UINT64_MAX - d) / base)
            return -1;
        v = v * base + d;
    }
    *out = v;
    return digits > 0 && digits <= 20 ? 0 : -1;
}

static int lit(cursor *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n))
        return -1;
    c->p += n;
    return 0;
}

/* Calls fn for each whole line (newline-terminated; a cut last line is not
 * one), with its number; stops at the first non-zero return. */
typedef int (*line_fn)(void *ud, cursor *c, unsigned no);
static int each_line(const iiifs_buf *text, line_fn fn, void *ud)
{
    const char *p = (const char *)text->p, *end = p + text->len;
    unsigned no = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        cursor c = { p, nl };
        int rc = fn(ud, &c, ++no);
        if (rc)
            return rc;
        p = nl + 1;
    }
    return 0;
}

typedef struct loader {
    iiifs_resume *r;
    iiifs_error *e;
    unsigned head_lines;
    uint32_t listed;            /* strip lines seen */
    int count_only;
} loader;

static int bad(loader *l, unsigned no, const char *what)
{
    return iiifs_fail(l->e, IIIFS_E_IO, "%s line %u: %s (remove it to start over)", l->r->path,
                      no, what);
}

static int load_line(void *ud, cursor *c, unsigned no)
{
    loader *l = ud;
    iiifs_resume *r = l->r;
    uint64_t a, b;
    if (no == 1)
        return lit(c, MAGIC) || c->p != c->end ? bad(l, no, "not an iiifstitch resume state")
                                               : 0;
    if (!lit(c, "key ")) {
        if (number(c, 1, &r->key) || c->p != c->end)
            return bad(l, no, "a key is 16 hex digits");
        l->head_lines |= 1;
    } else if (!lit(c, "head ")) {
        if (number(c, 0, &r->head) || c->p != c->end || r->head == 0)
            return bad(l, no, "the head is a byte count");
        l->head_lines |= 2;
    } else if (!lit(c, "rows ")) {
        if (number(c, 0, &a) || c->p != c->end || a == 0 || a > UINT32_MAX)
            return bad(l, no, "rows per strip is a number from 1");
        r->rows_per_strip = (uint32_t)a;
        l->head_lines |= 4;
    } else if (!lit(c, "datetime ")) {
        size_t n = (size_t)(c->end - c->p);
        if (n == 1 && *c->p == '-')
            r->datetime[0] = 0;
        else if (n != IIIFS_TIFF_DATETIME_SIZE - 1)
            return bad(l, no, "a DateTime is YYYY:MM:DD HH:MM:SS or -");
        else {
            memcpy(r->datetime, c->p, n);
            r->datetime[n] = 0;
        }
        l->head_lines |= 8;
    } else if (!lit(c, "strip ")) {
        if (l->head_lines != 15)
            return bad(l, no, "a strip before the key, head, rows and datetime lines");
        if (number(c, 0, &a) || lit(c, " ") || number(c, 0, &b) || c->p != c->end || b == 0)
            return bad(l, no, "\"strip INDEX BYTES\" expected");
        if (a != l->listed)
            return bad(l, no, "strips out of order");
        if (!l->count_only)
            r->counts[l->listed] = b;
        l->listed++;
    } else if (!lit(c, "missing ")) {
        /* "missing BAND COUNT n,m ...": read again by missing_before */
        if (number(c, 0, &a) || lit(c, " ") || number(c, 0, &b))
            return bad(l, no, "\"missing BAND COUNT n,m ...\" expected");
    } else {
        return bad(l, no, "not a resume state line");
    }
    return 0;
}

int iiifs_resume_load(iiifs_resume *r, const char *path, iiifs_error *e)
{
    memset(r, 0, sizeof *r);
    r->file.h = PORT_FILE_NONE;
    iiifs_buf_init(&r->text, IIIFS_RESUME_BYTES_MAX);
    char part[IIIFS_PATH_MAX + 8];
    if (iiifs_format(part, sizeof part, "%s.part", path) ||
        iiifs_format(r->path, sizeof r->path, "%s%s", part, IIIFS_RESUME_SUFFIX))
        return iiifs_fail(e, IIIFS_E_USAGE, "output path too long");

    iiifs_error re = { 0, "" };
    int rc = iiifs_buf_read_file(&r->text, r->path, &re);
    if (rc == IIIFS_E_NOENT)
        return 0;               /* no state: a fresh start */
    if (rc)
        return iiifs_fail(e, rc, "%s", re.msg);

    loader l = { r, e, 0, 0, 1 };
    if ((rc = each_line(&r->text, load_line, &l)) != 0)
        return rc;
    if (l.head_lines != 15)
        return iiifs_fail(e, IIIFS_E_IO, "%s: the key, head, rows or datetime line is missing",
                          r->path);
    if (l.listed && !(r->counts = port_malloc(l.listed * sizeof *r->counts)))
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for %u strip sizes", l.listed);
    l.listed = 0;
    l.count_only = 0;
    l.head_lines = 0;
    if ((rc = each_line(&r->text, load_line, &l)) != 0)
        return rc;

    /* Keep the strips the .part holds whole: a .part cut short (a copy, a
     * full disk) costs the strips past its end, not the run. */
    port_file f = { PORT_FILE_NONE };
    rc = port_file_open_read(part, &f);
    if (rc == IIIFS_E_NOENT)
        return 0;                      /* nothing to continue */
    if (rc)
        return iiifs_fail(e, rc, "cannot open %s: %s", part, port_error_text());
    int64_t size = port_file_size(f);
    port_file_close(&f);
    if (size < 0 || (uint64_t)size < r->head)
        return 0;
    uint64_t end = r->head;
    uint32_t kept = 0;
    while (kept < l.listed && r->counts[kept] <= (uint64_t)size - end)
        end += r->counts[kept++];
    r->strips = kept;
    r->found = 1;
    return 1;
}

typedef struct missing_scan {
    uint32_t band, count, max, *n, *m;
} missing_scan;

static int missing_line(void *ud, cursor *c, unsigned no)
{
    (void)no;
    missing_scan *s = ud;
    uint64_t band, count, n, m;
    if (lit(c, "missing ") || number(c, 0, &band) || lit(c, " ") || number(c, 0, &count) ||
        band >= s->band)
        return 0;
    uint32_t listed = 0;
    while (c->p < c->end && !lit(c, " ") && !number(c, 0, &n) && !lit(c, ",") &&
           !number(c, 0, &m) && n <= UINT32_MAX && m <= UINT32_MAX && listed < count) {
        if (s->count + listed < s->max) {
            s->n[s->count + listed] = (uint32_t)n;
            s->m[s->count + listed] = (uint32_t)m;
        }
        listed++;
    }
    s->count += (uint32_t)IIIFS_MIN(count, (uint64_t)(UINT32_MAX - s->count));
    return 0;
}

void iiifs_resume_missing_before(const iiifs_resume *r, uint32_t band, uint32_t *count,
                                 uint32_t *n, uint32_t *m, uint32_t max)
{
    missing_scan s = { band, 0, max, n, m };
    if (r->found)
        each_line(&r->text, missing_line, &s);
    *count = s.count;
}

/* ---- writing */

static int put(iiifs_resume *r, port_file f, const char *line, iiifs_error *e)
{
    if (port_file_write(f, line, strlen(line)) < 0)
        return iiifs_fail(e, IIIFS_E_IO, "cannot write %s: %s", r->path, port_error_text());
    return 0;
}

typedef struct copier {
    iiifs_resume *r;
    port_file f;
    uint32_t band;
    iiifs_error *e;
} copier;

static int copy_missing(void *ud, cursor *c, unsigned no)
{
    (void)no;
    copier *k = ud;
    cursor at = *c;
    uint64_t band;
    if (lit(&at, "missing ") || number(&at, 0, &band) || band >= k->band)
        return 0;
    if (port_file_write(k->f, c->p, (size_t)(c->end - c->p) + 1) < 0)   /* with its \n */
        return iiifs_fail(k->e, IIIFS_E_IO, "cannot write %s: %s", k->r->path,
                          port_error_text());
    return 0;
}

int iiifs_resume_start(iiifs_resume *r, uint64_t key, uint64_t head, uint32_t rows_per_strip,
                       const char *datetime, uint32_t band, iiifs_error *e)
{
    char tmp[sizeof r->path + 8], line[IIIFS_RESUME_LINE_MAX];
    if (iiifs_format(tmp, sizeof tmp, "%s.new", r->path))
        return iiifs_fail(e, IIIFS_E_USAGE, "output path too long");
    port_file f = { PORT_FILE_NONE };
    int rc = port_file_create(tmp, &f);
    if (rc)
        return iiifs_fail(e, rc, "cannot create %s: %s", tmp, port_error_text());
    iiifs_format(line, sizeof line, MAGIC "\nkey %016llx\nhead %llu\nrows %u\ndatetime %s\n",
                 (unsigned long long)key, (unsigned long long)head, rows_per_strip,
                 datetime && *datetime ? datetime : "-");
    rc = put(r, f, line, e);
    for (uint32_t i = 0; !rc && r->found && i < r->strips; i++) {
        iiifs_format(line, sizeof line, "strip %u %llu\n", i, (unsigned long long)r->counts[i]);
        rc = put(r, f, line, e);
    }
    if (!rc && r->found) {
        copier k = { r, f, band, e };
        rc = each_line(&r->text, copy_missing, &k);
    }
    if (!rc && port_file_sync(f))
        rc = iiifs_fail(e, IIIFS_E_IO, "cannot sync %s: %s", tmp, port_error_text());
    if (!rc && port_file_rename(tmp, r->path))
        rc = iiifs_fail(e, IIIFS_E_IO, "cannot rename %s: %s", tmp, port_error_text());
    if (rc) {
        port_file_close(&f);
        port_file_remove(tmp);
        return rc;
    }
    iiifs_buf_free(&r->text);
    r->file = f;
    r->key = key;
    r->head = head;
    r->rows_per_strip = rows_per_strip;
    if (port_file_seek(f, 0, 2) < 0)
        return iiifs_fail(e, IIIFS_E_IO, "cannot seek in %s: %s", r->path, port_error_text());
    return 0;
}

int iiifs_resume_strip(iiifs_resume *r, uint32_t i, uint64_t bytes, iiifs_error *e)
{
    char line[64];
    iiifs_format(line, sizeof line, "strip %u %llu\n", i, (unsigned long long)bytes);
    int rc = put(r, r->file, line, e);
    if (!rc && port_file_sync(r->file))
        rc = iiifs_fail(e, IIIFS_E_IO, "cannot sync %s: %s", r->path, port_error_text());
    return rc;
}

int iiifs_resume_missing(iiifs_resume *r, uint32_t band, uint32_t count, const uint32_t *n,
                         const uint32_t *m, uint32_t listed, iiifs_error *e)
{
    char line[IIIFS_RESUME_LINE_MAX];
    size_t len = 0;
    iiifs_format(line, sizeof line, "missing %u %u", band, count);
    len = strlen(line);
    for (uint32_t i = 0; i < listed && i < IIIFS_MISSING_MAX; i++) {
        iiifs_format(line + len, sizeof line - len, " %u,%u", n[i], m[i]);
        len += strlen(line + len);
    }
    iiifs_format(line + len, sizeof line - len, "\n");
    return put(r, r->file, line, e);
}

void iiifs_resume_close(iiifs_resume *r, int remove)
{
    port_file_close(&r->file);
    if (remove && r->path[0])
        port_file_remove(r->path);
    iiifs_buf_free(&r->text);
    port_free(r->counts);
    r->counts = NULL;
    r->found = 0;
}
