/* report.c - benchmark reports: environment facts, the text table with the "Performance Comparison" section,
 * JSON (schema in docs/benchmark-json.md), CSV, and a gnuplot PNG of latency and throughput vs batch size.
 * Every ratio printed is computed from two rows measured in this run; a missing side gets a one-line reason. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

static void chomp(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
}

void bench_env_fill(bench_env *e) {
    snprintf(e->cpu_model, sizeof e->cpu_model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                const char *v = strchr(line, ':') + 1;
                while (*v == ' ' || *v == '\t') v++;
                snprintf(e->cpu_model, sizeof e->cpu_model, "%s", v);
                chomp(e->cpu_model);
                break;
            }
        fclose(f);
    }
    e->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    struct utsname u;
    if (!uname(&u)) snprintf(e->os, sizeof e->os, "%.40s %.80s %.30s", u.sysname, u.release, u.machine);
    snprintf(e->ort_version, sizeof e->ort_version, "%s", be_ort_version());
    be_ort_providers(e->providers, sizeof e->providers);
    e->git_commit[0] = 0;
    FILE *g = popen("git rev-parse --short=12 HEAD 2>/dev/null", "r");
    if (g) {
        if (fgets(e->git_commit, sizeof e->git_commit, g)) chomp(e->git_commit);
        if (pclose(g) != 0) e->git_commit[0] = 0;
    }
    double la[1];
    e->loadavg_start = getloadavg(la, 1) == 1 ? la[0] : -1;
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(e->timestamp, sizeof e->timestamp, "%Y-%m-%dT%H:%M:%SZ", &tmv);
#ifdef NRPS_HAVE_CUDA
    e->cuda_compiled = 1;
#else
    e->cuda_compiled = 0;
#endif
}

/* Throughput: one caller makes batch samples per mean latency; N concurrent callers made n calls of batch samples
 * in total_s of wall time together. */
static double samples_per_s(const bench_row *r) {
    if (r->concurrency > 1) return r->tm.total_s > 0 ? (double)r->tm.n * r->batch / r->tm.total_s : 0;
    return r->tm.st.mean > 0 ? r->batch * 1e6 / r->tm.st.mean : 0;
}
static double per_sample_us(const bench_row *r) {
    double sps = samples_per_s(r);
    return sps > 0 ? 1e6 / sps : 0;
}

static const bench_row *find_row(const bench_row *rows, int n, const char *backend, const char *model, int batch) {
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].backend, backend) && !strcmp(rows[i].model, model) && rows[i].batch == batch &&
            rows[i].tm.n > 0 && rows[i].concurrency <= 1)
            return &rows[i];
    return NULL;
}

/* "<who> is 2.31 times faster than <whom> (a vs b, p50 12.30 us vs 28.41 us)" from two measured rows. */
static void ratio_line(FILE *f, const char *label, const char *who, const char *whom, const bench_row *a,
                       const bench_row *b) {
    double x = a->tm.st.p50, y = b->tm.st.p50;
    char threads[96] = "";
    if (a->info.threads != b->info.threads)
        snprintf(threads, sizeof threads, "; %s uses %d thread%s, %s %d", a->backend, a->info.threads,
                 a->info.threads == 1 ? "" : "s", b->backend, b->info.threads);
    fprintf(f, "    %-32s %s is %.2f times %s than %s (%s vs %s, p50 %.2f us vs %.2f us%s)\n", label, who,
            x <= y ? y / x : x / y, x <= y ? "faster" : "slower", whom, a->backend, b->backend, x, y, threads);
}

static int declined(const bench_model_info *mi, const char *backend) {
    for (int i = 0; i < mi->n_skipped; i++)
        if (!strcmp(mi->skipped[i].backend, backend)) return 1;
    return 0;
}

/* The rows of N concurrent callers on one session (--concurrency), when there are any. */
static void report_concurrent(FILE *f, const bench_row *rows, int n) {
    int any = 0;
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (r->concurrency <= 1) continue;
        if (!any++)
            fprintf(f, "\nConcurrent callers (threads calling Run at once on one session; latency per call, "
                       "throughput of all together)\n%-12s %-12s %6s %7s %9s %9s %9s %10s %12s\n", "backend", "model",
                    "batch", "callers", "calls", "p50_us", "p99_us", "calls/s", "samples/s");
        if (r->tm.n < 1) continue;
        fprintf(f, "%-12s %-12s %6d %7d %9ld %9.2f %9.2f %10.0f %12.0f\n", r->backend, r->model, r->batch,
                r->concurrency, r->tm.n, r->tm.st.p50, r->tm.st.p99, r->tm.total_s > 0 ? r->tm.n / r->tm.total_s : 0,
                samples_per_s(r));
    }
}

