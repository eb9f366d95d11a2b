/* cmd_solve.c - `neural_rps solve`: exact game-theoretic value and optimal moves of a position, either a
 * fresh deal (--seed, --deck/--hand/--rounds) or a prefix of a recorded game (--record FILE --line N
 * --ply K). With --vs-random: the exact best response to the uniformly random agent instead (expectimax,
 * src/search/bestresponse.h), on one position or, with --arena-seed S --games N, averaged over the very
 * deals and seats `neural_rps arena --seed S --games N` plays: the ceiling of any agent's expected score
 * against `random` there. Text by default, one JSON line with --json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "game/record.h"
#include "search/arena.h"
#include "search/bestresponse.h"
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
            "  --tt-log2 N   transposition table of 2^N entries (10..28, default 16 = 1 MiB; with --vs-random\n"
            "                20 = 16 MiB)\n"
            "\n"
            "       neural_rps solve --vs-random [--as P] [position flags as above] [--json]\n"
            "       neural_rps solve --vs-random --arena-seed S [--games N] [--deck/--hand/--rounds N]\n"
            "                        [--per-game] [--json]\n"
            "  --vs-random   exact best response to the uniformly random agent (expectimax: our moves maximise,\n"
            "                the opponent's are averaged exactly as the `random` agent draws them, uniform over\n"
            "                (hand index, position) pairs); values are our expected arena score (win 1, draw 0.5,\n"
            "                loss 0). On one position: the value and every distinct move's value (best ones\n"
            "                marked with *, or the random agent's probability of each move when it is to move).\n"
            "  --as P        our side, 1 or 2 (default: the side to move)\n"
            "  --arena-seed S  average over the games of `neural_rps arena --seed S --games N` (game g: deal g/2,\n"
            "                our agent Player1 in even games, Player2 in odd ones): the exact ceiling of ANY\n"
            "                agent's expected score against `random` on those games, overall and per seat\n"
            "  --games N     games for --arena-seed (default 1000)\n"
            "  --per-game    also list every game's exact value (text: one line each; JSON: \"per_game\" array)\n"
            "  JSON (--vs-random, one position): {\"our_player\",\"to_move\",\"ply\",\"over\",\"value\",\n"
            "                \"moves\":[{\"card\",\"type\",\"pos\",\"value\",\"prob\",\"best\"}...],\"n_best\",\"nodes\",\"seconds\"}\n"
            "  JSON (--arena-seed): {\"arena_seed\",\"games\",\"deals\",\"deck\",\"hand\",\"rounds\",\"ceiling\",\n"
            "                \"games_as_p1\",\"ceiling_as_p1\",\"games_as_p2\",\"ceiling_as_p2\",\"sd_max\",\"nodes\",\n"
            "                \"seconds\"}\n"
            "                (sd_max: upper bound on the standard deviation of a best responder's mean score)\n");
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
        rc = cli_fail("solve", "--ply %ld: %s line %ld holds only %d move%s", ply, path, line, r.n_moves,
                      r.n_moves == 1 ? "" : "s");
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

/* --vs-random on one position. */
static void print_br(const rps_state *s, const rps_br_info *info, int json) {
    if (json) {
        printf("{\"our_player\":%d,\"to_move\":%d,\"ply\":%d,\"over\":%s,\"value\":%.12f,\"moves\":[", info->our_player,
               s->to_move, s->ply, rps_state_is_over(s) ? "true" : "false", info->value);
        for (int i = 0; i < info->n_moves; i++) {
            const rps_br_move *m = &info->moves[i];
            printf("%s{\"card\":%d,\"type\":%d,\"pos\":%d,\"value\":%.12f,\"prob\":%.12f,\"best\":%s}", i ? "," : "",
                   m->move.card, m->type, m->move.pos, m->value, m->prob, m->best ? "true" : "false");
        }
        printf("],\"n_best\":%d,\"nodes\":%llu,\"seconds\":%.6f}\n", info->n_best, (unsigned long long)info->nodes,
               info->seconds);
        return;
    }
    rps_state_print(s, stdout);
    printf("best response to random: Player%d's expected score %.6f (win 1, draw 0.5, loss 0)\n", info->our_player,
           info->value);
    if (info->n_moves && info->ours_to_move) {
        printf("moves (one per card type and position; * = best, %d of %d), expected score after each:\n",
               info->n_best, info->n_moves);
    } else if (info->n_moves) {
        printf("the random agent (Player%d) is to move; its moves (merged by card type), their probability and our\n"
               "expected score after each:\n",
               s->to_move);
    }
    int order[RPS_NTYPES * RPS_CELLS];
    for (int i = 0; i < info->n_moves; i++) order[i] = i;
    for (int i = 1; i < info->n_moves; i++)
        for (int j = i; j > 0 && info->moves[order[j]].value > info->moves[order[j - 1]].value; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int k = 0; k < info->n_moves; k++) {
        const rps_br_move *m = &info->moves[order[k]];
        if (info->ours_to_move)
            printf("  %c %-8s (card %d) -> position %d: %.6f\n", m->best ? '*' : ' ', rps_type_name(m->type), m->move.card,
                   m->move.pos, m->value);
        else
            printf("    %-8s (card %d) -> position %d: p %.4f, %.6f\n", rps_type_name(m->type), m->move.card, m->move.pos,
                   m->prob, m->value);
    }
    printf("nodes %llu, %.3f ms\n", (unsigned long long)info->nodes, info->seconds * 1e3);
}

