/* test_cpu_kernels.c - the CPU execution plans (src/backend/cpu_kernels.h) against the reference forward
 * (nn_forward) with abs 1e-5 + rel 1e-4 tolerance: 1-, 2-, 3- and 5-layer nets with every activation and
 * two-headed nets (trunk of 0, 1, 2 layers), at batch 1, 7, 64 and max_batch, on random inputs (dense path) and on
 * real game positions (sparse path), with every kernel set this CPU has (NRPS_NO_AVX512, NRPS_CPU_ISA) and the
 * sparse modes forced (NRPS_CPU_SPARSE); the default model files give argmax-identical outputs; bad arguments.
 *
 *   build/tests/test_cpu_kernels                 the tests
 *   build/tests/test_cpu_kernels --bench         plan vs the old native-cpu backend on models/rps_policy.onnx
 *   build/tests/test_cpu_kernels --bench-sparse  dense vs sparse first layer by input density (the threshold)
 * (timings are not tests: they print tables and always exit 0 when they ran) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "backend/cpu_kernels.h"
#include "check.h"
#include "game/game.h"
#include "nn/net.h"
#include "nn/nn_ops.h"
#include "onnx/onnx_net.h"

enum { MAXB = 1000, NPOS = 1000 };

static float g_rand[MAXB * 81], g_game[NPOS * 81];

/* ---- inputs and networks ---- */

static void fill_uniform(float *x, size_t n, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2 * nrps_rng_uniform(&r) - 1);
}

/* n real positions (hands encoding) from random games of the standard setup, at every ply. */
static void fill_game(float *x, int n, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    rps_config cfg = rps_config_standard();
    rps_state s;
    rps_state_deal(&s, &cfg, &r);
    for (int k = 0; k < n; k++) {
        if (rps_state_is_over(&s)) rps_state_deal(&s, &cfg, &r);
        rps_state_encode_as(&s, RPS_ENC_HANDS, x + (size_t)k * 81);
        rps_move m[RPS_MAX_MOVES];
        int nm = rps_state_legal_moves(&s, m);
        rps_state_apply(&s, m[nrps_rng_below(&r, (uint32_t)nm)]);
    }
}

/* A network with PyTorch's default initialisation (biases too) from seed. */
static int make_net(nn_net *n, const nn_arch *a, uint64_t seed) {
    if (nn_init(n, a) != NRPS_OK) return 0;
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    nn_init_random(n, &r);
    return 1;
}

static nn_arch arch_mlp(const int *w, int nw, nn_act hidden, nn_act out_act) {
    return nn_arch_mlp(81, w, nw - 1, hidden, 0.05f, w[nw - 1], out_act, NN_HEAD_OTHER);
}

/* ---- comparing with the reference ---- */

static int close_enough(float got, float ref) { return fabsf(got - ref) <= 1e-5f + 1e-4f * fabsf(ref); }

/* Runs batch samples of x through the plan and nn_forward; counts mismatches (printing the first). */
static int compare(cpu_plan *p, const nn_net *n, const float *x, int batch, const char *what) {
    static float ref[2][MAXB * 256], got[2][MAXB * 256];
    float *const yr[2] = {ref[0], ref[1]}, *const yg[2] = {got[0], got[1]};
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < MAXB * 256; i++) got[h][i] = NAN;
    if (nn_forward(n, x, batch, yr, NULL) != NRPS_OK || cpu_plan_run(p, x, batch, yg) != NRPS_OK) return 1;
    int bad = 0;
    for (int h = 0; h < n->arch.n_heads; h++) {
        int w = nn_head_width(&n->arch, h);
        for (int i = 0; i < batch * w; i++)
            if (!close_enough(got[h][i], ref[h][i]) && bad++ == 0)
                fprintf(stderr, "  %s [%s] batch %d head %d sample %d out %d: plan %.9g, reference %.9g\n", what,
                        cpu_plan_describe(p), batch, h, i / w, i % w, got[h][i], ref[h][i]);
    }
    return bad;
}

/* The kernel sets this CPU has, as environment settings, with the lanes each must give. */
typedef struct {
    const char *label, *no512, *isa;
    int lanes;
} isa_case;

static int cpu_lanes_best(void) {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return 16;
    if (__builtin_cpu_supports("x86-64-v3")) return 8;
#endif
    return 4;
}

static int isa_cases(isa_case *c) {
    int best = cpu_lanes_best(), k = 0;
    c[k++] = (isa_case){"default", NULL, NULL, best};
    if (best == 16) c[k++] = (isa_case){"NRPS_NO_AVX512=1", "1", NULL, 8};
    if (best >= 8) c[k++] = (isa_case){"NRPS_CPU_ISA=baseline", NULL, "baseline", 4};
    return k;
}

static void set_env(const char *name, const char *value) {
    if (value) setenv(name, value, 1);
    else unsetenv(name);
}

/* cpu_plan_create with the four variables set as given (NULL: unset), restored afterwards. */
static nrps_status plan_with2(const isa_case *ic, const char *sparse, const char *narrow, const nn_net *n,
                              int max_batch, cpu_plan **p) {
    static const char *names[4] = {"NRPS_NO_AVX512", "NRPS_CPU_ISA", "NRPS_CPU_SPARSE", "NRPS_CPU_NARROW"};
    const char *want[4] = {ic->no512, ic->isa, sparse, narrow};
    char *old[4];
    for (int i = 0; i < 4; i++) {
        const char *v = getenv(names[i]);
        old[i] = v ? strdup(v) : NULL;
        set_env(names[i], want[i]);
    }
    nrps_status st = cpu_plan_create(n, max_batch, p);
    for (int i = 0; i < 4; i++) {
        set_env(names[i], old[i]);
        free(old[i]);
    }
    return st;
}

