/* nn_train.c - losses, backward pass, Adam(W) and checkpoints for the layer-list network family (see nn_train.h).
 * Every sum below runs in a fixed order (for a 2-layer one-head network the order the committed default models were
 * trained with, so they are reproduced bit for bit); skipped zero terms (a zero delta) never change a sum that
 * starts at +0. */
#include "nn/nn_train.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_ops.h"
#include "util/bytes.h"

/* ------------------------------------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------------------------------- */

nn_train_config nn_train_config_default(void) {
    nn_train_config c = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f,
                         .value_loss = NN_LOSS_MSE, .head_weight = {1.0f, 1.0f}, .max_batch = 256};
    return c;
}

static int last_layer(const nn_arch *a, int h) { return a->head[h].first + a->head[h].count - 1; }

/* The loss settings nn_loss_grad uses: value loss known and usable on a, head weights finite and >= 0. */
static int loss_config_ok(const nn_arch *a, const nn_train_config *c, const char *who) {
    if (c->value_loss != NN_LOSS_MSE && c->value_loss != NN_LOSS_BCE) {
        nrps_set_error("%s: unknown value loss %d", who, (int)c->value_loss);
        return 0;
    }
    int sigmoid_heads = 0;
    for (int h = 0; h < a->n_heads; h++) {
        if (!(c->head_weight[h] >= 0) || !isfinite(c->head_weight[h])) {
            nrps_set_error("%s: head %d ('%s') has loss weight %g (must be finite and >= 0)", who, h, a->head[h].name,
                           c->head_weight[h]);
            return 0;
        }
        sigmoid_heads += nn_head_act(a, h) == NN_ACT_SIGMOID;
    }
    if (c->value_loss == NN_LOSS_BCE && !sigmoid_heads) {
        nrps_set_error("%s: binary cross-entropy needs a sigmoid output, not %s", who, nn_act_name(nn_head_act(a, 0)));
        return 0;
    }
    return 1;
}

