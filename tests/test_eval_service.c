/* test_eval_service.c - the batching evaluation service against a deterministic fake inner evaluator (outputs a
 * function of every field of the state; it counts its calls and states and notices a second caller): many threads
 * submitting random-size requests at random times (no request lost or run twice, every result right, batches
 * within max_batch and made of whole requests, one caller of the inner evaluator), the wait bound, a full batch
 * running at once, batching under load, shutdown and destroy with requests in flight, inner errors reaching every
 * request of the batch and the waiting thread, the NN cache (hits, near-identical states, partial hits, a tiny
 * cache), and a real eval_net (native-cpu, the default models) through the service against direct evaluation,
 * inside MCTS from two search threads. A watchdog alarm fails the suite if anything hangs. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "game/game.h"
#include "search/eval_net.h"
#include "search/eval_service.h"
#include "search/mcts.h"
#include "util/bytes.h"

/* ---- the fake inner evaluator ---- */

enum { FAKE_LOG = 64 };

typedef struct {
    mcts_evaluator ev;
    int delay_us;         /* busy-waits this long per call */
    int fail_round;       /* a call holding a state with this round fails (0: never) */
    atomic_int in_call;   /* callers inside evaluate */
    atomic_int overlaps;  /* calls that found another caller inside */
    atomic_long calls, states;
    atomic_int max_n;
    int sizes[FAKE_LOG];  /* the first FAKE_LOG batch sizes */
} fake_eval;

/* Every field of s hashed: two states that differ anywhere get different outputs (a wrong cache hit shows). */
static uint64_t state_hash(const rps_state *s) {
    int16_t f[64];
    int k = 0;
    f[k++] = (int16_t)s->cfg.deck_size, f[k++] = (int16_t)s->cfg.hand_size, f[k++] = (int16_t)s->cfg.max_rounds;
    for (int p = 0; p < RPS_CELLS; p++) f[k++] = (int16_t)(s->board[p].type * 4 + s->board[p].owner);
    for (int pl = 1; pl <= 2; pl++) {
        f[k++] = s->hand_len[pl];
        for (int i = 0; i < s->hand_len[pl]; i++) f[k++] = s->hand[pl][i];
    }
    f[k++] = s->to_move, f[k++] = s->round, f[k++] = s->ply;
    return nrps_fnv1a64(f, (size_t)k * sizeof *f);
}

static void fake_out(const rps_state *s, float *pol, float *val) {
    uint64_t h = state_hash(s);
    for (int p = 0; p < RPS_POLICY_SIZE; p++) pol[p] = (float)((h >> (6 * p)) & 63) / 64.0f;
    *val = (float)(h >> 56) / 256.0f;
}

static void busy_us(int us) {
    uint64_t end = nrps_now_ns() + (uint64_t)us * 1000;
    while (nrps_now_ns() < end) {}
}

static nrps_status fake_evaluate(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    fake_eval *f = ctx;
    if (atomic_fetch_add(&f->in_call, 1) != 0) atomic_fetch_add(&f->overlaps, 1);
    long call = atomic_fetch_add(&f->calls, 1);
    if (call < FAKE_LOG) f->sizes[call] = n;
    atomic_fetch_add(&f->states, n);
    int m = atomic_load(&f->max_n);
    while (n > m && !atomic_compare_exchange_weak(&f->max_n, &m, n)) {}
    nrps_status st = n >= 1 && n <= f->ev.max_batch ? NRPS_OK : NRPS_ERR_ARG;
    for (int i = 0; i < n && st == NRPS_OK; i++) {
        if (f->fail_round && states[i].round == f->fail_round) {
            nrps_set_error("fake: poisoned state at round %d", f->fail_round);
            st = NRPS_ERR_BACKEND;
        }
        fake_out(&states[i], &policy[i * RPS_POLICY_SIZE], &value[i]);
    }
    if (f->delay_us) busy_us(f->delay_us);
    atomic_fetch_sub(&f->in_call, 1);
    return st;
}

static void fake_init(fake_eval *f, int max_batch, int delay_us) {
    memset(f, 0, sizeof *f);
    f->ev = (mcts_evaluator){.ctx = f, .evaluate = fake_evaluate, .max_batch = max_batch, .name = "fake"};
    f->delay_us = delay_us;
}

