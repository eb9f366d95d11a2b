/* check.h - the tiny test framework every C test uses.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(test_something); return check_summary("game"); }
 *
 * A test function passes when none of its CHECKs failed; SKIP("why") inside it marks it skipped
 * (with the reason printed). check_summary prints "RESULT <suite>: N passed, N failed, N skipped"
 * which tests/run_tests.sh adds up; the process exits non-zero if anything failed. */
#ifndef NRPS_CHECK_H
#define NRPS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed, check_skipped;
static int check_cur_failed, check_cur_skipped;

#define CHECK(cond)                                                                                    \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                          \
            check_cur_failed++;                                                                        \
        }                                                                                              \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                           \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                              \
            fputc('\n', stderr);                                                                       \
            check_cur_failed++;                                                                        \
        }                                                                                              \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                          \
    do {                                                                                               \
        double check_a_ = (double)(a), check_b_ = (double)(b);                                         \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                                                   \
            fprintf(stderr, "  FAIL %s:%d: %s = %.9g, %s = %.9g, |diff| > %g\n", __FILE__, __LINE__,  \
                    #a, check_a_, #b, check_b_, (double)(tol));                                        \
            check_cur_failed++;                                                                        \
        }                                                                                              \
    } while (0)

/* Stop the current test function now (after a failed precondition). */
#define REQUIRE(cond)                                                                                  \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "  FAIL %s:%d: required: %s\n", __FILE__, __LINE__, #cond);               \
            check_cur_failed++;                                                                        \
            return;                                                                                    \
        }                                                                                              \
    } while (0)

#define SKIP(reason)                                                                                   \
    do {                                                                                               \
        printf("  SKIP %s: %s\n", __func__, reason);                                                   \
        check_cur_skipped = 1;                                                                         \
        return;                                                                                        \
    } while (0)

#define RUN(fn)                                                                                        \
    do {                                                                                               \
        check_cur_failed = 0;                                                                          \
        check_cur_skipped = 0;                                                                         \
        fn();                                                                                          \
        if (check_cur_failed) {                                                                        \
            printf("  not ok %s (%d failed checks)\n", #fn, check_cur_failed);                         \
            check_failed++;                                                                            \
        } else if (check_cur_skipped) {                                                                \
            check_skipped++;                                                                           \
        } else {                                                                                       \
            printf("  ok %s\n", #fn);                                                                  \
            check_passed++;                                                                            \
        }                                                                                              \
        fflush(stdout);                                                                                \
    } while (0)

static inline int check_summary(const char *suite) {
    printf("RESULT %s: %d passed, %d failed, %d skipped\n", suite, check_passed, check_failed, check_skipped);
    return check_failed ? 1 : 0;
}

#endif
