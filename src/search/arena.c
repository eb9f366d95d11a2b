/* arena.c - paired-deal matches between two agents, multi-threaded, with Wilson intervals and Elo. */
#include "search/arena.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mpi_dist.h"

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t arena_derive_seed(uint64_t seed, uint64_t stream, uint64_t i) {
    return mix64(mix64(seed) ^ mix64(stream * 0x100000001b3ULL + 0x632be59bd9b4e019ULL) ^ mix64(i + 0x2545f4914f6cdd1dULL));
}

void arena_wilson(double p, long n, double z, double *lo, double *hi) {
    if (n <= 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    double z2 = z * z, nn = (double)n;
    double den = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / den;
    double half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / den;
    *lo = centre - half < 0 ? 0 : centre - half;
    *hi = centre + half > 1 ? 1 : centre + half;
}

double arena_elo(double p) {
    if (p <= 0) return -INFINITY;
    if (p >= 1) return INFINITY;
    return 400.0 * log10(p / (1 - p));
}

nrps_status arena_play_game(agent *p1, agent *p2, const rps_state *s0, arena_game *g, double secs[2]) {
    rps_state s = *s0;
    g->hand_size = s0->hand_len[RPS_P1];
    memcpy(g->p1_hand, s0->hand[RPS_P1], sizeof g->p1_hand);
    memcpy(g->p2_hand, s0->hand[RPS_P2], sizeof g->p2_hand);
    g->nmoves = 0;
    while (!rps_state_is_over(&s) && g->nmoves < RPS_MAX_PLIES) {
        agent *who = s.to_move == RPS_P1 ? p1 : p2;
        rps_move mv;
        double t0 = nrps_now_s();
        nrps_status st = agent_select_move(who, &s, &mv);
        secs[s.to_move - 1] += nrps_now_s() - t0;
        if (st != NRPS_OK) return st;
        if (rps_state_apply(&s, mv) != NRPS_OK) {
            nrps_set_error("agent %s chose an illegal move (card %d, position %d)", agent_get_spec(who)->text,
                           mv.card, mv.pos);
            return NRPS_ERR_ILLEGAL;
        }
        g->moves[g->nmoves++] = mv;
    }
    g->winner = rps_state_winner(&s);
    rps_state_score(&s, &g->score_p1, &g->score_p2);
    return NRPS_OK;
}

typedef struct {
    const arena_config *cfg;
    long first, count;   /* this process's games: first .. first + count - 1 */
    arena_game *games;   /* [count], game first + i at i */
    unsigned char *done;
    atomic_long next, finished;
    atomic_int stop;
    pthread_mutex_t lock;
    nrps_status err;
    char errmsg[512];
    double a_secs, b_secs;
    long a_moves, b_moves;
} shared;

static void fail(shared *sh, nrps_status st) {
    pthread_mutex_lock(&sh->lock);
    if (sh->err == NRPS_OK) {
        sh->err = st;
        snprintf(sh->errmsg, sizeof sh->errmsg, "%s", nrps_last_error());
    }
    pthread_mutex_unlock(&sh->lock);
    atomic_store(&sh->stop, 1);
}

static void *worker(void *arg) {
    shared *sh = arg;
    const arena_config *cfg = sh->cfg;
    agent *a = agent_create(&cfg->a, 0), *b = NULL;
    if (!a) {
        fail(sh, NRPS_ERR_ARG);
        return NULL;
    }
    if (!(b = agent_create(&cfg->b, 0))) {
        fail(sh, NRPS_ERR_ARG);
        agent_destroy(a);
        return NULL;
    }
    double secs_a = 0, secs_b = 0;
    long mv_a = 0, mv_b = 0;
    for (;;) {
        if (atomic_load(&sh->stop)) break;
        if (nrps_interrupted) {
            nrps_set_error("arena: interrupted");
            fail(sh, NRPS_ERR_INTERRUPTED);
            break;
        }
        long i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->count) break;
        long g = sh->first + i; /* the game's index in the match: its deal, seats and rngs */
        rps_state s;
        nrps_rng deal;
        nrps_rng_seed(&deal, arena_derive_seed(cfg->seed, 1, (uint64_t)(g / 2)));
        rps_state_deal(&s, &cfg->game, &deal);
        int a_seat = (g % 2 == 0) ? RPS_P1 : RPS_P2;
        agent_new_game(a, arena_derive_seed(cfg->seed, 2, (uint64_t)g));
        agent_new_game(b, arena_derive_seed(cfg->seed, 3, (uint64_t)g));
        arena_game *gm = &sh->games[i];
        double secs[2] = {0, 0};
        nrps_status st = a_seat == RPS_P1 ? arena_play_game(a, b, &s, gm, secs) : arena_play_game(b, a, &s, gm, secs);
        if (st != NRPS_OK) {
            fail(sh, st);
            break;
        }
        gm->a_seat = a_seat;
        int a_idx = a_seat - 1;
        secs_a += secs[a_idx];
        secs_b += secs[1 - a_idx];
        mv_a += a_seat == RPS_P1 ? (gm->nmoves + 1) / 2 : gm->nmoves / 2;
        mv_b += a_seat == RPS_P1 ? gm->nmoves / 2 : (gm->nmoves + 1) / 2;
        sh->done[i] = 1;
        long f = atomic_fetch_add(&sh->finished, 1) + 1;
        if (cfg->progress && (f % 10 == 0 || f == sh->count)) {
            pthread_mutex_lock(&sh->lock);
            fprintf(stderr, "\rarena: %ld/%ld game%s", f, sh->count, sh->count == 1 ? "" : "s");
            if (f == sh->count) fputc('\n', stderr);
            fflush(stderr);
            pthread_mutex_unlock(&sh->lock);
        }
    }
    pthread_mutex_lock(&sh->lock);
    sh->a_secs += secs_a;
    sh->b_secs += secs_b;
    sh->a_moves += mv_a;
    sh->b_moves += mv_b;
    pthread_mutex_unlock(&sh->lock);
    agent_destroy(a);
    agent_destroy(b);
    return NULL;
}

