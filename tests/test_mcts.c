/* test_mcts.c - PUCT MCTS: backup sign for both players, forced wins, exact-evaluator play, prior masking
 * and renormalisation, the type split of priors, Dirichlet noise, batching with virtual loss, tree reuse,
 * visit bookkeeping; and the basic evaluators. An independent brute-force negamax written here is the
 * reference for game values. */
#include <string.h>

#include "check.h"
#include "game/game.h"
#include "search/eval_basic.h"
#include "search/mcts.h"
#include "search/solver.h"

/* Exact value (1 win / 0.5 draw / 0 loss) for the player to move, plain negamax over merged moves. */
static double negamax(const rps_state *s) {
    if (rps_state_is_over(s)) {
        int w = rps_state_winner(s);
        return w == RPS_NONE ? 0.5 : w == s->to_move ? 1.0 : 0.0;
    }
    rps_move mv[32];
    int n = rps_state_distinct_moves(s, mv);
    double best = -1;
    for (int i = 0; i < n; i++) {
        rps_state t = *s;
        rps_state_apply(&t, mv[i]);
        double v = t.to_move == s->to_move ? negamax(&t) : 1.0 - negamax(&t);
        if (rps_state_is_over(&t)) {
            int w = rps_state_winner(&t);
            v = w == RPS_NONE ? 0.5 : w == s->to_move ? 1.0 : 0.0;
        }
        if (v > best) best = v;
        if (best >= 1.0) break;
    }
    return best;
}

/* Exact value for the mover of playing (type, pos) in s. */
static double move_value(const rps_state *s, int type, int pos) {
    rps_state t = *s;
    rps_move mv = {(int8_t)mcts_card_of_type(s, type), (int8_t)pos};
    rps_state_apply(&t, mv);
    if (rps_state_is_over(&t)) {
        int w = rps_state_winner(&t);
        return w == RPS_NONE ? 0.5 : w == s->to_move ? 1.0 : 0.0;
    }
    return t.to_move == s->to_move ? negamax(&t) : 1.0 - negamax(&t);
}

/* A standard deal played with random moves up to ply `ply`. */
static void random_position(rps_state *s, uint64_t seed, int ply) {
    rps_config c = rps_config_standard();
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    rps_state_deal(s, &c, &r);
    while (s->ply < ply && !rps_state_is_over(s)) {
        rps_move mv[RPS_MAX_MOVES];
        int n = rps_state_legal_moves(s, mv);
        rps_state_apply(s, mv[nrps_rng_below(&r, (uint32_t)n)]);
    }
}

/* Is there a winning move and a non-winning one? Fills the best value. */
static int is_decisive(const rps_state *s) {
    rps_move mv[32];
    int n = rps_state_distinct_moves(s, mv), win = 0, other = 0;
    for (int i = 0; i < n; i++) {
        double v = move_value(s, s->hand[s->to_move][mv[i].card], mv[i].pos);
        if (v >= 1.0) win++;
        else other++;
    }
    return win > 0 && other > 0;
}

static double chosen_value(const rps_state *s, const mcts_result *r) {
    const mcts_child_stat *c = &r->children[r->chosen];
    return move_value(s, c->type, c->pos);
}

/* Uniform priors, constant 0.5 value: only exact terminal scores inform the search, so a wrong backup
 * sign picks losing moves. Checked for positions with either player to move. */
static void test_backup_sign_both_players(void) {
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 60;
    mcts *m = mcts_create(&cfg);
    REQUIRE(m);
    nrps_rng rng;
    nrps_rng_seed(&rng, 7);
    int tested[3] = {0, 0, 0}, right[3] = {0, 0, 0};
    for (uint64_t seed = 1; seed < 400 && (tested[1] < 25 || tested[2] < 25); seed++) {
        for (int ply = 6; ply <= 7; ply++) {
            rps_state s;
            random_position(&s, seed, ply);
            if (rps_state_is_over(&s) || !is_decisive(&s)) continue;
            mcts_result res;
            REQUIRE(mcts_search_run(m, &s, eval_uniform_evaluator(), &rng, &res) == NRPS_OK);
            tested[s.to_move]++;
            if (chosen_value(&s, &res) >= 1.0) right[s.to_move]++;
            /* the root value agrees in sign: the mover is winning */
            CHECK_MSG(res.value > 0.5, "root value %g in a won position", res.value);
        }
    }
    CHECK(tested[1] >= 10 && tested[2] >= 10);
    CHECK_MSG(right[1] == tested[1], "P1 to move: %d of %d winning moves", right[1], tested[1]);
    CHECK_MSG(right[2] == tested[2], "P2 to move: %d of %d winning moves", right[2], tested[2]);
    mcts_destroy(m);
}

