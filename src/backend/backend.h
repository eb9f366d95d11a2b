/* backend.h - the one inference seam: everything in the project that runs a network (benchmark, search agents,
 * arena, play, self-play training, analysis, info --eval) does it through a be_backend made by be_create.
 *
 * Backends (a registry, src/backend/backend.c; `neural_rps benchmark --help` lists it):
 *   native-ref    the plain-C reference forward (src/nn/net.h nn_forward, double accumulation): the numerical
 *                 reference every other backend is compared with; ISA-independent, so runs reproduce bit for bit
 *                 on every machine                                                          (src/backend/ref.c)
 *   native-cpu    our vectorised C kernels on the model's weights                           (src/backend/cpu.c)
 *   xnnpack-cpu   XNNPACK's fully-connected operators (Debian libxnnpack), --threads via its pthreadpool;
 *                 when built with libxnnpack-dev                                          (src/backend/xnnpack.c)
 *   native-cuda   our CUDA kernels on the same weights, when built with nvcc     (src/backend/cuda_backend.c)
 *   ort-cpu, ort-cuda, ort-tensorrt, ort-<provider>
 *                 ONNX Runtime's C API with that execution provider                         (src/backend/ort.c)
 * The native backends run models of the network family (be_model_net != NULL); ONNX Runtime runs any model it
 * can load. Every backend reads the same model bytes (be_model).
 *
 * Threads: a be_model may be shared by any number of threads (read-only after creation). A be_backend handle
 * holds its own I/O buffers and scratch: no backend's handle may be used by two threads at once; create one
 * handle per thread (each is cheap for the native backends; ONNX Runtime sessions share one process-wide
 * environment, whose creation and release are serialised inside ort.c).
 * ONNX Runtime and CUDA types never appear here; the vtable is private (backend_impl.h). */
#ifndef NRPS_BACKEND_H
#define NRPS_BACKEND_H

#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "util/util.h"

/* ---- models ---- */

/* An ONNX model read once into memory: its bytes (what every backend loads), their SHA-256, and, when the graph
 * is in the network family, the network read from them. */
typedef struct be_model be_model;

/* Reads path (a file or a pipe, read once, at most 2 GiB) into a new model (*out, free with be_model_free). A file that is
 * not valid ONNX fails here (NRPS_ERR_IO / NRPS_ERR_FORMAT, one line naming the file); a valid graph outside the
 * network family is kept (be_model_net is NULL and be_model_refusal says why). */
nrps_status be_model_load(const char *path, be_model **out);
/* A model from a network in memory (copied; the caller keeps n): serialised as ONNX with info (NULL = defaults)
 * so that ONNX Runtime runs the same weights. label names it in messages (e.g. "generation 3 policy"). */
nrps_status be_model_from_net(const nn_net *n, const onnx_net_info *info, const char *label, be_model **out);
/* A model from ONNX bytes in memory (copied), named label in messages; as be_model_load otherwise. */
nrps_status be_model_from_bytes(const void *data, size_t len, const char *label, be_model **out);
void be_model_free(be_model *m); /* accepts NULL */

const char *be_model_path(const be_model *m);   /* the file, or the label of an in-memory model */
const char *be_model_sha256(const be_model *m); /* 64 hex digits of the bytes */
/* The folder of the file the model was read from ("" for a model made in memory): where ONNX Runtime looks for
 * its external data files. */
void be_model_dir(const be_model *m, char *buf, size_t len);
const void *be_model_bytes(const be_model *m, size_t *len);
const nn_net *be_model_net(const be_model *m);  /* NULL when outside the network family */
const char *be_model_refusal(const be_model *m); /* why be_model_net is NULL, naming the file ("" otherwise) */
const onnx_net_info *be_model_info(const be_model *m); /* metadata as read (zeroed when outside the family) */

/* ---- backends ---- */

/* ---- tensors ---- */

enum { BE_MAX_IO = 16, BE_MAX_RANK = 8, BE_DIM_NAME_LEN = 48 };

/* Element types of graph inputs and outputs (ONNX Runtime runs all of them; native backends take float32). */
typedef enum {
    BE_F32 = 0, BE_F16, BE_BF16, BE_F64, BE_I64, BE_I32, BE_I16, BE_I8, BE_U64, BE_U32, BE_U16, BE_U8, BE_BOOL,
    BE_N_DTYPES
} be_dtype;

const char *be_dtype_name(be_dtype t); /* "float32", "float16", "bfloat16", "float64", "int64", ..., "bool" */
size_t be_dtype_size(be_dtype t);      /* bytes per element */
int be_dtype_is_float(be_dtype t);     /* 1 for float32/float16/bfloat16/float64 */
/* Element i of data as a double (float16 / bfloat16 widened exactly). */
double be_dtype_get(be_dtype t, const void *data, size_t i);
/* Stores v as element i: rounded to nearest for the float types, to the nearest integer (saturated) for the
 * integer types, v != 0 for bool. */
