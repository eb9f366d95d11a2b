/* run_scenario.c - the --scenario section (src/bench/scenario.h) per backend, on the first network set that fits the
 * game: the search-based scenarios play self-play games (as the inside-search section does), the server scenario
 * drives a batching service (src/search/eval_service.h) with the load generator (src/bench/loadgen.h). */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run_impl.h"
#include "bench/scenario.h"
#include "bench/search_bench.h"
#include "search/arena.h"
#include "search/eval_net.h"
#include "search/mcts.h"

/* SCEN_SERVER_SPIN_US: the server thread spins this long between queries before it sleeps; a sleeping virtual CPU
 * can take a millisecond to wake, which a p99 bound of 100 us cannot absorb. */
/* SCEN_MAX_SAMPLES: latency samples kept per game thread (128 MB); a longer run keeps playing and its latency
 * statistics are those of its first SCEN_MAX_SAMPLES queries. */
enum { SCEN_POSITIONS = 4096, SCEN_MAX_GAME_THREADS = 64, SCEN_SERVER_SPIN_US = 20000, SCEN_MAX_SAMPLES = 16000000 };

/* One thread playing self-play games: its own search and evaluator; latencies per evaluator call (per_call) or per
 * move, until the end time (and, for streams, the minimum query count). */
typedef struct {
    bench_timed_eval te;     /* the thread's evaluator, timed (per_call: te.call_us holds the samples) */
    mcts *m;
    uint64_t seed;
    long *next_game;         /* shared game counter (atomic) */
    double end_s;            /* no game starts after this ... */
    long min_calls;          /* ... once this many evaluator calls were made (streams) */
    int per_call;
    double *lat_us;          /* cap samples: per call (te.call_us) or per move */
    long cap, n_lat;
    long games;
    bench_search_counts n;
    nrps_status st;
    char err[512];
} scen_worker;

static void *scen_worker_main(void *arg) {
    scen_worker *w = arg;
    mcts_evaluator ev = bench_timed_evaluator(&w->te);
    const mcts_evaluator *evs[1] = {&ev};
    while (w->st == NRPS_OK && (nrps_now_s() < w->end_s || w->n.eval_calls < w->min_calls)) {
        long g = __atomic_fetch_add(w->next_game, 1, __ATOMIC_RELAXED);
        /* per move: record while a whole game's moves fit, at the index bench_search_play_game writes */
        int record = !w->per_call && w->n.moves + RPS_MAX_PLIES <= w->cap;
        w->st = bench_search_play_game(w->m, evs, arena_derive_seed(w->seed, 0x5ce7, (uint64_t)g),
                                       record ? w->lat_us : NULL, NULL, &w->n);
        if (w->st == NRPS_OK) w->games++;
        if (record) w->n_lat = w->n.moves;
    }
    if (w->per_call) w->n_lat = w->te.n_calls;
    if (w->st != NRPS_OK && w->st != NRPS_ERR_INTERRUPTED) snprintf(w->err, sizeof w->err, "%s", nrps_last_error());
    return NULL;
}

