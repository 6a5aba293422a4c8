/* test_resolve.c — a SOURCE recognised once, from its content, through a
 * fake transport that serves documents by URL and counts the requests: an
 * info.json under any name, a base URL, a manifest with and without .json,
 * a collection, a local directory, and the errors of each path. */
#include "unit.h"
#include "resolve.h"
#include "port.h"

#include <stdio.h>
#include <string.h>

static const char image[] =
    "{\"@context\": \"http://iiif.io/api/image/2/context.json\", \"@id\": \"https://h/iiif/a\","
    " \"protocol\": \"http://iiif.io/api/image\", \"width\": 100, \"height\": 80,"
    " \"profile\": [\"http://iiif.io/api/image/2/level0.json\"],"
    " \"tiles\": [{\"width\": 64, \"scaleFactors\": [1]}]}";
static const char manifest[] = "{\"type\": \"Manifest\", \"items\": []}";
static const char collection[] = "{\"@type\": \"sc:Collection\", \"manifests\": []}";

typedef struct route {
    const char *url;
    int status;
    const char *body;
} route;

typedef struct server {
    const route *r;
    int n;
    char asked[8][128];
    int nasked;
} server;

static int serve(void *ud, const char *url, iiifs_buf *body, iiifs_response *r, iiifs_error *e)
{
    server *s = ud;
    (void)e;
    memset(r, 0, sizeof *r);
    iiifs_copy(r->url, sizeof r->url, url);
    if (s->nasked < 8)
        snprintf(s->asked[s->nasked++], sizeof s->asked[0], "%s", url);
    body->len = 0;
    r->status = 404;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->r[i].url, url)) {
            r->status = s->r[i].status;
            return iiifs_buf_append(body, s->r[i].body, strlen(s->r[i].body));
        }
    return iiifs_buf_append(body, "not here", 8);
}

/* Resolve src on server s; the kind, or the error code. */
static int resolve(server *s, const char *src, iiifs_source **out, iiifs_error *e)
{
    iiifs_fetcher f;
    iiifs_fetcher_init(&f, NULL, NULL, 1);
    f.get = serve;
    f.get_ud = s;
    s->nasked = 0;
    int rc = iiifs_resolve(&f, src, out, e);
    return rc ? rc : (int)(*out)->kind;
}

TEST(test_resolve_an_info_json_under_any_name)
{
    route r[] = { { "https://h/x/some-info.json", 200, image } };
    server s = { r, 1, { "" }, 0 };
    iiifs_source *src = NULL;
    iiifs_error e = { 0, "" };
    CHECK(resolve(&s, "https://h/x/some-info.json", &src, &e) == IIIFS_SOURCE_IMAGE);
    CHECK(s.nasked == 1 && src->info.width == 100 && !strcmp(src->info.base, "https://h/iiif/a"));
    CHECK(!strcmp(src->url, "https://h/x/some-info.json") && src->body.len == 0);
    iiifs_source_free(src);
    CHECK(port_mem_current() == 0);
}

TEST(test_resolve_a_base_url_asks_its_info_json_first)
{
    route r[] = { { "https://h/iiif/a/info.json", 200, image } };
    server s = { r, 1, { "" }, 0 };
    iiifs_source *src = NULL;
    iiifs_error e = { 0, "" };
    CHECK(resolve(&s, "https://h/iiif/a/", &src, &e) == IIIFS_SOURCE_IMAGE);
    CHECK(s.nasked == 1 && !strcmp(s.asked[0], "https://h/iiif/a/info.json"));
    iiifs_source_free(src);
}

TEST(test_resolve_manifests_and_collections_by_content)
{
    route r[] = { { "https://h/m/book", 200, manifest }, { "https://h/m.json", 200, manifest },
                  { "https://h/c", 200, collection } };
    server s = { r, 3, { "" }, 0 };
    iiifs_source *src = NULL;
    iiifs_error e = { 0, "" };
    /* no .json: URL/info.json (missing), then the URL, each once */
    CHECK(resolve(&s, "https://h/m/book", &src, &e) == IIIFS_SOURCE_MANIFEST);
    CHECK(s.nasked == 2 && !strcmp(s.asked[0], "https://h/m/book/info.json") &&
          !strcmp(s.asked[1], "https://h/m/book"));
    CHECK(src->body.len == strlen(manifest));     /* kept for the batch */
    iiifs_source_free(src);
    /* .json: that document alone */
    CHECK(resolve(&s, "https://h/m.json", &src, &e) == IIIFS_SOURCE_MANIFEST && s.nasked == 1);
    iiifs_source_free(src);
    CHECK(resolve(&s, "https://h/c", &src, &e) == IIIFS_SOURCE_COLLECTION && s.nasked == 2);
    iiifs_source_free(src);
    CHECK(port_mem_current() == 0);
}

TEST(test_resolve_errors_name_the_first_address)
{
    route r[] = { { "https://h/other", 200, "{\"type\": \"Canvas\"}" },
                  { "https://h/bad.json", 200, "{\"width\": " } };
    server s = { r, 2, { "" }, 0 };
    iiifs_source *src = NULL;
    iiifs_error e1 = { 0, "" }, e2 = { 0, "" }, e3 = { 0, "" };
    CHECK(resolve(&s, "https://h/none", &src, &e1) == IIIFS_E_HTTP_STATUS && !src);
    CHECK(strstr(e1.msg, "HTTP 404") && strstr(e1.msg, "https://h/none/info.json"));
    /* JSON, but neither an image nor a presentation: the info.json's error */
    CHECK(resolve(&s, "https://h/other", &src, &e2) == IIIFS_E_HTTP_STATUS);
    CHECK(resolve(&s, "https://h/bad.json", &src, &e3) == IIIFS_E_JSON && s.nasked == 1);
    CHECK(port_mem_current() == 0);
}

TEST(test_resolve_a_local_directory_is_its_info_json)
{
    char dir[256], path[300];
    unit_tmp_path(dir, sizeof dir, "resolve-tree");
    snprintf(path, sizeof path, "%s/info.json", dir);
    CHECK(port_dir_make(dir) == 0);
    unit_put_file(path, image, strlen(image));
    server s = { NULL, 0, { "" }, 0 };
    iiifs_source *src = NULL;
    iiifs_error e = { 0, "" }, e2 = { 0, "" };
    CHECK(resolve(&s, dir, &src, &e) == IIIFS_SOURCE_IMAGE && src->local && s.nasked == 0);
    CHECK(src->files == 1 && !strcmp(src->url, path) && !strcmp(src->name, dir));
    iiifs_source_free(src);
    CHECK(resolve(&s, path, &src, &e) == IIIFS_SOURCE_IMAGE);
    iiifs_source_free(src);
    remove(path);
    CHECK(resolve(&s, dir, &src, &e2) == IIIFS_E_NOENT && strstr(e2.msg, "info.json"));
    remove(dir);
    CHECK(port_mem_current() == 0);
}
