/* test_cuda_kernels.c - the native-cuda device side (src/backend/cuda.cu through cuda_native.h) against the reference
 * forward nn_forward: 1-, 2-, 3- and 5-layer nets with every activation, softmax heads narrow enough to be fused
 * and wide enough to need the row kernel, two-headed nets with and without a trunk, at batch 1, 7, 64 and
 * max_batch, through caller memory and through the pinned io buffers; tolerance 1e-5 + 1e-4 |ref|. Also the
 * description built from an nn_net, the refusals of bad descriptions (checked before CUDA is touched, so they run
 * on any machine) and the "no CUDA device" message. Without a CUDA device every GPU case SKIPs with the CUDA error
 * text; built without nvcc (no NRPS_HAVE_CUDA) the suite prints one SKIP and its RESULT line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#ifdef NRPS_HAVE_CUDA
#include "backend/cuda_native.h"
#include "nn/net.h"

enum { MAX_BATCH = 300 };
static const int batches[] = {1, 7, 64, MAX_BATCH};

static char no_device[256]; /* why there is no CUDA device; empty when there is one */
static char device_name[256];

#define NEED_DEVICE()                                                                                  \
    do {                                                                                               \
        if (no_device[0]) SKIP(no_device);                                                             \
    } while (0)

/* Inputs in the two styles the nets see: 0/1 board-like rows (even) and uniform [-1, 1) rows (odd). */
static void fill_inputs(float *x, int batch, int in, nrps_rng *rng) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < in; i++)
            x[(size_t)b * in + i] = b % 2 ? (float)(2 * nrps_rng_uniform(rng) - 1) : nrps_rng_uniform(rng) < 0.3;
}

/* Number of elements of got[n] outside 1e-5 + 1e-4 |ref| of ref[n]; prints the first one. */
static int count_mismatches(const char *what, const float *ref, const float *got, size_t n) {
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        double tol = 1e-5 + 1e-4 * fabs(ref[k]);
        if (!(fabs((double)got[k] - ref[k]) <= tol) && bad++ == 0)
            fprintf(stderr, "  %s: element %zu: cuda %.9g, reference %.9g\n", what, k, got[k], ref[k]);
    }
    return bad;
}

/* Runs n on the device at every batch size (caller memory) and once more through the pinned buffers, comparing
 * every head with nn_forward. Without a device: checks that nc_net_create accepted the description (its only
 * error is the probe's) and marks the test skipped. */
static void compare_on_device(const char *label, const nn_net *n, nrps_rng *rng) {
    const nn_arch *a = &n->arch;
    const int n_runs = (int)(sizeof batches / sizeof *batches) + 1;
    float *x = malloc(sizeof(float) * MAX_BATCH * a->in), *ref[NN_MAX_HEADS] = {0}, *got[NN_MAX_HEADS] = {0};
    for (int h = 0; h < a->n_heads; h++) {
        ref[h] = malloc(sizeof(float) * MAX_BATCH * nn_head_width(a, h));
        got[h] = malloc(sizeof(float) * MAX_BATCH * nn_head_width(a, h));
    }
    fill_inputs(x, MAX_BATCH, a->in, rng);
    CHECK(nn_forward(n, x, MAX_BATCH, ref, NULL) == NRPS_OK); /* rows do not depend on the batch */
    nc_net_desc d;
    nc_net_desc_from(n, &d);
    nc_net *g = NULL;
    char err[256] = "";
    int rc = nc_net_create(&d, 0, MAX_BATCH, &g, device_name, sizeof device_name, err, sizeof err);
    if (no_device[0]) {
        CHECK_MSG(rc != 0 && !strcmp(err, no_device), "%s: nc_net_create: %s", label, err);
        printf("  SKIP %s: %s\n", label, no_device);
        check_cur_skipped = 1;
    }
    CHECK_MSG(no_device[0] || (rc == 0 && g), "%s: nc_net_create: %s", label, err);
    float *pin_in = NULL, *pin_out[NN_MAX_HEADS] = {0};
    if (g) nc_net_io_buffers(g, &pin_in, pin_out);
    for (int t = 0; g && t < n_runs; t++) {
        const int pinned = t == n_runs - 1, batch = pinned ? 7 : batches[t];
        if (pinned) memcpy(pin_in, x, sizeof(float) * batch * a->in);
        rc = nc_net_run(g, pinned ? pin_in : x, batch, pinned ? pin_out : got, err, sizeof err);
        CHECK_MSG(rc == 0, "%s batch %d: nc_net_run: %s", label, batch, err);
        for (int h = 0; h < a->n_heads && rc == 0; h++) {
            char what[128];
            snprintf(what, sizeof what, "%s, head %d, batch %d%s", label, h, batch, pinned ? " (pinned)" : "");
            int bad = count_mismatches(what, ref[h], pinned ? pin_out[h] : got[h], (size_t)batch * nn_head_width(a, h));
            CHECK_MSG(bad == 0, "%s: %d elements off", what, bad);
        }
    }
    nc_net_destroy(g);
    for (int h = 0; h < a->n_heads; h++) free(ref[h]), free(got[h]);
    free(x);
}

