/* test_onnx.c - ONNX writer/reader: write -> read round trips are exact, the written file runs in ONNX
 * Runtime with the reference's outputs, and the reader accepts the documented variants and rejects
 * everything else with the right one-line message. Variants are made by unpacking one of our files
 * with protobuf-c, mutating it and packing it again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nn/mlp.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_mlp.h"

static char tmpdir[256];

static const char *tmp(const char *name) {
    static char buf[4][320];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void net_make(mlp *m, int hidden, int out, mlp_act ha, mlp_act oa, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    mlp_init(m, 81, hidden, out, ha, oa);
    mlp_init_random(m, &r);
}

static void positions(float *x, int n, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    for (int i = 0; i < n * 81; i++) x[i] = nrps_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

static void test_round_trip(void) {
    struct { int h, out; mlp_act ha, oa; } v[] = {{128, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX},
                                                  {64, 1, MLP_ACT_RELU, MLP_ACT_SIGMOID},
                                                  {7, 9, MLP_ACT_TANH, MLP_ACT_LOGSOFTMAX},
                                                  {5, 3, MLP_ACT_SIGMOID, MLP_ACT_NONE},
                                                  {5, 1, MLP_ACT_RELU, MLP_ACT_TANH}};
    enum { N = 64 };
    static float x[N * 81], y1[N * 9], y2[N * 9];
    positions(x, N, 9);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mlp m, m2;
        net_make(&m, v[i].h, v[i].out, v[i].ha, v[i].oa, 100 + i);
        onnx_mlp_info info, back;
        onnx_mlp_info_default(&info, &m);
        info.seed = 1234;
        info.training_games = 5000;
        if (i % 2) snprintf(info.input_encoding, sizeof info.input_encoding, "hands");
        const char *p = tmp("rt.onnx");
        REQUIRE(onnx_mlp_save(p, &m, &info) == NRPS_OK);
        REQUIRE(onnx_mlp_load(p, &m2, &back) == NRPS_OK);
        CHECK(m2.in == 81 && m2.hidden == v[i].h && m2.out == v[i].out && m2.hidden_act == v[i].ha &&
              m2.out_act == v[i].oa);
        CHECK(memcmp(m.params, m2.params, mlp_param_count(81, v[i].h, v[i].out) * sizeof(float)) == 0);
        CHECK(back.seed == 1234 && back.training_games == 5000 && back.opset == 17);
        CHECK(strcmp(back.input_encoding, i % 2 ? "hands" : "") == 0); /* written only when set */
        CHECK(strcmp(back.input_name, "input") == 0 && strcmp(back.output_name, "output") == 0);
        CHECK(strcmp(back.producer, "neural_rps") == 0 && strcmp(back.producer_version, NRPS_VERSION) == 0);
        if (v[i].out == 9) CHECK(strcmp(back.kind, "policy") == 0);
        if (v[i].out == 1) CHECK(strcmp(back.kind, "value") == 0);
        mlp_forward(&m, x, N, y1, NULL);
        mlp_forward(&m2, x, N, y2, NULL);
        CHECK(max_diff(y1, y2, (size_t)N * v[i].out) == 0.0);
        /* ONNX Runtime on the very same file. */
        REQUIRE(onnx_ort_eval(p, x, N, 81, y2, v[i].out) == NRPS_OK);
        double d = max_diff(y1, y2, (size_t)N * v[i].out);
        printf("  %d-%d-%d %s/%s: reference vs ONNX Runtime max |diff| %.3g\n", 81, v[i].h, v[i].out,
               mlp_act_name(v[i].ha), mlp_act_name(v[i].oa), d);
        CHECK_NEAR(d, 0.0, 1e-5);
        mlp_free(&m);
        mlp_free(&m2);
    }
}

static void test_identity(void) {
    const char *p = tmp("id.onnx");
    REQUIRE(onnx_identity_save(p, 81) == NRPS_OK);
    float x[3 * 81], y[3 * 81];
    positions(x, 3, 1);
    REQUIRE(onnx_ort_eval(p, x, 3, 81, y, 81) == NRPS_OK);
    CHECK(memcmp(x, y, sizeof x) == 0);
    mlp m;
    CHECK(onnx_mlp_load(p, &m, NULL) == NRPS_ERR_UNSUPPORTED); /* not an MLP */
    CHECK(onnx_identity_save(p, 0) == NRPS_ERR_ARG);
}