void be_dtype_set(be_dtype t, void *data, size_t i, double v);

/* One graph input or output as the backend sees it. */
typedef struct {
    char name[NN_NAME_LEN];
    be_dtype dtype;
    int rank;
    int64_t dim[BE_MAX_RANK];                      /* as declared: > 0 fixed, -1 symbolic or unknown */
    char dim_name[BE_MAX_RANK][BE_DIM_NAME_LEN];   /* symbolic names ("" for fixed or unnamed dims) */
    int batch_axis;  /* the axis that carries the batch; -1: none (the tensor's size does not depend on it) */
    long width;      /* elements per batch entry (every other dim bound); 0: an output known only after a run */
    nn_head_kind kind; /* outputs of a family network: the head's kind (OTHER otherwise) */
    nn_act final_act;  /* outputs of a family network: the head's final activation (NONE otherwise) */
} be_tensor;

/* Elements of t at batch size batch (width x batch, or width when t has no batch axis); 0 when not yet known. */
long be_tensor_elems(const be_tensor *t, int batch);
/* 1 when t is a float32 [batch, width] matrix with its batch on axis 0 (what a game network reads and writes). */
int be_tensor_is_rows(const be_tensor *t, long width);
/* "float32 [batch, 3, 8, 8]" (symbolic dims by name, "?" when unnamed) into buf. */
void be_tensor_describe(const be_tensor *t, char *buf, size_t len);

/* ---- backends ---- */

typedef struct {
    const char *key, *value;
} be_kv;

typedef struct {
    const char *name;
    int64_t value;
} be_dim;

/* ONNX Runtime session settings (ignored by the native backends). */
typedef enum { BE_GRAPH_OPT_ALL = 0, BE_GRAPH_OPT_NONE, BE_GRAPH_OPT_BASIC, BE_GRAPH_OPT_EXTENDED } be_graph_opt;

typedef struct {
    be_graph_opt graph_opt;          /* default ALL (ORT_ENABLE_ALL) */
    int parallel;                    /* 1: ORT_PARALLEL execution mode (default sequential) */
    int inter_threads;               /* inter-op threads; 0: 1 in sequential mode, ONNX Runtime's default otherwise */
    int no_spin;                     /* 1: the thread pools do not spin waiting for work */
    const char *profile_prefix;      /* non-NULL: ONNX Runtime's profiler on, files start with this prefix */
    const char *optimized_model_out; /* non-NULL: ONNX Runtime writes the optimised graph there */
    const be_kv *config;             /* session config entries (AddSessionConfigEntry) */
    int n_config;
    const be_kv *provider_options;   /* passed to the execution provider */
    int n_provider_options;
} be_ort_settings;

/* Creation options. Start from be_options_default and set what you need. */
typedef struct {
    int threads;          /* intra-op threads (ORT) / worker threads (native-cpu); default 1 */
    int device_id;        /* GPU index for GPU backends; default 0 */
    const char *provider; /* ONNX Runtime provider for backend "ort" (e.g. "rocm", "OpenVINO"); NULL otherwise */
    int max_batch;        /* largest batch be_run accepts; buffers are sized for it; default 1024 */
    const char *batch_dim; /* the symbolic dimension that carries the batch (NULL: dim 0 when it is symbolic) */
    const be_dim *dims;   /* values for the other symbolic dimensions, by name */
    int n_dims;
    be_ort_settings ort;
} be_options;

be_options be_options_default(void);

/* What a backend found in the model and how it is set up; filled by be_create. */
typedef struct {
    char model_path[512]; /* be_model_path of the model it runs */
    int n_inputs;         /* 1..BE_MAX_IO */
    be_tensor input[BE_MAX_IO];
    int n_outputs;        /* 1..BE_MAX_IO */
    be_tensor output[BE_MAX_IO];
    int fixed_batch;      /* > 0: the graph takes only this batch size (max batch = fixed_batch) */
    char provider[192]; /* what actually runs the graph, e.g. "CPUExecutionProvider" */
    char device[128];  /* e.g. "CPU" or "NVIDIA H100 80GB HBM3 (device 0)" */
    char note[160];    /* what one timed call covers (e.g. "includes H2D+D2H copies") */
    int threads;       /* threads actually used */
    double create_ms;  /* session / context creation time, wall clock, ms */
} be_info;

/* The inputs and outputs of a family network as every native backend describes them (one float32 [batch, in]
 * input named input_name or "input"; outputs = heads in order); the rest of info is left as it is. */
