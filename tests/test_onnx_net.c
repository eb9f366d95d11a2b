/* test_onnx_net.c - the network family as ONNX (src/onnx/onnx_net.h): exact write -> read round trips for 1-, 2-,
 * 3- and 5-layer and two-headed nets, ONNX Runtime on the very same files, the default models giving the old
 * 2-layer code's outputs bit for bit (frozen fixture), the variants PyTorch exports (MatMul+Add, transB 0, alpha/beta,
 * float_data, Constant nodes, no-op nodes, opsets 9-21, LeakyRelu), head kinds and order, the refusals (each
 * message checked), cycles and a 60,000-node graph, the identity floor model and the Go .model importer.
 * Variants are made by unpacking one of our files with protobuf-c, mutating it and packing it again.
 *
 * Helper mode for tests/test_onnx_torch.py: `test_onnx_net --write-samples DIR` writes a few nets of the family
 * there (for onnx.checker). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "nn/net.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_net.h"

static char tmpdir[256];

static const char *tmp(const char *name) {
    static char buf[4][320];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* ---- networks and outputs ---- */

static int net_make(nn_net *n, const nn_arch *a, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    if (nn_init(n, a) != NRPS_OK) return 0;
    nn_init_random(n, &r);
    return 1;
}

static nn_arch arch_mlp(const int *hidden, int n_hidden, nn_act ha, float alpha, int out, nn_act oa) {
    return nn_arch_mlp(81, hidden, n_hidden, ha, alpha, out, oa,
                       out == 9 ? NN_HEAD_POLICY : out == 1 ? NN_HEAD_VALUE : NN_HEAD_OTHER);
}

static void positions(float *x, int n, int in, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    for (int i = 0; i < n * in; i++) x[i] = nrps_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
}

/* Outputs of every head: y[h] malloc'd [batch][width]. */
static int forward_all(const nn_net *n, const float *x, int batch, float *y[2]) {
    y[0] = y[1] = NULL;
    for (int h = 0; h < n->arch.n_heads; h++)
        if (!(y[h] = malloc((size_t)batch * (size_t)nn_head_width(&n->arch, h) * sizeof(float)))) return 0;
    return nn_forward(n, x, batch, y, NULL) == NRPS_OK;
}

/* 1 when a and b give bit-identical outputs, head by head with the same names, on batch positions. */
static int outputs_identical(const nn_net *a, const nn_net *b, int batch) {
    float *x = malloc((size_t)batch * (size_t)a->arch.in * sizeof(float)), *ya[2], *yb[2];
    positions(x, batch, a->arch.in, 11);
    int ok = a->arch.n_heads == b->arch.n_heads && forward_all(a, x, batch, ya) && forward_all(b, x, batch, yb);
    for (int h = 0; ok && h < a->arch.n_heads; h++) {
        int hb = -1;
        for (int k = 0; k < b->arch.n_heads; k++)
            if (!strcmp(a->arch.head[h].name, b->arch.head[k].name)) hb = k;
        ok = hb >= 0 && nn_head_width(&a->arch, h) == nn_head_width(&b->arch, hb) &&
             !memcmp(ya[h], yb[hb], (size_t)batch * (size_t)nn_head_width(&a->arch, h) * sizeof(float));
    }
    for (int h = 0; h < 2; h++) free(ya[h]), free(yb[h]);
    free(x);
    return ok;
}

static int nets_identical(const nn_net *a, const nn_net *b) {
    return nn_arch_equal(&a->arch, &b->arch) && a->n_params == b->n_params &&
           !memcmp(a->params, b->params, a->n_params * sizeof(float));
}

/* Largest |reference - ONNX Runtime| over every head of n on the file at path (inf on an ORT error). */
static double ort_diff(const char *path, const nn_net *n, int batch) {
    float *x = malloc((size_t)batch * (size_t)n->arch.in * sizeof(float)), *y[2], *yo[2] = {NULL, NULL};
    positions(x, batch, n->arch.in, 5);
    double d = forward_all(n, x, batch, y) ? 0 : INFINITY;
    const char *names[2];
    int width[2];
    for (int h = 0; h < n->arch.n_heads; h++) {
        names[h] = n->arch.head[h].name;
        width[h] = nn_head_width(&n->arch, h);
        yo[h] = malloc((size_t)batch * (size_t)width[h] * sizeof(float));
    }
    if (onnx_ort_eval_outputs(path, x, batch, n->arch.in, n->arch.n_heads, names, width, yo) != NRPS_OK) {
        fprintf(stderr, "  ORT: %s\n", nrps_last_error());
        d = INFINITY;
    }
    for (int h = 0; h < n->arch.n_heads && isfinite(d); h++)
        for (size_t i = 0; i < (size_t)batch * (size_t)width[h]; i++) d = fmax(d, fabs((double)y[h][i] - yo[h][i]));
    for (int h = 0; h < 2; h++) free(y[h]), free(yo[h]);
    free(x);
    return d;
}

/* ---- protobuf-c helpers for the variants ---- */

static Onnx__ModelProto *model_of(const nn_net *n) {
    uint8_t *d = NULL;
    size_t len = 0;
    if (onnx_net_save_buffer(n, NULL, &d, &len) != NRPS_OK) return NULL;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, d);
    free(d);
    return mp;
}

/* Packs mp (freed) and reads it with onnx_net_load_buffer under the name "m.onnx". */
static nrps_status model_load(Onnx__ModelProto *mp, nn_net *out, onnx_net_info *info) {
    size_t len = onnx__model_proto__get_packed_size(mp);
    uint8_t *d = malloc(len + 1);
    onnx__model_proto__pack(mp, d);
    onnx__model_proto__free_unpacked(mp, NULL);
    nrps_status st = onnx_net_load_buffer("m.onnx", d, len, out, info);
    free(d);
    return st;
}

static void model_save(Onnx__ModelProto *mp, const char *path) {
    size_t len = onnx__model_proto__get_packed_size(mp);
    uint8_t *d = malloc(len + 1);
    onnx__model_proto__pack(mp, d);
    nrps_write_file_atomic(path, d, len);
    free(d);
}

static void str_set(char **s, const char *v) {
    free(*s);
    *s = strdup(v);
}

static Onnx__NodeProto *node_named(Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_node; i++)
        if (!strcmp(g->node[i]->name, name)) return g->node[i];
    return NULL;
}

static Onnx__TensorProto *init_named(Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!strcmp(g->initializer[i]->name, name)) return g->initializer[i];
    return NULL;
}

static Onnx__NodeProto *node_new(const char *op, const char *name, const char *in0, const char *in1, const char *out) {
    Onnx__NodeProto *n = malloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = strdup(op);
    n->name = strdup(name);
    n->n_input = in1 ? 2 : 1;
    n->input = malloc(2 * sizeof(char *));
    n->input[0] = strdup(in0);
    if (in1) n->input[1] = strdup(in1);
    n->n_output = 1;
    n->output = malloc(sizeof(char *));
    n->output[0] = strdup(out);
    return n;
}

/* Inserts n at position pos (g->n_node = append). */
static void node_insert(Onnx__GraphProto *g, size_t pos, Onnx__NodeProto *n) {
    g->node = realloc(g->node, (g->n_node + 1) * sizeof *g->node);
    memmove(g->node + pos + 1, g->node + pos, (g->n_node - pos) * sizeof *g->node);
    g->node[pos] = n;
    g->n_node++;
}

static void attr_add(Onnx__NodeProto *n, const char *name, int is_float, int64_t i, float f) {
    Onnx__AttributeProto *a = malloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = strdup(name);
    a->has_type = 1;
    a->type = is_float ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_f = is_float;
    a->f = f;
    a->has_i = !is_float;
    a->i = i;
    n->attribute = realloc(n->attribute, (n->n_attribute + 1) * sizeof *n->attribute);
    n->attribute[n->n_attribute++] = a;
}

