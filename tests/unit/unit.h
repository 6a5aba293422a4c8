/* unit.h — a minimal test harness: CHECK records a failure and goes on; a test
 * that cannot run says why with UNIT_SKIP and is counted as skipped, not passed. */
#ifndef UNIT_H
#define UNIT_H
#include <stddef.h>
#include <stdio.h>
extern int unit_failed_checks;
#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            unit_failed_checks++;                                                   \
        }                                                                           \
    } while (0)
#define TEST(name) void name(void)

/* the running test is skipped: the runner prints "SKIP <test>: <why>" (why is
 * copied) and counts it as skipped, unless a CHECK failed before */
void unit_skip(const char *why);
#define UNIT_SKIP(why)     \
    do {                   \
        unit_skip(why);    \
        return;            \
    } while (0)
/* a skip because WHAT, a path under ../shared (the real-world fixtures or the
 * fragment list), is absent; under CI=true the data must be there and the test
 * fails instead */
void unit_skip_shared(const char *what);
#define UNIT_SKIP_SHARED(what)    \
    do {                          \
        unit_skip_shared(what);   \
        return;                   \
    } while (0)

/* the real fragment list: $IIIFS_SHARED_CSV or ../shared/data/ (may be absent) */
const char *unit_shared_csv(void);
/* the real-world fixtures: $IIIFS_SHARED_FIXTURES or ../shared/fixtures (may be absent) */
const char *unit_shared_fixtures(void);
/* a path in $TMPDIR (or /tmp) for this process: iiifs-unit-<pid>-NAME */
void unit_tmp_path(char *out, size_t cap, const char *name);
/* PATH holds exactly the N BYTES (a CHECK fails otherwise) */
void unit_put_file(const char *path, const void *bytes, size_t n);
/* the size of PATH, -1 when it cannot be opened */
long unit_file_size(const char *path);

typedef struct { const char *name; void (*fn)(void); } unit_case;
#endif
