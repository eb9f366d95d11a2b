/* test_bestresponse.c - the exact best response to the random agent (src/search/bestresponse.h) against a
 * brute-force expectimax without table (every hand index tried, the opponent averaged uniformly over all
 * its legal (hand index, position) moves, as the `random` agent draws them) on small configurations, round
 * limits, draws and random mid-game positions of the standard game, from both seats; the analysis
 * (max / weighted average of the move values, probabilities), table-size independence, symmetric positions;
 * the best response is >= the exact score of the solver's play and of random play against random; the
 * `bestresponse` agent picks best moves and its arena score matches the exact expectation. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "search/agent.h"
#include "search/arena.h"
#include "search/bestresponse.h"
#include "search/solver.h"

static double result_for(const rps_state *s, int our) {
    int w = rps_state_winner(s);
    return w == RPS_NONE ? 0.5 : w == our ? 1.0 : 0.0;
}

/* Plain expectimax over all legal moves (hand indices, not merged), no table. */
static double brute(const rps_state *s, int our) {
    rps_move mv[RPS_MAX_MOVES];
    int n = rps_state_legal_moves(s, mv);
    if (n == 0) return result_for(s, our);
    double best = -1, sum = 0;
    for (int i = 0; i < n; i++) {
        rps_state c = *s;
        rps_state_apply(&c, mv[i]);
        double v = brute(&c, our);
        if (v > best) best = v;
        sum += v;
    }
    return s->to_move == our ? best : sum / n;
}

/* Our policies, evaluated exactly against random. */
enum { POL_RANDOM, POL_SOLVER };

static double eval_policy(const rps_state *s, int our, int pol, rps_solver *sv) {
    rps_move mv[RPS_MAX_MOVES];
    int n = rps_state_legal_moves(s, mv);
    if (n == 0) return result_for(s, our);
    if (s->to_move != our || pol == POL_RANDOM) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            rps_state c = *s;
            rps_state_apply(&c, mv[i]);
            sum += eval_policy(&c, our, pol, sv);
        }
        return sum / n;
    }
    /* the solver agent: uniform among the distinct moves with the best exact margin */
    rps_solve_info info;
    rps_solver_analyse(sv, s, &info);
    double sum = 0;
    for (int i = 0; i < info.n_moves; i++) {
        if (!info.moves[i].optimal) continue;
        rps_state c = *s;
        rps_state_apply(&c, info.moves[i].move);
        sum += eval_policy(&c, our, pol, sv);
    }
    return sum / info.n_optimal;
}

/* Plays k random plies from a fresh deal. */
static void random_position(rps_state *s, const rps_config *cfg, nrps_rng *rng, int k) {
    rps_state_deal(s, cfg, rng);
    for (int i = 0; i < k && !rps_state_is_over(s); i++) {
        rps_move mv[RPS_MAX_MOVES];
        int n = rps_state_legal_moves(s, mv);
        rps_state_apply(s, mv[nrps_rng_below(rng, (uint32_t)n)]);
    }
}

static void test_small_configs_vs_brute(void) {
    const rps_config cfgs[] = {{6, 3, 10}, {9, 3, 10}, {9, 4, 10}, {8, 4, 2}, {12, 4, 10}, {7, 2, 1}, {10, 5, 3}};
    rps_br *br = rps_br_create(12);
    REQUIRE(br);
    nrps_rng rng;
    nrps_rng_seed(&rng, 11);
    int compared = 0, halves = 0;
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        for (int d = 0; d < 4; d++) {
            rps_state s;
            /* keep the brute force small: start hand - 2 plies in */
            random_position(&s, &cfgs[c], &rng, cfgs[c].hand_size - 2);
            for (int our = RPS_P1; our <= RPS_P2; our++) {
                double v = -1, b = brute(&s, our);
                CHECK(rps_br_value(br, &s, our, &v) == NRPS_OK);
                CHECK_NEAR(v, b, 1e-12);
                compared++;
                halves += v > 0 && v < 1;
            }
        }
    }
    CHECK(compared == 56);
    CHECK(halves > 10); /* not only sure wins and losses */
    rps_br_destroy(br);
}

