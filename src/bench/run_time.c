/* run_time.c - timing every backend x model x batch, validating each row against the reference (the plain-C
 * forward for the dense network family; outside it, the reference backend's outputs: ort-cpu when it ran), the
 * ONNX Runtime floor, and the profiles ONNX Runtime wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/run_impl.h"
#include "onnx/onnx_net.h"

void bench_progress(const run_ctx *c, const char *fmt, const char *a, const char *b, int n) {
    if (!c->p->progress) return;
    fprintf(stderr, "\r  ");
    fprintf(stderr, fmt, a, b, n);
}

bench_row *bench_row_new(run_ctx *c, be_backend *b, int m, int batch) {
    if (c->r->n_rows >= c->max_rows) return NULL;
    bench_row *row = &c->r->rows[c->r->n_rows];
    memset(row, 0, sizeof *row);
    snprintf(row->backend, sizeof row->backend, "%s", be_name(b));
    snprintf(row->model, sizeof row->model, "%s", m >= 0 ? c->r->env.models[m].label : "floor");
    snprintf(row->model_path, sizeof row->model_path, "%s", m >= 0 ? c->p->model_paths[m] : "");
    row->batch = batch;
    row->concurrency = 1;
    row->info = *be_get_info(b);
    return row;
}

static nrps_status grow(float **buf, size_t *cap, size_t n) {
    if (n <= *cap) return NRPS_OK;
    float *nb = realloc(*buf, n * sizeof(float));
    if (!nb) {
        nrps_set_error("out of memory for %zu reference values", n);
        return NRPS_ERR_NOMEM;
    }
    *buf = nb, *cap = n;
    return NRPS_OK;
}

/* The tolerance for outputs of type t: the float32 rule, wider for the 16-bit floats, exact for integers. */
static void tolerance(be_dtype t, double *atol, double *rtol) {
    *atol = BENCH_ATOL, *rtol = BENCH_RTOL;
    if (t == BE_F16) *atol = 1e-3, *rtol = 4e-3;
    else if (t == BE_BF16) *atol = 1e-2, *rtol = 3e-2;
    else if (!be_dtype_is_float(t)) *atol = 0, *rtol = 0;
}

/* Copies b's last outputs, as floats, into the reference buffers. */
static nrps_status keep_reference(run_ctx *c, be_backend *b) {
    const void *data[BE_MAX_IO];
    long elems[BE_MAX_IO];
    int n = be_last_outputs(b, data, elems);
    const be_info *bi = be_get_info(b);
    for (int k = 0; k < n; k++) {
        nrps_status st = grow(&c->ref[k], &c->ref_cap[k], (size_t)elems[k]);
        if (st != NRPS_OK) return st;
        for (long i = 0; i < elems[k]; i++) c->ref[k][i] = (float)be_dtype_get(bi->output[k].dtype, data[k], (size_t)i);
        c->ref_elems[k] = elems[k];
    }
    return NRPS_OK;
}

/* The reference outputs of a family network at batch: nn_forward on the same inputs. (Outside the family the
 * reference backend's own outputs are kept after its row is timed, so that its first call stays the first.) */
static nrps_status make_reference(run_ctx *c, int m, int batch) {
    const nn_arch *a = &c->m[m].net->arch;
    float *refs[BE_MAX_IO];
    nrps_status st = grow(&c->scratch, &c->scratch_cap, nn_forward_scratch(a, batch));
    for (int h = 0; st == NRPS_OK && h < a->n_heads; h++) {
        c->ref_elems[h] = (long)batch * nn_head_width(a, h);
        st = grow(&c->ref[h], &c->ref_cap[h], (size_t)c->ref_elems[h]);
        refs[h] = c->ref[h];
    }
    if (st == NRPS_OK && nn_forward(c->m[m].net, c->m[m].pool[0], batch, refs, c->scratch) != NRPS_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("reference forward: %s", msg);
        return NRPS_ERR_BACKEND;
    }
    return st;
}

