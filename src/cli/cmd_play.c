/* cmd_play.c - `neural_rps play`: a person plays one game in the terminal against an agent.
 * The board shows a cell as type letter + owner digit (R1 = a Rock owned by Player1), with a one-line legend.
 * Every card keeps the number it was dealt with for the whole game (a played card leaves a gap), and a move is
 * typed "CARD CELL": CARD is that number or a type letter/name (R, P, S, rock, paper, scissors), CELL 0..8
 * (row*3 + col, as the grid beside the board shows). Each move is announced with the cells it captured, and the
 * game ends with a summary (result, cells held, moves played). Invalid input is asked again with the reason;
 * 'quit' or end of input stops the game with a message (exit 1). Default opponent: mcts-net:200 with the default
 * networks when models/rps_policy.onnx and models/rps_value.onnx exist (relative to the working directory),
 * otherwise mcts:200; the first lines say which and why. */
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

/* What the board printer needs besides the state: the seats and each card's fixed number. */
typedef struct {
    int human;                   /* RPS_P1 or RPS_P2 */
    const char *opp;             /* the opponent's spec text */
    int8_t id[3][RPS_MAX_HAND];  /* id[player][hand index]: the number the card was dealt with */
} play_view;

static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* "cell 4", "cells 1 and 5", "cells 0, 3 and 8"; "no cells" when k == 0. */
static void cell_list(char *buf, size_t len, const int *cells, int k) {
    if (k == 0) {
        snprintf(buf, len, "no cells");
        return;
    }
    size_t p = (size_t)snprintf(buf, len, "%s ", plural(k, "cell", "cells"));
    for (int i = 0; i < k && p < len; i++)
        p += (size_t)snprintf(buf + p, len - p, "%s%d", i == 0 ? "" : i == k - 1 ? " and " : ", ", cells[i]);
}

static void print_hand(const play_view *v, const rps_state *s, int pl) {
    printf("  %s (Player%d):", pl == v->human ? "your hand" : "opponent's hand", pl);
    if (s->hand_len[pl] == 0) printf(" (empty)");
    for (int i = 0; i < s->hand_len[pl]; i++) printf(" %d:%c", v->id[pl][i], rps_type_char(s->hand[pl][i]));
    if (pl == v->human && s->hand_len[pl] > 0) printf("   (card number:type; numbers stay fixed all game)");
    printf("\n");
}

/* The board with the cell numbers beside it, the legend, both hands and whose turn it is. */
static void print_board(const play_view *v, const rps_state *s) {
    for (int r = 0; r < 3; r++) {
        fputs("  ", stdout);
        for (int c = 0; c < 3; c++) {
            const rps_cell *x = &s->board[r * 3 + c];
            if (x->owner == RPS_NONE) fputs(".  ", stdout);
            else printf("%c%d ", rps_type_char(x->type), x->owner);
        }
        printf("   %s %d %d %d\n", r == 0 ? "cells" : "     ", r * 3, r * 3 + 1, r * 3 + 2);
    }
    printf("  R/P/S = Rock/Paper/Scissors, digit = owner (%d you, %d opponent), . = empty\n", v->human,
           3 - v->human);
    print_hand(v, s, v->human);
    print_hand(v, s, 3 - v->human);
    if (!rps_state_is_over(s)) {
        int a, b;
        rps_state_score(s, &a, &b);
        int mine = v->human == RPS_P1 ? a : b, theirs = v->human == RPS_P1 ? b : a;
        printf("  move %d, round %d of %d; cells held: you %d, opponent %d; %s\n", s->ply + 1, s->round,
               s->cfg.max_rounds, mine, theirs, s->to_move == v->human ? "your turn" : "opponent's turn");
    }
}