/* --vs-random --arena-seed: exact mean over the arena's games (same deals and seats as arena.c). */
static int run_br_arena(const rps_config *cfg, uint64_t seed, long games, int ttl, int per_game, int json) {
    rps_br *br = rps_br_create(ttl);
    if (!br) return cli_fail("solve", "%s", nrps_last_error());
    double *vals = malloc((size_t)games * sizeof *vals);
    if (!vals) {
        rps_br_destroy(br);
        return cli_fail("solve", "out of memory for %ld games", games);
    }
    double t0 = nrps_now_s(), sum[2] = {0, 0}, var = 0;
    long n[2] = {0, 0};
    int rc = 0;
    for (long g = 0; g < games; g++) {
        if (nrps_interrupted) {
            rc = cli_fail("solve", "interrupted after %ld of %ld game%s", g, games, games == 1 ? "" : "s");
            goto cleanup;
        }
        rps_state s;
        nrps_rng deal;
        nrps_rng_seed(&deal, arena_derive_seed(seed, 1, (uint64_t)(g / 2)));
        rps_state_deal(&s, cfg, &deal);
        int seat = g % 2 == 0 ? RPS_P1 : RPS_P2;
        if (rps_br_value(br, &s, seat, &vals[g]) != NRPS_OK) {
            rc = cli_fail("solve", "%s", nrps_last_error());
            goto cleanup;
        }
        sum[seat - 1] += vals[g];
        n[seat - 1]++;
        var += vals[g] * (1 - vals[g]);
    }
    double secs = nrps_now_s() - t0;
    double mean = (sum[0] + sum[1]) / (double)games;
    double m1 = n[0] ? sum[0] / (double)n[0] : 0, m2 = n[1] ? sum[1] / (double)n[1] : 0;
    double sd = sqrt(var) / (double)games;
    unsigned long long nodes = (unsigned long long)rps_br_nodes(br);
    long deals = (games + 1) / 2;
    if (json) {
        printf("{\"arena_seed\":%llu,\"games\":%ld,\"deals\":%ld,\"deck\":%d,\"hand\":%d,\"rounds\":%d,\"ceiling\":%.12f,"
               "\"games_as_p1\":%ld,\"ceiling_as_p1\":%.12f,\"games_as_p2\":%ld,\"ceiling_as_p2\":%.12f,\"sd_max\":%.12f,",
               (unsigned long long)seed, games, deals, cfg->deck_size, cfg->hand_size, cfg->max_rounds, mean, n[0], m1,
               n[1], m2, sd);
        if (per_game) {
            printf("\"per_game\":[");
            for (long g = 0; g < games; g++) printf("%s%.12f", g ? "," : "", vals[g]);
            printf("],");
        }
        printf("\"nodes\":%llu,\"seconds\":%.6f}\n", nodes, secs);
    } else {
        printf("best response to random on the games of `arena --seed %llu --games %ld`: %ld deal%s, deck %d, hand %d, "
               "max rounds %d\n",
               (unsigned long long)seed, games, deals, deals == 1 ? "" : "s", cfg->deck_size, cfg->hand_size,
               cfg->max_rounds);
        printf("ceiling (exact expected score of the best response; no agent can expect more): %.6f\n", mean);
        printf("  as Player1 (%ld game%s): %.6f\n", n[0], n[0] == 1 ? "" : "s", m1);
        printf("  as Player2 (%ld game%s): %.6f\n", n[1], n[1] == 1 ? "" : "s", m2);
        printf("  sd of a best responder's mean score over these games: at most %.6f\n", sd);
        if (per_game)
            for (long g = 0; g < games; g++)
                printf("game %ld: deal %ld, Player%d, %.6f\n", g, g / 2, g % 2 == 0 ? 1 : 2, vals[g]);
        printf("nodes %llu, %.3f s\n", nodes, secs);
    }
cleanup:
    free(vals);
    rps_br_destroy(br);
    return rc;
}

