/* cmd_play.c - `neural_rps play`: a person plays one game in the terminal against an agent.
 * Moves are typed as "CARD POSITION": CARD is a hand index (0-based, as the board shows it) or a type
 * letter/name (R, P, S, rock, paper, scissors), POSITION 0..8 (row*3 + col). Invalid input is asked
 * again with the reason; 'quit' or end of input stops the game with a message (exit 1). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "search/agent.h"
#include "search/arena.h"
#include "search/arena_record.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps play [--agent SPEC] [--seat 1|2] [--seed S] [--record FILE] [--deck N] [--hand N] [--rounds N]\n"
            "  --agent SPEC   the opponent (default mcts:200); see 'neural_rps arena --help' for specs\n"
            "  --seat 1|2     your seat: 1 = Player1, moves first (default 1)\n"
            "  --seed S       deal and agent seed (default: from the clock)\n"
            "  --record FILE  write the finished game as one JSON-lines record (atomically)\n"
            "  moves: 'CARD POSITION', CARD = hand index or R/P/S, POSITION = 0..8; 'quit' to stop\n");
}

/* Parses a human move; returns 1 and fills mv, or 0 with a reason in why. */
static int parse_move(const rps_state *s, char *line, rps_move *mv, char *why, size_t wn) {
    char a[64], b[64], extra[8];
    int n = sscanf(line, "%63s %63s %7s", a, b, extra);
    if (n != 2) {
        snprintf(why, wn, "type two things: a card (hand index or R/P/S) and a position 0..8, e.g. '0 4'");
        return 0;
    }
    int me = s->to_move, card = -1;
    char *end;
    long ci = strtol(a, &end, 10);
    if (*end == 0 && end != a) {
        if (ci < 0 || ci >= s->hand_len[me]) {
            snprintf(why, wn, "card index %ld is not in your hand (0..%d)", ci, s->hand_len[me] - 1);
            return 0;
        }
        card = (int)ci;
    } else {
        int type = -1;
        if (!strcasecmp(a, "r") || !strcasecmp(a, "rock")) type = RPS_ROCK;
        else if (!strcasecmp(a, "p") || !strcasecmp(a, "paper")) type = RPS_PAPER;
        else if (!strcasecmp(a, "s") || !strcasecmp(a, "scissors")) type = RPS_SCISSORS;
        if (type < 0) {
            snprintf(why, wn, "'%s' is not a card: use a hand index or R, P, S", a);
            return 0;
        }
        for (int i = 0; i < s->hand_len[me] && card < 0; i++)
            if (s->hand[me][i] == type) card = i;
        if (card < 0) {
            snprintf(why, wn, "you have no %s in your hand", rps_type_name(type));
            return 0;
        }
    }
    long pos = strtol(b, &end, 10);
    if (*end != 0 || end == b || pos < 0 || pos > 8) {
        snprintf(why, wn, "position must be a number 0..8, got '%s'", b);
        return 0;
    }
    if (s->board[pos].owner != RPS_NONE) {
        snprintf(why, wn, "position %ld is taken", pos);
        return 0;
    }
    mv->card = (int8_t)card;
    mv->pos = (int8_t)pos;
    if (!rps_state_is_legal(s, *mv)) {
        snprintf(why, wn, "that move is not legal here");
        return 0;
    }
    return 1;
}