void bench_report_text(FILE *f, const bench_row *rows, int n, const bench_env *e) {
    fprintf(f, "\n%-12s %-6s %6s %9s %10s %10s %10s %9s %9s %9s %9s %9s %10s %9s %6s %10s %12s %s\n", "backend", "model",
            "batch", "create_ms", "first_us", "mean_us", "cpu_us", "min_us", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us",
            "stdev_us", "CV%", "us/sample", "samples/s", "valid");
    int high_cv = 0, preempted = 0;
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (r->concurrency > 1) continue;
        if (r->tm.n < 1) {
            fprintf(f, "%-12s %-6s %6d   (no timed calls: interrupted)\n", r->backend, r->model, r->batch);
            continue;
        }
        const bench_stats *s = &r->tm.st;
        char valid[32] = "-";
        if (r->is_reference) snprintf(valid, sizeof valid, "ref");
        if (r->validated) snprintf(valid, sizeof valid, "%s %.1e", r->val.ok ? "ok" : "FAIL", r->val.max_abs);
        fprintf(f, "%-12s %-6s %6d %9.2f %10.2f %10.2f %10.2f %9.2f %9.2f %9.2f %9.2f %9.2f %10.2f %9.2f %6.1f %10.3f %12.0f %s%s\n",
                r->backend, r->model, r->batch, r->info.create_ms, r->tm.first_call_us, s->mean, r->tm.cpu_per_call_us, s->min, s->p50, s->p90,
                s->p99, s->p999, s->max, s->stdev, 100 * s->cv, per_sample_us(r), samples_per_s(r), valid,
                r->tm.interrupted ? " (interrupted)" : "");
        if (s->cv > 0.25) high_cv++;
        if (!be_is_gpu(r->backend) && r->tm.cpu_per_call_us > 0 && s->mean > 1.3 * r->tm.cpu_per_call_us) preempted++;
    }
    fprintf(f, "\nTimes are per call (wall clock, monotonic), in microseconds; percentiles by linear interpolation "
               "(numpy's default); stdev with n-1; cpu_us = process CPU time per call (all threads); valid = max abs error vs "
               "the model's reference (the header's 'validated against').\n");
    report_concurrent(f, rows, n);
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= !strcmp(rows[j].backend, rows[i].backend);
        if (!seen)
            fprintf(f, "  %-12s %s; %s; %s; %d thread%s\n", rows[i].backend, rows[i].info.provider, rows[i].info.device,
                    rows[i].info.note, rows[i].info.threads, rows[i].info.threads == 1 ? "" : "s");
    }
    if (preempted)
        fprintf(f, "WARNING: %d CPU row%s spent over 30%% of the wall time off the CPU (mean_us > 1.3 x cpu_us): the "
                   "process was preempted (load average %.2f -> %.2f on %d cores), so those latencies include waiting "
                   "for a CPU.\n",
                preempted, preempted == 1 ? "" : "s", e ? e->loadavg_start : -1, e ? e->loadavg_end : -1,
                e ? e->cores : 0);
    if (high_cv)
        fprintf(f, "WARNING: %d row%s with CV > 25%%: timings are noisy (a busy machine?); rerun with nice, longer "
                   "--duration or fewer concurrent jobs.\n",
                high_cv, high_cv == 1 ? "" : "s");

    /* Performance Comparison */
    fprintf(f, "\nPerformance Comparison (ratios of p50 latencies measured in this run)\n");
    const char *models[BENCH_MAX_MODELS];
    int nm = 0;
    for (int m = 0; e && m < e->n_models; m++) models[nm++] = e->models[m].label;
    for (int m = 0; m < nm; m++) {
        int maxb = 0, minb = 0;
        for (int i = 0; i < n; i++)
            if (!strcmp(rows[i].model, models[m]) && rows[i].tm.n > 0) {
                if (rows[i].batch > maxb) maxb = rows[i].batch;
                if (!minb || rows[i].batch < minb) minb = rows[i].batch;
            }
        if (!maxb) continue;
        int batches[2] = {minb, maxb};
        for (int k = 0; k < (maxb > minb ? 2 : 1); k++) {
            int bsz = batches[k];
            char label[64];
            fprintf(f, "  %s, %s (batch %d):\n", models[m], bsz == 1 ? "single inference" : "batch inference", bsz);
            snprintf(label, sizeof label, "GPU vs CPU:");
            int gpu_lines = 0;
            static const char *pairs[3][2] = {{"ort-cuda", "ort-cpu"}, {"ort-tensorrt", "ort-cpu"}, {"native-cuda", "native-cpu"}};
            for (int p = 0; p < 3; p++) {
                const bench_row *a = find_row(rows, n, pairs[p][0], models[m], bsz);
                const bench_row *b = find_row(rows, n, pairs[p][1], models[m], bsz);
                if (a && b) {
                    ratio_line(f, label, "GPU", "CPU", a, b);
                    gpu_lines++;
                } else if (a && !b) {
                    fprintf(f, "    %-32s %s measured but %s was not run: no ratio\n", label, pairs[p][0], pairs[p][1]);
                    gpu_lines++;
                }
            }
            if (!gpu_lines)
                fprintf(f, "    %-32s no ratio: no GPU backend measured in this run%s\n", label,
                        e && e->gpu_note[0] ? " (reason below)" : "");
            const bench_row *nat = find_row(rows, n, "native-cpu", models[m], bsz);
            const bench_row *ort = find_row(rows, n, "ort-cpu", models[m], bsz);
            if (nat && ort)
                ratio_line(f, "native C vs ONNX Runtime (CPU):", "native-cpu", "ort-cpu", nat, ort);
            else if (!nat && declined(&e->models[m], "native-cpu"))
                fprintf(f, "    %-32s no ratio: native-cpu declined this model (see the header)\n",
                        "native C vs ONNX Runtime (CPU):");
            else
                fprintf(f, "    %-32s no ratio: %s not measured in this run\n", "native C vs ONNX Runtime (CPU):",
                        !nat && !ort ? "native-cpu and ort-cpu" : !nat ? "native-cpu" : "ort-cpu");
            for (int i = 0; i < n; i++)
                if (!strcmp(rows[i].model, "floor") && rows[i].batch == bsz && rows[i].tm.n > 0 && ort)
                    fprintf(f, "    %-32s identity graph p50 %.2f us = %.0f%% of ort-cpu's %s p50 (%.2f us)\n",
                            "ONNX Runtime per-call floor:", rows[i].tm.st.p50, 100 * rows[i].tm.st.p50 / ort->tm.st.p50,
                            models[m], ort->tm.st.p50);
        }
    }
}

