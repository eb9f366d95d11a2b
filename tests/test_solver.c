/* test_solver.c - the exact solver against a plain brute-force minimax (no table, no pruning, every hand
 * index tried) on random mid-game positions and small configurations; per-move margins; table size and
 * reuse independence; one solver per thread; the mcts_evaluator adapter; optimal play never does worse
 * than the solved value. */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "search/solver.h"

/* Margin for the side to move with optimal play; merged = try one card per type (faster, for big trees). */
static int brute(const rps_state *s, int merged) {
    rps_move mv[RPS_MAX_MOVES];
    int n = merged ? rps_state_distinct_moves(s, mv) : rps_state_legal_moves(s, mv);
    if (n == 0) {
        int a, b;
        rps_state_score(s, &a, &b);
        return s->to_move == RPS_P1 ? a - b : b - a;
    }
    int best = -100;
    for (int i = 0; i < n; i++) {
        rps_state c = *s;
        rps_state_apply(&c, mv[i]);
        int v = -brute(&c, merged);
        if (v > best) best = v;
    }
    return best;
}

/* Upper bound on the leaves of the brute-force tree below s (hand sizes x empty cells per ply). */
static double tree_size(const rps_state *s, int merged) {
    int len[3] = {0, s->hand_len[1], s->hand_len[2]}, empty = 0, mover = s->to_move;
    for (int p = 0; p < 9; p++) empty += s->board[p].owner == RPS_NONE;
    double n = 1;
    for (int round = s->round; empty > 0 && len[mover] > 0 && round <= s->cfg.max_rounds; mover = 3 - mover) {
        n *= (merged && len[mover] > 3 ? 3 : len[mover]) * empty;
        empty--;
        len[mover]--;
        if (mover == RPS_P2) round++;
    }
    return n;
}

static int sgn(int v) { return (v > 0) - (v < 0); }

static void random_moves(rps_state *s, nrps_rng *r, int k) {
    rps_move mv[RPS_MAX_MOVES];
    for (int i = 0; i < k; i++) {
        int n = rps_state_legal_moves(s, mv);
        if (!n) return;
        rps_state_apply(s, mv[nrps_rng_below(r, (uint32_t)n)]);
    }
}

/* Checks margin, result and the full analysis of s against brute force. */
static void check_position(rps_solver *sv, const rps_state *s, int merged_brute) {
    int want = brute(s, merged_brute);
    CHECK_MSG(rps_solver_margin(sv, s) == want, "ply %d: margin %d, brute force %d", s->ply,
              rps_solver_margin(sv, s), want);
    CHECK(rps_solver_result(sv, s) == sgn(want));
    rps_solve_info info;
    REQUIRE(rps_solver_analyse(sv, s, &info) == NRPS_OK);
    CHECK(info.margin == want && info.result == sgn(want));
    rps_move mv[RPS_MAX_MOVES];
    int n = rps_state_distinct_moves(s, mv);
    CHECK(info.n_moves == n);
    int nopt = 0, nres = 0;
    for (int i = 0; i < info.n_moves; i++) {
        rps_state c = *s;
        REQUIRE(rps_state_apply(&c, info.moves[i].move) == NRPS_OK);
        CHECK(info.moves[i].move.card == mv[i].card && info.moves[i].move.pos == mv[i].pos);
        CHECK(info.moves[i].type == s->hand[s->to_move][mv[i].card]);
        int v = -brute(&c, merged_brute);
        CHECK_MSG(info.moves[i].margin == v, "move %d: %d vs %d", i, info.moves[i].margin, v);
        CHECK(info.moves[i].result == sgn(v));
        CHECK(info.moves[i].optimal == (v == want));
        CHECK(v <= want);
        nopt += v == want;
        nres += sgn(v) == sgn(want);
    }
    CHECK(info.n_optimal == nopt && info.n_result_optimal == nres);
    CHECK(n == 0 || nopt >= 1);
}

static void test_standard_midgame(void) {
    rps_solver *sv = rps_solver_create(16);
    REQUIRE(sv);
    nrps_rng r;
    nrps_rng_seed(&r, 2024);
    rps_config c = rps_config_standard();
    int checked = 0;
    for (int i = 0; i < 60; i++) {
        rps_state s;
        rps_state_deal(&s, &c, &r);
        int k = 4 + (int)nrps_rng_below(&r, 6); /* 4..9 plies played: full brute force stays small */
        random_moves(&s, &r, k);
        check_position(sv, &s, 0);
        checked++;
    }
    /* Earlier positions (2-3 plies played) with merged brute force (still no table, no pruning). */
    for (int i = 0; i < 6; i++) {
        rps_state s;
        rps_state_deal(&s, &c, &r);
        random_moves(&s, &r, 2 + i % 2);
        check_position(sv, &s, 1);
        checked++;
    }
    CHECK(checked == 66);
    rps_solver_destroy(sv);
}