/* Number of states among n whose outputs differ from the fake's. */
static int wrong_outputs(const rps_state *states, int n, const float *pol, const float *val) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        float p[RPS_POLICY_SIZE], v;
        fake_out(&states[i], p, &v);
        bad += v != val[i] || memcmp(p, &pol[i * RPS_POLICY_SIZE], sizeof p) != 0;
    }
    return bad;
}

/* ---- positions ---- */

static eval_service_config cfg_make(int max_batch, int wait_us, int spin_us, double cache_mb) {
    eval_service_config c = eval_service_config_default();
    c.max_batch = max_batch;
    c.wait_us = wait_us;
    c.spin_us = spin_us;
    c.cache_mb = cache_mb;
    return c;
}

/* ---- configuration ---- */

static int first_cpu(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) return c;
    return -1;
}

static void check_refused(eval_service_config c, int inner_max, const char *msg) {
    CHECK(eval_service_config_check(&c, inner_max) == NRPS_ERR_ARG);
    CHECK_MSG(!strcmp(nrps_last_error(), msg), "got '%s'", nrps_last_error());
}

static void test_config(void) {
    eval_service_config c = eval_service_config_default();
    CHECK(eval_service_config_check(&c, 0) == NRPS_OK);
    CHECK(c.max_batch == 256 && c.wait_us == 0 && c.cache_mb == 0);
    check_refused(cfg_make(0, 0, 0, 0), 0, "eval service: max_batch must be in [1, 65536], got 0");
    check_refused(cfg_make(512, 0, 0, 0), 256, "eval service: max_batch 512 is more than the inner evaluator's 256");
    check_refused(cfg_make(8, -1, 0, 0), 0, "eval service: wait_us must be in [0, 1000000], got -1");
    check_refused(cfg_make(8, 0, 2000000, 0), 0, "eval service: spin_us must be in [0, 1000000], got 2000000");
    check_refused(cfg_make(8, 0, 0, -1), 0, "eval service: cache_mb must be in [0, 65536], got -1");
    check_refused(cfg_make(8, 0, 0, NAN), 0, "eval service: cache_mb must be in [0, 65536], got nan");
    fake_eval f;
    fake_init(&f, 16, 0);
    c = cfg_make(32, 0, 0, 0);
    CHECK(eval_service_create(&f.ev, &c) == NULL);
    CHECK(strstr(nrps_last_error(), "more than the inner evaluator's 16") != NULL);
    c.max_batch = 16;
    c.server_cpu = -2;
    check_refused(c, 0, "eval service: server_cpu must be -1 or in [0, 1023], got -2");
    c.server_cpu = 1000; /* no such CPU here */
    CHECK(eval_service_create(&f.ev, &c) == NULL);
    CHECK_MSG(!strcmp(nrps_last_error(), "eval service: cannot start the server thread on CPU 1000: Invalid argument"),
              "got '%s'", nrps_last_error());
    c.server_cpu = first_cpu(); /* one this process may run on */
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    const mcts_evaluator *ev = eval_service_evaluator(s);
    CHECK(ev->thread_safe == 1 && ev->max_batch == 16 && ev->evaluate_from == NULL && ev->evaluate);
    rps_state st[17];
    float pol[17 * 9], val[17];
    rps_random_positions(st, 17, 1);
    eval_request r = {.states = st, .n = 17, .policy = pol, .value = val};
    CHECK(eval_service_submit(s, &r) == NRPS_ERR_ARG);
    r.n = 0;
    CHECK(eval_service_submit(s, &r) == NRPS_ERR_ARG);
    CHECK(ev->evaluate(ev->ctx, st, 17, pol, val) == NRPS_ERR_ARG);
    CHECK(ev->evaluate(ev->ctx, st, 16, pol, val) == NRPS_OK);
    CHECK(wrong_outputs(st, 16, pol, val) == 0);
    eval_service_destroy(s);
    CHECK(atomic_load(&f.states) == 16);
}

/* ---- many clients ---- */

enum { POOL = 400, CLIENT_INFLIGHT = 4 };

typedef struct {
    eval_service *s;
    const rps_state *pool;
    int requests, max_n;
    uint64_t seed;
    long sent, states_sent, wrong, failed;
} client_job;

/* One async request of job j in slot k: n random pool states. */
typedef struct {
    eval_request r;
    rps_state st[64];
    float pol[64 * RPS_POLICY_SIZE], val[64];
} client_slot;