static cJSON *add_str_or_null(cJSON *o, const char *k, const char *v) {
    return v && v[0] ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k);
}

/* {"mean", "min", "p50", "p90", "p99", "p999", "max", "stdev"} in microseconds under key. */
static void add_latency(cJSON *o, const char *key, const bench_stats *st) {
    cJSON *l = cJSON_AddObjectToObject(o, key);
    cJSON_AddNumberToObject(l, "mean", st->mean);
    cJSON_AddNumberToObject(l, "min", st->min);
    cJSON_AddNumberToObject(l, "p50", st->p50);
    cJSON_AddNumberToObject(l, "p90", st->p90);
    cJSON_AddNumberToObject(l, "p99", st->p99);
    cJSON_AddNumberToObject(l, "p999", st->p999);
    cJSON_AddNumberToObject(l, "max", st->max);
    cJSON_AddNumberToObject(l, "stdev", st->stdev);
}

/* One tensor: name, element type and shape (symbolic dims by name, the batch axis marked). */
static cJSON *tensor_json(const be_tensor *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "type", be_dtype_name(t->dtype));
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    for (int d = 0; d < t->rank; d++)
        cJSON_AddItemToArray(shape, t->dim[d] > 0 && d != t->batch_axis ? cJSON_CreateNumber((double)t->dim[d])
                                    : cJSON_CreateString(t->dim_name[d][0] ? t->dim_name[d] : "?"));
    if (t->batch_axis >= 0) cJSON_AddNumberToObject(o, "batch_axis", t->batch_axis);
    else cJSON_AddNullToObject(o, "batch_axis");
    if (t->kind != NN_HEAD_OTHER) cJSON_AddStringToObject(o, "head", nn_head_kind_name(t->kind));
    return o;
}

