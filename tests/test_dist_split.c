/* test_dist_split.c - self-play and arenas split over the processes of a job (selfplay_config.distributed,
 * arena_config.distributed) give the games of one process, without MPI: this file defines the util/mpi_dist.h
 * functions itself as a fake job in which this process is rank R of N and every collective sees this rank alone
 * (a gather returns its own block, sums are its own). Playing as every rank in turn and joining the blocks in rank
 * order must give exactly the 1-process samples, records and counts, for several N and thread counts. The real
 * collectives are tested under mpirun by tests/test_cli_mpi.sh. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "backend/backend.h"
#include "nn/net.h"
#include "onnx/onnx_net.h"
#include "search/arena.h"
#include "train/selfplay.h"
#include "util/mpi_dist.h"

/* ---- the fake job ---- */
static int fake_rank, fake_size = 1, fake_active;

int nrps_dist_built(void) { return 1; }
const char *nrps_dist_library(void) { return "fake job (test_dist_split.c)"; }
int nrps_dist_launch_rank(void) { return fake_active ? fake_rank : -1; }
nrps_status nrps_dist_start(const char *label) { (void)label; return NRPS_OK; }
void nrps_dist_end(void) {}
int nrps_dist_active(void) { return fake_active; }
int nrps_dist_rank(void) { return fake_active ? fake_rank : 0; }
int nrps_dist_size(void) { return fake_active ? fake_size : 1; }
void nrps_dist_block(long n, int rank, int size, long *lo, long *hi) {
    *lo = n * rank / size;
    *hi = n * (rank + 1) / size;
}
void nrps_dist_share(long n, long *lo, long *hi) { nrps_dist_block(n, nrps_dist_rank(), nrps_dist_size(), lo, hi); }
nrps_status nrps_dist_agree(nrps_status rc) { return rc; }
void nrps_dist_bcast(void *buf, size_t bytes) { (void)buf, (void)bytes; }
void nrps_dist_sum_long(long *v, int n) { (void)v, (void)n; }
void nrps_dist_sum_double(double *v, int n) { (void)v, (void)n; }
nrps_status nrps_dist_gather(const void *mine, long n, size_t elem, void **all, long *total) {
    *all = malloc((size_t)(n > 0 ? n : 1) * elem);
    if (n > 0) memcpy(*all, mine, (size_t)n * elem);
    *total = n;
    return NRPS_OK;
}
nrps_status nrps_dist_check_build(const char *sig) { (void)sig; return NRPS_OK; }

/* ---- helpers ---- */

static int random_nets(be_model *m[2], uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    int hp[1] = {16}, hv[1] = {8};
    nn_arch a[2] = {nn_arch_mlp(RPS_INPUT_SIZE, hp, 1, NN_ACT_RELU, 0, RPS_POLICY_SIZE, NN_ACT_SOFTMAX, NN_HEAD_POLICY),
                    nn_arch_mlp(RPS_INPUT_SIZE, hv, 1, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID, NN_HEAD_VALUE)};
    onnx_net_info info;
    onnx_net_info_default(&info);
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        nn_net n;
        m[i] = NULL;
        ok = ok && nn_init(&n, &a[i]) == NRPS_OK;
        if (ok) nn_init_random(&n, &r);
        ok = ok && be_model_from_net(&n, &info, i ? "value" : "policy", &m[i]) == NRPS_OK;
        nn_free(&n);
    }
    return ok;
}

static selfplay_config tiny_selfplay(void) {
    selfplay_config sc;
    memset(&sc, 0, sizeof sc);
    sc.game = rps_config_standard();
    sc.mcts = mcts_config_default();
    sc.mcts.playouts = 12;
    sc.mcts.batch = 4;
    sc.mcts.dirichlet_weight = 0.25;
    sc.mcts.temperature = 1;
    sc.mcts.temperature_plies = 4;
    sc.mcts.reuse_tree = 1;
    sc.seed = 7;
    sc.random_share = 0.3; /* the random seat is drawn by game index too */
    sc.threads = 1;
    return sc;
}

