/*
 * main.c — the iiifstitch command: parse the command line, run the library,
 * print one line of result or one line of error, exit with a code that
 * says what kind of failure it was.
 */
#include "batch.h"
#include "manifest.h"
#include "iiifstitch.h"
#include "port.h"
#include "sink.h"
#include "url.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: iiifstitch [options] SOURCE\n"
    "       iiifstitch [options] --csv FILE (--url-column C | --id-column C --base URL)\n"
    "                  [--where COND]... [--limit N] [--name TEMPLATE] [--out-dir DIR] [--list]\n"
    "                  [--jobs N] [--report FILE] [--shard K/N]\n"
    "       iiifstitch [options] MANIFEST [--canvas LIST] [--label REGEX] [--name TEMPLATE]\n"
    "                  [--limit N] [--out-dir DIR] [--list] [--jobs N] [--report FILE]\n"
    "                  [--shard K/N]\n"
    "\n"
    "Download a IIIF image at full resolution, tile row by tile row, into a\n"
    "striped TIFF (or PNM). Memory is bounded by one row of tiles, never by image\n"
    "height.\n"
    "\n"
    "SOURCE  an info.json URL (https://host/iiif/ID/info.json), an image base URL\n"
    "        (https://host/iiif/ID), or a local info.json inside a static tile tree.\n"
    "MANIFEST a IIIF Presentation 2 or 3 manifest or collection (URL or file): every\n"
    "        canvas's image is one job of a batch (below). Found by its type: a URL\n"
    "        ending in .json (not info.json), /manifest or /collection, a file, any\n"
    "        SOURCE with a batch option, or a SOURCE that turns out to be one.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE        output file (default: the image identifier + .tif,\n"
    "                           or .pnm); written as FILE.part and renamed when\n"
    "                           complete. '-' is stdout: like a pipe (FIFO) or a\n"
    "                           device, it is written straight through, an\n"
    "                           uncompressed TIFF or a PNM, short if a failure stops it\n"
    "      --format F           tiff (default) or pnm (PPM for RGB, PGM for gray);\n"
    "                           FILE ending in .pnm, .ppm or .pgm means pnm\n"
    "      --compression C      TIFF strips, on files only (not streams):\n"
    "                           %s (default none); deflate, lzw and zstd\n"
    "                           use the horizontal predictor; jpeg stores RGB as\n"
    "                           YCbCr 4:2:0 (lossy)\n"
    "      --jpeg-quality N     1..100 for --compression jpeg (default "
    IIIFS_STR(IIIFS_JPEG_QUALITY_DEFAULT) ")\n"
    "      --bigtiff            write a BigTIFF even when the file stays under 4 GiB\n"
    "                           (one is written anyway when it could pass 4 GiB)\n"
    "      --resume             continue FILE.part where an interrupted run stopped\n"
    "                           (killed, or failed: the .part is then kept), from its\n"
    "                           last complete strip; the state is FILE.part.resume,\n"
    "                           removed when the image is done. The file is the same,\n"
    "                           byte for byte, as an uninterrupted --resume run (DateTime\n"
    "                           is the first run's). TIFF none or deflate, or PNM; the\n"
    "                           options must be those the image was begun with\n"
    "      --tag NAME=VALUE     TIFF tag, repeatable: Artist, Copyright or\n"
    "                           ImageDescription (DateTime, Software and DocumentName,\n"
    "                           the source, are always written; in a batch,\n"
    "                           ImageDescription is the provenance JSON unless given)\n"
    "      --connections N      parallel keep-alive connections, 1.." IIIFS_STR(IIIFS_CONN_MAX)
    " (default " IIIFS_STR(IIIFS_CONNECTIONS_DEFAULT) ");\n"
    "                           tiles are decoded on as many threads; with --jobs,\n"
    "                           per host for all the images at once\n"
    "      --max-memory SIZE    memory the job may hold: band, tiles in flight and\n"
    "                           buffers (K, M, G suffixes; default 32M); with\n"
    "                           --jobs, for all the images at once\n"
    "      --scale N            fetch the level at scale factor N (one the image lists;\n"
    "                           2 is half the width and height)\n"
    "      --max-width W, --max-height H\n"
    "                           the largest level that fits W x H (either may be alone)\n"
    "      --quality Q          default (as the tiles come: RGB, or gray when the first\n"
    "                           tile is) or gray: 8-bit luma, (299 R + 587 G + 114 B +\n"
    "                           500) / 1000; or bitonal: 1 bit, white where that luma\n"
    "                           is 128 or more (PBM with --format pnm)\n"
    "      --region R           x,y,w,h in full-resolution pixels, or pct:x,y,w,h: only\n"
    "                           the tiles that meet it are fetched, the output is cut\n"
    "                           exactly (at a scale factor s: pixels floor(x/s) to\n"
    "                           ceil((x+w)/s))\n"
    "      --mirror             flip left to right (before --rotate, as IIIF's !n)\n"
    "      --rotate DEG         0, 90, 180 or 270 degrees clockwise\n"
    "      --allow-partial      a tile that still fails after its tries is filled with\n"
    "                           gray " IIIFS_STR(IIIFS_PARTIAL_FILL) " and listed; the image is written and the\n"
    "                           exit code is 9 (default: the image fails)\n"
    "      --request-size R     tile (default): the server's advertised tiles;\n"
    "                           auto: the largest regions the server honours (its\n"
    "                           declared limits, or one probe request); N: N-px regions\n"
    "      --retries N          tries after a transient failure (timeouts, dropped\n"
    "                           connections, 408, 429, 500, 502, 503, 504; default 4)\n"
    "      --rate R             at most R requests per second (default: no limit)\n"
    "      --cacert FILE        trust the CAs in FILE instead of the system bundle\n"
    "                           (SSL_CERT_FILE also works)\n"
    "      --insecure           do not verify server certificates (warns)\n"
    "      --timeout SECONDS    connect and read timeout (default 30)\n"
    "      --user-agent STRING  User-Agent header (default iiifstitch/" IIIFS_VERSION ")\n"
    "  -H, --header 'NAME: VALUE'\n"
    "                           extra request header (repeatable); a User-Agent or\n"
    "                           Accept header replaces the built-in one\n"
    "      --cookie STRING      send Cookie: STRING\n"
    "      --referer URL        send Referer: URL\n"
    "      --token TOKEN        send Authorization: Bearer TOKEN\n"
    "                           (-H, --cookie, --referer and --token go with every\n"
    "                           request, but not across a redirect to another host or\n"
    "                           port, nor from https to http)\n"
    "      --proxy URL          http://[USER:PASS@]HOST[:PORT] for http and https URLs\n"
    "                           (https through CONNECT); '' for none; default from\n"
    "                           HTTP_PROXY and HTTPS_PROXY; NO_PROXY lists the hosts\n"
    "                           reached directly\n"
    "      --plan[=json]        fetch the info.json and print what would be done\n"
    "                           (version, level, sizes, tiles, request count, first\n"
    "                           and last URL, download estimate, memory) on stdout;\n"
    "                           no image request is made and no file written\n"
    "      --progress           progress line on stderr (default when stderr is a tty)\n"
    "  -q, --quiet              print nothing but errors\n"
    "  -h, --help               this text\n"
    "      --version            print the version\n"
    "\n"
    "batch (many images from a CSV list with a header row, or a manifest):\n"
    "      --csv FILE           the list (RFC 4180: commas, quoted fields, CRLF or LF)\n"
    "      --url-column C       column C holds each image's info.json or base URL\n"
    "      --id-column C        column C holds each image's identifier, and\n"
    "      --base URL           the server prefix: URL/IDENTIFIER (percent-encoded)\n"
    "      --where C=VALUE      keep rows whose column C is exactly VALUE\n"
    "      --where C~=REGEX     keep rows whose column C matches REGEX (POSIX extended,\n"
    "                           anywhere in the value); repeatable, all must hold\n"
    "      --limit N            at most the first N selected rows (or canvases)\n"
    "      --name TEMPLATE      output name: {C} is the row's column C, {{ }} braces;\n"
    "                           / \\ : * ? \" < > | and control characters in values\n"
    "                           become _, and so do dots starting the name; .tif is\n"
    "                           added unless the name ends in .tif or .tiff (at most\n"
    "                           255 bytes);\n"
    "                           default: the image identifier\n"
    "      --canvas LIST        manifests: canvases at these 1-based positions in\n"
    "                           each manifest (3, 3-17, 1,4-6)\n"
    "      --label REGEX        manifests: canvases whose label matches REGEX (POSIX\n"
    "                           extended, anywhere)\n"
    "      --name TEMPLATE      manifests: {label} the canvas label, {index} its\n"
    "                           position (zero-padded), {manifest} the manifest's\n"
    "                           label; default {manifest}-{index}\n"
    "      --out-dir DIR        where the TIFFs go (made if missing; default .)\n"
    "      --list               print OUTPUT<TAB>SOURCE per job and a count; download\n"
    "                           nothing\n"
    "      --jobs N             N images at once (1.." IIIFS_STR(IIIFS_BATCH_THREADS_MAX) ", default 1). They share\n"
    "                           --connections per host (each image gets\n"
    "                           max(1, connections / N); an image waits while its\n"
    "                           host's budget is in use) and --max-memory (split\n"
    "                           evenly; default 32M per image)\n"
    "      --report FILE        one JSON line per image as it finishes (source,\n"
    "                           output, record, width, height, pixels, bytes,\n"
    "                           bytes_in, requests, retries, seconds, status,\n"
    "                           error); '-' is stdout\n"
    "      --shard K/N          only jobs K, K+N, K+2N, ... (K counts from 0), taken\n"
    "                           after --where and --limit: N runs with K = 0..N-1\n"
    "                           together do every job exactly once\n"
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