static void slot_fill(client_slot *c, const client_job *j, nrps_rng *rng) {
    int n = 1 + (int)nrps_rng_below(rng, (uint32_t)j->max_n);
    for (int i = 0; i < n; i++) c->st[i] = j->pool[nrps_rng_below(rng, POOL)];
    c->r = (eval_request){.states = c->st, .n = n, .policy = c->pol, .value = c->val};
}

static void slot_finish(client_slot *c, client_job *j) {
    if (eval_request_wait(&c->r) != NRPS_OK) j->failed++;
    else j->wrong += wrong_outputs(c->st, c->r.n, c->pol, c->val);
}

static void pause_random(nrps_rng *rng) {
    uint32_t k = nrps_rng_below(rng, 4);
    if (k == 1) busy_us((int)nrps_rng_below(rng, 30));
    else if (k == 2) usleep(nrps_rng_below(rng, 200));
}

/* Alternates blocking calls and bursts of async requests with random pauses. */
static void *client_main(void *arg) {
    client_job *j = arg;
    nrps_rng rng;
    nrps_rng_seed(&rng, j->seed);
    static _Thread_local client_slot slots[CLIENT_INFLIGHT];
    const mcts_evaluator *ev = eval_service_evaluator(j->s);
    for (int done = 0; done < j->requests;) {
        int burst = (int)nrps_rng_below(&rng, CLIENT_INFLIGHT + 1); /* 0: one blocking call */
        if (burst == 0) {
            slot_fill(&slots[0], j, &rng);
            if (ev->evaluate(ev->ctx, slots[0].st, slots[0].r.n, slots[0].pol, slots[0].val) != NRPS_OK) j->failed++;
            else j->wrong += wrong_outputs(slots[0].st, slots[0].r.n, slots[0].pol, slots[0].val);
            j->states_sent += slots[0].r.n;
            j->sent++;
            done++;
        }
        for (int k = 0; k < burst; k++) {
            slot_fill(&slots[k], j, &rng);
            if (eval_service_submit(j->s, &slots[k].r) != NRPS_OK) j->failed++;
            j->states_sent += slots[k].r.n;
            j->sent++;
            pause_random(&rng);
        }
        for (int k = 0; k < burst; k++) slot_finish(&slots[k], j);
        done += burst;
        pause_random(&rng);
    }
    return NULL;
}

/* Runs `threads` clients of `requests` each against a fresh service; returns the requests sent. */
static long run_clients(eval_service *s, const rps_state *pool, int threads, int requests, int max_n, long *states,
                        long *wrong, long *failed) {
    pthread_t t[16];
    client_job j[16];
    *states = *wrong = *failed = 0;
    for (int i = 0; i < threads; i++) {
        j[i] = (client_job){.s = s, .pool = pool, .requests = requests, .max_n = max_n, .seed = 100 + (uint64_t)i};
        pthread_create(&t[i], NULL, client_main, &j[i]);
    }
    long sent = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        *states += j[i].states_sent, *wrong += j[i].wrong, *failed += j[i].failed;
        sent += j[i].sent;
    }
    return sent;
}

static void many_clients(double cache_mb) {
    static rps_state pool[POOL];
    rps_random_positions(pool, POOL, 7);
    fake_eval f;
    fake_init(&f, 48, 5);
    eval_service_config c = cfg_make(40, 30, 20, cache_mb);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    long states, wrong, failed;
    long reqs = run_clients(s, pool, 6, 150, 40, &states, &wrong, &failed);
    eval_service_stats st;
    eval_service_stats_get(s, &st);
    CHECK(wrong == 0 && failed == 0);
    CHECK(atomic_load(&f.overlaps) == 0);
    CHECK(atomic_load(&f.max_n) <= 40 && st.max_batch_formed <= 40);
    CHECK((long)st.batches == atomic_load(&f.calls));
    CHECK((long)st.states == atomic_load(&f.states));
    if (cache_mb == 0) { /* every request and state went through the server once */
        CHECK(st.requests == (uint64_t)reqs);
        CHECK(st.states == (uint64_t)states);
        CHECK(st.cache_lookups == 0);
    } else { /* every state was looked up; the misses (and only they) reached the server */
        CHECK(st.cache_lookups == (uint64_t)states);
        CHECK(st.states + st.cache_hits == (uint64_t)states);
        CHECK(st.cache_hits > 0);
        CHECK(st.requests <= (uint64_t)reqs);
    }
    CHECK(st.failed_batches == 0 && st.busy_share > 0 && st.busy_share <= 1.0);
    printf("  cache %.0f MiB: %ld requests, %ld states, %llu batches, mean %.1f, max %d, hit rate %.2f, "
           "queue wait %.1f us\n",
           cache_mb, reqs, states, (unsigned long long)st.batches, st.mean_batch, st.max_batch_formed,
           st.cache_hit_rate, st.mean_queue_wait_us);
    eval_service_destroy(s);
}