static void test_standard_near_opening(void) {
    /* A standard deal after one random ply: solver vs merged brute force over the remaining 8 plies (2.3e7
     * positions, no table, no pruning; the whole merged tree of this deal has 3.5e8). Standard games are
     * never drawn (every game fills the 9 cells). */
    rps_solver *sv = rps_solver_create(0);
    REQUIRE(sv);
    nrps_rng r;
    nrps_rng_seed(&r, 77);
    rps_config c = rps_config_standard();
    rps_state s;
    rps_state_deal(&s, &c, &r);
    int m = rps_solver_margin(sv, &s);
    CHECK(m % 2 != 0);
    rps_state t = s;
    random_moves(&t, &r, 1);
    CHECK(rps_solver_margin(sv, &t) == brute(&t, 1));
    rps_solver_destroy(sv);
}

static void test_small_configs(void) {
    rps_solver *sv = rps_solver_create(14);
    REQUIRE(sv);
    static const rps_config cfgs[] = {
        {6, 3, 10}, {9, 4, 2}, {12, 4, 3}, {9, 3, 2}, {4, 2, 10}, {2, 1, 10}, {40, 16, 2}, {30, 6, 1}, {21, 5, 3},
    };
    nrps_rng r;
    nrps_rng_seed(&r, 5);
    int draws = 0, wins = 0, losses = 0;
    for (size_t ci = 0; ci < sizeof cfgs / sizeof cfgs[0]; ci++) {
        for (int i = 0; i < 6; i++) {
            rps_state s;
            rps_state_deal(&s, &cfgs[ci], &r);
            random_moves(&s, &r, (int)nrps_rng_below(&r, 3));
            /* indexed brute force where the tree is small, merged (one card per type) where it is not;
             * play random moves until one of them is cheap enough */
            while (tree_size(&s, 0) > 300000 && tree_size(&s, 1) > 300000) random_moves(&s, &r, 1);
            check_position(sv, &s, tree_size(&s, 0) > 300000);
            int v = rps_solver_result(sv, &s);
            draws += v == 0, wins += v > 0, losses += v < 0;
        }
    }
    CHECK(draws > 0 && wins > 0 && losses > 0); /* the small configs exercise all three results */
    rps_solver_destroy(sv);
}

static void test_terminal_and_errors(void) {
    rps_solver *sv = rps_solver_create(10);
    REQUIRE(sv);
    nrps_rng r;
    nrps_rng_seed(&r, 3);
    rps_config c = rps_config_standard();
    rps_state s;
    rps_state_deal(&s, &c, &r);
    random_moves(&s, &r, 9);
    REQUIRE(rps_state_is_over(&s));
    int a, b;
    rps_state_score(&s, &a, &b);
    CHECK(rps_solver_margin(sv, &s) == (s.to_move == RPS_P1 ? a - b : b - a));
    rps_solve_info info;
    CHECK(rps_solver_analyse(sv, &s, &info) == NRPS_OK && info.n_moves == 0);
    rps_state bad = s;
    bad.to_move = 0;
    CHECK(rps_solver_analyse(sv, &bad, &info) == NRPS_ERR_ARG);
    bad = s;
    bad.board[0].type = 5;
    CHECK(rps_solver_analyse(sv, &bad, &info) == NRPS_ERR_ARG);
    CHECK(rps_solver_create(9) == NULL && rps_solver_create(29) == NULL);
    rps_solver_destroy(NULL);
    rps_solver_destroy(sv);
}

static void test_table_independence(void) {
    /* A tiny table (heavy collisions) and a reused table give the same values as a fresh large one. */
    rps_solver *tiny = rps_solver_create(10), *big = rps_solver_create(18);
    REQUIRE(tiny && big);
    nrps_rng r;
    nrps_rng_seed(&r, 8);
    rps_config c = rps_config_standard();
    for (int i = 0; i < 20; i++) {
        rps_state s;
        rps_state_deal(&s, &c, &r);
        random_moves(&s, &r, (int)nrps_rng_below(&r, 4));
        int m1 = rps_solver_margin(tiny, &s), m2 = rps_solver_margin(big, &s);
        rps_solver_clear(big);
        int m3 = rps_solver_margin(big, &s);
        CHECK(m1 == m2 && m2 == m3);
    }
    CHECK(rps_solver_nodes(tiny) > 0);
    rps_solver_destroy(tiny);
    rps_solver_destroy(big);
}

typedef struct { uint64_t seed; int margins[8]; } thread_job;

