/*
 * manifest.h — a batch from a IIIF Presentation manifest or collection
 * (2.x and 3.0): one job per canvas, its image service as the source.
 *
 * The document (a URL or a local file; a URL with o->tries tries after a
 * network failure or a 408, 429, 5xx as for images) is read whole (at most
 * IIIFS_MANIFEST_BYTES_MAX bytes and IIIFS_MANIFEST_TOKENS_MAX JSON tokens)
 * and recognised by its @type/type: sc:Manifest or Manifest, sc:Collection
 * or Collection; an image's info.json is an error saying so.
 *
 * Per canvas, the first painting image:
 *   v2: sequences[0].canvases[].images[].resource; an oa:Choice takes its
 *       default (else its first item), an oa:SpecificResource its full;
 *   v3: items[] (Canvas) .items[] (AnnotationPage) .items[] (Annotation)
 *       .body (object or array: the first); a Choice takes its first item,
 *       a SpecificResource its source; a body of another type (Video,
 *       Sound, Text) is not an image. A canvas with no embedded image and an
 *       annotation page given only by reference gets that page fetched
 *       (one at a time, with the document caps; not counted as a document).
 * A choice, more than one image on a canvas, and a canvas with no image
 * are warnings (through o->on_warning). The image service is the first
 * entry of .service (object or array) that is an Image API service (type
 * ImageService1/2/3, or an Image API @context or profile); its id or @id,
 * resolved against the document, is the job's source. Without one, a
 * resource id shaped like an Image API request (.../REGION/SIZE/ROTATION/
 * QUALITY.FORMAT) gives the service as its first part (digest 9.2); anything
 * else is an error naming the canvas.
 *
 * Labels (canvas and manifest): a string; a v2 {"@value", "@language"} or an
 * array of them (English first, then one without a language, then the
 * first); a v3 language map ("en" or "en-*", then "none", then "@none",
 * then the first language; several values joined with "; "). A v3 canvas
 * without a label is "p. N". Attribution: v2 attribution, v3
 * requiredStatement's value; rights: v3 rights, v2 license. Each is kept to
 * IIIFS_LABEL_MAX bytes, cut on a character boundary (a label that long is
 * never a file name anyway: names stop at IIIFS_NAME_MAX). A manifest
 * without a label is called by its document's last path segment (".json"
 * dropped).
 *
 * Selection: --canvas LIST (1-based positions in each manifest: "3",
 * "3-17", "1,4-6"), then --label REGEX (POSIX extended, anywhere in the
 * canvas label), then the batch limit. Names: a template of {label},
 * {index} (the canvas position, zero-padded to the width of the manifest's
 * canvas count), {manifest} (the manifest's label) and {{ }}; default
 * IIIFS_MANIFEST_NAME_DEFAULT.
 *
 * Collections: v2 manifests, collections and members; v3 items. A member
 * given whole is read in place, one given by reference is fetched (its id
 * resolved against the collection's), each document at most once, at most
 * IIIFS_MANIFEST_DEPTH_MAX collections deep and IIIFS_MANIFEST_COUNT_MAX
 * documents in all. Paged v2 collections (first/next) are not followed.
 */
#ifndef IIIFS_MANIFEST_H
#define IIIFS_MANIFEST_H

#include "batch.h"
#include "util.h"

#ifndef IIIFS_MANIFEST_BYTES_MAX
#define IIIFS_MANIFEST_BYTES_MAX (16u << 20)   /* one manifest or collection */
#endif
#ifndef IIIFS_MANIFEST_TOKENS_MAX
#define IIIFS_MANIFEST_TOKENS_MAX (1 << 20)    /* JSON tokens of one document */
#endif
#ifndef IIIFS_MANIFEST_DEPTH_MAX
#define IIIFS_MANIFEST_DEPTH_MAX 4             /* collections within collections */
#endif
#ifndef IIIFS_MANIFEST_COUNT_MAX
#define IIIFS_MANIFEST_COUNT_MAX 1000          /* documents read for one batch */
#endif
#ifndef IIIFS_LABEL_MAX
#define IIIFS_LABEL_MAX 1024                   /* bytes of a label, attribution, rights */
#endif
#ifndef IIIFS_CANVAS_RANGES_MAX
#define IIIFS_CANVAS_RANGES_MAX 64             /* ranges in --canvas */
#endif
#ifndef IIIFS_MANIFEST_BACKOFF_MAX_MS
#define IIIFS_MANIFEST_BACKOFF_MAX_MS 8000u    /* longest wait before fetching again */
#endif
#define IIIFS_MANIFEST_NAME_DEFAULT "{manifest}-{index}"

/* Fetch src (a URL, or a local file when it has no scheme) whole into body
 * (its limit is the cap), the final URL (after redirects) into final. */
typedef int (*iiifs_fetch_fn)(void *ud, const char *src, iiifs_buf *body, char *final,
                              size_t cap, iiifs_error *e);

typedef struct iiifs_manifest_spec {
    const char *source;             /* the manifest or collection */
    const char *label_re;           /* --label; NULL = every canvas */
    const char *canvases;           /* --canvas; NULL = every canvas */
    const char *name;               /* template; NULL = IIIFS_MANIFEST_NAME_DEFAULT */
    uint64_t limit;                 /* at most this many jobs; 0 = all */
    uint32_t shard, shards;         /* as in iiifs_batch_spec */
    const iiifs_options *o;         /* HTTP options and on_warning */
    iiifs_fetch_fn fetch;           /* NULL = HTTP(S) with o's options, or the file */
    void *fetch_ud;
} iiifs_manifest_spec;

/* 1 when body looks like a Presentation manifest or collection (a cheap
 * textual test for a top-level-looking @type/type), else 0. */
int iiifs_presentation_sniff(const char *body, size_t len);

typedef struct iiifs_canvas_ranges {
    uint32_t lo[IIIFS_CANVAS_RANGES_MAX], hi[IIIFS_CANVAS_RANGES_MAX];
    int n;                          /* 0 = every canvas */
} iiifs_canvas_ranges;

/* "3", "3-17", "1,4-6": IIIFS_E_USAGE naming what is wrong. */
int iiifs_canvas_ranges_parse(iiifs_canvas_ranges *r, const char *s, iiifs_error *e);
int iiifs_canvas_ranges_has(const iiifs_canvas_ranges *r, uint32_t index);

/* Check a manifest name template ({label}, {index}, {manifest}, {{ }}). */
int iiifs_manifest_name_check(const char *tmpl, iiifs_error *e);

/* Build the job list. */
int iiifs_batch_load_manifest(iiifs_batch *b, const iiifs_manifest_spec *spec,
                              iiifs_error *e);

#endif