static void test_standard_midgame_vs_brute(void) {
    rps_config cfg = rps_config_standard();
    rps_br *br = rps_br_create(0);
    REQUIRE(br);
    nrps_rng rng;
    nrps_rng_seed(&rng, 5);
    for (int i = 0; i < 24; i++) {
        rps_state s;
        random_position(&s, &cfg, &rng, 3 + i % 4); /* 3..6 plies in: brute force has <= 26k leaves */
        for (int our = RPS_P1; our <= RPS_P2; our++) {
            double v = -1;
            CHECK(rps_br_value(br, &s, our, &v) == NRPS_OK);
            CHECK_NEAR(v, brute(&s, our), 1e-12);
        }
    }
    rps_br_destroy(br);
}

/* Hands with two cards of one type and one of another: the random agent plays a type with probability
 * k/n (it draws a hand index), which the brute force over hand indices does by construction. */
static void test_duplicate_cards_weighting(void) {
    rps_config cfg = {9, 3, 10};
    int8_t p1[3] = {RPS_ROCK, RPS_ROCK, RPS_PAPER}, p2[3] = {RPS_SCISSORS, RPS_SCISSORS, RPS_PAPER};
    rps_state s;
    REQUIRE(rps_state_from_hands(&s, &cfg, p1, 3, p2, 3) == NRPS_OK);
    rps_br *br = rps_br_create(10);
    REQUIRE(br);
    for (int our = RPS_P1; our <= RPS_P2; our++) {
        double v;
        CHECK(rps_br_value(br, &s, our, &v) == NRPS_OK);
        CHECK_NEAR(v, brute(&s, our), 1e-12);
        rps_br_info info;
        CHECK(rps_br_analyse(br, &s, our, &info) == NRPS_OK);
        if (our == RPS_P2) { /* the random agent (P1) moves: Rock has probability 2/3 / 9 per cell */
            CHECK(info.n_moves == 18 && info.n_best == 0);
            CHECK_NEAR(info.moves[0].prob, 2.0 / 27.0, 1e-15);
            CHECK_NEAR(info.moves[9].prob, 1.0 / 27.0, 1e-15);
        }
    }
    rps_br_destroy(br);
}

static void test_analyse_consistent(void) {
    rps_config cfg = rps_config_standard();
    rps_br *br = rps_br_create(0);
    REQUIRE(br);
    nrps_rng rng;
    nrps_rng_seed(&rng, 21);
    for (int i = 0; i < 12; i++) {
        rps_state s;
        random_position(&s, &cfg, &rng, i % 9);
        for (int our = RPS_P1; our <= RPS_P2; our++) {
            rps_br_info info;
            REQUIRE(rps_br_analyse(br, &s, our, &info) == NRPS_OK);
            double v;
            CHECK(rps_br_value(br, &s, our, &v) == NRPS_OK);
            CHECK_NEAR(info.value, v, 1e-12);
            CHECK(info.ours_to_move == (s.to_move == our));
            rps_move dm[RPS_MAX_MOVES];
            CHECK(info.n_moves == rps_state_distinct_moves(&s, dm));
            double mx = -1, avg = 0, psum = 0;
            for (int k = 0; k < info.n_moves; k++) {
                const rps_br_move *m = &info.moves[k];
                CHECK(m->value >= 0 && m->value <= 1);
                rps_state c = s;
                CHECK(rps_state_apply(&c, m->move) == NRPS_OK);
                double cv;
                CHECK(rps_br_value(br, &c, our, &cv) == NRPS_OK);
                CHECK_NEAR(cv, m->value, 1e-12);
                if (m->value > mx) mx = m->value;
                avg += m->prob * m->value;
                psum += m->prob;
            }
            if (info.n_moves == 0) CHECK_NEAR(info.value, result_for(&s, our), 0);
            else if (info.ours_to_move) {
                CHECK_NEAR(info.value, mx, 0);
                CHECK(info.n_best >= 1 && psum == 0);
                for (int k = 0; k < info.n_moves; k++)
                    CHECK(info.moves[k].best == (info.moves[k].value >= mx - RPS_BR_TIE_EPS));
                rps_move best[RPS_NTYPES * RPS_CELLS];
                CHECK(rps_br_best_moves(br, &s, best) == info.n_best);
            } else {
                CHECK_NEAR(psum, 1.0, 1e-12);
                CHECK_NEAR(info.value, avg, 1e-12);
                CHECK(info.n_best == 0);
            }
        }
    }
    rps_br_destroy(br);
}

