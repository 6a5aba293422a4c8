/* test_main.c — runs every unit test; the last line is "N passed, N failed". */
#include "unit.h"
#include <string.h>

int unit_failed_checks;

#define X(name) void name(void);
#include "tests.def"
#undef X

static const unit_case cases[] = {
#define X(name) { #name, name },
#include "tests.def"
#undef X
};

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1]))
            continue;
        int before = unit_failed_checks;
        cases[i].fn();
        if (unit_failed_checks == before) {
            passed++;
        } else {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
