/*
 * iiifstitch.h — public interface of libiiifstitch.
 *
 * Stitch one IIIF image, tile row by tile row, into a striped TIFF whose
 * memory use is bounded by one band of tile rows, never by image height.
 *
 * Contract:
 *   - every function that can fail returns 0 (or a count) on success and a
 *     negative iiifs_status on failure;
 *   - an iiifs_error keeps the first failure and its one-line message;
 *     later failures do not overwrite it;
 *   - exported symbols start with iiifs_ (library) or port_ (platform port).
 */
#ifndef IIIFSTITCH_H
#define IIIFSTITCH_H

#include <stddef.h>
#include <stdint.h>

#define IIIFS_VERSION "0.1.0"

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
    IIIFS_E_IIIF = -15,       /* JSON is not a usable IIIF image description */
    IIIFS_E_JPEG = -16,       /* tile is not a decodable JPEG */
    IIIFS_E_TILE_SIZE = -17,  /* tile decoded to a size other than planned */
    IIIFS_E_IO = -18,         /* local file I/O failed */
    IIIFS_E_NOENT = -19,      /* local file does not exist */
    IIIFS_E_INTERNAL = -20,   /* a bug: an invariant did not hold */
    IIIFS_E_CSV = -21,        /* malformed CSV (RFC 4180) */
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
    IIIFS_EXIT_PARTIAL = 9       /* --allow-partial: written, but tiles are missing */
};

#define IIIFS_ERROR_MAX 512

typedef struct iiifs_error {
    int code;                    /* first failure, IIIFS_OK if none */
    char msg[IIIFS_ERROR_MAX];   /* one line, no trailing newline */
} iiifs_error;

/* Record a failure unless one is already recorded; returns the code kept. */
int iiifs_fail(iiifs_error *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
const char *iiifs_status_name(int code);
int iiifs_exit_code(int code);

/* Strip compression of a TIFF written to a seekable file (through libtiff).
 * A stream (stdout, a pipe) is always uncompressed. */
typedef enum iiifs_compression {
    IIIFS_COMPRESS_NONE = 0,
    IIIFS_COMPRESS_DEFLATE = 1,   /* with the horizontal predictor */
    IIIFS_COMPRESS_LZW = 2,       /* with the horizontal predictor */
    IIIFS_COMPRESS_ZSTD = 3,      /* with the horizontal predictor */
    IIIFS_COMPRESS_JPEG = 4       /* RGB as YCbCr 4:2:0; quality from jpeg_quality */
} iiifs_compression;

/* What the output holds. */
typedef enum iiifs_format {
    IIIFS_FORMAT_TIFF = 0,        /* striped TIFF (sequential layout on a stream) */
    IIIFS_FORMAT_PNM = 1          /* binary PPM (RGB) or PGM (gray) */
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

typedef struct iiifs_progress {
    uint64_t width, height;      /* output size in pixels */
    int channels;                /* 1 gray, 3 RGB */
    uint32_t rows_done, rows;    /* tile rows written / total */
    uint32_t tiles_done, tiles;
    uint64_t bytes_in;           /* response bytes received so far */
    uint64_t elapsed_ms;
} iiifs_progress;

typedef struct iiifs_options {
    const char *source;          /* info.json URL, image base URL or local info.json */
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
    uint32_t connections;        /* parallel connections (and worker threads); 0 = 4 */
    size_t max_memory;           /* bytes the job may hold (band, tiles in flight,
                                    buffers); 0 = 32 MiB */
    size_t memory_pool;          /* several jobs in one process (a batch with --jobs):
                                    the bytes all of them may hold together; a tile is
                                    started only while the process's count stays under
                                    it. 0 = max_memory (the job is alone) */
    uint32_t tries;              /* attempts per request, retries included; 0 = 5 */
    double rate;                 /* requests per second to the server; 0 = no limit */
    uint32_t scale;              /* scale factor to fetch, one the image lists; 0 = 1, or
                                    the largest level within max_width x max_height */
    uint64_t max_width, max_height; /* 0 = no limit */
    iiifs_quality quality;       /* IIIFS_QUALITY_GRAY: 8-bit luma output */
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
    const char *cacert;          /* CA bundle; NULL = system bundle */
    int insecure;                /* skip certificate verification */
    uint32_t timeout_ms;         /* connect and read timeout; 0 = default */
    const char *user_agent;      /* NULL = "iiifstitch/VERSION" */
    /* Extra request headers, sent to the source's host and kept on redirects
     * only while they stay on the same host name and port (never https to http). */
    const char *const *headers;  /* "Name: value" each; a built-in name (User-Agent,
                                    Accept) replaces the built-in; Host, Content-Length,
                                    Transfer-Encoding, Connection are refused */
    int nheaders;
    const char *cookie;          /* sent as Cookie:, NULL = none */
    const char *referer;         /* sent as Referer:, NULL = none */
    const char *token;           /* sent as Authorization: Bearer TOKEN, NULL = none */
    const char *proxy;           /* http://[user:pass@]host[:port] for http and https URLs;
                                    NULL = environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY),
                                    "" = none */
    int plan_only;               /* fetch the info.json, fill r->plan, write nothing and
                                    make no image request (not even a probe) */
    /* Optional observers; called on the calling thread. */
    void (*on_progress)(void *ud, const iiifs_progress *p);
    void (*on_warning)(void *ud, const char *msg);
    void *ud;
} iiifs_options;

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

#define IIIFS_MISSING_MAX 64      /* missing tiles listed in a result */
#define IIIFS_PARTIAL_FILL 128    /* the value of every sample of a missing tile */

typedef struct iiifs_result {
    uint64_t width, height;
    int channels;
    int api;                     /* Image API version: 10, 11, 20, 30 */
    uint32_t requests;           /* HTTP requests made (or tile files read) */
    uint32_t retries;            /* requests that were tries after a failure */
    uint32_t tiles;              /* image requests in the plan */
    uint32_t request_w, request_h; /* size of one image request, output px */
    uint64_t bytes_in;           /* response bytes received */
    uint64_t file_bytes;         /* size of the file (or stream) written */
    int bigtiff;                 /* the TIFF written is a BigTIFF */
    int presentation;            /* the source is a IIIF Presentation manifest or
                                    collection, not an image (iiifs_stitch failed) */
    uint64_t elapsed_ms;
    size_t mem_peak;             /* peak bytes held through port_malloc */
    iiifs_plan_report plan;      /* filled once the plan is made */
    uint32_t missing;            /* --allow-partial: tiles filled in; the first
                                    IIIFS_MISSING_MAX listed by column and row */
    uint32_t missing_n[IIIFS_MISSING_MAX], missing_m[IIIFS_MISSING_MAX];
    uint64_t resumed_rows;       /* --resume: output rows an earlier run had written */
    int kept;                    /* --resume, on failure: OUTPUT.part and its state are
                                    kept, to be continued */
} iiifs_result;

#define IIIFS_REQUEST_AUTO UINT32_MAX

/* Default connect/read timeout. */
#define IIIFS_TIMEOUT_MS_DEFAULT 30000u

/* Stitch o->source into o->output. */
int iiifs_stitch(const iiifs_options *o, iiifs_result *r, iiifs_error *e);

#endif
