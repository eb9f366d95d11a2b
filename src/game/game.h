/* game.h - the 3x3 rock-paper-scissors card game: rules, moves, captures, end of game, the 81-float
 * network encoding and a text board. The compatibility contract is shared/DESIGN.md sections 1-2.
 * Plain value types, no allocation: a state can be copied with '='. */
#ifndef NRPS_GAME_H
#define NRPS_GAME_H

#include <stdint.h>
#include <stdio.h>

#include "util/util.h"

enum { RPS_ROCK = 0, RPS_PAPER = 1, RPS_SCISSORS = 2, RPS_NTYPES = 3 };
enum { RPS_NONE = 0, RPS_P1 = 1, RPS_P2 = 2 };
enum { RPS_CELLS = 9, RPS_MAX_HAND = 16, RPS_INPUT_SIZE = 81, RPS_POLICY_SIZE = 9 };
/* A move is (card index in the mover's hand, position): at most RPS_MAX_HAND * 9 of them. */
enum { RPS_MAX_MOVES = RPS_MAX_HAND * RPS_CELLS };
/* Largest deck rps_config_check accepts (the deal shuffles the whole deck on the stack). Every move fills a
 * cell, so a game has at most RPS_CELLS plies. */
enum { RPS_MAX_DECK = 4096, RPS_MAX_PLIES = RPS_CELLS };

typedef struct { int8_t type; int8_t owner; } rps_cell;         /* type -1 when empty */
typedef struct { int8_t card; int8_t pos; } rps_move;

typedef struct {
    int deck_size, hand_size, max_rounds;
} rps_config;

typedef struct {
    rps_config cfg;
    rps_cell board[RPS_CELLS];
    int8_t hand[3][RPS_MAX_HAND]; /* hand[RPS_P1], hand[RPS_P2]: card types in order; [0] unused */
    int8_t hand_len[3];
    int8_t to_move;               /* RPS_P1 or RPS_P2 */
    int16_t round;                /* starts at 1, +1 after Player2 moves */
    int16_t ply;                  /* moves made so far */
} rps_state;

/* Standard setup (21, 5, 10). */
rps_config rps_config_standard(void);
/* Checks 1 <= hand <= RPS_MAX_HAND, 2*hand <= deck <= RPS_MAX_DECK, 1 <= max_rounds <= 10000; sets the error
 * and returns NRPS_ERR_ARG. */
nrps_status rps_config_check(const rps_config *cfg);

/* Deals a new game: deck card i has type i%3, shuffled (Fisher-Yates with rng), P1 gets deck[0..h-1],
 * P2 deck[h..2h-1]; Player1 to move, round 1. */
void rps_state_deal(rps_state *s, const rps_config *cfg, nrps_rng *rng);
/* Sets up a game from given hands (types 0..2), as replay records do. Requires a valid cfg,
 * n1 == n2 == cfg->hand_size, and hands the deck could have dealt (for each type, the two hands together hold
 * at most the deck's cards of that type). Returns NRPS_ERR_ARG with a message otherwise. */
nrps_status rps_state_from_hands(rps_state *s, const rps_config *cfg, const int8_t *p1, int n1, const int8_t *p2,
                                 int n2);

/* Legal moves of the player to move, in order (card 0..len-1 outer, position 0..8 inner); returns count
 * (0 when the game is over). */
int rps_state_legal_moves(const rps_state *s, rps_move *out);
int rps_state_is_legal(const rps_state *s, rps_move m);
/* Applies a legal move (captures included); returns NRPS_ERR_ILLEGAL (state unchanged) otherwise. */
nrps_status rps_state_apply(rps_state *s, rps_move m);
int rps_state_is_over(const rps_state *s);
/* Board cells owned by each player. */
void rps_state_score(const rps_state *s, int *p1, int *p2);
/* RPS_P1, RPS_P2 or RPS_NONE (draw); meaningful when the game is over. */
int rps_state_winner(const rps_state *s);

/* Legal moves merged by card type (two hand cards of the same type give identical successors): one move
 * per (distinct type, empty position), using the first hand index holding that type; ordered by that
 * hand index (outer) then position (inner). out needs room for 3*9 moves; returns count (0 when over). */
int rps_state_distinct_moves(const rps_state *s, rps_move *out);
/* Count of cards of each type in player's hand (player RPS_P1 or RPS_P2). */
void rps_state_hand_counts(const rps_state *s, int player, int counts[RPS_NTYPES]);
/* 1 if type a beats type b (Rock>Scissors, Paper>Rock, Scissors>Paper). */
int rps_type_beats(int a, int b);

/* Network input encodings; both are 81 floats (9 per cell p at base b = 9p) and differ only in the b+8 slots.
 *   RPS_ENC_BOARD  DESIGN.md section 2 exactly (b+8 = 0): what the original project's models expect, and the
 *                  encoding of any model file that does not say otherwise.
 *   RPS_ENC_HANDS  the same, plus both hands (which DESIGN.md's encoding leaves out) in the spare b+8 slots:
 *                  cells 0, 1, 2 hold the number of Rock, Paper, Scissors cards in Player1's hand, cells 3, 4, 5
 *                  the same for Player2, cells 6, 7, 8 stay 0. The hands are visible to both players, and a
 *                  value net that sees them predicts the solver's result far better (see models/README.md).
 * Our ONNX files name theirs in the metadata key "input_encoding" ("board" or "hands"). */
typedef enum { RPS_ENC_BOARD = 0, RPS_ENC_HANDS = 1 } rps_encoding;
const char *rps_encoding_name(rps_encoding e); /* "board", "hands" */
/* Parses an encoding name; NULL or "" (no metadata) is RPS_ENC_BOARD. Returns 0 for anything else. */
int rps_encoding_parse(const char *name, rps_encoding *out);

/* The 81-float network input of DESIGN.md section 2 (RPS_ENC_BOARD). */
void rps_state_encode(const rps_state *s, float out[RPS_INPUT_SIZE]);
/* The 81-float network input in encoding enc. */
void rps_state_encode_as(const rps_state *s, rps_encoding enc, float out[RPS_INPUT_SIZE]);
/* Multi-line text board ("R1 .  S2" style) with hands and side to move. */
void rps_state_print(const rps_state *s, FILE *f);

/* n non-terminal positions (standard deals, seeded): each a deal played a uniformly random 0..8 plies with uniformly
 * random legal moves. For load generators and tests that need many varied positions. */
void rps_random_positions(rps_state *out, int n, uint64_t seed);

const char *rps_type_name(int type); /* "Rock", "Paper", "Scissors" */
char rps_type_char(int type);        /* 'R', 'P', 'S' */

#endif
