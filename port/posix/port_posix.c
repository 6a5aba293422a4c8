/*
 * port_posix.c — the port contract on POSIX systems (Linux, BSD, macOS).
 * Sockets are non-blocking during connect and poll()ed for every timeout.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char last_error[160];

static void note_errno(const char *what, int err)
{
    snprintf(last_error, sizeof last_error, "%s: %s", what, strerror(err));
}

const char *port_error_text(void)
{
    return last_error[0] ? last_error : "no OS error recorded";
}

/* ---- memory */

/* A header in front of each block records its size for the accounting. */
typedef union { size_t n; max_align_t align; } mem_header;

/* Counters are atomic: worker threads allocate too. */
static atomic_size_t mem_now, mem_peak, mem_cap;

void *port_malloc(size_t n)
{
    if (n > SIZE_MAX - sizeof(mem_header))
        return NULL;
    size_t cap = atomic_load(&mem_cap);
    size_t now = atomic_fetch_add(&mem_now, n) + n;
    if (now < n || (cap && now > cap)) {
        atomic_fetch_sub(&mem_now, n);
        return NULL;
    }
    mem_header *h = malloc(sizeof *h + n);
    if (!h) {
        atomic_fetch_sub(&mem_now, n);
        return NULL;
    }
    h->n = n;
    size_t peak = atomic_load(&mem_peak);
    while (now > peak && !atomic_compare_exchange_weak(&mem_peak, &peak, now))
        ;
    return h + 1;
}

void port_free(void *p)
{
    if (!p)
        return;
    mem_header *h = (mem_header *)p - 1;
    atomic_fetch_sub(&mem_now, h->n);
    free(h);
}

size_t port_mem_current(void) { return atomic_load(&mem_now); }
size_t port_mem_peak(void) { return atomic_load(&mem_peak); }
void port_mem_reset_peak(void) { atomic_store(&mem_peak, atomic_load(&mem_now)); }
void port_mem_set_cap(size_t cap) { atomic_store(&mem_cap, cap); }
size_t port_mem_cap(void) { return atomic_load(&mem_cap); }

size_t port_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
#if defined(__APPLE__)
    return (size_t)ru.ru_maxrss;
#else
    return (size_t)ru.ru_maxrss * 1024u;
#endif
}

/* ---- time and randomness */

uint64_t port_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void port_sleep_ms(uint32_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int port_entropy(void *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        note_errno("/dev/urandom", errno);
        return IIIFS_E_IO;
    }
    unsigned char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            note_errno("/dev/urandom", r < 0 ? errno : EIO);
            close(fd);
            return IIIFS_E_IO;
        }
        p += r;
        n -= (size_t)r;
    }
    close(fd);
    return 0;
}

/* ---- sockets */

static int wait_fd(int fd, short events, uint32_t timeout_ms)
{
    uint64_t deadline = port_now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = { fd, events, 0 };
        uint64_t now = port_now_ms();
        int left = now >= deadline ? 0 : (int)(deadline - now);
        int r = poll(&p, 1, left);
        if (r > 0)
            return 0;
        if (r == 0) {
            snprintf(last_error, sizeof last_error, "timed out after %u ms", timeout_ms);
            return IIIFS_E_TIMEOUT;
        }
        if (errno != EINTR) {
            note_errno("poll", errno);
            return IIIFS_E_IO;
        }
    }
}

static int connect_one(const struct addrinfo *ai, uint32_t timeout_ms, int *out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        note_errno("socket", errno);
        return IIIFS_E_CONNECT;
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            note_errno("connect", errno);
            rc = IIIFS_E_CONNECT;
        } else if ((rc = wait_fd(fd, POLLOUT, timeout_ms)) == 0) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) {
                note_errno("connect", err);
                rc = IIIFS_E_CONNECT;
            }
        }
    }
    if (rc) {
        close(fd);
        return rc;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = fd;
    return 0;
}

int port_tcp_connect(const char *host, uint16_t port, uint32_t timeout_ms, port_sock *out)
{
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, service, &hints, &res);
    if (g != 0) {
        snprintf(last_error, sizeof last_error, "cannot resolve %s: %s", host, gai_strerror(g));
        return IIIFS_E_RESOLVE;
    }
    int rc = IIIFS_E_CONNECT, fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        rc = connect_one(ai, timeout_ms, &fd);
        if (rc == 0)
            break;
    }
    freeaddrinfo(res);
    if (rc)
        return rc;
    out->h = fd;
    return 0;
}

