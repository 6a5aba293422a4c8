/*
 * main.c — the iiifstitch command: parse the command line, run the library,
 * print one line of result or one line of error, exit with a code that
 * says what kind of failure it was.
 *
 * Written against the public interface alone (iiifstitch.h). Every option
 * is one row of option_table: its names, its argument, the kinds of job it
 * applies to, the function that parses its value and its help. Parsing, the
 * checks that an option fits the job, and --help all read that table.
 *
 * The kind of job is settled once: --csv FILE is a batch from the list;
 * otherwise SOURCE is opened once (iiifs_source_open) and is an image (one
 * iiifs_stitch) or a manifest or collection (a batch over the document
 * already read). An option that cannot fit any kind the command line allows
 * is refused before anything is fetched; one that does not fit the kind
 * found is refused right after the fetch, before any image request.
 */
#include "iiifstitch.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library's caps that the help and the messages name (iiifstitch.h; a
 * board's header may set its own). The library checks each again. */
#define CONNECTIONS_MAX IIIFS_CONN_MAX
#define CONNECTIONS_DEFAULT IIIFS_CONNECTIONS_DEFAULT
#define MAX_MEMORY_DEFAULT ((size_t)IIIFS_MAX_MEMORY_DEFAULT)   /* per image with --jobs */
#define BATCH_THREADS_MAX IIIFS_BATCH_THREADS_MAX
#define BATCH_JOBS_MAX IIIFS_BATCH_JOBS_MAX
#define BATCH_SHARDS_MAX IIIFS_BATCH_SHARDS_MAX
#define HEADERS_MAX IIIFS_HTTP_EXTRA_HEADERS_MAX
#define PATH_BYTES_MAX IIIFS_PATH_MAX
#define OUTPUT_NAME_MAX 1024        /* the default output name */
#define USAGE_MESSAGE_MAX 8192      /* one usage message, values quoted in it */
#define GIVEN_MAX 64                /* rows of option_table */
#define HELP_COLUMN 27              /* where an option's help starts */
#define SYNOPSIS_WIDTH 92

#define STR_(x) #x
#define STR(x) STR_(x)              /* a macro's value as a string */

/* ---- the command line */

/* Kinds of job, as bits: which an option applies to. */
enum {
    FOR_IMAGE = 1,                  /* SOURCE is an image */
    FOR_MANIFEST = 2,               /* SOURCE is a manifest or collection */
    FOR_CSV = 4,                    /* --csv FILE */
    FOR_BATCH = FOR_MANIFEST | FOR_CSV,
    FOR_ANY = FOR_IMAGE | FOR_BATCH
};

/* Row flags. */
enum {
    VALUE_OPTIONAL = 1,             /* the value comes only as --opt=VALUE */
    REPEATABLE = 2,                 /* given again, it adds (the synopsis says ...) */
    PICKS_KIND = 4                  /* it makes the job of its kind (the synopsis
                                       shows it without brackets) */
};

enum action { RUN = 0, SHOW_HELP, SHOW_VERSION };

/* What the callbacks print, and how. */
typedef struct console {
    int quiet;
    int progress;                   /* -1 until settled: on when stderr is a terminal */
    FILE *report;                   /* --report: one JSON line per job */
    int report_failed;              /* a line could not be written */
    uint64_t last_ms;
    int printed;                    /* a progress line is open on stderr */
} console;

struct option_row;

typedef struct command {
    iiifs_client_options client;
    iiifs_job_options job;
    iiifs_batch_spec batch;
    iiifs_batch_run_options run;
    const char *headers[HEADERS_MAX];
    const char *where[IIIFS_WHERE_MAX];
    const char *source;             /* SOURCE as given */
    const char *report_path;        /* --report FILE */
    int list;                       /* --list */
    int plan;                       /* --plan: 1 text, 2 JSON */
    int format_given;
    enum action action;
    const struct option_row *given[GIVEN_MAX];   /* options given, first use first */
    int ngiven;
    console out;
    char why[USAGE_MESSAGE_MAX];    /* the usage message being made */
} command;

/* Parse value (NULL for a flag) into c; NULL, or the usage message. */
typedef const char *option_setter(command *c, const struct option_row *row, const char *value);

typedef struct option_row {
    const char *name;               /* "--output" */
    char letter;                    /* 'o' for -o, 0 for none */
    const char *arg;                /* the value's name in the help, NULL for a flag */
    int flags;                      /* VALUE_OPTIONAL, REPEATABLE, PICKS_KIND */
    unsigned scope;                 /* FOR_*: the kinds of job it applies to */
    option_setter *set;
    size_t field;                   /* for set_flag (an int) and set_string */
    const char *misfit;             /* the usage message when the job is not of its
                                       kind, %s "a manifest" or "--csv"; NULL = one
                                       made from the scope */
    const char *help;               /* lines; %s is the compression names. NULL:
                                       described with the row before */
} option_row;

#define FIELD(member) offsetof(command, member)

static const char *say(command *c, const char *fmt, ...) IIIFS_PRINTF(2, 3);

/* c->why, formatted. */
static const char *say(command *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return c->why;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "iiifstitch: %s (see iiifstitch --help)\n", msg);
    return IIIFS_EXIT_USAGE;
}

/* 0 when the first n bytes match, ASCII letters in any case. */
static int strncasecmp_ascii(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return x - y;
        if (!x)
            break;
    }
    return 0;
}

/* 1 when name ends in suffix, letters in any case. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && !strncasecmp_ascii(name + n - k, suffix, k);
}

/* ---- values */

/* --region: x,y,w,h (whole pixels) or pct:x,y,w,h (decimals), w and h > 0. */
static int parse_region(const char *v, iiifs_region *g)
{
    memset(g, 0, sizeof *g);
    if (!strncmp(v, "pct:", 4)) {
        g->pct = 1;
        v += 4;
    }
    double d[4];
    for (int i = 0; i < 4; i++) {
        char *end;
        if (!(*v >= '0' && *v <= '9'))
            return -1;
        d[i] = strtod(v, &end);
        if (end == v || (!g->pct && strspn(v, "0123456789") != (size_t)(end - v)))
            return -1;
        v = end;
        if (i < 3 && *v++ != ',')
            return -1;
    }
    if (*v || !(d[2] > 0) || !(d[3] > 0) || (g->pct && (d[0] >= 100 || d[1] >= 100)))
        return -1;
    g->x = d[0];
    g->y = d[1];
    g->w = d[2];
    g->h = d[3];
    return 0;
}

/* A whole decimal number in [lo, hi]. */
static int parse_count(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return -1;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

/* A byte count with an optional K, M or G suffix (powers of 1024), >= 1 MiB. */
static int parse_size(const char *v, size_t *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return -1;
    double n = strtod(v, &end);
    double unit = 1;
    if (*end == 'K' || *end == 'k')
        unit = 1024.0;
    else if (*end == 'M' || *end == 'm')
        unit = 1024.0 * 1024;
    else if (*end == 'G' || *end == 'g')
        unit = 1024.0 * 1024 * 1024;
    if (unit > 1)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    double bytes = n * unit;
    if (*end || !(bytes >= 1024.0 * 1024) || bytes > (double)SIZE_MAX / 2)
        return -1;
    *out = (size_t)bytes;
    return 0;
}

/* A number in (0, hi]. */
static int parse_positive(const char *v, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x > 0) || x > hi)
        return -1;
    *out = x;
    return 0;
}

