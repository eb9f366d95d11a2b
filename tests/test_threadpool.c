/* test_threadpool.c - the persistent worker pool (src/util/threadpool.h): every task of every call runs exactly
 * once on its own thread, task 0 on the caller, calls return only when all tasks are done (many back-to-back calls,
 * fewer tasks than threads, workers that fell asleep between calls, no spinning at all), bad arguments refused;
 * a native-cpu plan splitting its batches over a pool agrees with the reference. Run under TSan by make test-tsan. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "backend/cpu_kernels.h"
#include "check.h"
#include "nn/net.h"
#include "util/threadpool.h"

enum { MAXT = 8 };

typedef struct {
    atomic_int count[MAXT];   /* runs of each task in this call */
    pthread_t who[MAXT];      /* the thread that ran it */
    long long sum[MAXT];      /* plain memory written by the task, read by the caller after the call */
    int call;
} call_ctx;

static void task_fn(void *ctx, int t) {
    call_ctx *c = ctx;
    atomic_fetch_add(&c->count[t], 1);
    c->who[t] = pthread_self();
    long long s = 0;
    for (int i = 0; i < 1000 * (t + 1); i++) s += i ^ c->call;
    c->sum[t] = s;
}

static long long expected_sum(int t, int call) {
    long long s = 0;
    for (int i = 0; i < 1000 * (t + 1); i++) s += i ^ call;
    return s;
}

/* n calls of `tasks` tasks on p; every task once per call, on distinct threads, its writes visible. */
static int run_calls(nrps_pool *p, int tasks, int n, int sleep_us) {
    int bad = 0;
    for (int call = 0; call < n; call++) {
        call_ctx c;
        memset(&c, 0, sizeof c);
        c.call = call;
        nrps_pool_run(p, tasks, task_fn, &c);
        for (int t = 0; t < tasks; t++) {
            bad += atomic_load(&c.count[t]) != 1 || c.sum[t] != expected_sum(t, call);
            for (int u = 0; u < t; u++) bad += pthread_equal(c.who[t], c.who[u]) != 0;
        }
        for (int t = tasks; t < MAXT; t++) bad += atomic_load(&c.count[t]) != 0;
        bad += !pthread_equal(c.who[0], pthread_self());
        if (sleep_us) nanosleep(&(struct timespec){0, sleep_us * 1000L}, NULL);
    }
    return bad;
}

static void test_every_task_once(void) {
    for (int threads = 1; threads <= 4; threads++) {
        nrps_pool *p = NULL;
        REQUIRE(nrps_pool_create(threads, NRPS_POOL_SPIN_US_DEFAULT, &p) == NRPS_OK && p);
        CHECK(nrps_pool_threads(p) == threads);
        for (int tasks = 1; tasks <= threads; tasks++) CHECK_MSG(run_calls(p, tasks, 300, 0) == 0, "%d/%d", tasks, threads);
        nrps_pool_destroy(p);
    }
}

/* Spin 0: every worker sleeps between calls, so each call goes through the condition variable. */
static void test_sleeping_workers(void) {
    nrps_pool *p = NULL;
    REQUIRE(nrps_pool_create(3, 0, &p) == NRPS_OK);
    CHECK(run_calls(p, 3, 200, 0) == 0);
    CHECK(run_calls(p, 2, 20, 2000) == 0); /* 2 ms apart: asleep for sure */
    nrps_pool_destroy(p);
    REQUIRE(nrps_pool_create(2, 50, &p) == NRPS_OK); /* spin 50 us, calls 1 ms apart: spin ends, then sleep */
    CHECK(run_calls(p, 2, 30, 1000) == 0);
    nrps_pool_destroy(p);
}

static void test_null_pool_runs_on_caller(void) {
    call_ctx c;
    memset(&c, 0, sizeof c);
    nrps_pool_run(NULL, 1, task_fn, &c);
    CHECK(atomic_load(&c.count[0]) == 1 && pthread_equal(c.who[0], pthread_self()));
    CHECK(nrps_pool_threads(NULL) == 1);
    nrps_pool_destroy(NULL);
}

/* A native-cpu plan of 2 threads splitting batches over its pool (what TSan checks the hand-off of): the same
 * outputs as nn_forward at batches on both sides of the split threshold, many calls in a row. */
static void test_plan_split_over_pool(void) {
    int w[2] = {128, 9};
    nn_arch a = nn_arch_mlp(81, w, 1, NN_ACT_RELU, 0, 9, NN_ACT_SOFTMAX, NN_HEAD_POLICY);
    nn_net n;
    REQUIRE(nn_init(&n, &a) == NRPS_OK);
    nrps_rng r;
    nrps_rng_seed(&r, 3);
    for (size_t i = 0; i < n.n_params; i++) n.params[i] = (float)(nrps_rng_uniform(&r) - 0.5);
    enum { B = 300 };
    static float x[B * 81], got[B * 9], ref[B * 9];
    for (int i = 0; i < B * 81; i++) x[i] = nrps_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
    cpu_plan *p = NULL;
    REQUIRE(cpu_plan_create_threads(&n, B, 2, 20, &p) == NRPS_OK);
    CHECK(cpu_plan_split_from(p) > 1 && cpu_plan_split_from(p) < B);
    static const int batches[5] = {1, 7, 40, 161, B};
    float *yg[1] = {got}, *yr[1] = {ref};
    int bad = 0;
    for (int k = 0; k < 40; k++) {
        int b = batches[k % 5];
        REQUIRE(cpu_plan_run(p, x, b, yg) == NRPS_OK && nn_forward(&n, x, b, yr, NULL) == NRPS_OK);
        for (int i = 0; i < b * 9; i++) bad += !(fabsf(got[i] - ref[i]) <= 1e-5f + 1e-4f * fabsf(ref[i]));
    }
    CHECK(bad == 0);
    cpu_plan_destroy(p);
    nn_free(&n);
}

static void test_bad_arguments(void) {
    nrps_pool *p = (nrps_pool *)&p;
    CHECK(nrps_pool_create(0, 0, &p) == NRPS_ERR_ARG && p == NULL);
    CHECK(strstr(nrps_last_error(), "threads") != NULL);
    CHECK(nrps_pool_create(257, 0, &p) == NRPS_ERR_ARG && p == NULL);
    CHECK(nrps_pool_create(2, -1, &p) == NRPS_ERR_ARG && p == NULL);
    CHECK(nrps_pool_create(2, 0, NULL) == NRPS_ERR_ARG);
}

int main(void) {
    RUN(test_every_task_once);
    RUN(test_sleeping_workers);
    RUN(test_null_pool_runs_on_caller);
    RUN(test_plan_split_over_pool);
    RUN(test_bad_arguments);
    return check_summary("threadpool");
}
