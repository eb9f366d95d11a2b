/* ort.c - the ONNX Runtime backends (ort-cpu, ort-cuda, ort-tensorrt, ort-<provider>) through the C API.
 * One process-wide OrtEnv (reference counted). Per session: intra-op threads as asked (default 1), inter-op 1,
 * sequential execution, ORT_ENABLE_ALL graph optimisation. Input/output tensors wrap preallocated host buffers
 * of max_batch samples and are created once per batch size (the first call at a batch size creates them; later
 * calls allocate nothing). Every OrtStatus is turned into a one-line nrps error and released. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include <onnxruntime_c_api.h>

#include "backend/backend_impl.h"

static const OrtApi *g_api;
static OrtEnv *g_env;
static int g_env_refs;
static unsigned g_plugins_registered; /* bit i: PLUGINS[i] registered with g_env */

/* Copies an ORT message into the error line, flattening newlines; releases the status. Returns 1 if st != NULL. */
static int ort_fail(OrtStatus *st, const char *what) {
    if (!st) return 0;
    char msg[600];
    snprintf(msg, sizeof msg, "%s", g_api->GetErrorMessage(st));
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t n = strlen(msg);
    while (n && msg[n - 1] == ' ') msg[--n] = 0;
    nrps_set_error("%s: %s", what, msg);
    g_api->ReleaseStatus(st);
    return 1;
}

static pthread_once_t g_api_once = PTHREAD_ONCE_INIT;

static void api_load(void) {
    const OrtApiBase *base = OrtGetApiBase();
    g_api = base ? base->GetApi(ORT_API_VERSION) : NULL;
}

/* Loads the C API table once (thread-safe). */
static nrps_status ort_api_init(void) {
    pthread_once(&g_api_once, api_load);
    if (g_api) return NRPS_OK;
    const OrtApiBase *base = OrtGetApiBase();
    nrps_set_error("ONNX Runtime library %s does not provide C API version %d", base ? base->GetVersionString() : "?",
                   ORT_API_VERSION);
    return NRPS_ERR_UNAVAILABLE;
}

const char *be_ort_version(void) { return OrtGetApiBase()->GetVersionString(); }

void be_ort_providers(char *buf, size_t len) {
    if (!len) return;
    buf[0] = 0;
    if (ort_api_init() != NRPS_OK) return;
    char **p = NULL;
    int n = 0;
    if (ort_fail(g_api->GetAvailableProviders(&p, &n), "GetAvailableProviders")) return;
    size_t used = 0;
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", p[i]);
    OrtStatus *st = g_api->ReleaseAvailableProviders(p, n);
    if (st) g_api->ReleaseStatus(st);
}

static const struct {
    const char *shortname, *generic, *full;
} PROVIDERS[] = {
    {"cpu", "CPU", "CPUExecutionProvider"},
    {"cuda", NULL, "CUDAExecutionProvider"},
    {"tensorrt", NULL, "TensorrtExecutionProvider"},
    {"trt", NULL, "TensorrtExecutionProvider"},
    {"rocm", "ROCM", "ROCMExecutionProvider"},
    {"migraphx", "MIGraphX", "MIGraphXExecutionProvider"},
    {"openvino", "OpenVINO", "OpenVINOExecutionProvider"},
    {"coreml", "CoreML", "CoreMLExecutionProvider"},
    {"dml", "DML", "DmlExecutionProvider"},
    {"qnn", "QNN", "QNNExecutionProvider"},
    {"snpe", "SNPE", "SNPEExecutionProvider"},
    {"xnnpack", "XNNPACK", "XnnpackExecutionProvider"},
    {"webgpu", "WebGPU", "WebGpuExecutionProvider"},
    {"webnn", "WEBNN", "WebNNExecutionProvider"},
    {"azure", "AZURE", "AzureExecutionProvider"},
    {"vitisai", "VitisAI", "VitisAIExecutionProvider"},
    {"nvtensorrtrtx", "NvTensorRtRtx", "NvTensorRTRTXExecutionProvider"},
};
#define NPROVIDERS (sizeof PROVIDERS / sizeof PROVIDERS[0])

