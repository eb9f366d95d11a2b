/* test_loadgen.c - the scenario statistics (the binomial query count, the verdict and its reasons on known
 * samples), the Poisson schedule (mean rate, dispersion, determinism), the Server scenario against a fast fake
 * evaluator (VALID at a low rate), a slow one (INVALID, with the reason) and a failing one (the query's error), and
 * the peak bisection on a fake whose validity threshold is known, then on a real run.
 *
 * `test_loadgen --bench [max_batch [wait_us [low high [bound_us [seconds [net|fake]]]]]]` (from the repository
 * root): the highest Server-scenario rate VALID at p99 <= bound_us (default 100) through the default models on
 * native-cpu (net, the default; fake: an evaluator that costs nothing, to see the service's and the load
 * generator's own cost) behind one eval_service (max_batch default 256, wait_us default 0), found by bisection
 * between low and high (default 200,000 .. 3,000,000 queries/s; high <= low: one run at low), every run printed.
 * The issuing thread runs on CPU 0 and the server on CPU 1 (NRPS_NO_PIN set: where the scheduler puts them). */
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "bench/loadgen.h"
#include "check.h"
#include "search/eval_net.h"

/* ---- fakes ---- */

typedef struct {
    mcts_evaluator ev;
    int delay_us;
    long fail_after; /* > 0: calls past this many states fail */
    atomic_long states;
} fake_eval;

static nrps_status fake_evaluate(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    fake_eval *f = ctx;
    if (f->fail_after && atomic_load(&f->states) >= f->fail_after) {
        nrps_set_error("fake: failed");
        return NRPS_ERR_BACKEND;
    }
    if (f->delay_us) {
        uint64_t end = nrps_now_ns() + (uint64_t)f->delay_us * 1000;
        while (nrps_now_ns() < end) {}
    }
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < RPS_POLICY_SIZE; p++) policy[i * RPS_POLICY_SIZE + p] = (float)states[i].ply / 9.0f;
        value[i] = 0.5f;
    }
    atomic_fetch_add(&f->states, n);
    return NRPS_OK;
}

static void fake_init(fake_eval *f, int max_batch, int delay_us) {
    memset(f, 0, sizeof *f);
    f->ev = (mcts_evaluator){.ctx = f, .evaluate = fake_evaluate, .max_batch = max_batch, .name = "fake"};
    f->delay_us = delay_us;
}

static eval_service *service(const mcts_evaluator *inner, int max_batch, int wait_us, int spin_us) {
    eval_service_config c = eval_service_config_default();
    c.max_batch = max_batch;
    c.wait_us = wait_us;
    c.spin_us = spin_us;
    return eval_service_create(inner, &c);
}

static loadgen_server_config server_cfg(double rate, double seconds, long min_queries, double bound_us) {
    loadgen_server_config c = loadgen_server_config_default();
    c.target_rate = rate;
    c.min_duration_s = seconds;
    c.min_queries = min_queries;
    c.latency_bound_us = bound_us;
    return c;
}

/* ---- statistics ---- */

static void test_min_queries(void) {
    CHECK(loadgen_min_queries(0.99, 2.576, 0.0005) == 262777); /* MLPerf's margin (1 - q) / 20 */
    CHECK_NEAR(loadgen_quantile_margin(0.99, 2.576, 20000), 0.0018124, 1e-6);
    CHECK_NEAR(loadgen_quantile_margin(0.99, 2.576, 262777), 0.0005, 1e-7);
    CHECK(loadgen_min_queries(0.5, 1.96, 0.01) == 9604); /* the textbook proportion sample size */
}

/* latency_us = a shuffle of 1..1000 us. */
static void shuffled_1_to_1000(double *x) {
    nrps_rng r;
    nrps_rng_seed(&r, 3);
    for (int i = 0; i < 1000; i++) x[i] = i + 1;
    for (int i = 999; i > 0; i--) {
        int j = (int)nrps_rng_below(&r, (uint32_t)i + 1);
        double t = x[i];
        x[i] = x[j], x[j] = t;
    }
}