/* A model's inputs, outputs, kind, reference, what was skipped and why. */
static void add_model_io(cJSON *p, const bench_model_info *mi) {
    cJSON_AddStringToObject(p, "kind", mi->kind);
    cJSON *in = cJSON_AddArrayToObject(p, "inputs"), *out = cJSON_AddArrayToObject(p, "outputs");
    for (int j = 0; j < mi->n_inputs; j++) cJSON_AddItemToArray(in, tensor_json(&mi->input[j]));
    for (int k = 0; k < mi->n_outputs; k++) cJSON_AddItemToArray(out, tensor_json(&mi->output[k]));
    if (mi->fixed_batch) cJSON_AddNumberToObject(p, "fixed_batch", mi->fixed_batch);
    else cJSON_AddNullToObject(p, "fixed_batch");
    add_str_or_null(p, "validated_against", mi->reference);
    add_str_or_null(p, "inputs_used", mi->data);
    add_str_or_null(p, "note", mi->note);
    cJSON *sk = cJSON_AddArrayToObject(p, "skipped");
    for (int i = 0; i < mi->n_skipped; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "backend", mi->skipped[i].backend);
        cJSON_AddStringToObject(o, "reason", mi->skipped[i].reason);
        cJSON_AddItemToArray(sk, o);
    }
}

static void add_profiles(cJSON *root, const bench_env *e) {
    cJSON *pa = cJSON_AddArrayToObject(root, "profiles");
    for (int i = 0; i < e->n_profiles; i++) {
        const bench_profile *pr = &e->profiles[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "session", pr->backend);
        cJSON_AddStringToObject(o, "file", pr->file);
        cJSON_AddNumberToObject(o, "kernel_time_us", pr->total_us);
        cJSON *ops = cJSON_AddArrayToObject(o, "top_ops");
        for (int k = 0; k < pr->n_ops; k++) {
            cJSON *op = cJSON_CreateObject();
            cJSON_AddStringToObject(op, "op", pr->ops[k].op);
            cJSON_AddStringToObject(op, "slowest_node", pr->ops[k].node);
            cJSON_AddNumberToObject(op, "calls", (double)pr->ops[k].calls);
            cJSON_AddNumberToObject(op, "total_us", pr->ops[k].total_us);
            cJSON_AddNumberToObject(op, "share", pr->ops[k].share);
            cJSON_AddItemToArray(ops, op);
        }
        cJSON_AddItemToArray(pa, o);
    }
}

void bench_report_profiles_text(FILE *f, const bench_env *e) {
    for (int i = 0; i < e->n_profiles; i++) {
        const bench_profile *pr = &e->profiles[i];
        fprintf(f, "\nONNX Runtime profile %s (%s): %.0f us of kernel time; the op types that took longest:\n",
                pr->backend, pr->file, pr->total_us);
        for (int k = 0; k < pr->n_ops; k++)
            fprintf(f, "  %-24s %8ld calls %12.0f us %6.1f%%  slowest node %s\n", pr->ops[k].op, pr->ops[k].calls,
                    pr->ops[k].total_us, 100 * pr->ops[k].share, pr->ops[k].node);
        if (!pr->n_ops) fprintf(f, "  (no kernel events)\n");
    }
}

