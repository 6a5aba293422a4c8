/*
 * port.h — the platform contract. The core (src/) reaches the operating
 * system only through these functions; port/<name>/ implements them.
 *
 * Every function that can fail returns a negative iiifs_status:
 * OS error numbers are translated here, at the boundary, and the last OS
 * error text is available from port_error_text() for messages.
 *
 * Timeouts are in milliseconds; a short read is not an error (it returns the
 * count actually read), 0 from a read means orderly end of stream.
 */
#ifndef PORT_H
#define PORT_H

#include <stddef.h>
#include <stdint.h>
#include "iiifstitch.h"

/* ---- memory, with accounting: every allocation of ours goes through here */
void *port_malloc(size_t n);          /* NULL on failure or over the cap */
void port_free(void *p);              /* NULL is fine */
size_t port_mem_current(void);
size_t port_mem_peak(void);
void port_mem_reset_peak(void);
void port_mem_set_cap(size_t cap);    /* 0 = no cap: port_malloc refuses what would pass it */
size_t port_mem_cap(void);
size_t port_peak_rss(void);           /* process peak RSS in bytes, 0 if unknown */

/* ---- time and randomness */
uint64_t port_now_ms(void);           /* monotonic */
void port_sleep_ms(uint32_t ms);
int port_entropy(void *buf, size_t n);

/* ---- sockets */
typedef struct port_sock { intptr_t h; } port_sock;
#define PORT_SOCK_NONE ((intptr_t)-1)

/* Resolve host and connect to the first address that answers. */
int port_tcp_connect(const char *host, uint16_t port, uint32_t timeout_ms,
                     port_sock *out);
/* Send all n bytes or fail. Returns n. */
long port_tcp_send(port_sock s, const void *buf, size_t n, uint32_t timeout_ms);
/* Receive up to n bytes: >0 count, 0 end of stream, <0 error/timeout. */
long port_tcp_recv(port_sock s, void *buf, size_t n, uint32_t timeout_ms);
/* 1 if an idle connection still looks usable (no EOF, no stray bytes). */
int port_tcp_idle_ok(port_sock s);
void port_tcp_close(port_sock *s);    /* safe twice */

/* ---- files */
typedef struct port_file { intptr_t h; } port_file;
#define PORT_FILE_NONE ((intptr_t)-1)

int port_file_create(const char *path, port_file *f);  /* read/write, truncate */
int port_file_open_read(const char *path, port_file *f);
port_file port_file_stdout(void);
long port_file_read(port_file f, void *buf, size_t n); /* 0 at end of file */
long port_file_write(port_file f, const void *buf, size_t n); /* all n or fail */
int64_t port_file_seek(port_file f, int64_t off, int whence); /* 0 set,1 cur,2 end */
int64_t port_file_size(port_file f);
int port_file_sync(port_file f);
int port_file_close(port_file *f);    /* safe twice */
int port_file_rename(const char *from, const char *to);
int port_file_remove(const char *path);
int port_file_exists(const char *path);
int port_file_is_seekable(port_file f);
/* Make directory path (one level); 0 when it exists already as a directory. */
int port_dir_make(const char *path);
/* Open an existing file (a FIFO, a device) for writing, without creating
 * or truncating it. */
int port_file_open_write(const char *path, port_file *f);
/* Open an existing regular file for reading and writing, without creating
 * or truncating it (a file being continued). */
int port_file_open_update(const char *path, port_file *f);
/* Cut the file to size bytes (the position is left alone). */
int port_file_truncate(port_file f, int64_t size);
/* What a path names: PORT_PATH_NONE (nothing, or unreadable),
 * PORT_PATH_REGULAR (a regular file), PORT_PATH_DIR (a directory) or
 * PORT_PATH_OTHER (FIFO, device, socket). */
enum { PORT_PATH_NONE = 0, PORT_PATH_REGULAR = 1, PORT_PATH_OTHER = 2, PORT_PATH_DIR = 3 };
int port_path_kind(const char *path);
int port_stderr_is_tty(void);
int port_stdout_is_tty(void);

/* Where this platform keeps its CA bundle: candidates in order, NULL-ended. */
const char *const *port_ca_bundle_paths(void);
/* Environment lookup (SSL_CERT_FILE and friends); NULL when unset. */
const char *port_getenv(const char *name);

/* ---- threads. A port without threads returns IIIFS_E_INTERNAL from
 * port_thread_start; the core then does all the work on the calling thread. */
typedef struct port_thread port_thread;
typedef struct port_mutex port_mutex;
typedef struct port_cond port_cond;
#define PORT_WAIT_FOREVER UINT32_MAX
#ifndef PORT_THREAD_STACK
#define PORT_THREAD_STACK (256u << 10)  /* bytes of stack per worker thread */
#endif

int port_thread_start(port_thread **t, void (*fn)(void *), void *arg);
void port_thread_join(port_thread *t);          /* and free; NULL is fine */
int port_mutex_new(port_mutex **m);
void port_mutex_free(port_mutex *m);            /* NULL is fine */
void port_mutex_lock(port_mutex *m);
void port_mutex_unlock(port_mutex *m);
int port_cond_new(port_cond **c);
void port_cond_free(port_cond *c);              /* NULL is fine */
/* Wait for a signal or timeout_ms (PORT_WAIT_FOREVER: no timeout); m is held. */
void port_cond_wait(port_cond *c, port_mutex *m, uint32_t timeout_ms);
void port_cond_signal(port_cond *c);
void port_cond_broadcast(port_cond *c);
int port_cpu_count(void);                       /* online processors, >= 1 */
int64_t port_wall_time(void);                   /* seconds since 1970 (UTC) */

/* ---- POSIX extended regular expressions (regcomp/regexec where the OS has
 * them). Matching is a search anywhere in the string, as grep -E does;
 * anchor with ^ and $. */
typedef struct port_regex port_regex;
/* IIIFS_E_USAGE for a bad pattern, the OS's words in err; IIIFS_E_NOMEM. */
int port_regex_compile(port_regex **re, const char *pattern, char *err, size_t errcap);
int port_regex_match(const port_regex *re, const char *s);  /* 1 match, 0 not */
void port_regex_free(port_regex *re);                       /* NULL is fine */

/* Text of the last OS error seen by this thread's port calls. */
const char *port_error_text(void);

#endif
