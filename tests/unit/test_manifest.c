/* test_manifest.c — jobs from Presentation 2 and 3 manifests and collections:
 * our fixtures in tests/fixtures, the shared ones in ../shared/fixtures (when
 * there), documents in memory through a fetch callback, every input error. */
#include "unit.h"
#include "manifest.h"
#include "port.h"
#include <string.h>

/* Warnings, kept for the checks. */
static char warnings[8][IIIFS_ERROR_MAX];
static int nwarnings;

static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    if (nwarnings < 8)
        snprintf(warnings[nwarnings], sizeof warnings[0], "%s", msg);
    nwarnings++;
}

/* A fetch callback that serves documents from memory: mem_page for a URL
 * with "/page/" in it, mem_doc for any other. */
static const char *mem_doc, *mem_page;
static int fetch_mem(void *ud, const char *src, iiifs_buf *body, char *final, size_t cap,
                     iiifs_error *e)
{
    (void)ud;
    const char *doc = strstr(src, "/page/") ? mem_page : mem_doc;
    iiifs_copy(final, cap, src);
    body->len = 0;
    if (!doc)
        return iiifs_fail(e, IIIFS_E_NOENT, "no document for %s", src);
    return iiifs_buf_append(body, doc, strlen(doc)) ? IIIFS_E_LIMIT : 0;
}

/* What a test asks of the loader: the batch spec's manifest fields, the
 * document, and how the others are fetched (NULL: local files). */
typedef struct mspec {
    const char *source;
    const char *name, *canvases, *label_re;
    uint64_t limit;
    uint32_t shard, shards;
    iiifs_fetch_fn fetch;
} mspec;

static int fetch_file(void *ud, const char *src, iiifs_buf *body, char *final, size_t cap,
                      iiifs_error *e)
{
    (void)ud;
    iiifs_copy(final, cap, src);
    return iiifs_buf_read_file(body, src, e);
}

static void spec_init(mspec *s, const char *source)
{
    memset(s, 0, sizeof *s);
    s->source = source;
    nwarnings = 0;
}

/* The first document fetched as the source is, then the loader on it. */
static int load(iiifs_batch *b, mspec *m, iiifs_error *e)
{
    iiifs_fetch_fn fetch = m->fetch ? m->fetch : fetch_file;
    iiifs_batch_spec s;
    memset(&s, 0, sizeof s);
    s.name = m->name;
    s.canvases = m->canvases;
    s.label_re = m->label_re;
    s.limit = m->limit;
    s.shard = m->shard;
    s.shards = m->shards;
    s.on_warning = on_warn;
    iiifs_buf body;
    char final[IIIFS_URL_MAX];
    iiifs_buf_init(&body, IIIFS_MANIFEST_BYTES_MAX);
    int rc = fetch(NULL, m->source, &body, final, sizeof final, e);
    if (!rc)
        rc = iiifs_batch_load_document(b, &s, final, &body, fetch, NULL, e);
    else
        iiifs_batch_init(b);
    iiifs_buf_free(&body);
    return rc;
}

static int load_mem(iiifs_batch *b, const char *doc, mspec *s, iiifs_error *e)
{
    mem_doc = doc;
    s->fetch = fetch_mem;
    e->code = 0;
    e->msg[0] = 0;
    return load(b, s, e);
}

static int has_job(const iiifs_batch *b, uint32_t i, const char *name, const char *source)
{
    const char *n = iiifs_batch_name(b, i), *src = iiifs_batch_source(b, i);
    if (!n || strcmp(n, name) || strcmp(src, source)) {
        fprintf(stderr, "  job %u: '%s' '%s', want '%s' '%s'\n", i, n ? n : "-",
                src ? src : "-", name, source);
        return 0;
    }
    return 1;
}

TEST(test_manifest_v2_fixture)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    mspec s;
    spec_init(&s, "tests/fixtures/manifest-v2.json");
    CHECK(load(&b, &s, &e) == 0);
    if (e.code)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK(b.n == 3 && b.records == 3 && b.manifests == 1);
    CHECK(has_job(&b, 0, "Test book v2-1.tif", "https://example.org/iiif/v2_256"));
    CHECK(has_job(&b, 1, "Test book v2-2.tif", "https://example.org/iiif/gray_v3"));
    /* no service: the image URL's first part */
    CHECK(has_job(&b, 2, "Test book v2-3.tif", "https://example.org/iiif/odd_v2"));
    const iiifs_job *j = iiifs_batch_job(&b, 1);
    CHECK(j->record == 2 && j->line == 0);
    CHECK(!strcmp(iiifs_batch_text(&b, j->label), "f. 1v"));
    CHECK(!strcmp(iiifs_batch_text(&b, j->attribution), "Provided by the Example Library"));
    CHECK(!strcmp(iiifs_batch_text(&b, j->rights),
                  "https://creativecommons.org/publicdomain/zero/1.0/"));
    CHECK(nwarnings == 1 && strstr(warnings[0], "canvas 2 (f. 1v): a choice of images: "
                                   "taking the default"));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

