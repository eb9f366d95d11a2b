/* test_nn_train_mlp_compat.c - TRANSITIONAL: proves the layer-list trainer (nn_train.h) bit-identical to the old
 * 2-layer trainer (mlp_train.h) on 2-layer one-head nets, so that `make train` reproduces the default models bit
 * for bit after the switch: nn_loss_grad vs mlp_loss_grad (loss and every gradient float), hundreds of
 * nn_trainer_fit_epoch / nn_trainer_step vs mlp_trainer_* steps on the same weights, data and rng seed (memcmp of
 * the parameters after every epoch), and old mlp_trainer checkpoints loading and resuming identically.
 * Delete this file together with src/nn/mlp_train.*. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nn/mlp.h"
#include "nn/mlp_train.h"
#include "nn/net.h"
#include "nn/nn_train.h"

static char tmpdir[256];

/* The same random 2-layer net both ways: mlp_init_random and nn_init_random draw the same stream. */
static int twin_nets(int hidden, int out, mlp_act ha, mlp_act oa, uint64_t seed, mlp *m, nn_net *n) {
    nrps_rng r1, r2;
    nrps_rng_seed(&r1, seed);
    nrps_rng_seed(&r2, seed);
    nn_head_kind kind = out == 9 ? NN_HEAD_POLICY : out == 1 ? NN_HEAD_VALUE : NN_HEAD_OTHER;
    nn_arch a = nn_arch_mlp(81, &hidden, 1, (nn_act)ha, 0, out, (nn_act)oa, kind);
    if (mlp_init(m, 81, hidden, out, ha, oa) != NRPS_OK || nn_init(n, &a) != NRPS_OK) return 0;
    mlp_init_random(m, &r1);
    nn_init_random(n, &r2);
    return n->n_params == mlp_param_count(81, hidden, out) &&
           memcmp(m->params, n->params, n->n_params * sizeof(float)) == 0;
}

/* Board-like data: sparse 0/1 inputs; policy targets are distributions with zeros, value targets 0, 1 or 0.5. */
static void game_like_data(nrps_rng *r, int n, int out, float *x, float *t) {
    for (int i = 0; i < n * 81; i++) x[i] = nrps_rng_uniform(r) < 0.25 ? 1.0f : 0.0f;
    for (int b = 0; b < n; b++) {
        float *tb = t + (size_t)b * out;
        if (out == 1) {
            double u = nrps_rng_uniform(r);
            tb[0] = u < 0.45 ? 0.0f : u < 0.9 ? 1.0f : 0.5f;
            continue;
        }
        double s = 0;
        for (int k = 0; k < out; k++) s += (tb[k] = nrps_rng_uniform(r) < 0.5 ? 0.0f : (float)nrps_rng_uniform(r));
        for (int k = 0; k < out; k++) tb[k] = s > 0 ? (float)(tb[k] / s) : 1.0f / (float)out;
    }
}

typedef struct {
    mlp_act ha, oa;
    int hidden, out;
    mlp_value_loss vl;
    const char *what;
} compat_case;