/* Forced wins a few plies deep, found with random-rollout values (P1 and P2 to move). */
static void test_forced_wins_rollouts(void) {
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 800;
    mcts *m = mcts_create(&cfg);
    eval_rollout *ev = eval_rollout_create(3, 1);
    REQUIRE(m && ev);
    nrps_rng rng;
    nrps_rng_seed(&rng, 11);
    int tested = 0, right = 0, tested_p2 = 0;
    for (uint64_t seed = 100; seed < 400 && tested < 40; seed++) {
        rps_state s;
        random_position(&s, seed, 4 + (int)(seed % 2));
        if (rps_state_is_over(&s) || !is_decisive(&s)) continue;
        mcts_result res;
        REQUIRE(mcts_search_run(m, &s, eval_rollout_evaluator(ev), &rng, &res) == NRPS_OK);
        tested++;
        tested_p2 += s.to_move == RPS_P2;
        right += chosen_value(&s, &res) >= 1.0;
    }
    CHECK(tested >= 30 && tested_p2 >= 10);
    /* rollouts are noisy; nearly every forced win must still be found */
    CHECK_MSG(right >= tested - 2, "found %d of %d forced wins", right, tested);
    mcts_destroy(m);
    eval_rollout_destroy(ev);
}

/* An evaluator that pushes its prior onto occupied cells and cell 8 to test masking. */
static nrps_status skewed_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    (void)ctx;
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < 9; p++) {
            float x = states[i].board[p].owner != RPS_NONE ? 1000.0f : 1.0f;
            if (p == 8) x = 5.0f;
            policy[i * 9 + p] = x;
        }
        value[i] = 0.5f;
    }
    return NRPS_OK;
}

static void test_priors_masked_and_split(void) {
    rps_config c = rps_config_standard();
    const int8_t p1[5] = {0, 0, 1, 1, 0}, p2[5] = {2, 2, 2, 1, 1};
    rps_state s;
    REQUIRE(rps_state_from_hands(&s, &c, p1, 5, p2, 5) == NRPS_OK);
    rps_state_apply(&s, (rps_move){0, 4}); /* P1 rock centre */
    rps_state_apply(&s, (rps_move){0, 0}); /* P2 scissors corner */
    /* P1 holds R,P,P,R: two distinct types, 7 empty cells */
    mcts_evaluator ev = {.ctx = NULL, .evaluate = skewed_eval, .max_batch = 8, .name = "skewed"};
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 300;
    mcts *m = mcts_create(&cfg);
    REQUIRE(m);
    nrps_rng rng;
    nrps_rng_seed(&rng, 1);
    mcts_result r;
    REQUIRE(mcts_search_run(m, &s, &ev, &rng, &r) == NRPS_OK);
    CHECK(r.nchildren == 7 * 2);
    double psum = 0, vsum = 0;
    for (int i = 0; i < r.nchildren; i++) {
        const mcts_child_stat *ch = &r.children[i];
        CHECK(s.board[ch->pos].owner == RPS_NONE);
        CHECK(ch->type == RPS_ROCK || ch->type == RPS_PAPER);
        double want = ch->pos == 8 ? 5.0 / 11.0 / 2.0 : 1.0 / 11.0 / 2.0; /* 6 cells at 1, cell 8 at 5 */
        CHECK_NEAR(ch->prior, want, 1e-6);
        psum += ch->prior;
        vsum += ch->visits;
    }
    CHECK_NEAR(psum, 1.0, 1e-5);
    CHECK(vsum == r.root_visits - 1);
    CHECK(r.root_visits == cfg.playouts + 1 && r.playouts == cfg.playouts);
    double pol = 0;
    for (int p = 0; p < 9; p++) {
        if (s.board[p].owner != RPS_NONE) CHECK(r.policy[p] == 0.0f);
        pol += r.policy[p];
    }
    CHECK_NEAR(pol, 1.0, 1e-5);
    CHECK(rps_state_is_legal(&s, r.move));
    CHECK(s.hand[RPS_P1][r.move.card] == r.children[r.chosen].type && r.move.pos == r.children[r.chosen].pos);
    /* the greedy choice is the most visited child */
    for (int i = 0; i < r.nchildren; i++) CHECK(r.children[i].visits <= r.children[r.chosen].visits);
    mcts_destroy(m);
}

