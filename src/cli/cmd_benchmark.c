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
#include "bench/search_bench.h"
#include "cli/cli.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "search/agent.h"
#include "search/eval_net.h"

#define CMD "benchmark"
enum { MAX_BACKENDS = 16, MAX_BATCHES = 32, POOL_MAX = 16384 };

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps benchmark [flags]\n"
            "Times the policy and value ONNX models through ONNX Runtime and the native backends.\n\n"
            "  --model-path P        policy model (default models/rps_policy.onnx)\n"
            "  --value-model-path P  value model (default models/rps_value.onnx); both are benchmarked unless one\n"
            "                        of the two flags is given alone\n"
            "  --input-size N        expected inputs per sample (a mismatch with the model warns; the model wins)\n"
            "  --output-size N       expected outputs of --model-path's model (same rule)\n"
            "  --batch-size N        batch size (default 64); batch 1 is always measured too\n"
            "  --sweep LIST          batch sizes instead, e.g. 1,8,64,256,1024,4096\n"
            "  --iterations N        timed calls per measurement (default 1000)\n"
            "  --duration S          time each measurement for S seconds instead of a count\n"
            "  --warmup N            fixed warm-up calls (default: until the median of 50-call windows changes\n"
            "                        by < 3%%, at least 100 calls, at most 20000 calls / 5 s)\n"
            "  --backends LIST       ort-cpu,native-cpu,ort-cuda,ort-tensorrt,ort-<provider>,native-cuda\n"
            "                        (default: ort-cpu,native-cpu + GPU backends when available)\n"
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
            "Exit status: 0 ok, 1 failure (including a validation mismatch), 2 usage error, 130 interrupted.\n");
}

typedef struct {
    const char *label; /* "policy" / "value" / "net" (two heads) / "other" */
    const char *path;
    be_model *model;
    const nn_net *ref; /* be_model_net(model): the reference forward's network */
    rps_encoding enc;  /* input encoding (metadata "input_encoding"; board when absent) */
} model_slot;