/* Everything a trainer needs from its configuration. */
static int config_ok(const nn_arch *a, const nn_train_config *c) {
    if (!(c->lr > 0) || !isfinite(c->lr) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        !(c->eps > 0) || !isfinite(c->eps) || !(c->weight_decay >= 0) || !isfinite(c->weight_decay) ||
        c->max_batch < 1 || c->max_batch > (1 << 24)) {
        nrps_set_error("nn_trainer: bad configuration (lr %g, betas %g/%g, eps %g, weight_decay %g, max_batch %d)",
                       c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, c->max_batch);
        return 0;
    }
    if (!loss_config_ok(a, c, "nn_trainer")) return 0;
    double sum = 0;
    for (int h = 0; h < a->n_heads; h++) sum += c->head_weight[h];
    if (!(sum > 0)) {
        nrps_set_error("nn_trainer: every head has loss weight 0");
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * Loss and gradient
 * ---------------------------------------------------------------------------------------------- */

/* Views into nn_loss_grad's scratch: the input in double, then per layer the pre-activations z, the activations
 * y and the deltas d = dLoss/dz (n rows of the layer's width each), then one row accumulator. */
typedef struct {
    double *x;
    double *z[NN_MAX_LAYERS], *y[NN_MAX_LAYERS], *d[NN_MAX_LAYERS];
    double *acc;
} grad_bufs;

static int max_layer_in(const nn_arch *a) {
    int m = 1;
    for (int l = 0; l < a->n_layers; l++)
        if (nn_layer_in(a, l) > m) m = nn_layer_in(a, l);
    return m;
}

size_t nn_grad_scratch_count(const nn_arch *a, int n) {
    size_t N = n > 0 ? (size_t)n : 1, outs = 0;
    for (int l = 0; l < a->n_layers; l++) outs += (size_t)a->layer[l].out;
    return N * ((size_t)a->in + 3 * outs) + (size_t)max_layer_in(a);
}

static void bufs_layout(const nn_arch *a, int n, double *s, grad_bufs *g) {
    g->x = s;
    s += (size_t)n * a->in;
    for (int l = 0; l < a->n_layers; l++) {
        size_t area = (size_t)n * a->layer[l].out;
        g->z[l] = s;
        g->y[l] = s + area;
        g->d[l] = s + 2 * area;
        s += 3 * area;
    }
    g->acc = s;
}

/* The layer whose output feeds layer l, or -1 for the network's input. */
static int layer_prev(const nn_arch *a, int l) {
    if (l == 0) return -1;
    for (int h = 0; h < a->n_heads; h++)
        if (l == a->head[h].first) return a->trunk - 1;
    return l - 1;
}

static const double *layer_input(const nn_arch *a, const grad_bufs *g, int l) {
    int p = layer_prev(a, l);
    return p < 0 ? g->x : g->y[p];
}

/* z = W x + b for every row (double sums in index order), y = act(z) element-wise (z itself for row
 * activations: the loss works on a head's z). */
static void forward_layer(const nn_net *net, int l, const double *x, int n, double *z, double *y) {
    const nn_layer_spec *s = &net->arch.layer[l];
    const int in = nn_layer_in(&net->arch, l), out = s->out;
    for (int b = 0; b < n; b++) {
        const double *xb = x + (size_t)b * in;
        for (int o = 0; o < out; o++) {
            const float *w = net->w[l] + (size_t)o * in;
            double acc = net->b[l][o];
            for (int i = 0; i < in; i++) acc += (double)w[i] * xb[i];
            z[(size_t)b * out + o] = acc;
            y[(size_t)b * out + o] = nn_act_elem(s->act, s->alpha, acc);
        }
    }
}

/* Cross-entropy of softmax(z[w]) against the target distribution t; d = dL/dz. */
static double ce_row(const double *z, const float *t, int w, double *d) {
    double lse = nn_logsumexp_d(z, w), loss = 0.0, tsum = 0.0;
    for (int k = 0; k < w; k++) {
        double logp = z[k] - lse;
        if (t[k] != 0.0f) loss -= (double)t[k] * logp;
        tsum += t[k];
    }
    for (int k = 0; k < w; k++) d[k] = exp(z[k] - lse) * tsum - (double)t[k];
    return loss;
}

/* Sigmoid outputs p = y = sigmoid(z): BCE from the logit or MSE on p; d = dL/dz. */
static double sigmoid_row(const double *z, const double *y, const float *t, int w, nn_value_loss vl, double *d) {
    double loss = 0.0;
    for (int k = 0; k < w; k++) {
        double p = y[k], tk = t[k];
        if (vl == NN_LOSS_BCE) {
            loss += nn_bce_logit(z[k], tk);
            d[k] = p - tk;
        } else {
            loss += (p - tk) * (p - tk);
            d[k] = 2.0 * (p - tk) * p * (1.0 - p);
        }
    }
    return loss;
}

/* MSE on y = act(z) for any other element-wise final activation; d = dL/dz. */
static double mse_row(const nn_layer_spec *s, const double *z, const double *y, const float *t, int w, double *d) {
    double loss = 0.0;
    for (int k = 0; k < w; k++) {
        double tk = t[k];
        loss += (y[k] - tk) * (y[k] - tk);
        d[k] = 2.0 * (y[k] - tk) * nn_act_deriv(s->act, s->alpha, z[k], y[k]);
    }
    return loss;
}

/* Sum over the batch of head h's per-sample losses; fills the head's last-layer deltas (unscaled). */
static double head_loss_sum(const nn_arch *a, int h, const grad_bufs *g, const float *t, int n, nn_value_loss vl) {
    const int L = last_layer(a, h), w = a->layer[L].out;
    const nn_layer_spec *s = &a->layer[L];
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        size_t o = (size_t)b * w;
        double loss;
        if (s->act == NN_ACT_SOFTMAX || s->act == NN_ACT_LOGSOFTMAX) loss = ce_row(g->z[L] + o, t + o, w, g->d[L] + o);
        else if (s->act == NN_ACT_SIGMOID) loss = sigmoid_row(g->z[L] + o, g->y[L] + o, t + o, w, vl, g->d[L] + o);
        else loss = mse_row(s, g->z[L] + o, g->y[L] + o, t + o, w, g->d[L] + o);
        total += loss;
    }
    return total;
}

/* Layer l's gradient (W then b at gw) from its deltas d[n][out] and inputs x[n][in]. */
static void layer_grad(const nn_arch *a, int l, const double *x, int n, const double *d, double *acc, float *gw) {
    const int in = nn_layer_in(a, l), out = a->layer[l].out;
    float *gb = gw + (size_t)out * in;
    for (int k = 0; k < out; k++) {
        double sb = 0.0;
        for (int i = 0; i < in; i++) acc[i] = 0.0;
        for (int b = 0; b < n; b++) {
            double dk = d[(size_t)b * out + k];
            if (dk == 0.0) continue;
            const double *xb = x + (size_t)b * in;
            sb += dk;
            for (int i = 0; i < in; i++) acc[i] += dk * xb[i];
        }
        gb[k] = (float)sb;
        for (int i = 0; i < in; i++) gw[(size_t)k * in + i] = (float)acc[i];
    }
}

/* dprev[n][in] (=, or += when accumulate) W_l^T d[n][out]: dLoss/d(layer l's input), before the activation. */
static void back_into(const nn_net *net, int l, int n, const double *d, double *dprev, int accumulate) {
    const int in = nn_layer_in(&net->arch, l), out = net->arch.layer[l].out;
    for (int b = 0; b < n; b++) {
        const double *db = d + (size_t)b * out;
        double *pb = dprev + (size_t)b * in;
        if (!accumulate)
            for (int i = 0; i < in; i++) pb[i] = 0.0;
        for (int k = 0; k < out; k++) {
            const double dk = db[k];
            if (dk == 0.0) continue;
            const float *w = net->w[l] + (size_t)k * in;
            for (int i = 0; i < in; i++) pb[i] += dk * w[i];
        }
    }
}

/* d[l] *= act'(z[l]): from dLoss/dy to dLoss/dz. */
static void apply_deriv(const nn_arch *a, int l, int n, grad_bufs *g) {
    const nn_layer_spec *s = &a->layer[l];
    for (size_t q = 0; q < (size_t)n * s->out; q++)
        g->d[l][q] *= nn_act_deriv(s->act, s->alpha, g->z[l][q], g->y[l][q]);
}

/* Backward through the chain of layers first..last (d[last] set): each layer's gradient and the deltas below it,
 * down to d[first]. */
static void backward_chain(const nn_net *net, int first, int last, int n, grad_bufs *g, float *grad) {
    const nn_arch *a = &net->arch;
    for (int l = last; l >= first; l--) {
        layer_grad(a, l, layer_input(a, g, l), n, g->d[l], g->acc, grad + nn_layer_offset(a, l));
        if (l > first) {
            back_into(net, l, n, g->d[l], g->d[l - 1], 0);
            apply_deriv(a, l - 1, n, g);
        }
    }
}

/* Every head (deltas already scaled), then the trunk with the sum of the heads' deltas. */
static void backward(const nn_net *net, int n, grad_bufs *g, float *grad) {
    const nn_arch *a = &net->arch;
    for (int h = 0; h < a->n_heads; h++) {
        backward_chain(net, a->head[h].first, last_layer(a, h), n, g, grad);
        if (a->trunk > 0) back_into(net, a->head[h].first, n, g->d[a->head[h].first], g->d[a->trunk - 1], h > 0);
    }
    if (a->trunk > 0) {
        apply_deriv(a, a->trunk - 1, n, g);
        backward_chain(net, 0, a->trunk - 1, n, g, grad);
    }
}

static int loss_args_ok(const nn_net *net, const float *x, const float *const *t, int n) {
    int ok = net && net->params && x && t && n >= 1;
    for (int h = 0; ok && h < net->arch.n_heads; h++) ok = t[h] != NULL;
    if (!ok) nrps_set_error("nn_loss_grad: bad arguments (n=%d)", n);
    return ok;
}

double nn_loss_grad(const nn_net *net, const float *x, const float *const *t, int n, const nn_train_config *cfg,
                    float *grad, double *scratch, double *head_loss) {
    nn_train_config def = nn_train_config_default();
    if (!cfg) cfg = &def;
    if (!loss_args_ok(net, x, t, n) || !loss_config_ok(&net->arch, cfg, "nn_loss_grad")) return NAN;
    const nn_arch *a = &net->arch;
    double *buf = scratch ? scratch : malloc(nn_grad_scratch_count(a, n) * sizeof(double));
    if (!buf) {
        nrps_set_error("nn_loss_grad: out of memory");
        return NAN;
    }
    grad_bufs g;
    bufs_layout(a, n, buf, &g);
    for (size_t q = 0; q < (size_t)n * a->in; q++) g.x[q] = x[q];
    for (int l = 0; l < a->n_layers; l++) forward_layer(net, l, layer_input(a, &g, l), n, g.z[l], g.y[l]);
    const double inv_n = 1.0 / n;
    double total = 0.0;
    for (int h = 0; h < a->n_heads; h++) {
        double mean = head_loss_sum(a, h, &g, t[h], n, cfg->value_loss) * inv_n;
        if (head_loss) head_loss[h] = mean;
        total += (double)cfg->head_weight[h] * mean;
    }
    if (grad) {
        for (int h = 0; h < a->n_heads; h++) {
            const int L = last_layer(a, h);
            const double scale = (double)cfg->head_weight[h] * inv_n;
            for (size_t q = 0; q < (size_t)n * a->layer[L].out; q++) g.d[L][q] *= scale;
        }
        backward(net, n, &g, grad);
    }
    if (!scratch) free(buf);
    return total;
}

/* ------------------------------------------------------------------------------------------------
 * Trainer
 * ---------------------------------------------------------------------------------------------- */

struct nn_trainer {
    nn_net *net;
    nn_train_config cfg;
    long long step;
    size_t n_params;
    float *grad;     /* n_params */
    float *moments;  /* 2 * n_params: m | v */
    double *scratch; /* nn_grad_scratch_count(arch, max_batch) */
};

nn_trainer *nn_trainer_create(nn_net *net, const nn_train_config *cfg) {
    if (!net || !net->params || !cfg || net->n_params != nn_arch_param_count(&net->arch)) {
        nrps_set_error("nn_trainer: no network");
        return NULL;
    }
    if (!config_ok(&net->arch, cfg)) return NULL;
    nn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) goto nomem;
    tr->net = net;
    tr->cfg = *cfg;
    tr->n_params = net->n_params;
    tr->grad = calloc(tr->n_params, sizeof(float));
    tr->moments = calloc(2 * tr->n_params, sizeof(float));
    tr->scratch = malloc(nn_grad_scratch_count(&net->arch, cfg->max_batch) * sizeof(double));
    if (!tr->grad || !tr->moments || !tr->scratch) goto nomem;
    return tr;
nomem:
    nn_trainer_destroy(tr);
    nrps_set_error("nn_trainer: out of memory");
    return NULL;
}

