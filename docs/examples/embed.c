/*
 * embed.c — stitch one IIIF image from a program of your own, through the
 * public header alone. Build it against an installed library:
 *
 *     cc embed.c $(pkg-config --cflags --libs iiifstitch) -o embed
 *
 * usage: embed SOURCE OUT.tif [BANDS]
 *   SOURCE  an info.json URL, an image base URL or a local info.json
 *   BANDS   stop after this many bands (to show the progress callback
 *           cancelling the job); the output is then not written
 *
 * Ownership, as iiifstitch.h says: the client and the source are ours, freed
 * with their _free; the library keeps no pointer into the option structs
 * after a call returns; the strings it hands back live as long as the object
 * they come from.
 */
#include "iiifstitch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct watch {
    uint32_t stop_after;            /* bands; 0 = never stop */
    uint32_t calls;
} watch;

/* Called on this thread while the job runs; non-zero stops the job. */
static int on_progress(void *ud, const iiifs_progress *p)
{
    watch *w = ud;
    w->calls++;
    return w->stop_after && p->rows_done >= w->stop_after;
}

static void on_warning(void *ud, const char *msg)
{
    (void)ud;
    fprintf(stderr, "embed: warning: %s\n", msg);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: embed SOURCE OUT.tif [BANDS]\n");
        return 2;
    }
    watch w = { argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0, 0 };

    iiifs_client_options co;        /* zero: the defaults */
    memset(&co, 0, sizeof co);
    co.on_warning = on_warning;
    iiifs_client *c = NULL;
    iiifs_error e = { 0, "" };
    int rc = iiifs_client_new(&c, &co, &e);

    /* Resolve once: the document is kept in the source for the job. */
    iiifs_source *src = NULL;
    if (!rc)
        rc = iiifs_source_open(c, argv[1], &src, &e);
    if (!rc && iiifs_source_kind_of(src) != IIIFS_SOURCE_IMAGE)
        rc = iiifs_fail(&e, IIIFS_E_USAGE, "%s is a manifest or collection, not an image",
                        iiifs_source_name(src));

    iiifs_result r;
    if (!rc) {
        iiifs_job_options o;
        memset(&o, 0, sizeof o);
        o.src = src;
        o.output = argv[2];
        o.on_progress = on_progress;
        o.on_warning = on_warning;
        o.ud = &w;
        rc = iiifs_stitch(c, &o, &r, &e);
    }
    if (!rc)
        printf("%s: %llux%llu, %llu bytes, %u requests, %u progress calls\n", argv[2],
               (unsigned long long)r.width, (unsigned long long)r.height,
               (unsigned long long)r.file_bytes, r.requests, w.calls);
    else
        fprintf(stderr, "embed: %s\n", e.msg);
    iiifs_source_free(src);
    iiifs_client_free(c);
    return rc ? iiifs_exit_code(rc) : 0;
}
