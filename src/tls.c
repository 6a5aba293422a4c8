/*
 * tls.c — see tls.h. Builds against mbedTLS 2.28 (Debian 12) and 3.x.
 */
#include "tls.h"

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <string.h>

static int entropy(void *ctx, unsigned char *out, size_t n)
{
    (void)ctx;
    return port_entropy(out, n) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

/* The DRBG as mbedTLS's RNG; under rng_lock when the configuration is shared. */
static int rng(void *ctx, unsigned char *out, size_t n)
{
    iiifs_tls_config *c = ctx;
    if (c->rng_lock)
        port_mutex_lock(c->rng_lock);
    int ret = mbedtls_ctr_drbg_random(&c->drbg, out, n);
    if (c->rng_lock)
        port_mutex_unlock(c->rng_lock);
    return ret;
}

static void tls_strerror(int ret, char *buf, size_t n)
{
    mbedtls_strerror(ret, buf, n);
}

int iiifs_tls_config_init(iiifs_tls_config *c, const char *cacert, int insecure,
                          port_mutex *rng_lock, iiifs_error *e)
{
    static const char pers[] = "iiifstitch";
    char why[160];
    memset(c, 0, sizeof *c);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_ctr_drbg_init(&c->drbg);
    c->rng_lock = rng_lock;
    c->ready = 1;

    int ret = mbedtls_ctr_drbg_seed(&c->drbg, entropy, NULL,
                                    (const unsigned char *)pers, sizeof pers - 1);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof why);
        return iiifs_fail(e, IIIFS_E_TLS, "TLS: cannot seed random generator: %s", why);
    }
    ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0)
        return iiifs_fail(e, IIIFS_E_TLS, "TLS: cannot set up configuration");
    mbedtls_ssl_conf_rng(&c->conf, rng, c);

    if (insecure) {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
        return 0;
    }
    /* --cacert, then SSL_CERT_FILE, then the platform's usual places. */
    const char *path = cacert ? cacert : port_getenv("SSL_CERT_FILE");
    if (path) {
        ret = mbedtls_x509_crt_parse_file(&c->ca, path);
        if (ret < 0) {
            tls_strerror(ret, why, sizeof why);
            return iiifs_fail(e, IIIFS_E_CERT, "cannot load CA bundle %s: %s", path, why);
        }
        if (ret > 0 && c->ca.version == 0)
            return iiifs_fail(e, IIIFS_E_CERT, "CA bundle %s holds no usable certificate", path);
    } else {
        const char *const *p = port_ca_bundle_paths();
        for (; *p; p++) {
            if (!port_file_exists(*p))
                continue;
            ret = mbedtls_x509_crt_parse_file(&c->ca, *p);
            if (ret >= 0 && c->ca.version != 0) {
                path = *p;
                break;
            }
        }
        if (!path)
            return iiifs_fail(e, IIIFS_E_CERT,
                              "no system CA bundle found (install ca-certificates or pass --cacert FILE)");
    }
    iiifs_copy(c->ca_path, sizeof c->ca_path, path);
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    return 0;
}

void iiifs_tls_config_free(iiifs_tls_config *c)
{
    if (!c->ready)
        return;
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ctr_drbg_free(&c->drbg);
    c->ready = 0;
}

/* BIO callbacks: the port does the waiting, so mbedTLS never sees WANT_*. */
static int bio_send(void *ctx, const unsigned char *buf, size_t n)
{
    iiifs_tls *t = ctx;
    long r = port_tcp_send(t->sock, buf, n, t->timeout_ms);
    if (r < 0) {
        t->io_error = (int)r;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
    return (int)r;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t n)
{
    iiifs_tls *t = ctx;
    long r = port_tcp_recv(t->sock, buf, n, t->timeout_ms);
    if (r < 0) {
        t->io_error = (int)r;
        return r == IIIFS_E_TIMEOUT ? MBEDTLS_ERR_SSL_TIMEOUT : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    return (int)r;
}

int iiifs_tls_connect(iiifs_tls *t, iiifs_tls_config *c, port_sock sock,
                      const char *host, uint32_t timeout_ms, iiifs_error *e)
{
    char why[200];
    memset(t, 0, sizeof *t);
    mbedtls_ssl_init(&t->ssl);
    t->ready = 1;
    t->sock = sock;
    t->timeout_ms = timeout_ms;
    int ret = mbedtls_ssl_setup(&t->ssl, &c->conf);
    if (ret == 0)
        ret = mbedtls_ssl_set_hostname(&t->ssl, host);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof why);
        return iiifs_fail(e, ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? IIIFS_E_NOMEM : IIIFS_E_TLS,
                          "TLS setup for %s: %s", host, why);
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    while ((ret = mbedtls_ssl_handshake(&t->ssl)) != 0) {
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (t->io_error)
            return iiifs_fail(e, t->io_error, "TLS handshake with %s: %s", host,
                              port_error_text());
        uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
        if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags) {
            char info[256];
            int n = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
            /* one line: join the reasons */
            for (int i = 0; i < n && info[i]; i++)
                if (info[i] == '\n')
                    info[i] = (i == n - 1 || !info[i + 1]) ? 0 : ';';
            int ip = host[strspn(host, "0123456789.")] == 0 || strchr(host, ':') != NULL;
            return iiifs_fail(e, IIIFS_E_CERT, "certificate of %s not trusted: %s%s", host, info,
                              ip ? " (certificates are matched by host name, not IP address: "
                                   "use the server's name)"
                                 : " (use --cacert FILE, or --insecure)");
        }
        tls_strerror(ret, why, sizeof why);
        return iiifs_fail(e, IIIFS_E_TLS, "TLS handshake with %s failed: %s", host, why);
    }
    return 0;
}

long iiifs_tls_read(iiifs_tls *t, void *buf, size_t n)
{
    for (;;) {
        t->io_error = 0;
        int r = mbedtls_ssl_read(&t->ssl, buf, n);
        if (r >= 0)
            return r;
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            return 0;
        if (t->io_error)
            return t->io_error;
        return r == MBEDTLS_ERR_SSL_TIMEOUT ? IIIFS_E_TIMEOUT : IIIFS_E_TLS;
    }
}

long iiifs_tls_write(iiifs_tls *t, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    size_t left = n;
    while (left) {
        t->io_error = 0;
        int r = mbedtls_ssl_write(&t->ssl, p, left);
        if (r > 0) {
            p += r;
            left -= (size_t)r;
            continue;
        }
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        return t->io_error ? t->io_error : IIIFS_E_TLS;
    }
    return (long)n;
}

void iiifs_tls_free(iiifs_tls *t)
{
    if (!t->ready)
        return;
    mbedtls_ssl_free(&t->ssl);
    t->ready = 0;
}
