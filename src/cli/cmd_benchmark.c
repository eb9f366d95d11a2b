/* cmd_benchmark.c - `neural_rps benchmark`: times the policy and value nets through ONNX Runtime (CPU and GPU
 * execution providers) and our native C / CUDA backends, all on the same ONNX files and the same inputs
 * (self-play positions by default), validates every backend's outputs against the plain-C reference, and reports
 * per backend x model x batch size: session-creation time, first-call time, latency statistics in microseconds,
 * throughput, plus the ONNX Runtime per-call floor and a "Performance Comparison" computed only from numbers
 * measured in this run. See docs/benchmark.md and docs/benchmark-json.md. */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "bench/bench.h"
#include "bench/run.h"
#include "bench/search_bench.h"
#include "cli/cli.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "search/agent.h"
#include "search/eval_net.h"
#include "search/mcts.h"
#include "util/textwrap.h"

#define CMD "benchmark"
enum { MAX_BATCHES = BENCH_MAX_BATCHES };

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps benchmark [flags]\n"
            "Times ONNX models through ONNX Runtime and the native backends.\n\n"
            "  --model-path P        a model to time, any ONNX model (repeatable, up to 4; a pipe or /dev/stdin\n"
            "                        works); default: models/rps_policy.onnx, models/rps_value.onnx and, when\n"
            "                        present, the two-headed models/rps_net.onnx\n"
            "  --value-model-path P  a second model (the original's value-model flag); with one of the two flags\n"
            "                        only the models named are timed\n"
            "  --input-size N        expected inputs per sample (a mismatch with the model warns; the model wins)\n"
            "  --output-size N       expected outputs of --model-path's model (same rule)\n"
            "  --batch-size N        batch size (default 64); batch 1 is always measured too\n"
            "  --sweep LIST          batch sizes instead, e.g. 1,8,64,256,1024,4096\n"
            "  --iterations N        timed calls per measurement (default 1000)\n"
            "  --duration S          time each measurement for S seconds instead of a count\n"
            "  --warmup N            fixed warm-up calls (default: until the median of 50-call windows changes\n"
            "                        by < 3%%, at least 100 calls, at most 20000 calls / 5 s)\n"
            "  --backends LIST       comma-separated backends from the list below (default: ort-cpu,native-cpu +\n"
            "                        GPU backends when available)\n"
            "  --cpu-only            CPU backends only\n"
            "  --gpu-only            GPU backends only (fails if none is available)\n"
            "  --provider NAME       ONNX Runtime provider for the accelerated ORT backend (cuda, tensorrt, rocm,\n"
            "                        migraphx, openvino, coreml, dml, ... or its full name); default cuda\n"
            "  --device-id N         GPU index (default 0)\n"
            "  --threads N           threads per backend: ONNX Runtime's intra-op pool, native-cpu's pool (large\n"
            "                        batches only; default 1, at most the CPUs this process may use)\n"
            "  --inputs KIND         for [batch, 81] float32 models: selfplay (game positions, default) or random\n"
            "                        (uniform floats); other models get seeded random data of each input's type;\n"
            "                        or FILE.npy[,FILE2.npy,...]: one file per graph input (batch on axis 0)\n"
            "  --int-range LO,HI     random integer inputs uniform in [LO, HI] (default 0,1)\n"
            "  --batch-dim NAME      the symbolic dimension that carries the batch (default: dim 0 when symbolic)\n"
            "  --dim NAME=N          size of another symbolic dimension (repeatable)\n"
            "  --seed N              seed for the inputs (default 1)\n"
            "  --selfplay-agent SPEC agent playing the self-play games (default mcts-net:64,temp=1,tplies=-1 with\n"
            "                        the default nets when models/ has both, else mcts:64,temp=1,tplies=-1);\n"
            "                        positions are cached in .cache/\n"
            "  --validate, --no-validate  check (default) or skip checking every backend's outputs against the\n"
            "                        plain-C reference; a mismatch fails the run\n"
            "  --no-floor            skip the ONNX Runtime floor (identity graph) measurement\n"
            "  --json FILE           write results as JSON (docs/benchmark-json.md)\n"
            "  --csv FILE            write results as CSV, the inside-search rows to FILE-search.csv\n"
            "                        (docs/benchmark-csv.md)\n"
            "  --wide                every column in the tables (create, first call, mean, cpu, min, p90, p99.9,\n"
            "                        max, stdev, CV); the default tables fit 100 columns\n"
            "  --plot FILE.png       plot latency and throughput vs batch size, and inside-search playouts/s\n"
            "                        (gnuplot)\n"
            "  --search-games N      inside-search benchmark: self-play games per backend and batch (default 10;\n"
            "                        needs both nets)\n"
            "  --search-playouts N   MCTS playouts per move in that benchmark (default 200)\n"
            "  --search-batch LIST   leaves per evaluator call there (default 1,16)\n"
            "  --search-threads LIST tree-parallel search threads there (each with its own backend handle),\n"
            "                        crossed with --search-batch (default 1,2)\n"
            "  --search-service      rows with more than 1 thread also with every thread submitting to one\n"
            "                        batching service (one server thread on one backend handle, as for a GPU;\n"
            "                        it waits --batch-wait-us for more)\n"
            "  --recommend-games N   then per backend recommend the threads x batch with the most playouts/s that\n"
            "                        keeps the strength of threads=1 batch=1: solver agreement on 200 positions\n"
            "                        and an arena of N games (default 200; 0: no recommendation)\n"
            "  --no-search           skip the inside-search benchmark\n"
            "  --scenario NAME       run an MLPerf LoadGen-style scenario on each backend instead of the\n"
            "                        inside-search section (docs/benchmark.md \"Scenarios\"): single-stream,\n"
            "                        multi-stream, server (Poisson arrivals) or offline (self-play throughput)\n"
            "  --target-rate R       server: queries per second (default 100000)\n"
            "  --latency-bound-us B  server: VALID only if the p99 latency is <= B us (default 100)\n"
            "  --find-peak           server: bisect the highest VALID rate instead of one run at --target-rate\n"
            "  --batch-wait-us US    server, --search-service: how long the batching service waits for more\n"
            "                        queries (default 0: it runs what is queued whenever it is free)\n"
            "  --server-max-batch N  server: largest batch it forms (default 256)\n"
            "  --nn-cache-mb MB      server: an NN cache of MB MiB in the service (default 0: off)\n"
            "  --scenario-duration S every scenario runs at least S seconds (default 1) ...\n"
            "  --min-queries N       ... and N queries (default 20000)\n"
            "  --stream-batch N      multi-stream and offline: leaves per evaluator call (default 16)\n"
            "  --scenario-threads N  offline: games at once, each with its own backend handle (default: cores)\n"
            "  --concurrency N       also time N threads calling Run at once on one session (default 1)\n"
            "  --peers torch         also time PyTorch (Debian's CPU build) eager and TorchScript on the same\n"
            "                        models, inputs and batch sizes (scripts/torch_peer.py; $PYTHON)\n"
            "ONNX Runtime session (like onnxruntime_perf_test):\n"
            "  --graph-opt LEVEL     none, basic, extended or all (default all)\n"
            "  --execution-mode M    sequential (default) or parallel; --inter-threads N for parallel\n"
            "  --no-spin             thread pools do not spin waiting for work\n"
            "  --profile FILE        ONNX Runtime's profiler to FILE (one file per session); lists the top 5 ops\n"
            "  --optimized-model-out FILE  the graph as ONNX Runtime optimised it\n"
            "  --session-config K=V  a session config entry (repeatable)\n"
            "  --provider-option K=V passed to the accelerated execution provider (repeatable)\n"
            "Exit status: 0 ok, 1 failure (including a validation mismatch), 2 usage error, 128+N stopped by\n"
            "signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP, 153 SIGXFSZ; 141: standard output closed, files\n"
            "still written).\n"
            "Backends:\n");
    for (int i = 0; i < be_registry_count(); i++)
        fprintf(f, "  %-22s%s%s\n", be_registry_name(i), be_registry_description(i),
                be_registry_is_gpu(i) ? " [GPU]" : "");
}

