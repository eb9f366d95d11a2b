/* mlp.c - the MLP struct and the plain-C reference forward pass (see mlp.h).
 * Written for clarity and numerical care rather than speed: float storage, double accumulation,
 * softmax/log-softmax with max subtraction, an overflow-safe sigmoid. */
#include "nn/mlp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t mlp_param_count(int in, int hidden, int out) {
    if (in <= 0 || hidden <= 0 || out <= 0) return 0;
    return (size_t)hidden * (size_t)in + (size_t)hidden + (size_t)out * (size_t)hidden + (size_t)out;
}

void mlp_set_views(mlp *m) {
    m->w1 = m->params;
    m->b1 = m->w1 + (size_t)m->hidden * (size_t)m->in;
    m->w2 = m->b1 + m->hidden;
    m->b2 = m->w2 + (size_t)m->out * (size_t)m->hidden;
}

nrps_status mlp_init(mlp *m, int in, int hidden, int out, mlp_act hidden_act, mlp_act out_act) {
    memset(m, 0, sizeof *m);
    if (in <= 0 || hidden <= 0 || out <= 0 || in > (1 << 20) || hidden > (1 << 20) || out > (1 << 20)) {
        nrps_set_error("mlp: bad sizes %d-%d-%d (each must be in 1..%d)", in, hidden, out, 1 << 20);
        return NRPS_ERR_ARG;
    }
    if (hidden_act != MLP_ACT_RELU && hidden_act != MLP_ACT_TANH && hidden_act != MLP_ACT_SIGMOID &&
        hidden_act != MLP_ACT_NONE) {
        nrps_set_error("mlp: hidden activation %s not supported", mlp_act_name(hidden_act));
        return NRPS_ERR_ARG;
    }
    if ((int)out_act < (int)MLP_ACT_NONE || (int)out_act > (int)MLP_ACT_LOGSOFTMAX) {
        nrps_set_error("mlp: bad output activation %d", (int)out_act);
        return NRPS_ERR_ARG;
    }
    size_t n = mlp_param_count(in, hidden, out);
    if (n > SIZE_MAX / sizeof(float) / 2) {
        nrps_set_error("mlp: %d-%d-%d is too large", in, hidden, out);
        return NRPS_ERR_NOMEM;
    }
    m->params = calloc(n, sizeof(float));
    if (!m->params) {
        nrps_set_error("mlp: out of memory for %zu parameters", n);
        return NRPS_ERR_NOMEM;
    }
    m->in = in;
    m->hidden = hidden;
    m->out = out;
    m->hidden_act = hidden_act;
    m->out_act = out_act;
    mlp_set_views(m);
    return NRPS_OK;
}

void mlp_free(mlp *m) {
    if (!m) return;
    free(m->params);
    memset(m, 0, sizeof *m);
}

nrps_status mlp_copy(mlp *dst, const mlp *src) {
    nrps_status st = mlp_init(dst, src->in, src->hidden, src->out, src->hidden_act, src->out_act);
    if (st != NRPS_OK) return st;
    memcpy(dst->params, src->params, mlp_param_count(src->in, src->hidden, src->out) * sizeof(float));
    return NRPS_OK;
}

void mlp_init_random(mlp *m, nrps_rng *rng) {
    /* PyTorch nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases. */
    double a1 = 1.0 / sqrt((double)m->in), a2 = 1.0 / sqrt((double)m->hidden);
    size_t n1 = (size_t)m->hidden * (size_t)m->in, n2 = (size_t)m->out * (size_t)m->hidden;
    for (size_t i = 0; i < n1; i++) m->w1[i] = (float)((2.0 * nrps_rng_uniform(rng) - 1.0) * a1);
    for (int i = 0; i < m->hidden; i++) m->b1[i] = (float)((2.0 * nrps_rng_uniform(rng) - 1.0) * a1);
    for (size_t i = 0; i < n2; i++) m->w2[i] = (float)((2.0 * nrps_rng_uniform(rng) - 1.0) * a2);
    for (int i = 0; i < m->out; i++) m->b2[i] = (float)((2.0 * nrps_rng_uniform(rng) - 1.0) * a2);
}