long port_tcp_send(port_sock s, const void *buf, size_t n, uint32_t timeout_ms)
{
    const char *p = buf;
    size_t left = n;
    while (left) {
        ssize_t w = send((int)s.h, p, left, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            left -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd((int)s.h, POLLOUT, timeout_ms);
            if (rc)
                return rc;
            continue;
        }
        note_errno("send", w < 0 ? errno : EPIPE);
        return (w < 0 && (errno == EPIPE || errno == ECONNRESET)) ? IIIFS_E_CLOSED : IIIFS_E_IO;
    }
    return (long)n;
}

long port_tcp_recv(port_sock s, void *buf, size_t n, uint32_t timeout_ms)
{
    for (;;) {
        ssize_t r = recv((int)s.h, buf, n, 0);
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd((int)s.h, POLLIN, timeout_ms);
            if (rc)
                return rc;
            continue;
        }
        note_errno("recv", errno);
        return errno == ECONNRESET ? IIIFS_E_CLOSED : IIIFS_E_IO;
    }
}

int port_tcp_idle_ok(port_sock s)
{
    struct pollfd p = { (int)s.h, POLLIN, 0 };
    int r = poll(&p, 1, 0);
    /* Readable while idle means EOF, a reset or bytes nobody asked for. */
    return r == 0;
}

void port_tcp_close(port_sock *s)
{
    if (s->h != PORT_SOCK_NONE) {
        close((int)s->h);
        s->h = PORT_SOCK_NONE;
    }
}

/* ---- files */

/* File errors carry only the OS's words: callers name the file. */
static int file_err(const char *path, int err)
{
    (void)path;
    snprintf(last_error, sizeof last_error, "%s", strerror(err));
    return err == ENOENT ? IIIFS_E_NOENT : IIIFS_E_IO;
}

int port_file_create(const char *path, port_file *f)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return file_err(path, errno);
    f->h = fd;
    return 0;
}

int port_file_open_read(const char *path, port_file *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return file_err(path, errno);
    f->h = fd;
    return 0;
}

port_file port_file_stdout(void)
{
    port_file f = { STDOUT_FILENO };
    return f;
}

long port_file_read(port_file f, void *buf, size_t n)
{
    for (;;) {
        ssize_t r = read((int)f.h, buf, n);
        if (r >= 0)
            return (long)r;
        if (errno != EINTR)
            return file_err("read", errno);
    }
}

long port_file_write(port_file f, const void *buf, size_t n)
{
    const char *p = buf;
    size_t left = n;
    while (left) {
        ssize_t w = write((int)f.h, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return file_err("write", w < 0 ? errno : ENOSPC);
        p += w;
        left -= (size_t)w;
    }
    return (long)n;
}

int64_t port_file_seek(port_file f, int64_t off, int whence)
{
    int w = whence == 0 ? SEEK_SET : whence == 1 ? SEEK_CUR : SEEK_END;
    off_t r = lseek((int)f.h, (off_t)off, w);
    if (r < 0)
        return file_err("seek", errno);
    return (int64_t)r;
}

int64_t port_file_size(port_file f)
{
    struct stat st;
    if (fstat((int)f.h, &st) != 0)
        return file_err("stat", errno);
    return (int64_t)st.st_size;
}

int port_file_sync(port_file f)
{
    if (fsync((int)f.h) != 0 && errno != EINVAL && errno != EROFS)
        return file_err("fsync", errno);
    return 0;
}

int port_file_close(port_file *f)
{
    if (f->h == PORT_FILE_NONE)
        return 0;
    int r = close((int)f->h);
    f->h = PORT_FILE_NONE;
    return r == 0 ? 0 : file_err("close", errno);
}

int port_file_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : file_err(to, errno);
}

int port_file_remove(const char *path)
{
    return unlink(path) == 0 ? 0 : file_err(path, errno);
}

int port_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int port_file_is_seekable(port_file f)
{
    struct stat st;
    if (fstat((int)f.h, &st) != 0)
        return 0;
    return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
}

int port_dir_make(const char *path)
{
    struct stat st;
    if (mkdir(path, 0755) == 0)
        return 0;
    int err = errno;
    if (err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return file_err(path, err == EEXIST ? ENOTDIR : err);
}

int port_file_open_write(const char *path, port_file *f)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return file_err(path, errno);
    f->h = fd;
    return 0;
}

int port_file_open_update(const char *path, port_file *f)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return file_err(path, errno);
    f->h = fd;
    return 0;
}

int port_file_truncate(port_file f, int64_t size)
{
    if (size < 0 || ftruncate((int)f.h, (off_t)size) != 0)
        return file_err("ftruncate", size < 0 ? EINVAL : errno);
    return 0;
}

int port_path_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return PORT_PATH_NONE;
    return S_ISREG(st.st_mode) ? PORT_PATH_REGULAR
           : S_ISDIR(st.st_mode) ? PORT_PATH_DIR : PORT_PATH_OTHER;
}

