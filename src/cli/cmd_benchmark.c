/* cmd_benchmark.c - `neural_rps benchmark`: times the policy and value nets through ONNX Runtime (CPU and GPU
 * execution providers) and our native C / CUDA backends, all on the same ONNX files and the same inputs
 * (self-play positions by default), validates every backend's outputs against the plain-C reference, and reports
 * per backend x model x batch size: session-creation time, first-call time, latency statistics in microseconds,
 * throughput, plus the ONNX Runtime per-call floor and a "Performance Comparison" computed only from numbers
 * measured in this run. See the README section "Benchmark" and docs/benchmark-json.md. */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

#define CMD "benchmark"
enum { MAX_BATCHES = BENCH_MAX_BATCHES };

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps benchmark [flags]\n"
            "Times ONNX models through ONNX Runtime and the native backends.\n\n"
            "  --model-path P        a model to time (default: models/rps_policy.onnx, models/rps_value.onnx and,\n"
            "                        when present, the two-headed models/rps_net.onnx)\n"
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
            "  --threads N           ONNX Runtime intra-op threads (default 1, at most the number of cores;\n"
            "                        native-cpu is single-threaded)\n"
            "  --inputs KIND         selfplay (positions from games, default) or random (uniform floats)\n"
            "  --seed N              seed for the inputs (default 1)\n"
            "  --selfplay-agent SPEC agent playing the self-play games (default mcts-net:64,temp=1,tplies=-1 with\n"
            "                        the default nets when models/ has both, else mcts:64,temp=1,tplies=-1);\n"
            "                        positions are cached in .cache/\n"
            "  --validate, --no-validate  check (default) or skip checking every backend's outputs against the\n"
            "                        plain-C reference; a mismatch fails the run\n"
            "  --no-floor            skip the ONNX Runtime floor (identity graph) measurement\n"
            "  --json FILE           write results as JSON (docs/benchmark-json.md)\n"
            "  --csv FILE            write results as CSV\n"
            "  --plot FILE.png       plot latency and throughput vs batch size (gnuplot)\n"
            "  --search-games N      inside-search benchmark: self-play games per backend and batch (default 10;\n"
            "                        needs both nets)\n"
            "  --search-playouts N   MCTS playouts per move in that benchmark (default 200)\n"
            "  --search-batch LIST   leaves per evaluator call there (default 1,16)\n"
            "  --no-search           skip the inside-search benchmark\n"
            "Exit status: 0 ok, 1 failure (including a validation mismatch), 2 usage error, 130 interrupted.\n"
            "Backends:\n");
    for (int i = 0; i < be_registry_count(); i++)
        fprintf(f, "  %-22s%s%s\n", be_registry_name(i), be_registry_description(i),
                be_registry_is_gpu(i) ? " [GPU]" : "");
}

/* Splits a comma list of positive ints into out (ascending, unique). Returns count or -1 (error printed). */
static int parse_batches(const char *flag, const char *s, int *out) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (!nrps_parse_long(t, 1, 1000000000L, &v)) {
            cli_usage_error(CMD, "--%s expects comma-separated batch sizes in [1, 1000000000], got '%s'", flag, t);
            return -1;
        }
        if (n == MAX_BATCHES) {
            cli_usage_error(CMD, "--sweep takes at most %d batch sizes", MAX_BATCHES);
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= out[i] == (int)v;
        if (!dup) out[n++] = (int)v;
    }
    if (n == 0) {
        cli_usage_error(CMD, "--%s expects comma-separated batch sizes, got '%s'", flag, s);
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

/* The folder of path must exist and be a directory (so nothing is half-written later). */
static int check_out_path(const char *flag, const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    const char *dir = dirname(tmp);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_usage_error(CMD, "--%s %s: folder '%s' does not exist", flag, path, dir);
        return 0;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_usage_error(CMD, "--%s %s is a folder, expected a file name", flag, path);
        return 0;
    }
    return cli_out_path_check(CMD, flag, path); /* e.g. /proc/x: the folder exists but takes no new file */
}

/* --input-size / --output-size as given (-1: not given): a mismatch with a model warns, the model wins. */
typedef struct {
    long in_size, out_size;
} size_hints;

