/*
 * manifest.h — a batch from a IIIF Presentation manifest or collection: one
 * job per canvas with an image (presentation.h reads the documents), its
 * image service as the source.
 *
 * Selection: --canvas LIST (1-based positions in each manifest: "3",
 * "3-17", "1,4-6"), then --label REGEX (POSIX extended, anywhere in the
 * canvas label), then the batch limit, which stops the reading. Names: a
 * template of {label}, {index} (the canvas position, zero-padded to the
 * width of the manifest's canvas count), {manifest} (the manifest's label)
 * and {{ }}; default IIIFS_MANIFEST_NAME_DEFAULT. A job's record is the
 * canvas's position and its line 0; label, attribution and rights go into
 * its provenance.
 */
#ifndef IIIFS_MANIFEST_H
#define IIIFS_MANIFEST_H

#include "batch.h"
#include "presentation.h"

#ifndef IIIFS_CANVAS_RANGES_MAX
#define IIIFS_CANVAS_RANGES_MAX 64             /* ranges in --canvas */
#endif
#define IIIFS_MANIFEST_NAME_DEFAULT "{manifest}-{index}"

typedef struct iiifs_canvas_ranges {
    uint32_t lo[IIIFS_CANVAS_RANGES_MAX], hi[IIIFS_CANVAS_RANGES_MAX];
    int n;                          /* 0 = every canvas */
} iiifs_canvas_ranges;

/* "3", "3-17", "1,4-6": IIIFS_E_USAGE naming what is wrong. */
int iiifs_canvas_ranges_parse(iiifs_canvas_ranges *r, const char *s, iiifs_error *e);
int iiifs_canvas_ranges_has(const iiifs_canvas_ranges *r, uint32_t index);

/* Check a manifest name template ({label}, {index}, {manifest}, {{ }}). */
int iiifs_manifest_name_check(const char *tmpl, iiifs_error *e);

/* Build the job list of spec->manifest through client c (the documents it
 * refers to are fetched under the client's rules). */
int iiifs_batch_load_manifest(iiifs_client *c, iiifs_batch *b, const iiifs_batch_spec *spec,
                              iiifs_error *e);
/* The same from the first document's text body, read from src, the others
 * through fetch. */
int iiifs_batch_load_document(iiifs_batch *b, const iiifs_batch_spec *spec, const char *src,
                              const iiifs_buf *body, iiifs_fetch_fn fetch, void *fetch_ud,
                              iiifs_error *e);

#endif