typedef struct cli {
    int quiet, progress;
    FILE *report;               /* --report: one JSON line per job */
    int report_failed;          /* a line could not be written */
    int plan;                   /* 1 text, 2 JSON */
    uint64_t last_ms;
    int printed;
} cli;

/* Batch options as given; checked by the library when the CSV header is read. */
typedef struct batch_cli {
    iiifs_batch_spec spec;
    const char *where[IIIFS_WHERE_MAX];
    const char *out_dir;
    const char *report;             /* --report FILE */
    uint32_t jobs;                  /* --jobs N, 0 = 1 */
    int list;
    const char *first;              /* the first batch option seen, for messages */
    const char *csv_only;           /* the first option only a CSV takes */
    const char *manifest_only;      /* the first option only a manifest takes */
    const char *label, *canvases;   /* --label, --canvas */
    const char *manifest;           /* the manifest or collection, when SOURCE is one */
} batch_cli;

static void on_progress(void *ud, const iiifs_progress *p)
{
    cli *c = ud;
    if (!c->progress)
        return;
    int last = p->rows_done == p->rows && p->tiles_done == p->tiles;
    if (!last && p->elapsed_ms - c->last_ms < 200 && c->printed)
        return;
    c->last_ms = p->elapsed_ms;
    c->printed = 1;
    fprintf(stderr, "\r%llux%llu  row %u/%u  tile %u/%u  %.1f MB in  %.1f s ",
            (unsigned long long)p->width, (unsigned long long)p->height, p->rows_done, p->rows,
            p->tiles_done, p->tiles, (double)p->bytes_in / 1e6, (double)p->elapsed_ms / 1e3);
    if (last)
        fputc('\n', stderr);
    fflush(stderr);
}

