/* search_bench.c - see search_bench.h. */
#include "bench/search_bench.h"
#include "util/textwrap.h"

#include <stdlib.h>
#include <string.h>

#include "search/eval_incremental.h"
#include "search/eval_net.h"
#include "search/eval_service.h"
#include "search/mcts.h"

/* Adds a call's wall time (from t0) to t: the sum, and the sample when t keeps them and has room. */
static void timed_add(bench_timed_eval *t, uint64_t t0) {
    uint64_t dt = nrps_now_ns() - t0;
    t->ns += dt;
    if (t->call_us && t->n_calls < t->cap_calls) t->call_us[t->n_calls++] = (double)dt * 1e-3;
}

static nrps_status timed_evaluate(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    bench_timed_eval *t = ctx;
    uint64_t t0 = nrps_now_ns();
    nrps_status st = t->inner->evaluate(t->inner->ctx, states, n, policy, value);
    timed_add(t, t0);
    return st;
}

static nrps_status timed_evaluate_from(void *ctx, const rps_state *states, const uint32_t *from, uint32_t *ids, int n,
                                       float *policy, float *value) {
    bench_timed_eval *t = ctx;
    uint64_t t0 = nrps_now_ns();
    nrps_status st = t->inner->evaluate_from(t->inner->ctx, states, from, ids, n, policy, value);
    timed_add(t, t0);
    return st;
}

mcts_evaluator bench_timed_evaluator(bench_timed_eval *t) {
    return (mcts_evaluator){.ctx = t, .evaluate = timed_evaluate,
                            .evaluate_from = t->inner->evaluate_from ? timed_evaluate_from : NULL,
                            .max_batch = t->inner->max_batch, .name = "timed net"};
}

nrps_status bench_search_play_game(mcts *m, const mcts_evaluator *const *evs, uint64_t deal_seed, double *move_us,
                                   rps_move *moves, bench_search_counts *n) {
    rps_config cfg = rps_config_standard();
    nrps_rng rng;
    nrps_rng_seed(&rng, deal_seed);
    rps_state s;
    rps_state_deal(&s, &cfg, &rng);
    int ply = 0;
    for (int i = 0; moves && i < RPS_MAX_PLIES; i++) moves[i] = (rps_move){.card = -1, .pos = -1};
    while (!rps_state_is_over(&s) && ply < RPS_MAX_PLIES) {
        if (nrps_interrupted) return NRPS_ERR_INTERRUPTED;
        mcts_result res;
        mcts_reset(m);
        uint64_t t0 = nrps_now_ns();
        nrps_status st = mcts_search_run_each(m, &s, evs, &rng, &res);
        uint64_t dt = nrps_now_ns() - t0;
        if (st != NRPS_OK) return st;
        if (move_us) move_us[n->moves] = (double)dt * 1e-3;
        n->moves++;
        n->eval_calls += res.eval_calls;
        n->eval_states += res.eval_states;
        n->playouts += res.playouts;
        if (moves) moves[ply] = res.move;
        ply++;
        if ((st = rps_state_apply(&s, res.move)) != NRPS_OK) return st;
    }
    return NRPS_OK;
}

/* The row's games with row->threads search threads, thread t evaluating with inner[t] (row->backend, playouts,
 * batch, threads and eval already set). */
