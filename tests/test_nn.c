/* test_nn.c - the MLP reference forward pass (hand-computed values), the backward pass (finite
 * differences), Adam(W) (hand-computed first steps; tests/test_nn_torch.py compares longer runs with
 * PyTorch through `test_nn --dump-adam KIND`) and checkpoints (round trip, corruption rejected). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nn/mlp.h"
#include "nn/mlp_train.h"

static char tmpdir[256];

static void tiny_net(mlp *m, mlp_act ha, mlp_act oa, int out) {
    /* 2 -> 2 -> out: W1 = [[1, -1], [0.5, 2]], b1 = [0, -1]; W2 rows [1, 0], [0, -1], b2 = [0.5, 0.25]. */
    mlp_init(m, 2, 2, out, ha, oa);
    float w1[4] = {1, -1, 0.5f, 2}, b1[2] = {0, -1}, w2[4] = {1, 0, 0, -1}, b2[2] = {0.5f, 0.25f};
    memcpy(m->w1, w1, sizeof w1);
    memcpy(m->b1, b1, sizeof b1);
    memcpy(m->w2, w2, (size_t)out * 2 * sizeof(float));
    memcpy(m->b2, b2, (size_t)out * sizeof(float));
}

static void test_forward_hand(void) {
    mlp m;
    float x[2] = {1, 2}, y[2], h[2];
    /* a = [1 - 2 + 0, 0.5 + 4 - 1] = [-1, 3.5]; relu -> [0, 3.5]; z = [0.5, 0.25 - 3.5] = [0.5, -3.25]. */
    tiny_net(&m, MLP_ACT_RELU, MLP_ACT_SOFTMAX, 2);
    REQUIRE(mlp_forward(&m, x, 1, y, h) == NRPS_OK);
    CHECK_NEAR(h[0], 0.0, 0);
    CHECK_NEAR(h[1], 3.5, 1e-7);
    CHECK_NEAR(y[0], 1.0 / (1.0 + exp(-3.75)), 1e-7);
    CHECK_NEAR(y[1], 1.0 / (1.0 + exp(3.75)), 1e-7);
    m.out_act = MLP_ACT_LOGSOFTMAX;
    mlp_forward(&m, x, 1, y, NULL);
    CHECK_NEAR(y[0], -log1p(exp(-3.75)), 1e-6);
    CHECK_NEAR(y[1], -3.75 - log1p(exp(-3.75)), 1e-6);
    m.out_act = MLP_ACT_NONE;
    mlp_forward(&m, x, 1, y, NULL);
    CHECK_NEAR(y[0], 0.5, 1e-7);
    CHECK_NEAR(y[1], -3.25, 1e-7);
    m.hidden_act = MLP_ACT_TANH;
    m.out_act = MLP_ACT_TANH;
    mlp_forward(&m, x, 1, y, NULL);
    CHECK_NEAR(y[0], tanh(0.5 + tanh(-1.0)), 1e-7);
    CHECK_NEAR(y[1], tanh(0.25 - tanh(3.5)), 1e-7);
    mlp_free(&m);
    tiny_net(&m, MLP_ACT_SIGMOID, MLP_ACT_SIGMOID, 1);
    mlp_forward(&m, x, 1, y, NULL);
    double s0 = 1 / (1 + exp(1.0));
    CHECK_NEAR(y[0], 1 / (1 + exp(-(0.5 + s0))), 1e-7);
    mlp_free(&m);
}

static void test_forward_batch_and_extremes(void) {
    mlp m;
    tiny_net(&m, MLP_ACT_RELU, MLP_ACT_SOFTMAX, 2);
    /* Huge logits: softmax must not overflow (max subtraction), sigmoid must saturate cleanly. */
    m.b2[0] = 1e30f;
    m.b2[1] = -1e30f;
    float x[6] = {1, 2, 0, 0, -3, 7}, y[6], y1[2];
    REQUIRE(mlp_forward(&m, x, 3, y, NULL) == NRPS_OK);
    for (int i = 0; i < 6; i++) CHECK(isfinite(y[i]));
    CHECK_NEAR(y[0], 1.0, 0);
    CHECK_NEAR(y[1], 0.0, 0);
    m.b2[0] = 0.5f;
    m.b2[1] = 0.25f;
    mlp_forward(&m, x, 3, y, NULL);
    for (int b = 0; b < 3; b++) { /* batch rows equal single-row calls */
        mlp_forward(&m, x + 2 * b, 1, y1, NULL);
        CHECK(y1[0] == y[2 * b] && y1[1] == y[2 * b + 1]);
        CHECK_NEAR(y[2 * b] + y[2 * b + 1], 1.0, 1e-6);
    }
    m.out_act = MLP_ACT_SIGMOID;
    m.out = 1;
    m.b2[0] = -1e4f;
    mlp_forward(&m, x, 1, y, NULL);
    CHECK(y[0] == 0.0f);
    m.b2[0] = 1e4f;
    mlp_forward(&m, x, 1, y, NULL);
    CHECK(y[0] == 1.0f);
    CHECK(mlp_forward(&m, x, 0, y, NULL) == NRPS_OK);
    mlp_free(&m);
}