static void on_warning(void *ud, const char *msg)
{
    cli *c = ud;
    if (c->quiet)
        return;
    if (c->printed) {
        fputc('\n', stderr);
        c->printed = 0;
    }
    fprintf(stderr, "iiifstitch: warning: %s\n", msg);
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

static int die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "iiifstitch: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see iiifstitch --help)\n");
    return IIIFS_EXIT_USAGE;
}

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

static void json_str(const char *s)
{
    json_put(stdout, s);
}

/* --plan: what the job would do, on stdout. */
static void print_plan(const iiifs_options *o, const iiifs_result *r, int json)
{
    const iiifs_plan_report *p = &r->plan;
    unsigned long long n = (unsigned long long)p->cols * p->rows;
    if (json) {
        printf("{\"source\": ");
        json_str(o->source);
        printf(", \"api\": \"%s\", \"level\": %d, \"width\": %llu, \"height\": %llu, "
               "\"scale\": %u, \"tile\": [%u, %u], \"output\": [%llu, %llu], "
               "\"request\": [%u, %u], \"grid\": [%u, %u], \"requests\": %llu, "
               "\"probe\": %s, \"first\": ",
               api_name(r->api), p->level, (unsigned long long)p->full_w,
               (unsigned long long)p->full_h, p->scale, p->tile_w, p->tile_h,
               (unsigned long long)r->width, (unsigned long long)r->height, p->request_w,
               p->request_h, p->cols, p->rows, n, p->probe ? "true" : "false");
        json_str(p->first_url);
        printf(", \"last\": ");
        json_str(p->last_url);
        printf(", \"bytes_estimate\": %llu, \"band_bytes\": %llu, \"max_memory\": %llu}\n",
               (unsigned long long)p->est_bytes, (unsigned long long)p->band_bytes,
               (unsigned long long)p->max_memory);
        return;
    }
    printf("source     %s\n", o->source);
    printf("api        %s, level %d\n", api_name(r->api), p->level);
    printf("image      %llux%llu\n", (unsigned long long)p->full_w,
           (unsigned long long)p->full_h);
    if (p->tile_w)
        printf("tiles      %ux%u, scale factor %u\n", p->tile_w, p->tile_h, p->scale);
    else
        printf("tiles      none declared, scale factor %u\n", p->scale);
    printf("output     %llux%llu\n", (unsigned long long)r->width, (unsigned long long)r->height);
    printf("requests   %llu (%u x %u of %ux%u px)%s\n", n, p->cols, p->rows, p->request_w,
           p->request_h, p->probe ? "; --request-size auto: one probe at run time may "
           "make them fewer" : "");
    printf("first      %s\n", p->first_url);
    printf("last       %s\n", p->last_url);
    printf("download   about %.1f MB (estimate at %u bits per pixel)\n",
           (double)p->est_bytes / 1e6, IIIFS_EST_BITS_PER_PX);
    printf("memory     band %.1f MiB (RGB), cap %.1f MiB\n",
           (double)p->band_bytes / 1048576.0, (double)p->max_memory / 1048576.0);
}

static void json_count(FILE *f, const char *key, int known, unsigned long long n)
{
    if (known)
        fprintf(f, ", \"%s\": %llu", key, n);
    else
        fprintf(f, ", \"%s\": null", key);
}

/* --report: the job as one JSON object on one line, flushed at once. */
static void report_job(cli *c, const iiifs_job_report *r)
{
    FILE *f = c->report;
    const iiifs_result *x = r->result;
    static const char *const status[] = { "done", "skipped", "failed" };
    int done = r->outcome == IIIFS_JOB_DONE, sized = x && x->width;
    uint64_t w = sized ? x->width : r->width, h = sized ? x->height : r->height;
    sized = w && h;
    fputs("{\"source\": ", f);
    json_put(f, r->source);
    fputs(", \"output\": ", f);
    json_put(f, r->path);
    fprintf(f, ", \"record\": %llu", (unsigned long long)r->job->record);
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
        c->report_failed = 1;
}

