/* onnx_net.c - reading the network family (src/nn/net.h) from ONNX with protobuf-c (see onnx_net.h).
 *
 * The reader indexes every value name of the graph once (a hash table: name -> constant tensor, graph output,
 * the nodes reading it), then follows the graph from its one input: a chain of nodes, at most one fork into
 * two heads, each head ending at a graph output. Every node is visited at most once (a second visit is a
 * cycle), so any graph is read in time linear in its size. Anything outside the family gets one line naming
 * the file, the node and what is supported. The writer is onnx_net_write.c, the .model importer
 * onnx_net_go.c. */
#include "onnx/onnx_net.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define ONNX_NET_MAX_BYTES ((size_t)256 << 20)
#define SUPPORTED_OPS                                                                                             \
    "Gemm, MatMul (+ Add), Relu, LeakyRelu, Tanh, Sigmoid, Softmax, LogSoftmax, Flatten, Identity, Dropout, "   \
    "Reshape, Constant"

/* ------------------------------------------------------------------------------------------------
 * The value index
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const Onnx__TensorProto *konst; /* initializer or Constant node value, or NULL */
    int is_init;                    /* named by an initializer */
    int output;                     /* graph output index, or -1 */
    int n_cons;                     /* nodes reading it, each node counted once */
    int last_cons;                  /* while indexing: the last node counted */
    size_t first_cons;              /* its consumers: cons[first_cons .. + n_cons] */
} value;

typedef struct {
    const char *path;
    Onnx__ModelProto *model;
    const Onnx__GraphProto *g;
    long long opset;
    size_t cap;          /* hash slots, a power of two */
    size_t *slot;        /* value index + 1; 0 = empty */
    value *val;
    size_t n_val, max_val;
    int *cons;           /* consumer node indices grouped by value */
    unsigned char *used; /* per node: visited by the walk (or a Constant) */
    char label[4][160];  /* node descriptions for messages (a ring) */
    int next_label;
} reader;

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Index of the value called name, or -1. */
static long value_find(const reader *r, const char *name) {
    size_t mask = r->cap - 1;
    for (size_t i = (size_t)name_hash(name) & mask;; i = (i + 1) & mask) {
        if (!r->slot[i]) return -1;
        if (!strcmp(r->val[r->slot[i] - 1].name, name)) return (long)(r->slot[i] - 1);
    }
}

/* Index of the value called name, added when new (the table is sized for every name of the graph). */
static size_t value_add(reader *r, const char *name) {
    size_t mask = r->cap - 1;
    size_t i = (size_t)name_hash(name) & mask;
    for (; r->slot[i]; i = (i + 1) & mask)
        if (!strcmp(r->val[r->slot[i] - 1].name, name)) return r->slot[i] - 1;
    value *v = &r->val[r->n_val];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->output = -1;
    v->last_cons = -1;
    r->slot[i] = ++r->n_val;
    return r->n_val - 1;
}

static int is_const_node(const Onnx__NodeProto *n) { return n->op_type && !strcmp(n->op_type, "Constant"); }

static const Onnx__TensorProto *constant_value(const Onnx__NodeProto *n) {
    for (size_t a = 0; a < n->n_attribute; a++)
        if (n->attribute[a]->name && !strcmp(n->attribute[a]->name, "value") && n->attribute[a]->t)
            return n->attribute[a]->t;
    return NULL;
}

static nrps_status index_alloc(reader *r) {
    const Onnx__GraphProto *g = r->g;
    size_t bound = g->n_initializer + g->n_input + g->n_output + 1;
    for (size_t i = 0; i < g->n_node; i++) bound += g->node[i]->n_input + g->node[i]->n_output;
    r->cap = 16;
    while (r->cap < 2 * bound) r->cap *= 2;
    r->max_val = bound;
    r->slot = calloc(r->cap, sizeof *r->slot);
    r->val = malloc(bound * sizeof *r->val);
    r->used = calloc(g->n_node + 1, 1);
    if (!r->slot || !r->val || !r->used) {
        nrps_set_error("%s: out of memory indexing %zu nodes", r->path, g->n_node);
        return NRPS_ERR_NOMEM;
    }
    return NRPS_OK;
}

/* Counts (pass 0) or records (pass 1) the nodes reading each value, each node once per value. */
static void index_consumers(reader *r, int pass) {
    for (size_t i = 0; i < r->g->n_node; i++) {
        const Onnx__NodeProto *n = r->g->node[i];
        for (size_t k = 0; k < n->n_input; k++) {
            if (!n->input[k] || !n->input[k][0]) continue; /* an omitted optional input */
            value *v = &r->val[value_add(r, n->input[k])];
            if (v->last_cons == (int)i) continue;
            v->last_cons = (int)i;
            if (pass == 1) r->cons[v->first_cons + (size_t)v->n_cons] = (int)i;
            v->n_cons++;
        }
    }
}

/* Builds the index: constants, consumers, graph outputs. */
static nrps_status index_build(reader *r) {
    const Onnx__GraphProto *g = r->g;
    nrps_status st = index_alloc(r);
    if (st != NRPS_OK) return st;
    for (size_t i = 0; i < g->n_initializer; i++) {
        value *v = &r->val[value_add(r, str_or_empty(g->initializer[i]->name))];
        if (!v->konst) v->konst = g->initializer[i];
        v->is_init = 1;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (!is_const_node(n) || n->n_output < 1 || !n->output[0]) continue;
        value *v = &r->val[value_add(r, n->output[0])];
        if (!v->konst) v->konst = constant_value(n);
        r->used[i] = 1;
    }
    index_consumers(r, 0);
    size_t total = 0;
    for (size_t k = 0; k < r->n_val; k++) {
        r->val[k].first_cons = total;
        total += (size_t)r->val[k].n_cons;
        r->val[k].n_cons = 0;
        r->val[k].last_cons = -1;
    }
    r->cons = malloc((total + 1) * sizeof *r->cons);
    if (!r->cons) {
        nrps_set_error("%s: out of memory indexing %zu nodes", r->path, g->n_node);
        return NRPS_ERR_NOMEM;
    }
    index_consumers(r, 1);
    for (size_t k = 0; k < g->n_output; k++) {
        const char *name = str_or_empty(g->output[k]->name);
        if (!name[0]) {
            nrps_set_error("%s: graph output %zu has no name", r->path, k);
            return NRPS_ERR_FORMAT;
        }
        value *v = &r->val[value_add(r, name)];
        if (v->output >= 0) {
            nrps_set_error("%s: two graph outputs are named '%s'", r->path, name);
            return NRPS_ERR_FORMAT;
        }
        v->output = (int)k;
    }
    return NRPS_OK;
}

static const Onnx__TensorProto *const_find(const reader *r, const char *name) {
    if (!name || !name[0]) return NULL;
    long k = value_find(r, name);
    return k < 0 ? NULL : r->val[k].konst;
}