static nrps_status plan_with(const isa_case *ic, const char *sparse, const nn_net *n, int max_batch, cpu_plan **p) {
    return plan_with2(ic, sparse, NULL, n, max_batch, p);
}

/* How many chunks of a batch must run sparse: those whose share of non-zero inputs is below the plan's threshold. */
static long long expected_sparse(const cpu_plan *p, const float *x, int batch) {
    long long k = 0;
    for (int s0 = 0; s0 < batch; s0 += CPU_PLAN_CHUNK) {
        int n = batch - s0 < CPU_PLAN_CHUNK ? batch - s0 : CPU_PLAN_CHUNK, nz = 0;
        for (int i = 0; i < n * 81; i++) nz += x[(size_t)s0 * 81 + i] != 0.0f;
        k += (double)nz < cpu_plan_sparse_below(p, n) * n * 81;
    }
    return k;
}

/* The narrow columns the plan reports ("N narrow column(s) as dot products"; 0 without). */
static int narrow_columns(const cpu_plan *p) {
    const char *d = strstr(cpu_plan_describe(p), " narrow column");
    if (!d) return 0;
    while (d > cpu_plan_describe(p) && d[-1] >= '0' && d[-1] <= '9') d--;
    return atoi(d);
}

/* What the narrow mode gives: every layer's columns past its last full vector of L, when forced ("1") or when they
 * fill less than half a vector (unset); none with "0". */
static int expected_narrow(const nn_net *n, int lanes, const char *mode) {
    int cols = 0;
    for (int l = 0; l < n->arch.n_layers; l++) {
        int rem = n->arch.layer[l].out % lanes;
        cols += mode && *mode == '0' ? 0 : (mode && *mode == '1') || 2 * rem < lanes ? rem : 0;
    }
    return cols;
}

/* Runs batch samples through p and the reference and checks the chunks' dense/sparse choice. */
static void check_batch(cpu_plan *p, const nn_net *n, const float *x, int batch, const char *what) {
    cpu_plan_stats s0 = cpu_plan_get_stats(p);
    CHECK(compare(p, n, x, batch, what) == 0);
    cpu_plan_stats s1 = cpu_plan_get_stats(p);
    long long chunks = (batch + CPU_PLAN_CHUNK - 1) / CPU_PLAN_CHUNK, sp = expected_sparse(p, x, batch);
    CHECK_MSG(s1.sparse_chunks - s0.sparse_chunks == sp && s1.dense_chunks - s0.dense_chunks == chunks - sp,
              "%s [%s] batch %d: %lld sparse, %lld dense chunks, expected %lld sparse", what, cpu_plan_describe(p),
              batch,
              s1.sparse_chunks - s0.sparse_chunks, s1.dense_chunks - s0.dense_chunks, sp);
    CHECK(s1.runs == s0.runs + 1);
}

/* A plan of 2 and of 5 threads (the default kernel set) against the reference at every batch size: the same
 * outputs whether the batch is split or not. */
static void check_threads(const nn_net *n, const int *batches, int nb, const char *what) {
    static const int threads[2] = {2, 5};
    for (int t = 0; t < 2; t++) {
        cpu_plan *p = NULL;
        REQUIRE(cpu_plan_create_threads(n, MAXB, threads[t], t ? 0 : 50, &p) == NRPS_OK);
        int from = cpu_plan_split_from(p);
        CHECK(cpu_plan_threads(p) == threads[t] && (from == 0 || (from > 1 && from <= MAXB)));
        CHECK(from > 0 || cpu_plan_flops(p) * MAXB < 1e6); /* a batch of a million flops is split */
        for (int b = 0; b < nb; b++) {
            int off = 17 * b + batches[b] <= NPOS ? 17 * b : NPOS - batches[b];
            CHECK_MSG(compare(p, n, g_rand, batches[b], what) == 0, "%d threads", threads[t]);
            CHECK_MSG(compare(p, n, g_game + 81 * off, batches[b], what) == 0, "%d threads", threads[t]);
        }
        CHECK(cpu_plan_get_stats(p).runs == 2 * nb);
        cpu_plan_destroy(p);
    }
}

/* Every kernel set, by density (random inputs run dense; game positions sparse where the threshold allows), forced
 * dense and forced sparse, with the narrow-output dot products by width, forced on (every column past the last full
 * vector) and off; batches 1, 2, 3, 7, 17, 64, 255, MAXB; then split over threads. */
static void check_net(const nn_net *n, const char *what) {
    static const int batches[8] = {1, 2, 3, 7, 17, 64, 255, MAXB};
    static const char *modes[5][2] = {{NULL, NULL}, {"0", NULL}, {"1", NULL}, {"0", "1"}, {"1", "0"}};
    isa_case ic[3];
    int nc = isa_cases(ic);
    for (int c = 0; c < nc; c++)
        for (int m = 0; m < 5; m++) {
            cpu_plan *p = NULL;
            REQUIRE(plan_with2(&ic[c], modes[m][0], modes[m][1], n, MAXB, &p) == NRPS_OK);
            CHECK_MSG(cpu_plan_lanes(p) == ic[c].lanes, "%s %s: %d lanes", what, ic[c].label, cpu_plan_lanes(p));
            double below = cpu_plan_sparse_below(p, 1);
            const char *sp = modes[m][0];
            CHECK(!sp ? below > 0.1 && below < 1 : *sp == '0' ? below == 0 : below > 1);
            CHECK_MSG(narrow_columns(p) == expected_narrow(n, ic[c].lanes, modes[m][1]), "%s %s: %s", what,
                      ic[c].label, cpu_plan_describe(p));
            for (int b = 0; b < 8; b++) {
                int off = 17 * b + batches[b] <= NPOS ? 17 * b : NPOS - batches[b];
                check_batch(p, n, g_rand, batches[b], what);
                check_batch(p, n, g_game + 81 * off, batches[b], what);
            }
            cpu_plan_destroy(p);
        }
    check_threads(n, batches, 8, what);
}