int mlp_params_finite(const mlp *m, const char **which) {
    static const char *names[4] = {"w1", "b1", "w2", "b2"};
    const float *p[4] = {m->w1, m->b1, m->w2, m->b2};
    size_t n[4] = {(size_t)m->hidden * (size_t)m->in, (size_t)m->hidden, (size_t)m->out * (size_t)m->hidden,
                   (size_t)m->out};
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < n[k]; i++)
            if (!isfinite(p[k][i])) {
                if (which) *which = names[k];
                return 0;
            }
    return 1;
}

const char *mlp_act_name(mlp_act a) {
    switch (a) {
    case MLP_ACT_NONE: return "none";
    case MLP_ACT_RELU: return "relu";
    case MLP_ACT_TANH: return "tanh";
    case MLP_ACT_SIGMOID: return "sigmoid";
    case MLP_ACT_SOFTMAX: return "softmax";
    case MLP_ACT_LOGSOFTMAX: return "logsoftmax";
    }
    return "unknown";
}

float mlp_sigmoid(double z) {
    /* Overflow-safe: exp of a non-positive number only. */
    if (z >= 0) return (float)(1.0 / (1.0 + exp(-z)));
    double e = exp(z);
    return (float)(e / (1.0 + e));
}

static double act_elem(mlp_act a, double z) {
    switch (a) {
    case MLP_ACT_RELU: return z > 0 ? z : 0;
    case MLP_ACT_TANH: return tanh(z);
    case MLP_ACT_SIGMOID: return mlp_sigmoid(z);
    default: return z;
    }
}

nrps_status mlp_forward(const mlp *m, const float *x, int batch, float *y, float *scratch) {
    if (!m || !m->params || batch < 0 || (batch > 0 && (!x || !y))) {
        nrps_set_error("mlp_forward: bad arguments");
        return NRPS_ERR_ARG;
    }
    float *h = scratch;
    if (!h && batch > 0) {
        h = malloc((size_t)batch * (size_t)m->hidden * sizeof(float));
        if (!h) {
            nrps_set_error("mlp_forward: out of memory");
            return NRPS_ERR_NOMEM;
        }
    }
    const int in = m->in, hid = m->hidden, out = m->out;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * in;
        float *hb = h + (size_t)b * hid;
        float *yb = y + (size_t)b * out;
        for (int j = 0; j < hid; j++) {
            const float *w = m->w1 + (size_t)j * in;
            double s = m->b1[j];
            for (int i = 0; i < in; i++) s += (double)w[i] * xb[i];
            hb[j] = (float)act_elem(m->hidden_act, s);
        }
        for (int k = 0; k < out; k++) {
            const float *w = m->w2 + (size_t)k * hid;
            double s = m->b2[k];
            for (int j = 0; j < hid; j++) s += (double)w[j] * hb[j];
            yb[k] = (float)s;
        }
        if (m->out_act == MLP_ACT_SOFTMAX || m->out_act == MLP_ACT_LOGSOFTMAX) {
            double mx = yb[0];
            for (int k = 1; k < out; k++)
                if (yb[k] > mx) mx = yb[k];
            double sum = 0;
            for (int k = 0; k < out; k++) sum += exp((double)yb[k] - mx);
            if (m->out_act == MLP_ACT_SOFTMAX) {
                for (int k = 0; k < out; k++) yb[k] = (float)(exp((double)yb[k] - mx) / sum);
            } else {
                double lse = mx + log(sum);
                for (int k = 0; k < out; k++) yb[k] = (float)((double)yb[k] - lse);
            }
        } else if (m->out_act != MLP_ACT_NONE) {
            for (int k = 0; k < out; k++) yb[k] = (float)act_elem(m->out_act, yb[k]);
        }
    }
    if (!scratch) free(h);
    return NRPS_OK;
}