/* "node '/fc1/Gemm'" (or "node 3 (Gemm)" when unnamed), valid until four more labels are made. */
static const char *node_label(reader *r, int i) {
    const Onnx__NodeProto *n = r->g->node[i];
    char *buf = r->label[r->next_label++ & 3];
    if (n->name && n->name[0])
        snprintf(buf, sizeof r->label[0], "node '%.120s'", n->name);
    else
        snprintf(buf, sizeof r->label[0], "node %d (%.40s)", i, str_or_empty(n->op_type));
    return buf;
}

/* ------------------------------------------------------------------------------------------------
 * Tensors and attributes
 * ---------------------------------------------------------------------------------------------- */

static const char *elem_type_name(int32_t t) {
    static const char *names[] = {"undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                  "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                  "complex128", "bfloat16"};
    if (t >= 0 && t < (int32_t)(sizeof names / sizeof names[0])) return names[t];
    return "unknown";
}

static const char *tname(const Onnx__TensorProto *t) { return t->name && t->name[0] ? t->name : "(unnamed)"; }

static int64_t tensor_numel(const Onnx__TensorProto *t) {
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && n > ((int64_t)1 << 40) / t->dims[i])) return -1;
        n *= t->dims[i];
    }
    return n;
}

static int has_raw(const Onnx__TensorProto *t) { return t->has_raw_data && t->raw_data.len > 0; }

/* Checks that a float32 tensor's data is present and complete, before anything is allocated for it (a corrupt
 * 100-byte file can declare 2^40 elements). */
static nrps_status tensor_float_check(const reader *r, const Onnx__TensorProto *t, int64_t *numel) {
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        nrps_set_error("%s: tensor '%s' uses external data, which is not supported", r->path, tname(t));
        return NRPS_ERR_UNSUPPORTED;
    }
    int32_t dt = t->has_data_type ? t->data_type : 0;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        nrps_set_error("%s: tensor '%s' has element type %s, expected float32", r->path, tname(t), elem_type_name(dt));
        return NRPS_ERR_UNSUPPORTED;
    }
    int64_t n = tensor_numel(t);
    if (n < 0) {
        nrps_set_error("%s: tensor '%s' has invalid dimensions", r->path, tname(t));
        return NRPS_ERR_FORMAT;
    }
    if (has_raw(t) && t->raw_data.len != (size_t)n * 4) {
        nrps_set_error("%s: tensor '%s' has %zu byte%s of raw data, expected %lld", r->path, tname(t), t->raw_data.len,
                       t->raw_data.len == 1 ? "" : "s", (long long)n * 4);
        return NRPS_ERR_FORMAT;
    }
    if (!has_raw(t) && t->n_float_data != (size_t)n) {
        nrps_set_error("%s: tensor '%s' has %zu float value%s, expected %lld", r->path, tname(t), t->n_float_data,
                       t->n_float_data == 1 ? "" : "s", (long long)n);
        return NRPS_ERR_FORMAT;
    }
    *numel = n;
    return NRPS_OK;
}

/* Float32 tensor -> malloc'd floats (raw little-endian or float_data), refused when not finite. */
static nrps_status tensor_floats(const reader *r, const Onnx__TensorProto *t, float **out, int64_t *numel) {
    *out = NULL;
    int64_t n = 0;
    nrps_status st = tensor_float_check(r, t, &n);
    if (st != NRPS_OK) return st;
    float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!f) {
        nrps_set_error("%s: out of memory for tensor '%s'", r->path, tname(t));
        return NRPS_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        if (has_raw(t)) {
            const uint8_t *b = t->raw_data.data + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&f[i], &u, 4);
        } else {
            f[i] = t->float_data[i];
        }
        if (!isfinite(f[i])) {
            nrps_set_error("%s: tensor '%s' contains NaN/Inf (element %lld)", r->path, tname(t), (long long)i);
            free(f);
            return NRPS_ERR_FORMAT;
        }
    }
    *out = f;
    *numel = n;
    return NRPS_OK;
}

/* Int64 tensor (a Reshape shape) -> up to cap values; returns the count or -1. */
static int tensor_int64s(const Onnx__TensorProto *t, int64_t *v, int cap) {
    if (!t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64) return -1;
    int64_t n = tensor_numel(t);
    if (n < 0 || n > cap) return -1;
    if (has_raw(t)) {
        if (t->raw_data.len != (size_t)n * 8) return -1;
        for (int64_t i = 0; i < n; i++) {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--) u = u << 8 | t->raw_data.data[8 * i + b];
            v[i] = (int64_t)u;
        }
    } else if (t->n_int64_data == (size_t)n) {
        for (int64_t i = 0; i < n; i++) v[i] = t->int64_data[i];
    } else {
        return -1;
    }
    return (int)n;
}

static const Onnx__AttributeProto *attr_find(const Onnx__NodeProto *n, const char *name) {
    for (size_t a = 0; a < n->n_attribute; a++)
        if (n->attribute[a]->name && !strcmp(n->attribute[a]->name, name)) return n->attribute[a];
    return NULL;
}

static int64_t attr_int(const Onnx__NodeProto *n, const char *name, int64_t def) {
    const Onnx__AttributeProto *a = attr_find(n, name);
    return a && a->has_i ? a->i : def;
}

static float attr_float(const Onnx__NodeProto *n, const char *name, float def) {
    const Onnx__AttributeProto *a = attr_find(n, name);
    return a && a->has_f ? a->f : def;
}

/* ------------------------------------------------------------------------------------------------
 * Layers as read
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    int in, out;
    float *w, *b;   /* w[out][in], b[out] */
    nn_act act;
    float alpha;
    int has_act;    /* an activation node was read for it */
    int node;       /* the Gemm/MatMul node */
} rlayer;

/* The walk: layers in the order read (trunk, then each branch), the fork and the branches. */
typedef struct {
    rlayer L[NN_MAX_LAYERS];
    int n;                            /* layers read so far */
    int trunk;                        /* layers before the fork */
    int n_br;                         /* 1 (a chain) or 2 (forked) */
    int br_first[2], br_count[2], br_output[2];
    int seg_prev;                     /* the layer (1-based) feeding the segment being read; 0 = the input */
    char *ops;                        /* info->ops */
    size_t ops_len;
} walk;

static void walk_free(walk *w) {
    for (int l = 0; l < NN_MAX_LAYERS; l++) {
        free(w->L[l].w);
        free(w->L[l].b);
    }
}

static void ops_append(walk *w, const char *op) {
    size_t len = strlen(w->ops);
    if (len + 1 < w->ops_len) snprintf(w->ops + len, w->ops_len - len, "%s%s", len ? " " : "", op);
}