static void test_judge_known_samples(void) {
    static double x[1000];
    shuffled_1_to_1000(x);
    loadgen_row row = {.latency_bound_us = 100};
    REQUIRE(loadgen_judge(&row, x, 1000) == NRPS_OK);
    CHECK_NEAR(row.latency_us.p50, 500.5, 1e-9); /* type 7: 1 + (n - 1) q */
    CHECK_NEAR(row.latency_us.p90, 900.1, 1e-9);
    CHECK_NEAR(row.latency_us.p99, 990.01, 1e-9);
    CHECK_NEAR(row.latency_us.p999, 999.001, 1e-9);
    CHECK_NEAR(row.latency_us.max, 1000, 0);
    CHECK_NEAR(row.latency_us.mean, 500.5, 1e-9);
    CHECK(!row.valid);
    CHECK_MSG(!strcmp(row.why, "p99 990.0 us > bound 100 us"), "why '%s'", row.why);
    row.latency_bound_us = 990.01;
    CHECK(loadgen_judge(&row, x, 1000) == NRPS_OK && row.valid && row.why[0] == '\0');
    row.issue_lag_p99_us = 2500;
    CHECK(loadgen_judge(&row, x, 1000) == NRPS_OK && !row.valid);
    CHECK_MSG(!strcmp(row.why, "the load generator issued late: p99 lag 2500.0 us > bound 990.01 us"), "why '%s'",
              row.why);
    row.latency_bound_us = 100;
    CHECK(loadgen_judge(&row, x, 1000) == NRPS_OK && !row.valid);
    CHECK_MSG(!strcmp(row.why, "p99 990.0 us > bound 100 us; the load generator issued late: p99 lag 2500.0 us > "
                               "bound 100 us"), "why '%s'", row.why);
    CHECK(loadgen_judge(&row, x, 0) == NRPS_ERR_ARG);
}

static void test_config_check(void) {
    loadgen_server_config c = loadgen_server_config_default();
    CHECK(loadgen_server_config_check(&c) == NRPS_OK);
    CHECK(c.min_queries == 20000 && c.min_duration_s == 1.0 && c.latency_bound_us == 100);
    c.target_rate = 0;
    CHECK(loadgen_server_config_check(&c) == NRPS_ERR_ARG);
    CHECK(!strcmp(nrps_last_error(), "loadgen: target_rate must be in (0, 1e9] queries/s, got 0"));
    c = loadgen_server_config_default();
    c.latency_bound_us = NAN;
    CHECK(loadgen_server_config_check(&c) == NRPS_ERR_ARG);
    c = loadgen_server_config_default();
    c.max_queries = 10;
    CHECK(loadgen_server_config_check(&c) == NRPS_ERR_ARG);
    CHECK(!strcmp(nrps_last_error(), "loadgen: max_queries 10 is below min_queries 20000"));
}

/* ---- the schedule ---- */

static void test_poisson_schedule(void) {
    enum { N = 200000 };
    static uint64_t at[N], again[N];
    const double rate = 1e5; /* mean gap 10 us */
    nrps_rng r;
    nrps_rng_seed(&r, 7);
    loadgen_poisson_schedule(&r, rate, N, at);
    double sum = 0, ss = 0, prev = 0;
    int monotone = at[0] > 0;
    for (long i = 0; i < N; i++) {
        double gap = (double)at[i] - prev;
        monotone &= gap >= 0;
        sum += gap, ss += gap * gap, prev = (double)at[i];
    }
    double mean = sum / N, cv = sqrt(ss / N - mean * mean) / mean;
    CHECK(monotone);
    CHECK_MSG(fabs(mean - 1e4) < 100, "mean gap %.1f ns (expected 10000)", mean);
    CHECK_MSG(fabs(cv - 1) < 0.02, "gap CV %.3f (exponential: 1)", cv);
    /* counts in 100 us windows: Poisson(10), variance / mean = 1 */
    static int count[N / 10 + 2];
    long windows = (long)(at[N - 1] / 100000);
    for (long i = 0; i < N; i++)
        if ((long)(at[i] / 100000) < windows) count[at[i] / 100000]++;
    double cs = 0, css = 0;
    for (long w = 0; w < windows; w++) cs += count[w], css += (double)count[w] * count[w];
    double cm = cs / (double)windows, disp = (css / (double)windows - cm * cm) / cm;
    CHECK_MSG(fabs(cm - 10) < 0.2 && fabs(disp - 1) < 0.05, "window mean %.2f, dispersion %.3f", cm, disp);
    nrps_rng_seed(&r, 7);
    loadgen_poisson_schedule(&r, rate, N, again);
    CHECK(!memcmp(at, again, sizeof at));
    nrps_rng_seed(&r, 8);
    loadgen_poisson_schedule(&r, rate, N, again);
    CHECK(memcmp(at, again, sizeof at) != 0);
}

