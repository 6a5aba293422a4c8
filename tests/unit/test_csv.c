/* test_csv.c — the RFC 4180 reader: every case whole and split into chunks
 * of 1 to 7 bytes, every error with its message, the caps, and the real list
 * in ../shared/data when that folder exists. */
#include "unit.h"
#include "csv.h"
#include "port.h"
#include <stdlib.h>
#include <string.h>

/* Read everything; records as "a|b|c\n" lines (the header first). Returns
 * the reader's status: 0, or the error code with e filled. */
static int dump(const char *in, size_t n, size_t chunk, char *out, size_t cap, iiifs_error *e)
{
    iiifs_csv c;
    size_t o = 0;
    out[0] = 0;
    int rc = iiifs_csv_open_mem(&c, "t.csv", in, n, chunk, e);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < c.ncolumns; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "|" : "", iiifs_csv_column_name(&c, i));
    o += (size_t)snprintf(out + o, cap - o, "\n");
    while ((rc = iiifs_csv_next(&c, e)) == 1) {
        for (uint32_t i = 0; i < c.nfields; i++) {
            iiifs_str f = iiifs_csv_field(&c, i);
            CHECK(strlen(f.p) == f.n);
            o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? "|" : "", (int)f.n, f.p);
        }
        o += (size_t)snprintf(out + o, cap - o, "\n");
    }
    iiifs_csv_close(&c);
    return rc;
}

/* in must read as want with every chunk size, and leave no memory behind */
static void expect(const char *in, const char *want)
{
    static char got[8192];
    for (size_t chunk = 0; chunk <= 7; chunk++) {
        iiifs_error e = { 0, "" };
        int rc = dump(in, strlen(in), chunk, got, sizeof got, &e);
        if (rc || strcmp(got, want))
            fprintf(stderr, "  chunk %zu: rc %d %s\n  got:  [%s]\n  want: [%s]\n", chunk, rc,
                    e.msg, got, want);
        CHECK(rc == 0 && !strcmp(got, want));
    }
    CHECK(port_mem_current() == 0);
}

/* in must fail with code, and a message holding each of the fragments */
static void expect_error(const char *in, size_t n, int code, const char *frag1,
                         const char *frag2)
{
    static char got[1 << 17];
    for (size_t chunk = 0; chunk <= 7; chunk += 3) {
        iiifs_error e = { 0, "" };
        int rc = dump(in, n, chunk, got, sizeof got, &e);
        int ok = rc == code && strstr(e.msg, "t.csv: ") == e.msg && strstr(e.msg, frag1) &&
                 (!frag2 || strstr(e.msg, frag2));
        if (!ok)
            fprintf(stderr, "  chunk %zu: rc %d, want %d: %s\n", chunk, rc, code, e.msg);
        CHECK(ok);
    }
    CHECK(port_mem_current() == 0);
}

TEST(test_csv_plain_records_lf_and_crlf)
{
    expect("a,b,c\n1,2,3\n4,5,6\n", "a|b|c\n1|2|3\n4|5|6\n");
    expect("a,b,c\r\n1,2,3\r\n4,5,6\r\n", "a|b|c\n1|2|3\n4|5|6\n");
    expect("a,b\r\n1,2\n3,4\r\n", "a|b\n1|2\n3|4\n");   /* mixed */
    expect("a,b\n1,2", "a|b\n1|2\n");                    /* no final line break */
    expect("a,b\n,\n,x\ny,\n", "a|b\n|\n|x\ny|\n");      /* empty fields */
    expect("only\n", "only\n");                          /* a header and nothing else */
    expect("a,b\n 1 , 2 \n", "a|b\n 1 | 2 \n");          /* spaces are data (RFC 4180 §2.4) */
}

TEST(test_csv_quoted_fields)
{
    expect("a,b\n\"x,y\",\"z\"\n", "a|b\nx,y|z\n");
    expect("a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n", "a|b\nsay \"hi\"|\"\n");
    expect("a,b\n\"two\nlines\",\"crlf\r\ninside\"\r\n", "a|b\ntwo\nlines|crlf\r\ninside\n");
    expect("a,b\n\"\",\"\"\n", "a|b\n|\n");              /* quoted empty */
    expect("\"a,1\",\"b\"\"\"\nx,y", "a,1|b\"\nx|y\n"); /* quoted header */
    expect("a\n\"end\"", "a\nend\n");                    /* closing quote at the end */
}

