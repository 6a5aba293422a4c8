/*
 * iiifstitch.h — the public interface of libiiifstitch, and the only one:
 * the iiifstitch command itself is written against this header alone.
 *
 * Stitch IIIF images, tile row by tile row, into striped TIFFs (or PNM)
 * whose memory is bounded by one band of tile rows, never by image height.
 *
 *   iiifs_client   caller-owned: the TLS configuration (CA bundle parsed
 *                  once), keep-alive connections per server shared by every
 *                  job, the politeness rules per server (retries, Retry-After,
 *                  --rate, halving on 429/503) and the memory cap.
 *   iiifs_source   a SOURCE fetched (or read) once and recognised from its
 *                  content: an image (info.json, any version, or a local
 *                  tile tree), a Presentation manifest or a collection.
 *   iiifs_stitch   one image, through a client.
 *   iiifs_batch    many images: a CSV list, or a manifest or collection;
 *                  run through one client, several at once if asked.
 *
 * Contract:
 *   - every function that can fail returns 0 (or a count) on success and a
 *     negative iiifs_status on failure;
 *   - an iiifs_error keeps the first failure and its one-line message;
 *     later failures do not overwrite it;
 *   - the library exports only the functions declared here (iiifs_...);
 *   - ownership: the library never keeps a pointer into the caller's option
 *     structs past the call that takes them, except where a field says so;
 *     what a _new or _open function returns is the caller's, freed with the
 *     matching _free (NULL is fine); strings returned by the library live as
 *     long as the object they come from;
 *   - callbacks run on the calling thread unless their comment says
 *     otherwise, never while the library holds a lock the callback could
 *     need.
 *
 * Threads: a client may be used by several threads at once (each running
 * its own job); one job or batch call runs on the thread that called it and
 * on worker threads of its own.
 */
#ifndef IIIFSTITCH_H
#define IIIFSTITCH_H

#include <stddef.h>
#include <stdint.h>

#define IIIFS_VERSION "0.2.0"

#if defined(__GNUC__)
#define IIIFS_API __attribute__((visibility("default")))
#define IIIFS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define IIIFS_API
#define IIIFS_PRINTF(f, a)
#endif

/* ---- errors */

/* One error space for the whole library and its port. */
typedef enum iiifs_status {
    IIIFS_OK = 0,
    IIIFS_E_USAGE = -1,       /* bad option or argument */
    IIIFS_E_URL = -2,         /* malformed or unsupported URL */
    IIIFS_E_NOMEM = -3,       /* allocation failed or over the memory cap */
    IIIFS_E_LIMIT = -4,       /* a named cap was exceeded */
    IIIFS_E_RESOLVE = -5,     /* host name did not resolve */
    IIIFS_E_CONNECT = -6,     /* connection refused or unreachable */
    IIIFS_E_TIMEOUT = -7,     /* connect or read timed out */
    IIIFS_E_CLOSED = -8,      /* peer closed the connection early */
    IIIFS_E_TLS = -9,         /* TLS handshake or record failure */
    IIIFS_E_CERT = -10,       /* server certificate not trusted */
    IIIFS_E_HTTP_STATUS = -11,/* server answered with an error status */
    IIIFS_E_HTTP_PROTO = -12, /* malformed HTTP response */
    IIIFS_E_REDIRECT = -13,   /* too many or broken redirects */
    IIIFS_E_JSON = -14,       /* body is not valid JSON */
    IIIFS_E_IIIF = -15,       /* JSON is not a usable IIIF document */
    IIIFS_E_JPEG = -16,       /* tile is not a decodable JPEG */
    IIIFS_E_TILE_SIZE = -17,  /* tile decoded to a size other than planned */
    IIIFS_E_IO = -18,         /* local file I/O failed */
    IIIFS_E_NOENT = -19,      /* local file does not exist */
    IIIFS_E_INTERNAL = -20,   /* a bug: an invariant did not hold */
    IIIFS_E_CSV = -21,        /* malformed CSV (RFC 4180) */
    IIIFS_E_CANCELED = -22,   /* the caller's progress callback asked to stop */
    IIIFS_E_AGAIN = -99       /* parsers: need more input (not a failure) */
} iiifs_status;

