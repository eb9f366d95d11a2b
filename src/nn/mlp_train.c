/* mlp_train.c - losses, backward pass, Adam(W) and checkpoints for the MLP family (see mlp_train.h). */
#include "nn/mlp_train.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------
 * Loss and gradient
 * ---------------------------------------------------------------------------------------------- */

mlp_train_config mlp_train_config_default(void) {
    mlp_train_config c = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f,
                          .value_loss = MLP_LOSS_MSE, .max_batch = 256};
    return c;
}

size_t mlp_grad_scratch_count(const mlp *m, int n) {
    /* a1, h, dh: n*H each; z, dz: n*O each; one row accumulator of max(in, H). */
    size_t H = (size_t)m->hidden, O = (size_t)m->out, N = n > 0 ? (size_t)n : 1;
    return N * (3 * H + 2 * O) + (size_t)(m->in > m->hidden ? m->in : m->hidden);
}

static double hidden_f(mlp_act act, double a) {
    switch (act) {
    case MLP_ACT_RELU: return a > 0 ? a : 0;
    case MLP_ACT_TANH: return tanh(a);
    case MLP_ACT_SIGMOID: return a >= 0 ? 1.0 / (1.0 + exp(-a)) : exp(a) / (1.0 + exp(a));
    default: return a;
    }
}

/* d hidden / d pre-activation, from the pre-activation a and the activation h. */
static double hidden_df(mlp_act act, double a, double h) {
    switch (act) {
    case MLP_ACT_RELU: return a > 0 ? 1.0 : 0.0;
    case MLP_ACT_TANH: return 1.0 - h * h;
    case MLP_ACT_SIGMOID: return h * (1.0 - h);
    default: return 1.0;
    }
}

static double log1pexp_neg_abs(double z) { return log1p(exp(-fabs(z))); }

