/* bench.h - the inference benchmark engine: the timing loop (first call, warm-up until timings settle, timed
 * calls by count or duration), output validation against the reference, benchmark inputs (self-play positions
 * or random floats), the ORT floor, and the reports (text, JSON, CSV, gnuplot PNG).
 * Times are per call, wall clock (monotonic), in microseconds as doubles; nothing is printed that was not
 * measured in this run. */
#ifndef NRPS_BENCH_H
#define NRPS_BENCH_H

#include <stdio.h>

#include "backend/backend.h"
#include "backend/cpu_kernels.h"
#include "bench/ort_profile.h"
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

/* Times be_run_io(b, in, batch, out) (in / out as there: ideally b's own buffers, so nothing is copied). Polls
 * nrps_interrupted: a stop returns NRPS_OK with interrupted = 1 and what was measured. */
nrps_status bench_time_backend(be_backend *b, const void *const *in, void *const *out, int batch,
                               const bench_loop_opts *o, bench_timing *t);
void bench_timing_free(bench_timing *t); /* accepts NULL */

/* ---- validation ---- */
typedef struct {
    double max_abs, max_rel;   /* max |got-ref|, max |got-ref| / max(|ref|, 1e-6) */
    long top1_agree, top1_rows; /* rows whose argmax agrees (ties within tolerance count as agreement) */
    long bad_values;            /* elements that fail: out_of_tol + nonfinite_got + nonfinite_ref + size mismatch */
    long out_of_tol;            /* finite elements (in both) outside atol + rtol*|ref| */
    long nonfinite_got;         /* NaN or +-Inf where the reference is finite */
    long nonfinite_ref;         /* reference NaN or +-Inf that got does not reproduce */
    long elems, ref_elems;      /* values compared; they differ when the outputs' sizes disagree */
    int ok;
} bench_validation;

#define BENCH_ATOL 1e-4
#define BENCH_RTOL 1e-3

/* Compares got[rows][cols] with ref: ok iff every |got-ref| <= atol + rtol*|ref| (a non-finite value only matches
 * the same infinity or NaN) and, when cols > 1, every row's argmax agrees. */
void bench_compare(const float *got, const float *ref, int rows, int cols, double atol, double rtol,
                   bench_validation *v);
/* Adds the results of one output (w) into the whole row's (v). */
void bench_validation_merge(bench_validation *v, const bench_validation *w);
/* Why a failed validation failed, in one line without a trailing newline: "64 of 64 values non-finite (NaN/Inf) where
 * the reference is finite", "3 of 576 values beyond tolerance (max abs 0.02)", "top-1 disagrees in 2 of 64
 * rows", "the output has 10 values, the reference 9", joined with "; ". "" when v->ok. */
void bench_validation_describe(const bench_validation *v, char *buf, size_t len);

/* ---- inputs ---- */
typedef enum { BENCH_INPUTS_SELFPLAY = 0, BENCH_INPUTS_RANDOM, BENCH_INPUTS_FILES } bench_inputs_kind;

/* Fills pool[n][width] with benchmark inputs. SELFPLAY (width must be 81): positions from games between two
 * copies of `agent` (an agent spec, src/search/agent.h; NULL or "" = bench_inputs_default_agent), every position
 * from the opening to the last move, seeded by `seed`, encoded in `enc` (the model's input encoding, an
 * rps_encoding), cached under cache_dir (NULL: no cache) as "positions-<seed>-<n>-<spec+encoding hash>.bin"
 * (magic "NRPSPOS2", version, width, count, seed, agent spec + encoding, float32 data); a bad or stale cache file
 * is regenerated. RANDOM: uniform floats in [0,1) (enc ignored). *desc receives a short description for reports. */
nrps_status bench_inputs_make(bench_inputs_kind kind, long n, int width, uint64_t seed, const char *agent, int enc,
                              const char *cache_dir, float *pool, char *desc, size_t desc_len);
/* Told after each self-play game that bench_inputs_make_cb plays (never for random inputs or a cache hit): the
 * games played so far (from 1) and the positions collected of n. */
typedef void (*bench_inputs_progress_fn)(void *ctx, long games, long positions, long n);
/* bench_inputs_make with a progress callback (fn NULL: none, as bench_inputs_make). */
nrps_status bench_inputs_make_cb(bench_inputs_kind kind, long n, int width, uint64_t seed, const char *agent, int enc,
                                 const char *cache_dir, float *pool, char *desc, size_t desc_len,
                                 bench_inputs_progress_fn fn, void *ctx);

/* The default self-play agent: MCTS (64 playouts, temperature 1 on every ply so games differ) with the default
 * networks models/rps_policy.onnx + models/rps_value.onnx when both exist, else MCTS with uniform priors and
 * random rollouts. */
void bench_inputs_default_agent(char *spec, size_t len);

/* Inputs for a graph input of any type. Random: seeded, floats uniform in [0,1), integers uniform in [lo, hi],
 * bool uniform false/true; elems elements of t's type into buf. */
void bench_tensor_random(const be_tensor *t, void *buf, size_t elems, uint64_t seed, long lo, long hi);
void bench_tensor_random_desc(const be_tensor *t, long lo, long hi, char *buf, size_t len); /* for reports */
/* From a .npy file (src/util/npy.h): its element type must be t's (bfloat16: raw bits as uint16), its shape t's
 * with any number of samples on axis 0 (the batch axis must be axis 0); samples are repeated or cut to max_batch.
 * Errors are one line naming the file. */
nrps_status bench_tensor_from_npy(const char *path, const be_tensor *t, int max_batch, void *buf, char *desc,
                                  size_t len);

/* ---- results and reports ---- */
enum { BENCH_MAX_MODELS = 4, BENCH_MAX_BACKENDS = 16, BENCH_PROFILE_OPS = 5 };

