/* cpu_vec.h - the vector types and lane helpers shared by the CPU kernels (cpu_kernels.c) and the incremental
 * evaluator (src/search/eval_incremental.c); private to them, no functions.
 *
 * GCC/clang vector extensions of 4, 8 and 16 floats (and ints of the same shape): compiled for whatever target the
 * function using them has (baseline, x86-64-v3, x86-64-v4), so one macro body serves every kernel set. */
#ifndef NRPS_BACKEND_CPU_VEC_H
#define NRPS_BACKEND_CPU_VEC_H

#include <string.h>

typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

/* Unaligned vector load/store (memcpy compiles to one vector move). */
#define LDV(dst, p) memcpy(&(dst), (p), sizeof(dst))
#define STV(p, v) memcpy((p), &(v), sizeof(v))

/* Lanes of a and b (a's lanes 0 .. L-1, b's L .. 2L-1) picked by the constant indices. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF_VI(a) __typeof__((a) < (a))
#define SHUF(a, b, ...) __builtin_shuffle(a, b, (SHUF_VI(a)){__VA_ARGS__})
#endif

/* Lane t of the result = the sum of the L lanes of a[t], for the L vectors a[0 .. L) (a transpose-and-add tree:
 * log2 L levels of two shuffles and an add per pair, in-lane where the lanes allow). */
#define HS4_(a, b) (SHUF(a, b, 0, 2, 4, 6) + SHUF(a, b, 1, 3, 5, 7))
#define HSUM4(a) HS4_(HS4_(a[0], a[1]), HS4_(a[2], a[3]))
#define HS8_(a, b) (SHUF(a, b, 0, 2, 8, 10, 4, 6, 12, 14) + SHUF(a, b, 1, 3, 9, 11, 5, 7, 13, 15))
#define HG8_(a, b) (SHUF(a, b, 0, 1, 2, 3, 8, 9, 10, 11) + SHUF(a, b, 4, 5, 6, 7, 12, 13, 14, 15))
#define HSUM8(a) HG8_(HS8_(HS8_(a[0], a[1]), HS8_(a[2], a[3])), HS8_(HS8_(a[4], a[5]), HS8_(a[6], a[7])))
#define HS16_(a, b)                                                                                                \
    (SHUF(a, b, 0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30) +                                      \
     SHUF(a, b, 1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31))
#define HG16_(a, b)                                                                                                \
    (SHUF(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +                                       \
     SHUF(a, b, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31))
#define HQ16_(a, i) HS16_(HS16_(a[i], a[i + 1]), HS16_(a[i + 2], a[i + 3]))
#define HSUM16(a) HG16_(HG16_(HQ16_(a, 0), HQ16_(a, 4)), HG16_(HQ16_(a, 8), HQ16_(a, 12)))
#define HSUM_(L, a) HSUM##L(a)
#define HSUM(L, a) HSUM_(L, a)

/* The sum of the lanes of one vector, halving it (a tree, not a chain of L - 1 adds). */
#define HFOLD2_(v) ((v)[0] + (v)[1])
#define HFOLD4_(v) HFOLD2_(SHUF(v, v, 0, 1) + SHUF(v, v, 2, 3))
#define HFOLD4(v) HFOLD4_(v)
#define HFOLD8(v) HFOLD4_(SHUF(v, v, 0, 1, 2, 3) + SHUF(v, v, 4, 5, 6, 7))
#define HFOLD16(v) HFOLD8(SHUF(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + SHUF(v, v, 8, 9, 10, 11, 12, 13, 14, 15))
#define HFOLD_(L, v) HFOLD##L(v)
#define HFOLD(L, v) HFOLD_(L, v)

#endif
