/* test_train.c - self-play targets, position keys, aggregation of identical positions, thread-count independence,
 * and the training loop's checkpoints for separate 2-layer, deeper and two-headed networks: round trip, resume
 * equal to an uninterrupted run, checkpoints of the earlier format (mlp_trainer) resuming, another architecture
 * refused, damaged checkpoints, the run folder's lock; the architecture flags' parsing and checks. Tiny runs (a few games, few playouts)
 * to stay fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "backend/backend.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "search/eval_net.h"
#include "search/mcts.h"
#include "train/replay.h"
#include "train/selfplay.h"
#include "train/train.h"
#include "train/train_lock.h"

static char tmpdir[256];

/* A random 81-16-9 policy and 81-8-1 value network as models taking encoding enc (m[0] policy, m[1] value). */
static int random_nets(be_model *m[2], uint64_t seed, rps_encoding enc) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    int hp[1] = {16}, hv[1] = {8};
    nn_arch a[2] = {nn_arch_mlp(RPS_INPUT_SIZE, hp, 1, NN_ACT_RELU, 0, RPS_POLICY_SIZE, NN_ACT_SOFTMAX, NN_HEAD_POLICY),
                    nn_arch_mlp(RPS_INPUT_SIZE, hv, 1, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE)};
    onnx_net_info info;
    onnx_net_info_default(&info);
    snprintf(info.input_encoding, sizeof info.input_encoding, "%s", rps_encoding_name(enc));
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        nn_net n;
        m[i] = NULL;
        ok = ok && nn_init(&n, &a[i]) == NRPS_OK;
        if (ok) nn_init_random(&n, &r);
        ok = ok && be_model_from_net(&n, &info, i ? "value" : "policy", &m[i]) == NRPS_OK;
        nn_free(&n);
    }
    return ok;
}

/* An evaluator on the models (native-ref, batch max_batch). */
static eval_net *open_eval(be_model *m[2], int max_batch) {
    eval_net_spec es = {.policy = m[0], .value = m[1], .backend = "native-ref", .opt = be_options_default()};
    return eval_net_open(&es, max_batch);
}

/* States along random games. */
static int random_states(rps_state *out, int max, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    rps_config cfg = rps_config_standard();
    int n = 0;
    while (n < max) {
        rps_state s;
        rps_state_deal(&s, &cfg, &r);
        while (n < max) {
            out[n++] = s;
            if (rps_state_is_over(&s)) break;
            rps_move mv[RPS_MAX_MOVES];
            int k = rps_state_legal_moves(&s, mv);
            rps_state_apply(&s, mv[nrps_rng_below(&r, (uint32_t)k)]);
        }
    }
    return n;
}

static void test_key_encoding(void) {
    rps_state st[500];
    int n = random_states(st, 500, 7);
    int distinct_boards_same_key = 0, same_board_other_hands = 0, hand_keys_differ = 0;
    for (int i = 0; i < n; i++)
        for (int e = RPS_ENC_BOARD; e <= RPS_ENC_HANDS; e++) {
            float a[RPS_INPUT_SIZE], b[RPS_INPUT_SIZE];
            rps_state_encode_as(&st[i], (rps_encoding)e, a);
            sp_key_encode(sp_key_from_state(&st[i], (rps_encoding)e), b);
            CHECK(memcmp(a, b, sizeof a) == 0); /* the key holds exactly what the network sees */
            if (i > 0 && sp_key_from_state(&st[i], (rps_encoding)e) == sp_key_from_state(&st[i - 1], (rps_encoding)e) &&
                memcmp(st[i].board, st[i - 1].board, sizeof st[i].board) != 0)
                distinct_boards_same_key++;
        }
    CHECK(distinct_boards_same_key == 0);
    /* the board key ignores the hands (positions differing only there are averaged); the hands key does not */
    for (int i = 0; i < n; i++) {
        rps_state s = st[i];
        if (rps_state_is_over(&s) || s.hand_len[RPS_P1] == 0) continue;
        s.hand[RPS_P1][0] = (int8_t)((s.hand[RPS_P1][0] + 1) % RPS_NTYPES);
        same_board_other_hands += sp_key_from_state(&s, RPS_ENC_BOARD) == sp_key_from_state(&st[i], RPS_ENC_BOARD);
        hand_keys_differ += sp_key_from_state(&s, RPS_ENC_HANDS) != sp_key_from_state(&st[i], RPS_ENC_HANDS);
    }
    CHECK(same_board_other_hands > 100);
    CHECK(hand_keys_differ == same_board_other_hands);
    /* the side to move is part of the key */
    rps_state s = st[0];
    uint64_t k1 = sp_key_from_state(&s, RPS_ENC_HANDS);
    s.to_move = RPS_P2;
    CHECK(sp_key_from_state(&s, RPS_ENC_HANDS) != k1);
    /* the largest hands fit: 16 cards of one type per player */
    rps_config big = {64, 16, 10};
    int8_t h1[16], h2[16];
    memset(h1, RPS_SCISSORS, sizeof h1);
    memset(h2, RPS_ROCK, sizeof h2);
    REQUIRE(rps_state_from_hands(&s, &big, h1, 16, h2, 16) == NRPS_OK);
    float a[RPS_INPUT_SIZE], b[RPS_INPUT_SIZE];
    rps_state_encode_as(&s, RPS_ENC_HANDS, a);
    sp_key_encode(sp_key_from_state(&s, RPS_ENC_HANDS), b);
    CHECK(memcmp(a, b, sizeof a) == 0 && a[9 * 2 + 8] == 16.0f && a[9 * 3 + 8] == 16.0f);
}

