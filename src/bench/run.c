/* run.c - the benchmark harness (run.h): loads the models once, creates every backend on them, makes the inputs,
 * times each backend x model x batch, validates against the reference forward, measures the ONNX Runtime floor
 * and inference inside a real search. */
#include "bench/run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "search/eval_net.h"

typedef struct {
    const bench_plan *p;
    bench_result *r;
    int n_models;
    be_model *model[BENCH_MAX_MODELS];
    rps_encoding enc[BENCH_MAX_MODELS];
    be_backend *bk[BENCH_MAX_MODELS][BENCH_MAX_BACKENDS];
    float *pools[2];     /* input pool per encoding (board, hands), max_batch samples */
    float *ref, *scratch; /* reference outputs (BE_MAX_OUTPUTS areas of max_batch * max_out) and forward scratch */
    int width;
    int max_batch;   /* largest timed batch: the inputs, references and rows are sized for it */
    int be_batch;    /* the backends' max batch: max_batch or the largest search batch */
    int max_out;
} run_ctx;

bench_plan bench_plan_default(void) {
    bench_plan p;
    memset(&p, 0, sizeof p);
    p.opt = be_options_default();
    p.loop = bench_loop_opts_default();
    p.inputs = BENCH_INPUTS_SELFPLAY;
    p.seed = 1;
    p.cache_dir = ".cache";
    p.validate = p.floor = p.search = 1;
    p.search_games = 10;
    p.search_playouts = 200;
    p.batches[0] = 1, p.batches[1] = 64, p.n_batches = 2;
    p.search_batches[0] = 1, p.search_batches[1] = 16, p.n_search_batches = 2;
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
    memset(r, 0, sizeof *r);
}

/* The label of a family network: its head kind, "net" for two heads; made unique among the earlier models. */
static void model_label(const bench_result *r, int m, const nn_net *n, char *out, size_t len) {
    const char *base = n->arch.n_heads == 2 ? "net" : nn_head_kind_name(n->arch.head[0].kind);
    snprintf(out, len, "%s", base);
    for (int k = 2, clash = 1; clash; k++) {
        clash = 0;
        for (int j = 0; j < m; j++) clash |= !strcmp(r->env.models[j].label, out);
        if (clash) snprintf(out, len, "%s-%d", base, k);
    }
}

static nrps_status load_models(run_ctx *c) {
    const bench_plan *p = c->p;
    bench_env *e = &c->r->env;
    for (int m = 0; m < p->n_models; m++) {
        nrps_status st = be_model_load(p->model_paths[m], &c->model[m]);
        if (st != NRPS_OK) return st;
        c->n_models = m + 1;
        const nn_net *n = be_model_net(c->model[m]);
        if (!n) {
            nrps_set_error("%s", be_model_refusal(c->model[m])); /* names the file */
            return NRPS_ERR_UNSUPPORTED;
        }
        if ((st = eval_net_model_encoding(p->model_paths[m], be_model_info(c->model[m])->input_encoding, &c->enc[m])))
            return st;
        bench_model_info *mi = &e->models[m];
        model_label(c->r, m, n, mi->label, sizeof mi->label);
        snprintf(mi->path, sizeof mi->path, "%s", p->model_paths[m]);
        snprintf(mi->sha256, sizeof mi->sha256, "%s", be_model_sha256(c->model[m]));
        snprintf(mi->encoding, sizeof mi->encoding, "%s", rps_encoding_name(c->enc[m]));
        char arch[128];
        nn_arch_describe(&n->arch, arch, sizeof arch);
        snprintf(mi->arch, sizeof mi->arch, "%s %s/%s", arch, nn_act_name(n->arch.layer[0].act),
                 nn_act_name(nn_head_act(&n->arch, 0)));
        mi->in = n->arch.in;
        mi->out = nn_head_width(&n->arch, 0);
        e->n_models = m + 1;
        if (m > 0 && n->arch.in != c->width) {
            nrps_set_error("the models take different input sizes (%d and %d)", c->width, n->arch.in);
            return NRPS_ERR_ARG;
        }
        c->width = n->arch.in;
    }
    return NRPS_OK;
}

