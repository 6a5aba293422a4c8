/* test_tiffseq.c — the sequential TIFF's layout (classic and BigTIFF, and the
 * deflate head written twice), read back field by field. */
#include "unit.h"
#include "sink.h"
#include "tiffseq.h"
#include <string.h>

typedef struct mem {
    uint8_t p[8192];
    size_t n;
} mem;

static int mem_write(void *ud, const void *p, size_t n)
{
    mem *m = ud;
    if (m->n + n > sizeof m->p)
        return IIIFS_E_LIMIT;
    memcpy(m->p + m->n, p, n);
    m->n += n;
    return 0;
}

static uint64_t le(const mem *m, uint64_t at, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && at + i < m->n; i++)
        v |= (uint64_t)m->p[at + i] << (8 * i);
    return v;
}

/* The entry for tag, from the IFD in m: type, count and where its value is
 * (inline in the entry, or the offset it names). 0 when absent. */
static int find(const mem *m, int big, uint16_t tag, uint16_t *type, uint64_t *count,
                uint64_t *value_at)
{
    unsigned word = big ? 8 : 4;
    uint64_t ifd = le(m, big ? 8 : 4, word);
    uint64_t n = le(m, ifd, big ? 8 : 2);
    uint64_t at = ifd + (big ? 8 : 2);
    uint64_t entry = big ? 20 : 12;
    for (uint64_t i = 0; i < n; i++, at += entry) {
        if (le(m, at, 2) != tag)
            continue;
        *type = (uint16_t)le(m, at + 2, 2);
        *count = le(m, at + 4, word);
        unsigned size = *type == 2 ? 1 : *type == 3 ? 2 : *type == 4 ? 4 : 8;
        *value_at = *count * size <= word ? at + 4 + word : le(m, at + 4 + word, word);
        return 1;
    }
    return 0;
}

/* Tags ascend, every out-of-line value sits at an even offset inside the head. */
static void check_ifd_order(const mem *m, int big)
{
    unsigned word = big ? 8 : 4;
    uint64_t ifd = le(m, big ? 8 : 4, word);
    uint64_t n = le(m, ifd, big ? 8 : 2);
    uint64_t at = ifd + (big ? 8 : 2), last = 0;
    for (uint64_t i = 0; i < n; i++, at += big ? 20 : 12) {
        uint64_t tag = le(m, at, 2);
        CHECK(tag > last);
        last = tag;
    }
    CHECK(le(m, at, word) == 0); /* no next IFD */
}

static const iiifs_tiff_tags tags = { "iiifstitch test", "https://h/iiif/x/info.json",
                                      "2026:12:01 10:20:30", "An Artist", NULL, "desc",
                                      NULL, 0 };

static void check_strips(const iiifs_tiffseq *t, const mem *m, int big, uint64_t row_bytes,
                         uint32_t rps, uint64_t height)
{
    uint16_t type;
    uint64_t count, off_at, cnt_at;
    uint32_t strips = (uint32_t)((height + rps - 1) / rps);
    CHECK(find(m, big, 273, &type, &count, &off_at));
    CHECK(type == (big ? 16 : 4) && count == strips);
    CHECK(find(m, big, 279, &type, &count, &cnt_at));
    CHECK(type == (big ? 16 : 4) && count == strips);
    uint64_t expect = t->data_offset, total = 0;
    for (uint32_t i = 0; i < strips; i++) {
        uint64_t rows = height - (uint64_t)i * rps < rps ? height - (uint64_t)i * rps : rps;
        CHECK(le(m, off_at + (uint64_t)i * (big ? 8 : 4), big ? 8 : 4) == expect);
        CHECK(le(m, cnt_at + (uint64_t)i * (big ? 8 : 4), big ? 8 : 4) == rows * row_bytes);
        expect += rows * row_bytes;
        total += rows * row_bytes;
    }
    CHECK(t->file_size == t->data_offset + total);
    CHECK(expect == t->file_size);
}

static void check_text(const mem *m, int big, uint16_t tag, const char *want)
{
    uint16_t type;
    uint64_t count, at;
    CHECK(find(m, big, tag, &type, &count, &at));
    CHECK(type == 2 && count == strlen(want) + 1);
    CHECK(at + count <= m->n && !memcmp(m->p + at, want, count));
    CHECK(count <= (big ? 8u : 4u) || at % 2 == 0);
}

