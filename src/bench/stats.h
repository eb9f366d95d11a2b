/* stats.h - latency statistics for the benchmark: mean, min, percentiles, max, stdev, CV.
 * Percentile method: linear interpolation between closest ranks on the sorted samples (Hyndman & Fan type 7,
 * numpy.percentile's default): rank h = (n - 1) * q / 100, value = x[floor h] + (h - floor h) * (x[floor h + 1] -
 * x[floor h]). stdev is the sample standard deviation (n - 1 denominator; 0 when n == 1); CV = stdev / mean. */
#ifndef NRPS_STATS_H
#define NRPS_STATS_H

#include "util/util.h"

typedef struct {
    long n;
    double mean, min, p50, p90, p99, p999, max, stdev, cv;
} bench_stats;

/* q in [0, 100] on ascending samples sorted[0..n-1], n >= 1. */
double stats_percentile_sorted(const double *sorted, long n, double q);

/* Fills *out from samples[0..n-1] (any order, left unchanged; a sorted copy is made, so call it outside timed
 * regions). Returns NRPS_ERR_ARG for n < 1, NRPS_ERR_NOMEM. */
nrps_status stats_compute(const double *samples, long n, bench_stats *out);

/* Median of a small array, reordering it in place (used by the warm-up settle rule). n >= 1. */
double stats_median_inplace(double *x, long n);

#endif