void arena_result_free(arena_result *res) {
    if (!res) return;
    free(res->log);
    res->log = NULL;
}

/* Adds games[0 .. n-1] to res's counts. */
static void tally(const arena_game *games, long n, arena_result *res) {
    for (long g = 0; g < n; g++) {
        const arena_game *gm = &games[g];
        int a_won = gm->winner == gm->a_seat, draw = gm->winner == RPS_NONE;
        res->a_wins += a_won;
        res->draws += draw;
        res->b_wins += !a_won && !draw;
        if (gm->a_seat == RPS_P1) {
            res->a_games_as_p1++;
            res->a_wins_as_p1 += a_won;
            res->a_draws_as_p1 += draw;
        } else {
            res->a_games_as_p2++;
            res->a_wins_as_p2 += a_won;
            res->a_draws_as_p2 += draw;
        }
    }
    res->games += n;
}

/* res's counts and move times summed over the job's processes. */
static void sum_over_job(arena_result *res) {
    long v[12] = {res->games, res->a_wins, res->draws, res->b_wins, res->a_wins_as_p1, res->a_draws_as_p1,
                  res->a_games_as_p1, res->a_wins_as_p2, res->a_draws_as_p2, res->a_games_as_p2, res->a_moves,
                  res->b_moves};
    double d[2] = {res->a_seconds, res->b_seconds};
    nrps_dist_sum_long(v, 12);
    nrps_dist_sum_double(d, 2);
    res->games = v[0], res->a_wins = v[1], res->draws = v[2], res->b_wins = v[3], res->a_wins_as_p1 = v[4];
    res->a_draws_as_p1 = v[5], res->a_games_as_p1 = v[6], res->a_wins_as_p2 = v[7], res->a_draws_as_p2 = v[8];
    res->a_games_as_p2 = v[9], res->a_moves = v[10], res->b_moves = v[11];
    res->a_seconds = d[0], res->b_seconds = d[1];
}