static void test_schedule_length(void) {
    loadgen_server_config c = server_cfg(1000, 2.0, 10, 100);
    long n = 0;
    CHECK(loadgen_schedule_length(&c, &n) == NRPS_OK);
    CHECK_MSG(n > 1850 && n < 2150, "%ld queries for 2 s at 1000/s", n);
    c = server_cfg(1e6, 0.001, 5000, 100);
    CHECK(loadgen_schedule_length(&c, &n) == NRPS_OK && n == 5000);
    c = server_cfg(1e6, 10, 5000, 100);
    c.max_queries = 100000;
    CHECK(loadgen_schedule_length(&c, &n) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "needs more than max_queries (100000)") != NULL);
}

/* ---- the Server scenario ---- */

static void check_row_shape(const loadgen_row *row) {
    const bench_stats *l = &row->latency_us;
    CHECK(!strcmp(row->scenario, "server"));
    CHECK(l->n == row->queries && l->min > 0);
    CHECK(l->p50 <= l->p90 && l->p90 <= l->p99 && l->p99 <= l->p999 && l->p999 <= l->max);
    CHECK_MSG(row->mean_batch >= 1 && row->busy_share > 0 && row->idle_share >= 0 &&
                  row->busy_share + row->idle_share <= 1.0 + 1e-9,
              "mean batch %.2f, busy %.6f, idle %.6f", row->mean_batch, row->busy_share, row->idle_share);
}

static void test_valid_at_low_rate(void) {
    static rps_state pos[64];
    rps_random_positions(pos, 64, 1);
    fake_eval f;
    fake_init(&f, 16, 0);
    eval_service *s = service(&f.ev, 16, 0, 100);
    REQUIRE(s);
    loadgen_server_config c = server_cfg(5000, 0.2, 500, 50000); /* a loose bound: sanitizers, a busy machine */
    c.backend = "fake-fast";
    loadgen_row row;
    REQUIRE(loadgen_server_run(s, pos, 64, &c, &row) == NRPS_OK);
    check_row_shape(&row);
    CHECK_MSG(row.valid && row.why[0] == '\0', "why '%s'", row.why);
    CHECK(row.idle_share > 0.5); /* 5000 free queries a second leave the server idle */
    CHECK(!strcmp(row.backend, "fake-fast") && row.max_batch == 16 && row.wait_us == 0 && row.target_rate == 5000);
    CHECK(row.queries >= 900 && row.duration_s >= 0.2 && atomic_load(&f.states) == row.queries);
    CHECK_MSG(fabs(row.evals_per_s / 5000 - 1) < 0.15 && fabs(row.scheduled_rate / 5000 - 1) < 0.15,
              "%.0f evals/s, %.0f scheduled, at 5000/s", row.evals_per_s, row.scheduled_rate);
    printf("  fast fake at 5000/s: p50 %.1f us, p99 %.1f us, max %.1f us, mean batch %.2f\n", row.latency_us.p50,
           row.latency_us.p99, row.latency_us.max, row.mean_batch);
    eval_service_destroy(s);
}

