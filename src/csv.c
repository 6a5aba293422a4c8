/*
 * csv.c — see csv.h. One pass over the bytes, one state per position in a
 * record; the state lives in read_record's locals, and input is pulled a
 * byte at a time from the current chunk, so a record may be split across
 * chunks anywhere (the tests split it at every byte).
 */
#include "csv.h"

#include <string.h>

#define END 256 /* next_byte: end of input (bytes are 0..255, errors negative) */

static int refill(iiifs_csv *c, iiifs_error *e)
{
    if (c->eof)
        return 0;
    if (c->file.h != PORT_FILE_NONE) {
        long r = port_file_read(c->file, c->chunk, IIIFS_CSV_CHUNK);
        if (r < 0)
            return iiifs_fail(e, (int)r, "%s: cannot read: %s", c->name, port_error_text());
        if (r == 0) {
            c->eof = 1;
            return 0;
        }
        c->in = c->chunk;
        c->in_len = (size_t)r;
    } else {
        if (c->mem_pos >= c->mem_len) {
            c->eof = 1;
            return 0;
        }
        size_t n = IIIFS_MIN(c->mem_chunk, c->mem_len - c->mem_pos);
        c->in = (const uint8_t *)c->mem + c->mem_pos;
        c->in_len = n;
        c->mem_pos += n;
    }
    c->in_pos = 0;
    return 1;
}

static int raw_byte(iiifs_csv *c, iiifs_error *e)
{
    if (c->in_pos == c->in_len) {
        int rc = refill(c, e);
        if (rc <= 0)
            return rc < 0 ? rc : END;
    }
    return c->in[c->in_pos++];
}

static int next_byte(iiifs_csv *c, iiifs_error *e)
{
    if (c->ipend < c->npend)
        return c->pend[c->ipend++];
    return raw_byte(c, e);
}

/* Failure for the record being read: "FILE: record N (line L): ..." */
#define REC_FAIL(c, e, code, fmt, ...)                                                     \
    iiifs_fail(e, code, "%s: record %llu (line %llu): " fmt, (c)->name,                  \
               (unsigned long long)((c)->record + 1), (unsigned long long)(c)->record_line, \
               __VA_ARGS__)

enum { FIELD_START, UNQUOTED, QUOTED, QUOTE_SEEN, AFTER_CR };

/* What one byte does to the record being read. */
enum { ACT_NONE, ACT_KEEP, ACT_FIELD, ACT_RECORD, ACT_BLANK, ACT_END };

typedef struct scan {
    size_t used, fstart;            /* bytes in c->rec; where the field began */
    uint32_t nf;                    /* fields closed */
    int state, started;             /* started: a byte of the record was seen */
    uint64_t quote_line;            /* where the open quote was */
} scan;

/* The state machine of RFC 4180: byte ch in state r->state. An ACT_*, or a
 * negative code (e says why). */
static int transition(iiifs_csv *c, scan *r, int ch, iiifs_error *e)
{
    int blank = !r->started && r->nf == 0;   /* nothing of a record yet */
    switch (r->state) {
    case FIELD_START:
        if (ch == '"') {
            r->state = QUOTED;
            r->quote_line = c->line + 1;
            return ACT_NONE;
        }
        if (ch == ',')
            return ACT_FIELD;
        if (ch == '\r') {
            r->state = AFTER_CR;
            return ACT_NONE;
        }
        if (ch == '\n' || ch == END)
            return !blank ? ACT_RECORD : ch == END ? ACT_END : ACT_BLANK;
        r->state = UNQUOTED;
        return ACT_KEEP;
    case UNQUOTED:
        if (ch == '"')
            return REC_FAIL(c, e, IIIFS_E_CSV,
                            "quote inside unquoted field %u (line %llu, column %u): "
                            "a field with quotes must be quoted whole, its quotes doubled",
                            r->nf + 1, (unsigned long long)c->line + 1, c->column);
        break;
    case QUOTED:
        if (ch == '"') {
            r->state = QUOTE_SEEN;
            return ACT_NONE;
        }
        if (ch == END)
            return REC_FAIL(c, e, IIIFS_E_CSV,
                            "unterminated quote: field %u opened on line %llu is still "
                            "open at the end of the file",
                            r->nf + 1, (unsigned long long)r->quote_line);
        return ACT_KEEP;
    case QUOTE_SEEN:
        if (ch == '"') {
            r->state = QUOTED;
            return ACT_KEEP;
        }
        if (ch != ',' && ch != '\r' && ch != '\n' && ch != END)
            return REC_FAIL(c, e, IIIFS_E_CSV,
                            "'%c' after the closing quote of field %u (line %llu, column "
                            "%u): expected a comma or the end of the line",
                            ch >= 0x20 && ch < 0x7f ? ch : '?', r->nf + 1,
                            (unsigned long long)c->line + 1, c->column);
        break;
    case AFTER_CR:
        if (ch != '\n')
            return REC_FAIL(c, e, IIIFS_E_CSV,
                            "carriage return not followed by a line feed (line %llu)",
                            (unsigned long long)c->line + 1);
        if (blank) {                /* an empty CRLF line */
            r->state = FIELD_START;
            return ACT_BLANK;
        }
        return ACT_RECORD;
    }
    /* UNQUOTED and QUOTE_SEEN end a field alike */
    if (ch == ',')
        return ACT_FIELD;
    if (ch == '\r') {
        r->state = AFTER_CR;
        return ACT_NONE;
    }
    if (ch == '\n' || ch == END)
        return ACT_RECORD;
    return ACT_KEEP;
}