static void check_arch(const nn_arch *a, uint64_t seed, const char *what) {
    nn_net n;
    REQUIRE(make_net(&n, a, seed));
    check_net(&n, what);
    nn_free(&n);
}

/* ---- the tests ---- */

static const nn_act k_hidden[5] = {NN_ACT_RELU, NN_ACT_LEAKY_RELU, NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_NONE};

static void test_one_layer_every_final_act(void) {
    static const nn_act fin[7] = {NN_ACT_NONE, NN_ACT_SOFTMAX, NN_ACT_LOGSOFTMAX, NN_ACT_SIGMOID,
                                  NN_ACT_TANH, NN_ACT_RELU, NN_ACT_LEAKY_RELU};
    int w[1] = {9};
    for (int f = 0; f < 7; f++) {
        nn_arch a = arch_mlp(w, 1, NN_ACT_NONE, fin[f]);
        a.layer[0].alpha = fin[f] == NN_ACT_LEAKY_RELU ? 0.2f : 0;
        check_arch(&a, 10 + f, nn_act_name(fin[f]));
    }
    int w1[1] = {1}; /* one output: a padded single vector */
    nn_arch a = arch_mlp(w1, 1, NN_ACT_NONE, NN_ACT_SIGMOID);
    check_arch(&a, 20, "81-1");
}

static void test_two_layers_every_hidden_act(void) {
    int w[2] = {128, 9};
    for (int h = 0; h < 5; h++) {
        nn_arch a = arch_mlp(w, 2, k_hidden[h], NN_ACT_SOFTMAX);
        check_arch(&a, 30 + h, nn_act_name(k_hidden[h]));
    }
    int wv[2] = {64, 1};
    nn_arch a = arch_mlp(wv, 2, NN_ACT_RELU, NN_ACT_SIGMOID);
    check_arch(&a, 36, "81-64-1");
}

static void test_three_layers(void) {
    int w[3] = {256, 128, 9};
    for (int h = 0; h < 5; h++) {
        nn_arch a = arch_mlp(w, 3, k_hidden[h], h & 1 ? NN_ACT_LOGSOFTMAX : NN_ACT_SOFTMAX);
        check_arch(&a, 40 + h, nn_act_name(k_hidden[h]));
    }
}

/* Odd widths: every block width and padding; 300 = 18 vectors of 16 + 12, 37 vectors of 8 + 4. */
static void test_five_layers_odd_widths(void) {
    int w[5] = {300, 33, 17, 100, 9};
    for (int h = 0; h < 5; h++) {
        nn_arch a = arch_mlp(w, 5, k_hidden[h], NN_ACT_NONE);
        check_arch(&a, 50 + h, nn_act_name(k_hidden[h]));
    }
    int w2[5] = {5, 200, 3, 64, 1};
    nn_arch a = arch_mlp(w2, 5, NN_ACT_RELU, NN_ACT_TANH);
    check_arch(&a, 56, "81-5-200-3-64-1");
}

/* Outputs narrower than a vector and remainders past full vectors, as heads (every final activation, the softmax's
 * padded rows and the compact ones of the others) and as hidden layers: widths 1, 2, 3, 7 alone and after 64, 9,
 * 17 and 33 (a full vector + 1), 15 and 23 (+ 7 with 8 lanes); odd batch sizes (check_net's 1, 3, 7, 17, 255). */
