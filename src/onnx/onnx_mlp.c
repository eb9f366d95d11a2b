/* onnx_mlp.c - MLP <-> ONNX with protobuf-c (see onnx_mlp.h).
 * Writer: Gemm(transB=1) -> act -> Gemm(transB=1) -> out act, raw little-endian float32 initializers,
 * IR 8 / opset 17 (the newest that Debian's onnx 1.12 checker knows), written atomically.
 * Reader: walks from the single graph input through the nodes (never by names) and accepts the
 * two-layer perceptron family as PyTorch exports it (Gemm or MatMul+Add, no-op Identity/Flatten/
 * Reshape/Dropout, Constant nodes, opsets 9-21); anything else gets one line naming the file and
 * the offending node, value or tensor. */
#include "onnx/onnx_mlp.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define ONNX_MAX_BYTES ((size_t)1 << 30)
#define WRITE_IR_VERSION 8
#define WRITE_OPSET 17

/* ------------------------------------------------------------------------------------------------
 * Writer
 * ---------------------------------------------------------------------------------------------- */

void onnx_mlp_info_default(onnx_mlp_info *info, const mlp *m) {
    memset(info, 0, sizeof *info);
    snprintf(info->input_name, sizeof info->input_name, "input");
    snprintf(info->output_name, sizeof info->output_name, "output");
    info->opset = WRITE_OPSET;
    snprintf(info->producer, sizeof info->producer, "neural_rps");
    snprintf(info->producer_version, sizeof info->producer_version, "%s", NRPS_VERSION);
    const char *k = "";
    if (m && m->out == 9) k = "policy";
    if (m && m->out == 1) k = "value";
    snprintf(info->kind, sizeof info->kind, "%s", k);
    info->training_games = -1;
    info->seed = -1;
}

/* Everything one write needs, freed in one place. */
typedef struct {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto nodes[4];
    Onnx__NodeProto *node_ptrs[4];
    char *node_in[4][3], *node_out[4][1];
    Onnx__AttributeProto attrs[4];
    Onnx__AttributeProto *attr_ptrs[4][1];
    Onnx__TensorProto inits[4];
    Onnx__TensorProto *init_ptrs[4];
    int64_t init_dims[4][2];
    uint8_t *raw[4];
    Onnx__ValueInfoProto vi[2];
    Onnx__ValueInfoProto *vi_in[1], *vi_out[1];
    Onnx__TypeProto tp[2];
    Onnx__TypeProto__Tensor tt[2];
    Onnx__TensorShapeProto shape[2];
    Onnx__TensorShapeProto__Dimension dims[2][2];
    Onnx__TensorShapeProto__Dimension *dim_ptrs[2][2];
    Onnx__StringStringEntryProto meta[5];
    Onnx__StringStringEntryProto *meta_ptrs[5];
    char meta_val[5][32];
} writer;