/* Output k of a model as the table names it. */
static const char *slot_label(const nn_net *n) {
    if (n->arch.n_heads == 2) return "net";
    return nn_head_kind_name(n->arch.head[0].kind);
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

static int add_backend(char names[][32], int *n, const char *name) {
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], name)) return 1;
    if (*n == MAX_BACKENDS) return 0;
    snprintf(names[(*n)++], 32, "%s", name);
    return 1;
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

    /* batch sizes */
    int batches[MAX_BATCHES], nb;
    if (sweep) {
        if ((nb = parse_batches("sweep", sweep, batches)) < 0) return 2;
    } else {
        batches[0] = 1;
        batches[1] = (int)batch_size;
        nb = batch_size == 1 ? 1 : 2;
    }
    int max_batch = batches[nb - 1];
    int sbatches[MAX_BATCHES], nsb = 0;
    if (search_on) {
        if ((nsb = parse_batches("search-batch", search_batch, sbatches)) < 0) return 2;
        if (sbatches[nsb - 1] > 4096)
            return cli_usage_error(CMD, "--search-batch expects batch sizes up to 4096, got %d", sbatches[nsb - 1]);
    }
    /* backends are sized for the largest batch of either benchmark */
    int be_max_batch = max_batch;
    if (nsb && sbatches[nsb - 1] > be_max_batch) be_max_batch = sbatches[nsb - 1];

    /* backends */
    char names[MAX_BACKENDS][32];
    int nnames = 0, explicit_backends = backends_arg != NULL;
    const char *gpu_ort = provider ? provider : "cuda";
    if (backends_arg) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", backends_arg);
        if (strspn(backends_arg, ",") == strlen(backends_arg)) /* "" or ",,": not "no backend left" */
            return cli_usage_error(CMD, "--backends expects a comma-separated list of backends, got '%s'", backends_arg);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char nm[64];
            if (!strcmp(t, "ort")) snprintf(nm, sizeof nm, "ort-%s", provider ? provider : "cpu");
            else snprintf(nm, sizeof nm, "%s", t);
            if (!be_name_known(nm)) {
                char known[256];
                be_registry_names(known, sizeof known);
                return cli_usage_error(CMD, "--backends: unknown backend '%s' (expected %s)", t, known);
            }
            if (!add_backend(names, &nnames, nm)) return cli_usage_error(CMD, "--backends: too many backends");
        }
    } else {
        char prov_list[256];
        be_ort_providers(prov_list, sizeof prov_list);
        add_backend(names, &nnames, "ort-cpu");
        add_backend(names, &nnames, "native-cpu");
        char nm[64];
        snprintf(nm, sizeof nm, "ort-%s", gpu_ort);
        add_backend(names, &nnames, nm);
        if (!provider && strstr(prov_list, "TensorrtExecutionProvider")) add_backend(names, &nnames, "ort-tensorrt");
        add_backend(names, &nnames, "native-cuda");
    }
    {
        int k = 0;
        for (int i = 0; i < nnames; i++) {
            int g = be_is_gpu(names[i]);
            if ((cpu_only && g) || (gpu_only && !g)) continue;
            memmove(names[k++], names[i], 32);
        }
        nnames = k;
        if (!nnames)
            return cli_usage_error(CMD, "no backend left: --%s removes every backend named in --backends",
                                   cpu_only ? "cpu-only" : "gpu-only");
    }

    /* models */
    model_slot models[2];
    memset(models, 0, sizeof models);
    int nmodels = 0;
    if (policy_path || !value_path) models[nmodels++] = (model_slot){.label = "policy", .path = policy_path ? policy_path : "models/rps_policy.onnx"};
    if (value_path || !policy_path) models[nmodels++] = (model_slot){.label = "value", .path = value_path ? value_path : "models/rps_value.onnx"};

    int rc = 1, interrupted = 0, validation_failed = 0;
    be_backend *bk[2][MAX_BACKENDS];
    memset(bk, 0, sizeof bk);
    bench_row *rows = NULL;
    int nrows = 0;
    float *pools[2] = {NULL, NULL}, *ref = NULL, *scratch = NULL; /* input pools by encoding (board, hands) */
    be_backend *floor_b = NULL;
    bench_env env;
    memset(&env, 0, sizeof env);
    bench_search_row *srows = NULL;
    int nsrows = 0;
    rps_move *smoves = NULL;
    char search_note[160] = "";

    for (int m = 0; m < nmodels; m++) {
        if (be_model_load(models[m].path, &models[m].model)) {
            cli_fail(CMD, "%s", nrps_last_error());
            goto cleanup;
        }
        if (!(models[m].ref = be_model_net(models[m].model))) {
            cli_fail(CMD, "%s: %s", models[m].path, be_model_refusal(models[m].model));
            goto cleanup;
        }
        if (eval_net_model_encoding(models[m].path, be_model_info(models[m].model)->input_encoding, &models[m].enc)) {
            cli_fail(CMD, "%s", nrps_last_error());
            goto cleanup;
        }
        /* label by what the file says it is (metadata, else the shape), so MODEL_FILE=value.onnx reads right */
        models[m].label = slot_label(models[m].ref);
        const nn_arch *r = &models[m].ref->arch;
        if (in_size > 0 && in_size != r->in)
            fprintf(stderr, "neural_rps benchmark: warning: --input-size %ld disagrees with %s (%d inputs); using the "
                            "model's %d\n", in_size, models[m].path, r->in, r->in);
        if (m == 0 && out_size > 0 && out_size != nn_head_width(r, 0))
            fprintf(stderr, "neural_rps benchmark: warning: --output-size %ld disagrees with %s (%d outputs); using "
                            "the model's %d\n", out_size, models[m].path, nn_head_width(r, 0), nn_head_width(r, 0));
    }
    if (nmodels == 2 && !strcmp(models[0].label, models[1].label) && models[0].ref->arch.n_heads == 1)
        models[0].label = "policy", models[1].label = "value";

    /* refuse up front a batch whose buffers would not fit: per sample, each backend holds input+output buffers
     * (ORT may hold as much again internally), plus the input pool, reference outputs and scratch */
    {
        double per_sample = 0;
        for (int m = 0; m < nmodels; m++) {
            const nn_arch *r = &models[m].ref->arch;
            int outs = 0;
            for (int h = 0; h < r->n_heads; h++) outs += nn_head_width(r, h);
            per_sample += 4.0 * ((r->in + outs) * (2.0 * nnames + 2) + 3.0 * nn_arch_max_width(r) * (nnames + 1.0) + r->in);
        }
        double need = per_sample * max_batch;
        double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
        if (phys > 0 && need > 0.5 * phys) {
            rc = cli_usage_error(CMD, "batch size %d needs about %.1f GiB of buffers, more than half of this machine's "
                                      "%.1f GiB; use a smaller --batch-size/--sweep", max_batch, need / (1 << 30),
                                 phys / (1 << 30));
            goto cleanup;
        }
    }

    /* create backends (session creation timed inside) */
    nrps_install_sigint_handler();
    be_options bo = be_options_default();
    bo.threads = (int)threads;
    bo.device_id = (int)device_id;
    bo.provider = provider;
    bo.max_batch = be_max_batch;
    int ngpu_ok = 0;
    for (int m = 0; m < nmodels; m++)
        for (int i = 0; i < nnames; i++) {
            int gpu = be_is_gpu(names[i]);
            if (gpu && m > 0) {
                /* a GPU backend that failed on the first model is not retried */
                int failed_before = 1;
                for (int k = 0; k < m; k++) failed_before &= bk[k][i] == NULL;
                if (failed_before) continue;
            }
            if (be_create(names[i], models[m].model, &bo, &bk[m][i]) == NRPS_OK) {
                if (gpu) ngpu_ok++;
                const be_info *bi = be_get_info(bk[m][i]);
                const nn_arch *r = &models[m].ref->arch;
                int same = bi->input_size == r->in && bi->n_outputs == r->n_heads;
                for (int h = 0; same && h < r->n_heads; h++)
                    same = bi->output[h].width == nn_head_width(r, h) && !strcmp(bi->output[h].name, r->head[h].name);
                if (!same) {
                    cli_fail(CMD, "%s: %s sees other inputs/outputs than the model file declares", models[m].path,
                             names[i]);
                    goto cleanup;
                }
                continue;
            }
            if (!gpu || explicit_backends) { /* a backend asked for by name must work */
                cli_fail(CMD, "%s", nrps_last_error());
                goto cleanup;
            }
            size_t used = strlen(env.gpu_note);
            snprintf(env.gpu_note + used, sizeof env.gpu_note - used, "%s%s", used ? "; " : "", nrps_last_error());
        }
    if (gpu_only && ngpu_ok == 0) {
        cli_fail(CMD, "--gpu-only: no GPU backend available: %s", env.gpu_note[0] ? env.gpu_note : "none requested");
        goto cleanup;
    }

    /* inputs: one pool of max_batch samples per input encoding the models use (81 floats for the game's nets) */
    int width = models[0].ref->arch.in;
    for (int m = 1; m < nmodels; m++)
        if (models[m].ref->arch.in != width) {
            cli_fail(CMD, "the models take different input sizes (%d and %d)", width, models[m].ref->arch.in);
            goto cleanup;
        }
    int pools_ok = 1;
    for (int m = 0; m < nmodels; m++)
        if (!pools[models[m].enc] && !(pools[models[m].enc] = malloc(sizeof(float) * (size_t)max_batch * width)))
            pools_ok = 0;
    size_t max_scratch = 0;
    int max_out = 0;
    for (int m = 0; m < nmodels; m++) {
        const nn_arch *r = &models[m].ref->arch;
        for (int h = 0; h < r->n_heads; h++)
            if (nn_head_width(r, h) > max_out) max_out = nn_head_width(r, h);
        if (nn_forward_scratch(r, max_batch) > max_scratch) max_scratch = nn_forward_scratch(r, max_batch);
    }
    ref = malloc(sizeof(float) * (size_t)max_batch * max_out * BE_MAX_OUTPUTS);
    scratch = malloc(sizeof(float) * (max_scratch > (size_t)max_batch * max_out * BE_MAX_OUTPUTS
                                          ? max_scratch : (size_t)max_batch * max_out * BE_MAX_OUTPUTS));
    rows = calloc((size_t)(nmodels + 1) * nnames * nb + nb, sizeof *rows);
    if (!pools_ok || !ref || !scratch || !rows) {
        cli_fail(CMD, "out of memory for batch size %d", max_batch);
        goto cleanup;
    }
    /* up to POOL_MAX distinct positions, repeated for larger batches */
    long distinct = max_batch < POOL_MAX ? max_batch : POOL_MAX;
    for (int e = 0; e < 2; e++) {
        float *pool = pools[e];
        if (!pool) continue;
        if (inputs == BENCH_INPUTS_RANDOM && e == 1 && pools[0]) { /* random floats: one pool serves both */
            memcpy(pool, pools[0], sizeof(float) * (size_t)max_batch * width);
            continue;
        }
        char desc[sizeof env.inputs];
        if (bench_inputs_make(inputs, distinct, width, (uint64_t)seed, selfplay_agent, e, ".cache", pool, desc,
                              sizeof desc)) {
            cli_fail(CMD, "inputs: %s", nrps_last_error());
            if (nrps_interrupted) rc = 130; /* SIGINT before anything was timed: still the documented 130 */
            goto cleanup;
        }
        for (long k = distinct; k < max_batch; k++)
            memcpy(pool + (size_t)k * width, pool + (size_t)(k % distinct) * width, sizeof(float) * width);
        size_t used = strlen(env.inputs);
        snprintf(env.inputs + used, sizeof env.inputs - used, "%s%s", used ? "; " : "", desc);
        if (distinct < max_batch) {
            used = strlen(env.inputs);
            snprintf(env.inputs + used, sizeof env.inputs - used, ", repeated to %d", max_batch);
        }
    }

    /* header */
    bench_env_fill(&env);
    env.threads = (int)threads;
    env.seed = (unsigned long long)seed;
    if (warmup >= 0) snprintf(env.warmup, sizeof env.warmup, "fixed: %ld calls", warmup);
    else snprintf(env.warmup, sizeof env.warmup, "auto: 50-call windows until medians change < 3%%, >= 100 calls, <= 20000 calls / 5 s");
    if (duration > 0) snprintf(env.iterations, sizeof env.iterations, "duration: %.3f s per measurement", duration);
    else snprintf(env.iterations, sizeof env.iterations, "%ld calls per measurement", iterations);
    for (int m = 0; m < nmodels; m++) {
        int pol = strcmp(models[m].label, "value") != 0;
        snprintf(pol ? env.policy_path : env.value_path, 512, "%s", models[m].path);
        snprintf(pol ? env.policy_sha256 : env.value_sha256, 65, "%s", be_model_sha256(models[m].model));
        snprintf(pol ? env.policy_encoding : env.value_encoding, 16, "%s", rps_encoding_name(models[m].enc));
    }
    printf("neural_rps benchmark\n");
    printf("  machine   %s, %d cores, %s\n", env.cpu_model, env.cores, env.os);
    printf("  runtime   ONNX Runtime %s (providers: %s); native CUDA %s; git %s\n", env.ort_version, env.providers,
           env.cuda_compiled ? "compiled in" : "not compiled in", env.git_commit[0] ? env.git_commit : "unknown");
    for (int m = 0; m < nmodels; m++) {
        const nn_arch *r = &models[m].ref->arch;
        char arch[160];
        nn_arch_describe(r, arch, sizeof arch);
        printf("  model     %-6s %s: %s %s/%s, %s encoding, sha256 %.16s...\n", models[m].label, models[m].path, arch,
               nn_act_name(r->layer[0].act), nn_act_name(nn_head_act(r, 0)), rps_encoding_name(models[m].enc),
               be_model_sha256(models[m].model));
    }
    printf("  inputs    %s\n  warm-up   %s\n  timing    %s; threads %ld\n", env.inputs, env.warmup, env.iterations,
           threads);
    fflush(stdout);

    bench_loop_opts lo = bench_loop_opts_default();
    lo.warmup = warmup;
    lo.iterations = iterations;
    lo.duration_s = duration;
    for (int m = 0; m < nmodels && !interrupted; m++)
        for (int bi = 0; bi < nb && !interrupted; bi++) {
            int batch = batches[bi];
            const nn_net *r = models[m].ref;
            const int nh = r->arch.n_heads;
            float *pool = pools[models[m].enc];
            float *refs[BE_MAX_OUTPUTS] = {ref, ref + (size_t)max_batch * max_out};
            if (validate && nn_forward(r, pool, batch, refs, scratch)) {
                cli_fail(CMD, "reference forward: %s", nrps_last_error());
                goto cleanup;
            }
            for (int i = 0; i < nnames && !interrupted; i++) {
                be_backend *b = bk[m][i];
                if (!b) continue;
                float *in, *out[BE_MAX_OUTPUTS];
                be_io_buffers(b, &in, out);
                if (!in) {
                    in = pool;
                    for (int h = 0; h < nh; h++) out[h] = scratch + (size_t)h * max_batch * max_out;
                } else {
                    memcpy(in, pool, sizeof(float) * (size_t)batch * width);
                }
                if (cli_isatty_err())
                    fprintf(stderr, "\r  timing %-12s %-6s batch %-7d", be_name(b), models[m].label, batch);
                bench_row *row = &rows[nrows];
                snprintf(row->backend, sizeof row->backend, "%s", be_name(b));
                snprintf(row->model, sizeof row->model, "%s", models[m].label);
                snprintf(row->model_path, sizeof row->model_path, "%s", models[m].path);
                row->batch = batch;
                row->info = *be_get_info(b);
                if (bench_time_backend(b, in, out, batch, &lo, &row->tm)) {
                    cli_fail(CMD, "%s", nrps_last_error());
                    bench_timing_free(&row->tm);
                    goto cleanup;
                }
                bench_timing_free(&row->tm);
                nrows++;
                if (row->tm.interrupted) interrupted = 1;
                if (validate && !interrupted) {
                    if (be_run(b, in, batch, out)) {
                        cli_fail(CMD, "%s", nrps_last_error());
                        goto cleanup;
                    }
                    bench_compare(out[0], refs[0], batch, nn_head_width(&r->arch, 0), BENCH_ATOL, BENCH_RTOL, &row->val);
                    for (int h = 1; h < nh; h++) {
                        bench_validation v2;
                        bench_compare(out[h], refs[h], batch, nn_head_width(&r->arch, h), BENCH_ATOL, BENCH_RTOL, &v2);
                        if (v2.max_abs > row->val.max_abs) row->val.max_abs = v2.max_abs;
                        if (v2.max_rel > row->val.max_rel) row->val.max_rel = v2.max_rel;
                        row->val.top1_agree += v2.top1_agree;
                        row->val.top1_rows += v2.top1_rows;
                        row->val.bad_values += v2.bad_values;
                        row->val.ok = row->val.ok && v2.ok;
                    }
                    row->validated = 1;
                    if (!row->val.ok) validation_failed++;
                }
            }
        }
    /* ONNX Runtime floor: an identity graph of the same input shape through ort-cpu */
    int have_ort_cpu = 0;
    for (int i = 0; i < nnames; i++) have_ort_cpu |= !strcmp(names[i], "ort-cpu");
    if (floor_on && have_ort_cpu && !interrupted) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        be_model *fm = NULL;
        nrps_status fst = onnx_identity_buffer(width, &bytes, &len);
        if (fst == NRPS_OK) fst = be_model_from_bytes(bytes, len, "identity graph", &fm);
        free(bytes);
        if (fst == NRPS_OK) fst = be_create("ort-cpu", fm, &bo, &floor_b);
        be_model_free(fm);
        if (fst != NRPS_OK) {
            cli_fail(CMD, "ONNX Runtime floor: %s", nrps_last_error());
            goto cleanup;
        }
        for (int bi = 0; bi < nb && !interrupted; bi++) {
            float *in, *out[BE_MAX_OUTPUTS];
            be_io_buffers(floor_b, &in, out);
            memcpy(in, pools[models[0].enc], sizeof(float) * (size_t)batches[bi] * width);
            bench_row *row = &rows[nrows];
            snprintf(row->backend, sizeof row->backend, "ort-cpu");
            snprintf(row->model, sizeof row->model, "floor");
            snprintf(row->model_path, sizeof row->model_path, "(identity graph, %d floats)", width);
            row->batch = batches[bi];
            row->info = *be_get_info(floor_b);
            if (bench_time_backend(floor_b, in, out, batches[bi], &lo, &row->tm)) {
                cli_fail(CMD, "%s", nrps_last_error());
                goto cleanup;
            }
            bench_timing_free(&row->tm);
            nrows++;
            if (row->tm.interrupted) interrupted = 1;
        }
    }
    /* inference inside a real search: self-play games with MCTS on each backend pair (policy + value) */
    int pm = -1, vm = -1, pout, vout;
    for (int m = 0; m < nmodels; m++) {
        be_backend *any = NULL;
        for (int i = 0; i < nnames && !any; i++) any = bk[m][i];
        if (!any) continue;
        if (pm < 0 && eval_net_fit(be_get_info(any), NN_HEAD_POLICY, &pout) == NRPS_OK) pm = m;
        if (vm < 0 && eval_net_fit(be_get_info(any), NN_HEAD_VALUE, &vout) == NRPS_OK) vm = m;
    }
    if (search_on && !interrupted && (pm < 0 || vm < 0))
        snprintf(search_note, sizeof search_note, "inside-search benchmark skipped: it needs both networks "
                                                  "(81->9 and 81->1)");
    if (search_on && !interrupted && pm >= 0 && vm >= 0) {
        srows = calloc((size_t)nnames * nsb, sizeof *srows);
        smoves = calloc((size_t)(nnames + 1) * search_games * RPS_MAX_PLIES, sizeof *smoves);
        if (!srows || !smoves) {
            cli_fail(CMD, "out of memory for the search benchmark");
            goto cleanup;
        }
        int refi = -1; /* reference backend: native-cpu (the C reference's twin) when present, else the first */
        for (int i = 0; i < nnames; i++)
            if (bk[pm][i] && bk[vm][i] && (refi < 0 || !strcmp(names[i], "native-cpu"))) refi = i;
        for (int bi = 0; bi < nsb && !interrupted; bi++)
            for (int pass = 0; pass < 2 && !interrupted; pass++) /* the reference first */
                for (int i = 0; i < nnames && !interrupted; i++) {
                    if (!bk[pm][i] || !bk[vm][i] || (pass == 0) != (i == refi)) continue;
                    if (cli_isatty_err()) fprintf(stderr, "\r  search: %-12s batch %-5d", names[i], sbatches[bi]);
                    bench_search_row *sr = &srows[nsrows];
                    rps_move *mv = smoves + (size_t)(i + 1) * search_games * RPS_MAX_PLIES;
                    if (bench_search_run(bk[pm][i], models[pm].enc, bk[vm][i], models[vm].enc, (int)search_playouts, sbatches[bi], (int)search_games, (uint64_t)seed, mv, sr)) {
                        cli_fail(CMD, "search benchmark (%s): %s", names[i], nrps_last_error());
                        goto cleanup;
                    }
                    if (i == refi) memcpy(smoves, mv, sizeof *smoves * (size_t)search_games * RPS_MAX_PLIES);
                    else {
                        sr->same_games = bench_search_same_games(smoves, mv, (int)sr->games);
                        snprintf(sr->reference, sizeof sr->reference, "%s", names[refi]);
                    }
                    nsrows++;
                    if (sr->interrupted) interrupted = 1;
                }
    }
    if (cli_isatty_err()) fprintf(stderr, "\r%60s\r", "");
    {
        double la[1];
        env.loadavg_end = getloadavg(la, 1) == 1 ? la[0] : -1;
    }

    bench_report_text(stdout, rows, nrows, &env);
    bench_report_search_text(stdout, srows, nsrows);
    if (search_note[0]) printf("\n%s\n", search_note);
    if (env.gpu_note[0] && !ngpu_ok) printf("\nGPU results absent: %s\n", env.gpu_note);
    else if (env.gpu_note[0]) printf("\nGPU backends not measured: %s\n", env.gpu_note);
    if (interrupted) printf("\nInterrupted (SIGINT): the table shows what was measured before the stop.\n");
    fflush(stdout);
    rc = 0;
    if (json && bench_report_json(json, rows, nrows, srows, nsrows, &env, interrupted)) rc = cli_fail(CMD, "--json: %s", nrps_last_error());
    if (csv && bench_report_csv(csv, rows, nrows)) rc = cli_fail(CMD, "--csv: %s", nrps_last_error());
    if (plot && bench_report_plot(plot, rows, nrows)) rc = cli_fail(CMD, "--plot: %s", nrps_last_error());
    if (validation_failed) {
        for (int i = 0; i < nrows; i++)
            if (rows[i].validated && !rows[i].val.ok) {
                rc = cli_fail(CMD, "validation failed: %s %s batch %d differs from the reference (max abs %.3g, top-1 "
                                   "%ld/%ld, tolerance %g + %g*|ref|)", rows[i].backend, rows[i].model, rows[i].batch,
                              rows[i].val.max_abs, rows[i].val.top1_agree, rows[i].val.top1_rows, BENCH_ATOL, BENCH_RTOL);
                break;
            }
    }
    if (interrupted && rc == 0) rc = 130;
cleanup:
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < MAX_BACKENDS; i++) be_destroy(bk[m][i]);
    be_destroy(floor_b);
    for (int m = 0; m < 2; m++) be_model_free(models[m].model);
    free(pools[0]);
    free(pools[1]);
    free(ref);
    free(scratch);
    free(rows);
    free(srows);
    free(smoves);
    return rc;
}
