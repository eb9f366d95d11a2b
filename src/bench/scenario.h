/* scenario.h - `neural_rps benchmark --scenario`: MLPerf-LoadGen-style scenarios on each backend with the first
 * network set that fits the game (run_scenario.c measures them):
 *   single-stream  one search thread at leaf batch 1: a query is one evaluator call of one position;
 *   multi-stream   one search thread at leaf batch N (--stream-batch): a query is one call of N positions;
 *   server         single-position queries from many virtual clients arriving as a Poisson process at
 *                  --target-rate per second, served by one batching service thread (src/search/eval_service.h)
 *                  forming batches of up to --server-max-batch, waiting at most --batch-wait-us; VALID only if
 *                  the p99 latency (from the scheduled arrival, src/bench/loadgen.h) is within --latency-bound-us;
 *                  --find-peak bisects the highest VALID rate; with 2 or more CPUs the issuing thread is pinned to
 *                  CPU 0 and the server thread to CPU 1 for the run;
 *   offline        self-play throughput: one game per core at once, each with its own search (leaf batch N) and
 *                  its own backend handle: games/s and positions/s.
 * Each runs at least --scenario-duration seconds and --min-queries queries (server, single- and multi-stream). */
#ifndef NRPS_BENCH_SCENARIO_H
#define NRPS_BENCH_SCENARIO_H

#include <stdio.h>

#include "bench/loadgen.h"

enum { BENCH_MAX_PEAK_RUNS = 16 }; /* server --find-peak: runs at most, per backend */

typedef enum { BENCH_SCEN_NONE = 0, BENCH_SCEN_SINGLE, BENCH_SCEN_MULTI, BENCH_SCEN_SERVER, BENCH_SCEN_OFFLINE } bench_scenario;

/* "single-stream", "multi-stream", "server", "offline" (and "" for NONE). */
const char *bench_scenario_name(bench_scenario s);
/* The scenario named `name`, or BENCH_SCEN_NONE when it is none of the four. */
bench_scenario bench_scenario_parse(const char *name);

/* One scenario run: the LoadGen row (scenario, backend, validity, rates, latency) and what the search-based
 * scenarios add. */
typedef struct {
    loadgen_row lg;          /* target_rate 0 outside server; latency_us per query (offline: per move) */
    int peak;                /* server --find-peak: this run is the highest VALID rate found */
    int threads, batch;      /* search threads (offline: concurrent games) and leaf batch; 0 for server */
    double playouts_per_s, games_per_s, positions_per_s; /* search-based scenarios (0 for server) */
    double cache_hit_rate;   /* server with --nn-cache-mb: the NN cache's hit rate (-1: no cache) */
} bench_scenario_row;

/* The LoadGen-like summary: one line per run (scenario, backend, VALID/INVALID, target and achieved rate, p50 /
 * p90 / p99 / p99.9 / max latency, mean batch), then why each INVALID run failed and the peak. */
void bench_report_scenarios_text(FILE *f, const bench_scenario_row *rows, int n);
/* Adds the array "scenarios" (docs/benchmark-json.md) to a cJSON object (void *: cJSON stays out of headers). */
void bench_scenarios_json(void *root, const bench_scenario_row *rows, int n);

#endif