/* A random net of architecture a (PyTorch's default init; the last layer scaled by gain for peaked softmaxes). */
static void check_arch(const char *label, nn_arch a, float gain, uint64_t seed) {
    nn_net n;
    REQUIRE(nn_init(&n, &a) == NRPS_OK);
    nrps_rng rng;
    nrps_rng_seed(&rng, seed);
    nn_init_random(&n, &rng);
    for (int h = 0; h < a.n_heads; h++) {
        const int l = a.head[h].first + a.head[h].count - 1;
        for (size_t k = 0; k < (size_t)a.layer[l].out * nn_layer_in(&a, l); k++) n.w[l][k] *= gain;
    }
    compare_on_device(label, &n, &rng);
    nn_free(&n);
}

static nn_arch mlp(int in, const int *hidden, int n_hidden, nn_act ha, int out, nn_act oa) {
    return nn_arch_mlp(in, hidden, n_hidden, ha, ha == NN_ACT_LEAKY_RELU ? 0.01f : 0, out, oa, NN_HEAD_OTHER);
}

static void test_desc_from_net(void) {
    int trunk[1] = {6}, pol[1] = {4};
    nn_arch a = nn_arch_two_heads(81, trunk, 1, pol, 1, NULL, 0, NN_ACT_LEAKY_RELU, 0.2f);
    nn_net n;
    REQUIRE(nn_init(&n, &a) == NRPS_OK);
    nc_net_desc d;
    nc_net_desc_from(&n, &d);
    CHECK(d.in == 81 && d.n_layers == 4 && d.trunk == 1 && d.n_heads == 2);
    CHECK(d.head[0].first == 1 && d.head[0].count == 2 && d.head[1].first == 3 && d.head[1].count == 1);
    for (int l = 0; l < 4; l++) {
        CHECK(d.layer[l].in == nn_layer_in(&a, l) && d.layer[l].out == a.layer[l].out);
        CHECK(d.layer[l].act == (int)a.layer[l].act && d.layer[l].alpha == a.layer[l].alpha);
        CHECK(d.layer[l].w == n.w[l] && d.layer[l].b == n.b[l]);
    }
    CHECK(d.layer[3].in == 6 && d.layer[2].act == NN_ACT_SOFTMAX && d.layer[3].act == NN_ACT_SIGMOID);
    nn_free(&n);
}

/* Expects nc_net_create to refuse d with a message containing want, whether or not there is a device. */
static void expect_refusal(const nc_net_desc *d, int max_batch, const char *want) {
    char err[256] = "";
    nc_net *g = (nc_net *)&err; /* must be reset to NULL */
    CHECK(nc_net_create(d, 0, max_batch, &g, NULL, 0, err, sizeof err) != 0 && g == NULL);
    CHECK_MSG(strstr(err, want) != NULL, "got '%s', want '%s'", err, want);
}

static void test_create_refuses_bad_descriptions(void) {
    static const float w[81 * 16], b[16];
    nc_net_desc d, good;
    memset(&good, 0, sizeof good);
    good.in = 81, good.n_layers = 2, good.n_heads = 1, good.head[0].count = 2;
    good.layer[0] = (nc_layer_desc){81, 16, NN_ACT_RELU, 0, w, b};
    good.layer[1] = (nc_layer_desc){16, 9, NN_ACT_SOFTMAX, 0, w, b};
    d = good, d.layer[1].in = 15;
    expect_refusal(&d, 8, "layer 2 is 15 -> 9, expected input width 16");
    d = good, d.layer[0].act = NN_ACT_SOFTMAX;
    expect_refusal(&d, 8, "layer 1: activation 4 not supported there");
    d = good, d.layer[1].act = 99;
    expect_refusal(&d, 8, "layer 2: activation 99 not supported there");
    d = good, d.layer[1].b = NULL;
    expect_refusal(&d, 8, "layer 2 has no weights");
    d = good, d.head[0].count = 1;
    expect_refusal(&d, 8, "the heads end at layer 1 of 2");
    d = good, d.n_heads = 2, d.head[0].count = 1, d.head[1].first = 0, d.head[1].count = 1;
    expect_refusal(&d, 8, "head 2 does not start at layer 2");
    d = good, d.n_layers = 17;
    expect_refusal(&d, 8, "supported: 1 to 16");
    expect_refusal(&good, 0, "max batch 0");
    expect_refusal(&good, NC_MAX_BATCH + 1, "max batch");
    expect_refusal(NULL, 8, "no network");
}

