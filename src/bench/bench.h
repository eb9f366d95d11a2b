/* bench.h - the inference benchmark engine: the timing loop (first call, warm-up until timings settle, timed
 * calls by count or duration), output validation against the reference, benchmark inputs (self-play positions
 * or random floats), the ORT floor, and the reports (text, JSON, CSV, gnuplot PNG).
 * Times are per call, wall clock (monotonic), in microseconds as doubles; nothing is printed that was not
 * measured in this run. */
#ifndef NRPS_BENCH_H
#define NRPS_BENCH_H

#include <stdio.h>

#include "backend/backend.h"
#include "bench/search_bench.h"
#include "bench/stats.h"

/* ---- timing loop ---- */
typedef struct {
    long warmup;        /* fixed number of warm-up calls; < 0 = automatic (see below). Default -1 */
    long iterations;    /* timed calls when duration_s <= 0. Default 1000 */
    double duration_s;  /* > 0: time calls for this long instead of a count */
    /* Automatic warm-up: windows of `window` calls; stop when the medians of two consecutive windows differ by
     * at most settle_tol (relative) and at least warmup_min calls were made; give up (unsettled, reported) after
     * warmup_max_calls calls or warmup_max_s seconds, whichever comes first, but never before warmup_min. */
    long window, warmup_min, warmup_max_calls;
    double settle_tol, warmup_max_s;
} bench_loop_opts;

bench_loop_opts bench_loop_opts_default(void);

typedef struct {
    double first_call_us;  /* the very first call at this batch size, timed alone */
    long warmup_calls;
    int warmup_settled;    /* 1: settle rule met, 0: hit the cap, -1: fixed count */
    double warmup_s;
    long n;                /* timed calls */
    double *samples_us;    /* n per-call latencies (owned; bench_timing_free) */
    double total_s;        /* wall time of the timed calls */
    double cpu_per_call_us; /* process CPU time (all threads) over the timed calls / n: unlike wall time, not
                             * inflated when the scheduler preempts us on a busy machine */
    int interrupted;       /* SIGINT stopped it early (n may be 0) */
    bench_stats st;        /* valid when n >= 1 */
} bench_timing;

/* Times b at `batch` on in (batch*input_size floats; ideally b's own io buffers) writing out[k] per output. Polls
 * nrps_interrupted: a stop returns NRPS_OK with interrupted = 1 and what was measured. */
nrps_status bench_time_backend(be_backend *b, const float *in, float *const *out, int batch, const bench_loop_opts *o,
                               bench_timing *t);
void bench_timing_free(bench_timing *t); /* accepts NULL */

/* ---- validation ---- */
typedef struct {
    double max_abs, max_rel;   /* max |got-ref|, max |got-ref| / max(|ref|, 1e-6) */
    long top1_agree, top1_rows; /* rows whose argmax agrees (ties within tolerance count as agreement) */
    long bad_values;            /* elements outside atol + rtol*|ref| or non-finite */
    int ok;
} bench_validation;

#define BENCH_ATOL 1e-4
#define BENCH_RTOL 1e-3

/* Compares got[rows][cols] with ref: ok iff every |got-ref| <= atol + rtol*|ref| (all finite) and, when cols > 1,
 * every row's argmax agrees. */
void bench_compare(const float *got, const float *ref, int rows, int cols, double atol, double rtol,
                   bench_validation *v);

/* ---- inputs ---- */
typedef enum { BENCH_INPUTS_SELFPLAY = 0, BENCH_INPUTS_RANDOM } bench_inputs_kind;

/* Fills pool[n][width] with benchmark inputs. SELFPLAY (width must be 81): positions from games between two
 * copies of `agent` (an agent spec, src/search/agent.h; NULL or "" = bench_inputs_default_agent), every position
 * from the opening to the last move, seeded by `seed`, encoded in `enc` (the model's input encoding, an
 * rps_encoding), cached under cache_dir (NULL: no cache) as "positions-<seed>-<n>-<spec+encoding hash>.bin"
 * (magic "NRPSPOS2", version, width, count, seed, agent spec + encoding, float32 data); a bad or stale cache file
 * is regenerated. RANDOM: uniform floats in [0,1) (enc ignored). *desc receives a short description for reports. */
nrps_status bench_inputs_make(bench_inputs_kind kind, long n, int width, uint64_t seed, const char *agent, int enc,
                              const char *cache_dir, float *pool, char *desc, size_t desc_len);

/* The default self-play agent: MCTS (64 playouts, temperature 1 on every ply so games differ) with the default
 * networks models/rps_policy.onnx + models/rps_value.onnx when both exist, else MCTS with uniform priors and
 * random rollouts. */
void bench_inputs_default_agent(char *spec, size_t len);

/* ---- results and reports ---- */
enum { BENCH_MAX_MODELS = 4 };

/* A benchmarked model as the reports describe it. */
typedef struct {
    char label[16];      /* "policy", "value", "net" (two heads) or "other": the rows' model column */
    char path[512];
    char sha256[65];
    char encoding[16];   /* input encoding ("board", "hands") */
    char arch[160];      /* nn_arch_describe plus activations */
    int in, out;         /* input width and the first head's width */
} bench_model_info;

typedef struct {
    char backend[32];
    char model[16];        /* the model's label (bench_model_info), or "floor" for the ORT identity graph */
    char model_path[512];
    int batch;
    be_info info;          /* from the backend */
    bench_timing tm;       /* samples freed after stats; st and counts kept */
    int validated;         /* 1 when validation ran */
    bench_validation val;
} bench_row;

typedef struct {
    char cpu_model[128], os[160], ort_version[32], providers[256], git_commit[48], timestamp[32];
    int cores, threads;
    double loadavg_start, loadavg_end; /* 1-minute load average before / after the measurements (-1 unknown) */
    char inputs[400];
    unsigned long long seed;
    char warmup[128], iterations[64];
    int n_models;
    bench_model_info models[BENCH_MAX_MODELS];
    int cuda_compiled;
    char gpu_note[600];   /* why GPU results are absent, "" when present */
} bench_env;

void bench_env_fill(bench_env *e); /* machine facts: cpu, cores, os, ORT, providers, git commit, time */

/* Text table of rows + the "Performance Comparison" section (ratios only between numbers in rows). */
void bench_report_text(FILE *f, const bench_row *rows, int n, const bench_env *e);
/* Writes the JSON report (schema: docs/benchmark-json.md) / CSV atomically; returns NRPS_ERR_IO on failure. */
/* srows/ns: the inside-search rows (src/bench/search_bench.h), may be NULL/0. */
nrps_status bench_report_json(const char *path, const bench_row *rows, int n, const bench_search_row *srows, int ns,
                              const bench_env *e, int interrupted);
nrps_status bench_report_csv(const char *path, const bench_row *rows, int n);
/* Renders latency (p50) and throughput vs batch size per backend x model with gnuplot into a PNG. */
nrps_status bench_report_plot(const char *path, const bench_row *rows, int n);

#endif
