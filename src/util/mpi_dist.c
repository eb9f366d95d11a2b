/* mpi_dist.c - the MPI seam (see mpi_dist.h): Open MPI (or any MPI-3) when NRPS_HAVE_MPI, stubs otherwise. */
#include "util/mpi_dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int nrps_dist_launch_rank(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        long r;
        if (v && nrps_parse_long(v, 0, INT_MAX, &r)) return (int)r;
    }
    return -1;
}

void nrps_dist_block(long n, int rank, int size, long *lo, long *hi) {
    /* n * r / size without overflow for any long n and int size */
    *lo = (long)((__int128)n * rank / size);
    *hi = (long)((__int128)n * (rank + 1) / size);
}

void nrps_dist_share(long n, long *lo, long *hi) { nrps_dist_block(n, nrps_dist_rank(), nrps_dist_size(), lo, hi); }

/* The gather of a job of one process: a copy of mine. */
static nrps_status gather_local(const void *mine, long n, size_t elem, void **all, long *total) {
    *all = malloc((size_t)(n > 0 ? n : 1) * elem);
    *total = 0;
    if (!*all) {
        nrps_set_error("gather: out of memory for %ld items", n);
        return NRPS_ERR_NOMEM;
    }
    if (n > 0) memcpy(*all, mine, (size_t)n * elem);
    *total = n;
    return NRPS_OK;
}

#ifdef NRPS_HAVE_MPI
#include <mpi.h>

static int g_active, g_rank, g_size = 1;
static char g_label[64] = "neural_rps";

int nrps_dist_built(void) { return 1; }

const char *nrps_dist_library(void) {
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) v[strcspn(v, ",\n")] = '\0';
    return v[0] ? v : "MPI (unknown version)";
}

/* One line naming this rank and what failed, then the whole job ends (MPI_Abort). */
static void fatal(const char *what, const char *why) {
    fprintf(stderr, "%s: rank %d of %d: %s failed: %s (ending the job)\n", g_label, g_rank, g_size, what, why);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1); /* (MPI_Abort does not return) */
}

/* An MPI call's result: fatal unless MPI_SUCCESS. */
static void check(int err, const char *call) {
    if (err == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(err, msg, &len);
    fatal(call, msg);
}

/* Waits for req without keeping a core busy: MPI_Test, then sleeps growing from 50 us to 2 ms. A rank waiting for
 * rank 0 (which trains alone) must leave the CPU to the processes that work: MPI's own blocking wait polls at
 * full speed, which on a shared or oversubscribed machine slows rank 0 down. */
static void wait_idle(MPI_Request *req, const char *call) {
    long ns = 50000;
    for (;;) {
        int done = 0;
        check(MPI_Test(req, &done, MPI_STATUS_IGNORE), call);
        if (done) return;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        if (ns < 2000000) ns *= 2;
    }
}

nrps_status nrps_dist_start(const char *label) {
    if (g_active) return NRPS_OK;
    if (nrps_dist_launch_rank() < 0) {
        nrps_set_error("--mpi: this process was not started by an MPI launcher (run it as 'mpirun -np N neural_rps "
                       "... --mpi', or leave --mpi out)");
        return NRPS_ERR_ARG;
    }
    snprintf(g_label, sizeof g_label, "%s", label ? label : "neural_rps");
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        nrps_set_error("--mpi: MPI_Init failed");
        return NRPS_ERR_UNAVAILABLE;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &g_rank), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &g_size), "MPI_Comm_size");
    g_active = 1;
    return NRPS_OK;
}

void nrps_dist_end(void) {
    if (!g_active) return;
    g_active = 0;
    MPI_Finalize();
    g_rank = 0;
    g_size = 1;
}

int nrps_dist_active(void) { return g_active; }
int nrps_dist_rank(void) { return g_active ? g_rank : 0; }
int nrps_dist_size(void) { return g_active ? g_size : 1; }

nrps_status nrps_dist_agree(nrps_status rc) {
    if (!g_active) return rc;
    /* key: OK = 2N (none), interrupted = N + rank, other errors = rank; the minimum names the first failure */
    int key = rc == NRPS_OK ? 2 * g_size : rc == NRPS_ERR_INTERRUPTED ? g_size + g_rank : g_rank, first = 0;
    MPI_Request req;
    check(MPI_Iallreduce(&key, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &req), "MPI_Iallreduce");
    wait_idle(&req, "MPI_Iallreduce");
    if (first == 2 * g_size) return NRPS_OK;
    int who = first < g_size ? first : first - g_size;
    struct { int rc; char msg[600]; } m;
    memset(&m, 0, sizeof m);
    if (g_rank == who) {
        m.rc = (int)rc;
        snprintf(m.msg, sizeof m.msg, "%s", nrps_last_error());
    }
    check(MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, who, MPI_COMM_WORLD), "MPI_Bcast");
    m.msg[sizeof m.msg - 1] = '\0';
    if (g_size > 1) nrps_set_error("rank %d of %d: %s", who, g_size, m.msg);
    else nrps_set_error("%s", m.msg);
    return (nrps_status)m.rc;
}