/* A valid description either gets a device or fails with the probe's message (never anything else). */
static void test_no_device_message(void) {
    static const float w[4 * 3], b[4];
    nc_net_desc d;
    memset(&d, 0, sizeof d);
    d.in = 3, d.n_layers = 1, d.n_heads = 1, d.head[0].count = 1;
    d.layer[0] = (nc_layer_desc){3, 4, NN_ACT_TANH, 0, w, b};
    char err[256] = "";
    nc_net *g = NULL;
    int rc = nc_net_create(&d, 0, 4, &g, NULL, 0, err, sizeof err);
    if (no_device[0]) {
        CHECK(rc != 0 && g == NULL);
        CHECK_MSG(!strcmp(err, no_device) && !strncmp(err, "no CUDA device: ", 16), "'%s' vs '%s'", err, no_device);
    } else {
        CHECK_MSG(rc == 0 && g != NULL, "%s", err);
        nc_net *g2 = NULL;
        rc = nc_net_create(&d, 1 << 20, 4, &g2, NULL, 0, err, sizeof err);
        CHECK(rc != 0 && g2 == NULL && strstr(err, "CUDA device 1048576 does not exist"));
        nc_net_destroy(g);
    }
}

static void test_one_layer_each_activation(void) {
    check_arch("1 layer none", mlp(81, NULL, 0, NN_ACT_NONE, 9, NN_ACT_NONE), 1, 11);
    check_arch("1 layer relu", mlp(81, NULL, 0, NN_ACT_NONE, 20, NN_ACT_RELU), 1, 12);
    check_arch("1 layer sigmoid", mlp(81, NULL, 0, NN_ACT_NONE, 1, NN_ACT_SIGMOID), 4, 13);
    check_arch("1 layer tanh", mlp(33, NULL, 0, NN_ACT_NONE, 17, NN_ACT_TANH), 2, 14);
    check_arch("1 layer softmax 9 (fused)", mlp(81, NULL, 0, NN_ACT_NONE, 9, NN_ACT_SOFTMAX), 4, 15);
    check_arch("1 layer logsoftmax 16 (fused)", mlp(81, NULL, 0, NN_ACT_NONE, 16, NN_ACT_LOGSOFTMAX), 4, 16);
    check_arch("1 layer softmax 37 (row kernel)", mlp(50, NULL, 0, NN_ACT_NONE, 37, NN_ACT_SOFTMAX), 4, 17);
    check_arch("1 layer logsoftmax 100 (row kernel)", mlp(81, NULL, 0, NN_ACT_NONE, 100, NN_ACT_LOGSOFTMAX), 4, 18);
}

static void test_two_layers(void) {
    int h128[1] = {128}, h64[1] = {64}, h37[1] = {37};
    check_arch("81-128-9 relu softmax", mlp(81, h128, 1, NN_ACT_RELU, 9, NN_ACT_SOFTMAX), 1, 21);
    check_arch("81-64-1 relu sigmoid", mlp(81, h64, 1, NN_ACT_RELU, 1, NN_ACT_SIGMOID), 1, 22);
    check_arch("81-37-9 leaky logsoftmax", mlp(81, h37, 1, NN_ACT_LEAKY_RELU, 9, NN_ACT_LOGSOFTMAX), 1, 23);
    check_arch("81-37-1 tanh tanh", mlp(81, h37, 1, NN_ACT_TANH, 1, NN_ACT_TANH), 1, 24);
    check_arch("81-64-9 sigmoid none", mlp(81, h64, 1, NN_ACT_SIGMOID, 9, NN_ACT_NONE), 1, 25);
    check_arch("81-64-9 none softmax", mlp(81, h64, 1, NN_ACT_NONE, 9, NN_ACT_SOFTMAX), 1, 26);
}

