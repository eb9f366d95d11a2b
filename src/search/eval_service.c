/* eval_service.c - see eval_service.h.
 *
 * Queue: clients push requests onto a lock-free stack (`incoming`, newest first); the server takes the whole stack
 * with one exchange, reverses it onto its own FIFO (head..tail) and forms batches from the FIFO's front. A sleeping
 * server is woken through a futex word (wake_seq) by the client that sees server_sleeping set after its push; the
 * seq_cst push / flag store / flag load / stack load pairs make a lost wake-up impossible (Dekker).
 * Completion: the server writes a request's outputs, done_ns and status, then exchanges its phase to DONE; a client
 * that went to sleep set the phase to WAITING first, and only then is it woken (a futex on the request itself, so
 * waiting never touches the service). The exchange is the server's last access to a request: its client may reuse or
 * free it at once; the wake that may follow only names the address (a wake on memory since reused is a spurious
 * wake-up, which every futex waiter tolerates). Shutdown: `submitting` counts submits between their stopping check
 * and their push; the server leaves only when stopping is set, no submit is in that window and nothing is queued. */
#include "search/eval_service.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/bytes.h"

enum { PHASE_PENDING = 0, PHASE_WAITING = 1, PHASE_DONE = 2 };
_Static_assert(offsetof(eval_request, spin_us_) <= 64, "the fields the server touches fit one cache line");
enum { OUT_FLOATS = RPS_POLICY_SIZE + 1 };
/* value[i] of a state the cache missed, in a request it answered in part (search values lie in [0, 1]). */
#define MISS_MARK (-1.0f)

/* ---- waiting ---- */