static void test_selfplay_targets(void) {
    be_model *nets[2];
    REQUIRE(random_nets(nets, 5, RPS_ENC_HANDS));
    mcts_config mc = mcts_config_default();
    mc.playouts = 24;
    mc.batch = 4;
    mc.dirichlet_weight = 0.25;
    mc.temperature = 1;
    mc.temperature_plies = 3;
    mc.reuse_tree = 1;
    mcts *m = mcts_create(&mc);
    eval_net *ne = open_eval(nets, 4);
    REQUIRE(m && ne);
    rps_config cfg = rps_config_standard();
    int p1_wins = 0, p2_wins = 0;
    for (int g = 0; g < 12; g++) {
        sp_sample smp[RPS_MAX_PLIES];
        rps_state st[RPS_MAX_PLIES];
        int n = 0, w = -1;
        REQUIRE(selfplay_game(m, eval_net_evaluator(ne), &cfg, RPS_ENC_HANDS, selfplay_game_seed(9, 1, g), 0, smp, st, &n, &w, NULL) ==
                NRPS_OK);
        CHECK(n == 9); /* standard games always have 9 plies */
        CHECK(w == RPS_P1 || w == RPS_P2);
        p1_wins += w == RPS_P1;
        p2_wins += w == RPS_P2;
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int p = 0; p < RPS_POLICY_SIZE; p++) {
                CHECK(smp[i].policy[p] >= 0);
                if (st[i].board[p].owner != RPS_NONE) CHECK(smp[i].policy[p] == 0.0f); /* occupied: illegal */
                sum += smp[i].policy[p];
            }
            CHECK_NEAR(sum, 1.0, 1e-5);
            CHECK(smp[i].key == sp_key_from_state(&st[i], RPS_ENC_HANDS));
            /* value target from the mover's point of view */
            float want = st[i].to_move == w ? 1.0f : 0.0f;
            CHECK(smp[i].value == want);
            if (i > 0) CHECK(smp[i].value == 1.0f - smp[i - 1].value); /* players alternate */
        }
        /* the last recorded position leads to the final board: replay it to check the winner */
        rps_state last = st[n - 1];
        rps_move mv[RPS_MAX_MOVES];
        CHECK(rps_state_legal_moves(&last, mv) == 1);
        rps_state_apply(&last, mv[0]);
        CHECK(rps_state_is_over(&last) && rps_state_winner(&last) == w);
    }
    CHECK(p1_wins > 0 && p2_wins > 0);
    eval_net_destroy(ne);
    mcts_destroy(m);
    be_model_free(nets[0]);
    be_model_free(nets[1]);
}

