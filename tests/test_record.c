/* test_record.c - game records: build while playing, write one JSON line, parse it back (round trip over
 * many random games and configs), replay prefixes, and strict rejection of malformed records and illegal
 * moves with errors naming the ply. */
#include <string.h>

#include "check.h"
#include "game/record.h"

static void play_random(rps_state *s, rps_record *r, nrps_rng *rng) {
    rps_move mv[RPS_MAX_MOVES];
    int n;
    while ((n = rps_state_legal_moves(s, mv)) > 0) {
        rps_move m = mv[nrps_rng_below(rng, (uint32_t)n)];
        rps_state_apply(s, m);
        rps_record_add(r, m);
    }
}

static void test_round_trip(void) {
    nrps_rng rng;
    nrps_rng_seed(&rng, 4);
    static const rps_config cfgs[] = {{21, 5, 10}, {6, 3, 10}, {40, 16, 2}, {9, 4, 1}, {2, 1, 10}};
    for (int g = 0; g < 100; g++) {
        rps_config cfg = cfgs[g % 5];
        rps_state s, back;
        rps_state_deal(&s, &cfg, &rng);
        rps_record r, p;
        REQUIRE(rps_record_start(&r, &s) == NRPS_OK);
        play_random(&s, &r, &rng);
        char buf[4096] = {0};
        FILE *f = fmemopen(buf, sizeof buf - 1, "w");
        REQUIRE(f);
        CHECK(rps_record_write(&r, f) == NRPS_OK);
        fclose(f);
        CHECK(strchr(buf, '\n') == buf + strlen(buf) - 1); /* exactly one line */
        CHECK_MSG(rps_record_parse(buf, &p) == NRPS_OK, "%s: %s", buf, nrps_last_error());
        CHECK(memcmp(&p.cfg, &r.cfg, sizeof p.cfg) == 0 && p.n_moves == r.n_moves);
        CHECK(memcmp(p.hands, r.hands, sizeof p.hands) == 0);
        CHECK(memcmp(p.moves, r.moves, sizeof(rps_move) * (size_t)r.n_moves) == 0);
        REQUIRE(rps_record_replay(&p, -1, &back) == NRPS_OK);
        CHECK(memcmp(&back, &s, sizeof s) == 0); /* the replayed final state is the played one */
    }
}

static void test_format_and_prefix(void) {
    int8_t h1[5] = {0, 1, 2, 0, 1}, h2[5] = {2, 2, 1, 0, 0};
    rps_config c = rps_config_standard();
    rps_state s;
    REQUIRE(rps_state_from_hands(&s, &c, h1, 5, h2, 5) == NRPS_OK);
    rps_record r;
    REQUIRE(rps_record_start(&r, &s) == NRPS_OK);
    for (int k = 0; k < 9; k++) {
        rps_move m = {0, (int8_t)k};
        REQUIRE(rps_state_apply(&s, m) == NRPS_OK);
        REQUIRE(rps_record_add(&r, m) == NRPS_OK);
    }
    CHECK(rps_record_add(&r, (rps_move){0, 0}) == NRPS_ERR_ARG); /* full */
    char buf[1024] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    REQUIRE(f);
    REQUIRE(rps_record_write(&r, f) == NRPS_OK);
    fclose(f);
    CHECK(strcmp(buf, "{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,1,2,0,1],[2,2,1,0,0]],"
                      "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]]}\n") == 0);
    /* This game, worked by hand: final 6-3 for Player1 (cells 3, 4 and 7 change hands). */
    int a, b;
    rps_state_score(&s, &a, &b);
    CHECK(a == 6 && b == 3);
    CHECK(s.board[3].owner == RPS_P1 && s.board[4].owner == RPS_P2 && s.board[7].owner == RPS_P1);
    rps_state pre;
    REQUIRE(rps_record_replay(&r, 3, &pre) == NRPS_OK);
    CHECK(pre.ply == 3 && pre.to_move == RPS_P2 && pre.board[2].owner == RPS_P1 && pre.board[3].owner == RPS_NONE);
    REQUIRE(rps_record_replay(&r, 0, &pre) == NRPS_OK);
    CHECK(pre.ply == 0 && pre.hand_len[1] == 5);
    /* start only from a fresh deal */
    CHECK(rps_record_start(&r, &s) == NRPS_ERR_ARG);
    /* extra keys are ignored */
    rps_record p;
    CHECK(rps_record_parse("{\"agent\":\"mcts\",\"deck_size\":6,\"hand_size\":3,\"max_rounds\":10,"
                           "\"hands\":[[0,1,2],[2,1,0]],\"moves\":[[0,4]],\"seed\":3}\n", &p) == NRPS_OK);
    CHECK(p.n_moves == 1 && p.moves[0].pos == 4 && p.hands[1][0] == 2);
}

