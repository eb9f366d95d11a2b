/* backend.c - the backend registry (name -> constructor, GPU flag, description), be_create and the checked
 * wrappers every caller goes through (backend.h). The vtable lives in backend_impl.h. */
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"

/* The one table: be_create, the name checks, --help and the error messages all iterate it. */
static const be_entry REGISTRY[] = {
    /* name         constructor     gpu native prefix bench  description */
    {"native-ref", be_ref_create, 0, 1, 0, 0, "plain-C reference forward (double accumulation), bit-reproducible"},
    {"ort-cpu", be_ort_create, 0, 0, 0, 1, "ONNX Runtime, CPU execution provider"},
    {"native-cpu", be_cpu_create, 0, 1, 0, 1, "our vectorised C kernels (AVX-512 / AVX2 / baseline at run time)"},
    {"xnnpack-cpu", be_xnnpack_create, 0, 1, 0, 0,
     "XNNPACK's fully-connected operators (Debian libxnnpack), pthreadpool threads"}, /* --help: <= 76 chars */
    {"ort-cuda", be_ort_create, 1, 0, 0, 1, "ONNX Runtime, CUDA execution provider (TF32 off)"},
    {"ort-tensorrt", be_ort_create, 1, 0, 0, 1, "ONNX Runtime, TensorRT execution provider"},
    {"native-cuda", be_cuda_create, 1, 1, 0, 1, "our CUDA kernels (fp32; H2D + kernels + D2H per call)"},
    {"ort-", be_ort_create, 1, 0, 1, 0, "ONNX Runtime, any other provider (ort-rocm, ort-openvino, ...)"},
};
enum { N_REGISTRY = sizeof REGISTRY / sizeof REGISTRY[0] };

/* The entry for name, or NULL. "ort" (with be_options.provider) maps to the generic ONNX Runtime entry. */
static const be_entry *entry_find(const char *name) {
    for (int i = 0; i < N_REGISTRY; i++)
        if (!REGISTRY[i].prefix && !strcmp(name, REGISTRY[i].name)) return &REGISTRY[i];
    for (int i = 0; i < N_REGISTRY; i++) {
        size_t k = strlen(REGISTRY[i].name);
        if (REGISTRY[i].prefix && !strncmp(name, REGISTRY[i].name, k) && be_ort_provider_known(name + k))
            return &REGISTRY[i];
    }
    if (!strcmp(name, "ort")) return &REGISTRY[N_REGISTRY - 1];
    return NULL;
}

int be_registry_count(void) { return N_REGISTRY; }
const char *be_registry_name(int i) {
    if (i < 0 || i >= N_REGISTRY) return NULL;
    return REGISTRY[i].prefix ? "ort-<provider>" : REGISTRY[i].name;
}
const char *be_registry_description(int i) { return i >= 0 && i < N_REGISTRY ? REGISTRY[i].description : NULL; }
int be_registry_is_gpu(int i) { return i >= 0 && i < N_REGISTRY && REGISTRY[i].is_gpu; }
int be_registry_bench_default(int i) { return i >= 0 && i < N_REGISTRY && REGISTRY[i].bench_default; }

void be_registry_names(char *buf, size_t len) {
    size_t pos = 0;
    if (len) buf[0] = 0;
    for (int i = 0; i < N_REGISTRY && pos + 1 < len; i++) {
        int k = snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", be_registry_name(i));
        if (k < 0) break;
        pos += (size_t)k;
    }
}

int be_name_known(const char *name) { return entry_find(name) != NULL; }

int be_is_native(const char *name) {
    const be_entry *e = entry_find(name);
    return e && e->native;
}

int be_is_gpu(const char *name) {
    const be_entry *e = entry_find(name);
    if (!e) return 0;
    if (e->prefix) return be_ort_provider_is_gpu(name + strlen(e->name));
    return e->is_gpu;
}

be_options be_options_default(void) {
    return (be_options){.threads = 1, .device_id = 0, .provider = NULL, .max_batch = 1024};
}

