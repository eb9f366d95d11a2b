/* test_search_bench.c - the inside-search benchmark: counts and rates of a run on the native and ONNX Runtime
 * backends and with the incremental evaluator, batching through virtual loss, determinism of the workload, game
 * comparison, argument checks. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "bench/recommend.h"
#include "bench/search_bench.h"
#include "search/mcts.h"
#include "check.h"
#include "nn/net.h"

static be_model *g_policy, *g_value;

static int setup(void) {
    int hp[1] = {32}, hv[1] = {16};
    nn_arch a[2] = {nn_arch_mlp(81, hp, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY),
                    nn_arch_mlp(81, hv, 1, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE)};
    nn_net p = {0}, v = {0};
    int ok = !nn_init(&p, &a[0]) && !nn_init(&v, &a[1]);
    if (ok) {
        nrps_rng r;
        nrps_rng_seed(&r, 3);
        nn_init_random(&p, &r);
        nn_init_random(&v, &r);
        ok = !be_model_from_net(&p, NULL, "policy", &g_policy) && !be_model_from_net(&v, NULL, "value", &g_value);
    }
    nn_free(&p);
    nn_free(&v);
    return ok;
}

/* Creates the policy/value pair of backend `name` for batches up to 8. */
static int make_pair(const char *name, be_backend **p, be_backend **v) {
    be_options o = be_options_default();
    o.max_batch = 8;
    *p = *v = NULL;
    if (be_create(name, g_policy, &o, p) || be_create(name, g_value, &o, v)) {
        printf("  %s: %s\n", name, nrps_last_error());
        be_destroy(*p);
        be_destroy(*v);
        return 0;
    }
    return 1;
}

static void check_row(const bench_search_row *r, int games, int playouts, int batch) {
    CHECK(r->games == games);
    CHECK(r->moves == 9L * games); /* the standard game always lasts 9 plies */
    CHECK(r->move_us.n == r->moves);
    CHECK(r->move_us.min > 0 && r->move_us.min <= r->move_us.p50 && r->move_us.p50 <= r->move_us.max);
    CHECK(r->eval_states > 0 && r->eval_states <= (long)playouts * r->moves);
    CHECK(r->eval_calls > 0 && r->eval_calls <= r->eval_states);
    CHECK(r->mean_batch >= 1.0 && r->mean_batch <= batch);
    CHECK(r->eval_share > 0 && r->eval_share <= 1.0);
    CHECK(r->playouts_per_s > 0 && r->evals_per_s > 0 && r->evals_per_s <= r->playouts_per_s);
    CHECK(r->total_s > 0 && !r->interrupted);
}

static void test_native_run(void) {
    be_backend *p, *v;
    REQUIRE(make_pair("native-cpu", &p, &v));
    bench_search_row r;
    rps_move m1[3 * RPS_MAX_PLIES], m2[3 * RPS_MAX_PLIES];
    CHECK(bench_search_run(p, RPS_ENC_BOARD, v, RPS_ENC_BOARD, 60, 1, 3, 5, m1, &r) == NRPS_OK);
    check_row(&r, 3, 60, 1);
    CHECK(r.mean_batch == 1.0);
    CHECK(!strcmp(r.backend, "native-cpu") && r.same_games == -1);
    /* the same settings give the same games: the workload is deterministic */
    CHECK(bench_search_run(p, RPS_ENC_BOARD, v, RPS_ENC_BOARD, 60, 1, 3, 5, m2, &r) == NRPS_OK);
    CHECK(bench_search_same_games(m1, m2, 3) == 3);
    for (int i = 0; i < 3 * RPS_MAX_PLIES; i++) CHECK(m1[i].pos >= 0 && m1[i].pos < 9);
    /* the encodings reach the networks: with the hands in the inputs these random nets play other games */
    CHECK(bench_search_run(p, RPS_ENC_HANDS, v, RPS_ENC_HANDS, 60, 1, 3, 5, m2, &r) ==
          NRPS_OK);
    CHECK(bench_search_same_games(m1, m2, 3) < 3);
    /* batching with virtual loss: several leaves per call */
    CHECK(bench_search_run(p, RPS_ENC_BOARD, v, RPS_ENC_BOARD, 60, 8, 2, 5, NULL, &r) == NRPS_OK);
    check_row(&r, 2, 60, 8);
    CHECK(r.mean_batch > 1.5);
    /* a batch above the backends' max is refused */
    CHECK(bench_search_run(p, RPS_ENC_BOARD, v, RPS_ENC_BOARD, 60, 9, 1, 5, NULL, &r) == NRPS_ERR_ARG);
    be_destroy(p);
    be_destroy(v);
}

