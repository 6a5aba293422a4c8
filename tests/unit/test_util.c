/* test_util.c — the TIFF DateTime text from a time, and reading a whole file
 * into a capped buffer. */
#include "unit.h"
#include "port.h"
#include "util.h"
#include <string.h>

TEST(test_tiff_datetime_civil_dates)
{
    char s[IIIFS_TIFF_DATETIME_SIZE];
    CHECK(iiifs_tiff_datetime(0, s) == 0 && !strcmp(s, "1970:01:01 00:00:00"));
    CHECK(iiifs_tiff_datetime(951782400, s) == 0 && !strcmp(s, "2000:02:29 00:00:00"));
    CHECK(iiifs_tiff_datetime(1700000000, s) == 0 && !strcmp(s, "2023:11:14 22:13:20"));
    CHECK(iiifs_tiff_datetime(4107542399, s) == 0 && !strcmp(s, "2100:02:28 23:59:59"));
    CHECK(iiifs_tiff_datetime(-1, s) == 0 && !strcmp(s, "1969:12:31 23:59:59"));
    CHECK(iiifs_tiff_datetime(253402300800, s) == IIIFS_E_LIMIT);    /* year 10000 */
}

/* iiifs_buf_read_file, which reads local tiles, manifests and the state: a
 * file exactly at the buffer's cap fits, one byte more does not, a missing
 * file is IIIFS_E_NOENT, and every message names the path. */
TEST(test_buf_read_file_at_the_cap)
{
    char path[256];
    unit_tmp_path(path, sizeof path, "cap.bin");
    static char bytes[4000];      /* zeros */
    unit_put_file(path, bytes, sizeof bytes);
    iiifs_buf b;
    iiifs_error e = { 0, "" };
    iiifs_buf_init(&b, 4000);
    CHECK(iiifs_buf_read_file(&b, path, &e) == 0 && b.len == 4000 && e.code == 0);
    iiifs_buf_free(&b);
    iiifs_buf_init(&b, 3999);
    CHECK(iiifs_buf_read_file(&b, path, &e) == IIIFS_E_LIMIT && strstr(e.msg, path));
    iiifs_buf_free(&b);
    /* a size the file does not report up front (a device, a FIFO): read up
     * to the cap, never past it (the buffer itself grows in 4 KiB), then
     * one byte more */
    iiifs_buf_init(&b, 3000);
    e.code = 0;
    CHECK(iiifs_buf_read_file(&b, "/dev/zero", &e) == IIIFS_E_LIMIT && b.len == 3000);
    iiifs_buf_free(&b);
    remove(path);
    iiifs_buf_init(&b, 4000);
    e.code = 0;
    CHECK(iiifs_buf_read_file(&b, path, &e) == IIIFS_E_NOENT && strstr(e.msg, path));
    iiifs_buf_free(&b);
    CHECK(port_mem_current() == 0);
}
