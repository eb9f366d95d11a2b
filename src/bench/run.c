/* run.c - the benchmark harness (run.h): loads the models once, creates every backend on them (a native backend
 * that cannot run a model declines in one line and the run goes on), makes the inputs (game positions, seeded
 * random data of each input's type, or .npy files), times each backend x model x batch, validates against the
 * reference (the plain-C forward for the dense network family, else ort-cpu), measures the ONNX Runtime floor, N
 * callers on one session, and inference inside a real search. */
#include "bench/run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run_impl.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "search/eval_net.h"

bench_plan bench_plan_default(void) {
    bench_plan p;
    memset(&p, 0, sizeof p);
    p.opt = be_options_default();
    p.loop = bench_loop_opts_default();
    p.inputs = BENCH_INPUTS_SELFPLAY;
    p.int_lo = 0, p.int_hi = 1;
    p.seed = 1;
    p.cache_dir = ".cache";
    p.validate = p.floor = p.search = 1;
    p.concurrency = 1;
    p.search_games = 10;
    p.search_playouts = 200;
    p.batches[0] = 1, p.batches[1] = 64, p.n_batches = 2;
    p.search_batches[0] = 1, p.search_batches[1] = 16, p.n_search_batches = 2;
    p.search_threads[0] = 1, p.search_threads[1] = 2, p.n_search_threads = 2;
    p.recommend_games = 200;
    p.target_rate = 100000, p.latency_bound_us = 100;
    p.batch_wait_us = 0, p.server_max_batch = 256;
    p.scenario_duration_s = 1.0, p.min_queries = 20000;
    p.stream_batch = 16;
    int cores = nrps_cpus_usable();
    p.scenario_threads = cores > 64 ? 64 : cores;
    return p;
}

static void add_backend(bench_plan *p, const char *name) {
    for (int i = 0; i < p->n_backends; i++)
        if (!strcmp(p->backends[i], name)) return;
    if (p->n_backends < BENCH_MAX_BACKENDS) snprintf(p->backends[p->n_backends++], 32, "%.31s", name);
}

void bench_plan_default_backends(bench_plan *p) {
    char prov[256], nm[64];
    be_ort_providers(prov, sizeof prov);
    for (int i = 0; i < be_registry_count(); i++) {
        const char *name = be_registry_name(i);
        if (!be_registry_bench_default(i)) continue;
        if (!strcmp(name, "ort-cuda") && p->opt.provider) { /* --provider names the accelerated ORT backend */
            snprintf(nm, sizeof nm, "ort-%s", p->opt.provider);
            name = nm;
        } else if (!strcmp(name, "ort-tensorrt") && (p->opt.provider || !strstr(prov, "TensorrtExecutionProvider"))) {
            continue; /* only when this ONNX Runtime build has it and no provider was named */
        }
        add_backend(p, name);
    }
}

void bench_plan_default_models(bench_plan *p) {
    static const char *defaults[3] = {"models/rps_policy.onnx", "models/rps_value.onnx", "models/rps_net.onnx"};
    p->n_models = 0;
    for (int i = 0; i < 3; i++)
        if (i < 2 || access(defaults[i], F_OK) == 0) p->model_paths[p->n_models++] = defaults[i];
}

void bench_result_free(bench_result *r) {
    free(r->rows);
    free(r->srows);
    free(r->recs);
    free(r->scen);
    memset(r, 0, sizeof *r);
}

/* ---- models ---- */

/* The label: a family network's head kind ("net" for two heads), else the file name without ".onnx" (at most 15
 * characters); made unique among the earlier models. */
static void model_label(const bench_result *r, int m, const char *path, const nn_net *n, char *out, size_t len) {
    char base[16];
    if (n && (n->arch.n_heads == 2 || n->arch.head[0].kind != NN_HEAD_OTHER)) {
        snprintf(base, sizeof base, "%s", n->arch.n_heads == 2 ? "net" : nn_head_kind_name(n->arch.head[0].kind));
    } else {
        const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path, *dot = strstr(name, ".onnx");
        int len_ = dot && dot != name ? (int)(dot - name) : (int)strlen(name);
        snprintf(base, sizeof base, "%.*s", len_ < 15 ? len_ : 15, name);
    }
    snprintf(out, len, "%s", base);
    for (int k = 2, clash = 1; clash; k++) {
        clash = 0;
        for (int j = 0; j < m; j++) clash |= !strcmp(r->env.models[j].label, out);
        char numbered[32];
        snprintf(numbered, sizeof numbered, "%.12s-%d", base, k);
        if (clash) snprintf(out, len, "%.15s", numbered);
    }
}