static void test_save_refuses(void) {
    mlp m;
    net_make(&m, 4, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX, 1);
    m.b1[2] = NAN;
    const char *p = tmp("nan_out.onnx");
    CHECK(onnx_mlp_save(p, &m, NULL) == NRPS_ERR_ARG);
    CHECK(access(p, F_OK) != 0);
    m.b1[2] = 0;
    CHECK(onnx_mlp_save("/nonexistent_dir/x.onnx", &m, NULL) == NRPS_ERR_IO);
    mlp_free(&m);
}

/* ---- mutations ---- */

static Onnx__ModelProto *model_read(const char *path) {
    char *d = NULL;
    size_t n = 0;
    if (nrps_read_file(path, 1 << 26, &d, &n) != NRPS_OK) return NULL;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, n, (uint8_t *)d);
    free(d);
    return mp;
}

static void model_write(Onnx__ModelProto *mp, const char *path) {
    size_t n = onnx__model_proto__get_packed_size(mp);
    uint8_t *b = malloc(n);
    onnx__model_proto__pack(mp, b);
    nrps_write_file_atomic(path, b, n);
    free(b);
    onnx__model_proto__free_unpacked(mp, NULL);
}

static void str_set(char **s, const char *v) {
    free(*s);
    *s = strdup(v);
}

static Onnx__NodeProto *node_by_op(Onnx__GraphProto *g, const char *op) {
    for (size_t i = 0; i < g->n_node; i++)
        if (strcmp(g->node[i]->op_type, op) == 0) return g->node[i];
    return NULL;
}

static Onnx__TensorProto *init_by_name(Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (strcmp(g->initializer[i]->name, name) == 0) return g->initializer[i];
    return NULL;
}

static void attr_add_int(Onnx__NodeProto *n, const char *name, int64_t v, int is_float, float f) {
    Onnx__AttributeProto *a = malloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = strdup(name);
    a->has_type = 1;
    if (is_float) {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = f;
    } else {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = v;
    }
    n->attribute = realloc(n->attribute, (n->n_attribute + 1) * sizeof *n->attribute);
    n->attribute[n->n_attribute++] = a;
}

static void attr_set_int(Onnx__NodeProto *n, const char *name, int64_t v) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, name) == 0) {
            n->attribute[i]->i = v;
            return;
        }
    attr_add_int(n, name, v, 0, 0);
}

static void graph_node_append(Onnx__GraphProto *g, const char *op, const char *name, const char *in, const char *out) {
    Onnx__NodeProto *n = malloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = strdup(op);
    n->name = strdup(name);
    n->n_input = 1;
    n->input = malloc(sizeof(char *));
    n->input[0] = strdup(in);
    n->n_output = 1;
    n->output = malloc(sizeof(char *));
    n->output[0] = strdup(out);
    g->node = realloc(g->node, (g->n_node + 1) * sizeof *g->node);
    g->node[g->n_node++] = n;
}

