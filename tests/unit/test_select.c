/* test_select.c — --where filters and --name templates over CSV records. */
#include "unit.h"
#include "select.h"
#include "port.h"
#include <string.h>

static const char rows[] =
    "id,label,plate,side\n"
    "a1,Near Infra-Red (NIR) -Recto,XHev/Se 8,recto\n"
    "a2,Full Spectrum Color-Recto,1129/1,recto\n"
    "a3,Near Infra-Red (NIR) -Verso,12,verso\n"
    "a4,\"Near Infra-Red (NIR) -Recto \",\"a=b\",recto\n";

/* ids of the records that pass the filters, "a1 a4" */
static int selected(const char *const *where, int n, char *out, size_t cap, iiifs_error *e)
{
    iiifs_csv c;
    iiifs_filter f;
    iiifs_filter_init(&f);
    out[0] = 0;
    int rc = iiifs_csv_open_mem(&c, "t.csv", rows, sizeof rows - 1, 0, e);
    for (int i = 0; i < n && !rc; i++)
        rc = iiifs_filter_add(&f, where[i], e);
    if (!rc)
        rc = iiifs_filter_bind(&f, &c, e);
    while (!rc && (rc = iiifs_csv_next(&c, e)) == 1) {
        rc = 0;
        if (iiifs_filter_match(&f, &c)) {
            if (out[0])
                strncat(out, " ", cap - strlen(out) - 1);
            strncat(out, iiifs_csv_field(&c, 0).p, cap - strlen(out) - 1);
        }
    }
    iiifs_filter_free(&f);
    iiifs_filter_free(&f);
    iiifs_csv_close(&c);
    return rc;
}

static void expect_selected(const char *const *where, int n, const char *want)
{
    char got[64];
    iiifs_error e = { 0, "" };
    int rc = selected(where, n, got, sizeof got, &e);
    if (rc || strcmp(got, want))
        fprintf(stderr, "  %s...: rc %d %s, got [%s], want [%s]\n", where[0], rc, e.msg, got,
                want);
    CHECK(rc == 0 && !strcmp(got, want));
    CHECK(port_mem_current() == 0);
}

static void expect_filter_error(const char *where, int code, const char *frag)
{
    char got[64];
    iiifs_error e = { 0, "" };
    int rc = selected(&where, 1, got, sizeof got, &e);
    if (rc != code || !strstr(e.msg, frag))
        fprintf(stderr, "  %s: rc %d, want %d: %s\n", where, rc, code, e.msg);
    CHECK(rc == code && strstr(e.msg, frag));
    CHECK(port_mem_current() == 0);
}

TEST(test_where_exact_values_all_must_hold)
{
    const char *nir[] = { "label=Near Infra-Red (NIR) -Recto" };
    expect_selected(nir, 1, "a1"); /* a4 has a trailing space: exact means exact */
    const char *both[] = { "side=recto", "id=a2" };
    expect_selected(both, 2, "a2");
    const char *none[] = { "side=recto", "side=verso" };
    expect_selected(none, 2, "");
    const char *eq[] = { "plate=a=b" }; /* the first '=' splits */
    expect_selected(eq, 1, "a4");
    const char *empty[] = { "side=" };
    expect_selected(empty, 1, "");
    expect_selected(NULL, 0, "a1 a2 a3 a4");
}

TEST(test_where_regex_searches_posix_extended)
{
    const char *nir[] = { "label~=NIR" };
    expect_selected(nir, 1, "a1 a3 a4");
    const char *anchored[] = { "label~=^Near.*-Recto$" };
    expect_selected(anchored, 1, "a1");
    const char *alt[] = { "plate~=^(1129|12)(/|$)", "side=recto" };
    expect_selected(alt, 2, "a2");
    const char *cls[] = { "id~=a[13]" };
    expect_selected(cls, 1, "a1 a3");
}

TEST(test_where_rejects_bad_expressions)
{
    expect_filter_error("label", IIIFS_E_USAGE, "--where 'label': expected COLUMN=VALUE or COLUMN~=REGEX");
    expect_filter_error("=x", IIIFS_E_USAGE, "expected COLUMN=VALUE");
    expect_filter_error("~=x", IIIFS_E_USAGE, "expected COLUMN=VALUE");
    expect_filter_error("label~=(NIR", IIIFS_E_USAGE, "--where 'label~=(NIR': bad regular expression (");
    expect_filter_error("lable=x", IIIFS_E_USAGE,
                        "--where: no column 'lable' in t.csv (columns: id, label, plate, side)");
    expect_filter_error("Label~=x", IIIFS_E_USAGE, "no column 'Label'");
}

TEST(test_where_cap)
{
    iiifs_filter f;
    iiifs_error e = { 0, "" };
    iiifs_filter_init(&f);
    for (int i = 0; i < IIIFS_WHERE_MAX; i++)
        CHECK(iiifs_filter_add(&f, "id~=a", &e) == 0);
    CHECK(iiifs_filter_add(&f, "id=a", &e) == IIIFS_E_LIMIT && strstr(e.msg, "--where"));
    iiifs_filter_free(&f);
    CHECK(port_mem_current() == 0);
}

