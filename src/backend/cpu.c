/* cpu.c - the native-cpu backend: our own C forward pass on the weights read (with onnx_mlp_load) from the
 * same ONNX file ONNX Runtime runs. Single-threaded, no allocation per call.
 * Layout and kernel: the hidden width is padded to a multiple of 8 (zero weights), W1 is stored transposed
 * ([in][hidden8]); samples go through in tiles of 8, transposed to [in][8], and each 8-wide block of hidden units
 * is accumulated for the 8 samples in 8 vector registers (GCC vector extensions: one AVX register or two SSE
 * registers). The output layer is an 8-lane dot product per output. On x86-64 with GCC the kernel is compiled
 * twice (target_clones: x86-64-v3 = AVX2, and the baseline) and the loader picks one at run time, as ONNX
 * Runtime's MLAS does. No FMA contraction (-std=c11), so sums are plain float adds in a different order than
 * mlp_forward, the numerical reference: results agree to float rounding (tests/test_backend.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"

enum { TILE = 8, LANES = 8 };
typedef float v8f __attribute__((vector_size(32)));

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(NRPS_NO_TARGET_CLONES)
#define NRPS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#define NRPS_HAVE_CLONES 1
#else
#define NRPS_CLONES
#endif

typedef struct {
    mlp m;
    int hp;          /* hidden padded to a multiple of 8 */
    float *w1t;      /* [in][hp] */
    float *b1;       /* [hp] */
    float *w2;       /* [out][hp] */
    float *xt;       /* [in][TILE] transposed input tile */
    float *h;        /* [TILE][hp] */
    float *in_buf, *out_buf; /* max_batch samples, for io_buffers */
} cpu_ctx;

static void cpu_destroy(void *p) {
    cpu_ctx *c = p;
    if (!c) return;
    mlp_free(&c->m);
    free(c->w1t);
    free(c->b1);
    free(c->w2);
    free(c->xt);
    free(c->h);
    free(c->in_buf);
    free(c->out_buf);
    free(c);
}

static void cpu_io_buffers(void *p, float **in, float **out) {
    cpu_ctx *c = p;
    *in = c->in_buf;
    *out = c->out_buf;
}

static float act1(mlp_act a, float v) {
    switch (a) {
    case MLP_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case MLP_ACT_TANH: return tanhf(v);
    case MLP_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    default: return v;
    }
}

static void out_act(mlp_act a, float *y, int n) {
    if (a == MLP_ACT_SOFTMAX || a == MLP_ACT_LOGSOFTMAX) {
        float mx = y[0];
        for (int i = 1; i < n; i++) mx = y[i] > mx ? y[i] : mx;
        float s = 0.0f;
        if (a == MLP_ACT_SOFTMAX) {
            for (int i = 0; i < n; i++) s += (y[i] = expf(y[i] - mx));
            float inv = 1.0f / s;
            for (int i = 0; i < n; i++) y[i] *= inv;
        } else {
            for (int i = 0; i < n; i++) s += expf(y[i] - mx);
            float ls = logf(s);
            for (int i = 0; i < n; i++) y[i] = y[i] - mx - ls;
        }
    } else if (a == MLP_ACT_SIGMOID || a == MLP_ACT_TANH) {
        for (int i = 0; i < n; i++) y[i] = act1(a, y[i]);
    }
}

/* Unaligned 8-float load/store (memcpy compiles to one vector move). */
#define LD8(dst, p) memcpy(&(dst), (p), sizeof(v8f))
#define ST8(p, v) memcpy((p), &(v), sizeof(v8f))

/* Hidden layer for one tile: h[s][j] = b1[j] + sum_i xt[i][s] * w1t[i][j] (before the activation). */
NRPS_CLONES static void hidden_tile(const float *restrict xt, const float *restrict w1t, const float *restrict b1,
                                    float *restrict h, int I, int hp) {
    for (int jb = 0; jb < hp; jb += LANES) {
        v8f bias, acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7;
        LD8(bias, b1 + jb);
        acc0 = acc1 = acc2 = acc3 = acc4 = acc5 = acc6 = acc7 = bias;
        for (int i = 0; i < I; i++) {
            v8f w;
            LD8(w, w1t + (size_t)i * hp + jb);
            const float *x = xt + (size_t)i * TILE;
            acc0 += x[0] * w;
            acc1 += x[1] * w;
            acc2 += x[2] * w;
            acc3 += x[3] * w;
            acc4 += x[4] * w;
            acc5 += x[5] * w;
            acc6 += x[6] * w;
            acc7 += x[7] * w;
        }
        ST8(h + 0 * hp + jb, acc0);
        ST8(h + 1 * hp + jb, acc1);
        ST8(h + 2 * hp + jb, acc2);
        ST8(h + 3 * hp + jb, acc3);
        ST8(h + 4 * hp + jb, acc4);
        ST8(h + 5 * hp + jb, acc5);
        ST8(h + 6 * hp + jb, acc6);
        ST8(h + 7 * hp + jb, acc7);
    }
}