int port_stderr_is_tty(void)
{
    return isatty(STDERR_FILENO);
}

int port_stdout_is_tty(void)
{
    return isatty(STDOUT_FILENO);
}

const char *const *port_ca_bundle_paths(void)
{
    static const char *const paths[] = {
        "/etc/ssl/certs/ca-certificates.crt",     /* Debian, Ubuntu, Alpine, Arch */
        "/etc/pki/tls/certs/ca-bundle.crt",       /* Fedora, RHEL */
        "/etc/ssl/ca-bundle.pem",                 /* openSUSE */
        "/etc/pki/tls/cacert.pem",                /* OpenELEC */
        "/etc/ssl/cert.pem",                      /* macOS, BSD, Alpine */
        "/usr/local/share/certs/ca-root-nss.crt", /* FreeBSD */
        NULL
    };
    return paths;
}

const char *port_getenv(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- threads */

struct port_thread {
    pthread_t t;
    void (*fn)(void *);
    void *arg;
};

struct port_mutex { pthread_mutex_t m; };
struct port_cond { pthread_cond_t c; };

static void *thread_main(void *p)
{
    port_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

int port_thread_start(port_thread **out, void (*fn)(void *), void *arg)
{
    port_thread *t = port_malloc(sizeof *t);
    if (!t)
        return IIIFS_E_NOMEM;
    t->fn = fn;
    t->arg = arg;
    pthread_attr_t a;
    int err = pthread_attr_init(&a);
    if (!err) {
        /* Workers need little stack: buffers live on the heap. */
        pthread_attr_setstacksize(&a, PORT_THREAD_STACK);
        err = pthread_create(&t->t, &a, thread_main, t);
        pthread_attr_destroy(&a);
    }
    if (err) {
        note_errno("pthread_create", err);
        port_free(t);
        return IIIFS_E_INTERNAL;
    }
    *out = t;
    return 0;
}

void port_thread_join(port_thread *t)
{
    if (!t)
        return;
    pthread_join(t->t, NULL);
    port_free(t);
}

int port_mutex_new(port_mutex **out)
{
    port_mutex *m = port_malloc(sizeof *m);
    if (!m)
        return IIIFS_E_NOMEM;
    if (pthread_mutex_init(&m->m, NULL) != 0) {
        port_free(m);
        return IIIFS_E_INTERNAL;
    }
    *out = m;
    return 0;
}

void port_mutex_free(port_mutex *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->m);
    port_free(m);
}

void port_mutex_lock(port_mutex *m) { pthread_mutex_lock(&m->m); }
void port_mutex_unlock(port_mutex *m) { pthread_mutex_unlock(&m->m); }

int port_cond_new(port_cond **out)
{
    port_cond *c = port_malloc(sizeof *c);
    if (!c)
        return IIIFS_E_NOMEM;
    pthread_condattr_t a;
    int err = pthread_condattr_init(&a);
    if (!err) {
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        err = pthread_cond_init(&c->c, &a);
        pthread_condattr_destroy(&a);
    }
    if (err) {
        port_free(c);
        return IIIFS_E_INTERNAL;
    }
    *out = c;
    return 0;
}

void port_cond_free(port_cond *c)
{
    if (!c)
        return;
    pthread_cond_destroy(&c->c);
    port_free(c);
}

void port_cond_wait(port_cond *c, port_mutex *m, uint32_t timeout_ms)
{
    if (timeout_ms == PORT_WAIT_FOREVER) {
        pthread_cond_wait(&c->c, &m->m);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000u);
    ts.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->c, &m->m, &ts);
}

void port_cond_signal(port_cond *c) { pthread_cond_signal(&c->c); }
void port_cond_broadcast(port_cond *c) { pthread_cond_broadcast(&c->c); }

int port_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

int64_t port_wall_time(void)
{
    return (int64_t)time(NULL);
}

/* ---- regular expressions */

struct port_regex { regex_t re; };

int port_regex_compile(port_regex **out, const char *pattern, char *err, size_t errcap)
{
    *out = NULL;
    port_regex *r = port_malloc(sizeof *r);
    if (!r)
        return IIIFS_E_NOMEM;
    int rc = regcomp(&r->re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        if (errcap)
            regerror(rc, &r->re, err, errcap);
        port_free(r);
        return rc == REG_ESPACE ? IIIFS_E_NOMEM : IIIFS_E_USAGE;
    }
    *out = r;
    return 0;
}

int port_regex_match(const port_regex *r, const char *s)
{
    return regexec(&r->re, s, 0, NULL, 0) == 0;
}

void port_regex_free(port_regex *r)
{
    if (!r)
        return;
    regfree(&r->re);
    port_free(r);
}