void nn_trainer_destroy(nn_trainer *tr) {
    if (!tr) return;
    free(tr->grad);
    free(tr->moments);
    free(tr->scratch);
    free(tr);
}

long long nn_trainer_steps(const nn_trainer *tr) { return tr->step; }
const float *nn_trainer_grad(const nn_trainer *tr) { return tr->grad; }
nn_train_config nn_trainer_config(const nn_trainer *tr) { return tr->cfg; }
void nn_trainer_set_lr(nn_trainer *tr, float lr) {
    if (lr > 0 && isfinite(lr)) tr->cfg.lr = lr;
}
nn_net *nn_trainer_net(nn_trainer *tr) { return tr->net; }

/* Adam(W) exactly as torch.optim.AdamW (decoupled decay first, then the bias-corrected update). */
static void adam_update(nn_trainer *tr) {
    tr->step++;
    const double lr = tr->cfg.lr, b1 = tr->cfg.beta1, b2 = tr->cfg.beta2, eps = tr->cfg.eps;
    const double bc1 = 1.0 - pow(b1, (double)tr->step), bc2 = 1.0 - pow(b2, (double)tr->step);
    const double step_size = lr / bc1, bc2_sqrt = sqrt(bc2), decay = 1.0 - lr * tr->cfg.weight_decay;
    float *p = tr->net->params, *mo = tr->moments, *ve = tr->moments + tr->n_params;
    for (size_t i = 0; i < tr->n_params; i++) {
        double g = tr->grad[i];
        double pi = p[i] * decay;
        double mi = b1 * mo[i] + (1.0 - b1) * g;
        double vi = b2 * ve[i] + (1.0 - b2) * g * g;
        mo[i] = (float)mi;
        ve[i] = (float)vi;
        p[i] = (float)(pi - step_size * mi / (sqrt(vi) / bc2_sqrt + eps));
    }
}