/* ---- setters: one per kind of value */

static const char *set_flag(command *c, const option_row *row, const char *v)
{
    (void)v;
    *(int *)(void *)((char *)c + row->field) = 1;
    return NULL;
}

static const char *set_string(command *c, const option_row *row, const char *v)
{
    *(const char **)(void *)((char *)c + row->field) = v;
    return NULL;
}

static const char *set_help(command *c, const option_row *row, const char *v)
{
    (void)row, (void)v;
    c->action = SHOW_HELP;
    return NULL;
}

static const char *set_version(command *c, const option_row *row, const char *v)
{
    (void)row, (void)v;
    c->action = SHOW_VERSION;
    return NULL;
}

static const char *set_output(command *c, const option_row *row, const char *v)
{
    (void)row;
    if (!*v)
        return "empty output file name";
    c->job.output = v;
    return NULL;
}

static const char *set_format(command *c, const option_row *row, const char *v)
{
    (void)row;
    if (!strcmp(v, "tiff"))
        c->job.format = IIIFS_FORMAT_TIFF;
    else if (!strcmp(v, "pnm"))
        c->job.format = IIIFS_FORMAT_PNM;
    else
        return say(c, "unknown --format '%s' (tiff or pnm)", v);
    c->format_given = 1;
    return NULL;
}

static const char *set_compression(command *c, const option_row *row, const char *v)
{
    if (iiifs_compression_parse(v, &c->job.compression))
        return say(c, "unknown %s '%s' (%s)", row->name, v, iiifs_compression_names());
    return NULL;
}

static const char *set_jpeg_quality(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (parse_count(v, 1, 100, &n))
        return say(c, "%s '%s' is not a number from 1 to 100", row->name, v);
    c->job.jpeg_quality = (int)n;
    return NULL;
}

/* --tag NAME=VALUE: the three tags the job options carry. */
static const char *set_tag(command *c, const option_row *row, const char *v)
{
    static const char *const names[] = { "Artist", "Copyright", "ImageDescription" };
    const char **slots[] = { &c->job.artist, &c->job.copyright, &c->job.description };
    const char *eq = strchr(v, '=');
    size_t n = eq ? (size_t)(eq - v) : strlen(v), k = 0;
    if (!eq || n == 0)
        return say(c, "%s '%s' is not NAME=VALUE", row->name, v);
    while (k < 3 && !(strlen(names[k]) == n && !strncasecmp_ascii(v, names[k], n)))
        k++;
    if (k == 3)
        return say(c, "%s: unknown tag '%.*s' (Artist, Copyright or ImageDescription)",
                   row->name, (int)(n < 64 ? n : 64), v);
    *slots[k] = eq + 1;
    return NULL;
}

static const char *set_connections(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (parse_count(v, 1, CONNECTIONS_MAX, &n))
        return say(c, "%s '%s' is not a number from 1 to %d (this build's cap)", row->name,
                   v, CONNECTIONS_MAX);
    c->client.connections = (uint32_t)n;
    return NULL;
}

static const char *set_max_memory(command *c, const option_row *row, const char *v)
{
    if (parse_size(v, &c->client.max_memory))
        return say(c, "%s '%s' is not a size like 512K, 16M or 1G (at least 1M)", row->name,
                   v);
    return NULL;
}

static const char *set_scale(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (parse_count(v, 1, 1ul << 20, &n))
        return say(c, "%s '%s' is not a scale factor (1, 2, 4 ...)", row->name, v);
    c->job.scale = (uint32_t)n;
    return NULL;
}

/* --max-width, --max-height: the uint64_t at row->field. */
static const char *set_max_side(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (parse_count(v, 1, 1ul << 30, &n))
        return say(c, "%s needs a number of pixels, not '%s'", row->name, v);
    *(uint64_t *)(void *)((char *)c + row->field) = n;
    return NULL;
}

static const char *set_quality(command *c, const option_row *row, const char *v)
{
    if (!strcmp(v, "default") || !strcmp(v, "color"))
        c->job.quality = IIIFS_QUALITY_DEFAULT;
    else if (!strcmp(v, "gray") || !strcmp(v, "grey"))
        c->job.quality = IIIFS_QUALITY_GRAY;
    else if (!strcmp(v, "bitonal"))
        c->job.quality = IIIFS_QUALITY_BITONAL;
    else
        return say(c, "unknown %s '%s' (default, color, gray or bitonal)", row->name, v);
    return NULL;
}

static const char *set_region(command *c, const option_row *row, const char *v)
{
    if (parse_region(v, &c->job.region))
        return say(c, "%s '%s' is not x,y,w,h or pct:x,y,w,h (w and h above 0)", row->name, v);
    return NULL;
}

static const char *set_rotate(command *c, const option_row *row, const char *v)
{
    if (strcmp(v, "0") && strcmp(v, "90") && strcmp(v, "180") && strcmp(v, "270"))
        return say(c, "%s '%s' is not 0, 90, 180 or 270", row->name, v);
    c->job.rotate = atoi(v);
    return NULL;
}

static const char *set_request_size(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (!strcmp(v, "tile"))
        c->job.request_size = 0;
    else if (!strcmp(v, "auto"))
        c->job.request_size = IIIFS_REQUEST_AUTO;
    else if (parse_count(v, 16, 8192, &n))
        return say(c, "%s '%s' is not tile, auto or a side of 16 to 8192 px", row->name, v);
    else
        c->job.request_size = (uint32_t)n;
    return NULL;
}

static const char *set_retries(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (parse_count(v, 0, 100, &n))
        return say(c, "%s '%s' is not a number from 0 to 100", row->name, v);
    c->client.tries = (uint32_t)n + 1;
    return NULL;
}

static const char *set_rate(command *c, const option_row *row, const char *v)
{
    if (parse_positive(v, 1e6, &c->client.rate))
        return say(c, "%s '%s' is not a number of requests per second in (0, 1e6]",
                   row->name, v);
    return NULL;
}

static const char *set_timeout(command *c, const option_row *row, const char *v)
{
    double s;
    if (parse_positive(v, 86400, &s))
        return say(c, "%s '%s' is not a number of seconds in (0, 86400]", row->name, v);
    c->client.timeout_ms = (uint32_t)(s * 1000 + 0.5);
    if (!c->client.timeout_ms)
        c->client.timeout_ms = 1;
    return NULL;
}

/* -H: kept as given; the library checks it (one place for the rules). */
static const char *set_header(command *c, const option_row *row, const char *v)
{
    (void)row;
    if (c->client.nheaders == HEADERS_MAX)
        return say(c, "too many -H options ('%s' is one too many)", v);
    c->headers[c->client.nheaders++] = v;
    return NULL;
}

static const char *set_plan(command *c, const option_row *row, const char *v)
{
    if (!v || !strcmp(v, "text"))
        c->plan = 1;
    else if (!strcmp(v, "json"))
        c->plan = 2;
    else
        return say(c, "unknown %s format '%s' (text or json)", row->name, v);
    return NULL;
}

static const char *set_csv(command *c, const option_row *row, const char *v)
{
    if (!*v)
        return say(c, "empty %s file name", row->name);
    c->batch.csv = v;
    return NULL;
}

/* --where: parsed by the library, with the CSV header. */
static const char *set_where(command *c, const option_row *row, const char *v)
{
    if (c->batch.nwhere == IIIFS_WHERE_MAX)
        return say(c, "too many %s options ('%s' is one too many)", row->name, v);
    c->where[c->batch.nwhere++] = v;
    return NULL;
}

