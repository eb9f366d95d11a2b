/* test_backend.c - every backend against the plain-C reference (nn_forward) with an abs+rel tolerance, on
 * self-play positions and random inputs at batch sizes 1, 7 and 64, for 1-, 2-, 3- and 5-layer networks and
 * two-headed ones (written by our own ONNX writer and read back as be_models). Also: the registry (names,
 * descriptions, unknown names), names/shapes read from the ONNX Runtime session, the GPU backends' clean errors
 * on a machine without a GPU, native backends refusing models outside the family, the ORT identity floor, the
 * input cache and the timing loop. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "bench/bench.h"
#include "check.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"

/* self-play inputs for the tests: small MCTS with rollouts (no network files needed), temperature 1 */
#define AGENT "mcts:16,temp=1,tplies=-1"

enum { N_ARCH = 7 };
static nn_net g_net[N_ARCH];
static be_model *g_model[N_ARCH];
static const char *g_arch_name[N_ARCH] = {"81-128-9 policy", "81-64-1 value", "81-9 linear", "81-32-16-9 tanh",
                                          "81-40-30-20-10-9 leaky", "two-headed 81-32 -> 9 | 16-1",
                                          "two-headed trunk 0"};
static float g_pos[64 * 81];

static nn_arch arch_at(int k) {
    static const int h1[1] = {128}, h2[1] = {64}, h3[2] = {32, 16}, h5[4] = {40, 30, 20, 10}, t[1] = {32},
                     v[1] = {16};
    switch (k) {
    case 0: return nn_arch_mlp(81, h1, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY);
    case 1: return nn_arch_mlp(81, h2, 1, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE);
    case 2: return nn_arch_mlp(81, NULL, 0, NN_ACT_RELU, 0, 9, NN_ACT_LOGSOFTMAX, NN_HEAD_POLICY);
    case 3: return nn_arch_mlp(81, h3, 2, NN_ACT_TANH, 0, 9, NN_ACT_NONE, NN_HEAD_POLICY);
    case 4: return nn_arch_mlp(81, h5, 4, NN_ACT_LEAKY_RELU, 0.05f, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY);
    case 5: return nn_arch_two_heads(81, t, 1, NULL, 0, v, 1, NN_ACT_RELU, 0);
    default: return nn_arch_two_heads(81, NULL, 0, t, 1, v, 1, NN_ACT_SIGMOID, 0);
    }
}

static int setup(void) {
    nrps_rng r;
    nrps_rng_seed(&r, 1);
    for (int k = 0; k < N_ARCH; k++) {
        nn_arch a = arch_at(k);
        if (nn_init(&g_net[k], &a) != NRPS_OK) return 0;
        for (size_t i = 0; i < g_net[k].n_params; i++) g_net[k].params[i] = (float)(0.3 * nrps_rng_normal(&r));
        if (be_model_from_net(&g_net[k], NULL, g_arch_name[k], &g_model[k]) != NRPS_OK) return 0;
    }
    char desc[256];
    return bench_inputs_make(BENCH_INPUTS_SELFPLAY, 64, 81, 7, AGENT, RPS_ENC_BOARD, NULL, g_pos, desc, sizeof desc) == NRPS_OK;
}

