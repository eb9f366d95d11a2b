/* cpu_kernels.h - CPU execution plans for any network of the layer-list family (src/nn/net.h): the kernels of the
 * native-cpu backend.
 *
 * A plan is made once per network: every layer's weights are transposed to [in][out padded to the vector width]
 * (zeros in the padding) and copied into panels of 2 vectors, all scratch is allocated, and the kernel set is picked
 * for the CPU (AVX-512 = x86-64-v4 with 16 lanes, AVX2+FMA = x86-64-v3 with 8 lanes, or portable 4-lane vectors).
 * Running it pushes the batch through the trunk and then each head in chunks of samples: from one full tile on,
 * register tiles of 6 (12 with AVX-512) samples x 2 vectors on the panels, below that the row layout's blocks of
 * 1..8 vectors (bias and ReLU / LeakyReLU fused; Tanh and Sigmoid, hidden or final, and a head's final softmax or
 * log-softmax vectorised). A layer's columns past its last full vector, when they
 * fill less than half a vector (a value head's single output), are dot products instead, one vector of them at a
 * time (no padded lanes). A layer that reads the network input skips the zero inputs of each sample when the
 * chunk's input density is low (game positions: about a third non-zero).
 *
 * Results agree with nn_forward, the numerical reference, to float rounding (the kernels sum in float, in another
 * order, with FMA contraction): tests/test_cpu_kernels.c checks abs 1e-5 + rel 1e-4.
 *
 * Environment, read by cpu_plan_create (not per call):
 *   NRPS_NO_AVX512=1           never the AVX-512 kernels (as the old native-cpu backend)
 *   NRPS_CPU_ISA=avx512|avx2|baseline   use at most that kernel set (what the CPU lacks is never used)
 *   NRPS_CPU_SPARSE=0|1        never / always (where possible) the sparse first layer; unset: by density
 *   NRPS_CPU_NARROW=0|1        never / always the dot products for the columns past a layer's last full vector;
 *                              unset: when they fill less than half a vector
 *
 * Threads: a plan made with T > 1 threads owns a pool (src/util/threadpool.h) and splits a batch into up to T equal
 * parts (whole tiles of 12 samples) when the batch carries enough work to pay for the hand-off (cpu_plan_split_from);
 * smaller batches run on the caller alone. A plan is NOT thread-safe (run writes its scratch and counters): one
 * caller at a time per plan. Distinct plans, even of the same network, are independent. */
#ifndef NRPS_BACKEND_CPU_KERNELS_H
#define NRPS_BACKEND_CPU_KERNELS_H

#include "nn/net.h"
#include "util/util.h"

typedef struct cpu_plan cpu_plan;

/* What a plan has done since creation: calls of cpu_plan_run and how many chunks of samples took the sparse
 * and the dense first layer (a chunk holds up to CPU_PLAN_CHUNK samples). */
enum { CPU_PLAN_CHUNK = 48 };
typedef struct {
    long long runs, sparse_chunks, dense_chunks;
} cpu_plan_stats;

/* Builds a plan for n (checked with nn_arch_check) for batches of 1..max_batch samples: packs every layer's weights
 * and allocates everything a run needs (in one allocation; batches go through in chunks of CPU_PLAN_CHUNK samples,
 * so the scratch is min(max_batch, CPU_PLAN_CHUNK) samples deep). The plan keeps no pointer to n: n may be freed or
 * changed afterwards. Reads the environment variables above. Returns NRPS_OK and *out, or NRPS_ERR_ARG (bad
 * network, max_batch < 1, NULL pointers, a bad NRPS_CPU_* value) / NRPS_ERR_NOMEM with the error set and
 * *out = NULL. */
nrps_status cpu_plan_create(const nn_net *n, int max_batch, cpu_plan **out);

/* The same with a pool of threads (1..CPU_PLAN_MAX_THREADS, the caller included) whose idle workers spin for spin_us
 * microseconds before they sleep (src/util/threadpool.h). Only a plan whose batches can be split creates the pool. */
enum { CPU_PLAN_MAX_THREADS = 256 };
nrps_status cpu_plan_create_threads(const nn_net *n, int max_batch, int threads, int spin_us, cpu_plan **out);

/* Runs batch samples: x[batch][in] -> y[h][batch][width of head h] for every head h (y holds n_heads pointers to
 * caller memory; the heads share the trunk's output). 1 <= batch <= max_batch. x and y must not overlap. No
 * allocation, no lock. Returns NRPS_OK, or NRPS_ERR_ARG (batch out of range, NULL pointers) with the error set. */
nrps_status cpu_plan_run(cpu_plan *p, const float *x, int batch, float *const *y);

/* One line for reports, owned by the plan: widths, activations, kernel set, first-layer mode, the narrow columns and
 * threads, e.g. "81-64-1 relu/sigmoid, AVX2+FMA (x86-64-v3), sparse first layer below 50% input density (85% at
 * batch 1), 1 narrow column as dot products, 1 thread". */
const char *cpu_plan_describe(const cpu_plan *p);

/* Vector width of the kernel set in use: 16 (AVX-512), 8 (AVX2) or 4 (portable). */
int cpu_plan_lanes(const cpu_plan *p);

cpu_plan_stats cpu_plan_get_stats(const cpu_plan *p);

int cpu_plan_threads(const cpu_plan *p);      /* the threads the plan was made for */
int cpu_plan_split_from(const cpu_plan *p);   /* smallest batch run on more than one thread; 0: never */
double cpu_plan_flops(const cpu_plan *p);     /* floating-point operations per sample (2 per weight) */

/* The share of non-zero inputs below which a chunk of n samples runs the sparse first layer: measured per kernel
 * set, first-layer width and chunk size (cpu_kernels.c); 0 when the plan never runs sparse (NRPS_CPU_SPARSE=0, or
 * non-finite first-layer weights), 2 when it always does (NRPS_CPU_SPARSE=1). */
double cpu_plan_sparse_below(const cpu_plan *p, int n);

void cpu_plan_destroy(cpu_plan *p); /* accepts NULL */

/* nn_act_rows (src/nn/nn_ops.h) on y[rows][width] with tanh, sigmoid, softmax and log-softmax (rows up to 64 wide)
 * vectorised by the kernel set a plan would pick (results agree with nn_act_rows to float rounding; non-finite
 * softmax rows follow it exactly). Thread-safe; no allocation. */
void cpu_act_rows(nn_act a, float alpha, float *y, int rows, int width);

/* One core's floating-point throughput with one kernel set: 12 independent chains of vector multiply-adds (FMA where
 * the set has it), the most any of our kernels can reach on this core. */
typedef struct {
    char isa[48];  /* the kernel set's name, as in cpu_plan_describe */
    int lanes;
    double gflops; /* best of 5 timed runs */
} cpu_peak;

/* Measures every kernel set this CPU runs (best first; at most max; about 6 x ms_each milliseconds each) into out,
 * regardless of NRPS_CPU_ISA; returns how many. */
int cpu_fma_peaks(cpu_peak *out, int max, double ms_each);

/* The best kernel set's probe on `threads` threads at once (each about ms milliseconds per run, best of 5 runs that
 * start together): their total GFLOP/s, the ceiling of a `threads`-thread row (on a shared host, or with SMT
 * siblings, below threads x one core). 0 if a thread cannot be started or threads is outside 1..256. */
double cpu_fma_peak_threads(int threads, double ms);

#endif