/* Process exit codes, one per kind of failure (see iiifs_exit_code). */
enum {
    IIIFS_EXIT_OK = 0,
    IIIFS_EXIT_INTERNAL = 1,
    IIIFS_EXIT_USAGE = 2,
    IIIFS_EXIT_NETWORK = 3,
    IIIFS_EXIT_TLS = 4,
    IIIFS_EXIT_SERVER = 5,
    IIIFS_EXIT_DATA = 6,
    IIIFS_EXIT_IO = 7,
    IIIFS_EXIT_MEMORY = 8,
    IIIFS_EXIT_PARTIAL = 9,       /* --allow-partial: written, but tiles are missing */
    IIIFS_EXIT_CANCELED = 130     /* stopped by the caller (as a shell reports SIGINT) */
};

#define IIIFS_ERROR_MAX 512

typedef struct iiifs_error {
    int code;                    /* first failure, IIIFS_OK if none */
    char msg[IIIFS_ERROR_MAX];   /* one line, no trailing newline */
} iiifs_error;

/* Record a failure unless one is already recorded; returns the code kept. */
IIIFS_API int iiifs_fail(iiifs_error *e, int code, const char *fmt, ...) IIIFS_PRINTF(3, 4);
IIIFS_API const char *iiifs_status_name(int code);
IIIFS_API int iiifs_exit_code(int code);

/* ---- output settings */

/* Strip compression of a TIFF written to a seekable file. A stream (stdout,
 * a pipe) is always uncompressed. */
typedef enum iiifs_compression {
    IIIFS_COMPRESS_NONE = 0,
    IIIFS_COMPRESS_DEFLATE = 1,   /* with the horizontal predictor */
    IIIFS_COMPRESS_LZW = 2,       /* with the horizontal predictor */
    IIIFS_COMPRESS_ZSTD = 3,      /* with the horizontal predictor */
    IIIFS_COMPRESS_JPEG = 4       /* RGB as YCbCr 4:2:0; quality from jpeg_quality */
} iiifs_compression;

/* 0 and *out set, or IIIFS_E_USAGE for a name this build does not know. */
IIIFS_API int iiifs_compression_parse(const char *name, iiifs_compression *out);
IIIFS_API const char *iiifs_compression_name(iiifs_compression c);   /* "?" if unknown */
IIIFS_API const char *iiifs_compression_names(void);   /* "none|deflate|..." */

/* What the output holds. */
typedef enum iiifs_format {
    IIIFS_FORMAT_TIFF = 0,        /* striped TIFF (sequential layout on a stream) */
    IIIFS_FORMAT_PNM = 1          /* binary PPM (RGB), PGM (gray) or PBM (bitonal) */
} iiifs_output_format;

#define IIIFS_JPEG_QUALITY_DEFAULT 90

typedef enum iiifs_quality {
    IIIFS_QUALITY_DEFAULT = 0,   /* as the tiles come: RGB, or gray when the first is */
    IIIFS_QUALITY_GRAY = 1,      /* 8-bit luma, (299 R + 587 G + 114 B + 500) / 1000 */
    IIIFS_QUALITY_BITONAL = 2    /* 1 bit: white where that luma is >= 128 */
} iiifs_quality;

/* A region of the image (IIIF's region parameter), in full-resolution
 * pixels or, with pct, percent of the full size. At a scale factor s it
 * covers output pixels floor(x/s) .. ceil((x+w)/s), clipped to the image. */
typedef struct iiifs_region {
    int pct;
    double x, y, w, h;
} iiifs_region;

/* Caps and defaults a caller may need to state (a board's header, force-
 * included before this one, may set any of them). */
