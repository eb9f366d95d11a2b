/* test_eval_incremental.c - the incremental (accumulator) evaluator against nn_forward, the reference: along whole
 * random games and inside MCTS self-play (every leaf checked), from the parent (delta) and from nothing (full
 * refresh), for 1-, 2- and 5-layer networks with every hidden activation, two-headed networks with and without a
 * trunk, both input encodings, and the default models; MCTS with eval=incremental against eval=full (the same
 * moves), tree reuse, a small ring (overwritten ids), the full-refresh threshold and its counters, the encoding's
 * tied side-to-move inputs, and the agent key eval=.
 *
 * `test_eval_incremental --bench [playouts [full|incremental|both|none [pv|net]]]`: playouts/s of MCTS (batch 1,
 * fresh tree per move) with the default networks on eval_net (native-cpu) and on the incremental evaluator, the
 * evaluator's share, and the two evaluators alone on one game's recorded leaves. */
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "bench/search_bench.h"
#include "check.h"
#include "game/game.h"
#include "nn/nn_ops.h"
#include "search/agent.h"
#include "search/eval_incremental.h"
#include "search/eval_net.h"
#include "search/mcts.h"

/* ---- the reference ---- */

typedef struct {
    const nn_net *policy, *value; /* value NULL, == policy, or a value network */
    rps_encoding penc, venc;
} ref_nets;

static void ref_head(const nn_net *n, rps_encoding enc, const rps_state *s, nn_head_kind kind, float *out) {
    float x[RPS_INPUT_SIZE], buf[NN_MAX_HEADS][RPS_POLICY_SIZE], scratch[3 * 1024];
    float *y[NN_MAX_HEADS] = {buf[0], buf[1]};
    rps_state_encode_as(s, enc, x);
    nn_forward(n, x, 1, y, nn_forward_scratch(&n->arch, 1) <= sizeof scratch / sizeof *scratch ? scratch : NULL);
    int h = nn_head_find(&n->arch, kind);
    nn_act act = nn_head_act(&n->arch, h);
    if (kind == NN_HEAD_POLICY) {
        memcpy(out, buf[h], RPS_POLICY_SIZE * sizeof *out);
        nn_policy_probs(act, out, RPS_POLICY_SIZE);
    } else {
        *out = nn_value_prob(act, buf[h][0]);
    }
}

/* Reference priors and value of s. */
static void ref_eval(const ref_nets *r, const rps_state *s, float pol[RPS_POLICY_SIZE], float *val) {
    ref_head(r->policy, r->penc, s, NN_HEAD_POLICY, pol);
    if (r->value) ref_head(r->value, r->venc, s, NN_HEAD_VALUE, val);
    else *val = 0.5f;
}

static int close_to(double got, double want) { return fabs(got - want) <= 1e-5 + 1e-4 * fabs(want); }

static double worst_seen; /* largest |got - want| over every comparison (printed by main) */

/* 1 when pol/val match the reference for s (failures are reported with what). */
static int matches(const ref_nets *r, const rps_state *s, const float *pol, float val, const char *what) {
    float rp[RPS_POLICY_SIZE], rv;
    ref_eval(r, s, rp, &rv);
    int ok = close_to(val, rv);
    for (int p = 0; p < RPS_POLICY_SIZE; p++) {
        ok &= close_to(pol[p], rp[p]);
        if (fabs(pol[p] - rp[p]) > worst_seen) worst_seen = fabs(pol[p] - rp[p]);
    }
    if (fabs(val - rv) > worst_seen) worst_seen = fabs(val - rv);
    CHECK_MSG(ok, "%s: ply %d value %.9g vs %.9g, prior[0] %.9g vs %.9g", what, s->ply, val, rv, pol[0], rp[0]);
    return ok;
}

/* ---- networks ---- */

/* Random weights scaled so that the activations spread (PyTorch's init keeps them small). */
static void random_weights(nn_net *n, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    nn_init_random(n, &r);
    for (size_t i = 0; i < n->n_params; i++) n->params[i] *= 3.0f;
}

