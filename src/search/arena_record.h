/* arena_record.h - arena games as JSON-lines game records (one object per line, see arena_record_write). */
#ifndef NRPS_ARENA_RECORD_H
#define NRPS_ARENA_RECORD_H

#include "search/arena.h"

/* Writes res->log (cfg->keep_games must have been set) to path atomically (temp + rename), one line per
 * game in game order:
 *   {"deck_size":21,"hand_size":5,"max_rounds":10,"hands":[[P1 types],[P2 types]],
 *    "moves":[[card,pos],...],"game":g,"seed":S,"p1":"SPEC","p2":"SPEC","winner":0|1|2,"score":[p1,p2]}
 * i.e. the project's record format (src/game/record.h) followed by metadata keys
 * where p1/p2 name the agents that sat as Player1/Player2 in that game, card is the hand index at the
 * time of the move and pos 0..8. Returns NRPS_ERR_IO with a message naming path on failure. */
nrps_status arena_record_write(const char *path, const arena_config *cfg, const arena_result *res);

/* Writes one game record line to f (same format; agent names may be NULL: then omitted). */
void arena_record_line(FILE *f, const arena_game *g, long index, uint64_t seed, const rps_config *game,
                       const char *p1_name, const char *p2_name);

#endif
