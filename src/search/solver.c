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

#include "search/fastpos.h"

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

typedef fpos pos_t;

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
    fpos_tables_init();
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

static nrps_status pos_from_state(pos_t *ps, const rps_state *s) { return fpos_from_state(ps, s, "solver"); }

/* Packed key of the position under its canonical symmetry; *sym receives that symmetry's index. */
static inline uint64_t pos_key(const pos_t *ps, int *sym) { return fpos_key_bits(ps, sym) | ((uint64_t)1 << 63); }

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
