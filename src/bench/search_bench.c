/* search_bench.c - see search_bench.h. */
#include "bench/search_bench.h"
#include "util/textwrap.h"

#include <stdlib.h>
#include <string.h>

#include "search/eval_incremental.h"
#include "search/eval_net.h"
#include "search/mcts.h"

static nrps_status timed_evaluate(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    bench_timed_eval *t = ctx;
    uint64_t t0 = nrps_now_ns();
    nrps_status st = t->inner->evaluate(t->inner->ctx, states, n, policy, value);
    t->ns += nrps_now_ns() - t0;
    return st;
}

static nrps_status timed_evaluate_from(void *ctx, const rps_state *states, const uint32_t *from, uint32_t *ids, int n,
                                       float *policy, float *value) {
    bench_timed_eval *t = ctx;
    uint64_t t0 = nrps_now_ns();
    nrps_status st = t->inner->evaluate_from(t->inner->ctx, states, from, ids, n, policy, value);
    t->ns += nrps_now_ns() - t0;
    return st;
}

mcts_evaluator bench_timed_evaluator(bench_timed_eval *t) {
    return (mcts_evaluator){.ctx = t, .evaluate = timed_evaluate,
                            .evaluate_from = t->inner->evaluate_from ? timed_evaluate_from : NULL,
                            .max_batch = t->inner->max_batch, .name = "timed net"};
}

/* One game; appends per-move latencies to lat (if not NULL) and the moves to moves[RPS_MAX_PLIES]. */
static nrps_status play_game(mcts *m, const mcts_evaluator *ev, uint64_t deal_seed, double *lat, long *nlat,
                             rps_move *moves, long *calls, long *states, long *playouts) {
    rps_config cfg = rps_config_standard();
    nrps_rng rng;
    nrps_rng_seed(&rng, deal_seed);
    rps_state s;
    rps_state_deal(&s, &cfg, &rng);
    int ply = 0;
    for (int i = 0; i < RPS_MAX_PLIES; i++) moves[i] = (rps_move){.card = -1, .pos = -1};
    while (!rps_state_is_over(&s) && ply < RPS_MAX_PLIES) {
        if (nrps_interrupted) return NRPS_ERR_INTERRUPTED;
        mcts_result res;
        mcts_reset(m);
        uint64_t t0 = nrps_now_ns();
        nrps_status st = mcts_search_run(m, &s, ev, &rng, &res);
        uint64_t dt = nrps_now_ns() - t0;
        if (st != NRPS_OK) return st;
        if (lat) lat[(*nlat)++] = (double)dt * 1e-3;
        *calls += res.eval_calls;
        *states += res.eval_states;
        *playouts += res.playouts;
        moves[ply++] = res.move;
        if ((st = rps_state_apply(&s, res.move)) != NRPS_OK) return st;
    }
    return NRPS_OK;
}