static void test_three_and_five_layers(void) {
    int w3[2] = {256, 128}, w5[4] = {40, 33, 17, 16};
    check_arch("81-256-128-9 relu softmax", mlp(81, w3, 2, NN_ACT_RELU, 9, NN_ACT_SOFTMAX), 1, 31);
    check_arch("81-256-128-1 tanh sigmoid", mlp(81, w3, 2, NN_ACT_TANH, 1, NN_ACT_SIGMOID), 1, 32);
    check_arch("81-40-33-17-16-9 leaky logsoftmax", mlp(81, w5, 4, NN_ACT_LEAKY_RELU, 9, NN_ACT_LOGSOFTMAX), 1, 51);
    check_arch("81-40-33-17-16-20 sigmoid softmax", mlp(81, w5, 4, NN_ACT_SIGMOID, 20, NN_ACT_SOFTMAX), 1, 52);
    check_arch("81-40-33-17-16-1 none none", mlp(81, w5, 4, NN_ACT_NONE, 1, NN_ACT_NONE), 1, 53);
}

static void test_two_heads(void) {
    int t64[1] = {64}, t2[2] = {128, 64}, p32[1] = {32}, v16[2] = {16, 8};
    check_arch("81-64 -> policy:9 | value:1",
               nn_arch_two_heads(81, t64, 1, NULL, 0, NULL, 0, NN_ACT_RELU, 0), 1, 61);
    check_arch("81-128-64 -> policy:32-9 | value:16-8-1",
               nn_arch_two_heads(81, t2, 2, p32, 1, v16, 2, NN_ACT_LEAKY_RELU, 0.1f), 3, 62);
    check_arch("no trunk: policy:32-9 | value:16-8-1",
               nn_arch_two_heads(81, NULL, 0, p32, 1, v16, 2, NN_ACT_TANH, 0), 1, 63);
    nn_arch a = nn_arch_two_heads(81, t64, 1, p32, 1, NULL, 0, NN_ACT_SIGMOID, 0);
    a.layer[2].out = 40; /* a policy wider than one tile: the row kernel after a trunk */
    a.layer[2].act = NN_ACT_LOGSOFTMAX;
    a.layer[3].act = NN_ACT_TANH;
    check_arch("81-64 -> 32-40 logsoftmax | 1 tanh", a, 2, 64);
}

static void test_bad_batch(void) {
    NEED_DEVICE();
    int h[1] = {8};
    nn_arch a = mlp(5, h, 1, NN_ACT_RELU, 3, NN_ACT_SOFTMAX);
    nn_net n;
    REQUIRE(nn_init(&n, &a) == NRPS_OK);
    nc_net_desc d;
    nc_net_desc_from(&n, &d);
    nc_net *g = NULL;
    char err[256] = "";
    REQUIRE(nc_net_create(&d, 0, 4, &g, NULL, 0, err, sizeof err) == 0);
    float x[5 * 5] = {0}, y[5 * 3];
    float *out[1] = {y};
    CHECK(nc_net_run(g, x, 5, out, err, sizeof err) != 0 && strstr(err, "batch 5, max 4"));
    CHECK(nc_net_run(g, x, 0, out, err, sizeof err) == 0);
    CHECK(nc_net_run(g, x, 4, out, err, sizeof err) == 0 && fabsf(y[0] + y[1] + y[2] - 1) < 1e-6f);
    nc_net_destroy(g);
    nc_net_destroy(NULL);
    nn_free(&n);
}

int main(void) {
    if (nc_device_probe(no_device, sizeof no_device) > 0) no_device[0] = 0;
    RUN(test_desc_from_net);
    RUN(test_create_refuses_bad_descriptions);
    RUN(test_no_device_message);
    RUN(test_one_layer_each_activation);
    RUN(test_two_layers);
    RUN(test_three_and_five_layers);
    RUN(test_two_heads);
    RUN(test_bad_batch);
    if (device_name[0]) printf("  device: %s\n", device_name);
    return check_summary("cuda_kernels");
}
#else
static void test_cuda_kernels(void) { SKIP("built without nvcc (NRPS_HAVE_CUDA not defined): no native-cuda to test"); }

int main(void) {
    RUN(test_cuda_kernels);
    return check_summary("cuda_kernels");
}
#endif