static int provider_index(const char *name) {
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (!strcasecmp(name, PROVIDERS[i].shortname) || !strcasecmp(name, PROVIDERS[i].full) ||
            (PROVIDERS[i].generic && !strcmp(name, PROVIDERS[i].generic)))
            return (int)i;
    return -1;
}

int be_ort_provider_known(const char *name) {
    size_t n = strlen(name), k = strlen("ExecutionProvider");
    return provider_index(name) >= 0 || (n > k && !strcmp(name + n - k, "ExecutionProvider"));
}

const char *be_ort_provider_full_name(const char *shortname) {
    int i = provider_index(shortname);
    return i < 0 ? shortname : PROVIDERS[i].full;
}

int be_ort_provider_is_gpu(const char *provider) {
    const char *full = be_ort_provider_full_name(provider);
    return strcmp(full, "CPUExecutionProvider") && strcmp(full, "XnnpackExecutionProvider") &&
           strcmp(full, "OpenVINOExecutionProvider");
}

/* The process-wide environment: created by the first session, released with the last (serialised). */
static pthread_mutex_t g_env_lock = PTHREAD_MUTEX_INITIALIZER;

static nrps_status env_acquire(void) {
    nrps_status rc = NRPS_OK;
    pthread_mutex_lock(&g_env_lock);
    if (!g_env && ort_fail(g_api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "neural_rps", &g_env), "ONNX Runtime CreateEnv"))
        rc = NRPS_ERR_BACKEND;
    else
        g_env_refs++;
    pthread_mutex_unlock(&g_env_lock);
    return rc;
}

static void env_release(void) {
    pthread_mutex_lock(&g_env_lock);
    if (--g_env_refs == 0 && g_env) {
        g_api->ReleaseEnv(g_env);
        g_env = NULL;
        g_plugins_registered = 0;
    }
    pthread_mutex_unlock(&g_env_lock);
}

typedef struct {
    OrtSession *sess;
    OrtMemoryInfo *mem;
    int n_out, max_batch, have_env;
    char *in_name, *out_name[BE_MAX_OUTPUTS]; /* from the session's allocator */
    int in_size, out_size[BE_MAX_OUTPUTS];
    float *in_buf, *out_buf[BE_MAX_OUTPUTS]; /* max_batch samples each */
    OrtValue **in_vals, **out_vals;          /* [max_batch + 1] and [(max_batch + 1) * n_out], created on first use */
} ort_ctx;

static void ort_free_name(char *name) {
    OrtAllocator *alloc = NULL;
    OrtStatus *st;
    if (!name) return;
    if ((st = g_api->GetAllocatorWithDefaultOptions(&alloc))) g_api->ReleaseStatus(st);
    else if ((st = g_api->AllocatorFree(alloc, name))) g_api->ReleaseStatus(st);
}

static void ort_destroy(void *p) {
    ort_ctx *c = p;
    if (!c) return;
    for (size_t i = 0; c->in_vals && i <= (size_t)c->max_batch; i++)
        if (c->in_vals[i]) g_api->ReleaseValue(c->in_vals[i]);
    for (size_t i = 0; c->out_vals && i < ((size_t)c->max_batch + 1) * BE_MAX_OUTPUTS; i++)
        if (c->out_vals[i]) g_api->ReleaseValue(c->out_vals[i]);
    free(c->in_vals);
    free(c->out_vals);
    ort_free_name(c->in_name);
    for (int k = 0; k < BE_MAX_OUTPUTS; k++) {
        ort_free_name(c->out_name[k]);
        free(c->out_buf[k]);
    }
    if (c->mem) g_api->ReleaseMemoryInfo(c->mem);
    if (c->sess) g_api->ReleaseSession(c->sess);
    free(c->in_buf);
    int had_env = c->have_env;
    free(c);
    if (had_env) env_release();
}