TEST(test_manifest_v3_fixture_labels_and_selection)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    mspec s;
    spec_init(&s, "tests/fixtures/manifest-v3.json");
    s.name = "{index}_{label}";
    CHECK(load(&b, &s, &e) == 0);
    if (e.code)
        fprintf(stderr, "  %s\n", e.msg);
    /* the video canvas is left out; labels: none, none over fr, synthesised */
    CHECK(b.n == 3 && b.records == 4);
    CHECK(has_job(&b, 0, "1_1r.tif", "https://example.org/iiif/v3_512"));
    CHECK(has_job(&b, 1, "2_1v.tif", "https://example.org/iiif/v2_256"));
    CHECK(has_job(&b, 2, "3_p. 3.tif", "https://example.org/iiif/gray_v3"));
    const iiifs_job *j = iiifs_batch_job(&b, 0);
    CHECK(!strcmp(iiifs_batch_text(&b, j->attribution),
                  "Provided by the \"Example\" Library"));
    CHECK(!strcmp(iiifs_batch_text(&b, j->rights),
                  "http://rightsstatements.org/vocab/NoC-NC/1.0/"));
    CHECK(nwarnings == 2 && strstr(warnings[0], "canvas 2 (1v): a choice of images: taking "
                                   "the first") && strstr(warnings[1], "canvas 4 (a video): "
                                   "no image on it, left out"));
    iiifs_batch_clear(&b);

    /* --canvas then --label: positions from 1, a regex on the label */
    s.canvases = "2-4";
    s.label_re = "^[0-9]v$|^p\\.";
    s.name = NULL;
    CHECK(load(&b, &s, &e) == 0);
    CHECK(b.n == 2);
    CHECK(has_job(&b, 0, "Test book; v3-2.tif", "https://example.org/iiif/v2_256"));
    CHECK(has_job(&b, 1, "Test book; v3-3.tif", "https://example.org/iiif/gray_v3"));
    iiifs_batch_clear(&b);
    s.canvases = "1,3";
    s.label_re = NULL;
    s.limit = 1;
    CHECK(load(&b, &s, &e) == 0);
    CHECK(b.n == 1 && has_job(&b, 0, "Test book; v3-1.tif", "https://example.org/iiif/v3_512"));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

TEST(test_manifest_collection_recurses_once_per_document)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    mspec s;
    spec_init(&s, "tests/fixtures/collection-v3.json");
    s.name = "{manifest}_{index}";
    CHECK(load(&b, &s, &e) == 0);
    if (e.code)
        fprintf(stderr, "  %s\n", e.msg);
    /* manifest-v2 through the top collection, manifest-v3 through the inner one; the
     * inner one's second copy of manifest-v2 and its cycle back are read once */
    CHECK(b.n == 6 && b.manifests == 2);
    CHECK(has_job(&b, 0, "Test book v2_1.tif", "https://example.org/iiif/v2_256"));
    CHECK(has_job(&b, 3, "Test book; v3_1.tif", "https://example.org/iiif/v3_512"));
    iiifs_batch_clear(&b);
    /* shards of a collection */
    s.shard = 1;
    s.shards = 2;
    CHECK(load(&b, &s, &e) == 0);
    CHECK(b.n == 3 && b.total == 6);
    CHECK(has_job(&b, 0, "Test book v2_2.tif", "https://example.org/iiif/gray_v3"));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