int cmd_solve(int argc, char **argv) {
    static const struct option opts[] = {
        {"seed", required_argument, 0, 's'}, {"deck", required_argument, 0, 'd'},  {"hand", required_argument, 0, 'n'},
        {"rounds", required_argument, 0, 'r'}, {"record", required_argument, 0, 'f'}, {"line", required_argument, 0, 'l'},
        {"ply", required_argument, 0, 'p'},  {"json", no_argument, 0, 'j'},         {"tt-log2", required_argument, 0, 't'},
        {"vs-random", no_argument, 0, 'v'},  {"as", required_argument, 0, 'a'},      {"arena-seed", required_argument, 0, 'A'},
        {"games", required_argument, 0, 'g'}, {"per-game", no_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    long seed = 1, deck = 21, hand = 5, rounds = 10, line = 1, ply = 0, ttl = 16;
    long our = 0, arena_seed = 0, games = 1000;
    int json = 0, have_deal_flag = 0, have_line_flag = 0, vs_random = 0, have_arena = 0, have_games = 0, per_game = 0,
        have_ttl = 0, have_seed = 0;
    const char *record = NULL;
    optind = 0;
    int c;
    while ((c = cli_getopt("solve", argc, argv, opts)) != -1) {
        switch (c) {
        case -2: return 2;
        case 's': if (!cli_long("solve", "seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 2; have_deal_flag = 1; have_seed = 1; break;
        case 'd': if (!cli_long("solve", "deck", optarg, 2, RPS_MAX_DECK, &deck)) return 2; have_deal_flag = 1; break;
        case 'n': if (!cli_long("solve", "hand", optarg, 1, RPS_MAX_HAND, &hand)) return 2; have_deal_flag = 1; break;
        case 'r': if (!cli_long("solve", "rounds", optarg, 1, 10000, &rounds)) return 2; have_deal_flag = 1; break;
        case 'f': record = optarg; break;
        case 'l': if (!cli_long("solve", "line", optarg, 1, 1000000000, &line)) return 2; have_line_flag = 1; break;
        case 'p': if (!cli_long("solve", "ply", optarg, 0, RPS_MAX_PLIES, &ply)) return 2; have_line_flag = 1; break;
        case 'j': json = 1; break;
        case 't': if (!cli_long("solve", "tt-log2", optarg, 10, 28, &ttl)) return 2; have_ttl = 1; break;
        case 'v': vs_random = 1; break;
        case 'a': if (!cli_long("solve", "as", optarg, 1, 2, &our)) return 2; break;
        case 'A': if (!cli_long("solve", "arena-seed", optarg, 0, 0x7fffffffffffffffL, &arena_seed)) return 2; have_arena = 1; break;
        case 'g': if (!cli_long("solve", "games", optarg, 1, 100000000, &games)) return 2; have_games = 1; break;
        case 'P': per_game = 1; break;
        case 'h': usage(stdout); return 0;
        }
    }
    if (optind < argc) return cli_usage_error("solve", "unexpected argument '%s'", argv[optind]);
    if (record && have_deal_flag)
        return cli_usage_error("solve", "--record cannot be combined with --seed/--deck/--hand/--rounds");
    if (!record && have_line_flag) return cli_usage_error("solve", "--line and --ply need --record FILE");
    if (!vs_random && (our || have_arena || have_games || per_game))
        return cli_usage_error("solve", "--as, --arena-seed, --games and --per-game need --vs-random");
    if (!have_arena && (have_games || per_game)) return cli_usage_error("solve", "--games and --per-game need --arena-seed S");
    if (have_arena && (record || have_seed || our))
        return cli_usage_error("solve", "--arena-seed cannot be combined with --seed, --record or --as");
    if (vs_random && !have_ttl) ttl = 20;
    if (have_arena) {
        rps_config cfg = {.deck_size = (int)deck, .hand_size = (int)hand, .max_rounds = (int)rounds};
        if (rps_config_check(&cfg) != NRPS_OK) return cli_usage_error("solve", "bad setup: %s", nrps_last_error());
        return run_br_arena(&cfg, (uint64_t)arena_seed, games, (int)ttl, per_game, json);
    }
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
    if (vs_random) {
        rps_br *br = rps_br_create((int)ttl);
        if (!br) return cli_fail("solve", "%s", nrps_last_error());
        rps_br_info binfo;
        nrps_status bst = rps_br_analyse(br, &s, our ? (int)our : s.to_move, &binfo);
        rps_br_destroy(br);
        if (bst) return cli_fail("solve", "%s", nrps_last_error());
        if (!json) {
            if (record) printf("position: %s line %ld after %ld %s\n", record, line, ply, ply == 1 ? "ply" : "plies");
            else printf("position: seed %ld, deck %ld, hand %ld, max rounds %ld\n", seed, deck, hand, rounds);
        }
        print_br(&s, &binfo, json);
        return 0;
    }
    rps_solver *sv = rps_solver_create((int)ttl);
    if (!sv) return cli_fail("solve", "%s", nrps_last_error());
    rps_solve_info info;
    nrps_status st = rps_solver_analyse(sv, &s, &info);
    rps_solver_destroy(sv);
    if (st) return cli_fail("solve", "%s", nrps_last_error());
    if (json) print_json(&s, &info);
    else {
        if (record) printf("position: %s line %ld after %ld %s\n", record, line, ply, ply == 1 ? "ply" : "plies");
        else printf("position: seed %ld, deck %ld, hand %ld, max rounds %ld\n", seed, deck, hand, rounds);
        print_text(&s, &info);
    }
    return 0;
}