/* Backend `name` on model k at batches 1, 7, 64 against nn_forward; through caller and backend buffers. */
static void check_model(const char *name, int k) {
    static const int batches[3] = {1, 7, 64};
    const nn_net *n = &g_net[k];
    const int nh = n->arch.n_heads;
    be_options o = be_options_default();
    o.max_batch = 64;
    be_backend *b = NULL;
    nrps_status rc = be_create(name, g_model[k], &o, &b);
    CHECK_MSG(rc == NRPS_OK, "%s on %s: %s", name, g_arch_name[k], nrps_last_error());
    if (rc != NRPS_OK) return;
    const be_info *bi = be_get_info(b);
    CHECK(bi->input[0].width == 81 && bi->n_outputs == nh && !strcmp(bi->input[0].name, "input"));
    for (int h = 0; h < nh && h < bi->n_outputs; h++) {
        CHECK(bi->output[h].width == nn_head_width(&n->arch, h));
        CHECK(!strcmp(bi->output[h].name, n->arch.head[h].name));
        CHECK(bi->output[h].kind == n->arch.head[h].kind);
        CHECK(bi->output[h].final_act == nn_head_act(&n->arch, h));
    }
    CHECK(bi->create_ms > 0);
    float ref[2][64 * 9], got[2][64 * 9], scratch[3 * 64 * 128];
    float *refs[2] = {ref[0], ref[1]}, *gots[2] = {got[0], got[1]};
    for (int bi2 = 0; bi2 < 3; bi2++) {
        int nb = batches[bi2];
        CHECK(nn_forward(n, g_pos, nb, refs, scratch) == NRPS_OK);
        memset(got, 0xff, sizeof got); /* NaN fill: a missing write shows up */
        CHECK(be_run(b, g_pos, nb, gots) == NRPS_OK);
        for (int h = 0; h < nh; h++) {
            bench_validation v;
            bench_compare(got[h], ref[h], nb, nn_head_width(&n->arch, h), 1e-5, 1e-4, &v);
            CHECK_MSG(v.ok, "%s %s head %d batch %d vs nn_forward: max abs %.3g rel %.3g, top1 %ld/%ld", name,
                      g_arch_name[k], h, nb, v.max_abs, v.max_rel, v.top1_agree, v.top1_rows);
        }
        float *bin, *bout[BE_MAX_IO];
        be_io_buffers(b, &bin, bout);
        if (bin) { /* the benchmark's zero-copy path */
            memcpy(bin, g_pos, sizeof(float) * 81 * nb);
            CHECK(be_run(b, bin, nb, bout) == NRPS_OK);
            for (int h = 0; h < nh; h++) {
                bench_validation v;
                bench_compare(bout[h], ref[h], nb, nn_head_width(&n->arch, h), 1e-5, 1e-4, &v);
                CHECK(v.ok);
            }
        }
    }
    CHECK(be_run(b, g_pos, 0, gots) == NRPS_ERR_ARG);
    CHECK(be_run(b, g_pos, 65, gots) == NRPS_ERR_ARG);
    be_destroy(b);
}

static void check_backend(const char *name) {
    for (int k = 0; k < N_ARCH; k++) check_model(name, k);
    /* the outputs are not trivial: policy rows sum to 1, values in (0,1) and not all equal */
    float y[2][64 * 9];
    float *ys[2] = {y[0], y[1]};
    CHECK(nn_forward(&g_net[0], g_pos, 8, ys, NULL) == NRPS_OK);
    double sum = 0;
    for (int j = 0; j < 9; j++) sum += y[0][j];
    CHECK_NEAR(sum, 1.0, 1e-5);
}

static void test_native_ref(void) { check_backend("native-ref"); }
static void test_native_cpu(void) { check_backend("native-cpu"); }
/* the 8-lane kernel too, where the CPU would pick the AVX-512 one */
static void test_native_cpu_8_lanes(void) {
    setenv("NRPS_NO_AVX512", "1", 1);
    be_options o = be_options_default();
    be_backend *b = NULL;
    REQUIRE(be_create("native-cpu", g_model[0], &o, &b) == NRPS_OK);
    CHECK(strstr(be_get_info(b)->provider, "AVX-512") == NULL);
    printf("  kernel: %s\n", be_get_info(b)->provider);
    be_destroy(b);
    check_backend("native-cpu");
    unsetenv("NRPS_NO_AVX512");
}
static void test_ort_cpu(void) { check_backend("ort-cpu"); }
static void test_ort_generic_provider_name(void) { check_backend("ort-CPUExecutionProvider"); }

