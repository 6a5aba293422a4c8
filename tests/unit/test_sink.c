/* test_sink.c — the codec names, telling a complete TIFF from a cut one, and
 * the own writer continuing a deflate file after an interruption, byte for
 * byte. */
#include "unit.h"
#include "port.h"
#include "resume.h"
#include "sink.h"
#include <string.h>
#include <tiffio.h>

TEST(test_compression_names_follow_the_codec_list)
{
    iiifs_compression c;
    CHECK(!strcmp(iiifs_compression_names(), "none|deflate|lzw|zstd|jpeg"));
    CHECK(iiifs_compression_parse("zstd", &c) == 0 && c == IIIFS_COMPRESS_ZSTD);
    CHECK(iiifs_compression_parse("jpeg", &c) == 0 && c == IIIFS_COMPRESS_JPEG);
    CHECK(iiifs_compression_parse("JPEG", &c) == IIIFS_E_USAGE);
    CHECK(iiifs_compression_parse("lzma", &c) == IIIFS_E_USAGE);
    CHECK(!strcmp(iiifs_compression_name(IIIFS_COMPRESS_LZW), "lzw"));
}

/* iiifs_sink_check_complete: a TIFF the sink wrote is complete; a cut one, a
 * strip never written, not a TIFF at all are not; no file is 0. */
TEST(test_sink_check_complete)
{
    char path[256], other[300];
    unit_tmp_path(path, sizeof path, "complete.tif");
    snprintf(other, sizeof other, "%s.other", path);
    iiifs_error e = { 0, "" };
    CHECK(iiifs_sink_check_complete(path, &e) == 0 && e.code == 0);

    iiifs_sink s;
    iiifs_sink_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.width = 16;
    spec.height = 10;
    spec.channels = 1;
    spec.rows_per_strip = 4;
    uint8_t rows[16 * 4] = { 0 };
    CHECK(iiifs_sink_open(&s, path, &spec, &e) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(iiifs_sink_write(&s, rows, i < 2 ? 4 : 2, &e) == 0);
    CHECK(iiifs_sink_commit(&s, &e) == 0);
    CHECK(iiifs_sink_check_complete(path, &e) == 1 && e.code == 0);

    /* the first 100 bytes: the header points past the end */
    FILE *in = fopen(path, "rb"), *out = fopen(other, "wb");
    char buf[100];
    CHECK(in && out && fread(buf, 1, sizeof buf, in) == sizeof buf);
    if (out)
        fwrite(buf, 1, sizeof buf, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    int rc = iiifs_sink_check_complete(other, &e);
    CHECK(rc < 0 && strstr(e.msg, other));

    /* the third strip never written: its byte count is 0 */
    TIFF *t = TIFFOpen(other, "w");
    CHECK(t != NULL);
    if (t) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 16);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 10);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 4);
        TIFFWriteEncodedStrip(t, 0, rows, sizeof rows);
        TIFFWriteEncodedStrip(t, 1, rows, sizeof rows);
        TIFFClose(t);
    }
    e.code = 0;
    rc = iiifs_sink_check_complete(other, &e);
    if (rc != IIIFS_E_IO || !strstr(e.msg, "strip 2 of 3 is empty"))
        fprintf(stderr, "  rc %d: %s\n", rc, e.msg);
    CHECK(rc == IIIFS_E_IO && strstr(e.msg, "strip 2 of 3 is empty"));

    out = fopen(other, "wb");
    if (out) {
        fputs("not a TIFF at all", out);
        fclose(out);
    }
    e.code = 0;
    CHECK(iiifs_sink_check_complete(other, &e) == IIIFS_E_IO &&
          strstr(e.msg, "is not a readable TIFF"));
    remove(path);
    remove(other);
    CHECK(port_mem_current() == 0);
}

/* The sink's own writer: a deflate file cut off after two of its four
 * strips (the process gone: nothing committed, nothing cleaned) and
 * continued is the file written in one go; libtiff reads its pixels back. */
static int write_resumable(const char *out, const uint8_t *img, int stop_after, iiifs_error *e)
{
    iiifs_resume r;
    int rc = iiifs_resume_load(&r, out, e);
    if (rc < 0)
        return rc;
    iiifs_sink s;
    iiifs_sink_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.width = 33;
    spec.height = 14;
    spec.channels = 3;
    spec.rows_per_strip = 4;
    spec.compression = IIIFS_COMPRESS_DEFLATE;
    spec.tags.software = "unit";
    spec.tags.datetime = r.found ? r.datetime : "2026:12:01 00:00:00";
    spec.resume = 1;
    spec.rstate = &r;
    spec.resume_key = 42;
    uint8_t band[33 * 3 * 4];
    if ((rc = iiifs_sink_open(&s, out, &spec, e)) == 0) {
        uint64_t row = s.kept_rows;
        for (int k = 0; !rc && row < 14; k++) {
            if (stop_after >= 0 && row >= (uint64_t)stop_after * 4) {
                iiifs_sink_abort(&s);       /* closes, keeps */
                iiifs_resume_close(&r, 0);
                return 1;
            }
            uint32_t rows = row + 4 <= 14 ? 4 : (uint32_t)(14 - row);
            memcpy(band, img + row * 99, rows * 99);   /* the predictor works in place */
            rc = iiifs_sink_write(&s, band, rows, e);
            row += rows;
        }
        if (!rc)
            rc = iiifs_sink_commit(&s, e);
        else
            iiifs_sink_abort(&s);
    }
    iiifs_resume_close(&r, rc == 0);
    return rc;
}

TEST(test_sink_continues_a_deflate_file)
{
    char one[256], two[256];
    unit_tmp_path(one, sizeof one, "whole.tif");
    unit_tmp_path(two, sizeof two, "cut.tif");
    static uint8_t img[14 * 99];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 7 + i / 99 * 13);
    iiifs_error e = { 0, "" };
    CHECK(write_resumable(one, img, -1, &e) == 0);
    CHECK(write_resumable(two, img, 2, &e) == 1);
    char part[300];
    snprintf(part, sizeof part, "%s.part", two);
    CHECK(unit_file_size(part) > 0 && unit_file_size(two) < 0);
    CHECK(write_resumable(two, img, -1, &e) == 0);
    if (e.code)
        fprintf(stderr, "  %s\n", e.msg);
    long n = unit_file_size(one);
    CHECK(n > 0 && n == unit_file_size(two));
    FILE *fa = fopen(one, "rb"), *fb = fopen(two, "rb");
    static uint8_t ba[8192], bb[8192];
    CHECK(fa && fb && n < (long)sizeof ba);
    if (fa && fb && n < (long)sizeof ba) {
        CHECK(fread(ba, 1, (size_t)n, fa) == (size_t)n && fread(bb, 1, (size_t)n, fb) == (size_t)n);
        CHECK(!memcmp(ba, bb, (size_t)n));
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    TIFF *t = TIFFOpen(two, "r");
    CHECK(t != NULL);
    if (t) {
        static uint8_t got[14 * 99];
        tmsize_t at = 0;
        for (uint32_t i = 0; i < TIFFNumberOfStrips(t); i++) {
            tmsize_t k = TIFFReadEncodedStrip(t, i, got + at, (tmsize_t)sizeof got - at);
            CHECK(k > 0);
            at += k > 0 ? k : 0;
        }
        CHECK(at == (tmsize_t)sizeof img && !memcmp(got, img, sizeof img));
        TIFFClose(t);
    }
    remove(one);
    remove(two);
    CHECK(port_mem_current() == 0);
}