static int mlp(nn_net *n, const int *hidden, int nh, nn_act act, int out, nn_act out_act, nn_head_kind kind,
               uint64_t seed) {
    nn_arch a = nn_arch_mlp(RPS_INPUT_SIZE, hidden, nh, act, act == NN_ACT_LEAKY_RELU ? 0.1f : 0, out, out_act, kind);
    if (nn_init(n, &a) != NRPS_OK) return 0;
    random_weights(n, seed);
    return 1;
}

static int two_heads(nn_net *n, const int *trunk, int nt, const int *ph, int np, const int *vh, int nv, nn_act act,
                     uint64_t seed) {
    nn_arch a = nn_arch_two_heads(RPS_INPUT_SIZE, trunk, nt, ph, np, vh, nv, act, 0.05f);
    if (nn_init(n, &a) != NRPS_OK) return 0;
    random_weights(n, seed);
    return 1;
}

/* ---- checks along games ---- */

static eval_incr *make_incr(const ref_nets *r, int max_batch, int slots) {
    eval_incr_nets nets = {.policy = r->policy, .value = r->value, .penc = r->penc, .venc = r->venc};
    eval_incr *e = eval_incr_create(&nets, max_batch, slots);
    if (!e) fprintf(stderr, "  eval_incr_create: %s\n", nrps_last_error());
    return e;
}

/* A random game: every position from its predecessor (delta) and from nothing (refresh), against the reference. */
static void check_random_games(const ref_nets *r, int games, uint64_t seed) {
    eval_incr *e = make_incr(r, 1, 64);
    REQUIRE(e);
    const mcts_evaluator *ev = eval_incr_evaluator(e);
    nrps_rng rng;
    nrps_rng_seed(&rng, seed);
    rps_config cfg = rps_config_standard();
    for (int g = 0; g < games; g++) {
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        uint32_t prev = MCTS_EVAL_NONE, id, none = MCTS_EVAL_NONE;
        while (!rps_state_is_over(&s)) {
            float pol[RPS_POLICY_SIZE], val;
            REQUIRE(ev->evaluate_from(ev->ctx, &s, &prev, &id, 1, pol, &val) == NRPS_OK);
            if (!matches(r, &s, pol, val, "delta from the previous position")) break;
            uint32_t id2;
            REQUIRE(ev->evaluate_from(ev->ctx, &s, &none, &id2, 1, pol, &val) == NRPS_OK);
            if (!matches(r, &s, pol, val, "full refresh")) break;
            REQUIRE(ev->evaluate(ev->ctx, &s, 1, pol, &val) == NRPS_OK);
            if (!matches(r, &s, pol, val, "evaluate")) break;
            prev = id;
            rps_move mv[RPS_MAX_MOVES];
            int n = rps_state_legal_moves(&s, mv);
            rps_state_apply(&s, mv[nrps_rng_below(&rng, (uint32_t)n)]);
        }
    }
    eval_incr_stats st = eval_incr_get_stats(e);
    CHECK(st.deltas > 0 && st.refreshes > 0);
    eval_incr_destroy(e);
}

/* An evaluator that forwards to the incremental one and checks every state it is asked for. */
typedef struct {
    const mcts_evaluator *inner;
    const ref_nets *ref;
    long checked, bad;
} checking_eval;

static nrps_status check_from(void *ctx, const rps_state *s, const uint32_t *from, uint32_t *ids, int n, float *pol,
                              float *val) {
    checking_eval *c = ctx;
    nrps_status st = c->inner->evaluate_from(c->inner->ctx, s, from, ids, n, pol, val);
    for (int i = 0; st == NRPS_OK && i < n && c->bad < 3; i++, c->checked++)
        c->bad += !matches(c->ref, &s[i], &pol[i * RPS_POLICY_SIZE], val[i], "inside search");
    return st;
}

static nrps_status check_plain(void *ctx, const rps_state *s, int n, float *pol, float *val) {
    checking_eval *c = ctx;
    return c->inner->evaluate(c->inner->ctx, s, n, pol, val);
}