static void expect_bad(const char *line, nrps_status want, const char *msg) {
    rps_record r;
    nrps_status st = rps_record_parse(line, &r);
    CHECK_MSG(st == want, "%s -> status %d (%s), want %d", line, st, nrps_last_error(), want);
    CHECK_MSG(strstr(nrps_last_error(), msg) != NULL, "%s -> '%s', want '%s'", line, nrps_last_error(), msg);
    CHECK(strchr(nrps_last_error(), '\n') == NULL);
}

#define HDR "{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,1,2,0,1],[2,2,1,0,0]],"

static void test_rejections(void) {
    expect_bad("", NRPS_ERR_FORMAT, "malformed JSON");
    expect_bad("{\"deck_size\":21,", NRPS_ERR_FORMAT, "malformed JSON");
    expect_bad("[1,2]", NRPS_ERR_FORMAT, "expected a JSON object");
    expect_bad(HDR "\"moves\":[]} trailing", NRPS_ERR_FORMAT, "unexpected text");
    expect_bad("{\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0],[0]],\"moves\":[]}", NRPS_ERR_FORMAT,
               "missing key \"deck_size\"");
    expect_bad("{\"deck_size\":21.5,\"hand_size\":5,\"max_rounds\":10,\"hands\":[],\"moves\":[]}", NRPS_ERR_FORMAT,
               "\"deck_size\" must be");
    expect_bad("{\"deck_size\":\"21\",\"hand_size\":5,\"max_rounds\":10,\"hands\":[],\"moves\":[]}", NRPS_ERR_FORMAT,
               "\"deck_size\" must be");
    expect_bad("{\"deck_size\":8,\"hand_size\":5,\"max_rounds\":10,\"hands\":[],\"moves\":[]}", NRPS_ERR_FORMAT,
               "invalid setup: deck size 8");
    expect_bad("{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,1,2,0,1]],\"moves\":[]}",
               NRPS_ERR_FORMAT, "\"hands\" must be an array of two");
    expect_bad("{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,1,2,0,1],[2,2,1,0]],\"moves\":[]}",
               NRPS_ERR_FORMAT, "\"hands\"[1] (Player2) must be an array of 5");
    expect_bad("{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,1,3,0,1],[2,2,1,0,0]],\"moves\":[]}",
               NRPS_ERR_FORMAT, "\"hands\"[0][2]: card type");
    expect_bad("{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,1,-1,0,1],[2,2,1,0,0]],\"moves\":[]}",
               NRPS_ERR_FORMAT, "\"hands\"[0][2]: card type");
    expect_bad("{\"deck_size\":10,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,0,0,0,1],[2,2,1,0,0]],\"moves\":[]}",
               NRPS_ERR_FORMAT, "invalid hands: hands hold 6 Rock cards but a deck of 10 has only 4");
    expect_bad(HDR "\"moves\":{}}", NRPS_ERR_FORMAT, "\"moves\" must be an array");
    expect_bad(HDR "\"moves\":[[0,0],[1]]}", NRPS_ERR_FORMAT, "ply 2: move must be");
    expect_bad(HDR "\"moves\":[[0,0],[0,-1]]}", NRPS_ERR_FORMAT, "ply 2: move must be");
    expect_bad(HDR "\"moves\":[[0,0],[0,9]]}", NRPS_ERR_ILLEGAL, "ply 2 (move [0,9]): illegal move: position out of range");
    expect_bad(HDR "\"moves\":[[0,0],[0,1],[0,1]]}", NRPS_ERR_ILLEGAL,
               "ply 3 (move [0,1]): illegal move: position 1 is already occupied");
    expect_bad(HDR "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[3,8]]}", NRPS_ERR_ILLEGAL,
               "ply 9 (move [3,8]): illegal move: card index out of range: Player1 has 1 card left");
    expect_bad("{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":1,\"hands\":[[0,1,2,0,1],[2,2,1,0,0]],"
               "\"moves\":[[0,0],[0,1],[0,2]]}", NRPS_ERR_ILLEGAL, "ply 3 (move [0,2]): illegal move: the game is already over");
    expect_bad(HDR "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8],[0,0]]}", NRPS_ERR_ILLEGAL,
               "ply 10 (move [0,0]): illegal move: the game is already over");
}

