/* cuda_native.h - plain-C interface of the native-cuda backend's device side (src/backend/cuda.cu) for the network
 * family of nn/net.h: 1..NN_MAX_LAYERS dense layers, one head or a shared trunk + two heads. No CUDA types here.
 *
 *   nc_net_desc d;  nc_net_desc_from(&net, &d);             // views into an nn_net: no copy
 *   nc_net *g;      nc_net_create(&d, 0, 256, &g, name, sizeof name, err, sizeof err);
 *   float *y[2] = {policy, value};  nc_net_run(g, x, batch, y, err, sizeof err);
 *   nc_net_destroy(g);
 *
 * Numerics: fp32 FMA on CUDA cores (no TF32, no fast math); results agree with nn_forward within
 * 1e-5 + 1e-4 * |ref| (tests/test_cuda_kernels.c). Every function returning int returns 0 on success and non-zero
 * with a one-line message in err (always terminated) on failure.
 * Threads: one nc_net is used by one thread at a time (one stream, one set of pinned buffers); distinct nc_nets may
 * run in parallel threads, on the same device or on different ones.
 * Compiled only when the build has nvcc (NRPS_HAVE_CUDA); src/backend/cuda_backend.c is the only other caller. */
#ifndef NRPS_CUDA_NATIVE_H
#define NRPS_CUDA_NATIVE_H

#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "nn/net.h"

/* The largest max_batch nc_net_create accepts (the kernels put 16 samples per block row of a 65535-row grid). */
enum { NC_MAX_BATCH = 65535 * 16 };

/* One dense layer y = act(W x + b). Host pointers, read only during nc_net_create. */
typedef struct {
    int in, out;    /* widths: in must equal the width that feeds the layer */
    int act;        /* an nn_act value; SOFTMAX / LOGSOFTMAX only on a head's last layer */
    float alpha;    /* LEAKY_RELU slope */
    const float *w; /* [out][in] */
    const float *b; /* [out] */
} nc_layer_desc;

/* Head h: layers first .. first + count - 1, applied to the trunk's output (to the input when trunk = 0). */
typedef struct {
    int first, count;
} nc_head_desc;

/* A network laid out as in nn/net.h: layers[0 .. trunk-1] the trunk, then the heads, contiguous, in order. */
typedef struct {
    int in, n_layers;
    nc_layer_desc layer[NN_MAX_LAYERS];
    int trunk, n_heads; /* n_heads 1 or 2 */
    nc_head_desc head[NN_MAX_HEADS];
} nc_net_desc;

typedef struct nc_net nc_net; /* device weights, activation buffers, pinned host buffers, one stream */

/* Number of CUDA devices (> 0), or 0 with err = "no CUDA device: <reason>" (without an NVIDIA driver the
 * runtime's "insufficient driver" error, explained). */
int nc_device_probe(char *err, size_t err_len);

/* Checks d (widths chain, heads contiguous and covering every layer, activations known, row activations only last,
 * max_batch 1..NC_MAX_BATCH) before touching CUDA, then selects device_id, uploads every layer's weights once and
 * allocates device buffers for the input and every layer's output and pinned host buffers for the input and each
 * head's output, all for max_batch samples. On success *out owns them (free with nc_net_destroy) and device_name
 * (may be NULL) receives e.g. "NVIDIA H200 (device 0, sm_90)". On failure *out = NULL. */
int nc_net_create(const nc_net_desc *d, int device_id, int max_batch, nc_net **out, char *device_name,
                  size_t name_len, char *err, size_t err_len);

/* in[batch][d.in] -> out[h][batch][width of head h] for every head (out holds n_heads host pointers), batch
 * 0..max_batch. Host memory anywhere; passing the pinned buffers of nc_net_io_buffers saves a host copy. Does the
 * H2D copy, one kernel per layer (plus a row kernel for a softmax wider than 16), the D2H copy of each head and
 * waits for them on the handle's stream. Allocates nothing. */
int nc_net_run(nc_net *n, const float *in, int batch, float *const *out, char *err, size_t err_len);

/* The pinned host buffers: *in = [max_batch][d.in], out[h] = [max_batch][width of head h] for h < n_heads (out
 * must hold NN_MAX_HEADS pointers; unused ones are set to NULL). Owned by n. */
void nc_net_io_buffers(nc_net *n, float **in, float **out);

void nc_net_destroy(nc_net *n); /* accepts NULL */


/* Fills d with views of n (no copy: n must outlive the nc_net_create call). n is a valid network (nn_init checked
 * its architecture); the layer list, trunk and heads are taken as they are. */
static inline void nc_net_desc_from(const nn_net *n, nc_net_desc *d) {
    const nn_arch *a = &n->arch;
    memset(d, 0, sizeof *d);
    d->in = a->in;
    d->n_layers = a->n_layers;
    for (int l = 0; l < a->n_layers; l++) {
        nc_layer_desc *L = &d->layer[l];
        L->in = nn_layer_in(a, l);
        L->out = a->layer[l].out;
        L->act = (int)a->layer[l].act;
        L->alpha = a->layer[l].alpha;
        L->w = n->w[l];
        L->b = n->b[l];
    }
    d->trunk = a->trunk;
    d->n_heads = a->n_heads;
    for (int h = 0; h < a->n_heads; h++) {
        d->head[h].first = a->head[h].first;
        d->head[h].count = a->head[h].count;
    }
}

#ifdef __cplusplus
}
#endif
#endif