static void test_native_cpu_large_batch(void) {
    /* tiles of 8 with a ragged tail, beyond the 64 positions: compare 1000 random inputs */
    be_options o = be_options_default();
    o.max_batch = 1000;
    be_backend *b = NULL;
    REQUIRE(be_create("native-cpu", g_model[0], &o, &b) == NRPS_OK);
    printf("  kernel: %s\n", be_get_info(b)->provider);
    float *x = malloc(sizeof(float) * 1000 * 81), *y = malloc(sizeof(float) * 1000 * 9),
          *r = malloc(sizeof(float) * 1000 * 9);
    char d[128];
    bench_validation v;
    CHECK(bench_inputs_make(BENCH_INPUTS_RANDOM, 1000, 81, 3, NULL, RPS_ENC_BOARD, NULL, x, d, sizeof d) == NRPS_OK);
    CHECK(be_run(b, x, 1000, &y) == NRPS_OK);
    CHECK(nn_forward(&g_net[0], x, 1000, &r, NULL) == NRPS_OK);
    bench_compare(y, r, 1000, 9, 1e-5, 1e-4, &v);
    CHECK(v.ok);
    free(x), free(y), free(r);
    be_destroy(b);
}

static void expect_unavailable(const char *name) {
    be_options o = be_options_default();
    be_backend *b = (be_backend *)1;
    nrps_status rc = be_create(name, g_model[0], &o, &b);
    if (rc == NRPS_OK) {
        printf("  note: %s is available here (%s)\n", name, be_get_info(b)->device);
        be_destroy(b);
        return;
    }
    const char *e = nrps_last_error();
    CHECK(b == NULL);
    CHECK(rc == NRPS_ERR_UNAVAILABLE);
    CHECK(!strncmp(e, name, strlen(name)));
    CHECK(strchr(e, '\n') == NULL);
    printf("  %s -> %s\n", name, e);
}

static void test_native_cuda(void) {
    be_options o = be_options_default();
    be_backend *b = NULL;
    if (be_create("native-cuda", g_model[0], &o, &b) == NRPS_OK) {
        be_destroy(b);
        check_backend("native-cuda");
        return;
    }
    const char *e = nrps_last_error();
    CHECK(b == NULL);
    CHECK(strchr(e, '\n') == NULL);
#ifdef NRPS_HAVE_CUDA
    CHECK(strstr(e, "native-cuda: no CUDA device: ") != NULL || strstr(e, "does not exist") != NULL);
#else
    CHECK(strstr(e, "not compiled in") != NULL);
#endif
    if (check_cur_failed) return;
    SKIP(e);
}

static void test_ort_gpu_providers(void) {
    /* The CUDA/TensorRT providers may load through the classic call (GPU build) or as plugin libraries next
     * to the CPU build (make deps-gpu): try to create them; where that works they must match the reference,
     * elsewhere they must fail cleanly with one line naming the backend. */
    const char *gpu[] = {"ort-cuda", "ort-tensorrt"};
    for (int i = 0; i < 2; i++) {
        be_options o = be_options_default();
        be_backend *b = NULL;
        if (be_create(gpu[i], g_model[0], &o, &b) == NRPS_OK) {
            be_destroy(b);
            check_backend(gpu[i]);
        } else {
            expect_unavailable(gpu[i]);
        }
    }
    expect_unavailable("ort-openvino");
    expect_unavailable("ort-rocm");
}

static void test_registry_and_bad_names(void) {
    be_options o = be_options_default();
    be_backend *b = NULL;
    CHECK(be_create("tpu", g_model[0], &o, &b) == NRPS_ERR_ARG && b == NULL);
    const char *e = nrps_last_error();
    CHECK(strstr(e, "unknown backend 'tpu'") != NULL);
    /* the error lists the registry: every entry's name appears, and every entry has a description */
    int has_ref = 0;
    for (int i = 0; i < be_registry_count(); i++) {
        CHECK_MSG(strstr(e, be_registry_name(i)) != NULL, "'%s' not in '%s'", be_registry_name(i), e);
        CHECK(be_registry_description(i) && strlen(be_registry_description(i)) > 10);
        has_ref |= !strcmp(be_registry_name(i), "native-ref");
    }
    CHECK(has_ref && be_registry_count() >= 6 && be_registry_name(be_registry_count()) == NULL);
    CHECK(be_name_known("native-ref") && be_name_known("ort-cpu") && be_name_known("ort-rocm"));
    CHECK(!be_name_known("ort-frob") && !be_name_known("native") && !be_name_known(""));
    CHECK(be_is_gpu("ort-cuda") && be_is_gpu("native-cuda") && be_is_gpu("ort-rocm"));
    CHECK(!be_is_gpu("ort-cpu") && !be_is_gpu("native-cpu") && !be_is_gpu("native-ref") && !be_is_gpu("ort-xnnpack"));
    CHECK(be_is_native("native-ref") && be_is_native("native-cuda") && !be_is_native("ort-cpu"));
    CHECK(!strcmp(be_ort_provider_full_name("tensorrt"), "TensorrtExecutionProvider"));
    be_model *m = NULL;
    CHECK(be_model_load("/nonexistent/x.onnx", &m) != NRPS_OK && m == NULL);
    CHECK(strstr(nrps_last_error(), "/nonexistent/x.onnx") != NULL);
    CHECK(be_model_from_bytes("garbage", 7, "junk bytes", &m) != NRPS_OK && m == NULL);
    CHECK(strstr(nrps_last_error(), "junk bytes") != NULL);
    be_destroy(NULL);
    be_model_free(NULL);
}

