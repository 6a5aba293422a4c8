/* test_batch.c — the job list: sources, default names, limits, every error
 * found before a download, and the real list in ../shared/data. */
#include "unit.h"
#include "batch.h"
#include "port.h"
#include <string.h>

static int load(iiifs_batch *b, const char *csv, const iiifs_batch_spec *s, iiifs_error *e)
{
    iiifs_csv c;
    int rc = iiifs_csv_open_mem(&c, "t.csv", csv, strlen(csv), 5, e);
    if (!rc)
        rc = iiifs_batch_load_csv(b, &c, s, e);
    iiifs_csv_close(&c);
    return rc;
}

static const char list[] =
    "id,url,side\n"
    "a/b c%,https://h.org/iiif/x1/info.json,recto\n"
    "caf\xC3\xA9?#,https://h.org/iiif/x2/,verso\n"
    "plain,https://h.org/iipsrv?IIIF=/d/img.tif,recto\n";

TEST(test_batch_url_column_default_names)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    iiifs_batch_spec s = { 0 };
    s.url_column = "url";
    CHECK(load(&b, list, &s, &e) == 0);
    CHECK(b.n == 3 && b.records == 3);
    CHECK(!strcmp(iiifs_batch_name(&b, 0), "x1.tif"));
    CHECK(!strcmp(iiifs_batch_source(&b, 0), "https://h.org/iiif/x1/info.json"));
    CHECK(!strcmp(iiifs_batch_name(&b, 1), "x2.tif"));
    CHECK(!strcmp(iiifs_batch_name(&b, 2), "img.tif")); /* has .tif already */
    CHECK(iiifs_batch_job(&b, 2)->record == 4 && iiifs_batch_job(&b, 2)->line == 4);
    CHECK(iiifs_batch_job(&b, 3) == NULL && iiifs_batch_name(&b, 3) == NULL);
    char path[64];
    CHECK(iiifs_batch_path(&b, 0, "out", path, sizeof path) == 0 && !strcmp(path, "out/x1.tif"));
    CHECK(iiifs_batch_path(&b, 0, "out/", path, sizeof path) == 0 && !strcmp(path, "out/x1.tif"));
    CHECK(iiifs_batch_path(&b, 0, NULL, path, sizeof path) == 0 && !strcmp(path, "x1.tif"));
    CHECK(iiifs_batch_path(&b, 0, "a-long-directory", path, 12) == IIIFS_E_LIMIT);
    iiifs_batch_clear(&b);
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

TEST(test_batch_id_column_escapes_the_identifier)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    iiifs_batch_spec s = { 0 };
    s.id_column = "id";
    s.base = "https://h.org/iiif/3//";
    CHECK(load(&b, list, &s, &e) == 0);
    CHECK(b.n == 3);
    CHECK(!strcmp(iiifs_batch_source(&b, 0), "https://h.org/iiif/3/a%2Fb%20c%25"));
    CHECK(!strcmp(iiifs_batch_source(&b, 1), "https://h.org/iiif/3/caf%C3%A9%3F%23"));
    CHECK(!strcmp(iiifs_batch_source(&b, 2), "https://h.org/iiif/3/plain"));
    CHECK(!strcmp(iiifs_batch_name(&b, 0), "a_b c%.tif")); /* default: the identifier */
    CHECK(!strcmp(iiifs_batch_name(&b, 1), "caf\xC3\xA9_#.tif"));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

TEST(test_batch_where_limit_and_template)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    const char *where[] = { "side=recto" };
    iiifs_batch_spec s = { 0 };
    s.url_column = "url";
    s.where = where;
    s.nwhere = 1;
    s.name = "{side}-{id}";
    CHECK(load(&b, list, &s, &e) == 0);
    CHECK(b.n == 2 && !strcmp(iiifs_batch_name(&b, 1), "recto-plain.tif"));
    iiifs_batch_clear(&b);
    s.limit = 1;
    CHECK(load(&b, list, &s, &e) == 0);
    CHECK(b.n == 1 && b.records == 1 && !strcmp(iiifs_batch_name(&b, 0), "recto-a_b c%.tif"));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

