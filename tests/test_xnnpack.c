/* test_xnnpack.c - the xnnpack-cpu backend against the plain-C reference (nn_forward) with test_backend.c's
 * tolerance (abs 1e-5 + rel 1e-4, argmax agreement): random networks of 1, 2 and 5 layers with relu / leaky_relu /
 * tanh / sigmoid hidden layers and softmax / sigmoid / tanh / none / logsoftmax heads, two-headed networks (trunk
 * of 0, 1 and 2 layers, heads of 1-3 layers), batches 1, 2, 3, 17, 255 and 1000 in a mixed order (the per-batch
 * setup cache), threads 1 and 2, uniform random and game-like inputs (a third non-zero), through caller buffers
 * and the backend's own; the default models in models/ (run from the repo root). Prints what re-setting the
 * operators up costs per call. Built without XNNPACK (no NRPS_HAVE_XNNPACK) it checks that creation fails with
 * the one-line "not built" error and SKIPs the rest. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "bench/bench.h"
#include "check.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"

enum { MAXB = 1000, N_ARCH = 9 };
static const int g_batches[] = {1, 2, 3, 17, 255, 1000, 17, 1};
enum { N_BATCHES = sizeof g_batches / sizeof g_batches[0] };
static float *g_rand, *g_game; /* MAXB x 81 inputs */

static const char *g_label[N_ARCH] = {
    "81-9 linear softmax", "81-64-9 relu/softmax", "81-64-1 leaky/sigmoid", "81-40-30-20-10-1 tanh/tanh",
    "81-40-30-20-10-9 leaky/logsoftmax", "81-40-30-20-10-9 sigmoid/none", "two-headed 81-32 -> 9 | 16-1 relu",
    "two-headed trunk 0 -> 32-9 | 16-1 tanh", "two-headed 81-48-24 -> 16-12-9 | 16-1 leaky"};

static nn_arch arch_at(int k) {
    static const int h64[1] = {64}, h5[4] = {40, 30, 20, 10}, t1[1] = {32}, t2[2] = {48, 24}, p2[2] = {16, 12},
                     v1[1] = {16};
    const nn_head_kind P = NN_HEAD_POLICY, V = NN_HEAD_VALUE;
    switch (k) {
    case 0: return nn_arch_mlp(81, NULL, 0, NN_ACT_NONE, 0, 9, NN_ACT_SOFTMAX, P);
    case 1: return nn_arch_mlp(81, h64, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX, P);
    case 2: return nn_arch_mlp(81, h64, 1, NN_ACT_LEAKY_RELU, 0.05f, 1, NN_ACT_SIGMOID, V);
    case 3: return nn_arch_mlp(81, h5, 4, NN_ACT_TANH, 0, 1, NN_ACT_TANH, V);
    case 4: return nn_arch_mlp(81, h5, 4, NN_ACT_LEAKY_RELU, 0.01f, 9, NN_ACT_LOGSOFTMAX, P);
    case 5: return nn_arch_mlp(81, h5, 4, NN_ACT_SIGMOID, 0, 9, NN_ACT_NONE, P);
    case 6: return nn_arch_two_heads(81, t1, 1, NULL, 0, v1, 1, NN_ACT_RELU, 0);
    case 7: return nn_arch_two_heads(81, NULL, 0, t1, 1, v1, 1, NN_ACT_TANH, 0);
    default: return nn_arch_two_heads(81, t2, 2, p2, 2, v1, 1, NN_ACT_LEAKY_RELU, 0.1f);
    }
}

/* Uniform [0,1) inputs and game-like ones (each input 1.0 with probability 1/3, else 0). */
static void make_inputs(void) {
    g_rand = malloc(sizeof(float) * MAXB * 81);
    g_game = malloc(sizeof(float) * MAXB * 81);
    nrps_rng r;
    nrps_rng_seed(&r, 11);
    for (int i = 0; i < MAXB * 81; i++) {
        g_rand[i] = (float)nrps_rng_uniform(&r);
        g_game[i] = nrps_rng_below(&r, 3) == 0 ? 1.0f : 0.0f;
    }
}

