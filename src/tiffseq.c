/*
 * tiffseq.c — see tiffseq.h.
 */
#include "tiffseq.h"

#include <string.h>

/* TIFF 6.0 field types, and BigTIFF's LONG8. */
enum { T_ASCII = 2, T_SHORT = 3, T_LONG = 4, T_UNDEFINED = 7, T_LONG8 = 16 };
enum { K_NUMBER, K_TEXT, K_BITS, K_OFFSETS, K_COUNTS };

#define IIIFS_TIFFSEQ_CHUNK 1024          /* bytes handed to the write callback at once */

static unsigned type_size(uint16_t type)
{
    return type == T_ASCII || type == T_UNDEFINED ? 1u : type == T_SHORT ? 2u : type == T_LONG ? 4u : 8u;
}

static void add(iiifs_tiffseq *t, uint16_t tag, uint16_t type, uint64_t count, uint64_t value,
                const char *text, int kind)
{
    iiifs_tiffseq_entry *en = &t->entries[t->nentries++];
    memset(en, 0, sizeof *en);
    en->tag = tag;
    en->type = type;
    en->count = count;
    en->value = value;
    en->text = text;
    en->kind = kind;
}

static int add_text(iiifs_tiffseq *t, uint16_t tag, const char *name, const char *text,
                    iiifs_error *e)
{
    if (!text)
        return 0;
    size_t n = strlen(text) + 1;
    if (n > IIIFS_TIFF_TAG_BYTES_MAX)
        return iiifs_fail(e, IIIFS_E_LIMIT, "TIFF tag %s: %zu bytes, over the cap of %d", name,
                          n, IIIFS_TIFF_TAG_BYTES_MAX);
    add(t, tag, T_ASCII, n, 0, text, K_TEXT);
    return 0;
}

/* One layout, classic or BigTIFF; the entries are in ascending tag order. */
static int layout(iiifs_tiffseq *t, int big, const iiifs_tiff_tags *tags, iiifs_error *e)
{
    uint16_t off_type = big ? T_LONG8 : T_LONG;
    t->big = big;
    t->nentries = 0;
    int rc = 0;
    add(t, 256, T_LONG, 1, t->width, NULL, K_NUMBER);              /* ImageWidth */
    add(t, 257, T_LONG, 1, t->height, NULL, K_NUMBER);             /* ImageLength */
    add(t, 258, T_SHORT, (uint64_t)t->channels, (uint64_t)t->bits, NULL, K_BITS);
                                                                   /* BitsPerSample */
    add(t, 259, T_SHORT, 1, (uint64_t)t->compression, NULL, K_NUMBER); /* Compression */
    add(t, 262, T_SHORT, 1, t->channels == 1 ? 1 : 2, NULL, K_NUMBER); /* Photometric */
    rc = rc ? rc : add_text(t, 269, "DocumentName", tags->document_name, e);
    rc = rc ? rc : add_text(t, 270, "ImageDescription", tags->description, e);
    add(t, 273, off_type, t->strips, 0, NULL, K_OFFSETS);          /* StripOffsets */
    add(t, 274, T_SHORT, 1, 1, NULL, K_NUMBER);                    /* Orientation: top left */
    add(t, 277, T_SHORT, 1, (uint64_t)t->channels, NULL, K_NUMBER); /* SamplesPerPixel */
    add(t, 278, T_LONG, 1, t->rows_per_strip, NULL, K_NUMBER);     /* RowsPerStrip */
    add(t, 279, off_type, t->strips, 0, NULL, K_COUNTS);           /* StripByteCounts */
    add(t, 284, T_SHORT, 1, 1, NULL, K_NUMBER);                    /* PlanarConfig: contig */
    rc = rc ? rc : add_text(t, 305, "Software", tags->software, e);
    rc = rc ? rc : add_text(t, 306, "DateTime", tags->datetime, e);
    rc = rc ? rc : add_text(t, 315, "Artist", tags->artist, e);
    if (t->compression == IIIFS_TIFFSEQ_DEFLATE && t->bits == 8)
        add(t, 317, T_SHORT, 1, 2, NULL, K_NUMBER);                /* Predictor: horizontal */
    rc = rc ? rc : add_text(t, 33432, "Copyright", tags->copyright, e);
    if (tags->icc && tags->icc_len > 4)                             /* InterColorProfile */
        add(t, 34675, T_UNDEFINED, tags->icc_len, 0, (const char *)tags->icc, K_TEXT);
    if (rc)
        return rc;

    uint64_t head = big ? 16 : 8;
    uint64_t entry = big ? 20 : 12;
    uint64_t inline_max = big ? 8 : 4;
    t->ifd_offset = head;
    uint64_t pos = head + (big ? 8 : 2) + (uint64_t)t->nentries * entry + (big ? 8 : 4);
    for (int i = 0; i < t->nentries; i++) {
        iiifs_tiffseq_entry *en = &t->entries[i];
        uint64_t bytes = en->count * type_size(en->type);
        if (bytes <= inline_max) {
            en->at = 0;
            continue;
        }
        en->at = pos;
        pos += bytes + (bytes & 1);
    }
    t->data_offset = pos;
    uint64_t raw = t->row_bytes * t->height;
    /* Deflate's worst (zlib's deflateBound): raw + raw/4096 + raw/16384 +
     * 13, and 6 bytes of zlib wrapper a strip; raw/64 + 64 a strip is above. */
    t->file_size = pos + raw +
                   (t->compression == IIIFS_TIFFSEQ_NONE ? 0 : raw / 64 + 64u * t->strips);
    return 0;
}

