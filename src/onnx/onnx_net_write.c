/* onnx_net_write.c - writing the network family as ONNX with protobuf-c (see onnx_net.h): Gemm(transB=1) and
 * an activation node per layer, one or two outputs, raw little-endian float32 initialisers, IR 8 / opset 17
 * (the newest that Debian's onnx 1.12 checker knows), the architecture in the metadata. Everything is built in
 * one writer struct (no per-field allocation but the weight bytes) and packed into one buffer. Also the
 * identity graph of the ONNX Runtime floor. */
#include "onnx/onnx_net.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define WRITE_IR_VERSION 8
#define WRITE_OPSET 17

enum { W_NODES = 2 * NN_MAX_LAYERS, W_INITS = 2 * NN_MAX_LAYERS, W_VALUES = 1 + NN_MAX_HEADS, W_META = 8,
       W_META_LEN = 1024, W_NAME = 48 };

/* Per layer: its names. */
enum { N_WEIGHT, N_BIAS, N_LINEAR, N_OUT, N_GEMM_NODE, N_ACT_NODE, N_COUNT };

typedef struct {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto nodes[W_NODES], *node_ptrs[W_NODES];
    char *node_in[W_NODES][3], *node_out[W_NODES][1];
    Onnx__AttributeProto attrs[W_NODES], *attr_ptrs[W_NODES][1];
    Onnx__TensorProto inits[W_INITS], *init_ptrs[W_INITS];
    int64_t init_dims[W_INITS][2];
    uint8_t *raw[W_INITS];
    Onnx__ValueInfoProto vi[W_VALUES], *vi_in[1], *vi_out[NN_MAX_HEADS];
    Onnx__TypeProto tp[W_VALUES];
    Onnx__TypeProto__Tensor tt[W_VALUES];
    Onnx__TensorShapeProto shape[W_VALUES];
    Onnx__TensorShapeProto__Dimension dims[W_VALUES][2], *dim_ptrs[W_VALUES][2];
    Onnx__StringStringEntryProto meta[W_META], *meta_ptrs[W_META];
    char meta_val[W_META][W_META_LEN];
    char name[NN_MAX_LAYERS][N_COUNT][W_NAME];
    const char *layer_out[NN_MAX_LAYERS]; /* the value each layer ends in */
    int n_nodes, n_inits, n_vi;
} writer;

void onnx_net_info_default(onnx_net_info *info) {
    memset(info, 0, sizeof *info);
    snprintf(info->input_name, sizeof info->input_name, "input");
    info->opset = WRITE_OPSET;
    info->ir_version = WRITE_IR_VERSION;
    snprintf(info->producer, sizeof info->producer, "neural_rps");
    snprintf(info->producer_version, sizeof info->producer_version, "%s", NRPS_VERSION);
    info->training_games = -1;
    info->seed = -1;
}

