/* ort_io.c - the tensors of an ONNX Runtime session (any number of inputs and outputs, any rank, the element types
 * of be_dtype) and the handles that run it. A handle owns host buffers of max_batch samples for every input and
 * for every output whose size is known before a run; tensors wrapping them are created on the first call at a
 * batch size and reused by every later call at that size. An output whose size is known only after a run (a
 * symbolic dimension nobody bound) is allocated by ONNX Runtime on that first call and the same OrtValue is passed
 * back on later calls. */
#include <stdlib.h>
#include <string.h>

#include "backend/ort_impl.h"

/* ---- describing the graph ---- */

static int dtype_from_onnx(ONNXTensorElementDataType et, be_dtype *t) {
    static const struct {
        ONNXTensorElementDataType onnx;
        be_dtype be;
    } MAP[] = {
        {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, BE_F32},   {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, BE_F16},
        {ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16, BE_BF16}, {ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, BE_F64},
        {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, BE_I64},   {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, BE_I32},
        {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16, BE_I16},   {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, BE_I8},
        {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64, BE_U64},  {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32, BE_U32},
        {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16, BE_U16},  {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, BE_U8},
        {ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, BE_BOOL},
    };
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (MAP[i].onnx == et) return *t = MAP[i].be, 1;
    return 0;
}

