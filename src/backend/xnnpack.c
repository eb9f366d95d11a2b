/* xnnpack.c - the xnnpack-cpu backend: XNNPACK's operator API (Debian's libxnnpack-dev 0.0~git20220216) on the
 * network read from the same ONNX bytes ONNX Runtime runs, as a peer to compare our own kernels with.
 *
 * One xnn_create_fully_connected_nc_f32 operator per layer (W [out][in] and b packed by XNNPACK at creation, so
 * the model may be freed afterwards). Hidden activations: ReLU fused into the operator (output_min 0), LeakyReLU
 * and Sigmoid as XNNPACK's leaky_relu / sigmoid operators in place on the layer's output, Tanh (no f32 tanh
 * operator in this XNNPACK) with cpu_act_rows (native-cpu's vector tanh, so that a Tanh net compares XNNPACK's
 * GEMMs, not our scalar libm). Every head's final activation is applied to the caller's rows with cpu_act_rows
 * (src/backend/cpu_kernels.h), as native-cpu does, so the project keeps one softmax and one sigmoid for outputs.
 * Layers run in order trunk | head 0 | head 1: the trunk's output stays in one scratch buffer while each head
 * ping-pongs between the two others and writes its last layer straight into the caller's out[h].
 *
 * Threads: be_options.threads > 1 gives the handle its own pthreadpool of that many threads (the caller's
 * included); 1 runs on the calling thread (NULL pool). Operators are set up for a batch size and fixed buffer
 * addresses: a call re-sets up only the operators whose batch or input/output addresses changed since the last
 * call, so repeated calls at one batch from the same buffers (the benchmark's be_io_buffers path) do no setup at
 * all; setup never allocates, and nothing in the call path does. Scratch is sized for max_batch at creation.
 * xnn_initialize runs once per process (pthread_once). One handle per thread (its scratch, setup and pool).
 * Built only when the Makefile found /usr/include/xnnpack.h (NRPS_HAVE_XNNPACK); otherwise the constructor
 * fails with NRPS_ERR_UNSUPPORTED and a one-line reason. */
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"

#ifdef NRPS_HAVE_XNNPACK
#include <math.h>
#include <pthread.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include "backend/cpu_kernels.h"

#ifndef NRPS_XNNPACK_VERSION
#define NRPS_XNNPACK_VERSION "unknown version"
#endif

/* Where a layer reads or writes: the caller's input, one of the three scratch buffers, or head h's output. */
enum { SLOT_IN = 0, SLOT_BUF0 = 1, SLOT_OUT0 = 4, N_SLOTS = SLOT_OUT0 + NN_MAX_HEADS };

typedef struct {
    xnn_operator_t fc;  /* y = W x + b (ReLU fused for a hidden ReLU layer) */
    xnn_operator_t act; /* hidden LeakyReLU / Sigmoid, in place on y; NULL otherwise */
    int tanh;           /* 1: hidden Tanh, applied with cpu_act_rows */
    int head;           /* >= 0: last layer of head `head` (its final activation goes on out[head]) */
    int out;            /* output width */
    nn_act a;
    float alpha;
    int src, dst;       /* SLOT_* */
    int set_batch;      /* what fc (and act) are set up for; 0: not yet */
    const float *set_x;
    float *set_y;
} xl_layer;

typedef struct {
    int n_layers;
    xl_layer layer[NN_MAX_LAYERS];
    pthreadpool_t pool; /* NULL: single-threaded */
    float *buf[3];      /* max_batch x widest layer each */
    be_host_io io;
} xnn_ctx;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static enum xnn_status g_init;
static void xnn_init_once(void) { g_init = xnn_initialize(NULL); }

static const char *xs_name(enum xnn_status s) {
    switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
    }
    return "unknown";
}

/* NRPS_OK for success; otherwise sets "<prefix><what> failed (status N: name)" and returns NRPS_ERR_NOMEM for
 * XNNPACK's out-of-memory, NRPS_ERR_BACKEND for anything else. prefix: "" at creation (be_create names the
 * backend), "xnnpack-cpu: " in a run. */
static nrps_status xs_check(enum xnn_status s, const char *prefix, const char *what, int layer) {
    if (s == xnn_status_success) return NRPS_OK;
    if (layer >= 0) nrps_set_error("%s%s of layer %d failed (status %d: %s)", prefix, what, layer, (int)s, xs_name(s));
    else nrps_set_error("%s%s failed (status %d: %s)", prefix, what, (int)s, xs_name(s));
    return s == xnn_status_out_of_memory ? NRPS_ERR_NOMEM : NRPS_ERR_BACKEND;
}