nrps_status bench_report_json(const char *path, const bench_row *rows, int n, const bench_search_row *srows, int ns,
                              const bench_env *e, int interrupted) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "neural_rps.benchmark");
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON_AddStringToObject(root, "tool_version", NRPS_VERSION);
    cJSON_AddBoolToObject(root, "interrupted", interrupted);
    cJSON *env = cJSON_AddObjectToObject(root, "environment");
    cJSON_AddStringToObject(env, "cpu_model", e->cpu_model);
    cJSON_AddNumberToObject(env, "cores", e->cores);
    cJSON_AddStringToObject(env, "os", e->os);
    cJSON_AddStringToObject(env, "onnxruntime_version", e->ort_version);
    cJSON *pa = cJSON_AddArrayToObject(env, "providers_available");
    char prov[256];
    snprintf(prov, sizeof prov, "%s", e->providers);
    for (char *save = NULL, *t = strtok_r(prov, ",", &save); t; t = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(pa, cJSON_CreateString(t));
    cJSON_AddNumberToObject(env, "threads", e->threads);
    cJSON_AddNumberToObject(env, "loadavg_start", e->loadavg_start);
    cJSON_AddNumberToObject(env, "loadavg_end", e->loadavg_end);
    add_str_or_null(env, "git_commit", e->git_commit);
    cJSON_AddStringToObject(env, "timestamp", e->timestamp);
    cJSON_AddBoolToObject(env, "native_cuda_compiled", e->cuda_compiled);
    add_str_or_null(env, "gpu_absent_reason", e->gpu_note);
    cJSON *models = cJSON_AddObjectToObject(env, "models");
    for (int m = 0; m < e->n_models; m++) {
        cJSON *p = cJSON_AddObjectToObject(models, e->models[m].label);
        cJSON_AddStringToObject(p, "path", e->models[m].path);
        add_str_or_null(p, "sha256", e->models[m].sha256);
        add_str_or_null(p, "input_encoding", e->models[m].encoding);
        add_str_or_null(p, "architecture", e->models[m].arch);
        add_model_io(p, &e->models[m]);
    }
    cJSON *set = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddStringToObject(set, "inputs", e->inputs);
    cJSON_AddNumberToObject(set, "seed", (double)e->seed);
    cJSON_AddStringToObject(set, "warmup", e->warmup);
    cJSON_AddStringToObject(set, "iterations", e->iterations);
    cJSON_AddStringToObject(set, "session", e->session);
    cJSON_AddStringToObject(set, "latency_unit", "us");
    cJSON_AddStringToObject(set, "percentile_method", "linear interpolation between closest ranks (numpy default)");
    cJSON_AddNumberToObject(set, "validation_atol", BENCH_ATOL);
    cJSON_AddNumberToObject(set, "validation_rtol", BENCH_RTOL);
    cJSON *res = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (r->tm.n < 1) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "backend", r->backend);
        cJSON_AddStringToObject(o, "model", r->model);
        cJSON_AddStringToObject(o, "model_path", r->model_path);
        cJSON_AddNumberToObject(o, "batch_size", r->batch);
        cJSON_AddNumberToObject(o, "concurrency", r->concurrency > 1 ? r->concurrency : 1);
        cJSON_AddStringToObject(o, "provider", r->info.provider);
        cJSON_AddStringToObject(o, "device", r->info.device);
        cJSON_AddStringToObject(o, "timing_covers", r->info.note);
        cJSON_AddNumberToObject(o, "threads", r->info.threads);
        cJSON_AddStringToObject(o, "input_name", r->info.input[0].name);
        cJSON_AddStringToObject(o, "output_name", r->info.output[0].name);
        cJSON_AddNumberToObject(o, "input_size", r->info.input[0].width);
        cJSON_AddNumberToObject(o, "output_size", r->info.output[0].width);
        cJSON *outs = cJSON_AddArrayToObject(o, "outputs");
        for (int k = 0; outs && k < r->info.n_outputs; k++) {
            cJSON *oo = cJSON_CreateObject();
            cJSON_AddStringToObject(oo, "name", r->info.output[k].name);
            cJSON_AddNumberToObject(oo, "width", r->info.output[k].width);
            cJSON_AddStringToObject(oo, "kind", nn_head_kind_name(r->info.output[k].kind));
            cJSON_AddItemToArray(outs, oo);
        }
        cJSON_AddNumberToObject(o, "session_create_ms", r->info.create_ms);
        cJSON_AddNumberToObject(o, "first_call_us", r->tm.first_call_us);
        cJSON_AddNumberToObject(o, "warmup_calls", (double)r->tm.warmup_calls);
        cJSON_AddStringToObject(o, "warmup_result",
                                r->tm.warmup_settled > 0 ? "settled" : r->tm.warmup_settled < 0 ? "fixed" : "capped");
        cJSON_AddNumberToObject(o, "iterations", (double)r->tm.n);
        cJSON_AddNumberToObject(o, "total_s", r->tm.total_s);
        cJSON_AddNumberToObject(o, "cpu_time_per_call_us", r->tm.cpu_per_call_us);
        add_latency(o, "latency_us", &r->tm.st);
        cJSON_AddNumberToObject(o, "cv", r->tm.st.cv);
        cJSON_AddNumberToObject(o, "per_sample_us", per_sample_us(r));
        cJSON_AddNumberToObject(o, "samples_per_s", samples_per_s(r));
        if (r->validated) {
            cJSON *v = cJSON_AddObjectToObject(o, "validation");
            cJSON_AddNumberToObject(v, "max_abs_err", r->val.max_abs);
            cJSON_AddNumberToObject(v, "max_rel_err", r->val.max_rel);
            cJSON_AddNumberToObject(v, "top1_agree", (double)r->val.top1_agree);
            cJSON_AddNumberToObject(v, "top1_rows", (double)r->val.top1_rows);
            cJSON_AddNumberToObject(v, "atol", r->atol);
            cJSON_AddNumberToObject(v, "rtol", r->rtol);
            cJSON_AddBoolToObject(v, "ok", r->val.ok);
        } else {
            cJSON_AddNullToObject(o, "validation");
        }
        cJSON_AddBoolToObject(o, "interrupted", r->tm.interrupted);
        cJSON_AddItemToArray(res, o);
    }
    add_profiles(root, e);
    cJSON *sa = cJSON_AddArrayToObject(root, "search");
    for (int i = 0; i < ns; i++) {
        const bench_search_row *r = &srows[i];
        if (r->moves < 1) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "backend", r->backend);
        cJSON_AddStringToObject(o, "nets", r->nets);
        cJSON_AddNumberToObject(o, "playouts", r->playouts);
        cJSON_AddNumberToObject(o, "batch_size", r->batch);
        cJSON_AddNumberToObject(o, "games", (double)r->games);
        cJSON_AddNumberToObject(o, "moves", (double)r->moves);
        cJSON_AddNumberToObject(o, "total_s", r->total_s);
        add_latency(o, "move_latency_us", &r->move_us);
        cJSON_AddNumberToObject(o, "playouts_per_s", r->playouts_per_s);
        cJSON_AddNumberToObject(o, "evals_per_s", r->evals_per_s);
        cJSON_AddNumberToObject(o, "eval_calls", (double)r->eval_calls);
        cJSON_AddNumberToObject(o, "eval_states", (double)r->eval_states);
        cJSON_AddNumberToObject(o, "mean_eval_batch", r->mean_batch);
        cJSON_AddNumberToObject(o, "eval_time_share", r->eval_share);
        if (r->same_games < 0) {
            cJSON_AddNullToObject(o, "same_games_as_reference");
            cJSON_AddNullToObject(o, "reference");
        } else {
            cJSON_AddNumberToObject(o, "same_games_as_reference", (double)r->same_games);
            cJSON_AddStringToObject(o, "reference", r->reference);
        }
        cJSON_AddBoolToObject(o, "interrupted", r->interrupted);
        cJSON_AddItemToArray(sa, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    size_t len = strlen(text);
    text[len] = '\n';
    nrps_status rc = nrps_write_file_atomic(path, text, len + 1);
    free(text);
    return rc;
}

