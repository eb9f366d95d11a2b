/* run_search.c - inference inside a real search: self-play games with MCTS on each backend, for each set of
 * networks that fits the game (a policy model with a value model, or a two-headed model); models that do not fit
 * are named with the reason. */
#include <stdlib.h>
#include <string.h>

#include "bench/run_impl.h"
#include "bench/search_bench.h"
#include "search/eval_net.h"
#include "search/mcts.h"

/* The network sets the search runs with: the first one-head policy model with the first one-head value model, then
 * every model with both heads. Each set is (policy model, value model); returns how many. */
int bench_search_sets(run_ctx *c, const char *section, int pm[BENCH_MAX_MODELS], int vm[BENCH_MAX_MODELS]) {
    int n = 0, pol = -1, val = -1;
    for (int m = 0; m < c->n_models; m++) {
        const bench_model_info *mi = &c->r->env.models[m];
        if (!c->m[m].game) {
            size_t used = strlen(c->r->search_note);
            snprintf(c->r->search_note + used, sizeof c->r->search_note - used,
                     "%s%s leave%s out %s: %s", used ? "\n" : "", section, strcmp(section, "scenarios") ? "s" : "",
                     mi->path, c->m[m].search_why);
            continue;
        }
        int two = !strcmp(mi->kind, "two-headed"), p = !strcmp(mi->kind, "policy"), v = !strcmp(mi->kind, "value");
        if (two) pm[n] = vm[n] = m, n++;
        else if (p && pol < 0) pol = m;
        else if (v && val < 0) val = m;
    }
    if (pol >= 0 && val >= 0) { /* the pair goes first */
        memmove(pm + 1, pm, sizeof *pm * (size_t)n);
        memmove(vm + 1, vm, sizeof *vm * (size_t)n);
        pm[0] = pol, vm[0] = val, n++;
    }
    return n;
}

/* Where a row's games are compared with the reference's: with one search thread the games are deterministic, so
 * backend rows record how many came out as the reference backend's (ref_moves); threads > 1 are not compared. */
static void compare_games(run_ctx *c, bench_search_row *sr, int threads, int i, int refi, const rps_move *moves,
                          const rps_move *ref_moves) {
    if (threads > 1) sr->same_games = BENCH_SEARCH_NOT_COMPARED;
    else if (i != refi) {
        sr->same_games = bench_search_same_games(ref_moves, moves, (int)sr->games);
        snprintf(sr->reference, sizeof sr->reference, "%s", c->p->backends[refi]);
    }
}

/* Ends a search row: its nets label, the error named after the row, or the row counted. */
static nrps_status finish_row(run_ctx *c, bench_search_row *sr, int pm, int vm, const char *what, nrps_status st) {
    snprintf(sr->nets, sizeof sr->nets, "%s", pm == vm ? c->r->env.models[pm].label : "policy+value");
    if (st != NRPS_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("search benchmark (%s): %s", what, msg);
        return st;
    }
    c->r->n_srows++;
    if (sr->interrupted) c->r->interrupted = 1;
    return NRPS_OK;
}

/* Plays the search games with backend i and `threads` search threads (each on its own handles); the reference's
 * moves are in ref_moves, this one's go to moves. */
static nrps_status search_one(run_ctx *c, int pm, int vm, int i, int batch, int threads, int refi, rps_move *moves,
                              const rps_move *ref_moves) {
    const bench_plan *p = c->p;
    char what[64];
    snprintf(what, sizeof what, "%s, %d thread%s", p->backends[i], threads, threads == 1 ? "" : "s");
    bench_progress(c, "search: %-24s%s batch %-5d", what, "", batch);
    bench_search_row *sr = &c->r->srows[c->r->n_srows];
    be_backend *hp[MCTS_MAX_THREADS] = {0}, *hv[MCTS_MAX_THREADS] = {0};
    nrps_status st = bench_backend_handles(c, pm, i, hp, threads);
    if (st == NRPS_OK && pm != vm) st = bench_backend_handles(c, vm, i, hv, threads);
    if (st == NRPS_OK)
        st = bench_search_run_threads(hp, c->m[pm].enc, pm == vm ? hp : hv, c->m[vm].enc, threads, p->search_playouts,
                                      batch, p->search_games, p->seed, threads == 1 ? moves : NULL, sr);
    for (int k = 1; k < threads; k++) be_destroy(hp[k]), be_destroy(hv[k]);
    if (st == NRPS_OK) compare_games(c, sr, threads, i, refi, moves, ref_moves);
    return finish_row(c, sr, pm, vm, what, st);
}

/* The eval=service row of backend i at `threads` threads: every search thread submits to one batching service on the
 * run's own handles. */
static nrps_status search_service(run_ctx *c, int pm, int vm, int i, int batch, int threads) {
    const bench_plan *p = c->p;
    char what[64];
    snprintf(what, sizeof what, "%s, %d threads, one service", p->backends[i], threads);
    bench_progress(c, "search: %-24s%s batch %-5d", what, "", batch);
    bench_search_row *sr = &c->r->srows[c->r->n_srows];
    nrps_status st = bench_search_run_service(c->m[pm].bk[i], c->m[pm].enc, c->m[vm].bk[i], c->m[vm].enc, threads,
                                              p->search_playouts, batch, p->batch_wait_us, p->search_games, p->seed,
                                              sr);
    if (st == NRPS_OK) sr->same_games = BENCH_SEARCH_NOT_COMPARED;
    return finish_row(c, sr, pm, vm, what, st);
}

