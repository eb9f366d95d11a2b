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
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "backend/ort_impl.h"

const OrtApi *g_ort;
static OrtEnv *g_env;
static int g_env_refs;
static unsigned g_plugins_registered; /* bit i: PLUGINS[i] registered with g_env */

/* Copies an ORT message into the error line, flattening newlines; releases the status. Returns 1 if st != NULL. */
int ort_fail(OrtStatus *st, const char *what) {
    if (!st) return 0;
    char msg[600];
    snprintf(msg, sizeof msg, "%s", g_ort->GetErrorMessage(st));
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t n = strlen(msg);
    while (n && msg[n - 1] == ' ') msg[--n] = 0;
    nrps_set_error("%s: %s", what, msg);
    g_ort->ReleaseStatus(st);
    return 1;
}

static pthread_once_t g_ort_once = PTHREAD_ONCE_INIT;

static void api_load(void) {
    /* The pinned release carries Microsoft's telemetry client: with it on, every environment writes
     * $TMPDIR/mat-debug-<pid>.log and a ~/.cache/Microsoft/... database and may try to upload. Off unless the
     * user set ORT_DISABLE_TELEMETRY themselves. */
    setenv("ORT_DISABLE_TELEMETRY", "1", 0);
    const OrtApiBase *base = OrtGetApiBase();
    g_ort = base ? base->GetApi(ORT_API_VERSION) : NULL;
}