/* Values do not depend on the table (size, reuse) and are invariant under the symmetries of the square. */
static void test_table_and_symmetry(void) {
    static const int rot[9] = {2, 5, 8, 1, 4, 7, 0, 3, 6}, flip[9] = {2, 1, 0, 5, 4, 3, 8, 7, 6};
    rps_config cfg = rps_config_standard();
    rps_br *big = rps_br_create(22), *tiny = rps_br_create(10);
    REQUIRE(big && tiny);
    nrps_rng rng;
    nrps_rng_seed(&rng, 3);
    for (int i = 0; i < 6; i++) {
        rps_state s;
        random_position(&s, &cfg, &rng, 2 + i);
        for (int our = RPS_P1; our <= RPS_P2; our++) {
            double a, b, c, d;
            rps_br_value(big, &s, our, &a);
            rps_br_value(tiny, &s, our, &b);
            CHECK_NEAR(a, b, 1e-12);
            rps_state r = s, f = s;
            for (int p = 0; p < 9; p++) {
                r.board[rot[p]] = s.board[p];
                f.board[flip[p]] = s.board[p];
            }
            rps_br_clear(big);
            rps_br_value(big, &r, our, &c);
            rps_br_value(tiny, &f, our, &d);
            CHECK_NEAR(a, c, 1e-12);
            CHECK_NEAR(a, d, 1e-12);
        }
    }
    CHECK(rps_br_nodes(big) > 0);
    rps_br_destroy(big);
    rps_br_destroy(tiny);
}

/* The best response does at least as well as any fixed policy: the solver's play and random play. */
static void test_dominates_solver_and_random(void) {
    const rps_config cfgs[] = {{6, 3, 10}, {9, 4, 10}, {12, 4, 10}, {8, 4, 2}};
    rps_br *br = rps_br_create(12);
    rps_solver *sv = rps_solver_create(14);
    REQUIRE(br && sv);
    nrps_rng rng;
    nrps_rng_seed(&rng, 8);
    int strictly_better = 0, n = 0;
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++)
        for (int d = 0; d < 4; d++) {
            rps_state s;
            random_position(&s, &cfgs[c], &rng, cfgs[c].hand_size - 2);
            for (int our = RPS_P1; our <= RPS_P2; our++) {
                double v, vs = eval_policy(&s, our, POL_SOLVER, sv), vr = eval_policy(&s, our, POL_RANDOM, sv);
                CHECK(rps_br_value(br, &s, our, &v) == NRPS_OK);
                CHECK(v >= vs - 1e-12);
                CHECK(v >= vr - 1e-12);
                strictly_better += v > vs + 1e-9;
                n++;
            }
        }
    /* standard game, a few plies in */
    rps_config std = rps_config_standard();
    for (int d = 0; d < 4; d++) {
        rps_state s;
        random_position(&s, &std, &rng, 4);
        for (int our = RPS_P1; our <= RPS_P2; our++) {
            double v, vs = eval_policy(&s, our, POL_SOLVER, sv), vr = eval_policy(&s, our, POL_RANDOM, sv);
            CHECK(rps_br_value(br, &s, our, &v) == NRPS_OK);
            CHECK(v >= vs - 1e-12 && v >= vr - 1e-12);
            strictly_better += v > vs + 1e-9;
            n++;
        }
    }
    CHECK(n == 40);
    CHECK(strictly_better > 0); /* the solver assumes a perfect opponent, so it is sometimes worse vs random */
    rps_solver_destroy(sv);
    rps_br_destroy(br);
}

static void test_terminal_and_errors(void) {
    rps_config cfg = {6, 3, 10};
    int8_t p1[3] = {RPS_ROCK, RPS_PAPER, RPS_SCISSORS}, p2[3] = {RPS_ROCK, RPS_PAPER, RPS_SCISSORS};
    rps_state s;
    REQUIRE(rps_state_from_hands(&s, &cfg, p1, 3, p2, 3) == NRPS_OK);
    rps_br *br = rps_br_create(10);
    REQUIRE(br);
    /* G3 of test_cli_game.sh: a 3-3 draw */
    static const int8_t mv[6][2] = {{0, 0}, {0, 8}, {0, 1}, {0, 7}, {0, 2}, {0, 6}};
    for (int i = 0; i < 6; i++) REQUIRE(rps_state_apply(&s, (rps_move){mv[i][0], mv[i][1]}) == NRPS_OK);
    REQUIRE(rps_state_is_over(&s));
    double v = -1;
    CHECK(rps_br_value(br, &s, RPS_P1, &v) == NRPS_OK && v == 0.5);
    rps_br_info info;
    CHECK(rps_br_analyse(br, &s, RPS_P2, &info) == NRPS_OK && info.n_moves == 0 && info.value == 0.5);
    rps_move best[RPS_NTYPES * RPS_CELLS];
    CHECK(rps_br_best_moves(br, &s, best) == -1);
    v = -7;
    CHECK(rps_br_value(br, &s, 3, &v) == NRPS_ERR_ARG && v == -7);
    CHECK(strstr(nrps_last_error(), "our player 3") != NULL);
    rps_state bad = s;
    bad.to_move = 0;
    CHECK(rps_br_value(br, &bad, RPS_P1, &v) == NRPS_ERR_ARG);
    CHECK(rps_br_create(9) == NULL && rps_br_create(29) == NULL);
    rps_br_destroy(NULL);
    rps_br_destroy(br);
}