/* Compares b's last outputs with the reference. */
static nrps_status validate_row(run_ctx *c, be_backend *b, int batch, bench_row *row) {
    const void *data[BE_MAX_IO];
    long elems[BE_MAX_IO];
    int n = be_last_outputs(b, data, elems);
    const be_info *bi = be_get_info(b);
    row->validated = 1;
    row->val.ok = 1;
    for (int k = 0; k < n; k++) {
        const be_tensor *t = &bi->output[k];
        double atol, rtol;
        tolerance(t->dtype, &atol, &rtol);
        if (atol > row->atol) row->atol = atol, row->rtol = rtol;
        bench_validation v;
        if (elems[k] != c->ref_elems[k]) {
            memset(&v, 0, sizeof v);
            v.bad_values = elems[k] > c->ref_elems[k] ? elems[k] : c->ref_elems[k];
            v.elems = elems[k], v.ref_elems = c->ref_elems[k];
        } else {
            nrps_status st = grow(&c->got, &c->got_cap, (size_t)elems[k]);
            if (st != NRPS_OK) return st;
            for (long i = 0; i < elems[k]; i++) c->got[i] = (float)be_dtype_get(t->dtype, data[k], (size_t)i);
            int rows = t->batch_axis == 0 && t->width > 0 ? batch : (int)elems[k];
            int cols = elems[k] ? (int)(elems[k] / rows) : 0;
            bench_compare(c->got, c->ref[k], rows, cols, atol, rtol, &v);
        }
        if (k == 0) row->val = v;
        else bench_validation_merge(&row->val, &v);
    }
    return NRPS_OK;
}

/* Times backend i on model m at batch (inputs from the model's pool); appends a row and validates it. */
static nrps_status time_one(run_ctx *c, int m, int i, int batch) {
    model_ctx *mc = &c->m[m];
    be_backend *b = mc->bk[i];
    void *in[BE_MAX_IO];
    be_io_tensors(b, in);
    const be_info *bi = be_get_info(b);
    for (int j = 0; j < bi->n_inputs; j++) {
        size_t bytes = (size_t)be_tensor_elems(&bi->input[j], batch) * be_dtype_size(bi->input[j].dtype);
        if (in[j]) memcpy(in[j], mc->pool[j], bytes);
        else in[j] = mc->pool[j];
    }
    float *fin, *fout[BE_MAX_IO];
    be_io_buffers(b, &fin, fout);
    bench_progress(c, "timing %-12s %-12s batch %-7d", be_name(b), c->r->env.models[m].label, batch);
    bench_row *row = bench_row_new(c, b, m, batch);
    if (!row) return NRPS_OK;
    nrps_status st = bench_time_backend(b, (const void *const *)in, (void *const *)fout, batch, &c->p->loop, &row->tm);
    bench_timing_free(&row->tm);
    if (st != NRPS_OK) return st;
    c->r->n_rows++;
    if (row->tm.interrupted) c->r->interrupted = 1;
    row->is_reference = c->p->validate && !mc->net && i == mc->ref_backend;
    if (!c->p->validate || c->r->interrupted) return NRPS_OK;
    if ((st = be_run_io(b, (const void *const *)in, batch, (void *const *)fout)) != NRPS_OK) return st;
    if (row->is_reference) return keep_reference(c, b);
    if ((st = validate_row(c, b, batch, row)) != NRPS_OK) return st;
    c->r->validation_failed += !row->val.ok;
    return NRPS_OK;
}

/* The reference of model m: the plain-C forward for the family, else ort-cpu (or the first backend that ran). */
void bench_pick_reference(run_ctx *c, int m) {
    model_ctx *mc = &c->m[m];
    bench_model_info *mi = &c->r->env.models[m];
    mc->ref_backend = -1;
    if (mc->net) {
        snprintf(mi->reference, sizeof mi->reference, "the plain-C reference forward (native-ref, double accumulation)");
        return;
    }
    for (int i = 0; i < c->p->n_backends && mc->ref_backend < 0; i++)
        if (mc->bk[i] && !strcmp(c->p->backends[i], "ort-cpu")) mc->ref_backend = i;
    for (int i = 0; i < c->p->n_backends && mc->ref_backend < 0; i++)
        if (mc->bk[i]) mc->ref_backend = i;
    snprintf(mi->reference, sizeof mi->reference, "%s (the model is outside the native family)",
             c->p->backends[mc->ref_backend]);
}

nrps_status bench_time_models(run_ctx *c) {
    const bench_plan *p = c->p;
    for (int m = 0; m < c->n_models && !c->r->interrupted; m++) {
        model_ctx *mc = &c->m[m];
        for (int bi = 0; bi < mc->n_batches && !c->r->interrupted; bi++) {
            int batch = mc->batches[bi];
            nrps_status st = p->validate && mc->net ? make_reference(c, m, batch) : NRPS_OK;
            for (int pass = 0; st == NRPS_OK && pass < 2; pass++) /* the reference backend's row first */
                for (int i = 0; st == NRPS_OK && i < p->n_backends && !c->r->interrupted; i++)
                    if (mc->bk[i] && (pass == 0) == (i == mc->ref_backend)) st = time_one(c, m, i, batch);
            if (st != NRPS_OK) return st;
        }
    }
    return NRPS_OK;
}