static void attrs_clear(Onnx__NodeProto *n) {
    for (size_t i = 0; i < n->n_attribute; i++) onnx__attribute_proto__free_unpacked(n->attribute[i], NULL);
    n->n_attribute = 0;
}

static void attr_set(Onnx__NodeProto *n, const char *name, int64_t v) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!strcmp(n->attribute[i]->name, name)) {
            n->attribute[i]->i = v;
            return;
        }
    attr_add(n, name, 0, v, 0);
}

/* A float tensor (raw data) of the given dims. */
static Onnx__TensorProto *tensor_new(const char *name, int rank, int64_t d0, int64_t d1, const float *data) {
    Onnx__TensorProto *t = malloc(sizeof *t);
    onnx__tensor_proto__init(t);
    size_t n = (size_t)d0 * (size_t)(rank == 2 ? d1 : 1);
    t->name = strdup(name);
    t->n_dims = (size_t)rank;
    t->dims = malloc(2 * sizeof(int64_t));
    t->dims[0] = d0;
    t->dims[1] = d1;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->has_raw_data = 1;
    t->raw_data.len = n * 4;
    t->raw_data.data = calloc(n + 1, 4);
    if (data) memcpy(t->raw_data.data, data, n * 4);
    return t;
}

/* An int64 [2] tensor (a Reshape shape), raw little-endian. */
static Onnx__TensorProto *shape_tensor_new(const char *name, int64_t v0, int64_t v1) {
    Onnx__TensorProto *t = tensor_new(name, 1, 2, 0, NULL);
    int64_t v[2] = {v0, v1};
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    free(t->raw_data.data);
    t->raw_data.data = malloc(16);
    t->raw_data.len = 16;
    for (int i = 0; i < 16; i++) t->raw_data.data[i] = (uint8_t)((uint64_t)v[i / 8] >> (8 * (i % 8)));
    return t;
}

static void init_append(Onnx__GraphProto *g, Onnx__TensorProto *t) {
    g->initializer = realloc(g->initializer, (g->n_initializer + 1) * sizeof *g->initializer);
    g->initializer[g->n_initializer++] = t;
}

/* Replaces initializer name by t. */
static void init_replace(Onnx__GraphProto *g, const char *name, Onnx__TensorProto *t) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!strcmp(g->initializer[i]->name, name)) {
            onnx__tensor_proto__free_unpacked(g->initializer[i], NULL);
            g->initializer[i] = t;
            return;
        }
}

/* Transposes a raw 2-D float initializer in place ([d0][d1] -> [d1][d0]). */
static void init_transpose(Onnx__TensorProto *t) {
    int64_t d0 = t->dims[0], d1 = t->dims[1];
    float *f = malloc(t->raw_data.len), *g = malloc(t->raw_data.len);
    memcpy(f, t->raw_data.data, t->raw_data.len);
    for (int64_t i = 0; i < d0; i++)
        for (int64_t j = 0; j < d1; j++) g[j * d0 + i] = f[i * d1 + j];
    memcpy(t->raw_data.data, g, t->raw_data.len);
    t->dims[0] = d1;
    t->dims[1] = d0;
    free(f);
    free(g);
}

