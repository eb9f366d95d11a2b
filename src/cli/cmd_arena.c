/* cmd_arena.c - `neural_rps arena`: two agents over paired deals (each deal played from both seats),
 * wins/draws/losses, the 95% Wilson interval of the score and the Elo difference; text or one JSON object
 * on stdout, progress on stderr when it is a terminal, optional game records (JSON lines, atomic). */
#include <math.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "search/arena.h"
#include "search/arena_record.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps arena --p1 SPEC --p2 SPEC [--games N] [--seed S] [--threads T] [--json]\n"
            "                        [--record FILE] [--deck N] [--hand N] [--rounds N]\n"
            "  --p1, --p2 SPEC  agents A and B: random, greedy, solver, net[,policy=FILE],\n"
            "                   mcts[:PLAYOUTS[:CPUCT]][,cpuct=X,batch=N,vloss=X,reuse=0|1,noise=W,alpha=X,\n"
            "                   temp=T,tplies=N,threads=N]\n"
            "                   mcts-net[:PLAYOUTS][,policy=FILE,value=FILE,nets=DIR,...mcts keys]\n"
            "  --games N        games (default 100); deal k is played twice, A as Player1 then as Player2\n"
            "  --seed S         match seed (default 1); every game's deal and agent rngs derive from (S, game)\n"
            "  --threads T      games in parallel (default 1); results do not depend on T (nor on\n"
            "                   anything but S, unless an agent searches with threads=N > 1)\n"
            "  --json           one JSON object on stdout instead of the text report\n"
            "  --record FILE    write every game as a JSON-lines record (written atomically at the end)\n"
            "  --deck/--hand/--rounds  game setup (default 21/5/10)\n"
            "Exit status: 0 ok, 1 failure, 2 usage error (a bad --record path too), 128+N stopped by signal N\n"
            "(130 SIGINT, 143 SIGTERM: no result, nothing written).\n");
}