/* Name, element type and declared shape of input/output idx into t (and the name/type into sh). */
static nrps_status read_tensor(ort_shared *sh, int output, size_t idx, const char *path, be_tensor *t) {
    OrtAllocator *alloc = NULL;
    OrtTypeInfo *ti = NULL;
    const OrtTensorTypeAndShapeInfo *tsi = NULL;
    char **name = output ? &sh->out_name[idx] : &sh->in_name[idx];
    const char *what = output ? "output" : "input";
    nrps_status rc = NRPS_ERR_BACKEND;
    memset(t, 0, sizeof *t);
    if (ort_fail(g_ort->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions") ||
        ort_fail(output ? g_ort->SessionGetOutputName(sh->sess, idx, alloc, name)
                        : g_ort->SessionGetInputName(sh->sess, idx, alloc, name),
                 "SessionGetInputName/OutputName") ||
        ort_fail(output ? g_ort->SessionGetOutputTypeInfo(sh->sess, idx, &ti)
                        : g_ort->SessionGetInputTypeInfo(sh->sess, idx, &ti),
                 "SessionGetTypeInfo") ||
        ort_fail(g_ort->CastTypeInfoToTensorInfo(ti, &tsi), "CastTypeInfoToTensorInfo"))
        goto cleanup;
    snprintf(t->name, sizeof t->name, "%s", *name);
    rc = NRPS_ERR_UNSUPPORTED;
    if (!tsi) {
        nrps_set_error("%s: %s '%s' is not a tensor (sequences and maps are not benchmarked)", path, what, *name);
        goto cleanup;
    }
    ONNXTensorElementDataType et;
    size_t nd = 0;
    if (ort_fail(g_ort->GetTensorElementType(tsi, &et), "GetTensorElementType") ||
        ort_fail(g_ort->GetDimensionsCount(tsi, &nd), "GetDimensionsCount")) {
        rc = NRPS_ERR_BACKEND;
        goto cleanup;
    }
    (output ? sh->out_type : sh->in_type)[idx] = et;
    if (!dtype_from_onnx(et, &t->dtype)) {
        nrps_set_error("%s: %s '%s' has ONNX element type %d; supported: float32, float16, bfloat16, float64, "
                       "int64/32/16/8, uint64/32/16/8, bool", path, what, *name, (int)et);
        goto cleanup;
    }
    if (nd > BE_MAX_RANK) {
        nrps_set_error("%s: %s '%s' has rank %zu; at most %d is supported", path, what, *name, nd, BE_MAX_RANK);
        goto cleanup;
    }
    const char *sym[BE_MAX_RANK] = {0};
    t->rank = (int)nd;
    if (ort_fail(g_ort->GetDimensions(tsi, t->dim, nd), "GetDimensions") ||
        ort_fail(g_ort->GetSymbolicDimensions(tsi, sym, nd), "GetSymbolicDimensions")) {
        rc = NRPS_ERR_BACKEND;
        goto cleanup;
    }
    for (size_t d = 0; d < nd; d++) {
        if (t->dim[d] <= 0) t->dim[d] = -1;
        if (t->dim[d] < 0 && sym[d]) snprintf(t->dim_name[d], sizeof t->dim_name[d], "%s", sym[d]);
    }
    rc = NRPS_OK;
cleanup:
    if (ti) g_ort->ReleaseTypeInfo(ti);
    return rc;
}

static int dim_bound(const be_options *opt, const char *name, int64_t *value) {
    for (int i = 0; name[0] && i < opt->n_dims; i++)
        if (!strcmp(opt->dims[i].name, name)) return *value = opt->dims[i].value, 1;
    return 0;
}

/* The batch axis of t: the dimension named opt->batch_dim, or else dim 0 when it is symbolic (or, in a graph
 * whose inputs all fix dim 0, that fixed dim). -1 when t has none. A batch dimension bound with --dim becomes a
 * fixed batch size (bind_dims). */
static int batch_axis(const be_tensor *t, const be_options *opt, int all_fixed) {
    if (opt->batch_dim) {
        for (int d = 0; d < t->rank; d++)
            if (!strcmp(t->dim_name[d], opt->batch_dim)) return d;
        return -1;
    }
    if (t->rank == 0) return -1;
    return t->dim[0] < 0 || all_fixed ? 0 : -1;
}

/* Elements per batch entry: the product of the other dims, fixed or bound; 0 when one is unknown. Sets the bound
 * values into t->dim (the names stay). */
static long sample_width(be_tensor *t) {
    long w = 1;
    for (int d = 0; d < t->rank; d++) {
        if (d == t->batch_axis) continue;
        if (t->dim[d] <= 0) return 0;
        if (t->dim[d] > (1L << 40) / w) return -1;
        w *= (long)t->dim[d];
    }
    return w;
}

static void bind_dims(be_tensor *t, const be_options *opt) {
    for (int d = 0; d < t->rank; d++) {
        int64_t v;
        if (t->dim[d] < 0 && dim_bound(opt, t->dim_name[d], &v)) t->dim[d] = v;
    }
}

/* An input every dimension of which is known: otherwise the error names the dimension and the flag to give. */
static nrps_status input_resolved(const be_tensor *t, const char *path) {
    for (int d = 0; d < t->rank; d++) {
        if (d == t->batch_axis || t->dim[d] > 0) continue;
        if (t->dim_name[d][0])
            nrps_set_error("%s: input '%s' dimension %d ('%s') is symbolic: give its size with --dim %s=<size> (or, "
                           "if it is the batch, --batch-dim %s)", path, t->name, d, t->dim_name[d],
                           t->dim_name[d], t->dim_name[d]);
        else
            nrps_set_error("%s: input '%s' dimension %d has neither a fixed size nor a name; re-export the model "
                           "with a fixed size or a named dynamic axis", path, t->name, d);
        return NRPS_ERR_ARG;
    }
    if (t->width > 0) return NRPS_OK;
    nrps_set_error("%s: input '%s' is too large (more than 2^40 elements per sample)", path, t->name);
    return NRPS_ERR_ARG;
}

/* For a network of the family, puts the outputs in head order and gives them the heads' kinds. */
static void order_as_heads(ort_shared *sh, be_info *info, const nn_net *net) {
    if (!net || net->arch.n_heads != info->n_outputs) return;
    for (int h = 0; h < info->n_outputs; h++)
        for (int k = h; k < info->n_outputs; k++)
            if (!strcmp(info->output[k].name, net->arch.head[h].name)) {
                be_tensor t = info->output[h];
                info->output[h] = info->output[k], info->output[k] = t;
                char *nm = sh->out_name[h];
                sh->out_name[h] = sh->out_name[k], sh->out_name[k] = nm;
                ONNXTensorElementDataType et = sh->out_type[h];
                sh->out_type[h] = sh->out_type[k], sh->out_type[k] = et;
                break;
            }
    for (int h = 0; h < info->n_outputs; h++)
        if (!strcmp(info->output[h].name, net->arch.head[h].name) &&
            info->output[h].width == nn_head_width(&net->arch, h)) {
            info->output[h].kind = net->arch.head[h].kind;
            info->output[h].final_act = nn_head_act(&net->arch, h);
        }
}

static nrps_status describe_inputs(ort_shared *sh, const be_options *opt, const char *path, be_info *info) {
    int all_fixed = 1;
    for (int j = 0; j < sh->n_in; j++) {
        nrps_status rc = read_tensor(sh, 0, (size_t)j, path, &info->input[j]);
        if (rc != NRPS_OK) return rc;
        all_fixed &= info->input[j].rank > 0 && info->input[j].dim[0] > 0;
    }
    int have_batch = 0;
    for (int j = 0; j < sh->n_in; j++) {
        be_tensor *t = &info->input[j];
        t->batch_axis = batch_axis(t, opt, all_fixed && !opt->batch_dim);
        have_batch |= t->batch_axis >= 0;
    }
    if (opt->batch_dim && !have_batch) {
        nrps_set_error("%s: --batch-dim %s: no input has a dimension of that name", path, opt->batch_dim);
        return NRPS_ERR_ARG;
    }
    for (int j = 0; j < sh->n_in; j++) {
        be_tensor *t = &info->input[j];
        bind_dims(t, opt);
        t->width = sample_width(t);
        nrps_status rc = input_resolved(t, path);
        if (rc != NRPS_OK) return rc;
        if (t->batch_axis >= 0 && t->dim[t->batch_axis] > 0 && !info->fixed_batch)
            info->fixed_batch = (int)t->dim[t->batch_axis];
    }
    if (!have_batch) info->fixed_batch = 1; /* nothing scales with the batch: one sample per call */
    return NRPS_OK;
}

/* 1 when name is one of the inputs' symbolic dimensions other than their batch axis. */
static int input_other_dim(const be_info *info, const char *name) {
    for (int j = 0; j < info->n_inputs; j++)
        for (int d = 0; d < info->input[j].rank; d++)
            if (d != info->input[j].batch_axis && !strcmp(info->input[j].dim_name[d], name)) return 1;
    return 0;
}

/* The batch axis of an output: the dimension named like the inputs' batch dimension; else dim 0 when it equals a
 * fixed batch, or when it is symbolic and its name (exporters invent ones like "Gemmpolicy_dim_0") is neither
 * bound by --dim nor one of the inputs' other dimensions. */
static int output_batch_axis(const be_tensor *t, const be_info *info, const char *batch_name, const be_options *opt) {
    if (batch_name[0]) {
        for (int d = 0; d < t->rank; d++)
            if (!strcmp(t->dim_name[d], batch_name)) return d;
    }
    if (t->rank == 0) return -1;
    if (info->fixed_batch > 0) return t->dim[0] == info->fixed_batch ? 0 : -1;
    if (t->dim[0] > 0) return -1;
    int64_t v;
    return t->dim_name[0][0] && (dim_bound(opt, t->dim_name[0], &v) || input_other_dim(info, t->dim_name[0])) ? -1 : 0;
}

nrps_status ort_describe(ort_shared *sh, const be_options *opt, const nn_net *net, const char *path, be_info *info) {
    size_t n_in = 0, n_out = 0;
    if (ort_fail(g_ort->SessionGetInputCount(sh->sess, &n_in), "SessionGetInputCount") ||
        ort_fail(g_ort->SessionGetOutputCount(sh->sess, &n_out), "SessionGetOutputCount"))
        return NRPS_ERR_BACKEND;
    if (n_in < 1 || n_in > BE_MAX_IO || n_out < 1 || n_out > BE_MAX_IO) {
        nrps_set_error("%s: %zu input%s and %zu output%s; 1 to %d of each are supported", path, n_in,
                       n_in == 1 ? "" : "s", n_out, n_out == 1 ? "" : "s", BE_MAX_IO);
        return NRPS_ERR_UNSUPPORTED;
    }
    sh->n_in = info->n_inputs = (int)n_in;
    sh->n_out = info->n_outputs = (int)n_out;
    nrps_status rc = describe_inputs(sh, opt, path, info);
    if (rc != NRPS_OK) return rc;
    const char *batch_name = "";
    for (int j = 0; j < info->n_inputs && !batch_name[0]; j++)
        if (info->input[j].batch_axis >= 0) batch_name = info->input[j].dim_name[info->input[j].batch_axis];
    for (int k = 0; k < info->n_outputs; k++) {
        be_tensor *t = &info->output[k];
        if ((rc = read_tensor(sh, 1, (size_t)k, path, t)) != NRPS_OK) return rc;
        t->batch_axis = output_batch_axis(t, info, batch_name, opt);
        bind_dims(t, opt);
        t->width = sample_width(t);
        if (t->width < 0) t->width = 0; /* huge: let ONNX Runtime allocate it */
    }
    order_as_heads(sh, info, net);
    return NRPS_OK;
}

/* ---- handles ---- */

typedef struct {
    OrtValue *v[2 * BE_MAX_IO]; /* inputs, then outputs */
} ort_slot;

typedef struct {
    ort_shared *sh;
    OrtMemoryInfo *mem;
    int max_batch;
    be_tensor in[BE_MAX_IO], out[BE_MAX_IO];
    void *in_buf[BE_MAX_IO], *out_buf[BE_MAX_IO]; /* max_batch samples; out_buf NULL when width is unknown */
    ort_slot **slot;                              /* [max_batch + 1], created on first use */
    const void *last[BE_MAX_IO];
    long last_elems[BE_MAX_IO];
    int n_last;
} ort_handle;

static void handle_destroy(void *p) {
    ort_handle *c = p;
    if (!c) return;
    for (int b = 0; c->slot && b <= c->max_batch; b++) {
        if (!c->slot[b]) continue;
        for (int i = 0; i < 2 * BE_MAX_IO; i++)
            if (c->slot[b]->v[i]) g_ort->ReleaseValue(c->slot[b]->v[i]);
        free(c->slot[b]);
    }
    free(c->slot);
    for (int k = 0; k < BE_MAX_IO; k++) free(c->in_buf[k]), free(c->out_buf[k]);
    if (c->mem) g_ort->ReleaseMemoryInfo(c->mem);
    if (c->sh) ort_shared_release(c->sh);
    free(c);
}

static size_t tensor_bytes(const be_tensor *t, int batch) {
    return (size_t)be_tensor_elems(t, batch) * be_dtype_size(t->dtype);
}

/* An OrtValue over buf with t's shape at batch. */
static nrps_status wrap(const ort_handle *c, const be_tensor *t, ONNXTensorElementDataType et, void *buf, int batch,
                        OrtValue **v) {
    int64_t shape[BE_MAX_RANK];
    for (int d = 0; d < t->rank; d++) shape[d] = d == t->batch_axis ? batch : t->dim[d];
    size_t bytes = tensor_bytes(t, batch);
    return ort_fail(g_ort->CreateTensorWithDataAsOrtValue(c->mem, buf, bytes ? bytes : 1, shape, (size_t)t->rank,
                                                          et, v),
                    "ONNX Runtime CreateTensorWithDataAsOrtValue")
               ? NRPS_ERR_BACKEND
               : NRPS_OK;
}

static nrps_status slot_make(ort_handle *c, int batch, ort_slot **out) {
    ort_slot *s = calloc(1, sizeof *s);
    if (!s) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    *out = s;
    nrps_status rc = NRPS_OK;
    for (int j = 0; rc == NRPS_OK && j < c->sh->n_in; j++)
        rc = wrap(c, &c->in[j], c->sh->in_type[j], c->in_buf[j], batch, &s->v[j]);
    for (int k = 0; rc == NRPS_OK && k < c->sh->n_out; k++)
        if (c->out_buf[k]) rc = wrap(c, &c->out[k], c->sh->out_type[k], c->out_buf[k], batch, &s->v[c->sh->n_in + k]);
    return rc;
}

/* Data and element count of output k after a run. */
static nrps_status output_data(ort_handle *c, const ort_slot *s, int k, int batch) {
    if (c->out_buf[k]) {
        c->last[k] = c->out_buf[k];
        c->last_elems[k] = be_tensor_elems(&c->out[k], batch);
        return NRPS_OK;
    }
    OrtValue *v = s->v[c->sh->n_in + k];
    OrtTensorTypeAndShapeInfo *ts = NULL;
    size_t n = 0;
    void *data = NULL;
    if (ort_fail(g_ort->GetTensorMutableData(v, &data), "GetTensorMutableData") ||
        ort_fail(g_ort->GetTensorTypeAndShape(v, &ts), "GetTensorTypeAndShape"))
        return NRPS_ERR_BACKEND;
    int bad = ort_fail(g_ort->GetTensorShapeElementCount(ts, &n), "GetTensorShapeElementCount");
    g_ort->ReleaseTensorTypeAndShapeInfo(ts);
    if (bad) return NRPS_ERR_BACKEND;
    c->last[k] = data;
    c->last_elems[k] = (long)n;
    return NRPS_OK;
}

static nrps_status handle_run_io(void *p, const void *const *in, int batch, void *const *out) {
    ort_handle *c = p;
    ort_shared *sh = c->sh;
    nrps_status rc;
    if (!c->slot[batch] && (rc = slot_make(c, batch, &c->slot[batch])) != NRPS_OK) return rc;
    ort_slot *s = c->slot[batch];
    for (int j = 0; in && j < sh->n_in; j++)
        if (in[j] && in[j] != c->in_buf[j]) memcpy(c->in_buf[j], in[j], tensor_bytes(&c->in[j], batch));
    c->n_last = 0;
    OrtStatus *st = g_ort->Run(sh->sess, NULL, (const char *const *)sh->in_name, (const OrtValue *const *)s->v,
                               (size_t)sh->n_in, (const char *const *)sh->out_name, (size_t)sh->n_out, s->v + sh->n_in);
    if (st) { /* the message is formatted only on failure: Run is the timed call */
        char what[600];
        snprintf(what, sizeof what, "%s: ONNX Runtime Run at batch %d", sh->path, batch);
        ort_fail(st, what);
        return NRPS_ERR_BACKEND;
    }
    for (int k = 0; k < sh->n_out; k++) {
        if ((rc = output_data(c, s, k, batch)) != NRPS_OK) return rc;
        if (out && out[k] && out[k] != c->last[k])
            memcpy(out[k], c->last[k], (size_t)c->last_elems[k] * be_dtype_size(c->out[k].dtype));
    }
    c->n_last = sh->n_out;
    return NRPS_OK;
}

static int handle_last_outputs(void *p, const void **data, long *elems) {
    ort_handle *c = p;
    for (int k = 0; k < c->n_last; k++) data[k] = c->last[k], elems[k] = c->last_elems[k];
    return c->n_last;
}

static void handle_io_buffers(void *p, float **in, float **out) {
    ort_handle *c = p;
    *in = c->in[0].dtype == BE_F32 ? c->in_buf[0] : NULL;
    for (int k = 0; k < c->sh->n_out; k++) out[k] = c->out[k].dtype == BE_F32 ? c->out_buf[k] : NULL;
}

static void handle_io_tensors(void *p, void **in) {
    ort_handle *c = p;
    for (int j = 0; j < c->sh->n_in; j++) in[j] = c->in_buf[j];
}

static nrps_status handle_share(void *p, be_backend *nb) {
    ort_handle *c = p;
    return ort_handle_create(c->sh, nb, c->max_batch);
}

static nrps_status handle_end_profiling(void *p, char *path, size_t len) {
    ort_handle *c = p;
    OrtAllocator *alloc = NULL;
    char *name = NULL;
    if (!c->sh->profiling) {
        nrps_set_error("profiling is off or already ended");
        return NRPS_ERR_UNSUPPORTED;
    }
    if (ort_fail(g_ort->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions") ||
        ort_fail(g_ort->SessionEndProfiling(c->sh->sess, alloc, &name), "ONNX Runtime SessionEndProfiling"))
        return NRPS_ERR_BACKEND;
    c->sh->profiling = 0;
    snprintf(path, len, "%s", name);
    OrtStatus *st = g_ort->AllocatorFree(alloc, name);
    if (st) g_ort->ReleaseStatus(st);
    return NRPS_OK;
}

/* Refuses buffers larger than half the machine's memory before allocating them. */
static nrps_status handle_fits(const ort_handle *c, const be_info *info) {
    double bytes = 0;
    for (int j = 0; j < c->sh->n_in; j++) bytes += (double)tensor_bytes(&info->input[j], 1) * c->max_batch;
    for (int k = 0; k < c->sh->n_out; k++) bytes += (double)tensor_bytes(&info->output[k], 1) * c->max_batch;
    return nrps_buffers_fit(bytes, c->max_batch, info->model_path);
}

static nrps_status handle_alloc(ort_handle *c, const be_info *info) {
    for (int j = 0; j < c->sh->n_in; j++)
        if (!(c->in_buf[j] = calloc(1, tensor_bytes(&info->input[j], c->max_batch) + 1))) return NRPS_ERR_NOMEM;
    for (int k = 0; k < c->sh->n_out; k++)
        if (info->output[k].width > 0 &&
            !(c->out_buf[k] = calloc(1, tensor_bytes(&info->output[k], c->max_batch) + 1)))
            return NRPS_ERR_NOMEM;
    if (!(c->slot = calloc((size_t)c->max_batch + 1, sizeof *c->slot))) return NRPS_ERR_NOMEM;
    return NRPS_OK;
}

nrps_status ort_handle_create(ort_shared *sh, be_backend *b, int max_batch) {
    ort_handle *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    ort_shared_retain(sh);
    c->sh = sh;
    c->max_batch = max_batch;
    memcpy(c->in, b->info.input, sizeof c->in);
    memcpy(c->out, b->info.output, sizeof c->out);
    nrps_status rc = handle_fits(c, &b->info);
    if (rc != NRPS_OK) {
        handle_destroy(c);
        return rc;
    }
    rc = handle_alloc(c, &b->info);
    if (rc != NRPS_OK) {
        handle_destroy(c);
        nrps_set_error("out of memory for %d-sample ONNX Runtime buffers", max_batch);
        return rc;
    }
    if (ort_fail(g_ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &c->mem), "CreateCpuMemoryInfo")) {
        handle_destroy(c);
        return NRPS_ERR_BACKEND;
    }
    b->ctx = c;
    b->run_io = handle_run_io;
    b->last_outputs = handle_last_outputs;
    b->io_buffers = handle_io_buffers;
    b->io_tensors = handle_io_tensors;
    b->share = handle_share;
    b->end_profiling = handle_end_profiling;
    b->destroy = handle_destroy;
    return NRPS_OK;
}