static Onnx__ValueInfoProto *value_info_new(const char *name, int width) {
    Onnx__ValueInfoProto *v = malloc(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = strdup(name);
    v->type = malloc(sizeof *v->type);
    onnx__type_proto__init(v->type);
    v->type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    v->type->tensor_type = malloc(sizeof *v->type->tensor_type);
    onnx__type_proto__tensor__init(v->type->tensor_type);
    v->type->tensor_type->has_elem_type = 1;
    v->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    (void)width; /* shape left unknown */
    return v;
}

static void output_add(Onnx__GraphProto *g, const char *name) {
    g->output = realloc(g->output, (g->n_output + 1) * sizeof *g->output);
    g->output[g->n_output++] = value_info_new(name, 0);
}

static void metadata_clear(Onnx__ModelProto *mp) {
    for (size_t i = 0; i < mp->n_metadata_props; i++)
        onnx__string_string_entry_proto__free_unpacked(mp->metadata_props[i], NULL);
    mp->n_metadata_props = 0;
}

/* ---- round trips ---- */

static void round_trip_check(const nn_arch *a, uint64_t seed, const char *label) {
    nn_net n, back, back2;
    REQUIRE(net_make(&n, a, seed));
    onnx_net_info info, got;
    onnx_net_info_default(&info);
    info.seed = 42;
    info.training_games = 7000;
    snprintf(info.input_encoding, sizeof info.input_encoding, "hands");
    const char *p = tmp("rt.onnx");
    REQUIRE(onnx_net_save(p, &n, &info) == NRPS_OK);
    nrps_status st = onnx_net_load(p, &back, &got);
    CHECK_MSG(st == NRPS_OK, "%s: %s", label, nrps_last_error());
    if (st != NRPS_OK) {
        nn_free(&n);
        return;
    }
    CHECK_MSG(nets_identical(&n, &back), "%s: network differs after the round trip", label);
    CHECK_MSG(outputs_identical(&n, &back, 7) && outputs_identical(&n, &back, 64), "%s: outputs differ", label);
    CHECK(got.seed == 42 && got.training_games == 7000 && !strcmp(got.input_encoding, "hands"));
    CHECK(got.opset == 17 && got.ir_version == 8 && !strcmp(got.input_name, "input"));
    CHECK(!strcmp(got.producer, "neural_rps") && !strcmp(got.producer_version, NRPS_VERSION));
    CHECK(!strcmp(got.input_batch, "batch_size") && !strncmp(got.ops, "Gemm", 4));
    /* the buffer form gives the same bytes' network, and info may be NULL */
    uint8_t *d = NULL;
    size_t len = 0;
    REQUIRE(onnx_net_save_buffer(&back, NULL, &d, &len) == NRPS_OK);
    CHECK(onnx_net_load_buffer("buf.onnx", d, len, &back2, NULL) == NRPS_OK && nets_identical(&n, &back2));
    free(d);
    double diff = ort_diff(p, &n, 64);
    char desc[256];
    nn_arch_describe(a, desc, sizeof desc);
    printf("  %-40s %s: reference vs ONNX Runtime max |diff| %.3g\n", desc, label, diff);
    CHECK_MSG(diff <= 1e-5, "%s: ORT differs by %g", label, diff);
    nn_free(&n);
    nn_free(&back);
    nn_free(&back2);
}

static void test_round_trip_depths(void) {
    int h3[2] = {32, 16}, h5[4] = {40, 30, 20, 10}, h2[1] = {24};
    nn_arch a1 = arch_mlp(NULL, 0, NN_ACT_NONE, 0, 9, NN_ACT_SOFTMAX);
    nn_arch a2 = arch_mlp(h2, 1, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID);
    nn_arch a2b = arch_mlp(h2, 1, NN_ACT_NONE, 0, 5, NN_ACT_NONE);
    nn_arch a3 = arch_mlp(h3, 2, NN_ACT_LEAKY_RELU, 0.2f, 9, NN_ACT_LOGSOFTMAX);
    nn_arch a5 = arch_mlp(h5, 4, NN_ACT_TANH, 0, 1, NN_ACT_TANH);
    a5.layer[1].act = NN_ACT_SIGMOID; /* mixed hidden activations */
    a5.layer[2].act = NN_ACT_RELU;
    round_trip_check(&a1, 1, "1 layer, softmax");
    round_trip_check(&a2, 2, "2 layers, relu/sigmoid");
    round_trip_check(&a2b, 3, "2 layers, none/none");
    round_trip_check(&a3, 4, "3 layers, leaky_relu(0.2)/logsoftmax");
    round_trip_check(&a5, 5, "5 layers, tanh-sigmoid-relu-tanh/tanh");
}

static void test_round_trip_two_heads(void) {
    int t2[2] = {48, 32}, t1[1] = {24}, p1[1] = {16}, v1[1] = {8};
    nn_arch a = nn_arch_two_heads(81, t2, 2, p1, 1, v1, 1, NN_ACT_RELU, 0);
    round_trip_check(&a, 21, "two heads, trunk 2");
    a = nn_arch_two_heads(81, NULL, 0, p1, 1, NULL, 0, NN_ACT_TANH, 0);
    round_trip_check(&a, 22, "two heads, no trunk");
    a = nn_arch_two_heads(81, t1, 1, NULL, 0, NULL, 0, NN_ACT_LEAKY_RELU, 0.05f);
    round_trip_check(&a, 23, "two heads, linear heads");
    /* kinds that are not the game's survive exactly (the metadata names them) */
    a = nn_arch_two_heads(81, t1, 1, p1, 1, NULL, 0, NN_ACT_RELU, 0);
    a.head[0].kind = a.head[1].kind = NN_HEAD_OTHER;
    snprintf(a.head[0].name, NN_NAME_LEN, "a");
    snprintf(a.head[1].name, NN_NAME_LEN, "b");
    round_trip_check(&a, 24, "two heads of kind other");
    /* names with the metadata's separators in them: the kinds still come back exactly */
    a.head[0].kind = NN_HEAD_POLICY;
    snprintf(a.head[0].name, NN_NAME_LEN, "a, b=value");
    snprintf(a.head[1].name, NN_NAME_LEN, "b");
    round_trip_check(&a, 25, "head names with ', ' and '='");
}

/* ---- head kinds and order ---- */

static void test_head_kinds(void) {
    int t1[1] = {12};
    nn_arch a = nn_arch_two_heads(81, t1, 1, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    /* value head first, called "v_value_out"; policy second, "Policy_Logits" */
    nn_arch vf = a;
    vf.head[0] = (nn_head){.kind = NN_HEAD_VALUE, .first = 1, .count = 1};
    vf.head[1] = (nn_head){.kind = NN_HEAD_POLICY, .first = 2, .count = 1};
    vf.layer[1] = a.layer[2];
    vf.layer[2] = a.layer[1];
    snprintf(vf.head[0].name, NN_NAME_LEN, "v_value_out");
    snprintf(vf.head[1].name, NN_NAME_LEN, "Policy_Logits");
    nn_net n, back;
    REQUIRE(net_make(&n, &vf, 3));
    for (int strip = 0; strip < 2; strip++) {
        Onnx__ModelProto *mp = model_of(&n);
        REQUIRE(mp);
        if (strip) metadata_clear(mp); /* then the names decide */
        REQUIRE(model_load(mp, &back, NULL) == NRPS_OK);
        CHECK(back.arch.head[0].kind == NN_HEAD_POLICY && !strcmp(back.arch.head[0].name, "Policy_Logits"));
        CHECK(back.arch.head[1].kind == NN_HEAD_VALUE && back.arch.head[0].first == 1 && back.arch.head[1].first == 2);
        CHECK(outputs_identical(&n, &back, 9));
        nn_free(&back);
    }
    nn_free(&n);
    /* no metadata, names without policy/value: the widths 9 and 1 decide; kinds from metadata win over them */
    nn_arch o = vf;
    snprintf(o.head[0].name, NN_NAME_LEN, "out_a");
    snprintf(o.head[1].name, NN_NAME_LEN, "out_b");
    o.head[0].kind = o.head[1].kind = NN_HEAD_OTHER;
    REQUIRE(net_make(&n, &o, 4));
    Onnx__ModelProto *mp = model_of(&n);
    REQUIRE(mp);
    REQUIRE(model_load(mp, &back, NULL) == NRPS_OK);
    CHECK(back.arch.head[0].kind == NN_HEAD_OTHER && back.arch.head[1].kind == NN_HEAD_OTHER &&
          !strcmp(back.arch.head[0].name, "out_a")); /* graph output order kept */
    nn_free(&back);
    mp = model_of(&n);
    metadata_clear(mp);
    REQUIRE(model_load(mp, &back, NULL) == NRPS_OK);
    CHECK(back.arch.head[0].kind == NN_HEAD_POLICY && !strcmp(back.arch.head[0].name, "out_b"));
    CHECK(back.arch.head[1].kind == NN_HEAD_VALUE && outputs_identical(&n, &back, 5));
    nn_free(&back);
    nn_free(&n);
}

static void test_one_head_kinds(void) {
    int h[1] = {10};
    struct { int in, out; nn_head_kind kind; int strip; nn_head_kind want; } v[] = {
        {81, 9, NN_HEAD_OTHER, 0, NN_HEAD_OTHER},   {81, 9, NN_HEAD_OTHER, 1, NN_HEAD_POLICY},
        {81, 1, NN_HEAD_OTHER, 1, NN_HEAD_VALUE},   {81, 1, NN_HEAD_POLICY, 0, NN_HEAD_POLICY},
        {100, 9, NN_HEAD_OTHER, 1, NN_HEAD_OTHER},  {81, 10, NN_HEAD_OTHER, 1, NN_HEAD_OTHER},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        nn_arch a = nn_arch_mlp(v[i].in, h, 1, NN_ACT_RELU, 0, v[i].out, NN_ACT_NONE, v[i].kind);
        nn_net n, back;
        REQUIRE(net_make(&n, &a, 30 + i));
        Onnx__ModelProto *mp = model_of(&n);
        REQUIRE(mp);
        if (v[i].strip) metadata_clear(mp);
        REQUIRE(model_load(mp, &back, NULL) == NRPS_OK);
        CHECK_MSG(back.arch.head[0].kind == v[i].want, "case %zu: kind %d", i, back.arch.head[0].kind);
        nn_free(&n);
        nn_free(&back);
    }
}

/* ---- compatibility with the 2-layer code this replaced ---- */

/* The default models of 2026-11 give bit for bit the outputs the old 2-layer reader + forward gave (frozen in
 * tests/fixtures/default_models_v1/expected_outputs.txt as exact hex floats, made with that code before it was
 * removed). */
static void test_default_models_bit_identical_to_the_old_code(void) {
    const char *dir = "tests/fixtures/default_models_v1";
    char path[256];
    snprintf(path, sizeof path, "%s/expected_outputs.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) SKIP("tests/fixtures/ not found (run from the repository root)");
    enum { B = 64 };
    static float x[B * 81], y[B * 9];
    positions(x, B, 81, 77);
    for (int i = 0; i < B * 81; i += 9) x[i + 8] = (float)(i % 4); /* hand counts in the spare slots */
    char line[2048], kind[16];
    int width, models = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%15s %d", kind, &width) == 2) {
            nn_net n;
            onnx_net_info info;
            snprintf(path, sizeof path, "%s/rps_%s.onnx", dir, kind);
            REQUIRE(onnx_net_load(path, &n, &info) == NRPS_OK);
            CHECK(n.arch.n_layers == 2 && n.arch.n_heads == 1 && nn_head_width(&n.arch, 0) == width);
            CHECK(n.arch.head[0].kind == (!strcmp(kind, "policy") ? NN_HEAD_POLICY : NN_HEAD_VALUE));
            CHECK(!strcmp(info.input_encoding, "hands") && info.seed == 1);
            float *ys[1] = {y};
            REQUIRE(nn_forward(&n, x, B, ys, NULL) == NRPS_OK);
            int same = 1;
            for (int k = 0; k < B * width; k++) {
                float want;
                same &= fscanf(f, "%a", &want) == 1 && memcmp(&want, &y[k], sizeof want) == 0;
            }
            CHECK_MSG(same, "%s: nn_forward differs from the old code's outputs", path);
            nn_free(&n);
            models++;
        }
    fclose(f);
    CHECK(models == 2);
}

/* ---- accepted variants ---- */

/* Layer l's Gemm as MatMul (+ Add, bias first when bias_first) or MatMul alone (bias = 0 then). */
static void gemm_to_matmul(Onnx__ModelProto *mp, int l, int add, int bias_first) {
    Onnx__GraphProto *g = mp->graph;
    char name[64], w[64], b[64], mm[64];
    snprintf(name, sizeof name, "/layers.%d/Gemm", l);
    snprintf(w, sizeof w, "layers.%d.weight", l);
    snprintf(b, sizeof b, "layers.%d.bias", l);
    snprintf(mm, sizeof mm, "layers.%d.mm", l);
    Onnx__NodeProto *n = node_named(g, name);
    init_transpose(init_named(g, w));
    str_set(&n->op_type, "MatMul");
    attrs_clear(n);
    free(n->input[2]);
    n->n_input = 2;
    if (!add) return;
    char *out = n->output[0];
    n->output[0] = strdup(mm);
    size_t pos = 0;
    while (g->node[pos] != n) pos++;
    char add_name[64];
    snprintf(add_name, sizeof add_name, "/layers.%d/Add", l);
    node_insert(g, pos + 1, node_new("Add", add_name, bias_first ? b : mm, bias_first ? mm : b, out));
    free(out);
}

static void var_matmul_add(Onnx__ModelProto *mp) {
    gemm_to_matmul(mp, 0, 1, 0);
    gemm_to_matmul(mp, 1, 1, 1);
    gemm_to_matmul(mp, 2, 1, 0);
}
static void var_transb0(Onnx__ModelProto *mp) {
    init_transpose(init_named(mp->graph, "layers.1.weight"));
    attr_set(node_named(mp->graph, "/layers.1/Gemm"), "transB", 0);
}
static void var_float_data(Onnx__ModelProto *mp) {
    Onnx__TensorProto *t = init_named(mp->graph, "layers.0.weight");
    size_t n = t->raw_data.len / 4;
    t->float_data = malloc(n * sizeof(float));
    memcpy(t->float_data, t->raw_data.data, n * 4);
    t->n_float_data = n;
    free(t->raw_data.data);
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
    t->has_raw_data = 0;
}
static void var_constant_bias(Onnx__ModelProto *mp) {
    Onnx__GraphProto *g = mp->graph;
    Onnx__TensorProto *t = init_named(g, "layers.2.bias");
    size_t k = 0;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i] != t) g->initializer[k++] = g->initializer[i];
    g->n_initializer = k;
    Onnx__NodeProto *c = node_new("Constant", "const_bias", "x", NULL, "layers.2.bias");
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
    node_insert(g, 0, c);
}
static void var_init_inputs(Onnx__ModelProto *mp) {
    Onnx__GraphProto *g = mp->graph;
    for (size_t i = 0; i < g->n_initializer; i++) {
        g->input = realloc(g->input, (g->n_input + 1) * sizeof *g->input);
        g->input[g->n_input++] = value_info_new(g->initializer[i]->name, 0);
    }
}
static void var_noops(Onnx__ModelProto *mp) {
    /* input -> Flatten -> Reshape[-1, 81] -> Identity -> Gemm ...; Dropout after the first Relu */
    Onnx__GraphProto *g = mp->graph;
    str_set(&node_named(g, "/layers.0/Gemm")->input[0], "id_out");
    init_append(g, shape_tensor_new("shape", -1, 81));
    node_insert(g, 0, node_new("Flatten", "flat", "input", NULL, "flat_out"));
    node_insert(g, 1, node_new("Reshape", "rs", "flat_out", "shape", "rs_out"));
    node_insert(g, 2, node_new("Identity", "ident", "rs_out", NULL, "id_out"));
    str_set(&node_named(g, "/layers.0/Relu")->output[0], "pre_drop");
    node_insert(g, g->n_node, node_new("Dropout", "drop", "pre_drop", NULL, "layers.0.out"));
}
static void var_opset9(Onnx__ModelProto *mp) {
    mp->opset_import[0]->version = 9;
    attrs_clear(node_named(mp->graph, "/layers.2/Softmax")); /* opset 9 default axis 1 */
}
static void var_opset21(Onnx__ModelProto *mp) {
    mp->opset_import[0]->version = 21;
    mp->ir_version = 10;
    attrs_clear(node_named(mp->graph, "/layers.2/Softmax")); /* default axis -1 */
}
static void var_domain(Onnx__ModelProto *mp) { str_set(&mp->opset_import[0]->domain, "ai.onnx"); }

