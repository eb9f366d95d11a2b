/* test_nn_train.c - the layer-list trainer (src/nn/nn_train.h): finite-difference gradient checks for 1-layer,
 * 3-layer and two-headed nets with weighted losses, loss values against the reference forward, Adam(W) first
 * steps by hand, weight decay, epochs, checkpoints (round trip, refused files) and bad arguments.
 * `test_nn_train --dump-adam KIND` prints a small fixed problem and 5 AdamW steps as JSON for
 * tests/test_nn_train_torch.py to replay in PyTorch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nn/net.h"
#include "nn/nn_ops.h"
#include "nn/nn_train.h"
#include "util/bytes.h"

static char tmpdir[256];

/* ---- fixtures ---- */

static nn_net make_net(const nn_arch *a, uint64_t seed) {
    nn_net n;
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    if (nn_init(&n, a) != NRPS_OK) {
        fprintf(stderr, "make_net: %s\n", nrps_last_error());
        exit(1);
    }
    nn_init_random(&n, &r);
    for (int l = 0; l < a->n_layers; l++) /* break symmetry a bit more */
        for (int o = 0; o < a->layer[l].out; o++) n.b[l][o] += 0.1f * (float)(o % 3);
    return n;
}

/* Targets t[n][w] fitting a head's final activation: distributions for softmax heads (some zeros), [0, 1] for
 * sigmoid heads, [-1, 1] otherwise. */
static void head_targets(nrps_rng *r, nn_act act, int n, int w, float *t) {
    for (int b = 0; b < n; b++) {
        float *row = t + (size_t)b * w;
        double s = 0;
        for (int k = 0; k < w; k++) {
            double u = nrps_rng_uniform(r);
            row[k] = act == NN_ACT_SIGMOID ? (float)u : (float)(2 * u - 1);
            if (act == NN_ACT_SOFTMAX || act == NN_ACT_LOGSOFTMAX) s += (row[k] = u < 0.3 ? 0.0f : (float)u);
        }
        if ((act == NN_ACT_SOFTMAX || act == NN_ACT_LOGSOFTMAX) && s > 0)
            for (int k = 0; k < w; k++) row[k] /= (float)s;
    }
}

/* A batch for net architecture a: x[n][in] (dense in [-1, 1], or 0/1 when binary) and t[h] per head (malloc'd,
 * free with free_batch). */
typedef struct {
    int n;
    float *x, *t[NN_MAX_HEADS];
} batch;

static batch make_batch(const nn_arch *a, int n, int binary, uint64_t seed) {
    batch B = {.n = n};
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    B.x = malloc((size_t)n * a->in * sizeof(float));
    for (size_t i = 0; i < (size_t)n * a->in; i++)
        B.x[i] = binary ? (nrps_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f) : (float)(2 * nrps_rng_uniform(&r) - 1);
    for (int h = 0; h < a->n_heads; h++) {
        B.t[h] = malloc((size_t)n * nn_head_width(a, h) * sizeof(float));
        head_targets(&r, nn_head_act(a, h), n, nn_head_width(a, h), B.t[h]);
    }
    return B;
}

static void free_batch(batch *B) {
    free(B->x);
    for (int h = 0; h < NN_MAX_HEADS; h++) free(B->t[h]);
}

#define TARGETS(B) ((const float *const *)(B).t)

static nn_train_config config(float lr, float wd, nn_value_loss vl, float w0, float w1, int max_batch) {
    nn_train_config c = nn_train_config_default();
    c.lr = lr;
    c.weight_decay = wd;
    c.value_loss = vl;
    c.head_weight[0] = w0;
    c.head_weight[1] = w1;
    c.max_batch = max_batch;
    return c;
}

/* ---- gradient checks ---- */

/* Central finite differences of the loss against the analytic gradient, every parameter; also checks that the
 * loss is the weighted sum of the head losses. */
static void grad_check(const nn_arch *a, const nn_train_config *c, const char *what) {
    nn_net net = make_net(a, 42);
    enum { N = 5 };
    batch B = make_batch(a, N, 0, 43);
    float *g = malloc(net.n_params * sizeof(float));
    double hl[NN_MAX_HEADS] = {0};
    double l0 = nn_loss_grad(&net, B.x, TARGETS(B), N, c, g, NULL, hl);
    CHECK_MSG(isfinite(l0), "%s: %s", what, nrps_last_error());
    double wsum = 0;
    for (int h = 0; h < a->n_heads; h++) wsum += (double)c->head_weight[h] * hl[h];
    CHECK_NEAR(l0, wsum, 1e-12 * fabs(l0));
    double worst = 0;
    int bad = 0;
    for (size_t i = 0; i < net.n_params; i++) {
        float p = net.params[i], h = 1e-4f * fmaxf(fabsf(p), 0.1f);
        net.params[i] = p + h;
        double lp = nn_loss_grad(&net, B.x, TARGETS(B), N, c, NULL, NULL, NULL);
        float hp = net.params[i] - p;
        net.params[i] = p - h;
        double lm = nn_loss_grad(&net, B.x, TARGETS(B), N, c, NULL, NULL, NULL);
        float hm = p - net.params[i];
        net.params[i] = p;
        double fd = (lp - lm) / ((double)hp + (double)hm);
        double err = fabs(fd - g[i]) / fmax(1e-3, fabs(fd) + fabs(g[i]));
        if (err > worst) worst = err;
        if (err > 1e-6) {
            if (bad < 3) fprintf(stderr, "  %s: param %zu analytic %.9g fd %.9g\n", what, i, g[i], fd);
            bad++;
        }
    }
    printf("  grad check %-34s loss %.6f worst rel err %.2e over %zu params\n", what, l0, worst, net.n_params);
    CHECK_MSG(bad == 0, "%s: %d parameters disagree with finite differences", what, bad);
    free(g);
    free_batch(&B);
    nn_free(&net);
}

