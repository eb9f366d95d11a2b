/* cpu.c - the native-cpu backend: our own C forward pass on the weights read (with onnx_mlp_load) from the
 * same ONNX file ONNX Runtime runs. Single-threaded, no allocation per call.
 * Layout and kernel: hidden and output widths are padded to multiples of the vector width L = 8 or 16 (zero
 * weights), W1 and W2 are stored transposed ([in][hiddenL], [hiddenL][outL]); samples go through in tiles of 8 and
 * each L-wide block of outputs
 * of a layer is accumulated for the 8 samples in 8 vector registers (GCC vector extensions), ReLU fused. On x86-64 with GCC the 8-lane kernel is compiled twice (target_clones:
 * x86-64-v3 = AVX2, and the baseline) and a 16-lane AVX-512 (x86-64-v4) kernel is added; the best one the CPU
 * supports is picked at creation (NRPS_NO_AVX512=1 in the environment forces the 8-lane one), as ONNX Runtime's
 * MLAS picks its kernels. The kernels allow FMA contraction and sum in another order than mlp_forward, the
 * numerical reference: results agree with it to float rounding (tests/test_backend.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"
#include "nn/nn_ops.h"

enum { TILE = 8 };
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(NRPS_NO_TARGET_CLONES)
#define NRPS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#define NRPS_HAVE_CLONES 1
#define NRPS_AVX512 __attribute__((target("arch=x86-64-v4"), optimize("fp-contract=fast")))
#else
#define NRPS_CLONES
#endif

typedef struct {
    struct {
        int in, hidden, out;
        nn_act hidden_act, out_act;
    } m;
    int lanes;       /* vector width of the kernel: 16 (AVX-512) or 8 */
    int hp, op;      /* hidden and output widths padded to multiples of lanes */
    float *w1t;      /* [in][hp] */
    float *b1;       /* [hp] */
    float *w2t;      /* [hp][op] */
    float *b2;       /* [op] */
    float *h;        /* [TILE][hp] */
    float *y;        /* [TILE][op] */
    float *in_buf, *out_buf; /* max_batch samples, for io_buffers */
} cpu_ctx;

static void cpu_destroy(void *p) {
    cpu_ctx *c = p;
    if (!c) return;
    free(c->w1t);
    free(c->b1);
    free(c->w2t);
    free(c->b2);
    free(c->h);
    free(c->y);
    free(c->in_buf);
    free(c->out_buf);
    free(c);
}

static void cpu_io_buffers(void *p, float **in, float **out) {
    cpu_ctx *c = p;
    *in = c->in_buf;
    out[0] = c->out_buf;
}

static float act1(nn_act a, float v) { return (float)nn_act_elem(a, 0, v); }

/* Unaligned vector load/store (memcpy compiles to one vector move). */
#define LDV(dst, p) memcpy(&(dst), (p), sizeof(dst))
#define STV(p, v) memcpy((p), &(v), sizeof(v))
#define RELUV(VI, v) ((v) = (__typeof__(v))((VI)(v) & (VI)((v) > (__typeof__(v)){0})))

/* One register block: 8 samples (rows x0..x7, n terms each) times one vector V of consecutive columns of w (row
 * stride ws): acc_s = bias + sum_i x_s[i] * w[i][..], optionally ReLU'd, stored to out + s*os. */
#define BLOCK(V, VI, x, n, w, ws, bias, relu, out, os)                                                             \
    do {                                                                                                           \
        V a0, a1, a2, a3, a4, a5, a6, a7, wv;                                                                      \
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = (bias);                                                            \
        const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5], *x6 = x[6], *x7 = x[7]; \
        for (int i = 0; i < (n); i++) {                                                                            \
            LDV(wv, (w) + (size_t)i * (ws));                                                                       \
            a0 += x0[i] * wv;                                                                                      \
            a1 += x1[i] * wv;                                                                                      \
            a2 += x2[i] * wv;                                                                                      \
            a3 += x3[i] * wv;                                                                                      \
            a4 += x4[i] * wv;                                                                                      \
            a5 += x5[i] * wv;                                                                                      \
            a6 += x6[i] * wv;                                                                                      \
            a7 += x7[i] * wv;                                                                                      \
        }                                                                                                          \
        if (relu) {                                                                                                \
            RELUV(VI, a0), RELUV(VI, a1), RELUV(VI, a2), RELUV(VI, a3);                                            \
            RELUV(VI, a4), RELUV(VI, a5), RELUV(VI, a6), RELUV(VI, a7);                                            \
        }                                                                                                          \
        STV((out) + 0 * (size_t)(os), a0), STV((out) + 1 * (size_t)(os), a1);                                      \
        STV((out) + 2 * (size_t)(os), a2), STV((out) + 3 * (size_t)(os), a3);                                      \
        STV((out) + 4 * (size_t)(os), a4), STV((out) + 5 * (size_t)(os), a5);                                      \
        STV((out) + 6 * (size_t)(os), a6), STV((out) + 7 * (size_t)(os), a7);                                      \
    } while (0)

/* Both layers for 8 samples (row pointers x[8], I inputs each), with vectors of type V (L lanes):
 * h[s][j] = act(b1[j] + sum_i x[s][i] w1t[i][j]) (ReLU fused when relu != 0, other activations applied by
 * `act_hidden`), then y[s][o] = b2[o] + sum_j h[s][j] w2t[j][o]; widths hp/op are multiples of L. */