static const char *set_limit(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (parse_count(v, 1, BATCH_JOBS_MAX, &n))
        return say(c, "%s '%s' is not a number from 1 to %d", row->name, v, BATCH_JOBS_MAX);
    c->batch.limit = n;
    return NULL;
}

static const char *set_name(command *c, const option_row *row, const char *v)
{
    if (!*v)
        return say(c, "empty %s template", row->name);
    c->batch.name = v;
    return NULL;
}

static const char *set_out_dir(command *c, const option_row *row, const char *v)
{
    if (!*v)
        return say(c, "empty %s", row->name);
    c->run.out_dir = v;
    return NULL;
}

static const char *set_jobs(command *c, const option_row *row, const char *v)
{
    unsigned long n;
    if (parse_count(v, 1, BATCH_THREADS_MAX, &n))
        return say(c, "%s '%s' is not a number from 1 to %d", row->name, v, BATCH_THREADS_MAX);
    c->run.jobs = (uint32_t)n;
    return NULL;
}

static const char *set_report(command *c, const option_row *row, const char *v)
{
    if (!*v)
        return say(c, "empty %s file name", row->name);
    c->report_path = v;
    return NULL;
}

/* --shard K/N, 0 <= K < N. */
static const char *set_shard(command *c, const option_row *row, const char *v)
{
    unsigned long k, n;
    const char *slash = strchr(v, '/');
    char kbuf[16];
    size_t klen = slash ? (size_t)(slash - v) : 0;
    if (!slash || klen == 0 || klen >= sizeof kbuf)
        return say(c, "%s '%s' is not K/N (0-based K < N)", row->name, v);
    memcpy(kbuf, v, klen);
    kbuf[klen] = 0;
    if (parse_count(slash + 1, 1, BATCH_SHARDS_MAX, &n) ||
        parse_count(kbuf, 0, BATCH_SHARDS_MAX, &k))
        return say(c, "%s '%s' is not K/N with whole numbers, N from 1 to %d", row->name, v,
                   BATCH_SHARDS_MAX);
    if (k >= n)
        return say(c, "%s '%s': K counts from 0 and must be below N", row->name, v);
    c->batch.shard = (uint32_t)k;
    c->batch.shards = (uint32_t)n;
    return NULL;
}

/* ---- the options */

/* In the order of the help: rows that apply to an image under "options:",
 * the others under "batch". */
