/* net.c - the layer-list network: architecture checks, parameters with views, the reference forward (net.h). */
#include "nn/net.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_ops.h"

static nn_layer_spec spec(int out, nn_act act, float alpha) { return (nn_layer_spec){out, act, alpha}; }

nn_arch nn_arch_mlp(int in, const int *hidden, int n_hidden, nn_act hidden_act, float alpha, int out, nn_act out_act,
                    nn_head_kind kind) {
    nn_arch a;
    memset(&a, 0, sizeof a);
    a.in = in;
    for (int i = 0; i < n_hidden && a.n_layers < NN_MAX_LAYERS; i++)
        a.layer[a.n_layers++] = spec(hidden[i], hidden_act, hidden_act == NN_ACT_LEAKY_RELU ? alpha : 0);
    if (a.n_layers < NN_MAX_LAYERS) a.layer[a.n_layers++] = spec(out, out_act, 0);
    else a.n_layers = NN_MAX_LAYERS + 1; /* too many: nn_arch_check says so */
    a.n_heads = 1;
    a.head[0] = (nn_head){.kind = kind, .first = 0, .count = a.n_layers};
    snprintf(a.head[0].name, sizeof a.head[0].name, "output");
    return a;
}

nn_arch nn_arch_two_heads(int in, const int *trunk_widths, int n_trunk, const int *policy_widths, int n_policy,
                          const int *value_widths, int n_value, nn_act hidden_act, float alpha) {
    nn_arch a;
    memset(&a, 0, sizeof a);
    a.in = in;
    float al = hidden_act == NN_ACT_LEAKY_RELU ? alpha : 0;
    if (n_trunk + n_policy + n_value + 2 > NN_MAX_LAYERS) {
        a.n_layers = NN_MAX_LAYERS + 1; /* nn_arch_check refuses it */
        return a;
    }
    for (int i = 0; i < n_trunk; i++) a.layer[a.n_layers++] = spec(trunk_widths[i], hidden_act, al);
    a.trunk = n_trunk;
    a.n_heads = 2;
    a.head[0] = (nn_head){.kind = NN_HEAD_POLICY, .first = a.n_layers, .count = n_policy + 1};
    snprintf(a.head[0].name, sizeof a.head[0].name, "policy");
    for (int i = 0; i < n_policy; i++) a.layer[a.n_layers++] = spec(policy_widths[i], hidden_act, al);
    a.layer[a.n_layers++] = spec(9, NN_ACT_SOFTMAX, 0);
    a.head[1] = (nn_head){.kind = NN_HEAD_VALUE, .first = a.n_layers, .count = n_value + 1};
    snprintf(a.head[1].name, sizeof a.head[1].name, "value");
    for (int i = 0; i < n_value; i++) a.layer[a.n_layers++] = spec(value_widths[i], hidden_act, al);
    a.layer[a.n_layers++] = spec(1, NN_ACT_SIGMOID, 0);
    return a;
}

static int is_last_of_head(const nn_arch *a, int l) {
    for (int h = 0; h < a->n_heads; h++)
        if (l == a->head[h].first + a->head[h].count - 1) return 1;
    return 0;
}

