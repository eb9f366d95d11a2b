/* nn_ops.c - the network family's math ops (see nn_ops.h). */
#include "nn/nn_ops.h"

#include <math.h>
#include <string.h>

double nn_sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

double nn_act_elem(nn_act a, float alpha, double z) {
    switch (a) {
    case NN_ACT_RELU: return z > 0 ? z : 0;
    case NN_ACT_LEAKY_RELU: return z > 0 ? z : (double)alpha * z;
    case NN_ACT_TANH: return tanh(z);
    case NN_ACT_SIGMOID: return nn_sigmoid(z);
    default: return z;
    }
}

double nn_act_deriv(nn_act a, float alpha, double z, double y) {
    switch (a) {
    case NN_ACT_RELU: return z > 0 ? 1.0 : 0.0;
    case NN_ACT_LEAKY_RELU: return z > 0 ? 1.0 : (double)alpha;
    case NN_ACT_TANH: return 1.0 - y * y;
    case NN_ACT_SIGMOID: return y * (1.0 - y);
    default: return 1.0;
    }
}

double nn_bce_logit(double z, double t) { return (z > 0 ? z : 0) - z * t + log1p(exp(-fabs(z))); }

void nn_softmax_row(float *z, int n) {
    double mx = z[0], sum = 0, e[64]; /* rows up to 64 wide keep their exps: one exp per value instead of two */
    for (int k = 1; k < n; k++)
        if (z[k] > mx) mx = z[k];
    if (n <= 64) {
        for (int k = 0; k < n; k++) sum += (e[k] = exp((double)z[k] - mx));
        for (int k = 0; k < n; k++) z[k] = (float)(e[k] / sum);
        return;
    }
    for (int k = 0; k < n; k++) sum += exp((double)z[k] - mx);
    for (int k = 0; k < n; k++) z[k] = (float)(exp((double)z[k] - mx) / sum);
}

void nn_logsoftmax_row(float *z, int n) {
    double mx = z[0], sum = 0;
    for (int k = 1; k < n; k++)
        if (z[k] > mx) mx = z[k];
    for (int k = 0; k < n; k++) sum += exp((double)z[k] - mx);
    double lse = mx + log(sum);
    for (int k = 0; k < n; k++) z[k] = (float)((double)z[k] - lse);
}

double nn_logsumexp_d(const double *z, int n) {
    double mx = z[0], sum = 0;
    for (int k = 1; k < n; k++)
        if (z[k] > mx) mx = z[k];
    for (int k = 0; k < n; k++) sum += exp(z[k] - mx);
    return mx + log(sum);
}

void nn_act_rows(nn_act a, float alpha, float *y, int rows, int width) {
    if (a == NN_ACT_NONE) return;
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * width;
        if (a == NN_ACT_SOFTMAX) nn_softmax_row(row, width);
        else if (a == NN_ACT_LOGSOFTMAX) nn_logsoftmax_row(row, width);
        else
            for (int k = 0; k < width; k++) row[k] = (float)nn_act_elem(a, alpha, row[k]);
    }
}

/* One sample's sums in index order; terms with x[i] == 0 are skipped through an index list when at most half the
 * inputs are non-zero (game positions: about a third), which leaves every sum unchanged for finite weights. */
enum { SPARSE_MAX_IN = 1024 };

void nn_dense_ref(const float *x, int batch, int in, const float *w, const float *bias, int out, nn_act act,
                  float alpha, float *y) {
    int nz[SPARSE_MAX_IN];
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * in;
        float *yb = y + (size_t)b * out;
        int nnz = 0;
        if (in <= SPARSE_MAX_IN)
            for (int i = 0; i < in; i++)
                if (xb[i] != 0.0f) nz[nnz++] = i;
        int sparse = in <= SPARSE_MAX_IN && 2 * nnz <= in;
        for (int o = 0; o < out; o++) {
            const float *wo = w + (size_t)o * in;
            double s = bias[o];
            if (sparse)
                for (int k = 0; k < nnz; k++) s += (double)wo[nz[k]] * xb[nz[k]];
            else
                for (int i = 0; i < in; i++) s += (double)wo[i] * xb[i];
            yb[o] = (float)nn_act_elem(act, alpha, s);
        }
        if (act == NN_ACT_SOFTMAX || act == NN_ACT_LOGSOFTMAX) nn_act_rows(act, alpha, yb, 1, out);
    }
}

void nn_policy_probs(nn_act final_act, float *p, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(p[i])) {
            for (int k = 0; k < n; k++) p[k] = 1.0f / (float)n;
            return;
        }
    if (final_act == NN_ACT_SOFTMAX) return;
    if (final_act == NN_ACT_LOGSOFTMAX)
        for (int i = 0; i < n; i++) p[i] = expf(p[i]);
    else
        nn_softmax_row(p, n);
}

void nn_search_outputs(const float *py, nn_act pol_act, int w, const float *vy, nn_act val_act, int n, float *policy,
                       float *value) {
    for (int i = 0; i < n; i++) {
        float *p = &policy[(size_t)i * w];
        memcpy(p, &py[(size_t)i * w], (size_t)w * sizeof *p);
        nn_policy_probs(pol_act, p, w);
        value[i] = vy ? nn_value_prob(val_act, vy[i]) : 0.5f;
    }
}

float nn_value_prob(nn_act final_act, float v) {
    if (!isfinite(v)) return 0.5f;
    if (final_act == NN_ACT_TANH) v = (v + 1.0f) * 0.5f;
    else if (final_act != NN_ACT_SIGMOID) v = (float)nn_sigmoid(v);
    return v < 0 ? 0 : v > 1 ? 1 : v;
}