static void test_init_errors(void) {
    mlp m;
    CHECK(mlp_init(&m, 0, 4, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX) == NRPS_ERR_ARG);
    CHECK(m.params == NULL);
    CHECK(mlp_init(&m, 81, 4, 9, MLP_ACT_SOFTMAX, MLP_ACT_SOFTMAX) == NRPS_ERR_ARG);
    mlp_free(&m);
    mlp_free(NULL);
    CHECK(mlp_param_count(81, 128, 9) == 81 * 128 + 128 + 128 * 9 + 9);
    REQUIRE(mlp_init(&m, 81, 64, 1, MLP_ACT_RELU, MLP_ACT_SIGMOID) == NRPS_OK);
    CHECK(m.b1 == m.params + 81 * 64 && m.w2 == m.b1 + 64 && m.b2 == m.w2 + 64);
    nrps_rng r;
    nrps_rng_seed(&r, 7);
    mlp_init_random(&m, &r);
    double bound = 1.0 / 9.0, mx = 0;
    for (int i = 0; i < 81 * 64; i++) mx = fmax(mx, fabs(m.w1[i]));
    CHECK(mx <= bound && mx > 0.9 * bound);
    const char *which = NULL;
    CHECK(mlp_params_finite(&m, &which));
    m.w2[3] = NAN;
    CHECK(!mlp_params_finite(&m, &which) && strcmp(which, "w2") == 0);
    mlp_free(&m);
}

static void random_batch(nrps_rng *r, int n, int in, int out, int dist, float *x, float *t) {
    for (int i = 0; i < n * in; i++) x[i] = nrps_rng_uniform(r) < 0.3 ? 1.0f : 0.0f;
    for (int b = 0; b < n; b++) {
        double s = 0;
        for (int k = 0; k < out; k++) s += (t[b * out + k] = (float)nrps_rng_uniform(r));
        if (dist)
            for (int k = 0; k < out; k++) t[b * out + k] /= (float)s;
    }
}

/* Central finite differences of the loss against the analytic gradient, every parameter. */
static void grad_check(mlp_act ha, mlp_act oa, int out, mlp_value_loss vl, const char *what) {
    mlp m;
    nrps_rng r;
    nrps_rng_seed(&r, 42);
    REQUIRE(mlp_init(&m, 81, 8, out, ha, oa) == NRPS_OK);
    mlp_init_random(&m, &r);
    for (int i = 0; i < out; i++) m.b2[i] += 0.3f * (float)(i % 3); /* break symmetry a bit more */
    enum { N = 5 };
    float x[N * 81], t[N * 9];
    random_batch(&r, N, 81, out, oa == MLP_ACT_SOFTMAX || oa == MLP_ACT_LOGSOFTMAX, x, t);
    size_t np = mlp_param_count(81, 8, out);
    float *g = malloc(np * sizeof(float));
    double l0 = mlp_loss_grad(&m, x, t, N, vl, g, NULL);
    CHECK(isfinite(l0));
    double worst = 0;
    int bad = 0;
    for (size_t i = 0; i < np; i++) {
        float p = m.params[i], h = 1e-4f * fmaxf(fabsf(p), 0.1f);
        m.params[i] = p + h;
        double lp = mlp_loss_grad(&m, x, t, N, vl, NULL, NULL);
        float hp = m.params[i] - p;
        m.params[i] = p - h;
        double lm = mlp_loss_grad(&m, x, t, N, vl, NULL, NULL);
        float hm = p - m.params[i];
        m.params[i] = p;
        double fd = (lp - lm) / ((double)hp + (double)hm);
        double err = fabs(fd - g[i]) / fmax(1e-3, fabs(fd) + fabs(g[i]));
        if (err > worst) worst = err;
        if (err > 1e-6) {
            if (bad < 3) fprintf(stderr, "  %s: param %zu analytic %.9g fd %.9g\n", what, i, g[i], fd);
            bad++;
        }
    }
    printf("  grad check %-22s loss %.6f worst rel err %.2e over %zu params\n", what, l0, worst, np);
    CHECK_MSG(bad == 0, "%s: %d parameters disagree with finite differences", what, bad);
    free(g);
    mlp_free(&m);
}