/* Weight tensor (2-D): trans = 1 means stored [out][in] (Gemm transB=1), 0 means [in][out]. */
static nrps_status layer_weight(reader *r, const Onnx__TensorProto *t, int trans, float scale, rlayer *l,
                                int layer_no) {
    if (t->n_dims != 2) {
        nrps_set_error("%s: layer %d (%s): weight '%s' has rank %zu, expected 2", r->path, layer_no,
                       node_label(r, l->node), tname(t), t->n_dims);
        return NRPS_ERR_UNSUPPORTED;
    }
    int64_t d0 = t->dims[0], d1 = t->dims[1], numel = 0;
    if (d0 <= 0 || d1 <= 0 || d0 > NN_MAX_WIDTH || d1 > NN_MAX_WIDTH) {
        nrps_set_error("%s: layer %d (%s): weight '%s' has shape [%lld, %lld] (each side 1 to %d supported)", r->path,
                       layer_no, node_label(r, l->node), tname(t), (long long)d0, (long long)d1, NN_MAX_WIDTH);
        return NRPS_ERR_UNSUPPORTED;
    }
    float *f = NULL;
    nrps_status st = tensor_floats(r, t, &f, &numel);
    if (st != NRPS_OK) return st;
    l->out = (int)(trans ? d0 : d1);
    l->in = (int)(trans ? d1 : d0);
    l->w = malloc((size_t)l->out * (size_t)l->in * sizeof(float));
    if (!l->w) {
        free(f);
        nrps_set_error("%s: out of memory", r->path);
        return NRPS_ERR_NOMEM;
    }
    for (size_t o = 0; o < (size_t)l->out; o++)
        for (size_t i = 0; i < (size_t)l->in; i++)
            l->w[o * l->in + i] = scale * (trans ? f[o * l->in + i] : f[i * l->out + o]);
    free(f);
    return NRPS_OK;
}

/* Bias tensor: [out], [1, out], [1] or a scalar (broadcast); t NULL = no bias (zeros). */
static nrps_status layer_bias(reader *r, const Onnx__TensorProto *t, float scale, rlayer *l, int layer_no) {
    l->b = calloc((size_t)l->out, sizeof(float));
    if (!l->b) {
        nrps_set_error("%s: out of memory", r->path);
        return NRPS_ERR_NOMEM;
    }
    if (!t) return NRPS_OK;
    float *f = NULL;
    int64_t numel = 0;
    nrps_status st = tensor_floats(r, t, &f, &numel);
    if (st != NRPS_OK) return st;
    int ok = (numel == l->out && (t->n_dims == 1 || (t->n_dims == 2 && t->dims[0] == 1))) ||
             (numel == 1 && t->n_dims <= 2);
    if (!ok) {
        nrps_set_error("%s: layer %d (%s): bias '%s' has %lld value%s in %zu dimension%s, expected [%d]", r->path,
                       layer_no, node_label(r, l->node), tname(t), (long long)numel, numel == 1 ? "" : "s", t->n_dims,
                       t->n_dims == 1 ? "" : "s", l->out);
        free(f);
        return NRPS_ERR_UNSUPPORTED;
    }
    for (int o = 0; o < l->out; o++) l->b[o] = scale * f[numel == 1 ? 0 : o];
    free(f);
    return NRPS_OK;
}

/* Gemm (transA 0, transB 0/1, alpha/beta folded into W and b) as layer l. */
static nrps_status gemm_read(reader *r, const Onnx__NodeProto *n, rlayer *l, int layer_no) {
    const Onnx__TensorProto *wt = n->n_input >= 2 ? const_find(r, n->input[1]) : NULL;
    if (!wt) {
        nrps_set_error("%s: layer %d (%s): Gemm weight '%s' is not a constant (an initializer or Constant node)",
                       r->path, layer_no, node_label(r, l->node), n->n_input >= 2 ? str_or_empty(n->input[1]) : "");
        return NRPS_ERR_UNSUPPORTED;
    }
    if (attr_int(n, "transA", 0) != 0) {
        nrps_set_error("%s: layer %d (%s): Gemm with transA=1 is not supported (transA 0, transB 0 or 1)", r->path,
                       layer_no, node_label(r, l->node));
        return NRPS_ERR_UNSUPPORTED;
    }
    float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
    if (!isfinite(alpha) || !isfinite(beta)) {
        nrps_set_error("%s: layer %d (%s): Gemm has a non-finite alpha or beta", r->path, layer_no,
                       node_label(r, l->node));
        return NRPS_ERR_UNSUPPORTED;
    }
    nrps_status st = layer_weight(r, wt, attr_int(n, "transB", 0) != 0, alpha, l, layer_no);
    if (st != NRPS_OK) return st;
    const Onnx__TensorProto *bt = NULL;
    if (n->n_input >= 3 && n->input[2] && n->input[2][0] && !(bt = const_find(r, n->input[2]))) {
        nrps_set_error("%s: layer %d (%s): Gemm bias '%s' is not a constant", r->path, layer_no,
                       node_label(r, l->node), n->input[2]);
        return NRPS_ERR_UNSUPPORTED;
    }
    return layer_bias(r, bt, beta, l, layer_no);
}

/* MatMul (x @ W, W [in][out]) and, when the one node reading its result is an Add of a constant (either
 * operand order), that Add as the bias; *next = the layer's output value. */
static nrps_status matmul_read(reader *r, walk *w, const Onnx__NodeProto *n, rlayer *l, int layer_no,
                               const char **next) {
    const Onnx__TensorProto *wt = n->n_input == 2 ? const_find(r, n->input[1]) : NULL;
    if (!wt) {
        nrps_set_error("%s: layer %d (%s): MatMul weight '%s' is not a constant (supported: input @ constant)",
                       r->path, layer_no, node_label(r, l->node), n->n_input >= 2 ? str_or_empty(n->input[1]) : "");
        return NRPS_ERR_UNSUPPORTED;
    }
    nrps_status st = layer_weight(r, wt, 0, 1.0f, l, layer_no);
    if (st != NRPS_OK) return st;
    ops_append(w, "MatMul");
    long v = value_find(r, *next);
    const Onnx__TensorProto *bt = NULL;
    if (v >= 0 && r->val[v].n_cons == 1 && r->val[v].output < 0) {
        int ai = r->cons[r->val[v].first_cons];
        const Onnx__NodeProto *an = r->g->node[ai];
        if (!r->used[ai] && !strcmp(an->op_type, "Add") && an->n_input == 2 && an->n_output >= 1) {
            const char *other = !strcmp(str_or_empty(an->input[0]), *next) ? an->input[1] : an->input[0];
            if (!(bt = const_find(r, other))) {
                nrps_set_error("%s: layer %d (%s): Add operand '%s' is not a constant bias", r->path, layer_no,
                               node_label(r, ai), str_or_empty(other));
                return NRPS_ERR_UNSUPPORTED;
            }
            r->used[ai] = 1;
            *next = str_or_empty(an->output[0]);
            ops_append(w, "Add");
        }
    }
    return layer_bias(r, bt, 1.0f, l, layer_no);
}