/* Refuses a batch whose buffers would not fit: per sample, each backend holds input + output buffers (ORT may
 * hold as much again), plus the input pool, reference outputs and scratch. */
static nrps_status check_memory(const run_ctx *c) {
    double per_sample = 0;
    for (int m = 0; m < c->n_models; m++) {
        const nn_arch *a = &be_model_net(c->model[m])->arch;
        int outs = 0;
        for (int h = 0; h < a->n_heads; h++) outs += nn_head_width(a, h);
        per_sample += 4.0 * ((a->in + outs) * (2.0 * c->p->n_backends + 2) +
                             3.0 * nn_arch_max_width(a) * (c->p->n_backends + 1.0) + a->in);
    }
    double need = per_sample * c->max_batch, phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (phys > 0 && need > 0.5 * phys) {
        nrps_set_error("batch size %d needs about %.1f GiB of buffers, more than half of this machine's %.1f GiB; use "
                       "a smaller --batch-size/--sweep", c->max_batch, need / (1 << 30), phys / (1 << 30));
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

/* The backend's view must equal the file's: input width, outputs and their names. */
static nrps_status check_view(const run_ctx *c, int m, int i) {
    const be_info *bi = be_get_info(c->bk[m][i]);
    const nn_arch *a = &be_model_net(c->model[m])->arch;
    int same = bi->input_size == a->in && bi->n_outputs == a->n_heads;
    for (int h = 0; same && h < a->n_heads; h++)
        same = bi->output[h].width == nn_head_width(a, h) && !strcmp(bi->output[h].name, a->head[h].name);
    if (same) return NRPS_OK;
    nrps_set_error("%s: %s sees other inputs/outputs than the model file declares", c->p->model_paths[m],
                   c->p->backends[i]);
    return NRPS_ERR_BACKEND;
}

static nrps_status create_backends(run_ctx *c) {
    const bench_plan *p = c->p;
    bench_env *e = &c->r->env;
    be_options bo = p->opt;
    bo.max_batch = c->be_batch;
    for (int m = 0; m < c->n_models; m++)
        for (int i = 0; i < p->n_backends; i++) {
            int gpu = be_is_gpu(p->backends[i]), failed_before = m > 0;
            for (int k = 0; k < m; k++) failed_before &= c->bk[k][i] == NULL;
            if (gpu && failed_before) continue; /* a GPU backend that failed on the first model is not retried */
            if (be_create(p->backends[i], c->model[m], &bo, &c->bk[m][i]) == NRPS_OK) {
                c->r->n_gpu_ok += gpu;
                nrps_status st = check_view(c, m, i);
                if (st != NRPS_OK) return st;
                continue;
            }
            if (!gpu || p->explicit_backends) return NRPS_ERR_UNAVAILABLE; /* a backend asked for by name must work */
            size_t used = strlen(e->gpu_note);
            snprintf(e->gpu_note + used, sizeof e->gpu_note - used, "%s%s", used ? "; " : "", nrps_last_error());
        }
    if (p->gpu_only && c->r->n_gpu_ok == 0) {
        nrps_set_error("--gpu-only: no GPU backend available: %s", e->gpu_note[0] ? e->gpu_note : "none requested");
        return NRPS_ERR_UNAVAILABLE;
    }
    return NRPS_OK;
}

/* One pool of max_batch samples per input encoding the models use: up to BENCH_POOL_MAX distinct positions,
 * repeated for larger batches. */
static nrps_status make_inputs(run_ctx *c) {
    const bench_plan *p = c->p;
    bench_env *e = &c->r->env;
    size_t pool_bytes = sizeof(float) * (size_t)c->max_batch * c->width;
    for (int m = 0; m < c->n_models; m++)
        if (!c->pools[c->enc[m]] && !(c->pools[c->enc[m]] = malloc(pool_bytes))) goto nomem;
    long distinct = c->max_batch < BENCH_POOL_MAX ? c->max_batch : BENCH_POOL_MAX;
    for (int k = 0; k < 2; k++) {
        float *pool = c->pools[k];
        if (!pool) continue;
        if (p->inputs == BENCH_INPUTS_RANDOM && k == 1 && c->pools[0]) { /* random floats: one pool serves both */
            memcpy(pool, c->pools[0], pool_bytes);
            continue;
        }
        char desc[sizeof e->inputs];
        nrps_status st = bench_inputs_make(p->inputs, distinct, c->width, p->seed, p->selfplay_agent, k, p->cache_dir,
                                           pool, desc, sizeof desc);
        if (st != NRPS_OK) return st;
        for (long s = distinct; s < c->max_batch; s++)
            memcpy(pool + (size_t)s * c->width, pool + (size_t)(s % distinct) * c->width, sizeof(float) * c->width);
        size_t used = strlen(e->inputs);
        snprintf(e->inputs + used, sizeof e->inputs - used, "%s%s", used ? "; " : "", desc);
        if (distinct < c->max_batch) {
            used = strlen(e->inputs);
            snprintf(e->inputs + used, sizeof e->inputs - used, ", repeated to %d", c->max_batch);
        }
    }
    size_t max_scratch = 0;
    for (int m = 0; m < c->n_models; m++) {
        const nn_arch *a = &be_model_net(c->model[m])->arch;
        for (int h = 0; h < a->n_heads; h++)
            if (nn_head_width(a, h) > c->max_out) c->max_out = nn_head_width(a, h);
        if (nn_forward_scratch(a, c->max_batch) > max_scratch) max_scratch = nn_forward_scratch(a, c->max_batch);
    }
    size_t outs = (size_t)c->max_batch * c->max_out * BE_MAX_OUTPUTS;
    c->ref = malloc(sizeof(float) * outs);
    c->scratch = malloc(sizeof(float) * (max_scratch > outs ? max_scratch : outs));
    int rows = (c->n_models + 1) * c->p->n_backends * c->p->n_batches + c->p->n_batches;
    c->r->rows = calloc((size_t)rows, sizeof *c->r->rows);
    if (c->ref && c->scratch && c->r->rows) return NRPS_OK;
nomem:
    nrps_set_error("out of memory for batch size %d", c->max_batch);
    return NRPS_ERR_NOMEM;
}

/* Folds the comparison of output h into v (max errors, top-1 counts, ok). */
static void validation_merge(bench_validation *v, const bench_validation *w) {
    if (w->max_abs > v->max_abs) v->max_abs = w->max_abs;
    if (w->max_rel > v->max_rel) v->max_rel = w->max_rel;
    v->top1_agree += w->top1_agree;
    v->top1_rows += w->top1_rows;
    v->bad_values += w->bad_values;
    v->ok = v->ok && w->ok;
}

static void validate_row(const nn_arch *a, float *const *got, float *const *ref, int batch, bench_row *row) {
    for (int h = 0; h < a->n_heads; h++) {
        bench_validation v;
        bench_compare(got[h], ref[h], batch, nn_head_width(a, h), BENCH_ATOL, BENCH_RTOL, &v);
        if (h == 0) row->val = v;
        else validation_merge(&row->val, &v);
    }
    row->validated = 1;
}

static void progress(const run_ctx *c, const char *fmt, const char *a, const char *b, int n) {
    if (!c->p->progress) return;
    fprintf(stderr, "\r  ");
    fprintf(stderr, fmt, a, b, n);
}

/* Times backend i on model m at batch (pool = the inputs, refs = the reference outputs); appends a row. */
static nrps_status time_one(run_ctx *c, int m, int i, int batch, float *const *refs) {
    be_backend *b = c->bk[m][i];
    const nn_arch *a = &be_model_net(c->model[m])->arch;
    const float *pool = c->pools[c->enc[m]];
    float *in, *out[BE_MAX_OUTPUTS];
    be_io_buffers(b, &in, out);
    if (!in) {
        in = (float *)pool;
        for (int h = 0; h < a->n_heads; h++) out[h] = c->scratch + (size_t)h * c->max_batch * c->max_out;
    } else {
        memcpy(in, pool, sizeof(float) * (size_t)batch * c->width);
    }
    const char *label = c->r->env.models[m].label;
    progress(c, "timing %-12s %-6s batch %-7d", be_name(b), label, batch);
    bench_row *row = &c->r->rows[c->r->n_rows];
    snprintf(row->backend, sizeof row->backend, "%s", be_name(b));
    snprintf(row->model, sizeof row->model, "%s", label);
    snprintf(row->model_path, sizeof row->model_path, "%s", c->p->model_paths[m]);
    row->batch = batch;
    row->info = *be_get_info(b);
    nrps_status st = bench_time_backend(b, in, out, batch, &c->p->loop, &row->tm);
    bench_timing_free(&row->tm);
    if (st != NRPS_OK) return st;
    c->r->n_rows++;
    if (row->tm.interrupted) c->r->interrupted = 1;
    if (!c->p->validate || c->r->interrupted) return NRPS_OK;
    if ((st = be_run(b, in, batch, out)) != NRPS_OK) return st;
    validate_row(a, out, refs, batch, row);
    c->r->validation_failed += !row->val.ok;
    return NRPS_OK;
}

static nrps_status time_models(run_ctx *c) {
    const bench_plan *p = c->p;
    for (int m = 0; m < c->n_models && !c->r->interrupted; m++)
        for (int bi = 0; bi < p->n_batches && !c->r->interrupted; bi++) {
            int batch = p->batches[bi];
            float *refs[BE_MAX_OUTPUTS];
            for (int h = 0; h < BE_MAX_OUTPUTS; h++) refs[h] = c->ref + (size_t)h * c->max_batch * c->max_out;
            if (p->validate && nn_forward(be_model_net(c->model[m]), c->pools[c->enc[m]], batch, refs, c->scratch)) {
                char msg[600];
                snprintf(msg, sizeof msg, "%s", nrps_last_error());
                nrps_set_error("reference forward: %s", msg);
                return NRPS_ERR_ARG;
            }
            for (int i = 0; i < p->n_backends && !c->r->interrupted; i++) {
                if (!c->bk[m][i]) continue;
                nrps_status st = time_one(c, m, i, batch, refs);
                if (st != NRPS_OK) return st;
            }
        }
    return NRPS_OK;
}

/* ONNX Runtime's per-call floor: an identity graph of the same input width through ort-cpu, built in memory. */
static nrps_status time_floor(run_ctx *c) {
    const bench_plan *p = c->p;
    int have_ort_cpu = 0;
    for (int i = 0; i < p->n_backends; i++) have_ort_cpu |= !strcmp(p->backends[i], "ort-cpu");
    if (!p->floor || !have_ort_cpu || c->r->interrupted) return NRPS_OK;
    uint8_t *bytes = NULL;
    size_t len = 0;
    be_model *fm = NULL;
    be_backend *fb = NULL;
    be_options bo = p->opt;
    bo.max_batch = c->max_batch;
    nrps_status st = onnx_identity_buffer(c->width, &bytes, &len);
    if (st == NRPS_OK) st = be_model_from_bytes(bytes, len, "identity graph", &fm);
    free(bytes);
    if (st == NRPS_OK) st = be_create("ort-cpu", fm, &bo, &fb);
    be_model_free(fm);
    for (int bi = 0; st == NRPS_OK && bi < p->n_batches && !c->r->interrupted; bi++) {
        float *in, *out[BE_MAX_OUTPUTS];
        be_io_buffers(fb, &in, out);
        memcpy(in, c->pools[c->enc[0]], sizeof(float) * (size_t)p->batches[bi] * c->width);
        bench_row *row = &c->r->rows[c->r->n_rows];
        snprintf(row->backend, sizeof row->backend, "ort-cpu");
        snprintf(row->model, sizeof row->model, "floor");
        snprintf(row->model_path, sizeof row->model_path, "(identity graph, %d floats)", c->width);
        row->batch = p->batches[bi];
        row->info = *be_get_info(fb);
        st = bench_time_backend(fb, in, out, p->batches[bi], &p->loop, &row->tm);
        bench_timing_free(&row->tm);
        if (st != NRPS_OK) break;
        c->r->n_rows++;
        if (row->tm.interrupted) c->r->interrupted = 1;
    }
    be_destroy(fb);
    if (st != NRPS_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("ONNX Runtime floor: %s", msg);
    }
    return st;
}

/* The network sets the search runs with: the first one-head policy model with the first one-head value model, then
 * every model with both heads. Each set is (policy model, value model); returns how many. */
static int search_sets(const run_ctx *c, int pm[BENCH_MAX_MODELS], int vm[BENCH_MAX_MODELS]) {
    int n = 0, pol = -1, val = -1;
    for (int m = 0; m < c->n_models; m++) {
        be_backend *any = NULL;
        for (int i = 0; i < c->p->n_backends && !any; i++) any = c->bk[m][i];
        int k;
        if (!any) continue;
        int has_p = eval_net_fit(be_get_info(any), NN_HEAD_POLICY, &k) == NRPS_OK;
        int has_v = eval_net_fit(be_get_info(any), NN_HEAD_VALUE, &k) == NRPS_OK;
        if (has_p && has_v) pm[n] = vm[n] = m, n++;
        else if (has_p && pol < 0) pol = m;
        else if (has_v && val < 0) val = m;
    }
    if (pol >= 0 && val >= 0) { /* the pair goes first */
        memmove(pm + 1, pm, sizeof *pm * (size_t)n);
        memmove(vm + 1, vm, sizeof *vm * (size_t)n);
        pm[0] = pol, vm[0] = val, n++;
    }
    return n;
}

/* Plays the search games with backend i; the reference's moves are in ref_moves, this one's go to moves. */
static nrps_status search_one(run_ctx *c, int pm, int vm, int i, int batch, int refi, rps_move *moves,
                              const rps_move *ref_moves) {
    const bench_plan *p = c->p;
    progress(c, "search: %-12s%s batch %-5d", p->backends[i], "", batch);
    bench_search_row *sr = &c->r->srows[c->r->n_srows];
    nrps_status st = bench_search_run(c->bk[pm][i], c->enc[pm], c->bk[vm][i], c->enc[vm], p->search_playouts, batch,
                                      p->search_games, p->seed, moves, sr);
    if (pm == vm) snprintf(sr->nets, sizeof sr->nets, "%s", c->r->env.models[pm].label);
    else snprintf(sr->nets, sizeof sr->nets, "policy+value");
    if (st != NRPS_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("search benchmark (%s): %s", p->backends[i], msg);
        return st;
    }
    if (i != refi) {
        sr->same_games = bench_search_same_games(ref_moves, moves, (int)sr->games);
        snprintf(sr->reference, sizeof sr->reference, "%s", p->backends[refi]);
    }
    c->r->n_srows++;
    if (sr->interrupted) c->r->interrupted = 1;
    return NRPS_OK;
}

/* The search section for one network set: every backend that has both, the reference backend first. */
static nrps_status search_set(run_ctx *c, int pm, int vm, rps_move *moves, size_t per) {
    const bench_plan *p = c->p;
    int refi = -1; /* reference backend: native-cpu when present, else the first that has both networks */
    for (int i = 0; i < p->n_backends; i++)
        if (c->bk[pm][i] && c->bk[vm][i] && (refi < 0 || !strcmp(p->backends[i], "native-cpu"))) refi = i;
    nrps_status st = NRPS_OK;
    for (int bi = 0; st == NRPS_OK && bi < p->n_search_batches && !c->r->interrupted; bi++)
        for (int pass = 0; st == NRPS_OK && pass < 2 && !c->r->interrupted; pass++)
            for (int i = 0; st == NRPS_OK && i < p->n_backends && !c->r->interrupted; i++)
                if (c->bk[pm][i] && c->bk[vm][i] && (pass == 0) == (i == refi))
                    st = search_one(c, pm, vm, i, p->search_batches[bi], refi, moves + (size_t)(i + 1) * per,
                                    moves + (size_t)(refi + 1) * per);
    return st;
}

/* Inference inside a real search: self-play games with MCTS on each backend, for each network set. */
static nrps_status run_search(run_ctx *c) {
    const bench_plan *p = c->p;
    int pm[BENCH_MAX_MODELS], vm[BENCH_MAX_MODELS];
    if (!p->search || c->r->interrupted) return NRPS_OK;
    int sets = search_sets(c, pm, vm);
    if (!sets) {
        snprintf(c->r->search_note, sizeof c->r->search_note,
                 "inside-search benchmark skipped: it needs both networks (81->9 and 81->1) or one two-headed "
                 "network");
        return NRPS_OK;
    }
    size_t per = (size_t)p->search_games * RPS_MAX_PLIES;
    rps_move *moves = calloc((size_t)(p->n_backends + 1) * per, sizeof *moves);
    c->r->srows = calloc((size_t)sets * p->n_backends * p->n_search_batches, sizeof *c->r->srows);
    if (!moves || !c->r->srows) {
        free(moves);
        nrps_set_error("out of memory for the search benchmark");
        return NRPS_ERR_NOMEM;
    }
    nrps_status st = NRPS_OK;
    for (int k = 0; st == NRPS_OK && k < sets && !c->r->interrupted; k++) st = search_set(c, pm[k], vm[k], moves, per);
    free(moves);
    return st;
}

static void env_settings(const bench_plan *p, bench_env *e) {
    bench_env_fill(e);
    e->threads = p->opt.threads;
    e->seed = (unsigned long long)p->seed;
    if (p->loop.warmup >= 0) snprintf(e->warmup, sizeof e->warmup, "fixed: %ld calls", p->loop.warmup);
    else
        snprintf(e->warmup, sizeof e->warmup,
                 "auto: 50-call windows until medians change < 3%%, >= 100 calls, <= 20000 calls / 5 s");
    if (p->loop.duration_s > 0)
        snprintf(e->iterations, sizeof e->iterations, "duration: %.3f s per measurement", p->loop.duration_s);
    else snprintf(e->iterations, sizeof e->iterations, "%ld calls per measurement", p->loop.iterations);
}

static int plan_be_batch(const bench_plan *p) {
    int mb = p->n_batches ? p->batches[p->n_batches - 1] : 1;
    if (p->search && p->n_search_batches && p->search_batches[p->n_search_batches - 1] > mb)
        mb = p->search_batches[p->n_search_batches - 1];
    return mb;
}

nrps_status bench_run(const bench_plan *p, bench_result *r) {
    memset(r, 0, sizeof *r);
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.r = r;
    c.max_batch = p->n_batches ? p->batches[p->n_batches - 1] : 1;
    c.be_batch = plan_be_batch(p);
    nrps_status st = NRPS_ERR_ARG;
    if (p->n_models < 1 || p->n_models > BENCH_MAX_MODELS || p->n_backends < 1 || p->n_batches < 1) {
        nrps_set_error("benchmark: need 1 to %d models, a backend and a batch size", BENCH_MAX_MODELS);
        return st;
    }
    if ((st = load_models(&c)) || (st = check_memory(&c)) || (st = create_backends(&c)) || (st = make_inputs(&c)))
        goto cleanup;
    env_settings(p, &r->env);
    if (p->on_ready) p->on_ready(r, p->on_ready_ctx);
    if ((st = time_models(&c)) || (st = time_floor(&c)) || (st = run_search(&c))) goto cleanup;
    double la[1];
    r->env.loadavg_end = getloadavg(la, 1) == 1 ? la[0] : -1;
cleanup:
    if (p->progress) fprintf(stderr, "\r%60s\r", "");
    for (int m = 0; m < BENCH_MAX_MODELS; m++) {
        for (int i = 0; i < BENCH_MAX_BACKENDS; i++) be_destroy(c.bk[m][i]);
        be_model_free(c.model[m]);
    }
    free(c.pools[0]);
    free(c.pools[1]);
    free(c.ref);
    free(c.scratch);
    return st;
}

void bench_result_validation_error(const bench_result *r, char *buf, size_t len) {
    if (len) buf[0] = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const bench_row *w = &r->rows[i];
        if (!w->validated || w->val.ok) continue;
        snprintf(buf, len,
                 "validation failed: %s %s batch %d differs from the reference (max abs %.3g, top-1 %ld/%ld, tolerance "
                 "%g + %g*|ref|)",
                 w->backend, w->model, w->batch, w->val.max_abs, w->val.top1_agree, w->val.top1_rows, BENCH_ATOL,
                 BENCH_RTOL);
        return;
    }
}
