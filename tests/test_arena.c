/* test_arena.c - agents and arena: spec parsing and its errors, every agent plays legal games, greedy and
 * net card rules, the network evaluator against the reference forward, paired deals, results independent
 * of the thread count, Wilson intervals and Elo against known values, records, the exact-solver agent. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "game/record.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "search/agent.h"
#include "search/arena.h"
#include "search/arena_record.h"
#include "search/eval_net.h"
#include "search/solver.h"

static void test_wilson_elo_known_values(void) {
    double lo, hi;
    /* reference values computed independently with the closed form (Python) */
    arena_wilson(0.5, 100, 1.959964, &lo, &hi);
    CHECK_NEAR(lo, 0.40383153, 1e-6);
    CHECK_NEAR(hi, 0.59616847, 1e-6);
    arena_wilson(0.9, 50, 1.959964, &lo, &hi);
    CHECK_NEAR(lo, 0.78639768, 1e-6);
    CHECK_NEAR(hi, 0.95652424, 1e-6);
    arena_wilson(0.0, 10, 1.959964, &lo, &hi);
    CHECK_NEAR(lo, 0.0, 1e-12);
    CHECK_NEAR(hi, 0.27753280, 1e-6);
    arena_wilson(0.7, 1000, 1.959964, &lo, &hi);
    CHECK_NEAR(lo, 0.67087614, 1e-6);
    CHECK_NEAR(hi, 0.72759316, 1e-6);
    CHECK_NEAR(arena_elo(0.5), 0.0, 1e-12);
    CHECK_NEAR(arena_elo(0.75), 190.848501, 1e-5); /* 400 log10(3) */
    CHECK_NEAR(arena_elo(0.25), -190.848501, 1e-5);
    CHECK_NEAR(arena_elo(10.0 / 11.0), 400.0, 1e-9);
    CHECK(isinf(arena_elo(1.0)) && arena_elo(1.0) > 0);
    CHECK(isinf(arena_elo(0.0)) && arena_elo(0.0) < 0);
}

static void expect_spec_error(const char *text, const char *needle) {
    agent_spec sp;
    nrps_status st = agent_spec_parse(text, &sp);
    CHECK_MSG(st == NRPS_ERR_ARG, "spec '%s' accepted", text);
    CHECK_MSG(strstr(nrps_last_error(), needle) != NULL, "spec '%s': message '%s' lacks '%s'", text,
              nrps_last_error(), needle);
    CHECK_MSG(strstr(nrps_last_error(), "agent spec '") == nrps_last_error(), "message '%s'", nrps_last_error());
    CHECK(strchr(nrps_last_error(), '\n') == NULL);
}

