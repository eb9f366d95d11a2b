/* arena_record.c - JSON-lines game records for arena and play (see arena_record.h). */
#include "search/arena_record.h"

#include <stdio.h>

static void put_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

void arena_record_line(FILE *f, const arena_game *g, long index, uint64_t seed, const rps_config *game,
                       const char *p1_name, const char *p2_name) {
    /* The project's record format (src/game/record.h) first, then metadata keys the parser ignores
     * (winner and score are checked against the replay). */
    fprintf(f, "{\"deck_size\":%d,\"hand_size\":%d,\"max_rounds\":%d,\"hands\":[[", game->deck_size,
            game->hand_size, game->max_rounds);
    for (int i = 0; i < g->hand_size; i++) fprintf(f, "%s%d", i ? "," : "", g->p1_hand[i]);
    fprintf(f, "],[");
    for (int i = 0; i < g->hand_size; i++) fprintf(f, "%s%d", i ? "," : "", g->p2_hand[i]);
    fprintf(f, "]],\"moves\":[");
    for (int i = 0; i < g->nmoves; i++) fprintf(f, "%s[%d,%d]", i ? "," : "", g->moves[i].card, g->moves[i].pos);
    fprintf(f, "],\"game\":%ld,\"seed\":%llu", index, (unsigned long long)seed);
    if (p1_name) {
        fprintf(f, ",\"p1\":");
        put_str(f, p1_name);
    }
    if (p2_name) {
        fprintf(f, ",\"p2\":");
        put_str(f, p2_name);
    }
    fprintf(f, ",\"winner\":%d,\"score\":[%d,%d]}\n", g->winner, g->score_p1, g->score_p2);
}

nrps_status arena_record_write(const char *path, const arena_config *cfg, const arena_result *res) {
    nrps_atomic_file af;
    if (!res->log) {
        nrps_set_error("%s: no games kept to record", path);
        return NRPS_ERR_ARG;
    }
    nrps_status st = nrps_atomic_open(&af, path, "w");
    if (st != NRPS_OK) return st;
    for (long g = 0; g < res->games; g++) {
        const arena_game *gm = &res->log[g];
        const char *p1 = gm->a_seat == RPS_P1 ? cfg->a.text : cfg->b.text;
        const char *p2 = gm->a_seat == RPS_P1 ? cfg->b.text : cfg->a.text;
        arena_record_line(af.f, gm, g, cfg->seed, &cfg->game, p1, p2);
    }
    return nrps_atomic_commit(&af); /* a failed write above: "PATH: write failed: <reason>", temp file removed */
}