/* Splits a comma list of positive ints into out (ascending, unique). Returns count or -1 (error printed). */
/* The --scenario flags: one table gives each its plan field, type, bounds and what it expects. */
typedef enum { SO_INT, SO_LONG, SO_DOUBLE, SO_FLAG, SO_SCENARIO } scen_opt_kind;
typedef struct {
    const char *name;
    scen_opt_kind kind;
    double lo, hi;
    size_t offset; /* of the field in bench_plan */
    const char *expect;
} scen_opt;

static const scen_opt SCEN_OPTS[] = {
    {"scenario", SO_SCENARIO, 0, 0, offsetof(bench_plan, scenario), "single-stream, multi-stream, server or offline"},
    {"target-rate", SO_DOUBLE, 1e-3, 1e9, offsetof(bench_plan, target_rate), "a rate in queries/s in (0, 1e9]"},
    {"latency-bound-us", SO_DOUBLE, 1e-3, 1e9, offsetof(bench_plan, latency_bound_us), "a bound in us > 0"},
    {"find-peak", SO_FLAG, 0, 0, offsetof(bench_plan, find_peak), ""},
    {"search-service", SO_FLAG, 0, 0, offsetof(bench_plan, search_service), ""},
    {"batch-wait-us", SO_INT, 0, 1000000, offsetof(bench_plan, batch_wait_us), "an integer in [0, 1000000]"},
    {"server-max-batch", SO_INT, 1, 65536, offsetof(bench_plan, server_max_batch), "an integer in [1, 65536]"},
    {"nn-cache-mb", SO_DOUBLE, 0, 65536, offsetof(bench_plan, nn_cache_mb), "a size in MiB in [0, 65536]"},
    {"scenario-duration", SO_DOUBLE, 0.01, 3600, offsetof(bench_plan, scenario_duration_s),
     "seconds in [0.01, 3600]"},
    {"min-queries", SO_LONG, 1, 100000000, offsetof(bench_plan, min_queries), "an integer in [1, 100000000]"},
    {"stream-batch", SO_INT, 1, 4096, offsetof(bench_plan, stream_batch), "an integer in [1, 4096]"},
    {"scenario-threads", SO_INT, 1, 64, offsetof(bench_plan, scenario_threads), "an integer in [1, 64]"},
};
enum { N_SCEN_OPTS = sizeof SCEN_OPTS / sizeof SCEN_OPTS[0], O_SCEN_FIRST = 2000 }; /* after the O_ codes (from 1000) */

/* Sets scenario flag k (SCEN_OPTS index) from arg in plan; 1, or 0 after a one-line usage error. */
static int scen_opt_set(int k, const char *arg, bench_plan *plan) {
    const scen_opt *o = &SCEN_OPTS[k];
    void *field = (char *)plan + o->offset;
    long lv;
    double dv;
    switch (o->kind) {
    case SO_FLAG: *(int *)field = 1; return 1;
    case SO_SCENARIO:
        if ((*(bench_scenario *)field = bench_scenario_parse(arg)) != BENCH_SCEN_NONE) return 1;
        break;
    case SO_DOUBLE:
        if (nrps_parse_double(arg, o->lo, o->hi, &dv)) return *(double *)field = dv, 1;
        break;
    default:
        if (nrps_parse_long(arg, (long)o->lo, (long)o->hi, &lv)) {
            if (o->kind == SO_INT) *(int *)field = (int)lv;
            else *(long *)field = lv;
            return 1;
        }
    }
    cli_usage_error(CMD, "--%s expects %s, got '%s'", o->name, o->expect, arg ? arg : "");
    return 0;
}