/* MCTS self-play games (batch leaves, optional reuse) with every leaf checked; returns the incremental stats. */
static eval_incr_stats check_selfplay(const ref_nets *r, int games, int playouts, int batch, int reuse, int slots,
                                      uint64_t seed) {
    eval_incr_stats none = {0};
    eval_incr *e = make_incr(r, batch, slots);
    mcts_config mc = mcts_config_default();
    mc.playouts = playouts;
    mc.batch = batch;
    mc.reuse_tree = reuse;
    mcts *m = mcts_create(&mc);
    if (!e || !m) {
        CHECK(e && m);
        eval_incr_destroy(e);
        mcts_destroy(m);
        return none;
    }
    checking_eval c = {.inner = eval_incr_evaluator(e), .ref = r};
    mcts_evaluator ev = {.ctx = &c, .evaluate = check_plain, .evaluate_from = check_from, .max_batch = batch};
    nrps_rng rng;
    nrps_rng_seed(&rng, seed);
    rps_config cfg = rps_config_standard();
    for (int g = 0; g < games && !c.bad; g++) {
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        mcts_reset(m);
        while (!rps_state_is_over(&s) && !c.bad) {
            mcts_result res;
            if (mcts_search_run(m, &s, &ev, &rng, &res) != NRPS_OK) {
                CHECK(0);
                break;
            }
            rps_state_apply(&s, res.move);
        }
    }
    CHECK(c.checked > 0 && c.bad == 0);
    eval_incr_stats st = eval_incr_get_stats(e);
    eval_incr_destroy(e);
    mcts_destroy(m);
    return st;
}

static void check_nets(const ref_nets *r, uint64_t seed) {
    check_random_games(r, 6, seed);
    eval_incr_stats st = check_selfplay(r, 2, 60, 1, 0, eval_incr_slots_for(60), seed + 1);
    CHECK(st.deltas > st.refreshes); /* in search nearly every leaf is one move from its parent */
    check_selfplay(r, 1, 60, 7, 0, eval_incr_slots_for(60), seed + 2);
}

/* ---- networks of the family ---- */

static void test_one_layer(void) {
    nn_net p = {0}, v = {0};
    REQUIRE(mlp(&p, NULL, 0, NN_ACT_RELU, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY, 11));
    REQUIRE(mlp(&v, NULL, 0, NN_ACT_RELU, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE, 12));
    for (int enc = 0; enc < 2; enc++) {
        ref_nets r = {&p, &v, (rps_encoding)enc, (rps_encoding)enc};
        check_nets(&r, 100 + (uint64_t)enc);
    }
    ref_nets r = {&p, NULL, RPS_ENC_HANDS, RPS_ENC_HANDS}; /* no value network */
    check_random_games(&r, 2, 7);
    nn_free(&p);
    nn_free(&v);
}

static void test_two_layers_every_activation(void) {
    const nn_act acts[] = {NN_ACT_RELU, NN_ACT_NONE, NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_LEAKY_RELU};
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
        nn_net p = {0}, v = {0};
        int hp[] = {37}, hv[] = {20};
        REQUIRE(mlp(&p, hp, 1, acts[a], 9, a % 2 ? NN_ACT_LOGSOFTMAX : NN_ACT_SOFTMAX, NN_HEAD_POLICY, 20 + a));
        REQUIRE(mlp(&v, hv, 1, acts[a], 1, a % 2 ? NN_ACT_TANH : NN_ACT_NONE, NN_HEAD_VALUE, 30 + a));
        ref_nets r = {&p, &v, (rps_encoding)(a % 2), (rps_encoding)((a + 1) % 2)}; /* mixed encodings too */
        check_nets(&r, 200 + a);
        nn_free(&p);
        nn_free(&v);
    }
}

static void test_five_layers(void) {
    nn_net p = {0}, v = {0};
    int hp[] = {48, 24, 17, 12}, hv[] = {33, 16, 8, 5};
    REQUIRE(mlp(&p, hp, 4, NN_ACT_LEAKY_RELU, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY, 41));
    REQUIRE(mlp(&v, hv, 4, NN_ACT_TANH, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE, 42));
    for (int enc = 0; enc < 2; enc++) {
        ref_nets r = {&p, &v, (rps_encoding)enc, (rps_encoding)enc};
        check_nets(&r, 300 + (uint64_t)enc);
    }
    nn_free(&p);
    nn_free(&v);
}