static void test_agent_plays_best_moves(void) {
    agent_spec spec;
    REQUIRE(agent_spec_parse("bestresponse", &spec) == NRPS_OK);
    CHECK(spec.kind == AGENT_BESTRESPONSE);
    CHECK(!strcmp(agent_kind_name(spec.kind), "bestresponse"));
    agent_spec bad;
    CHECK(agent_spec_parse("bestresponse:10", &bad) == NRPS_ERR_ARG);
    CHECK(agent_spec_parse("bestresponse,cpuct=1", &bad) == NRPS_ERR_ARG);
    agent *a = agent_create(&spec, 1);
    rps_br *br = rps_br_create(0);
    REQUIRE(a && br);
    rps_config cfg = rps_config_standard();
    nrps_rng rng;
    nrps_rng_seed(&rng, 77);
    for (int i = 0; i < 10; i++) {
        rps_state s;
        random_position(&s, &cfg, &rng, i % 8);
        if (rps_state_is_over(&s)) continue;
        rps_move m;
        REQUIRE(agent_select_move(a, &s, &m) == NRPS_OK);
        CHECK(rps_state_is_legal(&s, m));
        rps_br_info info;
        REQUIRE(rps_br_analyse(br, &s, s.to_move, &info) == NRPS_OK);
        rps_state c = s;
        rps_state_apply(&c, m);
        double v;
        rps_br_value(br, &c, s.to_move, &v);
        CHECK_NEAR(v, info.value, RPS_BR_TIE_EPS);
    }
    agent_destroy(a);
    rps_br_destroy(br);
}

/* The arena's mean score of bestresponse vs random is an unbiased estimate of the exact mean over the same
 * deals and seats (game g: deal g/2 from arena_derive_seed(seed, 1, g/2), A = Player1 in even games). */
static void test_arena_matches_exact(void) {
    arena_config ac;
    memset(&ac, 0, sizeof ac);
    REQUIRE(agent_spec_parse("bestresponse", &ac.a) == NRPS_OK);
    REQUIRE(agent_spec_parse("random", &ac.b) == NRPS_OK);
    ac.game = (rps_config){9, 3, 10};
    ac.games = 400;
    ac.seed = 4;
    ac.threads = 2;
    arena_result r;
    REQUIRE(arena_run(&ac, &r) == NRPS_OK);
    rps_br *br = rps_br_create(16);
    REQUIRE(br);
    double sum = 0, var = 0;
    for (long g = 0; g < ac.games; g++) {
        rps_state s;
        nrps_rng deal;
        nrps_rng_seed(&deal, arena_derive_seed(ac.seed, 1, (uint64_t)(g / 2)));
        rps_state_deal(&s, &ac.game, &deal);
        double v;
        REQUIRE(rps_br_value(br, &s, g % 2 == 0 ? RPS_P1 : RPS_P2, &v) == NRPS_OK);
        sum += v;
        var += v * (1 - v);
    }
    double exact = sum / ac.games, sd = sqrt(var) / ac.games;
    CHECK_MSG(fabs(r.score - exact) <= 4 * sd + 1e-9, "arena %.4f, exact %.4f, sd %.4f", r.score, exact, sd);
    CHECK(exact < 1.0 && exact > 0.5);
    rps_br_destroy(br);
}

int main(void) {
    RUN(test_small_configs_vs_brute);
    RUN(test_standard_midgame_vs_brute);
    RUN(test_duplicate_cards_weighting);
    RUN(test_analyse_consistent);
    RUN(test_table_and_symmetry);
    RUN(test_dominates_solver_and_random);
    RUN(test_terminal_and_errors);
    RUN(test_agent_plays_best_moves);
    RUN(test_arena_matches_exact);
    return check_summary("bestresponse");
}