static void mut_conv(Onnx__ModelProto *mp) {
    str_set(&mp->graph->node[0]->op_type, "Conv");
    str_set(&mp->graph->node[0]->name, "conv1");
}
static void mut_int64_input(Onnx__ModelProto *mp) { mp->graph->input[0]->type->tensor_type->elem_type = 7; }
static void mut_two_inputs(Onnx__ModelProto *mp) {
    Onnx__GraphProto *g = mp->graph;
    Onnx__ValueInfoProto *v = malloc(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = strdup("x2");
    g->input = realloc(g->input, 2 * sizeof *g->input);
    g->input[g->n_input++] = v;
}
static void mut_nan(Onnx__ModelProto *mp) {
    Onnx__TensorProto *t = init_by_name(mp->graph, "fc2.bias");
    float nan = NAN;
    memcpy(t->raw_data.data + 4, &nan, 4); /* host is little-endian on every machine we build for */
}
static void mut_no_relu(Onnx__ModelProto *mp) {
    Onnx__GraphProto *g = mp->graph;
    Onnx__NodeProto *relu = node_by_op(g, "Relu"), *fc2 = g->node[2];
    str_set(&fc2->input[0], relu->input[0]);
    onnx__node_proto__free_unpacked(relu, NULL);
    g->node[1] = g->node[2];
    g->node[2] = g->node[3];
    g->n_node--;
}
static void mut_opset8(Onnx__ModelProto *mp) { mp->opset_import[0]->version = 8; }
static void mut_softmax_axis0(Onnx__ModelProto *mp) { attr_set_int(node_by_op(mp->graph, "Softmax"), "axis", 0); }
static void mut_transA(Onnx__ModelProto *mp) { attr_set_int(mp->graph->node[0], "transA", 1); }
static void mut_dangling(Onnx__ModelProto *mp) { graph_node_append(mp->graph, "Mul", "stray", "nowhere", "nothing"); }
static void mut_third_layer(Onnx__ModelProto *mp) { str_set(&mp->graph->node[1]->op_type, "Gemm"); }
static void mut_branch(Onnx__ModelProto *mp) { graph_node_append(mp->graph, "Relu", "side", "hidden", "side_out"); }
static void mut_out_width(Onnx__ModelProto *mp) { mp->graph->output[0]->type->tensor_type->shape->dim[1]->dim_value = 5; }
static void mut_external(Onnx__ModelProto *mp) {
    Onnx__TensorProto *t = init_by_name(mp->graph, "fc1.weight");
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}
static void mut_double_weight(Onnx__ModelProto *mp) { init_by_name(mp->graph, "fc1.weight")->data_type = 11; }
static void mut_short_raw(Onnx__ModelProto *mp) { init_by_name(mp->graph, "fc1.bias")->raw_data.len -= 4; }

static void test_rejects(void) {
    mlp m;
    net_make(&m, 6, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX, 5);
    char src[320];
    snprintf(src, sizeof src, "%s", tmp("src.onnx"));
    REQUIRE(onnx_mlp_save(src, &m, NULL) == NRPS_OK);
    struct { void (*fn)(Onnx__ModelProto *); nrps_status st; const char *msg; } cases[] = {
        {mut_conv, NRPS_ERR_UNSUPPORTED, "unsupported operator 'Conv' (node 0 'conv1')"},
        {mut_int64_input, NRPS_ERR_UNSUPPORTED, "input 'input' has element type int64, expected float32"},
        {mut_two_inputs, NRPS_ERR_UNSUPPORTED, "two graph inputs"},
        {mut_nan, NRPS_ERR_FORMAT, "tensor 'fc2.bias' contains NaN/Inf"},
        {mut_no_relu, NRPS_ERR_UNSUPPORTED, "two linear layers without an activation"},
        {mut_opset8, NRPS_ERR_UNSUPPORTED, "opset 8 is not supported"},
        {mut_softmax_axis0, NRPS_ERR_UNSUPPORTED, "Softmax over axis 0"},
        {mut_transA, NRPS_ERR_UNSUPPORTED, "transA=1"},
        {mut_dangling, NRPS_ERR_UNSUPPORTED, "unsupported operator 'Mul' (node 4 'stray') outside"},
        {mut_third_layer, NRPS_ERR_UNSUPPORTED, "two linear layers without an activation between them (node 1 'act1')"},
        {mut_branch, NRPS_ERR_UNSUPPORTED, "is read by two nodes"},
        {mut_out_width, NRPS_ERR_UNSUPPORTED, "declares 5 features but the last layer has 9"},
        {mut_external, NRPS_ERR_UNSUPPORTED, "external data"},
        {mut_double_weight, NRPS_ERR_UNSUPPORTED, "tensor 'fc1.weight' has element type double, expected float32"},
        {mut_short_raw, NRPS_ERR_FORMAT, "tensor 'fc1.bias' has 20 bytes of raw data, expected 24"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Onnx__ModelProto *mp = model_read(src);
        REQUIRE(mp);
        cases[i].fn(mp);
        const char *p = tmp("bad.onnx");
        model_write(mp, p);
        mlp m2;
        nrps_status st = onnx_mlp_load(p, &m2, NULL);
        const char *e = nrps_last_error();
        CHECK_MSG(st == cases[i].st && strstr(e, cases[i].msg) && strncmp(e, p, strlen(p)) == 0 && !strchr(e, '\n') &&
                      m2.params == NULL,
                  "case %zu: status %d, message '%s', wanted '%s'", i, st, e, cases[i].msg);
    }
    mlp_free(&m);
}

/* Accepted variants must give the same network. */
static void mut_float_data(Onnx__ModelProto *mp) {
    Onnx__TensorProto *t = init_by_name(mp->graph, "fc1.weight");
    size_t n = t->raw_data.len / 4;
    t->float_data = malloc(n * sizeof(float));
    memcpy(t->float_data, t->raw_data.data, n * 4);
    t->n_float_data = n;
    free(t->raw_data.data);
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
    t->has_raw_data = 0;
}
static void mut_constant_bias(Onnx__ModelProto *mp) {
    /* Move fc2.bias from the initializers into a Constant node placed first. */
    Onnx__GraphProto *g = mp->graph;
    Onnx__TensorProto *t = init_by_name(g, "fc2.bias");
    size_t k = 0;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i] != t) g->initializer[k++] = g->initializer[i];
    g->n_initializer = k;
    graph_node_append(g, "Constant", "const_bias", "unused", "fc2.bias");
    Onnx__NodeProto *c = g->node[g->n_node - 1];
    free(c->input[0]);
    c->n_input = 0;
    Onnx__AttributeProto *a = malloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = strdup("value");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    a->t = t;
    c->attribute = malloc(sizeof *c->attribute);
    c->attribute[0] = a;
    c->n_attribute = 1;
    memmove(g->node + 1, g->node, (g->n_node - 1) * sizeof *g->node);
    g->node[0] = c;
}
static void mut_init_inputs(Onnx__ModelProto *mp) {
    /* IR-3 style: every initializer also listed as a graph input. */
    Onnx__GraphProto *g = mp->graph;
    g->input = realloc(g->input, (g->n_input + g->n_initializer) * sizeof *g->input);
    for (size_t i = 0; i < g->n_initializer; i++) {
        Onnx__ValueInfoProto *v = malloc(sizeof *v);
        onnx__value_info_proto__init(v);
        v->name = strdup(g->initializer[i]->name);
        g->input[g->n_input++] = v;
    }
}
static void mut_identity_flatten(Onnx__ModelProto *mp) {
    /* input -> Flatten -> Identity -> Gemm ... */
    Onnx__GraphProto *g = mp->graph;
    str_set(&g->node[0]->input[0], "id_out");
    graph_node_append(g, "Flatten", "flat", "input", "flat_out");
    graph_node_append(g, "Identity", "ident", "flat_out", "id_out");
}
static void mut_opset_13_no_axis(Onnx__ModelProto *mp) {
    Onnx__NodeProto *s = node_by_op(mp->graph, "Softmax");
    mp->opset_import[0]->version = 13;
    for (size_t i = 0; i < s->n_attribute; i++) onnx__attribute_proto__free_unpacked(s->attribute[i], NULL);
    s->n_attribute = 0; /* opset 13 default axis -1 == 1 for rank 2 */
}

