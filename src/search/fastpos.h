/* fastpos.h - the exact searches' compact position (internal to src/search: solver.c, bestresponse.c).
 * Cells coded 0 (empty) or 1 + type + 3 * owner (0 = Player1), hand type counts, incremental make/unmake with
 * capture masks, and board codes under the 8 symmetries of the square for symmetry-canonical table keys.
 * Tables are static per translation unit; fpos_tables_init (pthread_once inside) must run before use. */
#ifndef NRPS_FASTPOS_H
#define NRPS_FASTPOS_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "game/game.h"

typedef struct {
    uint8_t cell[RPS_CELLS];
    uint8_t cnt[2][3];
    uint8_t left[2]; /* cards in hand per side */
    int8_t score[2]; /* cells owned per side */
    uint8_t side;    /* 0 = Player1 to move, 1 = Player2 */
    uint8_t ours;    /* best response only: 0 = we are Player1 (the solver leaves it 0) */
    uint8_t empties;
    int round, max_rounds;
    uint64_t bcode[8]; /* board code under each symmetry: sum over cells q of cell[q] << SH[q][k] */
} fpos;

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
static inline void bcode_update(fpos *ps, int q, int delta) {
    for (int k = 0; k < 8; k++) ps->bcode[k] += (uint64_t)(int64_t)delta << SH[q][k];
}

/* BEATEN[t] = the type that type t beats. */
static const uint8_t BEATEN[3] = {RPS_SCISSORS, RPS_ROCK, RPS_PAPER};

static inline void fpos_tables_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sym_init_once);
}

/* Fills ps from s (ours = 0); errors are prefixed with who ("solver", "best response"). */
static nrps_status fpos_from_state(fpos *ps, const rps_state *s, const char *who) {
    memset(ps, 0, sizeof *ps);
    if (s->to_move != RPS_P1 && s->to_move != RPS_P2) {
        nrps_set_error("%s: side to move %d is not 1 or 2", who, s->to_move);
        return NRPS_ERR_ARG;
    }
    for (int p = 0; p < RPS_CELLS; p++) {
        const rps_cell *c = &s->board[p];
        if (c->owner == RPS_NONE) {
            ps->empties++;
            continue;
        }
        if ((c->owner != RPS_P1 && c->owner != RPS_P2) || c->type < 0 || c->type > 2) {
            nrps_set_error("%s: cell %d holds type %d owner %d", who, p, c->type, c->owner);
            return NRPS_ERR_ARG;
        }
        int o = c->owner - 1;
        ps->cell[p] = (uint8_t)(1 + c->type + 3 * o);
        ps->score[o]++;
    }
    for (int o = 0; o < 2; o++) {
        int n = s->hand_len[o + 1];
        if (n < 0 || n > RPS_MAX_HAND) {
            nrps_set_error("%s: Player%d hand length %d", who, o + 1, n);
            return NRPS_ERR_ARG;
        }
        for (int i = 0; i < n; i++) {
            int t = s->hand[o + 1][i];
            if (t < 0 || t > 2) {
                nrps_set_error("%s: Player%d card %d has type %d", who, o + 1, i, t);
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

static inline int pos_terminal(const fpos *ps) {
    return ps->left[ps->side] == 0 || ps->empties == 0 || ps->round > ps->max_rounds;
}

/* Packed key (62 bits) of the position under its canonical symmetry (the one giving the smallest board code);
 * *sym receives that symmetry's index. Callers add their own bits and set bit 63 (0 marks an empty slot). */
static inline uint64_t fpos_key_bits(const fpos *ps, int *sym) {
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
    return k;
}

/* Places type t at p for the side to move; returns the capture mask for undo. */
static inline unsigned pos_make(fpos *ps, int t, int p) {
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

static inline void pos_unmake(fpos *ps, int t, int p, unsigned cap) {
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
#endif