/* Sleeps while *w == expect, at most timeout_ns (0: no limit); returns early on a wake or a spurious wake-up. */
static void futex_wait(_Atomic uint32_t *w, uint32_t expect, uint64_t timeout_ns) {
    struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, expect, timeout_ns ? &ts : NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w) {
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* ---- the NN cache ---- */

enum { CACHE_WAYS = 4, CACHE_MAX_LOCKS = 1024, KEY_WORDS = 3 };

typedef struct {
    uint64_t key[KEY_WORDS]; /* key[0] == 0: empty (a real key has bit 63 set) */
    float out[OUT_FLOATS];   /* 9 priors, then the value */
} cache_entry;               /* 64 bytes: one cache line */

typedef struct {
    cache_entry *e;         /* nsets * CACHE_WAYS, 64-byte aligned */
    uint8_t *victim;        /* per set: the way the next insert into a full set replaces */
    pthread_mutex_t *locks; /* set i is guarded by locks[i & lock_mask] */
    uint64_t set_mask, lock_mask;
    atomic_ullong lookups, hits;
} nn_cache;

/* 0 for an empty cell, 1 + type + 3 * (owner - 1) for a card, -1 for anything else. */
static int cell_code(const rps_cell *c) {
    if (c->owner == RPS_NONE) return c->type == -1 ? 0 : -1;
    if ((c->owner != RPS_P1 && c->owner != RPS_P2) || c->type < 0 || c->type > 2) return -1;
    return 1 + c->type + 3 * (c->owner - 1);
}

/* Two bits per card of hands[1] (bits 0..31) and hands[2] (32..63); 0 when a hand holds a bad card or length. */
static int hands_code(const rps_state *s, uint64_t *code) {
    *code = 0;
    for (int pl = RPS_P1; pl <= RPS_P2; pl++) {
        if (s->hand_len[pl] < 0 || s->hand_len[pl] > RPS_MAX_HAND) return 0;
        for (int i = 0; i < s->hand_len[pl]; i++) {
            if (s->hand[pl][i] < 0 || s->hand[pl][i] > 2) return 0;
            *code |= (uint64_t)s->hand[pl][i] << (32 * (pl - 1) + 2 * i);
        }
    }
    return 1;
}

/* The exact key of s: every field, packed without loss (board base 7 in 26 bits; to_move, ply, round, hand lengths;
 * the cards in hand, in order; the configuration). Cards past a hand's length are not part of the state and not
 * read. Returns 0 (never cached) when a field is out of the packed ranges. */
static int cache_key(const rps_state *s, uint64_t k[KEY_WORDS]) {
    uint64_t board = 0, hands;
    for (int p = RPS_CELLS - 1; p >= 0; p--) {
        int c = cell_code(&s->board[p]);
        if (c < 0) return 0;
        board = board * 7 + (uint64_t)c;
    }
    const rps_config *g = &s->cfg;
    if ((s->to_move != RPS_P1 && s->to_move != RPS_P2) || s->ply < 0 || s->ply > 255 || s->round < 0 ||
        !hands_code(s, &hands) || g->deck_size < 0 || g->deck_size > 65535 || g->hand_size < 0 ||
        g->hand_size > 65535 || g->max_rounds < 0 || g->max_rounds > 65535)
        return 0;
    k[0] = board | (uint64_t)(s->to_move - 1) << 26 | (uint64_t)s->ply << 27 | (uint64_t)s->round << 35 |
           (uint64_t)s->hand_len[RPS_P1] << 51 | (uint64_t)s->hand_len[RPS_P2] << 56 | 1ull << 63;
    k[1] = hands;
    k[2] = (uint64_t)g->deck_size | (uint64_t)g->hand_size << 16 | (uint64_t)g->max_rounds << 32;
    return 1;
}

static int key_equal(const uint64_t *a, const uint64_t *b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; }

static void cache_free(nn_cache *c) {
    if (!c) return;
    if (c->locks)
        for (uint64_t i = 0; i <= c->lock_mask; i++) pthread_mutex_destroy(&c->locks[i]);
    free(c->locks);
    free(c->victim);
    free(c->e);
    free(c);
}

/* A cache of at most mb MiB (at least one set). NULL + error when out of memory. */
static nn_cache *cache_create(double mb) {
    double bytes = mb * 1048576.0, set_bytes = CACHE_WAYS * sizeof(cache_entry);
    uint64_t nsets = 1;
    while ((double)nsets * 2 * set_bytes <= bytes) nsets *= 2;
    uint64_t nlocks = nsets < CACHE_MAX_LOCKS ? nsets : CACHE_MAX_LOCKS;
    nn_cache *c = calloc(1, sizeof *c);
    if (c) {
        c->e = aligned_alloc(64, nsets * (uint64_t)set_bytes);
        c->victim = calloc(nsets, 1);
        c->locks = calloc(nlocks, sizeof *c->locks);
    }
    if (!c || !c->e || !c->victim || !c->locks) { /* no lock initialised yet */
        if (c) {
            free(c->locks);
            free(c->victim);
            free(c->e);
        }
        free(c);
        nrps_set_error("eval service: out of memory for a %.1f MiB cache", mb);
        return NULL;
    }
    memset(c->e, 0, nsets * (uint64_t)set_bytes);
    for (uint64_t i = 0; i < nlocks; i++) pthread_mutex_init(&c->locks[i], NULL);
    c->set_mask = nsets - 1;
    c->lock_mask = nlocks - 1;
    return c;
}

static uint64_t key_set(const nn_cache *c, const uint64_t *k) { return nrps_fnv1a64(k, KEY_WORDS * 8) & c->set_mask; }

/* Copies the entry of key k into out and returns 1, or returns 0. */
static int cache_lookup(nn_cache *c, const uint64_t *k, float out[OUT_FLOATS]) {
    uint64_t set = key_set(c, k);
    cache_entry *e = &c->e[set * CACHE_WAYS];
    pthread_mutex_t *mu = &c->locks[set & c->lock_mask];
    int hit = 0;
    pthread_mutex_lock(mu);
    for (int w = 0; w < CACHE_WAYS && !hit; w++)
        if (key_equal(e[w].key, k)) {
            memcpy(out, e[w].out, sizeof e[w].out);
            hit = 1;
        }
    pthread_mutex_unlock(mu);
    return hit;
}

/* Stores key k -> (policy[9], value): over its own entry, else an empty way, else the set's next victim. */
static void cache_insert(nn_cache *c, const uint64_t *k, const float *policy, float value) {
    uint64_t set = key_set(c, k);
    cache_entry *e = &c->e[set * CACHE_WAYS];
    pthread_mutex_t *mu = &c->locks[set & c->lock_mask];
    pthread_mutex_lock(mu);
    int w = 0;
    while (w < CACHE_WAYS && !key_equal(e[w].key, k)) w++;
    if (w == CACHE_WAYS) {
        w = 0;
        while (w < CACHE_WAYS && e[w].key[0] != 0) w++;
    }
    if (w == CACHE_WAYS) {
        w = c->victim[set];
        c->victim[set] = (uint8_t)((w + 1) % CACHE_WAYS);
    }
    memcpy(e[w].key, k, sizeof e[w].key);
    memcpy(e[w].out, policy, RPS_POLICY_SIZE * sizeof(float));
    e[w].out[RPS_POLICY_SIZE] = value;
    pthread_mutex_unlock(mu);
}

/* Answers what it can of r from the cache; marks the other states' value MISS_MARK; returns their count. */
static int cache_answer(nn_cache *c, eval_request *r) {
    int misses = 0;
    for (int i = 0; i < r->n; i++) {
        uint64_t k[KEY_WORDS];
        float out[OUT_FLOATS];
        if (cache_key(&r->states[i], k) && cache_lookup(c, k, out) && out[RPS_POLICY_SIZE] != MISS_MARK) {
            memcpy(&r->policy[(size_t)i * RPS_POLICY_SIZE], out, RPS_POLICY_SIZE * sizeof(float));
            r->value[i] = out[RPS_POLICY_SIZE];
        } else {
            r->value[i] = MISS_MARK;
            misses++;
        }
    }
    atomic_fetch_add_explicit(&c->lookups, (unsigned long long)r->n, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->hits, (unsigned long long)(r->n - misses), memory_order_relaxed);
    return misses;
}

/* ---- the service ---- */

typedef struct {
    uint64_t requests, states, batches, failed, busy_ns, wait_ns, t0_ns;
    int max_formed;
} svc_counters;

struct eval_service {
    mcts_evaluator client; /* eval_service_evaluator's */
    const mcts_evaluator *inner;
    eval_service_config cfg;
    uint64_t wait_ns, spin_ns;
    nn_cache *cache; /* NULL: no cache */
    /* shared with clients, each on its own cache line */
    _Alignas(64) _Atomic(eval_request *) incoming; /* submitted, not yet taken: newest first */
    _Alignas(64) atomic_int submitting;            /* submits between their stopping check and their push */
    _Alignas(64) atomic_int stopping;              /* read by the spinning server: apart from what clients write */
    _Alignas(64) _Atomic uint32_t wake_seq;        /* futex word: bumped to wake the server */
    atomic_int server_sleeping;
    /* the server thread's own */
    _Alignas(64) eval_request *head, *tail;        /* taken, not yet run: oldest first */
    long pending_states;                           /* states (misses) of head..tail */
    rps_state *states;                             /* max_batch: the batch's inputs */
    float *policy, *value;                         /* max_batch * 9, max_batch: inner's outputs */
    eval_request **batch_req;                      /* max_batch: the batch's requests */
    int *slot_req, *slot_idx;                      /* batch slot j: request batch_req[slot_req[j]], state slot_idx[j] */
    pthread_t thread;
    int joined;
    pthread_mutex_t stats_mu;
    svc_counters st;
    _Atomic uint64_t idle_ns;    /* the server's time in finished server_wait calls; reset by stats_reset */
    _Atomic uint64_t idle_since; /* when the server_wait under way began; 0: none */
};

eval_service_config eval_service_config_default(void) {
    return (eval_service_config){.max_batch = 256, .wait_us = 0, .spin_us = 100, .cache_mb = 0, .server_cpu = -1};
}

nrps_status eval_service_config_check(const eval_service_config *c, int inner_max_batch) {
    if (c->max_batch < 1 || c->max_batch > EVAL_SERVICE_MAX_BATCH)
        nrps_set_error("eval service: max_batch must be in [1, %d], got %d", EVAL_SERVICE_MAX_BATCH, c->max_batch);
    else if (inner_max_batch > 0 && c->max_batch > inner_max_batch)
        nrps_set_error("eval service: max_batch %d is more than the inner evaluator's %d", c->max_batch,
                       inner_max_batch);
    else if (c->wait_us < 0 || c->wait_us > EVAL_SERVICE_MAX_US)
        nrps_set_error("eval service: wait_us must be in [0, %d], got %d", EVAL_SERVICE_MAX_US, c->wait_us);
    else if (c->spin_us < 0 || c->spin_us > EVAL_SERVICE_MAX_US)
        nrps_set_error("eval service: spin_us must be in [0, %d], got %d", EVAL_SERVICE_MAX_US, c->spin_us);
    else if (!(c->cache_mb >= 0 && c->cache_mb <= EVAL_SERVICE_MAX_CACHE_MB))
        nrps_set_error("eval service: cache_mb must be in [0, %d], got %g", EVAL_SERVICE_MAX_CACHE_MB, c->cache_mb);
    else if (c->server_cpu < -1 || c->server_cpu >= CPU_SETSIZE)
        nrps_set_error("eval service: server_cpu must be -1 or in [0, %d], got %d", CPU_SETSIZE - 1, c->server_cpu);
    else
        return NRPS_OK;
    return NRPS_ERR_ARG;
}

eval_service_config eval_service_get_config(const eval_service *s) { return s->cfg; }

/* Moves everything submitted onto the FIFO; returns 1 when it took something. */
static int take_incoming(eval_service *s) {
    eval_request *r = atomic_exchange_explicit(&s->incoming, NULL, memory_order_acquire);
    if (!r) return 0;
    eval_request *first = NULL, *newest = r;
    while (r) { /* reverse: oldest first */
        eval_request *next = r->next_;
        r->next_ = first;
        first = r;
        s->pending_states += r->misses_;
        r = next;
    }
    if (s->tail) s->tail->next_ = first;
    else s->head = first;
    s->tail = newest;
    return 1;
}

/* Waits until a request arrives, shutdown begins or deadline_ns passes: spins for spin_us, then sleeps. */
static void wait_arrival(eval_service *s, uint64_t t0, uint64_t deadline_ns) {
    for (unsigned i = 0;; i++) {
        if (atomic_load_explicit(&s->incoming, memory_order_relaxed) ||
            atomic_load_explicit(&s->stopping, memory_order_relaxed))
            return;
        if ((i & 63) == 0) {
            uint64_t now = i ? nrps_now_ns() : t0;
            if (now >= deadline_ns) return;
            if (now - t0 >= s->spin_ns) break;
        }
        nrps_cpu_relax();
    }
    uint32_t seq = atomic_load(&s->wake_seq);
    atomic_store(&s->server_sleeping, 1);
    if (!atomic_load(&s->incoming) && !atomic_load(&s->stopping)) {
        uint64_t now = nrps_now_ns();
        if (now < deadline_ns) futex_wait(&s->wake_seq, seq, deadline_ns == UINT64_MAX ? 0 : deadline_ns - now);
    }
    atomic_store(&s->server_sleeping, 0);
}

/* wait_arrival from t0 (the clock a moment ago: one read less per batch), its time added to idle_ns; returns the
 * clock at its end. */
static uint64_t server_wait(eval_service *s, uint64_t t0, uint64_t deadline_ns) {
    atomic_store(&s->idle_since, t0);
    wait_arrival(s, t0, deadline_ns);
    uint64_t t1 = nrps_now_ns();
    atomic_fetch_add(&s->idle_ns, t1 - t0);
    atomic_store(&s->idle_since, 0);
    return t1;
}

/* The server's idle time up to now, the wait under way included (read again when a wait began or ended meanwhile). */
static uint64_t idle_until(eval_service *s, uint64_t now) {
    for (;;) {
        uint64_t since = atomic_load(&s->idle_since), idle = atomic_load(&s->idle_ns);
        if (atomic_load(&s->idle_since) == since) return idle + (since && now > since ? now - since : 0);
    }
}

/* After the oldest queued request arrived, waits up to wait_us for more, or until a batch is full; now: the clock.
 * Returns the clock. */
static uint64_t gather_more(eval_service *s, uint64_t now) {
    uint64_t deadline = s->head->submit_ns + s->wait_ns;
    while (s->pending_states < s->cfg.max_batch && !atomic_load_explicit(&s->stopping, memory_order_relaxed) &&
           now < deadline) {
        now = server_wait(s, now, deadline);
        take_incoming(s);
    }
    return now;
}

/* Appends request r (batch request k) to the batch's inputs at *nb: all its states, or its cache misses. */
static void add_states(eval_service *s, eval_request *r, int k, int *nb) {
    int all = r->misses_ == r->n, j = *nb;
    for (int i = 0; i < r->n && j - *nb < r->misses_; i++) {
        if (!all && r->value[i] != MISS_MARK) continue;
        s->states[j] = r->states[i];
        s->slot_req[j] = k;
        s->slot_idx[j++] = i;
    }
    *nb = j;
}

/* Takes whole requests off the FIFO while they fit in max_batch states; returns the request count, *nb the states. */
static int form_batch(eval_service *s, int *nb) {
    int nreq = 0;
    *nb = 0;
    while (s->head && *nb + s->head->misses_ <= s->cfg.max_batch) {
        eval_request *r = s->head;
        s->head = r->next_;
        if (!s->head) s->tail = NULL;
        s->pending_states -= r->misses_;
        add_states(s, r, nreq, nb);
        s->batch_req[nreq++] = r;
    }
    return nreq;
}

/* Copies inner's outputs to the requests (and into the cache). */
static void scatter(eval_service *s, int nb) {
    for (int j = 0; j < nb; j++) {
        eval_request *r = s->batch_req[s->slot_req[j]];
        const float *pol = &s->policy[(size_t)j * RPS_POLICY_SIZE];
        memcpy(&r->policy[(size_t)s->slot_idx[j] * RPS_POLICY_SIZE], pol, RPS_POLICY_SIZE * sizeof(float));
        r->value[s->slot_idx[j]] = s->value[j];
        uint64_t k[KEY_WORDS];
        if (s->cache && cache_key(&s->states[j], k)) cache_insert(s->cache, k, pol, s->value[j]);
    }
}

/* Marks request r done (outputs already written): the last time the server touches it. */
static void complete(eval_request *r, nrps_status st, const char *msg, uint64_t now) {
    r->status = st;
    if (st != NRPS_OK) snprintf(r->error, sizeof r->error, "%s", msg);
    r->done_ns = now;
    if (atomic_exchange_explicit(&r->phase_, PHASE_DONE, memory_order_acq_rel) == PHASE_WAITING)
        futex_wake(&r->phase_);
}

static void stats_add(eval_service *s, int nreq, int nb, nrps_status st, uint64_t busy_ns, uint64_t wait_ns) {
    pthread_mutex_lock(&s->stats_mu);
    s->st.requests += (uint64_t)nreq;
    s->st.states += (uint64_t)nb;
    s->st.batches++;
    s->st.failed += st != NRPS_OK;
    s->st.busy_ns += busy_ns;
    s->st.wait_ns += wait_ns;
    if (nb > s->st.max_formed) s->st.max_formed = nb;
    pthread_mutex_unlock(&s->stats_mu);
}

/* Forms one batch from the FIFO's front, runs inner on it and completes its requests (done_ns: when inner returned,
 * the copies after it take nanoseconds). Returns that time. */
static uint64_t run_batch(eval_service *s) {
    int nb, nreq = form_batch(s, &nb);
    uint64_t t0 = nrps_now_ns();
    nrps_status st = s->inner->evaluate(s->inner->ctx, s->states, nb, s->policy, s->value);
    uint64_t t1 = nrps_now_ns(), wait_ns = 0;
    if (st == NRPS_OK) scatter(s, nb);
    char msg[EVAL_SERVICE_ERROR_LEN] = "";
    if (st != NRPS_OK) snprintf(msg, sizeof msg, "%s", nrps_last_error());
    for (int k = 0; k < nreq; k++) wait_ns += t0 - s->batch_req[k]->submit_ns;
    stats_add(s, nreq, nb, st, t1 - t0, wait_ns); /* before completion: a done request's batch is counted */
    for (int k = 0; k < nreq; k++) complete(s->batch_req[k], st, msg, t1);
    return t1;
}

/* 1 when shutdown began, no submit can still push and nothing is queued (seq_cst: see the file comment). */
static int server_may_exit(eval_service *s) {
    return atomic_load(&s->stopping) && atomic_load(&s->submitting) == 0 && !atomic_load(&s->incoming);
}

static void *server_main(void *arg) {
    eval_service *s = arg;
    uint64_t now = nrps_now_ns(); /* the clock as last read */
    for (;;) {
        take_incoming(s);
        if (!s->head) {
            if (server_may_exit(s)) return NULL;
            if (atomic_load(&s->stopping)) { /* a submit is between its check and its push */
                nrps_cpu_relax();
                now = nrps_now_ns();
            } else {
                now = server_wait(s, now, UINT64_MAX);
            }
            continue;
        }
        if (s->wait_ns && s->pending_states < s->cfg.max_batch) now = gather_more(s, now);
        now = run_batch(s);
    }
}

/* ---- clients ---- */

static void push(eval_service *s, eval_request *r) {
    eval_request *head = atomic_load_explicit(&s->incoming, memory_order_relaxed);
    do r->next_ = head;
    while (!atomic_compare_exchange_weak(&s->incoming, &head, r));
    if (atomic_load(&s->server_sleeping)) {
        atomic_fetch_add(&s->wake_seq, 1);
        futex_wake(&s->wake_seq);
    }
}

nrps_status eval_service_submit(eval_service *s, eval_request *r) {
    if (!r || !r->states || !r->policy || !r->value || r->n < 1 || r->n > s->cfg.max_batch) {
        nrps_set_error("eval service: a request needs 1..%d states (got %d) and policy and value buffers",
                       s->cfg.max_batch, r ? r->n : 0);
        return NRPS_ERR_ARG;
    }
    atomic_fetch_add(&s->submitting, 1);
    if (atomic_load(&s->stopping)) {
        atomic_fetch_sub(&s->submitting, 1);
        nrps_set_error("eval service: shut down, request refused");
        return NRPS_ERR_UNAVAILABLE;
    }
    r->submit_ns = nrps_now_ns();
    r->status = NRPS_OK;
    r->error[0] = '\0';
    r->spin_us_ = s->cfg.spin_us;
    atomic_store_explicit(&r->phase_, PHASE_PENDING, memory_order_relaxed);
    r->misses_ = s->cache ? cache_answer(s->cache, r) : r->n;
    if (r->misses_ == 0) {
        r->done_ns = nrps_now_ns();
        atomic_store_explicit(&r->phase_, PHASE_DONE, memory_order_release);
    } else {
        push(s, r);
    }
    atomic_fetch_sub(&s->submitting, 1);
    return NRPS_OK;
}

int eval_request_done(const eval_request *r) {
    return atomic_load_explicit(&r->phase_, memory_order_acquire) == PHASE_DONE;
}

/* Spins up to the request's spin_us; 1 when it became done. */
static int request_spin(const eval_request *r) {
    uint64_t t0 = 0, spin_ns = (uint64_t)r->spin_us_ * 1000;
    for (unsigned i = 0;; i++) {
        if (eval_request_done(r)) return 1;
        if ((i & 63) == 0) {
            uint64_t now = nrps_now_ns();
            if (!t0) t0 = now;
            if (now - t0 >= spin_ns) return 0;
        }
        nrps_cpu_relax();
    }
}

nrps_status eval_request_wait(eval_request *r) {
    if (!request_spin(r)) {
        uint32_t expect = PHASE_PENDING;
        atomic_compare_exchange_strong(&r->phase_, &expect, PHASE_WAITING);
        while (atomic_load_explicit(&r->phase_, memory_order_acquire) != PHASE_DONE)
            futex_wait(&r->phase_, PHASE_WAITING, 0);
    }
    if (r->status != NRPS_OK) nrps_set_error("%s", r->error);
    return r->status;
}

static nrps_status client_evaluate(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    eval_request r = {.states = states, .n = n, .policy = policy, .value = value};
    nrps_status st = eval_service_submit(ctx, &r);
    return st != NRPS_OK ? st : eval_request_wait(&r);
}

const mcts_evaluator *eval_service_evaluator(eval_service *s) { return &s->client; }

/* ---- statistics ---- */

void eval_service_stats_get(eval_service *s, eval_service_stats *out) {
    pthread_mutex_lock(&s->stats_mu);
    svc_counters c = s->st;
    pthread_mutex_unlock(&s->stats_mu);
    uint64_t now = nrps_now_ns();
    memset(out, 0, sizeof *out);
    out->requests = c.requests;
    out->states = c.states;
    out->batches = c.batches;
    out->failed_batches = c.failed;
    out->max_batch_formed = c.max_formed;
    out->mean_batch = c.batches ? (double)c.states / (double)c.batches : 0;
    out->wall_s = (double)(now - c.t0_ns) * 1e-9;
    out->busy_share = now > c.t0_ns ? (double)c.busy_ns / (double)(now - c.t0_ns) : 0;
    out->mean_queue_wait_us = c.requests ? (double)c.wait_ns * 1e-3 / (double)c.requests : 0;
    uint64_t idle = idle_until(s, now);
    out->idle_share = now > c.t0_ns ? (double)idle / (double)(now - c.t0_ns) : 0;
    if (s->cache) {
        out->cache_lookups = atomic_load_explicit(&s->cache->lookups, memory_order_relaxed);
        out->cache_hits = atomic_load_explicit(&s->cache->hits, memory_order_relaxed);
        out->cache_hit_rate = out->cache_lookups ? (double)out->cache_hits / (double)out->cache_lookups : 0;
    }
}

void eval_service_stats_reset(eval_service *s) {
    pthread_mutex_lock(&s->stats_mu);
    memset(&s->st, 0, sizeof s->st);
    s->st.t0_ns = nrps_now_ns();
    for (;;) { /* a wait under way counts from now: its earlier part is taken off in advance */
        uint64_t since = atomic_load(&s->idle_since);
        atomic_store(&s->idle_ns, since && s->st.t0_ns > since ? 0 - (s->st.t0_ns - since) : 0);
        if (atomic_load(&s->idle_since) == since) break;
    }
    pthread_mutex_unlock(&s->stats_mu);
    if (s->cache) {
        atomic_store_explicit(&s->cache->lookups, 0, memory_order_relaxed);
        atomic_store_explicit(&s->cache->hits, 0, memory_order_relaxed);
    }
}

/* ---- life cycle ---- */

static void service_free(eval_service *s) {
    free(s->states);
    free(s->policy);
    free(s->value);
    free(s->batch_req);
    free(s->slot_req);
    free(s->slot_idx);
    cache_free(s->cache);
    pthread_mutex_destroy(&s->stats_mu);
    free(s);
}

/* The service with its buffers and cache, before the server starts; NULL + error. */
static eval_service *service_alloc(const mcts_evaluator *inner, const eval_service_config *cfg) {
    size_t size = (sizeof(eval_service) + 63) / 64 * 64, mb = (size_t)cfg->max_batch;
    eval_service *s = aligned_alloc(64, size);
    if (!s) goto nomem;
    memset(s, 0, size);
    pthread_mutex_init(&s->stats_mu, NULL);
    s->inner = inner;
    s->cfg = *cfg;
    s->states = malloc(mb * sizeof *s->states);
    s->policy = malloc(mb * RPS_POLICY_SIZE * sizeof *s->policy);
    s->value = malloc(mb * sizeof *s->value);
    s->batch_req = malloc(mb * sizeof *s->batch_req);
    s->slot_req = malloc(mb * sizeof *s->slot_req);
    s->slot_idx = malloc(mb * sizeof *s->slot_idx);
    if (!s->states || !s->policy || !s->value || !s->batch_req || !s->slot_req || !s->slot_idx) goto nomem;
    if (cfg->cache_mb > 0 && !(s->cache = cache_create(cfg->cache_mb))) {
        service_free(s);
        return NULL;
    }
    return s;
nomem:
    if (s) service_free(s);
    nrps_set_error("eval service: out of memory for batches of %d states", cfg->max_batch);
    return NULL;
}

/* Starts the server thread (on cfg.server_cpu when set); 0 or the error number. */
static int start_server(eval_service *s) {
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err) return err;
    if (s->cfg.server_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(s->cfg.server_cpu, &set);
        err = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    }
    if (!err) err = pthread_create(&s->thread, &attr, server_main, s);
    pthread_attr_destroy(&attr);
    return err;
}

