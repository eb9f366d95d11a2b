/* agent.h - players for arena, play and self-play: something that picks a move for a state.
 *
 * Spec syntax (one string):  NAME[:PLAYOUTS[:CPUCT]][,key=value]...
 *   random                      uniformly random legal move (hand index, position)
 *   greedy                      the move capturing most cards right now; ties uniformly at random
 *   mcts:PLAYOUTS[:CPUCT]       PUCT MCTS, uniform priors + one random rollout per leaf (default 200)
 *   mcts-net:PLAYOUTS           PUCT MCTS with the policy/value networks (default 200 playouts)
 *   net                         policy argmax over legal positions, no search; card: the type capturing
 *                               most cards at that position, ties to the lowest hand index
 *   solver                      exact play: uniformly random among the game-theoretically optimal moves
 *   bestresponse                exact best response to `random` (expectimax, src/search/bestresponse.h):
 *                               uniformly random among the moves maximising the expected score against a
 *                               uniformly random opponent (not against a strong one)
 * Keys (mcts, mcts-net): cpuct=X, batch=N, vloss=X, reuse=0|1, noise=W (Dirichlet weight), alpha=X,
 *   temp=T, tplies=N (temperature for the first N plies; -1 = all), threads=N (tree-parallel search threads on one
 *   tree, each with its own evaluator: its own rollout rng, or its own backend instance of the networks; only
 *   threads=1, the default, is deterministic for a seed); service=1 (mcts-net, eval=full) makes the threads share one
 *   batching service instead (src/search/eval_service.h: one server thread runs the networks on one backend
 *   instance in batches of up to threads x batch, gathered for at most wait=US microseconds, default 0), the way a
 *   GPU is fed.
 * Keys (mcts-net, net): policy=FILE, value=FILE (defaults models/rps_policy.onnx, models/rps_value.onnx),
 *   nets=DIR (both from DIR/rps_policy.onnx and DIR/rps_value.onnx), or net=FILE (one two-headed network with a
 *   policy and a value head; excludes the others); backend=NAME runs the networks on that backend (a registry
 *   name, src/backend/backend.h; default native-cpu). mcts with any of these keys becomes mcts-net.
 *   eval=full|incremental (mcts-net): full (the default) runs each leaf's networks on the backend; incremental
 *   builds each leaf's first layer from its parent node's (src/search/eval_incremental.h), on the native-cpu
 *   kernels: it needs backend=native-cpu (the default) and networks of the layer-list family.
 *   Each network gets positions in the input encoding its ONNX metadata names (rps_encoding,
 *   game.h; board when absent, so the original project's models play as they were trained).
 *   Examples: "mcts:200", "mcts:400,cpuct=2,batch=8", "mcts-net:200,nets=runs/r1/models",
 *   "mcts-net:200,backend=ort-cpu", "mcts-net:800,net=models/rps_net.onnx", "net,policy=models/rps_policy.onnx". */
#ifndef NRPS_AGENT_H
#define NRPS_AGENT_H

#include "game/game.h"
#include "search/mcts.h"

typedef enum { AGENT_RANDOM, AGENT_GREEDY, AGENT_MCTS, AGENT_MCTS_NET, AGENT_NET, AGENT_SOLVER,
               AGENT_BESTRESPONSE } agent_kind;

#define AGENT_DEFAULT_POLICY "models/rps_policy.onnx"
#define AGENT_DEFAULT_VALUE "models/rps_value.onnx"

typedef struct {
    agent_kind kind;
    char text[256];         /* the spec as given (for reports) */
    mcts_config mcts;       /* AGENT_MCTS, AGENT_MCTS_NET */
    char policy_path[512];  /* AGENT_MCTS_NET, AGENT_NET */
    char value_path[512];   /* AGENT_MCTS_NET */
    char net_path[512];     /* AGENT_MCTS_NET, AGENT_NET: one two-headed file instead ("" = none) */
    char backend[32];       /* AGENT_MCTS_NET, AGENT_NET: registry name ("" = native-cpu) */
    int incremental;        /* AGENT_MCTS_NET: eval=incremental */
    int service;            /* AGENT_MCTS_NET: service=1, the search threads share one batching service */
    int service_wait_us;    /* its wait for more requests (wait=US) */
} agent_spec;

/* Parses text. On error sets a one-line message "agent spec 'TEXT': <what was expected>" and returns
 * NRPS_ERR_ARG. Files are not opened here (agent_create does). */
nrps_status agent_spec_parse(const char *text, agent_spec *out);
const char *agent_kind_name(agent_kind k);
/* Points a network agent's spec at DIR's networks, as nets=DIR does: DIR/rps_policy.onnx + DIR/rps_value.onnx,
 * or DIR/rps_net.onnx when the policy file is absent and that exists; backend (NULL/"" = keep) as backend=. */
void agent_spec_set_nets(agent_spec *spec, const char *dir, const char *backend);

typedef struct agent agent;

/* Builds an agent (loads networks, allocates the search). seed seeds its private rng. NULL + error. */
agent *agent_create(const agent_spec *spec, uint64_t seed);
void agent_destroy(agent *a); /* accepts NULL */
/* Starts a new game: reseeds every rng the agent owns (its own and its evaluator's) and drops any tree. */
void agent_new_game(agent *a, uint64_t seed);
/* Picks a legal move for s (not over). Returns NRPS_OK, or an error from the evaluator / search. */
nrps_status agent_select_move(agent *a, const rps_state *s, rps_move *out);
/* The last MCTS search's result (NULL for agents without search or before the first move). */
const mcts_result *agent_last_search(const agent *a);
const agent_spec *agent_get_spec(const agent *a);

/* Cells the placed type would capture at pos for the player to move in s (no state change). */
int agent_captures(const rps_state *s, int type, int pos);

#endif