static nrps_status load_models(run_ctx *c) {
    const bench_plan *p = c->p;
    bench_env *e = &c->r->env;
    for (int m = 0; m < p->n_models; m++) {
        model_ctx *mc = &c->m[m];
        nrps_status st = be_model_load(p->model_paths[m], &mc->model);
        if (st != NRPS_OK) return st;
        c->n_models = e->n_models = m + 1;
        mc->net = be_model_net(mc->model);
        bench_model_info *mi = &e->models[m];
        model_label(c->r, m, p->model_paths[m], mc->net, mi->label, sizeof mi->label);
        snprintf(mi->path, sizeof mi->path, "%s", p->model_paths[m]);
        snprintf(mi->sha256, sizeof mi->sha256, "%s", be_model_sha256(mc->model));
        mc->enc = RPS_ENC_BOARD;
        const char *enc_meta = mc->net ? be_model_info(mc->model)->input_encoding : "";
        if (mc->net && (st = eval_net_model_encoding(p->model_paths[m], enc_meta, &mc->enc))) return st;
        if (!mc->net) continue;
        char arch[128];
        nn_arch_describe(&mc->net->arch, arch, sizeof arch);
        snprintf(mi->arch, sizeof mi->arch, "%s %s/%s", arch, nn_act_name(mc->net->arch.layer[0].act),
                 nn_act_name(nn_head_act(&mc->net->arch, 0)));
        mi->flops = nn_arch_flops(&mc->net->arch);
    }
    return NRPS_OK;
}

/* "policy", "value", "two-headed" or "not a game model", from the shapes: one float32 [batch, 81] input and
 * 9-wide (policy) / 1-wide (value) float32 outputs. */
static const char *model_kind(const be_info *bi) {
    if (bi->n_inputs != 1 || !be_tensor_is_rows(&bi->input[0], RPS_INPUT_SIZE)) return "not a game model";
    int pol = 0, val = 0, other = 0;
    for (int k = 0; k < bi->n_outputs; k++) {
        if (be_tensor_is_rows(&bi->output[k], RPS_POLICY_SIZE) && bi->output[k].kind != NN_HEAD_VALUE) pol++;
        else if (be_tensor_is_rows(&bi->output[k], 1) && bi->output[k].kind != NN_HEAD_POLICY) val++;
        else other++;
    }
    if (other || pol > 1 || val > 1) return "not a game model";
    return pol && val ? "two-headed" : pol ? "policy" : "value";
}

/* Why the search cannot use model m ("" when it can): it needs a dense-family network (its output activations
 * known) that fits the game and takes any batch size. */
static void search_fit(model_ctx *mc, const bench_model_info *mi, const be_info *bi) {
    int k;
    mc->game = 0;
    if (!strcmp(mi->kind, "not a game model")) snprintf(mc->search_why, sizeof mc->search_why, "not a game model");
    else if (!mc->net)
        snprintf(mc->search_why, sizeof mc->search_why,
                 "outside the dense network family, so the search does not know its output activations");
    else if (bi->fixed_batch)
        snprintf(mc->search_why, sizeof mc->search_why, "its graph fixes the batch size to %d", bi->fixed_batch);
    else if (eval_net_fit(bi, NN_HEAD_POLICY, &k) && eval_net_fit(bi, NN_HEAD_VALUE, &k))
        snprintf(mc->search_why, sizeof mc->search_why, "%s", nrps_last_error());
    else mc->game = 1;
}