static nrps_status search_games(const mcts_evaluator *const *inner, int games, uint64_t seed, rps_move *moves_out,
                                bench_search_row *row) {
    mcts_config mc = mcts_config_default();
    mc.playouts = row->playouts;
    mc.batch = row->batch;
    mc.threads = row->threads;
    mcts *m = mcts_create(&mc);
    double *lat = malloc((size_t)games * RPS_MAX_PLIES * sizeof *lat);
    nrps_status st = NRPS_ERR_NOMEM;
    if (!m || !lat) {
        if (m) nrps_set_error("search benchmark: out of memory");
        goto cleanup;
    }
    bench_timed_eval te[MCTS_MAX_THREADS];
    mcts_evaluator ev[MCTS_MAX_THREADS];
    const mcts_evaluator *evs[MCTS_MAX_THREADS];
    for (int t = 0; t < row->threads; t++) {
        te[t] = (bench_timed_eval){.inner = inner[t]};
        ev[t] = bench_timed_evaluator(&te[t]);
        ev[t].max_batch = row->batch;
        evs[t] = &ev[t];
    }
    bench_search_counts n = {0};
    /* warm-up: one whole game on another deal, not measured */
    st = bench_search_play_game(m, evs, seed ^ 0x5eed5eedULL, NULL, NULL, &n);
    if (st == NRPS_ERR_INTERRUPTED) { /* Ctrl-C before anything was measured: an empty row, marked interrupted */
        row->interrupted = 1;
        st = NRPS_OK;
        goto cleanup;
    }
    if (st != NRPS_OK) goto cleanup;
    n = (bench_search_counts){0};
    for (int t = 0; t < row->threads; t++) te[t].ns = 0;
    uint64_t t0 = nrps_now_ns();
    for (int g = 0; g < games; g++) {
        st = bench_search_play_game(m, evs, seed + (uint64_t)g, lat,
                                    moves_out ? moves_out + (size_t)g * RPS_MAX_PLIES : NULL, &n);
        if (st == NRPS_ERR_INTERRUPTED) {
            row->interrupted = 1;
            st = NRPS_OK;
            break;
        }
        if (st != NRPS_OK) goto cleanup;
        row->games++;
    }
    row->total_s = (double)(nrps_now_ns() - t0) * 1e-9;
    row->moves = n.moves;
    row->eval_calls = n.eval_calls;
    row->eval_states = n.eval_states;
    if (n.moves > 0) {
        double search_s = 0;
        for (long i = 0; i < n.moves; i++) search_s += lat[i] * 1e-6;
        if ((st = stats_compute(lat, n.moves, &row->move_us)) != NRPS_OK) goto cleanup;
        row->playouts_per_s = search_s > 0 ? (double)n.playouts / search_s : 0;
        row->evals_per_s = search_s > 0 ? (double)n.eval_states / search_s : 0;
        row->mean_batch = n.eval_calls ? (double)n.eval_states / (double)n.eval_calls : 0;
        uint64_t eval_ns = 0;
        for (int t = 0; t < row->threads; t++) eval_ns += te[t].ns;
        row->eval_share = search_s > 0 ? (double)eval_ns * 1e-9 / (search_s * row->threads) : 0;
    }
    st = NRPS_OK;
cleanup:
    free(lat);
    mcts_destroy(m);
    return st;
}

/* Row fields every run sets; NRPS_ERR_ARG when the sizes are out of range. */
static nrps_status row_init(bench_search_row *row, const char *backend, const char *eval, int threads, int playouts,
                            int batch, int games) {
    memset(row, 0, sizeof *row);
    snprintf(row->backend, sizeof row->backend, "%s", backend);
    snprintf(row->eval, sizeof row->eval, "%s", eval);
    if (!strcmp(eval, "incremental")) snprintf(row->label, sizeof row->label, "native-incr");
    else snprintf(row->label, sizeof row->label, "%s%s", backend, strcmp(eval, "service") ? "" : "+svc");
    row->threads = threads;
    row->playouts = playouts;
    row->batch = batch;
    row->same_games = -1;
    if (games >= 1 && playouts >= 1 && batch >= 1 && batch <= 65536 && threads >= 1 && threads <= MCTS_MAX_THREADS)
        return NRPS_OK;
    nrps_set_error("search benchmark: need games >= 1, playouts >= 1, 1 <= threads <= %d and 1 <= batch <= the "
                   "backends' max batch", MCTS_MAX_THREADS);
    return NRPS_ERR_ARG;
}

nrps_status bench_search_run_threads(be_backend *const *policy, rps_encoding penc, be_backend *const *value,
                                     rps_encoding venc, int threads, int playouts, int batch, int games, uint64_t seed,
                                     rps_move *moves_out, bench_search_row *row) {
    nrps_status st = row_init(row, be_name(policy[0]), "full", threads, playouts, batch, games);
    if (st != NRPS_OK) return st;
    for (int t = 0; t < threads; t++)
        if (batch > be_max_batch(policy[t]) || batch > be_max_batch(value[t])) {
            nrps_set_error("search benchmark: batch %d is more than the backends' max batch %d", batch,
                           be_max_batch(policy[t]) < be_max_batch(value[t]) ? be_max_batch(policy[t])
                                                                             : be_max_batch(value[t]));
            return NRPS_ERR_ARG;
        }
    eval_net *en[MCTS_MAX_THREADS] = {0};
    const mcts_evaluator *evs[MCTS_MAX_THREADS] = {0};
    for (int t = 0; t < threads && st == NRPS_OK; t++)
        if (!(en[t] = eval_net_create(policy[t], penc, value[t], venc, batch))) st = NRPS_ERR_NOMEM;
        else evs[t] = eval_net_evaluator(en[t]);
    if (st == NRPS_OK) st = search_games(evs, games, seed, moves_out, row);
    for (int t = 0; t < threads; t++) eval_net_destroy(en[t]);
    return st;
}