static void test_selfplay_random_opponent(void) {
    be_model *nets[2];
    REQUIRE(random_nets(nets, 6, RPS_ENC_BOARD));
    mcts_config mc = mcts_config_default();
    mc.playouts = 16;
    mc.reuse_tree = 1;
    mcts *m = mcts_create(&mc);
    eval_net *ne = open_eval(nets, 1);
    REQUIRE(m && ne);
    rps_config cfg = rps_config_standard();
    for (int seat = RPS_P1; seat <= RPS_P2; seat++)
        for (int g = 0; g < 4; g++) {
            sp_sample smp[RPS_MAX_PLIES];
            rps_state st[RPS_MAX_PLIES];
            int n = 0, w = -1;
            REQUIRE(selfplay_game(m, eval_net_evaluator(ne), &cfg, RPS_ENC_BOARD, selfplay_game_seed(3, 1, g), seat, smp, st, &n,
                                  &w, NULL) == NRPS_OK);
            CHECK(n == (seat == RPS_P1 ? 4 : 5)); /* only the searching side's positions */
            for (int i = 0; i < n; i++) {
                CHECK(st[i].to_move == 3 - seat);
                CHECK(smp[i].value == (w == 3 - seat ? 1.0f : 0.0f));
            }
        }
    /* the random seat is drawn per game with the given share, reproducibly */
    int seats[3] = {0, 0, 0};
    for (long g = 0; g < 2000; g++) seats[selfplay_random_seat(1, 2, g, 0.3)]++;
    CHECK(seats[0] > 1300 && seats[0] < 1500 && seats[1] > 220 && seats[2] > 220);
    CHECK(selfplay_random_seat(1, 2, 17, 0.3) == selfplay_random_seat(1, 2, 17, 0.3));
    for (long g = 0; g < 100; g++) CHECK(selfplay_random_seat(1, 2, g, 0.0) == 0);
    eval_net_destroy(ne);
    mcts_destroy(m);
    be_model_free(nets[0]);
    be_model_free(nets[1]);
}

static void test_selfplay_threads_independent(void) {
    be_model *nets[2];
    REQUIRE(random_nets(nets, 8, RPS_ENC_BOARD));
    selfplay_config sc;
    memset(&sc, 0, sizeof sc);
    sc.game = rps_config_standard();
    sc.mcts = mcts_config_default();
    sc.mcts.playouts = 16;
    sc.mcts.batch = 4;
    sc.mcts.dirichlet_weight = 0.25;
    sc.mcts.temperature = 1;
    sc.mcts.temperature_plies = 4;
    sc.mcts.reuse_tree = 1;
    sc.seed = 42;
    sp_sample *a = NULL, *b = NULL;
    long na = 0, nb = 0;
    selfplay_stats sa, sb;
    sc.threads = 1;
    REQUIRE(selfplay_run(&sc, nets[0], nets[1], 3, 10, &a, &na, &sa) == NRPS_OK);
    sc.threads = 3;
    REQUIRE(selfplay_run(&sc, nets[0], nets[1], 3, 10, &b, &nb, &sb) == NRPS_OK);
    CHECK(na == 90 && nb == 90 && sa.games == 10 && sb.games == 10);
    CHECK(memcmp(a, b, (size_t)na * sizeof *a) == 0);
    CHECK(sa.p1_wins + sa.p2_wins + sa.draws == 10);
    free(b);
    /* another generation gives other games */
    REQUIRE(selfplay_run(&sc, nets[0], nets[1], 4, 10, &b, &nb, &sb) == NRPS_OK);
    CHECK(memcmp(a, b, (size_t)na * sizeof *a) != 0);
    free(a);
    free(b);
    be_model_free(nets[0]);
    be_model_free(nets[1]);
}

static sp_sample mk(uint32_t key, int pos, float v) {
    sp_sample s;
    memset(&s, 0, sizeof s);
    s.key = key;
    s.policy[pos] = 1.0f;
    s.value = v;
    return s;
}

