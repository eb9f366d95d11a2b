/* game.c - the rules of the 3x3 rock-paper-scissors card game (see game.h and shared/DESIGN.md 1-2). */
#include "game/game.h"

#include <string.h>

static const int NEIGHBOURS[RPS_CELLS][5] = {
    /* up, right, down, left; -1 terminated */
    {1, 3, -1}, {2, 4, 0, -1}, {5, 1, -1},
    {0, 4, 6, -1}, {1, 5, 7, 3, -1}, {2, 8, 4, -1},
    {3, 7, -1}, {4, 8, 6, -1}, {5, 7, -1},
};

rps_config rps_config_standard(void) { return (rps_config){.deck_size = 21, .hand_size = 5, .max_rounds = 10}; }

nrps_status rps_config_check(const rps_config *cfg) {
    if (cfg->hand_size < 1 || cfg->hand_size > RPS_MAX_HAND) {
        nrps_set_error("hand size %d out of range [1, %d]", cfg->hand_size, RPS_MAX_HAND);
        return NRPS_ERR_ARG;
    }
    if (cfg->deck_size < 2 * cfg->hand_size || cfg->deck_size > RPS_MAX_DECK) {
        nrps_set_error("deck size %d out of range [%d (2 x hand size), %d]", cfg->deck_size, 2 * cfg->hand_size,
                       RPS_MAX_DECK);
        return NRPS_ERR_ARG;
    }
    if (cfg->max_rounds < 1 || cfg->max_rounds > 10000) {
        nrps_set_error("max rounds %d out of range [1, 10000]", cfg->max_rounds);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

static void state_clear(rps_state *s, const rps_config *cfg) {
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    for (int p = 0; p < RPS_CELLS; p++) {
        s->board[p].type = -1;
        s->board[p].owner = RPS_NONE;
    }
    for (int i = 0; i < RPS_MAX_HAND; i++) s->hand[0][i] = s->hand[1][i] = s->hand[2][i] = -1;
    s->to_move = RPS_P1;
    s->round = 1;
    s->ply = 0;
}

void rps_state_deal(rps_state *s, const rps_config *cfg, nrps_rng *rng) {
    int8_t deck[RPS_MAX_DECK];
    int n = cfg->deck_size, h = cfg->hand_size;
    for (int i = 0; i < n; i++) deck[i] = (int8_t)(i % 3);
    /* Fisher-Yates (Durstenfeld), from the top: for i = n-1 .. 1 swap deck[i] with deck[below(i+1)]. */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nrps_rng_below(rng, (uint32_t)(i + 1));
        int8_t t = deck[i];
        deck[i] = deck[j];
        deck[j] = t;
    }
    state_clear(s, cfg);
    for (int i = 0; i < h; i++) {
        s->hand[RPS_P1][i] = deck[i];
        s->hand[RPS_P2][i] = deck[h + i];
    }
    s->hand_len[RPS_P1] = s->hand_len[RPS_P2] = (int8_t)h;
}

nrps_status rps_state_from_hands(rps_state *s, const rps_config *cfg, const int8_t *p1, int n1, const int8_t *p2,
                                 int n2) {
    nrps_status st = rps_config_check(cfg);
    if (st) return st;
    if (n1 != cfg->hand_size || n2 != cfg->hand_size) {
        nrps_set_error("hands hold %d and %d cards, expected %d each (hand size)", n1, n2, cfg->hand_size);
        return NRPS_ERR_ARG;
    }
    int used[3] = {0, 0, 0};
    for (int k = 0; k < 2; k++) {
        const int8_t *h = k ? p2 : p1;
        for (int i = 0; i < cfg->hand_size; i++) {
            if (h[i] < 0 || h[i] > 2) {
                nrps_set_error("Player%d card %d has type %d, expected 0 (Rock), 1 (Paper) or 2 (Scissors)", k + 1,
                               i, h[i]);
                return NRPS_ERR_ARG;
            }
            used[h[i]]++;
        }
    }
    for (int t = 0; t < 3; t++) {
        int avail = (cfg->deck_size - t + 2) / 3; /* deck cards i with i%3 == t */
        if (used[t] > avail) {
            nrps_set_error("hands hold %d %s card%s but a deck of %d has only %d", used[t], rps_type_name(t),
                           used[t] == 1 ? "" : "s", cfg->deck_size, avail);
            return NRPS_ERR_ARG;
        }
    }
    state_clear(s, cfg);
    memcpy(s->hand[RPS_P1], p1, (size_t)n1);
    memcpy(s->hand[RPS_P2], p2, (size_t)n2);
    s->hand_len[RPS_P1] = (int8_t)n1;
    s->hand_len[RPS_P2] = (int8_t)n2;
    return NRPS_OK;
}

static int board_full(const rps_state *s) {
    for (int p = 0; p < RPS_CELLS; p++)
        if (s->board[p].owner == RPS_NONE) return 0;
    return 1;
}

int rps_state_is_over(const rps_state *s) {
    if (s->hand_len[RPS_P1] == 0 && s->hand_len[RPS_P2] == 0) return 1;
    if (s->round > s->cfg.max_rounds) return 1;
    if (s->hand_len[s->to_move] == 0) return 1;
    return board_full(s);
}

int rps_state_legal_moves(const rps_state *s, rps_move *out) {
    if (rps_state_is_over(s)) return 0;
    int n = 0;
    for (int c = 0; c < s->hand_len[s->to_move]; c++)
        for (int p = 0; p < RPS_CELLS; p++)
            if (s->board[p].owner == RPS_NONE) out[n++] = (rps_move){.card = (int8_t)c, .pos = (int8_t)p};
    return n;
}

int rps_state_distinct_moves(const rps_state *s, rps_move *out) {
    if (rps_state_is_over(s)) return 0;
    int n = 0, seen[3] = {0, 0, 0};
    const int8_t *hand = s->hand[s->to_move];
    for (int c = 0; c < s->hand_len[s->to_move]; c++) {
        if (seen[hand[c]]) continue;
        seen[hand[c]] = 1;
        for (int p = 0; p < RPS_CELLS; p++)
            if (s->board[p].owner == RPS_NONE) out[n++] = (rps_move){.card = (int8_t)c, .pos = (int8_t)p};
    }
    return n;
}

void rps_state_hand_counts(const rps_state *s, int player, int counts[RPS_NTYPES]) {
    counts[0] = counts[1] = counts[2] = 0;
    for (int c = 0; c < s->hand_len[player]; c++) counts[s->hand[player][c]]++;
}

int rps_state_is_legal(const rps_state *s, rps_move m) {
    if (m.pos < 0 || m.pos >= RPS_CELLS || m.card < 0 || m.card >= s->hand_len[s->to_move]) return 0;
    if (s->board[m.pos].owner != RPS_NONE) return 0;
    return !rps_state_is_over(s);
}

int rps_type_beats(int a, int b) { return (a == RPS_ROCK && b == RPS_SCISSORS) || (a == RPS_PAPER && b == RPS_ROCK) ||
                                          (a == RPS_SCISSORS && b == RPS_PAPER); }

nrps_status rps_state_apply(rps_state *s, rps_move m) {
    if (!rps_state_is_legal(s, m)) {
        nrps_set_error("illegal move (card %d, position %d) for Player%d at ply %d", m.card, m.pos, s->to_move,
                       s->ply);
        return NRPS_ERR_ILLEGAL;
    }
    int me = s->to_move, opp = 3 - me;
    int8_t *hand = s->hand[me];
    int type = hand[m.card];
    for (int c = m.card; c < s->hand_len[me] - 1; c++) hand[c] = hand[c + 1];
    hand[--s->hand_len[me]] = -1;
    s->board[m.pos].type = (int8_t)type;
    s->board[m.pos].owner = (int8_t)me;
    for (const int *nb = NEIGHBOURS[m.pos]; *nb >= 0; nb++) {
        rps_cell *c = &s->board[*nb];
        if (c->owner == opp && rps_type_beats(type, c->type)) c->owner = (int8_t)me;
    }
    if (me == RPS_P2) s->round++;
    s->to_move = (int8_t)opp;
    s->ply++;
    return NRPS_OK;
}

void rps_state_score(const rps_state *s, int *p1, int *p2) {
    int a = 0, b = 0;
    for (int p = 0; p < RPS_CELLS; p++) {
        a += s->board[p].owner == RPS_P1;
        b += s->board[p].owner == RPS_P2;
    }
    *p1 = a;
    *p2 = b;
}

int rps_state_winner(const rps_state *s) {
    int a, b;
    rps_state_score(s, &a, &b);
    return a > b ? RPS_P1 : b > a ? RPS_P2 : RPS_NONE;
}

void rps_state_encode(const rps_state *s, float out[RPS_INPUT_SIZE]) {
    for (int p = 0; p < RPS_CELLS; p++) {
        float *o = out + 9 * p;
        const rps_cell *c = &s->board[p];
        for (int k = 0; k < 9; k++) o[k] = 0.0f;
        if (c->owner != RPS_NONE && c->type >= 0 && c->type < 3) o[c->type] = 1.0f;
        o[3 + (c->owner == RPS_P1 ? 1 : c->owner == RPS_P2 ? 2 : 0)] = 1.0f;
        o[6] = s->to_move == RPS_P1 ? 1.0f : 0.0f;
        o[7] = s->to_move == RPS_P2 ? 1.0f : 0.0f;
    }
}

void rps_state_encode_as(const rps_state *s, rps_encoding enc, float out[RPS_INPUT_SIZE]) {
    rps_state_encode(s, out);
    if (enc != RPS_ENC_HANDS) return;
    for (int pl = RPS_P1; pl <= RPS_P2; pl++) {
        int counts[RPS_NTYPES];
        rps_state_hand_counts(s, pl, counts);
        for (int t = 0; t < RPS_NTYPES; t++) out[9 * (3 * (pl - 1) + t) + 8] = (float)counts[t];
    }
}

const char *rps_encoding_name(rps_encoding e) { return e == RPS_ENC_HANDS ? "hands" : "board"; }

int rps_encoding_parse(const char *name, rps_encoding *out) {
    if (!name || !*name || !strcmp(name, "board")) *out = RPS_ENC_BOARD;
    else if (!strcmp(name, "hands")) *out = RPS_ENC_HANDS;
    else return 0;
    return 1;
}

const char *rps_type_name(int type) {
    switch (type) {
    case RPS_ROCK: return "Rock";
    case RPS_PAPER: return "Paper";
    case RPS_SCISSORS: return "Scissors";
    }
    return "?";
}

char rps_type_char(int type) { return type >= 0 && type < 3 ? "RPS"[type] : '?'; }

void rps_state_print(const rps_state *s, FILE *f) {
    for (int r = 0; r < 3; r++) {
        fputs("  ", f);
        for (int c = 0; c < 3; c++) {
            const rps_cell *x = &s->board[r * 3 + c];
            if (x->owner == RPS_NONE) fputs(".  ", f);
            else fprintf(f, "%c%d ", rps_type_char(x->type), x->owner);
        }
        fprintf(f, "   positions %d %d %d\n", r * 3, r * 3 + 1, r * 3 + 2);
    }
    for (int pl = RPS_P1; pl <= RPS_P2; pl++) {
        fprintf(f, "  Player%d hand:", pl);
        if (s->hand_len[pl] == 0) fputs(" (empty)", f);
        for (int c = 0; c < s->hand_len[pl]; c++) fprintf(f, " %d:%c", c, rps_type_char(s->hand[pl][c]));
        fputc('\n', f);
    }
    int a, b;
    rps_state_score(s, &a, &b);
    if (rps_state_is_over(s)) {
        int w = rps_state_winner(s);
        fprintf(f, "  game over after %d plies: %d-%d, %s\n", s->ply, a, b,
                w == RPS_P1 ? "Player1 wins" : w == RPS_P2 ? "Player2 wins" : "draw");
    } else {
        fprintf(f, "  round %d/%d, ply %d, score %d-%d, Player%d to move\n", s->round, s->cfg.max_rounds, s->ply, a,
                b, s->to_move);
    }
}

void rps_random_positions(rps_state *out, int n, uint64_t seed) {
    nrps_rng r;
    nrps_rng_seed(&r, seed);
    rps_config cfg = rps_config_standard();
    for (int k = 0; k < n;) {
        rps_state s;
        rps_state_deal(&s, &cfg, &r);
        int plies = (int)nrps_rng_below(&r, 9);
        for (int p = 0; p < plies && !rps_state_is_over(&s); p++) {
            rps_move mv[RPS_MAX_MOVES];
            int nm = rps_state_legal_moves(&s, mv);
            rps_state_apply(&s, mv[nrps_rng_below(&r, (uint32_t)nm)]);
        }
        if (!rps_state_is_over(&s)) out[k++] = s;
    }
}