static void test_accepts(void) {
    mlp m;
    net_make(&m, 6, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX, 6);
    char src[320];
    snprintf(src, sizeof src, "%s", tmp("src2.onnx"));
    REQUIRE(onnx_mlp_save(src, &m, NULL) == NRPS_OK);
    void (*fns[])(Onnx__ModelProto *) = {mut_float_data, mut_constant_bias, mut_init_inputs, mut_identity_flatten,
                                         mut_opset_13_no_axis};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        Onnx__ModelProto *mp = model_read(src);
        REQUIRE(mp);
        fns[i](mp);
        const char *p = tmp("ok.onnx");
        model_write(mp, p);
        mlp m2;
        nrps_status st = onnx_mlp_load(p, &m2, NULL);
        CHECK_MSG(st == NRPS_OK, "variant %zu: %s", i, nrps_last_error());
        if (st != NRPS_OK) continue;
        CHECK(m2.hidden == 6 && m2.out_act == MLP_ACT_SOFTMAX);
        CHECK(memcmp(m.params, m2.params, mlp_param_count(81, 6, 9) * sizeof(float)) == 0);
        mlp_free(&m2);
    }
    /* Gemm alpha/beta are folded into the weights. */
    Onnx__ModelProto *mp = model_read(src);
    REQUIRE(mp);
    attr_add_int(mp->graph->node[0], "alpha", 0, 1, 2.0f);
    attr_add_int(mp->graph->node[0], "beta", 0, 1, 0.5f);
    const char *p = tmp("ab.onnx");
    model_write(mp, p);
    mlp m2;
    REQUIRE(onnx_mlp_load(p, &m2, NULL) == NRPS_OK);
    CHECK(m2.w1[10] == 2.0f * m.w1[10] && m2.b1[3] == 0.5f * m.b1[3] && m2.w2[4] == m.w2[4]);
    float x[4 * 81], y1[36], y2[36];
    positions(x, 4, 3);
    mlp_forward(&m2, x, 4, y1, NULL);
    REQUIRE(onnx_ort_eval(p, x, 4, 81, y2, 9) == NRPS_OK);
    CHECK_NEAR(max_diff(y1, y2, 36), 0.0, 1e-5);
    mlp_free(&m2);
    mlp_free(&m);
}

