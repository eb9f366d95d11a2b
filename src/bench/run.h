/* run.h - the benchmark harness: runs a plan (models x backends x batch sizes, the ONNX Runtime floor, inference
 * inside a real search) and returns every measurement; `neural_rps benchmark` only parses flags into a plan and
 * prints the result (lc0's backendbench split). Nothing here prints to stdout; progress goes to stderr only when
 * the plan asks for it. */
#ifndef NRPS_BENCH_RUN_H
#define NRPS_BENCH_RUN_H

#include "bench/bench.h"
#include "bench/recommend.h"
#include "bench/scenario.h"

enum { BENCH_MAX_BATCHES = 32, BENCH_POOL_MAX = 16384, BENCH_MAX_CONCURRENCY = 64 };

typedef struct bench_result bench_result;

typedef struct {
    const char *model_paths[BENCH_MAX_MODELS]; /* the models, in order */
    int n_models;
    char backends[BENCH_MAX_BACKENDS][32]; /* registry names (see bench_plan_default_backends) */
    int n_backends;
    int explicit_backends;  /* 1: every backend must work (a named GPU backend that fails is an error) */
    int gpu_only;           /* fail when no GPU backend could be created */
    int batches[BENCH_MAX_BATCHES]; /* ascending, distinct */
    int n_batches;
    int explicit_batches;   /* 1: the batch sizes were asked for (a fixed-batch model that cannot take them is a
                             * usage error, NRPS_ERR_ARG); 0: such a model is measured at its own size, with a note */
    be_options opt;         /* threads, device, provider; max_batch is derived from the batches */
    bench_loop_opts loop;
    bench_inputs_kind inputs;   /* SELFPLAY / RANDOM: game positions for models that take them ([batch, 81]
                                 * float32), seeded random data of each input's type otherwise; FILES: .npy files */
    const char *input_files[BE_MAX_IO]; /* FILES: one .npy per graph input, in order (batch on axis 0) */
    int n_input_files;
    long int_lo, int_hi;        /* random integer inputs: uniform in [int_lo, int_hi] (default 0..1) */
    uint64_t seed;
    const char *selfplay_agent; /* NULL = bench_inputs_default_agent */
    const char *cache_dir;      /* input cache (NULL: none) */
    int validate;               /* compare every backend with the plain-C reference (nn_forward) */
    int floor;                  /* the ONNX Runtime identity-graph floor (needs ort-cpu in backends) */
    int search;                 /* the inside-search section */
    int search_games, search_playouts;
    int search_batches[BENCH_MAX_BATCHES];
    int n_search_batches;
    int search_threads[BENCH_MAX_BATCHES]; /* tree-parallel search threads, crossed with the batches (default 1,2) */
    int n_search_threads;
    int search_service;         /* rows with threads > 1 also with every thread on one batching service (batch_wait_us) */
    int recommend_games;        /* arena games per candidate of the `recommended:` line (0: no recommendation) */
    /* --scenario (src/bench/scenario.h); with one, the inside-search section and the recommendation do not run */
    bench_scenario scenario;
    double target_rate, latency_bound_us; /* server: Poisson arrival rate (queries/s), p99 bound (us) */
    int find_peak;                        /* server: bisect the highest VALID rate instead */
    int batch_wait_us, server_max_batch;  /* server: the batching service's wait bound and largest batch */
    double nn_cache_mb;                   /* server: the service's NN cache (0: off) */
    double scenario_duration_s;           /* every scenario: at least this long ... */
    long min_queries;                     /* ... and this many queries (server, streams) */
    int stream_batch;                     /* multi-stream and offline: leaf batch */
    int scenario_threads;                 /* offline: games at once (default: the cores)*/
    int concurrency;            /* > 1: also time that many threads calling Run at once on one session (ORT
                                 * backends; native backends get one handle per thread) */
    const char *profile_path;   /* ONNX Runtime profiles (opt.ort.profile_prefix must be set): the first ORT
                                 * session's file is renamed to this path, others get -<model>-<backend> inserted */
    const char *peers;          /* "torch": also time the PyTorch peers (scripts/torch_peer.py, run_peers.c); NULL: none */
    int progress;               /* progress lines on stderr */
    /* Called once the models, backends and inputs are ready and before anything is timed (e.g. to print the
     * header); may be NULL. */
    void (*on_ready)(const bench_result *r, void *ctx);
    void *on_ready_ctx;
} bench_plan;

/* A plan with the defaults of `neural_rps benchmark` and no models or backends. */
bench_plan bench_plan_default(void);

/* Adds the registry's default benchmark backends (be_registry_bench_default, in registry order: ort-cpu,
 * native-cpu, ort-cuda, ort-tensorrt, native-cuda), with ort-cuda replaced by ort-<opt.provider> when a provider is
 * named and ort-tensorrt only when the library has it and no provider was named. */
void bench_plan_default_backends(bench_plan *p);

/* The default models: models/rps_policy.onnx, models/rps_value.onnx and models/rps_net.onnx (when present). */
void bench_plan_default_models(bench_plan *p);

struct bench_result {
    bench_env env;
    bench_row *rows;
    int n_rows;
    bench_search_row *srows;
    int n_srows;
    bench_recommendation *recs; /* per backend of the first search network set (src/bench/recommend.h) */
    int n_recs;
    bench_scenario_row *scen;   /* --scenario runs (src/bench/scenario.h) */
    int n_scen;
    char scenario_nets[40];     /* the network set they ran */
    char scenario_note[200];    /* why they did not run ("" when they did or were not asked) */
    char search_note[600]; /* why the inside-search section did not run, or which models it left out ("" when none) */
    char floor_note[160];  /* why the ONNX Runtime floor was not measured ("" when it was or was not asked) */
    int n_gpu_ok;          /* GPU backends created */
    int interrupted;       /* SIGINT stopped the run (what was measured is kept) */
    int validation_failed; /* rows whose outputs differ from the reference */
};

/* Writes the JSON report of r (schema: docs/benchmark-json.md) atomically; NRPS_ERR_IO on failure. */
nrps_status bench_report_json(const char *path, const bench_result *r);

/* Runs the plan. NRPS_OK with r filled (also when interrupted or when validation failed: the caller reports
 * and decides the exit status); otherwise an error whose message names the file, flag or backend, and r holds
 * what was measured so far. Free r with bench_result_free either way. */
nrps_status bench_run(const bench_plan *p, bench_result *r);
void bench_result_free(bench_result *r);

/* The first validation failure as one line into buf ("" when none). */
void bench_result_validation_error(const bench_result *r, char *buf, size_t len);

#endif
