/* unit.c — the harness: runs every unit test (or those whose name contains
 * the first argument), the last line "N passed, N failed, N skipped"; and the
 * few helpers the test files share. */
#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int unit_failed_checks;

static int skipped;
static char skip_why[512];

#define X(name) void name(void);
#include "tests.def"
#undef X

static const unit_case cases[] = {
#define X(name) { #name, name },
#include "tests.def"
#undef X
};

void unit_skip(const char *why)
{
    skipped = 1;
    snprintf(skip_why, sizeof skip_why, "%s", why);
}

void unit_skip_shared(const char *what)
{
    const char *ci = getenv("CI");
    if (ci && !strcmp(ci, "true")) {
        fprintf(stderr, "  %s not present (CI=true: ../shared must be there)\n", what);
        unit_failed_checks++;
        return;
    }
    char why[512];
    snprintf(why, sizeof why, "%s not present", what);
    unit_skip(why);
}

const char *unit_shared_csv(void)
{
    const char *p = getenv("IIIFS_SHARED_CSV");
    return p ? p : "../shared/data/fragment_identifiers.csv";
}

const char *unit_shared_fixtures(void)
{
    const char *p = getenv("IIIFS_SHARED_FIXTURES");
    return p ? p : "../shared/fixtures";
}

void unit_tmp_path(char *out, size_t cap, const char *name)
{
    const char *dir = getenv("TMPDIR");
    snprintf(out, cap, "%s/iiifs-unit-%ld-%s", dir ? dir : "/tmp", (long)getpid(), name);
}

void unit_put_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(bytes, 1, n, f) == n);
        CHECK(fclose(f) == 0);
    }
}

long unit_file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, nskipped = 0;
    /* a test's FAIL or SKIP line lands after its CHECK messages (stderr) */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1]))
            continue;
        int before = unit_failed_checks;
        skipped = 0;
        cases[i].fn();
        if (unit_failed_checks != before) {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        } else if (skipped) {
            nskipped++;
            printf("SKIP %s: %s\n", cases[i].name, skip_why);
        } else {
            passed++;
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, nskipped);
    return failed != 0;
}
