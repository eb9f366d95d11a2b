/* solver.c - exact negamax alpha-beta solver with a transposition table (see solver.h).
 *
 * Internally a position is a compact struct searched by make/unmake: cells coded 0 (empty) or
 * 1 + type + 3*owner (owner 0 = Player1, 1 = Player2), hand contents as counts per type (the order of a hand
 * never matters to the value, and equal cards are merged), side to move, round. The table key packs the
 * whole position into 62 bits: 9 cells x 3 bits, 6 counts x 5 bits, side, rounds left clipped to 15 (at most
 * 9 plies = 5 rounds remain, so the clip loses nothing). Values are exact margins in -9..9 stored with
 * EXACT/LOWER/UPPER bounds from fail-soft alpha-beta. The 8 symmetries of the square preserve adjacency
 * and so values: the key uses the smallest of the 8 transformed board codes (kept incrementally), which
 * cuts the nodes of a standard solve about 3x; the stored best move is kept in that canonical frame. */
#include "search/solver.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { TT_EMPTY = 0, TT_EXACT = 1, TT_LOWER = 2, TT_UPPER = 3 };
enum { INF = 100, NO_MOVE = 255 };

typedef struct {
    uint64_t key; /* full packed key | bit 63 (0 = empty slot) */
    int8_t value;
    uint8_t flag;
    uint8_t best; /* type*9 + pos, or NO_MOVE */
    uint8_t pad[5];
} tt_entry;

struct rps_solver {
    tt_entry *tt;
    uint64_t mask;
    int shift;
    uint64_t nodes;
};

typedef struct {
    uint8_t cell[RPS_CELLS];
    uint8_t cnt[2][3];
    uint8_t left[2]; /* cards in hand per side */
    int8_t score[2]; /* cells owned per side */
    uint8_t side;    /* 0 = Player1 to move, 1 = Player2 */
    uint8_t empties;
    int round, max_rounds;
    uint64_t bcode[8]; /* board code under each symmetry: sum over cells q of cell[q] << SH[q][k] */
} pos_t;

/* Neighbours (up, right, down, left) of each cell, -1 terminated. */
static const int8_t NB[RPS_CELLS][5] = {
    {1, 3, -1}, {2, 4, 0, -1}, {5, 1, -1}, {0, 4, 6, -1}, {1, 5, 7, 3, -1},
    {2, 8, 4, -1}, {3, 7, -1}, {4, 8, 6, -1}, {5, 7, -1},
};
/* The 8 symmetries of the square (rotations, reflections) preserve orthogonal adjacency, hence values.
 * SYM[k][p] = image of cell p under symmetry k; SYM_INV[k] its inverse. */
static const int8_t SYM[8][RPS_CELLS] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8}, {2, 5, 8, 1, 4, 7, 0, 3, 6}, {8, 7, 6, 5, 4, 3, 2, 1, 0},
    {6, 3, 0, 7, 4, 1, 8, 5, 2}, {2, 1, 0, 5, 4, 3, 8, 7, 6}, {6, 7, 8, 3, 4, 5, 0, 1, 2},
    {0, 3, 6, 1, 4, 7, 2, 5, 8}, {8, 5, 2, 7, 4, 1, 6, 3, 0},
};
static int8_t SYM_INV[8][RPS_CELLS];
static uint8_t SH[RPS_CELLS][8]; /* bit offset of cell q in the board code under symmetry k */
static void sym_init_once(void) {
    for (int k = 0; k < 8; k++)
        for (int p = 0; p < RPS_CELLS; p++) {
            SYM_INV[k][SYM[k][p]] = (int8_t)p;
            SH[p][k] = (uint8_t)(3 * (8 - SYM[k][p]));
        }
}

/* cell q changes by delta (mod 2^64 arithmetic makes negative deltas work). */
static inline void bcode_update(pos_t *ps, int q, int delta) {
    for (int k = 0; k < 8; k++) ps->bcode[k] += (uint64_t)(int64_t)delta << SH[q][k];
}

/* BEATEN[t] = the type that type t beats. */
static const uint8_t BEATEN[3] = {RPS_SCISSORS, RPS_ROCK, RPS_PAPER};

