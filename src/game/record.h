/* record.h - game records: one JSON object per line,
 *   {"deck_size":21,"hand_size":5,"max_rounds":10,"hands":[[P1 types...],[P2 types...]],
 *    "moves":[[card_index,position],...]}
 * built while playing, written to a FILE*, parsed back with strict validation (the moves are replayed and
 * must be legal). Keys other than these five are ignored when parsing (room for metadata), except that an
 * optional "winner" (0 draw, 1, 2) and "score" ([p1, p2]) must match the replayed game, and that no object holds
 * the same key twice (other JSON readers keep the last, cJSON's lookup the first). Self-play, arena and
 * play write this format (with extra metadata keys such as the agents' names). */
#ifndef NRPS_RECORD_H
#define NRPS_RECORD_H

#include <stdio.h>

#include "game/game.h"

typedef struct {
    rps_config cfg;
    int8_t hands[2][RPS_MAX_HAND]; /* [0] Player1, [1] Player2: types as dealt; cfg.hand_size each */
    rps_move moves[RPS_MAX_PLIES];
    int n_moves;
} rps_record;

/* Starts a record from a freshly dealt state (ply 0, empty board). NRPS_ERR_ARG otherwise. */
nrps_status rps_record_start(rps_record *r, const rps_state *s);
/* Appends a move (as played: hand index at that time, position). The caller applies it to its state;
 * legality is checked when the record is parsed or replayed. NRPS_ERR_ARG when the record is full. */
nrps_status rps_record_add(rps_record *r, rps_move m);
/* Writes the record as one JSON line ending in '\n'. NRPS_ERR_IO on a write error, NRPS_ERR_NOMEM. */
nrps_status rps_record_write(const rps_record *r, FILE *f);
/* Parses one line (NUL-terminated; a trailing newline is fine) into r, validating everything: JSON syntax,
 * key types, a valid config, hands of hand_size types 0..2 the deck could deal, and every move legal when
 * replayed. On failure returns NRPS_ERR_FORMAT (bad JSON/shape/values) or NRPS_ERR_ILLEGAL (a move), with
 * a one-line error such as "ply 3 (move [1,4]): position 4 is already occupied" (plies count from 1). */
nrps_status rps_record_parse(const char *line, rps_record *r);
/* The state after the first `plies` moves (0 = the deal; -1 or > n_moves = all). Validates like parse. */
nrps_status rps_record_replay(const rps_record *r, int plies, rps_state *out);

#endif