static void test_two_headed(void) {
    int t2[] = {40, 24}, ph[] = {16}, vh[] = {12, 6};
    nn_net a = {0}, b = {0}, c = {0};
    REQUIRE(two_heads(&a, t2, 2, ph, 1, vh, 2, NN_ACT_RELU, 51));  /* trunk of 2 */
    REQUIRE(two_heads(&b, t2, 1, NULL, 0, NULL, 0, NN_ACT_TANH, 52)); /* trunk of 1, one-layer heads */
    REQUIRE(two_heads(&c, NULL, 0, ph, 1, NULL, 0, NN_ACT_LEAKY_RELU, 53)); /* no trunk: two input layers */
    nn_net *nets[] = {&a, &b, &c};
    for (int k = 0; k < 3; k++)
        for (int enc = 0; enc < 2; enc++) {
            ref_nets r = {nets[k], nets[k], (rps_encoding)enc, (rps_encoding)enc};
            check_nets(&r, 400 + 10 * (uint64_t)k + (uint64_t)enc);
        }
    nn_free(&a);
    nn_free(&b);
    nn_free(&c);
}

/* ---- the default models ---- */

typedef struct {
    be_model *m[3]; /* policy, value, two-headed */
    rps_encoding enc[3];
} defaults;

static int load_defaults(defaults *d) {
    const char *paths[3] = {"models/rps_policy.onnx", "models/rps_value.onnx", "models/rps_net.onnx"};
    memset(d, 0, sizeof *d);
    for (int k = 0; k < 3; k++) {
        if (be_model_load(paths[k], &d->m[k]) != NRPS_OK || !be_model_net(d->m[k])) return 0;
        if (!rps_encoding_parse(be_model_info(d->m[k])->input_encoding, &d->enc[k])) return 0;
    }
    return 1;
}

static void free_defaults(defaults *d) {
    for (int k = 0; k < 3; k++) be_model_free(d->m[k]);
}

static void test_default_models(void) {
    defaults d;
    if (!load_defaults(&d)) {
        free_defaults(&d);
        SKIP("models/ not found (run from the repository root)");
    }
    ref_nets pv = {be_model_net(d.m[0]), be_model_net(d.m[1]), d.enc[0], d.enc[1]};
    ref_nets two = {be_model_net(d.m[2]), be_model_net(d.m[2]), d.enc[2], d.enc[2]};
    check_nets(&pv, 500);
    check_nets(&two, 510);
    free_defaults(&d);
}

/* ---- MCTS: eval=incremental against eval=full ---- */

/* The moves of `games` seeded self-play games with ev (reuse: keep the tree). */
static int play_moves(const mcts_evaluator *ev, int games, int playouts, int reuse, rps_move *moves, float *values) {
    mcts_config mc = mcts_config_default();
    mc.playouts = playouts;
    mc.reuse_tree = reuse;
    mcts *m = mcts_create(&mc);
    if (!m) return 0;
    rps_config cfg = rps_config_standard();
    int k = 0;
    for (int g = 0; g < games; g++) {
        nrps_rng rng;
        nrps_rng_seed(&rng, 77 + (uint64_t)g);
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        mcts_reset(m);
        while (!rps_state_is_over(&s)) {
            mcts_result res;
            if (mcts_search_run(m, &s, ev, &rng, &res) != NRPS_OK) {
                mcts_destroy(m);
                return 0;
            }
            moves[k] = res.move;
            values[k++] = res.value;
            rps_state_apply(&s, res.move);
            if (reuse && !rps_state_is_over(&s) && mcts_tree_size(m) <= 1) {
                mcts_destroy(m);
                return 0;
            }
        }
    }
    mcts_destroy(m);
    return k;
}

/* Searches with both evaluators; floats rounded differently could in principle flip a visit-count tie (broken by
 * the prior), so the root values are compared too; with these seeds every move is the same. */