/* The row's games with evaluator inner (row->backend, playouts, batch and eval already set). */
static nrps_status search_games(const mcts_evaluator *inner, int games, uint64_t seed, rps_move *moves_out,
                                bench_search_row *row) {
    mcts_config mc = mcts_config_default();
    mc.playouts = row->playouts;
    mc.batch = row->batch;
    mcts *m = mcts_create(&mc);
    double *lat = malloc((size_t)games * RPS_MAX_PLIES * sizeof *lat);
    rps_move warm_moves[RPS_MAX_PLIES];
    nrps_status st = NRPS_ERR_NOMEM;
    if (!m || !lat) {
        if (m) nrps_set_error("search benchmark: out of memory");
        goto cleanup;
    }
    bench_timed_eval te = {.inner = inner};
    mcts_evaluator ev = bench_timed_evaluator(&te);
    ev.max_batch = row->batch;
    long calls = 0, states = 0, pl = 0, nlat = 0;
    /* warm-up: one whole game on another deal, not measured */
    st = play_game(m, &ev, seed ^ 0x5eed5eedULL, NULL, &nlat, warm_moves, &calls, &states, &pl);
    if (st == NRPS_ERR_INTERRUPTED) { /* Ctrl-C before anything was measured: an empty row, marked interrupted */
        row->interrupted = 1;
        st = NRPS_OK;
        goto cleanup;
    }
    if (st != NRPS_OK) goto cleanup;
    calls = states = pl = 0;
    te.ns = 0;
    uint64_t t0 = nrps_now_ns();
    rps_move scratch[RPS_MAX_PLIES];
    for (int g = 0; g < games; g++) {
        st = play_game(m, &ev, seed + (uint64_t)g, lat, &nlat, moves_out ? moves_out + (size_t)g * RPS_MAX_PLIES : scratch,
                       &calls, &states, &pl);
        if (st == NRPS_ERR_INTERRUPTED) {
            row->interrupted = 1;
            st = NRPS_OK;
            break;
        }
        if (st != NRPS_OK) goto cleanup;
        row->games++;
    }
    row->total_s = (double)(nrps_now_ns() - t0) * 1e-9;
    row->moves = nlat;
    row->eval_calls = calls;
    row->eval_states = states;
    if (nlat > 0) {
        double search_s = 0;
        for (long i = 0; i < nlat; i++) search_s += lat[i] * 1e-6;
        if ((st = stats_compute(lat, nlat, &row->move_us)) != NRPS_OK) goto cleanup;
        row->playouts_per_s = search_s > 0 ? (double)pl / search_s : 0;
        row->evals_per_s = search_s > 0 ? (double)states / search_s : 0;
        row->mean_batch = calls ? (double)states / (double)calls : 0;
        row->eval_share = search_s > 0 ? (double)te.ns * 1e-9 / search_s : 0;
    }
    st = NRPS_OK;
cleanup:
    free(lat);
    mcts_destroy(m);
    return st;
}

/* Row fields every run sets; NRPS_ERR_ARG when the sizes are out of range. */
static nrps_status row_init(bench_search_row *row, const char *backend, const char *eval, int playouts, int batch,
                            int games) {
    memset(row, 0, sizeof *row);
    snprintf(row->backend, sizeof row->backend, "%s", backend);
    snprintf(row->eval, sizeof row->eval, "%s", eval);
    row->playouts = playouts;
    row->batch = batch;
    row->same_games = -1;
    if (games >= 1 && playouts >= 1 && batch >= 1 && batch <= 65536) return NRPS_OK;
    nrps_set_error("search benchmark: need games >= 1, playouts >= 1 and 1 <= batch <= the backends' max batch");
    return NRPS_ERR_ARG;
}

nrps_status bench_search_run(be_backend *policy, rps_encoding penc, be_backend *value, rps_encoding venc, int playouts,
                             int batch, int games, uint64_t seed, rps_move *moves_out, bench_search_row *row) {
    nrps_status st = row_init(row, be_name(policy), "full", playouts, batch, games);
    if (st != NRPS_OK) return st;
    if (batch > be_max_batch(policy) || batch > be_max_batch(value)) {
        nrps_set_error("search benchmark: need games >= 1, playouts >= 1 and 1 <= batch <= the backends' max batch");
        return NRPS_ERR_ARG;
    }
    eval_net *en = eval_net_create(policy, penc, value, venc, batch);
    if (!en) return NRPS_ERR_NOMEM;
    st = search_games(eval_net_evaluator(en), games, seed, moves_out, row);
    eval_net_destroy(en);
    return st;
}

nrps_status bench_search_run_incremental(const nn_net *policy, rps_encoding penc, const nn_net *value,
                                         rps_encoding venc, int playouts, int batch, int games, uint64_t seed,
                                         rps_move *moves_out, bench_search_row *row) {
    nrps_status st = row_init(row, "native-cpu", "incremental", playouts, batch, games);
    if (st != NRPS_OK) return st;
    eval_incr_nets nets = {.policy = policy, .value = value, .penc = penc, .venc = venc};
    eval_incr *ei = eval_incr_create(&nets, batch, eval_incr_slots_for(playouts));
    if (!ei) return NRPS_ERR_ARG;
    st = search_games(eval_incr_evaluator(ei), games, seed, moves_out, row);
    eval_incr_destroy(ei);
    return st;
}

