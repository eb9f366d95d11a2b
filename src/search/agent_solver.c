/* agent_solver.c - exact play on top of the exact solver (src/search/solver.h): the agent picks uniformly
 * at random among the moves reaching the best final margin (so it wins whatever can be won and, among
 * equally good results, maximises its cells). */
#include "search/agent_solver.h"

#include <stdlib.h>

#include "search/solver.h"

struct agent_solver {
    rps_solver *sv;
};

agent_solver *agent_solver_create(void) {
    agent_solver *a = calloc(1, sizeof *a);
    if (!a) {
        nrps_set_error("solver agent: out of memory");
        return NULL;
    }
    if (!(a->sv = rps_solver_create(18))) { /* 4 MiB table: plenty for 9-ply games */
        free(a);
        return NULL;
    }
    return a;
}

void agent_solver_destroy(agent_solver *a) {
    if (!a) return;
    rps_solver_destroy(a->sv);
    free(a);
}

nrps_status agent_solver_pick(agent_solver *a, const rps_state *s, nrps_rng *rng, rps_move *out) {
    rps_solve_info info;
    nrps_status st = rps_solver_analyse(a->sv, s, &info);
    if (st != NRPS_OK) return st;
    if (info.n_moves == 0 || info.n_optimal == 0) {
        nrps_set_error("solver agent: no move in this position");
        return NRPS_ERR_ARG;
    }
    int k = (int)nrps_rng_below(rng, (uint32_t)info.n_optimal);
    for (int i = 0; i < info.n_moves; i++)
        if (info.moves[i].optimal && k-- == 0) {
            *out = info.moves[i].move;
            return NRPS_OK;
        }
    return NRPS_ERR_ARG;
}