static void test_models_outside_the_family(void) {
    /* The identity graph is valid ONNX but no layer list: ONNX Runtime runs it, our native backends decline it
     * in one line naming the model. */
    uint8_t *bytes = NULL;
    size_t len = 0;
    be_model *m = NULL;
    REQUIRE(onnx_identity_buffer(81, &bytes, &len) == NRPS_OK);
    REQUIRE(be_model_from_bytes(bytes, len, "identity.onnx", &m) == NRPS_OK);
    free(bytes);
    CHECK(be_model_net(m) == NULL && be_model_refusal(m)[0] != 0);
    CHECK(strlen(be_model_sha256(m)) == 64);
    be_options o = be_options_default();
    o.max_batch = 8;
    const char *native[3] = {"native-ref", "native-cpu", "native-cuda"};
    for (int i = 0; i < 3; i++) {
        be_backend *b = (be_backend *)1;
        CHECK(be_create(native[i], m, &o, &b) == NRPS_ERR_UNSUPPORTED && b == NULL);
        const char *e = nrps_last_error();
        CHECK_MSG(strstr(e, native[i]) == e && strstr(e, "identity.onnx") && !strchr(e, '\n'), "%s", e);
    }
    be_backend *b = NULL;
    REQUIRE(be_create("ort-cpu", m, &o, &b) == NRPS_OK);
    const be_info *bi = be_get_info(b);
    CHECK(bi->input[0].width == 81 && bi->n_outputs == 1 && bi->output[0].width == 81);
    CHECK(bi->output[0].kind == NN_HEAD_OTHER);
    float y[8 * 81];
    float *ys[1] = {y};
    CHECK(be_run(b, g_pos, 8, ys) == NRPS_OK);
    CHECK(memcmp(y, g_pos, sizeof y) == 0);
    be_destroy(b);
    be_model_free(m);
}