/* Close the field being read; at most IIIFS_CSV_FIELDS_MAX. */
static int close_field(iiifs_csv *c, scan *r, iiifs_error *e)
{
    if (r->nf == IIIFS_CSV_FIELDS_MAX)
        return REC_FAIL(c, e, IIIFS_E_LIMIT, "more than %u fields (IIIFS_CSV_FIELDS_MAX)",
                        (unsigned)IIIFS_CSV_FIELDS_MAX);
    c->start[r->nf] = (uint32_t)r->fstart;
    c->len[r->nf] = (uint32_t)(r->used - r->fstart);
    c->rec[r->used++] = 0;
    r->nf++;
    r->fstart = r->used;
    r->state = FIELD_START;
    return 0;
}

/* Read one record into c->rec: 1 read, 0 end of input, negative on error. */
static int read_record(iiifs_csv *c, iiifs_error *e)
{
    scan r = { 0, 0, 0, FIELD_START, 0, 0 };
    c->record_line = c->line + 1;
    for (;;) {
        int ch = next_byte(c, e);
        if (ch < 0)
            return ch;
        if (ch == '\n') {
            c->line++;
            c->column = 0;
        } else if (ch != END) {
            c->column++;
        }
        if (ch == 0)
            return REC_FAIL(c, e, IIIFS_E_CSV, "NUL byte in field %u (line %llu, column %u)",
                            r.nf + 1, (unsigned long long)c->line + 1, c->column);
        int act = transition(c, &r, ch, e), rc = 0;
        if (act < 0 || act == ACT_END)
            return act < 0 ? act : 0;
        if (act == ACT_BLANK) {
            c->record_line = c->line + 1;
            continue;
        }
        if (ch != '\r' && ch != '\n' && ch != END)
            r.started = 1;
        if (act == ACT_KEEP) {
            if (r.used - r.nf >= IIIFS_CSV_RECORD_MAX)
                return REC_FAIL(c, e, IIIFS_E_LIMIT, "longer than %u bytes (IIIFS_CSV_RECORD_MAX)",
                                (unsigned)IIIFS_CSV_RECORD_MAX);
            c->rec[r.used++] = (char)ch;
        } else if ((act == ACT_FIELD || act == ACT_RECORD) && (rc = close_field(c, &r, e)) != 0) {
            return rc;
        }
        if (act == ACT_RECORD) {
            c->nfields = r.nf;
            c->rec_len = r.used;
            c->record++;
            return 1;
        }
    }
}

