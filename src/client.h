/*
 * client.h — the caller-owned client (iiifs_client in iiifstitch.h), as
 * the layers above see it: one shared HTTP part (options, TLS configuration,
 * the pool of keep-alive connections), the politeness of every server, and
 * the memory cap, for every job and batch that runs through it.
 *
 * The memory cap is the port's account (port_mem_set_cap): every
 * allocation of the library goes through port_malloc, which refuses what
 * would pass it. The client sets it when made and puts back the cap it found
 * when freed. mbedTLS, libjpeg and libtiff allocate through the C library
 * (Debian builds mbedTLS without MBEDTLS_PLATFORM_MEMORY): their share is
 * outside the account (docs/design.md, Memory model).
 */
#ifndef IIIFS_CLIENT_H
#define IIIFS_CLIENT_H

#include "fetch.h"

#ifndef IIIFS_MAX_MEMORY_MIN
#define IIIFS_MAX_MEMORY_MIN (1u << 20)      /* the smallest --max-memory */
#endif

struct iiifs_client {
    iiifs_http_shared *http;
    iiifs_polite polite;
    uint32_t connections;           /* per server */
    uint32_t tries;                 /* attempts per request */
    size_t max_memory;              /* the cap of the port's account */
    size_t cap_before;              /* the cap found, put back when freed */
    void (*on_warning)(void *ud, const char *msg);
    void *ud;
};

/* A fetcher for this thread on handle http (initialised here; iiifs_http_free
 * it after use) under the client's rules; warnings to warn (NULL = the
 * client's). */
void iiifs_client_fetcher(iiifs_client *c, iiifs_fetcher *f, iiifs_http *http,
                          void (*warn)(void *ud, const char *msg), void *ud);

#endif
