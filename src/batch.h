/*
 * batch.h — many images (iiifs_batch in iiifstitch.h): the job list, from a
 * CSV list or a manifest (manifest.c), then a run through one client.
 *
 * Loading a CSV reads it once (iiifs_csv, bounded memory per record), keeps
 * the rows the filters select (at most limit of them), and gives each an
 * output name and a source URL:
 *   - url_column: the field is an info.json URL or image base URL, as is;
 *   - id_column + base: base + "/" + the identifier percent-encoded as one
 *     path segment (iiifs_url_escape_id), a trailing '/' of base dropped.
 * The default name is the image identifier: the id_column value, or the last
 * path segment of the URL (without /info.json). Every error is found before
 * anything is downloaded: a bad template or column, an empty source, a name
 * that is empty or too long, and two rows with the same output name (compared
 * ASCII case-insensitively, as on the file systems of macOS, Windows and most
 * NAS shares), which names both records.
 *
 * A shard (spec->shard of spec->shards) keeps every shards-th job starting at
 * job shard, counted after the filters and the limit and after the duplicate
 * check over the whole selection, so that the shards of one batch together
 * hold each job exactly once and every shard refuses the same bad list.
 *
 * The list keeps only what a run needs: per job its record and line number,
 * its name and its source, in one block of text; nothing else of the row.
 *
 * Running goes through the jobs in order and stitches each with
 * iiifs_stitch into out_dir/NAME. A failed job does not stop the others. An
 * output that is already a complete TIFF (iiifs_sink_check_complete) is
 * skipped; one that exists but is not complete is downloaded again.
 *
 * Provenance: unless the options carry a description (--tag ImageDescription,
 * which then wins), each TIFF's ImageDescription is one JSON object, pure
 * ASCII (\uXXXX escapes), keys in this order and only those the job has:
 *   {"source": URL, "label": ..., "attribution": ..., "rights": ...}
 * each value cut at IIIFS_PROVENANCE_FIELD_MAX escaped bytes (on a character
 * boundary, "..." appended). See iiifs_batch_provenance.
 *
 * With jobs > 1, that many images are stitched at once, each by one runner
 * (the calling thread and jobs - 1 port threads; a port without threads runs
 * them one after the other), taking the next job from the list as it is free.
 * They share the client: its connections per server (each image gets
 * max(1, connections / jobs) workers, and the server's politeness, fetch.h,
 * lets no more than connections requests run at once over all of them) and
 * its memory cap (each image's band is planned within max_memory / jobs, and
 * tiles in flight start only while the whole process stays under the cap).
 * A share under 1 MiB is a usage error. Progress callbacks are left out, and
 * warnings start with the image's path. on_job is called under a lock, one
 * image at a time, in the order they end.
 */
#ifndef IIIFS_BATCH_H
#define IIIFS_BATCH_H

#include "client.h"
#include "csv.h"
#include "select.h"

#ifndef IIIFS_PROVENANCE_MAX
#define IIIFS_PROVENANCE_MAX 4096              /* bytes of the ImageDescription written */
#endif
#ifndef IIIFS_PROVENANCE_FIELD_MAX
#define IIIFS_PROVENANCE_FIELD_MAX 1000        /* bytes of one value in it, escaped */
#endif
#ifndef IIIFS_BATCH_TEXT_MAX
#define IIIFS_BATCH_TEXT_MAX (256u << 20)      /* bytes of all names and sources */
#endif

typedef struct iiifs_job {
    uint64_t record, line;          /* where the row is in the CSV; for a manifest's
                                       canvas, its 1-based position and line 0 */
    size_t name, source;            /* offsets of NUL-terminated strings in the text */
    size_t label, attribution, rights; /* provenance, the same; IIIFS_BATCH_NONE = none */
} iiifs_job;

#define IIIFS_BATCH_NONE SIZE_MAX

typedef struct iiifs_batch {
    iiifs_buf jobs;                 /* iiifs_job[] */
    iiifs_buf text;
    uint32_t n;                     /* jobs (of this shard) */
    uint32_t total;                 /* jobs selected before the shard was taken */
    uint64_t records;               /* data records read (all of them unless limit hit);
                                       for manifests, the canvases seen */
    uint32_t manifests;             /* manifests read (0 for a CSV) */
} iiifs_batch;

/* Load from spec->csv (a file). */
int iiifs_batch_load_csv_file(iiifs_batch *b, const iiifs_batch_spec *spec, iiifs_error *e);
/* Load from an open reader (its header read); spec->csv is not used. */
int iiifs_batch_load_csv(iiifs_batch *b, iiifs_csv *c, const iiifs_batch_spec *spec,
                         iiifs_error *e);
/* For the loaders: an empty list (caps set), one job (strings copied; label,
 * attribution and rights may be NULL), and the end: the duplicate check over
 * the whole list (what names it in messages), then the shard. */
void iiifs_batch_init(iiifs_batch *b);
int iiifs_batch_add(iiifs_batch *b, uint64_t record, uint64_t line, const char *name,
                    const char *source, const char *label, const char *attribution,
                    const char *rights, iiifs_error *e);
int iiifs_batch_finish(iiifs_batch *b, const char *what, uint32_t shard, uint32_t shards,
                       iiifs_error *e);

const iiifs_job *iiifs_batch_job(const iiifs_batch *b, uint32_t i);
/* A job's provenance string (label, attribution, rights), NULL when none. */
const char *iiifs_batch_text(const iiifs_batch *b, size_t off);
const char *iiifs_batch_name(const iiifs_batch *b, uint32_t i);
const char *iiifs_batch_source(const iiifs_batch *b, uint32_t i);
/* out_dir/NAME of job i (NAME alone when out_dir is NULL or ""). */
int iiifs_batch_path(const iiifs_batch *b, uint32_t i, const char *out_dir, char *out,
                     size_t cap);
void iiifs_batch_clear(iiifs_batch *b);     /* its buffers; safe twice */
/* Job i's provenance JSON into out (at least IIIFS_PROVENANCE_MAX bytes). */
int iiifs_batch_provenance(const iiifs_batch *b, uint32_t i, char *out, size_t cap);

/* One job of the list: skip it, or stitch it through c (o: the job
 * options, its source, output and description set here; desc: room for
 * the provenance). r is filled; the run is never stopped. */
void iiifs_batch_run_one(iiifs_client *c, const iiifs_batch *b, uint32_t i,
                         const char *out_dir, const iiifs_job_options *o,
                         iiifs_job_report *r, iiifs_result *res, iiifs_error *je, char *path,
                         size_t cap, char *desc, size_t desc_cap);

#endif
