/*
 * tiffseq.h — the layout of a striped TIFF written front to back: for
 * outputs that cannot seek (stdout, a pipe), and for files that can be
 * continued after an interruption (--resume).
 *
 * Everything but the pixels comes first: header, one IFD, the out-of-line
 * values (BitsPerSample, the strings, StripOffsets, StripByteCounts), then
 * the strips back to back. Uncompressed strips have known sizes, so every
 * offset is known before the first pixel. Deflate strips (Adobe Deflate,
 * horizontal predictor on 8-bit samples) do not: the head goes out with the
 * strip arrays zeroed, and is written again, same size, once the caller
 * knows the strips' byte counts (t->counts).
 * iiifs_tiffseq_plan computes it; iiifs_tiffseq_write_head sends everything
 * before the first pixel through a write callback, in small pieces (the
 * strip arrays are generated, never held); the caller then writes the rows.
 *
 * Classic TIFF (version 42, 4-byte offsets) unless the file would pass
 * 4 GiB or BigTIFF is asked for: then version 43 with 8-byte offsets and
 * LONG8 strip arrays. Little-endian, every out-of-line value at an even
 * offset (TIFF 6.0 section 2).
 */
#ifndef IIIFS_TIFFSEQ_H
#define IIIFS_TIFFSEQ_H

#include "util.h"

#ifndef IIIFS_TIFF_TAG_BYTES_MAX
#define IIIFS_TIFF_TAG_BYTES_MAX 8192     /* one ASCII tag value, NUL included */
#endif
#ifndef IIIFS_TIFFSEQ_STRIP_BYTES
#define IIIFS_TIFFSEQ_STRIP_BYTES (64u << 10)  /* a stream's strips: at most this, or 1 row */
#endif
#define IIIFS_TIFFSEQ_ENTRIES_MAX 20      /* IFD entries the writer can emit */
#define IIIFS_TIFFSEQ_NONE 1              /* Compression tag values written */
#define IIIFS_TIFFSEQ_DEFLATE 8

typedef struct iiifs_tiff_tags {
    const char *software, *document_name, *datetime;   /* NULL: left out */
    const char *artist, *copyright, *description;
    const uint8_t *icc;         /* an ICC profile (InterColorProfile), icc_len bytes */
    size_t icc_len;
} iiifs_tiff_tags;

typedef struct iiifs_tiffseq_entry {
    uint16_t tag, type;
    uint64_t count;
    uint64_t value;             /* a SHORT or LONG value (kind 0) */
    const char *text;           /* an ASCII value (kind 1) */
    int kind;                   /* 0 number, 1 text, 2 BitsPerSample, 3 offsets, 4 counts */
    uint64_t at;                /* file offset of an out-of-line value; 0 inline */
} iiifs_tiffseq_entry;

typedef struct iiifs_tiffseq {
    uint64_t width, height;
    int channels;               /* 1 or 3 */
    int bits;                   /* 8, or 1 for one bitonal channel (packed, MSB first) */
    uint32_t rows_per_strip;
    int compression;            /* IIIFS_TIFFSEQ_NONE or _DEFLATE */
    int big;                    /* BigTIFF */
    uint32_t strips;
    uint64_t row_bytes, strip_bytes;   /* a full strip; the last may be shorter */
    uint64_t ifd_offset;
    uint64_t data_offset;       /* the first pixel: bytes written by write_head */
    uint64_t file_size;         /* deflate: the most it can be */
    const uint64_t *counts;     /* deflate: each strip's bytes, once known (not owned);
                                   NULL: written as zeros */
    int nentries;
    iiifs_tiffseq_entry entries[IIIFS_TIFFSEQ_ENTRIES_MAX];
} iiifs_tiffseq;

/* Lay the file out; force_big asks for BigTIFF whatever the size; compression
 * is IIIFS_TIFFSEQ_NONE or _DEFLATE. The tag strings are referenced, not
 * copied: they must outlive write_head. */
int iiifs_tiffseq_plan(iiifs_tiffseq *t, uint64_t width, uint64_t height, int channels,
                       int bits, uint32_t rows_per_strip, int force_big, int compression,
                       const iiifs_tiff_tags *tags, iiifs_error *e);
/* Rows in strip i of an image height rows tall in strips of rps rows (the
 * last may be short; 0 past the end). */
uint32_t iiifs_strip_rows(uint64_t height, uint32_t rps, uint32_t i);

/* Returns 0 or a negative iiifs_status; must write all n bytes. */
typedef int (*iiifs_write_fn)(void *ud, const void *p, size_t n);

/* Everything before the first pixel: exactly t->data_offset bytes. */
int iiifs_tiffseq_write_head(const iiifs_tiffseq *t, iiifs_write_fn write, void *ud,
                             iiifs_error *e);

#endif
