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
#include "util/mpi_dist.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps arena --p1 SPEC --p2 SPEC [--games N] [--seed S] [--threads T] [--json]\n"
            "                        [--record FILE] [--deck N] [--hand N] [--rounds N] [--mpi]\n"
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
            "  --mpi            one match over the processes of an MPI job (mpirun -np N neural_rps arena --mpi\n"
            "                   ...): each plays its share of the games (T threads each), rank 0 reports and\n"
            "                   writes --record; the same result as one process (network files must be\n"
            "                   readable at the same paths on every machine; docs/distributed.md)\n"
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

static const struct option opts[] = {
    {"p1", required_argument, 0, 'a'},     {"p2", required_argument, 0, 'b'},
    {"games", required_argument, 0, 'g'},  {"seed", required_argument, 0, 's'},
    {"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
    {"record", required_argument, 0, 'r'}, {"deck", required_argument, 0, 'D'},
    {"hand", required_argument, 0, 'H'},   {"rounds", required_argument, 0, 'R'},
    {"mpi", no_argument, 0, 'm'},          {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* Everything the flags say. */
typedef struct {
    const char *spec_a, *spec_b, *record;
    long games, seed, threads;
    int json, mpi, help;
    arena_config cfg;
} arena_flags;

/* argv into f; 0 or the exit status after the one-line error. */
static int parse_flags(const char *cmd, int argc, char **argv, arena_flags *f) {
    memset(f, 0, sizeof *f);
    f->games = 100, f->seed = 1, f->threads = 1;
    f->cfg.game = rps_config_standard();
    long v;
    optind = 0;
    for (int c; (c = cli_getopt(cmd, argc, argv, opts)) != -1;) {
        switch (c) {
        case 'a': f->spec_a = optarg; break;
        case 'b': f->spec_b = optarg; break;
        case 'g': if (!cli_long(cmd, "games", optarg, 1, 100000000, &f->games)) return 2; break;
        case 's': if (!cli_long(cmd, "seed", optarg, 0, 0x7fffffffffffffffL, &f->seed)) return 2; break;
        case 't': if (!cli_long(cmd, "threads", optarg, 1, 256, &f->threads)) return 2; break;
        case 'j': f->json = 1; break;
        case 'r': f->record = optarg; break;
        case 'D': if (!cli_long(cmd, "deck", optarg, 2, RPS_MAX_DECK, &v)) return 2; f->cfg.game.deck_size = (int)v; break;
        case 'H': if (!cli_long(cmd, "hand", optarg, 1, RPS_MAX_HAND, &v)) return 2; f->cfg.game.hand_size = (int)v; break;
        case 'R': if (!cli_long(cmd, "rounds", optarg, 1, 10000, &v)) return 2; f->cfg.game.max_rounds = (int)v; break;
        case 'm': f->mpi = 1; break;
        case 'h': f->help = 1; return 0;
        default: return 2;
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!f->spec_a || !f->spec_b) return cli_usage_error(cmd, "--p1 SPEC and --p2 SPEC are required (see --help)");
    if (rps_config_check(&f->cfg.game) != NRPS_OK) return cli_usage_error(cmd, "%s", nrps_last_error());
    if (agent_spec_parse(f->spec_a, &f->cfg.a) != NRPS_OK) return cli_usage_error(cmd, "--p1: %s", nrps_last_error());
    if (agent_spec_parse(f->spec_b, &f->cfg.b) != NRPS_OK) return cli_usage_error(cmd, "--p2: %s", nrps_last_error());
    f->cfg.games = f->games;
    f->cfg.seed = (uint64_t)f->seed;
    f->cfg.threads = (int)f->threads;
    f->cfg.keep_games = f->record != NULL;
    f->cfg.distributed = f->mpi;
    return 0;
}

/* The files, before the games: an agent's network that cannot be read (on every rank: each reads them), a bad
 * --record path (rank 0 only: it writes it) or one naming an agent's network. 0 or the exit status (2). */
static int check_files(const char *cmd, arena_flags *f) {
    cli_io io;
    cli_io_init(&io);
    cli_io_agent(&io, "p1", &f->cfg.a);
    cli_io_agent(&io, "p2", &f->cfg.b);
    if (!cli_io_output(&io, cmd, "record", nrps_dist_rank() == 0 ? f->record : NULL)) return nrps_io_free(&io), 2;
    return cli_io_check(&io, cmd) ? 0 : 2;
}

/* The report as one JSON object on stdout; 0, or 1 after the line when out of memory. */
static int print_json(const arena_flags *f, const arena_result *r, double spm_a, double spm_b) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "p1", f->spec_a);
    cJSON_AddStringToObject(o, "p2", f->spec_b);
    cJSON_AddNumberToObject(o, "games", (double)r->games);
    cJSON_AddNumberToObject(o, "deals", (double)((r->games + 1) / 2));
    cJSON_AddNumberToObject(o, "seed", (double)f->seed);
    cJSON_AddNumberToObject(o, "threads", (double)f->threads);
    if (f->mpi) cJSON_AddNumberToObject(o, "processes", nrps_dist_size());
    cJSON_AddNumberToObject(o, "deck", f->cfg.game.deck_size);
    cJSON_AddNumberToObject(o, "hand", f->cfg.game.hand_size);
    cJSON_AddNumberToObject(o, "rounds", f->cfg.game.max_rounds);
    cJSON *a = cJSON_AddObjectToObject(o, "a");
    cJSON_AddStringToObject(a, "spec", f->spec_a);
    cJSON_AddNumberToObject(a, "wins", (double)r->a_wins);
    cJSON_AddNumberToObject(a, "draws", (double)r->draws);
    cJSON_AddNumberToObject(a, "losses", (double)r->b_wins);
    cJSON_AddNumberToObject(a, "wins_as_p1", (double)r->a_wins_as_p1);
    cJSON_AddNumberToObject(a, "games_as_p1", (double)r->a_games_as_p1);
    cJSON_AddNumberToObject(a, "wins_as_p2", (double)r->a_wins_as_p2);
    cJSON_AddNumberToObject(a, "games_as_p2", (double)r->a_games_as_p2);
    json_num(a, "score", r->score);
    json_num(a, "score_lo", r->score_lo);
    json_num(a, "score_hi", r->score_hi);
    json_num(a, "seconds_per_move", spm_a);
    cJSON *b = cJSON_AddObjectToObject(o, "b");
    cJSON_AddStringToObject(b, "spec", f->spec_b);
    cJSON_AddNumberToObject(b, "wins", (double)r->b_wins);
    cJSON_AddNumberToObject(b, "draws", (double)r->draws);
    cJSON_AddNumberToObject(b, "losses", (double)r->a_wins);
    json_num(b, "score", 1 - r->score);
    json_num(b, "score_lo", 1 - r->score_hi);
    json_num(b, "score_hi", 1 - r->score_lo);
    json_num(b, "seconds_per_move", spm_b);
    json_num(o, "elo", r->elo);
    json_num(o, "elo_lo", r->elo_lo);
    json_num(o, "elo_hi", r->elo_hi);
    json_num(o, "seconds", r->seconds);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return cli_fail("arena", "out of memory writing JSON");
    puts(text);
    cJSON_free(text);
    return 0;
}

static int print_text(const arena_flags *f, const arena_result *r, double spm_a, double spm_b) {
    char e[32], el[32], eh[32], procs[64] = "";
    fmt_elo(e, sizeof e, r->elo);
    fmt_elo(el, sizeof el, r->elo_lo);
    fmt_elo(eh, sizeof eh, r->elo_hi);
    if (f->mpi) snprintf(procs, sizeof procs, " x %d MPI process%s", nrps_dist_size(), nrps_dist_size() == 1 ? "" : "es");
    const char *sa = f->spec_a, *sb = f->spec_b;
    long deals = (r->games + 1) / 2;
    printf("arena: %s vs %s, %ld game%s on %ld deal%s (each deal from both seats), seed %ld, %ld thread%s%s, %.2f s\n",
           sa, sb, r->games, r->games == 1 ? "" : "s", deals, deals == 1 ? "" : "s", f->seed, f->threads,
           f->threads == 1 ? "" : "s", procs, r->seconds);
    printf("  %-24s wins %6ld  draws %5ld  losses %6ld  score %.4f  95%% CI [%.4f, %.4f]  (wins as P1 %ld/%ld, as P2 %ld/%ld)  %.3g ms/move\n",
           sa, r->a_wins, r->draws, r->b_wins, r->score, r->score_lo, r->score_hi, r->a_wins_as_p1, r->a_games_as_p1,
           r->a_wins_as_p2, r->a_games_as_p2, spm_a * 1e3);
    long b_w1 = r->a_games_as_p2 - r->a_wins_as_p2 - r->a_draws_as_p2;
    long b_w2 = r->a_games_as_p1 - r->a_wins_as_p1 - r->a_draws_as_p1;
    printf("  %-24s wins %6ld  draws %5ld  losses %6ld  score %.4f  95%% CI [%.4f, %.4f]  (wins as P1 %ld/%ld, as P2 %ld/%ld)  %.3g ms/move\n",
           sb, r->b_wins, r->draws, r->a_wins, 1 - r->score, 1 - r->score_hi, 1 - r->score_lo, b_w1,
           r->a_games_as_p2, b_w2, r->a_games_as_p1, spm_b * 1e3);
    printf("  Elo difference (%s - %s): %s  95%% CI [%s, %s]\n", sa, sb, e, el, eh);
    return 0;
}

/* The match, then (rank 0) the record and the report. */
static int run_match(const char *cmd, arena_flags *f) {
    f->cfg.progress = nrps_dist_rank() == 0 && cli_isatty_err();
    nrps_install_signal_handlers();
    arena_result r;
    nrps_status st = arena_run(&f->cfg, &r);
    if (st != NRPS_OK) {
        arena_result_free(&r);
        if (nrps_interrupted) { /* exit 128+signal as benchmark/train do; one line, no record (games unpaired) */
            cli_fail(cmd, "interrupted (%s) before all %ld game%s played: no result, nothing written",
                     nrps_signal_name(nrps_interrupted), f->games, f->games == 1 ? " was" : "s were");
            return nrps_signal_exit_status(130);
        }
        return cli_fail(cmd, "%s", nrps_last_error());
    }
    int rc = 0;
    if (nrps_dist_rank() == 0 && f->record && arena_record_write(f->record, &f->cfg, &r) != NRPS_OK)
        rc = cli_fail(cmd, "%s", nrps_last_error());
    double spm_a = r.a_moves ? r.a_seconds / r.a_moves : 0, spm_b = r.b_moves ? r.b_seconds / r.b_moves : 0;
    if (rc == 0 && nrps_dist_rank() == 0) rc = (f->json ? print_json : print_text)(f, &r, spm_a, spm_b);
    arena_result_free(&r);
    return rc;
}

/* The command once any MPI job is joined: every rank checks and plays; the checks' outcomes are agreed. */
static int arena_main(const char *cmd, int argc, char **argv) {
    arena_flags f;
    int rc = cli_mpi_agree(cmd, parse_flags(cmd, argc, argv, &f));
    if (rc != 0) return rc;
    if (f.help) {
        if (nrps_dist_rank() == 0) usage(stdout);
        return 0;
    }
    if ((rc = cli_mpi_agree(cmd, check_files(cmd, &f))) != 0) return rc;
    return run_match(cmd, &f);
}

int cmd_arena(int argc, char **argv) {
    const char *cmd = argv[0];
    int rc = cli_flag_given(argc, argv, opts, 'm') ? cli_mpi_start(cmd) : 0;
    return rc != 0 ? rc : cli_mpi_end(arena_main(cmd, argc, argv));
}