static void on_job(void *ud, const iiifs_job_report *r)
{
    cli *c = ud;
    if (c->report)
        report_job(c, r);
    if (c->printed) {
        fputc('\n', stderr);
        c->printed = 0;
    }
    c->last_ms = 0;
    if (r->outcome == IIIFS_JOB_FAILED && !r->job->line) {
        fprintf(stderr, "iiifstitch: %s: %s (canvas %llu)\n", r->path, r->msg,
                (unsigned long long)r->job->record);
    } else if (r->outcome == IIIFS_JOB_FAILED) {
        fprintf(stderr, "iiifstitch: %s: %s (record %llu, line %llu)\n", r->path, r->msg,
                (unsigned long long)r->job->record, (unsigned long long)r->job->line);
    } else if (c->quiet) {
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

/* A SOURCE that names a manifest or collection rather than an image: a local
 * file that looks like one, or a URL whose last segment is *.json (but not
 * info.json), "manifest" or "collection". Other URLs are tried as images
 * first; iiifs_stitch says when one turns out to be a manifest. */
static int looks_like_manifest(const char *src)
{
    if (!iiifs_url_has_scheme(src)) {
        static char head[65536];
        port_file f;
        if (port_file_open_read(src, &f))
            return 0;
        long n = port_file_read(f, head, sizeof head);
        port_file_close(&f);
        return n > 0 && iiifs_presentation_sniff(head, (size_t)n);
    }
    size_t n = strcspn(src, "?#");
    while (n && src[n - 1] == '/')
        n--;
    size_t start = n;
    while (start && src[start - 1] != '/')
        start--;
    const char *seg = src + start;
    size_t len = n - start;
    if (len == 9 && !strncmp(seg, "info.json", 9))
        return 0;
    return (len > 5 && !strncasecmp_ascii(seg + len - 5, ".json", 5)) ||
           (len == 8 && !strncmp(seg, "manifest", 8)) ||
           (len == 10 && !strncmp(seg, "collection", 10));
}

/* --csv: load the list (every row checked), then list it or run it. */
static int run_batch(const iiifs_options *o, batch_cli *b, cli *c)
{
    iiifs_batch list;
    iiifs_error e = { 0, "" };
    int rc;
    if (b->manifest) {
        iiifs_manifest_spec m;
        memset(&m, 0, sizeof m);
        m.source = b->manifest;
        m.label_re = b->label;
        m.canvases = b->canvases;
        m.name = b->spec.name;
        m.limit = b->spec.limit;
        m.shard = b->spec.shard;
        m.shards = b->spec.shards;
        m.o = o;
        rc = iiifs_batch_load_manifest(&list, &m, &e);
    } else {
        rc = iiifs_batch_load(&list, &b->spec, &e);
    }
    if (rc) {
        /* read as a manifest only because of a batch option: say so */
        int hint = b->manifest && b->first && !looks_like_manifest(b->manifest) &&
                   (rc == IIIFS_E_HTTP_STATUS || rc == IIIFS_E_JSON || rc == IIIFS_E_IIIF);
        fprintf(stderr, "iiifstitch: %s%s%s%s\n", e.msg[0] ? e.msg : iiifs_status_name(rc),
                hint ? " (SOURCE is read as a manifest because of " : "",
                hint ? b->first : "", hint ? ", a batch option)" : "");
        return iiifs_exit_code(rc);
    }
    if (b->list) {
        char path[IIIFS_PATH_MAX];
        for (uint32_t i = 0; i < list.n && !rc; i++) {
            if (iiifs_batch_path(&list, i, b->out_dir, path, sizeof path))
                rc = iiifs_fail(&e, IIIFS_E_LIMIT, "output path in %s longer than %d bytes",
                                b->out_dir ? b->out_dir : ".", IIIFS_PATH_MAX - 1);
            else
                printf("%s\t%s\n", path, iiifs_batch_source(&list, i));
        }
        if (!rc && fflush(stdout) != 0)
            rc = iiifs_fail(&e, IIIFS_E_IO, "cannot write the list to stdout");
        if (!rc && !c->quiet) {
            char shard[96] = "";
            if (b->spec.shards > 1)
                snprintf(shard, sizeof shard, " (shard %u/%u of %u)", b->spec.shard,
                         b->spec.shards, list.total);
            if (b->manifest)
                fprintf(stderr, "%u job%s%s from %llu canvas%s of %u manifest%s in %s%s\n",
                        list.n, list.n == 1 ? "" : "s", shard, (unsigned long long)list.records,
                        list.records == 1 ? "" : "es", list.manifests,
                        list.manifests == 1 ? "" : "s", b->manifest,
                        b->spec.limit && list.total == b->spec.limit ? " (--limit reached)" : "");
            else
                fprintf(stderr, "%u job%s%s from %llu record%s of %s%s\n", list.n,
                        list.n == 1 ? "" : "s", shard, (unsigned long long)list.records,
                        list.records == 1 ? "" : "s", b->spec.csv,
                        b->spec.limit && list.total == b->spec.limit ? " (--limit reached)" : "");
        }
    } else {
        iiifs_batch_counts n;
        if (b->report && !strcmp(b->report, "-"))
            c->report = stdout;
        else if (b->report && !(c->report = fopen(b->report, "w"))) {
            fprintf(stderr, "iiifstitch: cannot create the report %s\n", b->report);
            iiifs_batch_free(&list);
            return IIIFS_EXIT_IO;
        }
        rc = iiifs_batch_run_jobs(&list, b->out_dir, o, b->jobs ? b->jobs : 1, on_job, c, &n,
                                  &e);
        if (c->report && c->report != stdout && fclose(c->report) != 0)
            c->report_failed = 1;
        if (!rc && c->report_failed) {
            fprintf(stderr, "iiifstitch: cannot write the report %s\n", b->report);
            if (!n.failed)
                n.first_code = IIIFS_E_IO;
        }
        if (!rc && (!c->quiet || n.failed))
            fprintf(stderr, "iiifstitch: batch: %u done, %u skipped, %u failed (%u job%s)\n",
                    n.done, n.skipped, n.failed, list.n, list.n == 1 ? "" : "s");
        if (!rc && (n.failed || c->report_failed))
            rc = n.first_code;
    }
    iiifs_batch_free(&list);
    if (rc && e.code)
        fprintf(stderr, "iiifstitch: %s\n", e.msg);
    return rc ? iiifs_exit_code(rc) : 0;
}

/* *first = a, when a is in list (NULL-ended) and *first is not set yet */
static void first_of(const char **first, const char *const *list, const char *a)
{
    for (; !*first && *list; list++)
        if (!strcmp(a, *list))
            *first = *list;
}

int main(int argc, char **argv)
{
    iiifs_options o;
    cli c = { 0, -1, NULL, 0, 0, 0, 0 };
    int format_given = 0;
    char outbuf[1024];
    const char *headers[IIIFS_HTTP_EXTRA_HEADERS_MAX];
    batch_cli b;
    memset(&b, 0, sizeof b);
    b.spec.where = b.where;
    memset(&o, 0, sizeof o);
    o.headers = headers;
    o.on_progress = on_progress;
    o.on_warning = on_warning;
    o.ud = &c;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        /* options that take a value: --opt VALUE or --opt=VALUE */
        static const char *const with_value[] = { "-o", "--output", "--compression", "--cacert",
                                                  "--timeout", "--user-agent", "-H",
                                                  "--header", "--cookie", "--referer",
                                                  "--token", "--proxy", "--connections",
                                                  "--max-memory", "--request-size",
                                                  "--retries", "--rate", "--csv",
                                                  "--where", "--limit", "--name",
                                                  "--url-column", "--id-column", "--base",
                                                  "--out-dir", "--format", "--scale",
                                                  "--max-width", "--max-height", "--quality",
                                                  "--region", "--rotate",
                                                  "--jpeg-quality", "--tag", "--shard", "--report",
                                                  "--jobs", "--label", "--canvas",
                                                  NULL };
        for (int k = 0; with_value[k]; k++) {
            size_t n = strlen(with_value[k]);
            if (!strcmp(a, with_value[k])) {
                if (i + 1 >= argc)
                    return die_usage("option %s needs a value", a);
                v = argv[++i];
                a = with_value[k];
            } else if (!strncmp(a, with_value[k], n) && a[n] == '=' && a[1] == '-') {
                v = a + n + 1;
                a = with_value[k];
            }
            if (v)
                break;
        }
        /* the first option of each kind, named when it does not fit the job */
        static const char *const batch_opts[] = { "--where", "--limit", "--name",
                                                  "--url-column", "--id-column", "--base",
                                                  "--out-dir", "--shard", "--jobs",
                                                  "--report", "--list", NULL };
        static const char *const csv_opts[] = { "--where", "--url-column", "--id-column",
                                                "--base", NULL };
        static const char *const manifest_opts[] = { "--label", "--canvas", NULL };
        first_of(&b.first, batch_opts, a);
        first_of(&b.csv_only, csv_opts, a);
        first_of(&b.manifest_only, manifest_opts, a);
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf(usage, iiifs_compression_names());
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("iiifstitch %s\n", IIIFS_VERSION);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!*v)
                return die_usage("%s", "empty output file name");
            o.output = v;
        } else if (!strcmp(a, "--format")) {
            if (!strcmp(v, "tiff"))
                o.format = IIIFS_FORMAT_TIFF;
            else if (!strcmp(v, "pnm"))
                o.format = IIIFS_FORMAT_PNM;
            else
                return die_usage("unknown --format '%s' (tiff or pnm)", v);
            format_given = 1;
        } else if (!strcmp(a, "--compression")) {
            if (iiifs_compression_parse(v, &o.compression)) {
                fprintf(stderr, "iiifstitch: unknown --compression '%s' (%s) "
                        "(see iiifstitch --help)\n", v, iiifs_compression_names());
                return IIIFS_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--jpeg-quality")) {
            unsigned long n;
            if (parse_count(v, 1, 100, &n))
                return die_usage("--jpeg-quality '%s' is not a number from 1 to 100", v);
            o.jpeg_quality = (int)n;
        } else if (!strcmp(a, "--bigtiff")) {
            o.bigtiff = 1;
        } else if (!strcmp(a, "--resume")) {
            o.resume = 1;
        } else if (!strcmp(a, "--tag")) {
            const char *eq = strchr(v, '=');
            size_t n = eq ? (size_t)(eq - v) : strlen(v);
            static const char *const names[] = { "Artist", "Copyright", "ImageDescription" };
            const char **slots[] = { &o.artist, &o.copyright, &o.description };
            size_t k = 0;
            while (k < 3 && !(strlen(names[k]) == n && !strncasecmp_ascii(v, names[k], n)))
                k++;
            if (!eq || n == 0)
                return die_usage("--tag '%s' is not NAME=VALUE", v);
            if (k == 3) {
                fprintf(stderr, "iiifstitch: --tag: unknown tag '%.*s' (Artist, Copyright or "
                        "ImageDescription) (see iiifstitch --help)\n", (int)IIIFS_MIN(n, 64), v);
                return IIIFS_EXIT_USAGE;
            }
            *slots[k] = eq + 1;
        } else if (!strcmp(a, "--connections")) {
            unsigned long n;
            if (parse_count(v, 1, IIIFS_CONN_MAX, &n))
                return die_usage("--connections '%s' is not a number from 1 to "
                                 IIIFS_STR(IIIFS_CONN_MAX) " (this build's cap)", v);
            o.connections = (uint32_t)n;
        } else if (!strcmp(a, "--max-memory")) {
            if (parse_size(v, &o.max_memory))
                return die_usage("--max-memory '%s' is not a size like 512K, 16M or 1G "
                                 "(at least 1M)", v);
        } else if (!strcmp(a, "--scale")) {
            unsigned long n;
            if (parse_count(v, 1, 1u << 20, &n))
                return die_usage("--scale '%s' is not a scale factor (1, 2, 4 ...)", v);
            o.scale = (uint32_t)n;
        } else if (!strcmp(a, "--max-width") || !strcmp(a, "--max-height")) {
            unsigned long n;
            if (parse_count(v, 1, 1ul << 30, &n))
                return die_usage(a[6] == 'w' ? "--max-width needs a number of pixels, not '%s'"
                                             : "--max-height needs a number of pixels, not '%s'",
                                 v);
            if (a[6] == 'w')
                o.max_width = n;
            else
                o.max_height = n;
        } else if (!strcmp(a, "--region")) {
            if (parse_region(v, &o.region))
                return die_usage("--region '%s' is not x,y,w,h or pct:x,y,w,h (w and h "
                                 "above 0)", v);
        } else if (!strcmp(a, "--rotate")) {
            if (strcmp(v, "0") && strcmp(v, "90") && strcmp(v, "180") && strcmp(v, "270"))
                return die_usage("--rotate '%s' is not 0, 90, 180 or 270", v);
            o.rotate = atoi(v);
        } else if (!strcmp(a, "--allow-partial")) {
            o.allow_partial = 1;
        } else if (!strcmp(a, "--mirror")) {
            o.mirror = 1;
        } else if (!strcmp(a, "--quality")) {
            if (!strcmp(v, "default") || !strcmp(v, "color"))
                o.quality = IIIFS_QUALITY_DEFAULT;
            else if (!strcmp(v, "gray") || !strcmp(v, "grey"))
                o.quality = IIIFS_QUALITY_GRAY;
            else if (!strcmp(v, "bitonal"))
                o.quality = IIIFS_QUALITY_BITONAL;
            else
                return die_usage("unknown --quality '%s' (default, color, gray or bitonal)", v);
        } else if (!strcmp(a, "--request-size")) {
            unsigned long n;
            if (!strcmp(v, "tile"))
                o.request_size = 0;
            else if (!strcmp(v, "auto"))
                o.request_size = IIIFS_REQUEST_AUTO;
            else if (parse_count(v, 16, 8192, &n))
                return die_usage("--request-size '%s' is not tile, auto or a side of 16 to "
                                 "8192 px", v);
            else
                o.request_size = (uint32_t)n;
        } else if (!strcmp(a, "--retries")) {
            unsigned long n;
            if (parse_count(v, 0, 100, &n))
                return die_usage("--retries '%s' is not a number from 0 to 100", v);
            o.tries = (uint32_t)n + 1;
        } else if (!strcmp(a, "--rate")) {
            char *end;
            double rate = strtod(v, &end);
            if (end == v || *end || !(rate > 0) || rate > 1e6)
                return die_usage("--rate '%s' is not a number of requests per second in "
                                 "(0, 1e6]", v);
            o.rate = rate;
        } else if (!strcmp(a, "--cacert")) {
            o.cacert = v;
        } else if (!strcmp(a, "--timeout")) {
            char *end;
            double s = strtod(v, &end);
            if (end == v || *end || !(s > 0) || s > 86400)
                return die_usage("--timeout '%s' is not a number of seconds in (0, 86400]", v);
            o.timeout_ms = (uint32_t)(s * 1000 + 0.5);
            if (!o.timeout_ms)
                o.timeout_ms = 1;
        } else if (!strcmp(a, "--user-agent")) {
            o.user_agent = v;
        } else if (!strcmp(a, "-H") || !strcmp(a, "--header")) {
            if (o.nheaders == IIIFS_HTTP_EXTRA_HEADERS_MAX)
                return die_usage("too many -H options ('%s' is one too many)", v);
            headers[o.nheaders++] = v; /* checked by the library: one place for the rules */
        } else if (!strcmp(a, "--cookie")) {
            o.cookie = v;
        } else if (!strcmp(a, "--referer")) {
            o.referer = v;
        } else if (!strcmp(a, "--token")) {
            o.token = v;
        } else if (!strcmp(a, "--proxy")) {
            o.proxy = v;
        } else if (!strcmp(a, "--csv")) {
            if (!*v)
                return die_usage("%s", "empty --csv file name");
            b.spec.csv = v;
        } else if (!strcmp(a, "--where")) {
            if (b.spec.nwhere == IIIFS_WHERE_MAX)
                return die_usage("too many --where options ('%s' is one too many)", v);
            b.where[b.spec.nwhere++] = v; /* parsed by the library, with the header */
        } else if (!strcmp(a, "--limit")) {
            unsigned long n;
            if (parse_count(v, 1, IIIFS_BATCH_JOBS_MAX, &n))
                return die_usage("--limit '%s' is not a number from 1 to "
                                 IIIFS_STR(IIIFS_BATCH_JOBS_MAX), v);
            b.spec.limit = n;
        } else if (!strcmp(a, "--name")) {
            if (!*v)
                return die_usage("%s", "empty --name template");
            b.spec.name = v;
        } else if (!strcmp(a, "--url-column")) {
            b.spec.url_column = v;
        } else if (!strcmp(a, "--id-column")) {
            b.spec.id_column = v;
        } else if (!strcmp(a, "--base")) {
            b.spec.base = v;
        } else if (!strcmp(a, "--out-dir")) {
            if (!*v)
                return die_usage("%s", "empty --out-dir");
            b.out_dir = v;
        } else if (!strcmp(a, "--shard")) {
            unsigned long k, n;
            const char *slash = strchr(v, '/');
            char kbuf[16];
            size_t klen = slash ? (size_t)(slash - v) : 0;
            if (!slash || klen == 0 || klen >= sizeof kbuf)
                return die_usage("--shard '%s' is not K/N (0-based K < N)", v);
            memcpy(kbuf, v, klen);
            kbuf[klen] = 0;
            if (parse_count(slash + 1, 1, IIIFS_BATCH_SHARDS_MAX, &n) ||
                parse_count(kbuf, 0, IIIFS_BATCH_SHARDS_MAX, &k))
                return die_usage("--shard '%s' is not K/N with whole numbers, N from 1 to "
                                 IIIFS_STR(IIIFS_BATCH_SHARDS_MAX), v);
            if (k >= n)
                return die_usage("--shard '%s': K counts from 0 and must be below N", v);
            b.spec.shard = (uint32_t)k;
            b.spec.shards = (uint32_t)n;
        } else if (!strcmp(a, "--label")) {
            b.label = v;
        } else if (!strcmp(a, "--canvas")) {
            b.canvases = v;
        } else if (!strcmp(a, "--jobs")) {
            unsigned long n;
            if (parse_count(v, 1, IIIFS_BATCH_THREADS_MAX, &n))
                return die_usage("--jobs '%s' is not a number from 1 to "
                                 IIIFS_STR(IIIFS_BATCH_THREADS_MAX), v);
            b.jobs = (uint32_t)n;
        } else if (!strcmp(a, "--report")) {
            if (!*v)
                return die_usage("%s", "empty --report file name");
            b.report = v;
        } else if (!strcmp(a, "--list")) {
            b.list = 1;
        } else if (!strcmp(a, "--insecure")) {
            o.insecure = 1;
        } else if (!strcmp(a, "--plan")) {
            c.plan = 1;
        } else if (!strncmp(a, "--plan=", 7)) {
            if (!strcmp(a + 7, "json"))
                c.plan = 2;
            else if (!strcmp(a + 7, "text"))
                c.plan = 1;
            else
                return die_usage("unknown --plan format '%s' (text or json)", a + 7);
        } else if (!strcmp(a, "--progress")) {
            c.progress = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            c.quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return die_usage("unknown option %s", a);
        } else if (o.source) {
            return die_usage("more than one SOURCE given ('%s')", a);
        } else {
            o.source = a;
        }
    }
    if (c.progress < 0)
        c.progress = !c.quiet && port_stderr_is_tty();
    if (c.quiet)
        c.progress = 0;
    if (b.spec.csv && b.manifest_only)
        return die_usage("%s works only with a manifest or collection as SOURCE",
                         b.manifest_only);
    if (!b.spec.csv && o.source && !b.csv_only &&
        (b.first || b.manifest_only || looks_like_manifest(o.source)))
        b.manifest = o.source;
    if (b.manifest) {
        if (o.output)
            return die_usage("%s", "-o names one image: with a manifest, use --out-dir and "
                             "--name");
        if (c.plan)
            return die_usage("%s", "--plan shows one image: with a manifest, --list shows the "
                             "jobs");
        if (b.report && b.list)
            return die_usage("%s", "--report records a run: not with --list");
        if (o.insecure && !b.list)
            fprintf(stderr, "iiifstitch: warning: --insecure: server certificates are NOT "
                    "verified\n");
        return run_batch(&o, &b, &c);
    }
    if (b.spec.csv) {
        if (o.source)
            return die_usage("give SOURCE or --csv FILE, not both ('%s')", o.source);
        if (o.output)
            return die_usage("%s", "-o names one image: with --csv, use --out-dir and --name");
        if (c.plan)
            return die_usage("%s", "--plan shows one image: with --csv, --list shows the jobs");
        if (b.report && b.list)
            return die_usage("%s", "--report records a run: not with --list");
        if (o.insecure && !b.list)
            fprintf(stderr, "iiifstitch: warning: --insecure: server certificates are NOT "
                    "verified\n");
        return run_batch(&o, &b, &c);
    }
    if (b.csv_only)
        return die_usage("%s works only with --csv FILE", b.csv_only);
    if (b.manifest_only)
        return die_usage("%s works only with a manifest or collection as SOURCE",
                         b.manifest_only);
    if (!o.source)
        return die_usage("%s", "no SOURCE given");
    if (o.scale && (o.max_width || o.max_height))
        return die_usage("%s", "give --scale or --max-width/--max-height, not both");
    if (!format_given && o.output &&
        (ends_with(o.output, ".pnm") || ends_with(o.output, ".ppm") || ends_with(o.output, ".pgm")))
        o.format = IIIFS_FORMAT_PNM;
    if (o.output && !strcmp(o.output, "-") && port_stdout_is_tty())
        return die_usage("%s", "-o -: stdout is a terminal; redirect it or pipe it");
    if (o.jpeg_quality && o.compression != IIIFS_COMPRESS_JPEG)
        return die_usage("%s", "--jpeg-quality needs --compression jpeg");
    o.plan_only = c.plan != 0;      /* checks the output options, writes nothing */
    if (!o.output) {
        if (default_output(o.source, o.format == IIIFS_FORMAT_PNM ? ".pnm" : ".tif", outbuf,
                           sizeof outbuf) != 0)
            return die_usage("cannot derive an output name from '%s': use -o FILE", o.source);
        o.output = outbuf;
    }
    if (o.insecure)
        fprintf(stderr, "iiifstitch: warning: --insecure: server certificates are NOT verified\n");

    iiifs_result r;
    iiifs_error e = { 0, "" };
    int rc = iiifs_stitch(&o, &r, &e);
    if (rc && r.presentation && !c.plan && o.output == outbuf) {
        /* not an image after all: the manifest's images, as a batch */
        if (c.printed)
            fputc('\n', stderr);
        c.printed = 0;
        b.manifest = o.source;
        return run_batch(&o, &b, &c);
    }
    if (rc) {
        if (c.printed)
            fputc('\n', stderr);
        if (r.presentation)
            fprintf(stderr, "iiifstitch: %s is a IIIF manifest or collection: %s\n", o.source,
                    c.plan ? "--plan shows one image; --list shows the manifest's jobs"
                    : "-o names one image; use --out-dir and --name");
        if (r.presentation)
            return IIIFS_EXIT_USAGE;
        fprintf(stderr, "iiifstitch: %s\n", e.msg[0] ? e.msg : iiifs_status_name(rc));
        return iiifs_exit_code(rc);
    }
    if (c.plan) {
        print_plan(&o, &r, c.plan == 2);
        return 0;
    }
    if (r.missing) {
        /* one line: the tiles that were filled in, by column,row */
        fprintf(stderr, "iiifstitch: %s is partial: %u tile%s filled with %u:", o.output,
                r.missing, r.missing == 1 ? "" : "s", IIIFS_PARTIAL_FILL);
        for (uint32_t i = 0; i < r.missing && i < IIIFS_MISSING_MAX; i++)
            fprintf(stderr, " %u,%u", r.missing_n[i], r.missing_m[i]);
        fprintf(stderr, "%s\n", r.missing > IIIFS_MISSING_MAX ? " ..." : "");
    }
    if (!c.quiet && r.resumed_rows)
        fprintf(stderr, "%s: continued from row %llu of %llu\n", o.output,
                (unsigned long long)r.resumed_rows, (unsigned long long)r.height);
    if (!c.quiet)
        fprintf(stderr, "%s: %llux%llu %s, %s%s%s, %llu bytes, %u requests (%u retried), "
                "%ux%u px each, %.2f s\n", strcmp(o.output, "-") ? o.output : "stdout",
                (unsigned long long)r.width, (unsigned long long)r.height,
                r.channels == 1 ? "gray" : "RGB",
                o.format == IIIFS_FORMAT_PNM ? (r.channels == 1 ? "PGM" : "PPM")
                : r.bigtiff ? "BigTIFF" : "TIFF",
                o.compression != IIIFS_COMPRESS_NONE ? " " : "",
                o.compression != IIIFS_COMPRESS_NONE ? iiifs_compression_name(o.compression) : "",
                (unsigned long long)r.file_bytes, r.requests,
                r.retries, r.request_w, r.request_h, (double)r.elapsed_ms / 1e3);
    return r.missing ? IIIFS_EXIT_PARTIAL : 0;
}