static int is_row_act(nn_act a) { return a == NN_ACT_SOFTMAX || a == NN_ACT_LOGSOFTMAX; }

/* A Gemm or MatMul node starts layer w->n; width is the feature width reaching it (0 = unknown). */
static nrps_status linear_read(reader *r, walk *w, int ni, int seg_first, int width, const char **next) {
    const Onnx__NodeProto *n = r->g->node[ni];
    int layer_no = w->n + 1;
    if (w->n > seg_first && is_row_act(w->L[w->n - 1].act)) {
        nrps_set_error("%s: layer %d (%s): %s is supported only after a head's last layer, not before layer %d",
                       r->path, w->n, node_label(r, w->L[w->n - 1].node),
                       w->L[w->n - 1].act == NN_ACT_SOFTMAX ? "Softmax" : "LogSoftmax", layer_no);
        return NRPS_ERR_UNSUPPORTED;
    }
    if (w->n == NN_MAX_LAYERS) {
        nrps_set_error("%s: layer %d (%s): more than %d linear layers (supported: 1 to %d)", r->path, layer_no,
                       node_label(r, ni), NN_MAX_LAYERS, NN_MAX_LAYERS);
        return NRPS_ERR_UNSUPPORTED;
    }
    rlayer *l = &w->L[w->n];
    l->node = ni;
    nrps_status st;
    if (!strcmp(n->op_type, "Gemm")) {
        st = gemm_read(r, n, l, layer_no);
        ops_append(w, "Gemm");
    } else {
        st = matmul_read(r, w, n, l, layer_no, next);
    }
    w->n++; /* counted even on error: walk_free frees its tensors */
    if (st != NRPS_OK) return st;
    if (width && l->in != width) {
        int prev = w->n - 1 > seg_first ? w->n - 1 : w->seg_prev;
        if (prev > 0)
            nrps_set_error("%s: layer %d (%s): input width %d does not match layer %d's output %d", r->path, layer_no,
                           node_label(r, ni), l->in, prev, width);
        else
            nrps_set_error("%s: layer %d (%s): input width %d does not match the graph input's width %d", r->path,
                           layer_no, node_label(r, ni), l->in, width);
        return NRPS_ERR_UNSUPPORTED;
    }
    return NRPS_OK;
}

/* An activation node after layer w->n (the open layer of this segment). */
static nrps_status act_read(reader *r, walk *w, int ni, int seg_first, nn_act act, float alpha) {
    const Onnx__NodeProto *n = r->g->node[ni];
    if (w->n == seg_first) {
        nrps_set_error("%s: %s (%s) comes before %s: expected a Gemm or MatMul first", r->path, n->op_type,
                       node_label(r, ni), seg_first == 0 ? "any linear layer" : "the head's first linear layer");
        return NRPS_ERR_UNSUPPORTED;
    }
    rlayer *l = &w->L[w->n - 1];
    if (l->has_act) {
        nrps_set_error("%s: layer %d (%s): a second activation %s (%s): one activation per layer is supported",
                       r->path, w->n, node_label(r, l->node), n->op_type, node_label(r, ni));
        return NRPS_ERR_UNSUPPORTED;
    }
    if (!isfinite(alpha)) {
        nrps_set_error("%s: %s (%s) has a non-finite alpha", r->path, n->op_type, node_label(r, ni));
        return NRPS_ERR_UNSUPPORTED;
    }
    l->act = act;
    l->alpha = act == NN_ACT_LEAKY_RELU ? alpha : 0;
    l->has_act = 1;
    ops_append(w, n->op_type);
    return NRPS_OK;
}

/* Softmax / LogSoftmax over the feature axis only (1, or -1 on [batch, features]). */
static nrps_status row_act_read(reader *r, walk *w, int ni, int seg_first) {
    const Onnx__NodeProto *n = r->g->node[ni];
    int64_t axis = attr_int(n, "axis", r->opset >= 13 ? -1 : 1);
    if (axis != 1 && axis != -1) {
        nrps_set_error("%s: %s over axis %lld (%s): supported are axis 1 and -1 (the features)", r->path, n->op_type,
                       (long long)axis, node_label(r, ni));
        return NRPS_ERR_UNSUPPORTED;
    }
    return act_read(r, w, ni, seg_first, n->op_type[0] == 'S' ? NN_ACT_SOFTMAX : NN_ACT_LOGSOFTMAX, 0);
}

/* Flatten (axis 1) and Reshape to [batch, width] are no-ops on [batch, features]. */
static nrps_status shape_op_read(reader *r, walk *w, int ni, int width) {
    const Onnx__NodeProto *n = r->g->node[ni];
    if (!strcmp(n->op_type, "Flatten")) {
        int64_t axis = attr_int(n, "axis", 1);
        if (axis != 1 && axis != -1) {
            nrps_set_error("%s: Flatten with axis %lld (%s): supported is axis 1 on [batch, features]", r->path,
                           (long long)axis, node_label(r, ni));
            return NRPS_ERR_UNSUPPORTED;
        }
    } else {
        const Onnx__TensorProto *s = n->n_input >= 2 ? const_find(r, n->input[1]) : NULL;
        int64_t v[4];
        int k = s ? tensor_int64s(s, v, 4) : -1;
        if (k != 2 || (v[0] != -1 && v[0] != 0) || width == 0 || (v[1] != width && !(v[1] == -1 && v[0] == 0))) {
            nrps_set_error("%s: Reshape (%s) is not a no-op reshape to [batch, %d] (supported: a constant shape "
                           "[-1, %d] or [0, %d])",
                           r->path, node_label(r, ni), width, width, width);
            return NRPS_ERR_UNSUPPORTED;
        }
    }
    ops_append(w, n->op_type);
    return NRPS_OK;
}

