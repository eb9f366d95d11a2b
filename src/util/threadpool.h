/* threadpool.h - a persistent pool of worker threads for splitting one call's work (the native CPU kernels'
 * large batches over --threads cores).
 *
 * A pool of T threads is the caller plus T - 1 workers created once. nrps_pool_run hands task t (0 <= t < n) to
 * worker t (task 0 runs on the caller) and returns when every task is done: no thread is created, no memory
 * allocated and no lock taken on the way, unless a worker fell asleep. An idle worker spins (with pause
 * instructions, and a sched_yield every few microseconds, so that a pool sharing too few CPUs still makes
 * progress) for a bounded time after its last task, so that back-to-back calls reach it in well under a
 * microsecond, then sleeps on a condition variable until the next call wakes it.
 *
 * One caller at a time: nrps_pool_run is not reentrant and must not be called from two threads at once on one
 * pool (each native-cpu handle owns its pool). Distinct pools are independent. */
#ifndef NRPS_UTIL_THREADPOOL_H
#define NRPS_UTIL_THREADPOOL_H

#include "util/util.h"

typedef struct nrps_pool nrps_pool;

/* How long an idle worker spins before it sleeps; 0 sleeps at once (as ONNX Runtime's --no-spin). */
enum { NRPS_POOL_SPIN_US_DEFAULT = 200 };

/* Creates a pool of threads (1..256, the caller included: threads - 1 workers) whose idle workers spin for spin_us
 * microseconds (0..1000000). Returns NRPS_OK and *out, or NRPS_ERR_ARG / NRPS_ERR_NOMEM (thread creation failed)
 * with the error set and *out = NULL. */
nrps_status nrps_pool_create(int threads, int spin_us, nrps_pool **out);

/* The pool's threads, the caller included (1 for NULL). */
int nrps_pool_threads(const nrps_pool *p);

/* Runs fn(ctx, t) for t = 0 .. n_tasks - 1, task 0 on the calling thread and task t on worker t, and returns when
 * all have returned. 1 <= n_tasks <= nrps_pool_threads(p); with n_tasks == 1 (or p == NULL) fn runs on the caller
 * alone. fn must not call nrps_pool_run on the same pool. */
void nrps_pool_run(nrps_pool *p, int n_tasks, void (*fn)(void *ctx, int task), void *ctx);

/* Stops and joins the workers; accepts NULL. No nrps_pool_run may be in progress. */
void nrps_pool_destroy(nrps_pool *p);

#endif