/* Kind, widths and tensors of model m from the first backend that runs it. */
static void describe_model(run_ctx *c, int m, const be_info *bi) {
    bench_model_info *mi = &c->r->env.models[m];
    model_ctx *mc = &c->m[m];
    snprintf(mi->kind, sizeof mi->kind, "%s", model_kind(bi));
    search_fit(mc, mi, bi);
    mc->positions = bi->n_inputs == 1 && be_tensor_is_rows(&bi->input[0], RPS_INPUT_SIZE);
    if (mc->positions) snprintf(mi->encoding, sizeof mi->encoding, "%s", rps_encoding_name(mc->enc));
    mi->n_inputs = bi->n_inputs;
    mi->n_outputs = bi->n_outputs;
    memcpy(mi->input, bi->input, sizeof mi->input);
    memcpy(mi->output, bi->output, sizeof mi->output);
    mi->in = (int)bi->input[0].width;
    mi->out = (int)bi->output[0].width;
    mi->fixed_batch = bi->fixed_batch;
}

/* Refuses batch sizes whose buffers would not fit: per sample, each backend holds its inputs and outputs (ORT may
 * hold as much again), plus the input pool, the reference outputs and scratch. */
static nrps_status check_memory(const run_ctx *c, int m) {
    const bench_model_info *mi = &c->r->env.models[m];
    double io = 0;
    be_info fam; /* before any backend exists, a family network's own sizes */
    const be_info *bi = c->m[m].first;
    if (!bi && c->m[m].net) be_info_from_net(c->m[m].net, NULL, &fam), bi = &fam;
    for (int j = 0; bi && j < bi->n_inputs; j++) io += (double)bi->input[j].width * be_dtype_size(bi->input[j].dtype);
    for (int k = 0; bi && k < bi->n_outputs; k++) io += (double)bi->output[k].width * be_dtype_size(bi->output[k].dtype);
    double scratch = c->m[m].net ? 12.0 * nn_arch_max_width(&c->m[m].net->arch) : 0;
    int nb = c->p->n_backends * (c->p->concurrency > 1 ? c->p->concurrency : 1);
    return nrps_buffers_fit((io * (2.0 * nb + 3) + scratch) * c->be_batch, c->be_batch, mi->path);
}

/* Every backend must see the graph the same way: inputs and outputs by name, type and size. */
static nrps_status check_view(const run_ctx *c, int m, const be_info *bi, const be_info *first, const char *name) {
    int same = bi->n_inputs == first->n_inputs && bi->n_outputs == first->n_outputs;
    for (int j = 0; same && j < bi->n_inputs; j++)
        same = !strcmp(bi->input[j].name, first->input[j].name) && bi->input[j].dtype == first->input[j].dtype &&
               bi->input[j].width == first->input[j].width;
    for (int k = 0; same && k < bi->n_outputs; k++)
        same = !strcmp(bi->output[k].name, first->output[k].name) && bi->output[k].dtype == first->output[k].dtype &&
               (!bi->output[k].width || !first->output[k].width || bi->output[k].width == first->output[k].width);
    if (same) return NRPS_OK;
    nrps_set_error("%s: %s sees other inputs/outputs than %s", c->p->model_paths[m], name, c->first_backend[m]);
    return NRPS_ERR_BACKEND;
}

static void note_skip(run_ctx *c, int m, const char *backend, const char *why) {
    bench_model_info *mi = &c->r->env.models[m];
    if (mi->n_skipped == BENCH_MAX_BACKENDS) return;
    bench_skip *s = &mi->skipped[mi->n_skipped++];
    snprintf(s->backend, sizeof s->backend, "%s", backend);
    snprintf(s->reason, sizeof s->reason, "%s", why);
}

nrps_status bench_backend_handles(run_ctx *c, int m, int i, be_backend **h, int n) {
    be_options bo = c->p->opt;
    bo.max_batch = c->be_batch;
    h[0] = c->m[m].bk[i];
    for (int k = 1; k < n; k++) {
        h[k] = NULL;
        nrps_status st = be_is_native(c->p->backends[i]) ? be_create(c->p->backends[i], c->m[m].model, &bo, &h[k])
                                                         : be_share(h[0], &h[k]);
        if (st != NRPS_OK) return st;
    }
    return NRPS_OK;
}

/* Backend i on model m; a failure the run survives is noted (native backends on models outside the family, GPU
 * backends not present) and returns NRPS_OK with no handle. */
