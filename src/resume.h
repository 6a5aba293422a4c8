/*
 * resume.h — the state that lets an interrupted image be continued
 * (--resume): a small text file beside the .part, PATH.part.resume.
 *
 *   iiifstitch resume 1
 *   key 5f0c3a...            what the job was (source, view, size, format),
 *                            16 hex digits
 *   head 1234                bytes before the first pixel
 *   rows 256                 rows per strip
 *   datetime 2026:12:01 10:00:00   the DateTime tag, or "-"
 *   strip 0 5530368          strip 0 is complete, 5530368 bytes, after the head
 *   missing 3 2 1,3 2,3      band 3 has 2 tiles filled in: n,m each (the first
 *                            IIIFS_MISSING_MAX are listed)
 *
 * The head lines are written to a new file that is synced and renamed into
 * place, so a state is whole or absent. A strip's line is appended, and the
 * file synced, only after the strip's bytes are synced in the .part: the
 * state never claims bytes the .part may not have. A line cut short by a
 * kill has no newline and is ignored. Continuing rewrites the state the
 * same way (new file, rename) with what is kept.
 */
#ifndef IIIFS_RESUME_H
#define IIIFS_RESUME_H

#include "port.h"
#include "util.h"

#ifndef IIIFS_RESUME_BYTES_MAX
#define IIIFS_RESUME_BYTES_MAX (4u << 20)   /* a state file: strip lines of ~20 bytes */
#endif
#define IIIFS_RESUME_SUFFIX ".resume"
#define IIIFS_RESUME_LINE_MAX (64 + 24 * IIIFS_MISSING_MAX)   /* one "missing" line */

typedef struct iiifs_resume {
    char path[IIIFS_PATH_MAX + 16];     /* PATH.part.resume */
    port_file file;                     /* open for appending once started */
    int found;                          /* a state was read */
    uint64_t key, head;
    uint32_t rows_per_strip;
    char datetime[IIIFS_TIFF_DATETIME_SIZE];   /* "" for none */
    uint32_t strips;                    /* complete strips listed (kept after _fit) */
    uint64_t *counts;                   /* their bytes */
    iiifs_buf text;                     /* the state as read, until rewritten */
} iiifs_resume;

/* Read PATH.part.resume for output path if there is one, and keep the
 * strips that lie whole inside PATH.part. 0: none, or no PATH.part (a fresh
 * start); 1: read (r->found); negative: unreadable or malformed (why and
 * which line in e). */
int iiifs_resume_load(iiifs_resume *r, const char *path, iiifs_error *e);
/* Of the missing tiles recorded for bands before band: how many (*count), and
 * the first max of them (n, m). */
void iiifs_resume_missing_before(const iiifs_resume *r, uint32_t band, uint32_t *count,
                                 uint32_t *n, uint32_t *m, uint32_t max);
/* Write the state anew: the head lines, then (after a load) the kept strips
 * and the missing tiles of bands before band; synced and renamed into
 * place, then open for appending. */
int iiifs_resume_start(iiifs_resume *r, uint64_t key, uint64_t head, uint32_t rows_per_strip,
                       const char *datetime, uint32_t band, iiifs_error *e);
/* Strip i is complete (its bytes synced): append and sync its line. */
int iiifs_resume_strip(iiifs_resume *r, uint32_t i, uint64_t bytes, iiifs_error *e);
/* Band band has count missing tiles, the first of them listed (not synced:
 * the next strip's line syncs it). */
int iiifs_resume_missing(iiifs_resume *r, uint32_t band, uint32_t count, const uint32_t *n,
                         const uint32_t *m, uint32_t listed, iiifs_error *e);
/* Close the state, keeping the file (remove: delete it, the image is done). */
void iiifs_resume_close(iiifs_resume *r, int remove);

/* FNV-1a, 64 bits: the key of a job's description. */
uint64_t iiifs_fnv1a(uint64_t h, const void *p, size_t n);
#define IIIFS_FNV_OFFSET 0xcbf29ce484222325ull

#endif
