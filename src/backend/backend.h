/* backend.h - one interface for every inference backend the benchmark and the search use:
 *   ort-cpu, ort-cuda, ort-tensorrt, ort-<provider>  ONNX Runtime with an execution provider (src/backend/ort.c)
 *   native-cpu                                       our C forward pass on the ONNX file's weights (cpu.c)
 *   native-cuda                                      our CUDA kernels on the same weights (cuda.cu, when built)
 * A backend is a struct of function pointers plus an opaque ctx (ggml-backend / KataGo nninterface style).
 * ONNX Runtime and CUDA types never appear here. All backends read the SAME ONNX file. */
#ifndef NRPS_BACKEND_H
#define NRPS_BACKEND_H

#include "util/util.h"

/* Creation options. Zero-initialise and set what you need (be_options_default gives the defaults). */
typedef struct {
    int threads;          /* intra-op threads (ORT) / worker threads (native-cpu); default 1 */
    int device_id;        /* GPU index for GPU backends; default 0 */
    const char *provider; /* ONNX Runtime provider for backend "ort" (e.g. "rocm", "OpenVINO"); NULL otherwise */
    int max_batch;        /* largest batch run() will accept; buffers are sized for it; default 1024 */
} be_options;

/* What a backend found in the model and how it is set up; filled by be_create. */
typedef struct {
    char input_name[64], output_name[64]; /* graph input/output names (as read from the model / session) */
    int input_size, output_size;          /* per-sample widths (e.g. 81 and 9) */
    char provider[96];                    /* what actually runs the graph, e.g. "CPUExecutionProvider" */
    char device[128];                     /* e.g. "CPU" or "NVIDIA H100 80GB HBM3 (device 0)" */
    char note[160];                       /* what the timing covers (e.g. "includes H2D+D2H copies") */
    int threads;                          /* threads actually used */
    double create_ms;                     /* session / context creation time, wall clock, ms */
} be_info;

typedef struct be_backend be_backend;
struct be_backend {
    char name[32];  /* "ort-cpu", "native-cpu", ... */
    void *ctx;      /* owned by the backend */
    int max_batch;
    be_info info;
    /* Runs batch (1..max_batch) samples: in[batch][input_size] -> out[batch][output_size]. Must not allocate
     * after the first call with a given batch size. in/out may be the buffers from io_buffers (then no copy
     * is made) or any caller memory. Returns NRPS_OK or sets the error. */
    nrps_status (*run)(void *ctx, const float *in, int batch, float *out);
    /* Optional (may be NULL): backend-owned host buffers of max_batch samples that run() uses without copying
     * (pinned memory for CUDA, the ORT tensors' memory for ORT). */
    void (*io_buffers)(void *ctx, float **in, float **out);
    void (*destroy)(void *ctx); /* frees ctx; accepts NULL */
};

be_options be_options_default(void);

/* Creates backend `name` ("ort-cpu", "ort-cuda", "ort-tensorrt", "ort" with opt->provider, "ort-<provider>",
 * "native-cpu", "native-cuda") for the ONNX model at model_path. On failure *out is NULL, the error names the
 * backend and gives the underlying (ONNX Runtime / CUDA) message in one line, and the status is
 * NRPS_ERR_UNAVAILABLE (provider/device missing), NRPS_ERR_ARG (unknown name), or a load error. */
nrps_status be_create(const char *name, const char *model_path, const be_options *opt, be_backend **out);

/* Checked call of b->run: batch must be in 1..max_batch. */
nrps_status be_run(be_backend *b, const float *in, int batch, float *out);

/* be_run with the backend as a void pointer: the shape of a plain forward callback, e.g. search's
 * eval_net_fn {.ctx = backend, .forward = be_forward, .out_act = <the model's final activation>}. */
nrps_status be_forward(void *backend, const float *in, int batch, float *out);

/* Host buffers run() uses without copying: the backend's own when it has them, else NULL/NULL. */
void be_io_buffers(be_backend *b, float **in, float **out);

void be_destroy(be_backend *b); /* accepts NULL */

/* 1 for backends that run on a GPU (ort-cuda, ort-tensorrt, ort-rocm, ..., native-cuda). */
int be_is_gpu(const char *name);
/* 1 if name is a backend be_create knows (for flag checking); "ort-<anything>" counts. */
int be_name_known(const char *name);

/* ONNX Runtime facts for reports: version string and the providers compiled into the loaded library,
 * comma-separated into buf (e.g. "CPUExecutionProvider"). */
const char *be_ort_version(void);
void be_ort_providers(char *buf, size_t len);
/* Maps a short provider name ("cuda", "tensorrt", "rocm", ...) to ONNX Runtime's provider name
 * ("CUDAExecutionProvider", ...); unknown names are returned unchanged. */
const char *be_ort_provider_full_name(const char *shortname);
/* 1 if ONNX Runtime has a provider of that name (short, generic or full "...ExecutionProvider" spelling). */
int be_ort_provider_known(const char *name);

/* Internal constructors (one per source file); same contract as be_create. */
nrps_status be_ort_create(const char *model_path, const char *provider, const be_options *opt, be_backend *b);
nrps_status be_cpu_create(const char *model_path, const be_options *opt, be_backend *b);
nrps_status be_cuda_create(const char *model_path, const be_options *opt, be_backend *b);

#endif
