/* cuda.cu - the native-cuda backend's device side (interface and contracts: cuda_native.h) for the layer-list
 * networks of nn/net.h.
 *
 * Each layer is one launch of a tiled shared-memory GEMM, Y[batch][out] = act(X[batch][in] W^T + b): a 16 x 16
 * thread block computes a 16-sample x 16-unit tile, stepping over `in` in 16-wide slices of X and W (both read
 * along `in`, so loads are coalesced and W stays [out][in] as uploaded), bias and element-wise activation fused in
 * the epilogue. A row softmax / log-softmax is fused too when the layer has at most 16 outputs (the whole row is in
 * one block, e.g. the policy head's 9); wider rows get a second kernel, one warp per row. Each layer writes its
 * own device buffer, so the trunk's output stays put while the heads read it.
 *
 * Weights are uploaded once; device buffers (input + every layer's output) and pinned host buffers (input + each
 * head's output) are allocated once for max_batch, so a run allocates nothing. nc_net_run does what a caller pays
 * for: H2D copy, the kernels, the D2H copy of each head, synchronised on the handle's stream. fp32 FMA throughout
 * (no TF32, no fast-math intrinsics). */
#include <cuda_runtime.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda_native.h"

extern "C" {
}

enum { NC_TILE = 16, NC_ROW_WARPS = 8, NC_ALIGN = 64 /* floats between buffers: 256 bytes */ };

struct nc_layer {
    int in, out, act;
    float alpha;
    int src;               /* layer whose output feeds this one; -1 = the network input */
    size_t w_off, b_off;   /* floats into d_params */
    size_t y_off;          /* floats into d_act: this layer's output [max_batch][out] */
};

struct nc_net {
    int device, max_batch, in, n_layers, n_heads;
    nc_layer layer[NN_MAX_LAYERS];
    int head_last[NN_MAX_HEADS]; /* the layer whose output is head h */
    float *d_params;             /* every layer's W then b */
    float *d_act;                /* input [max_batch][in] at 0, then every layer's output at y_off */
    float *h_pinned;             /* one pinned allocation: h_in then every h_out[h] */
    float *h_in, *h_out[NN_MAX_HEADS];
    cudaStream_t stream;
};

/* ---- device code ---- */

__device__ static float nc_act(int a, float alpha, float z) {
    switch (a) {
    case NN_ACT_RELU: return z > 0.0f ? z : 0.0f;
    case NN_ACT_LEAKY_RELU: return z > 0.0f ? z : alpha * z;
    case NN_ACT_TANH: return tanhf(z);
    case NN_ACT_SIGMOID: {
        if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
        float e = expf(z);
        return e / (1.0f + e);
    }
    default: return z;
    }
}

/* Softmax / log-softmax of element k of row z[0..n-1] (z in shared memory, n <= NC_TILE). */
__device__ static float nc_row_elem(int act, const float *z, int n, int k) {
    float mx = z[0], sum = 0.0f;
    for (int c = 1; c < n; c++) mx = fmaxf(mx, z[c]);
    for (int c = 0; c < n; c++) sum += expf(z[c] - mx);
    return act == NN_ACT_SOFTMAX ? expf(z[k] - mx) / sum : (z[k] - mx) - logf(sum);
}

/* grid (ceil(out / 16), ceil(batch / 16)), block (16, 16): threadIdx.y = sample in the tile, threadIdx.x = unit.
 * fuse_row: act is SOFTMAX/LOGSOFTMAX and out <= 16, applied here; other row acts are left to nc_row_kernel. */