/* One run of b at batch nb on x (through caller buffers, or the backend's own when own) against nn_forward. */
static void check_run(be_backend *b, const nn_net *n, const float *x, int nb, int own, const char *what) {
    static float ref[2][MAXB * 9], got[2][MAXB * 9];
    float *refs[2] = {ref[0], ref[1]}, *gots[2] = {got[0], got[1]};
    float *bin, *bout[BE_MAX_IO];
    REQUIRE(nn_forward(n, x, nb, refs, NULL) == NRPS_OK);
    be_io_buffers(b, &bin, bout);
    REQUIRE(bin && bout[0] && (n->arch.n_heads == 1 || bout[1]));
    float *const *dst = gots;
    const float *src = x;
    if (own) {
        memcpy(bin, x, sizeof(float) * 81 * (size_t)nb);
        src = bin, dst = bout;
    }
    for (int h = 0; h < n->arch.n_heads; h++) /* NaN fill: a missing write shows up */
        memset(dst[h], 0xff, sizeof(float) * (size_t)nb * (size_t)nn_head_width(&n->arch, h));
    nrps_status rc = be_run(b, src, nb, dst);
    CHECK_MSG(rc == NRPS_OK, "%s batch %d: %s", what, nb, nrps_last_error());
    for (int h = 0; rc == NRPS_OK && h < n->arch.n_heads; h++) {
        bench_validation v;
        bench_compare(dst[h], ref[h], nb, nn_head_width(&n->arch, h), 1e-5, 1e-4, &v);
        CHECK_MSG(v.ok, "%s head %d batch %d%s: max abs %.3g rel %.3g, top1 %ld/%ld", what, h, nb,
                  own ? " (own buffers)" : "", v.max_abs, v.max_rel, v.top1_agree, v.top1_rows);
    }
}

/* xnnpack-cpu with `threads` threads on model m (network n) at every batch, both inputs, both buffer kinds. */
static void check_model(const be_model *m, const nn_net *n, int threads, const char *label) {
    be_options o = be_options_default();
    o.max_batch = MAXB, o.threads = threads;
    be_backend *b = NULL;
    nrps_status rc = be_create("xnnpack-cpu", m, &o, &b);
    CHECK_MSG(rc == NRPS_OK, "%s: %s", label, nrps_last_error());
    if (rc != NRPS_OK) return;
    const be_info *bi = be_get_info(b);
    CHECK(bi->threads == threads && strstr(bi->provider, "XNNPACK") && bi->n_outputs == n->arch.n_heads);
    char what[160];
    for (int i = 0; i < N_BATCHES; i++)
        for (int in = 0; in < 2; in++) {
            snprintf(what, sizeof what, "%s, %d thread%s, %s inputs", label, threads, threads > 1 ? "s" : "",
                     in ? "game-like" : "random");
            check_run(b, n, in ? g_game : g_rand, g_batches[i], i & 1, what);
        }
    CHECK(be_run(b, g_rand, 0, (float *const[]){NULL, NULL}) == NRPS_ERR_ARG);
    CHECK(be_run(b, g_rand, MAXB + 1, (float *const[]){NULL, NULL}) == NRPS_ERR_ARG);
    be_destroy(b);
}

static int built(void) {
#ifdef NRPS_HAVE_XNNPACK
    return 1;
#else
    return 0;
#endif
}

static void test_random_nets(void) {
    if (!built()) SKIP("built without XNNPACK (NRPS_HAVE_XNNPACK not defined): no xnnpack-cpu to test");
    nrps_rng r;
    nrps_rng_seed(&r, 3);
    for (int k = 0; k < N_ARCH; k++) {
        const char *label = g_label[k];
        nn_arch a = arch_at(k);
        nn_net n;
        be_model *m = NULL;
        REQUIRE(nn_init(&n, &a) == NRPS_OK);
        for (size_t i = 0; i < n.n_params; i++) n.params[i] = (float)(0.3 * nrps_rng_normal(&r));
        CHECK(be_model_from_net(&n, NULL, label, &m) == NRPS_OK);
        if (m) {
            check_model(m, &n, 1, label);
            check_model(m, &n, 2, label);
        }
        be_model_free(m);
        nn_free(&n);
    }
}

static void test_default_models(void) {
    if (!built()) SKIP("built without XNNPACK: no xnnpack-cpu to test");
    static const char *files[3] = {"models/rps_policy.onnx", "models/rps_value.onnx", "models/rps_net.onnx"};
    if (access(files[0], R_OK) != 0) SKIP("models/rps_policy.onnx not found (run from the repo root)");
    for (int i = 0; i < 3; i++) {
        be_model *m = NULL;
        CHECK_MSG(be_model_load(files[i], &m) == NRPS_OK, "%s", nrps_last_error());
        if (!m) continue;
        REQUIRE(be_model_net(m) != NULL);
        check_model(m, be_model_net(m), 1, files[i]);
        check_model(m, be_model_net(m), 2, files[i]);
        be_model_free(m);
    }
}

