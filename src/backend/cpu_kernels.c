/* cpu_kernels.c - CPU execution plans for the layer-list networks (see cpu_kernels.h).
 *
 * Layout: layer l's weights are stored transposed, wt[i][j] = W[j][i] for i < in, j < outp, where outp is the
 * output width rounded up to the vector width L (zero weights and biases in the padding), so that one row of wt
 * holds consecutive outputs. Activations between layers live in the plan's scratch with row stride outp; a layer
 * only reads the first `in` (real) values of each row, so whatever the padding holds never matters.
 *
 * Kernels: a register block is S samples (8, 4, 2 or 1) times C vectors of L outputs (C = 1, 2, 4 or 8): S*C
 * accumulators start at the bias, and every input i adds x[s][i] * wt[i][block] (one broadcast, C loads, S*C FMAs).
 * Blocks with fewer than 8 accumulators split the inputs over U = 8 / (S*C) partial sums, so that 8 independent
 * FMA chains always cover the FMA latency; the partial sums are added at the end. ReLU and LeakyReLU are fused into
 * the store; hidden Tanh/Sigmoid are applied to the stored rows by the set's vector tanh / sigmoid, a head's final
 * softmax or log-softmax to its scratch rows, its final tanh / sigmoid to the caller's rows (the same vector code);
 * non-finite softmax rows follow nn_softmax_row / nn_logsoftmax_row (src/nn/nn_ops.h). A batch goes
 * through in chunks of CPU_PLAN_CHUNK samples (trunk, then each head, all in scratch that stays in L1/L2); a chunk
 * of n samples is cut into tiles of 8, 4, 2 and 1 samples, so a short tail costs its own samples only, and a
 * layer's outp/L vectors into blocks of the widest C the tile size has.
 *
 * Narrow outputs: a layer's last out % L columns, when they fill less than half a vector (a value head's single
 * output; the 9th of a policy head with 8 lanes), would waste most lanes of a padded vector (7 of 8 for one output),
 * so they are dot products instead: W's own rows [rem][in] against each sample's row, L dot products (tasks
 * sample x column) at a time in L accumulators, then one transpose-and-add tree that leaves task t's sum in lane t
 * (HSUM), bias and ReLU fused; one column shares its weight row between L samples; at most L / 2 tasks left over
 * run one by one. A head of only such columns writes compact rows, so its sigmoid runs on whole vectors too.
 * Measured (AVX2, Zen 3, 81-64-1 on game positions, old / new kernels interleaved in one process): 161-174 ->
 * 126-130 ns per sample from batch 8 on, 288 -> 214 ns at batch 1; 81-128-9 3-7% faster. With the table-driven
 * non-zero lists and one sparse-kernel call per chunk: 0.67-0.70x the old time per sample from batch 8 on, 0.74x
 * at batch 1 (81-128-9: 0.88-0.92x, 0.96x at batch 1). What is left is mostly the sparse first layer (two thirds
 * of the time at batch 1024): about 10 loads per non-zero input (8 weight vectors, the broadcast, the index), which
 * this core sustains at about 1.5 vector loads per cycle; adding the rows of inputs equal to 1 without the multiply
 * (no broadcast) was measured no faster, and sharing weight loads between samples over the union of their
 * non-zero inputs needs more FMAs than it saves loads (union of 2 consecutive positions: 37 of 81 inputs).
 *
 * The sparse first layer: a layer that reads the network input can instead take, per sample, the list of its
 * non-zero inputs and add only those rows of wt (a 1-sample block of up to 8 vectors, no reuse of a weight row
 * between samples, where the dense tiles reuse it up to 8 times). A chunk runs it when its share of non-zero
 * inputs is below a threshold by kernel set, width of that layer and chunk size (DENSITY_* below), measured on
 * this machine (2-core AMD EPYC Zen 5, gcc 12 -O2) with `test_cpu_kernels --bench-sparse`: 81-H-9 ReLU/softmax,
 * inputs 1.0 at random places with the given density, p50 of thread CPU time. Sparse / dense time per sample
 * (AVX-512; dense per sample: H=32 75-130 ns, 64 110-165, 128 170-310, 256 285-950 ns, the higher at batch 1):
 *   density          0.1   0.2   0.3   0.4   0.5   0.6   0.7   0.8   0.9   1.0
 *   H=32  batch 1    0.89  0.94  0.87  1.00  1.02  1.08  1.09  1.11  1.19  1.22
 *   H=32  batch 256  0.96  1.01  1.18  1.13  1.19  1.27  1.47  1.41  1.59  1.66   (4..256 alike)
 *   H=64  batch 1    0.77  0.82  0.82  0.91  0.93  1.01  1.02  1.04  1.13  1.18   (2 alike)
 *   H=64  batch 256  0.75  0.81  0.95  1.02  1.08  1.17  1.30  1.30  1.51  1.44   (4..256 alike)
 *   H=128 batch 1    0.47  0.55  0.52  0.62  0.63  0.70  0.76  0.79  0.90  1.18
 *   H=128 batch 2    0.55  0.59  0.63  0.73  0.86  0.90  0.96  0.97  1.15  1.35
 *   H=128 batch 256  0.66  0.75  0.83  0.96  1.01  1.26  1.18  1.31  1.35  1.48   (4..256 alike)
 *   H=256 batch 1    0.22  0.25  0.26  0.37  0.42  0.65  0.74  0.82  0.94  1.03
 *   H=256 batch 2    0.36  0.41  0.46  0.62  0.91  0.89  1.21  1.35  1.59  1.75
 *   H=256 batch 256  0.56  0.67  0.83  0.98  1.24  1.63  2.33  2.57  2.88  3.02   (4..256 alike)
 * With AVX2 (2-core AMD EPYC Zen 3, dense 6x2 tiles on panels from 6 samples on) sparse wins up to ~0.65 (H=32)
 * and ~0.85 (H>=64) at batch 1, ~0.4-0.5 at 2-5 samples and ~0.3 (H=32), 0.5 (H=64), 0.4 (H>=128) from 6 on;
 * with the portable set up to ~0.8-0.9 everywhere. Game positions have 27% (board encoding) and 32% (hands, at
 * most 35%) non-zero inputs: 0.8x the dense time for the default 81-128-9 policy from 4 samples on, 0.55x at 1.
 * Non-finite weights in such a layer turn the sparse path off (0 * Inf is NaN in the dense sum, skipped here).
 *
 * Instruction sets: the kernels are compiled three times, for x86-64-v4 (AVX-512, 16 lanes, 32 registers: blocks
 * up to 8x2 and 4x4), x86-64-v3 (AVX2+FMA, 8 lanes, 16 registers: blocks up to 8x1 and 4x2) and with portable
 * 4-lane vectors (SSE2 on x86-64, NEON elsewhere); cpu_plan_create picks the best the CPU has, unless the
 * environment caps it (cpu_kernels.h). The kernels allow FMA contraction. */
#include "backend/cpu_kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu_vec.h"
#include "nn/nn_ops.h"
#include "util/threadpool.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define K_X86 1
#define K_ATTR_V4 __attribute__((target("arch=x86-64-v4"), optimize("fp-contract=fast")))
#define K_ATTR_V3 __attribute__((target("arch=x86-64-v3"), optimize("fp-contract=fast")))
#define K_BASE_NOTE " (SSE2, x86-64 baseline)"
#else
#define K_BASE_NOTE ""
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define K_ATTR_BASE __attribute__((optimize("fp-contract=fast")))
#else
#define K_ATTR_BASE
#endif

/* Shares of non-zero inputs below which a chunk runs the sparse first layer, by kernel set (measured: see the table
 * above): [layer width <= 32, <= 64, more][chunk of 1 sample, fewer than the tallest panel tile, more]. */
#define DENSITY_AVX512 {{0.3, 0.35, 0.2}, {0.55, 0.55, 0.35}, {0.85, 0.6, 0.4}}
#define DENSITY_AVX2 {{0.65, 0.4, 0.3}, {0.85, 0.5, 0.5}, {0.85, 0.5, 0.4}}
#define DENSITY_PORTABLE {{0.8, 0.8, 0.8}, {0.85, 0.85, 0.85}, {0.85, 0.8, 0.8}}
/* Inputs wider than this never run sparse (the per-chunk index lists would be large). */
enum { SPARSE_MAX_IN = 65536 };

/* Activations fused into the kernels' stores. */
enum { KACT_NONE = 0, KACT_RELU = 1, KACT_LEAKY = 2 };

/* ---- kernels ---- */

#define UNROLL _Pragma("GCC unroll 16")

/* Fused activation of vector v (integer vector type VI of the same shape) before it is stored. */
#define FUSED_ACT(V, VI, v, act, alpha)                                                                            \
    do {                                                                                                           \
        if ((act) == KACT_RELU) {                                                                                  \
            (v) = (V)((VI)(v) & (VI)((v) > (V){0}));                                                               \
        } else if ((act) == KACT_LEAKY) {                                                                          \
            VI m_ = (VI)((v) > (V){0});                                                                            \
            (v) = (V)(((VI)(v) & m_) | ((VI)((v) * (alpha)) & ~m_));                                               \
        }                                                                                                          \
    } while (0)

/* acc[C] = bias; acc_u[C] = 0 for the partial sums u = 1..U-1 (the S dimension is handled by the caller). */
#define ACC_INIT(V, L, S, C, U, acc, bias)                                                                         \
    UNROLL for (int c = 0; c < (C); c++) {                                                                         \
        V b_;                                                                                                      \
        LDV(b_, (bias) + c * (L));                                                                                 \
        UNROLL for (int s = 0; s < (S); s++) {                                                                     \
            acc[0][s][c] = b_;                                                                                     \
            UNROLL for (int u = 1; u < (U); u++) acc[u][s][c] = (V){0};                                            \
        }                                                                                                          \
    }