TEST(test_tiffseq_classic_layout_offsets_and_tags)
{
    iiifs_tiffseq t;
    iiifs_error e = { 0, "" };
    mem m;
    m.n = 0;
    /* 10x5 RGB in strips of 2 rows: 60, 60 and 30 bytes */
    CHECK(iiifs_tiffseq_plan(&t, 10, 5, 3, 8, 2, 0, IIIFS_TIFFSEQ_NONE, &tags, &e) == 0);
    CHECK(!t.big && t.strips == 3);
    CHECK(iiifs_tiffseq_write_head(&t, mem_write, &m, &e) == 0);
    CHECK(m.n == t.data_offset);
    CHECK(m.p[0] == 'I' && m.p[1] == 'I' && le(&m, 2, 2) == 42 && le(&m, 4, 4) == 8);
    check_ifd_order(&m, 0);
    check_strips(&t, &m, 0, 30, 2, 5);
    uint16_t type;
    uint64_t count, at;
    CHECK(find(&m, 0, 258, &type, &count, &at) && type == 3 && count == 3);
    CHECK(at % 2 == 0 && le(&m, at, 2) == 8 && le(&m, at + 2, 2) == 8 && le(&m, at + 4, 2) == 8);
    CHECK(find(&m, 0, 259, &type, &count, &at) && le(&m, at, 2) == 1);   /* no compression */
    CHECK(find(&m, 0, 262, &type, &count, &at) && le(&m, at, 2) == 2);   /* RGB */
    CHECK(find(&m, 0, 277, &type, &count, &at) && le(&m, at, 2) == 3);
    CHECK(find(&m, 0, 278, &type, &count, &at) && le(&m, at, 4) == 2);
    CHECK(find(&m, 0, 284, &type, &count, &at) && le(&m, at, 2) == 1);
    CHECK(find(&m, 0, 256, &type, &count, &at) && le(&m, at, 4) == 10);
    CHECK(find(&m, 0, 257, &type, &count, &at) && le(&m, at, 4) == 5);
    check_text(&m, 0, 305, tags.software);
    check_text(&m, 0, 269, tags.document_name);
    check_text(&m, 0, 306, tags.datetime);
    check_text(&m, 0, 315, tags.artist);
    check_text(&m, 0, 270, tags.description);
    CHECK(!find(&m, 0, 33432, &type, &count, &at));                    /* no Copyright */
}

TEST(test_tiffseq_bigtiff_layout_offsets_and_tags)
{
    iiifs_tiffseq t;
    iiifs_error e = { 0, "" };
    mem m;
    m.n = 0;
    /* gray 7x9 in strips of 4 rows: 28, 28, 7 bytes; BigTIFF asked for */
    CHECK(iiifs_tiffseq_plan(&t, 7, 9, 1, 8, 4, 1, IIIFS_TIFFSEQ_NONE, &tags, &e) == 0);
    CHECK(t.big && t.strips == 3);
    CHECK(iiifs_tiffseq_write_head(&t, mem_write, &m, &e) == 0);
    CHECK(m.n == t.data_offset);
    CHECK(le(&m, 2, 2) == 43 && le(&m, 4, 2) == 8 && le(&m, 6, 2) == 0 && le(&m, 8, 8) == 16);
    check_ifd_order(&m, 1);
    check_strips(&t, &m, 1, 7, 4, 9);
    uint16_t type;
    uint64_t count, at;
    CHECK(find(&m, 1, 262, &type, &count, &at) && le(&m, at, 2) == 1);   /* min-is-black */
    CHECK(find(&m, 1, 258, &type, &count, &at) && count == 1 && le(&m, at, 2) == 8);
    check_text(&m, 1, 306, tags.datetime);
    check_text(&m, 1, 305, tags.software);
}

TEST(test_tiffseq_one_strip_is_inline)
{
    iiifs_tiffseq t;
    iiifs_error e = { 0, "" };
    mem m;
    m.n = 0;
    iiifs_tiff_tags none;
    memset(&none, 0, sizeof none);
    /* rows per strip above the height: one strip of 3 rows, its offset and
     * count inside the IFD entries */
    CHECK(iiifs_tiffseq_plan(&t, 4, 3, 3, 8, 256, 0, IIIFS_TIFFSEQ_NONE, &none, &e) == 0);
    CHECK(t.strips == 1 && t.rows_per_strip == 3);
    CHECK(iiifs_tiffseq_write_head(&t, mem_write, &m, &e) == 0);
    check_strips(&t, &m, 0, 12, 3, 3);
    CHECK(t.file_size == t.data_offset + 36);
}

TEST(test_tiffseq_bigtiff_when_past_4gib)
{
    iiifs_tiffseq t;
    iiifs_error e = { 0, "" };
    iiifs_tiff_tags none;
    memset(&none, 0, sizeof none);
    /* 65536 x 21845 RGB is 4,294,901,760 bytes of pixels: with the head
     * the file still fits in 4 GiB; one row more does not */
    CHECK(iiifs_tiffseq_plan(&t, 65536, 21845, 3, 8, 256, 0, IIIFS_TIFFSEQ_NONE, &none, &e) == 0);
    CHECK(!t.big && t.file_size <= 0xFFFFFFFFull);
    CHECK(iiifs_tiffseq_plan(&t, 65536, 21846, 3, 8, 256, 0, IIIFS_TIFFSEQ_NONE, &none, &e) == 0);
    CHECK(t.big && t.file_size > 0xFFFFFFFFull);
    CHECK(iiifs_tiffseq_plan(&t, 0, 10, 3, 8, 256, 0, IIIFS_TIFFSEQ_NONE, &none, &e) == IIIFS_E_INTERNAL);
}