static void test_accepts(void) {
    int h[2] = {12, 10};
    nn_arch a = arch_mlp(h, 2, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX);
    nn_net n, back;
    REQUIRE(net_make(&n, &a, 61));
    struct { void (*fn)(Onnx__ModelProto *); const char *name; } v[] = {
        {var_matmul_add, "MatMul+Add (both operand orders)"}, {var_transb0, "Gemm transB=0"},
        {var_float_data, "float_data"},                       {var_constant_bias, "Constant node bias"},
        {var_init_inputs, "initializers listed as inputs"},   {var_noops, "Flatten/Reshape/Identity/Dropout"},
        {var_opset9, "opset 9 Softmax without axis"},         {var_opset21, "opset 21 / IR 10"},
        {var_domain, "domain 'ai.onnx'"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        Onnx__ModelProto *mp = model_of(&n);
        REQUIRE(mp);
        v[i].fn(mp);
        const char *p = tmp("variant.onnx");
        model_save(mp, p);
        nrps_status st = model_load(mp, &back, NULL);
        CHECK_MSG(st == NRPS_OK, "%s: %s", v[i].name, nrps_last_error());
        if (st != NRPS_OK) continue;
        CHECK_MSG(nets_identical(&n, &back) && outputs_identical(&n, &back, 8), "%s: network differs", v[i].name);
        double d = ort_diff(p, &back, 8);
        CHECK_MSG(d <= 1e-5, "%s: ORT differs by %g", v[i].name, d);
        nn_free(&back);
    }
    nn_free(&n);
}

static void test_matmul_without_bias_and_alpha_beta(void) {
    int h[1] = {7};
    nn_arch a = arch_mlp(h, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX);
    nn_net n, back;
    REQUIRE(net_make(&n, &a, 62));
    Onnx__ModelProto *mp = model_of(&n);
    gemm_to_matmul(mp, 1, 0, 0); /* MatMul, no Add: the bias reads as zeros */
    const char *p = tmp("nobias.onnx");
    model_save(mp, p);
    REQUIRE(model_load(mp, &back, NULL) == NRPS_OK);
    for (int o = 0; o < 9; o++) CHECK(back.b[1][o] == 0.0f);
    CHECK(!memcmp(back.w[1], n.w[1], 9 * 7 * sizeof(float)) && !memcmp(back.w[0], n.w[0], 7 * 81 * sizeof(float)));
    CHECK(ort_diff(p, &back, 6) <= 1e-5);
    nn_free(&back);
    /* Gemm alpha/beta are folded into the weights */
    mp = model_of(&n);
    attr_add(node_named(mp->graph, "/layers.0/Gemm"), "alpha", 1, 0, 2.0f);
    attr_add(node_named(mp->graph, "/layers.0/Gemm"), "beta", 1, 0, 0.5f);
    p = tmp("ab.onnx");
    model_save(mp, p);
    REQUIRE(model_load(mp, &back, NULL) == NRPS_OK);
    CHECK(back.w[0][10] == 2.0f * n.w[0][10] && back.b[0][3] == 0.5f * n.b[0][3] && back.w[1][4] == n.w[1][4]);
    CHECK(ort_diff(p, &back, 6) <= 1e-5);
    nn_free(&back);
    nn_free(&n);
}

static void test_leaky_relu(void) {
    int h[2] = {16, 8};
    nn_arch a = arch_mlp(h, 2, NN_ACT_LEAKY_RELU, 0.3f, 1, NN_ACT_SIGMOID);
    nn_net n, back;
    REQUIRE(net_make(&n, &a, 63));
    Onnx__ModelProto *mp = model_of(&n);
    REQUIRE(mp);
    attrs_clear(node_named(mp->graph, "/layers.1/LeakyRelu")); /* ONNX's default alpha 0.01 */
    const char *p = tmp("leaky.onnx");
    model_save(mp, p);
    REQUIRE(model_load(mp, &back, NULL) == NRPS_OK);
    CHECK(back.arch.layer[0].act == NN_ACT_LEAKY_RELU && back.arch.layer[0].alpha == 0.3f);
    CHECK(back.arch.layer[1].act == NN_ACT_LEAKY_RELU && back.arch.layer[1].alpha == 0.01f);
    double d = ort_diff(p, &back, 32);
    printf("  leaky_relu(0.3, default 0.01): reference vs ONNX Runtime max |diff| %.3g\n", d);
    CHECK(d <= 1e-5);
    nn_free(&back);
    nn_free(&n);
}

/* ---- refusals ---- */

static void mut_conv(Onnx__ModelProto *mp) {
    str_set(&mp->graph->node[0]->op_type, "Conv");
    str_set(&mp->graph->node[0]->name, "conv1");
}
static void mut_two_inputs(Onnx__ModelProto *mp) {
    Onnx__GraphProto *g = mp->graph;
    g->input = realloc(g->input, (g->n_input + 1) * sizeof *g->input);
    g->input[g->n_input++] = value_info_new("x2", 0);
}
static void mut_int64_input(Onnx__ModelProto *mp) { mp->graph->input[0]->type->tensor_type->elem_type = 7; }
static void mut_softmax_axis0(Onnx__ModelProto *mp) { attr_set(node_named(mp->graph, "/layers.2/Softmax"), "axis", 0); }
static void mut_opset8(Onnx__ModelProto *mp) { mp->opset_import[0]->version = 8; }
static void mut_opset22(Onnx__ModelProto *mp) { mp->opset_import[0]->version = 22; }
static void mut_width(Onnx__ModelProto *mp) {
    init_replace(mp->graph, "layers.2.weight", tensor_new("layers.2.weight", 2, 9, 200, NULL));
}
static void mut_final_relu(Onnx__ModelProto *mp) {
    Onnx__NodeProto *s = node_named(mp->graph, "/layers.2/Softmax");
    str_set(&s->op_type, "Relu");
    attrs_clear(s);
}
static void mut_softmax_mid(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Relu")->op_type, "Softmax");
}
static void mut_two_acts(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Relu")->output[0], "t_in");
    node_insert(mp->graph, 2, node_new("Tanh", "extra_tanh", "t_in", NULL, "layers.0.out"));
}
static void mut_act_first(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Gemm")->input[0], "pre_out");
    node_insert(mp->graph, 0, node_new("Sigmoid", "pre", "input", NULL, "pre_out"));
}
static void mut_stray(Onnx__ModelProto *mp) {
    node_insert(mp->graph, mp->graph->n_node, node_new("Mul", "stray", "nowhere", NULL, "nothing"));
}
static void mut_branch(Onnx__ModelProto *mp) {
    node_insert(mp->graph, mp->graph->n_node, node_new("Relu", "side", "layers.0.out", NULL, "side_out"));
}
static void mut_transA(Onnx__ModelProto *mp) { attr_set(node_named(mp->graph, "/layers.0/Gemm"), "transA", 1); }
static void mut_var_weight(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Gemm")->input[1], "input");
}
static void mut_external(Onnx__ModelProto *mp) {
    Onnx__TensorProto *t = init_named(mp->graph, "layers.0.weight");
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}
static void mut_nan(Onnx__ModelProto *mp) {
    float nan = NAN;
    memcpy(init_named(mp->graph, "layers.2.bias")->raw_data.data + 4, &nan, 4);
}
static void mut_double(Onnx__ModelProto *mp) { init_named(mp->graph, "layers.0.weight")->data_type = 11; }
static void mut_short_raw(Onnx__ModelProto *mp) { init_named(mp->graph, "layers.0.bias")->raw_data.len -= 4; }
static void mut_out_width(Onnx__ModelProto *mp) {
    mp->graph->output[0]->type->tensor_type->shape->dim[1]->dim_value = 5;
}
static void mut_self_loop(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.1/Gemm")->input[0], "elsewhere");
    node_insert(mp->graph, 2, node_new("Identity", "loop", "layers.0.out", NULL, "layers.0.out"));
}
static void mut_cycle2(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.1/Gemm")->input[0], "elsewhere");
    node_insert(mp->graph, 2, node_new("Identity", "cyc_a", "layers.0.out", NULL, "cy"));
    node_insert(mp->graph, 3, node_new("Identity", "cyc_b", "cy", NULL, "layers.0.out"));
}
static void mut_add_input(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Gemm")->input[0], "add_out");
    node_insert(mp->graph, 0, node_new("Add", "add0", "input", "input", "add_out"));
}
static void mut_ghost_output(Onnx__ModelProto *mp) { output_add(mp->graph, "ghost"); }
static void mut_three_outputs(Onnx__ModelProto *mp) {
    output_add(mp->graph, "g1");
    output_add(mp->graph, "g2");
}
static void mut_dup_output(Onnx__ModelProto *mp) { output_add(mp->graph, "output"); }
static void mut_bad_reshape(Onnx__ModelProto *mp) {
    init_append(mp->graph, shape_tensor_new("shape", -1, 80));
    str_set(&node_named(mp->graph, "/layers.0/Gemm")->input[0], "rs_out");
    node_insert(mp->graph, 0, node_new("Reshape", "rs", "input", "shape", "rs_out"));
}
static void mut_flatten0(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Gemm")->input[0], "fl_out");
    Onnx__NodeProto *f = node_new("Flatten", "fl", "input", NULL, "fl_out");
    attr_add(f, "axis", 0, 0, 0);
    node_insert(mp->graph, 0, f);
}
static void mut_domain(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Relu")->domain, "com.microsoft");
}
static void mut_output_read(Onnx__ModelProto *mp) {
    node_insert(mp->graph, mp->graph->n_node, node_new("Relu", "after", "output", NULL, "after_out"));
}
static void mut_no_layers(Onnx__ModelProto *mp) {
    Onnx__GraphProto *g = mp->graph;
    for (size_t i = 0; i < g->n_node; i++) onnx__node_proto__free_unpacked(g->node[i], NULL);
    g->n_node = 0;
    node_insert(g, 0, node_new("Identity", "id", "input", NULL, "output"));
}

/* two-headed base: trunk 81-16 relu; policy 8 relu, 9 softmax; value 1 sigmoid (layers 0 | 1 2 | 3) */
static void mut_second_fork(Onnx__ModelProto *mp) {
    node_insert(mp->graph, mp->graph->n_node, node_new("Relu", "side2", "layers.1.out", NULL, "s2"));
}
static void mut_softmax_trunk(Onnx__ModelProto *mp) {
    str_set(&node_named(mp->graph, "/layers.0/Relu")->op_type, "Softmax");
}
static void mut_head_no_layer(Onnx__ModelProto *mp) {
    Onnx__NodeProto *g3 = node_named(mp->graph, "/layers.3/Gemm");
    str_set(&g3->op_type, "Identity");
    attrs_clear(g3);
}
static void mut_head_width(Onnx__ModelProto *mp) {
    init_replace(mp->graph, "layers.3.weight", tensor_new("layers.3.weight", 2, 1, 7, NULL));
}
static void mut_one_output(Onnx__ModelProto *mp) {
    onnx__value_info_proto__free_unpacked(mp->graph->output[1], NULL);
    mp->graph->n_output = 1;
}

typedef struct {
    int two_heads;
    void (*fn)(Onnx__ModelProto *);
    nrps_status st;
    const char *msg;
} refusal;

static const refusal refusals[] = {
    {0, mut_conv, NRPS_ERR_UNSUPPORTED,
     "unsupported operator 'Conv' (node 'conv1') on the path from the input (supported: Gemm"},
    {0, mut_two_inputs, NRPS_ERR_UNSUPPORTED, "two graph inputs ('input' and 'x2')"},
    {0, mut_int64_input, NRPS_ERR_UNSUPPORTED, "input 'input' has element type int64, expected float32"},
    {0, mut_softmax_axis0, NRPS_ERR_UNSUPPORTED,
     "Softmax over axis 0 (node '/layers.2/Softmax'): supported are axis 1 and -1"},
    {0, mut_opset8, NRPS_ERR_UNSUPPORTED, "opset 8 is not supported (supported: 9-21)"},
    {0, mut_opset22, NRPS_ERR_UNSUPPORTED, "opset 22 is not supported (supported: 9-21)"},
    {0, mut_width, NRPS_ERR_UNSUPPORTED,
     "layer 3 (node '/layers.2/Gemm'): input width 200 does not match layer 2's output 10"},
    {0, mut_final_relu, NRPS_ERR_UNSUPPORTED,
     "layer 3 (node '/layers.2/Gemm'): Relu before graph output 'output' (supported after a head's last layer: "
     "Softmax"},
    {0, mut_softmax_mid, NRPS_ERR_UNSUPPORTED,
     "layer 1 (node '/layers.0/Gemm'): Softmax is supported only after a head's last layer, not before layer 2"},
    {0, mut_two_acts, NRPS_ERR_UNSUPPORTED,
     "layer 1 (node '/layers.0/Gemm'): a second activation Tanh (node 'extra_tanh')"},
    {0, mut_act_first, NRPS_ERR_UNSUPPORTED,
     "Sigmoid (node 'pre') comes before any linear layer: expected a Gemm or MatMul first"},
    {0, mut_stray, NRPS_ERR_UNSUPPORTED,
     "operator 'Mul' (node 'stray') is not on the path from the input to the output(s)"},
    {0, mut_branch, NRPS_ERR_UNSUPPORTED,
     "value 'layers.0.out' is read by 2 nodes (node '/layers.1/Gemm' and node 'side') in a graph with 1 output (supported"},
    {0, mut_transA, NRPS_ERR_UNSUPPORTED, "layer 1 (node '/layers.0/Gemm'): Gemm with transA=1 is not supported"},
    {0, mut_var_weight, NRPS_ERR_UNSUPPORTED, "layer 1 (node '/layers.0/Gemm'): Gemm weight 'input' is not a constant"},
    {0, mut_external, NRPS_ERR_UNSUPPORTED, "tensor 'layers.0.weight' uses external data, which is not supported"},
    {0, mut_nan, NRPS_ERR_FORMAT, "tensor 'layers.2.bias' contains NaN/Inf (element 1)"},
    {0, mut_double, NRPS_ERR_UNSUPPORTED, "tensor 'layers.0.weight' has element type double, expected float32"},
    {0, mut_short_raw, NRPS_ERR_FORMAT, "tensor 'layers.0.bias' has 44 bytes of raw data, expected 48"},
    {0, mut_out_width, NRPS_ERR_UNSUPPORTED, "output 'output' declares 5 features but its head's last layer has 9"},
    {0, mut_self_loop, NRPS_ERR_FORMAT,
     "node 'loop' is reached a second time through 'layers.0.out': the graph has a cycle"},
    {0, mut_cycle2, NRPS_ERR_FORMAT,
     "node 'cyc_a' is reached a second time through 'layers.0.out': the graph has a cycle"},
    {0, mut_add_input, NRPS_ERR_UNSUPPORTED,
     "unsupported operator 'Add' (node 'add0') on the path from the input (supported: Add only as a MatMul's bias)"},
    {0, mut_ghost_output, NRPS_ERR_UNSUPPORTED, "the path from input 'input' reaches only graph output 'output' of 2"},
    {0, mut_three_outputs, NRPS_ERR_UNSUPPORTED, "the graph has 3 outputs (supported: one, or two heads)"},
    {0, mut_dup_output, NRPS_ERR_FORMAT, "two graph outputs are named 'output'"},
    {0, mut_bad_reshape, NRPS_ERR_UNSUPPORTED, "Reshape (node 'rs') is not a no-op reshape to [batch, 81]"},
    {0, mut_flatten0, NRPS_ERR_UNSUPPORTED, "Flatten with axis 0 (node 'fl')"},
    {0, mut_domain, NRPS_ERR_UNSUPPORTED,
     "unsupported operator 'Relu' from domain 'com.microsoft' (node '/layers.0/Relu')"},
    {0, mut_output_read, NRPS_ERR_UNSUPPORTED, "graph output 'output' is also read by node 'after'"},
    {0, mut_no_layers, NRPS_ERR_UNSUPPORTED,
     "no Gemm or MatMul between input 'input' and output 'output' (supported: 1 to 16 dense layers)"},
    {1, mut_second_fork, NRPS_ERR_UNSUPPORTED,
     "a second fork at value 'layers.1.out' (supported: one fork, after the shared trunk)"},
    {1, mut_softmax_trunk, NRPS_ERR_UNSUPPORTED,
     "layer 1 (node '/layers.0/Gemm'): Softmax/LogSoftmax before the fork into two heads"},
    {1, mut_head_no_layer, NRPS_ERR_UNSUPPORTED,
     "Sigmoid (node '/layers.3/Sigmoid') comes before the head's first linear layer: expected a Gemm or MatMul first"},
    {1, mut_head_width, NRPS_ERR_UNSUPPORTED,
     "layer 4 (node '/layers.3/Gemm'): input width 7 does not match layer 1's output 16"},
    {1, mut_one_output, NRPS_ERR_UNSUPPORTED, "value 'layers.0.out' is read by 2 nodes"},
};

static void test_refusals(void) {
    int h[2] = {12, 10}, t1[1] = {16}, p1[1] = {8};
    nn_arch a = arch_mlp(h, 2, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX);
    nn_arch b = nn_arch_two_heads(81, t1, 1, p1, 1, NULL, 0, NN_ACT_RELU, 0);
    nn_net base[2];
    REQUIRE(net_make(&base[0], &a, 71) && net_make(&base[1], &b, 72));
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const refusal *c = &refusals[i];
        Onnx__ModelProto *mp = model_of(&base[c->two_heads]);
        REQUIRE(mp);
        c->fn(mp);
        nn_net out;
        nrps_set_error("%s", "");
        nrps_status st = model_load(mp, &out, NULL);
        const char *e = nrps_last_error();
        CHECK_MSG(st == c->st && strstr(e, c->msg) && !strncmp(e, "m.onnx: ", 8) && !strchr(e, '\n') &&
                      out.params == NULL && out.arch.n_layers == 0,
                  "case %zu: status %d, message '%s', wanted %d '%s'", i, st, e, c->st, c->msg);
    }
    nn_free(&base[0]);
    nn_free(&base[1]);
}