static const option_row option_table[] = {
    { "--output", 'o', "FILE", 0, FOR_IMAGE, set_output, 0,
      "-o names one image: with %s, use --out-dir and --name",
      "output file (default: the image identifier + .tif,\n"
      "or .pnm); written as FILE.part and renamed when\n"
      "complete. '-' is stdout: like a pipe (FIFO) or a\n"
      "device, it is written straight through, an\n"
      "uncompressed TIFF or a PNM, short if a failure stops it" },
    { "--format", 0, "F", 0, FOR_ANY, set_format, 0, NULL,
      "tiff (default) or pnm (PPM for RGB, PGM for gray);\n"
      "FILE ending in .pnm, .ppm or .pgm means pnm" },
    { "--compression", 0, "C", 0, FOR_ANY, set_compression, 0, NULL,
      "TIFF strips, on files only (not streams):\n"
      "%s (default none); deflate, lzw and zstd\n"
      "use the horizontal predictor; jpeg stores RGB as\n"
      "YCbCr 4:2:0 (lossy)" },
    { "--jpeg-quality", 0, "N", 0, FOR_ANY, set_jpeg_quality, 0, NULL,
      "1..100 for --compression jpeg (default " STR(IIIFS_JPEG_QUALITY_DEFAULT) ")" },
    { "--bigtiff", 0, NULL, 0, FOR_ANY, set_flag, FIELD(job.bigtiff), NULL,
      "write a BigTIFF even when the file stays under 4 GiB\n"
      "(one is written anyway when it could pass 4 GiB)" },
    { "--resume", 0, NULL, 0, FOR_ANY, set_flag, FIELD(job.resume), NULL,
      "continue FILE.part where an interrupted run stopped\n"
      "(killed, or failed: the .part is then kept), from its\n"
      "last complete strip; the state is FILE.part.resume,\n"
      "removed when the image is done. The file is the same,\n"
      "byte for byte, as an uninterrupted --resume run (DateTime\n"
      "is the first run's). TIFF none or deflate, or PNM; the\n"
      "options must be those the image was begun with" },
    { "--tag", 0, "NAME=VALUE", REPEATABLE, FOR_ANY, set_tag, 0, NULL,
      "TIFF tag, repeatable: Artist, Copyright or\n"
      "ImageDescription (DateTime, Software and DocumentName,\n"
      "the source, are always written; in a batch,\n"
      "ImageDescription is the provenance JSON unless given)" },
    { "--connections", 0, "N", 0, FOR_ANY, set_connections, 0, NULL,
      "parallel keep-alive connections, 1.." STR(CONNECTIONS_MAX)
      " (default " STR(CONNECTIONS_DEFAULT) ");\n"
      "tiles are decoded on as many threads; with --jobs,\n"
      "per host for all the images at once" },
    { "--max-memory", 0, "SIZE", 0, FOR_ANY, set_max_memory, 0, NULL,
      "memory the job may hold: band, tiles in flight and\n"
      "buffers (K, M, G suffixes; default 32M); with\n"
      "--jobs, for all the images at once" },
    { "--scale", 0, "N", 0, FOR_ANY, set_scale, 0, NULL,
      "fetch the level at scale factor N (one the image lists;\n"
      "2 is half the width and height)" },
    { "--max-width", 0, "W", 0, FOR_ANY, set_max_side, FIELD(job.max_width), NULL,
      "the largest level that fits W x H (either may be alone)" },
    { "--max-height", 0, "H", 0, FOR_ANY, set_max_side, FIELD(job.max_height), NULL, NULL },
    { "--quality", 0, "Q", 0, FOR_ANY, set_quality, 0, NULL,
      "default (as the tiles come: RGB, or gray when the first\n"
      "tile is) or gray: 8-bit luma, (299 R + 587 G + 114 B +\n"
      "500) / 1000; or bitonal: 1 bit, white where that luma\n"
      "is 128 or more (PBM with --format pnm)" },
    { "--region", 0, "R", 0, FOR_ANY, set_region, 0, NULL,
      "x,y,w,h in full-resolution pixels, or pct:x,y,w,h: only\n"
      "the tiles that meet it are fetched, the output is cut\n"
      "exactly (at a scale factor s: pixels floor(x/s) to\n"
      "ceil((x+w)/s))" },
    { "--mirror", 0, NULL, 0, FOR_ANY, set_flag, FIELD(job.mirror), NULL,
      "flip left to right (before --rotate, as IIIF's !n)" },
    { "--rotate", 0, "DEG", 0, FOR_ANY, set_rotate, 0, NULL,
      "0, 90, 180 or 270 degrees clockwise" },
    { "--allow-partial", 0, NULL, 0, FOR_ANY, set_flag, FIELD(job.allow_partial), NULL,
      "a tile that still fails after its tries is filled with\n"
      "gray " STR(IIIFS_PARTIAL_FILL) " and listed; the image is written and the\n"
      "exit code is 9 (default: the image fails)" },
    { "--request-size", 0, "R", 0, FOR_ANY, set_request_size, 0, NULL,
      "tile (default): the server's advertised tiles;\n"
      "auto: the largest regions the server honours (its\n"
      "declared limits, or one probe request); N: N-px regions" },
    { "--retries", 0, "N", 0, FOR_ANY, set_retries, 0, NULL,
      "tries after a transient failure (timeouts, dropped\n"
      "connections, 408, 429, 500, 502, 503, 504; default 4)" },
    { "--rate", 0, "R", 0, FOR_ANY, set_rate, 0, NULL,
      "at most R requests per second (default: no limit)" },
    { "--cacert", 0, "FILE", 0, FOR_ANY, set_string, FIELD(client.cacert), NULL,
      "trust the CAs in FILE instead of the system bundle\n"
      "(SSL_CERT_FILE also works)" },
    { "--insecure", 0, NULL, 0, FOR_ANY, set_flag, FIELD(client.insecure), NULL,
      "do not verify server certificates (warns)" },
    { "--timeout", 0, "SECONDS", 0, FOR_ANY, set_timeout, 0, NULL,
      "connect and read timeout (default 30)" },
    { "--user-agent", 0, "STRING", 0, FOR_ANY, set_string, FIELD(client.user_agent), NULL,
      "User-Agent header (default iiifstitch/" IIIFS_VERSION ")" },
    { "--header", 'H', "'NAME: VALUE'", REPEATABLE, FOR_ANY, set_header, 0, NULL,
      "extra request header (repeatable); a User-Agent or\n"
      "Accept header replaces the built-in one" },
    { "--cookie", 0, "STRING", 0, FOR_ANY, set_string, FIELD(client.cookie), NULL,
      "send Cookie: STRING" },
    { "--referer", 0, "URL", 0, FOR_ANY, set_string, FIELD(client.referer), NULL,
      "send Referer: URL" },
    { "--token", 0, "TOKEN", 0, FOR_ANY, set_string, FIELD(client.token), NULL,
      "send Authorization: Bearer TOKEN\n"
      "(-H, --cookie, --referer and --token go with every\n"
      "request, but not across a redirect to another host or\n"
      "port, nor from https to http)" },
    { "--proxy", 0, "URL", 0, FOR_ANY, set_string, FIELD(client.proxy), NULL,
      "http://[USER:PASS@]HOST[:PORT] for http and https URLs\n"
      "(https through CONNECT); '' for none; default from\n"
      "HTTP_PROXY and HTTPS_PROXY; NO_PROXY lists the hosts\n"
      "reached directly" },
    { "--plan", 0, "json", VALUE_OPTIONAL, FOR_IMAGE, set_plan, 0,
      "--plan shows one image: with %s, --list shows the jobs",
      "fetch the info.json and print what would be done\n"
      "(version, level, sizes, tiles, request count, first\n"
      "and last URL, download estimate, memory) on stdout;\n"
      "no image request is made and no file written" },
    { "--progress", 0, NULL, 0, FOR_ANY, set_flag, FIELD(out.progress), NULL,
      "progress line on stderr (default when stderr is a tty)" },
    { "--quiet", 'q', NULL, 0, FOR_ANY, set_flag, FIELD(out.quiet), NULL,
      "print nothing but errors" },
    { "--help", 'h', NULL, 0, FOR_ANY, set_help, 0, NULL, "this text" },
    { "--version", 0, NULL, 0, FOR_ANY, set_version, 0, NULL, "print the version" },

    { "--csv", 0, "FILE", PICKS_KIND, FOR_CSV, set_csv, 0, NULL,
      "the list (RFC 4180: commas, quoted fields, CRLF or LF);\n"
      "each row's image from --url-column, or from\n"
      "--id-column with --base" },
    { "--url-column", 0, "C", 0, FOR_CSV, set_string, FIELD(batch.url_column), NULL,
      "column C holds each image's info.json or base URL" },
    { "--id-column", 0, "C", 0, FOR_CSV, set_string, FIELD(batch.id_column), NULL,
      "column C holds each image's identifier, and" },
    { "--base", 0, "URL", 0, FOR_CSV, set_string, FIELD(batch.base), NULL,
      "the server prefix: URL/IDENTIFIER (percent-encoded)" },
    { "--where", 0, "COND", REPEATABLE, FOR_CSV, set_where, 0, NULL,
      "keep rows where COND holds: C=VALUE, column C is\n"
      "exactly VALUE; C~=REGEX, column C matches REGEX (POSIX\n"
      "extended, anywhere in the value); repeatable, all must\n"
      "hold" },
    { "--canvas", 0, "LIST", 0, FOR_MANIFEST, set_string, FIELD(batch.canvases), NULL,
      "manifests: canvases at these 1-based positions in\n"
      "each manifest (3, 3-17, 1,4-6)" },
    { "--label", 0, "REGEX", 0, FOR_MANIFEST, set_string, FIELD(batch.label_re), NULL,
      "manifests: canvases whose label matches REGEX (POSIX\n"
      "extended, anywhere)" },
    { "--limit", 0, "N", 0, FOR_BATCH, set_limit, 0, NULL,
      "at most the first N selected rows (or canvases)" },
    { "--name", 0, "TEMPLATE", 0, FOR_BATCH, set_name, 0, NULL,
      "output name. CSV: {C} is the row's column C; default\n"
      "the image identifier. Manifests: {label} the canvas\n"
      "label, {index} its position (zero-padded), {manifest}\n"
      "the manifest's label; default {manifest}-{index}.\n"
      "{{ }} are braces; / \\ : * ? \" < > | and control\n"
      "characters in values become _, and so do dots starting\n"
      "the name; .tif is added unless the name ends in .tif\n"
      "or .tiff (at most 255 bytes)" },
    { "--out-dir", 0, "DIR", 0, FOR_BATCH, set_out_dir, 0, NULL,
      "where the TIFFs go (made if missing; default .)" },
    { "--list", 0, NULL, 0, FOR_BATCH, set_flag, FIELD(list), NULL,
      "print OUTPUT<TAB>SOURCE per job and a count; download\n"
      "nothing" },
    { "--jobs", 0, "N", 0, FOR_BATCH, set_jobs, 0, NULL,
      "N images at once (1.." STR(BATCH_THREADS_MAX) ", default 1). They share\n"
      "--connections per host (each image gets\n"
      "max(1, connections / N); an image waits while its\n"
      "host's budget is in use) and --max-memory (split\n"
      "evenly; default 32M per image)" },
    { "--report", 0, "FILE", 0, FOR_BATCH, set_report, 0, NULL,
      "one JSON line per image as it finishes (source,\n"
      "output, record, width, height, pixels, bytes,\n"
      "bytes_in, requests, retries, seconds, status,\n"
      "error); '-' is stdout" },
    { "--shard", 0, "K/N", 0, FOR_BATCH, set_shard, 0, NULL,
      "only jobs K, K+N, K+2N, ... (K counts from 0), taken\n"
      "after --where and --limit: N runs with K = 0..N-1\n"
      "together do every job exactly once" },
};

#define OPTIONS_N (sizeof option_table / sizeof option_table[0])
_Static_assert(OPTIONS_N <= GIVEN_MAX, "command.given holds every row");

/* ---- help */

