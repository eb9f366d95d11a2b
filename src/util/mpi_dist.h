/* mpi_dist.h - the processes of one MPI job working as one (`train --mpi`, `arena --mpi`): the only place that
 * names MPI. Built with MPI when the Makefile finds mpicc (NRPS_HAVE_MPI); otherwise every function is a stub:
 * nrps_dist_start fails with "not built with MPI" and the rest behave as a job of one process, so callers have no
 * #ifdef.
 *
 * Model: rank 0 leads (reads and writes files, decides what comes next); every rank plays its block of each
 * batch of games (nrps_dist_share: contiguous blocks by game index, in rank order, so gathering in rank order
 * gives game order and the results do not depend on the number of processes). Every function marked
 * COLLECTIVE must be called by every rank of the job, in the same order, from the thread that called
 * nrps_dist_start (MPI_THREAD_FUNNELED); nothing here is thread-safe. A rank that fails says so through
 * nrps_dist_agree (the next collective of the phase), never by leaving: so a failure anywhere ends every rank
 * without a hang. An MPI call that fails (a peer died, the network broke) prints one line naming this rank and
 * the call, and ends the job with MPI_Abort. Ranks must run the same build (structures are sent as bytes;
 * nrps_dist_check_build refuses a mix). */
#ifndef NRPS_UTIL_MPI_DIST_H
#define NRPS_UTIL_MPI_DIST_H

#include <stddef.h>

#include "util/util.h"

/* 1 when compiled with MPI. */
int nrps_dist_built(void);
/* "Open MPI v4.1.4, ..." (MPI_Get_library_version, first line), or "not built with MPI". */
const char *nrps_dist_library(void);

/* The rank an MPI launcher (mpirun, srun, mpiexec) gave this process in its environment (OMPI_COMM_WORLD_RANK,
 * PMIX_RANK, PMI_RANK), or -1 when no launcher started it. Valid before nrps_dist_start. */
int nrps_dist_launch_rank(void);

/* Joins the job (MPI_Init_thread, FUNNELED). NRPS_ERR_UNAVAILABLE when not built with MPI, NRPS_ERR_ARG when no
 * MPI launcher started this process (one-line message each), NRPS_ERR_UNAVAILABLE when MPI_Init fails.
 * COLLECTIVE. label prefixes the line of a fatal MPI error (e.g. "neural_rps train"). */
nrps_status nrps_dist_start(const char *label);
/* Leaves the job (MPI_Finalize) when started; no-op otherwise or when called again. COLLECTIVE. */
void nrps_dist_end(void);

int nrps_dist_active(void); /* nrps_dist_start succeeded and nrps_dist_end not yet called */
int nrps_dist_rank(void);   /* this process's rank; 0 when not active */
int nrps_dist_size(void);   /* processes in the job; 1 when not active */

/* Block [*lo, *hi) of n items (n >= 0) for rank of size (0 <= rank < size): [n*rank/size, n*(rank+1)/size), so the
 * blocks are contiguous, in rank order, cover [0, n) and differ in size by at most one. */
void nrps_dist_block(long n, int rank, int size, long *lo, long *hi);
/* This rank's block of n items (nrps_dist_block); [0, n) when not active. */
void nrps_dist_share(long n, long *lo, long *hi);

/* Every rank's status into one: NRPS_OK when all are OK; otherwise, on every rank, the status of the first
 * failing rank (a real error before NRPS_ERR_INTERRUPTED, then the lowest rank), with that rank's message in
 * nrps_last_error prefixed "rank R of N: " when N > 1. COLLECTIVE. Returns rc unchanged when not active. */
nrps_status nrps_dist_agree(nrps_status rc);

/* Rank 0's bytes into buf on every rank (any size). COLLECTIVE. Like nrps_dist_agree it waits without keeping a core
 * busy (sleeps of up to 2 ms between tests), so ranks waiting for rank 0 leave the CPU to the ones that work. */
void nrps_dist_bcast(void *buf, size_t bytes);
/* Element-wise sums over every rank, in place on every rank. COLLECTIVE. */
void nrps_dist_sum_long(long *v, int n);
void nrps_dist_sum_double(double *v, int n);
/* Every rank's n items of elem bytes to rank 0, concatenated in rank order: on rank 0 *all is a malloc'd array
 * (caller frees; never NULL on success) of *total items; on the others *all = NULL, *total = 0. Takes ownership of
 * nothing. NRPS_ERR_NOMEM (on every rank: agreed) when rank 0 cannot hold them or the count passes INT_MAX items.
 * COLLECTIVE. Without an active job: a copy of mine. */
nrps_status nrps_dist_gather(const void *mine, long n, size_t elem, void **all, long *total);

/* Refuses a job whose ranks run different builds: every rank compares sig (e.g. structure sizes and the version)
 * with rank 0's; agreed NRPS_ERR_ARG ("rank R of N runs another build of neural_rps ...") otherwise.
 * COLLECTIVE. */
nrps_status nrps_dist_check_build(const char *sig);

#endif