#ifndef IIIFS_CONN_MAX
#define IIIFS_CONN_MAX 16                    /* connections per server, --connections */
#endif
#ifndef IIIFS_CONNECTIONS_DEFAULT
#define IIIFS_CONNECTIONS_DEFAULT 4
#endif
#ifndef IIIFS_MAX_MEMORY_DEFAULT
#define IIIFS_MAX_MEMORY_DEFAULT (32u << 20) /* --max-memory, bytes (per image with --jobs) */
#endif
#ifndef IIIFS_RETRIES_DEFAULT
#define IIIFS_RETRIES_DEFAULT 4              /* --retries: tries = retries + 1 */
#endif
#ifndef IIIFS_BATCH_THREADS_MAX
#define IIIFS_BATCH_THREADS_MAX 32           /* images at once, --jobs */
#endif
#ifndef IIIFS_BATCH_JOBS_MAX
#define IIIFS_BATCH_JOBS_MAX 1000000         /* jobs in one batch, --limit */
#endif
#ifndef IIIFS_BATCH_SHARDS_MAX
#define IIIFS_BATCH_SHARDS_MAX 100000        /* N of --shard K/N */
#endif
#ifndef IIIFS_HTTP_EXTRA_HEADERS_MAX
#define IIIFS_HTTP_EXTRA_HEADERS_MAX 32      /* user request headers: -H, --cookie, ... */
#endif
#ifndef IIIFS_PATH_MAX
#define IIIFS_PATH_MAX 4096                  /* bytes of a local file path */
#endif

#define IIIFS_REQUEST_AUTO UINT32_MAX
#define IIIFS_TIMEOUT_MS_DEFAULT 30000u  /* connect and read timeout */
#define IIIFS_MISSING_MAX 64             /* missing tiles listed in a result */
#define IIIFS_PARTIAL_FILL 128           /* the value of every sample of a missing tile */

/* ---- the client */

typedef struct iiifs_client iiifs_client;

typedef struct iiifs_client_options {
    uint32_t connections;        /* at once per server (scheme://host:port), over all
                                    the client's jobs; 0 = 4 */
    size_t max_memory;           /* bytes all the client's work may hold through the
                                    library's allocator (bands, tiles in flight,
                                    documents, connections' buffers); 0 = 32 MiB.
                                    It caps the process's account: one client at a
                                    time sets it */
    uint32_t tries;              /* attempts per request, retries included; 0 = 5 */
    double rate;                 /* requests per second to one server; 0 = no limit */
    uint32_t timeout_ms;         /* connect and read timeout; 0 = IIIFS_TIMEOUT_MS_DEFAULT */
    const char *cacert;          /* CA bundle; NULL = SSL_CERT_FILE, then the system's */
    int insecure;                /* skip certificate verification */
    const char *user_agent;      /* NULL = "iiifstitch/VERSION" */
    /* Extra request headers, sent to the host of the URL asked for and kept on a
     * redirect only while it stays on the same host name and port (never https
     * to http). */
    const char *const *headers;  /* "Name: value" each; a built-in name (User-Agent,
                                    Accept) replaces the built-in; Host, Content-Length,
                                    Transfer-Encoding, Connection are refused */
    int nheaders;
    const char *cookie;          /* sent as Cookie:, NULL = none */
    const char *referer;         /* sent as Referer:, NULL = none */
    const char *token;           /* sent as Authorization: Bearer TOKEN, NULL = none */
    const char *proxy;           /* http://[user:pass@]host[:port] for http and https URLs;
                                    NULL = environment (http_proxy, https_proxy,
                                    no_proxy), "" = none */
    /* Warnings of the client's own (a document fetched again after a failure);
     * may be called from any thread that uses the client. */
    void (*on_warning)(void *ud, const char *msg);
    void *ud;
} iiifs_client_options;

/* Everything the client keeps is copied: o may go once this returns. The
 * CA bundle is parsed on the first https connection. */
IIIFS_API int iiifs_client_new(iiifs_client **c, const iiifs_client_options *o,
                               iiifs_error *e);
IIIFS_API void iiifs_client_free(iiifs_client *c);     /* NULL is fine */

typedef struct iiifs_client_stats {
    uint64_t requests;           /* HTTP requests sent, redirects included */
    uint64_t connects;           /* TCP connections opened */
    uint64_t handshakes;         /* TLS handshakes completed */
    uint64_t bytes_in;           /* bytes received, heads included */
} iiifs_client_stats;
IIIFS_API void iiifs_client_stats_get(const iiifs_client *c, iiifs_client_stats *s);

/* ---- a SOURCE */