/* A backend that did not run a model, and why (one line). */
typedef struct {
    char backend[32];
    char reason[400];
} bench_skip;

/* The op types that took longest in one ONNX Runtime profile (--profile). */
typedef struct {
    char backend[32];
    char file[512];
    int n_ops;
    ort_profile_op ops[BENCH_PROFILE_OPS];
    double total_us; /* kernel time over every op type */
} bench_profile;

/* A benchmarked model as the reports describe it. */
typedef struct {
    char label[16];      /* the rows' model column: "policy", "value", "net" (two heads) or the file's name */
    char path[512];
    char sha256[65];
    char kind[24];       /* "policy", "value", "two-headed" or "not a game model" (from metadata or shape) */
    char encoding[16];   /* input encoding of a game model ("" otherwise) */
    char arch[160];      /* nn_arch_describe plus activations for the dense network family ("" otherwise) */
    double flops;        /* floating-point operations per sample (nn_arch_flops) for that family; 0: not counted */
    int in, out;         /* elements per sample of the first input and the first output */
    int n_inputs, n_outputs;
    be_tensor input[BE_MAX_IO], output[BE_MAX_IO];
    int fixed_batch;     /* > 0: the graph takes only this batch size */
    char reference[96];  /* what the outputs were validated against */
    char data[240];      /* the inputs fed to it */
    char note[320];      /* what could not be measured for it and why ("" when nothing) */
    int n_skipped;
    bench_skip skipped[BENCH_MAX_BACKENDS];
} bench_model_info;

typedef struct {
    char backend[32];
    char model[16];        /* the model's label (bench_model_info), or "floor" for the ORT identity graph */
    int concurrency;       /* threads calling the backend at once (1: one caller) */
    char model_path[512];
    int batch;
    be_info info;          /* from the backend */
    bench_timing tm;       /* samples freed after stats; st and counts kept */
    int validated;         /* 1 when validation ran */
    int is_reference;      /* 1: this row's outputs are the model's reference (nothing to compare) */
    bench_validation val;
    double atol, rtol;     /* the tolerance it ran with (wider for float16 / bfloat16 outputs, 0 for integers) */
} bench_row;

typedef struct {
    char cpu_model[128], os[160], ort_version[32], providers[256], git_commit[48], timestamp[32];
    int cores, threads;
    double loadavg_start, loadavg_end; /* 1-minute load average before / after the measurements (-1 unknown) */
    char inputs[400];
    int n_profiles;
    bench_profile profiles[BENCH_MAX_MODELS * BENCH_MAX_BACKENDS];
    unsigned long long seed;
    char warmup[128], iterations[64];
    char session[600];   /* the ONNX Runtime session settings and other run-wide flags, one line */
    int n_models;
    bench_model_info models[BENCH_MAX_MODELS];
    int cuda_compiled;
    char gpu_note[600];   /* why GPU results are absent, "" when present */
    int n_peaks;          /* one core's FMA throughput per kernel set (cpu_fma_peaks), best first; 0: not probed */
    cpu_peak peak[3];
    int peak_threads;     /* > 1: the run's --threads, whose FMA probe on that many threads at once gave */
    double peak_threads_gflops; /* this total (cpu_fma_peak_threads; 0: not measured) */
    char peers[16];       /* the peers asked for (--peers: "torch"), "" when none */
    char peers_note[400]; /* why they were not measured ("" when they were or were not asked) */
} bench_env;

void bench_env_fill(bench_env *e); /* machine facts: cpu, cores, os, ORT, providers, git commit, time */

/* Text table of rows + the "Performance Comparison" section (ratios only between numbers in rows). The default
 * table fits 100 columns (backend, model, batch, p50, p99, spread, samples/s, ratio to ort-cpu, valid); wide != 0:
 * every column. Notes are wrapped at the terminal's width (src/util/textwrap.h). */
void bench_report_text(FILE *f, const bench_row *rows, int n, const bench_env *e, int wide);
/* The top ops of each ONNX Runtime profile (--profile). */
void bench_report_profiles_text(FILE *f, const bench_env *e);
/* Adds to a cJSON object (void *: cJSON stays out of headers) the latency object `key`: mean, min, p10, p50, p90,
 * p99, p999, max, stdev of st (docs/benchmark-json.md). */
void bench_json_latency(void *obj, const char *key, const bench_stats *st);
/* Writes the CSV report atomically (the JSON report: bench_report_json in src/bench/run.h); NRPS_ERR_IO on failure. */
nrps_status bench_report_csv(const char *path, const bench_row *rows, int n, const bench_env *e); /* docs/benchmark-csv.md */
/* The inside-search rows' CSV (the JSON's `search` rows, docs/benchmark-csv.md), written atomically. */
nrps_status bench_report_csv_search(const char *path, const bench_search_row *srows, int ns);
/* The search CSV's name for --csv `csv` in buf: `csv` with a final ".csv" replaced by "-search.csv" (appended when
 * it has none). Returns 1, 0 when `csv` is a device, FIFO or descriptor (no second file: buf ""), or -1 when the
 * name does not fit in len. */
int bench_csv_search_path(const char *csv, char *buf, size_t len);
/* Renders latency (p50, band p10..p90) and throughput vs batch size per backend x model with gnuplot into a PNG;
 * the ONNX Runtime floor as a grey dashed line in the latency panel; a title from e (may be NULL); a third panel of
 * inside-search playouts/s vs search batch size per backend x nets when srows (may be NULL/0) has measured rows. */
nrps_status bench_report_plot(const char *path, const bench_row *rows, int n, const bench_search_row *srows, int ns,
                              const bench_env *e);

#endif