static void test_many_clients(void) { many_clients(0); }
static void test_many_clients_cached(void) { many_clients(1); }

/* Blocking single-state clients against a slow inner evaluator: requests queue up and batches form. */
static void test_batches_form_under_load(void) {
    static rps_state pool[POOL];
    rps_random_positions(pool, POOL, 8);
    fake_eval f;
    fake_init(&f, 64, 100);
    eval_service_config c = cfg_make(64, 0, 50, 0);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    long states, wrong, failed;
    run_clients(s, pool, 8, 100, 1, &states, &wrong, &failed);
    eval_service_stats st;
    eval_service_stats_get(s, &st);
    CHECK(wrong == 0 && failed == 0);
    CHECK_MSG(st.mean_batch > 2.0, "mean batch %.2f with 8 clients and a 100 us evaluator", st.mean_batch);
    CHECK(st.mean_queue_wait_us > 0);
    printf("  8 clients: mean batch %.2f, max %d, busy %.0f%%\n", st.mean_batch, st.max_batch_formed,
           100 * st.busy_share);
    eval_service_destroy(s);
}

/* ---- the wait bound ---- */

static double lone_latency_us(eval_service *s, const rps_state *st, int n) {
    float pol[64 * RPS_POLICY_SIZE], val[64];
    eval_request r = {.states = st, .n = n, .policy = pol, .value = val};
    if (eval_service_submit(s, &r) != NRPS_OK || eval_request_wait(&r) != NRPS_OK) return -1;
    return (double)(r.done_ns - r.submit_ns) * 1e-3;
}

static void test_wait_bound(void) {
    rps_state st[8];
    rps_random_positions(st, 8, 3);
    fake_eval f;
    fake_init(&f, 8, 0);
    eval_service_config c = cfg_make(8, 200000, 50, 0);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    for (int k = 0; k < 3; k++) { /* a lone request waits the whole wait_us for company, then runs */
        double us = lone_latency_us(s, st, 1);
        CHECK_MSG(us >= 200000 && us < 200000 + 300000, "lone request answered after %.0f us (wait_us 200000)", us);
    }
    eval_service_stats sts;
    eval_service_stats_get(s, &sts); /* the server waited nearly all the time */
    CHECK_MSG(sts.idle_share > 0.5 && sts.busy_share + sts.idle_share <= 1.01, "idle %.3f busy %.3f", sts.idle_share,
              sts.busy_share);
    double full = lone_latency_us(s, st, 8); /* a full request does not wait */
    CHECK_MSG(full >= 0 && full < 100000, "a full request answered after %.0f us (wait_us 200000)", full);
    eval_service_destroy(s);
    c.wait_us = 0;
    s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    double us = lone_latency_us(s, st, 1);
    CHECK_MSG(us >= 0 && us < 200000, "wait_us 0: answered after %.0f us", us);
    eval_service_destroy(s);
}

/* Two requests that fill a batch together run at once; two that do not fit together run apart, whole. */
static void test_whole_requests(void) {
    rps_state st[16];
    rps_random_positions(st, 16, 4);
    float pol[16 * RPS_POLICY_SIZE], val[16];
    fake_eval f;
    fake_init(&f, 8, 0);
    eval_service_config c = cfg_make(8, 1000000, 50, 0);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    eval_request a = {.states = st, .n = 3, .policy = pol, .value = val};
    eval_request b = {.states = st + 3, .n = 5, .policy = pol + 27, .value = val + 3};
    uint64_t t0 = nrps_now_ns();
    CHECK(eval_service_submit(s, &a) == NRPS_OK && eval_service_submit(s, &b) == NRPS_OK);
    CHECK(eval_request_wait(&a) == NRPS_OK && eval_request_wait(&b) == NRPS_OK);
    CHECK_MSG(nrps_now_ns() - t0 < 500000000ull, "a full batch waited for wait_us (1 s)");
    CHECK(atomic_load(&f.calls) == 1 && f.sizes[0] == 8);
    CHECK(wrong_outputs(st, 8, pol, val) == 0);
    eval_service_destroy(s);
    fake_init(&f, 8, 0);
    c.wait_us = 20000;
    s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    a.n = 5;
    b = (eval_request){.states = st + 5, .n = 5, .policy = pol + 45, .value = val + 5};
    CHECK(eval_service_submit(s, &a) == NRPS_OK && eval_service_submit(s, &b) == NRPS_OK);
    CHECK(eval_request_wait(&a) == NRPS_OK && eval_request_wait(&b) == NRPS_OK);
    CHECK(atomic_load(&f.calls) == 2 && f.sizes[0] == 5 && f.sizes[1] == 5);
    CHECK(wrong_outputs(st, 10, pol, val) == 0);
    eval_service_destroy(s);
}