/* The default opponent: mcts-net:200 when both default networks are here, else mcts:200; why in note. */
static const char *default_opponent(char *note, size_t len) {
    int have_p = access(AGENT_DEFAULT_POLICY, F_OK) == 0, have_v = access(AGENT_DEFAULT_VALUE, F_OK) == 0;
    if (have_p && have_v) {
        snprintf(note, len, "opponent: mcts-net:200 (the default): MCTS with 200 playouts a move, guided by the "
                 "trained networks %s and %s; --agent SPEC picks another", AGENT_DEFAULT_POLICY, AGENT_DEFAULT_VALUE);
        return "mcts-net:200";
    }
    char cwd[512];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "the working directory");
    snprintf(note, len, "opponent: mcts:200 (MCTS with 200 random-rollout playouts a move, no networks): the default "
             "mcts-net:200 needs %s and %s, and %s missing from %s; run from the project folder or pass "
             "--agent mcts-net:200,nets=DIR", AGENT_DEFAULT_POLICY, AGENT_DEFAULT_VALUE,
             !have_p && !have_v ? "both are" : !have_p ? "the policy network is" : "the value network is", cwd);
    return "mcts:200";
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps play [--agent SPEC] [--seat 1|2] [--seed S] [--record FILE] [--deck N] [--hand N]\n"
            "                       [--rounds N]\n"
            "  --agent SPEC   the opponent (default mcts-net:200 with models/rps_policy.onnx and\n"
            "                 models/rps_value.onnx when both exist here, else mcts:200); see\n"
            "                 'neural_rps arena --help' for specs\n"
            "  --seat 1|2     your seat: 1 = Player1, moves first (default 1)\n"
            "  --seed S       deal and agent seed (default: from the clock)\n"
            "  --record FILE  write the finished game as one JSON-lines record (atomically)\n"
            "  moves: 'CARD CELL', e.g. '0 4' = card 0 on cell 4: CARD = the card's number in your hand (fixed\n"
            "  for the game) or R/P/S, CELL = 0..8 (row*3 + col); 'quit' to stop\n");
}

/* A legal example move for the prompt: the first card in the hand on cell 4, or on another empty cell (one whose
 * number differs from the card's when there is a choice, so the example reads unambiguously). */
static void example_move(const play_view *v, const rps_state *s, int *card, int *cell) {
    *card = v->id[s->to_move][0];
    *cell = -1;
    for (int k = 0; k < RPS_CELLS && *cell < 0; k++) {
        int p = (4 + k) % RPS_CELLS;
        if (s->board[p].owner == RPS_NONE && p != *card) *cell = p;
    }
    for (int p = 0; p < RPS_CELLS && *cell < 0; p++)
        if (s->board[p].owner == RPS_NONE) *cell = p;
}