static void test_narrow_outputs(void) {
    static const int narrow[4] = {1, 2, 3, 7};
    static const nn_act fin[4] = {NN_ACT_SIGMOID, NN_ACT_SOFTMAX, NN_ACT_NONE, NN_ACT_LOGSOFTMAX};
    char what[64];
    for (int k = 0; k < 4; k++) {
        int w1[1] = {narrow[k]}, w2[2] = {64, narrow[k]}, w3[3] = {narrow[k], 40, narrow[k]};
        nn_arch a = arch_mlp(w1, 1, NN_ACT_NONE, fin[k]);
        snprintf(what, sizeof what, "81-%d %s", narrow[k], nn_act_name(fin[k]));
        check_arch(&a, 100 + k, what);
        a = arch_mlp(w2, 2, NN_ACT_RELU, fin[(k + 1) % 4]);
        snprintf(what, sizeof what, "81-64-%d %s", narrow[k], nn_act_name(fin[(k + 1) % 4]));
        check_arch(&a, 110 + k, what);
        a = arch_mlp(w3, 3, k_hidden[k], fin[(k + 2) % 4]); /* a narrow hidden layer reading the input */
        snprintf(what, sizeof what, "81-%d-40-%d %s", narrow[k], narrow[k], nn_act_name(k_hidden[k]));
        check_arch(&a, 120 + k, what);
    }
    static const int wide[5] = {9, 17, 33, 15, 23};
    for (int k = 0; k < 5; k++) {
        int w[3] = {wide[k], 48, wide[(k + 1) % 5]};
        nn_arch a = arch_mlp(w, 3, k % 2 ? NN_ACT_LEAKY_RELU : NN_ACT_RELU, k % 2 ? NN_ACT_SOFTMAX : NN_ACT_SIGMOID);
        a.layer[0].alpha = 0.1f;
        snprintf(what, sizeof what, "81-%d-48-%d", wide[k], wide[(k + 1) % 5]);
        check_arch(&a, 130 + k, what);
    }
    int v[1] = {3}, pol[1] = {5}, val[1] = {7}; /* two narrow heads on a narrow trunk, and on the input */
    nn_arch a = nn_arch_two_heads(81, v, 1, pol, 1, val, 1, NN_ACT_RELU, 0);
    check_arch(&a, 140, "81-3 -> 5-9 | 7-1");
    a = nn_arch_two_heads(81, NULL, 0, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    check_arch(&a, 141, "81 -> 9 | 1");
}

static void test_two_heads(void) {
    int t2[2] = {128, 64}, t1[1] = {96}, pol[1] = {32}, val[2] = {48, 16};
    nn_arch a = nn_arch_two_heads(81, NULL, 0, pol, 1, val, 2, NN_ACT_RELU, 0);
    check_arch(&a, 60, "trunk 0");
    a = nn_arch_two_heads(81, t1, 1, NULL, 0, NULL, 0, NN_ACT_LEAKY_RELU, 0.1f);
    check_arch(&a, 61, "trunk 1, linear heads");
    a = nn_arch_two_heads(81, t1, 1, pol, 1, NULL, 0, NN_ACT_TANH, 0);
    check_arch(&a, 62, "trunk 1");
    a = nn_arch_two_heads(81, t2, 2, pol, 1, val, 2, NN_ACT_RELU, 0);
    check_arch(&a, 63, "trunk 2");
    a = nn_arch_two_heads(81, NULL, 0, NULL, 0, NULL, 0, NN_ACT_RELU, 0);
    check_arch(&a, 64, "trunk 0, linear heads");
}

/* Input widths other than 81 (every tail of the non-zero list builders and the count): sparse-looking inputs,
 * negatives included, by density and forced sparse, on every kernel set. */
static void test_other_input_widths(void) {
    static const int ins[5] = {1, 5, 17, 100, 300};
    static float x[MAXB * 300];
    nrps_rng r;
    nrps_rng_seed(&r, 95);
    for (int i = 0; i < MAXB * 300; i++) x[i] = nrps_rng_uniform(&r) < 0.3 ? (float)(2 * nrps_rng_uniform(&r) - 1) : 0;
    isa_case ic[3];
    int nc = isa_cases(ic);
    for (int k = 0; k < 5; k++) {
        int w[1] = {24};
        nn_arch a = nn_arch_mlp(ins[k], w, 1, NN_ACT_RELU, 0, 3, NN_ACT_SOFTMAX, NN_HEAD_OTHER);
        nn_net n;
        REQUIRE(make_net(&n, &a, 96 + k));
        for (int c = 0; c < nc; c++)
            for (int m = 0; m < 2; m++) {
                cpu_plan *p = NULL;
                REQUIRE(plan_with(&ic[c], m ? "1" : NULL, &n, MAXB, &p) == NRPS_OK);
                CHECK(compare(p, &n, x, 1, "input width") == 0 && compare(p, &n, x, 7, "input width") == 0);
                CHECK(compare(p, &n, x, MAXB, "input width") == 0);
                CHECK(!m || cpu_plan_get_stats(p).sparse_chunks == 2 + (MAXB + CPU_PLAN_CHUNK - 1) / CPU_PLAN_CHUNK);
                cpu_plan_destroy(p);
            }
        nn_free(&n);
    }
}

static int argmax(const float *v, int n) {
    int k = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[k]) k = i;
    return k;
}

/* The default models: same argmax as the reference nn_forward on every position, values within tolerance, on the
 * default kernel set (sparse positions) and forced dense. */
static void test_default_models(void) {
    static const char *files[2] = {"models/rps_policy.onnx", "models/rps_value.onnx"};
    static float ref[NPOS * 9], got[NPOS * 9];
    for (int f = 0; f < 2; f++) {
        nn_net n;
        REQUIRE(onnx_net_load(files[f], &n, NULL) == NRPS_OK || (fprintf(stderr, "  %s\n", nrps_last_error()), 0));
        const int out = nn_head_width(&n.arch, 0);
        REQUIRE(n.arch.n_heads == 1 && out <= 9);
        float *refs[1] = {ref};
        REQUIRE(nn_forward(&n, g_game, NPOS, refs, NULL) == NRPS_OK);
        for (int mode = 0; mode < 2; mode++) {
            isa_case ic[3];
            isa_cases(ic);
            cpu_plan *p = NULL;
            REQUIRE(plan_with(&ic[0], mode ? "0" : NULL, &n, 256, &p) == NRPS_OK);
            for (int s0 = 0; s0 < NPOS; s0 += 256) {
                int b = NPOS - s0 < 256 ? NPOS - s0 : 256;
                float *const y[1] = {got + (size_t)s0 * out};
                CHECK(cpu_plan_run(p, g_game + (size_t)s0 * 81, b, y) == NRPS_OK);
            }
            int diff = 0, far = 0;
            for (int k = 0; k < NPOS; k++) {
                const float *r = ref + (size_t)k * out, *g = got + (size_t)k * out;
                diff += argmax(r, out) != argmax(g, out);
                for (int o = 0; o < out; o++) far += !close_enough(g[o], r[o]);
            }
            CHECK_MSG(diff == 0 && far == 0, "%s (%s): %d argmax differences, %d values off", files[f],
                      cpu_plan_describe(p), diff, far);
            cpu_plan_stats st = cpu_plan_get_stats(p);
            CHECK(mode ? st.sparse_chunks == 0 : st.sparse_chunks > 0);
            cpu_plan_destroy(p);
        }
        nn_free(&n);
    }
}