static const char help_about[] =
    "\n"
    "Download a IIIF image at full resolution, tile row by tile row, into a\n"
    "striped TIFF (or PNM). Memory is bounded by one row of tiles, never by image\n"
    "height.\n"
    "\n"
    "SOURCE  an info.json URL (https://host/iiif/ID/info.json), an image base URL\n"
    "        (https://host/iiif/ID), or a local info.json inside a static tile tree.\n"
    "MANIFEST a IIIF Presentation 2 or 3 manifest or collection (URL or file): every\n"
    "        canvas's image is one job of a batch (below). SOURCE is read once and\n"
    "        known by its content: a URL whose last segment ends in .json is that\n"
    "        document; any other URL is tried as URL/info.json, then as itself.\n";

static const char help_batch[] =
    "batch (many images from a CSV list with a header row, or a manifest):\n";

static const char help_end[] =
    "\n"
    "Every row (or manifest) is checked before anything is downloaded: a bad row,\n"
    "or two jobs with one output name, stop the batch before it starts. A complete\n"
    "TIFF already there is skipped; a failed image does not stop the others; the\n"
    "exit code is the first failure's.\n"
    "\n"
    "exit codes: 0 ok, 1 internal error, 2 usage, 3 network, 4 TLS/certificate,\n"
    "            5 server (HTTP error status, malformed HTTP, redirects),\n"
    "            6 bad data (JSON, info.json, manifest, JPEG, tile size, CSV),\n"
    "            7 local I/O, 8 memory or a size cap, 9 written with missing tiles\n"
    "            (--allow-partial)\n"
    "\n"
    "environment: SSL_CERT_FILE (a CA bundle, as --cacert), SOURCE_DATE_EPOCH (seconds:\n"
    "the TIFF DateTime), http_proxy, https_proxy, no_proxy (as --proxy)\n";

/* "--name ARG", "--plan[=ARG]" or "--list" into out. */
static void option_usage(const option_row *row, char *out, size_t cap)
{
    if (!row->arg)
        snprintf(out, cap, "%s", row->name);
    else if (row->flags & VALUE_OPTIONAL)
        snprintf(out, cap, "%s[=%s]", row->name, row->arg);
    else
        snprintf(out, cap, "%s %s", row->name, row->arg);
}

/* One line of the synopsis: the batch options of one kind. */
static void print_synopsis_of(unsigned kind, const char *lead)
{
    int col = printf("       iiifstitch [options]%s%s", lead ? " " : "", lead ? lead : "");
    for (size_t i = 0; i < OPTIONS_N; i++) {
        const option_row *row = &option_table[i];
        char use[64], item[72];
        if ((row->scope & FOR_IMAGE) || !(row->scope & kind))
            continue;
        option_usage(row, use, sizeof use);
        if (row->flags & PICKS_KIND)
            snprintf(item, sizeof item, "%s", use);
        else
            snprintf(item, sizeof item, "[%s]%s", use, row->flags & REPEATABLE ? "..." : "");
        if (col + 1 + (int)strlen(item) > SYNOPSIS_WIDTH)
            col = printf("\n                 ") - 1;
        col += printf(" %s", item);
    }
    putchar('\n');
}

/* The help text of a row, each line after the first indented to the column. */
static void print_help_text(const char *text)
{
    char line[160];
    for (int first = 1; *text; first = 0) {
        size_t n = strcspn(text, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, text);
        printf("%*s", first ? 0 : HELP_COLUMN, "");
        printf(line, iiifs_compression_names());
        putchar('\n');
        text += n + (text[n] == '\n');
    }
}

/* Row i and the rows after it described with it; returns the next row to print. */
static size_t print_option_help(size_t i)
{
    char left[160], use[64];
    const option_row *row = &option_table[i];
    int n = snprintf(left, sizeof left, "  %c%c%s", row->letter ? '-' : ' ',
                     row->letter ? row->letter : ' ', row->letter ? ", " : "  ");
    option_usage(row, use, sizeof use);
    n += snprintf(left + n, sizeof left - (size_t)n, "%s", use);
    for (i++; i < OPTIONS_N && !option_table[i].help; i++) {
        option_usage(&option_table[i], use, sizeof use);
        n += snprintf(left + n, sizeof left - (size_t)n, ", %s", use);
    }
    if (n < HELP_COLUMN - 1)
        printf("%-*s", HELP_COLUMN, left);
    else
        printf("%s\n%*s", left, HELP_COLUMN, "");
    print_help_text(row->help);
    return i;
}

static void print_help(void)
{
    printf("usage: iiifstitch [options] SOURCE\n");
    print_synopsis_of(FOR_CSV, NULL);
    print_synopsis_of(FOR_MANIFEST, "MANIFEST");
    fputs(help_about, stdout);
    printf("\noptions:\n");
    for (size_t i = 0; i < OPTIONS_N;)
        i = option_table[i].scope & FOR_IMAGE ? print_option_help(i) : i + 1;
    printf("\n%s", help_batch);
    for (size_t i = 0; i < OPTIONS_N;)
        i = option_table[i].scope & FOR_IMAGE ? i + 1 : print_option_help(i);
    fputs(help_end, stdout);
}

/* ---- parsing */

/* The row arg names: --name, --name=VALUE or -x; NULL when there is none. */
static const option_row *option_find(const char *arg)
{
    size_t n = strcspn(arg, "=");
    for (size_t i = 0; i < OPTIONS_N; i++) {
        const option_row *row = &option_table[i];
        if (arg[1] == '-' ? strlen(row->name) == n && !strncmp(arg, row->name, n)
                          : row->letter && arg[1] == row->letter && !arg[2])
            return &option_table[i];
    }
    return NULL;
}

static void note_given(command *c, const option_row *row)
{
    for (int i = 0; i < c->ngiven; i++)
        if (c->given[i] == row)
            return;
    c->given[c->ngiven++] = row;
}

/* argv[*i], an option, and its value; NULL or the usage message. */
static const char *take_option(command *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *value = NULL;
    const option_row *row = option_find(a);
    const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
    if (!row || (eq && !row->arg))
        return say(c, "unknown option %s", a);
    if (eq) {
        value = eq + 1;
    } else if (row->arg && !(row->flags & VALUE_OPTIONAL)) {
        if (*i + 1 >= argc)
            return say(c, "option %s needs a value", a);
        value = argv[++*i];
    }
    note_given(c, row);
    return row->set(c, row, value);
}

/* -1 when the command is to run, else the exit code (0 after --help or --version). */
static int parse_args(command *c, int argc, char **argv)
{
    for (int i = 1; i < argc && c->action == RUN; i++) {
        const char *a = argv[i], *why = NULL;
        if (a[0] == '-' && a[1])
            why = take_option(c, argc, argv, &i);
        else if (c->source)
            why = say(c, "more than one SOURCE given ('%s')", a);
        else
            c->source = a;
        if (why)
            return usage_error(why);
    }
    if (c->action == SHOW_HELP)
        print_help();
    else if (c->action == SHOW_VERSION)
        printf("iiifstitch %s\n", IIIFS_VERSION);
    return c->action == RUN ? -1 : 0;
}

/* ---- which options fit which job */

/* The message for an option given to a job of a kind it does not apply to
 * (kinds: the kinds the job may still be); name: SOURCE's document. */