/* Per-call cost of the setup cache: p50 of calls at batch 8 from the same buffers (no setup) against calls that
 * alternate between two input and output buffers (every layer's operator set up again). Printed, not checked. */
static void test_setup_cost(void) {
    if (!built()) SKIP("built without XNNPACK: no xnnpack-cpu to test");
    if (access("models/rps_policy.onnx", R_OK) != 0) SKIP("models/rps_policy.onnx not found (run from the repo root)");
    be_model *m = NULL;
    REQUIRE(be_model_load("models/rps_policy.onnx", &m) == NRPS_OK);
    be_options o = be_options_default();
    be_backend *b = NULL;
    REQUIRE(be_create("xnnpack-cpu", m, &o, &b) == NRPS_OK);
    static float y[2][8 * 9];
    float *ys[2][1] = {{y[0]}, {y[1]}};
    enum { N = 4000 };
    double best[2] = {1e9, 1e9};
    for (int rep = 0; rep < 5; rep++)
        for (int alt = 0; alt < 2; alt++) {
            double t0 = nrps_now_s();
            for (int i = 0; i < N; i++) {
                int k = alt ? i & 1 : 0;
                CHECK(be_run(b, k ? g_game : g_rand, 8, ys[k]) == NRPS_OK);
            }
            double us = (nrps_now_s() - t0) * 1e6 / N;
            if (us < best[alt]) best[alt] = us;
        }
    printf("  81-128-9 batch 8: %.2f us/call set up once, %.2f us/call re-set-up every call (difference %+.2f us)\n",
           best[0], best[1], best[1] - best[0]);
    be_destroy(b);
    be_model_free(m);
}

/* Built or not, a model outside the network family is declined like every native backend does; not built, the
 * backend fails with one line saying so. */
static void test_errors(void) {
    const char *label = g_label[1];
    nn_arch a = arch_at(1);
    nn_net n;
    be_model *m = NULL;
    REQUIRE(nn_init(&n, &a) == NRPS_OK);
    REQUIRE(be_model_from_net(&n, NULL, label, &m) == NRPS_OK);
    CHECK(be_name_known("xnnpack-cpu") && be_is_native("xnnpack-cpu") && !be_is_gpu("xnnpack-cpu"));
    be_options o = be_options_default();
    be_backend *b = (be_backend *)1;
    nrps_status rc = be_create("xnnpack-cpu", m, &o, &b);
    if (built()) CHECK(rc == NRPS_OK && b != NULL);
    else {
        const char *e = nrps_last_error();
        CHECK(rc == NRPS_ERR_UNSUPPORTED && b == NULL && !strchr(e, '\n'));
        CHECK_MSG(!strcmp(e, "xnnpack-cpu: not built (libxnnpack-dev was not installed when neural_rps was compiled; "
                             "run make deps)"), "%s", e);
        printf("  xnnpack-cpu -> %s\n", e);
    }
    be_destroy(rc == NRPS_OK ? b : NULL);
    be_model_free(m);
    nn_free(&n);
    /* the identity graph is valid ONNX but no layer list */
    uint8_t *bytes = NULL;
    size_t len = 0;
    REQUIRE(onnx_identity_buffer(81, &bytes, &len) == NRPS_OK);
    REQUIRE(be_model_from_bytes(bytes, len, "identity.onnx", &m) == NRPS_OK);
    free(bytes);
    b = (be_backend *)1;
    CHECK(be_create("xnnpack-cpu", m, &o, &b) == NRPS_ERR_UNSUPPORTED && b == NULL);
    const char *e = nrps_last_error();
    CHECK_MSG(strstr(e, "xnnpack-cpu: ") == e && strstr(e, "identity.onnx") && !strchr(e, '\n'), "%s", e);
    be_model_free(m);
}

int main(void) {
    make_inputs();
    RUN(test_errors);
    RUN(test_random_nets);
    RUN(test_default_models);
    RUN(test_setup_cost);
    free(g_rand), free(g_game);
    return check_summary("xnnpack");
}