static nrps_status check_heads(const nn_arch *a, const char *what) {
    if (a->n_heads < 1 || a->n_heads > NN_MAX_HEADS) {
        nrps_set_error("%s: %d heads (expected 1 or 2)", what, a->n_heads);
        return NRPS_ERR_ARG;
    }
    if (a->trunk < 0 || a->trunk >= a->n_layers || (a->n_heads == 1 && a->trunk != 0)) {
        nrps_set_error("%s: trunk of %d layer%s in a %d-layer, %d-head network (a one-head network has no trunk)",
                       what, a->trunk, a->trunk == 1 ? "" : "s", a->n_layers, a->n_heads);
        return NRPS_ERR_ARG;
    }
    int next = a->trunk;
    for (int h = 0; h < a->n_heads; h++) {
        const nn_head *hd = &a->head[h];
        if (hd->first != next || hd->count < 1 || hd->first + hd->count > a->n_layers) {
            nrps_set_error("%s: head %d covers layers %d..%d; expected layers from %d on, at least one", what, h,
                           hd->first, hd->first + hd->count - 1, next);
            return NRPS_ERR_ARG;
        }
        if (!hd->name[0] || memchr(hd->name, 0, sizeof hd->name) == NULL) {
            nrps_set_error("%s: head %d has no name", what, h);
            return NRPS_ERR_ARG;
        }
        if ((int)hd->kind < NN_HEAD_OTHER || (int)hd->kind > NN_HEAD_VALUE) {
            nrps_set_error("%s: head %d has an unknown kind %d", what, h, (int)hd->kind);
            return NRPS_ERR_ARG;
        }
        next += hd->count;
    }
    if (next != a->n_layers) {
        nrps_set_error("%s: heads end at layer %d of %d", what, next, a->n_layers);
        return NRPS_ERR_ARG;
    }
    if (a->n_heads == 2 && !strcmp(a->head[0].name, a->head[1].name)) {
        nrps_set_error("%s: both heads are named '%s'", what, a->head[0].name);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

nrps_status nn_arch_check(const nn_arch *a, const char *what) {
    if (a->n_layers < 1 || a->n_layers > NN_MAX_LAYERS) {
        nrps_set_error("%s: %d layers (supported: 1 to %d)", what, a->n_layers, NN_MAX_LAYERS);
        return NRPS_ERR_ARG;
    }
    if (a->in < 1 || a->in > NN_MAX_WIDTH) {
        nrps_set_error("%s: input width %d (supported: 1 to %d)", what, a->in, NN_MAX_WIDTH);
        return NRPS_ERR_ARG;
    }
    nrps_status st = check_heads(a, what);
    if (st != NRPS_OK) return st;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer_spec *s = &a->layer[l];
        if (s->out < 1 || s->out > NN_MAX_WIDTH) {
            nrps_set_error("%s: layer %d has output width %d (supported: 1 to %d)", what, l + 1, s->out, NN_MAX_WIDTH);
            return NRPS_ERR_ARG;
        }
        if ((int)s->act < NN_ACT_NONE || (int)s->act > NN_ACT_LEAKY_RELU || !isfinite(s->alpha)) {
            nrps_set_error("%s: layer %d has an unknown activation %d", what, l + 1, (int)s->act);
            return NRPS_ERR_ARG;
        }
        if ((s->act == NN_ACT_SOFTMAX || s->act == NN_ACT_LOGSOFTMAX) && !is_last_of_head(a, l)) {
            nrps_set_error("%s: layer %d ends in %s, which only a head's last layer may", what, l + 1,
                           nn_act_name(s->act));
            return NRPS_ERR_ARG;
        }
    }
    if (nn_arch_param_count(a) > (size_t)INT32_MAX) {
        nrps_set_error("%s: %zu parameters (at most %d)", what, nn_arch_param_count(a), INT32_MAX);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

int nn_arch_equal(const nn_arch *a, const nn_arch *b) {
    if (a->in != b->in || a->n_layers != b->n_layers || a->trunk != b->trunk || a->n_heads != b->n_heads) return 0;
    for (int l = 0; l < a->n_layers; l++)
        if (a->layer[l].out != b->layer[l].out || a->layer[l].act != b->layer[l].act ||
            a->layer[l].alpha != b->layer[l].alpha)
            return 0;
    for (int h = 0; h < a->n_heads; h++)
        if (a->head[h].kind != b->head[h].kind || a->head[h].first != b->head[h].first ||
            a->head[h].count != b->head[h].count || strcmp(a->head[h].name, b->head[h].name))
            return 0;
    return 1;
}

int nn_layer_in(const nn_arch *a, int l) {
    if (l == 0) return a->in;
    for (int h = 0; h < a->n_heads; h++)
        if (l == a->head[h].first) return a->trunk > 0 ? a->layer[a->trunk - 1].out : a->in;
    return a->layer[l - 1].out;
}

int nn_head_width(const nn_arch *a, int h) { return a->layer[a->head[h].first + a->head[h].count - 1].out; }

nn_act nn_head_act(const nn_arch *a, int h) { return a->layer[a->head[h].first + a->head[h].count - 1].act; }

int nn_head_find(const nn_arch *a, nn_head_kind kind) {
    for (int h = 0; h < a->n_heads; h++)
        if (a->head[h].kind == kind) return h;
    return -1;
}

int nn_arch_max_width(const nn_arch *a) {
    int w = 1;
    for (int l = 0; l < a->n_layers; l++)
        if (a->layer[l].out > w) w = a->layer[l].out;
    return w;
}

size_t nn_layer_offset(const nn_arch *a, int l) {
    size_t off = 0;
    for (int k = 0; k < l; k++) off += (size_t)a->layer[k].out * ((size_t)nn_layer_in(a, k) + 1);
    return off;
}

size_t nn_arch_param_count(const nn_arch *a) {
    if (a->n_layers < 1 || a->n_layers > NN_MAX_LAYERS) return 0;
    return nn_layer_offset(a, a->n_layers);
}

/* Appends printf-formatted text to buf[len] at *pos, never past the end. */
static void appendf(char *buf, size_t len, size_t *pos, const char *fmt, const char *text, int v) {
    if (*pos + 1 >= len) return;
    int k = snprintf(buf + *pos, len - *pos, fmt, text, v);
    if (k > 0) *pos = *pos + (size_t)k < len ? *pos + (size_t)k : len - 1;
}

static void describe_layers(const nn_arch *a, int first, int count, char *buf, size_t len, size_t *pos) {
    for (int l = first; l < first + count; l++) appendf(buf, len, pos, "%s%d", l == first ? "" : "-", a->layer[l].out);
}

double nn_arch_flops(const nn_arch *a) {
    double f = 0;
    for (int l = 0; l < a->n_layers; l++) f += 2.0 * nn_layer_in(a, l) * a->layer[l].out;
    return f;
}

void nn_arch_describe(const nn_arch *a, char *buf, size_t len) {
    size_t pos = 0;
    if (!len) return;
    buf[0] = 0;
    appendf(buf, len, &pos, "%s%d", "", a->in);
    if (a->n_heads == 1) {
        appendf(buf, len, &pos, "%s", "-", 0);
        describe_layers(a, 0, a->n_layers, buf, len, &pos);
        return;
    }
    if (a->trunk > 0) {
        appendf(buf, len, &pos, "%s", "-", 0);
        describe_layers(a, 0, a->trunk, buf, len, &pos);
    }
    for (int h = 0; h < a->n_heads; h++) {
        appendf(buf, len, &pos, h ? " | %s:" : " -> %s:", a->head[h].name, 0);
        describe_layers(a, a->head[h].first, a->head[h].count, buf, len, &pos);
    }
}

const char *nn_act_name(nn_act a) {
    switch (a) {
    case NN_ACT_NONE: return "none";
    case NN_ACT_RELU: return "relu";
    case NN_ACT_TANH: return "tanh";
    case NN_ACT_SIGMOID: return "sigmoid";
    case NN_ACT_SOFTMAX: return "softmax";
    case NN_ACT_LOGSOFTMAX: return "logsoftmax";
    case NN_ACT_LEAKY_RELU: return "leaky_relu";
    }
    return "unknown";
}

const char *nn_head_kind_name(nn_head_kind k) {
    switch (k) {
    case NN_HEAD_POLICY: return "policy";
    case NN_HEAD_VALUE: return "value";
    default: return "other";
    }
}

void nn_set_views(nn_net *n) {
    for (int l = 0; l < n->arch.n_layers; l++) {
        n->w[l] = n->params + nn_layer_offset(&n->arch, l);
        n->b[l] = n->w[l] + (size_t)n->arch.layer[l].out * (size_t)nn_layer_in(&n->arch, l);
    }
}

nrps_status nn_init(nn_net *n, const nn_arch *a) {
    memset(n, 0, sizeof *n);
    nrps_status st = nn_arch_check(a, "network");
    if (st != NRPS_OK) return st;
    size_t count = nn_arch_param_count(a);
    n->params = calloc(count, sizeof(float));
    if (!n->params) {
        nrps_set_error("network: out of memory for %zu parameters", count);
        return NRPS_ERR_NOMEM;
    }
    n->arch = *a;
    n->n_params = count;
    nn_set_views(n);
    return NRPS_OK;
}

void nn_free(nn_net *n) {
    if (!n) return;
    free(n->params);
    memset(n, 0, sizeof *n);
}

nrps_status nn_copy(nn_net *dst, const nn_net *src) {
    nrps_status st = nn_init(dst, &src->arch);
    if (st == NRPS_OK) memcpy(dst->params, src->params, src->n_params * sizeof(float));
    return st;
}

void nn_init_random(nn_net *n, nrps_rng *rng) {
    for (int l = 0; l < n->arch.n_layers; l++) {
        int in = nn_layer_in(&n->arch, l), out = n->arch.layer[l].out;
        double a = 1.0 / sqrt((double)in);
        size_t nw = (size_t)out * (size_t)in;
        for (size_t i = 0; i < nw; i++) n->w[l][i] = (float)((2.0 * nrps_rng_uniform(rng) - 1.0) * a);
        for (int i = 0; i < out; i++) n->b[l][i] = (float)((2.0 * nrps_rng_uniform(rng) - 1.0) * a);
    }
}

int nn_params_finite(const nn_net *n, int *layer) {
    for (int l = 0; l < n->arch.n_layers; l++) {
        size_t count = (size_t)n->arch.layer[l].out * ((size_t)nn_layer_in(&n->arch, l) + 1);
        for (size_t i = 0; i < count; i++)
            if (!isfinite(n->w[l][i])) {
                if (layer) *layer = l;
                return 0;
            }
    }
    return 1;
}

size_t nn_forward_scratch(const nn_arch *a, int batch) {
    return 3 * (size_t)(batch > 0 ? batch : 1) * (size_t)nn_arch_max_width(a);
}

/* Layers first..first+count-1 on x: the last one writes y (when not NULL), the others ping-pong in buf[0..1];
 * returns where the output is. */
static const float *run_layers(const nn_net *n, int first, int count, const float *x, int batch, float *y,
                               float *const buf[2]) {
    const nn_arch *a = &n->arch;
    for (int l = first; l < first + count; l++) {
        const nn_layer_spec *s = &a->layer[l];
        float *dst = l == first + count - 1 && y ? y : buf[(l - first) & 1];
        /* A head's final activation is applied to the rounded outputs, hidden ones to the double sums. */
        int head_end = is_last_of_head(a, l);
        nn_dense_ref(x, batch, nn_layer_in(a, l), n->w[l], n->b[l], s->out, head_end ? NN_ACT_NONE : s->act,
                     s->alpha, dst);
        if (head_end) nn_act_rows(s->act, s->alpha, dst, batch, s->out);
        x = dst;
    }
    return x;
}

nrps_status nn_forward(const nn_net *n, const float *x, int batch, float *const *y, float *scratch) {
    if (!n || !n->params || batch < 0 || (batch > 0 && (!x || !y))) {
        nrps_set_error("nn_forward: bad arguments");
        return NRPS_ERR_ARG;
    }
    if (batch == 0) return NRPS_OK;
    const nn_arch *a = &n->arch;
    float *s = scratch;
    if (!s && !(s = malloc(nn_forward_scratch(a, batch) * sizeof(float)))) {
        nrps_set_error("nn_forward: out of memory");
        return NRPS_ERR_NOMEM;
    }
    size_t area = (size_t)batch * (size_t)nn_arch_max_width(a);
    float *const trunk_buf[2] = {s, s + area};
    const float *trunk_out = a->trunk > 0 ? run_layers(n, 0, a->trunk, x, batch, NULL, trunk_buf) : x;
    /* The heads ping-pong in the third area and whichever trunk area does not hold the trunk's output. */
    float *const head_buf[2] = {trunk_out == trunk_buf[0] ? trunk_buf[1] : trunk_buf[0], s + 2 * area};
    for (int h = 0; h < a->n_heads; h++) run_layers(n, a->head[h].first, a->head[h].count, trunk_out, batch, y[h], head_buf);
    if (!scratch) free(s);
    return NRPS_OK;
}