double mlp_loss_grad(const mlp *m, const float *x, const float *t, int n, mlp_value_loss vl, float *grad,
                     double *scratch) {
    if (!m || !m->params || !x || !t || n < 1) {
        nrps_set_error("mlp_loss_grad: bad arguments (n=%d)", n);
        return NAN;
    }
    mlp_act oa = m->out_act;
    if (vl == MLP_LOSS_BCE && oa != MLP_ACT_SIGMOID) {
        nrps_set_error("mlp_loss_grad: binary cross-entropy needs a sigmoid output, not %s", mlp_act_name(oa));
        return NAN;
    }
    const int in = m->in, H = m->hidden, O = m->out;
    double *buf = scratch;
    if (!buf) {
        buf = malloc(mlp_grad_scratch_count(m, n) * sizeof(double));
        if (!buf) {
            nrps_set_error("mlp_loss_grad: out of memory");
            return NAN;
        }
    }
    double *a1 = buf, *h = a1 + (size_t)n * H, *dh = h + (size_t)n * H, *z = dh + (size_t)n * H,
           *dz = z + (size_t)n * O, *acc = dz + (size_t)n * O;
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * in;
        const float *tb = t + (size_t)b * O;
        double *ab = a1 + (size_t)b * H, *hb = h + (size_t)b * H, *zb = z + (size_t)b * O, *db = dz + (size_t)b * O;
        for (int j = 0; j < H; j++) {
            const float *w = m->w1 + (size_t)j * in;
            double s = m->b1[j];
            for (int i = 0; i < in; i++) s += (double)w[i] * xb[i];
            ab[j] = s;
            hb[j] = hidden_f(m->hidden_act, s);
        }
        for (int k = 0; k < O; k++) {
            const float *w = m->w2 + (size_t)k * H;
            double s = m->b2[k];
            for (int j = 0; j < H; j++) s += (double)w[j] * hb[j];
            zb[k] = s;
        }
        double loss = 0.0;
        if (oa == MLP_ACT_SOFTMAX || oa == MLP_ACT_LOGSOFTMAX) {
            double mx = zb[0], sum = 0.0, tsum = 0.0;
            for (int k = 1; k < O; k++) mx = zb[k] > mx ? zb[k] : mx;
            for (int k = 0; k < O; k++) sum += exp(zb[k] - mx);
            double lse = mx + log(sum);
            for (int k = 0; k < O; k++) {
                double logp = zb[k] - lse;
                if (tb[k] != 0.0f) loss -= (double)tb[k] * logp;
                tsum += tb[k];
            }
            for (int k = 0; k < O; k++) db[k] = exp(zb[k] - lse) * tsum - (double)tb[k];
        } else if (oa == MLP_ACT_SIGMOID) {
            for (int k = 0; k < O; k++) {
                double zz = zb[k], p = zz >= 0 ? 1.0 / (1.0 + exp(-zz)) : exp(zz) / (1.0 + exp(zz));
                double tk = tb[k];
                if (vl == MLP_LOSS_BCE) {
                    loss += (zz > 0 ? zz : 0) - zz * tk + log1pexp_neg_abs(zz);
                    db[k] = p - tk;
                } else {
                    loss += (p - tk) * (p - tk);
                    db[k] = 2.0 * (p - tk) * p * (1.0 - p);
                }
            }
        } else if (oa == MLP_ACT_TANH) {
            for (int k = 0; k < O; k++) {
                double y = tanh(zb[k]), tk = tb[k];
                loss += (y - tk) * (y - tk);
                db[k] = 2.0 * (y - tk) * (1.0 - y * y);
            }
        } else { /* NONE (RELU as an output is not part of the family) */
            for (int k = 0; k < O; k++) {
                double tk = tb[k];
                loss += (zb[k] - tk) * (zb[k] - tk);
                db[k] = 2.0 * (zb[k] - tk);
            }
        }
        total += loss;
    }
    double inv_n = 1.0 / n;
    if (grad) {
        float *gw1 = grad, *gb1 = gw1 + (size_t)H * in, *gw2 = gb1 + H, *gb2 = gw2 + (size_t)O * H;
        for (size_t q = 0; q < (size_t)n * O; q++) dz[q] *= inv_n;
        /* Output layer. */
        for (int k = 0; k < O; k++) {
            double gb = 0.0;
            for (int j = 0; j < H; j++) acc[j] = 0.0;
            for (int b = 0; b < n; b++) {
                double d = dz[(size_t)b * O + k];
                const double *hb = h + (size_t)b * H;
                gb += d;
                for (int j = 0; j < H; j++) acc[j] += d * hb[j];
            }
            gb2[k] = (float)gb;
            for (int j = 0; j < H; j++) gw2[(size_t)k * H + j] = (float)acc[j];
        }
        /* Back through W2 and the hidden activation. */
        for (int b = 0; b < n; b++) {
            const double *db = dz + (size_t)b * O;
            double *dhb = dh + (size_t)b * H;
            const double *ab = a1 + (size_t)b * H, *hb = h + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                double s = 0.0;
                for (int k = 0; k < O; k++) s += db[k] * m->w2[(size_t)k * H + j];
                dhb[j] = s * hidden_df(m->hidden_act, ab[j], hb[j]);
            }
        }
        /* Input layer. */
        for (int j = 0; j < H; j++) {
            double gb = 0.0;
            for (int i = 0; i < in; i++) acc[i] = 0.0;
            for (int b = 0; b < n; b++) {
                double d = dh[(size_t)b * H + j];
                if (d == 0.0) continue;
                const float *xb = x + (size_t)b * in;
                gb += d;
                for (int i = 0; i < in; i++) acc[i] += d * xb[i];
            }
            gb1[j] = (float)gb;
            for (int i = 0; i < in; i++) gw1[(size_t)j * in + i] = (float)acc[i];
        }
    }
    if (!scratch) free(buf);
    return total * inv_n;
}

/* ------------------------------------------------------------------------------------------------
 * Trainer
 * ---------------------------------------------------------------------------------------------- */

struct mlp_trainer {
    mlp *net;
    mlp_train_config cfg;
    long long step;
    size_t n_params;
    float *grad;     /* n_params */
    float *moments;  /* 2 * n_params: m | v */
    double *scratch; /* mlp_grad_scratch_count(net, max_batch) */
};