static const char *misfit(command *c, const option_row *row, unsigned kinds, const char *name)
{
    if (row->misfit)
        return say(c, row->misfit, kinds == FOR_CSV ? "--csv" : "a manifest");
    if (row->scope == FOR_CSV)
        return say(c, "%s works only with --csv FILE", row->name);
    if (row->scope == FOR_MANIFEST)
        return say(c, "%s works only with a manifest or collection as SOURCE", row->name);
    if (!(row->scope & FOR_IMAGE) && name)
        return say(c, "%s is an image's info.json, not a manifest or collection: %s works "
                   "only with one of those or with --csv FILE", name, row->name);
    return say(c, "%s does not fit this job", row->name);
}

/* The first option given that applies to none of kinds. */
static const char *check_scope(command *c, unsigned kinds, const char *name)
{
    for (int i = 0; i < c->ngiven; i++)
        if (!(c->given[i]->scope & kinds))
            return misfit(c, c->given[i], kinds, name);
    return NULL;
}

/* What can be refused before anything is fetched. */
static const char *check_before_fetch(command *c)
{
    unsigned kinds = c->batch.csv ? FOR_CSV : FOR_IMAGE | FOR_MANIFEST, all = FOR_ANY;
    const char *why = check_scope(c, kinds, NULL);
    if (why)
        return why;
    if (c->batch.csv && c->source)
        return say(c, "give SOURCE or --csv FILE, not both ('%s')", c->source);
    if (!c->batch.csv && !c->source)
        return "no SOURCE given";
    for (int i = 0; i < c->ngiven; i++)
        all &= c->given[i]->scope;
    /* an option only a batch takes: SOURCE can only be a manifest */
    if (!c->batch.csv && !(all & FOR_IMAGE) && (why = check_scope(c, FOR_MANIFEST, NULL)))
        return why;
    if (c->report_path && c->list)
        return "--report records a run: not with --list";
    if (c->job.scale && (c->job.max_width || c->job.max_height))
        return "give --scale or --max-width/--max-height, not both";
    if (c->job.output && !strcmp(c->job.output, "-") && iiifs_is_terminal(1))
        return "-o -: stdout is a terminal; redirect it or pipe it";
    if (c->job.jpeg_quality && c->job.compression != IIIFS_COMPRESS_JPEG)
        return "--jpeg-quality needs --compression jpeg";
    return NULL;
}

/* ---- callbacks */