static void test_grad_one_layer(void) {
    nn_arch a = nn_arch_mlp(10, NULL, 0, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY);
    nn_train_config mse = config(1e-3f, 0, NN_LOSS_MSE, 1, 1, 8), bce = config(1e-3f, 0, NN_LOSS_BCE, 1, 1, 8);
    grad_check(&a, &mse, "1 layer softmax CE");
    a = nn_arch_mlp(10, NULL, 0, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE);
    grad_check(&a, &bce, "1 layer sigmoid BCE");
    a = nn_arch_mlp(10, NULL, 0, NN_ACT_RELU, 0, 3, NN_ACT_NONE, NN_HEAD_OTHER);
    grad_check(&a, &mse, "1 layer linear MSE");
}

static void test_grad_three_layers(void) {
    int hidden[2] = {8, 6};
    nn_train_config mse = config(1e-3f, 0, NN_LOSS_MSE, 1, 1, 8), bce = config(1e-3f, 0, NN_LOSS_BCE, 1, 1, 8);
    nn_arch a = nn_arch_mlp(12, hidden, 2, NN_ACT_TANH, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY);
    grad_check(&a, &mse, "3 layers tanh/softmax CE");
    a = nn_arch_mlp(12, hidden, 2, NN_ACT_LEAKY_RELU, 0.1f, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE);
    grad_check(&a, &mse, "3 layers leaky/sigmoid MSE");
    grad_check(&a, &bce, "3 layers leaky/sigmoid BCE");
    a = nn_arch_mlp(12, hidden, 2, NN_ACT_SIGMOID, 0, 4, NN_ACT_LOGSOFTMAX, NN_HEAD_OTHER);
    grad_check(&a, &mse, "3 layers sigmoid/logsoftmax CE");
    a = nn_arch_mlp(12, hidden, 2, NN_ACT_RELU, 0, 2, NN_ACT_TANH, NN_HEAD_OTHER);
    grad_check(&a, &mse, "3 layers relu/tanh MSE");
    a = nn_arch_mlp(12, hidden, 2, NN_ACT_NONE, 0, 2, NN_ACT_LEAKY_RELU, NN_HEAD_OTHER);
    a.layer[2].alpha = 0.2f;
    grad_check(&a, &mse, "3 layers none/leaky MSE");
}

