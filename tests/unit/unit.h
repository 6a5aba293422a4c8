/* unit.h — a minimal test harness: CHECK records a failure and goes on. */
#ifndef UNIT_H
#define UNIT_H
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
/* the real fragment list: $IIIFS_SHARED_CSV or ../shared/data/ (may be absent) */
const char *unit_shared_csv(void);
typedef struct { const char *name; void (*fn)(void); } unit_case;
#endif
