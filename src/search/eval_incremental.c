/* eval_incremental.c - the incremental (accumulator) evaluator (see eval_incremental.h).
 *
 * Layout. A network is cut after its input layers: with a trunk, layer 0 is the one input layer and the rest of the
 * network (trunk - 1 layers and both heads) is one cpu_plan; without one (every one-head network, and two-headed
 * ones with trunk 0), each head's first layer reads the input and the head's other layers (if any) are a one-head
 * cpu_plan, or a loop over them when they are few (rest_loop). Each input layer is a `branch`: its feature columns
 * wc[feature][outp] (outp = its width rounded up to 4 vectors, zero padding), its bias, and its accumulator's place
 * in a ring entry. A ring entry holds, per input encoding in use, the position's inputs (ENC_PAD floats), then every
 * branch's accumulator (pre-activation, outp floats). */
#include "search/eval_incremental.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu_kernels.h"
#include "backend/cpu_vec.h"
#include "nn/nn_ops.h"

enum { INCR_MAX_SLOTS = 1 << 16, INCR_ALIGN = 16 /* floats */ };

typedef void (*accum_fn)(float *acc, float *h, const float *base, const float *wc, int outp, const int16_t *idx,
                         const float *coef, int k);
typedef void (*relu_fn)(float *h, const float *acc, int width);
/* y[o] = bias[o] + sum_i w[o][i] x[i] for o < out (w row-major [out][in]). */
typedef void (*dense_fn)(float *y, const float *x, const float *w, const float *bias, int in, int out);
/* Bit masks over the ENC_PAD inputs, kept only where rep has a bit: ne bit i = x[i] != old[i] (0 when old is NULL),
 * nz bit i = x[i] != 0; their bit counts in *n_ne and *n_nz. Also copies x to save (which must not be old). */
typedef void (*scan_fn)(const float *x, const float *old, float *save, const uint64_t rep[2], uint64_t ne[2],
                        uint64_t nz[2], int *n_ne, int *n_nz);
enum { ENC_PAD = 88 }; /* a position's inputs in an entry: RPS_INPUT_SIZE padded to 11 blocks of 8 (zeros) */

/* One layer that reads the network input, and what follows it. */
typedef struct {
    int width, outp;
    nn_act act;             /* its activation (the head's final one when rest is NULL) */
    float alpha;
    float *wc, *bias;       /* [n_feat][outp], [outp] */
    size_t acc_off;         /* floats from the start of a ring entry */
    cpu_plan *rest;         /* the layers after it on the native-cpu kernels; NULL: a loop (n_loop) or none */
    int n_loop;             /* a small rest as a loop over its layers (row-major W, dot products): layer count */
    const float *lw[NN_MAX_LAYERS], *lb[NN_MAX_LAYERS]; /* views into loop_params */
    int lin[NN_MAX_LAYERS], lout[NN_MAX_LAYERS];
    nn_act lact[NN_MAX_LAYERS];
    float lalpha[NN_MAX_LAYERS];
    float *loop_params, *tmp; /* the loop's weights and biases; 2 x its widest layer of scratch */
    int loop_width;
    int head[NN_MAX_HEADS]; /* the network's head index of rest's output k (or of this layer's output) */
    int n_out;
    float *h;               /* [max_batch][width]: act(accumulator), rest's input */
} branch;

/* One network: its encoding (index into eval_incr.enc), branches and head outputs. */
typedef struct {
    int enc;
    int n_branch;
    branch br[NN_MAX_HEADS];
    int n_heads;
    int head_width[NN_MAX_HEADS];
    float *y[NN_MAX_HEADS]; /* [max_batch][head width] */
} inet;

struct eval_incr {
    mcts_evaluator ev;
    int n_feat;
    int16_t rep[RPS_INPUT_SIZE];   /* feature f's value is input rep[f] */
    int8_t feat_of[RPS_INPUT_SIZE];
    uint64_t rep_bits[2];          /* bit i: input i is its feature's representative */
    scan_fn scan;
    int n_enc;
    rps_encoding enc[2];
    int n_net;
    inet net[2];
    int pol_net, pol_out, val_net, val_out; /* val_net -1: no value network */
    nn_act pol_act, val_act;
    int lanes;
    accum_fn accum;
    relu_fn relu;
    dense_fn dense;
    size_t entry_floats;
    float *ring;
    uint32_t *held;  /* held[slot]: the id whose entry the slot holds (0: none) */
    uint32_t mask, next;
    eval_incr_stats stats;
    char desc[200];
};

/* ---- accumulator kernels: acc[0..outp) = base + sum_c coef[c] * wc[idx[c]][0..outp) (acc may be base); when h is
 * not NULL also h[0..outp) = max(acc, 0) (the fused ReLU: callers pass it only when the width is outp) ---- */

