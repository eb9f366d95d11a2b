/* test_stats.c - benchmark statistics against values computed independently (numpy.percentile's default
 * 'linear' method, numpy.std(ddof=1)), the percentile method's edge cases, and the validation comparator. */
#include <math.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/stats.h"
#include "check.h"

static void test_one_to_ten(void) {
    double x[10] = {7, 3, 10, 1, 5, 9, 2, 8, 6, 4}, copy[10];
    memcpy(copy, x, sizeof x);
    bench_stats s;
    REQUIRE(stats_compute(x, 10, &s) == NRPS_OK);
    CHECK(memcmp(x, copy, sizeof x) == 0); /* input untouched */
    CHECK(s.n == 10);
    CHECK_NEAR(s.mean, 5.5, 1e-12);
    CHECK_NEAR(s.min, 1, 0);
    CHECK_NEAR(s.max, 10, 0);
    CHECK_NEAR(s.p50, 5.5, 1e-12);   /* numpy.percentile(range(1,11), 50) */
    CHECK_NEAR(s.p90, 9.1, 1e-12);   /* ... 90 */
    CHECK_NEAR(s.p99, 9.91, 1e-12);  /* ... 99 */
    CHECK_NEAR(s.p999, 9.991, 1e-12);
    CHECK_NEAR(s.stdev, 3.0276503540974917, 1e-12); /* numpy.std(ddof=1) */
    CHECK_NEAR(s.cv, 3.0276503540974917 / 5.5, 1e-12);
}

static void test_percentile_method(void) {
    const double s[5] = {15, 20, 35, 40, 50};
    CHECK_NEAR(stats_percentile_sorted(s, 5, 40), 29.0, 1e-12); /* h = 1.6: 20 + 0.6*15 */
    CHECK_NEAR(stats_percentile_sorted(s, 5, 0), 15, 0);
    CHECK_NEAR(stats_percentile_sorted(s, 5, 100), 50, 0);
    CHECK_NEAR(stats_percentile_sorted(s, 5, 75), 40, 1e-12);
    CHECK_NEAR(stats_percentile_sorted(s, 5, 99.9), 49.96, 1e-9);
    const double one[1] = {42};
    CHECK_NEAR(stats_percentile_sorted(one, 1, 99), 42, 0);
    double m[4] = {4, 1, 3, 2};
    CHECK_NEAR(stats_median_inplace(m, 4), 2.5, 1e-12);
}

static void test_single_and_empty(void) {
    double x[1] = {3.25};
    bench_stats s;
    REQUIRE(stats_compute(x, 1, &s) == NRPS_OK);
    CHECK(s.mean == 3.25 && s.p999 == 3.25 && s.stdev == 0 && s.cv == 0);
    CHECK(stats_compute(x, 0, &s) == NRPS_ERR_ARG);
}

static void test_heavy_tail(void) {
    /* 999 calls at 10 us and one 1000 us outlier: p99 stays at 10, p99.9 interpolates towards the outlier */
    static double x[1000];
    for (int i = 0; i < 1000; i++) x[i] = i == 500 ? 1000.0 : 10.0;
    bench_stats s;
    REQUIRE(stats_compute(x, 1000, &s) == NRPS_OK);
    CHECK_NEAR(s.p99, 10, 1e-12);
    CHECK_NEAR(s.p999, 10 + 0.001 * 990, 1e-9); /* h = 999*0.999 = 998.001 */
    CHECK_NEAR(s.mean, 10.99, 1e-9);
    CHECK(s.cv > 2.8 && s.cv < 2.9); /* stdev = 990*sqrt(0.999/999)... ~31.3 */
}

static void test_compare(void) {
    const float ref[6] = {0.1f, 0.7f, 0.2f, 0.5f, 0.25f, 0.25f};
    float got[6];
    bench_validation v;
    memcpy(got, ref, sizeof got);
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    CHECK(v.ok && v.max_abs == 0 && v.top1_rows == 2 && v.top1_agree == 2);
    got[1] = 0.70005f;
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    CHECK(v.ok && v.max_abs > 4e-5 && v.max_abs < 6e-5);
    got[1] = 0.1f; /* argmax moves to position 2 */
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    CHECK(!v.ok && v.top1_agree == 1 && v.bad_values == 1);
    memcpy(got, ref, sizeof got);
    got[5] = 0.25001f; /* tie in the reference row: either argmax agrees */
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    CHECK(v.ok && v.top1_agree == 2);
    got[0] = 0.0f / 0.0f;
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    CHECK(!v.ok && v.bad_values == 1);
}