/* Parses a human move; returns 1 and fills mv (mv->card a hand index), or 0 with a reason in why. */
static int parse_move(const play_view *v, const rps_state *s, char *line, rps_move *mv, char *why, size_t wn) {
    char a[64], b[64], extra[8];
    int n = sscanf(line, "%63s %63s %7s", a, b, extra);
    if (n != 2) {
        int ec, ep;
        example_move(v, s, &ec, &ep);
        snprintf(why, wn, "type two things: a card (its number or R/P/S) and a cell 0..8, e.g. '%d %d'", ec, ep);
        return 0;
    }
    int me = s->to_move, card = -1;
    char *end;
    long ci = strtol(a, &end, 10);
    if (*end == 0 && end != a) {
        for (int i = 0; i < s->hand_len[me]; i++)
            if (v->id[me][i] == ci) card = i;
        if (card < 0) {
            char have[128];
            size_t p = 0;
            have[0] = 0;
            for (int i = 0; i < s->hand_len[me] && p < sizeof have; i++)
                p += (size_t)snprintf(have + p, sizeof have - p, "%s%d (%s)", i ? ", " : "", v->id[me][i],
                                      rps_type_name(s->hand[me][i]));
            snprintf(why, wn, "card %ld is not in your hand%s; your %s %s", ci,
                     ci >= 0 && ci < s->cfg.hand_size ? " (played already)" : "",
                     plural(s->hand_len[me], "card is", "cards are"), have);
            return 0;
        }
    } else {
        int type = -1;
        if (!strcasecmp(a, "r") || !strcasecmp(a, "rock")) type = RPS_ROCK;
        else if (!strcasecmp(a, "p") || !strcasecmp(a, "paper")) type = RPS_PAPER;
        else if (!strcasecmp(a, "s") || !strcasecmp(a, "scissors")) type = RPS_SCISSORS;
        if (type < 0) {
            snprintf(why, wn, "'%s' is not a card: use its number or R, P, S", a);
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
        snprintf(why, wn, "cell must be a number 0..8, got '%s'", b);
        return 0;
    }
    if (s->board[pos].owner != RPS_NONE) {
        snprintf(why, wn, "cell %ld is taken", pos);
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

/* "game over after N moves (...)", who holds which cells, and the result line. */
static void print_summary(const play_view *v, const rps_state *s) {
    int held[3][RPS_CELLS], nh[3] = {0, 0, 0};
    for (int p = 0; p < RPS_CELLS; p++)
        if (s->board[p].owner != RPS_NONE) held[s->board[p].owner][nh[s->board[p].owner]++] = p;
    int me = v->human, opp = 3 - me, empty = RPS_CELLS - nh[1] - nh[2];
    int my_moves = me == RPS_P1 ? (s->ply + 1) / 2 : s->ply / 2, their_moves = s->ply - my_moves;
    const char *why = s->hand_len[RPS_P1] == 0 && s->hand_len[RPS_P2] == 0 ? "both hands are empty"
                      : s->round > s->cfg.max_rounds                        ? "the round limit is reached"
                      : empty == 0                                          ? "the board is full"
                      : "the player to move has no card left";
    printf("game over after %d %s (%d by you, %d by %s): %s\n", s->ply, plural(s->ply, "move", "moves"), my_moves,
           their_moves, v->opp, why);
    char mine[80], theirs[80];
    cell_list(mine, sizeof mine, held[me], nh[me]);
    cell_list(theirs, sizeof theirs, held[opp], nh[opp]);
    printf("  you (Player%d) hold %s; %s (Player%d) holds %s", me, mine, v->opp, opp, theirs);
    if (empty) printf("; %d %s empty", empty, plural(empty, "cell is", "cells are"));
    printf("\n");
    int w = rps_state_winner(s);
    if (w == RPS_NONE) printf("draw, %d %s each\n", nh[me], plural(nh[me], "cell", "cells"));
    else
        printf("%s, %d %s to %d\n", w == me ? "you win" : "you lose", nh[me], plural(nh[me], "cell", "cells"), nh[opp]);
}

int cmd_play(int argc, char **argv) {
    const char *cmd = argv[0];
    static const struct option opts[] = {{"agent", required_argument, 0, 'a'}, {"seat", required_argument, 0, 'S'},
                                         {"seed", required_argument, 0, 's'},  {"record", required_argument, 0, 'r'},
                                         {"deck", required_argument, 0, 'D'},  {"hand", required_argument, 0, 'H'},
                                         {"rounds", required_argument, 0, 'R'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *spec_text = NULL, *record = NULL;
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
    if (spec_text && agent_spec_parse(spec_text, &spec) != NRPS_OK)
        return cli_usage_error(cmd, "--agent: %s", nrps_last_error());
    char note[1024] = "";
    if (!spec_text && agent_spec_parse(default_opponent(note, sizeof note), &spec) != NRPS_OK)
        return cli_fail(cmd, "%s", nrps_last_error());
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
    play_view view = {.human = human, .opp = spec.text};
    for (int pl = RPS_P1; pl <= RPS_P2; pl++)
        for (int i = 0; i < RPS_MAX_HAND; i++) view.id[pl][i] = (int8_t)i;
    arena_game g;
    memset(&g, 0, sizeof g);
    g.a_seat = human;
    g.hand_size = s.hand_len[RPS_P1];
    memcpy(g.p1_hand, s.hand[RPS_P1], sizeof g.p1_hand);
    memcpy(g.p2_hand, s.hand[RPS_P2], sizeof g.p2_hand);
    printf("neural_rps play: you are Player%d against %s (seed %ld)\n", human, spec.text, seed);
    if (note[0]) printf("%s\n", note);
    printf("Capture rule: a card you place flips each orthogonal neighbour of the opponent it beats\n"
           "(Rock beats Scissors, Paper beats Rock, Scissors beats Paper). Most cells at the end wins.\n"
           "A move is 'CARD CELL': the card's number in your hand (or R/P/S) and a cell 0..8 from the grid\n"
           "beside the board; a card keeps its number all game. 'quit' stops.\n\n");
    char line[256];
    while (!rps_state_is_over(&s)) {
        print_board(&view, &s);
        rps_move mv;
        int me = s.to_move;
        if (me == human) {
            for (;;) {
                int ex_card, ex_cell;
                example_move(&view, &s, &ex_card, &ex_cell);
                printf("your move, CARD CELL (e.g. '%d %d' = card %d, %s, on cell %d): ", ex_card, ex_cell, ex_card,
                       rps_type_name(s.hand[me][0]), ex_cell);
                fflush(stdout);
                if (!fgets(line, sizeof line, stdin)) {
                    printf("\n");
                    rc = cli_fail(cmd, "end of input: game abandoned after %d %s", s.ply,
                                  plural(s.ply, "move", "moves"));
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
                    rc = cli_fail(cmd, "quit: game abandoned after %d %s", s.ply, plural(s.ply, "move", "moves"));
                    goto done;
                }
                char why[256];
                if (parse_move(&view, &s, line, &mv, why, sizeof why)) break;
                printf("invalid: %s\n", why);
            }
        } else {
            nrps_status st = agent_select_move(ai, &s, &mv);
            if (st != NRPS_OK) {
                rc = cli_fail(cmd, "%s", nrps_last_error());
                goto done;
            }
        }
        int8_t before[RPS_CELLS];
        for (int p = 0; p < RPS_CELLS; p++) before[p] = s.board[p].owner;
        int type = s.hand[me][mv.card], number = view.id[me][mv.card];
        if (rps_state_apply(&s, mv) != NRPS_OK) { /* parse_move and the agents give legal moves only */
            rc = cli_fail(cmd, "%s", nrps_last_error());
            goto done;
        }
        for (int i = mv.card; i < RPS_MAX_HAND - 1; i++) view.id[me][i] = view.id[me][i + 1];
        g.moves[g.nmoves++] = mv;
        int got[RPS_CELLS], ng = 0;
        for (int p = 0; p < RPS_CELLS; p++)
            if (p != mv.pos && s.board[p].owner != before[p]) got[ng++] = p;
        char caps[96] = "no capture";
        if (ng) {
            char cells[72];
            cell_list(cells, sizeof cells, got, ng);
            snprintf(caps, sizeof caps, "captures %s", cells);
        }
        printf("%s %s %s (card %d) on cell %d: %s", me == human ? "you" : spec.text, me == human ? "play" : "plays",
               rps_type_name(type), number, mv.pos, caps);
        const mcts_result *sr = me == human ? NULL : agent_last_search(ai);
        if (sr)
            printf("  (search: %d %s, its win estimate %.2f)", sr->playouts,
                   plural(sr->playouts, "playout", "playouts"), sr->value);
        printf("\n\n");
    }
    print_board(&view, &s);
    print_summary(&view, &s);
    g.winner = rps_state_winner(&s);
    rps_state_score(&s, &g.score_p1, &g.score_p2);
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