static void compare_full(const defaults *d, int two, int reuse) {
    be_options opt = be_options_default();
    opt.max_batch = 1;
    be_backend *bp = NULL, *bv = NULL;
    int pi = two ? 2 : 0, vi = two ? 2 : 1;
    REQUIRE(be_create("native-cpu", d->m[pi], &opt, &bp) == NRPS_OK);
    if (!two) REQUIRE(be_create("native-cpu", d->m[vi], &opt, &bv) == NRPS_OK);
    eval_net *full = eval_net_create(bp, d->enc[pi], two ? bp : bv, d->enc[vi], 1);
    eval_incr_nets nets = {be_model_net(d->m[pi]), be_model_net(d->m[vi]), d->enc[pi], d->enc[vi], NULL, NULL};
    eval_incr *inc = eval_incr_create(&nets, 1, eval_incr_slots_for(150));
    REQUIRE(full && inc);
    enum { GAMES = 4 };
    rps_move m1[GAMES * RPS_MAX_PLIES], m2[GAMES * RPS_MAX_PLIES];
    float v1[GAMES * RPS_MAX_PLIES], v2[GAMES * RPS_MAX_PLIES];
    int n1 = play_moves(eval_net_evaluator(full), GAMES, 150, reuse, m1, v1);
    int n2 = play_moves(eval_incr_evaluator(inc), GAMES, 150, reuse, m2, v2);
    CHECK(n1 > 0 && n1 == n2);
    int same = 1;
    for (int i = 0; i < n1 && i < n2 && same; i++) {
        same = m1[i].card == m2[i].card && m1[i].pos == m2[i].pos;
        CHECK_MSG(same, "move %d differs (%d,%d) vs (%d,%d)", i, m1[i].card, m1[i].pos, m2[i].card, m2[i].pos);
        CHECK_MSG(fabs(v1[i] - v2[i]) <= 1e-4, "root value %d: %.7f vs %.7f", i, v1[i], v2[i]);
    }
    eval_incr_stats st = eval_incr_get_stats(inc);
    /* one root per search (per game with reuse: the kept subtrees' ids stay valid) and a few parents older than the
     * ring with reuse */
    CHECK_MSG(st.no_parent <= GAMES * RPS_MAX_PLIES || st.no_parent * 20 < st.evals, "no_parent %lld of %lld evals",
              st.no_parent, st.evals);
    eval_incr_destroy(inc);
    eval_net_destroy(full);
    be_destroy(bp);
    be_destroy(bv);
}

static void test_same_moves_as_full(void) {
    defaults d;
    if (!load_defaults(&d)) {
        free_defaults(&d);
        SKIP("models/ not found (run from the repository root)");
    }
    compare_full(&d, 0, 0);
    compare_full(&d, 1, 0);
    compare_full(&d, 0, 1); /* tree reuse */
    free_defaults(&d);
}

static void test_tree_reuse_and_small_ring(void) {
    nn_net p = {0}, v = {0};
    int hp[] = {32}, hv[] = {16};
    REQUIRE(mlp(&p, hp, 1, NN_ACT_RELU, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY, 61));
    REQUIRE(mlp(&v, hv, 1, NN_ACT_RELU, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE, 62));
    ref_nets r = {&p, &v, RPS_ENC_HANDS, RPS_ENC_HANDS};
    eval_incr_stats st = check_selfplay(&r, 3, 80, 1, 1, eval_incr_slots_for(80), 63); /* reuse, every leaf checked */
    /* one fresh root per game, and parents of the kept subtrees evaluated more than a ring ago */
    CHECK_MSG(st.no_parent >= 3 && st.no_parent * 20 < st.evals, "no_parent %lld of %lld", st.no_parent, st.evals);
    /* a ring of 4: most parents overwritten (a full refresh each), results still exact */
    st = check_selfplay(&r, 2, 80, 3, 1, 4, 64);
    CHECK(st.no_parent > 10 && st.deltas > 0);
    nn_free(&p);
    nn_free(&v);
}

/* A late position evaluated from the starting one changes more features than it has non-zero ones: the full path;
 * a position from its parent: the delta. The counters say which. */