/* A reset while the server waits: the wait counts from the reset on; counters start again from zero. */
static void test_stats_reset(void) {
    rps_state st[4];
    rps_random_positions(st, 4, 5);
    float pol[4 * RPS_POLICY_SIZE], val[4];
    fake_eval f;
    fake_init(&f, 4, 0);
    eval_service_config c = cfg_make(4, 0, 0, 0);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    const mcts_evaluator *ev = eval_service_evaluator(s);
    CHECK(ev->evaluate(ev->ctx, st, 4, pol, val) == NRPS_OK);
    usleep(50000); /* the server sleeps */
    eval_service_stats_reset(s);
    usleep(20000);
    eval_service_stats a, b;
    eval_service_stats_get(s, &a);
    CHECK(a.requests == 0 && a.states == 0 && a.batches == 0 && a.max_batch_formed == 0);
    CHECK_MSG(a.idle_share > 0.5 && a.idle_share <= 1.0 && a.wall_s >= 0.019, "idle %.3f over %.3f s", a.idle_share,
              a.wall_s);
    CHECK(ev->evaluate(ev->ctx, st, 3, pol, val) == NRPS_OK);
    eval_service_stats_get(s, &b);
    CHECK(b.requests == 1 && b.states == 3 && b.batches == 1 && b.max_batch_formed == 3 && b.mean_batch == 3);
    CHECK(b.idle_share > 0.5 && b.idle_share + b.busy_share <= 1.0);
    eval_service_destroy(s);
}

/* ---- shutdown ---- */

typedef struct {
    eval_service *s;
    const rps_state *pool;
    uint64_t seed;
    long accepted, wrong, failed, refused, bad_refusal, states;
} stopper_job;

/* Submits rounds of async requests until the service refuses one; waits for each accepted one. */
static void *stopper_main(void *arg) {
    stopper_job *j = arg;
    static _Thread_local client_slot slots[8];
    client_job cj = {.pool = j->pool, .max_n = 4};
    nrps_rng rng;
    nrps_rng_seed(&rng, j->seed);
    while (!j->refused) {
        int k = 0;
        for (; k < 8; k++) {
            slot_fill(&slots[k], &cj, &rng);
            nrps_status st = eval_service_submit(j->s, &slots[k].r);
            if (st == NRPS_OK) continue;
            j->refused = 1;
            j->bad_refusal += st != NRPS_ERR_UNAVAILABLE || !strstr(nrps_last_error(), "shut down");
            break;
        }
        for (int i = 0; i < k; i++) {
            client_job acc = {0};
            slot_finish(&slots[i], &acc);
            j->wrong += acc.wrong, j->failed += acc.failed;
            j->states += slots[i].r.n;
        }
        j->accepted += k;
    }
    return NULL;
}

static void test_shutdown_in_flight(void) {
    static rps_state pool[POOL];
    rps_random_positions(pool, POOL, 9);
    fake_eval f;
    fake_init(&f, 4, 200);
    eval_service_config c = cfg_make(4, 0, 20, 0);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    pthread_t t[4];
    stopper_job j[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (stopper_job){.s = s, .pool = pool, .seed = 50 + (uint64_t)i};
        pthread_create(&t[i], NULL, stopper_main, &j[i]);
    }
    usleep(30000);
    eval_service_shutdown(s);
    long accepted = 0, states = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(j[i].refused == 1 && j[i].bad_refusal == 0 && j[i].wrong == 0 && j[i].failed == 0);
        accepted += j[i].accepted, states += j[i].states;
    }
    eval_service_stats st;
    eval_service_stats_get(s, &st);
    CHECK(accepted > 0 && st.requests == (uint64_t)accepted && atomic_load(&f.states) == states);
    eval_service_shutdown(s); /* idempotent */
    eval_service_destroy(s);
}