TEST(test_manifest_index_width_and_language_maps)
{
    static const char doc[] =
        "{\"type\": \"Manifest\", \"label\": {\"fr\": [\"Livre\"], \"@none\": [\"Book\"]},"
        " \"items\": ["
        "{\"type\": \"Canvas\", \"label\": {\"en-US\": [\"one\"], \"none\": [\"x\"]},"
        "  \"items\": [{\"type\": \"AnnotationPage\", \"items\": [{\"type\": \"Annotation\","
        "  \"body\": {\"type\": \"Image\", \"service\": [{\"id\": \"https://h/i/a\","
        "  \"type\": \"ImageService3\"}]}}]}]},"
        "{\"type\": \"Canvas\"}, {\"type\": \"Canvas\"}, {\"type\": \"Canvas\"},"
        "{\"type\": \"Canvas\"}, {\"type\": \"Canvas\"}, {\"type\": \"Canvas\"},"
        "{\"type\": \"Canvas\"}, {\"type\": \"Canvas\"},"
        "{\"type\": \"Canvas\", \"label\": \"ten\", \"items\": [{\"type\": \"AnnotationPage\","
        "  \"items\": [{\"type\": \"Annotation\", \"body\": {\"id\": "
        "  \"https://h/i/b/full/max/0/default.jpg\", \"type\": \"Image\"}}]}]}]}";
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    mspec s;
    spec_init(&s, "https://h/m/manifest");
    s.name = "{manifest} {index} {label} {{x}}";
    CHECK(load_mem(&b, doc, &s, &e) == 0);
    if (e.code)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK(b.n == 2 && b.records == 10 && nwarnings == 8);
    CHECK(has_job(&b, 0, "Book 01 one {x}.tif", "https://h/i/a"));
    CHECK(has_job(&b, 1, "Book 10 ten {x}.tif", "https://h/i/b"));
    iiifs_batch_clear(&b);

    /* a relative service id is resolved against the manifest's URL */
    static const char rel[] =
        "{\"@type\": \"sc:Manifest\", \"label\": \"M\", \"sequences\": [{\"canvases\": ["
        "{\"label\": \"c\", \"images\": [{\"resource\": {\"service\": {\"@id\": \"../img/z\","
        "\"profile\": \"http://iiif.io/api/image/2/level0.json\"}}}]}]}]}";
    CHECK(load_mem(&b, rel, &s, &e) == 0);
    CHECK(b.n == 1 && has_job(&b, 0, "M 1 c {x}.tif", "https://h/img/z"));
    iiifs_batch_clear(&b);
    CHECK(port_mem_current() == 0);
}

TEST(test_manifest_referenced_annotation_page)
{
    static const char doc[] =
        "{\"type\": \"Manifest\", \"label\": \"M\", \"items\": ["
        "{\"type\": \"Canvas\", \"label\": \"one\", \"items\": ["
        "{\"id\": \"page/1\", \"type\": \"AnnotationPage\"}]}]}";
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    mspec s;
    spec_init(&s, "https://h/m/manifest.json");
    mem_page = "{\"type\": \"AnnotationPage\", \"items\": [{\"type\": \"Annotation\", "
               "\"body\": {\"type\": \"Image\", \"service\": [{\"id\": \"../img/p1\", "
               "\"type\": \"ImageService3\"}]}}]}";
    CHECK(load_mem(&b, doc, &s, &e) == 0);
    if (e.code)
        fprintf(stderr, "  %s\n", e.msg);
    /* the page's relative service id is resolved against the manifest */
    CHECK(b.n == 1 && has_job(&b, 0, "M-1.tif", "https://h/img/p1"));
    iiifs_batch_clear(&b);
    mem_page = "{\"type\": \"AnnotationPage\", \"items\": []}";
    CHECK(load_mem(&b, doc, &s, &e) == 0 && b.n == 0 && nwarnings == 1 &&
          strstr(warnings[0], "canvas 1 (one): no image on it, left out"));
    iiifs_batch_clear(&b);
    mem_page = NULL;
    CHECK(port_mem_current() == 0);
}

static void expect_error(const char *doc, mspec *s, int code, const char *frag)
{
    iiifs_batch b;
    iiifs_error e = { 0, "" };
    int rc = load_mem(&b, doc, s, &e);
    if (rc != code || !strstr(e.msg, frag))
        fprintf(stderr, "  rc %d, want %d: %s\n", rc, code, e.msg);
    CHECK(rc == code && strstr(e.msg, frag));
    CHECK(b.n == 0);
    CHECK(port_mem_current() == 0);
}

