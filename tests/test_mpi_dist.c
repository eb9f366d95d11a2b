/* test_mpi_dist.c - the MPI seam as built without MPI (src/util/mpi_dist.c compiled here with NRPS_HAVE_MPI
 * undefined, whatever the build found: these definitions stand in for the library's): --mpi refused in one line,
 * a job of one process for everything else; and the blocks every build splits games into. The real MPI side is
 * tested under mpirun by tests/test_cli_mpi.sh. */
#undef NRPS_HAVE_MPI
#include "util/mpi_dist.c"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static void test_blocks_cover_in_order(void) {
    static const long ns[] = {0, 1, 2, 5, 7, 100, 1500, 1000003};
    static const int sizes[] = {1, 2, 3, 4, 7, 16, 1000};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
            long n = ns[i], prev_hi = 0, min = n + 1, max = -1;
            int size = sizes[j];
            for (int r = 0; r < size; r++) {
                long lo, hi;
                nrps_dist_block(n, r, size, &lo, &hi);
                CHECK_MSG(lo == prev_hi && hi >= lo, "n %ld size %d rank %d: [%ld, %ld) after %ld", n, size, r, lo, hi,
                          prev_hi);
                prev_hi = hi;
                if (hi - lo < min) min = hi - lo;
                if (hi - lo > max) max = hi - lo;
            }
            CHECK_MSG(prev_hi == n, "n %ld size %d: blocks end at %ld", n, size, prev_hi);
            CHECK_MSG(max - min <= 1, "n %ld size %d: block sizes %ld..%ld", n, size, min, max);
        }
    long lo, hi;
    nrps_dist_block(0x7fffffffffffffffL, 999, 1000, &lo, &hi); /* no overflow in n * rank */
    CHECK(hi == 0x7fffffffffffffffL && lo > 0 && lo < hi);
}

static void test_launch_rank_from_environment(void) {
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("PMIX_RANK");
    unsetenv("PMI_RANK");
    CHECK(nrps_dist_launch_rank() == -1);
    setenv("PMI_RANK", "3", 1);
    CHECK(nrps_dist_launch_rank() == 3);
    setenv("OMPI_COMM_WORLD_RANK", "1", 1);
    CHECK(nrps_dist_launch_rank() == 1); /* Open MPI's first */
    setenv("OMPI_COMM_WORLD_RANK", "x", 1);
    CHECK(nrps_dist_launch_rank() == 3); /* not a number: the next launcher's */
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("PMI_RANK");
    CHECK(nrps_dist_launch_rank() == -1);
}

static void test_without_mpi_start_refused(void) {
    CHECK(!nrps_dist_built());
    CHECK(strcmp(nrps_dist_library(), "not built with MPI") == 0);
    setenv("OMPI_COMM_WORLD_RANK", "0", 1); /* even under a launcher */
    CHECK(nrps_dist_start("test") == NRPS_ERR_UNAVAILABLE);
    unsetenv("OMPI_COMM_WORLD_RANK");
    CHECK_MSG(strstr(nrps_last_error(), "--mpi: this neural_rps was built without MPI") && !strchr(nrps_last_error(), '\n'),
              "%s", nrps_last_error());
    CHECK(!nrps_dist_active() && nrps_dist_rank() == 0 && nrps_dist_size() == 1);
    nrps_dist_end(); /* no-op */
}

static void test_without_mpi_a_job_of_one(void) {
    long lo, hi;
    nrps_dist_share(17, &lo, &hi);
    CHECK(lo == 0 && hi == 17);
    nrps_set_error("something");
    CHECK(nrps_dist_agree(NRPS_ERR_IO) == NRPS_ERR_IO && strcmp(nrps_last_error(), "something") == 0);
    CHECK(nrps_dist_agree(NRPS_OK) == NRPS_OK);
    CHECK(nrps_dist_check_build("any") == NRPS_OK);
    long v[2] = {3, 4};
    double d[1] = {2.5};
    nrps_dist_sum_long(v, 2);
    nrps_dist_sum_double(d, 1);
    CHECK(v[0] == 3 && v[1] == 4 && d[0] == 2.5);
    char buf[4] = {1, 2, 3, 4};
    nrps_dist_bcast(buf, sizeof buf);
    CHECK(buf[0] == 1 && buf[3] == 4);
    int mine[3] = {7, 8, 9};
    void *all = NULL;
    long total = -1;
    REQUIRE(nrps_dist_gather(mine, 3, sizeof *mine, &all, &total) == NRPS_OK);
    CHECK(total == 3 && all && memcmp(all, mine, sizeof mine) == 0 && all != (void *)mine);
    free(all);
    REQUIRE(nrps_dist_gather(NULL, 0, sizeof *mine, &all, &total) == NRPS_OK);
    CHECK(total == 0 && all != NULL); /* never NULL on success */
    free(all);
}

int main(void) {
    RUN(test_blocks_cover_in_order);
    RUN(test_launch_rank_from_environment);
    RUN(test_without_mpi_start_refused);
    RUN(test_without_mpi_a_job_of_one);
    return check_summary("mpi_dist");
}
