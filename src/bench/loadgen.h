/* loadgen.h - MLPerf-LoadGen-like scenarios against an evaluation service (src/search/eval_service.h): the Server
 * scenario (single-position queries arriving as a Poisson process at a target rate, judged on their p99 latency),
 * the bisection that finds the highest rate a system serves within its latency bound, the scenario statistics and
 * one report row per run.
 *
 * No coordinated omission: a query's latency runs from its SCHEDULED issue time to the end of the batch that
 * answered it, so a system (or a load generator) that falls behind pays for its whole backlog.
 *
 * How many queries a p99 needs (LoadGen's binomial rule): the share of queries under the sample q-quantile of n
 * queries is q +- z * sqrt(q (1 - q) / n) with confidence given by z (z = 2.576: 99% two-sided). With the default
 * 20,000 queries the sample p99 lies between the true 98.82nd and 99.18th percentiles with 99% confidence
 * (+-0.18 points); MLPerf asks for a margin of (1 - q) / 20 = 0.05 points, i.e. loadgen_min_queries(0.99, 2.576,
 * 0.0005) = 262,777 queries (LoadGen rounds its constant up to 270,336). A 1 s run at 1,000,000 queries/s has a
 * million queries: +-0.026 points.
 *
 * Threads: loadgen_server_run uses the calling thread as its only issuing thread; the service must not be shut
 * down meanwhile. Other clients of the same service would share its server and count in mean_batch. */
#ifndef NRPS_LOADGEN_H
#define NRPS_LOADGEN_H

#include "bench/stats.h"
#include "game/game.h"
#include "search/eval_service.h"

/* One scenario run, for reports. */
typedef struct {
    char scenario[16];        /* "server" */
    char backend[48];         /* what served the queries, as the caller named it (config.backend) */
    int valid;                /* 1: p99 within the bound (and the issuer kept up), else 0 */
    char why[160];            /* "" when valid, else e.g. "p99 143.2 us > bound 100 us" */
    double target_rate;       /* queries per second asked for */
    double scheduled_rate;    /* the Poisson schedule's own rate: queries / span of the scheduled issue times */
    double evals_per_s;       /* achieved: queries / duration_s (one position per query) */
    double latency_bound_us;  /* the p99 bound judged against */
    bench_stats latency_us;   /* scheduled issue -> done, microseconds: p50, p90, p99, p999, max, mean ... */
    double issue_lag_p99_us;  /* p99 of how late the issuer submitted: after the scheduled time, or after it last
                               * waited for one of LOADGEN_IN_FLIGHT queries to finish (backlog): its own lateness */
    long queries;
    double duration_s;        /* start of the schedule -> the last completion */
    double mean_batch;        /* states per inner evaluator call that the service formed during the run */
    double busy_share;        /* the service's time inside the inner evaluator / wall time, during the run */
    double idle_share;        /* the service's time waiting for requests / wall time (1 - busy - idle: its own work) */
    int max_batch, wait_us;   /* the service's settings */
} loadgen_row;

/* The Server scenario. */
typedef struct {
    double target_rate;      /* queries per second, > 0 */
    double min_duration_s;   /* the schedule spans at least this long (default 1; 0..3600) */
    long min_queries;        /* and holds at least this many queries (default 20,000; >= 1) */
    long max_queries;        /* refuse schedules longer than this (memory: 24 bytes a query; default 10,000,000) */
    double latency_bound_us; /* VALID needs p99 <= this (default 100) */
    uint64_t seed;           /* of the Poisson schedule (default 1) */
    const char *backend;     /* copied into the rows' backend (NULL: "") */
} loadgen_server_config;

loadgen_server_config loadgen_server_config_default(void);
/* NRPS_OK or NRPS_ERR_ARG with one line naming the field ("loadgen: target_rate must be > 0, got 0"). */
nrps_status loadgen_server_config_check(const loadgen_server_config *cfg);