static void value_info_set(writer *w, int k, char *name, int width) {
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__TypeProto tp = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    Onnx__TensorShapeProto sh = ONNX__TENSOR_SHAPE_PROTO__INIT;
    Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    Onnx__TensorShapeProto__Dimension d1 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    w->vi[k] = vi;
    w->tp[k] = tp;
    w->tt[k] = tt;
    w->shape[k] = sh;
    w->dims[k][0] = d0;
    w->dims[k][1] = d1;
    w->dims[k][0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    w->dims[k][0].dim_param = "batch_size";
    w->dims[k][1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    w->dims[k][1].dim_value = width;
    w->dim_ptrs[k][0] = &w->dims[k][0];
    w->dim_ptrs[k][1] = &w->dims[k][1];
    w->shape[k].n_dim = 2;
    w->shape[k].dim = w->dim_ptrs[k];
    w->tt[k].has_elem_type = 1;
    w->tt[k].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    w->tt[k].shape = &w->shape[k];
    w->tp[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    w->tp[k].tensor_type = &w->tt[k];
    w->vi[k].name = name;
    w->vi[k].type = &w->tp[k];
}

static void node_set(writer *w, int k, const char *op, char *name, int n_in, char *in0, char *in1, char *in2,
                     char *out) {
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    w->nodes[k] = n;
    w->node_in[k][0] = in0;
    w->node_in[k][1] = in1;
    w->node_in[k][2] = in2;
    w->node_out[k][0] = out;
    w->nodes[k].n_input = (size_t)n_in;
    w->nodes[k].input = w->node_in[k];
    w->nodes[k].n_output = 1;
    w->nodes[k].output = w->node_out[k];
    w->nodes[k].name = name;
    w->nodes[k].op_type = (char *)op;
    w->node_ptrs[k] = &w->nodes[k];
}

static void node_attr_int(writer *w, int k, char *name, int64_t v) {
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    w->attrs[k] = a;
    w->attrs[k].name = name;
    w->attrs[k].has_type = 1;
    w->attrs[k].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    w->attrs[k].has_i = 1;
    w->attrs[k].i = v;
    w->attr_ptrs[k][0] = &w->attrs[k];
    w->nodes[k].n_attribute = 1;
    w->nodes[k].attribute = w->attr_ptrs[k];
}

/* Float tensor as raw little-endian bytes, whatever the host byte order. */
static int init_set(writer *w, int k, char *name, const float *data, int rank, int64_t d0, int64_t d1) {
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    size_t n = (size_t)d0 * (size_t)(rank == 2 ? d1 : 1);
    w->raw[k] = malloc(n > 0 ? n * 4 : 1);
    if (!w->raw[k]) return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        w->raw[k][4 * i + 0] = (uint8_t)(u);
        w->raw[k][4 * i + 1] = (uint8_t)(u >> 8);
        w->raw[k][4 * i + 2] = (uint8_t)(u >> 16);
        w->raw[k][4 * i + 3] = (uint8_t)(u >> 24);
    }
    w->inits[k] = t;
    w->init_dims[k][0] = d0;
    w->init_dims[k][1] = d1;
    w->inits[k].n_dims = (size_t)rank;
    w->inits[k].dims = w->init_dims[k];
    w->inits[k].has_data_type = 1;
    w->inits[k].data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    w->inits[k].name = name;
    w->inits[k].has_raw_data = 1;
    w->inits[k].raw_data.len = n * 4;
    w->inits[k].raw_data.data = w->raw[k];
    w->init_ptrs[k] = &w->inits[k];
    return 1;
}

static void writer_model_set(writer *w, const onnx_mlp_info *info) {
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    w->model = m;
    w->graph = g;
    w->opset = o;
    w->opset.domain = "";
    w->opset.has_version = 1;
    w->opset.version = WRITE_OPSET;
    w->opsets[0] = &w->opset;
    w->model.has_ir_version = 1;
    w->model.ir_version = WRITE_IR_VERSION;
    w->model.n_opset_import = 1;
    w->model.opset_import = w->opsets;
    w->model.producer_name = (char *)(info && info->producer[0] ? info->producer : "neural_rps");
    w->model.producer_version = (char *)(info && info->producer_version[0] ? info->producer_version : NRPS_VERSION);
    w->model.graph = &w->graph;
    w->vi_in[0] = &w->vi[0];
    w->vi_out[0] = &w->vi[1];
    w->graph.n_input = 1;
    w->graph.input = w->vi_in;
    w->graph.n_output = 1;
    w->graph.output = w->vi_out;
}

static nrps_status model_write(const char *path, Onnx__ModelProto *model) {
    size_t len = onnx__model_proto__get_packed_size(model);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        nrps_set_error("%s: out of memory (%zu bytes)", path, len);
        return NRPS_ERR_NOMEM;
    }
    onnx__model_proto__pack(model, buf);
    nrps_status st = nrps_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}

static const char *act_op(mlp_act a) {
    switch (a) {
    case MLP_ACT_RELU: return "Relu";
    case MLP_ACT_TANH: return "Tanh";
    case MLP_ACT_SIGMOID: return "Sigmoid";
    case MLP_ACT_SOFTMAX: return "Softmax";
    case MLP_ACT_LOGSOFTMAX: return "LogSoftmax";
    default: return NULL;
    }
}

nrps_status onnx_mlp_save(const char *path, const mlp *m, const onnx_mlp_info *info_in) {
    nrps_status st = NRPS_OK;
    onnx_mlp_info info;
    if (info_in)
        info = *info_in;
    else
        onnx_mlp_info_default(&info, m);
    if (!m || !m->params) {
        nrps_set_error("%s: no network to write", path);
        return NRPS_ERR_ARG;
    }
    const char *bad = NULL;
    if (!mlp_params_finite(m, &bad)) {
        nrps_set_error("%s: refusing to write: parameter %s contains NaN/Inf", path, bad);
        return NRPS_ERR_ARG;
    }
    const char *hop = act_op(m->hidden_act), *oop = act_op(m->out_act);
    if (!hop || m->hidden_act == MLP_ACT_SOFTMAX || m->hidden_act == MLP_ACT_LOGSOFTMAX) {
        nrps_set_error("%s: hidden activation %s cannot be written", path, mlp_act_name(m->hidden_act));
        return NRPS_ERR_ARG;
    }
    if (!oop && m->out_act != MLP_ACT_NONE) {
        nrps_set_error("%s: output activation %s cannot be written", path, mlp_act_name(m->out_act));
        return NRPS_ERR_ARG;
    }
    char *in_name = info.input_name[0] ? info.input_name : "input";
    char *out_name = info.output_name[0] ? info.output_name : "output";
    writer *w = calloc(1, sizeof *w);
    if (!w) {
        nrps_set_error("%s: out of memory", path);
        return NRPS_ERR_NOMEM;
    }
    writer_model_set(w, &info);
    w->graph.name = "neural_rps_mlp";
    value_info_set(w, 0, in_name, m->in);
    value_info_set(w, 1, out_name, m->out);
    if (!init_set(w, 0, "fc1.weight", m->w1, 2, m->hidden, m->in) || !init_set(w, 1, "fc1.bias", m->b1, 1, m->hidden, 0) ||
        !init_set(w, 2, "fc2.weight", m->w2, 2, m->out, m->hidden) || !init_set(w, 3, "fc2.bias", m->b2, 1, m->out, 0)) {
        nrps_set_error("%s: out of memory", path);
        st = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    w->graph.n_initializer = 4;
    w->graph.initializer = w->init_ptrs;
    int has_out_act = m->out_act != MLP_ACT_NONE;
    node_set(w, 0, "Gemm", "fc1", 3, in_name, "fc1.weight", "fc1.bias", "fc1_out");
    node_attr_int(w, 0, "transB", 1);
    node_set(w, 1, hop, "act1", 1, "fc1_out", NULL, NULL, "hidden");
    node_set(w, 2, "Gemm", "fc2", 3, "hidden", "fc2.weight", "fc2.bias", has_out_act ? "fc2_out" : out_name);
    node_attr_int(w, 2, "transB", 1);
    if (has_out_act) {
        node_set(w, 3, oop, "out_act", 1, "fc2_out", NULL, NULL, out_name);
        if (m->out_act == MLP_ACT_SOFTMAX || m->out_act == MLP_ACT_LOGSOFTMAX) node_attr_int(w, 3, "axis", 1);
    }
    w->graph.n_node = has_out_act ? 4 : 3;
    w->graph.node = w->node_ptrs;
    const char *keys[5] = {"hidden_size", "training_games", "seed", "kind", "input_encoding"};
    snprintf(w->meta_val[0], sizeof w->meta_val[0], "%d", m->hidden);
    if (info.training_games >= 0)
        snprintf(w->meta_val[1], sizeof w->meta_val[1], "%lld", info.training_games);
    else
        snprintf(w->meta_val[1], sizeof w->meta_val[1], "unknown");
    if (info.seed >= 0)
        snprintf(w->meta_val[2], sizeof w->meta_val[2], "%lld", info.seed);
    else
        snprintf(w->meta_val[2], sizeof w->meta_val[2], "unknown");
    snprintf(w->meta_val[3], sizeof w->meta_val[3], "%s", info.kind[0] ? info.kind : "unknown");
    snprintf(w->meta_val[4], sizeof w->meta_val[4], "%s", info.input_encoding);
    int n_meta = info.input_encoding[0] ? 5 : 4;
    for (int i = 0; i < n_meta; i++) {
        Onnx__StringStringEntryProto e = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        w->meta[i] = e;
        w->meta[i].key = (char *)keys[i];
        w->meta[i].value = w->meta_val[i];
        w->meta_ptrs[i] = &w->meta[i];
    }
    w->model.n_metadata_props = (size_t)n_meta;
    w->model.metadata_props = w->meta_ptrs;
    st = model_write(path, &w->model);
cleanup:
    for (int i = 0; i < 4; i++) free(w->raw[i]);
    free(w);
    return st;
}

nrps_status onnx_identity_save(const char *path, int n) {
    if (n <= 0) {
        nrps_set_error("%s: identity width must be positive, got %d", path, n);
        return NRPS_ERR_ARG;
    }
    writer *w = calloc(1, sizeof *w);
    if (!w) {
        nrps_set_error("%s: out of memory", path);
        return NRPS_ERR_NOMEM;
    }
    writer_model_set(w, NULL);
    w->graph.name = "neural_rps_identity";
    value_info_set(w, 0, "input", n);
    value_info_set(w, 1, "output", n);
    node_set(w, 0, "Identity", "identity", 1, "input", NULL, NULL, "output");
    w->graph.n_node = 1;
    w->graph.node = w->node_ptrs;
    nrps_status st = model_write(path, &w->model);
    free(w);
    return st;
}

/* ------------------------------------------------------------------------------------------------
 * Reader
 * ---------------------------------------------------------------------------------------------- */

static const char *elem_type_name(int32_t t) {
    static const char *names[] = {"undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                  "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                  "complex128", "bfloat16"};
    if (t >= 0 && t < (int32_t)(sizeof names / sizeof names[0])) return names[t];
    return "unknown";
}

typedef struct {
    const char *path;
    Onnx__ModelProto *model;
    Onnx__GraphProto *g;
    long long opset;
    unsigned char *used; /* per node: consumed by the chain (or a Constant) */
} reader;

/* A constant: an initializer or the value of a Constant node. */
static const Onnx__TensorProto *const_find(const reader *r, const char *name) {
    if (!name || !name[0]) return NULL;
    for (size_t i = 0; i < r->g->n_initializer; i++)
        if (r->g->initializer[i]->name && strcmp(r->g->initializer[i]->name, name) == 0) return r->g->initializer[i];
    for (size_t i = 0; i < r->g->n_node; i++) {
        const Onnx__NodeProto *n = r->g->node[i];
        if (!n->op_type || strcmp(n->op_type, "Constant") != 0 || n->n_output < 1 || strcmp(n->output[0], name) != 0)
            continue;
        for (size_t a = 0; a < n->n_attribute; a++)
            if (n->attribute[a]->name && strcmp(n->attribute[a]->name, "value") == 0 && n->attribute[a]->t)
                return n->attribute[a]->t;
    }
    return NULL;
}

static int64_t tensor_numel(const Onnx__TensorProto *t) {
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && n > ((int64_t)1 << 40) / t->dims[i])) return -1;
        n *= t->dims[i];
    }
    return n;
}

