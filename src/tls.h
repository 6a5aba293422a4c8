/*
 * tls.h — TLS client transport over mbedTLS, on a port socket.
 *
 * One iiifs_tls_config per client, or one shared by the clients of several
 * threads (CA chain, DRBG, settings), one iiifs_tls per connection. A shared
 * configuration passes rng_lock: every use of its DRBG then holds that mutex
 * (mbedtls_ssl_config itself is only read once made). Verification is required unless insecure was asked for;
 * the host name is sent as SNI and checked against the certificate.
 * mbedTLS's WANT_READ/WANT_WRITE never leave this module: reads and writes
 * block up to the timeout and return counts or iiifs_status codes.
 */
#ifndef IIIFS_TLS_H
#define IIIFS_TLS_H

#include "util.h"
#include "port.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

typedef struct iiifs_tls_config {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_ctr_drbg_context drbg;
    port_mutex *rng_lock;           /* NULL: one thread only */
    int ready;
    char ca_path[IIIFS_URL_MAX];    /* what was loaded, for messages */
} iiifs_tls_config;

typedef struct iiifs_tls {
    mbedtls_ssl_context ssl;
    port_sock sock;
    uint32_t timeout_ms;
    int io_error;                   /* port error behind the last failure */
    int ready;
} iiifs_tls;

int iiifs_tls_config_init(iiifs_tls_config *c, const char *cacert, int insecure,
                          port_mutex *rng_lock, iiifs_error *e);
void iiifs_tls_config_free(iiifs_tls_config *c);    /* safe twice */

int iiifs_tls_connect(iiifs_tls *t, iiifs_tls_config *c, port_sock sock,
                      const char *host, uint32_t timeout_ms, iiifs_error *e);
long iiifs_tls_read(iiifs_tls *t, void *buf, size_t n);      /* >0, 0 EOF, <0 */
long iiifs_tls_write(iiifs_tls *t, const void *buf, size_t n); /* n or <0 */
void iiifs_tls_free(iiifs_tls *t);                  /* safe twice */

#endif