/* A value head with no layer of its own (the policy head is one Gemm + Softmax). */
static void test_refusals_heads(void) {
    int t1[1] = {16};
    nn_arch b = nn_arch_two_heads(81, t1, 1, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    nn_net n, out;
    REQUIRE(net_make(&n, &b, 73));
    Onnx__ModelProto *mp = model_of(&n);
    Onnx__NodeProto *g2 = node_named(mp->graph, "/layers.2/Gemm"), *s2 = node_named(mp->graph, "/layers.2/Sigmoid");
    str_set(&g2->op_type, "Identity");
    attrs_clear(g2);
    str_set(&s2->op_type, "Identity");
    CHECK_MSG(model_load(mp, &out, NULL) == NRPS_ERR_UNSUPPORTED &&
                  strstr(nrps_last_error(), "m.onnx: graph output 'value' has no linear layer of its own"),
              "%s", nrps_last_error());
    nn_free(&n);
}

/* 17 linear layers: one more than the family has. */
static void test_too_many_layers(void) {
    int h[15] = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
    nn_arch a = nn_arch_mlp(81, h, 15, NN_ACT_RELU, 0, 4, NN_ACT_NONE, NN_HEAD_OTHER);
    nn_net n, out;
    REQUIRE(net_make(&n, &a, 74));
    Onnx__ModelProto *mp = model_of(&n);
    REQUIRE(mp);
    Onnx__GraphProto *g = mp->graph;
    str_set(&node_named(g, "/layers.15/Gemm")->output[0], "l16");
    init_append(g, tensor_new("extra.weight", 2, 4, 4, NULL));
    node_insert(g, g->n_node, node_new("Gemm", "extra", "l16", "extra.weight", "output"));
    CHECK(model_load(mp, &out, NULL) == NRPS_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(nrps_last_error(),
                     "m.onnx: layer 17 (node 'extra'): more than 16 linear layers (supported: 1 to 16)"),
              "%s", nrps_last_error());
    /* 16 layers are fine */
    mp = model_of(&n);
    CHECK(model_load(mp, &out, NULL) == NRPS_OK && out.arch.n_layers == 16);
    nn_free(&out);
    nn_free(&n);
}

/* 60,000 Identity nodes around one Gemm: linear time. */
static void test_long_chain(void) {
    nn_arch a = arch_mlp(NULL, 0, NN_ACT_NONE, 0, 9, NN_ACT_SOFTMAX);
    nn_net n, out;
    REQUIRE(net_make(&n, &a, 75));
    Onnx__ModelProto *mp = model_of(&n);
    REQUIRE(mp);
    Onnx__GraphProto *g = mp->graph;
    enum { N = 60000 };
    Onnx__NodeProto **nodes = malloc((N + g->n_node) * sizeof *nodes);
    char in[32], out_name[32];
    for (int i = 0; i < N; i++) {
        snprintf(in, sizeof in, i ? "id%d" : "input", i - 1);
        snprintf(out_name, sizeof out_name, i == N - 1 ? "chain_end" : "id%d", i);
        nodes[i] = node_new("Identity", "", in, NULL, out_name); /* unnamed: messages use the index */
    }
    for (size_t i = 0; i < g->n_node; i++) nodes[N + i] = g->node[i];
    free(g->node);
    g->node = nodes;
    g->n_node += N;
    str_set(&node_named(g, "/layers.0/Gemm")->input[0], "chain_end");
    size_t len = onnx__model_proto__get_packed_size(mp);
    uint8_t *d = malloc(len);
    onnx__model_proto__pack(mp, d);
    double t0 = nrps_now_s();
    nrps_status st = onnx_net_load_buffer("chain.onnx", d, len, &out, NULL);
    double t = nrps_now_s() - t0;
    printf("  %d-node graph (%zu bytes) read in %.3f s\n", N + 2, len, t);
    CHECK_MSG(st == NRPS_OK, "%s", nrps_last_error());
    CHECK(st != NRPS_OK || nets_identical(&n, &out));
    CHECK(t < 1.0);
    nn_free(&out);
    /* the same graph with the chain closed into a loop fails at once, in one line */
    str_set(&g->node[N / 2]->output[0], "id100");
    onnx__model_proto__pack(mp, d);
    len = onnx__model_proto__get_packed_size(mp);
    t0 = nrps_now_s();
    st = onnx_net_load_buffer("chain.onnx", d, len, &out, NULL);
    t = nrps_now_s() - t0;
    CHECK_MSG(st == NRPS_ERR_FORMAT && strstr(nrps_last_error(), "the graph has a cycle") &&
                  strstr(nrps_last_error(), "chain.onnx: node 101 (Identity) is reached a second time"),
              "%s", nrps_last_error());
    CHECK(t < 1.0);
    free(d);
    onnx__model_proto__free_unpacked(mp, NULL);
    nn_free(&n);
}

static void test_corrupt_bytes(void) {
    nn_net out;
    CHECK(onnx_net_load_buffer("e.onnx", "", 0, &out, NULL) == NRPS_ERR_FORMAT &&
          strstr(nrps_last_error(), "e.onnx: empty file"));
    CHECK(onnx_net_load_buffer("g.onnx", "hello, not a protobuf\n", 22, &out, NULL) != NRPS_OK &&
          !strncmp(nrps_last_error(), "g.onnx: ", 8));
    CHECK(onnx_net_load(tmp("missing.onnx"), &out, NULL) == NRPS_ERR_IO && out.params == NULL);
    int h[1] = {16};
    nn_arch a = arch_mlp(h, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX);
    nn_net n;
    REQUIRE(net_make(&n, &a, 76));
    uint8_t *d = NULL;
    size_t len = 0;
    REQUIRE(onnx_net_save_buffer(&n, NULL, &d, &len) == NRPS_OK);
    /* every cut before the metadata tail is refused cleanly (protobuf has no framing: a cut between two metadata
     * entries is a valid, shorter model) */
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, d);
    size_t n_meta = mp->n_metadata_props;
    mp->n_metadata_props = 0;
    size_t core = onnx__model_proto__get_packed_size(mp);
    mp->n_metadata_props = n_meta;
    onnx__model_proto__free_unpacked(mp, NULL);
    int accepted = 0;
    for (size_t cut = 0; cut < core; cut += cut < 64 || cut > core - 64 ? 1 : 97)
        if (onnx_net_load_buffer("t.onnx", d, cut, &out, NULL) == NRPS_OK) {
            accepted++;
            nn_free(&out);
        } else {
            CHECK(!strncmp(nrps_last_error(), "t.onnx: ", 8) && !strchr(nrps_last_error(), '\n'));
        }
    CHECK_MSG(accepted == 0, "%d truncated files accepted", accepted);
    free(d);
    nn_free(&n);
}

