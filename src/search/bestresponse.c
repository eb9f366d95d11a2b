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

typedef struct {
    uint8_t cell[RPS_CELLS];
    uint8_t cnt[2][3];
    uint8_t left[2];
    int8_t score[2];
    uint8_t side; /* 0 = Player1 to move */
    uint8_t ours; /* 0 = we are Player1 */
    uint8_t empties;
    int round, max_rounds;
    uint64_t bcode[8];
} br_pos;

static const int8_t NB[RPS_CELLS][5] = {
    {1, 3, -1}, {2, 4, 0, -1}, {5, 1, -1}, {0, 4, 6, -1}, {1, 5, 7, 3, -1},
    {2, 8, 4, -1}, {3, 7, -1}, {4, 8, 6, -1}, {5, 7, -1},
};
static const int8_t SYM[8][RPS_CELLS] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8}, {2, 5, 8, 1, 4, 7, 0, 3, 6}, {8, 7, 6, 5, 4, 3, 2, 1, 0},
    {6, 3, 0, 7, 4, 1, 8, 5, 2}, {2, 1, 0, 5, 4, 3, 8, 7, 6}, {6, 7, 8, 3, 4, 5, 0, 1, 2},
    {0, 3, 6, 1, 4, 7, 2, 5, 8}, {8, 5, 2, 7, 4, 1, 6, 3, 0},
};
static uint8_t SH[RPS_CELLS][8];
static void sh_init_once(void) {
    for (int k = 0; k < 8; k++)
        for (int p = 0; p < RPS_CELLS; p++) SH[p][k] = (uint8_t)(3 * (8 - SYM[k][p]));
}
static const uint8_t BEATEN[3] = {RPS_SCISSORS, RPS_ROCK, RPS_PAPER};
#ifndef BR_TT_MIN_EMPTIES
#define BR_TT_MIN_EMPTIES 2 /* positions with at most this many empty cells are not stored */
#endif

static inline void bcode_update(br_pos *ps, int q, int delta) {
    for (int k = 0; k < 8; k++) ps->bcode[k] += (uint64_t)(int64_t)delta << SH[q][k];
}

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
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sh_init_once);
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
    memset(ps, 0, sizeof *ps);
    if (our_player != RPS_P1 && our_player != RPS_P2) {
        nrps_set_error("best response: our player %d is not 1 or 2", our_player);
        return NRPS_ERR_ARG;
    }
    if (s->to_move != RPS_P1 && s->to_move != RPS_P2) {
        nrps_set_error("best response: side to move %d is not 1 or 2", s->to_move);
        return NRPS_ERR_ARG;
    }
    for (int p = 0; p < RPS_CELLS; p++) {
        const rps_cell *c = &s->board[p];
        if (c->owner == RPS_NONE) {
            ps->empties++;
            continue;
        }
        if ((c->owner != RPS_P1 && c->owner != RPS_P2) || c->type < 0 || c->type > 2) {
            nrps_set_error("best response: cell %d holds type %d owner %d", p, c->type, c->owner);
            return NRPS_ERR_ARG;
        }
        int o = c->owner - 1;
        ps->cell[p] = (uint8_t)(1 + c->type + 3 * o);
        ps->score[o]++;
    }
    for (int o = 0; o < 2; o++) {
        int n = s->hand_len[o + 1];
        if (n < 0 || n > RPS_MAX_HAND) {
            nrps_set_error("best response: Player%d hand length %d", o + 1, n);
            return NRPS_ERR_ARG;
        }
        for (int i = 0; i < n; i++) {
            int t = s->hand[o + 1][i];
            if (t < 0 || t > 2) {
                nrps_set_error("best response: Player%d card %d has type %d", o + 1, i, t);
                return NRPS_ERR_ARG;
            }
            ps->cnt[o][t]++;
        }
        ps->left[o] = (uint8_t)n;
    }
    for (int p = 0; p < RPS_CELLS; p++) bcode_update(ps, p, ps->cell[p]);
    ps->side = (uint8_t)(s->to_move - 1);
    ps->ours = (uint8_t)(our_player - 1);
    ps->round = s->round;
    ps->max_rounds = s->cfg.max_rounds;
    return NRPS_OK;
}

static inline int pos_terminal(const br_pos *ps) {
    return ps->left[ps->side] == 0 || ps->empties == 0 || ps->round > ps->max_rounds;
}

static inline double pos_result(const br_pos *ps) {
    int d = ps->score[ps->ours] - ps->score[ps->ours ^ 1];
    return d > 0 ? 1.0 : d < 0 ? 0.0 : 0.5;
}

static inline uint64_t pos_key(const br_pos *ps) {
    uint64_t k = ps->bcode[0];
    for (int s = 1; s < 8; s++)
        if (ps->bcode[s] < k) k = ps->bcode[s];
    for (int o = 0; o < 2; o++)
        for (int t = 0; t < 3; t++) k = (k << 5) | ps->cnt[o][t];
    int rl = ps->max_rounds - ps->round + 1;
    if (rl > 15) rl = 15;
    k = (k << 1) | ps->side;
    k = (k << 4) | (uint64_t)rl;
    k = (k << 1) | ps->ours;
    return k | ((uint64_t)1 << 63);
}

static inline unsigned pos_make(br_pos *ps, int t, int p) {
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

static inline void pos_unmake(br_pos *ps, int t, int p, unsigned cap) {
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