static void test_spec_parsing(void) {
    agent_spec sp;
    REQUIRE(agent_spec_parse("mcts:200", &sp) == NRPS_OK);
    CHECK(sp.kind == AGENT_MCTS && sp.mcts.playouts == 200 && sp.mcts.batch == 1);
    REQUIRE(agent_spec_parse("mcts:300:2.5", &sp) == NRPS_OK);
    CHECK(sp.kind == AGENT_MCTS && sp.mcts.playouts == 300 && sp.mcts.c_puct == 2.5);
    REQUIRE(agent_spec_parse("mcts:64,cpuct=1.25,batch=8,vloss=2,reuse=1,noise=0.25,alpha=0.5,temp=1,tplies=4", &sp) ==
            NRPS_OK);
    CHECK(sp.mcts.playouts == 64 && sp.mcts.c_puct == 1.25 && sp.mcts.batch == 8 && sp.mcts.virtual_loss == 2 &&
          sp.mcts.reuse_tree == 1 && sp.mcts.dirichlet_weight == 0.25 && sp.mcts.dirichlet_alpha == 0.5 &&
          sp.mcts.temperature == 1 && sp.mcts.temperature_plies == 4);
    REQUIRE(agent_spec_parse("mcts", &sp) == NRPS_OK);
    CHECK(sp.mcts.playouts == 200);
    REQUIRE(agent_spec_parse("mcts-net:50", &sp) == NRPS_OK);
    CHECK(sp.kind == AGENT_MCTS_NET && !strcmp(sp.policy_path, AGENT_DEFAULT_POLICY) &&
          !strcmp(sp.value_path, AGENT_DEFAULT_VALUE));
    REQUIRE(agent_spec_parse("mcts:50,nets=runs/x", &sp) == NRPS_OK);
    CHECK(sp.kind == AGENT_MCTS_NET && !strcmp(sp.policy_path, "runs/x/rps_policy.onnx") &&
          !strcmp(sp.value_path, "runs/x/rps_value.onnx"));
    REQUIRE(agent_spec_parse("net,policy=a.onnx", &sp) == NRPS_OK);
    CHECK(sp.kind == AGENT_NET && !strcmp(sp.policy_path, "a.onnx"));
    REQUIRE(agent_spec_parse("random", &sp) == NRPS_OK);
    CHECK(sp.kind == AGENT_RANDOM && !strcmp(sp.text, "random"));
    REQUIRE(agent_spec_parse("greedy", &sp) == NRPS_OK && sp.kind == AGENT_GREEDY);
    REQUIRE(agent_spec_parse("solver", &sp) == NRPS_OK && sp.kind == AGENT_SOLVER);

    expect_spec_error("", "expected random, greedy");
    expect_spec_error("alphazero", "expected random, greedy");
    expect_spec_error("mcts:0", "PLAYOUTS must be an integer");
    expect_spec_error("mcts:abc", "PLAYOUTS must be an integer");
    expect_spec_error("mcts:100:-1", "CPUCT must be a number > 0");
    expect_spec_error("random:5", "only mcts and mcts-net take ':PLAYOUTS'");
    expect_spec_error("mcts:100,cpuct", "options must be key=value");
    expect_spec_error("mcts:100,speed=3", "unknown option");
    expect_spec_error("mcts:100,batch=0", "batch= expects an integer");
    expect_spec_error("mcts:100,noise=2", "noise= expects a weight");
    expect_spec_error("greedy,cpuct=1", "unknown option for this agent");
    expect_spec_error("random,policy=x.onnx", "only mcts, mcts-net and net take network files");
    expect_spec_error("net,value=x.onnx", "net uses only a policy network");
    expect_spec_error("mcts:100,policy=", "policy= expects a file name");
}

static int legal_game_ok(const char *sa, const char *sb, uint64_t seed) {
    agent_spec a, b;
    if (agent_spec_parse(sa, &a) || agent_spec_parse(sb, &b)) return 0;
    agent *x = agent_create(&a, seed), *y = agent_create(&b, seed + 1);
    int ok = x && y;
    for (int g = 0; ok && g < 6; g++) {
        rps_config c = rps_config_standard();
        nrps_rng r;
        nrps_rng_seed(&r, seed * 100 + g);
        rps_state s;
        rps_state_deal(&s, &c, &r);
        arena_game gm;
        double secs[2] = {0, 0};
        ok = arena_play_game(x, y, &s, &gm, secs) == NRPS_OK && gm.nmoves == 9 &&
             gm.score_p1 + gm.score_p2 == 9 && gm.winner != RPS_NONE;
    }
    agent_destroy(x);
    agent_destroy(y);
    return ok;
}

static void test_agents_play_legal_games(void) {
    CHECK(legal_game_ok("random", "greedy", 1));
    CHECK(legal_game_ok("mcts:50", "random", 2));
    CHECK(legal_game_ok("mcts:50,batch=4,reuse=1", "mcts:30,noise=0.25,temp=1,tplies=3", 3));
    CHECK(legal_game_ok("solver", "greedy", 4));
}