/* opts followed by the scenario flags (codes O_SCEN_FIRST + k) and the terminator, in all (room for n). */
static void with_scen_opts(const struct option *opts, struct option *all, size_t n) {
    size_t k = 0;
    for (; opts[k].name && k + N_SCEN_OPTS + 1 < n; k++) all[k] = opts[k];
    for (int j = 0; j < N_SCEN_OPTS; j++)
        all[k++] = (struct option){SCEN_OPTS[j].name, SCEN_OPTS[j].kind == SO_FLAG ? no_argument : required_argument,
                                   0, O_SCEN_FIRST + j};
    all[k] = (struct option){0, 0, 0, 0};
}

/* A comma-separated list of distinct integers in [1, max] (`what`: "batch sizes", "thread counts"), sorted. */
static int parse_list(const char *flag, const char *what, long max, const char *s, int *out) {
    char *buf = strdup(s); /* the whole list, however long: never cut short */
    if (!buf) {
        cli_fail(CMD, "out of memory");
        return -1;
    }
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (!nrps_parse_long(t, 1, max, &v)) {
            cli_usage_error(CMD, "--%s expects comma-separated %s in [1, %ld], got '%.60s%s'", flag, what, max, t,
                            strlen(t) > 60 ? "..." : "");
            free(buf);
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= out[i] == (int)v;
        if (dup) continue;
        if (n == MAX_BATCHES) {
            cli_usage_error(CMD, "--%s takes at most %d different %s, got more", flag, MAX_BATCHES, what);
            free(buf);
            return -1;
        }
        out[n++] = (int)v;
    }
    free(buf);
    if (n == 0) {
        cli_usage_error(CMD, "--%s expects comma-separated %s, got '%s'", flag, what, s);
        return -1;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

/* --input-size / --output-size as given (-1: not given): a mismatch with a model warns, the model wins. */
typedef struct {
    long in_size, out_size;
} size_hints;

/* "name float32 [batch, 81], ..." for a model's inputs or outputs. */
static void tensors_line(const be_tensor *t, int n, char *buf, size_t len) {
    size_t pos = 0;
    buf[0] = 0;
    for (int k = 0; k < n && pos < len; k++) {
        char d[160];
        be_tensor_describe(&t[k], d, sizeof d);
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%s %s", k ? ", " : "", t[k].name, d);
    }
}

/* Header lines are wrapped at the terminal's width, continuations under the value column (12 spaces; 14 for a
 * skipped backend's reason). */
static void print_model(const bench_model_info *mi) {
    char io[700], outs[700];
    char enc[40] = "";
    if (mi->encoding[0]) snprintf(enc, sizeof enc, ", %s encoding", mi->encoding);
    nrps_wrapf(stdout, 0, 12, "  model     %-6s %s: %s%s%s%s, sha256 %.16s...", mi->label, mi->path, mi->kind,
               mi->arch[0] ? ", " : "", mi->arch, enc, mi->sha256);
    tensors_line(mi->input, mi->n_inputs, io, sizeof io);
    tensors_line(mi->output, mi->n_outputs, outs, sizeof outs);
    nrps_wrapf(stdout, 0, 14, "            inputs: %s; outputs: %s", io, outs);
    nrps_wrapf(stdout, 0, 14, "            validated against %s", mi->reference[0] ? mi->reference : "(validation off)");
    for (int i = 0; i < mi->n_skipped; i++)
        nrps_wrapf(stdout, 0, 14, "            %s: %s", mi->skipped[i].backend, mi->skipped[i].reason);
    if (mi->note[0]) nrps_wrapf(stdout, 0, 14, "            %s", mi->note);
}

/* Prints the run's header (machine, runtime, models, inputs, settings) before anything is timed. */
static void print_header(const bench_result *r, void *ctx) {
    const size_hints *sz = ctx;
    const bench_env *e = &r->env;
    for (int m = 0; m < e->n_models; m++) {
        const bench_model_info *mi = &e->models[m];
        if (sz->in_size > 0 && sz->in_size != mi->in)
            fprintf(stderr, "neural_rps benchmark: warning: --input-size %ld disagrees with %s (%d input%s); using the "
                            "model's %d\n", sz->in_size, mi->path, mi->in, mi->in == 1 ? "" : "s", mi->in);
        if (m == 0 && sz->out_size > 0 && sz->out_size != mi->out)
            fprintf(stderr, "neural_rps benchmark: warning: --output-size %ld disagrees with %s (%d output%s); using "
                            "the model's %d\n", sz->out_size, mi->path, mi->out, mi->out == 1 ? "" : "s", mi->out);
    }
    printf("neural_rps benchmark\n");
    nrps_wrapf(stdout, 0, 12, "  machine   %s, %d core%s, %s", e->cpu_model, e->cores, e->cores == 1 ? "" : "s", e->os);
    nrps_wrapf(stdout, 0, 12, "  runtime   ONNX Runtime %s (providers: %s); native CUDA %s; git %s", e->ort_version,
               e->providers, e->cuda_compiled ? "compiled in" : "not compiled in",
               e->git_commit[0] ? e->git_commit : "unknown");
    if (e->n_peaks) {
        char peaks[256] = "";
        for (int i = 0, pos = 0; i < e->n_peaks && pos < (int)sizeof peaks; i++)
            pos += snprintf(peaks + pos, sizeof peaks - (size_t)pos, "%s%s %.1f", i ? ", " : "", e->peak[i].isa,
                            e->peak[i].gflops);
        char all[160] = "";
        if (e->peak_threads > 1 && e->peak_threads_gflops > 0 && e->peak[0].gflops > 0)
            snprintf(all, sizeof all, "; %d threads at once: %.1f (%.2fx one core: the ceiling of %d-thread rows here)",
                     e->peak_threads, e->peak_threads_gflops, e->peak_threads_gflops / e->peak[0].gflops,
                     e->peak_threads);
        nrps_wrapf(stdout, 0, 12, "  cpu peak  GFLOP/s per core (FMA probe): %s; %%peak = a row's model GFLOP/s over "
                                  "its threads x the first%s", peaks, all);
    }
    for (int m = 0; m < e->n_models; m++) print_model(&e->models[m]);
    nrps_wrapf(stdout, 0, 12, "  inputs    %s", e->inputs);
    nrps_wrapf(stdout, 0, 12, "  warm-up   %s", e->warmup);
    nrps_wrapf(stdout, 0, 12, "  timing    %s; threads %d", e->iterations, e->threads);
    nrps_wrapf(stdout, 0, 12, "  session   %s", e->session);
    fflush(stdout);
}

/* Fills p->backends from --backends (NULL: the default list), then applies --cpu-only / --gpu-only. Returns 0 or
 * the usage error's exit status. */
static int plan_backends(bench_plan *p, const char *list, int cpu_only, int gpu_only) {
    if (!list) bench_plan_default_backends(p);
    else {
        if (strspn(list, ",") == strlen(list)) /* "" or ",,": not "no backend left" */
            return cli_usage_error(CMD, "--backends expects a comma-separated list of backends, got '%s'", list);
        char *buf = strdup(list); /* the whole list, however long: never cut short */
        if (!buf) return cli_fail(CMD, "out of memory");
        int rc = 0;
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
            char nm[64], known[256];
            be_registry_names(known, sizeof known);
            if (!strcmp(t, "ort")) snprintf(nm, sizeof nm, "ort-%.40s", p->opt.provider ? p->opt.provider : "cpu");
            else snprintf(nm, sizeof nm, "%.63s", t);
            if (strlen(nm) > 31 || strlen(t) > 31) { /* refused whole, never cut to a shorter (known) name */
                rc = cli_usage_error(CMD, "--backends: backend name '%.40s%s' is longer than 31 characters", nm,
                                     strlen(nm) > 40 ? "..." : "");
                break;
            }
            if (!be_name_known(nm)) {
                rc = cli_usage_error(CMD, "--backends: unknown backend '%s' (expected %s)", t, known);
                break;
            }
            int dup = 0;
            for (int i = 0; i < p->n_backends; i++) dup |= !strcmp(p->backends[i], nm);
            if (dup) continue;
            if (p->n_backends == BENCH_MAX_BACKENDS)
                rc = cli_usage_error(CMD, "--backends takes at most %d different backends, got more", BENCH_MAX_BACKENDS);
            else snprintf(p->backends[p->n_backends++], 32, "%.31s", nm); /* fits: checked above */
        }
        free(buf);
        if (rc) return rc;
        p->explicit_backends = 1;
    }
    int k = 0;
    for (int i = 0; i < p->n_backends; i++) {
        int g = be_is_gpu(p->backends[i]);
        if ((cpu_only && g) || (gpu_only && !g)) continue;
        memmove(p->backends[k++], p->backends[i], 32);
    }
    p->n_backends = k;
    if (!k)
        return cli_usage_error(CMD, "no backend left: --%s removes every backend named in --backends",
                               cpu_only ? "cpu-only" : "gpu-only");
    return 0;
}

/* The peers' lines: why they did not run at all, or which models they could not build (one line each; the header
 * was printed before they ran). */
static void print_peers(const bench_env *e) {
    int lines = 0;
    if (e->peers_note[0]) printf("\n%s peers: skipped: %s\n", e->peers, e->peers_note), lines++;
    for (int m = 0; m < e->n_models; m++) {
        const bench_model_info *mi = &e->models[m];
        for (int i = 0; i < mi->n_skipped; i++) {
            const bench_skip *s = &mi->skipped[i];
            int dup = 0; /* torch-eager and torch-script usually decline for the same reason */
            for (int j = 0; j < i; j++)
                dup |= !strncmp(mi->skipped[j].backend, "torch-", 6) && !strcmp(mi->skipped[j].reason, s->reason);
            if (strncmp(s->backend, "torch-", 6) || dup) continue;
            printf("%s%s peers: %s: skipped: %s\n", lines++ ? "" : "\n", e->peers, mi->label, s->reason);
        }
    }
}

/* Prints the reports and writes the files; returns the exit status. */
/* csv_search: the search rows' CSV beside csv (bench_csv_search_path), NULL or "" for none; written only when
 * search rows were measured. */
static int report(const bench_result *r, const char *json, const char *csv, const char *csv_search, const char *plot,
                  int wide) {
    bench_report_text(stdout, r->rows, r->n_rows, &r->env, wide);
    bench_report_profiles_text(stdout, &r->env);
    bench_report_search_text(stdout, r->srows, r->n_srows, wide);
    bench_report_recommend_text(stdout, r->recs, r->n_recs);
    bench_report_scenarios_text(stdout, r->scen, r->n_scen);
    if (r->scenario_note[0]) printf("\n"), nrps_wrap(stdout, 0, 2, r->scenario_note);
    if (r->floor_note[0]) printf("\n"), nrps_wrap(stdout, 0, 2, r->floor_note);
    print_peers(&r->env);
    if (r->search_note[0]) printf("\n"), nrps_wrap(stdout, 0, 2, r->search_note);
    if (r->env.gpu_note[0] && !r->n_gpu_ok) printf("\n"), nrps_wrapf(stdout, 0, 2, "GPU results absent: %s", r->env.gpu_note);
    else if (r->env.gpu_note[0]) printf("\n"), nrps_wrapf(stdout, 0, 2, "GPU backends not measured: %s", r->env.gpu_note);
    if (r->interrupted)
        printf("\nInterrupted (%s): the table shows what was measured before the stop.\n",
               nrps_signal_name(nrps_interrupted ? nrps_interrupted : SIGINT));
    fflush(stdout);
    int rc = 0;
    if (json && bench_report_json(json, r))
        rc = cli_fail(CMD, "--json: %s", nrps_last_error());
    if (csv && bench_report_csv(csv, r->rows, r->n_rows, &r->env)) rc = cli_fail(CMD, "--csv: %s", nrps_last_error());
    int measured = 0;
    for (int i = 0; i < r->n_srows; i++) measured += r->srows[i].moves >= 1;
    if (csv_search && csv_search[0] && measured && bench_report_csv_search(csv_search, r->srows, r->n_srows))
        rc = cli_fail(CMD, "--csv (search rows): %s", nrps_last_error());
    if (plot && bench_report_plot(plot, r->rows, r->n_rows, r->srows, r->n_srows, &r->env))
        rc = cli_fail(CMD, "--plot: %s", nrps_last_error());
    char verr[700];
    bench_result_validation_error(r, verr, sizeof verr);
    if (verr[0]) rc = cli_fail(CMD, "%s", verr);
    if (r->interrupted && rc == 0) rc = nrps_signal_exit_status(130);
    return rc;
}

/* The files benchmark writes (NULL: not asked for). */
typedef struct {
    const char *json, *csv, *csv_search, *plot, *profile, *optimized_out; /* csv_search: NULL or "" for none */
} output_files;

/* Declares what the run reads: the models (n_flag from --model-path, then the --value-model-path one when given,
 * else the defaults), the .npy inputs and the self-play agent's networks. */
static void declare_inputs(cli_io *io, const bench_plan *p, int n_flag, int value_given) {
    static agent_spec sp; /* the io set points into it */
    for (int i = 0; i < p->n_models; i++)
        cli_io_input(io, i < n_flag ? "model-path" : value_given ? "value-model-path" : "model-path (default)",
                     p->model_paths[i]);
    for (int i = 0; p->inputs == BENCH_INPUTS_FILES && i < p->n_input_files; i++)
        cli_io_input(io, "inputs", p->input_files[i]);
    if (p->inputs != BENCH_INPUTS_SELFPLAY) return;
    if (p->selfplay_agent) {
        if (agent_spec_parse(p->selfplay_agent, &sp) == NRPS_OK) cli_io_agent(io, "selfplay-agent", &sp);
    } else if (access(AGENT_DEFAULT_POLICY, F_OK) == 0 && access(AGENT_DEFAULT_VALUE, F_OK) == 0) {
        cli_io_input(io, "selfplay-agent (default)", AGENT_DEFAULT_POLICY); /* bench_inputs_default_agent */
        cli_io_input(io, "selfplay-agent (default)", AGENT_DEFAULT_VALUE);
    }
}

/* Every output path must be writable, and neither an input nor another output (one usage line otherwise).
 * Returns 1 when they are fine. */
static int check_files(const bench_plan *p, int n_flag, int value_given, const output_files *o) {
    cli_io io;
    cli_io_init(&io);
    declare_inputs(&io, p, n_flag, value_given);
    int ok = cli_io_output(&io, CMD, "json", o->json) && cli_io_output(&io, CMD, "csv", o->csv) &&
             (!o->csv_search || !o->csv_search[0] || cli_io_output(&io, CMD, "csv (search rows)", o->csv_search)) &&
             cli_io_output(&io, CMD, "plot", o->plot) && cli_io_output(&io, CMD, "profile", o->profile) &&
             cli_io_output(&io, CMD, "optimized-model-out", o->optimized_out);
    if (!ok) {
        nrps_io_free(&io);
        return 0;
    }
    return cli_io_check(&io, CMD);
}

enum { MAX_KV = 32 };

/* KEY=VALUE flags (--session-config, --provider-option, --dim), pointing into argv. */
typedef struct {
    be_kv kv[MAX_KV];
    be_dim dim[MAX_KV];
    char key[MAX_KV][128];
    int n;
} kv_flags;

/* Splits arg at its first '=' into set (key non-empty); numeric: the value must be an integer in [1, 2^30]
 * (stored in dim). Returns 0 or the usage error's exit status. */
static int parse_kv(const char *flag, const char *arg, int numeric, kv_flags *set) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof set->key[0])
        return cli_usage_error(CMD, "--%s expects %s, got '%s'", flag, numeric ? "NAME=N" : "KEY=VALUE", arg);
    if (set->n == MAX_KV) return cli_usage_error(CMD, "--%s: at most %d entries", flag, MAX_KV);
    snprintf(set->key[set->n], sizeof set->key[0], "%.*s", (int)(eq - arg), arg);
    long v = 0;
    if (numeric && !nrps_parse_long(eq + 1, 1, 1L << 30, &v))
        return cli_usage_error(CMD, "--%s %s: expected a size in [1, 1073741824] after '='", flag, arg);
    set->kv[set->n] = (be_kv){set->key[set->n], eq + 1};
    set->dim[set->n] = (be_dim){set->key[set->n], v};
    set->n++;
    return 0;
}

