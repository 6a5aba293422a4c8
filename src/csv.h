/*
 * csv.h — an RFC 4180 reader that streams records with bounded memory.
 *
 * The first record is the header: it names the columns. Every later record
 * must have as many fields. The reader owns three buffers, allocated once
 * when it opens: the input chunk, one record, and a copy of the header.
 * Nothing is allocated per record; a record's fields are valid until the
 * next call to iiifs_csv_next.
 *
 * Accepted (RFC 4180 §2): fields separated by commas; records ended by CRLF
 * or LF (the last one may have neither); a field in double quotes may hold
 * commas, line breaks and doubled quotes (""). Also: a UTF-8 byte order mark
 * at the very start is skipped, and empty lines are skipped (they count as
 * lines, not as records).
 *
 * Refused, with the file, the record number and the line the record starts
 * on: an unterminated quoted field, a quote inside an unquoted field (RFC
 * 4180 requires such a field to be quoted whole), anything but a comma or a
 * line end after a closing quote, a CR not followed by LF outside quotes,
 * a NUL byte, a record with a different number of fields than the header,
 * and a record over IIIFS_CSV_RECORD_MAX bytes or IIIFS_CSV_FIELDS_MAX fields.
 *
 * Records are numbered from 1, the header included, so a record's number is
 * its row number in a spreadsheet when no field holds a line break.
 */
#ifndef IIIFS_CSV_H
#define IIIFS_CSV_H

#include "port.h"
#include "util.h"

#ifndef IIIFS_CSV_RECORD_MAX
#define IIIFS_CSV_RECORD_MAX (64u << 10)   /* bytes of one record's field contents */
#endif
#ifndef IIIFS_CSV_FIELDS_MAX
#define IIIFS_CSV_FIELDS_MAX 256           /* fields in one record */
#endif
#ifndef IIIFS_CSV_CHUNK
#define IIIFS_CSV_CHUNK (16u << 10)        /* bytes read from the file at a time */
#endif

typedef struct iiifs_csv {
    char name[IIIFS_PATH_MAX];        /* for messages: the file name */
    port_file file;                       /* PORT_FILE_NONE for a memory source */
    const char *mem;                      /* memory source */
    size_t mem_len, mem_pos, mem_chunk;
    uint8_t *chunk;                       /* file input, IIIFS_CSV_CHUNK bytes */
    const uint8_t *in;                    /* current input window */
    size_t in_len, in_pos;
    int eof;
    uint8_t pend[3];                      /* bytes read looking for a BOM */
    int npend, ipend;
    uint64_t line;                        /* lines consumed so far (line breaks seen) */
    uint32_t column;                      /* bytes since the last line break */
    /* the current record: fields NUL-terminated one after the other in rec */
    char *rec;
    size_t rec_len;
    uint32_t nfields;
    uint32_t start[IIIFS_CSV_FIELDS_MAX], len[IIIFS_CSV_FIELDS_MAX];
    uint64_t record;                      /* its number (1 = the header) */
    uint64_t record_line;                 /* the line it starts on */
    /* the header, copied */
    char *head;
    uint32_t ncolumns;
    uint32_t head_start[IIIFS_CSV_FIELDS_MAX];
} iiifs_csv;

/* Open a file and read its header. */
int iiifs_csv_open_file(iiifs_csv *c, const char *path, iiifs_error *e);
/* Read from memory, at most chunk bytes at a time (0: all at once; tests
 * use small chunks to split records anywhere), and read the header. */
int iiifs_csv_open_mem(iiifs_csv *c, const char *name, const char *buf, size_t n,
                       size_t chunk, iiifs_error *e);
/* Next data record: 1 read, 0 end of input, negative on error. */
int iiifs_csv_next(iiifs_csv *c, iiifs_error *e);
/* Field i of the current record (NUL-terminated, no NUL inside). */
iiifs_str iiifs_csv_field(const iiifs_csv *c, uint32_t i);
/* Column name i, NULL past the end. */
const char *iiifs_csv_column_name(const iiifs_csv *c, uint32_t i);
/* Index of the column named name (exact, first one), or -1. */
int iiifs_csv_column(const iiifs_csv *c, const char *name);
/* "a, b, c": the header's names for messages; truncated with "..." to fit. */
void iiifs_csv_column_list(const iiifs_csv *c, char *out, size_t cap);
void iiifs_csv_close(iiifs_csv *c);     /* safe twice */

#endif