/* One block of NV vectors at column j: loads, every column's FMAs, stores. */
#define ACCUM_BLOCK(V, VI, L, NV)                                                                                  \
    do {                                                                                                           \
        V a[NV];                                                                                                   \
        _Pragma("GCC unroll 8") for (int v = 0; v < (NV); v++) LDV(a[v], base + j + v * (L));                     \
        for (int c = 0; c < k; c++) {                                                                              \
            const float *col = wc + (size_t)idx[c] * (size_t)outp + j;                                             \
            V d = (V){0} + coef[c];                                                                                \
            _Pragma("GCC unroll 8") for (int v = 0; v < (NV); v++) {                                               \
                V x;                                                                                               \
                LDV(x, col + v * (L));                                                                             \
                a[v] += d * x;                                                                                     \
            }                                                                                                      \
        }                                                                                                          \
        _Pragma("GCC unroll 8") for (int v = 0; v < (NV); v++) {                                                   \
            STV(acc + j + v * (L), a[v]);                                                                          \
            if (h) {                                                                                               \
                V r = (V)((VI)a[v] & (VI)(a[v] > (V){0}));                                                         \
                STV(h + j + v * (L), r);                                                                           \
            }                                                                                                      \
        }                                                                                                          \
    } while (0)
/* outp is a multiple of 4 vectors: blocks of 8, then one of 4. */
#define ACCUM_BODY(V, VI, L)                                                                                       \
    int j = 0;                                                                                                     \
    for (; j + 8 * (L) <= outp; j += 8 * (L)) ACCUM_BLOCK(V, VI, L, 8);                                            \
    if (j < outp) ACCUM_BLOCK(V, VI, L, 4);

/* One dot product per output, two vector partial sums, then the lanes (an add tree) and the tail. */
#define DENSE_BODY(V, L)                                                                                           \
    for (int o = 0; o < out; o++) {                                                                                \
        const float *wr = w + (size_t)o * (size_t)in;                                                              \
        V s0 = {0}, s1 = {0}, a, b, c, d;                                                                          \
        int i = 0;                                                                                                 \
        for (; i + 2 * (L) <= in; i += 2 * (L)) {                                                                  \
            LDV(a, x + i), LDV(b, wr + i), LDV(c, x + i + (L)), LDV(d, wr + i + (L));                              \
            s0 += a * b, s1 += c * d;                                                                              \
        }                                                                                                          \
        for (; i + (L) <= in; i += (L)) LDV(a, x + i), LDV(b, wr + i), s0 += a * b;                                \
        s0 += s1;                                                                                                  \
        float r = bias[o] + HFOLD(L, s0);                                                                          \
        for (; i < in; i++) r += x[i] * wr[i];                                                                     \
        y[o] = r;                                                                                                  \
    }

/* h[0..width) = max(acc, 0): whole vectors, then the tail. */
#define RELU_BODY(V, VI, L)                                                                                          \
    int j = 0;                                                                                                     \
    for (; j + (L) <= width; j += (L)) {                                                                           \
        V a;                                                                                                       \
        LDV(a, acc + j);                                                                                           \
        a = (V)((VI)a & (VI)(a > (V){0}));                                                                        \
        STV(h + j, a);                                                                                             \
    }                                                                                                              \
    for (; j < width; j++) h[j] = acc[j] > 0 ? acc[j] : 0;

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target("arch=x86-64-v4"), optimize("fp-contract=fast"))) static void
accum_v4(float *acc, float *h, const float *base, const float *wc, int outp, const int16_t *idx, const float *coef,
         int k) {
    ACCUM_BODY(v16f, v16i, 16)
}
__attribute__((target("arch=x86-64-v4"), optimize("fp-contract=fast"))) static void
dense_v4(float *y, const float *x, const float *w, const float *bias, int in, int out) {
    DENSE_BODY(v16f, 16)
}
__attribute__((target("arch=x86-64-v4"))) static void relu_v4(float *h, const float *acc, int width) {
    RELU_BODY(v16f, v16i, 16)
}
__attribute__((target("arch=x86-64-v3"), optimize("fp-contract=fast"))) static void
accum_v3(float *acc, float *h, const float *base, const float *wc, int outp, const int16_t *idx, const float *coef,
         int k) {
    ACCUM_BODY(v8f, v8i, 8)
}
__attribute__((target("arch=x86-64-v3"), optimize("fp-contract=fast"))) static void
dense_v3(float *y, const float *x, const float *w, const float *bias, int in, int out) {
    DENSE_BODY(v8f, 8)
}
__attribute__((target("arch=x86-64-v3"))) static void relu_v3(float *h, const float *acc, int width) {
    RELU_BODY(v8f, v8i, 8)
}
#endif
static void accum_base(float *acc, float *h, const float *base, const float *wc, int outp, const int16_t *idx,
                       const float *coef, int k) {
    ACCUM_BODY(v4f, v4i, 4)
}
static void relu_base(float *h, const float *acc, int width) { RELU_BODY(v4f, v4i, 4) }
static void dense_base(float *y, const float *x, const float *w, const float *bias, int in, int out) {
    DENSE_BODY(v4f, 4)
}

