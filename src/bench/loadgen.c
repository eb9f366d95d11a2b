/* loadgen.c - see loadgen.h. */
#include "bench/loadgen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- configuration ---- */

loadgen_server_config loadgen_server_config_default(void) {
    return (loadgen_server_config){.target_rate = 100000, .min_duration_s = 1.0, .min_queries = 20000,
                                   .max_queries = 10000000, .latency_bound_us = 100, .seed = 1};
}

nrps_status loadgen_server_config_check(const loadgen_server_config *c) {
    if (!(c->target_rate > 0 && c->target_rate <= 1e9))
        nrps_set_error("loadgen: target_rate must be in (0, 1e9] queries/s, got %g", c->target_rate);
    else if (!(c->min_duration_s >= 0 && c->min_duration_s <= 3600))
        nrps_set_error("loadgen: min_duration_s must be in [0, 3600], got %g", c->min_duration_s);
    else if (c->min_queries < 1)
        nrps_set_error("loadgen: min_queries must be >= 1, got %ld", c->min_queries);
    else if (c->max_queries < c->min_queries)
        nrps_set_error("loadgen: max_queries %ld is below min_queries %ld", c->max_queries, c->min_queries);
    else if (!(c->latency_bound_us > 0))
        nrps_set_error("loadgen: latency_bound_us must be > 0, got %g", c->latency_bound_us);
    else
        return NRPS_OK;
    return NRPS_ERR_ARG;
}

/* ---- statistics ---- */

long loadgen_min_queries(double q, double z, double margin) {
    return (long)ceil(z * z * q * (1 - q) / (margin * margin));
}

double loadgen_quantile_margin(double q, double z, long n) { return z * sqrt(q * (1 - q) / (double)n); }

/* The next inter-arrival time in ns. */
static double exp_gap_ns(nrps_rng *rng, double rate) { return -log(1.0 - nrps_rng_uniform(rng)) / rate * 1e9; }

void loadgen_poisson_schedule(nrps_rng *rng, double rate, long n, uint64_t *at_ns) {
    double t = 0;
    for (long i = 0; i < n; i++) {
        t += exp_gap_ns(rng, rate);
        at_ns[i] = (uint64_t)t;
    }
}

nrps_status loadgen_schedule_length(const loadgen_server_config *c, long *n) {
    nrps_rng rng;
    nrps_rng_seed(&rng, c->seed);
    double t = 0, span_ns = c->min_duration_s * 1e9;
    long i = 0;
    while (i < c->min_queries || t < span_ns) {
        if (i >= c->max_queries) {
            nrps_set_error("loadgen: %g queries/s for %g s needs more than max_queries (%ld)", c->target_rate,
                           c->min_duration_s, c->max_queries);
            return NRPS_ERR_ARG;
        }
        t += exp_gap_ns(&rng, c->target_rate);
        i++;
    }
    *n = i;
    return NRPS_OK;
}

/* p99 of x[0..n-1] (through stats_compute: one percentile method everywhere). */
static nrps_status p99_of(const double *x, long n, double *p99) {
    bench_stats s;
    nrps_status st = stats_compute(x, n, &s);
    *p99 = s.p99;
    return st;
}

nrps_status loadgen_judge(loadgen_row *row, const double *latency_us, long n) {
    nrps_status st = stats_compute(latency_us, n, &row->latency_us);
    if (st != NRPS_OK) return st;
    double bound = row->latency_bound_us;
    int slow = row->latency_us.p99 > bound, late = row->issue_lag_p99_us > bound;
    row->valid = !slow && !late;
    row->why[0] = '\0';
    size_t k = 0;
    if (slow) k = (size_t)snprintf(row->why, sizeof row->why, "p99 %.1f us > bound %g us", row->latency_us.p99, bound);
    if (late && k < sizeof row->why)
        snprintf(row->why + k, sizeof row->why - k, "%sthe load generator issued late: p99 lag %.1f us > bound %g us",
                 slow ? "; " : "", row->issue_lag_p99_us, bound);
    return NRPS_OK;
}

/* ---- the Server scenario ---- */

/* One query in flight: its outputs (written by the server only) and its request on cache lines of their own. */
typedef struct {
    _Alignas(64) float policy[RPS_POLICY_SIZE], value;
    _Alignas(64) eval_request req;
} lg_slot;

typedef struct {
    eval_service *svc;
    const rps_state *pos;
    int npos;
    long n;
    uint64_t t0, *at;        /* start (ns) and the schedule (ns after t0) */
    double *lat, *lag;       /* per query, us */
    lg_slot *ring;           /* LOADGEN_IN_FLIGHT slots */
    uint64_t last_done;
    nrps_status err;                         /* the first error */
    char msg[EVAL_SERVICE_ERROR_LEN + 64];   /* and its message */
} lg_run;

/* Spins until due (sleeping only while it is more than 5 ms away: a sleeping virtual CPU can take a millisecond and
 * more to wake); returns the clock. */