static const compat_case cases[] = {
    {MLP_ACT_RELU, MLP_ACT_SOFTMAX, 128, 9, MLP_LOSS_MSE, "81-128-9 relu/softmax CE"},
    {MLP_ACT_RELU, MLP_ACT_SIGMOID, 64, 1, MLP_LOSS_BCE, "81-64-1 relu/sigmoid BCE"},
    {MLP_ACT_RELU, MLP_ACT_SIGMOID, 64, 1, MLP_LOSS_MSE, "81-64-1 relu/sigmoid MSE"},
    {MLP_ACT_TANH, MLP_ACT_LOGSOFTMAX, 16, 9, MLP_LOSS_MSE, "81-16-9 tanh/logsoftmax CE"},
    {MLP_ACT_SIGMOID, MLP_ACT_TANH, 16, 1, MLP_LOSS_MSE, "81-16-1 sigmoid/tanh MSE"},
    {MLP_ACT_RELU, MLP_ACT_NONE, 16, 3, MLP_LOSS_MSE, "81-16-3 relu/none MSE"},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static nn_train_config nn_config_of(const mlp_train_config *m) {
    nn_train_config c = nn_train_config_default();
    c.lr = m->lr, c.beta1 = m->beta1, c.beta2 = m->beta2, c.eps = m->eps, c.weight_decay = m->weight_decay;
    c.value_loss = m->value_loss == MLP_LOSS_BCE ? NN_LOSS_BCE : NN_LOSS_MSE;
    c.max_batch = m->max_batch;
    return c;
}

static void test_loss_grad_bit_identical(void) {
    for (int k = 0; k < N_CASES; k++) {
        const compat_case *cc = &cases[k];
        mlp m;
        nn_net n;
        REQUIRE(twin_nets(cc->hidden, cc->out, cc->ha, cc->oa, 100 + k, &m, &n));
        enum { B = 37 };
        static float x[B * 81], t[B * 9];
        nrps_rng r;
        nrps_rng_seed(&r, 200 + k);
        game_like_data(&r, B, cc->out, x, t);
        float *g1 = malloc(n.n_params * sizeof(float)), *g2 = malloc(n.n_params * sizeof(float));
        mlp_train_config mc = mlp_train_config_default();
        mc.value_loss = cc->vl;
        nn_train_config nc = nn_config_of(&mc);
        const float *ts[1] = {t};
        double l1 = mlp_loss_grad(&m, x, t, B, cc->vl, g1, NULL);
        double l2 = nn_loss_grad(&n, x, ts, B, &nc, g2, NULL, NULL);
        CHECK_MSG(memcmp(&l1, &l2, sizeof l1) == 0 && isfinite(l1), "%s: loss %.17g vs %.17g", cc->what, l1, l2);
        CHECK_MSG(memcmp(g1, g2, n.n_params * sizeof(float)) == 0, "%s: gradients differ", cc->what);
        free(g1);
        free(g2);
        mlp_free(&m);
        nn_free(&n);
    }
}

/* Epochs of the default training setup (lr 1e-3, weight decay 1e-4, batch 64) on both trainers: identical
 * parameters after every epoch, identical epoch losses. steps: total Adam steps run. */
static void fit_both(const compat_case *cc, int n_samples, int epochs, long long *steps) {
    mlp m;
    nn_net n;
    REQUIRE(twin_nets(cc->hidden, cc->out, cc->ha, cc->oa, 7, &m, &n));
    float *x = malloc((size_t)n_samples * 81 * sizeof(float)), *t = malloc((size_t)n_samples * cc->out * sizeof(float));
    nrps_rng r, r1, r2;
    nrps_rng_seed(&r, 8);
    game_like_data(&r, n_samples, cc->out, x, t);
    mlp_train_config mc = mlp_train_config_default();
    mc.weight_decay = 1e-4f;
    mc.max_batch = 64;
    mc.value_loss = cc->vl;
    nn_train_config nc = nn_config_of(&mc);
    mlp_trainer *t1 = mlp_trainer_create_ex(&m, &mc);
    nn_trainer *t2 = nn_trainer_create(&n, &nc);
    REQUIRE(t1 && t2);
    nrps_rng_seed(&r1, 9);
    nrps_rng_seed(&r2, 9);
    const float *ts[1] = {t};
    int diverged = -1;
    for (int e = 0; e < epochs && diverged < 0; e++) {
        double l1 = 0, l2 = 0, hl = 0;
        REQUIRE(mlp_trainer_fit_epoch(t1, x, t, n_samples, &r1, &l1) == NRPS_OK);
        REQUIRE(nn_trainer_fit_epoch(t2, x, ts, n_samples, &r2, &l2, &hl) == NRPS_OK);
        if (memcmp(m.params, n.params, n.n_params * sizeof(float)) || memcmp(&l1, &l2, sizeof l1) || l2 != hl)
            diverged = e;
    }
    CHECK_MSG(diverged < 0, "%s: parameters or losses differ after epoch %d", cc->what, diverged);
    CHECK(memcmp(mlp_trainer_grad(t1), nn_trainer_grad(t2), n.n_params * sizeof(float)) == 0);
    CHECK(mlp_trainer_steps(t1) == nn_trainer_steps(t2));
    *steps = nn_trainer_steps(t2);
    /* And single steps on one fixed batch. */
    for (int s = 0; s < 50; s++) {
        double l1, l2;
        mlp_trainer_step(t1, x, t, 64, &l1);
        nn_trainer_step(t2, x, ts, 64, &l2, NULL);
        if (memcmp(&l1, &l2, sizeof l1) && diverged < 0) diverged = 1000 + s;
    }
    CHECK_MSG(memcmp(m.params, n.params, n.n_params * sizeof(float)) == 0 && diverged < 0, "%s: steps differ (%d)",
              cc->what, diverged);
    mlp_trainer_destroy(t1);
    nn_trainer_destroy(t2);
    free(x);
    free(t);
    mlp_free(&m);
    nn_free(&n);
}

static void test_training_bit_identical(void) {
    long long steps[3] = {0};
    for (int k = 0; k < 3; k++) fit_both(&cases[k], 1000, 20, &steps[k]);
    printf("  %lld / %lld / %lld epoch steps + 50 single steps each: parameters memcmp-identical after every epoch\n",
           steps[0], steps[1], steps[2]);
    CHECK(steps[0] == 20 * 16 && steps[1] == steps[0] && steps[2] == steps[0]);
}

/* An mlp_trainer checkpoint (format version 1) loads into nn_trainer and resumes identically. */
static void test_old_checkpoint_resumes(void) {
    const compat_case *cc = &cases[0];
    mlp m, m2 = {0};
    nn_net n;
    REQUIRE(twin_nets(cc->hidden, cc->out, cc->ha, cc->oa, 21, &m, &n));
    enum { B = 16 };
    static float x[B * 81], t[B * 9];
    nrps_rng r;
    nrps_rng_seed(&r, 22);
    game_like_data(&r, B, 9, x, t);
    mlp_trainer *t1 = mlp_trainer_create(&m, 3e-3f, 1e-2f, B);
    REQUIRE(t1);
    for (int s = 0; s < 5; s++) mlp_trainer_step(t1, x, t, B, NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/old.ckpt", tmpdir);
    REQUIRE(mlp_trainer_save(t1, path) == NRPS_OK);
    nn_net n2;
    nn_trainer *t2 = NULL;
    REQUIRE(nn_trainer_load(path, B, &n.arch, &n2, &t2) == NRPS_OK);
    CHECK(n2.arch.head[0].kind == NN_HEAD_POLICY && !strcmp(n2.arch.head[0].name, "output"));
    CHECK(nn_trainer_steps(t2) == 5 && nn_trainer_config(t2).weight_decay == 1e-2f &&
          nn_trainer_config(t2).lr == 3e-3f && nn_trainer_config(t2).head_weight[0] == 1.0f);
    CHECK(memcmp(m.params, n2.params, n2.n_params * sizeof(float)) == 0);
    const float *ts[1] = {t};
    for (int s = 0; s < 20; s++) {
        mlp_trainer_step(t1, x, t, B, NULL);
        nn_trainer_step(t2, x, ts, B, NULL, NULL);
    }
    CHECK(memcmp(m.params, n2.params, n2.n_params * sizeof(float)) == 0);
    /* A value checkpoint is a VALUE head; a policy one is refused where a value net is expected. */
    mlp_trainer_destroy(t1);
    mlp_free(&m);
    nn_trainer_destroy(t2);
    nn_free(&n2);
    nn_free(&n);
    REQUIRE(twin_nets(64, 1, MLP_ACT_RELU, MLP_ACT_SIGMOID, 23, &m2, &n2));
    CHECK(nn_trainer_load(path, B, &n2.arch, &n, &t2) == NRPS_ERR_ARG && t2 == NULL);
    t1 = mlp_trainer_create(&m2, 1e-3f, 0, B);
    REQUIRE(t1 && mlp_trainer_save(t1, path) == NRPS_OK);
    nn_net n3;
    CHECK(nn_trainer_load(path, B, &n2.arch, &n3, &t2) == NRPS_OK && n3.arch.head[0].kind == NN_HEAD_VALUE);
    mlp_trainer_destroy(t1);
    nn_trainer_destroy(t2);
    nn_free(&n3);
    nn_free(&n2);
    mlp_free(&m2);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nrps_test_compat.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_loss_grad_bit_identical);
    RUN(test_training_bit_identical);
    RUN(test_old_checkpoint_resumes);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("nn_train_mlp_compat");
}