/* Prints the run's header (machine, runtime, models, inputs, settings) before anything is timed. */
static void print_header(const bench_result *r, void *ctx) {
    const size_hints *sz = ctx;
    const bench_env *e = &r->env;
    for (int m = 0; m < e->n_models; m++) {
        const bench_model_info *mi = &e->models[m];
        if (sz->in_size > 0 && sz->in_size != mi->in)
            fprintf(stderr, "neural_rps benchmark: warning: --input-size %ld disagrees with %s (%d inputs); using the "
                            "model's %d\n", sz->in_size, mi->path, mi->in, mi->in);
        if (m == 0 && sz->out_size > 0 && sz->out_size != mi->out)
            fprintf(stderr, "neural_rps benchmark: warning: --output-size %ld disagrees with %s (%d outputs); using "
                            "the model's %d\n", sz->out_size, mi->path, mi->out, mi->out);
    }
    printf("neural_rps benchmark\n");
    printf("  machine   %s, %d cores, %s\n", e->cpu_model, e->cores, e->os);
    printf("  runtime   ONNX Runtime %s (providers: %s); native CUDA %s; git %s\n", e->ort_version, e->providers,
           e->cuda_compiled ? "compiled in" : "not compiled in", e->git_commit[0] ? e->git_commit : "unknown");
    for (int m = 0; m < e->n_models; m++)
        printf("  model     %-6s %s: %s, %s encoding, sha256 %.16s...\n", e->models[m].label, e->models[m].path,
               e->models[m].arch, e->models[m].encoding, e->models[m].sha256);
    printf("  inputs    %s\n  warm-up   %s\n  timing    %s; threads %d\n", e->inputs, e->warmup, e->iterations,
           e->threads);
    fflush(stdout);
}

/* Fills p->backends from --backends (NULL: the default list), then applies --cpu-only / --gpu-only. Returns 0 or
 * the usage error's exit status. */