static void xnn_destroy(void *p) {
    xnn_ctx *c = p;
    if (!c) return;
    for (int l = 0; l < c->n_layers; l++) {
        if (c->layer[l].fc) xnn_delete_operator(c->layer[l].fc);
        if (c->layer[l].act) xnn_delete_operator(c->layer[l].act);
    }
    if (c->pool) pthreadpool_destroy(c->pool);
    for (int i = 0; i < 3; i++) free(c->buf[i]);
    be_host_io_free(&c->io);
    free(c);
}

static void xnn_io_buffers(void *p, float **in, float **out) { be_host_io_get(&((xnn_ctx *)p)->io, in, out); }

/* The head whose last layer is l, or -1. */
static int head_ending_at(const nn_arch *a, int l) {
    for (int h = 0; h < a->n_heads; h++)
        if (l == a->head[h].first + a->head[h].count - 1) return h;
    return -1;
}

/* Fills every layer's src/dst: the trunk ping-pongs BUF0/BUF1 from the input; each head starts from the trunk's
 * output, ping-pongs between the other of BUF0/BUF1 and BUF2, and ends in its own output slot. */
static void plan_slots(const nn_arch *a, xl_layer *ly) {
    for (int l = 0; l < a->trunk; l++) {
        ly[l].src = l == 0 ? SLOT_IN : SLOT_BUF0 + ((l - 1) & 1);
        ly[l].dst = SLOT_BUF0 + (l & 1);
    }
    const int t = a->trunk > 0 ? ly[a->trunk - 1].dst : SLOT_IN;
    const int hb[2] = {t == SLOT_BUF0 ? SLOT_BUF0 + 1 : SLOT_BUF0, SLOT_BUF0 + 2};
    for (int h = 0; h < a->n_heads; h++)
        for (int j = 0; j < a->head[h].count; j++) {
            xl_layer *y = &ly[a->head[h].first + j];
            y->src = j == 0 ? t : hb[(j - 1) & 1];
            y->dst = j == a->head[h].count - 1 ? SLOT_OUT0 + h : hb[j & 1];
        }
}

/* Creates layer l's operators from n's weights. */
static nrps_status layer_create(const nn_net *n, int l, xl_layer *y) {
    const nn_layer_spec *s = &n->arch.layer[l];
    const int in = nn_layer_in(&n->arch, l);
    y->out = s->out, y->a = s->act, y->alpha = s->alpha;
    y->head = head_ending_at(&n->arch, l);
    const int hidden = y->head < 0;
    const float lo = hidden && s->act == NN_ACT_RELU ? 0.0f : -INFINITY;
    nrps_status st = xs_check(xnn_create_fully_connected_nc_f32((size_t)in, (size_t)s->out, (size_t)in,
                                                                (size_t)s->out, n->w[l], n->b[l], lo, INFINITY, 0,
                                                                &y->fc),
                              "", "xnn_create_fully_connected_nc_f32", l);
    if (st == NRPS_OK && hidden && s->act == NN_ACT_LEAKY_RELU)
        st = xs_check(xnn_create_leaky_relu_nc_f32((size_t)s->out, (size_t)s->out, (size_t)s->out, s->alpha, 0,
                                                   &y->act),
                      "", "xnn_create_leaky_relu_nc_f32", l);
    if (st == NRPS_OK && hidden && s->act == NN_ACT_SIGMOID)
        st = xs_check(xnn_create_sigmoid_nc_f32((size_t)s->out, (size_t)s->out, (size_t)s->out, 0, &y->act), "",
                      "xnn_create_sigmoid_nc_f32", l);
    y->tanh = hidden && s->act == NN_ACT_TANH;
    return st;
}

/* Sets up layer l's operators for (batch, x, y) unless they already are. */
static nrps_status layer_setup(xnn_ctx *c, int l, int batch, const float *x, float *y) {
    xl_layer *ly = &c->layer[l];
    if (ly->set_batch == batch && ly->set_x == x && ly->set_y == y) return NRPS_OK;
    ly->set_batch = 0;
    nrps_status st = xs_check(xnn_setup_fully_connected_nc_f32(ly->fc, (size_t)batch, x, y, c->pool),
                              "xnnpack-cpu: ", "xnn_setup_fully_connected_nc_f32", l);
    if (st == NRPS_OK && ly->act) {
        const size_t nb = (size_t)batch;
        enum xnn_status s = ly->a == NN_ACT_SIGMOID ? xnn_setup_sigmoid_nc_f32(ly->act, nb, y, y, c->pool)
                                                    : xnn_setup_leaky_relu_nc_f32(ly->act, nb, y, y, c->pool);
        st = xs_check(s, "xnnpack-cpu: ", "setup of the activation operator", l);
    }
    if (st != NRPS_OK) return st;
    ly->set_batch = batch, ly->set_x = x, ly->set_y = y;
    return NRPS_OK;
}

