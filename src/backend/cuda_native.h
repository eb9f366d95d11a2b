/* cuda_native.h - C-callable wrapper of the native CUDA MLP (src/backend/cuda.cu); no CUDA types here.
 * Used only by src/backend/backend.c when the build has nvcc (NRPS_HAVE_CUDA). */
#ifndef NRPS_CUDA_NATIVE_H
#define NRPS_CUDA_NATIVE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A two-layer MLP as in nn/mlp.h: weights [out][in]; hidden_act/out_act are mlp_act values. Host pointers,
 * copied to the device by nc_create. */
typedef struct {
    int in, hidden, out, hidden_act, out_act;
    const float *w1, *b1, *w2, *b2;
} nc_mlp_desc;

/* Selects device_id, uploads the weights once, allocates device buffers and pinned host buffers for max_batch
 * samples. Returns 0 and *ctx, or non-zero with a one-line message in err (e.g. "no CUDA device: <reason>").
 * device_name receives the device's name. */
int nc_create(const nc_mlp_desc *d, int device_id, int max_batch, void **ctx, char *device_name, size_t name_len,
              char *err, size_t err_len);
/* in[batch][in] -> out[batch][out], host memory (the pinned buffers from nc_io_buffers avoid an extra copy).
 * Includes the H2D copy, the kernel and the D2H copy, and waits for them. Returns 0 or non-zero + err. */
int nc_run(void *ctx, const float *in, int batch, float *out, char *err, size_t err_len);
void nc_io_buffers(void *ctx, float **in, float **out); /* pinned host buffers of max_batch samples */
void nc_destroy(void *ctx);                            /* accepts NULL */

#ifdef __cplusplus
}
#endif
#endif