nrps_status bench_search_run_service(be_backend *policy, rps_encoding penc, be_backend *value, rps_encoding venc,
                                     int threads, int playouts, int batch, int wait_us, int games, uint64_t seed,
                                     bench_search_row *row) {
    nrps_status st = row_init(row, be_name(policy), "service", threads, playouts, batch, games);
    if (st != NRPS_OK) return st;
    eval_net *en = eval_net_create(policy, penc, value, venc, threads * batch);
    eval_service_config sc = eval_service_config_default();
    sc.max_batch = threads * batch, sc.wait_us = wait_us;
    eval_service *svc = en ? eval_service_create(eval_net_evaluator(en), &sc) : NULL;
    if (!svc) st = en ? NRPS_ERR_ARG : NRPS_ERR_NOMEM;
    const mcts_evaluator *evs[MCTS_MAX_THREADS];
    for (int t = 0; t < threads && svc; t++) evs[t] = eval_service_evaluator(svc);
    if (st == NRPS_OK) st = search_games(evs, games, seed, NULL, row);
    if (st == NRPS_OK) { /* the batches the service formed (the warm-up game's too) */
        eval_service_stats ss;
        eval_service_stats_get(svc, &ss);
        row->mean_batch = ss.mean_batch;
    }
    eval_service_destroy(svc);
    eval_net_destroy(en);
    return st;
}

nrps_status bench_search_run(be_backend *policy, rps_encoding penc, be_backend *value, rps_encoding venc, int playouts,
                             int batch, int games, uint64_t seed, rps_move *moves_out, bench_search_row *row) {
    return bench_search_run_threads(&policy, penc, &value, venc, 1, playouts, batch, games, seed, moves_out, row);
}