static void test_greedy_captures_most(void) {
    rps_config c = rps_config_standard();
    const int8_t p1[5] = {0, 0, 1, 2, 2}, p2[5] = {2, 2, 0, 1, 1};
    rps_state s;
    REQUIRE(rps_state_from_hands(&s, &c, p1, 5, p2, 5) == NRPS_OK);
    /* P1 paper at 8; P2 scissors at 1 and 3 (around 0 and 4); P1 ... build: 1 and 3 scissors owned by P2 */
    rps_state_apply(&s, (rps_move){2, 8}); /* P1 paper at 8 */
    rps_state_apply(&s, (rps_move){0, 1}); /* P2 scissors at 1 */
    rps_state_apply(&s, (rps_move){3, 6}); /* P1 scissors at 6 */
    rps_state_apply(&s, (rps_move){0, 3}); /* P2 scissors at 3 */
    /* P1 (R,R,S) to move: rock at 0 captures both scissors (2), rock at 4 also captures 1 and 3 (2) */
    CHECK(agent_captures(&s, RPS_ROCK, 0) == 2 && agent_captures(&s, RPS_ROCK, 4) == 2);
    CHECK(agent_captures(&s, RPS_SCISSORS, 0) == 0);
    agent_spec sp;
    REQUIRE(agent_spec_parse("greedy", &sp) == NRPS_OK);
    agent *g = agent_create(&sp, 5);
    REQUIRE(g);
    int seen0 = 0, seen4 = 0;
    for (int i = 0; i < 40; i++) {
        agent_new_game(g, (uint64_t)i);
        rps_move mv;
        REQUIRE(agent_select_move(g, &s, &mv) == NRPS_OK);
        CHECK(s.hand[RPS_P1][mv.card] == RPS_ROCK && (mv.pos == 0 || mv.pos == 4));
        seen0 += mv.pos == 0;
        seen4 += mv.pos == 4;
    }
    CHECK(seen0 > 0 && seen4 > 0); /* ties broken at random */
    agent_destroy(g);
}

/* Writes the fixture pair (original Go models) as ONNX into dir; returns 1 on success. */
static int write_fixture_onnx(const char *dir, char *pol, char *val, size_t n) {
    nn_net p = {0}, v = {0};
    int ok = 0;
    snprintf(pol, n, "%s/rps_policy.onnx", dir);
    snprintf(val, n, "%s/rps_value.onnx", dir);
    if (onnx_net_import_go("tests/fixtures/rps_h64_g100_e1_policy.model", NULL, &p) != NRPS_OK) goto out;
    if (onnx_net_import_go("tests/fixtures/rps_h64_g100_e1_value.model", NULL, &v) != NRPS_OK) goto out;
    if (onnx_net_save(pol, &p, NULL) != NRPS_OK || onnx_net_save(val, &v, NULL) != NRPS_OK) goto out;
    ok = 1;
out:
    if (!ok) fprintf(stderr, "  fixture: %s\n", nrps_last_error());
    nn_free(&p);
    nn_free(&v);
    return ok;
}