static void test_replay_aggregation(void) {
    replay_buffer rb;
    replay_init(&rb, 2);
    sp_sample *g1 = malloc(3 * sizeof *g1), *g2 = malloc(2 * sizeof *g2), *g3 = malloc(1 * sizeof *g3);
    REQUIRE(g1 && g2 && g3);
    g1[0] = mk(100, 0, 1.0f);
    g1[1] = mk(200, 4, 0.0f);
    g1[2] = mk(100, 2, 0.0f);
    g2[0] = mk(100, 2, 1.0f);
    g2[1] = mk(300, 8, 1.0f);
    replay_add(&rb, 1, g1, 3);
    replay_add(&rb, 2, g2, 2);
    CHECK(replay_sample_count(&rb) == 5);
    replay_dataset ds;
    REQUIRE(replay_build(&rb, &ds) == NRPS_OK);
    REQUIRE(ds.n == 3);
    CHECK(ds.key[0] == 100 && ds.key[1] == 200 && ds.key[2] == 300);
    CHECK(ds.count[0] == 3 && ds.count[1] == 1 && ds.count[2] == 1);
    CHECK_NEAR(ds.tp[0 * 9 + 0], 1.0 / 3, 1e-6);
    CHECK_NEAR(ds.tp[0 * 9 + 2], 2.0 / 3, 1e-6);
    CHECK_NEAR(ds.tv[0], 2.0 / 3, 1e-6);
    CHECK_NEAR(ds.tp[1 * 9 + 4], 1.0, 1e-6);
    CHECK_NEAR(ds.tv[1], 0.0, 1e-6);
    float x[RPS_INPUT_SIZE];
    sp_key_encode(300, x);
    CHECK(memcmp(x, &ds.x[2 * RPS_INPUT_SIZE], sizeof x) == 0);
    replay_dataset_free(&ds);
    /* a third generation pushes the first out of the 2-generation window */
    g3[0] = mk(200, 5, 1.0f);
    replay_add(&rb, 3, g3, 1);
    CHECK(rb.ngens == 2 && rb.g[0].gen == 2 && rb.g[1].gen == 3);
    REQUIRE(replay_build(&rb, &ds) == NRPS_OK);
    REQUIRE(ds.n == 3);
    CHECK(ds.key[0] == 100 && ds.count[0] == 1 && ds.tv[0] == 1.0f);
    CHECK(ds.key[2] == 200 && ds.tp[2 * 9 + 5] == 1.0f);
    replay_dataset_free(&ds);
    replay_free(&rb);
}

static train_config tiny_config(const char *name, int generations) {
    train_config c = train_config_default();
    snprintf(c.out_dir, sizeof c.out_dir, "%s/%s", tmpdir, name);
    c.generations = generations;
    c.games = 6;
    c.playouts = 12;
    c.layers = (train_widths){1, {16}};
    c.value_layers = (train_widths){1, {8}};
    c.batch = 16;
    c.epochs = 2;
    c.window = 2;
    c.seed = 77;
    c.lr_final = 0; /* constant: a decaying schedule depends on the total, which the resume test extends */
    c.threads = 1;
    c.eval_games = 0;
    c.quiet = 1;
    return c;
}

/* A deeper pair: policy 81-16-8-9, value 81-8-4-1. */
static void arch_deep(train_config *c) {
    c->layers = (train_widths){2, {16, 8}};
    c->value_layers = (train_widths){2, {8, 4}};
}

/* One two-headed network: trunk 81-16, policy head 8-9, value head 8-1, value loss weighted 0.5. */
static void arch_two(train_config *c) {
    c->heads = TRAIN_HEADS_TWO;
    c->layers = (train_widths){1, {16}};
    c->policy_head = (train_widths){1, {8}};
    c->value_head = (train_widths){1, {8}};
    c->value_weight = 0.5;
}

static int files_equal(const char *a, const char *b) {
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int eq = nrps_read_file(a, 1 << 24, &da, &la) == NRPS_OK && nrps_read_file(b, 1 << 24, &db, &lb) == NRPS_OK &&
             la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return eq;
}

static int file_exists(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* The network file `name` of a run folder, loaded (caller frees); 0 when it does not load. */
static int load_net(const char *dir, const char *name, nn_net *n, onnx_net_info *info) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return onnx_net_load(p, n, info) == NRPS_OK;
}

/* A 3-generation run equals a 2-generation run resumed to 3 (arch may be NULL: the default layout); returns the
 * uninterrupted run's folder in full_dir. */