#define TILE_FN(NAME, ATTR, V, VI, L)                                                                              \
    ATTR static void NAME(const float *const x[TILE], const cpu_ctx *c, int relu) {                                \
        const int I = c->m.in, hp = c->hp, op = c->op;                                                             \
        for (int jb = 0; jb < hp; jb += L) {                                                                       \
            V bias;                                                                                                \
            LDV(bias, c->b1 + jb);                                                                                 \
            BLOCK(V, VI, x, I, c->w1t + jb, hp, bias, relu, c->h + jb, hp);                                        \
        }                                                                                                          \
        if (!relu)                                                                                                 \
            for (int k = 0; k < TILE * hp; k++) c->h[k] = act1(c->m.hidden_act, c->h[k]);                          \
        const float *hs[TILE];                                                                                     \
        for (int s = 0; s < TILE; s++) hs[s] = c->h + (size_t)s * hp;                                             \
        for (int ob = 0; ob < op; ob += L) {                                                                       \
            V bias;                                                                                                \
            LDV(bias, c->b2 + ob);                                                                                 \
            BLOCK(V, VI, hs, hp, c->w2t + ob, op, bias, 0, c->y + ob, op);                                         \
        }                                                                                                          \
    }

TILE_FN(tile8, NRPS_CLONES, v8f, v8i, 8)
#ifdef NRPS_AVX512
TILE_FN(tile16, NRPS_AVX512, v16f, v16i, 16)
#endif

static nrps_status cpu_run(void *p, const float *in, int batch, float *const *outs) {
    cpu_ctx *c = p;
    float *out = outs[0];
    const __typeof__(c->m) *m = &c->m;
    const int I = m->in, O = m->out, op = c->op;
    const int relu = m->hidden_act == NN_ACT_RELU;
    for (int s0 = 0; s0 < batch; s0 += TILE) {
        int ns = batch - s0 < TILE ? batch - s0 : TILE;
        const float *x[TILE];
        for (int s = 0; s < TILE; s++) x[s] = in + (size_t)(s0 + (s < ns ? s : 0)) * I; /* short tail: repeat */
#ifdef NRPS_AVX512
        if (c->lanes == 16) tile16(x, c, relu);
        else
#endif
            tile8(x, c, relu);
        for (int s = 0; s < ns; s++) {
            float *y = out + (size_t)(s0 + s) * O;
            memcpy(y, c->y + (size_t)s * op, sizeof(float) * O);
            nn_act_rows(m->out_act, 0, y, 1, O);
        }
    }
    return NRPS_OK;
}

nrps_status be_cpu_create(const char *name, const be_model *model, const be_options *opt, be_backend *b) {
    (void)name;
    const nn_net *net = be_model_net(model);
    const nn_arch *a = &net->arch;
    if (a->n_layers != 2 || a->n_heads != 1 || a->layer[0].act == NN_ACT_LEAKY_RELU) {
        nrps_set_error("%s: this native-cpu build runs 2-layer one-head networks only", be_model_path(model));
        return NRPS_ERR_UNSUPPORTED;
    }
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    c->m.in = a->in;
    c->m.hidden = a->layer[0].out;
    c->m.out = a->layer[1].out;
    c->m.hidden_act = a->layer[0].act;
    c->m.out_act = a->layer[1].act;
    const int I = c->m.in, H = c->m.hidden, O = c->m.out;
    const char *isa = "portable C vectors";
    c->lanes = 8;
#ifdef NRPS_HAVE_CLONES
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
    isa = avx2 ? "AVX2 (x86-64-v3)" : "SSE2 (x86-64 baseline)";
    const char *no512 = getenv("NRPS_NO_AVX512");
    int allow512 = !no512 || !*no512 || !strcmp(no512, "0");
    if (avx2 && allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
        c->lanes = 16;
        isa = "AVX-512 (x86-64-v4)";
    }
#endif
    const int L = c->lanes;
    const int hp = c->hp = (H + L - 1) / L * L;
    const int op = c->op = (O + L - 1) / L * L;
    c->w1t = calloc((size_t)I * hp, sizeof(float));
    c->b1 = calloc((size_t)hp, sizeof(float));
    c->w2t = calloc((size_t)hp * op, sizeof(float));
    c->b2 = calloc((size_t)op, sizeof(float));
    c->h = calloc((size_t)TILE * hp, sizeof(float));
    c->y = calloc((size_t)TILE * op, sizeof(float));
    c->in_buf = calloc((size_t)opt->max_batch * I, sizeof(float));
    c->out_buf = calloc((size_t)opt->max_batch * O, sizeof(float));
    if (!c->w1t || !c->b1 || !c->w2t || !c->b2 || !c->h || !c->y || !c->in_buf || !c->out_buf) {
        cpu_destroy(c);
        nrps_set_error("out of memory for %d-sample native-cpu buffers", opt->max_batch);
        return NRPS_ERR_NOMEM;
    }
    for (int j = 0; j < H; j++) {
        for (int i = 0; i < I; i++) c->w1t[(size_t)i * hp + j] = net->w[0][(size_t)j * I + i];
        c->b1[j] = net->b[0][j];
        for (int o = 0; o < O; o++) c->w2t[(size_t)j * op + o] = net->w[1][(size_t)o * H + j];
    }
    for (int o = 0; o < O; o++) c->b2[o] = net->b[1][o];
    b->info.threads = 1;
    snprintf(b->info.provider, sizeof b->info.provider, "native C %d-%d-%d %s/%s, %s, single-threaded", I, H, O,
             nn_act_name(c->m.hidden_act), nn_act_name(c->m.out_act), isa);
    snprintf(b->info.device, sizeof b->info.device, "CPU");
    snprintf(b->info.note, sizeof b->info.note, "host buffers, no copies");
    b->ctx = c;
    b->run = cpu_run;
    b->io_buffers = cpu_io_buffers;
    b->destroy = cpu_destroy;
    return NRPS_OK;
}