static const char *tname(const Onnx__TensorProto *t) { return t->name && t->name[0] ? t->name : "(unnamed)"; }

/* Float32 tensor -> malloc'd floats (checked for NaN/Inf). */
static nrps_status tensor_floats(const reader *r, const Onnx__TensorProto *t, float **out, int64_t *numel) {
    *out = NULL;
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
    /* the data must be there before anything is allocated for it (a corrupt 100-byte file can declare 2^40) */
    if (t->has_raw_data && t->raw_data.len > 0 ? t->raw_data.len != (size_t)n * 4 : t->n_float_data != (size_t)n) {
        if (t->has_raw_data && t->raw_data.len > 0)
            nrps_set_error("%s: tensor '%s' has %zu bytes of raw data, expected %lld", r->path, tname(t),
                           t->raw_data.len, (long long)n * 4);
        else
            nrps_set_error("%s: tensor '%s' has %zu float values, expected %lld", r->path, tname(t), t->n_float_data,
                           (long long)n);
        return NRPS_ERR_FORMAT;
    }
    float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!f) {
        nrps_set_error("%s: out of memory for tensor '%s'", r->path, tname(t));
        return NRPS_ERR_NOMEM;
    }
    if (t->has_raw_data && t->raw_data.len > 0) {
        const uint8_t *b = t->raw_data.data;
        for (int64_t i = 0; i < n; i++) {
            uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                         (uint32_t)b[4 * i + 3] << 24;
            memcpy(&f[i], &u, 4);
        }
    } else if (t->n_float_data == (size_t)n) {
        if (n) memcpy(f, t->float_data, (size_t)n * sizeof(float));
    } else {
        nrps_set_error("%s: tensor '%s' has %zu float values, expected %lld", r->path, tname(t), t->n_float_data,
                       (long long)n);
        free(f);
        return NRPS_ERR_FORMAT;
    }
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(f[i])) {
            nrps_set_error("%s: tensor '%s' contains NaN/Inf (element %lld)", r->path, tname(t), (long long)i);
            free(f);
            return NRPS_ERR_FORMAT;
        }
    *out = f;
    *numel = n;
    return NRPS_OK;
}