/* Adds a number, or null when it is not finite (an infinite Elo after a clean sweep). */
static void json_num(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static void fmt_elo(char *buf, size_t n, double e) {
    if (isfinite(e)) snprintf(buf, n, "%+.0f", e);
    else snprintf(buf, n, "%sinf", e > 0 ? "+" : "-");
}

int cmd_arena(int argc, char **argv) {
    const char *cmd = argv[0];
    static const struct option opts[] = {
        {"p1", required_argument, 0, 'a'},     {"p2", required_argument, 0, 'b'},
        {"games", required_argument, 0, 'g'},  {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
        {"record", required_argument, 0, 'r'}, {"deck", required_argument, 0, 'D'},
        {"hand", required_argument, 0, 'H'},   {"rounds", required_argument, 0, 'R'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *spec_a = NULL, *spec_b = NULL, *record = NULL;
    long games = 100, seed = 1, threads = 1, v;
    int json = 0;
    arena_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.game = rps_config_standard();
    optind = 0;
    for (int c; (c = cli_getopt(cmd, argc, argv, opts)) != -1;) {
        switch (c) {
        case 'a': spec_a = optarg; break;
        case 'b': spec_b = optarg; break;
        case 'g': if (!cli_long(cmd, "games", optarg, 1, 100000000, &games)) return 2; break;
        case 's': if (!cli_long(cmd, "seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 2; break;
        case 't': if (!cli_long(cmd, "threads", optarg, 1, 256, &threads)) return 2; break;
        case 'j': json = 1; break;
        case 'r': record = optarg; break;
        case 'D': if (!cli_long(cmd, "deck", optarg, 2, RPS_MAX_DECK, &v)) return 2; cfg.game.deck_size = (int)v; break;
        case 'H': if (!cli_long(cmd, "hand", optarg, 1, RPS_MAX_HAND, &v)) return 2; cfg.game.hand_size = (int)v; break;
        case 'R': if (!cli_long(cmd, "rounds", optarg, 1, 10000, &v)) return 2; cfg.game.max_rounds = (int)v; break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!spec_a || !spec_b) return cli_usage_error(cmd, "--p1 SPEC and --p2 SPEC are required (see --help)");
    if (rps_config_check(&cfg.game) != NRPS_OK) return cli_usage_error(cmd, "%s", nrps_last_error());
    if (agent_spec_parse(spec_a, &cfg.a) != NRPS_OK) return cli_usage_error(cmd, "--p1: %s", nrps_last_error());
    if (agent_spec_parse(spec_b, &cfg.b) != NRPS_OK) return cli_usage_error(cmd, "--p2: %s", nrps_last_error());
    cli_io io; /* before the games, not after: a bad --record path, or one naming an agent's network */
    cli_io_init(&io);
    cli_io_agent(&io, "p1", &cfg.a);
    cli_io_agent(&io, "p2", &cfg.b);
    if (!cli_io_output(&io, cmd, "record", record)) return nrps_io_free(&io), 2;
    if (!cli_io_check(&io, cmd)) return 2;
    cfg.games = games;
    cfg.seed = (uint64_t)seed;
    cfg.threads = (int)threads;
    cfg.progress = cli_isatty_err();
    cfg.keep_games = record != NULL;
    nrps_install_signal_handlers();
    arena_result r;
    nrps_status st = arena_run(&cfg, &r);
    if (st != NRPS_OK) {
        arena_result_free(&r);
        if (nrps_interrupted) { /* exit 128+signal as benchmark/train do; one line, no record (games unpaired) */
            cli_fail(cmd, "interrupted (%s) before all %ld game%s played: no result, nothing written",
                     nrps_signal_name(nrps_interrupted), games, games == 1 ? " was" : "s were");
            return nrps_signal_exit_status(130);
        }
        return cli_fail(cmd, "%s", nrps_last_error());
    }
    if (record && arena_record_write(record, &cfg, &r) != NRPS_OK) {
        arena_result_free(&r);
        return cli_fail(cmd, "%s", nrps_last_error());
    }
    double spm_a = r.a_moves ? r.a_seconds / r.a_moves : 0, spm_b = r.b_moves ? r.b_seconds / r.b_moves : 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "p1", spec_a);
        cJSON_AddStringToObject(o, "p2", spec_b);
        cJSON_AddNumberToObject(o, "games", (double)r.games);
        cJSON_AddNumberToObject(o, "deals", (double)((r.games + 1) / 2));
        cJSON_AddNumberToObject(o, "seed", (double)seed);
        cJSON_AddNumberToObject(o, "threads", (double)threads);
        cJSON_AddNumberToObject(o, "deck", cfg.game.deck_size);
        cJSON_AddNumberToObject(o, "hand", cfg.game.hand_size);
        cJSON_AddNumberToObject(o, "rounds", cfg.game.max_rounds);
        cJSON *a = cJSON_AddObjectToObject(o, "a");
        cJSON_AddStringToObject(a, "spec", spec_a);
        cJSON_AddNumberToObject(a, "wins", (double)r.a_wins);
        cJSON_AddNumberToObject(a, "draws", (double)r.draws);
        cJSON_AddNumberToObject(a, "losses", (double)r.b_wins);
        cJSON_AddNumberToObject(a, "wins_as_p1", (double)r.a_wins_as_p1);
        cJSON_AddNumberToObject(a, "games_as_p1", (double)r.a_games_as_p1);
        cJSON_AddNumberToObject(a, "wins_as_p2", (double)r.a_wins_as_p2);
        cJSON_AddNumberToObject(a, "games_as_p2", (double)r.a_games_as_p2);
        json_num(a, "score", r.score);
        json_num(a, "score_lo", r.score_lo);
        json_num(a, "score_hi", r.score_hi);
        json_num(a, "seconds_per_move", spm_a);
        cJSON *b = cJSON_AddObjectToObject(o, "b");
        cJSON_AddStringToObject(b, "spec", spec_b);
        cJSON_AddNumberToObject(b, "wins", (double)r.b_wins);
        cJSON_AddNumberToObject(b, "draws", (double)r.draws);
        cJSON_AddNumberToObject(b, "losses", (double)r.a_wins);
        json_num(b, "score", 1 - r.score);
        json_num(b, "score_lo", 1 - r.score_hi);
        json_num(b, "score_hi", 1 - r.score_lo);
        json_num(b, "seconds_per_move", spm_b);
        json_num(o, "elo", r.elo);
        json_num(o, "elo_lo", r.elo_lo);
        json_num(o, "elo_hi", r.elo_hi);
        json_num(o, "seconds", r.seconds);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!text) {
            arena_result_free(&r);
            return cli_fail(cmd, "out of memory writing JSON");
        }
        puts(text);
        cJSON_free(text);
    } else {
        char e[32], el[32], eh[32];
        fmt_elo(e, sizeof e, r.elo);
        fmt_elo(el, sizeof el, r.elo_lo);
        fmt_elo(eh, sizeof eh, r.elo_hi);
        printf("arena: %s vs %s, %ld game%s on %ld deal%s (each deal from both seats), seed %ld, %ld thread%s, %.2f s\n",
               spec_a, spec_b, r.games, r.games == 1 ? "" : "s", (r.games + 1) / 2, (r.games + 1) / 2 == 1 ? "" : "s",
               seed, threads, threads == 1 ? "" : "s", r.seconds);
        printf("  %-24s wins %6ld  draws %5ld  losses %6ld  score %.4f  95%% CI [%.4f, %.4f]  (wins as P1 %ld/%ld, as P2 %ld/%ld)  %.3g ms/move\n",
               spec_a, r.a_wins, r.draws, r.b_wins, r.score, r.score_lo, r.score_hi, r.a_wins_as_p1, r.a_games_as_p1,
               r.a_wins_as_p2, r.a_games_as_p2, spm_a * 1e3);
        long b_w1 = r.a_games_as_p2 - r.a_wins_as_p2 - r.a_draws_as_p2;
        long b_w2 = r.a_games_as_p1 - r.a_wins_as_p1 - r.a_draws_as_p1;
        printf("  %-24s wins %6ld  draws %5ld  losses %6ld  score %.4f  95%% CI [%.4f, %.4f]  (wins as P1 %ld/%ld, as P2 %ld/%ld)  %.3g ms/move\n",
               spec_b, r.b_wins, r.draws, r.a_wins, 1 - r.score, 1 - r.score_hi, 1 - r.score_lo, b_w1,
               r.a_games_as_p2, b_w2, r.a_games_as_p1, spm_b * 1e3);
        printf("  Elo difference (%s - %s): %s  95%% CI [%s, %s]\n", spec_a, spec_b, e, el, eh);
    }
    arena_result_free(&r);
    return 0;
}