static void test_dirichlet_noise(void) {
    rps_state s;
    random_position(&s, 5, 0);
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 50;
    mcts *plain = mcts_create(&cfg);
    cfg.dirichlet_weight = 0.25;
    cfg.dirichlet_alpha = 0.3;
    mcts *noisy = mcts_create(&cfg);
    REQUIRE(plain && noisy);
    nrps_rng r1, r2;
    nrps_rng_seed(&r1, 3);
    nrps_rng_seed(&r2, 3);
    mcts_result a, b, b2;
    REQUIRE(mcts_search_run(plain, &s, eval_uniform_evaluator(), &r1, &a) == NRPS_OK);
    REQUIRE(mcts_search_run(noisy, &s, eval_uniform_evaluator(), &r2, &b) == NRPS_OK);
    REQUIRE(a.nchildren == b.nchildren);
    double sa = 0, sb = 0, diff = 0;
    for (int i = 0; i < a.nchildren; i++) {
        sa += a.children[i].prior;
        sb += b.children[i].prior;
        diff += fabs(a.children[i].prior - b.children[i].prior);
        CHECK(b.children[i].prior >= 0.75 * a.children[i].prior - 1e-6); /* (1-w) P + w eta */
    }
    CHECK_NEAR(sa, 1.0, 1e-5);
    CHECK_NEAR(sb, 1.0, 1e-5);
    CHECK(diff > 0.01);
    /* a second search of the same state draws fresh noise from the clean priors */
    REQUIRE(mcts_search_run(noisy, &s, eval_uniform_evaluator(), &r2, &b2) == NRPS_OK);
    double sb2 = 0, d2 = 0;
    for (int i = 0; i < b2.nchildren; i++) {
        sb2 += b2.children[i].prior;
        d2 += fabs(b2.children[i].prior - b.children[i].prior);
    }
    CHECK_NEAR(sb2, 1.0, 1e-5);
    CHECK(d2 > 0.001);
    mcts_destroy(plain);
    mcts_destroy(noisy);
}

/* Counts evaluator calls and the largest batch seen. */
typedef struct {
    eval_rollout *inner;
    int calls, max_n, total;
} counting_ctx;
static nrps_status counting_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    counting_ctx *c = ctx;
    c->calls++;
    c->total += n;
    if (n > c->max_n) c->max_n = n;
    const mcts_evaluator *in = eval_rollout_evaluator(c->inner);
    return in->evaluate(in->ctx, states, n, policy, value);
}

static void test_batch_virtual_loss(void) {
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 800;
    cfg.batch = 8;
    mcts *mb = mcts_create(&cfg);
    counting_ctx cc = {.inner = eval_rollout_create(5, 8)};
    REQUIRE(mb && cc.inner);
    mcts_evaluator ev = {.ctx = &cc, .evaluate = counting_eval, .max_batch = 8, .name = "counting"};
    nrps_rng rng;
    nrps_rng_seed(&rng, 5);
    int tested = 0, right = 0;
    for (uint64_t seed = 100; seed < 400 && tested < 30; seed++) {
        rps_state s;
        random_position(&s, seed, 4 + (int)(seed % 2));
        if (rps_state_is_over(&s) || !is_decisive(&s)) continue;
        mcts_result res;
        cc.calls = cc.total = 0;
        REQUIRE(mcts_search_run(mb, &s, &ev, &rng, &res) == NRPS_OK);
        tested++;
        right += chosen_value(&s, &res) >= 1.0;
        int vs = 0;
        for (int i = 0; i < res.nchildren; i++) vs += res.children[i].visits;
        CHECK(vs == res.root_visits - 1 && res.playouts == cfg.playouts);
        CHECK(res.eval_calls == cc.calls && res.eval_states == cc.total);
        CHECK(cc.calls < cc.total); /* really batched */
    }
    CHECK(cc.max_n == 8);
    CHECK(tested >= 25);
    CHECK_MSG(right >= tested - 2, "batch 8 found %d of %d forced wins", right, tested);
    mcts_destroy(mb);
    eval_rollout_destroy(cc.inner);
}

