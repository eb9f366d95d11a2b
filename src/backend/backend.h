/* backend.h - the one inference seam: everything in the project that runs a network (benchmark, search agents,
 * arena, play, self-play training, analysis, info --eval) does it through a be_backend made by be_create.
 *
 * Backends (a registry, src/backend/backend.c; `neural_rps benchmark --help` lists it):
 *   native-ref    the plain-C reference forward (src/nn/net.h nn_forward, double accumulation): the numerical
 *                 reference every other backend is compared with; ISA-independent, so runs reproduce bit for bit
 *                 on every machine                                                          (src/backend/ref.c)
 *   native-cpu    our vectorised C kernels on the model's weights                           (src/backend/cpu.c)
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

/* Reads path (regular file, at most 256 MiB) into a new model (*out, free with be_model_free). A file that is
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
const void *be_model_bytes(const be_model *m, size_t *len);
const nn_net *be_model_net(const be_model *m);  /* NULL when outside the network family */
const char *be_model_refusal(const be_model *m); /* why be_model_net is NULL, naming the file ("" otherwise) */
const onnx_net_info *be_model_info(const be_model *m); /* metadata as read (zeroed when outside the family) */

/* ---- backends ---- */

/* Creation options. Start from be_options_default and set what you need. */
typedef struct {
    int threads;          /* intra-op threads (ORT) / worker threads (native-cpu); default 1 */
    int device_id;        /* GPU index for GPU backends; default 0 */
    const char *provider; /* ONNX Runtime provider for backend "ort" (e.g. "rocm", "OpenVINO"); NULL otherwise */
    int max_batch;        /* largest batch be_run accepts; buffers are sized for it; default 1024 */
} be_options;

be_options be_options_default(void);

enum { BE_MAX_OUTPUTS = NN_MAX_HEADS };

/* One output of the model, in the order be_run writes them. */
typedef struct {
    char name[NN_NAME_LEN]; /* graph output name */
    int width;              /* floats per sample */
    nn_head_kind kind;      /* POLICY / VALUE for a game network's heads, OTHER otherwise */
    nn_act final_act;       /* the head's final activation (NONE when the model is outside the family) */
} be_output;

/* What a backend found in the model and how it is set up; filled by be_create. */
typedef struct {
    char model_path[512]; /* be_model_path of the model it runs */
    char input_name[NN_NAME_LEN];
    int input_size;   /* floats per sample */
    int n_outputs;    /* 1..BE_MAX_OUTPUTS */
    be_output output[BE_MAX_OUTPUTS];
    char provider[192]; /* what actually runs the graph, e.g. "CPUExecutionProvider" */
    char device[128];  /* e.g. "CPU" or "NVIDIA H100 80GB HBM3 (device 0)" */
    char note[160];    /* what one timed call covers (e.g. "includes H2D+D2H copies") */
    int threads;       /* threads actually used */
    double create_ms;  /* session / context creation time, wall clock, ms */
} be_info;

typedef struct be_backend be_backend;

/* Creates backend `name` (a registry name, "ort-<provider>", or "ort" with opt->provider) for model (which may be
 * freed afterwards: the backend keeps what it needs). On failure *out is NULL, the error names the backend and
 * gives the underlying (ONNX Runtime / CUDA) message in one line, and the status is NRPS_ERR_ARG (unknown name:
 * the message lists the registry), NRPS_ERR_UNSUPPORTED (a native backend and a model outside the family),
 * NRPS_ERR_UNAVAILABLE (provider / device / build missing) or another load error. */
nrps_status be_create(const char *name, const be_model *model, const be_options *opt, be_backend **out);

/* Runs batch (1..max_batch) samples: in[batch][input_size] -> out[k][batch][output[k].width] for every output k.
 * in / out[k] may be the backend's own buffers from be_io_buffers (then nothing is copied) or any caller memory.
 * Never allocates after the first call at a given batch size. */
nrps_status be_run(be_backend *b, const float *in, int batch, float *const *out);

/* Host buffers be_run uses without copying: in (max_batch samples) and out[k] for each output; NULL where the
 * backend has none. */
void be_io_buffers(be_backend *b, float **in, float *out[BE_MAX_OUTPUTS]);

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