static nrps_status create_one(run_ctx *c, int m, int i, const be_options *bo) {
    const bench_plan *p = c->p;
    const char *name = p->backends[i];
    int gpu = be_is_gpu(name);
    if (gpu && c->gpu_failed[i]) return NRPS_OK; /* a GPU backend that failed on one model is not retried */
    nrps_status st = be_create(name, c->m[m].model, bo, &c->m[m].bk[i]);
    if (st == NRPS_OK) {
        c->r->n_gpu_ok += gpu;
        const be_info *bi = be_get_info(c->m[m].bk[i]);
        if (!c->first_backend[m][0]) {
            snprintf(c->first_backend[m], sizeof c->first_backend[m], "%s", name);
            c->m[m].first = bi;
            describe_model(c, m, bi);
            return check_memory(c, m);
        }
        return check_view(c, m, bi, c->m[m].first, name);
    }
    if (st == NRPS_ERR_ARG) return st; /* a --dim / --batch-dim / config the model cannot take: usage error */
    if (st == NRPS_ERR_UNSUPPORTED && be_is_native(name)) {
        char why[400];
        const char *e = nrps_last_error(), *colon = strchr(e, ':');
        snprintf(why, sizeof why, "not supported: %s", colon && !strncmp(e, name, strlen(name)) ? colon + 2 : e);
        note_skip(c, m, name, why);
        return NRPS_OK;
    }
    if (!gpu || p->explicit_backends) return st == NRPS_ERR_UNSUPPORTED ? NRPS_ERR_UNSUPPORTED : NRPS_ERR_UNAVAILABLE;
    c->gpu_failed[i] = 1;
    bench_env *e = &c->r->env;
    size_t used = strlen(e->gpu_note);
    snprintf(e->gpu_note + used, sizeof e->gpu_note - used, "%s%s", used ? "; " : "", nrps_last_error());
    return NRPS_OK;
}

/* ONNX Runtime backends first, so that a model's description comes from the graph as ONNX Runtime reads it. */
static nrps_status create_backends(run_ctx *c) {
    const bench_plan *p = c->p;
    be_options bo = p->opt;
    bo.max_batch = c->be_batch;
    for (int m = 0; m < c->n_models; m++) {
        nrps_status cm = c->m[m].net ? check_memory(c, m) : NRPS_OK;
        if (cm != NRPS_OK) return cm;
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < p->n_backends; i++) {
                if (be_is_native(p->backends[i]) != pass) continue;
                nrps_status st = create_one(c, m, i, &bo);
                if (st != NRPS_OK) return st;
            }
        if (!c->first_backend[m][0] && p->gpu_only) {
            nrps_set_error("--gpu-only: no GPU backend available: %s",
                           c->r->env.gpu_note[0] ? c->r->env.gpu_note : "none requested");
            return NRPS_ERR_UNAVAILABLE;
        }
        if (!c->first_backend[m][0]) {
            bench_model_info *mi = &c->r->env.models[m];
            nrps_set_error("%s: none of the backends can run it (%s)", mi->path,
                           mi->n_skipped ? mi->skipped[0].reason : c->r->env.gpu_note);
            return NRPS_ERR_UNSUPPORTED;
        }
    }
    if (p->gpu_only && c->r->n_gpu_ok == 0) {
        nrps_set_error("--gpu-only: no GPU backend available: %s",
                       c->r->env.gpu_note[0] ? c->r->env.gpu_note : "none requested");
        return NRPS_ERR_UNAVAILABLE;
    }
    return NRPS_OK;
}

/* The batch sizes of model m: the plan's, or a fixed-batch graph's own size (a usage error when they were asked
 * for explicitly and are not that size). */