nrps_status be_host_io_alloc(be_host_io *io, const nn_arch *a, int max_batch) {
    memset(io, 0, sizeof *io);
    size_t mb = (size_t)max_batch;
    int ok = (io->in = calloc(mb * (size_t)a->in, sizeof(float))) != NULL;
    for (int h = 0; ok && h < a->n_heads; h++, io->n_out++)
        ok = (io->out[h] = calloc(mb * (size_t)nn_head_width(a, h), sizeof(float))) != NULL;
    if (ok) return NRPS_OK;
    be_host_io_free(io);
    nrps_set_error("out of memory for %d-sample buffers", max_batch);
    return NRPS_ERR_NOMEM;
}

void be_host_io_free(be_host_io *io) {
    free(io->in);
    for (int h = 0; h < NN_MAX_HEADS; h++) free(io->out[h]);
    memset(io, 0, sizeof *io);
}

void be_host_io_get(const be_host_io *io, float **in, float **out) {
    *in = io->in;
    for (int h = 0; h < io->n_out; h++) out[h] = io->out[h];
}

/* A float32 [batch, width] tensor named name. */
static void tensor_2d(be_tensor *t, const char *name, int width) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = BE_F32;
    t->rank = 2;
    t->dim[0] = -1, t->dim[1] = width;
    snprintf(t->dim_name[0], sizeof t->dim_name[0], "batch");
    t->batch_axis = 0;
    t->width = width;
}

void be_info_from_net(const nn_net *n, const char *input_name, be_info *info) {
    info->n_inputs = 1;
    tensor_2d(&info->input[0], input_name && *input_name ? input_name : "input", n->arch.in);
    info->n_outputs = n->arch.n_heads;
    for (int h = 0; h < n->arch.n_heads; h++) {
        be_tensor *o = &info->output[h];
        tensor_2d(o, n->arch.head[h].name, nn_head_width(&n->arch, h));
        o->kind = n->arch.head[h].kind;
        o->final_act = nn_head_act(&n->arch, h);
    }
}

nrps_status be_create(const char *name, const be_model *model, const be_options *opt_in, be_backend **out) {
    *out = NULL;
    be_options opt = opt_in ? *opt_in : be_options_default();
    if (opt.threads <= 0) opt.threads = 1;
    if (opt.max_batch <= 0) opt.max_batch = 1024;
    const be_entry *e = entry_find(name);
    if (!e) {
        char names[256];
        be_registry_names(names, sizeof names);
        nrps_set_error("unknown backend '%s' (expected one of: %s)", name, names);
        return NRPS_ERR_ARG;
    }
    if (e->native && !be_model_net(model)) {
        nrps_set_error("%s: %s (our native backends run dense layer lists; ort-cpu runs any model)", name,
                       be_model_refusal(model));
        return NRPS_ERR_UNSUPPORTED;
    }
    be_backend *b = calloc(1, sizeof *b);
    if (!b) {
        nrps_set_error("%s: out of memory", name);
        return NRPS_ERR_NOMEM;
    }
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->info.model_path, sizeof b->info.model_path, "%s", be_model_path(model));
    b->max_batch = opt.max_batch;
    if (e->native) be_info_from_net(be_model_net(model), be_model_info(model)->input_name, &b->info);
    double t0 = nrps_now_s();
    nrps_status rc = e->create(name, model, &opt, b);
    if (rc != NRPS_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("%s: %s", name, msg);
        free(b);
        return rc;
    }
    if (b->info.create_ms <= 0) b->info.create_ms = (nrps_now_s() - t0) * 1e3;
    *out = b;
    return NRPS_OK;
}