static void test_network_evaluator_and_agents(void) {
    char dir[] = "/tmp/nrps_test_arena_XXXXXX", pol[256], val[256];
    REQUIRE(mkdtemp(dir));
    REQUIRE(write_fixture_onnx(dir, pol, val, sizeof pol));
    eval_net_spec es = {.policy_path = pol, .value_path = val, .opt = be_options_default()};
    eval_net *e = eval_net_open(&es, 16);
    REQUIRE(e);
    const mcts_evaluator *ev = eval_net_evaluator(e);
    CHECK(ev->max_batch == 16);
    /* batch evaluation equals the reference forward one state at a time */
    nn_net p = {0}, v = {0};
    REQUIRE(onnx_net_load(pol, &p, NULL) == NRPS_OK && onnx_net_load(val, &v, NULL) == NRPS_OK);
    rps_state st[16];
    rps_config c = rps_config_standard();
    nrps_rng r;
    nrps_rng_seed(&r, 4);
    for (int i = 0; i < 16; i++) {
        rps_state_deal(&st[i], &c, &r);
        for (int k = 0; k < i % 8; k++) {
            rps_move mv[RPS_MAX_MOVES];
            int n = rps_state_legal_moves(&st[i], mv);
            rps_state_apply(&st[i], mv[nrps_rng_below(&r, (uint32_t)n)]);
        }
    }
    float pb[16 * 9], vb[16];
    REQUIRE(ev->evaluate(ev->ctx, st, 16, pb, vb) == NRPS_OK);
    for (int i = 0; i < 16; i++) {
        float x[81], py[9], vy[1], sum = 0;
        rps_state_encode(&st[i], x);
        float *pys[1] = {py}, *vys[1] = {vy};
        REQUIRE(nn_forward(&p, x, 1, pys, NULL) == NRPS_OK && nn_forward(&v, x, 1, vys, NULL) == NRPS_OK);
        for (int k = 0; k < 9; k++) {
            CHECK_NEAR(pb[i * 9 + k], py[k], 1e-6);
            sum += pb[i * 9 + k];
        }
        CHECK_NEAR(sum, 1.0, 1e-5);
        CHECK_NEAR(vb[i], vy[0], 1e-6);
        CHECK(vb[i] >= 0 && vb[i] <= 1);
    }
    /* the net agent: argmax over legal positions */
    char spec[600];
    snprintf(spec, sizeof spec, "net,policy=%s", pol);
    agent_spec sp;
    REQUIRE(agent_spec_parse(spec, &sp) == NRPS_OK);
    agent *na = agent_create(&sp, 1);
    REQUIRE(na);
    for (int i = 0; i < 16; i++) {
        rps_move mv;
        REQUIRE(agent_select_move(na, &st[i], &mv) == NRPS_OK);
        CHECK(rps_state_is_legal(&st[i], mv));
        float x[81], py[9];
        float *pys[1] = {py};
        rps_state_encode(&st[i], x);
        nn_forward(&p, x, 1, pys, NULL);
        for (int k = 0; k < 9; k++)
            if (st[i].board[k].owner == RPS_NONE) CHECK(py[k] <= py[mv.pos]);
        int me = st[i].to_move, cap = agent_captures(&st[i], st[i].hand[me][mv.card], mv.pos);
        for (int k = 0; k < st[i].hand_len[me]; k++) {
            int ck = agent_captures(&st[i], st[i].hand[me][k], mv.pos);
            CHECK(ck < cap || (ck == cap && k >= mv.card));
        }
    }
    agent_destroy(na);
    /* mcts-net plays legal games, batched too */
    char s1[600], s2[600];
    snprintf(s1, sizeof s1, "mcts-net:40,nets=%s", dir);
    snprintf(s2, sizeof s2, "mcts:40,batch=8,policy=%s,value=%s", pol, val);
    CHECK(legal_game_ok(s1, "random", 7));
    CHECK(legal_game_ok(s2, "greedy", 8));
    /* missing files fail with a message naming the file */
    REQUIRE(agent_spec_parse("mcts-net:10,nets=/nonexistent_dir", &sp) == NRPS_OK);
    CHECK(agent_create(&sp, 1) == NULL);
    CHECK(strstr(nrps_last_error(), "/nonexistent_dir/rps_policy.onnx") != NULL);
    /* a policy file given as the value network is refused */
    snprintf(spec, sizeof spec, "mcts-net:10,policy=%s,value=%s", pol, pol);
    REQUIRE(agent_spec_parse(spec, &sp) == NRPS_OK);
    CHECK(agent_create(&sp, 1) == NULL);
    CHECK(strstr(nrps_last_error(), "value network") != NULL);
    nn_free(&p);
    nn_free(&v);
    eval_net_destroy(e);
    unlink(pol);
    unlink(val);
    rmdir(dir);
}

static void same_results(const arena_result *x, const arena_result *y, long games) {
    CHECK(x->games == y->games && x->a_wins == y->a_wins && x->draws == y->draws && x->b_wins == y->b_wins);
    for (long g = 0; g < games; g++) {
        CHECK(x->log[g].a_seat == y->log[g].a_seat && x->log[g].nmoves == y->log[g].nmoves);
        CHECK(memcmp(x->log[g].moves, y->log[g].moves, sizeof x->log[g].moves) == 0);
    }
}

/* The default models on native-ref, native-cpu and ort-cpu play the very same games (same seed), through
 * backend=; the keys net= and backend= parse and check their values. */