static void test_corrupt_files(void) {
    mlp m, m2;
    net_make(&m, 16, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX, 8);
    char src[320];
    snprintf(src, sizeof src, "%s", tmp("c.onnx"));
    REQUIRE(onnx_mlp_save(src, &m, NULL) == NRPS_OK);
    char *d = NULL;
    size_t n = 0;
    REQUIRE(nrps_read_file(src, 1 << 26, &d, &n) == NRPS_OK);
    /* Every truncation point before the trailing metadata must be refused cleanly (never crash, never
     * accept). Protobuf has no framing: a cut exactly between two metadata entries is a valid, shorter
     * model, so the metadata tail is excluded. */
    Onnx__ModelProto *mp = model_read(src);
    REQUIRE(mp);
    mp->n_metadata_props = 0;
    size_t core = onnx__model_proto__get_packed_size(mp);
    mp->n_metadata_props = 4;
    onnx__model_proto__free_unpacked(mp, NULL);
    REQUIRE(core < n);
    int accepted = 0;
    for (size_t cut = 0; cut < core; cut += (cut < 64 || cut > core - 64 ? 1 : 97)) {
        const char *p = tmp("trunc.onnx");
        nrps_write_file_atomic(p, d, cut);
        if (onnx_mlp_load(p, &m2, NULL) == NRPS_OK) {
            accepted++;
            mlp_free(&m2);
        } else
            CHECK_MSG(strncmp(nrps_last_error(), p, strlen(p)) == 0, "message '%s'", nrps_last_error());
    }
    CHECK_MSG(accepted == 0, "%d truncated files accepted", accepted);
    const char *p = tmp("half.onnx");
    nrps_write_file_atomic(p, d, n / 2);
    CHECK(onnx_mlp_load(p, &m2, NULL) == NRPS_ERR_FORMAT);
    CHECK(strstr(nrps_last_error(), "truncated") != NULL);
    nrps_write_file_atomic(p, "hello, I am not a protobuf\n", 27);
    CHECK(onnx_mlp_load(p, &m2, NULL) != NRPS_OK);
    nrps_write_file_atomic(p, "", 0);
    CHECK(onnx_mlp_load(p, &m2, NULL) == NRPS_ERR_FORMAT && strstr(nrps_last_error(), "empty"));
    CHECK(onnx_mlp_load(tmp("missing.onnx"), &m2, NULL) == NRPS_ERR_IO);
    free(d);
    mlp_free(&m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nrps_test_onnx.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_identity);
    RUN(test_save_refuses);
    RUN(test_rejects);
    RUN(test_accepts);
    RUN(test_corrupt_files);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("onnx");
}