/* The plan keeps no pointer to the network; describe names widths, activations, kernel set and first layer. */
static void test_plan_owns_weights_and_describes(void) {
    int w[2] = {128, 9};
    nn_arch a = arch_mlp(w, 2, NN_ACT_RELU, NN_ACT_SOFTMAX);
    nn_net n;
    REQUIRE(make_net(&n, &a, 70));
    static float before[7 * 9], after[7 * 9];
    float *const yb[1] = {before}, *const ya[1] = {after};
    cpu_plan *p = NULL;
    REQUIRE(cpu_plan_create(&n, 7, &p) == NRPS_OK);
    CHECK(cpu_plan_run(p, g_game, 7, yb) == NRPS_OK);
    memset(n.params, 0xff, n.n_params * sizeof(float)); /* NaN everywhere */
    nn_free(&n);
    CHECK(cpu_plan_run(p, g_game, 7, ya) == NRPS_OK);
    CHECK(memcmp(before, after, sizeof before) == 0);
    const char *d = cpu_plan_describe(p);
    int lanes = cpu_plan_lanes(p);
    CHECK_MSG(!strncmp(d, "81-128-9 relu/softmax, ", 23) && strstr(d, "sparse first layer below"), "%s", d);
    CHECK_MSG(strstr(d, lanes == 16 ? "AVX-512 (x86-64-v4)" : lanes == 8 ? "AVX2+FMA" : "portable"), "%s", d);
    cpu_plan_destroy(p);

    int t[1] = {16}, pv[1] = {8};
    a = nn_arch_two_heads(81, t, 1, pv, 1, NULL, 0, NN_ACT_LEAKY_RELU, 0.1f);
    a.layer[1].act = NN_ACT_RELU;
    REQUIRE(make_net(&n, &a, 71));
    REQUIRE(cpu_plan_create(&n, 1, &p) == NRPS_OK);
    CHECK_MSG(!strncmp(cpu_plan_describe(p), "81-16 -> policy:8-9 | value:1 leaky_relu,relu/softmax,sigmoid, ", 62),
              "%s", cpu_plan_describe(p));
    cpu_plan_destroy(p);
    nn_free(&n);
}

/* A first layer with a non-finite weight never runs sparse: 0 * Inf stays NaN (IEEE), a non-finite weight is never
 * hidden. (The ONNX reader and the trainer refuse non-finite weights; nn_forward's own zero skip is exact only for
 * finite ones, so the reference is not compared here.) */
static void test_nonfinite_first_layer_stays_dense(void) {
    int w[2] = {16, 9};
    nn_arch a = arch_mlp(w, 2, NN_ACT_NONE, NN_ACT_NONE);
    nn_net n;
    REQUIRE(make_net(&n, &a, 80));
    n.w[0][3 * 81 + 2] = INFINITY; /* output 3, input 2 (a type slot, often 0 in game positions) */
    cpu_plan *p = NULL;
    REQUIRE(cpu_plan_create(&n, 8, &p) == NRPS_OK);
    CHECK(strstr(cpu_plan_describe(p), "dense first layer") != NULL);
    static float got[8 * 9];
    float *const yg[1] = {got};
    CHECK(cpu_plan_run(p, g_game, 8, yg) == NRPS_OK);
    int nans = 0;
    for (int i = 0; i < 8 * 9; i++) nans += isnan(got[i]);
    CHECK(nans > 0); /* some position has input 2 = 0: 0 * Inf = NaN */
    CHECK(cpu_plan_get_stats(p).sparse_chunks == 0);
    cpu_plan_destroy(p);
    nn_free(&n);
}

/* The density rule: a chunk with k of 81 inputs non-zero runs sparse exactly when k / 81 is below the plan's
 * threshold for its size; with the default nets' widths (64, 128) game positions (at most 35% non-zero) run sparse
 * on every kernel set. */
static void test_density_threshold(void) {
    static const int widths[3] = {16, 64, 128};
    static float x[8 * 81];
    isa_case ic[3];
    int nc = isa_cases(ic);
    for (int wi = 0; wi < 3; wi++) {
        int w[2] = {widths[wi], 9};
        nn_arch a = arch_mlp(w, 2, NN_ACT_RELU, NN_ACT_SOFTMAX);
        nn_net n;
        REQUIRE(make_net(&n, &a, 85));
        for (int c = 0; c < nc; c++) {
            cpu_plan *p = NULL;
            REQUIRE(plan_with(&ic[c], NULL, &n, 8, &p) == NRPS_OK);
            for (int b = 1; b <= 8; b++) {
                double t = cpu_plan_sparse_below(p, b);
                CHECK(t > 0.1 && t < 1);
                if (widths[wi] >= 64)
                    CHECK_MSG(t > 28.0 / 81, "width %d %s batch %d: %g", widths[wi], ic[c].label, b, t);
            }
            for (int k = 5; k <= 80; k += 5) {
                for (int i = 0; i < 8 * 81; i++) x[i] = i % 81 < k ? 0.5f + (float)(i % 7) : 0.0f;
                for (int b = 1; b <= 8; b++) check_batch(p, &n, x, b, "density");
            }
            for (int b = 1; b <= 8; b++) /* at the threshold, one non-zero in the batch's last float decides */
                for (int extra = 0; extra < 2; extra++) {
                    int below = (int)ceil(cpu_plan_sparse_below(p, b) * b * 81) - 1; /* most non-zeros for sparse */
                    for (int i = 0; i < b * 81; i++) x[i] = i < below - 1 + extra || i == b * 81 - 1 ? -1.0f : 0.0f;
                    long long s0 = cpu_plan_get_stats(p).sparse_chunks;
                    check_batch(p, &n, x, b, "threshold");
                    CHECK(cpu_plan_get_stats(p).sparse_chunks - s0 == !extra);
                }
            cpu_plan_destroy(p);
        }
        nn_free(&n);
    }
}

