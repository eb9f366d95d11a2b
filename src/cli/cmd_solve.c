/* cmd_solve.c - `neural_rps solve`: exact game-theoretic value and optimal moves of a position, either a
 * fresh deal (--seed, --deck/--hand/--rounds) or a prefix of a recorded game (--record FILE --line N
 * --ply K). Text by default, one JSON line with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "game/record.h"
#include "search/solver.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps solve [--seed S] [--deck N] [--hand N] [--rounds N] [--json] [--tt-log2 N]\n"
            "       neural_rps solve --record FILE [--line N] [--ply K] [--json]\n"
            "  Solves a position exactly (alpha-beta + transposition table over all remaining plies) and prints\n"
            "  the board, the value for the side to move (win/draw/loss and the final cell margin with optimal\n"
            "  play by both sides), every distinct move (one per card type and position) with its value, the\n"
            "  optimal ones marked, nodes searched and time.\n"
            "  --seed S      deal a game with seed S (default 1)\n"
            "  --deck N, --hand N, --rounds N   setup (default 21, 5, 10: the standard game)\n"
            "  --record FILE a JSON-lines game record file (see 'neural_rps replay --help')\n"
            "  --line N      the record on line N of FILE (default 1)\n"
            "  --ply K       the position after the first K moves of that record (default 0 = the deal)\n"
            "  --json        one JSON line: {\"to_move\",\"ply\",\"round\",\"result\",\"margin\",\"board\",\"hands\",\n"
            "                \"moves\":[{\"card\",\"type\",\"pos\",\"margin\",\"result\",\"optimal\"}...],\"nodes\",\"seconds\"}\n"
            "  --tt-log2 N   transposition table of 2^N entries (10..28, default 16 = 1 MiB)\n");
}

static const char *result_word(int r) { return r > 0 ? "win" : r < 0 ? "loss" : "draw"; }

/* Loads line `line` of a record file and replays `ply` moves into s. Returns exit code (0 = ok). */
static int load_record(const char *path, long line, long ply, rps_state *s) {
    char *data = NULL;
    size_t len = 0;
    if (nrps_read_file(path, (size_t)1 << 30, &data, &len) != NRPS_OK) return cli_fail("solve", "%s", nrps_last_error());
    char *p = data;
    for (long i = 1; i < line && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) {
        free(data);
        return cli_fail("solve", "%s: has no line %ld", path, line);
    }
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    rps_record r;
    int rc = 0;
    if (p[strspn(p, " \t\r")] == 0) rc = cli_fail("solve", "%s: line %ld is blank, expected a game record", path, line);
    else if (rps_record_parse(p, &r) != NRPS_OK) rc = cli_fail("solve", "%s: line %ld: %s", path, line, nrps_last_error());
    else if (ply > r.n_moves)
        rc = cli_fail("solve", "--ply %ld: %s line %ld holds only %d moves", ply, path, line, r.n_moves);
    else if (rps_record_replay(&r, (int)ply, s) != NRPS_OK)
        rc = cli_fail("solve", "%s: line %ld: %s", path, line, nrps_last_error());
    free(data);
    return rc;
}

static void print_json(const rps_state *s, const rps_solve_info *info) {
    printf("{\"to_move\":%d,\"ply\":%d,\"round\":%d,\"over\":%s,\"result\":\"%s\",\"margin\":%d,\"board\":[", s->to_move,
           s->ply, s->round, rps_state_is_over(s) ? "true" : "false", result_word(info->result), info->margin);
    for (int p = 0; p < RPS_CELLS; p++)
        printf("%s[%d,%d]", p ? "," : "", s->board[p].owner ? s->board[p].type : -1, s->board[p].owner);
    printf("],\"hands\":[");
    for (int pl = RPS_P1; pl <= RPS_P2; pl++) {
        printf("%s[", pl == RPS_P1 ? "" : ",");
        for (int i = 0; i < s->hand_len[pl]; i++) printf("%s%d", i ? "," : "", s->hand[pl][i]);
        printf("]");
    }
    printf("],\"moves\":[");
    for (int i = 0; i < info->n_moves; i++) {
        const rps_solver_move *m = &info->moves[i];
        printf("%s{\"card\":%d,\"type\":%d,\"pos\":%d,\"margin\":%d,\"result\":\"%s\",\"optimal\":%s}", i ? "," : "",
               m->move.card, m->type, m->move.pos, m->margin, result_word(m->result), m->optimal ? "true" : "false");
    }
    printf("],\"n_optimal\":%d,\"nodes\":%llu,\"seconds\":%.6f}\n", info->n_optimal, (unsigned long long)info->nodes,
           info->seconds);
}