TEST(test_tiffseq_write_failure_is_returned)
{
    iiifs_tiffseq t;
    iiifs_error e = { 0, "" };
    mem m;
    /* a head larger than the buffer: the callback's error comes back */
    static char big_text[IIIFS_TIFF_TAG_BYTES_MAX];
    memset(big_text, 'x', sizeof big_text - 1);
    big_text[sizeof big_text - 1] = 0;
    iiifs_tiff_tags g = tags;
    g.description = big_text;
    CHECK(iiifs_tiffseq_plan(&t, 10, 5, 3, 8, 2, 0, IIIFS_TIFFSEQ_NONE, &g, &e) == 0);
    m.n = sizeof m.p - 100;
    CHECK(iiifs_tiffseq_write_head(&t, mem_write, &m, &e) == IIIFS_E_LIMIT);
    /* one byte over the tag cap is refused at planning */
    static char over[IIIFS_TIFF_TAG_BYTES_MAX + 1];
    memset(over, 'y', sizeof over - 1);
    over[sizeof over - 1] = 0;
    g.description = over;
    CHECK(iiifs_tiffseq_plan(&t, 10, 5, 3, 8, 2, 0, IIIFS_TIFFSEQ_NONE, &g, &e) == IIIFS_E_LIMIT);
}

TEST(test_tiffseq_bitonal_rows_are_packed)
{
    iiifs_tiffseq t;
    iiifs_error e = { 0, "" };
    iiifs_tiff_tags none;
    memset(&none, 0, sizeof none);
    /* 10 px wide at 1 bit: 2 bytes a row; BitsPerSample 1 inline */
    CHECK(iiifs_tiffseq_plan(&t, 10, 5, 1, 1, 2, 0, IIIFS_TIFFSEQ_NONE, &none, &e) == 0);
    CHECK(t.row_bytes == 2 && t.strip_bytes == 4 && t.strips == 3);
    CHECK(t.file_size == t.data_offset + 10);
    int found = 0;
    for (int i = 0; i < t.nentries; i++)
        if (t.entries[i].tag == 258)
            found = t.entries[i].count == 1 && t.entries[i].value == 1;
    CHECK(found);
    /* 1 bit is for one channel only */
    CHECK(iiifs_tiffseq_plan(&t, 10, 5, 3, 1, 2, 0, IIIFS_TIFFSEQ_NONE, &none, &e) == IIIFS_E_INTERNAL);
}

/* The deflate head: Compression 8 and the predictor, the strip arrays zero
 * until the sizes are known, then the same number of bytes with them in. */
TEST(test_tiffseq_deflate_head_written_twice)
{
    static mem a, b;
    iiifs_tiffseq t;
    iiifs_error e = { 0, "" };
    iiifs_tiff_tags none;
    memset(&none, 0, sizeof none);
    CHECK(iiifs_tiffseq_plan(&t, 10, 5, 3, 8, 2, 0, IIIFS_TIFFSEQ_DEFLATE, &none, &e) == 0);
    CHECK(t.strips == 3 && t.file_size > t.data_offset + 150);
    a.n = b.n = 0;
    CHECK(iiifs_tiffseq_write_head(&t, mem_write, &a, &e) == 0 && a.n == t.data_offset);
    uint16_t type;
    uint64_t count, at, offs, cnts;
    CHECK(find(&a, 0, 259, &type, &count, &at) && le(&a, at, 2) == 8);
    CHECK(find(&a, 0, 317, &type, &count, &at) && le(&a, at, 2) == 2);
    CHECK(find(&a, 0, 273, &type, &count, &offs) && count == 3);
    CHECK(find(&a, 0, 279, &type, &count, &cnts) && count == 3);
    for (int i = 0; i < 3; i++)
        CHECK(le(&a, offs + 4u * i, 4) == 0 && le(&a, cnts + 4u * i, 4) == 0);
    static const uint64_t sizes[3] = { 7, 9, 3 };
    t.counts = sizes;
    CHECK(iiifs_tiffseq_write_head(&t, mem_write, &b, &e) == 0 && b.n == a.n);
    CHECK(le(&b, offs, 4) == t.data_offset && le(&b, offs + 4, 4) == t.data_offset + 7 &&
          le(&b, offs + 8, 4) == t.data_offset + 16);
    CHECK(le(&b, cnts, 4) == 7 && le(&b, cnts + 4, 4) == 9 && le(&b, cnts + 8, 4) == 3);
    /* everything else is the same */
    CHECK(!memcmp(a.p, b.p, offs) && !memcmp(a.p + offs + 12, b.p + offs + 12, cnts - offs - 12));
    /* 1-bit samples get no predictor */
    CHECK(iiifs_tiffseq_plan(&t, 10, 5, 1, 1, 2, 0, IIIFS_TIFFSEQ_DEFLATE, &none, &e) == 0);
    int pred = 0;
    for (int i = 0; i < t.nentries; i++)
        pred |= t.entries[i].tag == 317;
    CHECK(!pred);
}