nrps_status bench_report_csv(const char *path, const bench_row *rows, int n) {
    nrps_atomic_file af;
    nrps_status rc = nrps_atomic_open(&af, path, "w");
    if (rc) return rc;
    fprintf(af.f, "backend,model,batch_size,concurrency,provider,threads,session_create_ms,first_call_us,warmup_calls,iterations,"
                  "mean_us,cpu_us,min_us,p50_us,p90_us,p99_us,p999_us,max_us,stdev_us,cv,per_sample_us,samples_per_s,"
                  "max_abs_err,valid,interrupted\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (r->tm.n < 1) continue;
        const bench_stats *s = &r->tm.st;
        char prov[128];
        snprintf(prov, sizeof prov, "%s", r->info.provider);
        for (char *p = prov; *p; p++)
            if (*p == ',' || *p == '"') *p = ';';
        fprintf(af.f, "%s,%s,%d,%d,\"%s\",%d,%.4f,%.3f,%ld,%ld,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.5f,%.5f,%.1f,",
                r->backend, r->model, r->batch, r->concurrency > 1 ? r->concurrency : 1, prov, r->info.threads, r->info.create_ms, r->tm.first_call_us,
                r->tm.warmup_calls, r->tm.n, s->mean, r->tm.cpu_per_call_us, s->min, s->p50, s->p90, s->p99, s->p999, s->max, s->stdev, s->cv,
                per_sample_us(r), samples_per_s(r));
        if (r->validated)
            fprintf(af.f, "%.3g,%s,", r->val.max_abs, r->val.ok ? "ok" : "FAIL");
        else
            fprintf(af.f, ",,");
        fprintf(af.f, "%d\n", r->tm.interrupted);
    }
    return nrps_atomic_commit(&af); /* a failed write above: "PATH: write failed: <reason>", temp file removed */
}