rps_solver *rps_solver_create(int tt_log2) {
    if (tt_log2 == 0) tt_log2 = 16;
    if (tt_log2 < 10 || tt_log2 > 28) {
        nrps_set_error("solver table size 2^%d out of range [2^10, 2^28]", tt_log2);
        return NULL;
    }
    rps_solver *sv = calloc(1, sizeof *sv);
    if (!sv) goto oom;
    sv->tt = calloc((size_t)1 << tt_log2, sizeof *sv->tt);
    if (!sv->tt) goto oom;
    sv->mask = ((uint64_t)1 << tt_log2) - 1;
    sv->shift = 64 - tt_log2;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sym_init_once);
    return sv;
oom:
    free(sv);
    nrps_set_error("solver: out of memory for a table of 2^%d entries", tt_log2);
    return NULL;
}

void rps_solver_destroy(rps_solver *sv) {
    if (!sv) return;
    free(sv->tt);
    free(sv);
}

void rps_solver_clear(rps_solver *sv) { memset(sv->tt, 0, (size_t)(sv->mask + 1) * sizeof *sv->tt); }

uint64_t rps_solver_nodes(const rps_solver *sv) { return sv->nodes; }

static nrps_status pos_from_state(pos_t *ps, const rps_state *s) {
    memset(ps, 0, sizeof *ps);
    if (s->to_move != RPS_P1 && s->to_move != RPS_P2) {
        nrps_set_error("solver: side to move %d is not 1 or 2", s->to_move);
        return NRPS_ERR_ARG;
    }
    for (int p = 0; p < RPS_CELLS; p++) {
        const rps_cell *c = &s->board[p];
        if (c->owner == RPS_NONE) {
            ps->empties++;
            continue;
        }
        if ((c->owner != RPS_P1 && c->owner != RPS_P2) || c->type < 0 || c->type > 2) {
            nrps_set_error("solver: cell %d holds type %d owner %d", p, c->type, c->owner);
            return NRPS_ERR_ARG;
        }
        int o = c->owner - 1;
        ps->cell[p] = (uint8_t)(1 + c->type + 3 * o);
        ps->score[o]++;
    }
    for (int o = 0; o < 2; o++) {
        int n = s->hand_len[o + 1];
        if (n < 0 || n > RPS_MAX_HAND) {
            nrps_set_error("solver: Player%d hand length %d", o + 1, n);
            return NRPS_ERR_ARG;
        }
        for (int i = 0; i < n; i++) {
            int t = s->hand[o + 1][i];
            if (t < 0 || t > 2) {
                nrps_set_error("solver: Player%d card %d has type %d", o + 1, i, t);
                return NRPS_ERR_ARG;
            }
            ps->cnt[o][t]++;
        }
        ps->left[o] = (uint8_t)n;
    }
    for (int p = 0; p < RPS_CELLS; p++) bcode_update(ps, p, ps->cell[p]);
    ps->side = (uint8_t)(s->to_move - 1);
    ps->round = s->round;
    ps->max_rounds = s->cfg.max_rounds;
    return NRPS_OK;
}

static inline int pos_terminal(const pos_t *ps) {
    return ps->left[ps->side] == 0 || ps->empties == 0 || ps->round > ps->max_rounds;
}

/* Packed key of the position under its canonical symmetry (the one giving the smallest board code);
 * *sym receives that symmetry's index. */
static inline uint64_t pos_key(const pos_t *ps, int *sym) {
    uint64_t k = ps->bcode[0];
    *sym = 0;
    for (int s = 1; s < 8; s++)
        if (ps->bcode[s] < k) {
            k = ps->bcode[s];
            *sym = s;
        }
    for (int o = 0; o < 2; o++)
        for (int t = 0; t < 3; t++) k = (k << 5) | ps->cnt[o][t];
    int rl = ps->max_rounds - ps->round + 1;
    if (rl > 15) rl = 15;
    k = (k << 1) | ps->side;
    k = (k << 4) | (uint64_t)rl;
    return k | ((uint64_t)1 << 63);
}