void nrps_dist_bcast(void *buf, size_t bytes) {
    if (!g_active) return;
    const size_t chunk = (size_t)1 << 30;
    for (size_t at = 0; at < bytes; at += chunk) {
        size_t n = bytes - at < chunk ? bytes - at : chunk;
        MPI_Request req;
        check(MPI_Ibcast((char *)buf + at, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD, &req), "MPI_Ibcast");
        wait_idle(&req, "MPI_Ibcast");
    }
}

void nrps_dist_sum_long(long *v, int n) {
    if (g_active && n > 0) check(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_LONG, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
}

void nrps_dist_sum_double(double *v, int n) {
    if (g_active && n > 0)
        check(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
}

/* Rank 0: the per-rank counts as int with their displacements, and the receive array; NRPS_ERR_NOMEM when the
 * total passes INT_MAX items or memory. */
static nrps_status gather_plan(const long *counts, size_t elem, int *icounts, int *displs, void **all, long *total) {
    long t = 0;
    for (int r = 0; r < g_size; r++) {
        if (counts[r] < 0 || counts[r] > INT_MAX - t) {
            nrps_set_error("gather: more than %d items of %zu bytes at rank 0", INT_MAX, elem);
            return NRPS_ERR_NOMEM;
        }
        icounts[r] = (int)counts[r];
        displs[r] = (int)t;
        t += counts[r];
    }
    *all = malloc((size_t)(t > 0 ? t : 1) * elem);
    if (!*all) {
        nrps_set_error("gather: out of memory for %ld items of %zu bytes at rank 0", t, elem);
        return NRPS_ERR_NOMEM;
    }
    *total = t;
    return NRPS_OK;
}

nrps_status nrps_dist_gather(const void *mine, long n, size_t elem, void **all, long *total) {
    *all = NULL;
    *total = 0;
    if (!g_active) return gather_local(mine, n, elem, all, total);
    long *counts = g_rank == 0 ? calloc((size_t)g_size, sizeof *counts) : NULL;
    int *ic = g_rank == 0 ? calloc((size_t)g_size, sizeof *ic) : NULL;
    int *dp = g_rank == 0 ? calloc((size_t)g_size, sizeof *dp) : NULL;
    nrps_status rc = NRPS_OK;
    if (g_rank == 0 && (!counts || !ic || !dp)) fatal("the gather's counts", "out of memory");
    if (n > INT_MAX) {
        nrps_set_error("gather: %ld items at one rank, more than %d", n, INT_MAX);
        rc = NRPS_ERR_NOMEM;
    }
    long mine_n = n;
    check(MPI_Gather(&mine_n, 1, MPI_LONG, counts, 1, MPI_LONG, 0, MPI_COMM_WORLD), "MPI_Gather");
    if (rc == NRPS_OK && g_rank == 0) rc = gather_plan(counts, elem, ic, dp, all, total);
    if ((rc = nrps_dist_agree(rc)) == NRPS_OK) {
        MPI_Datatype t;
        check(MPI_Type_contiguous((int)elem, MPI_BYTE, &t), "MPI_Type_contiguous");
        check(MPI_Type_commit(&t), "MPI_Type_commit");
        check(MPI_Gatherv(mine, (int)n, t, *all, ic, dp, t, 0, MPI_COMM_WORLD), "MPI_Gatherv");
        MPI_Type_free(&t);
    } else {
        free(*all);
        *all = NULL;
        *total = 0;
    }
    free(counts);
    free(ic);
    free(dp);
    return rc;
}

nrps_status nrps_dist_check_build(const char *sig) {
    if (!g_active) return NRPS_OK;
    char root[256];
    snprintf(root, sizeof root, "%s", sig);
    nrps_dist_bcast(root, sizeof root);
    root[sizeof root - 1] = '\0';
    nrps_status rc = NRPS_OK;
    if (strncmp(root, sig, sizeof root - 1) != 0) {
        nrps_set_error("runs another build of neural_rps (%s) than rank 0 (%s): every rank needs the same binary",
                       sig, root);
        rc = NRPS_ERR_ARG;
    }
    return nrps_dist_agree(rc);
}

#else /* not built with MPI: a job of one process */

int nrps_dist_built(void) { return 0; }
const char *nrps_dist_library(void) { return "not built with MPI"; }

nrps_status nrps_dist_start(const char *label) {
    (void)label;
    nrps_set_error("--mpi: this neural_rps was built without MPI (no mpicc at build time: install Open MPI, e.g. "
                   "'apt-get install openmpi-bin libopenmpi-dev' or make deps-dev, and rebuild)");
    return NRPS_ERR_UNAVAILABLE;
}
void nrps_dist_end(void) {}
int nrps_dist_active(void) { return 0; }
int nrps_dist_rank(void) { return 0; }
int nrps_dist_size(void) { return 1; }
nrps_status nrps_dist_agree(nrps_status rc) { return rc; }
void nrps_dist_bcast(void *buf, size_t bytes) { (void)buf, (void)bytes; }
void nrps_dist_sum_long(long *v, int n) { (void)v, (void)n; }
void nrps_dist_sum_double(double *v, int n) { (void)v, (void)n; }

nrps_status nrps_dist_gather(const void *mine, long n, size_t elem, void **all, long *total) {
    return gather_local(mine, n, elem, all, total);
}

nrps_status nrps_dist_check_build(const char *sig) {
    (void)sig;
    return NRPS_OK;
}

#endif