/* A float32 [batch_size, width] graph input or output. */
static void value_info_add(writer *w, const char *name, int width) {
    int k = w->n_vi++;
    onnx__value_info_proto__init(&w->vi[k]);
    onnx__type_proto__init(&w->tp[k]);
    onnx__type_proto__tensor__init(&w->tt[k]);
    onnx__tensor_shape_proto__init(&w->shape[k]);
    for (int d = 0; d < 2; d++) {
        onnx__tensor_shape_proto__dimension__init(&w->dims[k][d]);
        w->dim_ptrs[k][d] = &w->dims[k][d];
    }
    w->dims[k][0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    w->dims[k][0].dim_param = "batch_size";
    w->dims[k][1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    w->dims[k][1].dim_value = width;
    w->shape[k].n_dim = 2;
    w->shape[k].dim = w->dim_ptrs[k];
    w->tt[k].has_elem_type = 1;
    w->tt[k].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    w->tt[k].shape = &w->shape[k];
    w->tp[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    w->tp[k].tensor_type = &w->tt[k];
    w->vi[k].name = (char *)name;
    w->vi[k].type = &w->tp[k];
}

/* A node with 1 to 3 inputs (in1/in2 may be NULL) and one output; returns its index. */
static int node_add(writer *w, const char *op, const char *name, const char *in0, const char *in1, const char *in2,
                    const char *out) {
    int k = w->n_nodes++;
    Onnx__NodeProto *n = &w->nodes[k];
    onnx__node_proto__init(n);
    w->node_in[k][0] = (char *)in0;
    w->node_in[k][1] = (char *)in1;
    w->node_in[k][2] = (char *)in2;
    w->node_out[k][0] = (char *)out;
    n->n_input = in2 ? 3 : in1 ? 2 : 1;
    n->input = w->node_in[k];
    n->n_output = 1;
    n->output = w->node_out[k];
    n->name = (char *)name;
    n->op_type = (char *)op;
    w->node_ptrs[k] = n;
    return k;
}

/* Node k's one attribute: an int (is_float 0) or a float. */
static void node_attr(writer *w, int k, const char *name, int is_float, int64_t i, float f) {
    Onnx__AttributeProto *a = &w->attrs[k];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    if (is_float) {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = f;
    } else {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = i;
    }
    w->attr_ptrs[k][0] = a;
    w->nodes[k].n_attribute = 1;
    w->nodes[k].attribute = w->attr_ptrs[k];
}

/* A float tensor [d0] (rank 1) or [d0][d1] as raw little-endian bytes, whatever the host byte order. */
static int init_add(writer *w, const char *name, const float *data, int rank, int64_t d0, int64_t d1) {
    int k = w->n_inits;
    size_t n = (size_t)d0 * (size_t)(rank == 2 ? d1 : 1);
    Onnx__TensorProto *t = &w->inits[k];
    w->raw[k] = malloc(n * 4);
    if (!w->raw[k]) return 0;
    w->n_inits++;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        for (int b = 0; b < 4; b++) w->raw[k][4 * i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
    onnx__tensor_proto__init(t);
    w->init_dims[k][0] = d0;
    w->init_dims[k][1] = d1;
    t->n_dims = (size_t)rank;
    t->dims = w->init_dims[k];
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = (char *)name;
    t->has_raw_data = 1;
    t->raw_data.len = n * 4;
    t->raw_data.data = w->raw[k];
    w->init_ptrs[k] = t;
    return 1;
}

static void writer_model_set(writer *w, const onnx_net_info *info, const char *graph_name) {
    onnx__model_proto__init(&w->model);
    onnx__graph_proto__init(&w->graph);
    onnx__operator_set_id_proto__init(&w->opset);
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
    w->graph.name = (char *)graph_name;
}

static void writer_free(writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n_inits; i++) free(w->raw[i]);
    free(w);
}

/* Packs the model into a malloc'd buffer. */
static nrps_status writer_pack(writer *w, uint8_t **data, size_t *len) {
    w->graph.n_node = (size_t)w->n_nodes;
    w->graph.node = w->node_ptrs;
    w->graph.n_initializer = (size_t)w->n_inits;
    w->graph.initializer = w->init_ptrs;
    size_t n = onnx__model_proto__get_packed_size(&w->model);
    *data = malloc(n ? n : 1);
    if (!*data) {
        nrps_set_error("ONNX writer: out of memory (%zu bytes)", n);
        return NRPS_ERR_NOMEM;
    }
    *len = onnx__model_proto__pack(&w->model, *data);
    return NRPS_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Layers and metadata
 * ---------------------------------------------------------------------------------------------- */

static const char *act_op(nn_act a) {
    switch (a) {
    case NN_ACT_RELU: return "Relu";
    case NN_ACT_LEAKY_RELU: return "LeakyRelu";
    case NN_ACT_TANH: return "Tanh";
    case NN_ACT_SIGMOID: return "Sigmoid";
    case NN_ACT_SOFTMAX: return "Softmax";
    case NN_ACT_LOGSOFTMAX: return "LogSoftmax";
    default: return NULL;
    }
}

/* The head whose last layer is l, or -1. */
static int head_ending_at(const nn_arch *a, int l) {
    for (int h = 0; h < a->n_heads; h++)
        if (l == a->head[h].first + a->head[h].count - 1) return h;
    return -1;
}

/* The value layer l reads. */
static const char *layer_input(const writer *w, const nn_arch *a, int l, const char *in) {
    for (int h = 0; h < a->n_heads; h++)
        if (l == a->head[h].first) return a->trunk > 0 ? w->layer_out[a->trunk - 1] : in;
    return l == 0 ? in : w->layer_out[l - 1];
}

/* Layer l: its initialisers, its Gemm and its activation node. */
static int layer_add(writer *w, const nn_net *n, int l, const char *in) {
    const nn_arch *a = &n->arch;
    const nn_layer_spec *s = &a->layer[l];
    char(*nm)[W_NAME] = w->name[l];
    int h = head_ending_at(a, l), li = nn_layer_in(a, l);
    const char *op = act_op(s->act);
    snprintf(nm[N_WEIGHT], W_NAME, "layers.%d.weight", l);
    snprintf(nm[N_BIAS], W_NAME, "layers.%d.bias", l);
    snprintf(nm[N_LINEAR], W_NAME, "layers.%d.linear", l);
    snprintf(nm[N_OUT], W_NAME, "layers.%d.out", l);
    snprintf(nm[N_GEMM_NODE], W_NAME, "/layers.%d/Gemm", l);
    snprintf(nm[N_ACT_NODE], W_NAME, "/layers.%d/%s", l, op ? op : "");
    w->layer_out[l] = h >= 0 ? a->head[h].name : nm[N_OUT];
    if (!init_add(w, nm[N_WEIGHT], n->w[l], 2, s->out, li) || !init_add(w, nm[N_BIAS], n->b[l], 1, s->out, 0))
        return 0;
    int g = node_add(w, "Gemm", nm[N_GEMM_NODE], layer_input(w, a, l, in), nm[N_WEIGHT], nm[N_BIAS],
                     op ? nm[N_LINEAR] : w->layer_out[l]);
    node_attr(w, g, "transB", 0, 1, 0);
    if (!op) return 1;
    int k = node_add(w, op, nm[N_ACT_NODE], nm[N_LINEAR], NULL, NULL, w->layer_out[l]);
    if (s->act == NN_ACT_SOFTMAX || s->act == NN_ACT_LOGSOFTMAX) node_attr(w, k, "axis", 0, 1, 0);
    if (s->act == NN_ACT_LEAKY_RELU) node_attr(w, k, "alpha", 1, 0, s->alpha);
    return 1;
}

/* Appends printf-formatted text to buf[W_META_LEN] (truncating). */
static void textf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void textf(char *buf, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len + 1 >= W_META_LEN) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, W_META_LEN - len, fmt, ap);
    va_end(ap);
}

static void layers_text(const nn_arch *a, int first, int count, char *buf) {
    for (int l = first; l < first + count; l++) {
        const nn_layer_spec *s = &a->layer[l];
        textf(buf, "%s%d %s", l == first ? "" : ", ", s->out, nn_act_name(s->act));
        if (s->act == NN_ACT_LEAKY_RELU) textf(buf, "(%.9g)", (double)s->alpha);
    }
}

/* The metadata "layers" text (see onnx_net.h). */
static void arch_layers_text(const nn_arch *a, char *buf) {
    buf[0] = 0;
    if (a->n_heads == 1) {
        layers_text(a, 0, a->n_layers, buf);
        return;
    }
    if (a->trunk > 0) {
        textf(buf, "trunk: ");
        layers_text(a, 0, a->trunk, buf);
        textf(buf, "; ");
    }
    for (int h = 0; h < a->n_heads; h++) {
        textf(buf, "%s%s: ", h ? "; " : "", a->head[h].name);
        layers_text(a, a->head[h].first, a->head[h].count, buf);
    }
}

static void meta_count(char *buf, long long v) {
    if (v >= 0)
        snprintf(buf, W_META_LEN, "%lld", v);
    else
        snprintf(buf, W_META_LEN, "unknown");
}

static void metadata_set(writer *w, const nn_arch *a, const onnx_net_info *info) {
    const char *keys[W_META] = {"architecture", "layers", "heads", "training_games", "seed", NULL, NULL, NULL};
    int k = 5;
    nn_arch_describe(a, w->meta_val[0], W_META_LEN);
    arch_layers_text(a, w->meta_val[1]);
    for (int h = 0; h < a->n_heads; h++)
        textf(w->meta_val[2], "%s%s=%s", h ? ", " : "", a->head[h].name, nn_head_kind_name(a->head[h].kind));
    meta_count(w->meta_val[3], info->training_games);
    meta_count(w->meta_val[4], info->seed);
    if (a->n_heads == 1) {
        keys[k] = "kind";
        snprintf(w->meta_val[k++], W_META_LEN, "%s", nn_head_kind_name(a->head[0].kind));
    }
    if (info->input_encoding[0]) {
        keys[k] = "input_encoding";
        snprintf(w->meta_val[k++], W_META_LEN, "%s", info->input_encoding);
    }
    for (int i = 0; i < k; i++) {
        onnx__string_string_entry_proto__init(&w->meta[i]);
        w->meta[i].key = (char *)keys[i];
        w->meta[i].value = w->meta_val[i];
        w->meta_ptrs[i] = &w->meta[i];
    }
    w->model.n_metadata_props = (size_t)k;
    w->model.metadata_props = w->meta_ptrs;
}

/* What the writer refuses (see onnx_net.h). */
static nrps_status net_writable(const nn_net *n, const char *in_name) {
    if (!n || !n->params) {
        nrps_set_error("ONNX writer: no network to write");
        return NRPS_ERR_ARG;
    }
    nrps_status st = nn_arch_check(&n->arch, "ONNX writer");
    if (st != NRPS_OK) return st;
    int bad = 0;
    if (!nn_params_finite(n, &bad)) {
        nrps_set_error("ONNX writer: refusing to write: layer %d's parameters contain NaN/Inf", bad + 1);
        return NRPS_ERR_ARG;
    }
    if (!strncmp(in_name, "layers.", 7)) {
        nrps_set_error("ONNX writer: input name '%s' begins with 'layers.' (the writer's own value names)", in_name);
        return NRPS_ERR_ARG;
    }
    for (int h = 0; h < n->arch.n_heads; h++) {
        const char *name = n->arch.head[h].name;
        nn_act act = nn_head_act(&n->arch, h);
        if (act == NN_ACT_RELU || act == NN_ACT_LEAKY_RELU) {
            nrps_set_error("ONNX writer: head '%s' ends in %s (supported: softmax, logsoftmax, sigmoid, tanh, none)",
                           name, nn_act_name(act));
            return NRPS_ERR_ARG;
        }
        if (!strncmp(name, "layers.", 7) || !strcmp(name, in_name)) {
            nrps_set_error("ONNX writer: head name '%s' clashes with the input name or the writer's 'layers.' names",
                           name);
            return NRPS_ERR_ARG;
        }
    }
    return NRPS_OK;
}

nrps_status onnx_net_save_buffer(const nn_net *n, const onnx_net_info *info_in, uint8_t **data, size_t *len) {
    onnx_net_info info;
    *data = NULL;
    *len = 0;
    if (info_in)
        info = *info_in;
    else
        onnx_net_info_default(&info);
    const char *in = info.input_name[0] ? info.input_name : "input";
    nrps_status st = net_writable(n, in);
    if (st != NRPS_OK) return st;
    writer *w = calloc(1, sizeof *w);
    if (!w) {
        nrps_set_error("ONNX writer: out of memory");
        return NRPS_ERR_NOMEM;
    }
    writer_model_set(w, &info, "neural_rps_net");
    value_info_add(w, in, n->arch.in);
    for (int h = 0; h < n->arch.n_heads; h++) value_info_add(w, n->arch.head[h].name, nn_head_width(&n->arch, h));
    w->vi_in[0] = &w->vi[0];
    for (int h = 0; h < n->arch.n_heads; h++) w->vi_out[h] = &w->vi[1 + h];
    w->graph.n_input = 1;
    w->graph.input = w->vi_in;
    w->graph.n_output = (size_t)n->arch.n_heads;
    w->graph.output = w->vi_out;
    for (int l = 0; l < n->arch.n_layers && st == NRPS_OK; l++)
        if (!layer_add(w, n, l, in)) {
            nrps_set_error("ONNX writer: out of memory");
            st = NRPS_ERR_NOMEM;
        }
    if (st == NRPS_OK) {
        metadata_set(w, &n->arch, &info);
        st = writer_pack(w, data, len);
    }
    writer_free(w);
    return st;
}

nrps_status onnx_net_save(const char *path, const nn_net *n, const onnx_net_info *info) {
    uint8_t *data = NULL;
    size_t len = 0;
    nrps_status st = onnx_net_save_buffer(n, info, &data, &len);
    if (st != NRPS_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("%s: %s", path, msg);
        return st;
    }
    st = nrps_write_file_atomic(path, data, len);
    free(data);
    return st;
}

nrps_status onnx_identity_buffer(int n, uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    if (n < 1 || n > NN_MAX_WIDTH) {
        nrps_set_error("identity model: width %d (supported: 1 to %d)", n, NN_MAX_WIDTH);
        return NRPS_ERR_ARG;
    }
    writer *w = calloc(1, sizeof *w);
    if (!w) {
        nrps_set_error("identity model: out of memory");
        return NRPS_ERR_NOMEM;
    }
    writer_model_set(w, NULL, "neural_rps_identity");
    value_info_add(w, "input", n);
    value_info_add(w, "output", n);
    w->vi_in[0] = &w->vi[0];
    w->vi_out[0] = &w->vi[1];
    w->graph.n_input = 1;
    w->graph.input = w->vi_in;
    w->graph.n_output = 1;
    w->graph.output = w->vi_out;
    node_add(w, "Identity", "identity", "input", NULL, NULL, "output");
    nrps_status st = writer_pack(w, data, len);
    writer_free(w);
    return st;
}