/* ---- tests ---- */

static void test_selfplay_blocks_join_to_one_process(void) {
    be_model *nets[2];
    REQUIRE(random_nets(nets, 9));
    selfplay_config sc = tiny_selfplay();
    const long games = 11;
    sp_sample *ref = NULL;
    long nref = 0;
    selfplay_stats sref;
    fake_active = 0;
    REQUIRE(selfplay_run(&sc, nets[0], nets[1], 2, games, &ref, &nref, &sref) == NRPS_OK);
    static const int sizes[] = {2, 3, 4, 16}; /* 16 > games: some ranks play none */
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        sp_sample *joined = malloc((size_t)nref * sizeof *joined);
        long at = 0, ngames = 0;
        REQUIRE(joined);
        fake_active = 1, fake_size = sizes[k], sc.distributed = 1;
        for (fake_rank = 0; fake_rank < fake_size; fake_rank++) {
            sp_sample *mine = NULL;
            long n = 0;
            selfplay_stats st;
            sc.threads = 1 + fake_rank % 3; /* any threads per rank */
            CHECK(selfplay_run(&sc, nets[0], nets[1], 2, games, &mine, &n, &st) == NRPS_OK);
            CHECK_MSG(at + n <= nref, "size %d rank %d: %ld samples past %ld", fake_size, fake_rank, at + n, nref);
            if (mine && at + n <= nref) memcpy(joined + at, mine, (size_t)n * sizeof *mine);
            at += n;
            ngames += st.games;
            free(mine);
        }
        fake_active = 0, sc.distributed = 0, sc.threads = 1;
        CHECK_MSG(at == nref && ngames == games, "size %d: %ld samples of %ld games", fake_size, at, ngames);
        CHECK_MSG(at == nref && memcmp(joined, ref, (size_t)nref * sizeof *ref) == 0, "size %d: samples differ",
                  fake_size);
        free(joined);
    }
    free(ref);
    be_model_free(nets[0]);
    be_model_free(nets[1]);
}

static void test_arena_blocks_join_to_one_process(void) {
    arena_config cfg;
    memset(&cfg, 0, sizeof cfg);
    REQUIRE(agent_spec_parse("mcts:30", &cfg.a) == NRPS_OK);
    REQUIRE(agent_spec_parse("greedy", &cfg.b) == NRPS_OK);
    cfg.game = rps_config_standard();
    cfg.games = 13; /* odd: the last deal is played once */
    cfg.seed = 5;
    cfg.threads = 2;
    cfg.keep_games = 1;
    arena_result ref;
    fake_active = 0;
    REQUIRE(arena_run(&cfg, &ref) == NRPS_OK);
    static const int sizes[] = {2, 3, 5};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        long games = 0, a_wins = 0, draws = 0, as_p1 = 0, at = 0;
        int same_log = 1;
        fake_active = 1, fake_size = sizes[k], cfg.distributed = 1;
        for (fake_rank = 0; fake_rank < fake_size; fake_rank++) {
            arena_result r;
            CHECK(arena_run(&cfg, &r) == NRPS_OK);
            games += r.games, a_wins += r.a_wins, draws += r.draws, as_p1 += r.a_games_as_p1;
            for (long g = 0; g < r.games && at + g < ref.games; g++)
                same_log &= memcmp(&r.log[g], &ref.log[at + g], sizeof *r.log) == 0;
            at += r.games;
            arena_result_free(&r);
        }
        fake_active = 0, cfg.distributed = 0;
        CHECK_MSG(games == ref.games && a_wins == ref.a_wins && draws == ref.draws && as_p1 == ref.a_games_as_p1,
                  "size %d: %ld games, %ld wins vs %ld, %ld", fake_size, games, a_wins, ref.games, ref.a_wins);
        CHECK_MSG(same_log, "size %d: the games differ from one process's", fake_size);
    }
    arena_result_free(&ref);
}

int main(void) {
    RUN(test_selfplay_blocks_join_to_one_process);
    RUN(test_arena_blocks_join_to_one_process);
    return check_summary("dist_split");
}