/* ONNX Runtime's per-call floor: an identity graph as wide as the first model's float32 [batch, n] input, through
 * ort-cpu, built in memory. Skipped (with a note) when no model has such an input. */
nrps_status bench_time_floor(run_ctx *c) {
    const bench_plan *p = c->p;
    int have_ort_cpu = 0, fm_i = -1;
    for (int i = 0; i < p->n_backends; i++) have_ort_cpu |= !strcmp(p->backends[i], "ort-cpu");
    if (!p->floor || !have_ort_cpu || c->r->interrupted) return NRPS_OK;
    for (int m = 0; m < c->n_models && fm_i < 0; m++) {
        const be_tensor *t = &c->m[m].first->input[0];
        if (be_tensor_is_rows(t, t->width) && !c->m[m].first->fixed_batch) fm_i = m;
    }
    if (fm_i < 0) {
        snprintf(c->r->floor_note, sizeof c->r->floor_note,
                 "ONNX Runtime floor not measured: it needs a model with a float32 [batch, n] input");
        return NRPS_OK;
    }
    int width = (int)c->m[fm_i].first->input[0].width;
    uint8_t *bytes = NULL;
    size_t len = 0;
    be_model *fm = NULL;
    be_backend *fb = NULL;
    be_options bo = be_options_default();
    bo.threads = p->opt.threads;
    bo.max_batch = p->batches[p->n_batches - 1];
    nrps_status st = onnx_identity_buffer(width, &bytes, &len);
    if (st == NRPS_OK) st = be_model_from_bytes(bytes, len, "identity graph", &fm);
    free(bytes);
    if (st == NRPS_OK) st = be_create("ort-cpu", fm, &bo, &fb);
    be_model_free(fm);
    for (int bi = 0; st == NRPS_OK && bi < p->n_batches && !c->r->interrupted; bi++) {
        float *in, *out[BE_MAX_IO];
        be_io_buffers(fb, &in, out);
        const float *pool = c->m[fm_i].pool[0];
        int batch = p->batches[bi];
        memcpy(in, pool, sizeof(float) * (size_t)batch * width); /* the model is timed at every plan batch */
        bench_row *row = bench_row_new(c, fb, -1, batch);
        if (!row) break;
        snprintf(row->model_path, sizeof row->model_path, "(identity graph, %d float%s)", width, width == 1 ? "" : "s");
        st = bench_time_backend(fb, (const void *const *)&in, (void *const *)out, batch, &p->loop, &row->tm);
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

/* Where profile k goes: the plan's path for the first, "<stem>-<model>-<backend><ext>" for the others. */
static void profile_target(const char *path, int k, const char *model, const char *backend, char *out, size_t len) {
    if (k == 0) {
        snprintf(out, len, "%s", path);
        return;
    }
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) dot = path + strlen(path);
    snprintf(out, len, "%.*s-%s-%s%s", (int)(dot - path), path, model, backend, dot);
}

/* Ends every ONNX Runtime session's profile, moves it to its target and reads its top ops. */
nrps_status bench_collect_profiles(run_ctx *c) {
    const bench_plan *p = c->p;
    bench_env *e = &c->r->env;
    if (!p->opt.ort.profile_prefix) return NRPS_OK;
    for (int m = 0; m < c->n_models; m++)
        for (int i = 0; i < p->n_backends; i++) {
            be_backend *b = c->m[m].bk[i];
            char file[1024];
            if (!b || be_is_native(p->backends[i]) || e->n_profiles == BENCH_MAX_MODELS * BENCH_MAX_BACKENDS) continue;
            if (be_end_profiling(b, file, sizeof file) != NRPS_OK) continue;
            bench_profile *pr = &e->profiles[e->n_profiles];
            /* built in locals: pr and the model labels both live in *e, which gcc's -Wrestrict cannot tell apart */
            char who[sizeof pr->backend], target[sizeof pr->file];
            snprintf(who, sizeof who, "%s/%s", p->backends[i], e->models[m].label);
            profile_target(p->profile_path, e->n_profiles, e->models[m].label, p->backends[i], target, sizeof target);
            memcpy(pr->backend, who, sizeof who);
            memcpy(pr->file, target, sizeof target);
            if (rename(file, pr->file) != 0) {
                nrps_set_error("--profile: cannot move ONNX Runtime's profile %s to %s", file, pr->file);
                return NRPS_ERR_IO;
            }
            nrps_status st = ort_profile_top_ops(pr->file, BENCH_PROFILE_OPS, pr->ops, &pr->n_ops, &pr->total_us);
            if (st != NRPS_OK) return st;
            e->n_profiles++;
        }
    return NRPS_OK;
}