static void resume_equals_uninterrupted(const char *name, void (*arch)(train_config *), char *full_dir, size_t n) {
    char fn[64], pn[64];
    snprintf(fn, sizeof fn, "%s_full", name);
    snprintf(pn, sizeof pn, "%s_part", name);
    train_config full = tiny_config(fn, 3), part = tiny_config(pn, 2);
    if (arch) arch(&full), arch(&part);
    snprintf(full_dir, n, "%s", full.out_dir);
    int fin = -1;
    REQUIRE(train_run(&full, 0, &fin) == NRPS_OK);
    CHECK(fin == 3);
    REQUIRE(train_run(&part, 0, &fin) == NRPS_OK);
    CHECK(fin == 2);
    /* round trip of the stored configuration, architecture included */
    train_config peek;
    int pf = -1;
    REQUIRE(train_checkpoint_peek(part.out_dir, &peek, &pf) == NRPS_OK);
    CHECK(pf == 2 && peek.games == 6 && peek.playouts == 12 && peek.seed == 77 && peek.window == 2 &&
          peek.epochs == 2 && peek.value_loss == part.value_loss && peek.heads == part.heads);
    CHECK(train_widths_equal(&peek.layers, &part.layers));
    if (part.heads == TRAIN_HEADS_SEPARATE) CHECK(train_widths_equal(&peek.value_layers, &part.value_layers));
    else CHECK(train_widths_equal(&peek.policy_head, &part.policy_head) &&
               train_widths_equal(&peek.value_head, &part.value_head) && peek.policy_weight == part.policy_weight &&
               peek.value_weight == part.value_weight);
    /* a second fresh start in the same folder is refused */
    CHECK(train_run(&part, 0, &fin) == NRPS_ERR_ARG);
    /* continue to 3 generations: same networks as the uninterrupted run */
    part.generations = 3;
    REQUIRE(train_run(&part, 1, &fin) == NRPS_OK);
    CHECK(fin == 3);
    const char *two[] = {"rps_net.onnx", "generations/g0002/rps_net.onnx", "generations/g0000/rps_net.onnx"};
    const char *sep[] = {"rps_policy.onnx", "rps_value.onnx", "generations/g0002/rps_value.onnx"};
    for (int i = 0; i < 3; i++) {
        char a[1200], b[1200];
        const char *f = part.heads == TRAIN_HEADS_TWO ? two[i] : sep[i];
        snprintf(a, sizeof a, "%s/%s", full.out_dir, f);
        snprintf(b, sizeof b, "%s/%s", part.out_dir, f);
        CHECK_MSG(files_equal(a, b), "%s: %s differs", name, f);
    }
    /* the run is complete: resuming again does nothing and succeeds */
    REQUIRE(train_run(&part, 1, &fin) == NRPS_OK);
    CHECK(fin == 3);
}

static void test_checkpoint_resume_equals_uninterrupted(void) {
    char dir[1200];
    resume_equals_uninterrupted("flat", NULL, dir, sizeof dir);
    nn_net m = {0};
    onnx_net_info info;
    REQUIRE(load_net(dir, "rps_policy.onnx", &m, &info));
    CHECK(m.arch.n_layers == 2 && m.arch.layer[0].out == 16 && nn_head_width(&m.arch, 0) == 9);
    CHECK(info.training_games == 18 && info.seed == 77 && m.arch.head[0].kind == NN_HEAD_POLICY);
    nn_free(&m);
    CHECK(!file_exists(dir, "rps_net.onnx"));
}

static void test_deep_resume_equals_uninterrupted(void) {
    char dir[1200];
    resume_equals_uninterrupted("deep", arch_deep, dir, sizeof dir);
    nn_net p = {0}, v = {0};
    REQUIRE(load_net(dir, "rps_policy.onnx", &p, NULL) && load_net(dir, "rps_value.onnx", &v, NULL));
    CHECK(p.arch.n_layers == 3 && p.arch.layer[0].out == 16 && p.arch.layer[1].out == 8 && p.arch.layer[2].out == 9);
    CHECK(v.arch.n_layers == 3 && v.arch.layer[0].out == 8 && v.arch.layer[1].out == 4 && v.arch.layer[2].out == 1);
    CHECK(p.arch.head[0].kind == NN_HEAD_POLICY && v.arch.head[0].kind == NN_HEAD_VALUE);
    nn_free(&p);
    nn_free(&v);
}

