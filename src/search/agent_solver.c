/* agent_solver.c - exact agent (placeholder until the solver lands). */
#include "search/agent_solver.h"
#include <stdlib.h>
struct agent_solver { int dummy; };
agent_solver *agent_solver_create(void) { nrps_set_error("solver: not available yet"); return NULL; }
void agent_solver_destroy(agent_solver *s) { free(s); }
nrps_status agent_solver_pick(agent_solver *a, const rps_state *s, nrps_rng *rng, rps_move *out) {
    (void)a; (void)s; (void)rng; (void)out; return NRPS_ERR_UNAVAILABLE;
}
