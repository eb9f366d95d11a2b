/* cmd_replay.c - `neural_rps replay [--json] FILE`: validates and replays JSON-lines game records
 * (src/game/record.h) and prints each final board and result. Every record is validated before anything
 * is printed, so a bad file produces one error line and no partial output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "game/record.h"

#define REPLAY_MAX_BYTES ((size_t)1 << 30)

static void usage(FILE *f) {
    fprintf(f, "usage: neural_rps replay [--json] FILE\n"
               "  Replays the game records in FILE (one JSON object per line:\n"
               "  {\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[...],[...]],\"moves\":[[card,pos],...]})\n"
               "  checking every move, and prints each final board and result. Blank lines are skipped.\n"
               "  --json  one JSON line per record:\n"
               "          {\"board\":[[type,owner] x 9],\"winner\":W,\"score\":[p1,p2],\"plies\":N}\n"
               "          (type -1 = empty cell; owner/winner 0 = none/draw, 1 = Player1, 2 = Player2)\n"
               "  Exit 1 with one error line naming the file, line and ply on any malformed record or illegal move.\n");
}

/* Calls fn on every non-blank line (NUL-terminated in place); stops at the first non-zero return. */
typedef int (*line_fn)(void *ctx, char *line, int lineno, int recno);

static int for_each_line(char *data, size_t len, line_fn fn, void *ctx) {
    int lineno = 0, recno = 0;
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        char saved = *e;
        *e = 0;
        lineno++;
        int blank = 1;
        for (char *q = p; *q; q++)
            if (*q != ' ' && *q != '\t' && *q != '\r') blank = 0;
        int rc = 0;
        if (!blank) rc = fn(ctx, p, lineno, ++recno);
        *e = saved;
        if (rc) return rc;
        p = e + 1;
    }
    return 0;
}

typedef struct {
    const char *path;
    int json;
    int wins[3];
    int records;
} replay_ctx;

static int validate_line(void *vctx, char *line, int lineno, int recno) {
    replay_ctx *c = vctx;
    (void)recno;
    rps_record r;
    if (rps_record_parse(line, &r) != NRPS_OK)
        return cli_fail("replay", "%s: line %d: %s", c->path, lineno, nrps_last_error());
    rps_state s;
    rps_record_replay(&r, -1, &s);
    if (!rps_state_is_over(&s))
        return cli_fail("replay", "%s: line %d: ply %d: game not finished (Player%d still has a legal move)", c->path,
                        lineno, r.n_moves, s.to_move);
    return 0;
}

static int print_line(void *vctx, char *line, int lineno, int recno) {
    replay_ctx *c = vctx;
    rps_record r;
    rps_state s;
    if (rps_record_parse(line, &r) != NRPS_OK || rps_record_replay(&r, -1, &s) != NRPS_OK)
        return cli_fail("replay", "%s: line %d: %s", c->path, lineno, nrps_last_error()); /* validated already */
    int a, b, w = rps_state_winner(&s);
    rps_state_score(&s, &a, &b);
    c->wins[w]++;
    c->records++;
    if (c->json) {
        printf("{\"board\":[");
        for (int p = 0; p < RPS_CELLS; p++)
            printf("%s[%d,%d]", p ? "," : "", s.board[p].owner ? s.board[p].type : -1, s.board[p].owner);
        printf("],\"winner\":%d,\"score\":[%d,%d],\"plies\":%d}\n", w, a, b, r.n_moves);
    } else {
        printf("record %d (line %d): %d plies, deck %d, hand %d, max rounds %d\n", recno, lineno, r.n_moves,
               r.cfg.deck_size, r.cfg.hand_size, r.cfg.max_rounds);
        rps_state_print(&s, stdout);
    }
    return 0;
}

int cmd_replay(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    replay_ctx ctx = {0};
    optind = 0;
    int c;
    while ((c = cli_getopt("replay", argc, argv, opts)) != -1) {
        if (c == -2) return 2;
        if (c == 'j') ctx.json = 1;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        }
    }
    if (optind >= argc) return cli_usage_error("replay", "missing FILE (see 'neural_rps replay --help')");
    if (optind + 1 < argc) return cli_usage_error("replay", "unexpected argument '%s'", argv[optind + 1]);
    ctx.path = argv[optind];
    char *data = NULL;
    size_t len = 0;
    if (nrps_read_file(ctx.path, REPLAY_MAX_BYTES, &data, &len) != NRPS_OK)
        return cli_fail("replay", "%s", nrps_last_error());
    if (memchr(data, 0, len)) {
        free(data);
        return cli_fail("replay", "%s: contains NUL bytes, expected JSON lines text", ctx.path);
    }
    int rc = for_each_line(data, len, validate_line, &ctx);
    if (!rc) rc = for_each_line(data, len, print_line, &ctx);
    if (!rc && !ctx.json)
        printf("%d record%s: Player1 wins %d, Player2 wins %d, draws %d\n", ctx.records, ctx.records == 1 ? "" : "s",
               ctx.wins[RPS_P1], ctx.wins[RPS_P2], ctx.wins[RPS_NONE]);
    free(data);
    return rc;
}
