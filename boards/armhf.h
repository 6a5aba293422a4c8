/*
 * armhf.h — limits for 32-bit ARMv7 boards: Pi 2/3 on a 32-bit OS and ARM
 * NAS, often with 256 MB to 1 GB of RAM shared with a file server. A
 * smaller default memory budget, fewer connections, and caps that keep
 * a hostile server far from exhausting a 3 GB address space.
 */
#define IIIFS_CONNECTIONS_DEFAULT 3
#define IIIFS_CONN_MAX 8
#define IIIFS_MAX_MEMORY_DEFAULT (16u << 20)
#define IIIFS_TILE_BYTES_MAX (8u << 20)
#define IIIFS_BAND_BYTES_MAX (256u << 20)
