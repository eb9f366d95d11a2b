/* test_net.c - the layer-list network (src/nn/net.h) and its math ops (src/nn/nn_ops.h): architecture checks,
 * parameter layout, hand-computed forwards for one-head, deep and two-headed nets, the activations, the one
 * softmax and the output -> probability conversions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/net.h"
#include "nn/nn_ops.h"

static void test_arch_mlp_and_layout(void) {
    int hidden[2] = {4, 3};
    nn_arch a = nn_arch_mlp(5, hidden, 2, NN_ACT_RELU, 0, 2, NN_ACT_SOFTMAX, NN_HEAD_OTHER);
    REQUIRE(nn_arch_check(&a, "t") == NRPS_OK);
    CHECK(a.n_layers == 3 && a.trunk == 0 && a.n_heads == 1 && a.head[0].count == 3);
    CHECK(nn_layer_in(&a, 0) == 5 && nn_layer_in(&a, 1) == 4 && nn_layer_in(&a, 2) == 3);
    CHECK(nn_arch_param_count(&a) == (size_t)(4 * 6 + 3 * 5 + 2 * 4));
    CHECK(nn_layer_offset(&a, 1) == 24 && nn_layer_offset(&a, 2) == 39);
    CHECK(nn_head_width(&a, 0) == 2 && nn_head_act(&a, 0) == NN_ACT_SOFTMAX);
    char d[64];
    nn_arch_describe(&a, d, sizeof d);
    CHECK(!strcmp(d, "5-4-3-2"));
    nn_net n;
    REQUIRE(nn_init(&n, &a) == NRPS_OK);
    CHECK(n.w[0] == n.params && n.b[0] == n.params + 20 && n.w[1] == n.params + 24 && n.b[2] == n.params + 45);
    nn_free(&n);
    nn_free(&n); /* twice is fine */
}

static void test_arch_two_heads(void) {
    int trunk[1] = {6}, pol[1] = {4};
    nn_arch a = nn_arch_two_heads(81, trunk, 1, pol, 1, NULL, 0, NN_ACT_RELU, 0);
    REQUIRE(nn_arch_check(&a, "t") == NRPS_OK);
    CHECK(a.trunk == 1 && a.n_layers == 4 && a.head[0].first == 1 && a.head[0].count == 2 && a.head[1].first == 3);
    CHECK(nn_layer_in(&a, 1) == 6 && nn_layer_in(&a, 2) == 4 && nn_layer_in(&a, 3) == 6);
    CHECK(nn_head_find(&a, NN_HEAD_VALUE) == 1 && nn_head_find(&a, NN_HEAD_POLICY) == 0);
    CHECK(nn_head_width(&a, 0) == 9 && nn_head_width(&a, 1) == 1 && nn_head_act(&a, 1) == NN_ACT_SIGMOID);
    char d[64];
    nn_arch_describe(&a, d, sizeof d);
    CHECK_MSG(!strcmp(d, "81-6 -> policy:4-9 | value:1"), "%s", d);
    char tiny[6];
    nn_arch_describe(&a, tiny, sizeof tiny);
    CHECK(strlen(tiny) == 5);
}