TEST(test_batch_shards_cover_the_list_once)
{
    static const char csv[] = "id,url\na,u1\nb,u2\nc,u3\nd,u4\ne,u5\nf,u6\ng,u7\n";
    iiifs_error e = { 0, "" };
    iiifs_batch_spec s = { 0 };
    s.url_column = "url";
    s.name = "{id}";
    s.limit = 6; /* after the limit: a to f */
    for (uint32_t n = 1; n <= 7; n++) {
        int seen[6] = { 0 };
        for (uint32_t k = 0; k < n; k++) {
            iiifs_batch b;
            s.shard = k;
            s.shards = n;
            CHECK(load(&b, csv, &s, &e) == 0);
            CHECK(b.total == 6 && b.n == (6 - k + n - 1) / n);
            for (uint32_t i = 0; i < b.n; i++) {
                const char *name = iiifs_batch_name(&b, i);
                CHECK(name[0] >= 'a' && name[0] <= 'f' && !strcmp(name + 1, ".tif"));
                seen[name[0] - 'a']++;
                CHECK((uint32_t)(name[0] - 'a') % n == k);
            }
            iiifs_batch_clear(&b);
        }
        for (int i = 0; i < 6; i++)
            CHECK(seen[i] == 1);
    }
    /* every shard refuses a list with a duplicate name, even one it would not run */
    iiifs_batch b;
    s.shard = 0;
    s.shards = 2;
    CHECK(load(&b, "id,url\na,u1\nb,u2\nz,u3\nb,u4\n", &s, &e) == IIIFS_E_USAGE);
    CHECK(strstr(e.msg, "records 3 (line 3) and 5 (line 5) both make 'b.tif'"));
    s.shard = 2;
    e.code = 0;
    CHECK(load(&b, csv, &s, &e) == IIIFS_E_USAGE && strstr(e.msg, "--shard 2/2"));
    CHECK(port_mem_current() == 0);
}

TEST(test_batch_provenance_json)
{
    static const char csv[] =
        "label,url,License\n"
        "\"Folio 1 \xE2\x80\x94 \xF0\x9F\x98\x80 \"\"r\"\" \\ \x01\xFF\",https://h/i/a,CC0\n"
        "plain,https://h/i/b,\n";
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    iiifs_batch_spec s = { 0 };
    s.url_column = "url";
    s.name = "{url}";
    CHECK(load(&b, csv, &s, &e) == 0);
    char d[IIIFS_PROVENANCE_MAX];
    CHECK(iiifs_batch_provenance(&b, 0, d, sizeof d) == 0);
    CHECK(!strcmp(d, "{\"source\": \"https://h/i/a\", \"label\": \"Folio 1 \\u2014 "
                  "\\ud83d\\ude00 \\\"r\\\" \\\\ \\u0001\\ufffd\"}"));
    CHECK(iiifs_batch_provenance(&b, 1, d, sizeof d) == 0);
    CHECK(!strcmp(d, "{\"source\": \"https://h/i/b\", \"label\": \"plain\"}"));
    CHECK(iiifs_batch_provenance(&b, 1, d, 20) == IIIFS_E_LIMIT);
    iiifs_batch_clear(&b);

    /* a long value is cut on a character boundary */
    char big[3000];
    size_t o = (size_t)snprintf(big, sizeof big, "rights,url\n");
    for (int i = 0; i < 600; i++) {
        memcpy(big + o, "\xC3\xA9", 2);
        o += 2;
    }
    snprintf(big + o, sizeof big - o, ",https://h/i/c\n");
    CHECK(load(&b, big, &s, &e) == 0);
    CHECK(iiifs_batch_provenance(&b, 0, d, sizeof d) == 0);
    const char *r = strstr(d, "\"rights\": \"");
    CHECK(r && strlen(r) < 1000 + 20 && strstr(r, "\\u00e9...\"}"));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

static void expect_load_error(const char *csv, const iiifs_batch_spec *s, int code,
                              const char *frag)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    int rc = load(&b, csv, s, &e);
    if (rc != code || !strstr(e.msg, frag))
        fprintf(stderr, "  rc %d, want %d: %s\n", rc, code, e.msg);
    CHECK(rc == code && strstr(e.msg, frag));
    CHECK(b.n == 0);
    CHECK(port_mem_current() == 0);
}

TEST(test_batch_duplicate_names_name_both_records)
{
    iiifs_batch_spec s = { 0 };
    s.url_column = "url";
    s.name = "{side}";
    expect_load_error(list, &s, IIIFS_E_USAGE,
                      "t.csv: records 2 (line 2) and 4 (line 4) both make 'recto.tif'");
    s.name = "{v}";
    expect_load_error("v,url\nImg,u1\nimg,u2\n", &s, IIIFS_E_USAGE,
                      "records 2 (line 2) and 3 (line 3) both make 'img.tif' (names differing only in case");
    s.name = "{v}";
    expect_load_error("v,url\n\"a\nb\",u1\nc,u2\n\"a\nb\",u3\n", &s, IIIFS_E_USAGE,
                      "records 2 (line 2) and 4 (line 5) both make 'a_b.tif'");
    s.name = "{v}"; /* "x" and "x.tif" are one file */
    expect_load_error("v,url\nx,u1\nx.tif,u2\n", &s, IIIFS_E_USAGE,
                      "records 2 (line 2) and 3 (line 3) both make 'x.tif'");
}