/* The eval=incremental row (src/search/eval_incremental.h) right after the native-cpu reference row at that batch:
 * the same games, compared with the reference's moves (ref_moves). */
static nrps_status search_incremental(run_ctx *c, int pm, int vm, int refi, int batch, int threads, rps_move *moves,
                                      const rps_move *ref_moves) {
    const bench_plan *p = c->p;
    char what[64];
    snprintf(what, sizeof what, "native-cpu, eval=incremental, %d thread%s", threads, threads == 1 ? "" : "s");
    bench_progress(c, "search: %-24s%s batch %-5d", "native-incr", "", batch);
    bench_search_row *sr = &c->r->srows[c->r->n_srows];
    nrps_status st = bench_search_run_incremental(c->m[pm].net, c->m[pm].enc, c->m[vm].net, c->m[vm].enc, threads,
                                                  p->search_playouts, batch, p->search_games, p->seed,
                                                  threads == 1 ? moves : NULL, sr);
    if (st == NRPS_OK) {
        compare_games(c, sr, threads, -1, refi, moves, ref_moves);
    }
    return finish_row(c, sr, pm, vm, what, st);
}

/* The search section for one network set: per batch and thread count every backend that has both networks, the
 * reference backend first, then (when the reference is native-cpu) the incremental evaluator on its kernels;
 * moves[0 .. per) holds that row's games. */
static nrps_status search_set(run_ctx *c, int pm, int vm, rps_move *moves, size_t per) {
    const bench_plan *p = c->p;
    int refi = -1; /* reference backend: native-cpu when present, else the first that has both networks */
    for (int i = 0; i < p->n_backends; i++)
        if (c->m[pm].bk[i] && c->m[vm].bk[i] && (refi < 0 || !strcmp(p->backends[i], "native-cpu"))) refi = i;
    int incr = refi >= 0 && !strcmp(p->backends[refi], "native-cpu") && c->m[pm].net && c->m[vm].net;
    nrps_status st = NRPS_OK;
    for (int bi = 0; st == NRPS_OK && bi < p->n_search_batches && !c->r->interrupted; bi++)
        for (int ti = 0; st == NRPS_OK && ti < p->n_search_threads && !c->r->interrupted; ti++)
            for (int pass = 0; st == NRPS_OK && pass < 2 && !c->r->interrupted; pass++) {
                int batch = p->search_batches[bi], threads = p->search_threads[ti];
                for (int i = 0; st == NRPS_OK && i < p->n_backends && !c->r->interrupted; i++)
                    if (c->m[pm].bk[i] && c->m[vm].bk[i] && (pass == 0) == (i == refi))
                        st = search_one(c, pm, vm, i, batch, threads, refi, moves + (size_t)(i + 1) * per,
                                        moves + (size_t)(refi + 1) * per);
                if (st == NRPS_OK && pass == 0 && incr && !c->r->interrupted)
                    st = search_incremental(c, pm, vm, refi, batch, threads, moves, moves + (size_t)(refi + 1) * per);
                for (int i = 0; st == NRPS_OK && p->search_service && threads > 1 && i < p->n_backends &&
                                !c->r->interrupted;
                     i++)
                    if (c->m[pm].bk[i] && c->m[vm].bk[i] && (pass == 0) == (i == refi) &&
                        threads * batch <= c->be_batch)
                        st = search_service(c, pm, vm, i, batch, threads);
            }
    return st;
}

nrps_status bench_run_search(run_ctx *c) {
    const bench_plan *p = c->p;
    int pm[BENCH_MAX_MODELS], vm[BENCH_MAX_MODELS];
    if (!p->search || p->scenario != BENCH_SCEN_NONE || c->r->interrupted) return NRPS_OK;
    int sets = bench_search_sets(c, "inside-search benchmark", pm, vm);
    if (!sets) {
        size_t used = strlen(c->r->search_note);
        snprintf(c->r->search_note + used, sizeof c->r->search_note - used,
                 "%sinside-search benchmark skipped: it needs both networks (81->9 and 81->1) or one two-headed "
                 "network", used ? "\n" : "");
        return NRPS_OK;
    }
    size_t per = (size_t)p->search_games * RPS_MAX_PLIES;
    rps_move *moves = calloc((size_t)(p->n_backends + 1) * per, sizeof *moves);
    c->r->srows = calloc((size_t)sets * (2 * p->n_backends + 1) * p->n_search_batches * p->n_search_threads,
                         sizeof *c->r->srows);
    if (!moves || !c->r->srows) {
        free(moves);
        nrps_set_error("out of memory for the search benchmark");
        return NRPS_ERR_NOMEM;
    }
    nrps_status st = NRPS_OK;
    c->rec_pm = pm[0], c->rec_vm = vm[0];
    for (int k = 0; st == NRPS_OK && k < sets && !c->r->interrupted; k++) st = search_set(c, pm[k], vm[k], moves, per);
    free(moves);
    return st;
}