static void *thread_run(void *arg) {
    thread_job *j = arg;
    rps_solver *sv = rps_solver_create(16);
    if (!sv) return NULL;
    rps_config c = rps_config_standard();
    nrps_rng r;
    nrps_rng_seed(&r, j->seed);
    for (int i = 0; i < 8; i++) {
        rps_state s;
        rps_state_deal(&s, &c, &r);
        j->margins[i] = rps_solver_margin(sv, &s);
    }
    rps_solver_destroy(sv);
    return NULL;
}

static void test_threads(void) {
    thread_job jobs[2] = {{.seed = 1}, {.seed = 1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&th[i], NULL, thread_run, &jobs[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    thread_job seq = {.seed = 1};
    thread_run(&seq);
    for (int i = 0; i < 8; i++) CHECK(jobs[0].margins[i] == seq.margins[i] && jobs[1].margins[i] == seq.margins[i]);
}

static void test_evaluator(void) {
    rps_solver *sv = rps_solver_create(16);
    REQUIRE(sv);
    mcts_evaluator ev;
    rps_solver_evaluator_init(&ev, sv);
    CHECK(ev.max_batch >= 1 && ev.evaluate && ev.ctx == sv && ev.name);
    nrps_rng r;
    nrps_rng_seed(&r, 12);
    rps_state states[16];
    rps_config cs[2] = {rps_config_standard(), {9, 4, 4}};
    for (int i = 0; i < 16; i++) {
        rps_state_deal(&states[i], &cs[i % 2], &r);
        random_moves(&states[i], &r, i % 2 ? 1 + i % 3 : 3 + i % 4);
        while (tree_size(&states[i], 0) > 50000) random_moves(&states[i], &r, 1);
        REQUIRE(!rps_state_is_over(&states[i]));
    }
    float pol[16 * 9], val[16];
    REQUIRE(ev.evaluate(ev.ctx, states, 16, pol, val) == NRPS_OK);
    for (int i = 0; i < 16; i++) {
        const rps_state *s = &states[i];
        int m = brute(s, 0);
        CHECK(val[i] == (m > 0 ? 1.0f : m < 0 ? 0.0f : 0.5f));
        /* prior > 0 exactly at positions where some card keeps the game-theoretic result */
        int good[9] = {0};
        rps_move mv[RPS_MAX_MOVES];
        int n = rps_state_legal_moves(s, mv);
        for (int k = 0; k < n; k++) {
            rps_state c = *s;
            rps_state_apply(&c, mv[k]);
            if (sgn(-brute(&c, 0)) == sgn(m)) good[mv[k].pos] = 1;
        }
        float sum = 0;
        for (int p = 0; p < 9; p++) {
            CHECK((pol[i * 9 + p] > 0) == good[p]);
            sum += pol[i * 9 + p];
        }
        CHECK_NEAR(sum, 1.0, 1e-5);
    }
    rps_solver_destroy(sv);
}

static void test_optimal_play_keeps_value(void) {
    /* The side playing the solver's optimal moves against random moves ends at least at the solved margin. */
    rps_solver *sv = rps_solver_create(16);
    REQUIRE(sv);
    nrps_rng r;
    nrps_rng_seed(&r, 99);
    rps_config c = rps_config_standard();
    for (int g = 0; g < 16; g++) {
        rps_state s;
        rps_state_deal(&s, &c, &r);
        int hero = g % 2 ? RPS_P2 : RPS_P1;
        int m0 = rps_solver_margin(sv, &s);
        int hero_value = hero == RPS_P1 ? m0 : -m0;
        while (!rps_state_is_over(&s)) {
            if (s.to_move == hero) {
                rps_solve_info info;
                REQUIRE(rps_solver_analyse(sv, &s, &info) == NRPS_OK);
                int pick = -1;
                for (int i = 0; i < info.n_moves && pick < 0; i++)
                    if (info.moves[i].optimal) pick = i;
                REQUIRE(pick >= 0);
                REQUIRE(rps_state_apply(&s, info.moves[pick].move) == NRPS_OK);
            } else {
                random_moves(&s, &r, 1);
            }
        }
        int a, b;
        rps_state_score(&s, &a, &b);
        int final = hero == RPS_P1 ? a - b : b - a;
        CHECK_MSG(final >= hero_value, "game %d: hero margin %d < solved %d", g, final, hero_value);
    }
    rps_solver_destroy(sv);
}

int main(void) {
    RUN(test_standard_midgame);
    RUN(test_standard_near_opening);
    RUN(test_small_configs);
    RUN(test_terminal_and_errors);
    RUN(test_table_independence);
    RUN(test_threads);
    RUN(test_evaluator);
    RUN(test_optimal_play_keeps_value);
    return check_summary("solver");
}
