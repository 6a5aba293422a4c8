/*
 * sink.h — where the bands go: a striped TIFF through libtiff on a file, or
 * a stream written front to back (a sequential uncompressed TIFF, or PNM).
 *
 * The output kind is decided from the path before the first pixel:
 *   - "-" (stdout), or an existing path that is not a regular file (a FIFO,
 *     a character device): a stream, written straight through, no .part
 *     and nothing to rename; uncompressed TIFF (tiffseq.h) or PNM;
 *   - any other path: written as PATH.part; iiifs_sink_commit closes,
 *     fsyncs and renames it to PATH; iiifs_sink_abort removes the .part.
 *     A reader never sees a half-written file under the final name. TIFF
 *     goes through libtiff (every codec below, BigTIFF), PNM front to back.
 * A stream that fails half way stays short: its reader sees the end early,
 * and the exit code says why.
 *
 * A file that may be continued (--resume: uncompressed or deflate TIFF, or
 * PNM) is written by our own front-to-back writer instead of libtiff: the
 * head first (tiffseq.h), then the strips back to back, each one synced and
 * recorded in PATH.part.resume (resume.h) as it completes. A deflate strip
 * is compressed as it comes, through zlib in IIIFS_DEFLATE_CHUNK pieces,
 * the predictor applied in place; the head is written again at commit with
 * the strips' sizes. Continuing checks that the head this run would write
 * is the one in the .part, cuts the .part after the last recorded strip and
 * goes on from there, so the file is the same, byte for byte, as one never
 * interrupted. On failure the .part and its state are kept.
 *
 * Through libtiff, one band (rows_per_strip rows, fewer for the last) is one
 * strip, written with one TIFFWriteEncodedStrip call: libtiff keeps no copy
 * of its own. A stream's TIFF has strips of at most IIIFS_TIFFSEQ_STRIP_BYTES
 * whatever the bands: uncompressed, the rows simply follow one another.
 * The exception is JPEG with a band height that is not a multiple of the
 * JPEG block rows (16 for YCbCr 4:2:0, 8 for gray): the strips are then
 * that many rows and the band goes in scanline by scanline.
 */
#ifndef IIIFS_SINK_H
#define IIIFS_SINK_H

#include "port.h"
#include "tiffseq.h"
#include "util.h"

/* zstd's own default level. libtiff's default, 9, took 2.7 times as long for
 * 5 % less on the bench image (docs/benchmarks.md). */
#ifndef IIIFS_ZSTD_LEVEL
#define IIIFS_ZSTD_LEVEL 3
#endif

/*
 * The TIFF codecs the sink writes, the only list of them: anything that
 * must know which libtiff codecs are needed (the static executable's codec
 * table, boards/tiff_codecs.c; --help; the option parser) follows it.
 *   X(NAME, TIFF Compression tag value, option name, horizontal predictor,
 *     libtiff's codec name, libtiff's init function, in the static build)
 * NAME pastes into IIIFS_COMPRESS_NAME; the values are those of tiff.h
 * (COMPRESSION_NONE, _ADOBE_DEFLATE, _LZW, _ZSTD, _JPEG). The static
 * executable carries the codecs marked 1 only: zstd and JPEG would bring
 * libzstd and libjpeg's encoder (docs/boards.md); there, asking for them is
 * the usual "this build's libtiff has no ... codec" usage error.
 */
#define IIIFS_TIFF_CODECS(X)                                                \
    X(NONE, 1, "none", 0, "None", TIFFInitDumpMode, 1)                      \
    X(DEFLATE, 8, "deflate", 1, "AdobeDeflate", TIFFInitZIP, 1)             \
    X(LZW, 5, "lzw", 1, "LZW", TIFFInitLZW, 1)                              \
    X(ZSTD, 50000, "zstd", 1, "ZSTD", TIFFInitZSTD, 0)                      \
    X(JPEG, 7, "jpeg", 0, "JPEG", TIFFInitJPEG, 0)

/* iiifs_compression_parse, _name and _names (iiifstitch.h) follow this list. */
/* 1 when path is written as a stream: "-" or an existing non-regular file. */
int iiifs_sink_is_stream(const char *path);

#ifndef IIIFS_UNEVEN_STRIP_ROWS
#define IIIFS_UNEVEN_STRIP_ROWS 16u /* rows per strip when bands are uneven: a multiple
                                       of JPEG's 16-row unit; libtiff holds one strip */
#endif

#ifndef IIIFS_DEFLATE_LEVEL
#define IIIFS_DEFLATE_LEVEL 1             /* our own writer's zlib level: on the bench image
                                             1.3 % larger than level 6 in 42 % of the time,
                                             and faster than libtiff's libdeflate at 6
                                             (docs/benchmarks.md) */
