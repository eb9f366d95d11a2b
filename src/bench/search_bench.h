/* search_bench.h - inference inside a real search: self-play games played by PUCT MCTS whose policy and value
 * networks run on a given backend pair, timed per move. Every backend plays the same deals with the same
 * settings (no noise, no temperature, fresh tree per move), so the work differs only where a backend's outputs
 * change a decision; the report says how many games came out identical to the reference backend's. */
#ifndef NRPS_SEARCH_BENCH_H
#define NRPS_SEARCH_BENCH_H

#include <stdio.h>

#include "backend/backend.h"
#include "bench/stats.h"
#include "game/game.h"
#include "search/evaluator.h"
#include "search/mcts.h"

enum { BENCH_SEARCH_NOT_COMPARED = -2 };

typedef struct {
    char backend[32];     /* the backend the networks ran on (native-cpu for eval "incremental") */
    char eval[16];        /* "full": every leaf's networks run whole on the backend; "incremental": the first layers
                           * are built from the parent node's (src/search/eval_incremental.h), the rest on
                           * native-cpu's kernels; "service": every thread submits to one batching service */
    char label[48];       /* the text table's backend column (bench_search_label) */
    char nets[40];        /* the networks searched with: "policy+value" (two files) or a two-headed model's label */
    int threads;          /* search threads on one tree (mcts threads), each with its own evaluator */
    int playouts;         /* MCTS simulations per move */
    int batch;            /* leaves per evaluator call (virtual loss) */
    long games, moves;    /* measured (after one unmeasured warm-up game) */
    bench_stats move_us;  /* wall-clock latency of one search (one move), microseconds */
    double total_s;       /* wall time of the measured searches */
    double playouts_per_s, evals_per_s; /* simulations and network evaluations (positions) per second */
    double mean_batch;    /* positions per evaluator call */
    double eval_share;    /* share of search time spent in the evaluator (encode + both networks), over all threads:
                           * the threads' evaluator time / (threads x search time) */
    long eval_calls, eval_states;
    long same_games;      /* games whose moves equal the reference backend's (-1: this row is the reference;
                           * BENCH_SEARCH_NOT_COMPARED: threads > 1, whose games depend on timing) */
    char reference[32];   /* the backend compared against */
    int interrupted;      /* SIGINT stopped it early */
} bench_search_row;

/* Plays `games` standard games (deal g seeded from seed + g) with MCTS on policy/value backends (value may be the
 * policy backend for a two-headed model; penc/venc: how to encode their inputs) and fills *row.
 * moves_out, if not NULL, receives the
 * games' moves (games * RPS_MAX_PLIES entries, position -1 after a game's end) for comparison between backends.
 * Both backends must accept `batch` samples. Polls nrps_interrupted. */
nrps_status bench_search_run(be_backend *policy, rps_encoding penc, be_backend *value, rps_encoding venc, int playouts,
                             int batch, int games, uint64_t seed, rps_move *moves_out, bench_search_row *row);

/* The same games searched by `threads` tree-parallel threads, thread t evaluating on its own handles policy[t] and
 * value[t] (value[t] may be policy[t]). With one thread it is bench_search_run. */
nrps_status bench_search_run_threads(be_backend *const *policy, rps_encoding penc, be_backend *const *value,
                                     rps_encoding venc, int threads, int playouts, int batch, int games, uint64_t seed,
                                     rps_move *moves_out, bench_search_row *row);

/* The same games searched by `threads` threads sharing one batching service (src/search/eval_service.h: one server
 * thread running policy/value in batches of up to threads x batch, waiting at most wait_us for more): eval
 * "service"; mean_batch is the batches the service formed. Games are not recorded (they depend on timing). */
nrps_status bench_search_run_service(be_backend *policy, rps_encoding penc, be_backend *value, rps_encoding venc,
                                     int threads, int playouts, int batch, int wait_us, int games, uint64_t seed,
                                     bench_search_row *row);

/* The same games with the incremental evaluator (eval "incremental") over the networks (value may be policy for a
 * two-headed one), which it copies, one per search thread; the row's backend is native-cpu (whose kernels it runs). */
nrps_status bench_search_run_incremental(const nn_net *policy, rps_encoding penc, const nn_net *value,
                                         rps_encoding venc, int threads, int playouts, int batch, int games,
                                         uint64_t seed, rps_move *moves_out, bench_search_row *row);

/* Text label of a row's backend column: the backend, "native-incr" for eval "incremental", "<backend>+svc" for eval
 * "service". */
const char *bench_search_label(const bench_search_row *row);

/* What bench_search_play_game adds up over games. */
typedef struct {
    long moves, eval_calls, eval_states, playouts;
} bench_search_counts;

/* One standard game dealt from deal_seed (its rng then drives the searches), a fresh tree every move, searched with
 * m (thread t evaluating with evs[t]); adds to *n, writes move j's search time in us to move_us[n->moves] (if not
 * NULL: room for RPS_MAX_PLIES more) and the moves to moves[RPS_MAX_PLIES] (if not NULL; position -1 after the end).
 * Polls nrps_interrupted (NRPS_ERR_INTERRUPTED). */
nrps_status bench_search_play_game(mcts *m, const mcts_evaluator *const *evs, uint64_t deal_seed, double *move_us,
                                   rps_move *moves, bench_search_counts *n);

/* Counts the games whose move lists are identical. */
long bench_search_same_games(const rps_move *a, const rps_move *b, int games);

/* Text section "Inside MCTS search" with one line per row plus ratios between backends at the same batch. */
/* The inside-search table: within 100 columns by default; wide != 0 adds mean, p90, p99, max, evals/s and the mean
 * evaluation batch. */
void bench_report_search_text(FILE *f, const bench_search_row *rows, int n, int wide);

/* An evaluator that forwards every call to t->inner (evaluate, and evaluate_from when inner has it; same max_batch)
 * and adds its wall time to t->ns; with call_us, also appends each call's wall time in us while n_calls < cap_calls.
 * t must outlive the evaluator. */
typedef struct {
    const mcts_evaluator *inner;
    uint64_t ns;
    double *call_us;
    long n_calls, cap_calls;
} bench_timed_eval;
mcts_evaluator bench_timed_evaluator(bench_timed_eval *t);

#endif