static void test_tree_reuse(void) {
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 400;
    cfg.reuse_tree = 1;
    mcts *m = mcts_create(&cfg);
    eval_rollout *ev = eval_rollout_create(9, 1);
    REQUIRE(m && ev);
    nrps_rng rng;
    nrps_rng_seed(&rng, 9);
    rps_state s;
    random_position(&s, 77, 0);
    mcts_result r;
    REQUIRE(mcts_search_run(m, &s, eval_rollout_evaluator(ev), &rng, &r) == NRPS_OK);
    CHECK(r.reused_visits == 0);
    int child_visits = r.children[r.chosen].visits;
    REQUIRE(mcts_advance(m, r.move) == NRPS_OK);
    rps_state_apply(&s, r.move);
    REQUIRE(mcts_search_run(m, &s, eval_rollout_evaluator(ev), &rng, &r) == NRPS_OK);
    CHECK_MSG(r.reused_visits == child_visits - 1, "reused %d, child had %d", r.reused_visits, child_visits);
    CHECK(r.root_visits == cfg.playouts + 1);
    CHECK(r.playouts == cfg.playouts - r.reused_visits);
    /* automatic: play our move and a reply, then search the resulting state (two plies below the root) */
    rps_state_apply(&s, r.move);
    rps_move reply[RPS_MAX_MOVES];
    rps_state_legal_moves(&s, reply);
    rps_state_apply(&s, reply[0]);
    REQUIRE(mcts_search_run(m, &s, eval_rollout_evaluator(ev), &rng, &r) == NRPS_OK);
    CHECK(r.root_visits == cfg.playouts + 1);
    CHECK(rps_state_is_legal(&s, r.move));
    CHECK(mcts_tree_size(m) <= 1 + (cfg.playouts + 2) * MCTS_MAX_CHILDREN);
    /* an unrelated state starts fresh */
    rps_state o;
    random_position(&o, 78, 2);
    REQUIRE(mcts_search_run(m, &o, eval_rollout_evaluator(ev), &rng, &r) == NRPS_OK);
    CHECK(r.reused_visits == 0 && r.playouts == cfg.playouts);
    /* illegal advance is refused */
    CHECK(mcts_advance(m, (rps_move){0, 9}) == NRPS_ERR_ILLEGAL);
    /* reuse keeps strength: a whole game searched with reuse gives legal moves to the end */
    random_position(&s, 79, 0);
    while (!rps_state_is_over(&s)) {
        REQUIRE(mcts_search_run(m, &s, eval_rollout_evaluator(ev), &rng, &r) == NRPS_OK);
        REQUIRE(rps_state_apply(&s, r.move) == NRPS_OK);
    }
    mcts_destroy(m);
    eval_rollout_destroy(ev);
}