/* One node of a chain; *cur = the value it reads, updated to what it produces; *width the feature width. */
static nrps_status node_read(reader *r, walk *w, int ni, int seg_first, const char **cur, int *width) {
    const Onnx__NodeProto *n = r->g->node[ni];
    const char *op = n->op_type;
    static const char *known[] = {"Gemm", "MatMul", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Softmax",
                                  "LogSoftmax", "Flatten", "Identity", "Dropout", "Reshape", NULL};
    int k = 0;
    while (known[k] && strcmp(known[k], op)) k++;
    if (!known[k]) {
        nrps_set_error("%s: unsupported operator '%s' (%s) on the path from the input (supported: %s)", r->path, op,
                       node_label(r, ni), !strcmp(op, "Add") ? "Add only as a MatMul's bias" : SUPPORTED_OPS);
        return NRPS_ERR_UNSUPPORTED;
    }
    if (n->n_input < 1 || strcmp(str_or_empty(n->input[0]), *cur) || n->n_output < 1 || !n->output[0]) {
        nrps_set_error("%s: %s (%s) reads '%s' other than as its first input, or has no output (supported: the "
                       "path's value as the first input)",
                       r->path, op, node_label(r, ni), *cur);
        return NRPS_ERR_UNSUPPORTED;
    }
    const char *next = n->output[0];
    nrps_status st = NRPS_OK;
    if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) {
        st = linear_read(r, w, ni, seg_first, *width, &next);
        if (st == NRPS_OK) *width = w->L[w->n - 1].out;
    } else if (!strcmp(op, "Relu")) {
        st = act_read(r, w, ni, seg_first, NN_ACT_RELU, 0);
    } else if (!strcmp(op, "LeakyRelu")) {
        st = act_read(r, w, ni, seg_first, NN_ACT_LEAKY_RELU, attr_float(n, "alpha", 0.01f));
    } else if (!strcmp(op, "Tanh")) {
        st = act_read(r, w, ni, seg_first, NN_ACT_TANH, 0);
    } else if (!strcmp(op, "Sigmoid")) {
        st = act_read(r, w, ni, seg_first, NN_ACT_SIGMOID, 0);
    } else if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
        st = row_act_read(r, w, ni, seg_first);
    } else if (!strcmp(op, "Flatten") || !strcmp(op, "Reshape")) {
        st = shape_op_read(r, w, ni, *width);
    } /* Identity, Dropout: no-ops (inference) */
    *cur = next;
    return st;
}

/* How a segment of the walk ended. */
typedef struct {
    int output; /* the graph output reached, or -1 */
    long fork;  /* the value read by several nodes, or -1 */
} seg_end;

/* Follows the chain from value cur (first node first_node, or its one consumer when -1) until a graph output or
 * a value read by several nodes. Layers read are appended to w from index w->n (the segment's first). */
static nrps_status segment_walk(reader *r, walk *w, const char *cur, int first_node, int width, seg_end *end) {
    int seg_first = w->n, ni = first_node;
    w->seg_prev = seg_first == 0 ? 0 : w->trunk;
    end->output = -1;
    end->fork = -1;
    for (;;) {
        long v = value_find(r, cur);
        if (ni < 0) {
            const value *val = v >= 0 ? &r->val[v] : NULL;
            if (val && val->output >= 0 && val->n_cons > 0) {
                nrps_set_error("%s: graph output '%s' is also read by %s (supported: outputs end the graph)",
                               r->path, cur, node_label(r, r->cons[val->first_cons]));
                return NRPS_ERR_UNSUPPORTED;
            }
            if (val && val->output >= 0) {
                end->output = val->output;
                return NRPS_OK;
            }
            if (!val || val->n_cons == 0) {
                nrps_set_error("%s: the path from the input ends at '%s', which is neither read by a node nor a graph "
                               "output",
                               r->path, cur);
                return NRPS_ERR_UNSUPPORTED;
            }
            if (val->n_cons > 1) {
                end->fork = v;
                return NRPS_OK;
            }
            ni = r->cons[val->first_cons];
        }
        if (r->used[ni]) {
            nrps_set_error("%s: %s is reached a second time through '%s': the graph has a cycle", r->path,
                           node_label(r, ni), cur);
            return NRPS_ERR_FORMAT;
        }
        r->used[ni] = 1;
        nrps_status st = node_read(r, w, ni, seg_first, &cur, &width);
        if (st != NRPS_OK) return st;
        ni = -1;
    }
}

/* ------------------------------------------------------------------------------------------------
 * The graph: trunk, fork, heads
 * ---------------------------------------------------------------------------------------------- */

/* The last layer of a head must end in Softmax, LogSoftmax, Sigmoid, Tanh or nothing. */
static nrps_status head_end_check(reader *r, const walk *w, int first, int count, const char *out_name) {
    if (count < 1) {
        nrps_set_error("%s: graph output '%s' has no linear layer of its own (supported: each head has at least one "
                       "Gemm or MatMul)",
                       r->path, out_name);
        return NRPS_ERR_UNSUPPORTED;
    }
    const rlayer *l = &w->L[first + count - 1];
    if (l->act == NN_ACT_RELU || l->act == NN_ACT_LEAKY_RELU) {
        nrps_set_error("%s: layer %d (%s): %s before graph output '%s' (supported after a head's last layer: "
                       "Softmax, LogSoftmax, Sigmoid, Tanh or nothing)",
                       r->path, first + count, node_label(r, l->node), l->act == NN_ACT_RELU ? "Relu" : "LeakyRelu",
                       out_name);
        return NRPS_ERR_UNSUPPORTED;
    }
    return NRPS_OK;
}

static const char *output_name(const reader *r, int k) { return r->g->output[k]->name; }

/* The two branches after the fork at value fv. */
static nrps_status branches_walk(reader *r, walk *w, long fv, int width) {
    const value *val = &r->val[fv];
    if (r->g->n_output != 2 || val->n_cons != 2) {
        nrps_set_error("%s: value '%s' is read by %d nodes (%s and %s) in a graph with %zu output%s (supported: a "
                       "chain, or one fork into two heads that end at the graph's two outputs)",
                       r->path, val->name, val->n_cons, node_label(r, r->cons[val->first_cons]),
                       node_label(r, r->cons[val->first_cons + 1]), r->g->n_output, r->g->n_output == 1 ? "" : "s");
        return NRPS_ERR_UNSUPPORTED;
    }
    if (w->n > 0 && is_row_act(w->L[w->n - 1].act)) {
        nrps_set_error("%s: layer %d (%s): Softmax/LogSoftmax before the fork into two heads (supported only after a "
                       "head's last layer)",
                       r->path, w->n, node_label(r, w->L[w->n - 1].node));
        return NRPS_ERR_UNSUPPORTED;
    }
    w->trunk = w->n;
    w->n_br = 2;
    for (int b = 0; b < 2; b++) {
        seg_end end;
        if (b > 0 || w->trunk > 0) ops_append(w, "|");
        w->br_first[b] = w->n;
        nrps_status st = segment_walk(r, w, val->name, r->cons[val->first_cons + (size_t)b], width, &end);
        if (st != NRPS_OK) return st;
        if (end.fork >= 0) {
            nrps_set_error("%s: a second fork at value '%s' (supported: one fork, after the shared trunk)", r->path,
                           r->val[end.fork].name);
            return NRPS_ERR_UNSUPPORTED;
        }
        w->br_count[b] = w->n - w->br_first[b];
        w->br_output[b] = end.output;
        st = head_end_check(r, w, w->br_first[b], w->br_count[b], output_name(r, end.output));
        if (st != NRPS_OK) return st;
        if (!width) width = w->L[w->br_first[0]].in; /* the second head reads what the first one read */
    }
    if (w->br_output[0] == w->br_output[1]) {
        nrps_set_error("%s: both heads end at graph output '%s'", r->path, output_name(r, w->br_output[0]));
        return NRPS_ERR_UNSUPPORTED;
    }
    return NRPS_OK;
}