/* Non-finite outputs against a finite reference are reported as such (not as "max abs 0, top-1 1/1"). */
static void test_compare_nonfinite(void) {
    const float ref[6] = {0.1f, 0.7f, 0.2f, 0.5f, 0.25f, 0.25f};
    float got[6];
    bench_validation v;
    char why[300];
    for (int i = 0; i < 6; i++) got[i] = NAN; /* an all-NaN model */
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    CHECK(!v.ok && v.nonfinite_got == 6 && v.bad_values == 6 && v.out_of_tol == 0 && v.max_abs == 0);
    CHECK(v.top1_rows == 2 && v.top1_agree == 0); /* no argmax to agree with */
    bench_validation_describe(&v, why, sizeof why);
    CHECK_MSG(strstr(why, "6 of 6 values non-finite (NaN/Inf) where the reference is finite") != NULL, "%s", why);
    CHECK_MSG(strstr(why, "top-1 disagrees in 2 of 2 rows") && !strchr(why, '\n'), "%s", why);
    /* one row (a single output value per sample): still non-finite, not "differs (max abs 0)" */
    bench_compare(got, ref, 6, 1, 1e-4, 1e-3, &v);
    CHECK(!v.ok && v.nonfinite_got == 6 && v.top1_rows == 0);
    /* +Inf where the reference is finite; the argmax (position 1 in both) still agrees */
    memcpy(got, ref, sizeof got);
    got[1] = INFINITY;
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    CHECK(!v.ok && v.nonfinite_got == 1 && v.top1_agree == 2);
    bench_validation_describe(&v, why, sizeof why);
    CHECK_MSG(!strcmp(why, "1 of 6 values non-finite (NaN/Inf) where the reference is finite"), "%s", why);
    /* the same NaN / infinity in both agrees; the reference's NaN not reproduced is named */
    float r2[3] = {NAN, INFINITY, 1.0f}, g2[3] = {NAN, INFINITY, 1.0f};
    bench_compare(g2, r2, 1, 3, 1e-4, 1e-3, &v);
    CHECK(v.ok && v.bad_values == 0 && v.top1_agree == 1);
    bench_validation_describe(&v, why, sizeof why);
    CHECK(why[0] == 0);
    g2[0] = 0.5f;
    bench_compare(g2, r2, 1, 3, 1e-4, 1e-3, &v);
    CHECK(!v.ok && v.nonfinite_ref == 1 && v.nonfinite_got == 0);
    bench_validation_describe(&v, why, sizeof why);
    CHECK_MSG(strstr(why, "1 of 3 values differ from the reference's NaN/Inf") != NULL, "%s", why);
    /* finite values beyond tolerance keep their message, with the max abs error */
    memcpy(got, ref, sizeof got);
    got[4] = 0.3f;
    bench_compare(got, ref, 2, 3, 1e-4, 1e-3, &v);
    bench_validation_describe(&v, why, sizeof why);
    CHECK_MSG(!v.ok && !strcmp(why, "1 of 6 values beyond tolerance (max abs 0.05)"), "%s", why);
    /* merging two outputs adds the counts up */
    bench_validation a, b;
    for (int i = 0; i < 6; i++) got[i] = NAN;
    bench_compare(ref, ref, 2, 3, 1e-4, 1e-3, &a);
    bench_compare(got, ref, 6, 1, 1e-4, 1e-3, &b);
    bench_validation_merge(&a, &b);
    CHECK(!a.ok && a.nonfinite_got == 6 && a.elems == 12 && a.top1_rows == 2 && a.top1_agree == 2);
    /* a size mismatch (validate_row sets the counts) */
    memset(&v, 0, sizeof v);
    v.elems = 10, v.ref_elems = 9, v.bad_values = 10;
    bench_validation_describe(&v, why, sizeof why);
    CHECK_MSG(!strcmp(why, "the output has 10 values, the reference 9"), "%s", why);
}

/* The noise verdict: single outliers (which drive CV) leave the median stable; a median that moves between the
 * first and the second half of the run is flagged. */
static void test_noise_verdict(void) {
    enum { N = 200 };
    static double x[N];
    bench_stats s;
    /* stable: 100 us +- 1 with ten 50x outliers spread through the run (CV far above 25%) */
    for (int i = 0; i < N; i++) x[i] = 100 + (i % 3) - 1 + (i % 20 == 7 ? 5000 : 0);
    REQUIRE(stats_compute(x, N, &s) == NRPS_OK);
    CHECK_MSG(s.cv > 0.25, "cv %g", s.cv);
    CHECK_MSG(!s.unstable && s.halves_diff < 0.01, "halves_diff %g", s.halves_diff);
    CHECK_NEAR(s.mad, 1, 1e-12);
    CHECK_NEAR(s.p50, 100, 1e-12);
    CHECK(!stats_unstable_verdict(N, s.halves_diff));
    /* unstable: the second half 20% slower (a clock change half-way) */
    for (int i = 0; i < N; i++) x[i] = (i < N / 2 ? 100 : 120) + (i % 3) - 1;
    REQUIRE(stats_compute(x, N, &s) == NRPS_OK);
    CHECK_NEAR(s.halves_diff, 20.0 / 110.0, 1e-12);
    CHECK(s.unstable && stats_unstable_verdict(N, s.halves_diff));
    CHECK(s.cv < 0.25); /* the old CV rule would not have seen it */
    /* just within 5%: stable; too few samples: no verdict */
    CHECK(!stats_unstable_verdict(N, 0.049) && stats_unstable_verdict(N, 0.051));
    CHECK(!stats_unstable_verdict(STATS_UNSTABLE_MIN_N - 1, 0.5));
    CHECK_NEAR(stats_halves_diff(x, 1), 0, 0);
    CHECK_NEAR(stats_spread(&s), (s.p99 - s.p50) / s.p50, 1e-12);
    /* p10 by the same method as the other percentiles */
    double t[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    REQUIRE(stats_compute(t, 10, &s) == NRPS_OK);
    CHECK_NEAR(s.p10, 1.9, 1e-12);
    CHECK_NEAR(s.mad, 2.5, 1e-12); /* |x - 5.5| = 4.5 3.5 ... 0.5 ...: median 2.5 */
}

int main(void) {
    RUN(test_noise_verdict);
    RUN(test_one_to_ten);
    RUN(test_percentile_method);
    RUN(test_single_and_empty);
    RUN(test_heavy_tail);
    RUN(test_compare);
    RUN(test_compare_nonfinite);
    return check_summary("stats");
}