static void test_temperature(void) {
    rps_state s;
    random_position(&s, 21, 0);
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 100;
    cfg.temperature = 1.0;
    cfg.temperature_plies = 2;
    mcts *m = mcts_create(&cfg);
    REQUIRE(m);
    nrps_rng rng;
    nrps_rng_seed(&rng, 1);
    int distinct[MCTS_MAX_CHILDREN] = {0}, nd = 0;
    mcts_result r;
    for (int i = 0; i < 30; i++) {
        REQUIRE(mcts_search_run(m, &s, eval_uniform_evaluator(), &rng, &r) == NRPS_OK);
        CHECK(r.children[r.chosen].visits > 0);
        if (!distinct[r.chosen]++) nd++;
    }
    CHECK(nd > 1); /* sampling at ply 0 */
    /* after temperature_plies: argmax */
    rps_state_apply(&s, r.move);
    rps_move mv[RPS_MAX_MOVES];
    rps_state_legal_moves(&s, mv);
    rps_state_apply(&s, mv[0]);
    CHECK(s.ply == 2);
    {
        for (int i = 0; i < 5; i++) {
            REQUIRE(mcts_search_run(m, &s, eval_uniform_evaluator(), &rng, &r) == NRPS_OK);
            for (int j = 0; j < r.nchildren; j++) CHECK(r.children[j].visits <= r.children[r.chosen].visits);
        }
    }
    mcts_destroy(m);
}

static void test_config_and_errors(void) {
    mcts_config c = mcts_config_default();
    c.playouts = 0;
    CHECK(mcts_create(&c) == NULL);
    CHECK(strstr(nrps_last_error(), "playouts") != NULL);
    c = mcts_config_default();
    c.dirichlet_weight = 1.5;
    CHECK(mcts_config_check(&c) == NRPS_ERR_ARG);
    mcts_destroy(NULL);
    c = mcts_config_default();
    mcts *m = mcts_create(&c);
    REQUIRE(m);
    rps_state s;
    random_position(&s, 3, 9);
    REQUIRE(rps_state_is_over(&s));
    nrps_rng rng;
    nrps_rng_seed(&rng, 1);
    mcts_result r;
    CHECK(mcts_search_run(m, &s, eval_uniform_evaluator(), &rng, &r) == NRPS_ERR_ARG);
    mcts_destroy(m);
}

static void test_rollout_evaluator(void) {
    eval_rollout *e = eval_rollout_create(1, 4);
    REQUIRE(e);
    const mcts_evaluator *ev = eval_rollout_evaluator(e);
    rps_state s[4];
    for (int i = 0; i < 4; i++) random_position(&s[i], 50 + i, i);
    float pol[36], val[4];
    REQUIRE(ev->evaluate(ev->ctx, s, 4, pol, val) == NRPS_OK);
    for (int i = 0; i < 4; i++) CHECK(val[i] == 0.0f || val[i] == 0.5f || val[i] == 1.0f);
    for (int i = 0; i < 36; i++) CHECK_NEAR(pol[i], 1.0 / 9, 1e-7);
    /* random playout from a lost-for-sure final position */
    rps_state f;
    random_position(&f, 8, 8);
    nrps_rng r;
    nrps_rng_seed(&r, 1);
    double mean = 0;
    for (int i = 0; i < 200; i++) mean += eval_random_playout(&f, RPS_P1, &r);
    mean /= 200;
    CHECK_NEAR(mean, negamax(&f), 1e-9); /* one move left: every playout gives the exact value */
    eval_rollout_destroy(e);
    CHECK(eval_rollout_create(1, 0) == NULL);
}

/* Exact values from the solver with uniform priors (the solver evaluator's own policy would hint the answer). */
static nrps_status exact_uniform_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    const mcts_evaluator *inner = ctx;
    nrps_status st = inner->evaluate(inner->ctx, states, n, policy, value);
    for (int i = 0; i < n * 9; i++) policy[i] = 1.0f / 9;
    return st;
}

/* With exact leaf values MCTS plays perfectly: on positions from every ply, for both players, the chosen
 * move keeps the game-theoretic result (compared with the solver's analysis). */