TEST(test_manifest_errors)
{
    mspec s;
    spec_init(&s, "https://h/m.json");
    expect_error("{\"@context\": \"http://iiif.io/api/image/2/context.json\", \"@id\": "
                 "\"https://h/i\", \"width\": 10, \"height\": 10}", &s, IIIFS_E_IIIF,
                 "https://h/m.json is an image's info.json, not a manifest or collection");
    expect_error("{\"type\": \"Range\"}", &s, IIIFS_E_IIIF,
                 "https://h/m.json: not a IIIF manifest or collection (type 'Range')");
    expect_error("{\"label\": \"x\"}", &s, IIIFS_E_IIIF, "(no @type or type)");
    expect_error("{\"type\": \"Manifest\", \"items\": [", &s, IIIFS_E_JSON,
                 "https://h/m.json: invalid JSON");
    expect_error("{\"@type\": \"sc:Manifest\"}", &s, IIIFS_E_IIIF,
                 "a 2.x manifest without sequences[0].canvases");
    expect_error("{\"type\": \"Manifest\", \"items\": [{\"type\": \"Canvas\", \"label\": "
                 "\"c1\", \"items\": [{\"type\": \"AnnotationPage\", \"items\": ["
                 "{\"body\": {\"id\": \"https://h/pic.png\", \"type\": \"Image\"}}]}]}]}",
                 &s, IIIFS_E_IIIF, "https://h/m.json: canvas 1 (c1): no image service and "
                 "its image https://h/pic.png is not an Image API URL");
    mem_page = NULL;
    expect_error("{\"type\": \"Manifest\", \"items\": [{\"type\": \"Canvas\", \"items\": ["
                 "{\"id\": \"https://h/page/1\", \"type\": \"AnnotationPage\"}]}]}", &s,
                 IIIFS_E_NOENT, "no document for https://h/page/1");
    static const char two[] =
        "{\"@type\": \"sc:Manifest\", \"sequences\": [{\"canvases\": ["
        "{\"label\": \"same\", \"images\": [{\"resource\": {\"service\": {\"@id\": \"https://h/a\","
        "\"@type\": \"ImageService2\"}}}]},"
        "{\"label\": \"Same\", \"images\": [{\"resource\": {\"service\": {\"@id\": \"https://h/b\","
        "\"@type\": \"ImageService2\"}}}]}]}]}";
    s.name = "{label}";
    expect_error(two, &s, IIIFS_E_USAGE, "https://h/m.json: canvas 1 (https://h/a) and canvas "
                 "2 (https://h/b) both make 'Same.tif' (names differing only in case");
    s.name = "{label}/{index}";
    expect_error(two, &s, IIIFS_E_USAGE, "'/' cannot be part of a file name");
    s.name = "{plate}";
    expect_error(two, &s, IIIFS_E_USAGE, "--name: {plate} is not a manifest field");
    s.name = NULL;
    s.canvases = "0-3";
    expect_error(two, &s, IIIFS_E_USAGE, "--canvas '0-3': 0-3 is not a range of positions");
    s.canvases = "3-1";
    expect_error(two, &s, IIIFS_E_USAGE, "--canvas '3-1': 3-1 is not a range");
    s.canvases = "1;2";
    expect_error(two, &s, IIIFS_E_USAGE, "--canvas '1;2': unexpected ';'");
    s.canvases = "x";
    expect_error(two, &s, IIIFS_E_USAGE, "--canvas 'x': expected a number at 'x'");
    s.canvases = NULL;
    s.label_re = "(";
    expect_error(two, &s, IIIFS_E_USAGE, "--label '(': bad regular expression");
    s.label_re = NULL;
    /* a collection that nests itself deeper and deeper is cut at the depth cap */
    spec_init(&s, "https://h/c.json");
    expect_error("{\"type\": \"Collection\", \"items\": [{\"id\": \"c.json?x\", \"type\": "
                 "\"Collection\"}, {\"type\": \"Collection\", \"items\": [{\"type\": "
                 "\"Collection\", \"items\": [{\"type\": \"Collection\", \"items\": [{\"type\": "
                 "\"Collection\", \"items\": [{\"type\": \"Collection\", \"items\": []}]}]}]}]}]}",
                 &s, IIIFS_E_LIMIT, "collections more than 4 deep (IIIFS_MANIFEST_DEPTH_MAX)");
}

TEST(test_manifest_canvas_ranges)
{
    iiifs_canvas_ranges r;
    iiifs_error e = { 0, "" };
    CHECK(iiifs_canvas_ranges_parse(&r, "1,4-6,10", &e) == 0 && r.n == 3);
    CHECK(iiifs_canvas_ranges_has(&r, 1) && !iiifs_canvas_ranges_has(&r, 2) &&
          iiifs_canvas_ranges_has(&r, 5) && iiifs_canvas_ranges_has(&r, 6) &&
          !iiifs_canvas_ranges_has(&r, 7) && iiifs_canvas_ranges_has(&r, 10));
    CHECK(iiifs_canvas_ranges_parse(&r, "3-17", &e) == 0 && r.n == 1 && r.lo[0] == 3 &&
          r.hi[0] == 17);
    CHECK(iiifs_canvas_ranges_parse(&r, "1,", &e) == IIIFS_E_USAGE);
    CHECK(iiifs_canvas_ranges_parse(&r, "", &e) == IIIFS_E_USAGE);
    CHECK(iiifs_canvas_ranges_parse(&r, "99999999999", &e) == IIIFS_E_USAGE);
}

