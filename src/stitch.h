/*
 * stitch.h — the scheduler of one image: tiles fetched over several
 * keep-alive connections, decoded into their place in the band, and every
 * complete band handed to the caller, in the output's order.
 *
 * Threads. Worker k fetches through its own HTTP handle (connections come
 * from the client's pool) and decodes with its own libjpeg decoder. Tiles
 * are handed out in the view's order (view.h), within a window of tiles
 * ahead of the band: the band's group and as many again (at least two per
 * worker). A tile of the band's group is decoded at once, into the band, by
 * the thread that fetched it; a tile of a later group waits, compressed, in
 * a slot until the band reaches it. The calling thread decodes waiting
 * tiles, hands complete bands to the caller and calls the observers. With
 * one worker (or a port without threads) the calling thread does all of it,
 * in the same order.
 *
 * Politeness (fetch.h). Every request waits for the client's leave for its
 * server (connections at once, halving, Retry-After, --rate). A transient
 * failure puts the tile back, to be asked for again after the backoff,
 * without holding a worker; a final one fails the image, or with
 * allow_partial fills the tile with IIIFS_PARTIAL_FILL and lists it.
 *
 * Memory. One band (out_w x band height x channels, allocated before the
 * first request at three channels, or at one when three do not fit, and
 * made again if the first tile says otherwise), the slots' compressed
 * tiles (each buffer grows to the largest tile it held and is kept), one
 * decoder and, for a view, one decoded tile per worker. A tile is started
 * only while the process's account stays under its cap with the tile's
 * expected size (the largest so far). A body the allocator refuses puts its
 * tile back until there is room for it: idle slots' buffers are let go, and
 * a tile of the band's group may push a waiting tile of a later group out
 * (it is fetched again); a tile that cannot fit even alone is a clear
 * IIIFS_E_NOMEM. Nothing is allocated per tile once the buffers have grown.
 */
#ifndef IIIFS_STITCH_H
#define IIIFS_STITCH_H

#include "client.h"
#include "ladder.h"
#include "view.h"

#ifndef IIIFS_SLOTS_MAX
#define IIIFS_SLOTS_MAX 4096u           /* tiles in flight or waiting */
#endif
#ifndef IIIFS_WARNINGS_MAX
#define IIIFS_WARNINGS_MAX 16u          /* warnings queued between two observer calls */
#endif
#ifndef IIIFS_PROGRESS_MS
#define IIIFS_PROGRESS_MS 200u          /* the calling thread looks up at least this often */
#endif

/* A complete band, or the rows of it the output still needs. */
typedef struct iiifs_band {
    uint32_t index;                 /* the band (group) */
    uint64_t y0;                    /* its first output row */
    uint32_t rows;
    uint8_t *pixels;                /* rows x stride bytes; the caller may change them */
    size_t stride;
    uint32_t lost;                  /* tiles of this band filled in (allow_partial) */
    const uint32_t *lost_n, *lost_m;/* the first listed of them: column, row */
    uint32_t listed;
} iiifs_band;

typedef struct iiifs_sched_hooks {
    /* The first tile is in (NULL, 0 when it was lost): the band's channels
     * (1 or 3) into *channels, and the output made ready. */
    int (*open)(void *ud, const uint8_t *tile, size_t len, int *channels, iiifs_error *e);
    /* A band is complete. */
    int (*write)(void *ud, const iiifs_band *b, iiifs_error *e);
    /* Non-zero: stop (IIIFS_E_CANCELED). */
    int (*progress)(void *ud, const iiifs_progress *p);
    void (*warning)(void *ud, const char *msg);
    void *ud;
} iiifs_sched_hooks;

typedef struct iiifs_sched {
    iiifs_client *client;           /* NULL: a local tile tree, read from files */
    const iiifs_view *view;         /* the tiles and where they go */
    const iiifs_info *info;         /* the base URLs */
    iiifs_ladder *ladder;
    const char *origin;             /* the tiles' server (fetch.h key); "" = none */
    uint32_t workers;               /* connections and decoding threads, 1..IIIFS_CONN_MAX */
    size_t memory;                  /* the image's share of the memory (its band must fit);
                                       0 = the account's cap */
    uint32_t tries;                 /* attempts per tile */
    int allow_partial;
    int regions;                    /* the plan asks for regions larger than the tiles: one
                                       that comes back the wrong size is asked for again
                                       in pieces of tile_w x tile_h */
    uint32_t tile_w, tile_h;        /* the advertised tiles */
    uint32_t start_band;            /* the first band fetched (a continued image) */
    uint32_t missing;               /* tiles lost before it, the first listed: */
    const uint32_t *missing_n, *missing_m;
} iiifs_sched;

/* Run the image. r gets tiles, requests, retries, bytes_in, channels and
 * the missing tiles (the counts also on failure); request_w/h are set to the
 * advertised tiles when regions fell back on them. */
int iiifs_sched_run(const iiifs_sched *s, const iiifs_sched_hooks *h, iiifs_result *r,
                    iiifs_error *e);

#endif