static int config_check(const mlp *m, const mlp_train_config *c) {
    if (!(c->lr > 0) || !isfinite(c->lr) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        !(c->eps > 0) || !(c->weight_decay >= 0) || !isfinite(c->weight_decay) || c->max_batch < 1 ||
        c->max_batch > (1 << 24) || (c->value_loss != MLP_LOSS_MSE && c->value_loss != MLP_LOSS_BCE)) {
        nrps_set_error("mlp_trainer: bad configuration (lr %g, betas %g/%g, eps %g, weight_decay %g, max_batch %d)",
                       c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, c->max_batch);
        return 0;
    }
    if (c->value_loss == MLP_LOSS_BCE && m->out_act != MLP_ACT_SIGMOID) {
        nrps_set_error("mlp_trainer: binary cross-entropy needs a sigmoid output, not %s", mlp_act_name(m->out_act));
        return 0;
    }
    if (m->out_act == MLP_ACT_RELU) {
        nrps_set_error("mlp_trainer: relu output activation is not trainable here");
        return 0;
    }
    return 1;
}

mlp_trainer *mlp_trainer_create_ex(mlp *m, const mlp_train_config *cfg) {
    if (!m || !m->params || !cfg) {
        nrps_set_error("mlp_trainer: no network");
        return NULL;
    }
    if (!config_check(m, cfg)) return NULL;
    mlp_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) goto nomem;
    tr->net = m;
    tr->cfg = *cfg;
    tr->n_params = mlp_param_count(m->in, m->hidden, m->out);
    tr->grad = calloc(tr->n_params, sizeof(float));
    tr->moments = calloc(2 * tr->n_params, sizeof(float));
    tr->scratch = malloc(mlp_grad_scratch_count(m, cfg->max_batch) * sizeof(double));
    if (!tr->grad || !tr->moments || !tr->scratch) goto nomem;
    return tr;
nomem:
    mlp_trainer_destroy(tr);
    nrps_set_error("mlp_trainer: out of memory");
    return NULL;
}

mlp_trainer *mlp_trainer_create(mlp *m, float lr, float weight_decay, int max_batch) {
    mlp_train_config c = mlp_train_config_default();
    c.lr = lr;
    c.weight_decay = weight_decay;
    c.max_batch = max_batch;
    return mlp_trainer_create_ex(m, &c);
}

void mlp_trainer_destroy(mlp_trainer *tr) {
    if (!tr) return;
    free(tr->grad);
    free(tr->moments);
    free(tr->scratch);
    free(tr);
}

long long mlp_trainer_steps(const mlp_trainer *tr) { return tr->step; }
const float *mlp_trainer_grad(const mlp_trainer *tr) { return tr->grad; }
mlp_train_config mlp_trainer_config(const mlp_trainer *tr) { return tr->cfg; }
void mlp_trainer_set_lr(mlp_trainer *tr, float lr) {
    if (lr > 0 && isfinite(lr)) tr->cfg.lr = lr;
}
mlp *mlp_trainer_net(mlp_trainer *tr) { return tr->net; }

nrps_status mlp_trainer_step(mlp_trainer *tr, const float *x, const float *t, int n, double *loss) {
    if (!tr || n < 1 || n > tr->cfg.max_batch) {
        nrps_set_error("mlp_trainer_step: batch of %d outside 1..%d", n, tr ? tr->cfg.max_batch : 0);
        return NRPS_ERR_ARG;
    }
    double l = mlp_loss_grad(tr->net, x, t, n, tr->cfg.value_loss, tr->grad, tr->scratch);
    if (loss) *loss = l;
    if (!isfinite(l)) {
        nrps_set_error("mlp_trainer_step: loss is %g (bad targets or diverged); parameters left unchanged", l);
        return NRPS_ERR_ARG;
    }
    /* Adam(W) exactly as torch.optim.AdamW (decoupled decay first, then the bias-corrected update). */
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
    return NRPS_OK;
}