/* Loads the C API table once (thread-safe). */
static nrps_status ort_api_init(void) {
    pthread_once(&g_ort_once, api_load);
    if (g_ort) return NRPS_OK;
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
    if (ort_fail(g_ort->GetAvailableProviders(&p, &n), "GetAvailableProviders")) return;
    size_t used = 0;
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", p[i]);
    OrtStatus *st = g_ort->ReleaseAvailableProviders(p, n);
    if (st) g_ort->ReleaseStatus(st);
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

/* How many more file descriptors this process can open, counting up to want. */
static int spare_fds(int want) {
    int fd[8], n = 0;
    while (n < want && n < 8 && (fd[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) n++;
    for (int i = 0; i < n; i++) close(fd[i]);
    return n;
}

/* ONNX Runtime's telemetry client (when the user turned it on) dereferences a failed fopen with few descriptors
 * left (ulimit -n): refuse before it crashes. */
static nrps_status env_fds_check(void) {
    const char *t = getenv("ORT_DISABLE_TELEMETRY");
    int telemetry = !t || strcmp(t, "1");
    if (!telemetry || spare_fds(4) >= 4) return NRPS_OK;
    nrps_set_error("ONNX Runtime CreateEnv: fewer than 4 file descriptors left (ulimit -n) and ONNX Runtime's "
                   "telemetry is on (ORT_DISABLE_TELEMETRY=%s); raise the limit or unset ORT_DISABLE_TELEMETRY",
                   t ? t : "unset");
    return NRPS_ERR_UNAVAILABLE;
}

static nrps_status env_acquire(void) {
    nrps_status rc = NRPS_OK;
    pthread_mutex_lock(&g_env_lock);
    if (!g_env && (rc = env_fds_check()) != NRPS_OK) {
        pthread_mutex_unlock(&g_env_lock);
        return rc;
    }
    if (!g_env && ort_fail(g_ort->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "neural_rps", &g_env), "ONNX Runtime CreateEnv"))
        rc = NRPS_ERR_BACKEND;
    else
        g_env_refs++;
    pthread_mutex_unlock(&g_env_lock);
    return rc;
}

static void env_release(void) {
    pthread_mutex_lock(&g_env_lock);
    if (--g_env_refs == 0 && g_env) {
        g_ort->ReleaseEnv(g_env);
        g_env = NULL;
        g_plugins_registered = 0;
    }
    pthread_mutex_unlock(&g_env_lock);
}

void ort_shared_retain(ort_shared *s) {
    pthread_mutex_lock(&g_env_lock);
    s->refs++;
    pthread_mutex_unlock(&g_env_lock);
}

static void ort_free_name(char *name) {
    OrtAllocator *alloc = NULL;
    OrtStatus *st;
    if (!name) return;
    if ((st = g_ort->GetAllocatorWithDefaultOptions(&alloc))) g_ort->ReleaseStatus(st);
    else if ((st = g_ort->AllocatorFree(alloc, name))) g_ort->ReleaseStatus(st);
}

/* The last reference frees the session and its names and releases the environment reference it holds. */
void ort_shared_release(ort_shared *s) {
    pthread_mutex_lock(&g_env_lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&g_env_lock);
    if (!last) return;
    for (int k = 0; k < BE_MAX_IO; k++) ort_free_name(s->in_name[k]), ort_free_name(s->out_name[k]);
    if (s->sess) g_ort->ReleaseSession(s->sess);
    free(s);
    env_release();
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
        if (ort_fail(g_ort->RegisterExecutionProviderLibrary(g_env, PLUGINS[pi].registration, path), what))
            return NRPS_ERR_UNAVAILABLE;
        g_plugins_registered |= 1u << pi;
    }
    const OrtEpDevice *const *devs = NULL;
    size_t ndev = 0;
    if (ort_fail(g_ort->GetEpDevices(g_env, &devs, &ndev), what)) return NRPS_ERR_UNAVAILABLE;
    int seen = 0;
    for (size_t i = 0; i < ndev; i++) {
        if (strcmp(g_ort->EpDevice_EpName(devs[i]), ep) != 0) continue;
        if (seen++ != device_id) continue;
        if (ort_fail(g_ort->SessionOptionsAppendExecutionProvider_V2(so, g_env, &devs[i], 1, keys, vals, nkv), what))
            return NRPS_ERR_UNAVAILABLE;
        return NRPS_OK;
    }
    nrps_set_error("%s: ONNX Runtime lists %d %s device%s, no device %d", what, seen, ep, seen == 1 ? "" : "s",
                   device_id);
    return NRPS_ERR_UNAVAILABLE;
}

/* Provider option keys and values: fixed[0..nf) then the user's --provider-option entries (which win: ONNX
 * Runtime applies them in order). */
typedef struct {
    const char *key[40], *val[40];
    size_t n;
} kv_list;

static void kv_add(kv_list *l, const char *k, const char *v) {
    if (l->n < sizeof l->key / sizeof l->key[0]) l->key[l->n] = k, l->val[l->n++] = v;
}

static kv_list kv_with_user(const be_ort_settings *o, const char *const *k, const char *const *v, size_t n) {
    kv_list l = {.n = 0};
    for (size_t i = 0; i < n; i++) kv_add(&l, k[i], v[i]);
    for (int i = 0; i < o->n_provider_options; i++) kv_add(&l, o->provider_options[i].key, o->provider_options[i].value);
    return l;
}

static int user_sets(const be_ort_settings *o, const char *key) {
    for (int i = 0; i < o->n_provider_options; i++)
        if (!strcmp(o->provider_options[i].key, key)) return 1;
    return 0;
}

static nrps_status append_cuda(OrtSessionOptions *so, const be_options *opt, const char *dev, const char *what,
                               char *used, size_t used_len) {
    OrtCUDAProviderOptionsV2 *co = NULL;
    /* use_tf32=0: plain fp32 GEMMs, comparable with the CPU reference (older builds without the key: retry
     * without it and say so); a --provider-option use_tf32=... wins */
    const char *k[] = {"device_id", "use_tf32"}, *v[] = {dev, "0"};
    kv_list l = kv_with_user(&opt->ort, k, v, 2), l1 = kv_with_user(&opt->ort, k, v, 1);
    nrps_status rc = NRPS_ERR_UNAVAILABLE;
    int tf32_off = 1;
    if (!ort_fail(g_ort->CreateCUDAProviderOptions(&co), what)) {
        OrtStatus *st = g_ort->UpdateCUDAProviderOptions(co, l.key, l.val, l.n);
        if (st) {
            g_ort->ReleaseStatus(st);
            tf32_off = 0;
            st = g_ort->UpdateCUDAProviderOptions(co, l1.key, l1.val, l1.n);
        }
        if (!ort_fail(st, what) && !ort_fail(g_ort->SessionOptionsAppendExecutionProvider_CUDA_V2(so, co), what))
            rc = NRPS_OK;
    }
    if (co) g_ort->ReleaseCUDAProviderOptions(co);
    if (rc != NRPS_OK && strstr(nrps_last_error(), "not enabled in this build")) {
        kv_list pl = kv_with_user(&opt->ort, k + 1, v + 1, 1);
        rc = append_plugin_ep(so, "CUDAExecutionProvider", opt->device_id, pl.key, pl.val, pl.n, what);
        tf32_off = 1;
    }
    if (rc == NRPS_OK)
        snprintf(used, used_len, "CUDAExecutionProvider (device %d, %s) + CPU fallback", opt->device_id,
                 user_sets(&opt->ort, "use_tf32") ? "use_tf32 as given"
                 : tf32_off                        ? "fp32, TF32 off"
                                                   : "TF32 setting not accepted: may use TF32");
    return rc;
}

static nrps_status append_tensorrt(OrtSessionOptions *so, const be_options *opt, const char *dev, const char *what,
                                   char *used, size_t used_len) {
    OrtTensorRTProviderOptionsV2 *to = NULL;
    const char *k[] = {"device_id"}, *v[] = {dev};
    kv_list l = kv_with_user(&opt->ort, k, v, 1);
    nrps_status rc = NRPS_ERR_UNAVAILABLE;
    if (!ort_fail(g_ort->CreateTensorRTProviderOptions(&to), what) &&
        !ort_fail(g_ort->UpdateTensorRTProviderOptions(to, l.key, l.val, l.n), what) &&
        !ort_fail(g_ort->SessionOptionsAppendExecutionProvider_TensorRT_V2(so, to), what))
        rc = NRPS_OK;
    if (to) g_ort->ReleaseTensorRTProviderOptions(to);
    if (rc != NRPS_OK && strstr(nrps_last_error(), "not enabled in this build")) {
        kv_list pl = kv_with_user(&opt->ort, NULL, NULL, 0);
        rc = append_plugin_ep(so, "TensorrtExecutionProvider", opt->device_id, pl.key, pl.val, pl.n, what);
    }
    if (rc == NRPS_OK)
        snprintf(used, used_len, "TensorrtExecutionProvider (device %d, fp32) + CPU fallback", opt->device_id);
    return rc;
}

/* Appends the execution provider with its options; a one-line error with ONNX Runtime's own message if it is
 * missing. The CPU provider takes no options (--provider-option applies to the other providers). */
static nrps_status append_provider(OrtSessionOptions *so, const char *provider, const be_options *opt, char *used,
                                   size_t used_len) {
    int pi = provider_index(provider);
    const char *full = pi >= 0 ? PROVIDERS[pi].full : provider;
    char dev[16], what[96];
    snprintf(dev, sizeof dev, "%d", opt->device_id);
    snprintf(what, sizeof what, "ONNX Runtime provider '%s'", provider);
    if (!strcmp(full, "CPUExecutionProvider")) {
        snprintf(used, used_len, "CPUExecutionProvider");
        return NRPS_OK;
    }
    if (!strcmp(full, "CUDAExecutionProvider")) return append_cuda(so, opt, dev, what, used, used_len);
    if (!strcmp(full, "TensorrtExecutionProvider")) return append_tensorrt(so, opt, dev, what, used, used_len);
    kv_list l = kv_with_user(&opt->ort, NULL, NULL, 0);
    const char *generic = pi >= 0 ? PROVIDERS[pi].generic : provider;
    if (ort_fail(g_ort->SessionOptionsAppendExecutionProvider(so, generic, l.key, l.val, l.n), what))
        return NRPS_ERR_UNAVAILABLE;
    snprintf(used, used_len, "%s + CPU fallback", full);
    return NRPS_OK;
}

/* Threads, execution mode, graph optimisation, spinning, profiling, optimised-model output and config entries. */
static nrps_status session_settings(const be_options *opt, OrtSessionOptions *so) {
    const be_ort_settings *o = &opt->ort;
    static const GraphOptimizationLevel LEVEL[] = {
        [BE_GRAPH_OPT_ALL] = ORT_ENABLE_ALL, [BE_GRAPH_OPT_NONE] = ORT_DISABLE_ALL,
        [BE_GRAPH_OPT_BASIC] = ORT_ENABLE_BASIC, [BE_GRAPH_OPT_EXTENDED] = ORT_ENABLE_EXTENDED};
    int inter = o->inter_threads > 0 ? o->inter_threads : o->parallel ? 0 : 1;
    if (ort_fail(g_ort->SetIntraOpNumThreads(so, opt->threads > 0 ? opt->threads : 1), "SetIntraOpNumThreads") ||
        ort_fail(g_ort->SetInterOpNumThreads(so, inter), "SetInterOpNumThreads") ||
        ort_fail(g_ort->SetSessionExecutionMode(so, o->parallel ? ORT_PARALLEL : ORT_SEQUENTIAL),
                 "SetSessionExecutionMode") ||
        ort_fail(g_ort->SetSessionGraphOptimizationLevel(so, LEVEL[o->graph_opt]), "SetSessionGraphOptimizationLevel"))
        return NRPS_ERR_BACKEND;
    if (o->no_spin && (ort_fail(g_ort->AddSessionConfigEntry(so, "session.intra_op.allow_spinning", "0"), "no-spin") ||
                       ort_fail(g_ort->AddSessionConfigEntry(so, "session.inter_op.allow_spinning", "0"), "no-spin")))
        return NRPS_ERR_BACKEND;
    if (o->profile_prefix && ort_fail(g_ort->EnableProfiling(so, o->profile_prefix), "ONNX Runtime EnableProfiling"))
        return NRPS_ERR_BACKEND;
    if (o->optimized_model_out &&
        ort_fail(g_ort->SetOptimizedModelFilePath(so, o->optimized_model_out), "ONNX Runtime SetOptimizedModelFilePath"))
        return NRPS_ERR_BACKEND;
    for (int i = 0; i < o->n_config; i++) {
        char what[160];
        snprintf(what, sizeof what, "session config '%.60s=%.60s'", o->config[i].key, o->config[i].value);
        if (ort_fail(g_ort->AddSessionConfigEntry(so, o->config[i].key, o->config[i].value), what)) return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

/* A model read from a file finds its external data beside it (the session is made from the bytes in memory, so
 * ONNX Runtime would not know the folder); a --session-config of the same key wins. */
static nrps_status external_data_folder(const be_model *m, const be_options *opt, OrtSessionOptions *so) {
    const char *key = "session.model_external_initializers_file_folder_path";
    char dir[512];
    be_model_dir(m, dir, sizeof dir);
    for (int i = 0; i < opt->ort.n_config; i++)
        if (!strcmp(opt->ort.config[i].key, key)) return NRPS_OK;
    if (!dir[0] || !ort_fail(g_ort->AddSessionConfigEntry(so, key, dir), "external data folder")) return NRPS_OK;
    return NRPS_ERR_BACKEND;
}

static nrps_status session_options(const char *provider, const be_model *m, const be_options *opt,
                                   OrtSessionOptions **so, char *used, size_t used_len) {
    if (ort_fail(g_ort->CreateSessionOptions(so), "CreateSessionOptions")) return NRPS_ERR_BACKEND;
    nrps_status rc = session_settings(opt, *so);
    if (rc == NRPS_OK) rc = external_data_folder(m, opt, *so);
    return rc != NRPS_OK ? rc : append_provider(*so, provider, opt, used, used_len);
}

/* A session on the model's bytes (*out holds one environment reference and one handle reference). */
static nrps_status session_create(const char *provider, const be_model *m, const be_options *opt, be_info *info,
                                  ort_shared **out) {
    OrtSessionOptions *so = NULL;
    ort_shared *sh = calloc(1, sizeof *sh);
    if (!sh) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    nrps_status rc = env_acquire();
    if (rc != NRPS_OK) {
        free(sh);
        return rc;
    }
    sh->refs = 1;
    snprintf(sh->path, sizeof sh->path, "%s", be_model_path(m));
    double t0 = nrps_now_s();
    pthread_mutex_lock(&g_env_lock); /* provider plugin registration touches the shared environment */
    rc = session_options(provider, m, opt, &so, info->provider, sizeof info->provider);
    pthread_mutex_unlock(&g_env_lock);
    size_t len = 0;
    const void *bytes = be_model_bytes(m, &len);
    char what[1100];
    snprintf(what, sizeof what, "%s: ONNX Runtime CreateSession", be_model_path(m));
    if (rc == NRPS_OK && ort_fail(g_ort->CreateSessionFromArray(g_env, bytes, len, so, &sh->sess), what)) {
        const char *e = nrps_last_error();
        rc = strstr(e, "CUDA") || strstr(e, "TensorRT") || strstr(e, "device") ? NRPS_ERR_UNAVAILABLE : NRPS_ERR_BACKEND;
    }
    if (so) g_ort->ReleaseSessionOptions(so);
    info->create_ms = (nrps_now_s() - t0) * 1e3;
    sh->profiling = rc == NRPS_OK && opt->ort.profile_prefix;
    if (rc == NRPS_OK) rc = ort_describe(sh, opt, be_model_net(m), be_model_path(m), info);
    if (rc != NRPS_OK) {
        ort_shared_release(sh);
        return rc;
    }
    *out = sh;
    return NRPS_OK;
}

nrps_status be_ort_create(const char *name, const be_model *m, const be_options *opt, be_backend *b) {
    nrps_status rc = ort_api_init();
    if (rc) return rc;
    const char *provider = !strcmp(name, "ort") ? (opt->provider ? opt->provider : "cpu") : name + 4;
    ort_shared *sh = NULL;
    if ((rc = session_create(provider, m, opt, &b->info, &sh)) != NRPS_OK) return rc;
    if (b->info.fixed_batch > 0) b->max_batch = b->info.fixed_batch;
    rc = ort_handle_create(sh, b, b->max_batch);
    ort_shared_release(sh); /* the handle holds its own reference */
    if (rc != NRPS_OK) return rc;
    int cpu = !strncmp(b->info.provider, "CPU", 3);
    b->info.threads = opt->threads > 0 ? opt->threads : 1;
    snprintf(b->info.device, sizeof b->info.device, "%s", cpu ? "CPU" : "GPU/accelerator via ONNX Runtime");
    snprintf(b->info.note, sizeof b->info.note, "%s",
             cpu ? "host buffers, no copies" : "host buffers; ONNX Runtime's H2D+D2H copies included");
    return NRPS_OK;
}