static nrps_status model_batches(run_ctx *c, int m) {
    const bench_plan *p = c->p;
    model_ctx *mc = &c->m[m];
    bench_model_info *mi = &c->r->env.models[m];
    int fb = mi->fixed_batch;
    const char *bound = NULL; /* the --dim that fixed the batch, if one did */
    for (int j = 0; j < mi->n_inputs && !bound; j++) {
        const be_tensor *t = &mi->input[j];
        for (int d = 0; t->batch_axis >= 0 && d < p->opt.n_dims; d++)
            if (!strcmp(p->opt.dims[d].name, t->dim_name[t->batch_axis])) bound = p->opt.dims[d].name;
    }
    if (!fb) {
        memcpy(mc->batches, p->batches, sizeof mc->batches);
        mc->n_batches = p->n_batches;
        return NRPS_OK;
    }
    if (p->explicit_batches && !(p->n_batches == 1 && p->batches[0] == fb) && bound) {
        nrps_set_error("--dim %s=%d fixes the batch size of %s, so --batch-size/--sweep cannot ask for other sizes",
                       bound, fb, mi->path);
        return NRPS_ERR_ARG;
    }
    if (p->explicit_batches && !(p->n_batches == 1 && p->batches[0] == fb)) {
        nrps_set_error("%s has a fixed batch size %d (its graph fixes the batch dimension), so --batch-size/--sweep "
                       "cannot ask for other sizes; re-export it with a dynamic batch axis (torch.onnx.export(..., "
                       "dynamic_axes={'<input>': {0: 'batch'}, '<output>': {0: 'batch'}}))", mi->path, fb);
        return NRPS_ERR_ARG;
    }
    mc->batches[0] = fb;
    mc->n_batches = 1;
    if (bound)
        snprintf(mi->note, sizeof mi->note, "--dim %s=%d fixes the batch size: measuring batch %d only", bound, fb, fb);
    else snprintf(mi->note, sizeof mi->note,
             "%s has a fixed batch size %d: measuring batch %d only (re-export with dynamic_axes={'<input>': {0: "
             "'batch'}} to measure other sizes)", p->model_paths[m], fb, fb);
    return NRPS_OK;
}

/* ---- the run ---- */

/* The ONNX Runtime session settings as one line for the header and the JSON. */
static void session_line(const bench_plan *p, char *buf, size_t len) {
    static const char *const LEVEL[] = {"all", "none", "basic", "extended"};
    const be_ort_settings *o = &p->opt.ort;
    size_t pos = (size_t)snprintf(buf, len, "ONNX Runtime graph-opt %s, %s execution", LEVEL[o->graph_opt],
                                  o->parallel ? "parallel" : "sequential");
    if (o->inter_threads)
        pos += (size_t)snprintf(buf + pos, len - pos, ", %d inter-op thread%s", o->inter_threads,
                                o->inter_threads == 1 ? "" : "s");
    pos += (size_t)snprintf(buf + pos, len - pos, ", spinning %s", o->no_spin ? "off" : "on");
    for (int i = 0; i < o->n_config && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, ", config %s=%s", o->config[i].key, o->config[i].value);
    for (int i = 0; i < o->n_provider_options && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, ", provider option %s=%s", o->provider_options[i].key,
                                o->provider_options[i].value);
    if (o->profile_prefix && pos < len)
        pos += (size_t)snprintf(buf + pos, len - pos, "; profiler on (timings include its overhead)");
    if (p->concurrency > 1 && pos < len)
        snprintf(buf + pos, len - pos, "; then %d concurrent callers per backend", p->concurrency);
}

static void env_settings(const bench_plan *p, bench_env *e) {
    bench_env_fill(e);
    int cpu_rows = 0;
    for (int i = 0; i < p->n_backends; i++) cpu_rows |= !be_is_gpu(p->backends[i]);
    if (cpu_rows) e->n_peaks = cpu_fma_peaks(e->peak, 3, 10); /* the limit CPU rows are set against */
    if (cpu_rows && p->opt.threads > 1) /* and what that many threads reach together on this host now */
        e->peak_threads = p->opt.threads, e->peak_threads_gflops = cpu_fma_peak_threads(p->opt.threads, 10);
    e->threads = p->opt.threads;
    e->seed = (unsigned long long)p->seed;
    if (p->loop.warmup >= 0)
        snprintf(e->warmup, sizeof e->warmup, "fixed: %ld call%s", p->loop.warmup, p->loop.warmup == 1 ? "" : "s");
    else
        snprintf(e->warmup, sizeof e->warmup,
                 "auto: 50-call windows until medians change < 3%%, >= 100 calls, <= 20000 calls / 5 s");
    if (p->loop.duration_s > 0)
        snprintf(e->iterations, sizeof e->iterations, "duration: %.3f s per measurement", p->loop.duration_s);
    else
        snprintf(e->iterations, sizeof e->iterations, "%ld call%s per measurement", p->loop.iterations,
                 p->loop.iterations == 1 ? "" : "s");
    session_line(p, e->session, sizeof e->session);
}

