/* recommend.h - the search configuration to use, like KataGo's `benchmark` recommending numSearchThreads: per
 * backend, the search threads x leaf batch with the most playouts/s (from the inside-search rows) whose play stays
 * as good as the 1-thread batch-1 search's at equal playouts. "As good" is measured two ways on positions and games
 * no row was tuned on: agreement with the exact solver (src/search/solver.h: the chosen move keeps the position's
 * game-theoretic result) on a fixed set of self-play positions, and an arena (src/search/arena.h) of the candidate
 * against the 1-thread batch-1 search whose 95% score interval must contain 50% or lie above it. A candidate that
 * fails either is rejected (with the reason) and the next fastest is tried; the baseline itself always qualifies. */
#ifndef NRPS_BENCH_RECOMMEND_H
#define NRPS_BENCH_RECOMMEND_H

#include <stdio.h>

#include "bench/search_bench.h"

enum { BENCH_REC_MAX_REJECTED = 8 };

/* One candidate's strength check against the baseline. */
typedef struct {
    int threads, batch;
    int service;                      /* the threads share one batching service (an eval=service row) */
    double playouts_per_s;
    double agreement;                 /* share of the positions where its move keeps the exact result */
    double score, score_lo, score_hi; /* arena score against the baseline and its 95% Wilson interval */
    long games;                       /* arena games (0: not played, e.g. the baseline) */
    char why[160];                    /* why it was rejected ("" when it qualifies) */
} bench_rec_check;

typedef struct {
    char backend[32], eval[16], nets[40]; /* the series (bench_search_label(backend, eval)) */
    int playouts;
    bench_rec_check chosen;               /* the recommended configuration */
    bench_rec_check baseline;             /* threads 1, batch 1 */
    bench_rec_check rejected[BENCH_REC_MAX_REJECTED]; /* faster candidates that lost strength, fastest first */
    int n_rejected;
    int positions;                        /* solver-agreement positions */
    char failed[300];                     /* why no recommendation could be measured ("" when it was) */
} bench_recommendation;

/* One line per recommendation, starting "recommended:", with the speed-up over the baseline and the evidence. */
void bench_report_recommend_text(FILE *f, const bench_recommendation *recs, int n);

/* Adds the array "recommendations" (docs/benchmark-json.md) to a cJSON object (void *: cJSON stays out of headers). */
void bench_recommend_json(void *root, const bench_recommendation *recs, int n);

/* The agreement test: whether candidate agreement a (over n positions) is no worse than baseline b beyond noise
 * (a >= b - 1.96 * the standard error of the difference of two binomial proportions); 1 when it passes. */
int bench_rec_agreement_ok(double a, double b, int n);

#endif
