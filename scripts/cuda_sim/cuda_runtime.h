/* cuda_runtime.h (simulation) - a CPU stand-in for the parts of the CUDA runtime and device model that
 * src/backend/cuda.cu uses, so its kernels and host code can run on a machine without a GPU
 * (scripts/cuda_sim_check.sh). Device memory is host memory (cudaMalloc fills it with NaN bytes to expose reads of
 * unwritten data), copies are memcpy, streams are synchronous, there is one device. A launch runs the blocks one
 * after another; a block's threads are ucontext fibers run round-robin from one barrier to the next
 * (__syncthreads, and each half of __shfl_xor_sync), so __shared__ (a static here) is shared by the block.
 * It checks index math, bounds, barrier placement and host orchestration; not timing, the memory model, launch
 * limits or device arithmetic. */
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <functional>

#define __global__
#define __device__
#define __shared__ static
struct dim3 { unsigned x, y, z; dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {} };
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
void sim_yield();
inline void __syncthreads() { sim_yield(); }
extern float sim_lanes[1024];
inline float __shfl_xor_sync(unsigned, float v, int off) {
    int t = threadIdx.y * blockDim.x + threadIdx.x;
    sim_lanes[t] = v; sim_yield();
    float r = sim_lanes[(t & ~31) | ((t & 31) ^ off)]; sim_yield();
    return r;
}
void sim_run(dim3 g, dim3 b, const std::function<void()> &body);
template <class K> struct sim_launcher {
    K k; dim3 g, b;
    template <class... A> void operator()(A... a) { sim_run(g, b, [=] { k(a...); }); }
};
template <class K> sim_launcher<K> sim_launch(K k, dim3 g, dim3 b) { return {k, g, b}; }

typedef int cudaError_t;
enum { cudaSuccess = 0, cudaErrorInsufficientDriver = 35, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost };
typedef void *cudaStream_t;
enum { cudaStreamNonBlocking = 1 };
struct cudaDeviceProp { char name[256]; int major, minor; };
inline const char *cudaGetErrorString(cudaError_t e) { return e == 35 ? "insufficient driver (sim)" : e ? "sim error" : "no error"; }
inline cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return 0; }
inline cudaError_t cudaSetDevice(int) { return 0; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int) { snprintf(p->name, sizeof p->name, "CPU simulation"); p->major = 9; p->minor = 0; return 0; }
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, int) { *s = (void *)1; return 0; }
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return 0; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return 0; }
inline cudaError_t cudaMalloc(void **p, size_t n) { *p = malloc(n); if (*p) memset(*p, 0xff, n); return *p ? 0 : 2; }
inline cudaError_t cudaMallocHost(void **p, size_t n) { return cudaMalloc(p, n); }
inline cudaError_t cudaFree(void *p) { free(p); return 0; }
inline cudaError_t cudaFreeHost(void *p) { free(p); return 0; }
inline cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind, cudaStream_t) { memcpy(d, s, n); return 0; }
inline cudaError_t cudaGetLastError() { return 0; }