static void test_exact_evaluator_plays_perfectly(void) {
    rps_solver *sv = rps_solver_create(18);
    REQUIRE(sv);
    mcts_evaluator inner;
    rps_solver_evaluator_init(&inner, sv);
    mcts_evaluator ev = {.ctx = &inner, .evaluate = exact_uniform_eval, .max_batch = 8, .name = "exact-uniform"};
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 300;
    cfg.batch = 4;
    mcts *m = mcts_create(&cfg);
    REQUIRE(m);
    nrps_rng rng;
    nrps_rng_seed(&rng, 17);
    int tested = 0, right = 0, nontrivial = 0, by_player[3] = {0, 0, 0};
    for (uint64_t seed = 1; seed <= 80; seed++) {
        rps_state s;
        random_position(&s, 1000 + seed, (int)(seed % 8));
        if (rps_state_is_over(&s)) continue;
        rps_solve_info info;
        REQUIRE(rps_solver_analyse(sv, &s, &info) == NRPS_OK);
        mcts_result res;
        REQUIRE(mcts_search_run(m, &s, &ev, &rng, &res) == NRPS_OK);
        const mcts_child_stat *c = &res.children[res.chosen];
        int found = 0;
        for (int i = 0; i < info.n_moves; i++)
            if (info.moves[i].type == c->type && info.moves[i].move.pos == c->pos) {
                found = 1;
                right += info.moves[i].result == info.result;
            }
        CHECK(found);
        tested++;
        by_player[s.to_move]++;
        nontrivial += info.n_result_optimal < info.n_moves;
        /* the chosen child's mean value agrees with the exact result for the side to move */
        if (info.result > 0) CHECK_MSG(c->q > 0.5, "won position, q %g, root value %g", c->q, res.value);
        if (info.result < 0) CHECK_MSG(c->q < 0.5, "lost position, q %g, root value %g", c->q, res.value);
    }
    CHECK(tested >= 70 && by_player[1] >= 20 && by_player[2] >= 20 && nontrivial >= 20);
    CHECK_MSG(right == tested, "%d of %d moves keep the exact result", right, tested);
    mcts_destroy(m);
    rps_solver_destroy(sv);
}

/* A thread-safe evaluator that fails from its fail_at-th state on (counting over all threads). */
typedef struct {
    int states, fail_at;
} failing_ctx;
static nrps_status failing_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    failing_ctx *c = ctx;
    if (__atomic_add_fetch(&c->states, n, __ATOMIC_RELAXED) >= c->fail_at) {
        nrps_set_error("failing evaluator: state %d", c->fail_at);
        return NRPS_ERR_BACKEND;
    }
    const mcts_evaluator *u = eval_uniform_evaluator();
    return u->evaluate(u->ctx, states, n, policy, value);
}

/* Tree-parallel search: with 2 and 8 threads, each with its own rollout evaluator (or all sharing one thread-safe
 * evaluator), exactly cfg.playouts simulations run, the root's children's visits add up to the root's, tree reuse
 * keeps working, forced wins are still found, and an error in one thread ends the search with its message. */