/* Places type t at p for the side to move; returns the capture mask for undo. */
static inline unsigned pos_make(pos_t *ps, int t, int p) {
    int me = ps->side, opp = me ^ 1;
    unsigned cap = 0;
    ps->cell[p] = (uint8_t)(1 + t + 3 * me);
    bcode_update(ps, p, 1 + t + 3 * me);
    ps->cnt[me][t]--;
    ps->left[me]--;
    ps->score[me]++;
    ps->empties--;
    uint8_t victim = (uint8_t)(1 + BEATEN[t] + 3 * opp);
    for (const int8_t *q = NB[p]; *q >= 0; q++) {
        if (ps->cell[*q] == victim) {
            ps->cell[*q] = (uint8_t)(victim - 3 * opp + 3 * me);
            bcode_update(ps, *q, 3 * me - 3 * opp);
            cap |= 1u << *q;
            ps->score[me]++;
            ps->score[opp]--;
        }
    }
    if (me == 1) ps->round++;
    ps->side = (uint8_t)opp;
    return cap;
}

static inline void pos_unmake(pos_t *ps, int t, int p, unsigned cap) {
    int me = ps->side ^ 1, opp = ps->side;
    if (me == 1) ps->round--;
    ps->side = (uint8_t)me;
    for (int q = 0; q < RPS_CELLS; q++) {
        if (cap & (1u << q)) {
            ps->cell[q] = (uint8_t)(ps->cell[q] - 3 * me + 3 * opp);
            bcode_update(ps, q, 3 * opp - 3 * me);
            ps->score[me]--;
            ps->score[opp]++;
        }
    }
    bcode_update(ps, p, -(int)ps->cell[p]);
    ps->cell[p] = 0;
    ps->cnt[me][t]++;
    ps->left[me]++;
    ps->score[me]--;
    ps->empties++;
}

/* Number of cells the move (t, p) would capture. */
static inline int pos_gain(const pos_t *ps, int t, int p) {
    uint8_t victim = (uint8_t)(1 + BEATEN[t] + 3 * (ps->side ^ 1));
    int g = 0;
    for (const int8_t *q = NB[p]; *q >= 0; q++) g += ps->cell[*q] == victim;
    return g;
}

static int negamax(rps_solver *sv, pos_t *ps, int alpha, int beta) {
    sv->nodes++;
    if (pos_terminal(ps)) return ps->score[ps->side] - ps->score[ps->side ^ 1];
    int sym = 0;
    uint64_t key = pos_key(ps, &sym);
    tt_entry *e = &sv->tt[(key * 0x9E3779B97F4A7C15ULL) >> sv->shift];
    int tt_move = NO_MOVE;
    if (e->key == key) {
        int v = e->value;
        if (e->flag == TT_EXACT) return v;
        if (e->flag == TT_LOWER && v > alpha) alpha = v;
        if (e->flag == TT_UPPER && v < beta) beta = v;
        if (alpha >= beta) return v;
        if (e->best != NO_MOVE) tt_move = (e->best / 9) * 9 + SYM_INV[sym][e->best % 9];
    }
    /* Moves: table move first, then by immediate captures (more first; bucketed by gain 0..4). */
    uint8_t moves[RPS_NTYPES * RPS_CELLS];
    uint8_t bucket[5][RPS_NTYPES * RPS_CELLS];
    int bn[5] = {0, 0, 0, 0, 0};
    int me = ps->side;
    for (int t = 0; t < 3; t++) {
        if (!ps->cnt[me][t]) continue;
        for (int p = 0; p < RPS_CELLS; p++) {
            if (ps->cell[p]) continue;
            int m = t * 9 + p;
            if (m == tt_move) continue;
            int g = pos_gain(ps, t, p);
            bucket[g][bn[g]++] = (uint8_t)m;
        }
    }
    int n = 0;
    if (tt_move != NO_MOVE) moves[n++] = (uint8_t)tt_move;
    for (int g = 4; g >= 0; g--) {
        memcpy(moves + n, bucket[g], (size_t)bn[g]);
        n += bn[g];
    }
    int alpha0 = alpha, best = -INF, best_move = NO_MOVE;
    for (int i = 0; i < n; i++) {
        int t = moves[i] / 9, p = moves[i] % 9;
        unsigned cap = pos_make(ps, t, p);
        int v = -negamax(sv, ps, -beta, -alpha);
        pos_unmake(ps, t, p, cap);
        if (v > best) {
            best = v;
            best_move = moves[i];
        }
        if (v > alpha) alpha = v;
        if (alpha >= beta) break;
    }
    e->key = key;
    e->value = (int8_t)best;
    e->best = (uint8_t)((best_move / 9) * 9 + SYM[sym][best_move % 9]);
    e->flag = best <= alpha0 ? TT_UPPER : best >= beta ? TT_LOWER : TT_EXACT;
    return best;
}

