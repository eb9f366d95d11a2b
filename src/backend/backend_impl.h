/* backend_impl.h - private to src/backend: the backend vtable and the registry entry. Adding a backend = one
 * source file with a constructor of type be_create_fn + one line in REGISTRY (backend.c). */
#ifndef NRPS_BACKEND_IMPL_H
#define NRPS_BACKEND_IMPL_H

#include "backend/backend.h"

struct be_backend {
    char name[32];
    int max_batch;
    be_info info;
    void *ctx; /* owned by the backend */
    /* The last run's outputs for backends without last_outputs (kept by be_run / be_run_io). */
    const void *last_out[BE_MAX_IO];
    long last_elems[BE_MAX_IO];
    int n_last;
    /* Required unless run_io is set (then unused). Same contract as be_run, batch already checked to be in
     * 1..max_batch (and == info.fixed_batch when set). */
    nrps_status (*run)(void *ctx, const float *in, int batch, float *const *out);
    /* Optional (NULL: one float32 input and float32 outputs, served by run): same contract as be_run_io; when set,
     * be_run and be_run_io both go through it. */
    nrps_status (*run_io)(void *ctx, const void *const *in, int batch, void *const *out);
    /* Optional with run_io: the last run's outputs (see be_last_outputs). */
    int (*last_outputs)(void *ctx, const void **data, long *elems);
    /* Optional (NULL: none): the host buffers run() uses without copying (see be_io_buffers). */
    void (*io_buffers)(void *ctx, float **in, float **out);
    /* Optional: the input buffers of run_io (see be_io_tensors). */
    void (*io_tensors)(void *ctx, void **in);
    /* Optional: fills nb (a zeroed handle with name, max_batch and info copied) sharing ctx's session. */
    nrps_status (*share)(void *ctx, be_backend *nb);
    /* Optional: see be_end_profiling. */
    nrps_status (*end_profiling)(void *ctx, char *path, size_t len);
    /* Required: frees ctx; accepts NULL. */
    void (*destroy)(void *ctx);
};

/* A constructor fills b (ctx, the function pointers, info except what be_create fills: input/output description
 * for native backends comes from the network, see be_info_from_net). name is the name asked for (e.g.
 * "ort-rocm"); opt is complete (threads >= 1, max_batch >= 1). On failure it sets the error (be_create prefixes
 * the backend name) and frees whatever it allocated. */
typedef nrps_status (*be_create_fn)(const char *name, const be_model *m, const be_options *opt, be_backend *b);

typedef struct {
    const char *name;        /* exact name, or a prefix ending in '-' when `prefix` is set ("ort-") */
    be_create_fn create;
    int is_gpu;              /* for the prefix entry: decided per provider (be_ort_provider_is_gpu) */
    int native;              /* needs a model of the network family */
    int prefix;
    int bench_default;       /* in the benchmark's default list (when available) */
    const char *description; /* one line for --help */
} be_entry;

/* Host input/output buffers of max_batch samples for a family network (the native CPU backends' io_buffers). */
typedef struct {
    float *in, *out[NN_MAX_HEADS];
    int n_out;
} be_host_io;
/* Allocates zeroed buffers (io is zeroed first); NRPS_ERR_NOMEM with the error set (and io freed) on failure. */
nrps_status be_host_io_alloc(be_host_io *io, const nn_arch *a, int max_batch);
void be_host_io_free(be_host_io *io); /* accepts a zeroed struct */
/* The io_buffers slot over io: in and out[0..n_out-1]. */
void be_host_io_get(const be_host_io *io, float **in, float **out);


/* Constructors (one per source file). */
nrps_status be_ref_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);
nrps_status be_cpu_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);
nrps_status be_xnnpack_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);
nrps_status be_cuda_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);
nrps_status be_ort_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);

/* 1 when the ONNX Runtime provider (short or full name) runs on a separate device (CUDA, TensorRT, ROCm, ...). */
int be_ort_provider_is_gpu(const char *provider);

#endif
