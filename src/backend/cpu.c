/* cpu.c - the native-cpu backend: our own C forward pass on the weights read (with onnx_mlp_load) from the
 * same ONNX file ONNX Runtime runs. Single-threaded. The layout is chosen for the compiler's vectoriser at -O2:
 * W1 is kept transposed ([in][hidden]) so the hidden layer is a run of contiguous axpy's over 8-sample tiles
 * (each weight row is loaded once per tile), and the output layer uses 8 partial sums per dot product.
 * mlp_forward (src/nn) stays the numerical reference; results agree with it to float rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"

enum { TILE = 8 };

typedef struct {
    mlp m;
    float *w1t;   /* [in][hidden] */
    float *h;     /* TILE * hidden scratch */
    float *in_buf, *out_buf; /* max_batch samples, for io_buffers */
} cpu_ctx;

static void cpu_destroy(void *p) {
    cpu_ctx *c = p;
    if (!c) return;
    mlp_free(&c->m);
    free(c->w1t);
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
        for (int i = 0; i < n; i++) s += expf(y[i] - mx);
        if (a == MLP_ACT_SOFTMAX) {
            for (int i = 0; i < n; i++) y[i] = expf(y[i] - mx) / s;
        } else {
            float ls = logf(s);
            for (int i = 0; i < n; i++) y[i] = y[i] - mx - ls;
        }
    } else if (a == MLP_ACT_SIGMOID || a == MLP_ACT_TANH) {
        for (int i = 0; i < n; i++) y[i] = act1(a, y[i]);
    }
}

static float dot8(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[j + k] * b[j + k];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

static nrps_status cpu_run(void *p, const float *in, int batch, float *out) {
    cpu_ctx *c = p;
    const mlp *m = &c->m;
    const int I = m->in, H = m->hidden, O = m->out;
    for (int s0 = 0; s0 < batch; s0 += TILE) {
        int ns = batch - s0 < TILE ? batch - s0 : TILE;
        for (int s = 0; s < ns; s++) memcpy(c->h + (size_t)s * H, m->b1, sizeof(float) * H);
        for (int i = 0; i < I; i++) {
            const float *w = c->w1t + (size_t)i * H;
            for (int s = 0; s < ns; s++) {
                float xv = in[(size_t)(s0 + s) * I + i];
                float *h = c->h + (size_t)s * H;
                for (int j = 0; j < H; j++) h[j] += xv * w[j];
            }
        }
        for (int s = 0; s < ns; s++) {
            float *h = c->h + (size_t)s * H;
            if (m->hidden_act == MLP_ACT_RELU)
                for (int j = 0; j < H; j++) h[j] = h[j] > 0.0f ? h[j] : 0.0f;
            else
                for (int j = 0; j < H; j++) h[j] = act1(m->hidden_act, h[j]);
            float *y = out + (size_t)(s0 + s) * O;
            for (int o = 0; o < O; o++) y[o] = m->b2[o] + dot8(h, m->w2 + (size_t)o * H, H);
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
    c->w1t = malloc(sizeof(float) * (size_t)I * H);
    c->h = malloc(sizeof(float) * (size_t)TILE * H);
    c->in_buf = calloc((size_t)opt->max_batch * I, sizeof(float));
    c->out_buf = calloc((size_t)opt->max_batch * O, sizeof(float));
    if (!c->w1t || !c->h || !c->in_buf || !c->out_buf) {
        cpu_destroy(c);
        nrps_set_error("out of memory for %d-sample native-cpu buffers", opt->max_batch);
        return NRPS_ERR_NOMEM;
    }
    for (int j = 0; j < H; j++)
        for (int i = 0; i < I; i++) c->w1t[(size_t)i * H + j] = c->m.w1[(size_t)j * I + i];
    b->info.create_ms = (nrps_now_s() - t0) * 1e3;
    snprintf(b->info.input_name, sizeof b->info.input_name, "%s", oi.input_name[0] ? oi.input_name : "input");
    snprintf(b->info.output_name, sizeof b->info.output_name, "%s", oi.output_name[0] ? oi.output_name : "output");
    b->info.input_size = I;
    b->info.output_size = O;
    b->info.threads = 1;
    snprintf(b->info.provider, sizeof b->info.provider, "native C (%d-%d-%d %s/%s, single-threaded)", I, H, O,
             mlp_act_name(c->m.hidden_act), mlp_act_name(c->m.out_act));
    snprintf(b->info.device, sizeof b->info.device, "CPU");
    snprintf(b->info.note, sizeof b->info.note, "host buffers, no copies");
    b->ctx = c;
    b->run = cpu_run;
    b->io_buffers = cpu_io_buffers;
    b->destroy = cpu_destroy;
    return NRPS_OK;
}
