/*
 * proxy.h — HTTP proxies, without I/O: the proxy URL and the NO_PROXY rule.
 *
 * A proxy URL is "http://[user:pass@]host[:port][/]" or the same without
 * "http://" (environment variables often omit it); the port defaults to 80.
 * Credentials are percent-decoded and become a Proxy-Authorization: Basic
 * value (RFC 9110 §11.7.1, RFC 7617); they never appear in messages.
 * https:// proxies (TLS to the proxy itself) are not supported: an error.
 *
 * http.c uses the result: plain http goes to the proxy with absolute-form
 * request targets (RFC 9112 §3.2.2), https goes through a CONNECT tunnel
 * (RFC 9110 §9.3.6) with TLS to the origin inside it.
 */
#ifndef IIIFS_PROXY_H
#define IIIFS_PROXY_H

#include "util.h"

typedef struct iiifs_proxy {
    char host[IIIFS_HOST_MAX];      /* "" = no proxy; IPv6 literals without brackets */
    uint16_t port;
    char auth[IIIFS_PROXY_AUTH_MAX];/* Proxy-Authorization value, "" = none */
    char name[IIIFS_HOST_MAX + 16]; /* "http://host:port" for messages, no credentials */
} iiifs_proxy;

/* Parse proxy URL s; "" gives no proxy. what names where s came from
 * ("--proxy", "HTTPS_PROXY") in the error message. */
int iiifs_proxy_parse(iiifs_proxy *p, const char *s, const char *what, iiifs_error *e);

/* 1 when the NO_PROXY list exempts host:port from the proxy, else 0.
 * Entries are comma-separated; "*" matches every host; "example.org" and
 * ".example.org" both match example.org and its subdomains; an IP literal
 * (IPv6 with or without brackets) matches only itself; ":port" limits an
 * entry to that port. Names compare case-insensitively. */
int iiifs_proxy_bypass(const char *no_proxy, const char *host, uint16_t port);

#endif
