/* bestresponse.c - exact expectimax best response to the uniformly random agent (see bestresponse.h).
 *
 * The search walks a compact position by make/unmake, like the exact solver (solver.c): cells coded 0
 * (empty) or 1 + type + 3*owner (owner 0 = Player1, 1 = Player2), hands as counts per type, side to move,
 * round, and the board code under each of the 8 symmetries of the square kept incrementally. Our moves are
 * merged by card type (equal cards give equal successors); the opponent's type t is weighted by
 * count[t] / cards in hand, each empty cell by 1 / empties, which is exactly the distribution of the random
 * agent's uniform choice among (hand index, position) pairs. The table key packs the canonical board code
 * (27 bits), the 6 type counts (5 bits each), the side to move, rounds left clipped to 15 and our side into
 * 63 bits; bit 63 marks a used slot. Positions with at most 2 empty cells are searched without the table
 * (cheaper than a probe that likely misses the cache: about 1.6x faster on standard deals). There is no
 * pruning except at our nodes, where a child worth 1 (a sure win) ends the search of that node.
 * Speed (one core of the 2-core dev machine): a standard deal takes 0.05-0.1 s, about 1M nodes. */
#include "search/bestresponse.h"

#include "search/fastpos.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t key; /* packed key | bit 63; 0 = empty slot */
    double value;
} br_entry;

struct rps_br {
    br_entry *tt;
    int shift;
    size_t size;
    uint64_t nodes;
};

typedef fpos br_pos; /* ours = our side (0 = Player1) */

#ifndef BR_TT_MIN_EMPTIES
#define BR_TT_MIN_EMPTIES 2 /* positions with at most this many empty cells are not stored */
#endif

rps_br *rps_br_create(int tt_log2) {
    if (tt_log2 == 0) tt_log2 = 20;
    if (tt_log2 < 10 || tt_log2 > 28) {
        nrps_set_error("best response table size 2^%d out of range [2^10, 2^28]", tt_log2);
        return NULL;
    }
    rps_br *br = calloc(1, sizeof *br);
    if (!br) goto oom;
    br->size = (size_t)1 << tt_log2;
    br->tt = calloc(br->size, sizeof *br->tt);
    if (!br->tt) goto oom;
    br->shift = 64 - tt_log2;
    fpos_tables_init();
    return br;
oom:
    free(br);
    nrps_set_error("best response: out of memory for a table of 2^%d entries", tt_log2);
    return NULL;
}

void rps_br_destroy(rps_br *br) {
    if (!br) return;
    free(br->tt);
    free(br);
}

void rps_br_clear(rps_br *br) { memset(br->tt, 0, br->size * sizeof *br->tt); }

uint64_t rps_br_nodes(const rps_br *br) { return br->nodes; }

static nrps_status pos_from_state(br_pos *ps, const rps_state *s, int our_player) {
    if (our_player != RPS_P1 && our_player != RPS_P2) {
        memset(ps, 0, sizeof *ps);
        nrps_set_error("best response: our player %d is not 1 or 2", our_player);
        return NRPS_ERR_ARG;
    }
    nrps_status st = fpos_from_state(ps, s, "best response");
    ps->ours = (uint8_t)(our_player - 1);
    return st;
}

static inline double pos_result(const br_pos *ps) {
    int d = ps->score[ps->ours] - ps->score[ps->ours ^ 1];
    return d > 0 ? 1.0 : d < 0 ? 0.0 : 0.5;
}

/* The shared canonical key plus our side. */
static inline uint64_t pos_key(const br_pos *ps) {
    int sym;
    return (fpos_key_bits(ps, &sym) << 1 | ps->ours) | ((uint64_t)1 << 63);
}