static void ort_io_buffers(void *p, float **in, float **out) {
    ort_ctx *c = p;
    *in = c->in_buf;
    for (int k = 0; k < c->n_out; k++) out[k] = c->out_buf[k];
}

static nrps_status tensor_wrap(ort_ctx *c, float *buf, int batch, int width, OrtValue **v, const char *what) {
    int64_t shape[2] = {batch, width};
    return ort_fail(g_api->CreateTensorWithDataAsOrtValue(c->mem, buf, sizeof(float) * (size_t)batch * width, shape,
                                                          2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, v),
                    what)
               ? NRPS_ERR_BACKEND
               : NRPS_OK;
}

static nrps_status ort_run(void *p, const float *in, int batch, float *const *out) {
    ort_ctx *c = p;
    OrtValue **outs = c->out_vals + (size_t)batch * BE_MAX_OUTPUTS;
    if (!c->in_vals[batch]) { /* first call at this batch size: wrap the preallocated buffers */
        if (tensor_wrap(c, c->in_buf, batch, c->in_size, &c->in_vals[batch], "ONNX Runtime input tensor"))
            return NRPS_ERR_BACKEND;
        for (int k = 0; k < c->n_out; k++)
            if (tensor_wrap(c, c->out_buf[k], batch, c->out_size[k], &outs[k], "ONNX Runtime output tensor"))
                return NRPS_ERR_BACKEND;
    }
    if (in != c->in_buf) memcpy(c->in_buf, in, sizeof(float) * (size_t)batch * c->in_size);
    const char *in_names[1] = {c->in_name};
    const OrtValue *ins[1] = {c->in_vals[batch]};
    if (ort_fail(g_api->Run(c->sess, NULL, in_names, ins, 1, (const char *const *)c->out_name, (size_t)c->n_out, outs),
                 "ONNX Runtime Run"))
        return NRPS_ERR_BACKEND;
    for (int k = 0; k < c->n_out; k++)
        if (out[k] != c->out_buf[k]) memcpy(out[k], c->out_buf[k], sizeof(float) * (size_t)batch * c->out_size[k]);
    return NRPS_OK;
}