__global__ static void nc_dense_kernel(const float *__restrict__ x, const float *__restrict__ w,
                                       const float *__restrict__ b, float *__restrict__ y, int batch, int in, int out,
                                       int act, float alpha, int fuse_row) {
    __shared__ float xs[NC_TILE][NC_TILE + 1], ws[NC_TILE][NC_TILE + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * NC_TILE + ty, col = blockIdx.x * NC_TILE + tx;
    const int wrow = blockIdx.x * NC_TILE + ty; /* the W row this thread loads */
    float acc = 0.0f;
    for (int k0 = 0; k0 < in; k0 += NC_TILE) {
        const int k = k0 + tx;
        xs[ty][tx] = row < batch && k < in ? x[(size_t)row * in + k] : 0.0f;
        ws[ty][tx] = wrow < out && k < in ? w[(size_t)wrow * in + k] : 0.0f;
        __syncthreads();
        for (int kk = 0; kk < NC_TILE; kk++) acc = fmaf(xs[ty][kk], ws[tx][kk], acc);
        __syncthreads();
    }
    const float z = col < out ? acc + b[col] : 0.0f;
    if (fuse_row) { /* uniform over the launch: every thread reaches the barrier */
        xs[ty][tx] = z;
        __syncthreads();
        if (row < batch && col < out) y[(size_t)row * out + col] = nc_row_elem(act, xs[ty], out, tx);
    } else if (row < batch && col < out) {
        y[(size_t)row * out + col] = nc_act(act, alpha, z);
    }
}

__device__ static float nc_warp_max(float v) {
    for (int off = 16; off; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

__device__ static float nc_warp_sum(float v) {
    for (int off = 16; off; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

/* Row softmax / log-softmax in place of y[batch][width], one warp per row: grid ceil(batch / 8), block 256. */
__global__ static void nc_row_kernel(float *__restrict__ y, int batch, int width, int act) {
    const int lane = threadIdx.x % 32, row = blockIdx.x * NC_ROW_WARPS + threadIdx.x / 32;
    if (row >= batch) return; /* the whole warp leaves together */
    float *r = y + (size_t)row * width;
    float mx = -INFINITY, sum = 0.0f;
    for (int k = lane; k < width; k += 32) mx = fmaxf(mx, r[k]);
    mx = nc_warp_max(mx);
    for (int k = lane; k < width; k += 32) sum += expf(r[k] - mx);
    sum = nc_warp_sum(sum);
    const float lse = logf(sum);
    for (int k = lane; k < width; k += 32) r[k] = act == NN_ACT_SOFTMAX ? expf(r[k] - mx) / sum : (r[k] - mx) - lse;
}

/* ---- host code ---- */

/* Writes a one-line message into err (when there is one) and returns 1. */
__attribute__((format(printf, 3, 4))) static int nc_fail(char *err, size_t len, const char *fmt, ...) {
    if (!err || !len) return 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return 1;
}

static int nc_check(cudaError_t e, const char *what, char *err, size_t len) {
    if (e == cudaSuccess) return 0;
    if (err && len) snprintf(err, len, "%s: %s", what, cudaGetErrorString(e));
    return 1;
}

static int nc_is_row_act(int a) { return a == NN_ACT_SOFTMAX || a == NN_ACT_LOGSOFTMAX; }

static int nc_act_known(int a) {
    return a == NN_ACT_NONE || a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU || a == NN_ACT_TANH ||
           a == NN_ACT_SIGMOID || nc_is_row_act(a);
}

/* Checks the heads: contiguous after the trunk, in order, >= 1 layer each, covering every layer. Fills head_last
 * and each layer's src. */
static int nc_check_heads(const nc_net_desc *d, nc_net *c, char *err, size_t len) {
    if (d->n_heads < 1 || d->n_heads > NN_MAX_HEADS || d->trunk < 0 || d->trunk >= d->n_layers)
        return nc_fail(err, len, "unsupported layout: %d head%s after a trunk of %d of %d layer%s",
                       d->n_heads, d->n_heads == 1 ? "" : "s", d->trunk, d->n_layers, d->n_layers == 1 ? "" : "s");
    for (int l = 0; l < d->trunk; l++) c->layer[l].src = l - 1;
    int next = d->trunk;
    for (int h = 0; h < d->n_heads; h++) {
        const nc_head_desc *H = &d->head[h];
        if (H->first != next || H->count < 1 || H->count > d->n_layers - next)
            return nc_fail(err, len, "head %d does not start at layer %d or is empty", h + 1, next + 1);
        for (int l = H->first; l < H->first + H->count; l++) c->layer[l].src = l == H->first ? d->trunk - 1 : l - 1;
        c->head_last[h] = H->first + H->count - 1;
        next += H->count;
    }
    if (next != d->n_layers)
        return nc_fail(err, len, "the heads end at layer %d of %d", next, d->n_layers);
    return 0;
}

/* Checks d and max_batch and fills c's shapes and offsets; touches no CUDA. */
static int nc_plan(const nc_net_desc *d, int max_batch, nc_net *c, char *err, size_t len) {
    if (d->in < 1 || d->in > NN_MAX_WIDTH || d->n_layers < 1 || d->n_layers > NN_MAX_LAYERS)
        return nc_fail(err, len, "unsupported network: input width %d, %d layer%s (supported: 1 to %d)",
                       d->in, d->n_layers, d->n_layers == 1 ? "" : "s", (int)NN_MAX_LAYERS);
    if (max_batch < 1 || max_batch > NC_MAX_BATCH)
        return nc_fail(err, len, "max batch %d (supported: 1 to %d)", max_batch, (int)NC_MAX_BATCH);
    c->in = d->in, c->n_layers = d->n_layers, c->n_heads = d->n_heads, c->max_batch = max_batch;
    if (nc_check_heads(d, c, err, len)) return 1;
    size_t p = 0, y = ((size_t)max_batch * d->in + NC_ALIGN - 1) / NC_ALIGN * NC_ALIGN;
    for (int l = 0; l < d->n_layers; l++) {
        const nc_layer_desc *L = &d->layer[l];
        nc_layer *C = &c->layer[l];
        const int want = C->src < 0 ? d->in : d->layer[C->src].out;
        const int last = l == c->head_last[0] || (c->n_heads > 1 && l == c->head_last[1]);
        if (L->in != want || L->out < 1 || L->out > NN_MAX_WIDTH)
            return nc_fail(err, len, "layer %d is %d -> %d, expected input width %d", l + 1, L->in,
                           L->out, want);
        if (!L->w || !L->b) return nc_fail(err, len, "layer %d has no weights", l + 1);
        if (!nc_act_known(L->act) || (nc_is_row_act(L->act) && !last) || !isfinite(L->alpha))
            return nc_fail(err, len, "layer %d: activation %d not supported there", l + 1, L->act);
        C->in = L->in, C->out = L->out, C->act = L->act, C->alpha = L->alpha;
        C->w_off = p, C->b_off = p + (size_t)L->out * L->in, p = C->b_off + L->out;
        C->y_off = y, y += ((size_t)max_batch * L->out + NC_ALIGN - 1) / NC_ALIGN * NC_ALIGN;
    }
    return 0;
}

extern "C" int nc_device_probe(char *err, size_t err_len) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        /* Without libcuda (no NVIDIA driver) the runtime answers cudaErrorInsufficientDriver: say so plainly. */
        if (err && err_len)
            snprintf(err, err_len, "no CUDA device: %s%s", cudaGetErrorString(e),
                     e == cudaErrorInsufficientDriver ? " (no NVIDIA driver here, or one older than this CUDA runtime)"
                                                      : "");
        return 0;
    }
    if (n == 0 && err && err_len) snprintf(err, err_len, "no CUDA device: cudaGetDeviceCount found 0 devices");
    return n;
}

extern "C" void nc_net_destroy(nc_net *c) {
    if (!c) return;
    cudaFree(c->d_params);
    cudaFree(c->d_act);
    cudaFreeHost(c->h_pinned);
    if (c->stream) cudaStreamDestroy(c->stream);
    free(c);
}

/* Allocates the device and pinned buffers of a planned c and uploads d's weights (waiting for the copies). */
static int nc_alloc_upload(const nc_net_desc *d, nc_net *c, char *err, size_t len) {
    const nc_layer *last = &c->layer[c->n_layers - 1];
    const size_t n_params = last->b_off + last->out;
    const size_t n_act = last->y_off + (size_t)c->max_batch * last->out;
    size_t n_host = (size_t)c->max_batch * c->in;
    for (int h = 0; h < c->n_heads; h++) n_host += (size_t)c->max_batch * c->layer[c->head_last[h]].out;
    if (nc_check(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cudaStreamCreate", err, len) ||
        nc_check(cudaMalloc((void **)&c->d_params, sizeof(float) * n_params), "cudaMalloc (weights)", err, len) ||
        nc_check(cudaMalloc((void **)&c->d_act, sizeof(float) * n_act), "cudaMalloc (activations)", err, len) ||
        nc_check(cudaMallocHost((void **)&c->h_pinned, sizeof(float) * n_host), "cudaMallocHost", err, len))
        return 1;
    c->h_in = c->h_pinned;
    float *next = c->h_in + (size_t)c->max_batch * c->in;
    for (int h = 0; h < c->n_heads; h++) {
        c->h_out[h] = next;
        next += (size_t)c->max_batch * c->layer[c->head_last[h]].out;
    }
    memset(c->h_pinned, 0, sizeof(float) * n_host);
    for (int l = 0; l < c->n_layers; l++) {
        const nc_layer *L = &c->layer[l];
        const size_t nw = (size_t)L->out * L->in;
        if (nc_check(cudaMemcpyAsync(c->d_params + L->w_off, d->layer[l].w, sizeof(float) * nw,
                                     cudaMemcpyHostToDevice, c->stream), "cudaMemcpyAsync (weights)", err, len) ||
            nc_check(cudaMemcpyAsync(c->d_params + L->b_off, d->layer[l].b, sizeof(float) * L->out,
                                     cudaMemcpyHostToDevice, c->stream), "cudaMemcpyAsync (biases)", err, len))
            return 1;
    }
    return nc_check(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize (weights)", err, len);
}

extern "C" int nc_net_create(const nc_net_desc *d, int device_id, int max_batch, nc_net **out, char *device_name,
                             size_t name_len, char *err, size_t err_len) {
    if (!out) return nc_fail(err, err_len, "nc_net_create: no output handle");
    *out = NULL;
    if (!d) return nc_fail(err, err_len, "nc_net_create: no network");
    nc_net *c = (nc_net *)calloc(1, sizeof *c);
    if (!c) return nc_fail(err, err_len, "out of memory");
    int n = 0;
    cudaDeviceProp prop;
    if (nc_plan(d, max_batch, c, err, err_len) || !(n = nc_device_probe(err, err_len))) goto fail;
    if (device_id < 0 || device_id >= n) {
        nc_fail(err, err_len, "CUDA device %d does not exist (%d device%s)", device_id, n, n == 1 ? "" : "s");
        goto fail;
    }
    c->device = device_id;
    if (nc_check(cudaSetDevice(device_id), "cudaSetDevice", err, err_len) ||
        nc_check(cudaGetDeviceProperties(&prop, device_id), "cudaGetDeviceProperties", err, err_len) ||
        nc_alloc_upload(d, c, err, err_len))
        goto fail;
    if (device_name && name_len)
        snprintf(device_name, name_len, "%s (device %d, sm_%d%d)", prop.name, device_id, prop.major, prop.minor);
    *out = c;
    return 0;
fail:
    nc_net_destroy(c);
    return 1;
}

extern "C" void nc_net_io_buffers(nc_net *c, float **in, float **out) {
    *in = c->h_in;
    for (int h = 0; h < NN_MAX_HEADS; h++) out[h] = h < c->n_heads ? c->h_out[h] : NULL;
}

/* Enqueues layer l on the stream for batch samples. */
static int nc_launch_layer(nc_net *c, int l, int batch, char *err, size_t len) {
    const nc_layer *L = &c->layer[l];
    const float *x = L->src < 0 ? c->d_act : c->d_act + c->layer[L->src].y_off;
    float *y = c->d_act + L->y_off;
    const int row = nc_is_row_act(L->act), fuse = row && L->out <= NC_TILE;
    const dim3 grid((unsigned)((L->out + NC_TILE - 1) / NC_TILE), (unsigned)((batch + NC_TILE - 1) / NC_TILE));
    nc_dense_kernel<<<grid, dim3(NC_TILE, NC_TILE), 0, c->stream>>>(x, c->d_params + L->w_off,
                                                                    c->d_params + L->b_off, y, batch, L->in, L->out,
                                                                    row && !fuse ? (int)NN_ACT_NONE : L->act,
                                                                    L->alpha, fuse);
    if (row && !fuse)
        nc_row_kernel<<<(batch + NC_ROW_WARPS - 1) / NC_ROW_WARPS, 32 * NC_ROW_WARPS, 0, c->stream>>>(y, batch,
                                                                                                     L->out, L->act);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) return 0;
    return nc_fail(err, len, "kernel launch (layer %d): %s", l + 1, cudaGetErrorString(e));
}

extern "C" int nc_net_run(nc_net *c, const float *in, int batch, float *const *out, char *err, size_t err_len) {
    if (!c || batch < 0 || batch > c->max_batch || (batch > 0 && (!in || !out)))
        return nc_fail(err, err_len, "nc_net_run: bad arguments (batch %d, max %d)", batch, c ? c->max_batch : 0);
    if (batch == 0) return 0;
    const size_t nin = (size_t)batch * c->in;
    if (in != c->h_in) memcpy(c->h_in, in, sizeof(float) * nin);
    if (nc_check(cudaSetDevice(c->device), "cudaSetDevice", err, err_len) ||
        nc_check(cudaMemcpyAsync(c->d_act, c->h_in, sizeof(float) * nin, cudaMemcpyHostToDevice, c->stream),
                 "cudaMemcpyAsync H2D", err, err_len))
        return 1;
    for (int l = 0; l < c->n_layers; l++)
        if (nc_launch_layer(c, l, batch, err, err_len)) return 1;
    for (int h = 0; h < c->n_heads; h++) {
        const nc_layer *L = &c->layer[c->head_last[h]];
        if (nc_check(cudaMemcpyAsync(c->h_out[h], c->d_act + L->y_off, sizeof(float) * batch * L->out,
                                     cudaMemcpyDeviceToHost, c->stream), "cudaMemcpyAsync D2H", err, err_len))
            return 1;
    }
    if (nc_check(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize", err, err_len)) return 1;
    for (int h = 0; h < c->n_heads; h++)
        if (out[h] != c->h_out[h])
            memcpy(out[h], c->h_out[h], sizeof(float) * batch * c->layer[c->head_last[h]].out);
    return 0;
}
