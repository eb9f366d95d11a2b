/* test_backend.c - every backend against the plain-C reference (mlp_forward) and against native-cpu, with an
 * abs+rel tolerance, on self-play positions at batch sizes 1, 7 and 64, for a policy (Softmax) and a value
 * (Sigmoid) net written by our own ONNX writer. Also: names/shapes read from the ONNX Runtime session, the GPU
 * backends' clean errors on a machine without a GPU, bad names, the ORT identity floor, and the input cache. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "bench/bench.h"
#include "check.h"
#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"

/* self-play inputs for the tests: small MCTS with rollouts (no network files needed), temperature 1 */
#define AGENT "mcts:16,temp=1,tplies=-1"

static char g_dir[] = "/tmp/nrps_test_backend_XXXXXX";
static char g_policy[256], g_value[256];
static mlp g_pm, g_vm;
static float g_pos[64 * 81];

static void fill_random(mlp *m, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    size_t n = mlp_param_count(m->in, m->hidden, m->out);
    for (size_t i = 0; i < n; i++) m->params[i] = (float)(0.3 * nrps_rng_normal(&r));
}

static int setup(void) {
    if (!mkdtemp(g_dir)) return 0;
    snprintf(g_policy, sizeof g_policy, "%s/policy.onnx", g_dir);
    snprintf(g_value, sizeof g_value, "%s/value.onnx", g_dir);
    if (mlp_init(&g_pm, 81, 128, 9, MLP_ACT_RELU, MLP_ACT_SOFTMAX) || mlp_init(&g_vm, 81, 64, 1, MLP_ACT_RELU, MLP_ACT_SIGMOID))
        return 0;
    fill_random(&g_pm, 1);
    fill_random(&g_vm, 2);
    if (onnx_mlp_save(g_policy, &g_pm, NULL) || onnx_mlp_save(g_value, &g_vm, NULL)) {
        fprintf(stderr, "setup: %s\n", nrps_last_error());
        return 0;
    }
    char desc[256];
    return bench_inputs_make(BENCH_INPUTS_SELFPLAY, 64, 81, 7, AGENT, RPS_ENC_BOARD, NULL, g_pos, desc, sizeof desc) == NRPS_OK;
}

/* Runs backend `name` on both models at batches 1, 7, 64 and compares with mlp_forward and native-cpu. */
static void check_backend(const char *name) {
    const char *paths[2] = {g_policy, g_value};
    const mlp *ms[2] = {&g_pm, &g_vm};
    static const int batches[3] = {1, 7, 64};
    for (int k = 0; k < 2; k++) {
        be_options o = be_options_default();
        o.max_batch = 64;
        be_backend *b = NULL, *nat = NULL;
        nrps_status rc = be_create(name, paths[k], &o, &b);
        REQUIRE(rc == NRPS_OK || (printf("  %s\n", nrps_last_error()), 0));
        REQUIRE(be_create("native-cpu", paths[k], &o, &nat) == NRPS_OK);
        CHECK(b->info.input_size == 81);
        CHECK(b->info.output_size == ms[k]->out);
        CHECK(!strcmp(b->info.input_name, "input"));
        CHECK(!strcmp(b->info.output_name, "output"));
        CHECK(b->info.create_ms > 0);
        float ref[64 * 9], got[64 * 9], nat_out[64 * 9], scratch[64 * 128];
        for (int bi = 0; bi < 3; bi++) {
            int n = batches[bi];
            CHECK(mlp_forward(ms[k], g_pos, n, ref, scratch) == NRPS_OK);
            memset(got, 0xff, sizeof got); /* NaN fill: a missing write shows up */
            CHECK(be_run(b, g_pos, n, got) == NRPS_OK);
            CHECK(be_run(nat, g_pos, n, nat_out) == NRPS_OK);
            bench_validation v1, v2;
            bench_compare(got, ref, n, ms[k]->out, 1e-5, 1e-4, &v1);
            bench_compare(got, nat_out, n, ms[k]->out, 1e-5, 1e-4, &v2);
            CHECK_MSG(v1.ok, "%s %s batch %d vs mlp_forward: max abs %.3g rel %.3g, top1 %ld/%ld", name,
                      k ? "value" : "policy", n, v1.max_abs, v1.max_rel, v1.top1_agree, v1.top1_rows);
            CHECK_MSG(v2.ok, "%s batch %d vs native-cpu: max abs %.3g", name, n, v2.max_abs);
            /* through the backend's own buffers (the benchmark's zero-copy path) */
            float *bin, *bout;
            be_io_buffers(b, &bin, &bout);
            if (bin) {
                memcpy(bin, g_pos, sizeof(float) * 81 * n);
                CHECK(be_run(b, bin, n, bout) == NRPS_OK);
                bench_compare(bout, ref, n, ms[k]->out, 1e-5, 1e-4, &v1);
                CHECK(v1.ok);
            }
        }
        /* the outputs are not trivial: policy rows sum to 1, values in (0,1) and not all equal */
        if (k == 0) {
            double s = 0;
            for (int j = 0; j < 9; j++) s += got[j];
            CHECK_NEAR(s, 1.0, 1e-5);
        } else {
            CHECK(got[0] > 0 && got[0] < 1 && got[0] != got[5]);
        }
        CHECK(be_forward(b, g_pos, 1, got) == NRPS_OK);
        bench_validation v3;
        bench_compare(got, ref, 1, ms[k]->out, 1e-5, 1e-4, &v3); /* ref still holds batch 64: row 0 = sample 0 */
        CHECK(v3.ok);
        CHECK(be_run(b, g_pos, 0, got) == NRPS_ERR_ARG);
        CHECK(be_run(b, g_pos, 65, got) == NRPS_ERR_ARG);
        be_destroy(b);
        be_destroy(nat);
    }
}