long bench_search_same_games(const rps_move *a, const rps_move *b, int games) {
    long same = 0;
    for (int g = 0; g < games; g++) {
        int eq = 1;
        for (int i = 0; i < RPS_MAX_PLIES; i++) {
            const rps_move *x = &a[(size_t)g * RPS_MAX_PLIES + i], *y = &b[(size_t)g * RPS_MAX_PLIES + i];
            if (x->card != y->card || x->pos != y->pos) eq = 0;
        }
        same += eq;
    }
    return same;
}

const char *bench_search_label(const bench_search_row *row) {
    return strcmp(row->eval, "incremental") ? row->backend : "native-incr";
}

void bench_report_search_text(FILE *f, const bench_search_row *rows, int n, int wide) {
    if (n <= 0) return;
    int width = nrps_term_width(f);
    fprintf(f, "\n");
    nrps_wrapf(f, width, 2, "Inside MCTS search (self-play games, %d playout%s per move, fresh tree per move, no noise; "
                            "one timed call = one whole search)", rows[0].playouts, rows[0].playouts == 1 ? "" : "s");
    if (wide)
        fprintf(f, "%-12s %-12s %5s %5s %6s %10s %10s %10s %10s %10s %12s %11s %10s %6s  %s\n", "backend", "nets",
                "batch", "games", "moves", "mean_us", "p50_us", "p90_us", "p99_us", "max_us", "playouts/s", "evals/s",
                "avg_batch", "eval%", "same games");
    else
        fprintf(f, "%-12s %-12s %5s %5s %5s %9s %9s %10s %5s %s\n", "backend", "nets", "batch", "games", "moves",
                "p50_us", "p99_us", "playouts/s", "eval%", "same games");
    for (int i = 0; i < n; i++) {
        const bench_search_row *r = &rows[i];
        if (r->moves < 1) {
            if (r->interrupted)
                fprintf(f, "%-12s %-12s %5d  (interrupted in the warm-up game: nothing measured)\n",
                        bench_search_label(r), r->nets, r->batch);
            continue;
        }
        char same[64];
        if (r->same_games < 0) snprintf(same, sizeof same, "reference");
        else snprintf(same, sizeof same, "%ld/%ld as %s", r->same_games, r->games, r->reference);
        if (wide)
            fprintf(f,
                    "%-12s %-12s %5d %5ld %6ld %10.1f %10.1f %10.1f %10.1f %10.1f %12.0f %11.0f %10.2f %5.1f%%  %s%s\n",
                    bench_search_label(r), r->nets, r->batch, r->games, r->moves, r->move_us.mean, r->move_us.p50,
                    r->move_us.p90, r->move_us.p99, r->move_us.max, r->playouts_per_s, r->evals_per_s, r->mean_batch,
                    100 * r->eval_share, same, r->interrupted ? " (interrupted)" : "");
        else
            fprintf(f, "%-12s %-12s %5d %5ld %5ld %9.1f %9.1f %10.0f %4.0f%% %s%s\n", bench_search_label(r), r->nets,
                    r->batch, r->games, r->moves, r->move_us.p50, r->move_us.p99, r->playouts_per_s,
                    100 * r->eval_share, same, r->interrupted ? " (interrupted)" : "");
    }
    if (!wide) nrps_wrapf(f, width, 2, "  (times per move in us; eval%% = share of the search time in network calls; "
                                      "--wide or --json: mean, p90, max, evals/s, mean evaluation batch)");
    /* ratios between backends at the same batch, from the rows above */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const bench_search_row *a = &rows[i], *b = &rows[j];
            if (a->batch != b->batch || strcmp(a->nets, b->nets) || a->moves < 1 || b->moves < 1 || !a->move_us.p50 ||
                !b->move_us.p50)
                continue;
            double r = b->move_us.p50 / a->move_us.p50;
            nrps_wrapf(f, width, 6, "  %s, batch %d: %s searches %.2f times %s than %s (p50 per move %.1f us vs %.1f us)",
                       a->nets, a->batch, bench_search_label(a), r >= 1 ? r : 1 / r, r >= 1 ? "faster" : "slower",
                       bench_search_label(b), a->move_us.p50, b->move_us.p50);
        }
}