static void test_invalid_when_slow(void) {
    static rps_state pos[64];
    rps_random_positions(pos, 64, 2);
    fake_eval f;
    fake_init(&f, 1, 200); /* one state per 200 us call: 5000 evaluations/s at most */
    eval_service *s = service(&f.ev, 1, 0, 100);
    REQUIRE(s);
    loadgen_server_config c = server_cfg(20000, 0.1, 1000, 1000);
    loadgen_row row;
    REQUIRE(loadgen_server_run(s, pos, 64, &c, &row) == NRPS_OK);
    check_row_shape(&row);
    CHECK(!row.valid);
    CHECK_MSG(!strncmp(row.why, "p99 ", 4) && strstr(row.why, " us > bound 1000 us"), "why '%s'", row.why);
    CHECK(row.evals_per_s < 6000 && row.mean_batch == 1);
    CHECK(row.latency_us.max > 100000); /* the backlog counts: 2000 queries take >= 0.4 s, scheduled over 0.1 s */
    CHECK(row.idle_share < 0.2);        /* a saturated server hardly waits */
    printf("  slow fake at 20000/s: %s, %.0f evals/s\n", row.why, row.evals_per_s);
    eval_service_destroy(s);
}

/* An inner evaluator that starts failing mid-run: the run stops with the query's error, after every query in
 * flight came back (ASan would see the ring freed under the service). */
static void test_query_error(void) {
    static rps_state pos[64];
    rps_random_positions(pos, 64, 3);
    fake_eval f;
    fake_init(&f, 8, 0);
    f.fail_after = 300;
    eval_service *s = service(&f.ev, 8, 0, 100);
    REQUIRE(s);
    loadgen_server_config c = server_cfg(50000, 0.05, 1000, 1000);
    loadgen_row row;
    CHECK(loadgen_server_run(s, pos, 64, &c, &row) == NRPS_ERR_BACKEND);
    CHECK_MSG(!strncmp(nrps_last_error(), "loadgen: query ", 15) && strstr(nrps_last_error(), ": fake: failed"),
              "got '%s'", nrps_last_error());
    eval_service_destroy(s);
}

/* ---- the peak search ---- */

typedef struct {
    double threshold; /* VALID iff rate <= threshold */
    int calls, fail_at;
} fake_run_ctx;

static nrps_status fake_run(void *ctx, double rate, loadgen_row *row) {
    fake_run_ctx *c = ctx;
    if (++c->calls == c->fail_at) {
        nrps_set_error("fake run failed");
        return NRPS_ERR_BACKEND;
    }
    memset(row, 0, sizeof *row);
    row->target_rate = rate;
    row->valid = rate <= c->threshold;
    return NRPS_OK;
}

static void test_find_peak_fake(void) {
    loadgen_peak_config pc = {.low_rate = 1000, .high_rate = 100000, .max_runs = 12, .tolerance = 0.02};
    loadgen_row runs[12];
    int n, best;
    fake_run_ctx c = {.threshold = 12345};
    REQUIRE(loadgen_find_peak(fake_run, &c, &pc, runs, &n, &best) == NRPS_OK);
    CHECK(n == c.calls && n <= 12 && runs[0].target_rate == 1000 && runs[1].target_rate == 100000);
    REQUIRE(best >= 0 && best < n);
    CHECK(runs[best].valid && runs[best].target_rate <= 12345);
    CHECK_MSG(runs[best].target_rate >= 12345 / 1.02, "peak %.1f for a threshold of 12345", runs[best].target_rate);
    for (int k = 0; k < n; k++) CHECK(runs[k].valid == (runs[k].target_rate <= 12345));
    for (int k = 0; k < n; k++) CHECK(!runs[k].valid || runs[k].target_rate <= runs[best].target_rate);
    c = (fake_run_ctx){.threshold = 500}; /* nothing valid */
    CHECK(loadgen_find_peak(fake_run, &c, &pc, runs, &n, &best) == NRPS_OK && n == 1 && best == -1);
    c = (fake_run_ctx){.threshold = 1e6}; /* everything valid */
    CHECK(loadgen_find_peak(fake_run, &c, &pc, runs, &n, &best) == NRPS_OK && n == 2 && best == 1);
    pc.max_runs = 4;
    c = (fake_run_ctx){.threshold = 12345};
    CHECK(loadgen_find_peak(fake_run, &c, &pc, runs, &n, &best) == NRPS_OK && n == 4 && runs[best].valid);
    c = (fake_run_ctx){.threshold = 12345, .fail_at = 3};
    CHECK(loadgen_find_peak(fake_run, &c, &pc, runs, &n, &best) == NRPS_ERR_BACKEND && n == 2);
    pc.low_rate = 0;
    CHECK(loadgen_find_peak(fake_run, &c, &pc, runs, &n, &best) == NRPS_ERR_ARG);
}