static void test_native_cpu(void) { check_backend("native-cpu"); }
/* the 8-lane kernel too, where the CPU would pick the AVX-512 one */
static void test_native_cpu_8_lanes(void) {
    setenv("NRPS_NO_AVX512", "1", 1);
    be_options o = be_options_default();
    be_backend *b = NULL;
    REQUIRE(be_create("native-cpu", g_policy, &o, &b) == NRPS_OK);
    CHECK(strstr(b->info.provider, "AVX-512") == NULL);
    printf("  kernel: %s\n", b->info.provider);
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
    REQUIRE(be_create("native-cpu", g_policy, &o, &b) == NRPS_OK);
    printf("  kernel: %s\n", b->info.provider);
    float *x = malloc(sizeof(float) * 1000 * 81), *y = malloc(sizeof(float) * 1000 * 9),
          *r = malloc(sizeof(float) * 1000 * 9), *sc = malloc(sizeof(float) * 1000 * 128);
    char d[128];
    bench_validation v;
    CHECK(bench_inputs_make(BENCH_INPUTS_RANDOM, 1000, 81, 3, NULL, RPS_ENC_BOARD, NULL, x, d, sizeof d) == NRPS_OK);
    CHECK(be_run(b, x, 1000, y) == NRPS_OK);
    CHECK(mlp_forward(&g_pm, x, 1000, r, sc) == NRPS_OK);
    bench_compare(y, r, 1000, 9, 1e-5, 1e-4, &v);
    CHECK(v.ok);
    free(x), free(y), free(r), free(sc);
    be_destroy(b);
}

