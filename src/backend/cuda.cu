/* cuda.cu - the native-cuda backend's device side: one fused kernel for the MLP family of nn/mlp.h.
 * A block of 128 threads handles a tile of 8 samples: the tile's inputs go to shared memory, each thread
 * computes hidden units (W1 kept transposed [in][hidden] so loads are coalesced), then each warp computes
 * the output layer for two samples with warp-shuffle reductions and applies the output activation.
 * Weights are uploaded once; device buffers and pinned host buffers are allocated once for max_batch.
 * nc_run times what a caller pays: H2D copy + kernel + D2H copy, synchronised. fp32 throughout. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda_native.h"

extern "C" {
#include "nn/mlp.h"
}

enum { NC_TILE = 8, NC_THREADS = 128 };

struct nc_ctx {
    int in, hidden, out, hidden_act, out_act, max_batch, device;
    float *d_w1t, *d_b1, *d_w2, *d_b2, *d_in, *d_out;
    float *h_in, *h_out; /* pinned */
    cudaStream_t stream;
};

__device__ static float nc_act(int a, float v) {
    if (a == MLP_ACT_RELU) return v > 0.0f ? v : 0.0f;
    if (a == MLP_ACT_TANH) return tanhf(v);
    if (a == MLP_ACT_SIGMOID) return 1.0f / (1.0f + expf(-v));
    return v;
}

__global__ static void nc_mlp_kernel(const float *__restrict__ x, const float *__restrict__ w1t,
                                     const float *__restrict__ b1, const float *__restrict__ w2,
                                     const float *__restrict__ b2, float *__restrict__ y, int batch, int I, int H,
                                     int O, int hact, int oact) {
    extern __shared__ float sh[];
    float *xs = sh;                  /* [NC_TILE][I] */
    float *hs = sh + NC_TILE * I;    /* [NC_TILE][H] */
    const int s0 = blockIdx.x * NC_TILE;
    const int ns = min(NC_TILE, batch - s0);
    for (int k = threadIdx.x; k < NC_TILE * I; k += blockDim.x) xs[k] = k < ns * I ? x[(size_t)s0 * I + k] : 0.0f;
    __syncthreads();
    for (int j = threadIdx.x; j < H; j += blockDim.x) {
        float acc[NC_TILE];
        for (int s = 0; s < NC_TILE; s++) acc[s] = b1[j];
        for (int i = 0; i < I; i++) {
            float w = w1t[(size_t)i * H + j];
            for (int s = 0; s < NC_TILE; s++) acc[s] += w * xs[s * I + i];
        }
        for (int s = 0; s < ns; s++) hs[s * H + j] = nc_act(hact, acc[s]);
    }
    __syncthreads();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nwarps = blockDim.x / 32;
    for (int s = warp; s < ns; s += nwarps) {
        float *out = y + (size_t)(s0 + s) * O;
        for (int o = 0; o < O; o++) {
            float p = 0.0f;
            for (int j = lane; j < H; j += 32) p += hs[s * H + j] * w2[(size_t)o * H + j];
            for (int off = 16; off; off >>= 1) p += __shfl_xor_sync(0xffffffffu, p, off);
            if (lane == 0) out[o] = p + b2[o];
        }
        if (lane == 0) {
            if (oact == MLP_ACT_SOFTMAX || oact == MLP_ACT_LOGSOFTMAX) {
                float mx = out[0], sum = 0.0f;
                for (int o = 1; o < O; o++) mx = fmaxf(mx, out[o]);
                for (int o = 0; o < O; o++) sum += expf(out[o] - mx);
                if (oact == MLP_ACT_SOFTMAX)
                    for (int o = 0; o < O; o++) out[o] = expf(out[o] - mx) / sum;
                else
                    for (int o = 0; o < O; o++) out[o] = out[o] - mx - logf(sum);
            } else if (oact == MLP_ACT_SIGMOID || oact == MLP_ACT_TANH) {
                for (int o = 0; o < O; o++) out[o] = nc_act(oact, out[o]);
            }
        }
    }
}

static int nc_check(cudaError_t e, const char *what, char *err, size_t len) {
    if (e == cudaSuccess) return 0;
    snprintf(err, len, "%s: %s", what, cudaGetErrorString(e));
    return 1;
}

extern "C" void nc_destroy(void *p) {
    nc_ctx *c = (nc_ctx *)p;
    if (!c) return;
    cudaFree(c->d_w1t);
    cudaFree(c->d_b1);
    cudaFree(c->d_w2);
    cudaFree(c->d_b2);
    cudaFree(c->d_in);
    cudaFree(c->d_out);
    cudaFreeHost(c->h_in);
    cudaFreeHost(c->h_out);
    if (c->stream) cudaStreamDestroy(c->stream);
    free(c);
}