/* The masks' bits kept where rep has them, and their counts. */
#define SCAN_FINISH                                                                                                \
    for (int w = 0; w < 2; w++) ne[w] &= rep[w], nz[w] &= rep[w];                                                  \
    *n_ne = __builtin_popcountll(ne[0]) + __builtin_popcountll(ne[1]);                                             \
    *n_nz = __builtin_popcountll(nz[0]) + __builtin_popcountll(nz[1]);

static void scan_base(const float *x, const float *old, float *save, const uint64_t rep[2], uint64_t ne[2],
                      uint64_t nz[2], int *n_ne, int *n_nz) {
    ne[0] = ne[1] = nz[0] = nz[1] = 0;
    memcpy(save, x, ENC_PAD * sizeof *x);
    for (int i = 0; i < ENC_PAD; i++) {
        nz[i >> 6] |= (uint64_t)(x[i] != 0) << (i & 63);
        if (old) ne[i >> 6] |= (uint64_t)(x[i] != old[i]) << (i & 63);
    }
    SCAN_FINISH
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
/* 8 inputs per compare; movmskps gathers the lanes' signs into 8 bits. */
__attribute__((target("arch=x86-64-v3"))) static void scan_v3(const float *x, const float *old, float *save,
                                                             const uint64_t rep[2], uint64_t ne[2], uint64_t nz[2],
                                                             int *n_ne, int *n_nz) {
    ne[0] = ne[1] = nz[0] = nz[1] = 0;
    for (int b = 0; b < ENC_PAD / 8; b++) {
        v8f a, o;
        LDV(a, x + 8 * b);
        STV(save + 8 * b, a);
        unsigned sh = 8u * (unsigned)(b & 7);
        nz[b >> 3] |= (uint64_t)(unsigned)__builtin_ia32_movmskps256((v8f)(a != (v8f){0})) << sh;
        if (!old) continue;
        LDV(o, old + 8 * b);
        ne[b >> 3] |= (uint64_t)(unsigned)__builtin_ia32_movmskps256((v8f)(a != o)) << sh;
    }
    SCAN_FINISH
}
#endif

/* The kernels for a vector width (cpu_plan_lanes: the same kernel set as the native-cpu backend). */
static void kernels_for(eval_incr *e) {
    e->accum = accum_base;
    e->relu = relu_base;
    e->scan = scan_base;
    e->dense = dense_base;
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    if (e->lanes == 16) e->accum = accum_v4, e->relu = relu_v4, e->scan = scan_v3, e->dense = dense_v4;
    if (e->lanes == 8) e->accum = accum_v3, e->relu = relu_v3, e->scan = scan_v3, e->dense = dense_v3;
#endif
}

/* ---- features ---- */

/* One feature per input, except the side-to-move slots b+6 (Player1) and b+7 (Player2) that every cell repeats
 * (rps_state_encode_as writes the same value into all nine in both encodings): one feature each. */
static void features_init(eval_incr *e) {
    int side[2] = {-1, -1};
    e->n_feat = 0;
    for (int i = 0; i < RPS_INPUT_SIZE; i++) {
        int slot = i % 9;
        if (slot == 6 || slot == 7) {
            if (side[slot - 6] < 0) side[slot - 6] = e->n_feat, e->rep[e->n_feat++] = (int16_t)i;
            e->feat_of[i] = (int8_t)side[slot - 6];
        } else {
            e->feat_of[i] = (int8_t)e->n_feat;
            e->rep[e->n_feat++] = (int16_t)i;
        }
    }
    e->rep_bits[0] = e->rep_bits[1] = 0;
    for (int f = 0; f < e->n_feat; f++) e->rep_bits[e->rep[f] >> 6] |= 1ull << (e->rep[f] & 63);
}

/* ---- building ---- */

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* A network of layers [from, from + n_layers) of src (weights copied) with the given trunk and heads (their
 * `first` relative to from), reading layer from - 1's output; its plan for max_batch samples. */
static nrps_status rest_plan(const nn_net *src, int from, int n_layers, int trunk, const nn_head *heads, int n_heads,
                             int max_batch, cpu_plan **out) {
    nn_arch a = {0};
    a.in = src->arch.layer[from - 1].out;
    a.n_layers = n_layers;
    for (int k = 0; k < n_layers; k++) a.layer[k] = src->arch.layer[from + k];
    a.trunk = trunk;
    a.n_heads = n_heads;
    for (int h = 0; h < n_heads; h++) a.head[h] = heads[h];
    nn_net sub = {0};
    nrps_status st = nn_init(&sub, &a);
    if (st != NRPS_OK) return st;
    for (int k = 0; k < n_layers; k++) {
        size_t out_w = (size_t)a.layer[k].out, in_w = (size_t)nn_layer_in(&a, k);
        memcpy(sub.w[k], src->w[from + k], out_w * in_w * sizeof(float));
        memcpy(sub.b[k], src->b[from + k], out_w * sizeof(float));
    }
    st = cpu_plan_create(&sub, max_batch, out);
    nn_free(&sub);
    return st;
}

/* A one-head rest of at most LOOP_MAX_MACS multiply-adds runs as a loop over its layers (measured: for the default
 * 81-128-9 / 81-64-1 pair the plan's per-call work costs more than the two small layers themselves). */
enum { LOOP_MAX_MACS = 4096 };

/* The loop over layers [from, from + count) of src: weights copied, scratch for two rows of the widest layer. */
static nrps_status rest_loop(branch *b, const nn_net *src, int from, int count) {
    size_t floats = 0;
    int widest = 1;
    for (int k = 0; k < count; k++) {
        b->lin[k] = nn_layer_in(&src->arch, from + k);
        b->lout[k] = src->arch.layer[from + k].out;
        b->lact[k] = src->arch.layer[from + k].act;
        b->lalpha[k] = src->arch.layer[from + k].alpha;
        floats += (size_t)b->lout[k] * ((size_t)b->lin[k] + 1);
        if (b->lout[k] > widest) widest = b->lout[k];
    }
    b->loop_params = malloc(floats * sizeof(float));
    b->tmp = malloc(2 * (size_t)widest * sizeof(float));
    if (!b->loop_params || !b->tmp) return NRPS_ERR_NOMEM;
    float *p = b->loop_params;
    for (int k = 0; k < count; k++) {
        size_t nw = (size_t)b->lout[k] * (size_t)b->lin[k];
        memcpy(p, src->w[from + k], nw * sizeof(float));
        memcpy(p + nw, src->b[from + k], (size_t)b->lout[k] * sizeof(float));
        b->lw[k] = p, b->lb[k] = p + nw, p += nw + (size_t)b->lout[k];
    }
    b->n_loop = count;
    b->loop_width = widest;
    return NRPS_OK;
}

static long rest_macs(const nn_net *n, int from, int count) {
    long macs = 0;
    for (int k = 0; k < count; k++) macs += (long)nn_layer_in(&n->arch, from + k) * n->arch.layer[from + k].out;
    return macs;
}

/* Branch over layer l of n (outputs padded to `block` floats): feature columns summed in double, the bias, h. */
static nrps_status branch_weights(eval_incr *e, branch *b, const nn_net *n, int l, int block, int max_batch) {
    const nn_layer_spec *ls = &n->arch.layer[l];
    int in = nn_layer_in(&n->arch, l);
    b->width = ls->out;
    b->outp = (int)round_up((size_t)ls->out, (size_t)block);
    b->act = ls->act;
    b->alpha = ls->alpha;
    b->wc = calloc((size_t)e->n_feat * (size_t)b->outp, sizeof(float));
    b->bias = calloc((size_t)b->outp, sizeof(float));
    int has_rest = b->rest || b->n_loop;
    b->h = has_rest ? calloc((size_t)max_batch * (size_t)b->width, sizeof(float)) : NULL;
    if (!b->wc || !b->bias || (has_rest && !b->h)) return NRPS_ERR_NOMEM;
    for (int j = 0; j < b->width; j++) {
        const float *row = n->w[l] + (size_t)j * (size_t)in;
        double sum[RPS_INPUT_SIZE] = {0};
        for (int i = 0; i < in; i++) sum[e->feat_of[i]] += row[i];
        for (int f = 0; f < e->n_feat; f++) b->wc[(size_t)f * (size_t)b->outp + (size_t)j] = (float)sum[f];
        b->bias[j] = n->b[l][j];
    }
    return NRPS_OK;
}

/* The rest plans of n and which heads each branch yields (see the file comment). */
static nrps_status inet_plans(inet *t, const nn_net *n, int max_batch) {
    const nn_arch *a = &n->arch;
    nrps_status st = NRPS_OK;
    if (a->trunk > 0) {
        nn_head hd[NN_MAX_HEADS];
        for (int h = 0; h < a->n_heads; h++) hd[h] = a->head[h], hd[h].first -= 1, t->br[0].head[h] = h;
        t->n_branch = 1;
        t->br[0].n_out = a->n_heads;
        return rest_plan(n, 1, a->n_layers - 1, a->trunk - 1, hd, a->n_heads, max_batch, &t->br[0].rest);
    }
    t->n_branch = a->n_heads;
    for (int h = 0; st == NRPS_OK && h < a->n_heads; h++) {
        nn_head hd = a->head[h];
        t->br[h].head[0] = h;
        t->br[h].n_out = 1;
        if (hd.count < 2) continue;
        int first = hd.first + 1, count = hd.count - 1;
        hd.first = 0, hd.count = count;
        if (rest_macs(n, first, count) <= LOOP_MAX_MACS) st = rest_loop(&t->br[h], n, first, count);
        else st = rest_plan(n, first, count, 0, &hd, 1, max_batch, &t->br[h].rest);
    }
    return st;
}

/* Input layer of branch k of n: layer 0 with a trunk, else head k's first layer. */
static int branch_layer(const nn_net *n, int k) { return n->arch.trunk > 0 ? 0 : n->arch.head[k].first; }

static nrps_status inet_weights(eval_incr *e, inet *t, const nn_net *n, int max_batch) {
    const nn_arch *a = &n->arch;
    t->n_heads = a->n_heads;
    for (int h = 0; h < a->n_heads; h++) {
        t->head_width[h] = nn_head_width(a, h);
        if (!(t->y[h] = calloc((size_t)max_batch * (size_t)t->head_width[h], sizeof(float)))) return NRPS_ERR_NOMEM;
    }
    nrps_status st = NRPS_OK;
    for (int k = 0; st == NRPS_OK && k < t->n_branch; k++)
        st = branch_weights(e, &t->br[k], n, branch_layer(n, k), 4 * e->lanes, max_batch);
    return st;
}

static void inet_free(inet *t) {
    for (int k = 0; k < NN_MAX_HEADS; k++) {
        free(t->br[k].wc);
        free(t->br[k].bias);
        free(t->br[k].h);
        cpu_plan_destroy(t->br[k].rest);
        free(t->br[k].loop_params);
        free(t->br[k].tmp);
        free(t->y[k]);
    }
}

void eval_incr_destroy(eval_incr *e) {
    if (!e) return;
    for (int i = 0; i < 2; i++) inet_free(&e->net[i]);
    free(e->ring);
    free(e->held);
    free(e);
}

/* Checks that n fits the game as `want` (its head index into *out) and that it reads RPS_INPUT_SIZE inputs. */
static nrps_status fit(const nn_net *n, const char *name, nn_head_kind want, int *out) {
    be_info *info = calloc(1, sizeof *info);
    if (!info) return NRPS_ERR_NOMEM;
    be_info_from_net(n, NULL, info);
    snprintf(info->model_path, sizeof info->model_path, "%s", name);
    nrps_status st = eval_net_fit(info, want, out);
    free(info);
    return st;
}

/* Which networks and encodings there are, and where the policy and value outputs come from. */
static nrps_status wire(eval_incr *e, const eval_incr_nets *nets) {
    const char *pn = nets->policy_name ? nets->policy_name : "policy network";
    const char *vn = nets->value_name ? nets->value_name : "value network";
    nrps_status st = fit(nets->policy, pn, NN_HEAD_POLICY, &e->pol_out);
    if (st != NRPS_OK) return st;
    e->pol_act = nn_head_act(&nets->policy->arch, e->pol_out);
    e->n_net = 1;
    e->n_enc = 1;
    e->enc[0] = nets->penc;
    e->val_net = -1;
    if (!nets->value) return NRPS_OK;
    if (nets->value == nets->policy && nets->venc != nets->penc) {
        nrps_set_error("%s: one two-headed network cannot take two input encodings", pn);
        return NRPS_ERR_ARG;
    }
    if ((st = fit(nets->value, nets->value == nets->policy ? pn : vn, NN_HEAD_VALUE, &e->val_out)) != NRPS_OK)
        return st;
    e->val_act = nn_head_act(&nets->value->arch, e->val_out);
    e->val_net = nets->value == nets->policy ? 0 : 1;
    if (e->val_net == 1) e->n_net = 2;
    if (nets->venc != nets->penc) e->enc[e->n_enc++] = nets->venc;
    e->net[0].enc = 0;
    e->net[1].enc = nets->venc == nets->penc ? 0 : 1;
    return NRPS_OK;
}

/* The ring: every entry holds the feature values per encoding, then each branch's accumulator. */
static nrps_status ring_init(eval_incr *e, int slots) {
    uint32_t n = 1;
    while ((int)n < slots && n < INCR_MAX_SLOTS) n <<= 1;
    size_t off = round_up((size_t)e->n_enc * ENC_PAD, INCR_ALIGN);
    for (int t = 0; t < e->n_net; t++)
        for (int k = 0; k < e->net[t].n_branch; k++) {
            e->net[t].br[k].acc_off = off;
            off += round_up((size_t)e->net[t].br[k].outp, INCR_ALIGN);
        }
    e->entry_floats = off;
    e->ring = aligned_alloc(64, (size_t)n * off * sizeof(float));
    e->held = calloc(n, sizeof *e->held);
    if (!e->ring || !e->held) return NRPS_ERR_NOMEM;
    memset(e->ring, 0, (size_t)n * off * sizeof(float));
    e->mask = n - 1;
    e->next = 1;
    return NRPS_OK;
}

static void describe(eval_incr *e) {
    size_t pos = (size_t)snprintf(e->desc, sizeof e->desc, "accumulators");
    for (int t = 0; t < e->n_net; t++)
        for (int k = 0; k < e->net[t].n_branch && pos < sizeof e->desc; k++)
            pos += (size_t)snprintf(e->desc + pos, sizeof e->desc - pos, "%s%d", t + k ? "+" : " ",
                                    e->net[t].br[k].width);
    if (pos < sizeof e->desc)
        snprintf(e->desc + pos, sizeof e->desc - pos, " over %d features, %d-lane vectors, ring of %u", e->n_feat,
                 e->lanes, e->mask + 1);
}

static nrps_status evaluate_from(void *ctx, const rps_state *states, const uint32_t *from, uint32_t *ids, int n,
                                 float *policy, float *value);
static nrps_status evaluate(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    return evaluate_from(ctx, states, NULL, NULL, n, policy, value);
}

/* The vector width of the kernel set the native-cpu kernels pick here (CPU and NRPS_CPU_ISA / NRPS_NO_AVX512): asked
 * of a plan for a 1-1 network, so that the one decision lives in cpu_kernels.c. */
static nrps_status probe_lanes(int *lanes) {
    nn_arch a = nn_arch_mlp(1, NULL, 0, NN_ACT_NONE, 0, 1, NN_ACT_NONE, NN_HEAD_OTHER);
    nn_net n = {0};
    cpu_plan *p = NULL;
    nrps_status st = nn_init(&n, &a);
    if (st == NRPS_OK) st = cpu_plan_create(&n, 1, &p);
    if (st == NRPS_OK) *lanes = cpu_plan_lanes(p);
    cpu_plan_destroy(p);
    nn_free(&n);
    return st;
}

/* Plans first, then the kernel set, the feature columns and the ring. */
static nrps_status build(eval_incr *e, const eval_incr_nets *nets, int max_batch, int slots) {
    const nn_net *src[2] = {nets->policy, nets->value};
    nrps_status st = wire(e, nets);
    for (int t = 0; st == NRPS_OK && t < e->n_net; t++) st = inet_plans(&e->net[t], src[t], max_batch);
    if (st != NRPS_OK) return st;
    if ((st = probe_lanes(&e->lanes)) != NRPS_OK) return st;
    kernels_for(e);
    features_init(e);
    for (int t = 0; st == NRPS_OK && t < e->n_net; t++) st = inet_weights(e, &e->net[t], src[t], max_batch);
    if (st == NRPS_OK) st = ring_init(e, slots);
    return st;
}

eval_incr *eval_incr_create(const eval_incr_nets *nets, int max_batch, int slots) {
    if (!nets || !nets->policy || max_batch < 1 || max_batch > 65536 || slots < 1) {
        nrps_set_error("eval_incr: need a policy network, 1 <= max_batch <= 65536 and slots >= 1");
        return NULL;
    }
    eval_incr *e = calloc(1, sizeof *e);
    nrps_status st = e ? build(e, nets, max_batch, slots) : NRPS_ERR_NOMEM;
    if (st != NRPS_OK) {
        if (st == NRPS_ERR_NOMEM) nrps_set_error("eval_incr: out of memory");
        eval_incr_destroy(e);
        return NULL;
    }
    describe(e);
    e->ev = (mcts_evaluator){.ctx = e, .evaluate = evaluate, .evaluate_from = evaluate_from,
                             .max_batch = max_batch, .name = "net (incremental)"};
    return e;
}

int eval_incr_slots_for(int playouts) {
    long n = 2 * ((long)playouts + 2);
    return n > INCR_MAX_SLOTS ? INCR_MAX_SLOTS : (int)n;
}

/* ---- evaluation ---- */

static float *entry_of(const eval_incr *e, uint32_t id) {
    return e->ring + (size_t)(id & e->mask) * e->entry_floats;
}

static int is_held(const eval_incr *e, uint32_t id) { return id != MCTS_EVAL_NONE && e->held[id & e->mask] == id; }

/* act(acc) into h[width] (the branch's element-wise activation). */
static void activate(const eval_incr *e, const branch *b, const float *acc, float *h) {
    if (b->act == NN_ACT_RELU) e->relu(h, acc, b->width);
    else {
        memcpy(h, acc, (size_t)b->width * sizeof *h);
        cpu_act_rows(b->act, b->alpha, h, 1, b->width); /* tanh / sigmoid vectorised */
    }
}

/* Accumulators of encoding k's networks for position i: from src's (delta) or from the biases (full); then the
 * branch's input to the rest (h row i) or, for a head's last layer, the raw output row (y). */
static void accumulate(eval_incr *e, int k, float *dst, const float *src, const int16_t *idx, const float *coef,
                       int cnt, int i) {
    for (int t = 0; t < e->n_net; t++) {
        inet *net = &e->net[t];
        if (net->enc != k) continue;
        for (int r = 0; r < net->n_branch; r++) {
            branch *b = &net->br[r];
            float *acc = dst + b->acc_off, *h = b->h ? b->h + (size_t)i * (size_t)b->width : NULL;
            int fused = h && b->act == NN_ACT_RELU && b->width == b->outp;
            e->accum(acc, fused ? h : NULL, src ? src + b->acc_off : b->bias, b->wc, b->outp, idx, coef, cnt);
            if (!h) memcpy(net->y[b->head[0]] + (size_t)i * (size_t)b->width, acc, (size_t)b->width * sizeof(float));
            else if (!fused) activate(e, b, acc, h);
        }
    }
}

/* Position i (state s) into the entry dst, from the entry src (another entry) when held (NULL otherwise). For
 * each encoding the inputs that changed and the non-zero ones are found as bit masks (only each feature's
 * representative input counts); the shorter list is added (to src's accumulators or the biases). */
static void eval_position(eval_incr *e, const rps_state *s, const float *src, float *dst, int i) {
    for (int k = 0; k < e->n_enc; k++) {
        float coef[RPS_INPUT_SIZE], cur[ENC_PAD];
        int16_t idx[RPS_INPUT_SIZE];
        const float *old = src ? src + (size_t)k * ENC_PAD : NULL;
        rps_state_encode_as(s, e->enc[k], cur);
        for (int j = RPS_INPUT_SIZE; j < ENC_PAD; j++) cur[j] = 0;
        uint64_t ne[2], nz[2];
        int nch, nnz;
        e->scan(cur, old, dst + (size_t)k * ENC_PAD, e->rep_bits, ne, nz, &nch, &nnz);
        int delta = old && nch < nnz, cnt = 0;
        for (int w = 0; w < 2; w++)
            for (uint64_t m = delta ? ne[w] : nz[w]; m; m &= m - 1) {
                int in = 64 * w + __builtin_ctzll(m);
                idx[cnt] = e->feat_of[in];
                coef[cnt++] = delta ? cur[in] - old[in] : cur[in];
            }
        e->stats.deltas += delta;
        e->stats.refreshes += !delta;
        e->stats.no_parent += !old;
        e->stats.columns += cnt;
        accumulate(e, k, dst, delta ? src : NULL, idx, coef, cnt, i);
    }
}

/* Branch b's loop rest for row i: h row i through its layers into y's row i (before the head's final activation). */
static void run_loop(const eval_incr *e, const branch *b, int i, float *y) {
    const float *x = b->h + (size_t)i * (size_t)b->width;
    for (int k = 0; k < b->n_loop; k++) {
        int last = k == b->n_loop - 1;
        float *out = last ? y + (size_t)i * (size_t)b->lout[k] : b->tmp + (size_t)(k & 1) * (size_t)b->loop_width;
        e->dense(out, x, b->lw[k], b->lb[k], b->lin[k], b->lout[k]);
        if (!last) {
            if (b->lact[k] == NN_ACT_RELU) e->relu(out, out, b->lout[k]);
            else cpu_act_rows(b->lact[k], b->lalpha[k], out, 1, b->lout[k]);
        }
        x = out;
    }
}

/* The rest of every network over the batch, then each head's final activation where no plan applied it. */
static nrps_status run_rest(eval_incr *e, int n) {
    for (int t = 0; t < e->n_net; t++) {
        inet *net = &e->net[t];
        for (int r = 0; r < net->n_branch; r++) {
            branch *b = &net->br[r];
            if (!b->rest) {
                for (int i = 0; i < n && b->n_loop; i++) run_loop(e, b, i, net->y[b->head[0]]);
                int last = b->n_loop - 1; /* the head's last layer: this one (-1) or the loop's */
                nn_act act = last < 0 ? b->act : b->lact[last];
                float alpha = last < 0 ? b->alpha : b->lalpha[last];
                cpu_act_rows(act, alpha, net->y[b->head[0]], n, last < 0 ? b->width : b->lout[last]);
                continue;
            }
            float *y[NN_MAX_HEADS];
            for (int o = 0; o < b->n_out; o++) y[o] = net->y[b->head[o]];
            nrps_status st = cpu_plan_run(b->rest, b->h, n, y);
            if (st != NRPS_OK) return st;
        }
    }
    return NRPS_OK;
}

static nrps_status evaluate_from(void *ctx, const rps_state *states, const uint32_t *from, uint32_t *ids, int n,
                                 float *policy, float *value) {
    eval_incr *e = ctx;
    if (n < 1 || n > e->ev.max_batch) {
        nrps_set_error("eval_incr: batch %d outside [1, %d]", n, e->ev.max_batch);
        return NRPS_ERR_ARG;
    }
    for (int i = 0; i < n; i++) {
        uint32_t id = e->next++;
        if (e->next == MCTS_EVAL_NONE) e->next = 1;
        /* a parent in the very entry being rewritten (a ring's length ago) counts as not held */
        const float *src = from && is_held(e, from[i]) && ((from[i] ^ id) & e->mask) ? entry_of(e, from[i]) : NULL;
        float *dst = entry_of(e, id);
        e->held[id & e->mask] = MCTS_EVAL_NONE;
        eval_position(e, &states[i], src, dst, i);
        e->held[id & e->mask] = id;
        if (ids) ids[i] = id;
    }
    e->stats.evals += n;
    nrps_status st = run_rest(e, n);
    if (st != NRPS_OK) return st;
    const float *py = e->net[e->pol_net].y[e->pol_out];
    const float *vy = e->val_net >= 0 ? e->net[e->val_net].y[e->val_out] : NULL;
    nn_search_outputs(py, e->pol_act, RPS_POLICY_SIZE, vy, e->val_act, n, policy, value);
    return NRPS_OK;
}

/* ---- opening from files ---- */

/* The model at path or the given one, as a network of the family (*own: loaded here, the caller frees it). */
static nrps_status open_net(const char *path, const be_model *given, be_model **own, const nn_net **net,
                            rps_encoding *enc, const char **name) {
    const be_model *m = given;
    nrps_status st = NRPS_OK;
    if (!m && (st = be_model_load(path, own)) != NRPS_OK) return st;
    if (!m) m = *own;
    *name = be_model_path(m);
    if (!(*net = be_model_net(m))) {
        nrps_set_error("%s (eval=incremental needs a network of the layer-list family)", be_model_refusal(m));
        return NRPS_ERR_UNSUPPORTED;
    }
    return eval_net_model_encoding(be_model_path(m), be_model_info(m)->input_encoding, enc);
}

eval_incr *eval_incr_open(const eval_net_spec *s, int max_batch, int slots) {
    if (s->backend && *s->backend && strcmp(s->backend, "native-cpu")) {
        nrps_set_error("eval=incremental needs backend=native-cpu, got %s", s->backend);
        return NULL;
    }
    be_model *own[2] = {NULL, NULL};
    eval_incr_nets nets = {0};
    eval_incr *e = NULL;
    nrps_status st;
    if (s->net_path || s->net) {
        st = open_net(s->net_path, s->net, &own[0], &nets.policy, &nets.penc, &nets.policy_name);
        nets.value = nets.policy, nets.venc = nets.penc;
    } else {
        st = open_net(s->policy_path, s->policy, &own[0], &nets.policy, &nets.penc, &nets.policy_name);
        if (st == NRPS_OK && (s->value_path || s->value))
            st = open_net(s->value_path, s->value, &own[1], &nets.value, &nets.venc, &nets.value_name);
    }
    if (st == NRPS_OK) e = eval_incr_create(&nets, max_batch, slots);
    be_model_free(own[0]);
    be_model_free(own[1]);
    return e;
}

const mcts_evaluator *eval_incr_evaluator(eval_incr *e) { return &e->ev; }
eval_incr_stats eval_incr_get_stats(const eval_incr *e) { return e->stats; }
const char *eval_incr_describe(const eval_incr *e) { return e->desc; }
