/*
 * presentation.h — IIIF Presentation manifests and collections (2.x and
 * 3.0): every canvas's image service, label and rights, handed to the
 * caller one canvas at a time.
 *
 * A document is recognised by its @type/type: sc:Manifest or Manifest,
 * sc:Collection or Collection; an image's info.json is an error saying so.
 * Documents are read whole (at most IIIFS_MANIFEST_BYTES_MAX bytes and
 * IIIFS_MANIFEST_TOKENS_MAX JSON tokens) through the caller's fetch.
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
 * are warnings. The image service is the first entry of .service (object
 * or array) that is an Image API service (type ImageService1/2/3, or an
 * Image API @context, profile or dcterms:conformsTo); its id or @id,
 * resolved against the document, is the canvas's source. Without one, a
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
 * IIIFS_LABEL_MAX bytes, cut on a character boundary. A manifest without a
 * label is called by its document's last path segment (".json" dropped).
 *
 * Collections: v2 manifests, collections and members; v3 items. A member
 * given whole is read in place, one given by reference is fetched (its id
 * resolved against the collection's) after the collection itself is let
 * go, each document at most once, at most IIIFS_MANIFEST_DEPTH_MAX
 * collections deep and IIIFS_MANIFEST_COUNT_MAX documents in all. Paged v2
 * collections (first/next) are not followed.
 */
#ifndef IIIFS_PRESENTATION_H
#define IIIFS_PRESENTATION_H

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

/* Fetch src (a URL, or a local file when it has no scheme) whole into body
 * (its limit is the cap), the final URL (after redirects) into final. */
typedef int (*iiifs_fetch_fn)(void *ud, const char *src, iiifs_buf *body, char *final,
                              size_t cap, iiifs_error *e);

/* One canvas with an image. The strings live until the callback returns. */
typedef struct iiifs_canvas {
    uint32_t index;                 /* 1-based position in its manifest */
    uint32_t count;                 /* canvases in its manifest */
    const char *label;              /* its label, or "p. N" */
    const char *manifest;           /* the manifest's label */
    const char *attribution, *rights;   /* the manifest's, "" when none */
    const char *source;             /* the image service (or its base URL) */
    const char *doc;                /* the manifest document, for messages */
} iiifs_canvas;

typedef struct iiifs_walk {
    iiifs_fetch_fn fetch;           /* every document but the first */
    void *fetch_ud;
    /* Look at canvas index (label) at all? 1 yes. NULL: every canvas. */
    int (*want)(void *ud, uint32_t index, const char *label);
    /* A canvas with its image: 0 go on, 1 stop (enough), <0 fail (e set). */
    int (*on_canvas)(void *ud, const iiifs_canvas *c, iiifs_error *e);
    void *ud;                       /* for want and on_canvas */
    void (*on_warning)(void *ud, const char *msg);
    void *warn_ud;
    /* counted by the walk */
    uint64_t canvases;              /* canvases seen, wanted or not */
    uint32_t manifests;             /* manifests read */
} iiifs_walk;

/* Walk the document body (read from src, its final address final) and
 * whatever it refers to. */
int iiifs_presentation_walk(iiifs_walk *w, const char *final, const iiifs_buf *body,
                            iiifs_error *e);

/* 1 when body looks like a Presentation manifest or collection (a cheap
 * textual test for a top-level-looking @type/type), else 0. */
int iiifs_presentation_sniff(const char *body, size_t len);
/* Its kind, from the parsed document: 1 manifest, 2 collection, 0 neither. */
int iiifs_presentation_kind(const char *body, size_t len);

#endif