static int open_common(iiifs_csv *c, iiifs_error *e)
{
    c->rec = port_malloc(IIIFS_CSV_RECORD_MAX + IIIFS_CSV_FIELDS_MAX + 1);
    if (!c->rec)
        return iiifs_fail(e, IIIFS_E_NOMEM, "%s: no memory for a CSV record", c->name);
    /* a UTF-8 byte order mark is skipped (only at the very start); bytes
     * that turn out not to be one are handed out again by next_byte */
    static const uint8_t bom[3] = { 0xEF, 0xBB, 0xBF };
    int match = 0;
    while (c->npend < 3) {
        int ch = raw_byte(c, e);
        if (ch < 0)
            return ch;
        if (ch == END)
            break;
        c->pend[c->npend++] = (uint8_t)ch;
        if (ch != bom[c->npend - 1])
            break;
        match++;
    }
    if (match == 3)
        c->npend = 0;
    int rc = read_record(c, e);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return iiifs_fail(e, IIIFS_E_CSV, "%s: empty file: expected a header row naming the "
                          "columns", c->name);
    c->head = port_malloc(c->rec_len);
    if (!c->head)
        return iiifs_fail(e, IIIFS_E_NOMEM, "%s: no memory for the CSV header", c->name);
    memcpy(c->head, c->rec, c->rec_len);
    c->ncolumns = c->nfields;
    memcpy(c->head_start, c->start, c->nfields * sizeof c->start[0]);
    for (uint32_t i = 0; i < c->ncolumns; i++)
        for (uint32_t j = i + 1; j < c->ncolumns; j++)
            if (c->head[c->head_start[i]] && !strcmp(c->head + c->head_start[i],
                                                     c->head + c->head_start[j]))
                return iiifs_fail(e, IIIFS_E_CSV, "%s: column '%s' appears twice in the "
                                  "header (fields %u and %u)", c->name,
                                  c->head + c->head_start[i], i + 1, j + 1);
    return 0;
}

static void init(iiifs_csv *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->file.h = PORT_FILE_NONE;
    size_t n = strlen(name);
    if (n >= sizeof c->name) { /* keep the end: it names the file */
        name += n - (sizeof c->name - 4);
        memcpy(c->name, "...", 3);
        memcpy(c->name + 3, name, strlen(name) + 1);
    } else {
        memcpy(c->name, name, n + 1);
    }
}

int iiifs_csv_open_file(iiifs_csv *c, const char *path, iiifs_error *e)
{
    init(c, path);
    int rc = port_file_open_read(path, &c->file);
    if (rc)
        return iiifs_fail(e, rc, "cannot open %s: %s", path, port_error_text());
    c->chunk = port_malloc(IIIFS_CSV_CHUNK);
    if (!c->chunk)
        rc = iiifs_fail(e, IIIFS_E_NOMEM, "%s: no memory for the input buffer", path);
    else
        rc = open_common(c, e);
    if (rc)
        iiifs_csv_close(c);
    return rc;
}

int iiifs_csv_open_mem(iiifs_csv *c, const char *name, const char *buf, size_t n,
                       size_t chunk, iiifs_error *e)
{
    init(c, name);
    c->mem = buf;
    c->mem_len = n;
    c->mem_chunk = chunk ? chunk : (n ? n : 1);
    int rc = open_common(c, e);
    if (rc)
        iiifs_csv_close(c);
    return rc;
}

int iiifs_csv_next(iiifs_csv *c, iiifs_error *e)
{
    int rc = read_record(c, e);
    if (rc <= 0)
        return rc;
    if (c->nfields != c->ncolumns)
        return iiifs_fail(e, IIIFS_E_CSV, "%s: record %llu (line %llu): %u field%s, the "
                          "header has %u", c->name, (unsigned long long)c->record,
                          (unsigned long long)c->record_line, c->nfields,
                          c->nfields == 1 ? "" : "s", c->ncolumns);
    return 1;
}

iiifs_str iiifs_csv_field(const iiifs_csv *c, uint32_t i)
{
    iiifs_str s = { "", 0 };
    if (i < c->nfields) {
        s.p = c->rec + c->start[i];
        s.n = c->len[i];
    }
    return s;
}

const char *iiifs_csv_column_name(const iiifs_csv *c, uint32_t i)
{
    return i < c->ncolumns ? c->head + c->head_start[i] : NULL;
}

int iiifs_csv_column(const iiifs_csv *c, const char *name)
{
    for (uint32_t i = 0; i < c->ncolumns; i++)
        if (!strcmp(c->head + c->head_start[i], name))
            return (int)i;
    return -1;
}

void iiifs_csv_column_list(const iiifs_csv *c, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    out[0] = 0;
    for (uint32_t i = 0; i < c->ncolumns; i++) {
        const char *n = c->head + c->head_start[i];
        size_t len = strlen(n) + (i ? 2 : 0);
        if (o + len + 6 > cap) {
            const char *more = i ? ", ..." : "...";
            if (o + strlen(more) < cap)
                memcpy(out + o, more, strlen(more) + 1);
            return;
        }
        if (i) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, n, strlen(n) + 1);
        o += strlen(n);
    }
}

void iiifs_csv_close(iiifs_csv *c)
{
    port_file_close(&c->file);
    port_free(c->chunk);
    port_free(c->rec);
    port_free(c->head);
    c->chunk = NULL;
    c->rec = c->head = NULL;
}