static void test_threshold(void) {
    nn_net p = {0};
    int hp[] = {16};
    REQUIRE(mlp(&p, hp, 1, NN_ACT_RELU, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY, 71));
    ref_nets r = {&p, NULL, RPS_ENC_BOARD, RPS_ENC_BOARD};
    eval_incr *e = make_incr(&r, 1, 16);
    REQUIRE(e);
    const mcts_evaluator *ev = eval_incr_evaluator(e);
    rps_config cfg = rps_config_standard();
    nrps_rng rng;
    nrps_rng_seed(&rng, 5);
    rps_state start, late, child;
    rps_state_deal(&start, &cfg, &rng);
    late = start;
    for (int k = 0; k < 8; k++) {
        rps_move mv[RPS_MAX_MOVES];
        rps_state_legal_moves(&late, mv);
        rps_state_apply(&late, mv[0]);
    }
    float pol[RPS_POLICY_SIZE], val;
    uint32_t none = MCTS_EVAL_NONE, id_late, id_start, id_child;
    REQUIRE(ev->evaluate_from(ev->ctx, &late, &none, &id_late, 1, pol, &val) == NRPS_OK);
    eval_incr_stats s0 = eval_incr_get_stats(e);
    CHECK(s0.refreshes == 1 && s0.no_parent == 1 && s0.deltas == 0);
    REQUIRE(ev->evaluate_from(ev->ctx, &start, &id_late, &id_start, 1, pol, &val) == NRPS_OK);
    matches(&r, &start, pol, val, "start from late");
    eval_incr_stats s1 = eval_incr_get_stats(e);
    CHECK_MSG(s1.refreshes == 2 && s1.no_parent == 1 && s1.deltas == 0, "refreshes %lld no_parent %lld deltas %lld",
              s1.refreshes, s1.no_parent, s1.deltas);
    CHECK(s1.columns - s0.columns == 10); /* 9 empty cells + Player1 to move */
    child = start;
    rps_move mv[RPS_MAX_MOVES];
    rps_state_legal_moves(&child, mv);
    rps_state_apply(&child, mv[4]);
    REQUIRE(ev->evaluate_from(ev->ctx, &child, &id_start, &id_child, 1, pol, &val) == NRPS_OK);
    matches(&r, &child, pol, val, "child from start");
    eval_incr_stats s2 = eval_incr_get_stats(e);
    CHECK(s2.deltas == 1 && s2.refreshes == 2);
    CHECK(s2.columns - s1.columns == 5); /* the placed card: type, empty, owner; the side to move: two */
    /* an id that was never handed out, and id 0: a full refresh, not a read */
    uint32_t bogus = 123456;
    REQUIRE(ev->evaluate_from(ev->ctx, &child, &bogus, &id_child, 1, pol, &val) == NRPS_OK);
    matches(&r, &child, pol, val, "unknown id");
    CHECK(eval_incr_get_stats(e).no_parent == 2);
    eval_incr_destroy(e);
    nn_free(&p);
}

/* The feature grouping's assumption: the nine side-to-move slots hold one value each, in both encodings. */
static void test_tied_side_inputs(void) {
    for (int g = 0; g < 200; g++) {
        rps_config cfg = rps_config_standard();
        nrps_rng rng;
        nrps_rng_seed(&rng, 900 + (uint64_t)g);
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        for (int k = 0; k < g % 9; k++) {
            rps_move mv[RPS_MAX_MOVES];
            int n = rps_state_legal_moves(&s, mv);
            rps_state_apply(&s, mv[nrps_rng_below(&rng, (uint32_t)n)]);
        }
        for (int enc = 0; enc < 2; enc++) {
            float x[RPS_INPUT_SIZE];
            rps_state_encode_as(&s, (rps_encoding)enc, x);
            for (int p = 1; p < RPS_CELLS; p++) CHECK(x[9 * p + 6] == x[6] && x[9 * p + 7] == x[7]);
        }
    }
}

static void test_agent_key(void) {
    agent_spec sp;
    CHECK(agent_spec_parse("mcts-net:40,eval=incremental", &sp) == NRPS_OK && sp.incremental);
    CHECK(agent_spec_parse("mcts-net:40,eval=full", &sp) == NRPS_OK && !sp.incremental);
    CHECK(agent_spec_parse("mcts:40,eval=incremental", &sp) == NRPS_OK && sp.kind == AGENT_MCTS_NET);
    CHECK(agent_spec_parse("mcts-net:40,eval=fast", &sp) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "eval= expects full or incremental"));
    CHECK(agent_spec_parse("net,eval=incremental", &sp) == NRPS_ERR_ARG);
    CHECK(agent_spec_parse("mcts-net:40,backend=native-ref,eval=incremental", &sp) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "eval=incremental needs backend=native-cpu"));
    CHECK(agent_spec_parse("mcts-net:40,eval=incremental,backend=native-cpu", &sp) == NRPS_OK);
    eval_net_spec es = {.policy_path = "models/rps_policy.onnx", .backend = "ort-cpu"};
    CHECK(!eval_incr_open(&es, 1, 8) && strstr(nrps_last_error(), "needs backend=native-cpu"));
    REQUIRE(agent_spec_parse("mcts-net:40,eval=incremental,net=models/rps_net.onnx", &sp) == NRPS_OK);
    agent *a = agent_create(&sp, 3);
    if (!a) SKIP("models/rps_net.onnx not found (run from the repository root)");
    rps_config cfg = rps_config_standard();
    nrps_rng rng;
    nrps_rng_seed(&rng, 3);
    rps_state s;
    rps_state_deal(&s, &cfg, &rng);
    rps_move mv;
    CHECK(agent_select_move(a, &s, &mv) == NRPS_OK && rps_state_is_legal(&s, mv));
    agent_destroy(a);
}