nrps_status nn_trainer_step(nn_trainer *tr, const float *x, const float *const *t, int n, double *loss,
                            double *head_loss) {
    if (!tr || n < 1 || n > tr->cfg.max_batch) {
        nrps_set_error("nn_trainer_step: batch of %d outside 1..%d", n, tr ? tr->cfg.max_batch : 0);
        return NRPS_ERR_ARG;
    }
    double l = nn_loss_grad(tr->net, x, t, n, &tr->cfg, tr->grad, tr->scratch, head_loss);
    if (loss) *loss = l;
    if (!isfinite(l)) {
        nrps_set_error("nn_trainer_step: loss is %g (bad targets or diverged); parameters left unchanged", l);
        return NRPS_ERR_ARG;
    }
    adam_update(tr);
    return NRPS_OK;
}

/* perm[0..n) = a Fisher-Yates shuffle of 0..n-1 drawn from rng. */
static void shuffle(int *perm, int n, nrps_rng *rng) {
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nrps_rng_below(rng, (uint32_t)i + 1);
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}

/* Copies rows idx[0..nb) of src (width w) into dst. */
static void gather(float *dst, const float *src, int w, const int *idx, int nb) {
    for (int r = 0; r < nb; r++) memcpy(dst + (size_t)r * w, src + (size_t)idx[r] * w, (size_t)w * sizeof(float));
}