static void test_arena_record_and_result_check(void) {
    /* What the arena writes: the standard keys plus metadata (agents, game index, winner, score). */
    rps_record r;
    const char *arena = "{\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,\"hands\":[[0,1,2,0,1],[2,2,1,0,0]],"
                        "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]],\"game\":0,\"seed\":7,"
                        "\"p1\":\"random\",\"p2\":\"greedy\",\"winner\":1,\"score\":[6,3]}";
    CHECK_MSG(rps_record_parse(arena, &r) == NRPS_OK, "%s", nrps_last_error());
    CHECK(r.cfg.deck_size == 21 && r.cfg.hand_size == 5 && r.cfg.max_rounds == 10 && r.n_moves == 9);
    CHECK(r.hands[1][0] == 2 && r.hands[0][2] == 2);
    /* The old per-seat spelling is not a record. */
    expect_bad("{\"deck\": 21, \"hand\": 5, \"rounds\": 10, \"p1_hand\": [0, 1, 2, 0, 1], \"p2_hand\": [2, 2, 1, 0, 0], "
               "\"moves\": []}", NRPS_ERR_FORMAT, "missing key \"deck_size\"");
    expect_bad(HDR "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]],\"winner\":2}", NRPS_ERR_FORMAT,
               "recorded \"winner\" does not match the replayed game (winner 1, 6-3)");
    expect_bad(HDR "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]],\"score\":[5,4]}", NRPS_ERR_FORMAT,
               "recorded \"score\" does not match the replayed game (6-3)");
    CHECK(rps_record_parse(HDR "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]],\"winner\":1,"
                           "\"score\":[6,3]}", &r) == NRPS_OK);
}

/* A key twice in one object is ambiguous (Python's json and jq keep the last, cJSON's lookup the first): refused,
 * naming the key, at any depth; the same key in different objects is fine. */
static void test_duplicate_keys(void) {
    const char *moves = "\"moves\":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]]";
    char line[600];
    snprintf(line, sizeof line, HDR "%s,\"winner\":2,\"winner\":1}", moves); /* the last is right: still refused */
    expect_bad(line, NRPS_ERR_FORMAT, "duplicate key \"winner\"");
    snprintf(line, sizeof line, "{\"deck_size\":21,\"deck_size\":21,\"hand_size\":5,\"max_rounds\":10,"
                                "\"hands\":[[0,1,2,0,1],[2,2,1,0,0]],%s}", moves);
    expect_bad(line, NRPS_ERR_FORMAT, "duplicate key \"deck_size\"");
    snprintf(line, sizeof line, HDR "%s,\"hands\":[[2,2,2,2,2],[0,0,0,0,0]]}", moves);
    expect_bad(line, NRPS_ERR_FORMAT, "duplicate key \"hands\"");
    snprintf(line, sizeof line, HDR "%s,\"p1\":{\"name\":\"a\",\"cfg\":{\"x\":1,\"x\":2}}}", moves); /* nested */
    expect_bad(line, NRPS_ERR_FORMAT, "duplicate key \"x\"");
    snprintf(line, sizeof line, HDR "%s,\"m\":[{\"k\":1},{\"k\":2,\"k\":3}]}", moves); /* in an array */
    expect_bad(line, NRPS_ERR_FORMAT, "duplicate key \"k\"");
    snprintf(line, sizeof line, HDR "%s,\"a\\u001b[2Jb\":1,\"a\\u001b[2Jb\":2}", moves); /* shown in one line */
    expect_bad(line, NRPS_ERR_FORMAT, "duplicate key \"a\\x1b[2Jb\"");
    rps_record r;
    snprintf(line, sizeof line, HDR "%s,\"p1\":{\"name\":\"a\"},\"p2\":{\"name\":\"b\"},\"Winner\":0}", moves);
    CHECK_MSG(rps_record_parse(line, &r) == NRPS_OK, "%s", nrps_last_error()); /* same key in two objects; case */
}

int main(void) {
    RUN(test_round_trip);
    RUN(test_format_and_prefix);
    RUN(test_rejections);
    RUN(test_arena_record_and_result_check);
    RUN(test_duplicate_keys);
    return check_summary("record");
}
