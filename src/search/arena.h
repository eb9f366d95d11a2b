/* arena.h - matches between two agents over paired deals, with score intervals and Elo.
 *
 * Game g (0-based) uses deal g/2; agent A sits as Player1 in even games and as Player2 in odd games, so
 * each deal is played from both seats (an odd game count leaves the last deal played once). Every game's
 * randomness derives from (seed, g) only: the deal from (seed, g/2), each agent's rng from (seed, g, seat):
 * results do not depend on the thread count, nor on how many MPI processes share the games
 * (arena_config.distributed, util/mpi_dist.h). */
#ifndef NRPS_ARENA_H
#define NRPS_ARENA_H

#include "game/game.h"
#include "search/agent.h"

typedef struct {
    int a_seat;                    /* RPS_P1 or RPS_P2: where agent A sat */
    int8_t p1_hand[RPS_MAX_HAND], p2_hand[RPS_MAX_HAND];
    int hand_size;
    rps_move moves[RPS_MAX_PLIES];
    int nmoves;
    int winner;                    /* RPS_P1, RPS_P2 or RPS_NONE */
    int score_p1, score_p2;        /* cells owned at the end */
} arena_game;

typedef struct {
    agent_spec a, b;
    rps_config game;
    long games;       /* >= 1 */
    uint64_t seed;
    int threads;      /* >= 1 */
    int progress;     /* print progress on stderr (the CLI sets it only when stderr is a terminal) */
    int keep_games;   /* fill arena_result.log (for records) */
    int distributed;  /* split the games over the processes of the MPI job (nrps_dist_share blocks) */
} arena_config;

typedef struct {
    long games, a_wins, draws, b_wins;
    long a_wins_as_p1, a_draws_as_p1, a_games_as_p1, a_wins_as_p2, a_draws_as_p2, a_games_as_p2;
    double score;            /* A's mean score (win 1, draw 0.5) */
    double score_lo, score_hi; /* 95% Wilson score interval */
    double elo, elo_lo, elo_hi; /* Elo difference A - B and its interval (+-INFINITY at 0 or 1) */
    double seconds;
    long a_moves, b_moves;
    double a_seconds, b_seconds; /* time spent choosing moves, summed over threads */
    arena_game *log;         /* games in order, when keep_games (owned; arena_result_free) */
} arena_result;

/* Plays the match. Agents are created per thread (network files are loaded there). Returns NRPS_OK, an
 * agent creation / search error (message set), or NRPS_ERR_INTERRUPTED on SIGINT (res then holds the
 * games finished in order before the first unfinished one).
 * With cfg->distributed, COLLECTIVE: every rank of the job calls it with the same cfg (each rank reads the agents'
 * network files at the same paths) and plays its block of the games on its own cfg->threads; on success every rank
 * gets the counts, scores and move times of the whole match (seconds: this rank's wall time), and with keep_games
 * rank 0 gets every game in res->log (the others NULL). An error anywhere is returned on every rank
 * (nrps_dist_agree: the message names the rank); res then holds this rank's games only. */
nrps_status arena_run(const arena_config *cfg, arena_result *res);
void arena_result_free(arena_result *res);

/* Plays one game between x (Player1) and y (Player2) from the dealt state s0; fills g (a_seat left 0). */
nrps_status arena_play_game(agent *p1, agent *p2, const rps_state *s0, arena_game *g, double secs[2]);

/* 95% (z = 1.959964) Wilson score interval for a mean score p over n games. */
void arena_wilson(double p, long n, double z, double *lo, double *hi);
/* Elo difference for an expected score p: 400 log10(p / (1 - p)); +-INFINITY at 1 and 0. */
double arena_elo(double p);

/* Seed of stream `stream` for index i (splitmix64 mixing of seed, stream and i). */
uint64_t arena_derive_seed(uint64_t seed, uint64_t stream, uint64_t i);

#endif