TEST(test_csv_bom_and_empty_lines)
{
    expect("\xEF\xBB\xBF" "a,b\n1,2\n", "a|b\n1|2\n");
}

TEST(test_csv_empty_lines_are_skipped_but_counted)
{
    expect("\n\na,b\n\n1,2\r\n\r\n3,4\n\n", "a|b\n1|2\n3|4\n");
    iiifs_csv c;
    iiifs_error e = { 0, "" };
    const char *in = "a,b\n\n\n1,2\n\"x\ny\",3\n4,5\n";
    CHECK(iiifs_csv_open_mem(&c, "t.csv", in, strlen(in), 1, &e) == 0);
    CHECK(c.record == 1 && c.record_line == 1);
    CHECK(iiifs_csv_next(&c, &e) == 1 && c.record == 2 && c.record_line == 4);
    CHECK(iiifs_csv_next(&c, &e) == 1 && c.record == 3 && c.record_line == 5);
    CHECK(iiifs_csv_next(&c, &e) == 1 && c.record == 4 && c.record_line == 7);
    CHECK(iiifs_csv_next(&c, &e) == 0 && e.code == 0);
    CHECK(iiifs_csv_next(&c, &e) == 0); /* stays at the end */
    iiifs_csv_close(&c);
    iiifs_csv_close(&c); /* safe twice */
}

TEST(test_csv_bom_lookalike_is_data)
{
    expect("\xEF\xBB" "a,b\n1,2\n", "\xEF\xBB" "a|b\n1|2\n");
    expect("\xEF" "a\n1\n", "\xEF" "a\n1\n");
    expect("a\n\xEF\xBB\xBF" "1\n", "a\n\xEF\xBB\xBF" "1\n"); /* not at the start: data */
}

TEST(test_csv_columns_by_name)
{
    iiifs_csv c;
    iiifs_error e = { 0, "" };
    const char *in = "id,label,url\n1,x,y\n";
    CHECK(iiifs_csv_open_mem(&c, "t.csv", in, strlen(in), 0, &e) == 0);
    CHECK(iiifs_csv_column(&c, "id") == 0 && iiifs_csv_column(&c, "url") == 2);
    CHECK(iiifs_csv_column(&c, "URL") == -1 && iiifs_csv_column(&c, "") == -1);
    CHECK(iiifs_csv_column_name(&c, 3) == NULL);
    char list[64];
    iiifs_csv_column_list(&c, list, sizeof list);
    CHECK(!strcmp(list, "id, label, url"));
    iiifs_csv_column_list(&c, list, 12);
    CHECK(!strcmp(list, "id, ..."));
    iiifs_csv_close(&c);
}

TEST(test_csv_error_unterminated_quote)
{
    expect_error("a,b\n1,2\n3,\"open\nstill\n", 22, IIIFS_E_CSV,
                 "record 3 (line 3): unterminated quote", "field 2 opened on line 3");
}

TEST(test_csv_error_quote_inside_unquoted_field)
{
    expect_error("a,b\n1,2\n3,ab\"c\"\n", 16, IIIFS_E_CSV,
                 "record 3 (line 3): quote inside unquoted field 2 (line 3, column 5)", NULL);
}

TEST(test_csv_error_text_after_closing_quote)
{
    expect_error("a,b\n\"x\ny\"z,1\n", 13, IIIFS_E_CSV,
                 "record 2 (line 2): 'z' after the closing quote of field 1 (line 3, column 3)",
                 NULL);
}

TEST(test_csv_error_bare_carriage_return)
{
    expect_error("a,b\r1,2\n", 8, IIIFS_E_CSV,
                 "record 1 (line 1): carriage return not followed by a line feed", NULL);
}

TEST(test_csv_error_nul_byte)
{
    expect_error("a,b\n1,x\0y\n", 10, IIIFS_E_CSV, "record 2 (line 2): NUL byte in field 2",
                 NULL);
}

TEST(test_csv_error_field_count)
{
    expect_error("a,b,c\n1,2,3\n\"x\ny\",2\n", 20, IIIFS_E_CSV,
                 "record 3 (line 3): 2 fields, the header has 3", NULL);
    expect_error("a\n1\n2,3\n", 8, IIIFS_E_CSV, "record 3 (line 3): 2 fields, the header has 1",
                 NULL);
}