/* Output layer for one sample: y[o] = b2[o] + h . w2[o], 8 lanes then a fixed-order horizontal sum. */
NRPS_CLONES static void output_row(const float *restrict h, const float *restrict w2, const float *restrict b2,
                                   float *restrict y, int O, int hp) {
    for (int o = 0; o < O; o++) {
        v8f acc = {0}, a, b;
        const float *w = w2 + (size_t)o * hp;
        for (int j = 0; j < hp; j += LANES) {
            LD8(a, h + j);
            LD8(b, w + j);
            acc += a * b;
        }
        y[o] = b2[o] + (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    }
}

static nrps_status cpu_run(void *p, const float *in, int batch, float *out) {
    cpu_ctx *c = p;
    const mlp *m = &c->m;
    const int I = m->in, O = m->out, hp = c->hp;
    for (int s0 = 0; s0 < batch; s0 += TILE) {
        int ns = batch - s0 < TILE ? batch - s0 : TILE;
        for (int s = 0; s < TILE; s++) {
            const float *x = in + (size_t)(s0 + (s < ns ? s : 0)) * I; /* a short tail tile repeats sample s0 */
            for (int i = 0; i < I; i++) c->xt[(size_t)i * TILE + s] = x[i];
        }
        hidden_tile(c->xt, c->w1t, c->b1, c->h, I, hp);
        for (int s = 0; s < ns; s++) {
            float *h = c->h + (size_t)s * hp;
            if (m->hidden_act == MLP_ACT_RELU)
                for (int j = 0; j < hp; j++) h[j] = h[j] > 0.0f ? h[j] : 0.0f;
            else
                for (int j = 0; j < m->hidden; j++) h[j] = act1(m->hidden_act, h[j]);
            float *y = out + (size_t)(s0 + s) * O;
            output_row(h, c->w2, m->b2, y, O, hp);
            out_act(m->out_act, y, O);
        }
    }
    return NRPS_OK;
}

nrps_status be_cpu_create(const char *model_path, const be_options *opt, be_backend *b) {
    double t0 = nrps_now_s();
    cpu_ctx *c = calloc(1, sizeof *c);
    onnx_mlp_info oi;
    memset(&oi, 0, sizeof oi);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    nrps_status rc = onnx_mlp_load(model_path, &c->m, &oi);
    if (rc) {
        cpu_destroy(c);
        return rc;
    }
    const int I = c->m.in, H = c->m.hidden, O = c->m.out;
    const int hp = c->hp = (H + LANES - 1) / LANES * LANES;
    c->w1t = calloc((size_t)I * hp, sizeof(float));
    c->b1 = calloc((size_t)hp, sizeof(float));
    c->w2 = calloc((size_t)O * hp, sizeof(float));
    c->xt = calloc((size_t)I * TILE, sizeof(float));
    c->h = calloc((size_t)TILE * hp, sizeof(float));
    c->in_buf = calloc((size_t)opt->max_batch * I, sizeof(float));
    c->out_buf = calloc((size_t)opt->max_batch * O, sizeof(float));
    if (!c->w1t || !c->b1 || !c->w2 || !c->xt || !c->h || !c->in_buf || !c->out_buf) {
        cpu_destroy(c);
        nrps_set_error("out of memory for %d-sample native-cpu buffers", opt->max_batch);
        return NRPS_ERR_NOMEM;
    }
    for (int j = 0; j < H; j++) {
        for (int i = 0; i < I; i++) c->w1t[(size_t)i * hp + j] = c->m.w1[(size_t)j * I + i];
        c->b1[j] = c->m.b1[j];
        for (int o = 0; o < O; o++) c->w2[(size_t)o * hp + j] = c->m.w2[(size_t)o * H + j];
    }
    b->info.create_ms = (nrps_now_s() - t0) * 1e3;
    snprintf(b->info.input_name, sizeof b->info.input_name, "%s", oi.input_name[0] ? oi.input_name : "input");
    snprintf(b->info.output_name, sizeof b->info.output_name, "%s", oi.output_name[0] ? oi.output_name : "output");
    b->info.input_size = I;
    b->info.output_size = O;
    b->info.threads = 1;
    const char *isa = "portable C vectors";
#ifdef NRPS_HAVE_CLONES
    __builtin_cpu_init();
    isa = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2")
              ? "AVX2 (x86-64-v3)"
              : "SSE2 (x86-64 baseline)";
#endif
    snprintf(b->info.provider, sizeof b->info.provider, "native C %d-%d-%d %s/%s, %s, single-threaded", I, H, O,
             mlp_act_name(c->m.hidden_act), mlp_act_name(c->m.out_act), isa);
    snprintf(b->info.device, sizeof b->info.device, "CPU");
    snprintf(b->info.note, sizeof b->info.note, "host buffers, no copies");
    b->ctx = c;
    b->run = cpu_run;
    b->io_buffers = cpu_io_buffers;
    b->destroy = cpu_destroy;
    return NRPS_OK;
}