/* The shared fixtures (when there): what each gives, or the error it is. */
TEST(test_manifest_shared_fixtures)
{
    static const struct {
        const char *file;
        int rc;
        uint32_t n;
        const char *first;          /* the first job's source, or a fragment of the error */
    } cases[] = {
        { "manifest-v2-bodleian-real.json", 0, 1,
          "https://iiif.bodleian.ox.ac.uk/iiif/image/9cca8fdd-4a61-4429-8ac1-f648764b4d6d" },
        { "manifest-v2-bodleian-zero-size-canvas.json", 0, 1,
          "https://iiif.bodleian.ox.ac.uk/iiif/image/03472cb2-32d3-4c65-b9b6-51119609baac" },
        { "manifest-v2-spec21-fixture25-embedded-info-service.json", 0, 1,
          "http://iiif.io/api/image/2.1/example/reference/page1-full" },
        { "manifest-v2-spec21-fixture29-choice-with-service.json", 0, 1,
          "http://iiif.io/api/image/2.1/example/reference/page1-full" },
        { "manifest-v2-spec21-fixture36-specificresource-selector.json", 0, 1,
          "http://iiif.io/api/image/2.1/example/reference/page1-full" },
        { "manifest-v2-spec21-fixture62-label-language-array.json", IIIFS_E_IIIF, 0,
          "canvas 1 (Test 62 Canvas: 1): no image service" },
        { "manifest-v2-yale-osborn-image11-trailing-slash.json", 0, 1,
          "https://images.britishart.yale.edu/iiif/b38081da-8991-4464-a71e-d9891226a35f/" },
        { "manifest-v2-yale-scroll-string-dims-sharedcanvas-context.json", 0, 1,
          "http://scale.ydc2.yale.edu/iiif/630f3bf4-13dc-43dc-907f-4d4906bc6e5f" },
        { "manifest-v3-cookbook0009-book-multi-canvas.json", 0, 5,
          "https://iiif.io/api/image/3.0/example/reference/59d09e6773341f28ea166e9f3c1e674f-"
          "gallica_ark_12148_bpt6k1526005v_f18" },
        { "manifest-v3-cookbook0033-choice.json", 0, 1,
          "https://iiif.io/api/image/3.0/example/reference/421e65be2ce95439b3ad6ef1f2ab87a9-"
          "dee-natural" },
        { "manifest-v3-imageservice2-at-id.json", 0, 1,
          "https://example.org/iiif2/image1/identifier" },
        { "manifest-v3-service-as-object-invalid.json", 0, 1,
          "https://example.org/iiif/book1/page1" },
        { "manifest-v3-spec-appendixB-full-example-auth-services.json", 0, 2,
          "https://example.org/iiif/book1/page1" },
    };
    char path[1024], missing[1024] = "";
    const char *dir = unit_shared_fixtures();
    snprintf(path, sizeof path, "%s/%s", dir, cases[0].file);
    if (!port_file_exists(path))
        UNIT_SKIP_SHARED(dir);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        iiifs_batch b;
        iiifs_error e = { 0, "" };
        mspec s;
        snprintf(path, sizeof path, "%s/%s", dir, cases[k].file);
        if (!port_file_exists(path)) {
            /* the others still run; the test is not counted as passed */
            if (!missing[0])
                snprintf(missing, sizeof missing, "%s", path);
            continue;
        }
        spec_init(&s, path);
        int rc = load(&b, &s, &e);
        int ok = rc == cases[k].rc &&
                 (rc ? strstr(e.msg, cases[k].first) != NULL
                     : b.n == cases[k].n && !strcmp(iiifs_batch_source(&b, 0), cases[k].first));
        if (!ok)
            fprintf(stderr, "  %s: rc %d n %u: %s\n", cases[k].file, rc, rc ? 0 : b.n,
                    rc ? e.msg : iiifs_batch_source(&b, 0));
        CHECK(ok);
        iiifs_batch_clear(&b);
    }
    CHECK(port_mem_current() == 0);
    if (missing[0])
        UNIT_SKIP_SHARED(missing);
}
