/*
 * rpi-aarch64.h — limits for a Raspberry Pi 3/4/5 on a 64-bit OS.
 * 1 to 8 GB of RAM and four cores: the host's defaults fit, but a Pi shares
 * a 1 Gbit (Pi 4/5) or 300 Mbit (Pi 3, USB) link, so fewer connections
 * saturate it and anything past 8 only burdens the server.
 */
#define IIIFS_CONNECTIONS_DEFAULT 4
#define IIIFS_CONN_MAX 8
#define IIIFS_MAX_MEMORY_DEFAULT (32u << 20)
