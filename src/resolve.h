/*
 * resolve.h — what a SOURCE is, decided once, from the document itself
 * (iiifs_source in iiifstitch.h): fetched or read once and kept for the job
 * or the batch that uses it next.
 *
 *   a local path       a file, or a directory's info.json (a tile tree);
 *   a URL ending in    that document;
 *     .json (the last path segment)
 *   any other URL      URL/info.json; when that is missing or not an
 *                      image's info.json (and the trouble is not the
 *                      network), the URL itself: a server answers an image's
 *                      base URL with a redirect to its info.json, and a
 *                      manifest's URL with the manifest.
 *
 * A document that parses as an info.json (any version) is an image; one
 * whose root is a Presentation Manifest or Collection is that. Anything else
 * is the info.json's error (IIIFS_E_JSON, IIIFS_E_IIIF ...), for the address
 * tried first.
 */
#ifndef IIIFS_RESOLVE_H
#define IIIFS_RESOLVE_H

#include "fetch.h"
#include "info.h"

struct iiifs_source {
    iiifs_source_kind kind;
    int local;                      /* a local file: tiles are files too */
    char name[IIIFS_URL_MAX];       /* as given */
    char url[IIIFS_URL_MAX];        /* the document's address, after redirects */
    iiifs_info info;                /* IIIFS_SOURCE_IMAGE */
    iiifs_buf body;                 /* a manifest or collection's text */
    uint32_t requests, files;       /* what finding it cost: HTTP requests, files read */
    uint32_t retries;
    uint64_t bytes_in;
};

/* Resolve source through f (its http handle's counters and its own are
 * copied into the source). */
int iiifs_resolve(iiifs_fetcher *f, const char *source, iiifs_source **out, iiifs_error *e);

#endif