/* The score, its interval and the Elo figures from res's counts. */
static void finish_scores(arena_result *res) {
    long n = res->games;
    res->score = n ? (res->a_wins + 0.5 * res->draws) / (double)n : 0.5;
    arena_wilson(res->score, n, 1.959964, &res->score_lo, &res->score_hi);
    res->elo = arena_elo(res->score);
    res->elo_lo = arena_elo(res->score_lo);
    res->elo_hi = arena_elo(res->score_hi);
}

/* Starts cfg->threads workers on sh and joins them; the first error (thread start or a game) in st. */
static nrps_status play_threads(const arena_config *cfg, shared *sh) {
    pthread_t *th = calloc((size_t)cfg->threads, sizeof *th);
    if (!th) {
        nrps_set_error("arena: out of memory for %d threads", cfg->threads);
        return NRPS_ERR_NOMEM;
    }
    nrps_status st = NRPS_OK;
    int started = 0;
    for (int i = 0; i < cfg->threads; i++) {
        if (pthread_create(&th[i], NULL, worker, sh) != 0) {
            nrps_set_error("arena: cannot start thread %d", i);
            st = NRPS_ERR_NOMEM;
            atomic_store(&sh->stop, 1);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);
    if (st == NRPS_OK && sh->err != NRPS_OK) {
        st = sh->err;
        nrps_set_error("%s", sh->errmsg);
    }
    return st;
}

/* This process's games into sh (allocated here; the caller frees sh->games and sh->done) and their tally into res
 * (the games finished in order before the first unfinished one). */
static nrps_status play_share(const arena_config *cfg, shared *sh, arena_result *res) {
    sh->games = calloc((size_t)(sh->count > 0 ? sh->count : 1), sizeof *sh->games);
    sh->done = calloc((size_t)(sh->count > 0 ? sh->count : 1), 1);
    if (!sh->games || !sh->done) {
        nrps_set_error("arena: out of memory for %ld games", sh->count);
        return NRPS_ERR_NOMEM;
    }
    nrps_status st = play_threads(cfg, sh);
    long n = 0;
    while (n < sh->count && sh->done[n]) n++;
    tally(sh->games, n, res);
    res->a_seconds = sh->a_secs;
    res->b_seconds = sh->b_secs;
    res->a_moves = sh->a_moves;
    res->b_moves = sh->b_moves;
    return st;
}

nrps_status arena_run(const arena_config *cfg, arena_result *res) {
    memset(res, 0, sizeof *res);
    nrps_status st = NRPS_OK;
    if (cfg->games < 1 || cfg->threads < 1 || cfg->threads > 256) {
        nrps_set_error("arena: need games >= 1 and threads in [1, 256]");
        st = NRPS_ERR_ARG;
    } else if (rps_config_check(&cfg->game) != NRPS_OK) {
        st = NRPS_ERR_ARG;
    }
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.cfg = cfg;
    sh.count = cfg->games;
    if (cfg->distributed) {
        long hi = 0;
        nrps_dist_share(cfg->games, &sh.first, &hi);
        sh.count = hi - sh.first;
    }
    pthread_mutex_init(&sh.lock, NULL);
    atomic_init(&sh.next, 0);
    atomic_init(&sh.finished, 0);
    atomic_init(&sh.stop, 0);
    double t0 = nrps_now_s();
    if (st == NRPS_OK) st = play_share(cfg, &sh, res);
    if (cfg->distributed && (st = nrps_dist_agree(st)) == NRPS_OK) {
        sum_over_job(res);
        if (cfg->keep_games) {
            void *all = NULL;
            long n = 0;
            st = nrps_dist_gather(sh.games, sh.count, sizeof *sh.games, &all, &n);
            free(sh.games);
            sh.games = all;
        }
    }
    finish_scores(res);
    res->seconds = nrps_now_s() - t0;
    if (cfg->keep_games) {
        res->log = sh.games;
        sh.games = NULL;
    }
    pthread_mutex_destroy(&sh.lock);
    free(sh.games);
    free(sh.done);
    return st;
}
