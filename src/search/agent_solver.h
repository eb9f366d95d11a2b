/* agent_solver.h - the exact-play agent and the exact evaluator for MCTS tests, on top of the game
 * branch's exact solver (src/search/solver.h). */
#ifndef NRPS_AGENT_SOLVER_H
#define NRPS_AGENT_SOLVER_H

#include "search/evaluator.h"

typedef struct agent_solver agent_solver;

agent_solver *agent_solver_create(void);
void agent_solver_destroy(agent_solver *s); /* accepts NULL */
/* A uniformly random move among the optimal ones (by exact value for the mover) of s (not over). */
nrps_status agent_solver_pick(agent_solver *a, const rps_state *s, nrps_rng *rng, rps_move *out);
#endif