/* Merges the workers' counts and latencies into row (scenario, threads, batch; the caller names the backend). */
static nrps_status scen_search_row(const run_ctx *c, const scen_worker *w, int threads, double dt,
                                   bench_scenario kind, int batch, bench_scenario_row *row) {
    long n = 0, games = 0, moves = 0, playouts = 0, calls = 0, states = 0;
    for (int t = 0; t < threads; t++)
        n += w[t].n_lat, games += w[t].games, moves += w[t].n.moves, playouts += w[t].n.playouts,
            calls += w[t].n.eval_calls, states += w[t].n.eval_states;
    double *all = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!all) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    for (long t = 0, k = 0; t < threads; t++) memcpy(all + k, w[t].lat_us, sizeof(double) * (size_t)w[t].n_lat), k += w[t].n_lat;
    nrps_status st = n ? stats_compute(all, n, &row->lg.latency_us) : NRPS_OK;
    free(all);
    snprintf(row->lg.scenario, sizeof row->lg.scenario, "%s", bench_scenario_name(kind));
    row->threads = threads, row->batch = batch;
    row->lg.queries = kind == BENCH_SCEN_OFFLINE ? moves : calls;
    row->lg.duration_s = dt;
    row->lg.evals_per_s = dt > 0 ? states / dt : 0;
    row->lg.mean_batch = calls ? (double)states / calls : 0;
    row->playouts_per_s = dt > 0 ? playouts / dt : 0;
    row->games_per_s = dt > 0 ? games / dt : 0;
    row->positions_per_s = dt > 0 ? moves / dt : 0;
    row->cache_hit_rate = -1;
    const bench_plan *p = c->p;
    row->lg.valid = !nrps_interrupted && dt >= p->scenario_duration_s &&
                    (kind == BENCH_SCEN_OFFLINE || row->lg.queries >= p->min_queries);
    if (nrps_interrupted) snprintf(row->lg.why, sizeof row->lg.why, "interrupted");
    else if (!row->lg.valid)
        snprintf(row->lg.why, sizeof row->lg.why, "%ld queries in %.2f s: fewer than --min-queries %ld", row->lg.queries,
                 dt, p->min_queries);
    return st;
}

/* The search-based scenario `kind` on backend i with `threads` concurrent games at leaf batch `batch`. */
static nrps_status scen_search(run_ctx *c, int pm, int vm, int i, bench_scenario kind, int threads, int batch,
                               bench_scenario_row *row) {
    const bench_plan *p = c->p;
    be_backend *hp[SCEN_MAX_GAME_THREADS] = {0}, *hv[SCEN_MAX_GAME_THREADS] = {0};
    eval_net *en[SCEN_MAX_GAME_THREADS] = {0};
    scen_worker w[SCEN_MAX_GAME_THREADS];
    pthread_t th[SCEN_MAX_GAME_THREADS];
    memset(w, 0, sizeof w);
    /* latency samples kept per thread: enough for the run at a few million queries/s, at most SCEN_MAX_SAMPLES */
    double want = p->min_queries + p->scenario_duration_s * 4e6 + 1000;
    long next_game = 0, cap = want < SCEN_MAX_SAMPLES ? (long)want : SCEN_MAX_SAMPLES;
    mcts_config mc = mcts_config_default();
    mc.playouts = p->search_playouts, mc.batch = batch;
    nrps_status st = bench_backend_handles(c, pm, i, hp, threads);
    if (st == NRPS_OK && pm != vm) st = bench_backend_handles(c, vm, i, hv, threads);
    for (int t = 0; t < threads && st == NRPS_OK; t++) {
        w[t] = (scen_worker){.seed = p->seed, .next_game = &next_game, .per_call = kind != BENCH_SCEN_OFFLINE,
                             .min_calls = kind != BENCH_SCEN_OFFLINE ? p->min_queries : 0, .cap = cap};
        if (!(en[t] = eval_net_create(hp[t], c->m[pm].enc, pm == vm ? hp[t] : hv[t], c->m[vm].enc, batch)) ||
            !(w[t].m = mcts_create(&mc)) || !(w[t].lat_us = malloc(sizeof(double) * (size_t)cap)))
            st = NRPS_ERR_NOMEM;
        else w[t].te = (bench_timed_eval){.inner = eval_net_evaluator(en[t]), .call_us = w[t].per_call ? w[t].lat_us : NULL,
                                          .cap_calls = cap};
    }
    int started = 0;
    double t0 = nrps_now_s();
    for (int t = 0; t < threads; t++) w[t].end_s = t0 + p->scenario_duration_s;
    while (st == NRPS_OK && started < threads) {
        if (pthread_create(&th[started], NULL, scen_worker_main, &w[started])) {
            nrps_set_error("cannot start %d game threads", threads);
            st = NRPS_ERR_NOMEM;
            break;
        }
        started++;
    }
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    double dt = nrps_now_s() - t0;
    for (int t = 0; t < started && st == NRPS_OK; t++)
        if (w[t].st != NRPS_OK && w[t].st != NRPS_ERR_INTERRUPTED) nrps_set_error("%s", w[t].err), st = w[t].st;
    if (st == NRPS_OK) st = scen_search_row(c, w, started, dt, kind, batch, row);
    for (int t = 0; t < threads; t++) {
        mcts_destroy(w[t].m), free(w[t].lat_us), eval_net_destroy(en[t]);
        if (t > 0) be_destroy(hp[t]), be_destroy(hv[t]);
    }
    return st;
}