static void test_two_heads_resume_equals_uninterrupted(void) {
    char dir[1200], ck[1300];
    resume_equals_uninterrupted("two", arch_two, dir, sizeof dir);
    nn_net n = {0};
    onnx_net_info info;
    REQUIRE(load_net(dir, "rps_net.onnx", &n, &info));
    CHECK(n.arch.n_heads == 2 && n.arch.trunk == 1 && n.arch.n_layers == 5 && n.arch.layer[0].out == 16);
    int ph = nn_head_find(&n.arch, NN_HEAD_POLICY), vh = nn_head_find(&n.arch, NN_HEAD_VALUE);
    CHECK(ph >= 0 && vh >= 0 && nn_head_width(&n.arch, ph) == 9 && nn_head_width(&n.arch, vh) == 1);
    CHECK(info.training_games == 18);
    nn_free(&n);
    CHECK(!file_exists(dir, "rps_policy.onnx") && !file_exists(dir, "rps_value.onnx"));
    snprintf(ck, sizeof ck, "%s/checkpoint/gen_0003", dir);
    CHECK(file_exists(ck, "net.ckpt") && !file_exists(ck, "policy.ckpt") && file_exists(ck, "state.bin"));
    /* the value loss weight matters: the same run with weight 1 trains another network */
    train_config w1 = tiny_config("two_w1", 1), w05 = tiny_config("two_w05", 1);
    arch_two(&w1);
    arch_two(&w05);
    w1.value_weight = 1.0;
    int fin = -1;
    REQUIRE(train_run(&w1, 0, &fin) == NRPS_OK && train_run(&w05, 0, &fin) == NRPS_OK);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/rps_net.onnx", w1.out_dir);
    snprintf(b, sizeof b, "%s/rps_net.onnx", w05.out_dir);
    CHECK(!files_equal(a, b));
}

/* A checkpoint written before the architecture flags (config with hidden_policy/hidden_value, mlp_trainer
 * files; tests/fixtures/train_v1_checkpoint: generation 1 of `train --generations 1 --games 4 --playouts 8
 * --hidden-policy 16 --hidden-value 8 --batch 16 --epochs 2 --window 2 --seed 5 --threads 1 --eval-games 0`)
 * resumes, and gives the networks of an uninterrupted run of today's code. */
static void test_old_checkpoint_resumes(void) {
    char cmd[2200];
    train_config old = tiny_config("old", 2), now = tiny_config("old_now", 2);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -r tests/fixtures/train_v1_checkpoint/checkpoint '%s/'",
             old.out_dir, old.out_dir);
    REQUIRE(system(cmd) == 0);
    train_config peek;
    int fin = -1;
    REQUIRE(train_checkpoint_peek(old.out_dir, &peek, &fin) == NRPS_OK);
    CHECK(fin == 1 && peek.heads == TRAIN_HEADS_SEPARATE && peek.layers.n == 1 && peek.layers.w[0] == 16 &&
          peek.value_layers.n == 1 && peek.value_layers.w[0] == 8);
    REQUIRE(train_run(&old, 1, &fin) == NRPS_OK);
    CHECK(fin == 2);
    now.games = 4;
    now.playouts = 8;
    now.seed = 5;
    now.lr_final = 5e-4;
    REQUIRE(train_run(&now, 0, &fin) == NRPS_OK);
    const char *files[] = {"rps_policy.onnx", "rps_value.onnx"};
    for (int i = 0; i < 2; i++) {
        char a[1200], b[1200];
        snprintf(a, sizeof a, "%s/%s", old.out_dir, files[i]);
        snprintf(b, sizeof b, "%s/%s", now.out_dir, files[i]);
        CHECK_MSG(files_equal(a, b), "%s differs", files[i]);
    }
}

/* A network checkpoint of another architecture than the run's configuration is refused in one line naming the
 * file; so is a two-headed run whose net.ckpt is missing. Uses the folders of the resume tests. */