static void expect_unavailable(const char *name) {
    be_options o = be_options_default();
    be_backend *b = (be_backend *)1;
    nrps_status rc = be_create(name, g_policy, &o, &b);
    if (rc == NRPS_OK) {
        printf("  note: %s is available here (%s)\n", name, b->info.device);
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
    if (be_create("native-cuda", g_policy, &o, &b) == NRPS_OK) {
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
        if (be_create(gpu[i], g_policy, &o, &b) == NRPS_OK) {
            be_destroy(b);
            check_backend(gpu[i]);
        } else {
            expect_unavailable(gpu[i]);
        }
    }
    expect_unavailable("ort-openvino");
    expect_unavailable("ort-rocm");
}

static void test_bad_names_and_files(void) {
    be_options o = be_options_default();
    be_backend *b = NULL;
    CHECK(be_create("tpu", g_policy, &o, &b) == NRPS_ERR_ARG && b == NULL);
    CHECK(strstr(nrps_last_error(), "unknown backend 'tpu'") != NULL);
    CHECK(be_create("ort-cpu", "/nonexistent/x.onnx", &o, &b) != NRPS_OK && b == NULL);
    CHECK(strstr(nrps_last_error(), "/nonexistent/x.onnx") != NULL);
    CHECK(be_create("native-cpu", "/nonexistent/x.onnx", &o, &b) != NRPS_OK && b == NULL);
    CHECK(be_is_gpu("ort-cuda") && be_is_gpu("native-cuda") && !be_is_gpu("ort-cpu") && !be_is_gpu("native-cpu"));
    CHECK(!strcmp(be_ort_provider_full_name("tensorrt"), "TensorrtExecutionProvider"));
    be_destroy(NULL);
}

static void test_ort_identity_floor(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/identity.onnx", g_dir);
    REQUIRE(onnx_identity_save(path, 81) == NRPS_OK);
    be_options o = be_options_default();
    o.max_batch = 8;
    be_backend *b = NULL;
    REQUIRE(be_create("ort-cpu", path, &o, &b) == NRPS_OK);
    CHECK(b->info.input_size == 81 && b->info.output_size == 81);
    float y[8 * 81];
    CHECK(be_run(b, g_pos, 8, y) == NRPS_OK);
    CHECK(memcmp(y, g_pos, sizeof y) == 0);
    be_destroy(b);
}

static void test_inputs(void) {
    float a[200 * 81], c[200 * 81];
    char d[256], dir[300], file[400];
    snprintf(dir, sizeof dir, "%s/cache", g_dir);
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
}

static void test_timing_loop(void) {
    be_options o = be_options_default();
    o.max_batch = 16;
    be_backend *b = NULL;
    REQUIRE(be_create("native-cpu", g_value, &o, &b) == NRPS_OK);
    float *in, *out;
    be_io_buffers(b, &in, &out);
    memcpy(in, g_pos, sizeof(float) * 16 * 81);
    bench_loop_opts lo = bench_loop_opts_default();
    lo.iterations = 300;
    bench_timing t;
    REQUIRE(bench_time_backend(b, in, out, 16, &lo, &t) == NRPS_OK);
    CHECK(t.n == 300 && t.st.n == 300);
    CHECK(t.warmup_calls >= 100 && t.warmup_calls % 50 == 0);
    CHECK(t.first_call_us > 0);
    CHECK(t.st.min > 0 && t.st.min <= t.st.p50 && t.st.p50 <= t.st.p99 && t.st.p99 <= t.st.max);
    bench_timing_free(&t);
    lo.warmup = 5;
    lo.duration_s = 0.05;
    REQUIRE(bench_time_backend(b, in, out, 16, &lo, &t) == NRPS_OK);
    CHECK(t.warmup_calls == 5 && t.warmup_settled == -1);
    CHECK(t.n >= 1 && t.total_s >= 0.05 && t.total_s < 5.0); /* loose: the machine may be busy */
    bench_timing_free(&t);
    CHECK(bench_time_backend(b, in, out, 17, &lo, &t) == NRPS_ERR_ARG);
    be_destroy(b);
}

int main(void) {
    if (!setup()) {
        fprintf(stderr, "setup failed: %s\n", nrps_last_error());
        return 1;
    }
    RUN(test_native_cpu);
    RUN(test_native_cpu_8_lanes);
    RUN(test_native_cpu_large_batch);
    RUN(test_ort_cpu);
    RUN(test_ort_generic_provider_name);
    RUN(test_native_cuda);
    RUN(test_ort_gpu_providers);
    RUN(test_bad_names_and_files);
    RUN(test_ort_identity_floor);
    RUN(test_inputs);
    RUN(test_timing_loop);
    mlp_free(&g_pm);
    mlp_free(&g_vm);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return check_summary("backend");
}