/* --inputs: selfplay, random, or a comma list of .npy files (one per graph input). */
static int parse_inputs(const char *arg, bench_plan *p, char *files, size_t len) {
    if (!strcmp(arg, "selfplay")) return p->inputs = BENCH_INPUTS_SELFPLAY, 0;
    if (!strcmp(arg, "random")) return p->inputs = BENCH_INPUTS_RANDOM, 0;
    if (strlen(arg) >= len) /* refused, never cut short */
        return cli_usage_error(CMD, "--inputs: the list of files is longer than %zu characters", len - 1);
    snprintf(files, len, "%s", arg);
    p->inputs = BENCH_INPUTS_FILES;
    p->n_input_files = 0;
    for (char *save = NULL, *t = strtok_r(files, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(t);
        if (n < 5 || strcmp(t + n - 4, ".npy"))
            return cli_usage_error(CMD, "--inputs expects selfplay, random or FILE.npy[,FILE2.npy,...], got '%s'", t);
        if (p->n_input_files == BE_MAX_IO) return cli_usage_error(CMD, "--inputs: at most %d files", BE_MAX_IO);
        p->input_files[p->n_input_files++] = t;
    }
    if (!p->n_input_files) return cli_usage_error(CMD, "--inputs expects selfplay, random or FILE.npy[,...], got ''");
    return 0;
}

static int parse_int_range(const char *arg, bench_plan *p) {
    char buf[128];
    if (strlen(arg) >= sizeof buf) /* refused, never cut short */
        return cli_usage_error(CMD, "--int-range expects LO,HI (integers within +-2^53), got '%.40s...'", arg);
    snprintf(buf, sizeof buf, "%s", arg);
    char *comma = strchr(buf, ',');
    long lo, hi;
    const long lim = 1L << 53;
    if (!comma || (*comma = 0, !nrps_parse_long(buf, -lim, lim, &lo)) || !nrps_parse_long(comma + 1, -lim, lim, &hi) ||
        lo > hi)
        return cli_usage_error(CMD, "--int-range expects LO,HI with LO <= HI (integers within +-2^53), got '%s'", arg);
    p->int_lo = lo, p->int_hi = hi;
    return 0;
}

static int parse_choice(const char *flag, const char *arg, const char *const *names, int n, int *out) {
    for (int i = 0; i < n; i++)
        if (!strcmp(arg, names[i])) return *out = i, 0;
    char list[128] = "";
    for (int i = 0; i < n; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return cli_usage_error(CMD, "--%s expects one of %s, got '%s'", flag, list, arg);
}

int cmd_benchmark(int argc, char **argv) {
    enum {
        O_MODEL = 1000, O_VALUE, O_IN, O_OUT, O_BATCH, O_ITERS, O_CPU, O_GPU, O_BACKENDS, O_PROVIDER, O_DEVICE,
        O_THREADS, O_WARMUP, O_DURATION, O_SWEEP, O_INPUTS, O_SEED, O_VALIDATE, O_NOVALIDATE, O_NOFLOOR, O_JSON,
        O_CSV, O_PLOT, O_HELP, O_AGENT, O_SGAMES, O_SPLAYOUTS, O_SBATCH, O_STHREADS, O_RECGAMES, O_NOSEARCH, O_INTRANGE, O_BATCHDIM, O_DIM,
        O_GRAPHOPT, O_EXECMODE, O_INTER, O_NOSPIN, O_PROFILE, O_OPTOUT, O_SESSCFG, O_PROVOPT, O_CONC, O_WIDE, O_PEERS
    };
    static const struct option opts[] = {
        {"model-path", required_argument, 0, O_MODEL}, {"value-model-path", required_argument, 0, O_VALUE},
        {"input-size", required_argument, 0, O_IN},    {"output-size", required_argument, 0, O_OUT},
        {"batch-size", required_argument, 0, O_BATCH}, {"iterations", required_argument, 0, O_ITERS},
        {"cpu-only", no_argument, 0, O_CPU},           {"gpu-only", no_argument, 0, O_GPU},
        {"backends", required_argument, 0, O_BACKENDS}, {"provider", required_argument, 0, O_PROVIDER},
        {"device-id", required_argument, 0, O_DEVICE}, {"threads", required_argument, 0, O_THREADS},
        {"warmup", required_argument, 0, O_WARMUP},    {"duration", required_argument, 0, O_DURATION},
        {"sweep", required_argument, 0, O_SWEEP},      {"inputs", required_argument, 0, O_INPUTS},
        {"seed", required_argument, 0, O_SEED},        {"validate", no_argument, 0, O_VALIDATE},
        {"no-validate", no_argument, 0, O_NOVALIDATE}, {"no-floor", no_argument, 0, O_NOFLOOR},
        {"json", required_argument, 0, O_JSON},        {"csv", required_argument, 0, O_CSV},
        {"plot", required_argument, 0, O_PLOT},        {"help", no_argument, 0, O_HELP},
        {"selfplay-agent", required_argument, 0, O_AGENT},
        {"search-games", required_argument, 0, O_SGAMES}, {"search-playouts", required_argument, 0, O_SPLAYOUTS},
        {"search-batch", required_argument, 0, O_SBATCH}, {"no-search", no_argument, 0, O_NOSEARCH},
        {"search-threads", required_argument, 0, O_STHREADS}, {"recommend-games", required_argument, 0, O_RECGAMES},
        {"int-range", required_argument, 0, O_INTRANGE}, {"batch-dim", required_argument, 0, O_BATCHDIM},
        {"dim", required_argument, 0, O_DIM},          {"graph-opt", required_argument, 0, O_GRAPHOPT},
        {"execution-mode", required_argument, 0, O_EXECMODE}, {"inter-threads", required_argument, 0, O_INTER},
        {"no-spin", no_argument, 0, O_NOSPIN},         {"profile", required_argument, 0, O_PROFILE},
        {"optimized-model-out", required_argument, 0, O_OPTOUT},
        {"session-config", required_argument, 0, O_SESSCFG}, {"provider-option", required_argument, 0, O_PROVOPT},
        {"concurrency", required_argument, 0, O_CONC}, {"wide", no_argument, 0, O_WIDE},
        {"peers", required_argument, 0, O_PEERS},
        {0, 0, 0, 0}};
    static const char *const GRAPH_OPT[] = {"all", "none", "basic", "extended"}; /* be_graph_opt order */
    static const char *const EXEC_MODE[] = {"sequential", "parallel"};
    bench_plan plan = bench_plan_default();
    static kv_flags dims, config, provopt; /* the plan points into them until bench_run returns */
    static char input_files[4096];
    memset(&dims, 0, sizeof dims), memset(&config, 0, sizeof config), memset(&provopt, 0, sizeof provopt);
    const char *model_paths[BENCH_MAX_MODELS];
    int n_model_paths = 0, explicit_batches = 0, graph_opt = 0, exec_mode = 0, urc = 0;
    long inter_threads = 0, concurrency = 1;
    const char *profile = NULL, *optimized_out = NULL;
    const char *policy_path = NULL, *value_path = NULL, *backends_arg = NULL, *provider = NULL, *json = NULL,
               *csv = NULL, *plot = NULL, *sweep = NULL, *selfplay_agent = NULL;
    long in_size = -1, out_size = -1, batch_size = 64, iterations = 1000, device_id = 0, threads = 1, warmup = -1,
         seed = 1;
    double duration = 0;
    int wide = 0, cpu_only = 0, gpu_only = 0, validate = 1, floor_on = 1, search_on = 1;
    long search_games = 10, search_playouts = 200, recommend_games = 200;
    const char *search_batch = "1,16", *search_threads = "1,2";
    long ncpu = nrps_cpus_usable();
    optind = 0;
    int c;
    struct option all_opts[sizeof opts / sizeof opts[0] + N_SCEN_OPTS];
    with_scen_opts(opts, all_opts, sizeof all_opts / sizeof all_opts[0]);
    while ((c = cli_getopt(CMD, argc, argv, all_opts)) != -1) {
        if (c >= O_SCEN_FIRST && c < O_SCEN_FIRST + N_SCEN_OPTS) {
            if (!scen_opt_set(c - O_SCEN_FIRST, optarg, &plan)) return 2;
            continue;
        }
        switch (c) {
        case -2: return 2;
        case O_HELP: usage(stdout); return 0;
        case O_MODEL:
            if (n_model_paths == BENCH_MAX_MODELS)
                return cli_usage_error(CMD, "--model-path: at most %d models", BENCH_MAX_MODELS);
            model_paths[n_model_paths++] = policy_path = optarg;
            break;
        case O_VALUE: value_path = optarg; break;
        case O_IN: if (!cli_long(CMD, "input-size", optarg, 1, 1 << 20, &in_size)) return 2; break;
        case O_OUT: if (!cli_long(CMD, "output-size", optarg, 1, 1 << 20, &out_size)) return 2; break;
        case O_BATCH:
            if (!cli_long(CMD, "batch-size", optarg, 1, 1000000000L, &batch_size)) return 2;
            explicit_batches = 1;
            break;
        case O_ITERS: if (!cli_long(CMD, "iterations", optarg, 1, 1000000000L, &iterations)) return 2; break;
        case O_CPU: cpu_only = 1; break;
        case O_GPU: gpu_only = 1; break;
        case O_BACKENDS: backends_arg = optarg; break;
        case O_PROVIDER: provider = optarg; break;
        case O_DEVICE: if (!cli_long(CMD, "device-id", optarg, 0, 1023, &device_id)) return 2; break;
        case O_THREADS: /* more intra-op threads than cores only makes ONNX Runtime spin (minutes per call) */
            if (!cli_long(CMD, "threads", optarg, 1, ncpu, &threads)) return 2;
            break;
        case O_WARMUP: if (!cli_long(CMD, "warmup", optarg, 0, 1000000000L, &warmup)) return 2; break;
        case O_DURATION: if (!cli_double(CMD, "duration", optarg, 0.001, 86400, &duration)) return 2; break;
        case O_SWEEP: sweep = optarg, explicit_batches = 1; break;
        case O_INPUTS: urc = parse_inputs(optarg, &plan, input_files, sizeof input_files); break;
        case O_INTRANGE: urc = parse_int_range(optarg, &plan); break;
        case O_BATCHDIM: plan.opt.batch_dim = optarg; break;
        case O_DIM: urc = parse_kv("dim", optarg, 1, &dims); break;
        case O_GRAPHOPT: urc = parse_choice("graph-opt", optarg, GRAPH_OPT, 4, &graph_opt); break;
        case O_EXECMODE: urc = parse_choice("execution-mode", optarg, EXEC_MODE, 2, &exec_mode); break;
        case O_INTER: if (!cli_long(CMD, "inter-threads", optarg, 1, ncpu, &inter_threads)) return 2; break;
        case O_NOSPIN: plan.opt.ort.no_spin = 1; break;
        case O_PROFILE: profile = optarg; break;
        case O_OPTOUT: optimized_out = optarg; break;
        case O_SESSCFG: urc = parse_kv("session-config", optarg, 0, &config); break;
        case O_PROVOPT: urc = parse_kv("provider-option", optarg, 0, &provopt); break;
        case O_CONC:
            if (!cli_long(CMD, "concurrency", optarg, 1, BENCH_MAX_CONCURRENCY, &concurrency)) return 2;
            break;
        case O_SEED: if (!cli_long(CMD, "seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 2; break;
        case O_VALIDATE: validate = 1; break;
        case O_NOVALIDATE: validate = 0; break;
        case O_NOFLOOR: floor_on = 0; break;
        case O_WIDE: wide = 1; break;
        case O_PEERS: /* the one peer there is; a list later */
            if (strcmp(optarg, "torch")) return cli_usage_error(CMD, "--peers expects torch, got '%s'", optarg);
            plan.peers = "torch";
            break;
        case O_JSON: json = optarg; break;
        case O_CSV: csv = optarg; break;
        case O_PLOT: plot = optarg; break;
        case O_AGENT: selfplay_agent = optarg; break;
        case O_SGAMES: if (!cli_long(CMD, "search-games", optarg, 1, 100000, &search_games)) return 2; break;
        case O_SPLAYOUTS: if (!cli_long(CMD, "search-playouts", optarg, 1, 100000, &search_playouts)) return 2; break;
        case O_SBATCH: search_batch = optarg; break;
        case O_STHREADS: search_threads = optarg; break;
        case O_RECGAMES: if (!cli_long(CMD, "recommend-games", optarg, 0, 100000, &recommend_games)) return 2; break;
        case O_NOSEARCH: search_on = 0; break;
        default: return cli_usage_error(CMD, "internal: unhandled flag");
        }
        if (urc) return urc;
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s' (see 'neural_rps benchmark --help')", argv[optind]);
    if (cpu_only && gpu_only) return cli_usage_error(CMD, "--cpu-only and --gpu-only exclude each other");
    if (selfplay_agent) {
        agent_spec as;
        if (agent_spec_parse(selfplay_agent, &as)) return cli_usage_error(CMD, "--selfplay-agent: %s", nrps_last_error());
    }
    if (provider && !be_ort_provider_known(provider))
        return cli_usage_error(CMD, "--provider: unknown ONNX Runtime provider '%s' (expected cuda, tensorrt, rocm, "
                                    "migraphx, openvino, coreml, dml, qnn, xnnpack, webgpu, ... or a full "
                                    "'...ExecutionProvider' name)", provider);
    if (inter_threads && !exec_mode) return cli_usage_error(CMD, "--inter-threads needs --execution-mode parallel");
    if (plot && system("command -v gnuplot >/dev/null 2>&1") != 0)
        return cli_usage_error(CMD, "--plot needs gnuplot, which is not installed (Debian: gnuplot-nox)");

    plan.opt.threads = (int)threads;
    plan.opt.dims = dims.dim;
    plan.opt.n_dims = dims.n;
    plan.opt.ort.graph_opt = (be_graph_opt)graph_opt;
    plan.opt.ort.parallel = exec_mode;
    plan.opt.ort.inter_threads = (int)inter_threads;
    plan.opt.ort.profile_prefix = profile;
    plan.profile_path = profile;
    plan.opt.ort.optimized_model_out = optimized_out;
    plan.opt.ort.config = config.kv;
    plan.opt.ort.n_config = config.n;
    plan.opt.ort.provider_options = provopt.kv;
    plan.opt.ort.n_provider_options = provopt.n;
    plan.concurrency = (int)concurrency;
    plan.explicit_batches = explicit_batches;
    plan.opt.device_id = (int)device_id;
    plan.opt.provider = provider;
    plan.loop.warmup = warmup;
    plan.loop.iterations = iterations;
    plan.loop.duration_s = duration;
    plan.seed = (uint64_t)seed;
    plan.selfplay_agent = selfplay_agent;
    plan.validate = validate;
    plan.floor = floor_on;
    plan.search = search_on;
    plan.search_games = (int)search_games;
    plan.search_playouts = (int)search_playouts;
    plan.recommend_games = (int)recommend_games;
    plan.gpu_only = gpu_only;
    plan.progress = cli_isatty_err();
    size_hints hints = {in_size, out_size};
    plan.on_ready = print_header;
    plan.on_ready_ctx = &hints;
    if (sweep) {
        if ((plan.n_batches = parse_list("sweep", "batch sizes", 1000000000L, sweep, plan.batches)) < 0) return 2;
    } else {
        plan.batches[1] = (int)batch_size;
        plan.n_batches = batch_size == 1 ? 1 : 2;
    }
    /* checked even with --no-search: a bad flag is an error wherever it is */
    if ((plan.n_search_batches = parse_list("search-batch", "batch sizes", 1000000000L, search_batch,
                                            plan.search_batches)) < 0 ||
        (plan.n_search_threads = parse_list("search-threads", "thread counts", MCTS_MAX_THREADS, search_threads,
                                            plan.search_threads)) < 0)
        return 2;
    if (plan.search_batches[plan.n_search_batches - 1] > 4096)
        return cli_usage_error(CMD, "--search-batch expects batch sizes up to 4096, got %d",
                               plan.search_batches[plan.n_search_batches - 1]);
    if ((urc = plan_backends(&plan, backends_arg, cpu_only, gpu_only))) return urc;
    if (!policy_path && !value_path) bench_plan_default_models(&plan);
    for (int i = 0; i < n_model_paths; i++) plan.model_paths[plan.n_models++] = model_paths[i];
    if (value_path && plan.n_models == BENCH_MAX_MODELS)
        return cli_usage_error(CMD, "--model-path/--value-model-path: at most %d models", BENCH_MAX_MODELS);
    if (value_path) plan.model_paths[plan.n_models++] = value_path;
    char csv_search[4096] = ""; /* the search rows' CSV, when the search section is planned */
    if (csv && plan.search && bench_csv_search_path(csv, csv_search, sizeof csv_search) < 0)
        return cli_usage_error(CMD, "--csv %s: the name is too long to add \"-search\" for the search rows' file", csv);
    output_files outs = {json, csv, csv_search, plot, profile, optimized_out};
    if (!check_files(&plan, n_model_paths, value_path != NULL, &outs)) return 2;

    nrps_install_signal_handlers();
    bench_result res;
    nrps_status st = bench_run(&plan, &res);
    int rc;
    if (st != NRPS_OK) {
        /* NRPS_ERR_ARG: the flags and the models disagree (a dimension to bind, a batch size a fixed-batch model
         * cannot take, .npy files that do not fit): a usage error */
        rc = st == NRPS_ERR_ARG ? cli_usage_error(CMD, "%s", nrps_last_error()) : cli_fail(CMD, "%s", nrps_last_error());
        if (st == NRPS_ERR_INTERRUPTED || nrps_interrupted) /* a signal before anything was timed */
            rc = nrps_signal_exit_status(130);
    } else {
        rc = report(&res, json, csv, csv_search, plot, wide);
    }
    bench_result_free(&res);
    return rc;
}
