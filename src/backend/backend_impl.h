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
    /* Required. Same contract as be_run, batch already checked to be in 1..max_batch. */
    nrps_status (*run)(void *ctx, const float *in, int batch, float *const *out);
    /* Optional (NULL: none): the host buffers run() uses without copying (see be_io_buffers). */
    void (*io_buffers)(void *ctx, float **in, float **out);
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

/* The input and output description of a family network (outputs = heads in order). */
void be_info_from_net(const nn_net *n, const char *input_name, be_info *info);

/* Constructors (one per source file). */
nrps_status be_ref_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);
nrps_status be_cpu_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);
nrps_status be_cuda_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);
nrps_status be_ort_create(const char *name, const be_model *m, const be_options *opt, be_backend *b);

/* 1 when the ONNX Runtime provider (short or full name) runs on a separate device (CUDA, TensorRT, ROCm, ...). */
int be_ort_provider_is_gpu(const char *provider);

#endif