/* cpu_act_rows against nn_act_rows: softmax, log-softmax, sigmoid and tanh at widths 1..65 (65: the plain path),
 * large and tiny logits, rows with Inf and NaN (the reference's rules). */
static void test_act_rows(void) {
    static const int widths[6] = {1, 2, 9, 16, 64, 65};
    static const nn_act acts[4] = {NN_ACT_SOFTMAX, NN_ACT_SIGMOID, NN_ACT_TANH, NN_ACT_LOGSOFTMAX};
    static float got[4 * 65], ref[4 * 65];
    nrps_rng r;
    nrps_rng_seed(&r, 7);
    for (int a = 0; a < 4; a++)
        for (int wi = 0; wi < 6; wi++) {
            int w = widths[wi], bad = 0;
            for (int trial = 0; trial < 50; trial++) {
                double scale = trial < 10 ? 1 : trial < 40 ? 30 : 200; /* up to e^±200: the clamps */
                for (int i = 0; i < 4 * w; i++) got[i] = ref[i] = (float)((2 * nrps_rng_uniform(&r) - 1) * scale);
                if (trial == 49) got[w + 1 < 4 * w ? w + 1 : 0] = ref[w + 1 < 4 * w ? w + 1 : 0] = INFINITY;
                if (trial == 48) got[2 * w] = ref[2 * w] = NAN;
                cpu_act_rows(acts[a], 0, got, 4, w);
                nn_act_rows(acts[a], 0, ref, 4, w);
                for (int i = 0; i < 4 * w; i++)
                    if (!(close_enough(got[i], ref[i]) || (isnan(got[i]) && isnan(ref[i]))) && bad++ == 0)
                        fprintf(stderr, "  %s width %d trial %d [%d]: %.9g vs reference %.9g\n", nn_act_name(acts[a]),
                                w, trial, i, got[i], ref[i]);
            }
            CHECK_MSG(bad == 0, "%s width %d: %d values off", nn_act_name(acts[a]), w, bad);
        }
}

/* The vector tanh and sigmoid (through cpu_act_rows, on the set a plan picks) close to libm in double over
 * [-12, 12], tiny and denormal inputs included: within 8 float ulp of the result (measured: at most 5.5, with the
 * portable set, which has no FMA) or 1e-7 absolute. */
static void test_act_accuracy(void) {
    enum { N = 48001 };
    static float xs[N + 6], got[N + 6];
    for (int i = 0; i < N; i++) xs[i] = (float)(-12.0 + 24.0 * i / (N - 1));
    const float tiny[6] = {1e-30f, -1e-30f, 1e-40f, 3e-6f, -2e-4f, 0.0f};
    memcpy(xs + N, tiny, sizeof tiny);
    static const nn_act acts[2] = {NN_ACT_TANH, NN_ACT_SIGMOID};
    for (int a = 0; a < 2; a++) {
        memcpy(got, xs, sizeof xs);
        cpu_act_rows(acts[a], 0, got, 1, N + 6);
        double worst = 0;
        int bad = 0;
        for (int i = 0; i < N + 6; i++) {
            double ref = acts[a] == NN_ACT_TANH ? tanh((double)xs[i]) : 1 / (1 + exp(-(double)xs[i]));
            double err = fabs(got[i] - ref), ulp = fabs(nextafterf((float)ref, INFINITY) - (float)ref);
            if (err > worst) worst = err;
            if (err > 8 * ulp && err > 1e-7 && bad++ == 0)
                fprintf(stderr, "  %s(%.9g) = %.9g, libm %.9g\n", nn_act_name(acts[a]), xs[i], got[i], ref);
        }
        printf("  vector %s: largest error %.3g over [-12, 12]\n", nn_act_name(acts[a]), worst);
        CHECK_MSG(bad == 0, "%s: %d values off", nn_act_name(acts[a]), bad);
    }
}

/* The probe measures every set this CPU runs, widest first, each at a plausible rate (above 0.5 GFLOP/s, below
 * 2 flops x lanes x 2 pipes x 6 GHz); the all-threads probe too, and refuses thread counts outside 1..256. */