/* eval "incremental" over the same networks: the same games as eval "full" on native-cpu, at batch 1 and 8. */
static void test_incremental_run(void) {
    be_backend *p, *v;
    REQUIRE(make_pair("native-cpu", &p, &v));
    const nn_net *pn = be_model_net(g_policy), *vn = be_model_net(g_value);
    bench_search_row r;
    rps_move m1[3 * RPS_MAX_PLIES], m2[3 * RPS_MAX_PLIES];
    for (int batch = 1; batch <= 8; batch += 7) {
        CHECK(bench_search_run(p, RPS_ENC_HANDS, v, RPS_ENC_HANDS, 60, batch, 3, 5, m1, &r) == NRPS_OK);
        CHECK(!strcmp(r.eval, "full") && !strcmp(bench_search_label(&r), "native-cpu"));
        CHECK(bench_search_run_incremental(pn, RPS_ENC_HANDS, vn, RPS_ENC_HANDS, 1, 60, batch, 3, 5, m2, &r) == NRPS_OK);
        check_row(&r, 3, 60, batch);
        CHECK(!strcmp(r.backend, "native-cpu") && !strcmp(r.eval, "incremental"));
        CHECK(!strcmp(bench_search_label(&r), "native-incr"));
        CHECK(bench_search_same_games(m1, m2, 3) == 3);
    }
    be_destroy(p);
    be_destroy(v);
}

static void test_ort_run(void) {
    be_backend *p, *v;
    REQUIRE(make_pair("ort-cpu", &p, &v));
    bench_search_row r;
    CHECK(bench_search_run(p, RPS_ENC_BOARD, v, RPS_ENC_BOARD, 40, 4, 2, 9, NULL, &r) == NRPS_OK);
    check_row(&r, 2, 40, 4);
    CHECK(!strcmp(r.backend, "ort-cpu"));
    be_destroy(p);
    be_destroy(v);
}

/* Two search threads, each on its own pair of native-cpu handles, and the incremental evaluator's 2-thread row. */
static void test_threads_run(void) {
    be_backend *p[2], *v[2];
    REQUIRE(make_pair("native-cpu", &p[0], &v[0]) && make_pair("native-cpu", &p[1], &v[1]));
    bench_search_row r;
    CHECK(bench_search_run_threads(p, RPS_ENC_BOARD, v, RPS_ENC_BOARD, 2, 80, 4, 2, 9, NULL, &r) == NRPS_OK);
    check_row(&r, 2, 80, 4);
    CHECK(r.threads == 2 && !strcmp(r.backend, "native-cpu") && !strcmp(r.eval, "full"));
    CHECK(bench_search_run_threads(p, RPS_ENC_BOARD, v, RPS_ENC_BOARD, MCTS_MAX_THREADS + 1, 80, 4, 2, 9, NULL, &r) ==
          NRPS_ERR_ARG);
    const nn_net *pn = be_model_net(g_policy), *vn = be_model_net(g_value);
    REQUIRE(pn && vn);
    CHECK(bench_search_run_incremental(pn, RPS_ENC_BOARD, vn, RPS_ENC_BOARD, 2, 80, 4, 2, 9, NULL, &r) == NRPS_OK);
    check_row(&r, 2, 80, 4);
    CHECK(r.threads == 2 && !strcmp(r.eval, "incremental"));
    /* two threads sharing one batching service on the first pair: its batches are at most 2 x 4 */
    CHECK(bench_search_run_service(p[0], RPS_ENC_BOARD, v[0], RPS_ENC_BOARD, 2, 80, 4, 0, 2, 9, &r) == NRPS_OK);
    CHECK(r.threads == 2 && !strcmp(r.eval, "service") && !strcmp(bench_search_label(&r), "native-cpu+svc"));
    CHECK(r.games == 2 && r.moves == 18 && r.mean_batch >= 1 && r.mean_batch <= 8 && r.playouts_per_s > 0);
    for (int t = 0; t < 2; t++) be_destroy(p[t]), be_destroy(v[t]);
}

/* The recommendation's agreement test: equal shares pass, a drop within noise passes, a clear drop fails. */
static void test_recommend_agreement(void) {
    CHECK(bench_rec_agreement_ok(0.9, 0.9, 200));
    CHECK(bench_rec_agreement_ok(0.87, 0.9, 200));  /* 3 points below: se of the difference about 3.1 points */
    CHECK(!bench_rec_agreement_ok(0.80, 0.9, 200)); /* 10 points below */
    CHECK(bench_rec_agreement_ok(1.0, 1.0, 50) && !bench_rec_agreement_ok(0.9, 1.0, 2000));
    CHECK(!bench_rec_agreement_ok(1.0, 1.0, 0));
}

static void test_same_games(void) {
    rps_move a[2 * RPS_MAX_PLIES], b[2 * RPS_MAX_PLIES];
    for (int i = 0; i < 2 * RPS_MAX_PLIES; i++) a[i] = b[i] = (rps_move){.card = (int8_t)(i % 3), .pos = (int8_t)(i % 9)};
    CHECK(bench_search_same_games(a, b, 2) == 2);
    b[RPS_MAX_PLIES + 4].pos = 8; /* second game differs at its fifth move */
    CHECK(bench_search_same_games(a, b, 2) == 1);
    b[0].card = 2;
    CHECK(bench_search_same_games(a, b, 2) == 0);
}

int main(void) {
    if (!setup()) {
        fprintf(stderr, "setup failed: %s\n", nrps_last_error());
        return 1;
    }
    RUN(test_native_run);
    RUN(test_incremental_run);
    RUN(test_ort_run);
    RUN(test_threads_run);
    RUN(test_recommend_agreement);
    RUN(test_same_games);
    be_model_free(g_policy);
    be_model_free(g_value);
    return check_summary("search_bench");
}
