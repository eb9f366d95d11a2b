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
#include <unistd.h>

#include <onnxruntime_c_api.h>

#include "backend/backend.h"

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

static nrps_status ort_api_init(void) {
    if (!g_api) {
        const OrtApiBase *base = OrtGetApiBase();
        g_api = base ? base->GetApi(ORT_API_VERSION) : NULL;
        if (!g_api) {
            nrps_set_error("ONNX Runtime library %s does not provide C API version %d",
                           base ? base->GetVersionString() : "?", ORT_API_VERSION);
            return NRPS_ERR_UNAVAILABLE;
        }
    }
    return NRPS_OK;
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

typedef struct {
    OrtSession *sess;
    OrtMemoryInfo *mem;
    char *in_name, *out_name; /* from the session's allocator */
    int in_size, out_size, max_batch;
    float *in_buf, *out_buf; /* max_batch samples each */
    OrtValue **in_vals, **out_vals; /* [max_batch + 1], created on first use of a batch size */
} ort_ctx;

static void ort_destroy(void *p) {
    ort_ctx *c = p;
    if (!c) return;
    if (c->in_vals && c->out_vals)
        for (int b = 0; b <= c->max_batch; b++) {
            if (c->in_vals[b]) g_api->ReleaseValue(c->in_vals[b]);
            if (c->out_vals[b]) g_api->ReleaseValue(c->out_vals[b]);
        }
    free(c->in_vals);
    free(c->out_vals);
    OrtAllocator *alloc = NULL;
    OrtStatus *st = g_api->GetAllocatorWithDefaultOptions(&alloc);
    if (st) g_api->ReleaseStatus(st);
    else {
        if (c->in_name && (st = g_api->AllocatorFree(alloc, c->in_name))) g_api->ReleaseStatus(st);
        if (c->out_name && (st = g_api->AllocatorFree(alloc, c->out_name))) g_api->ReleaseStatus(st);
    }
    if (c->mem) g_api->ReleaseMemoryInfo(c->mem);
    if (c->sess) g_api->ReleaseSession(c->sess);
    free(c->in_buf);
    free(c->out_buf);
    free(c);
    if (--g_env_refs == 0 && g_env) {
        g_api->ReleaseEnv(g_env);
        g_env = NULL;
        g_plugins_registered = 0;
    }
}

static void ort_io_buffers(void *p, float **in, float **out) {
    ort_ctx *c = p;
    *in = c->in_buf;
    *out = c->out_buf;
}

static nrps_status ort_run(void *p, const float *in, int batch, float *out) {
    ort_ctx *c = p;
    if (!c->in_vals[batch]) { /* first call at this batch size: wrap the preallocated buffers */
        int64_t ish[2] = {batch, c->in_size}, osh[2] = {batch, c->out_size};
        if (ort_fail(g_api->CreateTensorWithDataAsOrtValue(c->mem, c->in_buf, sizeof(float) * (size_t)batch * c->in_size,
                                                           ish, 2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                                                           &c->in_vals[batch]),
                     "ONNX Runtime input tensor"))
            return NRPS_ERR_BACKEND;
        if (ort_fail(g_api->CreateTensorWithDataAsOrtValue(c->mem, c->out_buf,
                                                           sizeof(float) * (size_t)batch * c->out_size, osh, 2,
                                                           ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &c->out_vals[batch]),
                     "ONNX Runtime output tensor"))
            return NRPS_ERR_BACKEND;
    }
    if (in != c->in_buf) memcpy(c->in_buf, in, sizeof(float) * (size_t)batch * c->in_size);
    const char *in_names[1] = {c->in_name}, *out_names[1] = {c->out_name};
    const OrtValue *ins[1] = {c->in_vals[batch]};
    OrtValue *outs[1] = {c->out_vals[batch]};
    if (ort_fail(g_api->Run(c->sess, NULL, in_names, ins, 1, out_names, 1, outs), "ONNX Runtime Run"))
        return NRPS_ERR_BACKEND;
    if (out != c->out_buf) memcpy(out, c->out_buf, sizeof(float) * (size_t)batch * c->out_size);
    return NRPS_OK;
}

/* Reads name and per-sample width of input/output `idx`; the shape must be [batch (dynamic or any), n]. */
static nrps_status read_io(OrtSession *s, int output, const char *path, char **name, int *width) {
    OrtAllocator *alloc = NULL;
    OrtTypeInfo *ti = NULL;
    const OrtTensorTypeAndShapeInfo *tsi = NULL;
    nrps_status rc = NRPS_ERR_BACKEND;
    const char *what = output ? "output" : "input";
    if (ort_fail(g_api->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions")) goto cleanup;
    if (ort_fail(output ? g_api->SessionGetOutputName(s, 0, alloc, name) : g_api->SessionGetInputName(s, 0, alloc, name),
                 "SessionGetInputName/OutputName"))
        goto cleanup;
    if (ort_fail(output ? g_api->SessionGetOutputTypeInfo(s, 0, &ti) : g_api->SessionGetInputTypeInfo(s, 0, &ti),
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

nrps_status be_ort_create(const char *model_path, const char *provider, const be_options *opt, be_backend *b) {
    nrps_status rc = ort_api_init();
    if (rc) return rc;
    OrtSessionOptions *so = NULL;
    ort_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    if (!g_env) {
        if (ort_fail(g_api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "neural_rps", &g_env), "ONNX Runtime CreateEnv")) {
            free(c);
            return NRPS_ERR_BACKEND;
        }
    }
    g_env_refs++;
    rc = NRPS_ERR_BACKEND;
    int threads = opt->threads > 0 ? opt->threads : 1;
    double t0 = nrps_now_s();
    if (ort_fail(g_api->CreateSessionOptions(&so), "CreateSessionOptions") ||
        ort_fail(g_api->SetIntraOpNumThreads(so, threads), "SetIntraOpNumThreads") ||
        ort_fail(g_api->SetInterOpNumThreads(so, 1), "SetInterOpNumThreads") ||
        ort_fail(g_api->SetSessionExecutionMode(so, ORT_SEQUENTIAL), "SetSessionExecutionMode") ||
        ort_fail(g_api->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL), "SetSessionGraphOptimizationLevel"))
        goto fail;
    rc = append_provider(so, provider, opt->device_id, b->info.provider, sizeof b->info.provider);
    if (rc) goto fail;
    rc = NRPS_ERR_BACKEND;
    {
        char what[1100];
        snprintf(what, sizeof what, "%s: ONNX Runtime CreateSession", model_path);
        if (ort_fail(g_api->CreateSession(g_env, model_path, so, &c->sess), what)) {
            if (strstr(nrps_last_error(), "CUDA") || strstr(nrps_last_error(), "TensorRT") ||
                strstr(nrps_last_error(), "device"))
                rc = NRPS_ERR_UNAVAILABLE;
            goto fail;
        }
    }
    b->info.create_ms = (nrps_now_s() - t0) * 1e3;
    if ((rc = read_io(c->sess, 0, model_path, &c->in_name, &c->in_size))) goto fail;
    if ((rc = read_io(c->sess, 1, model_path, &c->out_name, &c->out_size))) goto fail;
    rc = NRPS_ERR_BACKEND;
    if (ort_fail(g_api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &c->mem), "CreateCpuMemoryInfo"))
        goto fail;
    c->max_batch = opt->max_batch;
    c->in_buf = malloc(sizeof(float) * (size_t)c->max_batch * c->in_size);
    c->out_buf = malloc(sizeof(float) * (size_t)c->max_batch * c->out_size);
    c->in_vals = calloc((size_t)c->max_batch + 1, sizeof *c->in_vals);
    c->out_vals = calloc((size_t)c->max_batch + 1, sizeof *c->out_vals);
    if (!c->in_buf || !c->out_buf || !c->in_vals || !c->out_vals) {
        nrps_set_error("out of memory for %d-sample ONNX Runtime buffers", c->max_batch);
        rc = NRPS_ERR_NOMEM;
        goto fail;
    }
    memset(c->in_buf, 0, sizeof(float) * (size_t)c->max_batch * c->in_size);
    g_api->ReleaseSessionOptions(so);
    snprintf(b->info.input_name, sizeof b->info.input_name, "%s", c->in_name);
    snprintf(b->info.output_name, sizeof b->info.output_name, "%s", c->out_name);
    b->info.input_size = c->in_size;
    b->info.output_size = c->out_size;
    b->info.threads = threads;
    snprintf(b->info.device, sizeof b->info.device, "%s",
             strncmp(b->info.provider, "CPU", 3) ? "GPU/accelerator via ONNX Runtime" : "CPU");
    snprintf(b->info.note, sizeof b->info.note, "%s",
             strncmp(b->info.provider, "CPU", 3) ? "host buffers; ONNX Runtime's H2D+D2H copies included"
                                                 : "host buffers, no copies");
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