static void test_fma_probe(void) {
    cpu_peak pk[4];
    int n = cpu_fma_peaks(pk, 4, 2);
    int best = cpu_lanes_best();
    CHECK(n == (best == 16 ? 3 : best == 8 ? 2 : 1));
    for (int i = 0; i < n; i++) {
        printf("  FMA peak, one core, %s: %.1f GFLOP/s\n", pk[i].isa, pk[i].gflops);
        CHECK(pk[i].gflops > 0.5 && pk[i].gflops < 2.0 * pk[i].lanes * 2 * 6);
        CHECK(i == 0 ? pk[i].lanes == best : pk[i].lanes < pk[i - 1].lanes);
    }
    CHECK(cpu_fma_peaks(pk, 1, 1) == 1 && pk[0].lanes == best);
    /* 3 threads at once: more than nothing, and no more than the CPUs they share can do (min(3, CPUs) x one
     * thread's rate measured right after, with 25% for the host's noise): a thread that waited for a CPU counts
     * its wait */
    double all3 = cpu_fma_peak_threads(3, 2), one = cpu_fma_peak_threads(1, 2);
    int cpus = nrps_cpus_usable() < 3 ? nrps_cpus_usable() : 3;
    printf("  FMA probe, 3 threads at once on %d CPU%s: %.1f GFLOP/s (one thread %.1f)\n", cpus, cpus > 1 ? "s" : "",
           all3, one);
    CHECK(one > 0.5 && all3 > 0.5 && all3 <= 1.25 * cpus * one);
    CHECK(cpu_fma_peak_threads(0, 1) == 0 && cpu_fma_peak_threads(257, 1) == 0);
}

static void test_bad_arguments(void) {
    int w[2] = {8, 9};
    nn_arch a = arch_mlp(w, 2, NN_ACT_RELU, NN_ACT_SOFTMAX);
    nn_net n;
    REQUIRE(make_net(&n, &a, 90));
    cpu_plan *p = (cpu_plan *)&n;
    CHECK(cpu_plan_create(&n, 0, &p) == NRPS_ERR_ARG && p == NULL);
    CHECK(cpu_plan_create(NULL, 4, &p) == NRPS_ERR_ARG && p == NULL);
    CHECK(cpu_plan_create(&n, 4, NULL) == NRPS_ERR_ARG);
    n.arch.layer[0].act = NN_ACT_SOFTMAX; /* not allowed on a hidden layer */
    CHECK(cpu_plan_create(&n, 4, &p) == NRPS_ERR_ARG && p == NULL);
    n.arch.layer[0].act = NN_ACT_RELU;
    isa_case bogus = {"bogus", NULL, "avx9000", 0};
    CHECK(plan_with(&bogus, NULL, &n, 4, &p) == NRPS_ERR_ARG && strstr(nrps_last_error(), "NRPS_CPU_ISA='avx9000'"));
    isa_case def = {"default", NULL, NULL, 0};
    CHECK(plan_with(&def, "maybe", &n, 4, &p) == NRPS_ERR_ARG && strstr(nrps_last_error(), "NRPS_CPU_SPARSE"));
    CHECK(plan_with2(&def, NULL, "2", &n, 4, &p) == NRPS_ERR_ARG && strstr(nrps_last_error(), "NRPS_CPU_NARROW='2'"));
    REQUIRE(cpu_plan_create(&n, 4, &p) == NRPS_OK);
    static float y[5 * 9];
    float *const ys[1] = {y}, *const ynull[1] = {NULL};
    CHECK(cpu_plan_run(p, g_rand, 0, ys) == NRPS_ERR_ARG);
    CHECK(cpu_plan_run(p, g_rand, 5, ys) == NRPS_ERR_ARG && strstr(nrps_last_error(), "outside 1..4"));
    CHECK(cpu_plan_run(p, NULL, 1, ys) == NRPS_ERR_ARG);
    CHECK(cpu_plan_run(p, g_rand, 1, NULL) == NRPS_ERR_ARG);
    CHECK(cpu_plan_run(p, g_rand, 1, ynull) == NRPS_ERR_ARG);
    CHECK(cpu_plan_run(p, g_rand, 4, ys) == NRPS_OK && cpu_plan_get_stats(p).runs == 1);
    cpu_plan_destroy(p);
    cpu_plan_destroy(NULL);
    nn_free(&n);
}

/* ---- timings (not tests) ---- */

/* Median over groups of the mean ns per call of fn(ctx, batch); a group is about 4000 samples. Timed in thread CPU
 * time: the 2 cores are shared, and wall time also counts the time this thread waits to be scheduled. */
typedef int (*bench_fn)(void *ctx, const float *x, int batch);

static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum { GROUPS = 101, NFN = 3 };

/* Interleaves the nf functions group by group (so drift hits them alike); p50_ns[f] = ns per call. */
static void bench_interleaved(bench_fn *fn, void **ctx, int nf, const float *x, int batch, double *p50_ns) {
    static double t[NFN][GROUPS];
    int calls = batch >= 4000 ? 1 : 4000 / batch;
    for (int f = 0; f < nf; f++)
        for (int c = 0; c < calls; c++) fn[f](ctx[f], x, batch); /* warm-up */
    for (int g = 0; g < GROUPS; g++)
        for (int f = 0; f < nf; f++) {
            double t0 = cpu_ns();
            for (int c = 0; c < calls; c++) fn[f](ctx[f], x, batch);
            t[f][g] = (cpu_ns() - t0) / calls;
        }
    for (int f = 0; f < nf; f++) p50_ns[f] = median(t[f], GROUPS);
}

static float g_bench_out[1024 * 16];

static int run_ref(void *ctx, const float *x, int batch) {
    float *const y[2] = {g_bench_out, g_bench_out + 1024 * 9};
    return be_run(ctx, x, batch, y);
}
static int run_plan(void *ctx, const float *x, int batch) {
    float *const y[2] = {g_bench_out, g_bench_out + 1024 * 9};
    return cpu_plan_run(ctx, x, batch, y);
}