typedef enum iiifs_source_kind {
    IIIFS_SOURCE_IMAGE = 1,      /* an image's info.json (URL or a local tile tree) */
    IIIFS_SOURCE_MANIFEST = 2,   /* a IIIF Presentation 2 or 3 manifest */
    IIIFS_SOURCE_COLLECTION = 3  /* a IIIF Presentation 2 or 3 collection */
} iiifs_source_kind;

typedef struct iiifs_source iiifs_source;

/* Fetch or read source once and say what it is, from the document itself:
 *   - a local path: a file, or a directory's info.json;
 *   - a URL whose last path segment ends in .json: that document;
 *   - any other URL: URL/info.json, and when that is not an image's
 *     info.json, the URL itself (a server answers an image's base URL with a
 *     redirect to its info.json, and a manifest's URL with the manifest).
 * The document is kept (at most IIIFS_SOURCE_BYTES_MAX) for whatever uses it
 * next: nothing is fetched twice. Warnings go to the client's on_warning. */
#define IIIFS_SOURCE_BYTES_MAX (16u << 20)
IIIFS_API int iiifs_source_open(iiifs_client *c, const char *source, iiifs_source **out,
                                iiifs_error *e);
IIIFS_API iiifs_source_kind iiifs_source_kind_of(const iiifs_source *s);
/* The SOURCE as given, and the document's own address (after redirects). */
IIIFS_API const char *iiifs_source_name(const iiifs_source *s);
IIIFS_API const char *iiifs_source_url(const iiifs_source *s);
IIIFS_API void iiifs_source_free(iiifs_source *s);     /* NULL is fine */

/* ---- one image */

typedef struct iiifs_progress {
    uint64_t width, height;      /* output size in pixels */
    int channels;                /* 1 gray, 3 RGB */
    uint32_t rows_done, rows;    /* bands written / total */
    uint32_t tiles_done, tiles;
    uint64_t bytes_in;           /* response bytes received so far */
    uint64_t elapsed_ms;
} iiifs_progress;

typedef struct iiifs_job_options {
    const char *source;          /* info.json URL, image base URL or local info.json;
                                    not used when src is given */
    const iiifs_source *src;     /* an image source opened already (not consumed) */
    const char *output;          /* final file name; written as OUTPUT.part first.
                                    "-" is stdout; stdout, a pipe (FIFO) or a device is
                                    written straight through, as a stream */
    iiifs_output_format format;
    iiifs_compression compression;
    int jpeg_quality;            /* 1..100 for IIIFS_COMPRESS_JPEG; 0 = default */
    int bigtiff;                 /* BigTIFF even when the file would stay under 4 GiB
                                    (it is chosen anyway when it could pass 4 GiB) */
    const char *artist;          /* TIFF tags; NULL = left out */
    const char *copyright;
    const char *description;     /* ImageDescription */
    uint32_t connections;        /* this image's connections and decoding threads;
                                    0 = the client's per-server count */
    size_t max_memory;           /* this image's share of the client's memory (its band
                                    is planned within it); 0 = all of the client's */
    uint32_t scale;              /* scale factor to fetch, one the image lists; 0 = 1, or
                                    the largest level within max_width x max_height */
    uint64_t max_width, max_height; /* 0 = no limit */
    iiifs_quality quality;
    iiifs_region region;         /* w == 0: the whole image */
    int mirror;                  /* flip left-right, before the rotation */
    int rotate;                  /* 0, 90, 180, 270 degrees clockwise */
    int resume;                  /* keep OUTPUT.part.resume beside the .part, and
                                    continue from them when they are there: the image
                                    goes on from the last complete strip, and the file
                                    is the one an uninterrupted run writes. TIFF (none
                                    or deflate) or PNM, to a regular file; the .part is
                                    kept on failure */
    int allow_partial;           /* a tile that still fails after its tries is filled
                                    with IIIFS_PARTIAL_FILL and listed in the result,
                                    instead of failing the image */
    uint32_t request_size;       /* 0: the advertised tiles; IIIFS_REQUEST_AUTO: the
                                    largest regions the server honours; else a side in px */
    int plan_only;               /* fetch the info.json, fill r->plan, write nothing and
                                    make no image request (not even a probe) */
    /* Observers, called on the calling thread. A non-zero return from
     * on_progress stops the job: it ends with IIIFS_E_CANCELED. */
    int (*on_progress)(void *ud, const iiifs_progress *p);
    void (*on_warning)(void *ud, const char *msg);
    void *ud;
} iiifs_job_options;