static uint64_t wait_until(uint64_t due) {
    for (;;) {
        uint64_t now = nrps_now_ns();
        if (now >= due) return now;
        if (due - now > 5000000) {
            uint64_t ns = due - now - 2000000;
            struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
            nanosleep(&ts, NULL);
        }
    }
}

/* Waits for query j (in its slot) and records its latency and issue lag, or the run's first error. */
static void harvest(lg_run *r, long j) {
    eval_request *q = &r->ring[j % LOADGEN_IN_FLIGHT].req;
    nrps_status st = eval_request_done(q) ? q->status : eval_request_wait(q);
    if (st != NRPS_OK) {
        if (r->err == NRPS_OK) snprintf(r->msg, sizeof r->msg, "loadgen: query %ld: %s", j, q->error);
        if (r->err == NRPS_OK) r->err = st;
        return;
    }
    r->lat[j] = (double)(int64_t)(q->done_ns - (r->t0 + r->at[j])) * 1e-3;
    if (q->done_ns > r->last_done) r->last_done = q->done_ns;
}

/* Submits query i from its slot at its scheduled time and records the issue lag: how late the submit was after
 * the later of its time and `ready`, when the issuer last stopped waiting for a slot to come free (that wait is the
 * service's backlog, not the issuer's lateness). */
static nrps_status issue(lg_run *r, long i, uint64_t ready) {
    lg_slot *s = &r->ring[i % LOADGEN_IN_FLIGHT];
    s->req.states = &r->pos[i % r->npos];
    s->req.n = 1;
    s->req.policy = s->policy;
    s->req.value = &s->value;
    uint64_t due = r->t0 + r->at[i], now = wait_until(due), from = ready > due ? ready : due;
    r->lag[i] = now > from ? (double)(now - from) * 1e-3 : 0;
    nrps_status st = eval_service_submit(r->svc, &s->req);
    if (st != NRPS_OK) snprintf(r->msg, sizeof r->msg, "loadgen: query %ld: %s", i, nrps_last_error());
    return st;
}

/* Issues every query at its time (a slot is reused once its query is harvested), then waits for every query
 * submitted, also after an error (the ring must not be freed under the service). */
static nrps_status issue_all(lg_run *r) {
    long i = 0;
    uint64_t ready = 0; /* when the issuer last stopped waiting for a slot */
    for (; i < r->n; i++) {
        if (i >= LOADGEN_IN_FLIGHT) {
            int waited = !eval_request_done(&r->ring[i % LOADGEN_IN_FLIGHT].req);
            harvest(r, i - LOADGEN_IN_FLIGHT);
            if (waited) ready = nrps_now_ns();
        }
        if (r->err != NRPS_OK || (r->err = issue(r, i, ready)) != NRPS_OK) break;
    }
    for (long j = i > LOADGEN_IN_FLIGHT ? i - LOADGEN_IN_FLIGHT : 0; j < i; j++) harvest(r, j);
    if (r->err != NRPS_OK) nrps_set_error("%s", r->msg); /* after the waits, which raise their own messages */
    return r->err;
}

static void run_free(lg_run *r) {
    free(r->at);
    free(r->lat);
    free(r->lag);
    free(r->ring);
}

/* Allocates the run's arrays and makes the schedule. */
static nrps_status run_alloc(lg_run *r, const loadgen_server_config *cfg) {
    nrps_status st = loadgen_schedule_length(cfg, &r->n);
    if (st != NRPS_OK) return st;
    size_t n = (size_t)r->n;
    r->at = malloc(n * sizeof *r->at);
    r->lat = malloc(n * sizeof *r->lat);
    r->lag = malloc(n * sizeof *r->lag);
    r->ring = aligned_alloc(64, LOADGEN_IN_FLIGHT * sizeof *r->ring);
    if (!r->at || !r->lat || !r->lag || !r->ring) {
        nrps_set_error("loadgen: out of memory for %ld queries", r->n);
        return NRPS_ERR_NOMEM;
    }
    memset(r->ring, 0, LOADGEN_IN_FLIGHT * sizeof *r->ring); /* every page touched before the run: no page faults */
    memset(r->lat, 0, n * sizeof *r->lat);
    memset(r->lag, 0, n * sizeof *r->lag);
    nrps_rng rng;
    nrps_rng_seed(&rng, cfg->seed);
    loadgen_poisson_schedule(&rng, cfg->target_rate, r->n, r->at);
    return NRPS_OK;
}

/* The row's fields that do not come from the latencies. */
static void row_init(loadgen_row *row, const loadgen_server_config *cfg, const eval_service *svc) {
    memset(row, 0, sizeof *row);
    snprintf(row->scenario, sizeof row->scenario, "server");
    snprintf(row->backend, sizeof row->backend, "%s", cfg->backend ? cfg->backend : "");
    row->target_rate = cfg->target_rate;
    row->latency_bound_us = cfg->latency_bound_us;
    eval_service_config sc = eval_service_get_config(svc);
    row->max_batch = sc.max_batch;
    row->wait_us = sc.wait_us;
}