static void test_inputs(void) {
    float a[200 * 81], c[200 * 81];
    char d[256], dir[300], file[400], tmpl[] = "/tmp/nrps_test_backend_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof dir, "%s/cache", tmpl);
    CHECK(bench_inputs_make(BENCH_INPUTS_SELFPLAY, 200, 81, 11, AGENT, RPS_ENC_BOARD, dir, a, d, sizeof d) == NRPS_OK);
    CHECK(strstr(d, "cached") == NULL);
    CHECK(bench_inputs_make(BENCH_INPUTS_SELFPLAY, 200, 81, 11, AGENT, RPS_ENC_BOARD, dir, c, d, sizeof d) == NRPS_OK);
    CHECK(strstr(d, "cached") != NULL);
    CHECK(memcmp(a, c, sizeof a) == 0);
    /* each position is a valid encoding: per cell exactly one of empty/P1/P2, exactly one side to move */
    int bad = 0, first_empty = 0;
    for (int k = 0; k < 200; k++)
        for (int p = 0; p < 9; p++) {
            const float *e = a + k * 81 + 9 * p;
            if (e[3] + e[4] + e[5] != 1.0f || e[6] + e[7] != 1.0f || e[8] != 0.0f) bad++;
            if (k == 0 && e[3] == 1.0f) first_empty++;
        }
    CHECK(bad == 0);
    CHECK(first_empty == 9); /* the pool starts with an opening position */
    CHECK(strstr(d, "mcts:16") != NULL);
    /* a corrupted cache is regenerated, not trusted */
    const char *cached = strstr(d, "(cached ");
    REQUIRE(cached != NULL);
    snprintf(file, sizeof file, "%.*s", (int)(strlen(cached) - 9), cached + 8);
    CHECK(nrps_write_file_atomic(file, "garbage", 7) == NRPS_OK);
    CHECK(bench_inputs_make(BENCH_INPUTS_SELFPLAY, 200, 81, 11, AGENT, RPS_ENC_BOARD, dir, c, d, sizeof d) == NRPS_OK);
    CHECK(strstr(d, "cached") == NULL && memcmp(a, c, sizeof a) == 0);
    /* another agent: other games, other cache file; a bad agent spec is an error naming it */
    CHECK(bench_inputs_make(BENCH_INPUTS_SELFPLAY, 200, 81, 11, "random", RPS_ENC_BOARD, dir, c, d, sizeof d) == NRPS_OK);
    CHECK(strstr(d, "cached") == NULL && memcmp(a, c, sizeof a) != 0);
    CHECK(bench_inputs_make(BENCH_INPUTS_SELFPLAY, 200, 81, 11, "frob:3", RPS_ENC_BOARD, NULL, c, d, sizeof d) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "frob:3") != NULL);
    CHECK(bench_inputs_make(BENCH_INPUTS_SELFPLAY, 10, 80, 11, AGENT, RPS_ENC_BOARD, NULL, c, d, sizeof d) == NRPS_ERR_ARG);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    CHECK(system(cmd) == 0);
}

static void test_timing_loop(void) {
    be_options o = be_options_default();
    o.max_batch = 16;
    be_backend *b = NULL;
    REQUIRE(be_create("native-cpu", g_model[1], &o, &b) == NRPS_OK);
    float *in, *out[BE_MAX_IO];
    be_io_buffers(b, &in, out);
    memcpy(in, g_pos, sizeof(float) * 16 * 81);
    const void *ins[1] = {in};
    void *outs[BE_MAX_IO] = {out[0], out[1]};
    bench_loop_opts lo = bench_loop_opts_default();
    lo.iterations = 300;
    bench_timing t;
    REQUIRE(bench_time_backend(b, ins, outs, 16, &lo, &t) == NRPS_OK);
    CHECK(t.n == 300 && t.st.n == 300);
    CHECK(t.warmup_calls >= 100 && t.warmup_calls % 50 == 0);
    CHECK(t.first_call_us > 0);
    CHECK(t.st.min > 0 && t.st.min <= t.st.p50 && t.st.p50 <= t.st.p99 && t.st.p99 <= t.st.max);
    bench_timing_free(&t);
    lo.warmup = 5;
    lo.duration_s = 0.05;
    REQUIRE(bench_time_backend(b, ins, outs, 16, &lo, &t) == NRPS_OK);
    CHECK(t.warmup_calls == 5 && t.warmup_settled == -1);
    CHECK(t.n >= 1 && t.total_s >= 0.05 && t.total_s < 5.0); /* loose: the machine may be busy */
    bench_timing_free(&t);
    CHECK(bench_time_backend(b, ins, outs, 17, &lo, &t) == NRPS_ERR_ARG);
    be_destroy(b);
}

int main(void) {
    if (!setup()) {
        fprintf(stderr, "setup failed: %s\n", nrps_last_error());
        return 1;
    }
    RUN(test_native_ref);
    RUN(test_native_cpu);
    RUN(test_native_cpu_8_lanes);
    RUN(test_native_cpu_large_batch);
    RUN(test_ort_cpu);
    RUN(test_ort_generic_provider_name);
    RUN(test_native_cuda);
    RUN(test_ort_gpu_providers);
    RUN(test_registry_and_bad_names);
    RUN(test_models_outside_the_family);
    RUN(test_inputs);
    RUN(test_timing_loop);
    for (int k = 0; k < N_ARCH; k++) {
        nn_free(&g_net[k]);
        be_model_free(g_model[k]);
    }
    return check_summary("backend");
}