int cmd_play(int argc, char **argv) {
    const char *cmd = argv[0];
    static const struct option opts[] = {{"agent", required_argument, 0, 'a'}, {"seat", required_argument, 0, 'S'},
                                         {"seed", required_argument, 0, 's'},  {"record", required_argument, 0, 'r'},
                                         {"deck", required_argument, 0, 'D'},  {"hand", required_argument, 0, 'H'},
                                         {"rounds", required_argument, 0, 'R'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *spec_text = "mcts:200", *record = NULL;
    long seat = 1, seed = -1, v;
    rps_config gc = rps_config_standard();
    optind = 0;
    for (int c; (c = cli_getopt(cmd, argc, argv, opts)) != -1;) {
        switch (c) {
        case 'a': spec_text = optarg; break;
        case 'S': if (!cli_long(cmd, "seat", optarg, 1, 2, &seat)) return 2; break;
        case 's': if (!cli_long(cmd, "seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 2; break;
        case 'r': record = optarg; break;
        case 'D': if (!cli_long(cmd, "deck", optarg, 2, RPS_MAX_DECK, &v)) return 2; gc.deck_size = (int)v; break;
        case 'H': if (!cli_long(cmd, "hand", optarg, 1, RPS_MAX_HAND, &v)) return 2; gc.hand_size = (int)v; break;
        case 'R': if (!cli_long(cmd, "rounds", optarg, 1, 10000, &v)) return 2; gc.max_rounds = (int)v; break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (rps_config_check(&gc) != NRPS_OK) return cli_usage_error(cmd, "%s", nrps_last_error());
    agent_spec spec;
    if (agent_spec_parse(spec_text, &spec) != NRPS_OK) return cli_usage_error(cmd, "--agent: %s", nrps_last_error());
    cli_io io; /* before the game, not after it */
    cli_io_init(&io);
    cli_io_agent(&io, "agent", &spec);
    if (!cli_io_output(&io, cmd, "record", record)) return nrps_io_free(&io), 2;
    if (!cli_io_check(&io, cmd)) return 2;
    if (seed < 0) seed = (long)(nrps_now_ns() & 0x7fffffffffffffffULL);
    agent *ai = agent_create(&spec, arena_derive_seed((uint64_t)seed, 2, 0));
    if (!ai) return cli_fail(cmd, "%s", nrps_last_error());
    int human = (int)seat, rc = 0;
    rps_state s;
    nrps_rng deal;
    nrps_rng_seed(&deal, arena_derive_seed((uint64_t)seed, 1, 0));
    rps_state_deal(&s, &gc, &deal);
    arena_game g;
    memset(&g, 0, sizeof g);
    g.a_seat = human;
    g.hand_size = s.hand_len[RPS_P1];
    memcpy(g.p1_hand, s.hand[RPS_P1], sizeof g.p1_hand);
    memcpy(g.p2_hand, s.hand[RPS_P2], sizeof g.p2_hand);
    printf("neural_rps play: you are Player%d against %s (seed %ld)\n", human, spec.text, seed);
    printf("Capture rule: a card you place flips each orthogonal neighbour of the opponent it beats\n"
           "(Rock beats Scissors, Paper beats Rock, Scissors beats Paper). Most cells at the end wins.\n\n");
    char line[256];
    while (!rps_state_is_over(&s)) {
        rps_state_print(&s, stdout);
        rps_move mv;
        if (s.to_move == human) {
            for (;;) {
                printf("your move (card position): ");
                fflush(stdout);
                if (!fgets(line, sizeof line, stdin)) {
                    printf("\n");
                    rc = cli_fail(cmd, "end of input: game abandoned after %d plies", s.ply);
                    goto done;
                }
                if (!isatty(fileno(stdin))) printf("%s%s", line, strchr(line, '\n') ? "" : "\n"); /* echo scripts */
                if (!strchr(line, '\n') && !feof(stdin)) { /* overlong line: drop the rest */
                    int ch;
                    while ((ch = getchar()) != '\n' && ch != EOF) {}
                    printf("invalid: line too long\n");
                    continue;
                }
                char *t = line;
                while (isspace((unsigned char)*t)) t++;
                if (!strncasecmp(t, "quit", 4) || !strncasecmp(t, "q\n", 2)) {
                    rc = cli_fail(cmd, "quit: game abandoned after %d plies", s.ply);
                    goto done;
                }
                char why[160];
                if (parse_move(&s, line, &mv, why, sizeof why)) break;
                printf("invalid: %s\n", why);
            }
        } else {
            nrps_status st = agent_select_move(ai, &s, &mv);
            if (st != NRPS_OK) {
                rc = cli_fail(cmd, "%s", nrps_last_error());
                goto done;
            }
            printf("%s plays %s (card %d) at position %d", spec.text, rps_type_name(s.hand[s.to_move][mv.card]),
                   mv.card, mv.pos);
            const mcts_result *sr = agent_last_search(ai);
            if (sr) printf("  (search: %d playouts, its win estimate %.2f)", sr->playouts, sr->value);
            printf("\n");
        }
        rps_state_apply(&s, mv);
        g.moves[g.nmoves++] = mv;
        printf("\n");
    }
    rps_state_print(&s, stdout);
    g.winner = rps_state_winner(&s);
    rps_state_score(&s, &g.score_p1, &g.score_p2);
    printf("%s\n", g.winner == RPS_NONE ? "draw" : g.winner == human ? "you win" : "you lose");
    if (record) {
        nrps_atomic_file af;
        if (nrps_atomic_open(&af, record, "w") != NRPS_OK) {
            rc = cli_fail(cmd, "%s", nrps_last_error());
            goto done;
        }
        arena_record_line(af.f, &g, 0, (uint64_t)seed, &gc, human == RPS_P1 ? "human" : spec.text,
                          human == RPS_P2 ? "human" : spec.text);
        if (nrps_atomic_commit(&af) != NRPS_OK) rc = cli_fail(cmd, "%s", nrps_last_error());
    }
done:
    agent_destroy(ai);
    return rc;
}