nrps_status bench_search_run_incremental(const nn_net *policy, rps_encoding penc, const nn_net *value,
                                         rps_encoding venc, int threads, int playouts, int batch, int games,
                                         uint64_t seed, rps_move *moves_out, bench_search_row *row) {
    nrps_status st = row_init(row, "native-cpu", "incremental", threads, playouts, batch, games);
    if (st != NRPS_OK) return st;
    eval_incr_nets nets = {.policy = policy, .value = value, .penc = penc, .venc = venc};
    eval_incr *ei[MCTS_MAX_THREADS] = {0};
    const mcts_evaluator *evs[MCTS_MAX_THREADS] = {0};
    for (int t = 0; t < threads && st == NRPS_OK; t++)
        if (!(ei[t] = eval_incr_create(&nets, batch, eval_incr_slots_for(playouts)))) st = NRPS_ERR_ARG;
        else evs[t] = eval_incr_evaluator(ei[t]);
    if (st == NRPS_OK) st = search_games(evs, games, seed, moves_out, row);
    for (int t = 0; t < threads; t++) eval_incr_destroy(ei[t]);
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

const char *bench_search_label(const bench_search_row *row) { return row->label; }

/* The "same games" cell of row r. */
static void same_text(const bench_search_row *r, char *buf, size_t len) {
    if (r->same_games == BENCH_SEARCH_NOT_COMPARED) snprintf(buf, len, "- (%ld games)", r->games);
    else if (r->same_games < 0) snprintf(buf, len, "reference");
    else snprintf(buf, len, "%ld/%ld as %s", r->same_games, r->games, r->reference);
}

/* Whether rows a and b are of the same series point (nets, batch, threads) and both measured. */
static int comparable(const bench_search_row *a, const bench_search_row *b) {
    return a->batch == b->batch && a->threads == b->threads && !strcmp(a->nets, b->nets) && a->moves >= 1 &&
           b->moves >= 1 && a->move_us.p50 > 0 && b->move_us.p50 > 0;
}

/* Per backend label and nets: the best playouts/s at each thread count against the best at 1 thread. */
static void report_thread_scaling(FILE *f, int width, const bench_search_row *rows, int n) {
    for (int i = 0; i < n; i++) {
        const bench_search_row *a = &rows[i];
        int first = 1; /* the first row of its (label, nets) series */
        for (int j = 0; j < i && first; j++)
            first = !(!strcmp(bench_search_label(&rows[j]), bench_search_label(a)) && !strcmp(rows[j].nets, a->nets));
        if (!first) continue;
        double best[MCTS_MAX_THREADS + 1] = {0};
        int batch_at[MCTS_MAX_THREADS + 1] = {0};
        for (int j = i; j < n; j++) {
            const bench_search_row *r = &rows[j];
            if (strcmp(bench_search_label(r), bench_search_label(a)) || strcmp(r->nets, a->nets) || r->moves < 1)
                continue;
            if (r->playouts_per_s > best[r->threads]) best[r->threads] = r->playouts_per_s, batch_at[r->threads] = r->batch;
        }
        for (int t = 2; t <= MCTS_MAX_THREADS; t++)
            if (best[1] > 0 && best[t] > 0)
                nrps_wrapf(f, width, 6, "  %s, %s: %d search threads %.2fx the playouts/s of 1 (best batch each: %d "
                                        "and %d; %.0f vs %.0f playouts/s)",
                           a->nets, bench_search_label(a), t, best[t] / best[1], batch_at[t], batch_at[1], best[t],
                           best[1]);
    }
}

void bench_report_search_text(FILE *f, const bench_search_row *rows, int n, int wide) {
    if (n <= 0) return;
    int width = nrps_term_width(f);
    fprintf(f, "\n");
    nrps_wrapf(f, width, 2, "Inside MCTS search (self-play games, %d playout%s per move, fresh tree per move, no noise; "
                            "one timed call = one whole search; thr = tree-parallel search threads, each with its own "
                            "evaluator; +svc: all threads sharing one batching service)", rows[0].playouts, rows[0].playouts == 1 ? "" : "s");
    if (wide)
        fprintf(f, "%-14s %-12s %5s %3s %5s %6s %10s %10s %10s %10s %10s %12s %11s %10s %6s  %s\n", "backend", "nets",
                "batch", "thr", "games", "moves", "mean_us", "p50_us", "p90_us", "p99_us", "max_us", "playouts/s",
                "evals/s", "avg_batch", "eval%", "same games");
    else
        fprintf(f, "%-14s %-12s %5s %3s %5s %9s %9s %10s %5s %s\n", "backend", "nets", "batch", "thr", "moves",
                "p50_us", "p99_us", "playouts/s", "eval%", "same games");
    for (int i = 0; i < n; i++) {
        const bench_search_row *r = &rows[i];
        if (r->moves < 1) {
            if (r->interrupted)
                fprintf(f, "%-14s %-12s %5d %3d  (interrupted in the warm-up game: nothing measured)\n",
                        bench_search_label(r), r->nets, r->batch, r->threads);
            continue;
        }
        char same[64];
        same_text(r, same, sizeof same);
        if (wide)
            fprintf(f,
                    "%-14s %-12s %5d %3d %5ld %6ld %10.1f %10.1f %10.1f %10.1f %10.1f %12.0f %11.0f %10.2f %5.1f%%  "
                    "%s%s\n",
                    bench_search_label(r), r->nets, r->batch, r->threads, r->games, r->moves, r->move_us.mean,
                    r->move_us.p50, r->move_us.p90, r->move_us.p99, r->move_us.max, r->playouts_per_s, r->evals_per_s,
                    r->mean_batch, 100 * r->eval_share, same, r->interrupted ? " (interrupted)" : "");
        else
            fprintf(f, "%-14s %-12s %5d %3d %5ld %9.1f %9.1f %10.0f %4.0f%% %s%s\n", bench_search_label(r), r->nets,
                    r->batch, r->threads, r->moves, r->move_us.p50, r->move_us.p99, r->playouts_per_s,
                    100 * r->eval_share, same, r->interrupted ? " (interrupted)" : "");
    }
    if (!wide) nrps_wrapf(f, width, 2, "  (times per move in us; eval%% = share of the search threads' time in network "
                                      "calls; --wide or --json: games, mean, p90, max, evals/s, mean evaluation batch)");
    /* each row against the first of its nets, batch and thread count (the reference backend's) */
    for (int j = 0; j < n; j++)
        for (int i = 0; i < j; i++) {
            const bench_search_row *a = &rows[i], *b = &rows[j];
            if (!comparable(a, b)) continue;
            int first = 1;
            for (int k = 0; k < i && first; k++) first = !comparable(&rows[k], a);
            if (!first) continue;
            double r = b->move_us.p50 / a->move_us.p50;
            nrps_wrapf(f, width, 6, "  %s, batch %d, %d thread%s: %s searches %.2f times %s than %s (p50 per move %.1f "
                                    "us vs %.1f us)",
                       a->nets, a->batch, a->threads, a->threads == 1 ? "" : "s", bench_search_label(a),
                       r >= 1 ? r : 1 / r, r >= 1 ? "faster" : "slower", bench_search_label(b), a->move_us.p50,
                       b->move_us.p50);
        }
    report_thread_scaling(f, width, rows, n);
}