/* The loadgen rows of a server run (or of every --find-peak run) on backend i into rows[*n ...]. */
static nrps_status scen_server_runs(run_ctx *c, eval_service *svc, int i, const rps_state *pos,
                                    bench_scenario_row *rows, int *n) {
    const bench_plan *p = c->p;
    loadgen_server_config lc = loadgen_server_config_default();
    lc.target_rate = p->target_rate, lc.min_duration_s = p->scenario_duration_s, lc.min_queries = p->min_queries;
    lc.latency_bound_us = p->latency_bound_us, lc.seed = p->seed, lc.backend = p->backends[i];
    loadgen_row runs[BENCH_MAX_PEAK_RUNS];
    int n_runs = 1, best = -1;
    eval_service_stats_reset(svc);
    nrps_status st;
    if (p->find_peak) {
        loadgen_peak_config pc = loadgen_peak_config_default();
        pc.max_runs = BENCH_MAX_PEAK_RUNS;
        st = loadgen_server_find_peak(svc, pos, SCEN_POSITIONS, &lc, &pc, runs, &n_runs, &best);
    } else {
        st = loadgen_server_run(svc, pos, SCEN_POSITIONS, &lc, &runs[0]);
    }
    eval_service_stats ss;
    eval_service_stats_get(svc, &ss);
    for (int k = 0; st == NRPS_OK && k < n_runs; k++) {
        bench_scenario_row *r = &rows[(*n)++];
        memset(r, 0, sizeof *r);
        r->lg = runs[k];
        r->peak = k == best;
        r->cache_hit_rate = p->nn_cache_mb > 0 ? ss.cache_hit_rate : -1;
    }
    return st;
}

/* With 2 or more CPUs, pins the calling thread (the load generator's issuer) to CPU 0, saving its mask in *old;
 * returns whether it did (the service's server thread goes to CPU 1), so that the two do not share a core. */
static int pin_issuer(cpu_set_t *old) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || pthread_getaffinity_np(pthread_self(), sizeof *old, old)) return 0;
    if (!CPU_ISSET(0, old) || !CPU_ISSET(1, old)) return 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    return pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
}

/* The server scenario on backend i: an evaluator on its handles behind one batching service, a short unmeasured
 * warm-up run, then the measured run(s). */
static nrps_status scen_server(run_ctx *c, int pm, int vm, int i, const rps_state *pos, bench_scenario_row *rows,
                               int *n) {
    const bench_plan *p = c->p;
    eval_net *en = eval_net_create(c->m[pm].bk[i], c->m[pm].enc, c->m[vm].bk[i], c->m[vm].enc, p->server_max_batch);
    if (!en) return NRPS_ERR_NOMEM;
    eval_service_config sc = eval_service_config_default();
    sc.max_batch = p->server_max_batch, sc.wait_us = p->batch_wait_us, sc.cache_mb = p->nn_cache_mb;
    cpu_set_t old;
    int pinned = pin_issuer(&old);
    if (pinned) sc.server_cpu = 1;
    sc.spin_us = SCEN_SERVER_SPIN_US;
    eval_service *svc = eval_service_create(eval_net_evaluator(en), &sc);
    nrps_status st = svc ? NRPS_OK : NRPS_ERR_ARG;
    if (st == NRPS_OK) {
        loadgen_server_config warm = loadgen_server_config_default();
        warm.target_rate = p->target_rate < 100000 ? p->target_rate : 100000;
        warm.min_duration_s = 0.05, warm.min_queries = 1000, warm.latency_bound_us = p->latency_bound_us;
        loadgen_row scratch;
        st = loadgen_server_run(svc, pos, SCEN_POSITIONS, &warm, &scratch);
    }
    if (st == NRPS_OK) st = scen_server_runs(c, svc, i, pos, rows, n);
    eval_service_destroy(svc);
    if (pinned) pthread_setaffinity_np(pthread_self(), sizeof old, &old);
    eval_net_destroy(en);
    return st;
}