static nrps_status layer_run(xnn_ctx *c, int l, int batch, const float *x, float *y) {
    xl_layer *ly = &c->layer[l];
    nrps_status st = layer_setup(c, l, batch, x, y);
    if (st == NRPS_OK) st = xs_check(xnn_run_operator(ly->fc, c->pool), "xnnpack-cpu: ", "xnn_run_operator (fc)", l);
    if (st == NRPS_OK && ly->act)
        st = xs_check(xnn_run_operator(ly->act, c->pool), "xnnpack-cpu: ", "xnn_run_operator (activation)", l);
    if (st != NRPS_OK) return st;
    if (ly->tanh || ly->head >= 0) cpu_act_rows(ly->a, ly->alpha, y, batch, ly->out);
    return NRPS_OK;
}

static nrps_status xnn_run(void *p, const float *in, int batch, float *const *out) {
    xnn_ctx *c = p;
    float *slot[N_SLOTS] = {(float *)in, c->buf[0], c->buf[1], c->buf[2]}; /* SLOT_IN is only ever a src */
    for (int h = 0; h < NN_MAX_HEADS; h++) slot[SLOT_OUT0 + h] = c->io.n_out > h ? out[h] : NULL;
    for (int l = 0; l < c->n_layers; l++) {
        nrps_status st = layer_run(c, l, batch, slot[c->layer[l].src], slot[c->layer[l].dst]);
        if (st != NRPS_OK) return st;
    }
    return NRPS_OK;
}

/* Scratch, host buffers, the pool and every layer's operators. */
static nrps_status ctx_fill(xnn_ctx *c, const nn_net *n, const be_options *opt) {
    const nn_arch *a = &n->arch;
    nrps_status st = be_host_io_alloc(&c->io, a, opt->max_batch);
    if (st != NRPS_OK) return st;
    const size_t per = (size_t)opt->max_batch * (size_t)nn_arch_max_width(a);
    for (int i = 0; i < 3; i++)
        if (!(c->buf[i] = malloc(per * sizeof(float)))) {
            nrps_set_error("out of memory for %d-sample scratch", opt->max_batch);
            return NRPS_ERR_NOMEM;
        }
    if (opt->threads > 1 && !(c->pool = pthreadpool_create((size_t)opt->threads))) {
        nrps_set_error("pthreadpool_create(%d) failed", opt->threads);
        return NRPS_ERR_BACKEND;
    }
    plan_slots(a, c->layer);
    for (int l = 0; l < a->n_layers; l++, c->n_layers++)
        if ((st = layer_create(n, l, &c->layer[l])) != NRPS_OK) return st;
    return NRPS_OK;
}

nrps_status be_xnnpack_create(const char *name, const be_model *model, const be_options *opt, be_backend *b) {
    (void)name;
    pthread_once(&g_once, xnn_init_once);
    nrps_status st = xs_check(g_init, "", "xnn_initialize", -1);
    if (st != NRPS_OK) return st;
    const nn_net *n = be_model_net(model);
    xnn_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    if ((st = ctx_fill(c, n, opt)) != NRPS_OK) {
        xnn_destroy(c);
        return st;
    }
    char arch[128];
    nn_arch_describe(&n->arch, arch, sizeof arch);
    b->info.threads = c->pool ? (int)pthreadpool_get_threads_count(c->pool) : 1;
    snprintf(b->info.provider, sizeof b->info.provider, "XNNPACK (Debian %s) fully-connected f32 %.100s, %d thread%s",
             NRPS_XNNPACK_VERSION, arch, b->info.threads, b->info.threads == 1 ? "" : "s");
    snprintf(b->info.device, sizeof b->info.device, "CPU");
    snprintf(b->info.note, sizeof b->info.note, "host buffers, no copies; operators set up once per batch size");
    b->ctx = c;
    b->run = xnn_run;
    b->io_buffers = xnn_io_buffers;
    b->destroy = xnn_destroy;
    return NRPS_OK;
}
#else
nrps_status be_xnnpack_create(const char *name, const be_model *model, const be_options *opt, be_backend *b) {
    (void)name, (void)model, (void)opt, (void)b;
    nrps_set_error("not built (libxnnpack-dev was not installed when neural_rps was compiled; run make deps)");
    return NRPS_ERR_UNSUPPORTED;
}
#endif
