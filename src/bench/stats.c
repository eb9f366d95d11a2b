/* stats.c - see stats.h. */
#include "bench/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_percentile_sorted(const double *s, long n, double q) {
    if (n <= 1) return s[0];
    if (q <= 0) return s[0];
    if (q >= 100) return s[n - 1];
    double h = (double)(n - 1) * q / 100.0;
    long lo = (long)floor(h);
    if (lo >= n - 1) return s[n - 1];
    double f = h - (double)lo;
    return s[lo] + f * (s[lo + 1] - s[lo]);
}

double stats_median_inplace(double *x, long n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return stats_percentile_sorted(x, n, 50.0);
}

static double median_copy(const double *x, long n, double *tmp) {
    memcpy(tmp, x, sizeof(double) * (size_t)n);
    return stats_median_inplace(tmp, n);
}

double stats_halves_diff(const double *samples, long n) {
    if (n < 2) return 0;
    long h = n / 2;
    double *tmp = malloc(sizeof(double) * (size_t)(n - h));
    if (!tmp) return -1;
    double a = median_copy(samples, h, tmp), b = median_copy(samples + h, n - h, tmp);
    free(tmp);
    double m = 0.5 * (a + b);
    return m > 0 ? fabs(a - b) / m : 0;
}

int stats_unstable_verdict(long n, double halves_diff) {
    return n >= STATS_UNSTABLE_MIN_N && halves_diff > STATS_UNSTABLE_TOL;
}

double stats_spread(const bench_stats *s) { return s->p50 > 0 ? (s->p99 - s->p50) / s->p50 : 0; }

nrps_status stats_compute(const double *samples, long n, bench_stats *out) {
    memset(out, 0, sizeof *out);
    if (n < 1) {
        nrps_set_error("statistics need at least one sample");
        return NRPS_ERR_ARG;
    }
    double *s = malloc(sizeof(double) * (size_t)n);
    if (!s) {
        nrps_set_error("out of memory for %ld samples", n);
        return NRPS_ERR_NOMEM;
    }
    memcpy(s, samples, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double sum = 0;
    for (long i = 0; i < n; i++) sum += s[i];
    double mean = sum / (double)n, ss = 0;
    for (long i = 0; i < n; i++) ss += (s[i] - mean) * (s[i] - mean);
    out->n = n;
    out->mean = mean;
    out->min = s[0];
    out->max = s[n - 1];
    out->p10 = stats_percentile_sorted(s, n, 10);
    out->p50 = stats_percentile_sorted(s, n, 50);
    out->p90 = stats_percentile_sorted(s, n, 90);
    out->p99 = stats_percentile_sorted(s, n, 99);
    out->p999 = stats_percentile_sorted(s, n, 99.9);
    out->stdev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    out->cv = mean > 0 ? out->stdev / mean : 0.0;
    for (long i = 0; i < n; i++) s[i] = fabs(samples[i] - out->p50);
    out->mad = stats_median_inplace(s, n);
    free(s);
    out->halves_diff = stats_halves_diff(samples, n);
    if (out->halves_diff < 0) {
        nrps_set_error("out of memory for %ld samples", n);
        return NRPS_ERR_NOMEM;
    }
    out->unstable = stats_unstable_verdict(n, out->halves_diff);
    return NRPS_OK;
}