/* The whole walk from the graph input. */
static nrps_status graph_walk(reader *r, walk *w, const char *input, int in_width) {
    seg_end end;
    w->n_br = 1;
    nrps_status st = segment_walk(r, w, input, -1, in_width, &end);
    if (st != NRPS_OK) return st;
    if (end.fork >= 0) {
        st = branches_walk(r, w, end.fork, w->n ? w->L[w->n - 1].out : in_width);
    } else if (r->g->n_output != 1) {
        nrps_set_error("%s: the path from input '%s' reaches only graph output '%s' of %zu (supported: one output, "
                       "or two heads forking after a shared trunk)",
                       r->path, input, output_name(r, end.output), r->g->n_output);
        st = NRPS_ERR_UNSUPPORTED;
    } else {
        w->br_first[0] = 0;
        w->br_count[0] = w->n;
        w->br_output[0] = end.output;
        if (w->n == 0) {
            nrps_set_error("%s: no Gemm or MatMul between input '%s' and output '%s' (supported: 1 to %d dense layers)",
                           r->path, input, output_name(r, end.output), NN_MAX_LAYERS);
            return NRPS_ERR_UNSUPPORTED;
        }
        st = head_end_check(r, w, 0, w->n, output_name(r, end.output));
    }
    if (st != NRPS_OK) return st;
    for (size_t i = 0; i < r->g->n_node; i++)
        if (!r->used[i]) {
            nrps_set_error("%s: operator '%s' (%s) is not on the path from the input to the output(s) (supported: "
                           "every node but Constants on that path)",
                           r->path, r->g->node[i]->op_type, node_label(r, (int)i));
            return NRPS_ERR_UNSUPPORTED;
        }
    return NRPS_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Model-level checks: opset, metadata, input, outputs
 * ---------------------------------------------------------------------------------------------- */

static nrps_status opset_read(reader *r, onnx_net_info *inf) {
    r->opset = -1;
    for (size_t i = 0; i < r->model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = r->model->opset_import[i];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) r->opset = o->has_version ? o->version : -1;
    }
    if (r->opset < 0) {
        nrps_set_error("%s: no opset import for the default ONNX domain", r->path);
        return NRPS_ERR_FORMAT;
    }
    if (r->opset < 9 || r->opset > 21) {
        nrps_set_error("%s: opset %lld is not supported (supported: 9-21)", r->path, r->opset);
        return NRPS_ERR_UNSUPPORTED;
    }
    inf->opset = r->opset;
    return NRPS_OK;
}

/* Metadata into inf; *kind = metadata "kind" (or -1), *heads = metadata "heads" (or NULL). */
static void metadata_read(const reader *r, onnx_net_info *inf, int *kind, const char **heads) {
    *kind = -1;
    *heads = NULL;
    for (size_t i = 0; i < r->model->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = r->model->metadata_props[i];
        const char *k = str_or_empty(e->key), *v = str_or_empty(e->value);
        long val;
        if (!strcmp(k, "kind"))
            *kind = !strcmp(v, "policy") ? NN_HEAD_POLICY : !strcmp(v, "value") ? NN_HEAD_VALUE
                                                      : !strcmp(v, "other")   ? NN_HEAD_OTHER
                                                                              : -1;
        else if (!strcmp(k, "heads"))
            *heads = v;
        else if (!strcmp(k, "training_games") && nrps_parse_long(v, 0, __LONG_MAX__, &val))
            inf->training_games = val;
        else if (!strcmp(k, "seed") && nrps_parse_long(v, 0, __LONG_MAX__, &val))
            inf->seed = val;
        else if (!strcmp(k, "input_encoding"))
            snprintf(inf->input_encoding, sizeof inf->input_encoding, "%s", v);
        if (inf->n_meta < ONNX_NET_MAX_META) {
            snprintf(inf->meta_key[inf->n_meta], sizeof inf->meta_key[0], "%s", k);
            snprintf(inf->meta_value[inf->n_meta], sizeof inf->meta_value[0], "%s", v);
            inf->n_meta++;
        }
    }
}