/* ---- writer refusals, identity, Go import ---- */

static void test_save_refuses(void) {
    int h[1] = {4};
    nn_arch a = arch_mlp(h, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX);
    nn_net n;
    REQUIRE(net_make(&n, &a, 81));
    n.b[0][2] = NAN;
    const char *p = tmp("nan.onnx");
    CHECK(onnx_net_save(p, &n, NULL) == NRPS_ERR_ARG && access(p, F_OK) != 0);
    CHECK(strstr(nrps_last_error(), "nan.onnx: ONNX writer: refusing to write: layer 1's parameters contain NaN/Inf"));
    n.b[0][2] = 0;
    CHECK(onnx_net_save("/nonexistent_dir/x.onnx", &n, NULL) == NRPS_ERR_IO);
    n.arch.layer[1].act = NN_ACT_RELU;
    CHECK(onnx_net_save(p, &n, NULL) == NRPS_ERR_ARG && strstr(nrps_last_error(), "head 'output' ends in relu"));
    n.arch.layer[1].act = NN_ACT_SOFTMAX;
    snprintf(n.arch.head[0].name, NN_NAME_LEN, "layers.1.out");
    CHECK(onnx_net_save(p, &n, NULL) == NRPS_ERR_ARG && strstr(nrps_last_error(), "clashes"));
    snprintf(n.arch.head[0].name, NN_NAME_LEN, "input");
    CHECK(onnx_net_save(p, &n, NULL) == NRPS_ERR_ARG && strstr(nrps_last_error(), "clashes"));
    CHECK(access(p, F_OK) != 0);
    nn_net empty = {0};
    uint8_t *d = NULL;
    size_t len = 0;
    CHECK(onnx_net_save_buffer(&empty, NULL, &d, &len) == NRPS_ERR_ARG && d == NULL);
    nn_free(&n);
}