void be_info_from_net(const nn_net *n, const char *input_name, be_info *info);

typedef struct be_backend be_backend;

/* Creates backend `name` (a registry name, "ort-<provider>", or "ort" with opt->provider) for model (which may be
 * freed afterwards: the backend keeps what it needs). On failure *out is NULL, the error names the backend and
 * gives the underlying (ONNX Runtime / CUDA) message in one line, and the status is NRPS_ERR_ARG (unknown name:
 * the message lists the registry), NRPS_ERR_UNSUPPORTED (a native backend and a model outside the family),
 * NRPS_ERR_UNAVAILABLE (provider / device / build missing) or another load error. */
nrps_status be_create(const char *name, const be_model *model, const be_options *opt, be_backend **out);

/* Runs batch (1..max_batch) samples of a model with one float32 input: in[batch][input[0].width] ->
 * out[k][batch][output[k].width] for every output k (all float32). in / out[k] may be the backend's own buffers
 * from be_io_buffers (then nothing is copied) or any caller memory. Never allocates after the first call at a
 * given batch size. */
nrps_status be_run(be_backend *b, const float *in, int batch, float *const *out);

/* Runs batch samples of any model: in[j] holds be_tensor_elems(&input[j], batch) elements of input j's type
 * (NULL: the backend's own input buffer j, see be_io_tensors); out is NULL or an array of n_outputs pointers:
 * out[k] receives output k (NULL: not copied). Every output is computed on every call; be_last_outputs gives them. */
nrps_status be_run_io(be_backend *b, const void *const *in, int batch, void *const *out);

/* The outputs of the last successful run: data[k] (valid until the next run or be_destroy) and elems[k]. Returns
 * the number of outputs (0 before the first run). */
int be_last_outputs(be_backend *b, const void *data[BE_MAX_IO], long elems[BE_MAX_IO]);

/* Host buffers be_run uses without copying: in (max_batch samples) and out[k] for each output; NULL where the
 * backend has none (or the output's size is known only after a run). */
void be_io_buffers(be_backend *b, float **in, float *out[BE_MAX_IO]);
/* The backend's own input buffers, one per graph input (max_batch samples each; NULL where it has none). */
void be_io_tensors(be_backend *b, void *in[BE_MAX_IO]);

/* A second handle on the same ONNX Runtime session with its own buffers: concurrent be_run calls on the two
 * handles exercise one session (like onnxruntime_perf_test -c). Each handle is used by one thread; the session
 * lives until the last handle is destroyed. NRPS_ERR_UNSUPPORTED for the native backends (create one handle per
 * thread with be_create instead). */
nrps_status be_share(be_backend *b, be_backend **out);

/* Ends ONNX Runtime profiling (be_ort_settings.profile_prefix) and writes the profile's file name into path.
 * NRPS_ERR_UNSUPPORTED for a backend that was not profiling. */
nrps_status be_end_profiling(be_backend *b, char *path, size_t len);

const be_info *be_get_info(const be_backend *b);
const char *be_name(const be_backend *b);
int be_max_batch(const be_backend *b);
void be_destroy(be_backend *b); /* accepts NULL */

/* ---- the registry ---- */

int be_registry_count(void);
/* Entry i (0..count-1; NULL past the end): its name ("native-cpu", or "ort-<provider>" for the generic ONNX Runtime
 * entry, which takes any provider name ONNX Runtime knows: ort-rocm, ort-openvino, ...), whether
 * it runs on a GPU, and a one-line description. */
const char *be_registry_name(int i);
const char *be_registry_description(int i);
int be_registry_is_gpu(int i);
int be_registry_bench_default(int i); /* 1: in the benchmark's default backend list */
/* The registry's names, comma-separated, into buf (for usage text and errors). */
void be_registry_names(char *buf, size_t len);

int be_name_known(const char *name); /* 1 if be_create knows the name ("ort-<known provider>" included) */
int be_is_gpu(const char *name);     /* 1 for backends that run on a GPU (ort-cuda, ort-rocm, native-cuda, ...) */
int be_is_native(const char *name);  /* 1 for our own backends (they need a model of the network family) */

/* ---- ONNX Runtime facts for reports ---- */
const char *be_ort_version(void);
/* The providers compiled into the loaded library, comma-separated (e.g. "CPUExecutionProvider"). */
void be_ort_providers(char *buf, size_t len);
/* "cuda" -> "CUDAExecutionProvider", ...; unknown names are returned unchanged. */
const char *be_ort_provider_full_name(const char *shortname);
/* 1 if ONNX Runtime has a provider of that name (short, generic or full "...ExecutionProvider" spelling). */
int be_ort_provider_known(const char *name);

#endif