TEST(test_batch_source_errors)
{
    iiifs_batch_spec s = { 0 };
    expect_load_error(list, &s, IIIFS_E_USAGE, "say where each row's image is: --url-column "
                      "NAME, or --id-column NAME with --base URL (columns of t.csv: id, url, side)");
    s.url_column = "url";
    s.id_column = "id";
    expect_load_error(list, &s, IIIFS_E_USAGE, "not both");
    s.url_column = NULL;
    expect_load_error(list, &s, IIIFS_E_USAGE, "--id-column needs --base URL");
    s.id_column = "ident";
    s.base = "https://h";
    expect_load_error(list, &s, IIIFS_E_USAGE, "--id-column: no column 'ident' (columns of "
                      "t.csv: id, url, side)");
    s.id_column = NULL;
    s.url_column = "url";
    expect_load_error(list, &s, IIIFS_E_USAGE, "--base goes with --id-column");
    s.base = NULL;
    expect_load_error("id,url\na,\n", &s, IIIFS_E_USAGE,
                      "t.csv: record 2 (line 2): column 'url' is empty");
    expect_load_error("id,url\na,https://h\n", &s, IIIFS_E_USAGE,
                      "record 2 (line 2): the output name is empty");
    expect_load_error("id,url\na,u\nb\n", &s, IIIFS_E_CSV, "record 3 (line 3): 1 field");
    const char *where[] = { "colour=red" };
    s.where = where;
    s.nwhere = 1;
    expect_load_error(list, &s, IIIFS_E_USAGE, "--where: no column 'colour'");
}

TEST(test_batch_shared_fragment_list)
{
    const char *path = unit_shared_csv();
    if (!port_file_exists(path))
        UNIT_SKIP_SHARED(path);
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    const char *nir[] = { "label=Near Infra-Red (NIR) -Recto" };
    iiifs_batch_spec s = { 0 };
    s.csv = path;
    s.url_column = "image_url";
    s.where = nir;
    s.nwhere = 1;
    CHECK(iiifs_batch_load_csv_file(&b, &s, &e) == 0);
    if (e.code)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK(b.n == 2275 && b.records == 9108);
    CHECK(!strcmp(iiifs_batch_name(&b, 0),
                  "dede6fd6633bc35ec6b65690ef499e8f2b1772d5b687d340c3a2d01cd7ed2e3c.tif"));
    iiifs_batch_clear(&b);

    /* the same rows by identifier: the same URLs */
    s.url_column = NULL;
    s.id_column = "image_identifier";
    s.base = "https://iaa.iiifhosting.com/iiif";
    s.limit = 40;
    CHECK(iiifs_batch_load_csv_file(&b, &s, &e) == 0);
    CHECK(b.n == 40 && b.records < 9108);
    CHECK(!strcmp(iiifs_batch_source(&b, 0), "https://iaa.iiifhosting.com/iiif/"
                  "dede6fd6633bc35ec6b65690ef499e8f2b1772d5b687d340c3a2d01cd7ed2e3c"));
    iiifs_batch_clear(&b);

    /* a name from the catalogue: '/' in plates made safe; fragments photographed
     * twice on one plate collide, and the error says where */
    s.limit = 0;
    s.name = "{manuscript}_{plate}_{frag}_{side}";
    CHECK(iiifs_batch_load_csv_file(&b, &s, &e) == IIIFS_E_USAGE);
    CHECK(strstr(e.msg, "fragment_identifiers.csv: records ") && strstr(e.msg, "both make '"));
    iiifs_batch_clear(&b);

    const char *slash[] = { "label=Near Infra-Red (NIR) -Recto", "manuscript=XHev/Se 8" };
    s.where = slash;
    s.nwhere = 2;
    s.name = "{manuscript}_{image_identifier}";
    e.code = 0;
    CHECK(iiifs_batch_load_csv_file(&b, &s, &e) == 0 && b.n > 0);
    CHECK(b.n > 0 && !strncmp(iiifs_batch_name(&b, 0), "XHev_Se 8_", 10));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}