/* Queries a quantile q (0 < q < 1) needs for a margin (in quantile units, e.g. 0.0005) at confidence z (the normal
 * quantile, 2.576 for 99%): ceil(z^2 q (1 - q) / margin^2). */
long loadgen_min_queries(double q, double z, double margin);
/* The margin n queries give: z * sqrt(q (1 - q) / n). */
double loadgen_quantile_margin(double q, double z, long n);

/* The Poisson schedule: at_ns[i] = the issue time of query i in ns after the start, the running sum of exponential
 * inter-arrival times of mean 1 / rate drawn from rng (-ln(1 - U) / rate). n >= 1, rate > 0. */
void loadgen_poisson_schedule(nrps_rng *rng, double rate, long n, uint64_t *at_ns);

/* How many queries the run of cfg schedules: the smallest n >= min_queries whose schedule (from cfg->seed) spans
 * at least min_duration_s. NRPS_ERR_ARG ("loadgen: ... needs more than max_queries ...") past max_queries. */
nrps_status loadgen_schedule_length(const loadgen_server_config *cfg, long *n);

/* Fills row->latency_us from latency_us[0..n-1] (scheduled issue -> done, any order; not changed) and judges the
 * run: valid when latency_us.p99 <= row->latency_bound_us and row->issue_lag_p99_us <= it too; why says what
 * failed: "p99 143.2 us > bound 100 us", "the load generator issued late: p99 lag 250.0 us > bound 100 us" (both,
 * joined by "; ", when both fail). NRPS_ERR_ARG for n < 1, NRPS_ERR_NOMEM. */
nrps_status loadgen_judge(loadgen_row *row, const double *latency_us, long n);

/* Runs the Server scenario: query i is positions[i % n_positions] (one state), submitted from the calling thread to
 * svc at its scheduled time (spinning, or sleeping when it is far off), without waiting for earlier ones (at most
 * LOADGEN_IN_FLIGHT at once; a longer backlog delays the issue, which its latency counts). Fills *row (judged with
 * loadgen_judge). Errors: a bad cfg, out of memory, or a query that failed (the service's error, with the query's
 * index: "loadgen: query 17: <message>"). */
enum { LOADGEN_IN_FLIGHT = 4096 };
nrps_status loadgen_server_run(eval_service *svc, const rps_state *positions, int n_positions,
                               const loadgen_server_config *cfg, loadgen_row *row);

/* ---- the peak search (LoadGen's --find-peak-performance) ---- */

/* One run at `rate` queries/s filling *row (row->valid, row->target_rate are what the search reads). */
typedef nrps_status (*loadgen_run_fn)(void *ctx, double rate, loadgen_row *row);

typedef struct {
    double low_rate, high_rate; /* 0 < low < high */
    int max_runs;               /* runs at most (>= 2; default 12) */
    double tolerance;           /* stop when the bracket's high / low - 1 is below this (default 0.02) */
} loadgen_peak_config;

loadgen_peak_config loadgen_peak_config_default(void); /* 10,000 .. 4,000,000 queries/s, 12 runs, 2% */

/* Bisection for the highest VALID rate: runs low_rate (INVALID: no peak, stop) and high_rate (VALID: the peak,
 * stop), then the geometric midpoint of the bracket [highest VALID, lowest INVALID] until max_runs runs or the
 * tolerance. runs[] (room for max_runs) receives every run in order, *n_runs their count, *best the index of the
 * highest-rate VALID run (-1: none). Stops at a run's error and returns it. */
nrps_status loadgen_find_peak(loadgen_run_fn run, void *ctx, const loadgen_peak_config *pc, loadgen_row *runs,
                              int *n_runs, int *best);

/* loadgen_find_peak over loadgen_server_run (cfg's target_rate is replaced by each run's). */
nrps_status loadgen_server_find_peak(eval_service *svc, const rps_state *positions, int n_positions,
                                     const loadgen_server_config *cfg, const loadgen_peak_config *pc,
                                     loadgen_row *runs, int *n_runs, int *best);

#endif