int rps_solver_margin(rps_solver *sv, const rps_state *s) {
    pos_t ps;
    if (pos_from_state(&ps, s)) return 0;
    return negamax(sv, &ps, -INF, INF);
}

static int sign(int v) { return (v > 0) - (v < 0); }

int rps_solver_result(rps_solver *sv, const rps_state *s) {
    pos_t ps;
    if (pos_from_state(&ps, s)) return 0;
    return sign(negamax(sv, &ps, -1, 1));
}

nrps_status rps_solver_analyse(rps_solver *sv, const rps_state *s, rps_solve_info *info) {
    memset(info, 0, sizeof *info);
    double t0 = nrps_now_s();
    uint64_t n0 = sv->nodes;
    pos_t ps;
    nrps_status st = pos_from_state(&ps, s);
    if (st) return st;
    rps_move mv[RPS_MAX_MOVES];
    int n = rps_state_distinct_moves(s, mv);
    /* The root value is the best child value; on a finished game, the board margin. */
    info->margin = n ? -INF : negamax(sv, &ps, -INF, INF);
    for (int i = 0; i < n; i++) {
        rps_solver_move *m = &info->moves[i];
        int t = s->hand[s->to_move][mv[i].card];
        unsigned cap = pos_make(&ps, t, mv[i].pos);
        int v = -negamax(sv, &ps, -INF, INF);
        pos_unmake(&ps, t, mv[i].pos, cap);
        m->move = mv[i];
        m->type = t;
        m->margin = v;
        m->result = sign(v);
        if (v > info->margin) info->margin = v;
    }
    info->result = sign(info->margin);
    for (int i = 0; i < n; i++) {
        rps_solver_move *m = &info->moves[i];
        m->optimal = m->margin == info->margin;
        info->n_optimal += m->optimal;
        info->n_result_optimal += m->result == info->result;
    }
    info->n_moves = n;
    info->nodes = sv->nodes - n0;
    info->seconds = nrps_now_s() - t0;
    return NRPS_OK;
}

/* ---- mcts_evaluator adapter ---- */

static nrps_status solver_evaluate(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    rps_solver *sv = ctx;
    for (int i = 0; i < n; i++) {
        const rps_state *s = &states[i];
        float *pol = policy + (size_t)i * RPS_POLICY_SIZE;
        pos_t ps;
        nrps_status st = pos_from_state(&ps, s);
        if (st) return st;
        for (int p = 0; p < RPS_POLICY_SIZE; p++) pol[p] = 0.0f;
        if (pos_terminal(&ps)) { /* not expected from search; answer sensibly anyway */
            int r = sign(ps.score[ps.side] - ps.score[ps.side ^ 1]);
            value[i] = r > 0 ? 1.0f : r < 0 ? 0.0f : 0.5f;
            for (int p = 0; p < RPS_POLICY_SIZE; p++) pol[p] = 1.0f / RPS_POLICY_SIZE;
            continue;
        }
        int res[RPS_NTYPES][RPS_CELLS], best = -2;
        for (int t = 0; t < 3; t++) {
            for (int p = 0; p < RPS_CELLS; p++) {
                res[t][p] = -2;
                if (!ps.cnt[ps.side][t] || ps.cell[p]) continue;
                unsigned cap = pos_make(&ps, t, p);
                res[t][p] = -sign(negamax(sv, &ps, -1, 1));
                pos_unmake(&ps, t, p, cap);
                if (res[t][p] > best) best = res[t][p];
            }
        }
        int k = 0;
        for (int p = 0; p < RPS_CELLS; p++) {
            int hit = 0;
            for (int t = 0; t < 3; t++) hit |= res[t][p] == best;
            if (hit) {
                pol[p] = 1.0f;
                k++;
            }
        }
        for (int p = 0; p < RPS_CELLS; p++) pol[p] /= (float)k;
        value[i] = best > 0 ? 1.0f : best < 0 ? 0.0f : 0.5f;
    }
    return NRPS_OK;
}

void rps_solver_evaluator_init(mcts_evaluator *ev, rps_solver *sv) {
    ev->ctx = sv;
    ev->evaluate = solver_evaluate;
    ev->max_batch = 256;
    ev->name = "solver";
}