/* Checks a graph input/output: a float32 tensor of rank 2; *width = its declared feature width (0 = unknown). */
static nrps_status value_check(const reader *r, const Onnx__ValueInfoProto *v, const char *what, int *width,
                               char *batch, size_t batch_len) {
    *width = 0;
    const char *name = str_or_empty(v->name);
    if (!v->type || v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !v->type->tensor_type) {
        nrps_set_error("%s: %s '%s' is not a tensor", r->path, what, name);
        return NRPS_ERR_UNSUPPORTED;
    }
    const Onnx__TypeProto__Tensor *tt = v->type->tensor_type;
    int32_t et = tt->has_elem_type ? tt->elem_type : 0;
    if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        nrps_set_error("%s: %s '%s' has element type %s, expected float32", r->path, what, name, elem_type_name(et));
        return NRPS_ERR_UNSUPPORTED;
    }
    if (!tt->shape) return NRPS_OK; /* unknown shape: widths come from the weights */
    if (tt->shape->n_dim != 2) {
        nrps_set_error("%s: %s '%s' has rank %zu, expected 2 ([batch, features])", r->path, what, name,
                       tt->shape->n_dim);
        return NRPS_ERR_UNSUPPORTED;
    }
    const Onnx__TensorShapeProto__Dimension *d0 = tt->shape->dim[0], *d1 = tt->shape->dim[1];
    if (batch) {
        if (d0->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            snprintf(batch, batch_len, "%s", d0->dim_param ? d0->dim_param : "?");
        else if (d0->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            snprintf(batch, batch_len, "%lld", (long long)d0->dim_value);
        else
            snprintf(batch, batch_len, "?");
    }
    if (d1->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
        if (d1->dim_value <= 0 || d1->dim_value > NN_MAX_WIDTH) {
            nrps_set_error("%s: %s '%s' has feature dimension %lld (supported: 1 to %d)", r->path, what, name,
                           (long long)d1->dim_value, NN_MAX_WIDTH);
            return NRPS_ERR_UNSUPPORTED;
        }
        *width = (int)d1->dim_value;
    }
    return NRPS_OK;
}

/* The one graph input that is not an initializer (old exporters list initializers as inputs too). */
static nrps_status input_find(reader *r, const Onnx__ValueInfoProto **gin) {
    *gin = NULL;
    for (size_t i = 0; i < r->g->n_input; i++) {
        const Onnx__ValueInfoProto *v = r->g->input[i];
        long k = value_find(r, str_or_empty(v->name));
        if (k >= 0 && r->val[k].is_init) continue;
        if (*gin) {
            nrps_set_error("%s: two graph inputs ('%s' and '%s') (supported: one float32 [batch, features] input; "
                           "other models run through ONNX Runtime only)",
                           r->path, str_or_empty((*gin)->name), str_or_empty(v->name));
            return NRPS_ERR_UNSUPPORTED;
        }
        *gin = v;
    }
    if (!*gin || !(*gin)->name || !(*gin)->name[0]) {
        nrps_set_error("%s: the graph has no input", r->path);
        return NRPS_ERR_UNSUPPORTED;
    }
    return NRPS_OK;
}

/* Every node has an operator of the default domain. */
static nrps_status nodes_check(reader *r) {
    for (size_t i = 0; i < r->g->n_node; i++) {
        const Onnx__NodeProto *n = r->g->node[i];
        if (!n->op_type || !n->op_type[0]) {
            nrps_set_error("%s: %s has no operator type", r->path, node_label(r, (int)i));
            return NRPS_ERR_FORMAT;
        }
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx")) {
            nrps_set_error("%s: unsupported operator '%s' from domain '%s' (%s) (supported: the default domain)",
                           r->path, n->op_type, n->domain, node_label(r, (int)i));
            return NRPS_ERR_UNSUPPORTED;
        }
    }
    return NRPS_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Head kinds and the network
 * ---------------------------------------------------------------------------------------------- */

/* One "name=kind" entry of metadata "heads" at *p for the given name: the kind (*p moved past it) or -1. */
static int head_entry(const char **p, const char *name) {
    size_t nl = strlen(name);
    if (!nl || strncmp(*p, name, nl) || (*p)[nl] != '=') return -1;
    const char *q = *p + nl + 1;
    for (int k = NN_HEAD_OTHER; k <= NN_HEAD_VALUE; k++) {
        const char *kn = nn_head_kind_name((nn_head_kind)k);
        size_t kl = strlen(kn);
        if (!strncmp(q, kn, kl) && (q[kl] == 0 || q[kl] == ',')) {
            *p = q + kl;
            return k;
        }
    }
    return -1;
}

/* Kinds of the n outputs from metadata "heads": 1 when it is exactly "nameA=kind[, nameB=kind]" for the output
 * names (in either order), else 0. Exact matching keeps names with ',' or '=' unambiguous. */
static int meta_heads_kinds(const char *heads, const char *const *names, int n, nn_head_kind *kind) {
    for (int first = 0; heads && first < n; first++) {
        const char *p = heads;
        int k0 = head_entry(&p, names[first]), k1 = 0;
        if (k0 < 0) continue;
        if (n == 2) {
            if (strncmp(p, ", ", 2)) continue;
            p += 2;
            if ((k1 = head_entry(&p, names[1 - first])) < 0) continue;
        }
        if (*p) continue;
        kind[first] = (nn_head_kind)k0;
        if (n == 2) kind[1 - first] = (nn_head_kind)k1;
        return 1;
    }
    return 0;
}

static int name_has(const char *name, const char *word) {
    size_t wl = strlen(word);
    for (const char *p = name; *p; p++) {
        size_t i = 0;
        while (i < wl && p[i] && tolower((unsigned char)p[i]) == word[i]) i++;
        if (i == wl) return 1;
    }
    return 0;
}

/* Kinds of the branches, in the order walked (see onnx_net.h for the rules). */
static void head_kinds(const reader *r, const walk *w, int in, int meta_kind, const char *heads, nn_head_kind *kind) {
    int width[2];
    const char *name[2];
    for (int b = 0; b < w->n_br; b++) {
        name[b] = output_name(r, w->br_output[b]);
        width[b] = w->L[w->br_first[b] + w->br_count[b] - 1].out;
    }
    if (meta_heads_kinds(heads, name, w->n_br, kind)) return;
    if (w->n_br == 1) {
        int k = meta_kind;
        if (k < 0) k = in == 81 && width[0] == 9 ? NN_HEAD_POLICY : in == 81 && width[0] == 1 ? NN_HEAD_VALUE : 0;
        kind[0] = (nn_head_kind)k;
        return;
    }
    kind[0] = kind[1] = NN_HEAD_OTHER;
    int pol0 = name_has(name[0], "policy"), pol1 = name_has(name[1], "policy");
    int val0 = name_has(name[0], "value"), val1 = name_has(name[1], "value");
    if (pol0 + pol1 == 1 && val0 + val1 == 1 && pol0 != val0) {
        kind[0] = pol0 ? NN_HEAD_POLICY : NN_HEAD_VALUE;
        kind[1] = pol1 ? NN_HEAD_POLICY : NN_HEAD_VALUE;
    } else if (in == 81 && ((width[0] == 9 && width[1] == 1) || (width[0] == 1 && width[1] == 9))) {
        kind[0] = width[0] == 9 ? NN_HEAD_POLICY : NN_HEAD_VALUE;
        kind[1] = width[1] == 9 ? NN_HEAD_POLICY : NN_HEAD_VALUE;
    }
}

static void layer_spec_set(nn_layer_spec *s, const rlayer *l) {
    s->out = l->out;
    s->act = l->act;
    s->alpha = l->alpha;
}

/* The architecture: trunk, then the heads (the policy head first when the second branch is the policy). */
static void arch_build(const reader *r, const walk *w, const nn_head_kind *kind, nn_arch *a, int *order) {
    memset(a, 0, sizeof *a);
    a->in = w->L[0].in;
    a->trunk = w->n_br == 2 ? w->trunk : 0;
    a->n_heads = w->n_br;
    order[0] = 0;
    order[1] = 1;
    if (w->n_br == 2 && kind[1] == NN_HEAD_POLICY && kind[0] != NN_HEAD_POLICY) order[0] = 1, order[1] = 0;
    for (int l = 0; l < a->trunk; l++) layer_spec_set(&a->layer[a->n_layers++], &w->L[l]);
    for (int h = 0; h < a->n_heads; h++) {
        int b = order[h];
        nn_head *hd = &a->head[h];
        snprintf(hd->name, sizeof hd->name, "%s", output_name(r, w->br_output[b]));
        hd->kind = kind[b];
        hd->first = a->n_layers;
        hd->count = w->br_count[b];
        for (int l = w->br_first[b]; l < w->br_first[b] + w->br_count[b]; l++)
            layer_spec_set(&a->layer[a->n_layers++], &w->L[l]);
    }
}

/* The declared width of each graph output must be its head's. */
static nrps_status outputs_check(reader *r, const walk *w) {
    for (int b = 0; b < w->n_br; b++) {
        int declared = 0, width = w->L[w->br_first[b] + w->br_count[b] - 1].out;
        nrps_status st = value_check(r, r->g->output[w->br_output[b]], "output", &declared, NULL, 0);
        if (st != NRPS_OK) return st;
        if (declared && declared != width) {
            nrps_set_error("%s: output '%s' declares %d feature%s but its head's last layer has %d", r->path,
                           output_name(r, w->br_output[b]), declared, declared == 1 ? "" : "s", width);
            return NRPS_ERR_UNSUPPORTED;
        }
    }
    return NRPS_OK;
}

/* The network from the walk, parameters copied in the final layer order. */
static nrps_status net_build(reader *r, const walk *w, int meta_kind, const char *heads, nn_net *out) {
    nn_head_kind kind[2];
    nn_arch a;
    int order[2];
    head_kinds(r, w, w->L[0].in, meta_kind, heads, kind);
    arch_build(r, w, kind, &a, order);
    nrps_status st = nn_arch_check(&a, r->path);
    if (st != NRPS_OK) return NRPS_ERR_UNSUPPORTED;
    st = nn_init(out, &a);
    if (st != NRPS_OK) {
        nrps_set_error("%s: out of memory for %zu parameters", r->path, nn_arch_param_count(&a));
        return st;
    }
    int dst = 0;
    for (int part = -1; part < a.n_heads; part++) {
        int first = part < 0 ? 0 : w->br_first[order[part]];
        int count = part < 0 ? a.trunk : w->br_count[order[part]];
        for (int l = first; l < first + count; l++, dst++) {
            memcpy(out->w[dst], w->L[l].w, (size_t)w->L[l].out * (size_t)w->L[l].in * sizeof(float));
            memcpy(out->b[dst], w->L[l].b, (size_t)w->L[l].out * sizeof(float));
        }
    }
    int bad = 0;
    if (!nn_params_finite(out, &bad)) { /* finite tensors times a large Gemm alpha/beta can overflow */
        nrps_set_error("%s: layer %d's parameters become NaN/Inf after applying Gemm alpha/beta", r->path, bad + 1);
        return NRPS_ERR_FORMAT;
    }
    return NRPS_OK;
}

static void info_init(onnx_net_info *inf) {
    memset(inf, 0, sizeof *inf);
    inf->ir_version = -1;
    inf->training_games = -1;
    inf->seed = -1;
}

/* protobuf-c's allocator with a note of a failed allocation, so that running out of memory (ulimit -v) is not
 * reported as a corrupted file. */
static void *pb_alloc(void *failed, size_t n) {
    void *p = malloc(n);
    if (!p) *(int *)failed = 1;
    return p;
}
static void pb_free(void *unused, void *p) {
    (void)unused;
    free(p);
}

/* Unpacks the model and checks what comes before the graph walk. */
static nrps_status model_open(reader *r, const void *data, size_t len, onnx_net_info *inf) {
    if (len == 0) {
        nrps_set_error("%s: empty file, not an ONNX model", r->path);
        return NRPS_ERR_FORMAT;
    }
    int failed = 0;
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &failed};
    r->model = onnx__model_proto__unpack(&alloc, len, (const uint8_t *)data);
    if (!r->model && failed) {
        nrps_set_error("%s: out of memory reading the %zu-byte model (ulimit -v?)", r->path, len);
        return NRPS_ERR_NOMEM;
    }
    if (!r->model) {
        nrps_set_error("%s: not a valid ONNX protobuf (truncated or corrupted file)", r->path);
        return NRPS_ERR_FORMAT;
    }
    r->g = r->model->graph;
    if (!r->g) {
        nrps_set_error("%s: ONNX model has no graph (truncated or not an ONNX model?)", r->path);
        return NRPS_ERR_FORMAT;
    }
    inf->ir_version = r->model->has_ir_version ? r->model->ir_version : -1;
    snprintf(inf->graph_name, sizeof inf->graph_name, "%s", str_or_empty(r->g->name));
    snprintf(inf->producer, sizeof inf->producer, "%s", str_or_empty(r->model->producer_name));
    snprintf(inf->producer_version, sizeof inf->producer_version, "%s", str_or_empty(r->model->producer_version));
    nrps_status st = opset_read(r, inf);
    if (st == NRPS_OK) st = nodes_check(r);
    if (st == NRPS_OK) st = index_build(r);
    return st;
}

