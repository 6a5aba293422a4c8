/*
 * floor.c — the yardstick for benchmarks: stitch a static tile tree from
 * local files, through the same planner, decoder and TIFF writer as the
 * tool, with no network at all, on one thread.
 *
 * usage: floor TREE_DIR OUT.tif [deflate]
 */
#include "iiifstitch.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: floor TREE_DIR OUT.tif [deflate]\n");
        return 2;
    }
    char info[4096];
    size_t n = strlen(argv[1]);
    while (n > 1 && argv[1][n - 1] == '/')
        n--;
    if ((size_t)snprintf(info, sizeof info, "%.*s/info.json", (int)n, argv[1]) >= sizeof info) {
        fprintf(stderr, "floor: path too long\n");
        return 2;
    }
    iiifs_client_options co;
    memset(&co, 0, sizeof co);
    co.connections = 1;             /* one thread: decode and write, nothing else */
    iiifs_job_options o;
    memset(&o, 0, sizeof o);
    o.source = info;
    o.output = argv[2];
    o.compression = argc > 3 && !strcmp(argv[3], "deflate") ? IIIFS_COMPRESS_DEFLATE
                                                             : IIIFS_COMPRESS_NONE;
    iiifs_client *c = NULL;
    iiifs_result r;
    iiifs_error e = { 0, "" };
    int rc = iiifs_client_new(&c, &co, &e);
    if (!rc)
        rc = iiifs_stitch(c, &o, &r, &e);
    iiifs_client_free(c);
    if (rc) {
        fprintf(stderr, "floor: %s\n", e.msg);
        return iiifs_exit_code(rc);
    }
    return 0;
}
