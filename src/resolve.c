/*
 * resolve.c — see resolve.h.
 */
#include "resolve.h"
#include "client.h"
#include "presentation.h"

#include <string.h>

/* What body (from url) is: an image (info parsed), a manifest or a
 * collection; else the info.json's error. */
static int classify(iiifs_source *s, const iiifs_buf *body, const char *url, iiifs_error *e)
{
    iiifs_error ie = { 0, "" };
    int rc = iiifs_info_parse(&s->info, (const char *)body->p, body->len, url, &ie);
    if (rc == 0) {
        s->kind = IIIFS_SOURCE_IMAGE;
        return 0;
    }
    if (rc == IIIFS_E_JSON || rc == IIIFS_E_IIIF || rc == IIIFS_E_LIMIT) {
        int kind = iiifs_presentation_kind((const char *)body->p, body->len);
        if (kind) {
            s->kind = kind == 1 ? IIIFS_SOURCE_MANIFEST : IIIFS_SOURCE_COLLECTION;
            return 0;
        }
    }
    *e = ie;
    return rc;
}

/* Fetch src and classify it; the document is kept in s->body. */
static int fetch_one(iiifs_fetcher *f, iiifs_source *s, const char *src, iiifs_error *e)
{
    int rc = iiifs_fetch_document(f, src, &s->body, s->url, sizeof s->url, e);
    if (rc == 0)
        rc = classify(s, &s->body, s->url, e);
    return rc;
}

/* 1 when the last path segment of url ends in ".json". */
static int names_json(const char *url)
{
    size_t n = strcspn(url, "?#");
    return n >= 5 && !memcmp(url + n - 5, ".json", 5);
}

/* A directory means its info.json. */
static int local_path(const char *src, char *out, size_t cap, iiifs_error *e)
{
    if (port_path_kind(src) != PORT_PATH_DIR)
        return iiifs_copy(out, cap, src)
               ? iiifs_fail(e, IIIFS_E_LIMIT, "path too long: %.200s", src) : 0;
    size_t n = strlen(src);
    while (n > 1 && src[n - 1] == '/')
        n--;
    if (iiifs_format(out, cap, "%.*s/info.json", (int)n, src))
        return iiifs_fail(e, IIIFS_E_LIMIT, "path too long: %.200s", src);
    return 0;
}

/* A URL that names no document: URL/info.json, then the URL itself. */
static int base_url(iiifs_fetcher *f, iiifs_source *s, const char *src, iiifs_error *e)
{
    char url[IIIFS_URL_MAX];
    size_t n = strlen(src);
    if (n && src[n - 1] == '/')
        n--;
    if (iiifs_format(url, sizeof url, "%.*s/info.json", (int)n, src))
        return iiifs_fail(e, IIIFS_E_URL, "URL too long: %.200s", src);
    iiifs_error first = { 0, "" };
    int rc = fetch_one(f, s, url, &first);
    if (rc == 0 && s->kind == IIIFS_SOURCE_IMAGE)
        return 0;
    if (rc && rc != IIIFS_E_HTTP_STATUS && rc != IIIFS_E_JSON && rc != IIIFS_E_IIIF) {
        *e = first;         /* network trouble: asking again at the same host won't help */
        return rc;
    }
    iiifs_error second = { 0, "" };
    int rc2 = fetch_one(f, s, src, &second);
    if (rc2 == 0)
        return 0;
    *e = first.code ? first : second;
    return first.code ? rc : rc2;
}

int iiifs_resolve(iiifs_fetcher *f, const char *source, iiifs_source **out, iiifs_error *e)
{
    *out = NULL;
    iiifs_source *s = port_malloc(sizeof *s);
    if (!s)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for the source");
    memset(s, 0, sizeof *s);
    iiifs_buf_init(&s->body, IIIFS_SOURCE_BYTES_MAX);
    uint32_t requests = f->http ? f->http->requests : 0, files = f->files, retries = f->retries;
    uint64_t bytes = (f->http ? f->http->bytes_in : 0) + f->file_bytes;
    int rc = iiifs_copy(s->name, sizeof s->name, source)
             ? iiifs_fail(e, IIIFS_E_URL, "SOURCE longer than %d bytes", IIIFS_URL_MAX - 1) : 0;
    s->local = !iiifs_url_has_scheme(source);
    char path[IIIFS_PATH_MAX];
    if (!rc && s->local && (rc = local_path(source, path, sizeof path, e)) == 0)
        rc = fetch_one(f, s, path, e);
    else if (!rc && !s->local)
        rc = names_json(source) ? fetch_one(f, s, source, e) : base_url(f, s, source, e);
    s->requests = (f->http ? f->http->requests : 0) - requests;
    s->files = f->files - files;
    s->retries = f->retries - retries;
    s->bytes_in = (f->http ? f->http->bytes_in : 0) + f->file_bytes - bytes;
    if (!rc && s->kind == IIIFS_SOURCE_IMAGE)
        iiifs_buf_free(&s->body);   /* the info holds what the job needs */
    if (rc) {
        iiifs_source_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- the public face */

int iiifs_source_open(iiifs_client *c, const char *source, iiifs_source **out, iiifs_error *e)
{
    *out = NULL;
    iiifs_http *http = port_malloc(sizeof *http);
    if (!http)
        return iiifs_fail(e, IIIFS_E_NOMEM, "no memory for an HTTP handle");
    iiifs_fetcher f;
    iiifs_client_fetcher(c, &f, http, NULL, NULL);
    int rc = iiifs_resolve(&f, source, out, e);
    iiifs_http_free(http);
    port_free(http);
    return rc;
}

iiifs_source_kind iiifs_source_kind_of(const iiifs_source *s)
{
    return s->kind;
}

const char *iiifs_source_name(const iiifs_source *s)
{
    return s->name;
}

const char *iiifs_source_url(const iiifs_source *s)
{
    return s->url;
}

void iiifs_source_free(iiifs_source *s)
{
    if (!s)
        return;
    iiifs_buf_free(&s->body);
    port_free(s);
}