#endif
#ifndef IIIFS_DEFLATE_CHUNK
#define IIIFS_DEFLATE_CHUNK (64u << 10)   /* compressed bytes written at once */
#endif
#ifndef IIIFS_RESUME_STRIPS_MAX
#define IIIFS_RESUME_STRIPS_MAX (1u << 20)  /* strips of a file that can be continued */
#endif

#ifndef IIIFS_BITONAL_THRESHOLD
#define IIIFS_BITONAL_THRESHOLD 128u
#endif

typedef struct iiifs_sink_spec {
    uint64_t width, height;
    int channels;               /* 1 or 3, 8 bits each */
    uint32_t rows_per_strip;
    iiifs_output_format format;
    iiifs_compression compression;
    int jpeg_quality;           /* 1..100; 0 = IIIFS_JPEG_QUALITY_DEFAULT */
    int bigtiff;                /* force BigTIFF */
    int bitonal;                /* one channel, written 1 bit per pixel: white where
                                   the 8-bit value is >= IIIFS_BITONAL_THRESHOLD */
    int uneven;                 /* writes come in any number of rows (a crop or a
                                   rotation): files get IIIFS_UNEVEN_STRIP_ROWS strips,
                                   written row by row */
    iiifs_tiff_tags tags;
    int resume;                 /* write with our own writer, continued from rstate */
    struct iiifs_resume *rstate; /* the state: continued when it was found (it is started
                                    or rewritten) */
    uint64_t resume_key;        /* what the job is, for the state */
    uint32_t resume_band;       /* the band the job starts at (missing tiles of
                                   earlier bands stay in the state) */
} iiifs_sink_spec;

typedef struct iiifs_sink {
    void *tif;                  /* TIFF *, when written through libtiff */
    port_file file;
    int stream;                 /* stdout or a non-regular file: no .part */
    int own_file;               /* the sink opened file (not stdout) */
    int scanlines;              /* JPEG with odd bands: row by row */
    int big;                    /* BigTIFF */
    uint32_t strip;
    uint64_t row;               /* rows written */
    uint64_t row_bytes;
    uint64_t planned;           /* stream and PNM: the bytes the file will have */
    iiifs_tiffseq seq;          /* the sequential TIFF's layout */
    int own;                    /* a file written by our own writer (--resume) */
    void *z;                    /* its deflate stream (z_stream *) */
    uint8_t *zbuf;              /* IIIFS_DEFLATE_CHUNK bytes of compressed output */
    uint64_t *counts;           /* bytes of each strip */
    uint32_t strips;            /* the file's strips */
    uint32_t rps;               /* rows per strip */
    uint32_t strip_rows;        /* rows in the current strip so far */
    uint64_t strip_bytes;       /* bytes of the current strip so far */
    uint64_t head;              /* bytes before the first pixel */
    uint64_t kept_rows;         /* rows found in the .part when continuing */
    char software[64], datetime[24];   /* the spec's, copied: the head is written again
                                          at commit */
    iiifs_sink_spec spec;
    char path[IIIFS_PATH_MAX], part[IIIFS_PATH_MAX + 8];
    const char *name;           /* for messages: the .part, the path or "stdout" */
    char tiff_error[256];       /* last message from libtiff's handlers */
    uint64_t bytes;             /* written so far (streams), the file's size after commit */
} iiifs_sink;

/* The output settings of spec alone (format, compression, jpeg_quality,
 * bitonal, bigtiff, tags, resume) for path, before any fetching: a codec
 * this libtiff lacks, a codec or resume on a stream, tag lengths.
 * IIIFS_E_USAGE. */
int iiifs_sink_check(const char *path, const iiifs_sink_spec *spec, iiifs_error *e);
int iiifs_sink_open(iiifs_sink *s, const char *path, const iiifs_sink_spec *spec,
                    iiifs_error *e);
/* Write the next rows: rows_per_strip, or what is left for the last strip;
 * any number for uneven writes and our own writer. A continued file starts
 * at row kept_rows. The rows may be changed (packed, the predictor). */
int iiifs_sink_write(iiifs_sink *s, uint8_t *rows, uint32_t nrows, iiifs_error *e);
int iiifs_sink_commit(iiifs_sink *s, iiifs_error *e);
void iiifs_sink_abort(iiifs_sink *s);   /* safe after commit and twice */

/* Is the TIFF at path complete? A cheap check, for skipping finished work:
 * libtiff reads its first directory, which has a width, a height and strips
 * (not tiles), and every strip has a non-zero byte count and lies inside the
 * file. 1: complete; 0: no such file; negative (why in e): a file that is not
 * a complete TIFF. Pixels are not decoded. */
int iiifs_sink_check_complete(const char *path, iiifs_error *e);
/* The same, with the image's size when complete (w, h may be NULL). */
int iiifs_sink_check_complete_size(const char *path, uint32_t *w, uint32_t *h, iiifs_error *e);

#endif