static void test_arch_check_refuses(void) {
    int hidden[1] = {4};
    nn_arch a = nn_arch_mlp(5, hidden, 1, NN_ACT_SOFTMAX, 0, 2, NN_ACT_NONE, NN_HEAD_OTHER);
    CHECK(nn_arch_check(&a, "f.onnx") == NRPS_ERR_ARG && strstr(nrps_last_error(), "f.onnx: layer 1 ends in softmax"));
    a = nn_arch_mlp(5, hidden, 1, NN_ACT_RELU, 0, 0, NN_ACT_NONE, NN_HEAD_OTHER);
    CHECK(nn_arch_check(&a, "f") == NRPS_ERR_ARG && strstr(nrps_last_error(), "layer 2 has output width 0"));
    int many[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    a = nn_arch_mlp(5, many, 16, NN_ACT_RELU, 0, 2, NN_ACT_NONE, NN_HEAD_OTHER);
    CHECK(nn_arch_check(&a, "f") == NRPS_ERR_ARG && strstr(nrps_last_error(), "layers (supported: 1 to 16)"));
    a = nn_arch_mlp(5, many, 15, NN_ACT_RELU, 0, 2, NN_ACT_NONE, NN_HEAD_OTHER);
    CHECK(nn_arch_check(&a, "f") == NRPS_OK);
    int t[1] = {3};
    a = nn_arch_two_heads(5, t, 1, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    CHECK(nn_arch_check(&a, "f") == NRPS_OK);
    snprintf(a.head[1].name, sizeof a.head[1].name, "policy");
    CHECK(nn_arch_check(&a, "f") == NRPS_ERR_ARG && strstr(nrps_last_error(), "both heads are named 'policy'"));
    a = nn_arch_two_heads(5, t, 1, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    a.head[1].first = 1;
    CHECK(nn_arch_check(&a, "f") == NRPS_ERR_ARG);
    nn_net n;
    CHECK(nn_init(&n, &a) == NRPS_ERR_ARG && n.params == NULL);
}

/* 2 -> 2 -> out: W1 = [[1, -1], [0.5, 2]], b1 = [0, -1]; W2 rows [1, 0], [0, -1], b2 = [0.5, 0.25]. */
static void tiny_net(nn_net *n, nn_act ha, nn_act oa, int out) {
    int hidden[1] = {2};
    nn_arch a = nn_arch_mlp(2, hidden, 1, ha, 0.1f, out, oa, NN_HEAD_OTHER);
    nn_init(n, &a);
    float w1[4] = {1, -1, 0.5f, 2}, b1[2] = {0, -1}, w2[4] = {1, 0, 0, -1}, b2[2] = {0.5f, 0.25f};
    memcpy(n->w[0], w1, sizeof w1);
    memcpy(n->b[0], b1, sizeof b1);
    memcpy(n->w[1], w2, (size_t)out * 2 * sizeof(float));
    memcpy(n->b[1], b2, (size_t)out * sizeof(float));
}

static void test_forward_hand(void) {
    nn_net n;
    float x[2] = {1, 2}, y[2];
    float *ys[1] = {y};
    /* a = [-1, 3.5]; relu -> [0, 3.5]; z = [0.5, -3.25]. */
    tiny_net(&n, NN_ACT_RELU, NN_ACT_SOFTMAX, 2);
    REQUIRE(nn_forward(&n, x, 1, ys, NULL) == NRPS_OK);
    CHECK_NEAR(y[0], 1.0 / (1.0 + exp(-3.75)), 1e-7);
    CHECK_NEAR(y[1], 1.0 / (1.0 + exp(3.75)), 1e-7);
    n.arch.layer[1].act = NN_ACT_LOGSOFTMAX;
    nn_forward(&n, x, 1, ys, NULL);
    CHECK_NEAR(y[1], -3.75 - log1p(exp(-3.75)), 1e-6);
    n.arch.layer[0].act = NN_ACT_LEAKY_RELU;
    n.arch.layer[0].alpha = 0.1f;
    n.arch.layer[1].act = NN_ACT_NONE;
    nn_forward(&n, x, 1, ys, NULL);
    CHECK_NEAR(y[0], 0.5 - 0.1, 1e-7); /* leaky(-1) = -0.1 */
    CHECK_NEAR(y[1], -3.25, 1e-7);
    nn_free(&n);
}

/* A deep one-head net and a two-headed net against a direct double-precision evaluation. */
static void direct_layers(const nn_net *n, int first, int count, const double *x, double *y) {
    double cur[64], nxt[64];
    int w = nn_layer_in(&n->arch, first);
    memcpy(cur, x, sizeof(double) * (size_t)w);
    for (int l = first; l < first + count; l++) {
        const nn_layer_spec *s = &n->arch.layer[l];
        for (int o = 0; o < s->out; o++) {
            double z = n->b[l][o];
            for (int i = 0; i < w; i++) z += (double)n->w[l][(size_t)o * w + i] * cur[i];
            nxt[o] = s->act == NN_ACT_RELU ? (z > 0 ? z : 0) : s->act == NN_ACT_TANH ? tanh(z)
                   : s->act == NN_ACT_SIGMOID ? 1 / (1 + exp(-z)) : z;
        }
        if (s->act == NN_ACT_SOFTMAX) {
            double sum = 0;
            for (int o = 0; o < s->out; o++) sum += exp(nxt[o]);
            for (int o = 0; o < s->out; o++) nxt[o] = exp(nxt[o]) / sum;
        }
        w = s->out;
        memcpy(cur, nxt, sizeof(double) * (size_t)w);
    }
    memcpy(y, cur, sizeof(double) * (size_t)w);
}

static void test_forward_deep_and_two_heads(void) {
    nrps_rng rng;
    nrps_rng_seed(&rng, 7);
    int hidden[4] = {7, 5, 6, 3};
    nn_arch archs[2] = {nn_arch_mlp(6, hidden, 4, NN_ACT_TANH, 0, 4, NN_ACT_SOFTMAX, NN_HEAD_OTHER),
                        nn_arch_two_heads(6, hidden, 2, hidden + 2, 2, hidden + 3, 1, NN_ACT_RELU, 0)};
    for (int k = 0; k < 2; k++) {
        nn_net n;
        REQUIRE(nn_init(&n, &archs[k]) == NRPS_OK);
        nn_init_random(&n, &rng);
        enum { B = 5 };
        float x[B * 6], y0[B * 9], y1[B * 9];
        float *ys[2] = {y0, y1};
        for (int i = 0; i < B * 6; i++) x[i] = (float)(2 * nrps_rng_uniform(&rng) - 1);
        float *scratch = malloc(nn_forward_scratch(&n.arch, B) * sizeof(float));
        REQUIRE(nn_forward(&n, x, B, ys, scratch) == NRPS_OK);
        for (int b = 0; b < B; b++) {
            double xd[6], t[64], out[64];
            for (int i = 0; i < 6; i++) xd[i] = x[b * 6 + i];
            const double *hin = xd;
            if (n.arch.trunk) {
                direct_layers(&n, 0, n.arch.trunk, xd, t);
                hin = t;
            }
            for (int h = 0; h < n.arch.n_heads; h++) {
                direct_layers(&n, n.arch.head[h].first, n.arch.head[h].count, hin, out);
                int w = nn_head_width(&n.arch, h);
                for (int o = 0; o < w; o++) CHECK_NEAR(ys[h][b * w + o], out[o], 1e-5);
            }
        }
        free(scratch);
        nn_free(&n);
    }
}

static void test_init_random_matches_two_layer_stream(void) {
    /* Layer-by-layer W then b: for 2 layers the draws go w1, b1, w2, b2 as the old MLP drew them. */
    int hidden[1] = {3};
    nn_arch a = nn_arch_mlp(4, hidden, 1, NN_ACT_RELU, 0, 2, NN_ACT_NONE, NN_HEAD_OTHER);
    nn_net n;
    REQUIRE(nn_init(&n, &a) == NRPS_OK);
    nrps_rng r1, r2;
    nrps_rng_seed(&r1, 3);
    nrps_rng_seed(&r2, 3);
    nn_init_random(&n, &r1);
    for (size_t i = 0; i < 12; i++) CHECK(n.params[i] == (float)((2.0 * nrps_rng_uniform(&r2) - 1.0) * 0.5));
    for (size_t i = 12; i < 15; i++) CHECK(n.params[i] == (float)((2.0 * nrps_rng_uniform(&r2) - 1.0) * 0.5));
    CHECK(fabs(n.params[15]) <= 1 / sqrt(3.0));
    int bad = -1;
    CHECK(nn_params_finite(&n, &bad));
    n.b[1][1] = NAN;
    CHECK(!nn_params_finite(&n, &bad) && bad == 1);
    nn_net c;
    REQUIRE(nn_copy(&c, &n) == NRPS_OK);
    CHECK(c.params != n.params && nn_arch_equal(&c.arch, &n.arch) && c.w[1] == c.params + 15);
    c.arch.layer[0].alpha = 0.5f;
    CHECK(!nn_arch_equal(&c.arch, &n.arch));
    nn_free(&c);
    nn_free(&n);
}

static void test_ops(void) {
    CHECK_NEAR(nn_sigmoid(-1000), 0, 0);
    CHECK_NEAR(nn_sigmoid(1000), 1, 0);
    CHECK_NEAR(nn_act_elem(NN_ACT_LEAKY_RELU, 0.2f, -2), -0.4, 1e-7);
    CHECK_NEAR(nn_act_deriv(NN_ACT_LEAKY_RELU, 0.2f, -2, -0.4), 0.2, 1e-7);
    CHECK_NEAR(nn_act_deriv(NN_ACT_RELU, 0, 0, 0), 0, 0);
    CHECK_NEAR(nn_act_deriv(NN_ACT_TANH, 0, 0.3, tanh(0.3)), 1 - tanh(0.3) * tanh(0.3), 1e-12);
    float z[3] = {1000, 1000, -1000};
    nn_softmax_row(z, 3);
    CHECK_NEAR(z[0], 0.5, 1e-7);
    CHECK_NEAR(z[2], 0, 0);
    double zd[2] = {0, log(3.0)};
    CHECK_NEAR(nn_logsumexp_d(zd, 2), log(4.0), 1e-12);
    float p[3] = {0, NAN, 1};
    nn_policy_probs(NN_ACT_NONE, p, 3);
    CHECK_NEAR(p[1], 1.0 / 3, 1e-7);
    float q[2] = {logf(0.25f), logf(0.75f)};
    nn_policy_probs(NN_ACT_LOGSOFTMAX, q, 2);
    CHECK_NEAR(q[1], 0.75, 1e-6);
    float r[2] = {0, 0};
    nn_policy_probs(NN_ACT_NONE, r, 2);
    CHECK_NEAR(r[0], 0.5, 1e-7);
    CHECK_NEAR(nn_value_prob(NN_ACT_TANH, 0), 0.5, 0);
    CHECK_NEAR(nn_value_prob(NN_ACT_NONE, 0), 0.5, 0);
    CHECK_NEAR(nn_value_prob(NN_ACT_SIGMOID, 1.5f), 1, 0);
    CHECK_NEAR(nn_value_prob(NN_ACT_SIGMOID, NAN), 0.5, 0);
}

int main(void) {
    RUN(test_arch_mlp_and_layout);
    RUN(test_arch_two_heads);
    RUN(test_arch_check_refuses);
    RUN(test_forward_hand);
    RUN(test_forward_deep_and_two_heads);
    RUN(test_init_random_matches_two_layer_stream);
    RUN(test_ops);
    return check_summary("net");
}