static void test_identity_buffer(void) {
    uint8_t *d = NULL;
    size_t len = 0;
    REQUIRE(onnx_identity_buffer(81, &d, &len) == NRPS_OK);
    const char *p = tmp("id.onnx");
    REQUIRE(nrps_write_file_atomic(p, d, len) == NRPS_OK);
    float x[3 * 81], y[3 * 81];
    positions(x, 3, 81, 1);
    const char *names[1] = {"output"};
    int width[1] = {81};
    float *ys[1] = {y};
    REQUIRE(onnx_ort_eval_outputs(p, x, 3, 81, 1, names, width, ys) == NRPS_OK);
    CHECK(!memcmp(x, y, sizeof x));
    nn_net out;
    CHECK(onnx_net_load_buffer("id.onnx", d, len, &out, NULL) == NRPS_ERR_UNSUPPORTED &&
          strstr(nrps_last_error(), "no Gemm or MatMul"));
    free(d);
    CHECK(onnx_identity_buffer(0, &d, &len) == NRPS_ERR_ARG && d == NULL);
}

/* Every weight of the .model JSON at path (read here with cJSON, independently of the importer) as float equals
 * n's: weightsInputHidden[H][81], biasesHidden[H], weightsHiddenOutput[out][H], biasesOutput[9] / biasOutput. */