/* Partial sums added into acc[0], activation fused, stored to y + s*ys + c*L. */
#define ACC_STORE(V, VI, L, S, C, U, acc, y, ys, act, alpha)                                                       \
    UNROLL for (int s = 0; s < (S); s++) UNROLL for (int c = 0; c < (C); c++) {                                   \
        UNROLL for (int u = 1; u < (U); u++) acc[0][s][c] += acc[u][s][c];                                        \
        FUSED_ACT(V, VI, acc[0][s][c], act, alpha);                                                                \
        STV((y) + (size_t)s * (ys) + c * (L), acc[0][s][c]);                                                      \
    }

/* One input row i: A[s][c] += x[s][i] * wt[i][c-th vector] for S samples (row stride xs). */
#define DENSE_STEP(V, L, S, C, A, i)                                                                               \
    do {                                                                                                           \
        const float *wr_ = w + (size_t)(i) * ws;                                                                   \
        V wv_[C];                                                                                                  \
        UNROLL for (int c = 0; c < (C); c++) LDV(wv_[c], wr_ + c * (L));                                           \
        UNROLL for (int s = 0; s < (S); s++) {                                                                     \
            const float xv_ = x[(size_t)s * xs + (i)];                                                             \
            UNROLL for (int c = 0; c < (C); c++) A[s][c] += xv_ * wv_[c];                                          \
        }                                                                                                          \
    } while (0)

/* y[s][0 .. C*L) = act(bias + sum_{i < K} x[s][i] wt[i][0 .. C*L)) for s < S; w points at the block's first
 * column of wt (row stride ws). */
#define DENSE_KERNEL(NAME, ATTR, V, VI, L, S, C, U)                                                                \
    ATTR static void NAME(const float *x, size_t xs, int K, const float *w, size_t ws, const float *bias,          \
                          float *y, size_t ys, int act, float alpha) {                                             \
        V acc[U][S][C];                                                                                            \
        ACC_INIT(V, L, S, C, U, acc, bias)                                                                         \
        int i = 0;                                                                                                 \
        for (; i + (U) <= K; i += (U)) UNROLL for (int u = 0; u < (U); u++) DENSE_STEP(V, L, S, C, acc[u], i + u); \
        for (; i < K; i++) DENSE_STEP(V, L, S, C, acc[0], i);                                                      \
        ACC_STORE(V, VI, L, S, C, U, acc, y, ys, act, alpha)                                                       \
    }

/* One non-zero input i of the sample: A[0][c] += x[i] * wt[i][c-th vector]. */
#define SPARSE_STEP(V, L, C, A, i)                                                                                 \
    do {                                                                                                           \
        const int i_ = (i);                                                                                        \
        const float *wr_ = w + (size_t)i_ * ws, xv_ = x[i_];                                                       \
        UNROLL for (int c = 0; c < (C); c++) {                                                                     \
            V wv_;                                                                                                 \
            LDV(wv_, wr_ + c * (L));                                                                               \
            A[0][c] += xv_ * wv_;                                                                                  \
        }                                                                                                          \
    } while (0)

/* n samples, one after the other: y[s][0 .. C*L) = act(bias + sum_k x[s][idx[s][k]] wt[idx[s][k]][0 .. C*L)) over
 * the nnz[s] non-zero inputs of sample s (row strides xs, is, ys). */
#define SPARSE_KERNEL(NAME, ATTR, V, VI, L, C, U)                                                                  \
    ATTR static void NAME(const float *x, size_t xs, const int *idx_, size_t is, const int *nnz_, int n,          \
                          const float *w, size_t ws, const float *bias, float *y, size_t ys, int act,            \
                          float alpha) {                                                                           \
        for (int s_ = 0; s_ < n; s_++, x += xs, idx_ += is, y += ys) {                                             \
            const int *idx = idx_, nnz = nnz_[s_];                                                                 \
            V acc[U][1][C];                                                                                        \
            ACC_INIT(V, L, 1, C, U, acc, bias)                                                                     \
            int k = 0;                                                                                             \
            for (; k + (U) <= nnz; k += (U))                                                                       \
                UNROLL for (int u = 0; u < (U); u++) SPARSE_STEP(V, L, C, acc[u], idx[k + u]);                     \
            for (; k < nnz; k++) SPARSE_STEP(V, L, C, acc[0], idx[k]);                                             \
            ACC_STORE(V, VI, L, 1, C, U, acc, y, 0, act, alpha)                                                    \
        }                                                                                                          \
    }


/* Outputs narrower than a vector (a layer's last out % L columns, e.g. a value head's single output): L dot
 * products at once, lane t of the result for task t: y[0 .. L) = act(bias[t] + sum_{i < K} xp[t][i] * wq[t][i])
 * (wq[0] for every task when W1: one output column, L samples), U partial sums per task so that 8 FMA chains
 * cover the latency, the L sums added across lanes at the end; the last K % L inputs in scalar. */
#define NARROW_KERNEL(NAME, ATTR, V, VI, L, U, W1)                                                                 \
    ATTR static void NAME(const float *const *xp, const float *const *wq, int K, const float *bias, float *y,     \
                          int act, float alpha) {                                                                  \
        V acc[U][L];                                                                                               \
        UNROLL for (int u = 0; u < (U); u++) UNROLL for (int t = 0; t < (L); t++) acc[u][t] = (V){0};             \
        const float *xr[L], *wr[L];                                                                                \
        UNROLL for (int t = 0; t < (L); t++) xr[t] = xp[t], wr[t] = wq[(W1) ? 0 : t];                              \
        int i = 0;                                                                                                 \
        for (; i + (U) * (L) <= K; i += (U) * (L))                                                                 \
            UNROLL for (int u = 0; u < (U); u++) {                                                                 \
                V wv_;                                                                                             \
                if (W1) LDV(wv_, wr[0] + i + u * (L));                                                             \
                UNROLL for (int t = 0; t < (L); t++) {                                                             \
                    V xv_, wt_;                                                                                    \
                    LDV(xv_, xr[t] + i + u * (L));                                                                 \
                    if (W1) wt_ = wv_;                                                                             \
                    else LDV(wt_, wr[t] + i + u * (L));                                                            \
                    acc[u][t] += xv_ * wt_;                                                                        \
                }                                                                                                  \
            }                                                                                                      \
        for (; i + (L) <= K; i += (L))                                                                             \
            UNROLL for (int t = 0; t < (L); t++) {                                                                 \
                V xv_, wt_;                                                                                        \
                LDV(xv_, xr[t] + i);                                                                               \
                LDV(wt_, wr[t] + i);                                                                               \
                acc[0][t] += xv_ * wt_;                                                                            \
            }                                                                                                      \
        UNROLL for (int u = 1; u < (U); u++) UNROLL for (int t = 0; t < (L); t++) acc[0][t] += acc[u][t];         \
        V r = HSUM(L, acc[0]), b_;                                                                                 \
        for (; i < K; i++) UNROLL for (int t = 0; t < (L); t++) r[t] += xr[t][i] * wr[t][i];                       \
        LDV(b_, bias);                                                                                             \
        r += b_;                                                                                                   \
        FUSED_ACT(V, VI, r, act, alpha);                                                                           \
        STV(y, r);                                                                                                 \
    }

/* One dot product of the same kind: *y = act(bias + sum_{i < K} x[i] w[i]), 4 vectors of partial sums. */
#define NARROW1_KERNEL(NAME, ATTR, V, VI, L)                                                                       \
    ATTR static void NAME(const float *x, const float *w, int K, float bias, float *y, int act, float alpha) {    \
        V acc[4] = {{0}};                                                                                          \
        int i = 0;                                                                                                 \
        for (; i + 4 * (L) <= K; i += 4 * (L))                                                                     \
            UNROLL for (int u = 0; u < 4; u++) {                                                                   \
                V xv_, wv_;                                                                                        \
                LDV(xv_, x + i + u * (L));                                                                         \
                LDV(wv_, w + i + u * (L));                                                                         \
                acc[u] += xv_ * wv_;                                                                               \
            }                                                                                                      \
        for (; i + (L) <= K; i += (L)) {                                                                           \
            V xv_, wv_;                                                                                            \
            LDV(xv_, x + i);                                                                                       \
            LDV(wv_, w + i);                                                                                       \
            acc[0] += xv_ * wv_;                                                                                   \
        }                                                                                                          \
        V v = (acc[0] + acc[1]) + (acc[2] + acc[3]);                                                               \
        float r = HFOLD(L, v);                                                                                     \
        for (; i < K; i++) r += x[i] * w[i];                                                                       \
        r += bias;                                                                                                 \
        if (act == KACT_RELU) r = r > 0 ? r : 0;                                                                   \
        else if (act == KACT_LEAKY) r = r > 0 ? r : r * alpha;                                                     \
        *y = r;                                                                                                    \
    }

typedef void (*dense_fn)(const float *x, size_t xs, int K, const float *w, size_t ws, const float *bias, float *y,
                         size_t ys, int act, float alpha);
typedef void (*sparse_fn)(const float *x, size_t xs, const int *idx, size_t is, const int *nnz, int n,
                          const float *w, size_t ws, const float *bias, float *y, size_t ys, int act, float alpha);
typedef void (*narrow_fn)(const float *const *xp, const float *const *wq, int K, const float *bias, float *y,
                          int act, float alpha);
typedef void (*narrow1_fn)(const float *x, const float *w, int K, float bias, float *y, int act, float alpha);
/* Writes the indices of the non-zero x[0 .. in) (NaN counts as non-zero) in increasing order to idx and returns
 * how many; may write up to NZ_SLACK ints past the last one written. */
typedef int (*nzlist_fn)(const float *x, int in, int *idx);
/* Non-zero floats in x[0 .. n) (NaN counts as non-zero). */
typedef size_t (*count_fn)(const float *x, size_t n);
enum { NZ_SLACK = 16 };