/* The real bisection against a 100 us-per-state fake (10,000 evaluations/s at most): a peak under capacity. */
static void test_server_find_peak(void) {
    static rps_state pos[64];
    rps_random_positions(pos, 64, 4);
    fake_eval f;
    fake_init(&f, 1, 100);
    eval_service *s = service(&f.ev, 1, 0, 100);
    REQUIRE(s);
    loadgen_server_config c = server_cfg(0, 0.05, 200, 50000); /* loose: only 10x capacity fails */
    loadgen_peak_config pc = {.low_rate = 1000, .high_rate = 100000, .max_runs = 4, .tolerance = 0.02};
    loadgen_row runs[4];
    int n, best;
    REQUIRE(loadgen_server_find_peak(s, pos, 64, &c, &pc, runs, &n, &best) == NRPS_OK);
    CHECK(n == 4 && runs[0].valid && !runs[1].valid);
    REQUIRE(best >= 0);
    CHECK_MSG(runs[best].target_rate < 20000, "VALID at %.0f/s against 10000/s capacity", runs[best].target_rate);
    for (int k = 0; k < n; k++) printf("  run %d: %.0f/s %s %s\n", k, runs[k].target_rate,
                                       runs[k].valid ? "VALID" : "INVALID", runs[k].why);
    eval_service_destroy(s);
}

/* ---- --bench ---- */

static void print_row(const loadgen_row *r) {
    printf("%9.0f/s %-7s %10.0f evals/s  p50 %6.1f p90 %6.1f p99 %7.1f p999 %8.1f max %9.1f us  batch %5.1f  "
           "server: inner %3.0f%% own %3.0f%% idle %3.0f%%  lag99 %5.1f us  %s\n",
           r->target_rate, r->valid ? "VALID" : "INVALID", r->evals_per_s, r->latency_us.p50, r->latency_us.p90,
           r->latency_us.p99, r->latency_us.p999, r->latency_us.max, r->mean_batch, 100 * r->busy_share,
           100 * (1 - r->busy_share - r->idle_share), 100 * r->idle_share, r->issue_lag_p99_us, r->why);
    fflush(stdout);
}

static nrps_status bench_run(void *ctx, double rate, loadgen_row *row) {
    void **a = ctx;
    loadgen_server_config c = *(loadgen_server_config *)a[2];
    c.target_rate = rate;
    nrps_status st = loadgen_server_run(a[0], a[1], 65536, &c, row);
    if (st == NRPS_OK) print_row(row);
    return st;
}

/* The inner evaluator's own cost per state at batch b (best of a few tries), for where time goes. */
static void bench_direct(const mcts_evaluator *ev, const rps_state *pos, int max_batch) {
    static float pol[4096 * RPS_POLICY_SIZE], val[4096];
    for (int b = 1; b <= max_batch; b *= 4) {
        double best = 1e30, sum = 0;
        for (int rep = 0; rep < 200; rep++) {
            uint64_t t0 = nrps_now_ns();
            ev->evaluate(ev->ctx, pos + rep * b % 60000, b, pol, val);
            double ns = (double)(nrps_now_ns() - t0) / b;
            sum += ns;
            if (ns < best) best = ns;
        }
        printf("  direct evaluator at batch %4d: %7.1f ns per state best, %7.1f mean (%.2f M states/s at best)\n", b,
               best, sum / 200, 1e3 / best);
    }
}