static int plan_backends(bench_plan *p, const char *list, int cpu_only, int gpu_only) {
    if (!list) bench_plan_default_backends(p);
    else {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", list);
        if (strspn(list, ",") == strlen(list)) /* "" or ",,": not "no backend left" */
            return cli_usage_error(CMD, "--backends expects a comma-separated list of backends, got '%s'", list);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char nm[64], known[256];
            if (!strcmp(t, "ort")) snprintf(nm, sizeof nm, "ort-%s", p->opt.provider ? p->opt.provider : "cpu");
            else snprintf(nm, sizeof nm, "%s", t);
            be_registry_names(known, sizeof known);
            if (!be_name_known(nm)) return cli_usage_error(CMD, "--backends: unknown backend '%s' (expected %s)", t, known);
            int dup = 0;
            for (int i = 0; i < p->n_backends; i++) dup |= !strcmp(p->backends[i], nm);
            if (dup) continue;
            if (p->n_backends == BENCH_MAX_BACKENDS) return cli_usage_error(CMD, "--backends: too many backends");
            snprintf(p->backends[p->n_backends++], 32, "%.31s", nm);
        }
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

/* Prints the reports and writes the files; returns the exit status. */
static int report(const bench_result *r, const char *json, const char *csv, const char *plot) {
    bench_report_text(stdout, r->rows, r->n_rows, &r->env);
    bench_report_search_text(stdout, r->srows, r->n_srows);
    if (r->search_note[0]) printf("\n%s\n", r->search_note);
    if (r->env.gpu_note[0] && !r->n_gpu_ok) printf("\nGPU results absent: %s\n", r->env.gpu_note);
    else if (r->env.gpu_note[0]) printf("\nGPU backends not measured: %s\n", r->env.gpu_note);
    if (r->interrupted) printf("\nInterrupted (SIGINT): the table shows what was measured before the stop.\n");
    fflush(stdout);
    int rc = 0;
    if (json && bench_report_json(json, r->rows, r->n_rows, r->srows, r->n_srows, &r->env, r->interrupted))
        rc = cli_fail(CMD, "--json: %s", nrps_last_error());
    if (csv && bench_report_csv(csv, r->rows, r->n_rows)) rc = cli_fail(CMD, "--csv: %s", nrps_last_error());
    if (plot && bench_report_plot(plot, r->rows, r->n_rows)) rc = cli_fail(CMD, "--plot: %s", nrps_last_error());
    char verr[400];
    bench_result_validation_error(r, verr, sizeof verr);
    if (verr[0]) rc = cli_fail(CMD, "%s", verr);
    if (r->interrupted && rc == 0) rc = 130;
    return rc;
}

int cmd_benchmark(int argc, char **argv) {
    enum {
        O_MODEL = 1000, O_VALUE, O_IN, O_OUT, O_BATCH, O_ITERS, O_CPU, O_GPU, O_BACKENDS, O_PROVIDER, O_DEVICE,
        O_THREADS, O_WARMUP, O_DURATION, O_SWEEP, O_INPUTS, O_SEED, O_VALIDATE, O_NOVALIDATE, O_NOFLOOR, O_JSON,
        O_CSV, O_PLOT, O_HELP, O_AGENT, O_SGAMES, O_SPLAYOUTS, O_SBATCH, O_NOSEARCH
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
        {0, 0, 0, 0}};
    const char *policy_path = NULL, *value_path = NULL, *backends_arg = NULL, *provider = NULL, *json = NULL,
               *csv = NULL, *plot = NULL, *sweep = NULL, *selfplay_agent = NULL;
    long in_size = -1, out_size = -1, batch_size = 64, iterations = 1000, device_id = 0, threads = 1, warmup = -1,
         seed = 1;
    double duration = 0;
    int cpu_only = 0, gpu_only = 0, validate = 1, floor_on = 1, search_on = 1;
    long search_games = 10, search_playouts = 200;
    const char *search_batch = "1,16";
    bench_inputs_kind inputs = BENCH_INPUTS_SELFPLAY;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1) ncpu = 1;
    optind = 0;
    int c;
    while ((c = cli_getopt(CMD, argc, argv, opts)) != -1) {
        switch (c) {
        case -2: return 2;
        case O_HELP: usage(stdout); return 0;
        case O_MODEL: policy_path = optarg; break;
        case O_VALUE: value_path = optarg; break;
        case O_IN: if (!cli_long(CMD, "input-size", optarg, 1, 1 << 20, &in_size)) return 2; break;
        case O_OUT: if (!cli_long(CMD, "output-size", optarg, 1, 1 << 20, &out_size)) return 2; break;
        case O_BATCH: if (!cli_long(CMD, "batch-size", optarg, 1, 1000000000L, &batch_size)) return 2; break;
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
        case O_SWEEP: sweep = optarg; break;
        case O_INPUTS:
            if (!strcmp(optarg, "selfplay")) inputs = BENCH_INPUTS_SELFPLAY;
            else if (!strcmp(optarg, "random")) inputs = BENCH_INPUTS_RANDOM;
            else return cli_usage_error(CMD, "--inputs expects selfplay or random, got '%s'", optarg);
            break;
        case O_SEED: if (!cli_long(CMD, "seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 2; break;
        case O_VALIDATE: validate = 1; break;
        case O_NOVALIDATE: validate = 0; break;
        case O_NOFLOOR: floor_on = 0; break;
        case O_JSON: json = optarg; break;
        case O_CSV: csv = optarg; break;
        case O_PLOT: plot = optarg; break;
        case O_AGENT: selfplay_agent = optarg; break;
        case O_SGAMES: if (!cli_long(CMD, "search-games", optarg, 1, 100000, &search_games)) return 2; break;
        case O_SPLAYOUTS: if (!cli_long(CMD, "search-playouts", optarg, 1, 100000, &search_playouts)) return 2; break;
        case O_SBATCH: search_batch = optarg; break;
        case O_NOSEARCH: search_on = 0; break;
        default: return cli_usage_error(CMD, "internal: unhandled flag");
        }
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
    if ((json && !check_out_path("json", json)) || (csv && !check_out_path("csv", csv)) ||
        (plot && !check_out_path("plot", plot)))
        return 2;
    if (plot && system("command -v gnuplot >/dev/null 2>&1") != 0)
        return cli_usage_error(CMD, "--plot needs gnuplot, which is not installed (Debian: gnuplot-nox)");

    bench_plan plan = bench_plan_default();
    plan.opt.threads = (int)threads;
    plan.opt.device_id = (int)device_id;
    plan.opt.provider = provider;
    plan.loop.warmup = warmup;
    plan.loop.iterations = iterations;
    plan.loop.duration_s = duration;
    plan.inputs = inputs;
    plan.seed = (uint64_t)seed;
    plan.selfplay_agent = selfplay_agent;
    plan.validate = validate;
    plan.floor = floor_on;
    plan.search = search_on;
    plan.search_games = (int)search_games;
    plan.search_playouts = (int)search_playouts;
    plan.gpu_only = gpu_only;
    plan.progress = cli_isatty_err();
    size_hints hints = {in_size, out_size};
    plan.on_ready = print_header;
    plan.on_ready_ctx = &hints;
    if (sweep) {
        if ((plan.n_batches = parse_batches("sweep", sweep, plan.batches)) < 0) return 2;
    } else {
        plan.batches[1] = (int)batch_size;
        plan.n_batches = batch_size == 1 ? 1 : 2;
    }
    if (search_on) {
        if ((plan.n_search_batches = parse_batches("search-batch", search_batch, plan.search_batches)) < 0) return 2;
        if (plan.search_batches[plan.n_search_batches - 1] > 4096)
            return cli_usage_error(CMD, "--search-batch expects batch sizes up to 4096, got %d",
                                   plan.search_batches[plan.n_search_batches - 1]);
    }
    int urc = plan_backends(&plan, backends_arg, cpu_only, gpu_only);
    if (urc) return urc;
    if (!policy_path && !value_path) bench_plan_default_models(&plan);
    if (policy_path) plan.model_paths[plan.n_models++] = policy_path;
    if (value_path) plan.model_paths[plan.n_models++] = value_path;

    nrps_install_sigint_handler();
    bench_result res;
    nrps_status st = bench_run(&plan, &res);
    int rc;
    if (st != NRPS_OK) {
        rc = st == NRPS_ERR_ARG && strstr(nrps_last_error(), "--batch-size") ? cli_usage_error(CMD, "%s", nrps_last_error())
                                                                           : cli_fail(CMD, "%s", nrps_last_error());
        if (st == NRPS_ERR_INTERRUPTED || nrps_interrupted) rc = 130; /* SIGINT before anything was timed */
    } else {
        rc = report(&res, json, csv, plot);
    }
    bench_result_free(&res);
    return rc;
}