/* The panel kernels of one tile height: S samples times C = 1 or 2 vectors (f[C - 1]). */
typedef struct {
    int S;
    dense_fn f[2];
} panel_tile;
enum { PANEL_C = 2, MAX_PANEL_TILES = 5 };

/* One instruction set's kernels: dense[log2 S][log2 C] for the row layout (NULL where that block is not built;
 * C = 1 always is), the panel tiles (tallest first, ending with S = 1), sparse[log2 C] and the non-zero list
 * builder. */
typedef struct {
    const char *name;
    int lanes;
    dense_fn dense[4][4];
    panel_tile tile[MAX_PANEL_TILES];
    sparse_fn sparse[4];
    nzlist_fn nzlist;
    count_fn count;
    narrow_fn narrow[2];  /* L dot products: any tasks, one weight row for all (one column, L samples) */
    narrow1_fn narrow1;   /* one dot product */
    void (*softmax_rows)(float *y, int n, int w, size_t ws, int lg); /* final (log-)softmax on scratch rows */
    void (*elem_tanh)(float *y, size_t n);                   /* tanh / sigmoid of n floats in place */
    void (*elem_sigmoid)(float *y, size_t n);
    float density[3][3]; /* DENSITY_* */
} kernel_set;

/* Non-zero count, L floats at a time: each compare gives -1 in the lanes that are not 0. */
#define COUNT_KERNEL(NAME, ATTR, V, VI, L)                                                                         \
    ATTR static size_t NAME(const float *x, size_t n) {                                                            \
        VI acc = {0};                                                                                              \
        size_t i = 0, c = 0;                                                                                       \
        for (; i + (L) <= n; i += (L)) {                                                                           \
            V v;                                                                                                   \
            LDV(v, x + i);                                                                                         \
            acc -= (VI)(v != (V){0});                                                                              \
        }                                                                                                          \
        for (; i < n; i++) c += x[i] != 0.0f;                                                                      \
        UNROLL for (int l = 0; l < (L); l++) c += (size_t)acc[l];                                                  \
        return c;                                                                                                  \
    }

/* Lane numbers, for masks of the lanes below a count. */
static const int k_iota[16] __attribute__((aligned(64))) = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* x with the lanes below lo set to lo and those above hi to hi (NaN lanes unchanged: both compares are false). */
#define VCLAMP(V, VI, x, lo, hi)                                                                                   \
    ({                                                                                                             \
        VI lm_ = (VI)((x) < (V){0} + (lo)), hm_ = (VI)((x) > (V){0} + (hi));                                      \
        V c_ = (V)(((VI)(x) & ~lm_) | ((VI)((V){0} + (lo)) & lm_));                                                \
        (V)(((VI)c_ & ~hm_) | ((VI)((V){0} + (hi)) & hm_));                                                        \
    })

/* exp on each lane (Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial for e^r, 2^n from the
 * exponent bits; relative error about 2e-7). Lanes below -87.3 give about 1e-38 (e^-87.3), above 88.3 about 2e38;
 * NaN stays NaN. */
#define VEXP(V, VI, x_)                                                                                            \
    ({                                                                                                             \
        V x = VCLAMP(V, VI, (x_), -87.3f, 88.3f);                                                                  \
        V t = x * 1.44269504088896341f + 12582912.0f, n = t - 12582912.0f;                                        \
        V r = x - n * 0.693359375f - n * -2.12194440e-4f;                                                          \
        V q = r * 1.9875691500e-4f + 1.3981999507e-3f;                                                             \
        q = q * r + 8.3334519073e-3f;                                                                              \
        q = q * r + 4.1665795894e-2f;                                                                              \
        q = q * r + 1.6666665459e-1f;                                                                              \
        q = q * r + 5.0000001201e-1f;                                                                              \
        q = q * r * r + r + 1.0f;                                                                                  \
        q * (V)((((VI)t - 0x4B400000) + 127) << 23);                                                               \
    })

/* tanh on each lane: Eigen's rational approximation (x times a degree-6 polynomial in x^2 over a degree-3 one, x
 * clamped to +-7.9053, where tanh is 1 to float precision; a few ulp). NaN stays NaN, +-Inf gives +-1. */
#define VTANH(V, VI, x_)                                                                                           \
    ({                                                                                                             \
        V x = VCLAMP(V, VI, (x_), -7.90531110763549805f, 7.90531110763549805f);                                    \
        V x2 = x * x;                                                                                              \
        V p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;                                                 \
        p = p * x2 + -8.60467152213735e-11f;                                                                       \
        p = p * x2 + 5.12229709037114e-08f;                                                                        \
        p = p * x2 + 1.48572235717979e-05f;                                                                        \
        p = p * x2 + 6.37261928875436e-04f;                                                                        \
        p = p * x2 + 4.89352455891786e-03f;                                                                        \
        V q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;                                                  \
        q = q * x2 + 2.26843463243900e-03f;                                                                        \
        q = q * x2 + 4.89352518554385e-03f;                                                                        \
        x * p / q;                                                                                                 \
    })

/* y[i] = EXPR(v) for the n floats at y, L at a time (v: the vector of them), the tail through a zeroed vector. */
#define ELEM_LOOP(V, L, y, n, EXPR)                                                                                \
    do {                                                                                                           \
        size_t i_ = 0;                                                                                             \
        for (; i_ + (L) <= (n); i_ += (L)) {                                                                       \
            V v;                                                                                                   \
            LDV(v, (y) + i_);                                                                                      \
            v = EXPR;                                                                                              \
            STV((y) + i_, v);                                                                                      \
        }                                                                                                          \
        if (i_ < (n)) {                                                                                            \
            V v = {0};                                                                                             \
            memcpy(&v, (y) + i_, sizeof(float) * ((n) - i_));                                                      \
            v = EXPR;                                                                                              \
            memcpy((y) + i_, &v, sizeof(float) * ((n) - i_));                                                      \
        }                                                                                                          \
    } while (0)

/* A head's final softmax (lg = 0) or log-softmax (lg = 1) on rows of the scratch (row stride ws, a multiple of L;
 * width w of them real: the lanes past it are masked out of the sum); rows with a non-finite value go to
 * nn_softmax_row / nn_logsoftmax_row (the reference's rules for Inf and NaN). Tanh and sigmoid on the n floats
 * y[0 .. n), in place. */
#define HEAD_ACT_KERNELS(P, ATTR, V, VI, L)                                                                        \
    ATTR static void P##_softmax_rows(float *y, int n, int w, size_t ws, int lg) {                                 \
        VI io;                                                                                                     \
        LDV(io, k_iota);                                                                                           \
        for (int s = 0; s < n; s++) {                                                                              \
            float *z = y + (size_t)s * ws, mx = z[0];                                                              \
            int finite = 1;                                                                                        \
            for (int k = 0; k < w; k++) {                                                                          \
                finite &= isfinite(z[k]) != 0;                                                                     \
                mx = z[k] > mx ? z[k] : mx;                                                                        \
            }                                                                                                      \
            if (!finite) {                                                                                         \
                if (lg) nn_logsoftmax_row(z, w);                                                                   \
                else nn_softmax_row(z, w);                                                                         \
                continue;                                                                                          \
            }                                                                                                      \
            V acc = {0};                                                                                           \
            for (int k = 0; k < w; k += (L)) {                                                                     \
                V v;                                                                                               \
                LDV(v, z + k);                                                                                     \
                v = (V)((VI)VEXP(V, VI, v - mx) & (VI)(io < (VI){0} + (w - k)));                                  \
                acc += v;                                                                                          \
                if (!lg) STV(z + k, v);                                                                            \
            }                                                                                                      \
            const float sum = HFOLD(L, acc), shift = mx + logf(sum), inv = 1.0f / sum;                             \
            for (int k = 0; k < w; k += (L)) {                                                                     \
                V v;                                                                                               \
                LDV(v, z + k);                                                                                     \
                v = lg ? v - shift : v * inv;                                                                      \
                STV(z + k, v);                                                                                     \
            }                                                                                                      \
        }                                                                                                          \
    }                                                                                                              \
    ATTR static void P##_elem_tanh(float *y, size_t n) { ELEM_LOOP(V, L, y, n, VTANH(V, VI, v)); }                \
    ATTR static void P##_elem_sigmoid(float *y, size_t n) {                                                        \
        ELEM_LOOP(V, L, y, n, 1.0f / (1.0f + VEXP(V, VI, -v)));                                                    \
    }

/* The blocks every set has: S x C = 8x1, 4x1, 4x2, 2x1, 2x2, 2x4, 1x1, 1x2, 1x4, 1x8, sparse 1, 2, 4, 8, and the
 * narrow-output dot products. */