/* What a job will do, known before any image request (--plan). */
#define IIIFS_PLAN_URL_MAX 4096
typedef struct iiifs_plan_report {
    int level;                   /* compliance level: 0, 1, 2 */
    uint64_t full_w, full_h;     /* full-resolution size */
    uint32_t scale;              /* scale factor of the level fetched */
    uint32_t tile_w, tile_h;     /* the advertised tile, output px (0: none declared) */
    uint32_t request_w, request_h; /* one request, output px */
    uint32_t cols, rows;         /* the request grid */
    int probe;                   /* --request-size auto: one probe at run time decides;
                                    the grid above is the advertised tiles */
    uint64_t est_bytes;          /* rough download size: IIIFS_EST_BITS_PER_PX per pixel */
    uint64_t band_bytes;         /* the band at 3 channels (gray needs a third) */
    size_t max_memory;           /* the job's cap */
    char first_url[IIIFS_PLAN_URL_MAX], last_url[IIIFS_PLAN_URL_MAX];
} iiifs_plan_report;

/* Bits per output pixel the download estimate assumes (JPEG at the usual
 * server qualities lands between 1 and 3). */
#define IIIFS_EST_BITS_PER_PX 2u

typedef struct iiifs_result {
    uint64_t width, height;
    int channels;
    int api;                     /* Image API version: 10, 11, 20, 30 */
    uint32_t requests;           /* HTTP requests made (or tile files read), the
                                    info.json's included */
    uint32_t retries;            /* requests that were tries after a failure */
    uint32_t tiles;              /* image requests in the plan */
    uint32_t request_w, request_h; /* size of one image request, output px */
    uint64_t bytes_in;           /* response bytes received */
    uint64_t file_bytes;         /* size of the file (or stream) written */
    int bigtiff;                 /* the TIFF written is a BigTIFF */
    uint64_t elapsed_ms;
    size_t mem_peak;             /* peak bytes the process held through the library's
                                    allocator */
    iiifs_plan_report plan;      /* filled once the plan is made */
    uint32_t missing;            /* --allow-partial: tiles filled in; the first
                                    IIIFS_MISSING_MAX listed by column and row */
    uint32_t missing_n[IIIFS_MISSING_MAX], missing_m[IIIFS_MISSING_MAX];
    uint64_t resumed_rows;       /* --resume: output rows an earlier run had written */
    int kept;                    /* --resume, on failure: OUTPUT.part and its state are
                                    kept, to be continued */
} iiifs_result;

/* Stitch one image into o->output through client c. r is filled as far as
 * the job got, also on failure. A source that is a manifest or collection is
 * IIIFS_E_USAGE, saying so. */
IIIFS_API int iiifs_stitch(iiifs_client *c, const iiifs_job_options *o, iiifs_result *r,
                           iiifs_error *e);

/* ---- many images */

typedef struct iiifs_batch iiifs_batch;

#define IIIFS_WHERE_MAX 32        /* --where conditions */

typedef struct iiifs_batch_spec {
    /* A CSV list with a header row (RFC 4180) ... */
    const char *csv;             /* the file */
    const char *url_column;      /* the column of info.json or base URLs, or ... */
    const char *id_column;       /* ... the column of identifiers, with */
    const char *base;            /* ... the server prefix: base/IDENTIFIER (escaped) */
    const char *const *where;    /* "COLUMN=VALUE" / "COLUMN~=REGEX", all must hold */
    int nwhere;
    /* ... or a manifest or collection opened already (not consumed) */
    const iiifs_source *manifest;
    const char *label_re;        /* canvases whose label matches (POSIX ERE); NULL = all */
    const char *canvases;        /* 1-based positions in each manifest: "3", "3-17",
                                    "1,4-6"; NULL = all */
    /* either */
    const char *name;            /* output name template; NULL = the default */
    uint64_t limit;              /* at most this many jobs; 0 = all */
    uint32_t shard, shards;      /* keep jobs K, K+N, ... (0-based K < N), counted after
                                    the filters, the limit and the duplicate check;
                                    shards 0 or 1 = all */
    void (*on_warning)(void *ud, const char *msg);   /* while loading */
    void *ud;
} iiifs_batch_spec;