static void test_same_games_on_every_backend(void) {
    const char *backends[3] = {"native-ref", "native-cpu", "ort-cpu"};
    arena_result r[3];
    memset(r, 0, sizeof r);
    if (access("models/rps_policy.onnx", R_OK) != 0) SKIP("models/rps_policy.onnx not found (run from the repo root)");
    for (int i = 0; i < 3; i++) {
        arena_config cfg;
        memset(&cfg, 0, sizeof cfg);
        char spec[200];
        snprintf(spec, sizeof spec, "mcts-net:60,nets=models,backend=%s", backends[i]);
        REQUIRE(agent_spec_parse(spec, &cfg.a) == NRPS_OK);
        CHECK(!strcmp(cfg.a.backend, backends[i]));
        REQUIRE(agent_spec_parse("mcts:60", &cfg.b) == NRPS_OK);
        cfg.game = rps_config_standard();
        cfg.games = 16;
        cfg.seed = 5;
        cfg.threads = 2;
        cfg.keep_games = 1;
        REQUIRE(arena_run(&cfg, &r[i]) == NRPS_OK);
        if (i > 0) same_results(&r[0], &r[i], 16);
    }
    for (int i = 0; i < 3; i++) arena_result_free(&r[i]);
    agent_spec sp;
    CHECK(agent_spec_parse("mcts-net:10,backend=tpu", &sp) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "backend= expects one of native-ref, ort-cpu, native-cpu") != NULL);
    CHECK(strstr(nrps_last_error(), "got 'tpu'") != NULL);
    CHECK(agent_spec_parse("mcts-net:10,net=a.onnx,policy=b.onnx", &sp) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "net= (one two-headed file) excludes") != NULL);
    REQUIRE(agent_spec_parse("mcts:10,net=x.onnx", &sp) == NRPS_OK);
    CHECK(sp.kind == AGENT_MCTS_NET && !strcmp(sp.net_path, "x.onnx") && sp.backend[0] == 0);
    CHECK(agent_spec_parse("greedy,backend=ort-cpu", &sp) == NRPS_ERR_ARG);
    /* a one-head policy file given as a two-headed net is refused, naming the file and the missing head */
    REQUIRE(agent_spec_parse("mcts-net:10,net=models/rps_policy.onnx", &sp) == NRPS_OK);
    CHECK(agent_create(&sp, 1) == NULL);
    CHECK(strstr(nrps_last_error(), "models/rps_policy.onnx: not a game value network") != NULL);
}

static void test_arena_pairing_and_threads(void) {
    arena_config cfg;
    memset(&cfg, 0, sizeof cfg);
    REQUIRE(agent_spec_parse("mcts:40", &cfg.a) == NRPS_OK);
    REQUIRE(agent_spec_parse("greedy", &cfg.b) == NRPS_OK);
    cfg.game = rps_config_standard();
    cfg.games = 24;
    cfg.seed = 42;
    cfg.threads = 1;
    cfg.keep_games = 1;
    arena_result r1, r2, r3;
    REQUIRE(arena_run(&cfg, &r1) == NRPS_OK);
    cfg.threads = 2;
    REQUIRE(arena_run(&cfg, &r2) == NRPS_OK);
    cfg.threads = 3;
    REQUIRE(arena_run(&cfg, &r3) == NRPS_OK);
    CHECK(r1.games == 24 && r1.a_wins + r1.draws + r1.b_wins == 24);
    same_results(&r1, &r2, 24);
    same_results(&r1, &r3, 24);
    for (long g = 0; g < 24; g += 2) {
        const arena_game *x = &r1.log[g], *y = &r1.log[g + 1];
        CHECK(x->a_seat == RPS_P1 && y->a_seat == RPS_P2);
        CHECK(memcmp(x->p1_hand, y->p1_hand, 5) == 0 && memcmp(x->p2_hand, y->p2_hand, 5) == 0);
        if (g + 2 < 24) CHECK(memcmp(x->p1_hand, r1.log[g + 2].p1_hand, 5) || memcmp(x->p2_hand, r1.log[g + 2].p2_hand, 5));
    }
    CHECK(r1.a_games_as_p1 == 12 && r1.a_games_as_p2 == 12);
    CHECK_NEAR(r1.score, (r1.a_wins + 0.5 * r1.draws) / 24.0, 1e-12);
    CHECK(r1.score_lo <= r1.score && r1.score <= r1.score_hi);
    /* a different seed gives different deals */
    cfg.seed = 43;
    cfg.threads = 1;
    arena_result r4;
    REQUIRE(arena_run(&cfg, &r4) == NRPS_OK);
    CHECK(memcmp(r4.log[0].p1_hand, r1.log[0].p1_hand, 5) || memcmp(r4.log[0].p2_hand, r1.log[0].p2_hand, 5) ||
          memcmp(r4.log[2].p1_hand, r1.log[2].p1_hand, 5));
    /* records: one JSON line per game */
    char path[] = "/tmp/nrps_test_records_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(arena_record_write(path, &cfg, &r4) == NRPS_OK);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        CHECK(strstr(line, "\"moves\":[[") != NULL && strstr(line, "\"winner\":") != NULL);
        rps_record rec;
        CHECK_MSG(rps_record_parse(line, &rec) == NRPS_OK, "%s", nrps_last_error()); /* the project's format */
        if (lines == 1) CHECK(strstr(line, "\"p1\":\"mcts:40\",\"p2\":\"greedy\"") != NULL);
        if (lines == 2) CHECK(strstr(line, "\"p1\":\"greedy\",\"p2\":\"mcts:40\"") != NULL);
    }
    fclose(f);
    CHECK(lines == 24);
    unlink(path);
    arena_result_free(&r1);
    arena_result_free(&r2);
    arena_result_free(&r3);
    arena_result_free(&r4);
    /* bad agents fail cleanly */
    cfg.games = 2;
    REQUIRE(agent_spec_parse("net,policy=/nonexistent.onnx", &cfg.a) == NRPS_OK);
    arena_result r5;
    CHECK(arena_run(&cfg, &r5) != NRPS_OK);
    CHECK(strstr(nrps_last_error(), "/nonexistent.onnx") != NULL);
    arena_result_free(&r5);
}