static void test_grad_two_heads(void) {
    int w[3] = {8, 6, 5};
    nn_train_config bce = config(1e-3f, 0, NN_LOSS_BCE, 0.7f, 1.3f, 8), mse = config(1e-3f, 0, NN_LOSS_MSE, 1, 0.5f, 8);
    nn_arch a = nn_arch_two_heads(12, w, 1, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    grad_check(&a, &bce, "trunk 1, heads 1/1, BCE 0.7/1.3");
    a = nn_arch_two_heads(12, w, 2, w + 1, 1, w + 2, 1, NN_ACT_TANH, 0);
    grad_check(&a, &mse, "trunk 2, heads 2/2 tanh, MSE 1/0.5");
    a = nn_arch_two_heads(12, w, 1, w + 1, 1, NULL, 0, NN_ACT_LEAKY_RELU, 0.05f);
    grad_check(&a, &bce, "trunk 1, heads 2/1 leaky, BCE");
    a = nn_arch_two_heads(12, w, 2, NULL, 0, w + 2, 1, NN_ACT_SIGMOID, 0);
    grad_check(&a, &mse, "trunk 2, heads 1/2 sigmoid, MSE");
    a = nn_arch_two_heads(12, NULL, 0, w, 1, w + 1, 1, NN_ACT_TANH, 0);
    grad_check(&a, &bce, "no trunk, heads 2/2 tanh, BCE");
}

/* ---- loss values against the reference forward ---- */

static void test_loss_values(void) {
    int w[2] = {7, 5};
    nn_arch a = nn_arch_two_heads(10, w, 1, w + 1, 1, NULL, 0, NN_ACT_RELU, 0);
    nn_net net = make_net(&a, 5);
    enum { N = 4 };
    batch B = make_batch(&a, N, 0, 6);
    float pol[N * 9], val[N];
    float *ys[2] = {pol, val};
    REQUIRE(nn_forward(&net, B.x, N, ys, NULL) == NRPS_OK);
    double ce = 0, mse = 0, bce = 0;
    for (int b = 0; b < N; b++) {
        for (int k = 0; k < 9; k++) ce -= B.t[0][b * 9 + k] * log(pol[b * 9 + k]);
        double p = val[b], t = B.t[1][b];
        mse += (p - t) * (p - t);
        bce -= t * log(p) + (1 - t) * log(1 - p);
    }
    ce /= N, mse /= N, bce /= N;
    double hl[2];
    nn_train_config c = config(1e-3f, 0, NN_LOSS_MSE, 0.25f, 2.0f, N);
    double l = nn_loss_grad(&net, B.x, TARGETS(B), N, &c, NULL, NULL, hl);
    CHECK_NEAR(hl[0], ce, 1e-5);
    CHECK_NEAR(hl[1], mse, 1e-6);
    CHECK_NEAR(l, 0.25 * ce + 2.0 * mse, 1e-5);
    c.value_loss = NN_LOSS_BCE;
    nn_loss_grad(&net, B.x, TARGETS(B), N, &c, NULL, NULL, hl);
    CHECK_NEAR(hl[1], bce, 1e-5);
    CHECK_NEAR(hl[0], ce, 1e-5);
    /* A scratch buffer of nn_grad_scratch_count doubles gives the same result as allocating. */
    double *s = malloc(nn_grad_scratch_count(&a, N) * sizeof(double));
    double with = nn_loss_grad(&net, B.x, TARGETS(B), N, &c, NULL, s, NULL);
    CHECK(with == nn_loss_grad(&net, B.x, TARGETS(B), N, &c, NULL, NULL, NULL));
    free(s);
    free_batch(&B);
    nn_free(&net);
}

/* ---- Adam ---- */

/* Step 1 of Adam moves every parameter with |g| >> eps by -lr sign(g) after the decoupled decay; step 2 follows
 * the bias-corrected formula, computed here from the two gradients. */
static void test_adam_by_hand(void) {
    int w[2] = {16, 8};
    nn_arch a = nn_arch_two_heads(20, w, 1, w + 1, 1, NULL, 0, NN_ACT_RELU, 0);
    nn_net net = make_net(&a, 3);
    enum { N = 8 };
    batch B = make_batch(&a, N, 1, 4);
    const double lr = 0.01f, wd = 0.1f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    nn_train_config c = config(0.01f, 0.1f, NN_LOSS_BCE, 1, 0.5f, N);
    nn_trainer *tr = nn_trainer_create(&net, &c);
    REQUIRE(tr);
    size_t np = net.n_params;
    double *p0 = malloc(np * sizeof(double)), *p1 = malloc(np * sizeof(double)), *g1 = malloc(np * sizeof(double));
    for (size_t i = 0; i < np; i++) p0[i] = net.params[i];
    double loss;
    REQUIRE(nn_trainer_step(tr, B.x, TARGETS(B), N, &loss, NULL) == NRPS_OK);
    CHECK(nn_trainer_steps(tr) == 1);
    int bad = 0, checked = 0;
    for (size_t i = 0; i < np; i++) {
        double g = g1[i] = nn_trainer_grad(tr)[i], expect = p0[i] * (1 - lr * wd);
        p1[i] = net.params[i];
        if (fabs(g) > 1e-5) {
            expect -= lr * g / (fabs(g) + eps);
            checked++;
        } else if (g != 0)
            continue;
        if (fabs(net.params[i] - expect) > 1e-6) bad++;
    }
    CHECK(checked > 200);
    CHECK_MSG(bad == 0, "step 1: %d parameters off the formula", bad);
    REQUIRE(nn_trainer_step(tr, B.x, TARGETS(B), N, NULL, NULL) == NRPS_OK);
    bad = 0;
    for (size_t i = 0; i < np; i++) {
        double g2 = nn_trainer_grad(tr)[i];
        double m = b1 * (1 - b1) * g1[i] + (1 - b1) * g2, v = b2 * (1 - b2) * g1[i] * g1[i] + (1 - b2) * g2 * g2;
        double expect = p1[i] * (1 - lr * wd) - lr / (1 - b1 * b1) * m / (sqrt(v) / sqrt(1 - b2 * b2) + eps);
        if (fabs(net.params[i] - expect) > 1e-6 + 1e-5 * fabs(expect)) bad++;
    }
    CHECK_MSG(bad == 0, "step 2: %d parameters off the formula", bad);
    nn_trainer_destroy(tr);
    free(p0);
    free(p1);
    free(g1);
    free_batch(&B);
    nn_free(&net);
}

/* A head with loss weight 0 gets a zero gradient, so AdamW only decays its layers: p <- p (1 - lr wd) exactly
 * (and not at all with wd 0), while the trunk and the other head learn. */
static void test_weight_decay_and_zero_weight(void) {
    int w[2] = {8, 6};
    nn_arch a = nn_arch_two_heads(10, w, 1, w + 1, 1, NULL, 0, NN_ACT_TANH, 0);
    enum { N = 6 };
    batch B = make_batch(&a, N, 0, 8);
    const float wds[2] = {0.0f, 0.2f};
    for (int k = 0; k < 2; k++) {
        nn_net net = make_net(&a, 7);
        nn_train_config c = config(0.05f, wds[k], NN_LOSS_MSE, 1, 0, N);
        nn_trainer *tr = nn_trainer_create(&net, &c);
        REQUIRE(tr);
        size_t v0 = nn_layer_offset(&a, a.head[1].first), trunk_end = nn_layer_offset(&a, a.trunk);
        float *before = malloc(net.n_params * sizeof(float));
        int bad = 0, grad_nonzero = 0, trunk_moved = 0;
        for (int s = 0; s < 4; s++) {
            memcpy(before, net.params, net.n_params * sizeof(float));
            REQUIRE(nn_trainer_step(tr, B.x, TARGETS(B), N, NULL, NULL) == NRPS_OK);
            const double decay = 1.0 - (double)c.lr * (double)c.weight_decay;
            for (size_t i = v0; i < net.n_params; i++) {
                grad_nonzero += nn_trainer_grad(tr)[i] != 0.0f;
                bad += net.params[i] != (float)((double)before[i] * decay);
            }
            for (size_t i = 0; i < trunk_end; i++) trunk_moved += net.params[i] != before[i];
        }
        CHECK_MSG(grad_nonzero == 0 && bad == 0, "wd %g: %d nonzero grads, %d params off p (1 - lr wd)", wds[k],
                  grad_nonzero, bad);
        CHECK(trunk_moved > 100);
        free(before);
        nn_trainer_destroy(tr);
        nn_free(&net);
    }
    free_batch(&B);
}

/* Epochs of a two-headed net on learnable rules lower both head losses; the mean loss is the weighted sum. */
static void test_fit_epoch_two_heads(void) {
    int w[1] = {16};
    nn_arch a = nn_arch_two_heads(20, w, 1, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    nn_net net = make_net(&a, 9);
    enum { N = 100 };
    batch B = make_batch(&a, N, 1, 10);
    for (int b = 0; b < N; b++) {
        B.t[1][b] = B.x[b * 20] > 0 ? 0.9f : 0.1f;
        for (int k = 0; k < 9; k++) B.t[0][b * 9 + k] = k == (B.x[b * 20 + 1] > 0 ? 2 : 7) ? 1.0f : 0.0f;
    }
    nn_train_config c = config(0.01f, 1e-4f, NN_LOSS_BCE, 1, 0.5f, 32);
    nn_trainer *tr = nn_trainer_create(&net, &c);
    REQUIRE(tr);
    nrps_rng r;
    nrps_rng_seed(&r, 11);
    double first[2] = {0}, hl[2] = {0}, l = 0;
    for (int e = 0; e < 30; e++) {
        REQUIRE(nn_trainer_fit_epoch(tr, B.x, TARGETS(B), N, &r, &l, hl) == NRPS_OK);
        CHECK_NEAR(l, hl[0] + 0.5 * hl[1], 1e-9);
        if (e == 0) memcpy(first, hl, sizeof hl);
    }
    CHECK(nn_trainer_steps(tr) == 30 * 4);
    CHECK_MSG(hl[0] < 0.3 * first[0] && hl[1] < first[1] - 0.2, "policy %.4f -> %.4f, value %.4f -> %.4f", first[0],
              hl[0], first[1], hl[1]);
    CHECK(nn_trainer_fit_epoch(tr, B.x, TARGETS(B), 0, &r, NULL, NULL) == NRPS_ERR_ARG);
    nrps_interrupted = 1;
    CHECK(nn_trainer_fit_epoch(tr, B.x, TARGETS(B), N, &r, NULL, NULL) == NRPS_ERR_INTERRUPTED);
    nrps_interrupted = 0;
    nn_trainer_destroy(tr);
    free_batch(&B);
    nn_free(&net);
}

/* ---- bad arguments ---- */

static void test_bad_arguments(void) {
    int w[1] = {4};
    nn_arch pol = nn_arch_mlp(6, w, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY);
    nn_net net = make_net(&pol, 1);
    enum { N = 3 };
    batch B = make_batch(&pol, N, 0, 2);
    nn_train_config c = config(1e-3f, 0, NN_LOSS_BCE, 1, 1, N);
    CHECK(nn_trainer_create(&net, &c) == NULL && strstr(nrps_last_error(), "binary cross-entropy needs a sigmoid"));
    CHECK(isnan(nn_loss_grad(&net, B.x, TARGETS(B), N, &c, NULL, NULL, NULL)));
    c = config(1e-3f, 0, NN_LOSS_MSE, -1, 1, N);
    CHECK(nn_trainer_create(&net, &c) == NULL && strstr(nrps_last_error(), "loss weight -1"));
    c = config(1e-3f, 0, NN_LOSS_MSE, 0, 1, N);
    CHECK(nn_trainer_create(&net, &c) == NULL && strstr(nrps_last_error(), "every head has loss weight 0"));
    c = config(0, 0, NN_LOSS_MSE, 1, 1, N);
    CHECK(nn_trainer_create(&net, &c) == NULL && strstr(nrps_last_error(), "bad configuration"));
    c = config(1e-3f, 0, NN_LOSS_MSE, 1, 1, 0);
    CHECK(nn_trainer_create(&net, &c) == NULL);
    CHECK(nn_trainer_create(NULL, &c) == NULL);
    c = config(1e-3f, 0, NN_LOSS_MSE, 1, 1, N);
    nn_trainer *tr = nn_trainer_create(&net, &c);
    REQUIRE(tr);
    CHECK(nn_trainer_step(tr, B.x, TARGETS(B), N + 1, NULL, NULL) == NRPS_ERR_ARG);
    CHECK(nn_trainer_step(tr, B.x, TARGETS(B), 0, NULL, NULL) == NRPS_ERR_ARG);
    const float *none[1] = {NULL};
    CHECK(nn_trainer_step(tr, B.x, none, N, NULL, NULL) == NRPS_ERR_ARG);
    /* A NaN target: the step is refused and nothing moves. */
    float *copy = malloc(net.n_params * sizeof(float));
    memcpy(copy, net.params, net.n_params * sizeof(float));
    B.t[0][4] = NAN;
    double loss = 0;
    CHECK(nn_trainer_step(tr, B.x, TARGETS(B), N, &loss, NULL) == NRPS_ERR_ARG && isnan(loss));
    CHECK(memcmp(copy, net.params, net.n_params * sizeof(float)) == 0 && nn_trainer_steps(tr) == 0);
    nn_trainer_set_lr(tr, -1);
    nn_trainer_set_lr(tr, NAN);
    CHECK(nn_trainer_config(tr).lr == 1e-3f);
    nn_trainer_set_lr(tr, 0.5f);
    CHECK(nn_trainer_config(tr).lr == 0.5f && nn_trainer_net(tr) == &net);
    nn_trainer_destroy(tr);
    nn_trainer_destroy(NULL);
    free(copy);
    free_batch(&B);
    nn_free(&net);
}

/* ---- checkpoints ---- */

static void path_in_tmp(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

static int read_all(const char *path, char **data, size_t *len) {
    return nrps_read_file(path, 1 << 26, data, len) == NRPS_OK;
}

static int same_file(const char *a, const char *b) {
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int same = read_all(a, &da, &la) && read_all(b, &db, &lb) && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static nn_arch ckpt_arch(void) {
    int w[3] = {12, 8, 5};
    return nn_arch_two_heads(81, w, 1, w + 1, 1, w + 2, 1, NN_ACT_LEAKY_RELU, 0.03f);
}

/* Save after 5 steps, load, continue both 3 steps: identical parameters and identical saved bytes. */
static void test_checkpoint_round_trip(void) {
    nn_arch a = ckpt_arch();
    nn_net net = make_net(&a, 11), net2;
    enum { N = 6 };
    batch B = make_batch(&a, N, 1, 12);
    nn_train_config c = config(3e-3f, 1e-2f, NN_LOSS_BCE, 0.8f, 1.5f, N);
    c.beta1 = 0.85f;
    nn_trainer *tr = nn_trainer_create(&net, &c), *tr2 = NULL;
    REQUIRE(tr);
    for (int s = 0; s < 5; s++) nn_trainer_step(tr, B.x, TARGETS(B), N, NULL, NULL);
    char path[300], path2[300];
    path_in_tmp(path, sizeof path, "a.ckpt");
    path_in_tmp(path2, sizeof path2, "b.ckpt");
    REQUIRE(nn_trainer_save(tr, path) == NRPS_OK);
    REQUIRE(nn_trainer_load(path, N, &a, &net2, &tr2) == NRPS_OK);
    CHECK(nn_arch_equal(&net2.arch, &a) && net2.n_params == net.n_params);
    CHECK(memcmp(net.params, net2.params, net.n_params * sizeof(float)) == 0);
    nn_train_config c2 = nn_trainer_config(tr2);
    CHECK(nn_trainer_steps(tr2) == 5 && c2.lr == c.lr && c2.weight_decay == c.weight_decay && c2.beta1 == 0.85f &&
          c2.beta2 == c.beta2 && c2.eps == c.eps && c2.value_loss == NN_LOSS_BCE && c2.head_weight[0] == 0.8f &&
          c2.head_weight[1] == 1.5f && c2.max_batch == N);
    for (int s = 0; s < 3; s++) {
        nn_trainer_step(tr, B.x, TARGETS(B), N, NULL, NULL);
        nn_trainer_step(tr2, B.x, TARGETS(B), N, NULL, NULL);
    }
    CHECK(memcmp(net.params, net2.params, net.n_params * sizeof(float)) == 0);
    REQUIRE(nn_trainer_save(tr, path) == NRPS_OK && nn_trainer_save(tr2, path2) == NRPS_OK);
    CHECK(same_file(path, path2));
    nn_trainer_destroy(tr2);
    nn_free(&net2);
    CHECK(nn_trainer_load(path, 0, NULL, &net2, &tr2) == NRPS_OK && nn_trainer_config(tr2).max_batch == 256);
    nn_trainer_destroy(tr2);
    nn_free(&net2);
    nn_trainer_destroy(tr);
    free_batch(&B);
    nn_free(&net);
}

/* Header offsets of the version-2 file written for ckpt_arch(): magic 8, version 4, in/n_layers/trunk/n_heads,
 * then 12 bytes per layer (out, act, alpha). */
enum { OFF_VERSION = 8, OFF_N_LAYERS = 16, OFF_LAYER0_ACT = 32, OFF_LAYERS = 28 };

static void put_le32(char *d, uint32_t v) {
    for (int i = 0; i < 4; i++) d[i] = (char)(v >> (8 * i));
}

/* Writes a copy of good[len] with one change to path: a byte xor-ed, a u32 replaced (checksum recomputed when
 * fix_sum), or the length cut. */
static void write_variant(const char *path, const char *good, size_t len, long xor_at, long u32_at, uint32_t v,
                          int fix_sum, size_t cut) {
    char *b = malloc(len);
    memcpy(b, good, len);
    if (xor_at >= 0) b[xor_at] ^= 0x5a;
    if (u32_at >= 0) put_le32(b + u32_at, v);
    if (fix_sum) {
        uint64_t s = nrps_fnv1a64(b, len - 8);
        put_le32(b + len - 8, (uint32_t)s);
        put_le32(b + len - 4, (uint32_t)(s >> 32));
    }
    nrps_write_file_atomic(path, b, len - cut);
    free(b);
}

static void test_checkpoint_refused(void) {
    nn_arch a = ckpt_arch();
    nn_net net = make_net(&a, 13), net2;
    nn_train_config c = config(1e-3f, 0, NN_LOSS_MSE, 1, 1, 4);
    nn_trainer *tr = nn_trainer_create(&net, &c), *tr2 = NULL;
    REQUIRE(tr);
    char good[300], bad[300];
    path_in_tmp(good, sizeof good, "good.ckpt");
    path_in_tmp(bad, sizeof bad, "bad.ckpt");
    REQUIRE(nn_trainer_save(tr, good) == NRPS_OK);
    char *d = NULL;
    size_t len = 0;
    REQUIRE(read_all(good, &d, &len));
    const long params_at = (long)(len - 8 - 12 * net.n_params), lr_at = params_at - 16 - 4 * 2 - 4 - 20;
    uint32_t nan_bits = 0x7fc00000u, neg_lr = 0xbf800000u; /* NaN, -1.0f */
    struct {
        long xor_at, u32_at;
        uint32_t v;
        int fix_sum;
        size_t cut;
        nrps_status st;
        const char *msg;
    } cases[] = {
        {(long)len / 2, -1, 0, 0, 0, NRPS_ERR_FORMAT, "checksum mismatch"},
        {-1, -1, 0, 0, 7, NRPS_ERR_FORMAT, "expected"},
        {-1, -1, 0, 0, len - 20, NRPS_ERR_FORMAT, "header incomplete"},
        {0, -1, 0, 0, 0, NRPS_ERR_FORMAT, "bad magic"},
        {-1, OFF_VERSION, 9, 0, 0, NRPS_ERR_FORMAT, "format version 9"},
        {-1, OFF_LAYER0_ACT, NN_ACT_SOFTMAX, 1, 0, NRPS_ERR_FORMAT, "layer 1 ends in softmax"},
        {-1, OFF_N_LAYERS, 17, 1, 0, NRPS_ERR_FORMAT, "17 layers"},
        {-1, OFF_LAYERS, 13, 1, 0, NRPS_ERR_FORMAT, "header is inconsistent"},
        {-1, params_at + 40, nan_bits, 1, 0, NRPS_ERR_FORMAT, "NaN/Inf"},
        {-1, (long)len - 12, nan_bits, 1, 0, NRPS_ERR_FORMAT, "Adam state"},
        {-1, lr_at, neg_lr, 1, 0, NRPS_ERR_FORMAT, "bad configuration"},
    };
    const int n_cases = (int)(sizeof cases / sizeof cases[0]);
    for (int k = 0; k < n_cases; k++) {
        write_variant(bad, d, len, cases[k].xor_at, cases[k].u32_at, cases[k].v, cases[k].fix_sum, cases[k].cut);
        nrps_status st = nn_trainer_load(bad, 0, NULL, &net2, &tr2);
        const char *m = nrps_last_error();
        CHECK_MSG(st == cases[k].st && tr2 == NULL && net2.params == NULL && strstr(m, cases[k].msg) &&
                      strstr(m, bad) == m && !strchr(m, '\n'),
                  "case %d: status %d, message '%s'", k, st, m);
    }
    /* The right file, the wrong architecture. */
    nn_arch other = a;
    other.layer[0].out = 13;
    CHECK(nn_trainer_load(good, 0, &other, &net2, &tr2) == NRPS_ERR_ARG && tr2 == NULL && net2.params == NULL);
    CHECK_MSG(strstr(nrps_last_error(), "holds a 81-12 -> policy:8-9 | value:5-1 network, expected 81-13"), "%s",
              nrps_last_error());
    other = a;
    other.layer[1].act = NN_ACT_TANH;
    CHECK(nn_trainer_load(good, 0, &other, &net2, &tr2) == NRPS_ERR_ARG && strstr(nrps_last_error(), "differ"));
    path_in_tmp(bad, sizeof bad, "missing.ckpt");
    CHECK(nn_trainer_load(bad, 0, NULL, &net2, &tr2) == NRPS_ERR_IO && strstr(nrps_last_error(), bad));
    free(d);
    nn_trainer_destroy(tr);
    nn_free(&net);
}

/* ---- --dump-adam ---- */

typedef struct {
    const char *kind;
    nn_arch arch;
    nn_value_loss vl;
    float w0, w1;
} dump_case;

static int dump_case_find(const char *kind, dump_case *dc) {
    static const int h6[1] = {6}, h86[2] = {8, 6}, t8[1] = {8}, t87[2] = {8, 7}, v5[1] = {5};
    dump_case all[] = {
        {"policy", nn_arch_mlp(81, h6, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY), NN_LOSS_MSE, 1, 1},
        {"value-mse", nn_arch_mlp(81, h6, 1, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE), NN_LOSS_MSE, 1, 1},
        {"value-bce", nn_arch_mlp(81, h6, 1, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE), NN_LOSS_BCE, 1, 1},
        {"deep-tanh", nn_arch_mlp(81, h86, 2, NN_ACT_TANH, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY), NN_LOSS_MSE, 1, 1},
        {"deep-leaky", nn_arch_mlp(81, h86, 2, NN_ACT_LEAKY_RELU, 0.1f, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE), NN_LOSS_MSE,
         1, 1},
        {"two-heads", nn_arch_two_heads(81, t8, 1, h6, 1, NULL, 0, NN_ACT_RELU, 0), NN_LOSS_BCE, 1, 0.5f},
        {"two-heads-deep", nn_arch_two_heads(81, t87, 2, NULL, 0, v5, 1, NN_ACT_TANH, 0), NN_LOSS_MSE, 0.8f, 1.2f},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i].kind, kind)) {
            *dc = all[i];
            return 1;
        }
    return 0;
}

static void dump_floats(const char *name, const float *v, size_t n) {
    printf("\"%s\":[", name);
    for (size_t i = 0; i < n; i++) printf("%s%.9g", i ? "," : "", (double)v[i]);
    printf("]");
}

static void dump_arch(const dump_case *dc, const nn_train_config *c) {
    const nn_arch *a = &dc->arch;
    printf("{\"kind\":\"%s\",\"in\":%d,\"trunk\":%d,\"layers\":[", dc->kind, a->in, a->trunk);
    for (int l = 0; l < a->n_layers; l++)
        printf("%s{\"out\":%d,\"act\":\"%s\",\"alpha\":%.9g}", l ? "," : "", a->layer[l].out,
               nn_act_name(a->layer[l].act), (double)a->layer[l].alpha);
    printf("],\"heads\":[");
    for (int h = 0; h < a->n_heads; h++)
        printf("%s{\"name\":\"%s\",\"first\":%d,\"count\":%d,\"weight\":%.9g}", h ? "," : "", a->head[h].name,
               a->head[h].first, a->head[h].count, (double)c->head_weight[h]);
    printf("],\"value_loss\":\"%s\",\"lr\":%.9g,\"weight_decay\":%.9g,\"beta1\":%.9g,\"beta2\":%.9g,\"eps\":%.9g,",
           c->value_loss == NN_LOSS_BCE ? "bce" : "mse", c->lr, c->weight_decay, c->beta1, c->beta2, c->eps);
}

/* --dump-adam KIND: a fixed small problem and the parameters after each of 5 AdamW steps, as JSON. */
static int dump_adam(const char *kind) {
    dump_case dc;
    if (!dump_case_find(kind, &dc)) {
        fprintf(stderr, "unknown kind '%s' (policy, value-mse, value-bce, deep-tanh, deep-leaky, two-heads, "
                        "two-heads-deep)\n", kind);
        return 2;
    }
    enum { N = 7, STEPS = 5 };
    nn_net net;
    nrps_rng r;
    nrps_rng_seed(&r, 2024);
    if (nn_init(&net, &dc.arch) != NRPS_OK) return 1;
    nn_init_random(&net, &r);
    batch B = make_batch(&dc.arch, N, 1, 2025);
    nn_train_config c = config(0.01f, 0.05f, dc.vl, dc.w0, dc.w1, N);
    nn_trainer *tr = nn_trainer_create(&net, &c);
    if (!tr) return 1;
    dump_arch(&dc, &c);
    printf("\"n\":%d,", N);
    dump_floats("init", net.params, net.n_params);
    printf(",");
    dump_floats("x", B.x, (size_t)N * dc.arch.in);
    printf(",\"t\":[");
    for (int h = 0; h < dc.arch.n_heads; h++) {
        printf(h ? ",{" : "{");
        dump_floats("v", B.t[h], (size_t)N * nn_head_width(&dc.arch, h));
        printf("}");
    }
    printf("],\"steps\":[");
    for (int s = 0; s < STEPS; s++) {
        double loss, hl[NN_MAX_HEADS] = {0};
        if (nn_trainer_step(tr, B.x, TARGETS(B), N, &loss, hl) != NRPS_OK) return 1;
        printf("%s{\"loss\":%.17g,\"head_loss\":[%.17g,%.17g],", s ? "," : "", loss, hl[0], hl[1]);
        dump_floats("params", net.params, net.n_params);
        printf("}");
    }
    printf("]}\n");
    nn_trainer_destroy(tr);
    free_batch(&B);
    nn_free(&net);
    return 0;
}

/* A tagged checkpoint (version 3) names its run and generation and holds the same trainer as the untagged one
 * (version 2, byte for byte what nn_trainer_save writes); untagged files read with no tag; a bad tag is refused
 * when written and when read. */
static void test_checkpoint_tag(void) {
    nn_arch a = ckpt_arch();
    nn_net net = make_net(&a, 17), net2, net3;
    nn_train_config c = config(1e-3f, 0, NN_LOSS_MSE, 1, 1, 4);
    nn_trainer *tr = nn_trainer_create(&net, &c), *tr2 = NULL, *tr3 = NULL;
    REQUIRE(tr);
    char tagged[300], plain[300], plain2[300];
    path_in_tmp(tagged, sizeof tagged, "tagged.ckpt");
    path_in_tmp(plain, sizeof plain, "plain.ckpt");
    path_in_tmp(plain2, sizeof plain2, "plain2.ckpt");
    nn_ckpt_tag tag = {"0123456789abcdef0123456789abcdef", 7}, got;
    REQUIRE(nn_trainer_save_tagged(tr, tagged, &tag) == NRPS_OK);
    REQUIRE(nn_trainer_save(tr, plain) == NRPS_OK);
    nn_ckpt_tag none = {"", -1};
    REQUIRE(nn_trainer_save_tagged(tr, plain2, &none) == NRPS_OK);
    CHECK(same_file(plain, plain2));
    memset(&got, 0, sizeof got);
    REQUIRE(nn_trainer_load_tagged(tagged, 4, &a, &net2, &tr2, &got) == NRPS_OK);
    CHECK(!strcmp(got.run_id, tag.run_id) && got.generation == 7);
    REQUIRE(nn_trainer_load_tagged(plain, 4, &a, &net3, &tr3, &got) == NRPS_OK);
    CHECK(got.run_id[0] == '\0' && got.generation == -1);
    CHECK(memcmp(net2.params, net3.params, net2.n_params * sizeof(float)) == 0 &&
          nn_trainer_steps(tr2) == nn_trainer_steps(tr3));
    char *d = NULL;
    size_t len = 0;
    REQUIRE(read_all(tagged, &d, &len));
    CHECK(d[OFF_VERSION] == 3 && !memcmp(d + OFF_VERSION + 8, tag.run_id, 32));
    char bad[300];
    path_in_tmp(bad, sizeof bad, "badtag.ckpt");
    write_variant(bad, d, len, -1, OFF_VERSION + 4, 65, 1, 0); /* run id length beyond the limit */
    nn_trainer_destroy(tr3);
    nn_free(&net3);
    CHECK(nn_trainer_load_tagged(bad, 4, &a, &net3, &tr3, &got) == NRPS_ERR_FORMAT && tr3 == NULL &&
          strstr(nrps_last_error(), "badtag.ckpt"));
    write_variant(bad, d, len, OFF_VERSION + 8, -1, 0, 0, 0); /* a byte of the run id changed, checksum not */
    CHECK(nn_trainer_load_tagged(bad, 4, &a, &net3, &tr3, &got) == NRPS_ERR_FORMAT &&
          strstr(nrps_last_error(), "checksum"));
    nn_ckpt_tag badtag = {"has space", 1};
    CHECK(nn_trainer_save_tagged(tr, bad, &badtag) == NRPS_ERR_ARG);
    free(d);
    nn_trainer_destroy(tr2);
    nn_free(&net2);
    nn_trainer_destroy(tr);
    nn_free(&net);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--dump-adam") == 0) return dump_adam(argv[2]);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nrps_test_nn_train.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_grad_one_layer);
    RUN(test_grad_three_layers);
    RUN(test_grad_two_heads);
    RUN(test_loss_values);
    RUN(test_adam_by_hand);
    RUN(test_weight_decay_and_zero_weight);
    RUN(test_fit_epoch_two_heads);
    RUN(test_bad_arguments);
    RUN(test_checkpoint_round_trip);
    RUN(test_checkpoint_refused);
    RUN(test_checkpoint_tag);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("nn_train");
}