/* The reference backend (native-ref through be_create) vs plans of the same file. */
static int bench_model(const char *file, const float *pos) {
    be_model *model = NULL;
    be_options o = be_options_default();
    be_backend *ref = NULL;
    cpu_plan *auto_p = NULL, *dense_p = NULL;
    isa_case def = {"from the environment", getenv("NRPS_NO_AVX512"), getenv("NRPS_CPU_ISA"), 0};
    int rc = 1;
    if (be_model_load(file, &model) || be_create("native-ref", model, &o, &ref) ||
        plan_with(&def, NULL, be_model_net(model), 1024, &auto_p) ||
        plan_with(&def, "0", be_model_net(model), 1024, &dense_p)) {
        fprintf(stderr, "bench: %s\n", nrps_last_error());
        goto cleanup;
    }
    printf("%s\nref: %s\nnew: %s\n", file, be_get_info(ref)->provider, cpu_plan_describe(auto_p));
    printf("game positions (hands encoding), p50 of %d groups, thread CPU ns per call (per sample)\n", GROUPS);
    printf("%6s %20s %20s %20s %9s %8s\n", "batch", "native-ref", "plan forced dense", "plan (sparse auto)",
           "ref/dense", "ref/auto");
    static const int batches[5] = {1, 8, 64, 256, 1024};
    for (int b = 0; b < 5; b++) {
        bench_fn fn[NFN] = {run_ref, run_plan, run_plan};
        void *ctx[NFN] = {ref, dense_p, auto_p};
        double t[NFN];
        bench_interleaved(fn, ctx, NFN, pos, batches[b], t);
        printf("%6d", batches[b]);
        for (int f = 0; f < NFN; f++) printf(" %10.1f (%6.1f)", t[f], t[f] / batches[b]);
        printf(" %9.2f %8.2f\n", t[0] / t[1], t[0] / t[2]);
    }
    rc = 0;
cleanup:
    be_destroy(ref);
    cpu_plan_destroy(auto_p);
    cpu_plan_destroy(dense_p);
    be_model_free(model);
    return rc;
}

static int bench_old_vs_new(void) {
    static float pos[1024 * 81];
    fill_game(pos, 1024, 7);
    return bench_model("models/rps_policy.onnx", pos) | bench_model("models/rps_value.onnx", pos);
}

/* One-hot-like inputs with about density * 81 ones per sample at random places. */
static void fill_density(float *x, int n, double density, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    for (int i = 0; i < n * 81; i++) x[i] = nrps_rng_uniform(&r) < density ? 1.0f : 0.0f;
}

static int bench_sparse(void) {
    static float x[1024 * 81];
    static const int hidden[4] = {32, 64, 128, 256};
    static const int batches[6] = {1, 2, 4, 8, 64, 256};
    isa_case def = {"from the environment", getenv("NRPS_NO_AVX512"), getenv("NRPS_CPU_ISA"), 0};
    for (int hw = 0; hw < 4; hw++) {
        int w[2] = {hidden[hw], 9};
        nn_arch a = arch_mlp(w, 2, NN_ACT_RELU, NN_ACT_SOFTMAX);
        nn_net n;
        cpu_plan *dp = NULL, *sp = NULL;
        if (!make_net(&n, &a, 5) || plan_with(&def, "0", &n, 1024, &dp) || plan_with(&def, "1", &n, 1024, &sp))
            return 1;
        printf("%s: ns per sample dense / sparse, ratio\n%8s", cpu_plan_describe(dp), "density");
        for (int b = 0; b < 6; b++) printf("   batch %-4d  ", batches[b]);
        printf("\n");
        for (int d = 1; d <= 10; d++) {
            fill_density(x, 1024, d / 10.0, (uint64_t)d);
            printf("%8.1f", d / 10.0);
            for (int b = 0; b < 6; b++) {
                bench_fn fn[2] = {run_plan, run_plan};
                void *ctx[2] = {dp, sp};
                double t[2];
                bench_interleaved(fn, ctx, 2, x, batches[b], t);
                printf("  %5.0f/%4.0f %4.2f", t[0] / batches[b], t[1] / batches[b], t[1] / t[0]);
            }
            printf("\n");
        }
        cpu_plan_destroy(dp);
        cpu_plan_destroy(sp);
        nn_free(&n);
    }
    return 0;
}

int main(int argc, char **argv) {
    fill_uniform(g_rand, sizeof g_rand / sizeof *g_rand, 1);
    fill_game(g_game, NPOS, 2);
    if (argc > 1 && !strcmp(argv[1], "--bench")) return bench_old_vs_new();
    if (argc > 1 && !strcmp(argv[1], "--bench-sparse")) return bench_sparse();
    RUN(test_one_layer_every_final_act);
    RUN(test_two_layers_every_hidden_act);
    RUN(test_three_layers);
    RUN(test_five_layers_odd_widths);
    RUN(test_narrow_outputs);
    RUN(test_two_heads);
    RUN(test_other_input_widths);
    RUN(test_default_models);
    RUN(test_plan_owns_weights_and_describes);
    RUN(test_nonfinite_first_layer_stays_dense);
    RUN(test_density_threshold);
    RUN(test_act_rows);
    RUN(test_act_accuracy);
    RUN(test_fma_probe);
    RUN(test_bad_arguments);
    return check_summary("cpu_kernels");
}