/* The scenario on backend i, its rows appended to c->r->scen. */
static nrps_status scen_backend(run_ctx *c, int pm, int vm, int i, const rps_state *pos) {
    const bench_plan *p = c->p;
    bench_scenario_row *row = &c->r->scen[c->r->n_scen];
    nrps_status st;
    bench_progress(c, "scenario %s: %-12s%s", bench_scenario_name(p->scenario), p->backends[i], 0);
    switch (p->scenario) {
    case BENCH_SCEN_SERVER: st = scen_server(c, pm, vm, i, pos, c->r->scen, &c->r->n_scen); break;
    case BENCH_SCEN_OFFLINE: st = scen_search(c, pm, vm, i, p->scenario, p->scenario_threads, p->stream_batch, row); break;
    case BENCH_SCEN_MULTI: st = scen_search(c, pm, vm, i, p->scenario, 1, p->stream_batch, row); break;
    default: st = scen_search(c, pm, vm, i, p->scenario, 1, 1, row); break;
    }
    if (st == NRPS_OK && p->scenario != BENCH_SCEN_SERVER) {
        snprintf(row->lg.backend, sizeof row->lg.backend, "%s", p->backends[i]);
        c->r->n_scen++;
    }
    if (st != NRPS_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("scenario %s (%s): %s", bench_scenario_name(p->scenario), p->backends[i], msg);
    }
    return st;
}

nrps_status bench_run_scenarios(run_ctx *c) {
    const bench_plan *p = c->p;
    if (p->scenario == BENCH_SCEN_NONE || c->r->interrupted) return NRPS_OK;
    int pm[BENCH_MAX_MODELS], vm[BENCH_MAX_MODELS];
    if (!bench_search_sets(c, "scenarios", pm, vm)) {
        snprintf(c->r->scenario_note, sizeof c->r->scenario_note,
                 "scenarios skipped: they need both networks (81->9 and 81->1) or one two-headed network");
        return NRPS_OK;
    }
    snprintf(c->r->scenario_nets, sizeof c->r->scenario_nets, "%s",
             pm[0] == vm[0] ? c->r->env.models[pm[0]].label : "policy+value");
    rps_state *pos = malloc(sizeof *pos * SCEN_POSITIONS);
    c->r->scen = calloc((size_t)p->n_backends * BENCH_MAX_PEAK_RUNS, sizeof *c->r->scen);
    if (!pos || !c->r->scen) {
        free(pos);
        nrps_set_error("out of memory for the scenarios");
        return NRPS_ERR_NOMEM;
    }
    rps_random_positions(pos, SCEN_POSITIONS, p->seed);
    nrps_status st = NRPS_OK;
    for (int i = 0; i < p->n_backends && st == NRPS_OK && !nrps_interrupted; i++)
        if (c->m[pm[0]].bk[i] && c->m[vm[0]].bk[i]) st = scen_backend(c, pm[0], vm[0], i, pos);
    free(pos);
    if (nrps_interrupted) c->r->interrupted = 1;
    return st == NRPS_ERR_INTERRUPTED ? NRPS_OK : st;
}