static int on_progress(void *ud, const iiifs_progress *p)
{
    console *out = ud;
    if (!out->progress)
        return 0;
    int last = p->rows_done == p->rows && p->tiles_done == p->tiles;
    if (!last && p->elapsed_ms - out->last_ms < 200 && out->printed)
        return 0;
    out->last_ms = p->elapsed_ms;
    out->printed = 1;
    fprintf(stderr, "\r%llux%llu  row %u/%u  tile %u/%u  %.1f MB in  %.1f s ",
            (unsigned long long)p->width, (unsigned long long)p->height, p->rows_done, p->rows,
            p->tiles_done, p->tiles, (double)p->bytes_in / 1e6, (double)p->elapsed_ms / 1e3);
    if (last)
        fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

/* End an open progress line before anything else goes to stderr. */
static void end_progress_line(console *out)
{
    if (out->printed)
        fputc('\n', stderr);
    out->printed = 0;
}

static void on_warning(void *ud, const char *msg)
{
    console *out = ud;
    if (out->quiet)
        return;
    end_progress_line(out);
    fprintf(stderr, "iiifstitch: warning: %s\n", msg);
}

/* ---- printing */

static int print_failure(int rc, const iiifs_error *e)
{
    fprintf(stderr, "iiifstitch: %s\n", e->msg[0] ? e->msg : iiifs_status_name(rc));
    return iiifs_exit_code(rc);
}

static const char *api_name(int api)
{
    switch (api) {
    case 10: return "1.0";
    case 11: return "1.1";
    case 20: return "2";
    case 30: return "3";
    default: return "?";
    }
}

/* Length of the well-formed UTF-8 sequence at s (1 to 4), 0 if there is none. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF
            ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) ||
        (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))))
        return 0;
    return n;
}

/* s as a JSON string; a byte that is not well-formed UTF-8 becomes U+FFFD. */
static void json_put(FILE *f, const char *s)
{
    fputc('"', f);
    while (*s) {
        const unsigned char *u = (const unsigned char *)s;
        int n = utf8_len(u);
        if (n == 0) {
            fputs("\\ufffd", f);
            s++;
        } else if (n > 1) {
            fwrite(s, 1, (size_t)n, f);
            s += n;
        } else {
            if (*u == '"' || *u == '\\')
                fprintf(f, "\\%c", *u);
            else if (*u < 0x20 || *u == 0x7f)
                fprintf(f, "\\u%04x", *u);
            else
                fputc(*u, f);
            s++;
        }
    }
    fputc('"', f);
}

static void print_plan_json(const char *source, const iiifs_result *r)
{
    const iiifs_plan_report *p = &r->plan;
    printf("{\"source\": ");
    json_put(stdout, source);
    printf(", \"api\": \"%s\", \"level\": %d, \"width\": %llu, \"height\": %llu, "
           "\"scale\": %u, \"tile\": [%u, %u], \"output\": [%llu, %llu], "
           "\"request\": [%u, %u], \"grid\": [%u, %u], \"requests\": %llu, "
           "\"probe\": %s, \"first\": ",
           api_name(r->api), p->level, (unsigned long long)p->full_w,
           (unsigned long long)p->full_h, p->scale, p->tile_w, p->tile_h,
           (unsigned long long)r->width, (unsigned long long)r->height, p->request_w,
           p->request_h, p->cols, p->rows, (unsigned long long)p->cols * p->rows,
           p->probe ? "true" : "false");
    json_put(stdout, p->first_url);
    printf(", \"last\": ");
    json_put(stdout, p->last_url);
    printf(", \"bytes_estimate\": %llu, \"band_bytes\": %llu, \"max_memory\": %llu}\n",
           (unsigned long long)p->est_bytes, (unsigned long long)p->band_bytes,
           (unsigned long long)p->max_memory);
}

/* --plan: what the job would do, on stdout. */
static void print_plan_text(const char *source, const iiifs_result *r)
{
    const iiifs_plan_report *p = &r->plan;
    printf("source     %s\n", source);
    printf("api        %s, level %d\n", api_name(r->api), p->level);
    printf("image      %llux%llu\n", (unsigned long long)p->full_w,
           (unsigned long long)p->full_h);
    if (p->tile_w)
        printf("tiles      %ux%u, scale factor %u\n", p->tile_w, p->tile_h, p->scale);
    else
        printf("tiles      none declared, scale factor %u\n", p->scale);
    printf("output     %llux%llu\n", (unsigned long long)r->width, (unsigned long long)r->height);
    printf("requests   %llu (%u x %u of %ux%u px)%s\n", (unsigned long long)p->cols * p->rows,
           p->cols, p->rows, p->request_w, p->request_h,
           p->probe ? "; --request-size auto: one probe at run time may make them fewer" : "");
    printf("first      %s\n", p->first_url);
    printf("last       %s\n", p->last_url);
    printf("download   about %.1f MB (estimate at %u bits per pixel)\n",
           (double)p->est_bytes / 1e6, IIIFS_EST_BITS_PER_PX);
    printf("memory     band %.1f MiB (RGB), cap %.1f MiB\n",
           (double)p->band_bytes / 1048576.0, (double)p->max_memory / 1048576.0);
}

/* The image's lines on stderr: the tiles filled in, where it went on from, the result. */
static void print_result(const command *c, const iiifs_result *r)
{
    const iiifs_job_options *o = &c->job;
    if (r->missing) {
        fprintf(stderr, "iiifstitch: %s is partial: %u tile%s filled with %u:", o->output,
                r->missing, r->missing == 1 ? "" : "s", IIIFS_PARTIAL_FILL);
        for (uint32_t i = 0; i < r->missing && i < IIIFS_MISSING_MAX; i++)
            fprintf(stderr, " %u,%u", r->missing_n[i], r->missing_m[i]);
        fprintf(stderr, "%s\n", r->missing > IIIFS_MISSING_MAX ? " ..." : "");
    }
    if (c->out.quiet)
        return;
    if (r->resumed_rows)
        fprintf(stderr, "%s: continued from row %llu of %llu\n", o->output,
                (unsigned long long)r->resumed_rows, (unsigned long long)r->height);
    fprintf(stderr, "%s: %llux%llu %s, %s%s%s, %llu bytes, %u requests (%u retried), "
            "%ux%u px each, %.2f s\n", strcmp(o->output, "-") ? o->output : "stdout",
            (unsigned long long)r->width, (unsigned long long)r->height,
            r->channels == 1 ? "gray" : "RGB",
            o->format == IIIFS_FORMAT_PNM ? (r->channels == 1 ? "PGM" : "PPM")
            : r->bigtiff ? "BigTIFF" : "TIFF",
            o->compression != IIIFS_COMPRESS_NONE ? " " : "",
            o->compression != IIIFS_COMPRESS_NONE ? iiifs_compression_name(o->compression) : "",
            (unsigned long long)r->file_bytes, r->requests,
            r->retries, r->request_w, r->request_h, (double)r->elapsed_ms / 1e3);
}

static void json_count(FILE *f, const char *key, int known, unsigned long long n)
{
    if (known)
        fprintf(f, ", \"%s\": %llu", key, n);
    else
        fprintf(f, ", \"%s\": null", key);
}

/* --report: the job as one JSON object on one line, flushed at once. */
static void report_job(console *out, const iiifs_job_report *r)
{
    FILE *f = out->report;
    const iiifs_result *x = r->result;
    static const char *const status[] = { "done", "skipped", "failed" };
    int done = r->outcome == IIIFS_JOB_DONE, sized = x && x->width;
    uint64_t w = sized ? x->width : r->width, h = sized ? x->height : r->height;
    sized = w && h;
    fputs("{\"source\": ", f);
    json_put(f, r->source);
    fputs(", \"output\": ", f);
    json_put(f, r->path);
    fprintf(f, ", \"record\": %llu", (unsigned long long)r->record);
    json_count(f, "width", sized, w);
    json_count(f, "height", sized, h);
    json_count(f, "pixels", sized, w * h);
    json_count(f, "bytes", done || r->outcome == IIIFS_JOB_SKIPPED,
               done ? x->file_bytes : r->file_bytes);
    json_count(f, "bytes_in", 1, x ? x->bytes_in : 0);
    json_count(f, "requests", 1, x ? x->requests : 0);
    json_count(f, "retries", 1, x ? x->retries : 0);
    json_count(f, "resumed_rows", 1, x ? x->resumed_rows : 0);
    fprintf(f, ", \"seconds\": %.3f, \"status\": \"%s\", \"error\": ",
            x ? (double)x->elapsed_ms / 1e3 : 0.0, status[r->outcome]);
    if (r->outcome == IIIFS_JOB_FAILED)
        json_put(f, r->msg);
    else
        fputs("null", f);
    fputs("}\n", f);
    if (fflush(f) != 0 || ferror(f))
        out->report_failed = 1;
}

/* One line per image of a batch as it ends. */
static void on_job(void *ud, const iiifs_job_report *r)
{
    console *out = ud;
    if (out->report)
        report_job(out, r);
    end_progress_line(out);
    out->last_ms = 0;
    if (r->outcome == IIIFS_JOB_FAILED && !r->line) {
        fprintf(stderr, "iiifstitch: %s: %s (canvas %llu)\n", r->path, r->msg,
                (unsigned long long)r->record);
    } else if (r->outcome == IIIFS_JOB_FAILED) {
        fprintf(stderr, "iiifstitch: %s: %s (record %llu, line %llu)\n", r->path, r->msg,
                (unsigned long long)r->record, (unsigned long long)r->line);
    } else if (out->quiet) {
        return;
    } else if (r->outcome == IIIFS_JOB_SKIPPED) {
        fprintf(stderr, "%s: complete already, skipped\n", r->path);
    } else {
        const iiifs_result *x = r->result;
        char resumed[64] = "";
        if (x->resumed_rows)
            snprintf(resumed, sizeof resumed, ", continued from row %llu",
                     (unsigned long long)x->resumed_rows);
        fprintf(stderr, "%s: %llux%llu %s, %llu bytes, %u requests (%u retried), %.2f s%s\n",
                r->path, (unsigned long long)x->width, (unsigned long long)x->height,
                x->channels == 1 ? "gray" : "RGB", (unsigned long long)x->file_bytes,
                x->requests, x->retries, (double)x->elapsed_ms / 1e3, resumed);
    }
}

/* ---- one image */

/* Default output name: the last path segment of the image's base URL. */
static int default_output(const char *src, const char *ext, char *out, size_t cap)
{
    size_t n = strcspn(src, "#");
    static const char suffix[] = "/info.json";
    size_t sn = sizeof suffix - 1;
    if (n >= sn && !memcmp(src + n - sn, suffix, sn))
        n -= sn;
    while (n && src[n - 1] == '/')
        n--;
    size_t start = n;
    while (start && src[start - 1] != '/' && src[start - 1] != '=')
        start--;
    size_t o = 0;
    for (size_t i = start; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        int ok = (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '-' ||
                 c == '_' || c == '.' || c >= 0x80;
        out[o] = ok && !(o == 0 && c == '.') ? (char)c : '_';
        o++;
    }
    if (o == 0)
        return -1;
    memcpy(out + o, ext, 5);
    return 0;
}

/* SOURCE is an image, opened: stitch it (or plan it). */
static int run_image(command *c, iiifs_client *client, const iiifs_source *src)
{
    char name[OUTPUT_NAME_MAX];
    iiifs_result r;
    iiifs_error e = { 0, "" };
    if (!c->job.output) {
        const char *ext = c->job.format == IIIFS_FORMAT_PNM ? ".pnm" : ".tif";
        if (default_output(c->source, ext, name, sizeof name) != 0)
            return usage_error(say(c, "cannot derive an output name from '%s': use -o FILE",
                                   c->source));
        c->job.output = name;
    }
    c->job.src = src;
    memset(&r, 0, sizeof r);
    int rc = iiifs_stitch(client, &c->job, &r, &e);
    if (rc) {
        end_progress_line(&c->out);
        return print_failure(rc, &e);
    }
    if (c->plan == 2)
        print_plan_json(c->source, &r);
    else if (c->plan)
        print_plan_text(c->source, &r);
    else
        print_result(c, &r);
    return !c->plan && r.missing ? IIIFS_EXIT_PARTIAL : 0;
}

/* ---- many images */

/* --list: the count line, after the jobs. */
static void print_list_count(const command *c, const iiifs_batch_about *a,
                             const iiifs_source *manifest)
{
    char shard[96] = "";
    const iiifs_batch_spec *s = &c->batch;
    const char *limit = s->limit && a->total == s->limit ? " (--limit reached)" : "";
    if (s->shards > 1)
        snprintf(shard, sizeof shard, " (shard %u/%u of %u)", s->shard, s->shards, a->total);
    if (manifest)
        fprintf(stderr, "%u job%s%s from %llu canvas%s of %u manifest%s in %s%s\n", a->jobs,
                a->jobs == 1 ? "" : "s", shard, (unsigned long long)a->records,
                a->records == 1 ? "" : "es", a->manifests, a->manifests == 1 ? "" : "s",
                iiifs_source_name(manifest), limit);
    else
        fprintf(stderr, "%u job%s%s from %llu record%s of %s%s\n", a->jobs,
                a->jobs == 1 ? "" : "s", shard, (unsigned long long)a->records,
                a->records == 1 ? "" : "s", s->csv, limit);
}

/* --list: OUTPUT<TAB>SOURCE per job on stdout, then the count on stderr. */
static int list_jobs(const command *c, const iiifs_batch *b, const iiifs_source *manifest)
{
    char path[PATH_BYTES_MAX];
    iiifs_batch_about a;
    iiifs_batch_describe(b, &a);
    for (uint32_t i = 0; i < a.jobs; i++) {
        if (iiifs_batch_path(b, i, c->run.out_dir, path, sizeof path)) {
            fprintf(stderr, "iiifstitch: output path in %s longer than %d bytes\n",
                    c->run.out_dir ? c->run.out_dir : ".", PATH_BYTES_MAX - 1);
            return iiifs_exit_code(IIIFS_E_LIMIT);
        }
        printf("%s\t%s\n", path, iiifs_batch_source(b, i));
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "iiifstitch: cannot write the list to stdout\n");
        return iiifs_exit_code(IIIFS_E_IO);
    }
    if (!c->out.quiet)
        print_list_count(c, &a, manifest);
    return 0;
}

/* After a run: the report's fate, the summary line, the exit code. */
static int batch_summary(command *c, const iiifs_batch *b, iiifs_batch_counts *n)
{
    iiifs_batch_about a;
    iiifs_batch_describe(b, &a);
    if (c->out.report_failed) {
        fprintf(stderr, "iiifstitch: cannot write the report %s\n", c->report_path);
        if (!n->failed)
            n->first_code = IIIFS_E_IO;
    }
    if (!c->out.quiet || n->failed)
        fprintf(stderr, "iiifstitch: batch: %u done, %u skipped, %u failed (%u job%s)\n",
                n->done, n->skipped, n->failed, a.jobs, a.jobs == 1 ? "" : "s");
    if ((n->failed || c->out.report_failed) && n->first_code)
        return iiifs_exit_code(n->first_code);
    return 0;
}

/* Run every job of b, with --report if asked. */
static int run_jobs(command *c, iiifs_client *client, const iiifs_batch *b)
{
    iiifs_batch_counts n;
    iiifs_error e = { 0, "" };
    if (c->report_path && !strcmp(c->report_path, "-"))
        c->out.report = stdout;
    else if (c->report_path && !(c->out.report = fopen(c->report_path, "w"))) {
        fprintf(stderr, "iiifstitch: cannot create the report %s\n", c->report_path);
        return IIIFS_EXIT_IO;
    }
    c->run.job = &c->job;
    c->run.on_job = on_job;
    c->run.ud = &c->out;
    memset(&n, 0, sizeof n);
    int rc = iiifs_batch_run(client, b, &c->run, &n, &e);
    if (c->out.report && c->out.report != stdout && fclose(c->out.report) != 0)
        c->out.report_failed = 1;
    c->out.report = NULL;
    if (rc)
        return print_failure(rc, &e);
    return batch_summary(c, b, &n);
}

/* A batch: from --csv FILE (manifest NULL) or from SOURCE, a manifest or collection. */
static int run_batch(command *c, iiifs_client *client, const iiifs_source *manifest)
{
    iiifs_batch *b = NULL;
    iiifs_error e = { 0, "" };
    c->batch.manifest = manifest;
    int rc = iiifs_batch_load(client, &c->batch, &b, &e);
    if (rc)
        return print_failure(rc, &e);
    rc = c->list ? list_jobs(c, b, manifest) : run_jobs(c, client, b);
    iiifs_batch_free(b);
    return rc;
}

/* ---- dispatch */

/* Defaults that depend on more than one option; callbacks. */
static void settle(command *c)
{
    if (c->out.progress < 0)
        c->out.progress = !c->out.quiet && iiifs_is_terminal(2);
    if (c->out.quiet)
        c->out.progress = 0;
    if (!c->format_given && c->job.output &&
        (ends_with(c->job.output, ".pnm") || ends_with(c->job.output, ".ppm") ||
         ends_with(c->job.output, ".pgm")))
        c->job.format = IIIFS_FORMAT_PNM;
    c->job.plan_only = c->plan != 0;     /* checks the output options, writes nothing */
    /* --jobs N: the default memory is per image */
    if (c->run.jobs > 1 && !c->client.max_memory)
        c->client.max_memory = c->run.jobs * MAX_MEMORY_DEFAULT;
    c->client.headers = c->headers;
    c->batch.where = c->where;
    c->client.on_warning = c->job.on_warning = c->batch.on_warning = on_warning;
    c->client.ud = c->job.ud = c->batch.ud = &c->out;
    c->job.on_progress = on_progress;
}

/* The client, and the --insecure warning before anything is fetched. */
static int open_client(command *c, iiifs_client **client)
{
    iiifs_error e = { 0, "" };
    int rc = iiifs_client_new(client, &c->client, &e);
    if (rc)
        return print_failure(rc, &e);
    if (c->client.insecure && !c->list)
        fprintf(stderr, "iiifstitch: warning: --insecure: server certificates are NOT "
                "verified\n");
    return 0;
}

/* SOURCE, read once: an image, or a manifest or collection for a batch. */
static int run_source(command *c, iiifs_client *client)
{
    iiifs_source *src = NULL;
    iiifs_error e = { 0, "" };
    int rc = iiifs_source_open(client, c->source, &src, &e);
    if (rc)
        return print_failure(rc, &e);
    iiifs_source_kind kind = iiifs_source_kind_of(src);
    unsigned bit = kind == IIIFS_SOURCE_IMAGE ? FOR_IMAGE
                   : kind == IIIFS_SOURCE_MANIFEST || kind == IIIFS_SOURCE_COLLECTION
                   ? FOR_MANIFEST : 0;
    const char *why = bit ? check_scope(c, bit, iiifs_source_url(src)) : NULL;
    if (!bit) {
        fprintf(stderr, "iiifstitch: %s: a source of unknown kind %d\n", c->source, (int)kind);
        rc = IIIFS_EXIT_INTERNAL;
    } else if (why) {
        rc = usage_error(why);
    } else {
        rc = bit == FOR_IMAGE ? run_image(c, client, src) : run_batch(c, client, src);
    }
    iiifs_source_free(src);
    return rc;
}

int main(int argc, char **argv)
{
    static command c;      /* zero: every option at its default */
    iiifs_client *client = NULL;
    c.out.progress = -1;
    int rc = parse_args(&c, argc, argv);
    if (rc >= 0)
        return rc;
    const char *why = check_before_fetch(&c);
    if (why)
        return usage_error(why);
    settle(&c);
    if ((rc = open_client(&c, &client)) != 0)
        return rc;
    rc = c.batch.csv ? run_batch(&c, client, NULL) : run_source(&c, client);
    iiifs_client_free(client);
    return rc;
}