extern "C" int nc_create(const nc_mlp_desc *d, int device_id, int max_batch, void **ctx, char *device_name,
                         size_t name_len, char *err, size_t err_len) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(err, err_len, "no CUDA device: %s", cudaGetErrorString(e));
        return 1;
    }
    if (n == 0) {
        snprintf(err, err_len, "no CUDA device: cudaGetDeviceCount found 0 devices");
        return 1;
    }
    if (device_id < 0 || device_id >= n) {
        snprintf(err, err_len, "CUDA device %d does not exist (%d device%s)", device_id, n, n == 1 ? "" : "s");
        return 1;
    }
    size_t shmem = sizeof(float) * NC_TILE * (size_t)(d->in + d->hidden);
    if (shmem > 48 * 1024) {
        snprintf(err, err_len, "native-cuda supports in+hidden <= %d, got %d+%d", 48 * 1024 / (4 * NC_TILE), d->in,
                 d->hidden);
        return 1;
    }
    nc_ctx *c = (nc_ctx *)calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return 1;
    }
    c->in = d->in, c->hidden = d->hidden, c->out = d->out, c->hidden_act = d->hidden_act, c->out_act = d->out_act;
    c->max_batch = max_batch, c->device = device_id;
    const size_t I = d->in, H = d->hidden, O = d->out, B = max_batch;
    float *w1t = (float *)malloc(sizeof(float) * I * H);
    cudaDeviceProp prop;
    if (!w1t) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    for (size_t j = 0; j < H; j++)
        for (size_t i = 0; i < I; i++) w1t[i * H + j] = d->w1[j * I + i];
    if (nc_check(cudaSetDevice(device_id), "cudaSetDevice", err, err_len) ||
        nc_check(cudaGetDeviceProperties(&prop, device_id), "cudaGetDeviceProperties", err, err_len) ||
        nc_check(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cudaStreamCreate", err, err_len) ||
        nc_check(cudaMalloc((void **)&c->d_w1t, sizeof(float) * I * H), "cudaMalloc", err, err_len) ||
        nc_check(cudaMalloc((void **)&c->d_b1, sizeof(float) * H), "cudaMalloc", err, err_len) ||
        nc_check(cudaMalloc((void **)&c->d_w2, sizeof(float) * O * H), "cudaMalloc", err, err_len) ||
        nc_check(cudaMalloc((void **)&c->d_b2, sizeof(float) * O), "cudaMalloc", err, err_len) ||
        nc_check(cudaMalloc((void **)&c->d_in, sizeof(float) * B * I), "cudaMalloc", err, err_len) ||
        nc_check(cudaMalloc((void **)&c->d_out, sizeof(float) * B * O), "cudaMalloc", err, err_len) ||
        nc_check(cudaMallocHost((void **)&c->h_in, sizeof(float) * B * I), "cudaMallocHost", err, err_len) ||
        nc_check(cudaMallocHost((void **)&c->h_out, sizeof(float) * B * O), "cudaMallocHost", err, err_len) ||
        nc_check(cudaMemcpy(c->d_w1t, w1t, sizeof(float) * I * H, cudaMemcpyHostToDevice), "cudaMemcpy", err,
                 err_len) ||
        nc_check(cudaMemcpy(c->d_b1, d->b1, sizeof(float) * H, cudaMemcpyHostToDevice), "cudaMemcpy", err, err_len) ||
        nc_check(cudaMemcpy(c->d_w2, d->w2, sizeof(float) * O * H, cudaMemcpyHostToDevice), "cudaMemcpy", err,
                 err_len) ||
        nc_check(cudaMemcpy(c->d_b2, d->b2, sizeof(float) * O, cudaMemcpyHostToDevice), "cudaMemcpy", err, err_len))
        goto fail;
    memset(c->h_in, 0, sizeof(float) * B * I);
    snprintf(device_name, name_len, "%s (device %d, sm_%d%d)", prop.name, device_id, prop.major, prop.minor);
    free(w1t);
    *ctx = c;
    return 0;
fail:
    free(w1t);
    nc_destroy(c);
    return 1;
}

extern "C" void nc_io_buffers(void *p, float **in, float **out) {
    nc_ctx *c = (nc_ctx *)p;
    *in = c->h_in;
    *out = c->h_out;
}

extern "C" int nc_run(void *p, const float *in, int batch, float *out, char *err, size_t err_len) {
    nc_ctx *c = (nc_ctx *)p;
    const size_t nin = (size_t)batch * c->in, nout = (size_t)batch * c->out;
    if (in != c->h_in) memcpy(c->h_in, in, sizeof(float) * nin);
    size_t shmem = sizeof(float) * NC_TILE * (size_t)(c->in + c->hidden);
    int blocks = (batch + NC_TILE - 1) / NC_TILE;
    if (nc_check(cudaMemcpyAsync(c->d_in, c->h_in, sizeof(float) * nin, cudaMemcpyHostToDevice, c->stream),
                 "cudaMemcpyAsync H2D", err, err_len))
        return 1;
    nc_mlp_kernel<<<blocks, NC_THREADS, shmem, c->stream>>>(c->d_in, c->d_w1t, c->d_b1, c->d_w2, c->d_b2, c->d_out,
                                                            batch, c->in, c->hidden, c->out, c->hidden_act,
                                                            c->out_act);
    if (nc_check(cudaGetLastError(), "kernel launch", err, err_len) ||
        nc_check(cudaMemcpyAsync(c->h_out, c->d_out, sizeof(float) * nout, cudaMemcpyDeviceToHost, c->stream),
                 "cudaMemcpyAsync D2H", err, err_len) ||
        nc_check(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize", err, err_len))
        return 1;
    if (out != c->h_out) memcpy(out, c->h_out, sizeof(float) * nout);
    return 0;
}