eval_service *eval_service_create(const mcts_evaluator *inner, const eval_service_config *cfg) {
    if (!inner || !inner->evaluate) {
        nrps_set_error("eval service: no inner evaluator");
        return NULL;
    }
    if (eval_service_config_check(cfg, inner->max_batch) != NRPS_OK) return NULL;
    eval_service *s = service_alloc(inner, cfg);
    if (!s) return NULL;
    s->wait_ns = (uint64_t)cfg->wait_us * 1000;
    s->spin_ns = (uint64_t)cfg->spin_us * 1000;
    s->st.t0_ns = nrps_now_ns();
    s->client = (mcts_evaluator){.ctx = s, .evaluate = client_evaluate, .max_batch = cfg->max_batch,
                                 .name = "eval-service", .thread_safe = 1};
    int err = start_server(s);
    if (err) {
        char where[32] = "";
        if (cfg->server_cpu >= 0) snprintf(where, sizeof where, " on CPU %d", cfg->server_cpu);
        nrps_set_error("eval service: cannot start the server thread%s: %s", where, strerror(err));
        service_free(s);
        return NULL;
    }
    return s;
}

void eval_service_shutdown(eval_service *s) {
    if (!s || s->joined) return;
    atomic_store(&s->stopping, 1);
    atomic_fetch_add(&s->wake_seq, 1);
    futex_wake(&s->wake_seq);
    pthread_join(s->thread, NULL);
    s->joined = 1;
}

void eval_service_destroy(eval_service *s) {
    if (!s) return;
    eval_service_shutdown(s);
    service_free(s);
}