static nrps_status batch_check(const be_backend *b, int batch) {
    if (batch < 1 || batch > b->max_batch) {
        nrps_set_error("%s: batch %d outside 1..%d", b->name, batch, b->max_batch);
        return NRPS_ERR_ARG;
    }
    if (b->info.fixed_batch > 0 && batch != b->info.fixed_batch) {
        nrps_set_error("%s: %s takes only batch size %d (its graph fixes the batch dimension), not %d", b->name,
                       b->info.model_path, b->info.fixed_batch, batch);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

/* Remembers where a run without last_outputs put its outputs. */
static void note_outputs(be_backend *b, int batch, float *const *out) {
    b->n_last = b->info.n_outputs;
    for (int k = 0; k < b->n_last; k++) {
        b->last_out[k] = out[k];
        b->last_elems[k] = be_tensor_elems(&b->info.output[k], batch);
    }
}

static int all_float(const be_tensor *t, int n) {
    for (int k = 0; k < n; k++)
        if (t[k].dtype != BE_F32) return 0;
    return 1;
}

nrps_status be_run(be_backend *b, const float *in, int batch, float *const *out) {
    nrps_status st = batch_check(b, batch);
    if (st != NRPS_OK) return st;
    if (b->info.n_inputs != 1 || !all_float(b->info.input, 1) || !all_float(b->info.output, b->info.n_outputs)) {
        nrps_set_error("%s: %s does not take one float32 input to float32 outputs (%d input%s); use be_run_io",
                       b->name, b->info.model_path, b->info.n_inputs, b->info.n_inputs == 1 ? "" : "s");
        return NRPS_ERR_ARG;
    }
    if (b->run_io) return b->run_io(b->ctx, (const void *const *)&in, batch, (void *const *)out);
    st = b->run(b->ctx, in, batch, out);
    if (st == NRPS_OK) note_outputs(b, batch, out);
    return st;
}

nrps_status be_run_io(be_backend *b, const void *const *in, int batch, void *const *out) {
    nrps_status st = batch_check(b, batch);
    if (st != NRPS_OK) return st;
    if (b->run_io) return b->run_io(b->ctx, in, batch, out);
    float *own_in, *own_out[BE_MAX_IO], *dst[BE_MAX_IO];
    be_io_buffers(b, &own_in, own_out);
    const float *x = in && in[0] ? in[0] : own_in;
    for (int k = 0; k < b->info.n_outputs; k++) dst[k] = out && out[k] ? out[k] : own_out[k];
    if (!x) {
        nrps_set_error("%s: no input given and the backend has no input buffer", b->name);
        return NRPS_ERR_ARG;
    }
    st = b->run(b->ctx, x, batch, dst);
    if (st == NRPS_OK) note_outputs(b, batch, dst);
    return st;
}

int be_last_outputs(be_backend *b, const void *data[BE_MAX_IO], long elems[BE_MAX_IO]) {
    if (b->last_outputs) return b->last_outputs(b->ctx, data, elems);
    for (int k = 0; k < b->n_last; k++) data[k] = b->last_out[k], elems[k] = b->last_elems[k];
    return b->n_last;
}

void be_io_buffers(be_backend *b, float **in, float *out[BE_MAX_IO]) {
    *in = NULL;
    for (int k = 0; k < BE_MAX_IO; k++) out[k] = NULL;
    if (b->io_buffers) b->io_buffers(b->ctx, in, out);
}

void be_io_tensors(be_backend *b, void *in[BE_MAX_IO]) {
    for (int k = 0; k < BE_MAX_IO; k++) in[k] = NULL;
    if (b->io_tensors) {
        b->io_tensors(b->ctx, in);
        return;
    }
    float *x, *out[BE_MAX_IO];
    be_io_buffers(b, &x, out);
    in[0] = x;
}

nrps_status be_share(be_backend *b, be_backend **out) {
    *out = NULL;
    if (!b->share) {
        nrps_set_error("%s: has no shared session (create one handle per thread)", b->name);
        return NRPS_ERR_UNSUPPORTED;
    }
    be_backend *nb = calloc(1, sizeof *nb);
    if (!nb) {
        nrps_set_error("%s: out of memory", b->name);
        return NRPS_ERR_NOMEM;
    }
    snprintf(nb->name, sizeof nb->name, "%s", b->name);
    nb->max_batch = b->max_batch;
    nb->info = b->info;
    nrps_status st = b->share(b->ctx, nb);
    if (st != NRPS_OK) {
        free(nb);
        return st;
    }
    *out = nb;
    return NRPS_OK;
}

nrps_status be_end_profiling(be_backend *b, char *path, size_t len) {
    if (!b->end_profiling) {
        nrps_set_error("%s: not profiling", b->name);
        return NRPS_ERR_UNSUPPORTED;
    }
    return b->end_profiling(b->ctx, path, len);
}

const be_info *be_get_info(const be_backend *b) { return &b->info; }
const char *be_name(const be_backend *b) { return b->name; }
int be_max_batch(const be_backend *b) { return b->max_batch; }

void be_destroy(be_backend *b) {
    if (!b) return;
    if (b->destroy) b->destroy(b->ctx);
    free(b);
}
