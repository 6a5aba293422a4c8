/* test_resume.c — the --resume state file (written, read back, cut short,
 * malformed), and a file the sink continues after an interruption, byte for
 * byte. (The deflate head is in test_tiffseq.c, with the other layouts.) */
#include "unit.h"
#include "resume.h"
#include "sink.h"
#include "tiffseq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

static char part_bytes[4096];

TEST(test_resume_state_round_trip)
{
    char out[256], part[300], state[320];
    unit_tmp_path(out, sizeof out, "state.tif");
    snprintf(part, sizeof part, "%s.part", out);
    snprintf(state, sizeof state, "%s.part.resume", out);
    remove(part);
    remove(state);
    iiifs_error e = { 0, "" };
    iiifs_resume r;
    CHECK(iiifs_resume_load(&r, out, &e) == 0 && !r.found);     /* nothing yet */
    CHECK(iiifs_resume_start(&r, 0x0123456789abcdefull, 100, 4, "2026:12:01 10:20:30", 0, &e) == 0);
    CHECK(iiifs_resume_strip(&r, 0, 50, &e) == 0);
    uint32_t n[2] = { 1, 2 }, m[2] = { 3, 3 };
    CHECK(iiifs_resume_missing(&r, 1, 2, n, m, 2, &e) == 0);
    CHECK(iiifs_resume_strip(&r, 1, 60, &e) == 0);
    CHECK(iiifs_resume_missing(&r, 2, 1, n, m, 1, &e) == 0);
    CHECK(iiifs_resume_strip(&r, 2, 70, &e) == 0);
    iiifs_resume_close(&r, 0);
    CHECK(e.code == 0);

    /* the state without its .part: nothing to continue */
    CHECK(iiifs_resume_load(&r, out, &e) == 0 && !r.found);
    iiifs_resume_close(&r, 0);

    /* a .part holding the head and strips 0 and 1 whole, 2 in part */
    unit_put_file(part, part_bytes, 100 + 50 + 60 + 69);
    CHECK(iiifs_resume_load(&r, out, &e) == 1 && r.found && e.code == 0);
    CHECK(r.key == 0x0123456789abcdefull && r.head == 100 && r.rows_per_strip == 4);
    CHECK(!strcmp(r.datetime, "2026:12:01 10:20:30"));
    CHECK(r.strips == 2 && r.counts[0] == 50 && r.counts[1] == 60);
    uint32_t count, ln[8], lm[8];
    iiifs_resume_missing_before(&r, 2, &count, ln, lm, 8);
    CHECK(count == 2 && ln[0] == 1 && lm[0] == 3 && ln[1] == 2 && lm[1] == 3);
    iiifs_resume_missing_before(&r, 3, &count, ln, lm, 8);
    CHECK(count == 3);
    iiifs_resume_missing_before(&r, 1, &count, ln, lm, 8);
    CHECK(count == 0);
    iiifs_resume_missing_before(&r, 3, &count, ln, lm, 1);    /* listed up to max */
    CHECK(count == 3 && ln[0] == 1);

    /* continuing at band 2 rewrites the state: the kept strips, band 1's tiles */
    CHECK(iiifs_resume_start(&r, 0x0123456789abcdefull, 100, 4, "2026:12:01 10:20:30", 2, &e) == 0);
    CHECK(iiifs_resume_strip(&r, 2, 71, &e) == 0);
    iiifs_resume_close(&r, 0);
    unit_put_file(part, part_bytes, 100 + 50 + 60 + 71);
    CHECK(iiifs_resume_load(&r, out, &e) == 1 && r.strips == 3 && r.counts[2] == 71);
    iiifs_resume_missing_before(&r, 9, &count, ln, lm, 8);
    CHECK(count == 2);
    iiifs_resume_close(&r, 0);

    /* a line cut short by a kill is not read */
    FILE *f = fopen(state, "ab");
    CHECK(f != NULL);
    if (f) {
        fputs("strip 3 9", f);
        fclose(f);
    }
    CHECK(iiifs_resume_load(&r, out, &e) == 1 && r.strips == 3 && e.code == 0);
    iiifs_resume_close(&r, 1);                  /* done: the state goes */
    CHECK(unit_file_size(state) < 0);
    remove(part);
}

TEST(test_resume_state_rejects_malformed)
{
    char out[256], part[300], state[320];
    unit_tmp_path(out, sizeof out, "bad.tif");
    snprintf(part, sizeof part, "%s.part", out);
    snprintf(state, sizeof state, "%s.part.resume", out);
    unit_put_file(part, part_bytes, sizeof part_bytes);
    static const struct { const char *text; const char *frag; } bad[] = {
        { "something else\n", "line 1: not an iiifstitch resume state" },
        { "iiifstitch resume 1\nkey 12\nhead 10\nrows 4\ndatetime -\nstrip 1 5\n",
          "line 6: strips out of order" },
        { "iiifstitch resume 1\nkey 12\nhead 10\nrows 4\ndatetime -\nstrip 0 0\n",
          "line 6: \"strip INDEX BYTES\"" },
        { "iiifstitch resume 1\nkey 12\nhead 10\nstrip 0 5\n", "line 4: a strip before" },
        { "iiifstitch resume 1\nkey xyz\n", "line 2: a key is 16 hex digits" },
        { "iiifstitch resume 1\nkey 12\nhead 10\nrows 0\n", "line 4: rows per strip" },
        { "iiifstitch resume 1\nkey 12\nhead 10\nrows 4\ndatetime today\n", "line 5: a DateTime" },
        { "iiifstitch resume 1\nkey 12\nhead 10\nrows 4\n", "datetime line is missing" },
        { "iiifstitch resume 1\nkey 12\nhead 10\nrows 4\ndatetime -\nstrop 0 5\n",
          "line 6: not a resume state line" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unit_put_file(state, bad[i].text, strlen(bad[i].text));
        iiifs_error e = { 0, "" };
        iiifs_resume r;
        int rc = iiifs_resume_load(&r, out, &e);
        iiifs_resume_close(&r, 0);
        CHECK(rc == IIIFS_E_IO && strstr(e.msg, bad[i].frag) && strstr(e.msg, state));
        if (!strstr(e.msg, bad[i].frag))
            fprintf(stderr, "  case %zu: %s\n", i, e.msg);
    }
    remove(state);
    remove(part);
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
    spec.resume = &r;
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
