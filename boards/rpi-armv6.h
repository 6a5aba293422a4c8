/*
 * rpi-armv6.h — limits for a Raspberry Pi Zero / Zero W / 1: one 1 GHz
 * ARMv6 core and 512 MB of RAM (256 MB on the first Model B). The Zero W's
 * Wi-Fi gives a few MB/s: two connections keep it busy while the single
 * core decodes, and the default memory budget stays small.
 */
#define IIIFS_CONNECTIONS_DEFAULT 2
#define IIIFS_CONN_MAX 4
#define IIIFS_MAX_MEMORY_DEFAULT (8u << 20)
#define IIIFS_TILE_BYTES_MAX (4u << 20)
#define IIIFS_BAND_BYTES_MAX (128u << 20)