/* Destroy with requests still queued behind a slow evaluator: each completes, none is lost. */
static void test_destroy_drains(void) {
    static rps_state st[40];
    static float pol[40 * RPS_POLICY_SIZE], val[40];
    rps_random_positions(st, 40, 10);
    fake_eval f;
    fake_init(&f, 2, 300);
    eval_service_config c = cfg_make(2, 0, 0, 0);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    eval_request r[20];
    for (int k = 0; k < 20; k++) {
        r[k] = (eval_request){.states = st + 2 * k, .n = 2, .policy = pol + 18 * k, .value = val + 2 * k};
        CHECK(eval_service_submit(s, &r[k]) == NRPS_OK);
    }
    eval_service_destroy(s);
    int done = 0;
    for (int k = 0; k < 20; k++) done += eval_request_done(&r[k]) && eval_request_wait(&r[k]) == NRPS_OK;
    CHECK(done == 20);
    CHECK(wrong_outputs(st, 40, pol, val) == 0);
    CHECK(atomic_load(&f.states) == 40);
}

/* ---- errors ---- */

static void test_errors(void) {
    rps_state st[6];
    rps_random_positions(st, 6, 11);
    st[3].round = 77; /* poisoned */
    float pol[6 * RPS_POLICY_SIZE], val[6];
    fake_eval f;
    fake_init(&f, 8, 0);
    f.fail_round = 77;
    eval_service_config c = cfg_make(8, 200000, 20, 0);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    eval_request a = {.states = st, .n = 2, .policy = pol, .value = val};
    eval_request b = {.states = st + 2, .n = 2, .policy = pol + 18, .value = val + 2};
    CHECK(eval_service_submit(s, &a) == NRPS_OK && eval_service_submit(s, &b) == NRPS_OK);
    nrps_set_error("something else");
    CHECK(eval_request_wait(&a) == NRPS_ERR_BACKEND); /* same batch as the poisoned request */
    CHECK_MSG(!strcmp(nrps_last_error(), "fake: poisoned state at round 77"), "got '%s'", nrps_last_error());
    CHECK(eval_request_wait(&b) == NRPS_ERR_BACKEND && !strcmp(b.error, "fake: poisoned state at round 77"));
    eval_service_destroy(s);
    c.wait_us = 0;
    s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    const mcts_evaluator *ev = eval_service_evaluator(s);
    nrps_set_error("something else");
    CHECK(ev->evaluate(ev->ctx, st + 2, 2, pol, val) == NRPS_ERR_BACKEND);
    CHECK(!strcmp(nrps_last_error(), "fake: poisoned state at round 77"));
    CHECK(ev->evaluate(ev->ctx, st + 4, 2, pol, val) == NRPS_OK); /* the next batch is fine */
    CHECK(wrong_outputs(st + 4, 2, pol, val) == 0);
    eval_service_stats sts;
    eval_service_stats_get(s, &sts);
    CHECK(sts.failed_batches == 1 && sts.batches == 2);
    eval_service_destroy(s);
}

/* ---- the cache ---- */

/* Variants of base that differ in one field each (round, ply, side to move, hand order, a configuration field). */
static int near_variants(const rps_state *base, rps_state *out) {
    int n = 0;
    out[n++] = *base;
    out[n] = *base, out[n++].round += 100;
    out[n] = *base, out[n++].ply += 50;
    out[n] = *base, out[n++].to_move = (int8_t)(3 - base->to_move);
    out[n] = *base, out[n++].cfg.max_rounds += 1;
    out[n] = *base, out[n++].cfg.deck_size += 3;
    const int8_t *h = base->hand[RPS_P1];
    for (int i = 1; i < base->hand_len[RPS_P1]; i++)
        if (h[i] != h[0]) { /* swap two different cards: the same counts, another order */
            out[n] = *base;
            out[n].hand[RPS_P1][0] = h[i], out[n].hand[RPS_P1][i] = h[0];
            n++;
            break;
        }
    return n;
}

