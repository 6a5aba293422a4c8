/*
 * sink.h — the striped TIFF writer, through libtiff on port files.
 *
 * The file is written as PATH.part; iiifs_sink_commit closes, fsyncs and
 * renames it to PATH. iiifs_sink_abort removes the .part. A reader never
 * sees a half-written file under the final name.
 *
 * One band (rows_per_strip rows, fewer for the last) is one strip, written
 * with one TIFFWriteEncodedStrip call: libtiff keeps no copy of its own.
 */
#ifndef IIIFS_SINK_H
#define IIIFS_SINK_H

#include "port.h"
#include "util.h"

typedef struct iiifs_sink_spec {
    uint64_t width, height;
    int channels;               /* 1 or 3, 8 bits each */
    uint32_t rows_per_strip;
    iiifs_compression compression;
    const char *software, *document_name;
} iiifs_sink_spec;

typedef struct iiifs_sink {
    void *tif;                  /* TIFF * */
    port_file file;
    uint32_t strip;
    uint64_t row_bytes;
    iiifs_sink_spec spec;
    char path[IIIFS_PATH_MAX], part[IIIFS_PATH_MAX + 8];
    char tiff_error[256];       /* last message from libtiff's handlers */
    uint64_t bytes;
} iiifs_sink;

int iiifs_sink_open(iiifs_sink *s, const char *path, const iiifs_sink_spec *spec,
                    iiifs_error *e);
/* Write the next rows (rows_per_strip, or what is left for the last strip). */
int iiifs_sink_write(iiifs_sink *s, const uint8_t *rows, uint32_t nrows, iiifs_error *e);
int iiifs_sink_commit(iiifs_sink *s, iiifs_error *e);
void iiifs_sink_abort(iiifs_sink *s);   /* safe after commit and twice */

/* Is the TIFF at path complete? A cheap check, for skipping finished work:
 * libtiff reads its first directory, which has a width, a height and strips
 * (not tiles), and every strip has a non-zero byte count and lies inside the
 * file. 1: complete; 0: no such file; negative (why in e): a file that is not
 * a complete TIFF. Pixels are not decoded. */
int iiifs_sink_check_complete(const char *path, iiifs_error *e);

#endif