nrps_status bench_report_plot(const char *path, const bench_row *rows, int n) {
    char dat[] = "/tmp/nrps_plot_XXXXXX";
    int fd = mkstemp(dat);
    if (fd < 0) {
        nrps_set_error("plot: cannot create a temp file");
        return NRPS_ERR_IO;
    }
    FILE *f = fdopen(fd, "w");
    char titles[2048] = "";
    int series = 0;
    /* one data block per (backend, model) with at least one measured batch, batches ascending */
    for (int i = 0; i < n; i++) {
        if (rows[i].tm.n < 1) continue;
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= rows[j].tm.n > 0 && !strcmp(rows[j].backend, rows[i].backend) && !strcmp(rows[j].model, rows[i].model);
        if (dup) continue;
        int last = 0;
        for (;;) {
            const bench_row *best = NULL;
            for (int j = 0; j < n; j++)
                if (rows[j].tm.n > 0 && !strcmp(rows[j].backend, rows[i].backend) &&
                    !strcmp(rows[j].model, rows[i].model) && rows[j].batch > last && (!best || rows[j].batch < best->batch))
                    best = &rows[j];
            if (!best) break;
            fprintf(f, "%d %.4f %.2f\n", best->batch, best->tm.st.p50, best->batch * 1e6 / best->tm.st.p50);
            last = best->batch;
        }
        fprintf(f, "\n\n");
        size_t used = strlen(titles);
        snprintf(titles + used, sizeof titles - used, "%s%s/%s", series ? " " : "", rows[i].backend, rows[i].model);
        series++;
    }
    fclose(f);
    if (!series) {
        remove(dat);
        nrps_set_error("plot: no measured rows");
        return NRPS_ERR_ARG;
    }
    nrps_atomic_file af;
    nrps_status rc = nrps_atomic_open(&af, path, "wb");
    if (rc) {
        remove(dat);
        return rc;
    }
    char script[] = "/tmp/nrps_plot_gp_XXXXXX";
    int sfd = mkstemp(script);
    if (sfd < 0) {
        remove(dat);
        nrps_atomic_abort(&af);
        nrps_set_error("plot: cannot create a temp file");
        return NRPS_ERR_IO;
    }
    FILE *s = fdopen(sfd, "w");
    fprintf(s,
            "set terminal pngcairo size 1400,560 noenhanced\nset output '%s'\nset multiplot layout 1,2\n"
            "titles = '%s'\nset logscale xy\nset grid\nset key top left\nset xlabel 'batch size'\n"
            "set ylabel 'p50 latency per call (us)'\nset title 'latency vs batch size'\n"
            "plot for [i=1:%d] '%s' index (i-1) using 1:2 with linespoints title word(titles, i)\n"
            "set ylabel 'samples per second (batch / p50)'\nset title 'throughput vs batch size'\n"
            "plot for [i=1:%d] '%s' index (i-1) using 1:3 with linespoints title word(titles, i)\n"
            "unset multiplot\n",
            af.tmp, titles, series, dat, series, dat);
    fclose(s);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>&1", script);
    FILE *p = popen(cmd, "r");
    char msg[300] = "";
    int status = -1;
    if (p) {
        if (!fgets(msg, sizeof msg, p)) msg[0] = 0;
        char sink[256];
        while (fgets(sink, sizeof sink, p)) {
        }
        status = pclose(p);
    }
    remove(dat);
    remove(script);
    if (status != 0) {
        chomp(msg);
        nrps_atomic_abort(&af);
        nrps_set_error("plot: gnuplot failed%s%s", msg[0] ? ": " : " (is gnuplot installed?)", msg);
        return NRPS_ERR_IO;
    }
    return nrps_atomic_commit(&af);
}