static void print_text(const rps_state *s, const rps_solve_info *info) {
    rps_state_print(s, stdout);
    if (rps_state_is_over(s)) {
        printf("value: the game is over; margin %+d for Player%d (the side that would move)\n", info->margin, s->to_move);
    } else {
        printf("value: Player%d to move %s with optimal play, final margin %+d cells\n", s->to_move,
               info->result > 0 ? "wins" : info->result < 0 ? "loses" : "draws", info->margin);
        printf("moves (one per card type and position; * = optimal, %d of %d):\n", info->n_optimal, info->n_moves);
        /* best first, then in move order */
        int order[RPS_NTYPES * RPS_CELLS];
        for (int i = 0; i < info->n_moves; i++) order[i] = i;
        for (int i = 1; i < info->n_moves; i++)
            for (int j = i; j > 0 && info->moves[order[j]].margin > info->moves[order[j - 1]].margin; j--) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        for (int k = 0; k < info->n_moves; k++) {
            const rps_solver_move *m = &info->moves[order[k]];
            printf("  %c %-8s (card %d) -> position %d: %-4s %+d\n", m->optimal ? '*' : ' ', rps_type_name(m->type),
                   m->move.card, m->move.pos, result_word(m->result), m->margin);
        }
    }
    printf("nodes %llu, %.3f ms\n", (unsigned long long)info->nodes, info->seconds * 1e3);
}

int cmd_solve(int argc, char **argv) {
    static const struct option opts[] = {
        {"seed", required_argument, 0, 's'}, {"deck", required_argument, 0, 'd'},  {"hand", required_argument, 0, 'n'},
        {"rounds", required_argument, 0, 'r'}, {"record", required_argument, 0, 'f'}, {"line", required_argument, 0, 'l'},
        {"ply", required_argument, 0, 'p'},  {"json", no_argument, 0, 'j'},         {"tt-log2", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    long seed = 1, deck = 21, hand = 5, rounds = 10, line = 1, ply = 0, ttl = 16;
    int json = 0, have_deal_flag = 0, have_line_flag = 0;
    const char *record = NULL;
    optind = 0;
    int c;
    while ((c = cli_getopt("solve", argc, argv, opts)) != -1) {
        switch (c) {
        case -2: return 2;
        case 's': if (!cli_long("solve", "seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 2; have_deal_flag = 1; break;
        case 'd': if (!cli_long("solve", "deck", optarg, 2, RPS_MAX_DECK, &deck)) return 2; have_deal_flag = 1; break;
        case 'n': if (!cli_long("solve", "hand", optarg, 1, RPS_MAX_HAND, &hand)) return 2; have_deal_flag = 1; break;
        case 'r': if (!cli_long("solve", "rounds", optarg, 1, 10000, &rounds)) return 2; have_deal_flag = 1; break;
        case 'f': record = optarg; break;
        case 'l': if (!cli_long("solve", "line", optarg, 1, 1000000000, &line)) return 2; have_line_flag = 1; break;
        case 'p': if (!cli_long("solve", "ply", optarg, 0, RPS_MAX_PLIES, &ply)) return 2; have_line_flag = 1; break;
        case 'j': json = 1; break;
        case 't': if (!cli_long("solve", "tt-log2", optarg, 10, 28, &ttl)) return 2; break;
        case 'h': usage(stdout); return 0;
        }
    }
    if (optind < argc) return cli_usage_error("solve", "unexpected argument '%s'", argv[optind]);
    if (record && have_deal_flag)
        return cli_usage_error("solve", "--record cannot be combined with --seed/--deck/--hand/--rounds");
    if (!record && have_line_flag) return cli_usage_error("solve", "--line and --ply need --record FILE");
    rps_state s;
    if (record) {
        int rc = load_record(record, line, ply, &s);
        if (rc) return rc;
    } else {
        rps_config cfg = {.deck_size = (int)deck, .hand_size = (int)hand, .max_rounds = (int)rounds};
        if (rps_config_check(&cfg) != NRPS_OK) return cli_usage_error("solve", "bad setup: %s", nrps_last_error());
        nrps_rng rng;
        nrps_rng_seed(&rng, (uint64_t)seed);
        rps_state_deal(&s, &cfg, &rng);
    }
    rps_solver *sv = rps_solver_create((int)ttl);
    if (!sv) return cli_fail("solve", "%s", nrps_last_error());
    rps_solve_info info;
    nrps_status st = rps_solver_analyse(sv, &s, &info);
    rps_solver_destroy(sv);
    if (st) return cli_fail("solve", "%s", nrps_last_error());
    if (json) print_json(&s, &info);
    else {
        if (record) printf("position: %s line %ld after %ld plies\n", record, line, ply);
        else printf("position: seed %ld, deck %ld, hand %ld, max rounds %ld\n", seed, deck, hand, rounds);
        print_text(&s, &info);
    }
    return 0;
}