static void test_grad_policy_ce(void) { grad_check(MLP_ACT_RELU, MLP_ACT_SOFTMAX, 9, MLP_LOSS_MSE, "relu/softmax CE"); }
static void test_grad_value_mse(void) { grad_check(MLP_ACT_RELU, MLP_ACT_SIGMOID, 1, MLP_LOSS_MSE, "relu/sigmoid MSE"); }
static void test_grad_value_bce(void) { grad_check(MLP_ACT_RELU, MLP_ACT_SIGMOID, 1, MLP_LOSS_BCE, "relu/sigmoid BCE"); }
static void test_grad_other_acts(void) {
    grad_check(MLP_ACT_TANH, MLP_ACT_LOGSOFTMAX, 9, MLP_LOSS_MSE, "tanh/logsoftmax CE");
    grad_check(MLP_ACT_SIGMOID, MLP_ACT_TANH, 1, MLP_LOSS_MSE, "sigmoid/tanh MSE");
    grad_check(MLP_ACT_RELU, MLP_ACT_NONE, 3, MLP_LOSS_MSE, "relu/none MSE");
}

static void test_loss_values(void) {
    /* Cross-entropy against a one-hot target is -log p; BCE matches the textbook formula. */
    mlp m;
    tiny_net(&m, MLP_ACT_RELU, MLP_ACT_SOFTMAX, 2);
    float x[2] = {1, 2}, t[2] = {0, 1}, y[2];
    mlp_forward(&m, x, 1, y, NULL);
    CHECK_NEAR(mlp_loss_grad(&m, x, t, 1, MLP_LOSS_MSE, NULL, NULL), -log(y[1]), 1e-5);
    mlp_free(&m);
    tiny_net(&m, MLP_ACT_RELU, MLP_ACT_SIGMOID, 1);
    float tv = 0.25f;
    mlp_forward(&m, x, 1, y, NULL);
    double p = y[0];
    CHECK_NEAR(mlp_loss_grad(&m, x, &tv, 1, MLP_LOSS_BCE, NULL, NULL), -(0.25 * log(p) + 0.75 * log(1 - p)), 1e-6);
    CHECK_NEAR(mlp_loss_grad(&m, x, &tv, 1, MLP_LOSS_MSE, NULL, NULL), (p - 0.25) * (p - 0.25), 1e-6);
    CHECK(isnan(mlp_loss_grad(&m, x, &tv, 0, MLP_LOSS_MSE, NULL, NULL)));
    mlp_free(&m);
}

static void test_adam_first_steps(void) {
    /* Step 1 of Adam moves every parameter with |g| >> eps by -lr*sign(g) (bias correction makes
     * m_hat/sqrt(v_hat) = g/|g|); AdamW first scales p by (1 - lr*wd). */
    mlp m;
    nrps_rng r;
    nrps_rng_seed(&r, 3);
    REQUIRE(mlp_init(&m, 81, 16, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX) == NRPS_OK);
    mlp_init_random(&m, &r);
    enum { N = 8 };
    float x[N * 81], t[N * 9];
    random_batch(&r, N, 81, 9, 1, x, t);
    for (int b = 0; b < N; b++) /* one-hot targets: the loss can go to 0 */
        for (int k = 0; k < 9; k++) t[b * 9 + k] = k == (b * 5) % 9 ? 1.0f : 0.0f;
    size_t np = mlp_param_count(81, 16, 9);
    float *p0 = malloc(np * sizeof(float)), *g = malloc(np * sizeof(float));
    memcpy(p0, m.params, np * sizeof(float));
    mlp_trainer *tr = mlp_trainer_create(&m, 0.01f, 0.1f, N);
    REQUIRE(tr);
    double loss;
    REQUIRE(mlp_trainer_step(tr, x, t, N, &loss) == NRPS_OK);
    memcpy(g, mlp_trainer_grad(tr), np * sizeof(float));
    CHECK(mlp_trainer_steps(tr) == 1);
    int bad = 0, checked = 0;
    for (size_t i = 0; i < np; i++) {
        double expect = p0[i] * (1 - 0.01 * 0.1);
        if (fabsf(g[i]) > 1e-5f) {
            expect -= 0.01 * (g[i] > 0 ? 1 : -1) * fabs(g[i]) / (fabs(g[i]) + 1e-8);
            checked++;
        } else if (g[i] != 0)
            continue;
        if (fabs(m.params[i] - expect) > 1e-6) bad++;
    }
    CHECK(checked > 100);
    CHECK_MSG(bad == 0, "%d parameters off the first-step formula", bad);
    /* Training on a fixed batch lowers the loss a lot. */
    double last = loss;
    for (int s = 0; s < 200; s++) mlp_trainer_step(tr, x, t, N, &last);
    CHECK_MSG(last < 0.2 * loss, "loss %.4f -> %.4f", loss, last);
    CHECK(mlp_trainer_step(tr, x, t, N + 1, NULL) == NRPS_ERR_ARG);
    CHECK(mlp_trainer_step(tr, x, t, 0, NULL) == NRPS_ERR_ARG);
    mlp_trainer_destroy(tr);
    mlp_trainer_destroy(NULL);
    free(p0);
    free(g);
    mlp_free(&m);
}