/* What the service did between two snapshots. */
static void row_service(loadgen_row *row, const eval_service_stats *a, const eval_service_stats *b) {
    uint64_t batches = b->batches - a->batches;
    row->mean_batch = batches ? (double)(b->states - a->states) / (double)batches : 0;
    double wall = b->wall_s - a->wall_s;
    row->busy_share = wall > 0 ? (b->busy_share * b->wall_s - a->busy_share * a->wall_s) / wall : 0;
    row->idle_share = wall > 0 ? (b->idle_share * b->wall_s - a->idle_share * a->wall_s) / wall : 0;
}

nrps_status loadgen_server_run(eval_service *svc, const rps_state *positions, int n_positions,
                               const loadgen_server_config *cfg, loadgen_row *row) {
    nrps_status st = loadgen_server_config_check(cfg);
    if (st != NRPS_OK) return st;
    if (!svc || !positions || n_positions < 1) {
        nrps_set_error("loadgen: no service or no positions");
        return NRPS_ERR_ARG;
    }
    row_init(row, cfg, svc);
    lg_run r = {.svc = svc, .pos = positions, .npos = n_positions};
    if ((st = run_alloc(&r, cfg)) != NRPS_OK) goto done;
    eval_service_stats s0, s1;
    eval_service_stats_get(svc, &s0);
    r.t0 = nrps_now_ns() + 100000; /* 100 us to the first query: the schedule starts from a quiet service */
    if ((st = issue_all(&r)) != NRPS_OK) goto done;
    eval_service_stats_get(svc, &s1);
    row_service(row, &s0, &s1);
    row->queries = r.n;
    row->duration_s = (double)(r.last_done - r.t0) * 1e-9;
    row->evals_per_s = row->duration_s > 0 ? (double)r.n / row->duration_s : 0;
    row->scheduled_rate = r.at[r.n - 1] ? (double)r.n / ((double)r.at[r.n - 1] * 1e-9) : 0;
    if ((st = p99_of(r.lag, r.n, &row->issue_lag_p99_us)) == NRPS_OK) st = loadgen_judge(row, r.lat, r.n);
done:
    run_free(&r);
    return st;
}

/* ---- the peak search ---- */

loadgen_peak_config loadgen_peak_config_default(void) {
    return (loadgen_peak_config){.low_rate = 10000, .high_rate = 4000000, .max_runs = 12, .tolerance = 0.02};
}

static nrps_status peak_check(const loadgen_peak_config *pc) {
    if (!(pc->low_rate > 0 && pc->high_rate > pc->low_rate) || pc->max_runs < 2 || !(pc->tolerance > 0)) {
        nrps_set_error("loadgen: find-peak needs 0 < low_rate < high_rate, max_runs >= 2 and tolerance > 0 "
                       "(got %g, %g, %d, %g)", pc->low_rate, pc->high_rate, pc->max_runs, pc->tolerance);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

/* Runs rate into runs[*n_runs]; returns its validity through *valid. */
static nrps_status peak_run(loadgen_run_fn run, void *ctx, double rate, loadgen_row *runs, int *n_runs, int *valid) {
    loadgen_row *row = &runs[*n_runs];
    nrps_status st = run(ctx, rate, row);
    if (st != NRPS_OK) return st;
    (*n_runs)++;
    *valid = row->valid;
    return NRPS_OK;
}

nrps_status loadgen_find_peak(loadgen_run_fn run, void *ctx, const loadgen_peak_config *pc, loadgen_row *runs,
                              int *n_runs, int *best) {
    *n_runs = 0;
    *best = -1;
    nrps_status st = peak_check(pc);
    int valid;
    if (st != NRPS_OK || (st = peak_run(run, ctx, pc->low_rate, runs, n_runs, &valid)) != NRPS_OK || !valid)
        return st;
    *best = 0;
    double lo = pc->low_rate, hi = pc->high_rate;
    if ((st = peak_run(run, ctx, hi, runs, n_runs, &valid)) != NRPS_OK || valid) {
        if (st == NRPS_OK) *best = 1;
        return st;
    }
    while (*n_runs < pc->max_runs && hi / lo - 1 > pc->tolerance) {
        double mid = sqrt(lo * hi);
        if ((st = peak_run(run, ctx, mid, runs, n_runs, &valid)) != NRPS_OK) return st;
        if (valid) lo = mid, *best = *n_runs - 1;
        else hi = mid;
    }
    return NRPS_OK;
}

typedef struct {
    eval_service *svc;
    const rps_state *pos;
    int npos;
    loadgen_server_config cfg;
} server_peak_ctx;

static nrps_status server_peak_run(void *ctx, double rate, loadgen_row *row) {
    server_peak_ctx *c = ctx;
    c->cfg.target_rate = rate;
    return loadgen_server_run(c->svc, c->pos, c->npos, &c->cfg, row);
}

nrps_status loadgen_server_find_peak(eval_service *svc, const rps_state *positions, int n_positions,
                                     const loadgen_server_config *cfg, const loadgen_peak_config *pc,
                                     loadgen_row *runs, int *n_runs, int *best) {
    server_peak_ctx c = {svc, positions, n_positions, *cfg};
    return loadgen_find_peak(server_peak_run, &c, pc, runs, n_runs, best);
}