/* Read the whole list and check every job before anything is downloaded:
 * bad rows, bad names, two jobs with one output name. */
IIIFS_API int iiifs_batch_load(iiifs_client *c, const iiifs_batch_spec *spec,
                               iiifs_batch **out, iiifs_error *e);
IIIFS_API void iiifs_batch_free(iiifs_batch *b);       /* NULL is fine */

typedef struct iiifs_batch_about {
    uint32_t jobs;               /* of this shard */
    uint32_t total;              /* selected before the shard was taken */
    uint64_t records;            /* CSV records read, or canvases seen */
    uint32_t manifests;          /* manifests read (0 for a CSV) */
} iiifs_batch_about;
IIIFS_API void iiifs_batch_describe(const iiifs_batch *b, iiifs_batch_about *a);
IIIFS_API const char *iiifs_batch_source(const iiifs_batch *b, uint32_t i);
/* out_dir/NAME of job i (NAME alone when out_dir is NULL or ""). */
IIIFS_API int iiifs_batch_path(const iiifs_batch *b, uint32_t i, const char *out_dir,
                               char *out, size_t cap);

typedef enum iiifs_job_outcome {
    IIIFS_JOB_DONE = 0,
    IIIFS_JOB_SKIPPED = 1,          /* a complete output was there already */
    IIIFS_JOB_FAILED = 2
} iiifs_job_outcome;

/* What happened to one job, reported as soon as it is over. */
typedef struct iiifs_job_report {
    uint32_t index;                 /* 0-based in the list */
    uint64_t record, line;          /* where the job is in the CSV; for a manifest's
                                       canvas, its 1-based position and line 0 */
    const char *path, *source;
    iiifs_job_outcome outcome;
    int code;                       /* FAILED: the error code ... */
    const char *msg;                /* ... and its one-line message */
    const iiifs_result *result;     /* what iiifs_stitch reported (DONE, and FAILED once
                                       it was called: counts so far); NULL otherwise */
    uint64_t file_bytes;            /* SKIPPED: the size of the complete file there ... */
    uint32_t width, height;         /* ... and of its image */
} iiifs_job_report;

typedef struct iiifs_batch_counts {
    uint32_t done, skipped, failed;
    int first_code;                 /* the first failure's code, IIIFS_OK if none */
} iiifs_batch_counts;

typedef struct iiifs_batch_run_options {
    const char *out_dir;            /* made if missing; NULL = . */
    uint32_t jobs;                  /* images at once, 1..32; 0 = 1. Each gets
                                       max(1, client connections / jobs) connections and
                                       max_memory / jobs of the client's memory */
    const iiifs_job_options *job;   /* for every image (source and output are set per
                                       image; a NULL description becomes the provenance
                                       JSON); NULL = defaults */
    /* Called as each image ends, one at a time, in the order they end (with jobs
     * > 1 from the runner threads, under the batch's lock). Progress callbacks of
     * job are left out when jobs > 1; warnings start with the image's path. */
    void (*on_job)(void *ud, const iiifs_job_report *r);
    void *ud;
} iiifs_batch_run_options;

/* Run every job of b. A complete output already there is skipped; a failed
 * image does not stop the others (see counts). Returns 0 when every job was
 * tried, or a negative code when the run could not start. */
IIIFS_API int iiifs_batch_run(iiifs_client *c, const iiifs_batch *b,
                              const iiifs_batch_run_options *o, iiifs_batch_counts *counts,
                              iiifs_error *e);

/* ---- small things the command needs */

/* 1 when the standard stream (1 stdout, 2 stderr) is a terminal. */
IIIFS_API int iiifs_is_terminal(int stream);
/* An environment variable, NULL when unset or empty. */
IIIFS_API const char *iiifs_getenv(const char *name);

#endif