nrps_status mlp_trainer_fit_epoch(mlp_trainer *tr, const float *x, const float *t, int n, nrps_rng *rng,
                                  double *mean_loss) {
    nrps_status st = NRPS_OK;
    if (!tr || !x || !t || n < 1 || !rng) {
        nrps_set_error("mlp_trainer_fit_epoch: bad arguments (n=%d)", n);
        return NRPS_ERR_ARG;
    }
    const int in = tr->net->in, out = tr->net->out, B = tr->cfg.max_batch;
    int *perm = malloc((size_t)n * sizeof(int));
    float *bx = malloc((size_t)B * in * sizeof(float)), *bt = malloc((size_t)B * out * sizeof(float));
    if (!perm || !bx || !bt) {
        nrps_set_error("mlp_trainer_fit_epoch: out of memory");
        st = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nrps_rng_below(rng, (uint32_t)i + 1);
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    double sum = 0.0;
    for (int s = 0; s < n; s += B) {
        if (nrps_interrupted) {
            nrps_set_error("training interrupted");
            st = NRPS_ERR_INTERRUPTED;
            goto cleanup;
        }
        int nb = n - s < B ? n - s : B;
        for (int r = 0; r < nb; r++) {
            memcpy(bx + (size_t)r * in, x + (size_t)perm[s + r] * in, (size_t)in * sizeof(float));
            memcpy(bt + (size_t)r * out, t + (size_t)perm[s + r] * out, (size_t)out * sizeof(float));
        }
        double l = 0;
        st = mlp_trainer_step(tr, bx, bt, nb, &l);
        if (st != NRPS_OK) goto cleanup;
        sum += l * nb;
    }
    if (mean_loss) *mean_loss = sum / n;
cleanup:
    free(perm);
    free(bx);
    free(bt);
    return st;
}

/* ------------------------------------------------------------------------------------------------
 * Checkpoints
 * ---------------------------------------------------------------------------------------------- */

#define CKPT_MAGIC "NRPSCKPT"
#define CKPT_VERSION 1u
#define CKPT_HEADER_BYTES (8 + 4 * 7 + 8 + 4 * 5 + 8) /* magic, 7 u32, step, 5 f32, n_params */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} bytes;

static void put_u32(uint8_t *d, uint32_t v) {
    for (int i = 0; i < 4; i++) d[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *d, uint64_t v) {
    for (int i = 0; i < 8; i++) d[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *d) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | d[i];
    return v;
}
static uint64_t get_u64(const uint8_t *d) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | d[i];
    return v;
}
static void put_f32(uint8_t *d, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(d, u);
}
static float get_f32(const uint8_t *d) {
    uint32_t u = get_u32(d);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint64_t fnv1a64(const uint8_t *d, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= d[i];
        h *= 1099511628211ULL;
    }
    return h;
}

nrps_status mlp_trainer_save(const mlp_trainer *tr, const char *path) {
    const mlp *m = tr->net;
    size_t np = tr->n_params, total = CKPT_HEADER_BYTES + 3 * np * 4 + 8;
    uint8_t *buf = malloc(total), *d = buf;
    if (!buf) {
        nrps_set_error("%s: out of memory", path);
        return NRPS_ERR_NOMEM;
    }
    memcpy(d, CKPT_MAGIC, 8), d += 8;
    uint32_t h[7] = {CKPT_VERSION, (uint32_t)m->in, (uint32_t)m->hidden, (uint32_t)m->out, (uint32_t)m->hidden_act,
                     (uint32_t)m->out_act, (uint32_t)tr->cfg.value_loss};
    for (int i = 0; i < 7; i++) put_u32(d, h[i]), d += 4;
    put_u64(d, (uint64_t)tr->step), d += 8;
    float f[5] = {tr->cfg.lr, tr->cfg.beta1, tr->cfg.beta2, tr->cfg.eps, tr->cfg.weight_decay};
    for (int i = 0; i < 5; i++) put_f32(d, f[i]), d += 4;
    put_u64(d, (uint64_t)np), d += 8;
    /* max_batch is a runtime choice: not stored (mlp_trainer_load takes it). */
    for (size_t i = 0; i < np; i++) put_f32(d, m->params[i]), d += 4;
    for (size_t i = 0; i < 2 * np; i++) put_f32(d, tr->moments[i]), d += 4;
    put_u64(d, fnv1a64(buf, (size_t)(d - buf))), d += 8;
    nrps_status st = nrps_write_file_atomic(path, buf, total);
    free(buf);
    return st;
}

nrps_status mlp_trainer_load(const char *path, int max_batch, mlp *net, mlp_trainer **tr_out) {
    nrps_status st = NRPS_ERR_FORMAT;
    char *data = NULL;
    size_t len = 0;
    mlp m = {0};
    mlp_trainer *tr = NULL;
    *tr_out = NULL;
    memset(net, 0, sizeof *net);
    st = nrps_read_file(path, (size_t)1 << 31, &data, &len);
    if (st != NRPS_OK) return st;
    st = NRPS_ERR_FORMAT;
    const uint8_t *d = (const uint8_t *)data;
    if (len < 8 || memcmp(d, CKPT_MAGIC, 8) != 0) {
        nrps_set_error("%s: not a neural_rps checkpoint (bad magic)", path);
        goto cleanup;
    }
    if (len < CKPT_HEADER_BYTES + 8) {
        nrps_set_error("%s: checkpoint truncated (%zu bytes)", path, len);
        goto cleanup;
    }
    uint32_t version = get_u32(d + 8);
    if (version != CKPT_VERSION) {
        nrps_set_error("%s: checkpoint format version %u, this build reads version %u", path, version, CKPT_VERSION);
        goto cleanup;
    }
    uint32_t in = get_u32(d + 12), hid = get_u32(d + 16), out = get_u32(d + 20), ha = get_u32(d + 24),
             oa = get_u32(d + 28), vl = get_u32(d + 32);
    uint64_t step = get_u64(d + 36);
    mlp_train_config cfg = mlp_train_config_default();
    cfg.lr = get_f32(d + 44);
    cfg.beta1 = get_f32(d + 48);
    cfg.beta2 = get_f32(d + 52);
    cfg.eps = get_f32(d + 56);
    cfg.weight_decay = get_f32(d + 60);
    cfg.value_loss = (mlp_value_loss)vl;
    if (max_batch > 0) cfg.max_batch = max_batch;
    uint64_t np = get_u64(d + 64);
    if (in < 1 || in > (1u << 20) || hid < 1 || hid > (1u << 20) || out < 1 || out > (1u << 20) ||
        ha > MLP_ACT_LOGSOFTMAX || oa > MLP_ACT_LOGSOFTMAX || vl > MLP_LOSS_BCE || step > (1ULL << 62) ||
        np != mlp_param_count((int)in, (int)hid, (int)out)) {
        nrps_set_error("%s: checkpoint header is inconsistent (sizes %u-%u-%u, %llu parameters)", path, in, hid, out,
                       (unsigned long long)np);
        goto cleanup;
    }
    size_t want = CKPT_HEADER_BYTES + 3 * (size_t)np * 4 + 8;
    if (len != want) {
        nrps_set_error("%s: checkpoint is %zu bytes, expected %zu (truncated or corrupted)", path, len, want);
        goto cleanup;
    }
    if (get_u64(d + want - 8) != fnv1a64(d, want - 8)) {
        nrps_set_error("%s: checkpoint checksum mismatch (corrupted)", path);
        goto cleanup;
    }
    st = mlp_init(&m, (int)in, (int)hid, (int)out, (mlp_act)ha, (mlp_act)oa);
    if (st != NRPS_OK) {
        st = NRPS_ERR_FORMAT;
        goto cleanup;
    }
    st = NRPS_ERR_FORMAT;
    const uint8_t *q = d + CKPT_HEADER_BYTES;
    for (size_t i = 0; i < np; i++) m.params[i] = get_f32(q + 4 * i);
    const char *bad = NULL;
    if (!mlp_params_finite(&m, &bad)) {
        nrps_set_error("%s: checkpoint parameter %s contains NaN/Inf", path, bad);
        goto cleanup;
    }
    *net = m;
    memset(&m, 0, sizeof m);
    tr = mlp_trainer_create_ex(net, &cfg);
    if (!tr) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("%s: %s", path, msg);
        goto cleanup;
    }
    q += 4 * np;
    for (size_t i = 0; i < 2 * np; i++) {
        tr->moments[i] = get_f32(q + 4 * i);
        if (!isfinite(tr->moments[i])) {
            nrps_set_error("%s: checkpoint Adam state contains NaN/Inf", path);
            goto cleanup;
        }
    }
    tr->step = (long long)step;
    *tr_out = tr;
    tr = NULL;
    st = NRPS_OK;
cleanup:
    mlp_trainer_destroy(tr);
    mlp_free(&m);
    if (st != NRPS_OK) mlp_free(net);
    free(data);
    return st;
}