/* Int64 tensor (Reshape shapes) -> up to cap values; returns count or -1. */
static int tensor_int64s(const Onnx__TensorProto *t, int64_t *v, int cap) {
    if (!t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64) return -1;
    int64_t n = tensor_numel(t);
    if (n < 0 || n > cap) return -1;
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (t->raw_data.len != (size_t)n * 8) return -1;
        for (int64_t i = 0; i < n; i++) {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--) u = u << 8 | t->raw_data.data[8 * i + b];
            v[i] = (int64_t)u;
        }
    } else if (t->n_int64_data == (size_t)n) {
        for (int64_t i = 0; i < n; i++) v[i] = t->int64_data[i];
    } else
        return -1;
    return (int)n;
}

static const Onnx__AttributeProto *attr_find(const Onnx__NodeProto *n, const char *name) {
    for (size_t a = 0; a < n->n_attribute; a++)
        if (n->attribute[a]->name && strcmp(n->attribute[a]->name, name) == 0) return n->attribute[a];
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

static const char *nname(const Onnx__NodeProto *n) { return n->name && n->name[0] ? n->name : ""; }

static int is_const_node(const Onnx__NodeProto *n) { return n->op_type && strcmp(n->op_type, "Constant") == 0; }

/* The one non-Constant node reading value `v`; -1 when none, -2 (error set) when several. */
static int consumer_find(const reader *r, const char *v) {
    int found = -1;
    for (size_t i = 0; i < r->g->n_node; i++) {
        const Onnx__NodeProto *n = r->g->node[i];
        if (is_const_node(n)) continue;
        for (size_t k = 0; k < n->n_input; k++)
            if (n->input[k] && strcmp(n->input[k], v) == 0) {
                if (found >= 0 && found != (int)i) {
                    nrps_set_error("%s: value '%s' is read by two nodes (node %d '%s' and node %zu '%s'): not a "
                                   "plain MLP chain",
                                   r->path, v, found, nname(r->g->node[found]), i, nname(n));
                    return -2;
                }
                found = (int)i;
            }
    }
    return found;
}

/* A linear layer as read: weights converted to our [out][in]. */
typedef struct {
    int in, out;
    float *w, *b; /* w[out][in], b[out] */
} layer;

static void layer_free(layer *l) {
    free(l->w);
    free(l->b);
    l->w = l->b = NULL;
}

/* Weight tensor W (2-D): trans=1 means stored [out][in], 0 means [in][out]. */
static nrps_status layer_weight(const reader *r, const Onnx__TensorProto *t, int trans, float scale, layer *l,
                                int node_idx, const Onnx__NodeProto *n) {
    if (t->n_dims != 2) {
        nrps_set_error("%s: weight '%s' of node %d '%s' (%s) has rank %zu, expected 2", r->path, tname(t), node_idx,
                       nname(n), n->op_type, t->n_dims);
        return NRPS_ERR_UNSUPPORTED;
    }
    float *f = NULL;
    int64_t numel = 0;
    nrps_status st = tensor_floats(r, t, &f, &numel);
    if (st != NRPS_OK) return st;
    int64_t d0 = t->dims[0], d1 = t->dims[1];
    if (d0 <= 0 || d1 <= 0 || d0 > (1 << 20) || d1 > (1 << 20)) {
        nrps_set_error("%s: weight '%s' has unsupported shape [%lld, %lld]", r->path, tname(t), (long long)d0,
                       (long long)d1);
        free(f);
        return NRPS_ERR_UNSUPPORTED;
    }
    l->out = (int)(trans ? d0 : d1);
    l->in = (int)(trans ? d1 : d0);
    l->w = malloc((size_t)l->out * (size_t)l->in * sizeof(float));
    if (!l->w) {
        free(f);
        nrps_set_error("%s: out of memory", r->path);
        return NRPS_ERR_NOMEM;
    }
    for (int o = 0; o < l->out; o++)
        for (int i = 0; i < l->in; i++)
            l->w[(size_t)o * l->in + i] = scale * (trans ? f[(size_t)o * l->in + i] : f[(size_t)i * l->out + o]);
    free(f);
    return NRPS_OK;
}

/* Bias tensor: [out], [1, out], [1] or scalar (broadcast). t may be NULL (zero bias). */
static nrps_status layer_bias(const reader *r, const Onnx__TensorProto *t, float scale, layer *l) {
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
        nrps_set_error("%s: bias '%s' has %lld values in %zu dimensions, expected [%d]", r->path, tname(t),
                       (long long)numel, t->n_dims, l->out);
        free(f);
        return NRPS_ERR_UNSUPPORTED;
    }
    for (int o = 0; o < l->out; o++) l->b[o] = scale * f[numel == 1 ? 0 : o];
    free(f);
    return NRPS_OK;
}