static void test_threads(void) {
    static const int threads[] = {2, 8}, batches[] = {1, 4};
    for (int ti = 0; ti < 2; ti++)
        for (int bi = 0; bi < 2; bi++) {
            mcts_config cfg = mcts_config_default();
            cfg.playouts = 600;
            cfg.threads = threads[ti];
            cfg.batch = batches[bi];
            cfg.reuse_tree = bi;
            mcts *m = mcts_create(&cfg);
            REQUIRE(m);
            eval_rollout *ro[8];
            const mcts_evaluator *evs[8];
            for (int t = 0; t < cfg.threads; t++) {
                REQUIRE((ro[t] = eval_rollout_create(11 + (uint64_t)t, cfg.batch)));
                evs[t] = eval_rollout_evaluator(ro[t]);
            }
            nrps_rng rng;
            nrps_rng_seed(&rng, 3);
            int tested = 0, right = 0, sums_ok = 0, searches = 0;
            for (uint64_t seed = 100; seed < 400 && tested < 12; seed++) {
                rps_state s;
                random_position(&s, seed, 4 + (int)(seed % 3));
                if (rps_state_is_over(&s)) continue;
                mcts_result res;
                REQUIRE(mcts_search_run_each(m, &s, evs, &rng, &res) == NRPS_OK);
                searches++;
                int vs = 0;
                for (int i = 0; i < res.nchildren; i++) vs += res.children[i].visits;
                sums_ok += vs == res.root_visits - 1 && res.playouts + res.reused_visits == cfg.playouts &&
                           res.eval_states <= res.playouts + 1;
                if (is_decisive(&s)) tested++, right += chosen_value(&s, &res) >= 1.0;
                if (cfg.reuse_tree) REQUIRE(mcts_advance(m, res.move) == NRPS_OK);
            }
            CHECK_MSG(sums_ok == searches, "%d threads batch %d: visits add up in %d of %d searches", cfg.threads,
                      cfg.batch, sums_ok, searches);
            CHECK_MSG(tested >= 10 && right >= tested - 1, "%d threads: %d of %d forced wins", cfg.threads, right,
                      tested);
            for (int t = 0; t < cfg.threads; t++) eval_rollout_destroy(ro[t]);
            mcts_destroy(m);
        }

    mcts_config cfg = mcts_config_default();
    cfg.playouts = 2000;
    cfg.threads = 4;
    cfg.batch = 3;
    mcts *m = mcts_create(&cfg);
    REQUIRE(m);
    rps_state s;
    random_position(&s, 5, 0);
    nrps_rng rng;
    nrps_rng_seed(&rng, 1);
    mcts_result res;
    REQUIRE(mcts_search_run(m, &s, eval_uniform_evaluator(), &rng, &res) == NRPS_OK); /* one shared evaluator */
    int vs = 0;
    for (int i = 0; i < res.nchildren; i++) vs += res.children[i].visits;
    CHECK(vs == res.root_visits - 1 && res.playouts == cfg.playouts);
    eval_rollout *ro = eval_rollout_create(1, 3);
    REQUIRE(ro);
    CHECK(mcts_search_run(m, &s, eval_rollout_evaluator(ro), &rng, &res) == NRPS_ERR_ARG); /* not thread-safe */
    CHECK(strstr(nrps_last_error(), "thread-safe") != NULL);
    failing_ctx fc = {.fail_at = 500};
    mcts_evaluator failing = {.ctx = &fc, .evaluate = failing_eval, .max_batch = 8, .name = "failing",
                              .thread_safe = 1};
    CHECK(mcts_search_run(m, &s, &failing, &rng, &res) == NRPS_ERR_BACKEND);
    CHECK_MSG(strstr(nrps_last_error(), "failing evaluator: state 500") != NULL, "error '%s'", nrps_last_error());
    REQUIRE(mcts_search_run(m, &s, eval_uniform_evaluator(), &rng, &res) == NRPS_OK); /* usable after an error */
    CHECK(res.playouts == cfg.playouts);
    eval_rollout_destroy(ro);
    mcts_destroy(m);
    cfg.threads = MCTS_MAX_THREADS + 1;
    CHECK(mcts_create(&cfg) == NULL && strstr(nrps_last_error(), "threads") != NULL);
}

/* One thread is deterministic: the same seeds give the same visits. */
static void test_one_thread_deterministic(void) {
    mcts_config cfg = mcts_config_default();
    cfg.playouts = 300;
    cfg.batch = 4;
    mcts_result r[2];
    for (int k = 0; k < 2; k++) {
        mcts *m = mcts_create(&cfg);
        eval_rollout *ro = eval_rollout_create(9, 4);
        REQUIRE(m && ro);
        rps_state s;
        random_position(&s, 77, 2);
        nrps_rng rng;
        nrps_rng_seed(&rng, 4);
        REQUIRE(mcts_search_run(m, &s, eval_rollout_evaluator(ro), &rng, &r[k]) == NRPS_OK);
        eval_rollout_destroy(ro);
        mcts_destroy(m);
    }
    CHECK(r[0].nchildren == r[1].nchildren && r[0].chosen == r[1].chosen);
    int same = 1;
    for (int i = 0; i < r[0].nchildren; i++) same &= r[0].children[i].visits == r[1].children[i].visits;
    CHECK(same);
}

int main(void) {
    RUN(test_exact_evaluator_plays_perfectly);
    RUN(test_backup_sign_both_players);
    RUN(test_forced_wins_rollouts);
    RUN(test_priors_masked_and_split);
    RUN(test_dirichlet_noise);
    RUN(test_batch_virtual_loss);
    RUN(test_tree_reuse);
    RUN(test_temperature);
    RUN(test_config_and_errors);
    RUN(test_rollout_evaluator);
    RUN(test_threads);
    RUN(test_one_thread_deterministic);
    return check_summary("mcts");
}