nrps_status nn_trainer_fit_epoch(nn_trainer *tr, const float *x, const float *const *t, int n, nrps_rng *rng,
                                 double *mean_loss, double *head_loss) {
    if (!tr || !x || !t || n < 1 || !rng || !t[0] || (tr->net->arch.n_heads > 1 && !t[1])) {
        nrps_set_error("nn_trainer_fit_epoch: bad arguments (n=%d)", n);
        return NRPS_ERR_ARG;
    }
    const nn_arch *a = &tr->net->arch;
    const int H = a->n_heads, B = tr->cfg.max_batch;
    size_t tw = 0;
    for (int h = 0; h < H; h++) tw += (size_t)nn_head_width(a, h);
    nrps_status st = NRPS_OK;
    int *perm = malloc((size_t)n * sizeof(int));
    float *bx = malloc((size_t)B * ((size_t)a->in + tw) * sizeof(float));
    if (!perm || !bx) {
        nrps_set_error("nn_trainer_fit_epoch: out of memory");
        st = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    float *bt[NN_MAX_HEADS] = {bx + (size_t)B * a->in, NULL};
    if (H > 1) bt[1] = bt[0] + (size_t)B * nn_head_width(a, 0);
    const float *tb[NN_MAX_HEADS] = {bt[0], bt[1]};
    shuffle(perm, n, rng);
    double sum = 0.0, hsum[NN_MAX_HEADS] = {0};
    for (int s = 0; s < n; s += B) {
        if (nrps_interrupted) {
            nrps_set_error("training interrupted");
            st = NRPS_ERR_INTERRUPTED;
            goto cleanup;
        }
        const int nb = n - s < B ? n - s : B;
        gather(bx, x, a->in, perm + s, nb);
        for (int h = 0; h < H; h++) gather(bt[h], t[h], nn_head_width(a, h), perm + s, nb);
        double l = 0, hl[NN_MAX_HEADS] = {0};
        st = nn_trainer_step(tr, bx, tb, nb, &l, hl);
        if (st != NRPS_OK) goto cleanup;
        sum += l * nb;
        for (int h = 0; h < H; h++) hsum[h] += hl[h] * nb;
    }
    if (mean_loss) *mean_loss = sum / n;
    for (int h = 0; head_loss && h < H; h++) head_loss[h] = hsum[h] / n;
cleanup:
    free(perm);
    free(bx);
    return st;
}

/* ------------------------------------------------------------------------------------------------
 * Checkpoints
 * ---------------------------------------------------------------------------------------------- */

#define CKPT_MAGIC "NRPSCKPT"
enum { CKPT_VERSION_MLP = 1, CKPT_VERSION = 2, CKPT_VERSION_TAGGED = 3 /* version 2 + nn_ckpt_tag */ };

static void put_arch(nrps_wbuf *b, const nn_arch *a) {
    nrps_wbuf_u32(b, (uint32_t)a->in);
    nrps_wbuf_u32(b, (uint32_t)a->n_layers);
    nrps_wbuf_u32(b, (uint32_t)a->trunk);
    nrps_wbuf_u32(b, (uint32_t)a->n_heads);
    for (int l = 0; l < a->n_layers; l++) {
        nrps_wbuf_u32(b, (uint32_t)a->layer[l].out);
        nrps_wbuf_u32(b, (uint32_t)a->layer[l].act);
        nrps_wbuf_f32(b, a->layer[l].alpha);
    }
    for (int h = 0; h < a->n_heads; h++) {
        char name[NN_NAME_LEN] = {0}; /* zero padded: the same net always gives the same bytes */
        memcpy(name, a->head[h].name, strnlen(a->head[h].name, NN_NAME_LEN - 1));
        nrps_wbuf_raw(b, name, NN_NAME_LEN);
        nrps_wbuf_u32(b, (uint32_t)a->head[h].kind);
        nrps_wbuf_u32(b, (uint32_t)a->head[h].first);
        nrps_wbuf_u32(b, (uint32_t)a->head[h].count);
    }
}

static void put_config(nrps_wbuf *b, const nn_train_config *c, int n_heads) {
    const float f[5] = {c->lr, c->beta1, c->beta2, c->eps, c->weight_decay};
    nrps_wbuf_f32s(b, f, 5);
    nrps_wbuf_u32(b, (uint32_t)c->value_loss);
    nrps_wbuf_f32s(b, c->head_weight, (size_t)n_heads);
}

/* A run id as nn_ckpt_tag allows: 1 to NN_CKPT_RUN_ID_MAX printable ASCII characters. */
static int run_id_ok(const char *id, size_t n) {
    if (n < 1 || n > NN_CKPT_RUN_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (id[i] < 0x21 || id[i] > 0x7e) return 0;
    return 1;
}

nrps_status nn_trainer_save_tagged(const nn_trainer *tr, const char *path, const nn_ckpt_tag *tag) {
    const size_t np = tr->n_params;
    const int tagged = tag && tag->run_id[0];
    const size_t idn = tagged ? strnlen(tag->run_id, sizeof tag->run_id) : 0;
    if (tagged && (!run_id_ok(tag->run_id, idn) || tag->generation < 0 || tag->generation > INT_MAX)) {
        nrps_set_error("%s: bad checkpoint tag (run id '%.*s', generation %ld)", path, (int)idn, tag->run_id,
                       tag->generation);
        return NRPS_ERR_ARG;
    }
    nrps_wbuf b = {0};
    nrps_wbuf_reserve(&b, 1024 + 12 * np);
    nrps_wbuf_raw(&b, CKPT_MAGIC, 8);
    nrps_wbuf_u32(&b, tagged ? CKPT_VERSION_TAGGED : CKPT_VERSION);
    if (tagged) {
        nrps_wbuf_u32(&b, (uint32_t)idn);
        nrps_wbuf_raw(&b, tag->run_id, idn);
        nrps_wbuf_u32(&b, (uint32_t)tag->generation);
    }
    put_arch(&b, &tr->net->arch);
    put_config(&b, &tr->cfg, tr->net->arch.n_heads); /* max_batch is a runtime choice: not stored */
    nrps_wbuf_u64(&b, (uint64_t)tr->step);
    nrps_wbuf_u64(&b, (uint64_t)np);
    nrps_wbuf_f32s(&b, tr->net->params, np);
    nrps_wbuf_f32s(&b, tr->moments, 2 * np);
    if (!b.failed) nrps_wbuf_u64(&b, nrps_fnv1a64(b.p, b.len));
    nrps_status st = NRPS_ERR_NOMEM;
    if (b.failed) nrps_set_error("%s: out of memory", path);
    else st = nrps_write_file_atomic(path, b.p, b.len);
    nrps_wbuf_free(&b);
    return st;
}

nrps_status nn_trainer_save(const nn_trainer *tr, const char *path) { return nn_trainer_save_tagged(tr, path, NULL); }

/* What a checkpoint's header says, whatever its version; r is left at the first parameter. */
typedef struct {
    nn_arch arch;
    nn_train_config cfg;
    uint64_t step, n_params;
    nn_ckpt_tag tag; /* version 3; run_id "" and generation -1 before */
    int bad_tag;     /* version 3 with a run id or generation out of range */
} ckpt_header;

/* Version 3's tag: u32 length, the run id, u32 generation. */
static void get_tag(nrps_rbuf *r, ckpt_header *h) {
    uint32_t n = nrps_rbuf_u32(r);
    const uint8_t *id = r->short_read || n > NN_CKPT_RUN_ID_MAX ? NULL : nrps_rbuf_raw(r, n);
    uint32_t g = nrps_rbuf_u32(r);
    if (!id || !run_id_ok((const char *)id, n) || g > INT_MAX) {
        h->bad_tag = !r->short_read;
        return;
    }
    memcpy(h->tag.run_id, id, n);
    h->tag.run_id[n] = '\0';
    h->tag.generation = (long)g;
}

static int u32_int(uint32_t v) { return v > INT_MAX ? -1 : (int)v; }

/* Version 1 (mlp_trainer): in, hidden, out, hidden act, out act, value loss, step, 5 f32, n_params. */
static void get_header_v1(nrps_rbuf *r, ckpt_header *h) {
    int in = u32_int(nrps_rbuf_u32(r)), hid = u32_int(nrps_rbuf_u32(r)), out = u32_int(nrps_rbuf_u32(r));
    uint32_t ha = nrps_rbuf_u32(r), oa = nrps_rbuf_u32(r);
    h->cfg.value_loss = (nn_value_loss)nrps_rbuf_u32(r);
    h->step = nrps_rbuf_u64(r);
    float f[5] = {0};
    nrps_rbuf_f32s(r, f, 5);
    h->cfg.lr = f[0], h->cfg.beta1 = f[1], h->cfg.beta2 = f[2], h->cfg.eps = f[3], h->cfg.weight_decay = f[4];
    h->n_params = nrps_rbuf_u64(r);
    /* Acts above LOGSOFTMAX did not exist in version 1: make them fail nn_arch_check. */
    nn_act hact = ha <= NN_ACT_LOGSOFTMAX ? (nn_act)ha : (nn_act)99;
    nn_act oact = oa <= NN_ACT_LOGSOFTMAX ? (nn_act)oa : (nn_act)99;
    nn_head_kind kind = out == 9 && oact == NN_ACT_SOFTMAX  ? NN_HEAD_POLICY
                        : out == 1 && oact == NN_ACT_SIGMOID ? NN_HEAD_VALUE
                                                             : NN_HEAD_OTHER;
    h->arch = nn_arch_mlp(in, &hid, 1, hact, 0, out, oact, kind);
}

/* Version 2: the architecture, the config, step, n_params. Counts beyond the arrays stop the read (the arch
 * check then refuses them). */
static void get_header_v2(nrps_rbuf *r, ckpt_header *h) {
    nn_arch *a = &h->arch;
    memset(a, 0, sizeof *a);
    a->in = u32_int(nrps_rbuf_u32(r));
    a->n_layers = u32_int(nrps_rbuf_u32(r));
    a->trunk = u32_int(nrps_rbuf_u32(r));
    a->n_heads = u32_int(nrps_rbuf_u32(r));
    if (a->n_layers < 1 || a->n_layers > NN_MAX_LAYERS || a->n_heads < 1 || a->n_heads > NN_MAX_HEADS) return;
    for (int l = 0; l < a->n_layers; l++) {
        a->layer[l].out = u32_int(nrps_rbuf_u32(r));
        a->layer[l].act = (nn_act)u32_int(nrps_rbuf_u32(r));
        a->layer[l].alpha = nrps_rbuf_f32(r);
    }
    for (int k = 0; k < a->n_heads; k++) {
        const uint8_t *name = nrps_rbuf_raw(r, NN_NAME_LEN);
        if (name) memcpy(a->head[k].name, name, NN_NAME_LEN);
        a->head[k].kind = (nn_head_kind)u32_int(nrps_rbuf_u32(r));
        a->head[k].first = u32_int(nrps_rbuf_u32(r));
        a->head[k].count = u32_int(nrps_rbuf_u32(r));
    }
    float f[5] = {0};
    nrps_rbuf_f32s(r, f, 5);
    h->cfg.lr = f[0], h->cfg.beta1 = f[1], h->cfg.beta2 = f[2], h->cfg.eps = f[3], h->cfg.weight_decay = f[4];
    h->cfg.value_loss = (nn_value_loss)u32_int(nrps_rbuf_u32(r));
    nrps_rbuf_f32s(r, h->cfg.head_weight, (size_t)a->n_heads);
    h->step = nrps_rbuf_u64(r);
    h->n_params = nrps_rbuf_u64(r);
}

/* Magic, version, header, architecture, sizes, exact length and checksum; r ends at the parameters. */
static nrps_status read_header(const char *path, const uint8_t *d, size_t len, nrps_rbuf *r, ckpt_header *h) {
    *r = nrps_rbuf_make(d, len);
    const uint8_t *magic = nrps_rbuf_raw(r, 8);
    if (!magic || memcmp(magic, CKPT_MAGIC, 8) != 0) {
        nrps_set_error("%s: not a neural_rps checkpoint (bad magic)", path);
        return NRPS_ERR_FORMAT;
    }
    uint32_t version = nrps_rbuf_u32(r);
    h->cfg = nn_train_config_default();
    memset(&h->tag, 0, sizeof h->tag);
    h->tag.generation = -1;
    h->bad_tag = 0;
    if (version == CKPT_VERSION_MLP) get_header_v1(r, h);
    else if (version == CKPT_VERSION) get_header_v2(r, h);
    else if (version == CKPT_VERSION_TAGGED) {
        get_tag(r, h);
        if (h->bad_tag) {
            nrps_set_error("%s: checkpoint names no valid run and generation (corrupted)", path);
            return NRPS_ERR_FORMAT;
        }
        get_header_v2(r, h);
    } else if (!r->short_read) {
        nrps_set_error("%s: checkpoint format version %u, this build reads versions 1 to 3", path, version);
        return NRPS_ERR_FORMAT;
    }
    if (r->short_read) {
        nrps_set_error("%s: checkpoint truncated (%zu byte%s, header incomplete)", path, len, len == 1 ? "" : "s");
        return NRPS_ERR_FORMAT;
    }
    if (nn_arch_check(&h->arch, path) != NRPS_OK) return NRPS_ERR_FORMAT; /* message names the file */
    if (h->n_params != nn_arch_param_count(&h->arch) || h->step > (1ULL << 62)) {
        nrps_set_error("%s: checkpoint header is inconsistent (%llu parameter%s for %zu in the architecture, step %llu)",
                       path, (unsigned long long)h->n_params, h->n_params == 1 ? "" : "s",
                       nn_arch_param_count(&h->arch), (unsigned long long)h->step);
        return NRPS_ERR_FORMAT;
    }
    size_t want = r->pos + 12 * (size_t)h->n_params + 8;
    if (len != want) {
        nrps_set_error("%s: checkpoint is %zu bytes, expected %zu (truncated or corrupted)", path, len, want);
        return NRPS_ERR_FORMAT;
    }
    nrps_rbuf tail = nrps_rbuf_make(d + len - 8, 8);
    if (nrps_rbuf_u64(&tail) != nrps_fnv1a64(d, len - 8)) {
        nrps_set_error("%s: checkpoint checksum mismatch (corrupted)", path);
        return NRPS_ERR_FORMAT;
    }
    return NRPS_OK;
}

/* The architecture the caller expects, or a one-line refusal naming both. */
static nrps_status check_expected(const char *path, const nn_arch *got, const nn_arch *expect) {
    if (!expect || nn_arch_equal(got, expect)) return NRPS_OK;
    char g[256], e[256];
    nn_arch_describe(got, g, sizeof g);
    nn_arch_describe(expect, e, sizeof e);
    nrps_set_error("%s: checkpoint holds a %s network, expected %s%s", path, g, e,
                   strcmp(g, e) ? "" : " (activations, head names or kinds differ)");
    return NRPS_ERR_ARG;
}

/* Prefixes the current error message with the file name. */
static void error_in(const char *path) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", nrps_last_error());
    nrps_set_error("%s: %s", path, msg);
}

/* Parameters, trainer and Adam state from r (at the parameters) into net / *tr. */
static nrps_status read_state(const char *path, nrps_rbuf *r, const ckpt_header *h, nn_net *net, nn_trainer **tr) {
    nrps_rbuf_f32s(r, net->params, net->n_params);
    int bad = -1;
    if (!nn_params_finite(net, &bad)) {
        nrps_set_error("%s: checkpoint parameters of layer %d contain NaN/Inf", path, bad + 1);
        return NRPS_ERR_FORMAT;
    }
    if (!config_ok(&net->arch, &h->cfg)) {
        error_in(path);
        return NRPS_ERR_FORMAT;
    }
    if (!(*tr = nn_trainer_create(net, &h->cfg))) {
        error_in(path);
        return NRPS_ERR_NOMEM;
    }
    float *mv = (*tr)->moments;
    nrps_rbuf_f32s(r, mv, 2 * net->n_params);
    for (size_t i = 0; i < 2 * net->n_params; i++)
        if (!isfinite(mv[i]) || (i >= net->n_params && mv[i] < 0)) {
            nrps_set_error("%s: checkpoint Adam state is invalid (NaN/Inf or negative second moment)", path);
            return NRPS_ERR_FORMAT;
        }
    (*tr)->step = (long long)h->step;
    return NRPS_OK;
}

nrps_status nn_trainer_load_tagged(const char *path, int max_batch, const nn_arch *expect, nn_net *net,
                                   nn_trainer **tr, nn_ckpt_tag *tag) {
    char *data = NULL;
    size_t len = 0;
    *tr = NULL;
    memset(net, 0, sizeof *net);
    nrps_status st = nrps_read_file(path, (size_t)1 << 34, &data, &len);
    if (st != NRPS_OK) return st;
    ckpt_header h;
    nrps_rbuf r;
    st = read_header(path, (const uint8_t *)data, len, &r, &h);
    if (st == NRPS_OK) st = check_expected(path, &h.arch, expect);
    if (st == NRPS_OK) {
        if (max_batch > 0) h.cfg.max_batch = max_batch;
        st = nn_init(net, &h.arch);
        if (st != NRPS_OK) error_in(path);
    }
    if (st == NRPS_OK) st = read_state(path, &r, &h, net, tr);
    if (st != NRPS_OK) {
        nn_trainer_destroy(*tr);
        *tr = NULL;
        nn_free(net);
    } else if (tag) {
        *tag = h.tag;
    }
    free(data);
    return st;
}

nrps_status nn_trainer_load(const char *path, int max_batch, const nn_arch *expect, nn_net *net, nn_trainer **tr) {
    return nn_trainer_load_tagged(path, max_batch, expect, net, tr, NULL);
}
