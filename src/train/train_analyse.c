/* train_analyse.c - `train --analyse`: a trained policy/value pair (or two-headed network) against the exact solver
 * on positions of held-out self-play games (see train.h). */
#include <string.h>
#include <unistd.h>

#include "search/eval_net.h"
#include "search/solver.h"
#include "train/selfplay.h"
#include "train/train.h"

void train_analyse_config_default(train_analyse_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->nets_dir, sizeof c->nets_dir, "models");
    c->game = rps_config_standard();
    c->positions = 2000;
    c->seed = 12345;
    c->playouts = 100;
    c->mcts_batch = 4;
    c->c_puct = 1.5;
    c->dirichlet_alpha = 0.3;
    c->dirichlet_weight = 0.25;
    c->temperature = 1.0;
    c->temperature_plies = 4;
    snprintf(c->backend, sizeof c->backend, "%s", SELFPLAY_DEFAULT_BACKEND);
}

/* The networks of DIR as an evaluator on backend: DIR/rps_policy.onnx + DIR/rps_value.onnx, or DIR/rps_net.onnx
 * (one two-headed network) when the pair is absent. max_batch: the evaluator's batch. */
static eval_net *open_dir_nets(const char *dir, const char *backend, int max_batch) {
    char p[2100], v[2100], n[2100];
    snprintf(p, sizeof p, "%s/rps_policy.onnx", dir);
    snprintf(v, sizeof v, "%s/rps_value.onnx", dir);
    snprintf(n, sizeof n, "%s/rps_net.onnx", dir);
    eval_net_spec es = {.backend = backend, .opt = be_options_default()};
    if (access(p, F_OK) != 0 && access(n, F_OK) == 0) es.net_path = n;
    else es.policy_path = p, es.value_path = v;
    return eval_net_open(&es, max_batch);
}

static mcts_config analyse_mcts_config(const train_analyse_config *cfg) {
    mcts_config mc = mcts_config_default();
    mc.playouts = cfg->playouts;
    mc.batch = cfg->mcts_batch;
    mc.c_puct = cfg->c_puct;
    mc.dirichlet_alpha = cfg->dirichlet_alpha;
    mc.dirichlet_weight = cfg->dirichlet_weight;
    mc.temperature = cfg->temperature;
    mc.temperature_plies = cfg->temperature_plies;
    mc.reuse_tree = 1;
    return mc;
}

/* Scores position s (at least two empty cells) against the solver into res. */
static nrps_status analyse_position(rps_solver *sv, eval_net *an, const rps_state *s, train_analysis *res) {
    int legal[RPS_CELLS] = {0}, nl = 0;
    for (int c = 0; c < RPS_CELLS; c++)
        if (s->board[c].owner == RPS_NONE) legal[c] = 1, nl++;
    rps_solve_info info;
    nrps_status rc = rps_solver_analyse(sv, s, &info);
    if (rc != NRPS_OK) return rc;
    int pos_m[RPS_CELLS] = {0}, pos_r[RPS_CELLS] = {0};
    for (int k = 0; k < info.n_moves; k++) {
        if (info.moves[k].optimal) pos_m[info.moves[k].move.pos] = 1;
        if (info.moves[k].result == info.result) pos_r[info.moves[k].move.pos] = 1;
    }
    float py[RPS_POLICY_SIZE], v;
    if ((rc = eval_net_one(an, s, py, &v)) != NRPS_OK) return rc;
    int top = -1, nm = 0, nr = 0;
    for (int c = 0; c < RPS_CELLS; c++) {
        if (legal[c] && (top < 0 || py[c] > py[top])) top = c;
        nm += legal[c] && pos_m[c];
        nr += legal[c] && pos_r[c];
    }
    res->positions++;
    res->policy_margin_opt += pos_m[top];
    res->policy_result_opt += pos_r[top];
    res->random_margin_opt += (double)nm / nl;
    res->random_result_opt += (double)nr / nl;
    if (nr < nl) {
        res->decisive++;
        res->decisive_result_opt += pos_r[top];
        res->random_decisive_result_opt += (double)nr / nl;
    }
    int pred = v > 0.5 ? 1 : v < 0.5 ? -1 : 0;
    res->value_correct += pred == info.result;
    res->value_win_positions += info.result > 0;
    double exact = info.result > 0 ? 1.0 : info.result < 0 ? 0.0 : 0.5;
    res->value_mse += (v - exact) * (v - exact);
    return NRPS_OK;
}

/* Sums to means. */
static void analyse_finish(train_analysis *res) {
    if (res->positions > 0) {
        res->random_margin_opt /= res->positions;
        res->random_result_opt /= res->positions;
        res->value_mse /= res->positions;
    }
    if (res->decisive > 0) res->random_decisive_result_opt /= res->decisive;
}

nrps_status train_analyse(const train_analyse_config *cfg, train_analysis *res) {
    memset(res, 0, sizeof *res);
    eval_net *an = NULL, *ne = NULL;
    mcts *m = NULL;
    rps_solver *sv = NULL;
    nrps_status rc = NRPS_OK;
    double t0 = nrps_now_s();
    if (cfg->positions < 1) {
        nrps_set_error("--positions must be >= 1, got %ld", cfg->positions);
        return NRPS_ERR_ARG;
    }
    const char *src = cfg->source_dir[0] ? cfg->source_dir : cfg->nets_dir;
    const char *backend = cfg->backend[0] ? cfg->backend : NULL;
    mcts_config mc = analyse_mcts_config(cfg);
    rps_encoding senc = RPS_ENC_BOARD;
    if (!(an = open_dir_nets(cfg->nets_dir, backend, 1)) || !(ne = open_dir_nets(src, backend, mc.batch)) ||
        (rc = eval_net_encoding(ne, &senc)) != NRPS_OK) {
        rc = rc != NRPS_OK ? rc : NRPS_ERR_UNSUPPORTED;
        goto cleanup;
    }
    if (!(m = mcts_create(&mc)) || !(sv = rps_solver_create(0))) {
        rc = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    for (long g = 0; res->positions < cfg->positions; g++) {
        sp_sample smp[RPS_MAX_PLIES];
        rps_state st[RPS_MAX_PLIES];
        int n = 0, w = 0;
        if (nrps_interrupted) {
            rc = NRPS_ERR_INTERRUPTED;
            goto cleanup;
        }
        uint64_t gs = selfplay_game_seed(cfg->seed, -1, g);
        if ((rc = selfplay_game(m, eval_net_evaluator(ne), &cfg->game, senc, gs, 0, smp, st, &n, &w, NULL)) != NRPS_OK)
            goto cleanup;
        res->games++;
        for (int i = 0; i < n && res->positions < cfg->positions; i++) {
            int empty = 0;
            for (int c = 0; c < RPS_CELLS; c++) empty += st[i].board[c].owner == RPS_NONE;
            if (empty >= 2 && (rc = analyse_position(sv, an, &st[i], res)) != NRPS_OK) goto cleanup;
        }
    }
cleanup:
    if (rc == NRPS_OK || rc == NRPS_ERR_INTERRUPTED) { /* SIGINT (here or inside a game): what was analysed */
        analyse_finish(res);
        res->seconds = nrps_now_s() - t0;
    }
    if (rc == NRPS_ERR_INTERRUPTED) {
        res->interrupted = 1;
        nrps_set_error("analyse: interrupted after %ld of %ld positions", res->positions, cfg->positions);
    }
    rps_solver_destroy(sv);
    mcts_destroy(m);
    eval_net_destroy(an);
    eval_net_destroy(ne);
    return rc;
}