#define KERNELS_COMMON(P, ATTR, V, VI, L)                                                                          \
    DENSE_KERNEL(P##_d8x1, ATTR, V, VI, L, 8, 1, 1)                                                                \
    DENSE_KERNEL(P##_d4x1, ATTR, V, VI, L, 4, 1, 2)                                                                \
    DENSE_KERNEL(P##_d4x2, ATTR, V, VI, L, 4, 2, 1)                                                                \
    DENSE_KERNEL(P##_d2x1, ATTR, V, VI, L, 2, 1, 4)                                                                \
    DENSE_KERNEL(P##_d2x2, ATTR, V, VI, L, 2, 2, 2)                                                                \
    DENSE_KERNEL(P##_d2x4, ATTR, V, VI, L, 2, 4, 1)                                                                \
    DENSE_KERNEL(P##_d1x1, ATTR, V, VI, L, 1, 1, 8)                                                                \
    DENSE_KERNEL(P##_d1x2, ATTR, V, VI, L, 1, 2, 4)                                                                \
    DENSE_KERNEL(P##_d1x4, ATTR, V, VI, L, 1, 4, 2)                                                                \
    DENSE_KERNEL(P##_d1x8, ATTR, V, VI, L, 1, 8, 1)                                                                \
    SPARSE_KERNEL(P##_s1, ATTR, V, VI, L, 1, 8)                                                                    \
    SPARSE_KERNEL(P##_s2, ATTR, V, VI, L, 2, 4)                                                                    \
    SPARSE_KERNEL(P##_s4, ATTR, V, VI, L, 4, 2)                                                                    \
    SPARSE_KERNEL(P##_s8, ATTR, V, VI, L, 8, 1)                                                                    \
    COUNT_KERNEL(P##_count, ATTR, V, VI, L)                                                                        \
    NARROW_KERNEL(P##_narrow, ATTR, V, VI, L, (L) >= 8 ? 1 : 2, 0)                                                 \
    NARROW_KERNEL(P##_narrow_w1, ATTR, V, VI, L, (L) >= 8 ? 1 : 2, 1)                                              \
    NARROW1_KERNEL(P##_narrow1, ATTR, V, VI, L)                                                                    \
    HEAD_ACT_KERNELS(P, ATTR, V, VI, L)

/* The table of one set; D8X2 and D4X4 are the wider blocks of a 32-register set, or NULL; TOP is the tallest
 * panel tiles ({S, {Sx1, Sx2}}, ...) above 4, 2 and 1 samples. */
#define KERNEL_TABLE(P, NAME, L, D8X2, D4X4, DENSITY, ...)                                                         \
    static const kernel_set P##_set = {                                                                            \
        .name = NAME,                                                                                              \
        .lanes = L,                                                                                                \
        .dense = {{P##_d1x1, P##_d1x2, P##_d1x4, P##_d1x8},                                                        \
                  {P##_d2x1, P##_d2x2, P##_d2x4, NULL},                                                            \
                  {P##_d4x1, P##_d4x2, D4X4, NULL},                                                                \
                  {P##_d8x1, D8X2, NULL, NULL}},                                                                   \
        .tile = {__VA_ARGS__, {4, {P##_d4x1, P##_d4x2}}, {2, {P##_d2x1, P##_d2x2}}, {1, {P##_d1x1, P##_d1x2}}},   \
        .sparse = {P##_s1, P##_s2, P##_s4, P##_s8},                                                                \
        .nzlist = P##_nzlist,                                                                                      \
        .count = P##_count,                                                                                        \
        .narrow = {P##_narrow, P##_narrow_w1},                                                                     \
        .narrow1 = P##_narrow1,                                                                                    \
        .softmax_rows = P##_softmax_rows,                                                                          \
        .elem_tanh = P##_elem_tanh,                                                                                \
        .elem_sigmoid = P##_elem_sigmoid,                                                                          \
        .density = DENSITY,                                                                                        \
    };

/* ---- non-zero lists (measured, 81 inputs a third non-zero, best of 20 x 20k samples in one run: 44 ns per sample
 * for a branch-free scalar loop, 20 ns for SSE2 movemask + bit scan, 14 ns with the lookup table below (SSE2),
 * 13 ns with BMI2 pext (AVX2; on the Zen 3 machine 18-19 ns against 14-15 ns for the 8-input table below, in a
 * standalone loop over 1024 game positions), 9 ns with AVX-512 compress-store) ---- */

/* The scalar loop (the tails, and the portable set off x86). */
static int nzlist_scalar(const float *x, int in, int *idx, int i, int k) {
    for (; i < in; i++) {
        idx[k] = i;
        k += x[i] != 0.0f;
    }
    return k;
}

#ifdef K_X86
/* SSE2: for each 4-input mask, 4 indices from a table (the first popcount of them are the non-zero ones). */
static int kb_nzlist(const float *x, int in, int *idx) {
    static const int lut[16][4] = {{0}, {0}, {1}, {0, 1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}, {3}, {0, 3}, {1, 3},
                                   {0, 1, 3}, {2, 3}, {0, 2, 3}, {1, 2, 3}, {0, 1, 2, 3}};
    static const int cnt[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    int i = 0, k = 0;
    for (; i + 4 <= in; i += 4) {
        int m = _mm_movemask_ps(_mm_cmpneq_ps(_mm_loadu_ps(x + i), _mm_setzero_ps()));
        __m128i v = _mm_add_epi32(_mm_loadu_si128((const __m128i *)lut[m]), _mm_set1_epi32(i));
        _mm_storeu_si128((__m128i *)(idx + k), v);
        k += cnt[m];
    }
    return nzlist_scalar(x, in, idx, i, k);
}

/* For each 8-input mask m, the positions of its set bits packed in bytes (lowest first): a compile-time table
 * (2 KB; bit b of m lands in byte popcount(m & (2^b - 1))). */
#define NZ_POP8(v) (((v) & 1) + ((v) >> 1 & 1) + ((v) >> 2 & 1) + ((v) >> 3 & 1) + ((v) >> 4 & 1) + ((v) >> 5 & 1) + \
                    ((v) >> 6 & 1) + ((v) >> 7 & 1))
#define NZ_BIT(m, b) (((m) >> (b) & 1ull) * ((uint64_t)(b) << (8 * NZ_POP8((m) & ((1u << (b)) - 1)))))
#define NZ_ENT(m) (NZ_BIT(m, 0) | NZ_BIT(m, 1) | NZ_BIT(m, 2) | NZ_BIT(m, 3) | NZ_BIT(m, 4) | NZ_BIT(m, 5) |       \
                   NZ_BIT(m, 6) | NZ_BIT(m, 7))
#define NZ_R4(m) NZ_ENT(m), NZ_ENT((m) + 1), NZ_ENT((m) + 2), NZ_ENT((m) + 3)
#define NZ_R16(m) NZ_R4(m), NZ_R4((m) + 4), NZ_R4((m) + 8), NZ_R4((m) + 12)
#define NZ_R64(m) NZ_R16(m), NZ_R16((m) + 16), NZ_R16((m) + 32), NZ_R16((m) + 48)
static const uint64_t nz_lut8[256] = {NZ_R64(0u), NZ_R64(64u), NZ_R64(128u), NZ_R64(192u)};

/* AVX2: the 8-input mask's byte indices from the table, widened to ints and offset (measured 81 inputs a third
 * non-zero: 14-15 ns per sample, 18-19 with BMI2 pdep/pext packing the same bytes: the table has no chain of
 * 3-cycle steps). */
K_ATTR_V3 static int k3_nzlist(const float *x, int in, int *idx) {
    int i = 0, k = 0;
    __m256i base = _mm256_setzero_si256();
    const __m256i eight = _mm256_set1_epi32(8);
    for (; i + 8 <= in; i += 8) {
        __m256 ne = _mm256_cmp_ps(_mm256_loadu_ps(x + i), _mm256_setzero_ps(), _CMP_NEQ_UQ);
        unsigned m = (unsigned)_mm256_movemask_ps(ne);
        __m256i v = _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&nz_lut8[m])), base);
        _mm256_storeu_si256((__m256i *)(idx + k), v);
        k += __builtin_popcount(m);
        base = _mm256_add_epi32(base, eight);
    }
    return nzlist_scalar(x, in, idx, i, k);
}

/* AVX-512: compress-store of the indices of the set lanes, 16 inputs at a time (masked load for the tail). */
K_ATTR_V4 static int k4_nzlist(const float *x, int in, int *idx) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int k = 0;
    for (int i = 0; i < in; i += 16) {
        __mmask16 lm = in - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (in - i)) - 1);
        __mmask16 m = _mm512_mask_cmp_ps_mask(lm, _mm512_maskz_loadu_ps(lm, x + i), _mm512_setzero_ps(), _CMP_NEQ_UQ);
        _mm512_mask_compressstoreu_epi32(idx + k, m, _mm512_add_epi32(iota, _mm512_set1_epi32(i)));
        k += __builtin_popcount(m);
    }
    return k;
}
#else
static int kb_nzlist(const float *x, int in, int *idx) { return nzlist_scalar(x, in, idx, 0, 0); }
#endif

/* The 16-register sets' tallest panel tiles: 6 samples x 2 vectors = 12 accumulators, 2 weight vectors and a
 * broadcast (BLIS's Haswell block), and 6 x 1 in two partial sums. */
#define TILES_16_REGS(P, ATTR, V, VI, L)                                                                           \
    DENSE_KERNEL(P##_d6x1, ATTR, V, VI, L, 6, 1, 2)                                                                \
    DENSE_KERNEL(P##_d6x2, ATTR, V, VI, L, 6, 2, 1)

KERNELS_COMMON(kb, K_ATTR_BASE, v4f, v4i, 4)
TILES_16_REGS(kb, K_ATTR_BASE, v4f, v4i, 4)
KERNEL_TABLE(kb, "portable 4-lane vectors" K_BASE_NOTE, 4, NULL, NULL, DENSITY_PORTABLE, {6, {kb_d6x1, kb_d6x2}})
#ifdef K_X86
KERNELS_COMMON(k3, K_ATTR_V3, v8f, v8i, 8)
TILES_16_REGS(k3, K_ATTR_V3, v8f, v8i, 8)
KERNEL_TABLE(k3, "AVX2+FMA (x86-64-v3)", 8, NULL, NULL, DENSITY_AVX2, {6, {k3_d6x1, k3_d6x2}})
/* 32 registers: 12 x 2 = 24 accumulators + 2 weight vectors + a broadcast; then 8 x 2, 8 x 1. */
KERNELS_COMMON(k4, K_ATTR_V4, v16f, v16i, 16)
DENSE_KERNEL(k4_d8x2, K_ATTR_V4, v16f, v16i, 16, 8, 2, 1)
DENSE_KERNEL(k4_d4x4, K_ATTR_V4, v16f, v16i, 16, 4, 4, 1)
DENSE_KERNEL(k4_d12x1, K_ATTR_V4, v16f, v16i, 16, 12, 1, 1)
DENSE_KERNEL(k4_d12x2, K_ATTR_V4, v16f, v16i, 16, 12, 2, 1)
KERNEL_TABLE(k4, "AVX-512 (x86-64-v4)", 16, k4_d8x2, k4_d4x4, DENSITY_AVX512, {12, {k4_d12x1, k4_d12x2}},
             {8, {k4_d8x1, k4_d8x2}})
#endif

/* ---- the FMA throughput probe: 12 independent chains a = a * m + c (12 x L lanes x 2 flops per step), as many
 * as cover the FMA latency of every core we know (4 cycles x 2 pipes = 8); with the portable set the multiply and
 * the add are separate instructions (x86-64 baseline has no FMA), which is what its kernels get too. ---- */
#define FMA_PROBE(NAME, ATTR, V)                                                                                   \
    ATTR __attribute__((noinline)) static float NAME(long steps) {                                                \
        const V m = (V){0} + 0.999999f, c = (V){0} + 1e-7f;                                                        \
        V a[12];                                                                                                   \
        UNROLL for (int i = 0; i < 12; i++) a[i] = m + (float)i;                                                  \
        for (long k = 0; k < steps; k++) UNROLL for (int i = 0; i < 12; i++) a[i] = a[i] * m + c;                  \
        V t = a[0];                                                                                                \
        UNROLL for (int i = 1; i < 12; i++) t += a[i];                                                             \
        return t[0];                                                                                               \
    }
FMA_PROBE(kb_probe, K_ATTR_BASE, v4f)
#ifdef K_X86
FMA_PROBE(k3_probe, K_ATTR_V3, v8f)
FMA_PROBE(k4_probe, K_ATTR_V4, v16f)
#endif

/* Best of 5 runs of about ms milliseconds each (the first sizes the step count), in GFLOP/s. */
/* Steps of probe that take about ms milliseconds, from one untimed sizing run of 10000 steps. */
static long probe_steps(float (*probe)(long), double ms) {
    volatile float sink = 0;
    uint64_t t0 = nrps_now_ns();
    sink += probe(10000);
    double s = (double)(nrps_now_ns() - t0) * 1e-9;
    (void)sink;
    return s > 0 ? (long)(10000 * ms * 1e-3 / s) + 1 : 100000;
}

static double probe_gflops(float (*probe)(long), int lanes, double ms) {
    const long steps = probe_steps(probe, ms);
    double best = 0;
    volatile float sink = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = nrps_now_ns();
        sink += probe(steps);
        double s = (double)(nrps_now_ns() - t0) * 1e-9;
        double g = s > 0 ? 12.0 * lanes * 2 * steps / s * 1e-9 : 0;
        if (g > best) best = g;
    }
    (void)sink;
    return best;
}

/* The kernel sets this CPU runs and their probes, narrowest first; returns how many (1 to 3). */
static int cpu_probes(const kernel_set *sets[3], float (*probes[3])(long)) {
    int n = 1;
    sets[0] = &kb_set, probes[0] = kb_probe;
#ifdef K_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v3")) sets[n] = &k3_set, probes[n++] = k3_probe;
    if (__builtin_cpu_supports("x86-64-v4")) sets[n] = &k4_set, probes[n++] = k4_probe;
#endif
    return n;
}

int cpu_fma_peaks(cpu_peak *out, int max, double ms_each) {
    const kernel_set *sets[3];
    float (*probes[3])(long);
    const int n = cpu_probes(sets, probes);
    int k = 0;
    for (int i = n - 1; i >= 0 && k < max; i--, k++) {
        snprintf(out[k].isa, sizeof out[k].isa, "%s", sets[i]->name);
        out[k].lanes = sets[i]->lanes;
        out[k].gflops = probe_gflops(probes[i], sets[i]->lanes, ms_each);
    }
    return k;
}

/* The threads of cpu_fma_peak_threads: 5 runs of the probe each, run r started when go passes r (the caller raises
 * it once every thread has checked in for that run) and timed from that moment to each thread's end, so that a
 * thread which only got a CPU after another finished counts its wait. */
typedef struct {
    float (*probe)(long);
    long steps;
    atomic_int *ready, *go;
    uint64_t *t_go;
    double s[5];
} peak_job;

static void *peak_thread(void *arg) {
    peak_job *j = arg;
    volatile float sink = 0;
    for (int r = 0; r < 5; r++) {
        atomic_fetch_add(j->ready, 1);
        while (atomic_load(j->go) <= r) nrps_cpu_relax();
        sink += j->probe(j->steps);
        j->s[r] = (double)(nrps_now_ns() - j->t_go[r]) * 1e-9;
    }
    (void)sink;
    return NULL;
}

/* Runs jobs[0 .. n) (jobs[0] on the caller, the others on the threads already started) through their 5 runs. */
static void peak_runs(peak_job *jobs, int n, atomic_int *ready, atomic_int *go) {
    for (int r = 0; r < 5; r++) {
        while (atomic_load(ready) < (r + 1) * (n - 1)) nrps_cpu_relax();
        jobs[0].t_go[r] = nrps_now_ns(); /* before the release: the threads read it after they see go */
        atomic_store(go, r + 1);
        volatile float sink = jobs[0].probe(jobs[0].steps);
        (void)sink;
        jobs[0].s[r] = (double)(nrps_now_ns() - jobs[0].t_go[r]) * 1e-9;
    }
}

double cpu_fma_peak_threads(int threads, double ms) {
    enum { MAXT = 256 };
    const kernel_set *sets[3];
    float (*probes[3])(long);
    const int best = cpu_probes(sets, probes) - 1, lanes = sets[best]->lanes;
    float (*probe)(long) = probes[best];
    if (threads < 1 || threads > MAXT) return 0;
    if (threads == 1) return probe_gflops(probe, lanes, ms);
    const long steps = probe_steps(probe, ms);
    peak_job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    atomic_int ready = 0, go = 0;
    uint64_t t_go[5] = {0};
    int started = 1;
    for (int t = 0; jobs && tid && t < threads; t++) jobs[t] = (peak_job){probe, steps, &ready, &go, t_go, {0}};
    for (; jobs && tid && started < threads; started++)
        if (pthread_create(&tid[started], NULL, peak_thread, &jobs[started]) != 0) break;
    double agg = 0;
    if (jobs && tid) peak_runs(jobs, started, &ready, &go); /* with fewer threads if one could not start */
    for (int t = 1; t < started; t++) pthread_join(tid[t], NULL);
    for (int r = 0; started == threads && r < 5; r++) { /* a run: every thread's flops over the time to the last end */
        double slowest = 0;
        for (int t = 0; t < threads; t++) slowest = jobs[t].s[r] > slowest ? jobs[t].s[r] : slowest;
        double g = slowest > 0 ? threads * 12.0 * lanes * 2 * steps / slowest * 1e-9 : 0;
        agg = g > agg ? g : agg;
    }
    free(jobs);
    free(tid);
    return agg;
}

/* ---- the plan ---- */

typedef struct {
    int in, out, outp;  /* input width, output width, output width padded to the lanes */
    nn_act act;         /* the layer's activation */
    float alpha;
    int kact;           /* KACT_* fused into the kernels' stores */
    int post;           /* 1: hidden TANH/SIGMOID, applied by the set's vector tanh / sigmoid after the kernels */
    int head_end;       /* last layer of a head: its activation is applied by chunk_run */
    int sparse;         /* reads the network input and may run sparse */
    int nvec, rem;      /* run dense: vectors 0 .. nvec-1 by the vector kernels, the last rem columns (out - nvec L,
                           fewer than L) by the narrow-output dot products */
    float *wt, *b;      /* [in][outp], [outp] */
    float *wp;          /* columns 0 .. nvec L of wt in panels of PANEL_C vectors: panel q = [in][its width] */
    float *wn;          /* the last rem columns as rows: [rem][in] (W's own layout) */
} cpu_layer;

/* What one thread of a run writes: activations and non-zero lists of its current chunk, its chunk counters. */
typedef struct {
    float *buf[3];      /* activations: chunk rows of stride <= maxp each */
    int *nz, *nnz;      /* per chunk sample: its non-zero input indices [chunk][nzs] and their count [chunk] */
    long long sparse_chunks, dense_chunks;
} __attribute__((aligned(64))) cpu_scratch; /* one cache line each: threads do not share the counters' lines */

struct cpu_plan {
    nn_arch arch;
    int max_batch, chunk;
    const kernel_set *k;
    int sparse_mode;    /* SPARSE_NEVER, SPARSE_ALWAYS or SPARSE_AUTO */
    int narrow_mode;    /* NARROW_NEVER, NARROW_ALWAYS or NARROW_AUTO */
    cpu_layer layer[NN_MAX_LAYERS];
    int nzs;            /* in + NZ_SLACK */
    void *mem;          /* one allocation holding weights, scratch and lists */
    float density[3];   /* sparse below this share of non-zero inputs: chunks of 1, < tile[0].S, more samples */
    int threads, split_from; /* threads of the pool; batches of split_from samples and more use them */
    nrps_pool *pool;    /* NULL for one thread */
    cpu_scratch *scr;   /* [threads] */
    long long runs;
    /* the run in progress, for the pool's tasks */
    const float *run_x;
    float *const *run_y;
    int run_batch, run_tasks;
    char desc[512];
};

enum { SPARSE_NEVER = 0, SPARSE_ALWAYS = 1, SPARSE_AUTO = 2 };
enum { NARROW_NEVER = 0, NARROW_ALWAYS = 1, NARROW_AUTO = 2 };

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* The best kernel set the CPU runs, capped by NRPS_NO_AVX512 / NRPS_CPU_ISA. */
static nrps_status pick_kernels(const kernel_set **out) {
    int level = 0; /* 0 portable, 1 AVX2, 2 AVX-512 */
#ifdef K_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v3")) level = __builtin_cpu_supports("x86-64-v4") ? 2 : 1;
#endif
    if (env_set("NRPS_NO_AVX512") && level > 1) level = 1;
    const char *cap = getenv("NRPS_CPU_ISA");
    if (cap && *cap) {
        int c = !strcmp(cap, "avx512") ? 2 : !strcmp(cap, "avx2") ? 1 : !strcmp(cap, "baseline") ? 0 : -1;
        if (c < 0) {
            nrps_set_error("NRPS_CPU_ISA='%s': expected avx512, avx2 or baseline", cap);
            return NRPS_ERR_ARG;
        }
        if (level > c) level = c;
    }
    *out = &kb_set;
#ifdef K_X86
    if (level == 2) *out = &k4_set;
    else if (level == 1) *out = &k3_set;
#endif
    return NRPS_OK;
}

/* NRPS_CPU_SPARSE / NRPS_CPU_NARROW: 0 never, 1 always, unset by the rule (mode values as SPARSE_* / NARROW_*). */
static nrps_status pick_mode(const char *name, const char *rule, int *mode) {
    const char *v = getenv(name);
    *mode = SPARSE_AUTO;
    if (!v || !*v) return NRPS_OK;
    if (!strcmp(v, "0")) *mode = SPARSE_NEVER;
    else if (!strcmp(v, "1")) *mode = SPARSE_ALWAYS;
    else {
        nrps_set_error("%s='%s': expected 0 (never) or 1 (always); unset chooses %s", name, v, rule);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

static int reads_input(const nn_arch *a, int l) {
    if (l == 0) return 1;
    for (int h = 0; h < a->n_heads; h++)
        if (a->trunk == 0 && l == a->head[h].first) return 1;
    return 0;
}

static int is_head_end(const nn_arch *a, int l) {
    for (int h = 0; h < a->n_heads; h++)
        if (l == a->head[h].first + a->head[h].count - 1) return 1;
    return 0;
}

static int all_finite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* Floats of one layer's packed weights and biases (wt, wp, b, wn), rounded to 64 bytes. */
static size_t layer_floats(const cpu_layer *ly) {
    return (2 * (size_t)ly->in * ly->outp + ly->outp + (size_t)ly->rem * ly->in + 15) / 16 * 16;
}

/* Layer specs (no memory yet); returns the floats of packed weights + biases, each layer 64-byte aligned. */
static size_t plan_layers(cpu_plan *p, const nn_net *n) {
    const nn_arch *a = &p->arch;
    const int L = p->k->lanes;
    size_t floats = 0;
    for (int l = 0; l < a->n_layers; l++) {
        cpu_layer *ly = &p->layer[l];
        const nn_layer_spec *s = &a->layer[l];
        ly->in = nn_layer_in(a, l);
        ly->out = s->out;
        ly->outp = (s->out + L - 1) / L * L;
        ly->act = s->act;
        ly->alpha = s->alpha;
        ly->head_end = is_head_end(a, l);
        ly->kact = ly->head_end                   ? KACT_NONE
                   : s->act == NN_ACT_RELU       ? KACT_RELU
                   : s->act == NN_ACT_LEAKY_RELU ? KACT_LEAKY
                                                 : KACT_NONE;
        ly->post = !ly->head_end && (s->act == NN_ACT_TANH || s->act == NN_ACT_SIGMOID);
        ly->sparse = reads_input(a, l) && ly->in <= SPARSE_MAX_IN && p->sparse_mode != SPARSE_NEVER &&
                     all_finite(n->w[l], (size_t)ly->out * ly->in);
        /* The columns past the last full vector as dot products when they fill less than half a vector: one such
         * column costs about in / L FMAs (2 loads each) per sample, a vector of them about in (1 load each). */
        const int rem = ly->out % L;
        ly->rem = p->narrow_mode == NARROW_NEVER ? 0 : p->narrow_mode == NARROW_ALWAYS || 2 * rem < L ? rem : 0;
        ly->nvec = ly->outp / L - (ly->rem > 0);
        floats += layer_floats(ly);
    }
    return floats;
}

/* Copies columns 0 .. nvec L of the row layout wt [in][outp] into panels of PANEL_C vectors (the last one
 * narrower when nvec does not divide): panel q holds columns [q P, q P + width) as [in][width], P = PANEL_C L. */
static void pack_panels(cpu_layer *ly, int lanes) {
    const int P = PANEL_C * lanes, cols = ly->nvec * lanes;
    float *dst = ly->wp;
    for (int c0 = 0; c0 < cols; c0 += P) {
        const int w = cols - c0 < P ? cols - c0 : P;
        for (int i = 0; i < ly->in; i++, dst += w) memcpy(dst, ly->wt + (size_t)i * ly->outp + c0, sizeof(float) * w);
    }
}

/* Points each layer's wt/wp/b into mem and packs W (transposed, then in panels) and b into them. */
static float *pack_layers(cpu_plan *p, const nn_net *n, float *mem) {
    for (int l = 0; l < p->arch.n_layers; l++) {
        cpu_layer *ly = &p->layer[l];
        ly->wt = mem;
        ly->wp = mem + (size_t)ly->in * ly->outp;
        ly->b = ly->wp + (size_t)ly->in * ly->outp;
        ly->wn = ly->b + ly->outp;
        mem += layer_floats(ly);
        const float *w = n->w[l];
        for (int j = 0; j < ly->out; j++) {
            for (int i = 0; i < ly->in; i++) ly->wt[(size_t)i * ly->outp + j] = w[(size_t)j * ly->in + i];
            ly->b[j] = n->b[l][j];
        }
        memcpy(ly->wn, w + (size_t)(ly->out - ly->rem) * ly->in, sizeof(float) * ly->rem * ly->in);
        pack_panels(ly, p->k->lanes);
    }
    return mem;
}

/* 1 if the comma-separated list holds name as a whole item. */
static int list_has(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *q = list; (q = strstr(q, name)) != NULL; q += n)
        if ((q == list || q[-1] == ',') && (q[n] == 0 || q[n] == ',')) return 1;
    return 0;
}

/* The thresholds for the narrowest layer that may run sparse. */
static void plan_density(cpu_plan *p) {
    int narrowest = NN_MAX_WIDTH;
    for (int l = 0; l < p->arch.n_layers; l++)
        if (p->layer[l].sparse && p->layer[l].out < narrowest) narrowest = p->layer[l].out;
    const float *d = p->k->density[narrowest <= 32 ? 0 : narrowest <= 64 ? 1 : 2];
    for (int c = 0; c < 3; c++) p->density[c] = d[c];
}

double cpu_plan_sparse_below(const cpu_plan *p, int n) {
    int any = 0;
    for (int l = 0; p && l < p->arch.n_layers; l++) any |= p->layer[l].sparse;
    if (!any) return 0;
    if (p->sparse_mode == SPARSE_ALWAYS) return 2;
    return p->density[n <= 1 ? 0 : n < p->k->tile[0].S ? 1 : 2];
}

static void plan_describe(cpu_plan *p) {
    const nn_arch *a = &p->arch;
    char widths[160], acts[64] = "", fin[48] = "", mode[112];
    nn_arch_describe(a, widths, sizeof widths);
    for (int l = 0; l < a->n_layers; l++) {
        char *dst = p->layer[l].head_end ? fin : acts;
        size_t cap = p->layer[l].head_end ? sizeof fin : sizeof acts;
        const char *nm = nn_act_name(a->layer[l].act);
        if (list_has(dst, nm)) continue; /* each name once */
        size_t len = strlen(dst);
        snprintf(dst + len, cap - len, "%s%s", len ? "," : "", nm);
    }
    int sparse = 0;
    for (int l = 0; l < a->n_layers; l++) sparse |= p->layer[l].sparse;
    if (!sparse) snprintf(mode, sizeof mode, "dense first layer");
    else if (p->sparse_mode == SPARSE_ALWAYS) snprintf(mode, sizeof mode, "sparse first layer (always)");
    else snprintf(mode, sizeof mode, "sparse first layer below %.0f%% input density (%.0f%% at batch 1)",
                  cpu_plan_sparse_below(p, 4) * 100, cpu_plan_sparse_below(p, 1) * 100);
    int cols = 0;
    for (int l = 0; l < a->n_layers; l++) cols += p->layer[l].rem;
    if (cols) snprintf(mode + strlen(mode), sizeof mode - strlen(mode), ", %d narrow column%s as dot products", cols,
                       cols > 1 ? "s" : "");
    char thr[80] = "1 thread";
    if (p->threads > 1 && p->pool) snprintf(thr, sizeof thr, "%d threads from batch %d", p->threads, p->split_from);
    else if (p->threads > 1)
        snprintf(thr, sizeof thr, "1 thread (batches up to %d are too small to split)", p->max_batch);
    snprintf(p->desc, sizeof p->desc, "%s %s%s%s, %s, %s, %s", widths, acts, acts[0] ? "/" : "", fin, p->k->name, mode,
             thr);
}

/* Per-call work below which a batch stays on one thread, in multiply-adds x 2 per task (see plan_threads). */
enum { SPLIT_FLOPS_PER_TASK = 400000 };

static double plan_flops(const cpu_plan *p) { return nn_arch_flops(&p->arch); }

/* Tasks for a batch: one per SPLIT_FLOPS_PER_TASK of work, at most one per thread and per tile of 12 samples. */
static int plan_tasks(const cpu_plan *p, int batch) {
    if (p->threads <= 1) return 1;
    double t = batch * plan_flops(p) / SPLIT_FLOPS_PER_TASK;
    int tasks = t >= p->threads ? p->threads : t < 1 ? 1 : (int)t;
    int tiles = (batch + 11) / 12;
    return tasks < tiles ? tasks : tiles;
}

/* Bytes of one thread's non-zero lists (nnz[chunk], nz[chunk][nzs]), rounded to 64. */
static size_t list_bytes(const cpu_plan *p) {
    return ((size_t)p->chunk * ((size_t)p->nzs + 1) * sizeof(int) + 63) / 64 * 64;
}

/* The scratch of each thread: 3 activation areas and the non-zero lists, carved from mem; returns its end. */
static char *plan_scratch(cpu_plan *p, char *mem, size_t area_floats) {
    for (int t = 0; t < p->threads; t++) {
        cpu_scratch *w = &p->scr[t];
        for (int i = 0; i < 3; i++, mem += area_floats * sizeof(float)) w->buf[i] = (float *)mem;
        w->nnz = (int *)mem;
        w->nz = w->nnz + p->chunk;
        mem += list_bytes(p);
    }
    return mem;
}

static nrps_status plan_alloc(cpu_plan *p, const nn_net *n) {
    size_t wfloats = plan_layers(p, n), maxp = 0;
    for (int l = 0; l < p->arch.n_layers; l++) maxp = maxp > (size_t)p->layer[l].outp ? maxp : (size_t)p->layer[l].outp;
    size_t area = ((size_t)p->chunk * maxp + 15) / 16 * 16;
    p->nzs = p->arch.in + NZ_SLACK;
    size_t per_thread = 3 * area * sizeof(float) + list_bytes(p);
    size_t bytes = wfloats * sizeof(float) + (size_t)p->threads * per_thread;
    if (!(p->scr = aligned_alloc(64, (size_t)p->threads * sizeof *p->scr)) ||
        !(p->mem = aligned_alloc(64, (bytes + 63) / 64 * 64)))
        return NRPS_ERR_NOMEM;
    memset(p->scr, 0, (size_t)p->threads * sizeof *p->scr);
    memset(p->mem, 0, bytes);
    plan_scratch(p, (char *)pack_layers(p, n, p->mem), area);
    return NRPS_OK;
}

/* The pool and the smallest batch that uses it. */
static nrps_status plan_threads(cpu_plan *p, int threads, int spin_us) {
    p->threads = threads;
    p->split_from = 0;
    for (int b = 2; b <= p->max_batch && !p->split_from; b++)
        if (plan_tasks(p, b) > 1) p->split_from = b;
    if (threads <= 1 || !p->split_from) return NRPS_OK;
    return nrps_pool_create(threads, spin_us, &p->pool);
}

nrps_status cpu_plan_create_threads(const nn_net *n, int max_batch, int threads, int spin_us, cpu_plan **out) {
    if (!out) {
        nrps_set_error("cpu_plan_create: out is NULL");
        return NRPS_ERR_ARG;
    }
    *out = NULL;
    if (!n || !n->params || max_batch < 1 || threads < 1 || threads > CPU_PLAN_MAX_THREADS) {
        nrps_set_error("cpu_plan_create: need a network with parameters, max_batch >= 1 (got %d) and 1..%d threads "
                       "(got %d)", max_batch, CPU_PLAN_MAX_THREADS, threads);
        return NRPS_ERR_ARG;
    }
    nrps_status st = nn_arch_check(&n->arch, "cpu_plan_create");
    if (st != NRPS_OK) return st;
    cpu_plan *p = calloc(1, sizeof *p);
    if (!p) goto nomem;
    p->arch = n->arch;
    p->max_batch = max_batch;
    p->chunk = max_batch < CPU_PLAN_CHUNK ? max_batch : CPU_PLAN_CHUNK;
    p->threads = threads;
    if ((st = pick_kernels(&p->k)) != NRPS_OK ||
        (st = pick_mode("NRPS_CPU_SPARSE", "by density", &p->sparse_mode)) != NRPS_OK ||
        (st = pick_mode("NRPS_CPU_NARROW", "by width", &p->narrow_mode)) != NRPS_OK) {
        free(p);
        return st;
    }
    if (plan_alloc(p, n) != NRPS_OK) goto nomem;
    if ((st = plan_threads(p, threads, spin_us)) != NRPS_OK) {
        cpu_plan_destroy(p);
        return st;
    }
    plan_density(p);
    plan_describe(p);
    *out = p;
    return NRPS_OK;
nomem:
    cpu_plan_destroy(p);
    nrps_set_error("cpu_plan_create: out of memory for a %d-sample plan", max_batch);
    return NRPS_ERR_NOMEM;
}

nrps_status cpu_plan_create(const nn_net *n, int max_batch, cpu_plan **out) {
    return cpu_plan_create_threads(n, max_batch, 1, 0, out);
}

void cpu_plan_destroy(cpu_plan *p) {
    if (!p) return;
    nrps_pool_destroy(p->pool);
    free(p->scr);
    free(p->mem);
    free(p);
}

const char *cpu_plan_describe(const cpu_plan *p) { return p ? p->desc : ""; }
int cpu_plan_lanes(const cpu_plan *p) { return p ? p->k->lanes : 0; }
int cpu_plan_threads(const cpu_plan *p) { return p ? p->threads : 0; }
int cpu_plan_split_from(const cpu_plan *p) { return p && p->pool ? p->split_from : 0; }
double cpu_plan_flops(const cpu_plan *p) { return p ? plan_flops(p) : 0; }

cpu_plan_stats cpu_plan_get_stats(const cpu_plan *p) {
    cpu_plan_stats st = {0, 0, 0};
    if (!p) return st;
    st.runs = p->runs;
    for (int t = 0; t < p->threads; t++) {
        st.sparse_chunks += p->scr[t].sparse_chunks;
        st.dense_chunks += p->scr[t].dense_chunks;
    }
    return st;
}

/* ---- a head's final activation outside a plan ---- */

static const kernel_set *g_act_set;
static void act_set_pick(void) {
    if (pick_kernels(&g_act_set) != NRPS_OK) g_act_set = &kb_set; /* a bad NRPS_CPU_ISA: plans report it */
}

/* Tanh or sigmoid of the n floats at y, in place, with set k; 0 (nothing done) for any other activation. */
static int elem_act(const kernel_set *k, nn_act a, float *y, size_t n) {
    if (a == NN_ACT_TANH) k->elem_tanh(y, n);
    else if (a == NN_ACT_SIGMOID) k->elem_sigmoid(y, n);
    else return 0;
    return 1;
}

void cpu_act_rows(nn_act a, float alpha, float *y, int rows, int width) {
    enum { MAXW = 64 };
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, act_set_pick);
    if (elem_act(g_act_set, a, y, (size_t)rows * width)) return;
    if ((a != NN_ACT_SOFTMAX && a != NN_ACT_LOGSOFTMAX) || width > MAXW) {
        nn_act_rows(a, alpha, y, rows, width);
        return;
    }
    float tmp[MAXW + 16] __attribute__((aligned(64))); /* one row padded to whole vectors */
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * width;
        memcpy(tmp, row, sizeof(float) * width);
        g_act_set->softmax_rows(tmp, 1, width, 0, a == NN_ACT_LOGSOFTMAX);
        memcpy(row, tmp, sizeof(float) * width);
    }
}

/* ---- running ---- */

/* The layer for one tile of 1 << si samples across its nvec vectors, in blocks of the widest C the set has (output
 * row stride ys). */
static void tile_dense(const kernel_set *k, int si, const cpu_layer *ly, const float *x, size_t xs, float *y,
                       size_t ys) {
    const int L = k->lanes, nb = ly->nvec;
    int cb = 0;
    for (int ci = 3; ci >= 0; ci--) {
        dense_fn f = k->dense[si][ci];
        if (!f) continue;
        for (; nb - cb >= (1 << ci); cb += 1 << ci)
            f(x, xs, ly->in, ly->wt + (size_t)cb * L, ly->outp, ly->b + (size_t)cb * L, y + (size_t)cb * L, ys,
              ly->kact, ly->alpha);
    }
}

/* The layer's vectors over n samples on the row layout, in tiles of 8, 4, 2, 1 samples (up to 8 vectors wide). */
static void layer_rows(const kernel_set *k, const cpu_layer *ly, const float *x, size_t xs, int n, float *y,
                       size_t ys) {
    int s = 0;
    for (int si = 3; si >= 0; si--)
        for (; n - s >= (1 << si); s += 1 << si) tile_dense(k, si, ly, x + (size_t)s * xs, xs, y + (size_t)s * ys, ys);
}

/* The layer's vectors over n samples on the panels: tiles of the set's tallest height (6 or 12 samples), then 8,
 * 4, 2, 1, each across every panel (its weights read contiguously). */
static void layer_panels(const kernel_set *k, const cpu_layer *ly, const float *x, size_t xs, int n, float *y,
                         size_t ys) {
    const int L = k->lanes, nb = ly->nvec;
    int s = 0;
    for (const panel_tile *t = k->tile; s < n; t++)
        for (; n - s >= t->S; s += t->S)
            for (int cb = 0; cb < nb; cb += PANEL_C) {
                const int c = nb - cb < PANEL_C ? nb - cb : PANEL_C;
                t->f[c - 1](x + (size_t)s * xs, xs, ly->in, ly->wp + (size_t)cb * L * ly->in, (size_t)c * L,
                            ly->b + (size_t)cb * L, y + (size_t)s * ys + (size_t)cb * L, ys, ly->kact, ly->alpha);
            }
}

/* Tasks q0 .. q0 + L - 1 of layer_narrow (q = s rem + j; past the task count m, the last task again) in one call
 * of the L-wide kernel. */
static void narrow_group(const kernel_set *k, const cpu_layer *ly, const float *x, size_t xs, int q0, int m, float *y,
                         size_t ys) {
    enum { MAXL = 16 };
    const int L = k->lanes, r = ly->rem, c0 = ly->nvec * L;
    const float *xp[MAXL], *wq[MAXL];
    float bias[MAXL], tmp[MAXL];
    for (int t = 0; t < L; t++) {
        const int q = q0 + (t < m ? t : m - 1), s = r == 1 ? q : q / r, j = r == 1 ? 0 : q % r;
        xp[t] = x + (size_t)s * xs;
        wq[t] = ly->wn + (size_t)j * ly->in;
        bias[t] = ly->b[c0 + j];
    }
    float *dst = ys == (size_t)r && m == L ? y + q0 : tmp;
    k->narrow[r == 1](xp, wq, ly->in, bias, dst, ly->kact, ly->alpha);
    if (dst == tmp)
        for (int t = 0; t < m; t++) {
            const int q = q0 + t;
            y[(size_t)(q / r) * ys + c0 + q % r] = tmp[t];
        }
}

/* The layer's last rem columns over n samples: the n x rem dot products (tasks q = s rem + j) L at a time, the
 * last ones (at most L / 2) one by one; written to y[s ys + nvec L + j], or with ys == rem (then nvec is 0: a
 * narrow head's compact rows) L consecutive outputs in one store. */
static void layer_narrow(const kernel_set *k, const cpu_layer *ly, const float *x, size_t xs, int n, float *y,
                         size_t ys) {
    const int L = k->lanes, r = ly->rem, c0 = ly->nvec * L, total = n * r;
    int q0 = 0;
    for (; total - q0 > L / 2; q0 += L) narrow_group(k, ly, x, xs, q0, total - q0 < L ? total - q0 : L, y, ys);
    for (; q0 < total; q0++) {
        const int s = r == 1 ? q0 : q0 / r, j = r == 1 ? 0 : q0 % r;
        k->narrow1(x + (size_t)s * xs, ly->wn + (size_t)j * ly->in, ly->in, ly->b[c0 + j],
                   y + (size_t)s * ys + c0 + j, ly->kact, ly->alpha);
    }
}

/* The layer over n samples x (row stride xs) -> y (row stride ys), dense: the vectors on the panels from one full
 * tile of the tallest height on (measured on AVX2, 81x128 weights, 4096 samples: 6x2 tiles on panels 85 GFLOP/s,
 * 6x2 on the row layout 70, 8x1 on either 45), on the row layout's wider blocks below it (one sample: 1x8 blocks);
 * the narrow columns as dot products. */
static void layer_dense(const kernel_set *k, const cpu_layer *ly, const float *x, size_t xs, int n, float *y,
                        size_t ys) {
    if (ly->nvec > 0 && n >= k->tile[0].S) layer_panels(k, ly, x, xs, n, y, ys);
    else if (ly->nvec > 0) layer_rows(k, ly, x, xs, n, y, ys);
    if (ly->rem > 0) layer_narrow(k, ly, x, xs, n, y, ys);
}

/* The layer over n samples of the network input x (row stride in), each from its non-zero list, across the whole
 * width in blocks of up to 8 vectors (narrower blocks were measured slower: each pays a row's index, address and
 * broadcast for fewer FMAs), block by block so that a block's weight columns stay in L1 while every sample of the
 * chunk goes through them. */
static void layer_sparse(const cpu_plan *p, const cpu_scratch *w, const cpu_layer *ly, const float *x, int n,
                         float *y) {
    const kernel_set *k = p->k;
    const int L = k->lanes, nb = ly->outp / L;
    int cb = 0;
    for (int ci = 3; ci >= 0; ci--)
        for (; nb - cb >= (1 << ci); cb += 1 << ci)
            k->sparse[ci](x, (size_t)ly->in, w->nz, (size_t)p->nzs, w->nnz, n, ly->wt + (size_t)cb * L, ly->outp,
                          ly->b + (size_t)cb * L, y + (size_t)cb * L, ly->outp, ly->kact, ly->alpha);
}

/* The layer over n samples -> y (row stride ys: outp, or out for a narrow head's compact rows when dense). */
static void layer_run(const cpu_plan *p, const cpu_scratch *w, const cpu_layer *ly, const float *x, size_t xs, int n,
                      float *y, size_t ys, int sparse) {
    if (sparse && ly->sparse) layer_sparse(p, w, ly, x, n, y);
    else layer_dense(p->k, ly, x, xs, n, y, ys);
    if (ly->post) elem_act(p->k, ly->act, y, (size_t)n * ys); /* the rows and their padding */
}

/* Decides dense or sparse for a chunk of n samples and, for sparse, builds their non-zero lists: sparse when the
 * chunk's non-zero count is below the threshold's share of its n x in inputs. The lists are the count: they are
 * built sample by sample until the count reaches the threshold (dense); when the first sample alone is that dense,
 * the rest is counted first (cheaper than listing it) and listed only if the chunk stays sparse. */
static int chunk_sparse(const cpu_plan *p, cpu_scratch *w, const float *x, int n) {
    const int in = p->arch.in;
    if (!p->layer[0].sparse && !(p->arch.trunk == 0 && p->arch.n_heads > 1 && p->layer[p->arch.head[1].first].sparse))
        return 0;
    const int all = p->sparse_mode != SPARSE_AUTO;
    const double below = all ? 0 : cpu_plan_sparse_below(p, n) * n * in;
    size_t nz = 0;
    for (int s = 0; s < n; s++) {
        nz += (size_t)(w->nnz[s] = p->k->nzlist(x + (size_t)s * in, in, w->nz + (size_t)s * p->nzs));
        if (all) continue;
        if ((double)nz >= below) return 0;
        if (s == 0 && n > 1 && (double)nz * n >= below && (double)(nz + p->k->count(x + in, (size_t)(n - 1) * in)) >= below)
            return 0;
    }
    return 1;
}

/* Layers first .. first+count-1 on x (row stride xs): each writes bufs[(l - first) & 1] with row stride outp,
 * the last one with row stride last_ys; returns the last one's output. */
static const float *layers_run(const cpu_plan *p, const cpu_scratch *w, int first, int count, const float *x,
                               size_t xs, int n, float *const bufs[2], int sparse, size_t last_ys) {
    for (int l = first; l < first + count; l++) {
        float *y = bufs[(l - first) & 1];
        const size_t ys = l == first + count - 1 ? last_ys : (size_t)p->layer[l].outp;
        layer_run(p, w, &p->layer[l], x, xs, n, y, ys, sparse);
        x = y;
        xs = ys;
    }
    return x;
}

/* One chunk: n samples x (row stride in) -> rows s0 .. s0+n-1 of every head's y. */
static void chunk_run(const cpu_plan *p, cpu_scratch *w, const float *x, int n, float *const *y, int s0) {
    const nn_arch *a = &p->arch;
    const int sparse = chunk_sparse(p, w, x, n);
    if (sparse) w->sparse_chunks++;
    else w->dense_chunks++;
    const float *t = x;
    size_t ts = (size_t)a->in;
    if (a->trunk > 0) {
        ts = (size_t)p->layer[a->trunk - 1].outp;
        t = layers_run(p, w, 0, a->trunk, x, a->in, n, w->buf, sparse, ts);
    }
    float *const hb[2] = {t == w->buf[0] ? w->buf[1] : w->buf[0], w->buf[2]};
    for (int h = 0; h < a->n_heads; h++) {
        const nn_head *hd = &a->head[h];
        const cpu_layer *last = &p->layer[hd->first + hd->count - 1];
        /* A head narrower than a vector, run dense, writes compact rows (a (log-)softmax needs its padded ones). */
        const int rows_act = last->act == NN_ACT_SOFTMAX || last->act == NN_ACT_LOGSOFTMAX;
        const int compact = last->nvec == 0 && last->rem > 0 && !rows_act && !(sparse && last->sparse);
        const size_t os = compact ? (size_t)last->out : (size_t)last->outp;
        float *o = (float *)layers_run(p, w, hd->first, hd->count, t, ts, n, hb, sparse, os); /* w's scratch */
        float *yh = y[h] + (size_t)s0 * last->out;
        if (rows_act) p->k->softmax_rows(o, n, last->out, os, last->act == NN_ACT_LOGSOFTMAX);
        if (compact) memcpy(yh, o, sizeof(float) * n * last->out);
        else
            for (int s = 0; s < n; s++)
                memcpy(yh + (size_t)s * last->out, o + (size_t)s * os, sizeof(float) * last->out);
        if (!rows_act && !elem_act(p->k, last->act, yh, (size_t)n * last->out))
            nn_act_rows(last->act, last->alpha, yh, n, last->out);
    }
}

/* Samples [s0, s1) of the run in progress, in chunks, on thread task's scratch. Task t of T takes an equal share
 * rounded to 12 samples (whole panel tiles), the last one the rest. */
static void run_task(void *ctx, int task) {
    const cpu_plan *p = ctx;
    const int T = p->run_tasks, batch = p->run_batch;
    int per = (batch + T - 1) / T;
    per = T > 1 ? (per + 11) / 12 * 12 : per;
    const int s0 = task * per < batch ? task * per : batch, s1 = task == T - 1 || s0 + per > batch ? batch : s0 + per;
    for (int s = s0; s < s1; s += p->chunk)
        chunk_run(p, &p->scr[task], p->run_x + (size_t)s * p->arch.in, s1 - s < p->chunk ? s1 - s : p->chunk,
                  p->run_y, s);
}

nrps_status cpu_plan_run(cpu_plan *p, const float *x, int batch, float *const *y) {
    if (!p || !x || !y || batch < 1 || batch > p->max_batch) {
        nrps_set_error("cpu_plan_run: batch %d outside 1..%d or NULL pointers", batch, p ? p->max_batch : 0);
        return NRPS_ERR_ARG;
    }
    for (int h = 0; h < p->arch.n_heads; h++)
        if (!y[h]) {
            nrps_set_error("cpu_plan_run: output of head %d is NULL", h);
            return NRPS_ERR_ARG;
        }
    p->runs++;
    p->run_x = x;
    p->run_y = y;
    p->run_batch = batch;
    p->run_tasks = plan_tasks(p, batch);
    nrps_pool_run(p->pool, p->run_tasks, run_task, p);
    return NRPS_OK;
}