/* Reads name and per-sample width of input/output idx; the shape must be [batch (dynamic or any), n]. */
static nrps_status read_io(OrtSession *s, int output, size_t idx, const char *path, char **name, int *width) {
    OrtAllocator *alloc = NULL;
    OrtTypeInfo *ti = NULL;
    const OrtTensorTypeAndShapeInfo *tsi = NULL;
    nrps_status rc = NRPS_ERR_BACKEND;
    const char *what = output ? "output" : "input";
    if (ort_fail(g_api->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions")) goto cleanup;
    if (ort_fail(output ? g_api->SessionGetOutputName(s, idx, alloc, name)
                        : g_api->SessionGetInputName(s, idx, alloc, name),
                 "SessionGetInputName/OutputName"))
        goto cleanup;
    if (ort_fail(output ? g_api->SessionGetOutputTypeInfo(s, idx, &ti) : g_api->SessionGetInputTypeInfo(s, idx, &ti),
                 "SessionGetTypeInfo"))
        goto cleanup;
    if (ort_fail(g_api->CastTypeInfoToTensorInfo(ti, &tsi), "CastTypeInfoToTensorInfo")) goto cleanup;
    if (!tsi) {
        nrps_set_error("%s: %s '%s' is not a tensor", path, what, *name);
        rc = NRPS_ERR_UNSUPPORTED;
        goto cleanup;
    }
    ONNXTensorElementDataType et;
    size_t nd = 0;
    int64_t dims[8];
    if (ort_fail(g_api->GetTensorElementType(tsi, &et), "GetTensorElementType")) goto cleanup;
    if (ort_fail(g_api->GetDimensionsCount(tsi, &nd), "GetDimensionsCount")) goto cleanup;
    if (et != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || nd != 2) {
        nrps_set_error("%s: %s '%s' must be float32 [batch, n], got element type %d with %zu dims", path, what, *name,
                       (int)et, nd);
        rc = NRPS_ERR_UNSUPPORTED;
        goto cleanup;
    }
    if (ort_fail(g_api->GetDimensions(tsi, dims, 2), "GetDimensions")) goto cleanup;
    if (dims[1] <= 0 || dims[1] > 1 << 20) {
        nrps_set_error("%s: %s '%s' has no fixed per-sample size (dim 1 = %lld)", path, what, *name,
                       (long long)dims[1]);
        rc = NRPS_ERR_UNSUPPORTED;
        goto cleanup;
    }
    if (dims[0] > 0 && dims[0] != 1) {
        nrps_set_error("%s: %s '%s' has a fixed batch size %lld; a dynamic batch axis is needed", path, what, *name,
                       (long long)dims[0]);
        rc = NRPS_ERR_UNSUPPORTED;
        goto cleanup;
    }
    *width = (int)dims[1];
    rc = NRPS_OK;
cleanup:
    if (ti) g_api->ReleaseTypeInfo(ti);
    return rc;
}

/* Provider libraries that ONNX Runtime (>= 1.22) can load as plugin execution providers. The CPU build of
 * libonnxruntime (what `make deps` installs) answers "... not enabled in this build" to the classic
 * SessionOptionsAppendExecutionProvider_CUDA_V2 call, but the provider libraries of the same release that
 * `make deps-gpu` puts next to it export CreateEpFactories: registered with RegisterExecutionProviderLibrary,
 * they offer OrtEpDevices that SessionOptionsAppendExecutionProvider_V2 attaches to the session. */
static const struct {
    const char *ep, *registration, *file;
} PLUGINS[] = {
    {"CUDAExecutionProvider", "neural_rps_cuda", "libonnxruntime_providers_cuda.so"},
    {"TensorrtExecutionProvider", "neural_rps_tensorrt", "libonnxruntime_providers_tensorrt.so"},
};

/* Attaches provider `ep` through the plugin route on device number device_id (counting that provider's
 * devices in ONNX Runtime's order). Errors name the library and carry ONNX Runtime's own message. */
static nrps_status append_plugin_ep(OrtSessionOptions *so, const char *ep, int device_id, const char *const *keys,
                                    const char *const *vals, size_t nkv, const char *what) {
    int pi = -1;
    for (size_t i = 0; i < sizeof PLUGINS / sizeof PLUGINS[0]; i++)
        if (!strcmp(PLUGINS[i].ep, ep)) pi = (int)i;
    if (pi < 0) return NRPS_ERR_UNAVAILABLE;
    if (!(g_plugins_registered & (1u << pi))) {
        Dl_info dl;
        char path[4096];
        if (!dladdr((void *)OrtGetApiBase, &dl) || !dl.dli_fname) {
            nrps_set_error("%s: cannot locate libonnxruntime to find %s", what, PLUGINS[pi].file);
            return NRPS_ERR_UNAVAILABLE;
        }
        snprintf(path, sizeof path, "%s", dl.dli_fname);
        char *slash = strrchr(path, '/');
        size_t dirlen = slash ? (size_t)(slash - path) : 0;
        snprintf(path + dirlen, sizeof path - dirlen, "%s%s", dirlen ? "/" : "", PLUGINS[pi].file);
        if (access(path, R_OK) != 0) {
            nrps_set_error("%s: the CPU build of ONNX Runtime has no %s and %s is not installed next to it "
                           "(run 'make deps-gpu', or use ORT_ROOT with a GPU release)",
                           what, ep, path);
            return NRPS_ERR_UNAVAILABLE;
        }
        if (ort_fail(g_api->RegisterExecutionProviderLibrary(g_env, PLUGINS[pi].registration, path), what))
            return NRPS_ERR_UNAVAILABLE;
        g_plugins_registered |= 1u << pi;
    }
    const OrtEpDevice *const *devs = NULL;
    size_t ndev = 0;
    if (ort_fail(g_api->GetEpDevices(g_env, &devs, &ndev), what)) return NRPS_ERR_UNAVAILABLE;
    int seen = 0;
    for (size_t i = 0; i < ndev; i++) {
        if (strcmp(g_api->EpDevice_EpName(devs[i]), ep) != 0) continue;
        if (seen++ != device_id) continue;
        if (ort_fail(g_api->SessionOptionsAppendExecutionProvider_V2(so, g_env, &devs[i], 1, keys, vals, nkv), what))
            return NRPS_ERR_UNAVAILABLE;
        return NRPS_OK;
    }
    nrps_set_error("%s: ONNX Runtime lists %d %s device%s, no device %d", what, seen, ep, seen == 1 ? "" : "s",
                   device_id);
    return NRPS_ERR_UNAVAILABLE;
}

/* Appends the execution provider; returns a one-line error with ONNX Runtime's own message if it is missing. */
static nrps_status append_provider(OrtSessionOptions *so, const char *provider, int device_id, char *used,
                                   size_t used_len) {
    int pi = provider_index(provider);
    char dev[16];
    snprintf(dev, sizeof dev, "%d", device_id);
    char what[96];
    snprintf(what, sizeof what, "ONNX Runtime provider '%s'", provider);
    if (pi >= 0 && !strcmp(PROVIDERS[pi].full, "CPUExecutionProvider")) {
        snprintf(used, used_len, "CPUExecutionProvider");
        return NRPS_OK;
    }
    if (pi >= 0 && !strcmp(PROVIDERS[pi].full, "CUDAExecutionProvider")) {
        OrtCUDAProviderOptionsV2 *co = NULL;
        /* use_tf32=0: plain fp32 GEMMs, comparable with the CPU reference (older builds without the key: retry
         * without it and say so) */
        const char *keys[] = {"device_id", "use_tf32"}, *vals[] = {dev, "0"};
        nrps_status rc = NRPS_ERR_UNAVAILABLE;
        int tf32_off = 1;
        if (!ort_fail(g_api->CreateCUDAProviderOptions(&co), what)) {
            OrtStatus *st = g_api->UpdateCUDAProviderOptions(co, keys, vals, 2);
            if (st) {
                g_api->ReleaseStatus(st);
                tf32_off = 0;
                st = g_api->UpdateCUDAProviderOptions(co, keys, vals, 1);
            }
            if (!ort_fail(st, what) && !ort_fail(g_api->SessionOptionsAppendExecutionProvider_CUDA_V2(so, co), what))
                rc = NRPS_OK;
        }
        if (co) g_api->ReleaseCUDAProviderOptions(co);
        if (rc != NRPS_OK && strstr(nrps_last_error(), "not enabled in this build")) {
            const char *pk[] = {"use_tf32"}, *pv[] = {"0"};
            rc = append_plugin_ep(so, "CUDAExecutionProvider", device_id, pk, pv, 1, what);
            tf32_off = 1;
        }
        if (rc == NRPS_OK)
            snprintf(used, used_len, "CUDAExecutionProvider (device %d, %s) + CPU fallback", device_id,
                     tf32_off ? "fp32, TF32 off" : "TF32 setting not accepted: may use TF32");
        return rc;
    }
    if (pi >= 0 && !strcmp(PROVIDERS[pi].full, "TensorrtExecutionProvider")) {
        OrtTensorRTProviderOptionsV2 *to = NULL;
        const char *keys[] = {"device_id"}, *vals[] = {dev};
        nrps_status rc = NRPS_ERR_UNAVAILABLE;
        if (!ort_fail(g_api->CreateTensorRTProviderOptions(&to), what) &&
            !ort_fail(g_api->UpdateTensorRTProviderOptions(to, keys, vals, 1), what) &&
            !ort_fail(g_api->SessionOptionsAppendExecutionProvider_TensorRT_V2(so, to), what))
            rc = NRPS_OK;
        if (to) g_api->ReleaseTensorRTProviderOptions(to);
        if (rc != NRPS_OK && strstr(nrps_last_error(), "not enabled in this build"))
            rc = append_plugin_ep(so, "TensorrtExecutionProvider", device_id, NULL, NULL, 0, what);
        if (rc == NRPS_OK)
            snprintf(used, used_len, "TensorrtExecutionProvider (device %d, fp32) + CPU fallback", device_id);
        return rc;
    }
    const char *generic = pi >= 0 ? PROVIDERS[pi].generic : provider;
    if (ort_fail(g_api->SessionOptionsAppendExecutionProvider(so, generic, NULL, NULL, 0), what))
        return NRPS_ERR_UNAVAILABLE;
    snprintf(used, used_len, "%s + CPU fallback", pi >= 0 ? PROVIDERS[pi].full : provider);
    return NRPS_OK;
}

/* Session options: threads as asked, inter-op 1, sequential, ORT_ENABLE_ALL, and the provider. */
static nrps_status session_options(const char *provider, const be_options *opt, OrtSessionOptions **so, char *used,
                                   size_t used_len) {
    int threads = opt->threads > 0 ? opt->threads : 1;
    if (ort_fail(g_api->CreateSessionOptions(so), "CreateSessionOptions") ||
        ort_fail(g_api->SetIntraOpNumThreads(*so, threads), "SetIntraOpNumThreads") ||
        ort_fail(g_api->SetInterOpNumThreads(*so, 1), "SetInterOpNumThreads") ||
        ort_fail(g_api->SetSessionExecutionMode(*so, ORT_SEQUENTIAL), "SetSessionExecutionMode") ||
        ort_fail(g_api->SetSessionGraphOptimizationLevel(*so, ORT_ENABLE_ALL), "SetSessionGraphOptimizationLevel"))
        return NRPS_ERR_BACKEND;
    return append_provider(*so, provider, opt->device_id, used, used_len);
}

/* For a network of the family, puts the session's outputs in head order (the order every native backend and
 * nn_forward use), whatever order the graph lists them in. */
static void order_as_heads(ort_ctx *c, const nn_net *net) {
    if (!net || net->arch.n_heads != c->n_out) return;
    for (int h = 0; h < c->n_out; h++)
        for (int k = h; k < c->n_out; k++)
            if (!strcmp(c->out_name[k], net->arch.head[h].name)) {
                char *name = c->out_name[h];
                int size = c->out_size[h];
                c->out_name[h] = c->out_name[k], c->out_size[h] = c->out_size[k];
                c->out_name[k] = name, c->out_size[k] = size;
                break;
            }
}

/* The session's outputs (in head order for a family network), described with the heads of its network. */
static nrps_status describe_io(ort_ctx *c, const be_model *m, be_info *info) {
    const char *path = be_model_path(m);
    size_t n_in = 0, n_out = 0;
    if (ort_fail(g_api->SessionGetInputCount(c->sess, &n_in), "SessionGetInputCount") ||
        ort_fail(g_api->SessionGetOutputCount(c->sess, &n_out), "SessionGetOutputCount"))
        return NRPS_ERR_BACKEND;
    if (n_in != 1 || n_out < 1 || n_out > BE_MAX_OUTPUTS) {
        nrps_set_error("%s: %zu inputs and %zu outputs; this benchmark takes 1 input and 1 to %d outputs", path, n_in,
                       n_out, BE_MAX_OUTPUTS);
        return NRPS_ERR_UNSUPPORTED;
    }
    nrps_status rc = read_io(c->sess, 0, 0, path, &c->in_name, &c->in_size);
    c->n_out = (int)n_out;
    for (int k = 0; rc == NRPS_OK && k < c->n_out; k++) rc = read_io(c->sess, 1, (size_t)k, path, &c->out_name[k], &c->out_size[k]);
    if (rc != NRPS_OK) return rc;
    order_as_heads(c, be_model_net(m));
    snprintf(info->input_name, sizeof info->input_name, "%s", c->in_name);
    info->input_size = c->in_size;
    info->n_outputs = c->n_out;
    const nn_net *net = be_model_net(m);
    for (int k = 0; k < c->n_out; k++) {
        be_output *o = &info->output[k];
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%s", c->out_name[k]);
        o->width = c->out_size[k];
        for (int h = 0; net && h < net->arch.n_heads; h++)
            if (!strcmp(net->arch.head[h].name, c->out_name[k]) && nn_head_width(&net->arch, h) == o->width) {
                o->kind = net->arch.head[h].kind;
                o->final_act = nn_head_act(&net->arch, h);
            }
    }
    return NRPS_OK;
}

static nrps_status alloc_buffers(ort_ctx *c, int max_batch) {
    size_t mb = (size_t)max_batch;
    c->max_batch = max_batch;
    c->in_buf = calloc(mb * (size_t)c->in_size, sizeof(float));
    c->in_vals = calloc(mb + 1, sizeof *c->in_vals);
    c->out_vals = calloc((mb + 1) * BE_MAX_OUTPUTS, sizeof *c->out_vals);
    int ok = c->in_buf && c->in_vals && c->out_vals;
    for (int k = 0; k < c->n_out; k++) ok = ok && (c->out_buf[k] = calloc(mb * (size_t)c->out_size[k], sizeof(float)));
    if (!ok) {
        nrps_set_error("out of memory for %d-sample ONNX Runtime buffers", max_batch);
        return NRPS_ERR_NOMEM;
    }
    if (ort_fail(g_api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &c->mem), "CreateCpuMemoryInfo"))
        return NRPS_ERR_BACKEND;
    return NRPS_OK;
}

nrps_status be_ort_create(const char *name, const be_model *m, const be_options *opt, be_backend *b) {
    nrps_status rc = ort_api_init();
    if (rc) return rc;
    const char *provider = !strcmp(name, "ort") ? (opt->provider ? opt->provider : "cpu") : name + 4;
    OrtSessionOptions *so = NULL;
    ort_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    if ((rc = env_acquire()) != NRPS_OK) {
        free(c);
        return rc;
    }
    c->have_env = 1;
    double t0 = nrps_now_s();
    pthread_mutex_lock(&g_env_lock); /* provider plugin registration touches the shared environment */
    rc = session_options(provider, opt, &so, b->info.provider, sizeof b->info.provider);
    pthread_mutex_unlock(&g_env_lock);
    if (rc != NRPS_OK) goto fail;
    size_t len = 0;
    const void *bytes = be_model_bytes(m, &len);
    char what[1100];
    snprintf(what, sizeof what, "%s: ONNX Runtime CreateSession", be_model_path(m));
    if (ort_fail(g_api->CreateSessionFromArray(g_env, bytes, len, so, &c->sess), what)) {
        const char *e = nrps_last_error();
        rc = strstr(e, "CUDA") || strstr(e, "TensorRT") || strstr(e, "device") ? NRPS_ERR_UNAVAILABLE : NRPS_ERR_BACKEND;
        goto fail;
    }
    b->info.create_ms = (nrps_now_s() - t0) * 1e3;
    if ((rc = describe_io(c, m, &b->info)) != NRPS_OK || (rc = alloc_buffers(c, opt->max_batch)) != NRPS_OK) goto fail;
    g_api->ReleaseSessionOptions(so);
    int cpu = !strncmp(b->info.provider, "CPU", 3);
    b->info.threads = opt->threads > 0 ? opt->threads : 1;
    snprintf(b->info.device, sizeof b->info.device, "%s", cpu ? "CPU" : "GPU/accelerator via ONNX Runtime");
    snprintf(b->info.note, sizeof b->info.note, "%s",
             cpu ? "host buffers, no copies" : "host buffers; ONNX Runtime's H2D+D2H copies included");
    b->ctx = c;
    b->run = ort_run;
    b->io_buffers = ort_io_buffers;
    b->destroy = ort_destroy;
    return NRPS_OK;
fail:
    if (so) g_api->ReleaseSessionOptions(so);
    ort_destroy(c);
    return rc;
}
