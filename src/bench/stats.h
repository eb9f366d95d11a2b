/* stats.h - latency statistics for the benchmark: mean, min, percentiles, max, stdev, CV.
 * Percentile method: linear interpolation between closest ranks on the sorted samples (Hyndman & Fan type 7,
 * numpy.percentile's default): rank h = (n - 1) * q / 100, value = x[floor h] + (h - floor h) * (x[floor h + 1] -
 * x[floor h]). stdev is the sample standard deviation (n - 1 denominator; 0 when n == 1); CV = stdev / mean.
 * Robust spread: MAD = the median of |x - p50| (not scaled); spread = (p99 - p50) / p50. Noise verdict: the medians
 * of the first and the second half of the samples in the order they were taken; when they differ by more than
 * STATS_UNSTABLE_TOL of their mean the median itself moved during the measurement (a CPU clock change, another
 * job starting) and the row is "unstable". Single outliers, which drive CV, do not move it. */
#ifndef NRPS_STATS_H
#define NRPS_STATS_H

#include "util/util.h"

typedef struct {
    long n;
    double mean, min, p10, p50, p90, p99, p999, max, stdev, cv;
    double mad;           /* median absolute deviation from p50, us (unscaled) */
    double halves_diff;   /* |median(first half) - median(second half)| / their mean; 0 when n < 2 */
    int unstable;         /* stats_unstable_verdict(n, halves_diff) */
} bench_stats;

#define STATS_UNSTABLE_TOL 0.05 /* 5% */
#define STATS_UNSTABLE_MIN_N 20 /* fewer samples: no verdict (halves of under 10 calls say little) */

/* q in [0, 100] on ascending samples sorted[0..n-1], n >= 1. */
double stats_percentile_sorted(const double *sorted, long n, double q);

/* Fills *out from samples[0..n-1] (any order, left unchanged; a sorted copy is made, so call it outside timed
 * regions). Returns NRPS_ERR_ARG for n < 1, NRPS_ERR_NOMEM. */
nrps_status stats_compute(const double *samples, long n, bench_stats *out);

/* The halves_diff of samples[0..n-1] in the order taken (see above); 0 for n < 2, or NRPS_ERR_NOMEM -> -1. */
double stats_halves_diff(const double *samples, long n);
/* 1 when the median is unstable: n >= STATS_UNSTABLE_MIN_N and halves_diff > STATS_UNSTABLE_TOL. */
int stats_unstable_verdict(long n, double halves_diff);
/* (p99 - p50) / p50, 0 when p50 <= 0. */
double stats_spread(const bench_stats *s);

/* Median of a small array, reordering it in place (used by the warm-up settle rule). n >= 1. */
double stats_median_inplace(double *x, long n);

#endif