static int plan_be_batch(const bench_plan *p) {
    int mb = p->n_batches ? p->batches[p->n_batches - 1] : 1;
    if (p->search && p->n_search_batches && p->search_batches[p->n_search_batches - 1] > mb)
        mb = p->search_batches[p->n_search_batches - 1];
    int threads = p->n_search_threads ? p->search_threads[p->n_search_threads - 1] : 1;
    if (p->search && p->search_service && p->n_search_batches &&
        p->search_batches[p->n_search_batches - 1] * threads > mb)
        mb = p->search_batches[p->n_search_batches - 1] * threads;
    if (p->scenario == BENCH_SCEN_SERVER && p->server_max_batch > mb) mb = p->server_max_batch;
    if ((p->scenario == BENCH_SCEN_MULTI || p->scenario == BENCH_SCEN_OFFLINE) && p->stream_batch > mb)
        mb = p->stream_batch;
    return mb;
}

static void run_cleanup(run_ctx *c) {
    if (c->p->progress) fprintf(stderr, "\r%60s\r", "");
    for (int m = 0; m < BENCH_MAX_MODELS; m++) {
        model_ctx *mc = &c->m[m];
        for (int i = 0; i < BENCH_MAX_BACKENDS; i++) be_destroy(mc->bk[i]);
        be_model_free(mc->model);
        for (int j = 0; j < BE_MAX_IO; j++) free(mc->pool[j]);
    }
    for (int k = 0; k < BE_MAX_IO; k++) free(c->ref[k]);
    free(c->got);
    free(c->scratch);
}

nrps_status bench_run(const bench_plan *p, bench_result *r) {
    memset(r, 0, sizeof *r);
    run_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    c->p = p;
    c->r = r;
    c->be_batch = plan_be_batch(p);
    c->rec_pm = c->rec_vm = -1;
    nrps_status st = NRPS_ERR_ARG;
    if (p->n_models < 1 || p->n_models > BENCH_MAX_MODELS || p->n_backends < 1 || p->n_batches < 1) {
        nrps_set_error("benchmark: need 1 to %d models, a backend and a batch size", BENCH_MAX_MODELS);
        free(c);
        return st;
    }
    if ((st = load_models(c)) || (st = create_backends(c))) goto cleanup;
    for (int m = 0; m < c->n_models; m++) {
        if ((st = model_batches(c, m))) goto cleanup;
        if (p->validate) bench_pick_reference(c, m);
        else c->m[m].ref_backend = -1;
    }
    if ((st = bench_make_inputs(c))) goto cleanup;
    env_settings(p, &r->env);
    if (p->on_ready) p->on_ready(r, p->on_ready_ctx);
    if ((st = bench_time_models(c)) || (st = bench_run_peers(c)) || (st = bench_time_floor(c)) || (st = bench_time_concurrent(c)) ||
        (st = bench_collect_profiles(c)) || (st = bench_run_search(c)) || (st = bench_run_recommend(c)) ||
        (st = bench_run_scenarios(c)))
        goto cleanup;
    double la[1];
    r->env.loadavg_end = getloadavg(la, 1) == 1 ? la[0] : -1;
cleanup:
    run_cleanup(c);
    free(c);
    return st;
}

void bench_result_validation_error(const bench_result *r, char *buf, size_t len) {
    if (len) buf[0] = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const bench_row *w = &r->rows[i];
        if (!w->validated || w->val.ok) continue;
        char why[400];
        bench_validation_describe(&w->val, why, sizeof why);
        snprintf(buf, len, "validation failed: %s %s batch %d: %s (top-1 %ld/%ld, tolerance %g + %g*|ref|)", w->backend,
                 w->model, w->batch, why, w->val.top1_agree, w->val.top1_rows, w->atol, w->rtol);
        return;
    }
}
