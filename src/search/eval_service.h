/* eval_service.h - a shared batching evaluator. Many client threads (search threads, a load generator) submit
 * requests of 1..max_batch states; ONE server thread, the only caller of an inner evaluator that need not be
 * thread-safe (an eval_net on a backend), gathers queued requests into batches, runs inner->evaluate once per batch
 * and hands every request its results.
 *
 * Batching: the server takes whole requests in arrival order (a request never straddles two batches) until the next
 * one would pass max_batch states. After the oldest queued request arrived it waits at most wait_us for more
 * (0: it runs what is queued at once); a full batch runs at once.
 *
 * NN cache (cache_mb > 0; off by default, so timing runs never cache unless asked): exact position keys (every field
 * of the rps_state, packed without loss: no hash collisions can give a wrong hit) -> the 9 priors and the value,
 * bounded in MiB, 4-way set associative with striped locks. The submitting thread looks every state up: a request
 * whose states all hit is answered at once without the server; otherwise the server evaluates only the misses and
 * inserts their results.
 *
 * Threads: eval_service_submit, eval_request_wait/_done, the evaluator from eval_service_evaluator and the stats
 * functions may be called from any threads at once. eval_service_shutdown / _destroy: one thread, once. */
#ifndef NRPS_EVAL_SERVICE_H
#define NRPS_EVAL_SERVICE_H

#include <stdatomic.h>
#include <stdint.h>

#include "search/evaluator.h"

enum {
    EVAL_SERVICE_MAX_BATCH = 65536,    /* largest max_batch */
    EVAL_SERVICE_MAX_US = 1000000,     /* largest wait_us and spin_us */
    EVAL_SERVICE_MAX_CACHE_MB = 65536, /* largest cache_mb */
    EVAL_SERVICE_ERROR_LEN = 256       /* a failed request's message, NUL included */
};

typedef struct {
    int max_batch;   /* largest batch the server forms, in states: 1..min(EVAL_SERVICE_MAX_BATCH, inner max_batch) */
    int wait_us;     /* longest wait for more requests after the oldest queued one arrived (0..EVAL_SERVICE_MAX_US) */
    int spin_us;     /* how long the idle server and a waiting client spin before they sleep (0..EVAL_SERVICE_MAX_US) */
    double cache_mb; /* NN cache size in MiB (0 = no cache; at most EVAL_SERVICE_MAX_CACHE_MB) */
    int server_cpu;  /* -1: the server thread runs where the scheduler puts it; >= 0: pinned to that CPU */
} eval_service_config;

/* max_batch 256, wait_us 0, spin_us 100, cache_mb 0, server_cpu -1. */
eval_service_config eval_service_config_default(void);

/* NRPS_OK, or NRPS_ERR_ARG with one line naming the field, e.g. "eval service: max_batch must be in [1, 65536],
 * got 0" or "eval service: max_batch 512 is more than the inner evaluator's 256". inner_max_batch <= 0: not
 * checked against an inner evaluator. */
nrps_status eval_service_config_check(const eval_service_config *cfg, int inner_max_batch);

typedef struct eval_service eval_service;

/* Checks cfg, allocates every buffer and starts the server thread. inner (not owned) must outlive the service and
 * is called only from the server thread. NULL + nrps_set_error on failure (also "eval service: cannot start the
 * server thread on CPU 7: Invalid argument" for a CPU this process may not use). */
eval_service *eval_service_create(const mcts_evaluator *inner, const eval_service_config *cfg);

/* Stops accepting requests (eval_service_submit fails from then on), runs every request already accepted, joins the
 * server thread. Returns when nothing is in flight. Idempotent; s stays valid (stats can still be read). */
void eval_service_shutdown(eval_service *s);
/* eval_service_shutdown, then frees s. Accepts NULL. No call on s may start once it began (requests already
 * submitted complete and may still be waited for: eval_request_wait does not touch s). */
void eval_service_destroy(eval_service *s);

/* The configuration the service runs with. */
eval_service_config eval_service_get_config(const eval_service *s);

/* ---- asynchronous requests ---- */

/* A caller-owned request. The caller sets states, n, policy and value, then submits; the service owns the request
 * (and reads states, writes policy[n*9] / value[n]) until it is done; the caller must not touch any of them
 * meanwhile. A done request may be resubmitted. */
typedef struct eval_request {
    /* set by the caller */
    const rps_state *states; /* n states */
    int n;                   /* 1..max_batch */
    int misses_;             /* internal */
    float *policy;           /* out: n * RPS_POLICY_SIZE priors, as inner's */
    float *value;            /* out: n values */
    /* set by the service; valid once done */
    uint64_t submit_ns;      /* nrps_now_ns when eval_service_submit accepted it */
    uint64_t done_ns;        /* nrps_now_ns when its batch finished (or the cache answered it) */
    struct eval_request *next_; /* internal */
    nrps_status status;      /* NRPS_OK or inner's error */
    _Atomic uint32_t phase_; /* internal; every field the server touches is above: one cache line */
    int spin_us_;            /* internal */
    char error[EVAL_SERVICE_ERROR_LEN]; /* inner's nrps_last_error when status != NRPS_OK */
} eval_request;

/* Queues req without waiting (or answers it from the cache). NRPS_OK: req will be done exactly once. Otherwise it
 * was not queued: NRPS_ERR_ARG (n outside [1, max_batch], a NULL pointer) or NRPS_ERR_UNAVAILABLE ("eval service:
 * shut down, request refused") once shutdown began; the error is set. No allocation; no lock but the cache's
 * (one striped lock per lookup) when there is one. */
nrps_status eval_service_submit(eval_service *s, eval_request *req);

/* 1 when a submitted request is done (its outputs, done_ns and status may be read), else 0. */
int eval_request_done(const eval_request *req);

/* Waits until a submitted request is done: spins for the service's spin_us, then sleeps (futex). Returns its status;
 * on error also raises its message in the calling thread (nrps_last_error). Does not touch the service. */
nrps_status eval_request_wait(eval_request *req);

/* ---- blocking client ---- */

/* An evaluator for any number of threads at once (thread_safe = 1, max_batch = cfg.max_batch, evaluate_from
 * NULL): evaluate submits one request and waits for it. Valid while s is. */
const mcts_evaluator *eval_service_evaluator(eval_service *s);

/* ---- statistics ---- */

/* Since eval_service_create or the last eval_service_stats_reset; a batch is counted before its requests are done. */
typedef struct {
    uint64_t requests;          /* requests the server ran (not those the cache answered whole) */
    uint64_t states;            /* states the server ran through inner */
    uint64_t batches;           /* inner->evaluate calls */
    uint64_t failed_batches;    /* calls that returned an error */
    int max_batch_formed;       /* largest batch, states */
    double mean_batch;          /* states / batches (0 without batches) */
    double wall_s;              /* time since create / reset */
    double busy_share;          /* time inside inner->evaluate / wall_s */
    double idle_share;          /* time the server waited for requests (idle, or for more within wait_us) / wall_s;
                                 * 1 - busy - idle is the service's own work (queue, copies, completion) */
    double mean_queue_wait_us;  /* submit -> start of its batch, mean over the requests the server ran */
    uint64_t cache_lookups;     /* states looked up in the cache (0 without a cache) */
    uint64_t cache_hits;
    double cache_hit_rate;      /* hits / lookups (0 without lookups) */
} eval_service_stats;

void eval_service_stats_get(eval_service *s, eval_service_stats *out);
void eval_service_stats_reset(eval_service *s);

#endif