/* ---- --bench ---- */

static void bench_one(const char *what, const mcts_evaluator *inner, int playouts, int games) {
    bench_timed_eval t = {.inner = inner};
    mcts_evaluator ev = bench_timed_evaluator(&t);
    ev.max_batch = 1;
    mcts_config mc = mcts_config_default();
    mc.playouts = playouts;
    mcts *m = mcts_create(&mc);
    rps_config cfg = rps_config_standard();
    long pl = 0, evals = 0;
    uint64_t t0 = nrps_now_ns();
    for (int g = 0; g < games; g++) {
        nrps_rng rng;
        nrps_rng_seed(&rng, (uint64_t)g);
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        while (!rps_state_is_over(&s)) {
            mcts_result res;
            mcts_reset(m);
            if (mcts_search_run(m, &s, &ev, &rng, &res) != NRPS_OK) return;
            pl += res.playouts;
            evals += res.eval_states;
            rps_state_apply(&s, res.move);
        }
    }
    double s = (double)(nrps_now_ns() - t0) * 1e-9;
    printf("%-28s %9.0f playouts/s  %6.1f ns per evaluation  eval share %4.1f%%  search %5.1f ns per playout\n",
           what, pl / s, (double)t.ns / (double)evals, 100.0 * (double)t.ns * 1e-9 / s,
           (s - (double)t.ns * 1e-9) * 1e9 / (double)pl);
    mcts_destroy(m);
}

/* Records what search asks: every leaf state and the index of its parent's evaluation in the record (-1: none). */
enum { REC_MAX = 4096 };
typedef struct {
    const mcts_evaluator *inner;
    rps_state s[REC_MAX];
    int parent[REC_MAX], n;
    uint32_t id[REC_MAX];
} recorder;
static nrps_status rec_from(void *ctx, const rps_state *s, const uint32_t *f, uint32_t *ids, int n, float *p,
                            float *v) {
    recorder *r = ctx;
    nrps_status st = r->inner->evaluate_from(r->inner->ctx, s, f, ids, n, p, v);
    for (int i = 0; i < n && r->n < REC_MAX; i++, r->n++) {
        r->s[r->n] = s[i];
        r->id[r->n] = ids[i];
        r->parent[r->n] = -1;
        for (int k = r->n - 1; k >= 0 && f[i]; k--)
            if (r->id[k] == f[i]) {
                r->parent[r->n] = k;
                break;
            }
    }
    return st;
}
static nrps_status rec_plain(void *ctx, const rps_state *s, int n, float *p, float *v) {
    recorder *r = ctx;
    return r->inner->evaluate(r->inner->ctx, s, n, p, v);
}

static double thread_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The evaluators alone on the leaves of one self-play game's searches (each from its parent's evaluation, as in
 * search): the best of 30 passes, thread CPU time. */