static double expectimax(rps_br *br, br_pos *ps) {
    br->nodes++;
    if (pos_terminal(ps)) return pos_result(ps);
    /* Near the leaves a subtree is cheaper to search than a table probe (a likely cache miss). */
    int use_tt = ps->empties > BR_TT_MIN_EMPTIES;
    uint64_t key = 0;
    br_entry *e = NULL;
    if (use_tt) {
        key = pos_key(ps);
        e = &br->tt[(key * 0x9E3779B97F4A7C15ULL) >> br->shift];
        if (e->key == key) return e->value;
    }
    int me = ps->side;
    double v;
    if (me == ps->ours) {
        v = -1.0;
        for (int t = 0; t < 3 && v < 1.0; t++) { /* 1.0 cannot be beaten: stop early */
            if (!ps->cnt[me][t]) continue;
            for (int p = 0; p < RPS_CELLS; p++) {
                if (ps->cell[p]) continue;
                unsigned cap = pos_make(ps, t, p);
                double c = expectimax(br, ps);
                pos_unmake(ps, t, p, cap);
                if (c > v) v = c;
                if (v >= 1.0) break;
            }
        }
    } else {
        v = 0.0;
        for (int t = 0; t < 3; t++) {
            if (!ps->cnt[me][t]) continue;
            double w = (double)ps->cnt[me][t], sum = 0.0;
            for (int p = 0; p < RPS_CELLS; p++) {
                if (ps->cell[p]) continue;
                unsigned cap = pos_make(ps, t, p);
                sum += expectimax(br, ps);
                pos_unmake(ps, t, p, cap);
            }
            v += w * sum;
        }
        v /= (double)ps->left[me] * (double)ps->empties;
    }
    if (use_tt) { /* the slot may have been reused below us; overwrite it */
        e->key = key;
        e->value = v;
    }
    return v;
}

nrps_status rps_br_value(rps_br *br, const rps_state *s, int our_player, double *value) {
    br_pos ps;
    nrps_status st = pos_from_state(&ps, s, our_player);
    if (st != NRPS_OK) return st;
    *value = expectimax(br, &ps);
    return NRPS_OK;
}

nrps_status rps_br_analyse(rps_br *br, const rps_state *s, int our_player, rps_br_info *info) {
    memset(info, 0, sizeof *info);
    double t0 = nrps_now_s();
    uint64_t n0 = br->nodes;
    br_pos ps;
    nrps_status st = pos_from_state(&ps, s, our_player);
    if (st != NRPS_OK) return st;
    info->our_player = our_player;
    info->ours_to_move = s->to_move == our_player;
    rps_move mv[RPS_MAX_MOVES];
    int n = pos_terminal(&ps) ? 0 : rps_state_distinct_moves(s, mv);
    if (n == 0) {
        info->value = pos_result(&ps);
    } else {
        int me = ps.side;
        double best = -1.0, avg = 0.0;
        for (int i = 0; i < n; i++) {
            rps_br_move *m = &info->moves[i];
            int t = s->hand[s->to_move][mv[i].card];
            unsigned cap = pos_make(&ps, t, mv[i].pos);
            double v = expectimax(br, &ps);
            pos_unmake(&ps, t, mv[i].pos, cap);
            m->move = mv[i];
            m->type = t;
            m->value = v;
            if (info->ours_to_move) {
                if (v > best) best = v;
            } else {
                m->prob = (double)ps.cnt[me][t] / ((double)ps.left[me] * (double)ps.empties);
                avg += m->prob * v;
            }
        }
        info->value = info->ours_to_move ? best : avg;
        if (info->ours_to_move)
            for (int i = 0; i < n; i++) {
                info->moves[i].best = info->moves[i].value >= best - RPS_BR_TIE_EPS;
                info->n_best += info->moves[i].best;
            }
    }
    info->n_moves = n;
    info->nodes = br->nodes - n0;
    info->seconds = nrps_now_s() - t0;
    return NRPS_OK;
}

int rps_br_best_moves(rps_br *br, const rps_state *s, rps_move *out) {
    rps_br_info info;
    if (rps_br_analyse(br, s, s->to_move, &info) != NRPS_OK) return -1;
    if (info.n_best == 0) {
        nrps_set_error("best response: the game is over, no move to choose");
        return -1;
    }
    int k = 0;
    for (int i = 0; i < info.n_moves; i++)
        if (info.moves[i].best) out[k++] = info.moves[i].move;
    return k;
}