static int bench(int argc, char **argv) {
    int max_batch = argc > 2 ? atoi(argv[2]) : 256, wait_us = argc > 3 ? atoi(argv[3]) : 0;
    double lo = argc > 5 ? atof(argv[4]) : 200000, hi = argc > 5 ? atof(argv[5]) : 3000000;
    double bound = argc > 6 ? atof(argv[6]) : 100, secs = argc > 7 ? atof(argv[7]) : 1.0;
    eval_net_spec spec = {.policy_path = "models/rps_policy.onnx", .value_path = "models/rps_value.onnx",
                          .backend = "native-cpu", .opt = be_options_default()};
    int fake = argc > 8 && !strcmp(argv[8], "fake"), pin = !getenv("NRPS_NO_PIN");
    eval_net *net = eval_net_open(&spec, max_batch);
    if (!net) {
        fprintf(stderr, "%s\n", nrps_last_error());
        return 1;
    }
    static rps_state pos[65536];
    rps_random_positions(pos, 65536, 99);
    static fake_eval f;
    fake_init(&f, max_batch, 0);
    const mcts_evaluator *inner = fake ? &f.ev : eval_net_evaluator(net);
    bench_direct(inner, pos, max_batch);
    eval_service_config sc = eval_service_config_default();
    sc.max_batch = max_batch, sc.wait_us = wait_us, sc.spin_us = EVAL_SERVICE_MAX_US;
    sc.server_cpu = pin ? 1 : -1;
    eval_service *s = eval_service_create(inner, &sc);
    if (!s) {
        fprintf(stderr, "%s\n", nrps_last_error());
        return 1;
    }
    if (pin) { /* the issuing thread on CPU 0, the server on CPU 1 */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    loadgen_server_config c = server_cfg(0, secs, 20000, bound);
    loadgen_peak_config pc = {.low_rate = lo, .high_rate = hi, .max_runs = 12, .tolerance = 0.02};
    loadgen_row runs[12];
    int n, best;
    void *ctx[3] = {s, pos, &c};
    printf("Server scenario, %s, max_batch %d, wait_us %d, p99 bound %g us, >= %g s per run\n",
           fake ? "a fake evaluator (no work)" : "native-cpu eval_net", max_batch, wait_us, bound, secs);
    if (hi <= lo) { /* one run at low */
        loadgen_row row;
        nrps_status st = bench_run(ctx, lo, &row);
        if (st != NRPS_OK) fprintf(stderr, "%s\n", nrps_last_error());
        eval_service_destroy(s);
        eval_net_destroy(net);
        return st != NRPS_OK;
    }
    nrps_status st = loadgen_find_peak(bench_run, ctx, &pc, runs, &n, &best);
    if (st != NRPS_OK) fprintf(stderr, "%s\n", nrps_last_error());
    else if (best < 0) printf("no VALID rate in [%g, %g]\n", lo, hi);
    else printf("peak: %.0f queries/s VALID (%.0f evals/s achieved, p99 %.1f us)\n", runs[best].target_rate,
                runs[best].evals_per_s, runs[best].latency_us.p99);
    eval_service_destroy(s);
    eval_net_destroy(net);
    return st != NRPS_OK;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--bench")) return bench(argc, argv);
    RUN(test_min_queries);
    RUN(test_judge_known_samples);
    RUN(test_config_check);
    RUN(test_poisson_schedule);
    RUN(test_schedule_length);
    RUN(test_valid_at_low_rate);
    RUN(test_invalid_when_slow);
    RUN(test_query_error);
    RUN(test_find_peak_fake);
    RUN(test_server_find_peak);
    return check_summary("loadgen");
}