nrps_status onnx_net_load_buffer(const char *path, const void *data, size_t len, nn_net *out, onnx_net_info *info) {
    reader r = {.path = path};
    walk *w = calloc(1, sizeof *w);
    onnx_net_info inf;
    const Onnx__ValueInfoProto *gin = NULL;
    int meta_kind = -1, in_width = 0;
    const char *heads = NULL;
    info_init(&inf);
    memset(out, 0, sizeof *out);
    nrps_status st = w ? NRPS_OK : NRPS_ERR_NOMEM;
    if (!w) {
        nrps_set_error("%s: out of memory", path);
        goto cleanup;
    }
    w->ops = inf.ops;
    w->ops_len = sizeof inf.ops;
    st = model_open(&r, data, len, &inf);
    if (st != NRPS_OK) goto cleanup;
    metadata_read(&r, &inf, &meta_kind, &heads);
    st = input_find(&r, &gin);
    if (st == NRPS_OK) st = value_check(&r, gin, "input", &in_width, inf.input_batch, sizeof inf.input_batch);
    if (st != NRPS_OK) goto cleanup;
    snprintf(inf.input_name, sizeof inf.input_name, "%s", gin->name);
    if (r.g->n_output < 1 || r.g->n_output > 2) {
        nrps_set_error("%s: the graph has %zu outputs (supported: one, or two heads)", path, r.g->n_output);
        st = NRPS_ERR_UNSUPPORTED;
        goto cleanup;
    }
    st = graph_walk(&r, w, gin->name, in_width);
    if (st == NRPS_OK) st = outputs_check(&r, w);
    if (st == NRPS_OK) st = net_build(&r, w, meta_kind, heads, out);
    if (st == NRPS_OK && info) *info = inf;
cleanup:
    if (w) walk_free(w);
    free(w);
    free(r.slot);
    free(r.val);
    free(r.cons);
    free(r.used);
    if (r.model) onnx__model_proto__free_unpacked(r.model, NULL);
    if (st != NRPS_OK) nn_free(out);
    return st;
}

nrps_status onnx_net_load(const char *path, nn_net *out, onnx_net_info *info) {
    char *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    nrps_status st = nrps_read_file(path, ONNX_NET_MAX_BYTES, &data, &len);
    if (st == NRPS_OK) st = onnx_net_load_buffer(path, data, len, out, info);
    free(data);
    return st;
}
