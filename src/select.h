/*
 * select.h — which CSV rows a batch takes (--where) and what each output
 * file is called (--name). No I/O: rows come from an iiifs_csv.
 *
 * Filters: COLUMN=VALUE holds when the field equals VALUE exactly (bytes,
 * case and spaces count); COLUMN~=REGEX when a POSIX extended regular
 * expression matches anywhere in the field (anchor it with ^ and $). The
 * column name is everything before the first '=' (or '~='). A row is
 * selected when every filter holds.
 *
 * Name templates: literal text with {COLUMN} fields, replaced by the row's
 * value; {{ and }} are literal braces. {label}, {index} and {manifest} are
 * reserved for manifests: in a CSV they are columns like any other and an
 * error when the CSV has no such column. Values are made safe as one file
 * name (iiifs_name_safe); the template's own text must already be safe
 * (no '/': the directory is --out-dir's business). ".tif" is appended unless
 * the name already ends in .tif or .tiff (any case); the result, extension
 * included, is at most IIIFS_NAME_MAX bytes and never empty.
 */
#ifndef IIIFS_SELECT_H
#define IIIFS_SELECT_H

#include "csv.h"
#include "port.h"
#include "util.h"

#ifndef IIIFS_NAME_MAX
#define IIIFS_NAME_MAX 255              /* bytes of one output file name, extension included */
#endif
#ifndef IIIFS_TEMPLATE_MAX
#define IIIFS_TEMPLATE_MAX 1024         /* bytes of a --name template */
#endif
#ifndef IIIFS_COLUMN_NAME_MAX
#define IIIFS_COLUMN_NAME_MAX 256       /* bytes of a column name in an option */
#endif

typedef struct iiifs_where {
    const char *expr;                   /* the option as given, for messages */
    char column[IIIFS_COLUMN_NAME_MAX];
    const char *value;                  /* COLUMN=VALUE: points into expr */
    port_regex *re;                     /* COLUMN~=REGEX */
    int index;                          /* column index once bound, else -1 */
} iiifs_where;

typedef struct iiifs_filter {
    iiifs_where w[IIIFS_WHERE_MAX];
    int n;
} iiifs_filter;

void iiifs_filter_init(iiifs_filter *f);
/* Add "COLUMN=VALUE" or "COLUMN~=REGEX"; expr must outlive f. */
int iiifs_filter_add(iiifs_filter *f, const char *expr, iiifs_error *e);
/* Look the columns up in c's header: a usage error names an unknown one. */
int iiifs_filter_bind(iiifs_filter *f, const iiifs_csv *c, iiifs_error *e);
/* 1 when c's current record passes every filter, else 0. */
int iiifs_filter_match(const iiifs_filter *f, const iiifs_csv *c);
void iiifs_filter_free(iiifs_filter *f);   /* safe twice */

/* Check a template's syntax and that its {COLUMN}s are in c's header. */
int iiifs_name_check(const char *tmpl, const iiifs_csv *c, iiifs_error *e);
/* Expand a checked template with c's current record into out (at least
 * IIIFS_NAME_MAX + 2 bytes), ".tif" added. Errors name the record. */
int iiifs_name_expand(const char *tmpl, const iiifs_csv *c, char *out, size_t cap,
                      iiifs_error *e);
/* Append n bytes of s to out[*len] with every byte unsafe in a file name
 * replaced by '_': control characters, / \ : * ? " < > | (the last six
 * are refused by Windows and SMB shares). */
int iiifs_name_safe(const char *s, size_t n, char *out, size_t cap, size_t *len);
/* Finish a name: leading dots become '_', ".tif" added, caps and emptiness
 * checked ("what" names the row in messages). */
int iiifs_name_finish(char *out, size_t cap, size_t len, const char *what, iiifs_error *e);

#endif