TEST(test_csv_error_empty_and_duplicate_header)
{
    expect_error("", 0, IIIFS_E_CSV, "empty file: expected a header row", NULL);
    expect_error("\xEF\xBB\xBF\r\n\n", 6, IIIFS_E_CSV, "empty file", NULL);
    expect_error("id,x,id\n", 8, IIIFS_E_CSV, "column 'id' appears twice in the header "
                 "(fields 1 and 3)", NULL);
    expect("a,,\n1,2,3\n", "a||\n1|2|3\n"); /* empty names may repeat: nothing can name them */
}

TEST(test_csv_record_cap)
{
    /* exactly the cap is fine, one byte more is refused; the count is of
     * field contents, quotes and separators not included */
    size_t cap = IIIFS_CSV_RECORD_MAX, n = cap + 64;
    char *in = malloc(n);
    CHECK(in != NULL);
    if (!in)
        return;
    memcpy(in, "a,b\n\"", 5);
    memset(in + 5, 'x', cap - 1);
    memcpy(in + 5 + cap - 1, "\",y\n", 5);
    iiifs_csv c;
    iiifs_error e = { 0, "" };
    CHECK(iiifs_csv_open_mem(&c, "t.csv", in, strlen(in), 4096, &e) == 0);
    CHECK(iiifs_csv_next(&c, &e) == 1 && iiifs_csv_field(&c, 0).n == cap - 1);
    iiifs_csv_close(&c);
    memcpy(in + 5 + cap - 1, "x\",y\n", 6);
    expect_error(in, strlen(in), IIIFS_E_LIMIT,
                 "record 2 (line 2): longer than ", "bytes (IIIFS_CSV_RECORD_MAX)");
    free(in);
}

TEST(test_csv_fields_cap)
{
    static char in[6 * IIIFS_CSV_FIELDS_MAX + 16];
    size_t o = 0;
    for (int i = 0; i < IIIFS_CSV_FIELDS_MAX; i++)
        o += (size_t)sprintf(in + o, "%s%d", i ? "," : "", i);
    in[o++] = '\n';
    in[o] = 0;
    char got[8 * IIIFS_CSV_FIELDS_MAX];
    iiifs_error e = { 0, "" };
    CHECK(dump(in, o, 5, got, sizeof got, &e) == 0);
    memcpy(in + o - 1, ",x\n", 4);
    expect_error(in, o + 2, IIIFS_E_LIMIT, "record 1 (line 1): more than ",
                 "fields (IIIFS_CSV_FIELDS_MAX)");
}

TEST(test_csv_file_missing)
{
    iiifs_csv c;
    iiifs_error e = { 0, "" };
    CHECK(iiifs_csv_open_file(&c, "/nonexistent/x.csv", &e) == IIIFS_E_NOENT);
    CHECK(strstr(e.msg, "cannot open /nonexistent/x.csv") != NULL);
    CHECK(port_mem_current() == 0);
}

TEST(test_csv_shared_fragment_list)
{
    const char *path = unit_shared_csv();
    if (!port_file_exists(path))
        UNIT_SKIP_SHARED(path);
    iiifs_csv c;
    iiifs_error e = { 0, "" };
    port_mem_reset_peak();
    size_t before = port_mem_current();
    CHECK(iiifs_csv_open_file(&c, path, &e) == 0);
    if (e.code) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    static const char *const cols[] = { "manuscript", "plate", "frag", "side", "label",
                                        "publication", "publication_number",
                                        "image_identifier", "image_url" };
    CHECK(c.ncolumns == 9);
    for (uint32_t i = 0; i < 9; i++)
        CHECK(!strcmp(iiifs_csv_column_name(&c, i), cols[i]));
    int label = iiifs_csv_column(&c, "label");
    uint64_t records = 0, nir = 0, multiline = 0;
    int rc;
    while ((rc = iiifs_csv_next(&c, &e)) == 1) {
        records++;
        iiifs_str l = iiifs_csv_field(&c, (uint32_t)label);
        nir += l.n == 27 && !memcmp(l.p, "Near Infra-Red (NIR) -Recto", 27);
        multiline += strchr(iiifs_csv_field(&c, 5).p, '\n') != NULL;
    }
    if (rc)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK(rc == 0);
    CHECK(records == 9108);
    CHECK(nir == 2275);
    CHECK(multiline > 0);
    CHECK(c.line == 10189); /* every line consumed: records hold line breaks */
    /* bounded: the three buffers, whatever the file's size */
    CHECK(port_mem_peak() - before <= IIIFS_CSV_CHUNK + IIIFS_CSV_RECORD_MAX + 2 * IIIFS_CSV_FIELDS_MAX + 4096);
    iiifs_csv_close(&c);
    CHECK(port_mem_current() == before);
}