static void ops_append(onnx_mlp_extra *x, const char *op) {
    if (!x) return;
    size_t len = strlen(x->ops);
    snprintf(x->ops + len, sizeof x->ops - len, "%s%s", len ? " " : "", op);
}

/* Checks a graph input/output value: float32, rank 2, width (dim 1) if known -> *width (0 unknown). */
static nrps_status value_check(const reader *r, const Onnx__ValueInfoProto *v, const char *what, int *width,
                               char *batch, size_t batch_len) {
    *width = 0;
    const char *name = v->name ? v->name : "";
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
        if (d1->dim_value <= 0 || d1->dim_value > (1 << 20)) {
            nrps_set_error("%s: %s '%s' has feature dimension %lld", r->path, what, name, (long long)d1->dim_value);
            return NRPS_ERR_UNSUPPORTED;
        }
        *width = (int)d1->dim_value;
    }
    return NRPS_OK;
}

#define FAIL(code, ...)                                                                                           \
    do {                                                                                                          \
        nrps_set_error(__VA_ARGS__);                                                                              \
        st = (code);                                                                                              \
        goto cleanup;                                                                                             \
    } while (0)

nrps_status onnx_mlp_load_buffer(const char *path, const void *data, size_t len, mlp *out, onnx_mlp_info *info,
                                 onnx_mlp_extra *extra) {
    nrps_status st = NRPS_OK;
    reader r = {.path = path};
    layer L[2] = {{0}};
    int n_layers = 0;
    mlp_act hidden_act = MLP_ACT_NONE, out_act = MLP_ACT_NONE;
    int have_hidden_act = 0, have_out_act = 0;
    onnx_mlp_info inf;
    onnx_mlp_info_default(&inf, NULL);
    snprintf(inf.producer, sizeof inf.producer, "%s", "");
    snprintf(inf.producer_version, sizeof inf.producer_version, "%s", "");
    if (extra) {
        memset(extra, 0, sizeof *extra);
        extra->ir_version = -1;
    }
    memset(out, 0, sizeof *out);

    if (len == 0) FAIL(NRPS_ERR_FORMAT, "%s: empty file, not an ONNX model", path);
    r.model = onnx__model_proto__unpack(NULL, len, (const uint8_t *)data);
    if (!r.model) FAIL(NRPS_ERR_FORMAT, "%s: not a valid ONNX protobuf (truncated or corrupted file)", path);
    r.g = r.model->graph;
    if (!r.g) FAIL(NRPS_ERR_FORMAT, "%s: ONNX model has no graph (truncated or not an ONNX model?)", path);
    if (extra) {
        extra->ir_version = r.model->has_ir_version ? r.model->ir_version : -1;
        snprintf(extra->graph_name, sizeof extra->graph_name, "%s", r.g->name ? r.g->name : "");
    }
    snprintf(inf.producer, sizeof inf.producer, "%s", r.model->producer_name ? r.model->producer_name : "");
    snprintf(inf.producer_version, sizeof inf.producer_version, "%s",
             r.model->producer_version ? r.model->producer_version : "");

    /* Opset of the default domain. */
    r.opset = -1;
    for (size_t i = 0; i < r.model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = r.model->opset_import[i];
        if (!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0) r.opset = o->has_version ? o->version : -1;
    }
    if (r.opset < 0) FAIL(NRPS_ERR_FORMAT, "%s: no opset import for the default ONNX domain", path);
    if (r.opset < 9 || r.opset > 21)
        FAIL(NRPS_ERR_UNSUPPORTED, "%s: opset %lld is not supported (supported: 9-21)", path, r.opset);
    inf.opset = r.opset;

    /* Metadata. */
    for (size_t i = 0; i < r.model->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = r.model->metadata_props[i];
        const char *k = e->key ? e->key : "", *v = e->value ? e->value : "";
        long val;
        if (strcmp(k, "kind") == 0 && (strcmp(v, "policy") == 0 || strcmp(v, "value") == 0))
            snprintf(inf.kind, sizeof inf.kind, "%s", v);
        else if (strcmp(k, "training_games") == 0 && nrps_parse_long(v, 0, __LONG_MAX__, &val))
            inf.training_games = val;
        else if (strcmp(k, "seed") == 0 && nrps_parse_long(v, 0, __LONG_MAX__, &val))
            inf.seed = val;
        else if (strcmp(k, "input_encoding") == 0)
            snprintf(inf.input_encoding, sizeof inf.input_encoding, "%s", v);
        if (extra && extra->n_meta < ONNX_MLP_MAX_META) {
            snprintf(extra->meta_key[extra->n_meta], sizeof extra->meta_key[0], "%s", k);
            snprintf(extra->meta_value[extra->n_meta], sizeof extra->meta_value[0], "%s", v);
            extra->n_meta++;
        }
    }

    /* The one real graph input (old exporters also list initializers as inputs). */
    const Onnx__ValueInfoProto *gin = NULL;
    for (size_t i = 0; i < r.g->n_input; i++) {
        const Onnx__ValueInfoProto *v = r.g->input[i];
        int is_init = 0;
        for (size_t k = 0; k < r.g->n_initializer && !is_init; k++)
            is_init = r.g->initializer[k]->name && v->name && strcmp(r.g->initializer[k]->name, v->name) == 0;
        if (is_init) continue;
        if (gin)
            FAIL(NRPS_ERR_UNSUPPORTED, "%s: two graph inputs ('%s' and '%s'), expected one [batch, features] input",
                 path, gin->name ? gin->name : "", v->name ? v->name : "");
        gin = v;
    }
    if (!gin || !gin->name || !gin->name[0]) FAIL(NRPS_ERR_UNSUPPORTED, "%s: the graph has no input", path);
    if (r.g->n_output != 1 || !r.g->output[0]->name)
        FAIL(NRPS_ERR_UNSUPPORTED, "%s: the graph has %zu outputs, expected one", path, r.g->n_output);
    const Onnx__ValueInfoProto *gout = r.g->output[0];
    int in_width = 0, out_width = 0;
    st = value_check(&r, gin, "input", &in_width, extra ? extra->input_batch : NULL,
                     extra ? sizeof extra->input_batch : 0);
    if (st != NRPS_OK) goto cleanup;
    st = value_check(&r, gout, "output", &out_width, NULL, 0);
    if (st != NRPS_OK) goto cleanup;
    snprintf(inf.input_name, sizeof inf.input_name, "%s", gin->name);
    snprintf(inf.output_name, sizeof inf.output_name, "%s", gout->name);

    r.used = calloc(r.g->n_node ? r.g->n_node : 1, 1);
    if (!r.used) FAIL(NRPS_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < r.g->n_node; i++) {
        const Onnx__NodeProto *n = r.g->node[i];
        if (!n->op_type) FAIL(NRPS_ERR_FORMAT, "%s: node %zu '%s' has no operator type", path, i, nname(n));
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
            FAIL(NRPS_ERR_UNSUPPORTED, "%s: unsupported operator '%s' from domain '%s' (node %zu '%s')", path,
                 n->op_type, n->domain, i, nname(n));
        if (is_const_node(n)) r.used[i] = 1;
    }

    /* Walk the chain. */
    const char *cur = gin->name;
    int width = in_width; /* current feature width, 0 = unknown */
    for (;;) {
        int ni = consumer_find(&r, cur);
        if (ni == -2) {
            st = NRPS_ERR_UNSUPPORTED;
            goto cleanup;
        }
        if (ni < 0) break;
        const Onnx__NodeProto *n = r.g->node[ni];
        const char *op = n->op_type;
        if (n->n_input < 1 || !n->input[0] || strcmp(n->input[0], cur) != 0 || n->n_output < 1)
            FAIL(NRPS_ERR_UNSUPPORTED, "%s: node %d '%s' (%s) reads '%s' in an unsupported position", path, ni,
                 nname(n), op, cur);
        r.used[ni] = 1;
        const char *next = n->output[0];
        int is_act = 0;
        mlp_act act = MLP_ACT_NONE;
        if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0) {
            /* no-op */
        } else if (strcmp(op, "Flatten") == 0) {
            int64_t axis = attr_int(n, "axis", 1);
            if (axis != 1 && axis != -1)
                FAIL(NRPS_ERR_UNSUPPORTED, "%s: Flatten with axis %lld (node %d '%s') is not supported", path,
                     (long long)axis, ni, nname(n));
        } else if (strcmp(op, "Reshape") == 0) {
            const Onnx__TensorProto *s = n->n_input >= 2 ? const_find(&r, n->input[1]) : NULL;
            int64_t v[4];
            int k = s ? tensor_int64s(s, v, 4) : -1;
            int w = width ? width : (n_layers ? L[n_layers - 1].out : 0);
            if (k != 2 || (v[0] != -1 && v[0] != 0) || w == 0 || (v[1] != w && !(v[1] == -1 && v[0] == 0)))
                FAIL(NRPS_ERR_UNSUPPORTED, "%s: Reshape (node %d '%s') is not a no-op [batch, %d] reshape", path, ni,
                     nname(n), w);
        } else if (strcmp(op, "Gemm") == 0 || strcmp(op, "MatMul") == 0) {
            if (n_layers == 2)
                FAIL(NRPS_ERR_UNSUPPORTED, "%s: third linear layer (node %d '%s' %s): only 2-layer MLPs are supported",
                     path, ni, nname(n), op);
            if (n_layers == 1 && !have_hidden_act)
                FAIL(NRPS_ERR_UNSUPPORTED,
                     "%s: two linear layers without an activation between them (node %d '%s'), expected Relu, "
                     "Tanh or Sigmoid",
                     path, ni, nname(n));
            layer *l = &L[n_layers];
            const Onnx__TensorProto *wt = n->n_input >= 2 ? const_find(&r, n->input[1]) : NULL;
            if (!wt)
                FAIL(NRPS_ERR_UNSUPPORTED, "%s: %s (node %d '%s') has a non-constant weight '%s'", path, op, ni,
                     nname(n), n->n_input >= 2 ? n->input[1] : "");
            if (strcmp(op, "Gemm") == 0) {
                if (attr_int(n, "transA", 0) != 0)
                    FAIL(NRPS_ERR_UNSUPPORTED, "%s: Gemm with transA=1 (node %d '%s') is not supported", path, ni,
                         nname(n));
                float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
                if (!isfinite(alpha) || !isfinite(beta))
                    FAIL(NRPS_ERR_UNSUPPORTED, "%s: Gemm (node %d '%s') has a non-finite alpha or beta", path, ni,
                         nname(n));
                st = layer_weight(&r, wt, attr_int(n, "transB", 0) != 0, alpha, l, ni, n);
                if (st != NRPS_OK) goto cleanup;
                const Onnx__TensorProto *bt = NULL;
                if (n->n_input >= 3 && n->input[2] && n->input[2][0]) {
                    bt = const_find(&r, n->input[2]);
                    if (!bt)
                        FAIL(NRPS_ERR_UNSUPPORTED, "%s: Gemm (node %d '%s') has a non-constant bias '%s'", path, ni,
                             nname(n), n->input[2]);
                }
                st = layer_bias(&r, bt, beta, l);
                if (st != NRPS_OK) goto cleanup;
                ops_append(extra, "Gemm");
            } else {
                st = layer_weight(&r, wt, 0, 1.0f, l, ni, n);
                if (st != NRPS_OK) goto cleanup;
                ops_append(extra, "MatMul");
                /* An Add of a constant right after is the bias. */
                const Onnx__TensorProto *bt = NULL;
                int ai = consumer_find(&r, next);
                if (ai == -2) {
                    st = NRPS_ERR_UNSUPPORTED;
                    goto cleanup;
                }
                if (ai >= 0 && strcmp(r.g->node[ai]->op_type, "Add") == 0 && r.g->node[ai]->n_input == 2 &&
                    r.g->node[ai]->n_output >= 1) {
                    const Onnx__NodeProto *an = r.g->node[ai];
                    const char *other = strcmp(an->input[0], next) == 0 ? an->input[1] : an->input[0];
                    bt = const_find(&r, other);
                    if (!bt)
                        FAIL(NRPS_ERR_UNSUPPORTED, "%s: Add (node %d '%s') has a non-constant operand '%s'", path, ai,
                             nname(an), other);
                    r.used[ai] = 1;
                    next = an->output[0];
                    ops_append(extra, "Add");
                }
                st = layer_bias(&r, bt, 1.0f, l);
                if (st != NRPS_OK) goto cleanup;
            }
            if (width && l->in != width)
                FAIL(NRPS_ERR_UNSUPPORTED, "%s: %s (node %d '%s') expects %d features but receives %d", path, op, ni,
                     nname(n), l->in, width);
            width = l->out;
            n_layers++;
            cur = next;
            continue;
        } else if (strcmp(op, "Relu") == 0) {
            is_act = 1, act = MLP_ACT_RELU;
        } else if (strcmp(op, "Tanh") == 0) {
            is_act = 1, act = MLP_ACT_TANH;
        } else if (strcmp(op, "Sigmoid") == 0) {
            is_act = 1, act = MLP_ACT_SIGMOID;
        } else if (strcmp(op, "Softmax") == 0 || strcmp(op, "LogSoftmax") == 0) {
            int64_t axis = attr_int(n, "axis", r.opset >= 13 ? -1 : 1);
            if (axis != 1 && axis != -1)
                FAIL(NRPS_ERR_UNSUPPORTED, "%s: %s over axis %lld (node %d '%s'), expected axis 1", path, op,
                     (long long)axis, ni, nname(n));
            is_act = 1, act = op[0] == 'S' ? MLP_ACT_SOFTMAX : MLP_ACT_LOGSOFTMAX;
        } else {
            FAIL(NRPS_ERR_UNSUPPORTED, "%s: unsupported operator '%s' (node %d '%s')", path, op, ni, nname(n));
        }
        if (is_act) {
            ops_append(extra, op);
            int softmaxish = act == MLP_ACT_SOFTMAX || act == MLP_ACT_LOGSOFTMAX;
            if (n_layers == 1 && !have_hidden_act && !softmaxish) {
                hidden_act = act;
                have_hidden_act = 1;
            } else if (n_layers == 2 && !have_out_act && act != MLP_ACT_RELU) {
                out_act = act;
                have_out_act = 1;
            } else {
                FAIL(NRPS_ERR_UNSUPPORTED, "%s: unsupported operator '%s' at this point (node %d '%s'): expected %s",
                     path, op, ni, nname(n),
                     n_layers == 0   ? "a Gemm or MatMul first"
                     : n_layers == 1 ? "Relu, Tanh or Sigmoid after the first layer"
                                     : "Softmax, LogSoftmax, Sigmoid, Tanh or nothing after the last layer");
            }
        }
        cur = next;
    }
    if (strcmp(cur, gout->name) != 0)
        FAIL(NRPS_ERR_UNSUPPORTED, "%s: the chain from input '%s' ends at '%s', not at the graph output '%s'", path,
             gin->name, cur, gout->name);
    if (n_layers != 2)
        FAIL(NRPS_ERR_UNSUPPORTED, "%s: found %d linear layer(s), expected 2 (input -> hidden -> output)", path,
             n_layers);
    for (size_t i = 0; i < r.g->n_node; i++)
        if (!r.used[i])
            FAIL(NRPS_ERR_UNSUPPORTED, "%s: unsupported operator '%s' (node %zu '%s') outside the input->output chain",
                 path, r.g->node[i]->op_type, i, nname(r.g->node[i]));
    if (out_width && out_width != L[1].out)
        FAIL(NRPS_ERR_UNSUPPORTED, "%s: output '%s' declares %d features but the last layer has %d", path, gout->name,
             out_width, L[1].out);

    st = mlp_init(out, L[0].in, L[0].out, L[1].out, hidden_act, out_act);
    if (st != NRPS_OK) goto cleanup;
    memcpy(out->w1, L[0].w, (size_t)L[0].out * L[0].in * sizeof(float));
    memcpy(out->b1, L[0].b, (size_t)L[0].out * sizeof(float));
    memcpy(out->w2, L[1].w, (size_t)L[1].out * L[1].in * sizeof(float));
    memcpy(out->b2, L[1].b, (size_t)L[1].out * sizeof(float));
    const char *bad = NULL;
    if (!mlp_params_finite(out, &bad)) /* finite tensors times a large Gemm alpha/beta can overflow */
        FAIL(NRPS_ERR_FORMAT, "%s: parameter %s becomes NaN/Inf after applying Gemm alpha/beta", path, bad);
    if (!inf.kind[0]) snprintf(inf.kind, sizeof inf.kind, "%s", out->out == 9 ? "policy" : out->out == 1 ? "value" : "");
    if (info) *info = inf;

cleanup:
    layer_free(&L[0]);
    layer_free(&L[1]);
    free(r.used);
    if (r.model) onnx__model_proto__free_unpacked(r.model, NULL);
    if (st != NRPS_OK) mlp_free(out);
    return st;
}

nrps_status onnx_mlp_load_ex(const char *path, mlp *out, onnx_mlp_info *info, onnx_mlp_extra *extra) {
    char *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    nrps_status st = nrps_read_file(path, ONNX_MAX_BYTES, &data, &len);
    if (st == NRPS_OK) st = onnx_mlp_load_buffer(path, data, len, out, info, extra);
    free(data);
    return st;
}

nrps_status onnx_mlp_load(const char *path, mlp *out, onnx_mlp_info *info) {
    return onnx_mlp_load_ex(path, out, info, NULL);
}