static void test_cache_hits(void) {
    static rps_state st[400];
    static float pol[400 * RPS_POLICY_SIZE], val[400];
    rps_state base[50];
    rps_random_positions(base, 50, 12);
    int n = 0;
    for (int k = 0; k < 50; k++) n += near_variants(&base[k], &st[n]);
    fake_eval f;
    fake_init(&f, 64, 0);
    eval_service_config c = cfg_make(64, 0, 20, 1);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    const mcts_evaluator *ev = eval_service_evaluator(s);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) CHECK(ev->evaluate(ev->ctx, &st[i], 1, &pol[i * 9], &val[i]) == NRPS_OK);
        CHECK(wrong_outputs(st, n, pol, val) == 0);
        CHECK(atomic_load(&f.states) == n); /* the second pass never reached the inner evaluator */
    }
    eval_service_stats sts;
    eval_service_stats_get(s, &sts);
    CHECK(sts.cache_lookups == (uint64_t)(2 * n) && sts.cache_hits == (uint64_t)n);
    CHECK_NEAR(sts.cache_hit_rate, 0.5, 1e-9);
    CHECK(sts.requests == (uint64_t)n); /* answered whole by the cache: not counted as served */
    /* a partly cached request: the inner evaluator sees only its misses */
    rps_state fresh[8], mix[16];
    rps_random_positions(fresh, 8, 13);
    for (int i = 0; i < 8; i++) mix[2 * i] = fresh[i], mix[2 * i + 1] = st[3 * i]; /* new, cached, new, ... */
    memset(val, 0, sizeof val);
    long calls = atomic_load(&f.calls);
    CHECK(ev->evaluate(ev->ctx, mix, 16, pol, val) == NRPS_OK);
    CHECK(wrong_outputs(mix, 16, pol, val) == 0);
    CHECK(atomic_load(&f.calls) == calls + 1 && atomic_load(&f.states) == n + 8);
    eval_service_destroy(s);
}

/* A cache of one 4-way set over 300 positions: constant eviction, still only right answers. */
static void test_cache_tiny(void) {
    static rps_state st[300];
    static float pol[300 * RPS_POLICY_SIZE], val[300];
    rps_random_positions(st, 300, 14);
    fake_eval f;
    fake_init(&f, 64, 0);
    eval_service_config c = cfg_make(64, 0, 20, 1e-6);
    eval_service *s = eval_service_create(&f.ev, &c);
    REQUIRE(s);
    const mcts_evaluator *ev = eval_service_evaluator(s);
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < 300; i += 5) {
            memset(&val[i], 0, 5 * sizeof *val);
            CHECK(ev->evaluate(ev->ctx, &st[i], 5, &pol[i * 9], &val[i]) == NRPS_OK);
        }
    CHECK(wrong_outputs(st, 300, pol, val) == 0);
    eval_service_stats sts;
    eval_service_stats_get(s, &sts);
    CHECK(sts.cache_lookups == 900 && sts.states + sts.cache_hits == 900);
    CHECK(sts.cache_hits < 300); /* four entries cannot hold 300 positions */
    eval_service_destroy(s);
}

/* ---- a real network ---- */

static eval_net *open_default(int max_batch) {
    eval_net_spec spec = {.policy_path = "models/rps_policy.onnx", .value_path = "models/rps_value.onnx",
                          .backend = "native-cpu", .opt = be_options_default()};
    return eval_net_open(&spec, max_batch);
}

static int close_to(float got, float want) { return fabsf(got - want) <= 1e-5f + 1e-4f * fabsf(want); }

typedef struct {
    const mcts_evaluator *ev;
    const rps_state *st;
    const float *want_pol, *want_val;
    int n, from, step;
    uint64_t seed;
    long bad, failed;
} net_job;

/* Evaluates positions from, from+step, ... in random chunk sizes through the service; compares. */
static void *net_client(void *arg) {
    net_job *j = arg;
    nrps_rng rng;
    nrps_rng_seed(&rng, j->seed);
    rps_state chunk[32];
    float pol[32 * RPS_POLICY_SIZE], val[32];
    int idx[32];
    for (int i = j->from; i < j->n;) {
        int m = 0, want = 1 + (int)nrps_rng_below(&rng, 32);
        for (; m < want && i < j->n; m++, i += j->step) idx[m] = i, chunk[m] = j->st[i];
        if (j->ev->evaluate(j->ev->ctx, chunk, m, pol, val) != NRPS_OK) {
            j->failed++;
            continue;
        }
        for (int k = 0; k < m; k++) {
            int ok = close_to(val[k], j->want_val[idx[k]]);
            for (int p = 0; p < RPS_POLICY_SIZE; p++) ok &= close_to(pol[k * 9 + p], j->want_pol[idx[k] * 9 + p]);
            j->bad += !ok;
        }
    }
    return NULL;
}