static void test_checkpoint_other_architecture_refused(void) {
    char cmd[4000], src[1200];
    train_config deep = tiny_config("deep_part", 4), two = tiny_config("two_part", 4);
    arch_deep(&deep);
    arch_two(&two);
    snprintf(src, sizeof src, "%s/flat_part/checkpoint/gen_0003/policy.ckpt", tmpdir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/checkpoint/gen_0003/policy.ckpt'", src, deep.out_dir);
    REQUIRE(access(src, F_OK) == 0 && system(cmd) == 0);
    int fin = -1;
    CHECK(train_run(&deep, 1, &fin) != NRPS_OK);
    const char *e = nrps_last_error();
    CHECK_MSG(strstr(e, "deep_part/checkpoint/gen_0003/policy.ckpt") && strstr(e, "81-16-9") &&
                  strstr(e, "81-16-8-9") && !strchr(e, '\n'), "%s", e);
    snprintf(cmd, sizeof cmd, "rm '%s/checkpoint/gen_0003/net.ckpt'", two.out_dir);
    REQUIRE(system(cmd) == 0);
    CHECK(train_run(&two, 1, &fin) != NRPS_OK);
    CHECK_MSG(strstr(nrps_last_error(), "net.ckpt") != NULL, "%s", nrps_last_error());
}

static void flip_byte(const char *path, long at) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void test_damaged_checkpoint(void) {
    train_config c = tiny_config("damaged", 1);
    int fin = -1;
    REQUIRE(train_run(&c, 0, &fin) == NRPS_OK);
    char p[1200];
    snprintf(p, sizeof p, "%s/checkpoint/gen_0001/state.bin", c.out_dir);
    flip_byte(p, 40);
    c.generations = 2;
    CHECK(train_run(&c, 1, &fin) == NRPS_ERR_FORMAT);
    CHECK(strstr(nrps_last_error(), "checksum") != NULL && strstr(nrps_last_error(), "state.bin") != NULL);
    CHECK(strchr(nrps_last_error(), '\n') == NULL);
    flip_byte(p, 40); /* repaired */
    snprintf(p, sizeof p, "%s/checkpoint/gen_0001/policy.ckpt", c.out_dir);
    flip_byte(p, 100);
    CHECK(train_run(&c, 1, &fin) != NRPS_OK);
    CHECK(strstr(nrps_last_error(), "policy.ckpt") != NULL);
    flip_byte(p, 100);
    snprintf(p, sizeof p, "%s/checkpoint/LATEST", c.out_dir);
    REQUIRE(nrps_write_file_atomic(p, "garbage\n", 8) == NRPS_OK);
    CHECK(train_run(&c, 1, &fin) == NRPS_ERR_FORMAT);
    CHECK(strstr(nrps_last_error(), "LATEST") != NULL);
    REQUIRE(nrps_write_file_atomic(p, "gen_0001\n", 9) == NRPS_OK);
    REQUIRE(train_run(&c, 1, &fin) == NRPS_OK);
    CHECK(fin == 2);
    /* no checkpoint at all */
    train_config none = tiny_config("none", 1);
    CHECK(train_run(&none, 1, &fin) == NRPS_ERR_IO);
}

/* A folder whose lock another holder has (here this process, through another open file: flock conflicts all
 * the same) is refused by train_lock_check and train_run in one line naming the folder and the holder, and the
 * run there is untouched; once released, it resumes. */
static void test_folder_lock(void) {
    train_config c = tiny_config("locked", 1);
    int fin = -1;
    REQUIRE(train_run(&c, 0, &fin) == NRPS_OK && fin == 1);
    char p[1200], pid[64], *d = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%s/.lock", c.out_dir);
    REQUIRE(nrps_read_file(p, 4096, &d, &len) == NRPS_OK);
    CHECK_MSG(len == 0, "lock file after a clean run: '%s'", d);
    free(d);
    CHECK(train_lock_check(c.out_dir) == NRPS_OK);
    train_lock lk;
    REQUIRE(train_lock_acquire(c.out_dir, &lk) == NRPS_OK);
    snprintf(pid, sizeof pid, "(pid %ld, lock ", (long)getpid());
    CHECK(train_lock_check(c.out_dir) == NRPS_ERR_IO && strstr(nrps_last_error(), "another training run holds") &&
          strstr(nrps_last_error(), pid));
    c.generations = 2;
    CHECK(train_run(&c, 1, &fin) == NRPS_ERR_IO && fin == 0);
    CHECK_MSG(strstr(nrps_last_error(), c.out_dir) && strstr(nrps_last_error(), "another training run holds this folder") &&
                  !strchr(nrps_last_error(), '\n'),
              "%s", nrps_last_error());
    train_config fresh = c;
    CHECK(train_run(&fresh, 0, &fin) == NRPS_ERR_IO && strstr(nrps_last_error(), "another training run holds"));
    snprintf(p, sizeof p, "%s/checkpoint/LATEST", c.out_dir);
    REQUIRE(nrps_read_file(p, 4096, &d, &len) == NRPS_OK);
    CHECK(!strcmp(d, "gen_0001\n"));
    free(d);
    train_lock_release(&lk);
    train_lock_release(&lk); /* a second release does nothing */
    CHECK(train_run(&c, 1, &fin) == NRPS_OK && fin == 2);
}

static void test_config_check(void) {
    train_config c = train_config_default();
    CHECK(train_config_check(&c) == NRPS_OK);
    c.games = 0;
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--games"));
    c = train_config_default();
    c.window = 0;
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--window"));
    c = train_config_default();
    c.dirichlet_weight = 1.5;
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--dirichlet-weight"));
    /* the architecture */
    c = train_config_default();
    nn_arch a[2];
    CHECK(train_config_archs(&c, a) == 2);
    char d[2][256];
    nn_arch_describe(&a[0], d[0], sizeof d[0]);
    nn_arch_describe(&a[1], d[1], sizeof d[1]);
    CHECK_MSG(!strcmp(d[0], "81-128-9") && !strcmp(d[1], "81-64-1"), "%s %s", d[0], d[1]);
    CHECK(a[0].head[0].kind == NN_HEAD_POLICY && a[1].head[0].kind == NN_HEAD_VALUE);
    c.value_layers.w[0] = 0;
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--value-layers"));
    c = train_config_default();
    c.heads = TRAIN_HEADS_TWO;
    CHECK(train_config_check(&c) == NRPS_OK);
    CHECK(train_config_archs(&c, a) == 1 && a[0].n_heads == 2 && a[0].trunk == 1 && a[0].n_layers == 4);
    c.layers = (train_widths){10, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8}};
    c.policy_head = (train_widths){3, {8, 8, 8}};
    c.value_head = (train_widths){2, {8, 8}}; /* 15 hidden + 2 output layers > 16 */
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--policy-head"));
    c.value_head.n = 1;
    CHECK(train_config_check(&c) == NRPS_OK);
    c.policy_weight = c.value_weight = 0;
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--policy-weight"));
    c.value_weight = NAN;
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--value-weight"));
    c = train_config_default();
    c.layers = (train_widths){2, {65536, 65536}}; /* 2^32 parameters */
    CHECK(train_config_check(&c) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--layers"));
}

static void test_widths_parse(void) {
    train_widths w = {0};
    char t[128];
    REQUIRE(train_widths_parse("layers", "256,128", &w) == NRPS_OK);
    CHECK(w.n == 2 && w.w[0] == 256 && w.w[1] == 128);
    train_widths_text(&w, t, sizeof t);
    CHECK(!strcmp(t, "256,128"));
    REQUIRE(train_widths_parse("policy-head", "none", &w) == NRPS_OK);
    CHECK(w.n == 0);
    train_widths_text(&w, t, sizeof t);
    CHECK(!strcmp(t, "none"));
    REQUIRE(train_widths_parse("layers", "7", &w) == NRPS_OK);
    CHECK(w.n == 1 && w.w[0] == 7);
    const char *bad[] = {"", "0", "12,", ",12", "1,,2", "abc", "-4", "+4", "4x", " 4", "65537",
                         "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        train_widths keep = w;
        CHECK_MSG(train_widths_parse("value-head", bad[i], &w) == NRPS_ERR_ARG, "'%s' accepted", bad[i]);
        CHECK(strstr(nrps_last_error(), "--value-head expects") && !strchr(nrps_last_error(), '\n'));
        CHECK(train_widths_equal(&w, &keep));
    }
    REQUIRE(train_widths_parse("layers", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", &w) == NRPS_OK);
    CHECK(w.n == 15 && w.w[14] == 15);
    train_heads h = TRAIN_HEADS_SEPARATE;
    CHECK(train_heads_parse("two", &h) && h == TRAIN_HEADS_TWO && !strcmp(train_heads_name(h), "two"));
    CHECK(!train_heads_parse("three", &h) && h == TRAIN_HEADS_TWO);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nrps_test_train_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_key_encoding);
    RUN(test_selfplay_targets);
    RUN(test_selfplay_random_opponent);
    RUN(test_selfplay_threads_independent);
    RUN(test_replay_aggregation);
    RUN(test_config_check);
    RUN(test_widths_parse);
    RUN(test_checkpoint_resume_equals_uninterrupted);
    RUN(test_deep_resume_equals_uninterrupted);
    RUN(test_two_heads_resume_equals_uninterrupted);
    RUN(test_old_checkpoint_resumes);
    RUN(test_checkpoint_other_architecture_refused);
    RUN(test_damaged_checkpoint);
    RUN(test_folder_lock);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("train");
}
