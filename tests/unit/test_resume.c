/* test_resume.c — the --resume state file: written, read back, cut short,
 * malformed. (The sink continuing a file is in test_sink.c, the deflate head
 * in test_tiffseq.c.) */
#include "unit.h"
#include "port.h"
#include "resume.h"
#include <stdio.h>
#include <string.h>

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
