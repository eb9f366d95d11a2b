/* run_concurrent.c - N callers at once (--concurrency N, like onnxruntime_perf_test -c): N threads call Run on one
 * ONNX Runtime session (handles from be_share, each with its own buffers), or on N native handles of the same
 * model. Each thread makes its first call and a fixed warm-up, all start the timed calls together, and the row
 * reports every call's latency and the total throughput (calls x batch / wall time until the last one ends). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench/run_impl.h"

enum { CONC_WARMUP = 100 };

/* Start gate: workers say they are warm, the main thread opens it once all that started are. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, open;
} conc_gate;

static void gate_arrive_and_wait(conc_gate *g) {
    pthread_mutex_lock(&g->mu);
    g->ready++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until n workers arrived, opens the gate and returns the time it opened. */
static double gate_open(conc_gate *g, int n) {
    pthread_mutex_lock(&g->mu);
    while (g->ready < n) pthread_cond_wait(&g->cv, &g->mu);
    g->open = 1;
    double t0 = nrps_now_s();
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return t0;
}

typedef struct {
    be_backend *b;
    const void *in[BE_MAX_IO];
    int batch;
    long iterations;   /* timed calls (duration_s <= 0) */
    double duration_s; /* > 0: timed calls until then */
    conc_gate *start;
    double *samples;   /* capacity cap */
    long n, cap;
    double end_s;
    nrps_status st;
    char err[400];
} conc_worker;

static void *conc_main(void *arg) {
    conc_worker *w = arg;
    for (int i = 0; i < CONC_WARMUP + 1 && w->st == NRPS_OK; i++) w->st = be_run_io(w->b, w->in, w->batch, NULL);
    if (w->st != NRPS_OK) snprintf(w->err, sizeof w->err, "%s", nrps_last_error());
    gate_arrive_and_wait(w->start);
    double t_end = nrps_now_s() + w->duration_s;
    while (w->st == NRPS_OK && w->n < w->cap && !nrps_interrupted) {
        uint64_t t0 = nrps_now_ns();
        w->st = be_run_io(w->b, w->in, w->batch, NULL);
        w->samples[w->n++] = (double)(nrps_now_ns() - t0) * 1e-3;
        if (w->duration_s > 0 ? nrps_now_s() >= t_end : w->n >= w->iterations) break;
    }
    if (w->st != NRPS_OK && !w->err[0]) snprintf(w->err, sizeof w->err, "%s", nrps_last_error());
    w->end_s = nrps_now_s();
    return NULL;
}

/* Merges the workers' samples into the row. */
static nrps_status conc_row(conc_worker *w, int n, double t0, bench_row *row) {
    long total = 0;
    double end = t0;
    for (int k = 0; k < n; k++) total += w[k].n, end = w[k].end_s > end ? w[k].end_s : end;
    double *all = malloc(sizeof(double) * (size_t)(total ? total : 1));
    if (!all) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    long pos = 0;
    for (int k = 0; k < n; k++) memcpy(all + pos, w[k].samples, sizeof(double) * (size_t)w[k].n), pos += w[k].n;
    row->tm.n = total;
    row->tm.total_s = end - t0;
    row->tm.warmup_calls = (long)n * CONC_WARMUP;
    row->tm.warmup_settled = -1;
    row->tm.interrupted = nrps_interrupted != 0;
    nrps_status st = total ? stats_compute(all, total, &row->tm.st) : NRPS_OK;
    free(all);
    return st;
}

static nrps_status conc_one(run_ctx *c, int m, int i, int batch) {
    const bench_plan *p = c->p;
    int n = p->concurrency;
    be_backend *h[BENCH_MAX_CONCURRENCY] = {0};
    conc_worker w[BENCH_MAX_CONCURRENCY];
    pthread_t th[BENCH_MAX_CONCURRENCY];
    conc_gate start = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    memset(w, 0, sizeof w);
    nrps_status st = bench_backend_handles(c, m, i, h, n);
    long cap = p->loop.duration_s > 0 ? 2000000 : p->loop.iterations;
    for (int k = 0; st == NRPS_OK && k < n; k++) {
        w[k] = (conc_worker){.b = h[k], .batch = batch, .iterations = p->loop.iterations,
                             .duration_s = p->loop.duration_s, .start = &start, .cap = cap};
        for (int j = 0; j < BE_MAX_IO; j++) w[k].in[j] = c->m[m].pool[j];
        if (!(w[k].samples = malloc(sizeof(double) * (size_t)cap))) st = NRPS_ERR_NOMEM, nrps_set_error("out of memory");
    }
    bench_row *row = st == NRPS_OK ? bench_row_new(c, h[0], m, batch) : NULL;
    if (row) {
        bench_progress(c, "%d callers: %-12s %-12s batch", be_name(h[0]), c->r->env.models[m].label, batch);
        row->concurrency = n;
        int started = 0;
        for (; started < n && pthread_create(&th[started], NULL, conc_main, &w[started]) == 0; started++) {}
        if (started < n) {
            nrps_set_error("cannot start %d threads", n);
            st = NRPS_ERR_NOMEM;
        }
        double t0 = gate_open(&start, started);
        for (int k = 0; k < started; k++) pthread_join(th[k], NULL);
        for (int k = 0; k < n && st == NRPS_OK; k++)
            if (w[k].st != NRPS_OK) nrps_set_error("%s with %d callers: %s", be_name(h[0]), n, w[k].err), st = w[k].st;
        if (st == NRPS_OK && (st = conc_row(w, n, t0, row)) == NRPS_OK) c->r->n_rows++;
        if (row->tm.interrupted) c->r->interrupted = 1;
    }
    for (int k = 0; k < n; k++) free(w[k].samples);
    for (int k = 1; k < n; k++) be_destroy(h[k]);
    return st;
}

nrps_status bench_time_concurrent(run_ctx *c) {
    const bench_plan *p = c->p;
    if (p->concurrency < 2) return NRPS_OK;
    for (int m = 0; m < c->n_models && !c->r->interrupted; m++)
        for (int bi = 0; bi < c->m[m].n_batches && !c->r->interrupted; bi++)
            for (int i = 0; i < p->n_backends && !c->r->interrupted; i++) {
                if (!c->m[m].bk[i]) continue;
                nrps_status st = conc_one(c, m, i, c->m[m].batches[bi]);
                if (st != NRPS_OK) return st;
            }
    return NRPS_OK;
}