int iiifs_tiffseq_plan(iiifs_tiffseq *t, uint64_t width, uint64_t height, int channels,
                       int bits, uint32_t rows_per_strip, int force_big, int compression,
                       const iiifs_tiff_tags *tags, iiifs_error *e)
{
    memset(t, 0, sizeof *t);
    if (width == 0 || height == 0 || width > UINT32_MAX || height > UINT32_MAX ||
        (channels != 1 && channels != 3) || (bits != 8 && (bits != 1 || channels != 1)) ||
        rows_per_strip == 0 ||
        (compression != IIIFS_TIFFSEQ_NONE && compression != IIIFS_TIFFSEQ_DEFLATE))
        return iiifs_fail(e, IIIFS_E_INTERNAL, "TIFF stream: bad geometry %llux%llu, %d "
                          "channels, %u rows per strip", (unsigned long long)width,
                          (unsigned long long)height, channels, rows_per_strip);
    t->width = width;
    t->height = height;
    t->channels = channels;
    t->bits = bits;
    t->compression = compression;
    t->rows_per_strip = (uint32_t)IIIFS_MIN((uint64_t)rows_per_strip, height);
    t->strips = (uint32_t)IIIFS_CEIL_DIV(height, (uint64_t)t->rows_per_strip);
    t->row_bytes = bits == 1 ? (width + 7) / 8 : width * (uint64_t)channels;
    t->strip_bytes = t->row_bytes * t->rows_per_strip;
    int rc = layout(t, force_big, tags, e);
    if (!rc && !t->big && t->file_size > UINT32_MAX)
        rc = layout(t, 1, tags, e);
    return rc;
}

uint32_t iiifs_strip_rows(uint64_t height, uint32_t rps, uint32_t i)
{
    uint64_t first = (uint64_t)i * rps;
    return first >= height ? 0 : (uint32_t)IIIFS_MIN((uint64_t)rps, height - first);
}

/* ---- emitting: a small buffer in front of the callback, tracking the offset */

typedef struct out {
    iiifs_write_fn write;
    void *ud;
    uint8_t buf[IIIFS_TIFFSEQ_CHUNK];
    size_t n;
    uint64_t pos;
    int rc;
} out;

static void flush(out *o)
{
    if (o->n && !o->rc)
        o->rc = o->write(o->ud, o->buf, o->n);
    o->n = 0;
}

static void put(out *o, uint64_t v, unsigned bytes)   /* little-endian */
{
    if (o->n + bytes > sizeof o->buf)
        flush(o);
    for (unsigned i = 0; i < bytes; i++)
        o->buf[o->n++] = (uint8_t)(v >> (8 * i));
    o->pos += bytes;
}

static void put_bytes(out *o, const char *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        put(o, (uint8_t)p[i], 1);
}

/* The value of an entry, exactly count x type size bytes. */
static void put_value(out *o, const iiifs_tiffseq *t, const iiifs_tiffseq_entry *en)
{
    unsigned size = type_size(en->type);
    switch (en->kind) {
    case K_TEXT:
        put_bytes(o, en->text, en->count);      /* the NUL included */
        break;
    case K_BITS:
        for (uint64_t i = 0; i < en->count; i++)
            put(o, en->value, size);
        break;
    case K_OFFSETS:
    case K_COUNTS: {
        uint64_t at = t->data_offset;
        for (uint32_t i = 0; i < t->strips; i++) {
            uint64_t bytes = (uint64_t)iiifs_strip_rows(t->height, t->rows_per_strip, i) * t->row_bytes;
            if (t->compression != IIIFS_TIFFSEQ_NONE)
                bytes = t->counts ? t->counts[i] : 0;
            put(o, en->kind == K_OFFSETS ? (bytes ? at : 0) : bytes, size);
            at += bytes;
        }
        break;
    }
    default:
        put(o, en->value, size);
        break;
    }
}

int iiifs_tiffseq_write_head(const iiifs_tiffseq *t, iiifs_write_fn write, void *ud,
                             iiifs_error *e)
{
    out o;
    o.write = write;
    o.ud = ud;
    o.n = 0;
    o.pos = 0;
    o.rc = 0;
    unsigned word = t->big ? 8 : 4;
    put(&o, 'I' | ('I' << 8), 2);
    if (t->big) {
        put(&o, 43, 2);
        put(&o, 8, 2);                           /* bytes per offset */
        put(&o, 0, 2);
    } else {
        put(&o, 42, 2);
    }
    put(&o, t->ifd_offset, word);
    put(&o, (uint64_t)t->nentries, t->big ? 8 : 2);
    for (int i = 0; i < t->nentries; i++) {
        const iiifs_tiffseq_entry *en = &t->entries[i];
        put(&o, en->tag, 2);
        put(&o, en->type, 2);
        put(&o, en->count, word);
        if (en->at) {
            put(&o, en->at, word);
        } else {
            uint64_t end = o.pos + word;
            put_value(&o, t, en);
            while (o.pos < end)
                put(&o, 0, 1);
        }
    }
    put(&o, 0, word);                            /* no next IFD */
    for (int i = 0; i < t->nentries; i++) {
        const iiifs_tiffseq_entry *en = &t->entries[i];
        if (!en->at)
            continue;
        if (o.pos != en->at) {
            flush(&o);
            return iiifs_fail(e, IIIFS_E_INTERNAL, "TIFF stream: tag %u at %llu, planned %llu",
                              en->tag, (unsigned long long)o.pos, (unsigned long long)en->at);
        }
        put_value(&o, t, en);
        if (o.pos & 1)
            put(&o, 0, 1);
    }
    flush(&o);
    if (o.rc)
        return o.rc;
    if (o.pos != t->data_offset)
        return iiifs_fail(e, IIIFS_E_INTERNAL, "TIFF stream: head of %llu bytes, planned %llu",
                          (unsigned long long)o.pos, (unsigned long long)t->data_offset);
    return 0;
}