static void bench_evals(const mcts_evaluator *full, const mcts_evaluator *inc) {
    static recorder r;
    r.inner = inc;
    r.n = 0;
    mcts_evaluator ev = {.ctx = &r, .evaluate = rec_plain, .evaluate_from = rec_from, .max_batch = 1};
    mcts_config mc = mcts_config_default();
    mcts *m = mcts_create(&mc);
    rps_config cfg = rps_config_standard();
    nrps_rng rng;
    nrps_rng_seed(&rng, 1);
    rps_state s;
    rps_state_deal(&s, &cfg, &rng);
    while (m && !rps_state_is_over(&s) && r.n < REC_MAX - 256) {
        mcts_result res;
        mcts_reset(m);
        if (mcts_search_run(m, &s, &ev, &rng, &res) != NRPS_OK) break;
        rps_state_apply(&s, res.move);
    }
    mcts_destroy(m);
    static uint32_t ids[REC_MAX];
    float p[RPS_POLICY_SIZE], v;
    double best_full = 1e30, best_inc = 1e30;
    for (int pass = 0; pass < 30; pass++) {
        double t0 = thread_ns();
        for (int i = 0; i < r.n; i++) full->evaluate(full->ctx, &r.s[i], 1, p, &v);
        double t1 = thread_ns();
        for (int i = 0; i < r.n; i++) {
            uint32_t f = r.parent[i] >= 0 ? ids[r.parent[i]] : MCTS_EVAL_NONE;
            inc->evaluate_from(inc->ctx, &r.s[i], &f, &ids[i], 1, p, &v);
        }
        double t2 = thread_ns();
        if (t1 - t0 < best_full) best_full = t1 - t0;
        if (t2 - t1 < best_inc) best_inc = t2 - t1;
    }
    printf("  evaluator alone over %d recorded leaves: full %.1f ns, incremental %.1f ns per evaluation\n", r.n,
           best_full / r.n, best_inc / r.n);
}

/* which: "full", "incremental" or NULL (both); nets: "pv" (the pair), "net" (two-headed) or NULL (both). */
static int bench(int playouts, const char *which, const char *sets) {
    defaults d;
    if (!load_defaults(&d)) return 1;
    be_options opt = be_options_default();
    opt.max_batch = 1;
    for (int two = 0; two < 2; two++) {
        if (sets && strcmp(sets, two ? "net" : "pv")) continue;
        int pi = two ? 2 : 0, vi = two ? 2 : 1;
        be_backend *bp = NULL, *bv = NULL;
        if (be_create("native-cpu", d.m[pi], &opt, &bp) != NRPS_OK) return 1;
        if (!two && be_create("native-cpu", d.m[vi], &opt, &bv) != NRPS_OK) return 1;
        eval_net *full = eval_net_create(bp, d.enc[pi], two ? bp : bv, d.enc[vi], 1);
        eval_incr_nets nets = {be_model_net(d.m[pi]), be_model_net(d.m[vi]), d.enc[pi], d.enc[vi], NULL, NULL};
        eval_incr *inc = eval_incr_create(&nets, 1, eval_incr_slots_for(playouts));
        if (!full || !inc) return 1;
        int games = 2000000 / (playouts * 9) + 1;
        for (int rep = 0; rep < 2; rep++) {
            if (!which || !strcmp(which, "full"))
                bench_one(two ? "net, eval=full" : "policy+value, eval=full", eval_net_evaluator(full), playouts,
                          games);
            if (!which || !strcmp(which, "incremental"))
                bench_one(two ? "net, eval=incremental" : "policy+value, eval=incremental", eval_incr_evaluator(inc),
                          playouts, games);
        }
        bench_evals(eval_net_evaluator(full), eval_incr_evaluator(inc));
        eval_incr_stats st = eval_incr_get_stats(inc);
        printf("  %s; %lld evals: %lld deltas, %lld refreshes (%lld without a parent), %.1f columns per eval\n",
               eval_incr_describe(inc), st.evals, st.deltas, st.refreshes, st.no_parent,
               (double)st.columns / (double)st.evals);
        eval_incr_destroy(inc);
        eval_net_destroy(full);
        be_destroy(bp);
        be_destroy(bv);
    }
    free_defaults(&d);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--bench"))
        return bench(argc > 2 ? atoi(argv[2]) : 200, argc > 3 && strcmp(argv[3], "both") ? argv[3] : NULL,
                     argc > 4 ? argv[4] : NULL);
    RUN(test_tied_side_inputs);
    RUN(test_threshold);
    RUN(test_one_layer);
    RUN(test_two_layers_every_activation);
    RUN(test_five_layers);
    RUN(test_two_headed);
    RUN(test_default_models);
    RUN(test_same_moves_as_full);
    RUN(test_tree_reuse_and_small_ring);
    RUN(test_agent_key);
    printf("  largest difference from nn_forward: %.3g\n", worst_seen);
    return check_summary("eval_incremental");
}