static void test_fit_epoch(void) {
    mlp m;
    nrps_rng r;
    nrps_rng_seed(&r, 5);
    REQUIRE(mlp_init(&m, 81, 16, 1, MLP_ACT_RELU, MLP_ACT_SIGMOID) == NRPS_OK);
    mlp_init_random(&m, &r);
    enum { N = 100 };
    static float x[N * 81], t[N];
    random_batch(&r, N, 81, 1, 0, x, t);
    for (int b = 0; b < N; b++) t[b] = x[b * 81] > 0 ? 0.9f : 0.1f; /* learnable rule */
    mlp_train_config c = mlp_train_config_default();
    c.lr = 0.01f;
    c.max_batch = 32;
    c.value_loss = MLP_LOSS_BCE;
    mlp_trainer *tr = mlp_trainer_create_ex(&m, &c);
    REQUIRE(tr);
    double first = 0, l = 0;
    for (int e = 0; e < 30; e++) {
        REQUIRE(mlp_trainer_fit_epoch(tr, x, t, N, &r, &l) == NRPS_OK);
        if (e == 0) first = l;
    }
    CHECK(mlp_trainer_steps(tr) == 30 * 4);
    CHECK_MSG(l < first - 0.2, "epoch loss %.4f -> %.4f", first, l);
    mlp_trainer_destroy(tr);
    /* A BCE trainer on a softmax net is refused. */
    mlp p;
    mlp_init(&p, 81, 4, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX);
    CHECK(mlp_trainer_create_ex(&p, &c) == NULL);
    mlp_free(&p);
    mlp_free(&m);
}

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_checkpoint(void) {
    mlp m, m2;
    nrps_rng r;
    nrps_rng_seed(&r, 11);
    REQUIRE(mlp_init(&m, 81, 12, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX) == NRPS_OK);
    mlp_init_random(&m, &r);
    enum { N = 6 };
    float x[N * 81], t[N * 9];
    random_batch(&r, N, 81, 9, 1, x, t);
    mlp_trainer *tr = mlp_trainer_create(&m, 3e-3f, 1e-2f, N), *tr2 = NULL;
    REQUIRE(tr);
    for (int s = 0; s < 5; s++) mlp_trainer_step(tr, x, t, N, NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/a.ckpt", tmpdir);
    REQUIRE(mlp_trainer_save(tr, path) == NRPS_OK);
    REQUIRE(mlp_trainer_load(path, N, &m2, &tr2) == NRPS_OK);
    size_t np = mlp_param_count(81, 12, 9);
    CHECK(m2.in == 81 && m2.hidden == 12 && m2.out == 9 && m2.out_act == MLP_ACT_SOFTMAX);
    CHECK(memcmp(m.params, m2.params, np * sizeof(float)) == 0);
    CHECK(mlp_trainer_steps(tr2) == 5);
    CHECK(mlp_trainer_config(tr2).weight_decay == 1e-2f && mlp_trainer_config(tr2).lr == 3e-3f);
    /* Continuing from the checkpoint is bit-identical to continuing in memory (Adam state restored). */
    for (int s = 0; s < 3; s++) {
        mlp_trainer_step(tr, x, t, N, NULL);
        mlp_trainer_step(tr2, x, t, N, NULL);
    }
    CHECK(memcmp(m.params, m2.params, np * sizeof(float)) == 0);
    mlp_trainer_destroy(tr2);
    mlp_free(&m2);

    /* Corruptions: flipped byte (checksum), truncation, bad magic, newer version, missing file. */
    long size = file_size(path);
    REQUIRE(size > 100);
    char *buf = malloc((size_t)size);
    FILE *f = fopen(path, "rb");
    REQUIRE(f && fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad.ckpt", tmpdir);
    struct { long off; int truncate; const char *msg; } cases[] = {
        {size / 2, 0, "checksum"}, {0, 1, "expected"}, {0, 0, "magic"}, {8, 0, "version"}};
    for (int c = 0; c < 4; c++) {
        char *b = malloc((size_t)size);
        memcpy(b, buf, (size_t)size);
        long n = size;
        if (cases[c].truncate) n = size - 7;
        else if (c == 3) b[8] = 2;
        else b[cases[c].off] ^= 0x5a;
        nrps_write_file_atomic(bad, b, (size_t)n);
        free(b);
        nrps_status st = mlp_trainer_load(bad, 0, &m2, &tr2);
        CHECK_MSG(st == NRPS_ERR_FORMAT && tr2 == NULL && m2.params == NULL && strstr(nrps_last_error(), cases[c].msg) &&
                      strstr(nrps_last_error(), bad),
                  "case %d: status %d, message '%s'", c, st, nrps_last_error());
    }
    snprintf(bad, sizeof bad, "%s/missing.ckpt", tmpdir);
    CHECK(mlp_trainer_load(bad, 0, &m2, &tr2) == NRPS_ERR_IO);
    free(buf);
    mlp_trainer_destroy(tr);
    mlp_free(&m);
}

/* --dump-adam KIND: a fixed small problem and the parameters after each of 5 AdamW steps, as JSON, for
 * tests/test_nn_torch.py to replay in PyTorch. KIND: policy | value-mse | value-bce. */
static int dump_adam(const char *kind) {
    int policy = strcmp(kind, "policy") == 0, bce = strcmp(kind, "value-bce") == 0;
    if (!policy && !bce && strcmp(kind, "value-mse") != 0) {
        fprintf(stderr, "unknown kind '%s'\n", kind);
        return 2;
    }
    int out = policy ? 9 : 1, H = 6, N = 7, steps = 5;
    mlp m;
    nrps_rng r;
    nrps_rng_seed(&r, 2024);
    mlp_init(&m, 81, H, out, MLP_ACT_RELU, policy ? MLP_ACT_SOFTMAX : MLP_ACT_SIGMOID);
    mlp_init_random(&m, &r);
    float x[7 * 81], t[7 * 9];
    random_batch(&r, N, 81, out, policy, x, t);
    mlp_train_config c = mlp_train_config_default();
    c.lr = 0.01f;
    c.weight_decay = 0.05f;
    c.max_batch = N;
    c.value_loss = bce ? MLP_LOSS_BCE : MLP_LOSS_MSE;
    mlp_trainer *tr = mlp_trainer_create_ex(&m, &c);
    size_t np = mlp_param_count(81, H, out);
#define DUMP(name, arr, n)                                                                                        \
    do {                                                                                                          \
        printf("\"%s\":[", name);                                                                                 \
        for (size_t q_ = 0; q_ < (size_t)(n); q_++) printf("%s%.9g", q_ ? "," : "", (double)(arr)[q_]);           \
        printf("]");                                                                                              \
    } while (0)
    printf("{\"in\":81,\"hidden\":%d,\"out\":%d,\"kind\":\"%s\",\"lr\":%.9g,\"weight_decay\":%.9g,\"beta1\":%.9g,"
           "\"beta2\":%.9g,\"eps\":%.9g,\"n\":%d,",
           H, out, kind, c.lr, c.weight_decay, c.beta1, c.beta2, c.eps, N);
    DUMP("init", m.params, np);
    printf(",");
    DUMP("x", x, N * 81);
    printf(",");
    DUMP("t", t, N * out);
    printf(",\"steps\":[");
    for (int s = 0; s < steps; s++) {
        double loss;
        mlp_trainer_step(tr, x, t, N, &loss);
        printf("%s{\"loss\":%.12g,", s ? "," : "", loss);
        DUMP("params", m.params, np);
        printf("}");
    }
    printf("]}\n");
    mlp_trainer_destroy(tr);
    mlp_free(&m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--dump-adam") == 0) return dump_adam(argv[2]);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nrps_test_nn.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_forward_hand);
    RUN(test_forward_batch_and_extremes);
    RUN(test_init_errors);
    RUN(test_loss_values);
    RUN(test_grad_policy_ce);
    RUN(test_grad_value_mse);
    RUN(test_grad_value_bce);
    RUN(test_grad_other_acts);
    RUN(test_adam_first_steps);
    RUN(test_fit_epoch);
    RUN(test_checkpoint);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("nn");
}