static void test_eval_net(void) {
    eval_net *direct = open_default(64), *served = open_default(64);
    if (!direct || !served) {
        eval_net_destroy(direct);
        eval_net_destroy(served);
        SKIP("models/rps_policy.onnx, models/rps_value.onnx not found (run from the repository root)");
    }
    enum { N = 600 };
    static rps_state st[N];
    static float pol[N * RPS_POLICY_SIZE], val[N];
    rps_random_positions(st, N, 15);
    const mcts_evaluator *d = eval_net_evaluator(direct);
    for (int i = 0; i < N; i++) CHECK(d->evaluate(d->ctx, &st[i], 1, &pol[i * 9], &val[i]) == NRPS_OK);
    eval_service_config c = cfg_make(64, 50, 20, 0);
    eval_service *s = eval_service_create(eval_net_evaluator(served), &c);
    REQUIRE(s);
    pthread_t t[4];
    net_job j[4];
    for (int k = 0; k < 4; k++) {
        j[k] = (net_job){eval_service_evaluator(s), st, pol, val, N, k, 4, 20 + (uint64_t)k, 0, 0};
        pthread_create(&t[k], NULL, net_client, &j[k]);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        CHECK(j[k].bad == 0 && j[k].failed == 0);
    }
    eval_service_stats sts;
    eval_service_stats_get(s, &sts);
    CHECK(sts.states == N);
    printf("  eval_net: %llu states in %llu batches (mean %.1f)\n", (unsigned long long)sts.states,
           (unsigned long long)sts.batches, sts.mean_batch);
    eval_service_destroy(s);
    eval_net_destroy(direct);
    eval_net_destroy(served);
}

/* Two search threads, each with its own MCTS, sharing one service: the same results as searching directly. */
typedef struct {
    const mcts_evaluator *ev;
    uint64_t seed;
    mcts_result res[6];
    int ok;
} search_job;

static void *search_main(void *arg) {
    search_job *j = arg;
    mcts_config mc = mcts_config_default();
    mc.playouts = 64;
    mc.batch = 4;
    mcts *m = mcts_create(&mc);
    nrps_rng rng;
    nrps_rng_seed(&rng, j->seed);
    rps_config cfg = rps_config_standard();
    rps_state s;
    rps_state_deal(&s, &cfg, &rng);
    j->ok = m != NULL;
    for (int k = 0; k < 6 && j->ok; k++) {
        j->ok = mcts_search_run(m, &s, j->ev, &rng, &j->res[k]) == NRPS_OK &&
                rps_state_apply(&s, j->res[k].move) == NRPS_OK;
        mcts_reset(m);
    }
    mcts_destroy(m);
    return NULL;
}

static void test_search_threads(void) {
    eval_net *direct = open_default(64), *served = open_default(64);
    if (!direct || !served) {
        eval_net_destroy(direct);
        eval_net_destroy(served);
        SKIP("models/ not found (run from the repository root)");
    }
    eval_service_config c = cfg_make(64, 0, 20, 0);
    eval_service *s = eval_service_create(eval_net_evaluator(served), &c);
    REQUIRE(s);
    search_job ref[2], got[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        ref[k] = (search_job){.ev = eval_net_evaluator(direct), .seed = 30 + (uint64_t)k};
        search_main(&ref[k]);
        got[k] = (search_job){.ev = eval_service_evaluator(s), .seed = 30 + (uint64_t)k};
        pthread_create(&t[k], NULL, search_main, &got[k]);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(t[k], NULL);
        CHECK(ref[k].ok && got[k].ok);
        for (int m = 0; m < 6; m++) {
            const rps_move *a = &got[k].res[m].move, *b = &ref[k].res[m].move;
            CHECK(a->pos == b->pos && a->card == b->card);
            CHECK(fabsf(got[k].res[m].value - ref[k].res[m].value) < 1e-4f);
        }
    }
    eval_service_destroy(s);
    eval_net_destroy(direct);
    eval_net_destroy(served);
}

int main(void) {
    alarm(600); /* a lost request or a hang fails the suite instead of stalling it */
    RUN(test_config);
    RUN(test_many_clients);
    RUN(test_many_clients_cached);
    RUN(test_batches_form_under_load);
    RUN(test_wait_bound);
    RUN(test_whole_requests);
    RUN(test_stats_reset);
    RUN(test_shutdown_in_flight);
    RUN(test_destroy_drains);
    RUN(test_errors);
    RUN(test_cache_hits);
    RUN(test_cache_tiny);
    RUN(test_eval_net);
    RUN(test_search_threads);
    return check_summary("eval_service");
}