/* mcts:200 clearly beats random and greedy beats random (small matches; margins are large). */
static void test_strength_ordering(void) {
    arena_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.game = rps_config_standard();
    cfg.games = 100;
    cfg.seed = 7;
    cfg.threads = 1;
    arena_result r;
    REQUIRE(agent_spec_parse("mcts:200", &cfg.a) == NRPS_OK && agent_spec_parse("random", &cfg.b) == NRPS_OK);
    REQUIRE(arena_run(&cfg, &r) == NRPS_OK);
    CHECK_MSG(r.score_lo > 0.8, "mcts:200 vs random score %g [%g, %g]", r.score, r.score_lo, r.score_hi);
    REQUIRE(agent_spec_parse("greedy", &cfg.a) == NRPS_OK);
    REQUIRE(arena_run(&cfg, &r) == NRPS_OK);
    CHECK_MSG(r.score_lo > 0.6, "greedy vs random score %g [%g, %g]", r.score, r.score_lo, r.score_hi);
}

/* The solver agent never does worse than the exact value of the deal from its seat. */
static void test_solver_agent_is_exact(void) {
    arena_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.game = rps_config_standard();
    cfg.games = 40;
    cfg.seed = 11;
    cfg.threads = 1;
    cfg.keep_games = 1;
    REQUIRE(agent_spec_parse("solver", &cfg.a) == NRPS_OK && agent_spec_parse("mcts:100", &cfg.b) == NRPS_OK);
    arena_result r;
    REQUIRE(arena_run(&cfg, &r) == NRPS_OK);
    rps_solver *sv = rps_solver_create(18);
    REQUIRE(sv);
    for (long g = 0; g < r.games; g++) {
        const arena_game *gm = &r.log[g];
        rps_state s;
        REQUIRE(rps_state_from_hands(&s, &cfg.game, gm->p1_hand, 5, gm->p2_hand, 5) == NRPS_OK);
        int res_p1 = rps_solver_result(sv, &s); /* for Player1, who moves first */
        int want = gm->a_seat == RPS_P1 ? res_p1 : -res_p1;
        int got = gm->winner == RPS_NONE ? 0 : gm->winner == gm->a_seat ? 1 : -1;
        CHECK_MSG(got >= want, "game %ld: solver got %d, exact value %d", g, got, want);
    }
    rps_solver_destroy(sv);
    arena_result_free(&r);
}

int main(void) {
    RUN(test_wilson_elo_known_values);
    RUN(test_spec_parsing);
    RUN(test_agents_play_legal_games);
    RUN(test_greedy_captures_most);
    RUN(test_network_evaluator_and_agents);
    RUN(test_arena_pairing_and_threads);
    RUN(test_same_games_on_every_backend);
    RUN(test_strength_ordering);
    RUN(test_solver_agent_is_exact);
    return check_summary("arena");
}