/* the name tmpl gives for record k (1-based data record) of csv */
static int name_of(const char *csv, const char *tmpl, int k, char *out, iiifs_error *e)
{
    iiifs_csv c;
    int rc = iiifs_csv_open_mem(&c, "t.csv", csv, strlen(csv), 3, e);
    if (!rc)
        rc = iiifs_name_check(tmpl, &c, e);
    for (int i = 0; i < k && !rc; i++)
        rc = iiifs_csv_next(&c, e) == 1 ? 0 : -1;
    if (!rc)
        rc = iiifs_name_expand(tmpl, &c, out, IIIFS_NAME_MAX + 2, e);
    iiifs_csv_close(&c);
    return rc;
}

static void expect_name(const char *tmpl, int k, const char *want)
{
    char got[IIIFS_NAME_MAX + 2] = "";
    iiifs_error e = { 0, "" };
    int rc = name_of(rows, tmpl, k, got, &e);
    if (rc || strcmp(got, want))
        fprintf(stderr, "  %s #%d: rc %d %s, got [%s], want [%s]\n", tmpl, k, rc, e.msg, got,
                want);
    CHECK(rc == 0 && !strcmp(got, want));
}

static void expect_name_error(const char *csv, const char *tmpl, int code, const char *frag)
{
    char got[IIIFS_NAME_MAX + 2] = "";
    iiifs_error e = { 0, "" };
    int rc = name_of(csv ? csv : rows, tmpl, 1, got, &e);
    if (rc != code || !strstr(e.msg, frag))
        fprintf(stderr, "  %s: rc %d, want %d: %s\n", tmpl, rc, code, e.msg);
    CHECK(rc == code && strstr(e.msg, frag));
    CHECK(port_mem_current() == 0);
}

TEST(test_name_template_fields_and_extension)
{
    expect_name("{id}", 1, "a1.tif");
    expect_name("{side}-{id}", 3, "verso-a3.tif");
    expect_name("{id}.tif", 1, "a1.tif");
    expect_name("{id}.TIFF", 1, "a1.TIFF");
    expect_name("{id}.jpg", 1, "a1.jpg.tif"); /* the output is a TIFF whatever it is called */
    expect_name("dss {id} {{x}}", 2, "dss a2 {x}.tif");
    expect_name("{label}", 1, "Near Infra-Red (NIR) -Recto.tif"); /* a column wins */
}

TEST(test_name_values_made_safe)
{
    expect_name("{plate}", 1, "XHev_Se 8.tif");
    expect_name("{plate}_{id}", 2, "1129_1_a2.tif");
    const char *csv = "v\n\"a\\\\b:c*d?e\"\"f<g>h|i\tj\x7fk\"\n..hidden\n.\n";
    char got[IIIFS_NAME_MAX + 2];
    iiifs_error e = { 0, "" };
    CHECK(name_of(csv, "{v}", 1, got, &e) == 0 && !strcmp(got, "a__b_c_d_e_f_g_h_i_j_k.tif"));
    CHECK(name_of(csv, "{v}", 2, got, &e) == 0 && !strcmp(got, "__hidden.tif"));
    CHECK(name_of(csv, "{v}", 3, got, &e) == 0 && !strcmp(got, "_.tif"));
    CHECK(name_of(csv, "x{v}", 2, got, &e) == 0 && !strcmp(got, "x..hidden.tif"));
    CHECK(port_mem_current() == 0);
}

TEST(test_name_template_errors)
{
    expect_name_error(NULL, "{nope}", IIIFS_E_USAGE,
                      "--name: no column 'nope' in t.csv (columns: id, label, plate, side)");
    expect_name_error(NULL, "{index}", IIIFS_E_USAGE,
                      "--name: {index} is reserved for manifests and t.csv has no column 'index'");
    expect_name_error(NULL, "{manifest}_{id}", IIIFS_E_USAGE, "{manifest} is reserved");
    expect_name_error(NULL, "dir/{id}", IIIFS_E_USAGE, "'/' cannot be part of a file name");
    expect_name_error(NULL, "{id", IIIFS_E_USAGE, "'{' at byte 1 is not closed");
    expect_name_error(NULL, "{a{id}}", IIIFS_E_USAGE, "'{' at byte 1 is not closed");
    expect_name_error(NULL, "x{}", IIIFS_E_USAGE, "empty {} at byte 2");
    expect_name_error(NULL, "id}", IIIFS_E_USAGE, "'}' at byte 3 without '{'");
    expect_name_error("v,w\n,x\n", "{v}", IIIFS_E_USAGE,
                      "t.csv: record 2 (line 2): the output name is empty");
}

TEST(test_name_cap)
{
    char csv[600], want[300];
    memset(want, 'n', 251);
    memcpy(want + 251, ".tif", 5);
    snprintf(csv, sizeof csv, "v\n%.251s\n%.252s\n%.400s\n", want, want, "");
    /* 251 + ".tif" = 255: the cap */
    char got[IIIFS_NAME_MAX + 2];
    iiifs_error e = { 0, "" };
    CHECK(name_of(csv, "{v}", 1, got, &e) == 0 && !strcmp(got, want));
    int rc = name_of(csv, "{v}", 2, got, &e);
    CHECK(rc == IIIFS_E_LIMIT && strstr(e.msg, "record 3 (line 3): the output name 'nnn"));
    CHECK(strstr(e.msg, "is longer than 255 bytes") != NULL);
    char big[700];
    memset(big, 'x', 600);
    snprintf(csv, sizeof csv, "v\n%.500s\n", big);
    e.code = 0;
    CHECK(name_of(csv, "{v}", 1, got, &e) == IIIFS_E_LIMIT && strstr(e.msg, "255 bytes"));
    CHECK(port_mem_current() == 0);
}