static int go_weights_equal(const char *path, const nn_net *n, int is_value) {
    char *data = NULL;
    size_t len = 0;
    if (nrps_read_file(path, 1 << 24, &data, &len) != NRPS_OK) return 0;
    cJSON *o = cJSON_Parse(data);
    free(data);
    if (!o) return 0;
    const char *keys[3] = {"weightsInputHidden", "biasesHidden", "weightsHiddenOutput"};
    const float *dst[3] = {n->w[0], n->b[0], n->w[1]};
    int ok = 1;
    for (int k = 0; k < 3; k++) {
        size_t i = 0;
        const cJSON *row, *v, *arr = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
        cJSON_ArrayForEach(row, arr) {
            if (cJSON_IsNumber(row)) ok &= (float)row->valuedouble == dst[k][i++];
            else cJSON_ArrayForEach(v, row) ok &= (float)v->valuedouble == dst[k][i++];
        }
        ok &= i > 0;
    }
    const cJSON *bo = cJSON_GetObjectItemCaseSensitive(o, is_value ? "biasOutput" : "biasesOutput");
    if (is_value) ok &= cJSON_IsNumber(bo) && (float)bo->valuedouble == n->b[1][0];
    else {
        size_t i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, bo) ok &= (float)v->valuedouble == n->b[1][i++];
        ok &= i == 9;
    }
    cJSON_Delete(o);
    return ok;
}

static void test_go_import(void) {
    const char *kinds[2] = {"policy", "value"};
    for (int k = 0; k < 2; k++) {
        char path[128];
        snprintf(path, sizeof path, "tests/fixtures/rps_h64_g100_e1_%s.model", kinds[k]);
        if (access(path, R_OK) != 0) SKIP("tests/fixtures not found (run from the repository root)");
        nn_net n, n2;
        REQUIRE(onnx_net_import_go(path, NULL, &n) == NRPS_OK);
        CHECK(n.arch.n_layers == 2 && n.arch.layer[0].out == 64 &&
              n.arch.head[0].kind == (k ? NN_HEAD_VALUE : NN_HEAD_POLICY));
        CHECK(nn_head_act(&n.arch, 0) == (k ? NN_ACT_SIGMOID : NN_ACT_SOFTMAX) &&
              !strcmp(n.arch.head[0].name, "output"));
        CHECK_MSG(go_weights_equal(path, &n, k), "%s: weights differ from the JSON", path);
        CHECK(onnx_net_import_go(path, kinds[k], &n2) == NRPS_OK && nets_identical(&n, &n2));
        nn_free(&n2);
        /* and through our writer and reader */
        const char *p = tmp("go.onnx");
        REQUIRE(onnx_net_save(p, &n, NULL) == NRPS_OK);
        REQUIRE(onnx_net_load(p, &n2, NULL) == NRPS_OK);
        CHECK(nets_identical(&n, &n2));
        nn_free(&n2);
        nn_free(&n);
    }
    struct { const char *json, *kind; nrps_status st; const char *msg; } bad[] = {
        {"{}", NULL, NRPS_ERR_FORMAT, "x.model: cannot tell policy from value (neither"},
        {"{\"biasOutput\": 1, \"extra\": 2}", NULL, NRPS_ERR_FORMAT,
         "x.model: unexpected key 'extra' in a value model"},
        {"{\"biasOutput\": 1, \"biasOutput\": 2}", NULL, NRPS_ERR_FORMAT, "x.model: duplicate key \"biasOutput\""},
        {"{\"biasOutput\": 1, \"hiddenSize\": 2, \"inputSize\": 80}", NULL, NRPS_ERR_FORMAT,
         "x.model: key 'inputSize': expected an integer in [81, 81]"},
        {"{\"biasOutput\": 1, \"hiddenSize\": 2, \"inputSize\": 81, \"biasesHidden\": [1]}", NULL, NRPS_ERR_FORMAT,
         "x.model: key 'biasesHidden': has 1 entry, expected 2"},
        {"[1, 2]", NULL, NRPS_ERR_FORMAT, "x.model: expected a JSON object"},
        {"{\"a\": ", NULL, NRPS_ERR_FORMAT, "x.model: malformed JSON near byte"},
        {"{}", "both", NRPS_ERR_ARG, "x.model: kind must be 'policy' or 'value', got 'both'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_net n;
        nrps_status st = onnx_net_import_go_buffer("x.model", bad[i].json, strlen(bad[i].json), bad[i].kind, &n);
        CHECK_MSG(st == bad[i].st && strstr(nrps_last_error(), bad[i].msg) && n.params == NULL,
                  "case %zu: status %d, '%s'", i, st, nrps_last_error());
    }
    nn_net n;
    CHECK(onnx_net_import_go(tmp("missing.model"), NULL, &n) == NRPS_ERR_IO);
}

/* ---- helper mode: --write-samples DIR ---- */

/* Writes a few nets of the family with random weights into dir (for onnx.checker in test_onnx_torch.py). */
static int write_samples(const char *dir) {
    int t[2] = {32, 16}, p1[1] = {16}, h3[2] = {24, 12};
    nn_arch a[4] = {nn_arch_two_heads(81, t, 2, p1, 1, NULL, 0, NN_ACT_RELU, 0),
                    nn_arch_two_heads(81, NULL, 0, NULL, 0, p1, 1, NN_ACT_TANH, 0),
                    arch_mlp(h3, 2, NN_ACT_LEAKY_RELU, 0.1f, 9, NN_ACT_LOGSOFTMAX),
                    arch_mlp(NULL, 0, NN_ACT_NONE, 0, 1, NN_ACT_TANH)};
    const char *names[4] = {"two_heads.onnx", "two_heads_no_trunk.onnx", "leaky_3_layers.onnx", "one_layer.onnx"};
    for (int i = 0; i < 4; i++) {
        nn_net n;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        onnx_net_info info;
        onnx_net_info_default(&info);
        snprintf(info.input_encoding, sizeof info.input_encoding, "board");
        if (!net_make(&n, &a[i], 90 + (uint64_t)i) || onnx_net_save(path, &n, &info) != NRPS_OK) {
            fprintf(stderr, "%s\n", nrps_last_error());
            nn_free(&n);
            return 1;
        }
        printf("%s\n", path);
        nn_free(&n);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-samples")) return write_samples(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-samples DIR]\n", argv[0]);
        return 2;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nrps_test_onnx_net.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip_depths);
    RUN(test_round_trip_two_heads);
    RUN(test_head_kinds);
    RUN(test_one_head_kinds);
    RUN(test_default_models_bit_identical_to_the_old_code);
    RUN(test_accepts);
    RUN(test_matmul_without_bias_and_alpha_beta);
    RUN(test_leaky_relu);
    RUN(test_refusals);
    RUN(test_refusals_heads);
    RUN(test_too_many_layers);
    RUN(test_long_chain);
    RUN(test_corrupt_bytes);
    RUN(test_save_refuses);
    RUN(test_identity_buffer);
    RUN(test_go_import);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("onnx_net");
}
