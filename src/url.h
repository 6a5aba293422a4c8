/*
 * url.h — absolute http(s) URLs: parsing into what a request needs, and
 * reference resolution (RFC 3986 §5.2) for redirects and relative ids.
 *
 * Ids are used verbatim (IIIF digest §7.3): existing %XX escapes are kept,
 * only bytes that cannot appear on a request line are percent-encoded.
 */
#ifndef IIIFS_URL_H
#define IIIFS_URL_H

#include "util.h"

typedef struct iiifs_url {
    int https;
    char host[IIIFS_HOST_MAX];     /* IPv6 literals without brackets */
    uint16_t port;
    char target[IIIFS_URL_MAX];    /* origin-form request target ("/p?q") */
} iiifs_url;

/* 1 if s starts with a URI scheme ("x:"), 0 otherwise. */
int iiifs_url_has_scheme(const char *s);
/* Parse an absolute http/https URL. */
int iiifs_url_parse(iiifs_url *u, const char *s, iiifs_error *e);
/* Resolve ref against the absolute URL base into out (fragment dropped). */
int iiifs_url_resolve(const char *base, const char *ref, char *out, size_t cap);
/* Append a bare identifier (not yet escaped) to out as one path segment,
 * as the Image API asks (§9 URI encoding): every byte but RFC 3986's
 * unreserved, sub-delims, ':' and '@' is percent-encoded, so '/' becomes
 * %2F, '%' %25, '?' %3F, '#' %23, a space %20 and UTF-8 bytes %XX. */
int iiifs_url_escape_id(const char *id, size_t n, char *out, size_t cap, size_t *len);
/* Same origin (scheme, host, port)? */
int iiifs_url_same_origin(const iiifs_url *a, const iiifs_url *b);

#endif
